//! Every setting declared once: key, label, unit, accepted values, scope, which defaults it
//! follows, and how it is written in a link, on a control and on the command line. The link
//! codec ([`crate::experiment::url`]), the controls of the page, the CLI's flags and
//! `validate()` all read these tables ([`sine::SINE`], [`bandit::BANDIT`]), so they accept and
//! refuse the same values (TensorFlow Playground's single state table; burn's typed configs).
//!
//! A value is parsed from text by [`Domain::parse`], which names what was expected, and
//! checked against its range by [`Domain::check`]; cross-field rules (a dependent bandit has 2
//! arms) stay in the configuration's own `validate()`.

pub mod bandit;
pub mod cli;
pub mod edit;
pub mod sine;

pub use bandit::BANDIT;
pub use sine::SINE;

/// Who shares a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Each run of a comparison has its own value (`inner_lr=0.01,0.02` in a link).
    Run,
    /// One value for the whole experiment (seed, iterations, backend): a link with one value
    /// per run is refused, a control edits every run.
    Experiment,
}

/// Which choice a setting's default depends on: switching the task family or the algorithm
/// gives the settings that follow it their new default and keeps the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultsBy {
    /// The same default everywhere (seed, backend, precision).
    Nothing,
    /// The task family's (network, K, iterations).
    Task,
    /// The algorithm's (inner steps, outer optimiser).
    Algo,
    /// None: this setting picks the defaults of the others (task, algorithm), so it is applied
    /// first.
    Frame,
}

/// The values a setting accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// Whole numbers in `min..=max`.
    Whole {
        /// Smallest.
        min: u64,
        /// Largest.
        max: u64,
    },
    /// Finite numbers in `(min, max]` (`open_min`) or `[min, max]`.
    Real {
        /// Lower bound.
        min: f64,
        /// Upper bound (inclusive).
        max: f64,
        /// `min` itself is refused.
        open_min: bool,
    },
    /// One of these `(name, label)` pairs; links and the CLI use the name, controls the label.
    Choice(&'static [(&'static str, &'static str)]),
    /// `0`/`1` (also `false`/`true`).
    Flag,
    /// Layer widths written `40x40`: `layers` widths, each in `width`.
    Widths {
        /// Number of layers, inclusive.
        layers: (usize, usize),
        /// Width of each, inclusive.
        width: (usize, usize),
    },
}

/// A setting's value, of its [`Domain`]'s kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// [`Domain::Whole`].
    Whole(u64),
    /// [`Domain::Real`].
    Real(f64),
    /// [`Domain::Choice`]: the name.
    Choice(&'static str),
    /// [`Domain::Flag`].
    Flag(bool),
    /// [`Domain::Widths`].
    Widths(Vec<usize>),
}

impl Value {
    /// The whole number (0 for another kind; the schema tests rule that out).
    pub fn whole(&self) -> u64 {
        match self {
            Value::Whole(v) => *v,
            _ => 0,
        }
    }
    /// The whole number as a size.
    pub fn size(&self) -> usize {
        usize::try_from(self.whole()).unwrap_or(usize::MAX)
    }
    /// The real number (NaN for another kind).
    pub fn real(&self) -> f64 {
        match self {
            Value::Real(v) => *v,
            _ => f64::NAN,
        }
    }
    /// The choice's name ("" for another kind).
    pub fn choice(&self) -> &'static str {
        match self {
            Value::Choice(v) => v,
            _ => "",
        }
    }
    /// The flag.
    pub fn flag(&self) -> bool {
        matches!(self, Value::Flag(true))
    }
    /// The widths.
    pub fn widths(&self) -> Vec<usize> {
        match self {
            Value::Widths(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
pub fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

impl Domain {
    /// Reads `text`; the error says what was expected or which range was left.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        let value = match *self {
            Domain::Whole { .. } => Value::Whole(
                t.parse::<u64>()
                    .map_err(|_| format!("'{}' is not a whole number", shorten(text)))?,
            ),
            Domain::Real { .. } => {
                let v: f64 = t
                    .parse()
                    .map_err(|_| format!("'{}' is not a number", shorten(text)))?;
                if !v.is_finite() {
                    return Err(format!("'{}' is not a finite number", shorten(text)));
                }
                Value::Real(v)
            }
            Domain::Choice(choices) => Value::Choice(
                choices
                    .iter()
                    .map(|c| c.0)
                    .find(|&n| n == t)
                    .ok_or_else(|| format!("'{}' is not {}", shorten(text), self.accepted()))?,
            ),
            Domain::Flag => match t {
                "1" | "true" => Value::Flag(true),
                "0" | "false" => Value::Flag(false),
                _ => return Err(format!("'{}' is not 0 or 1", shorten(text))),
            },
            Domain::Widths { .. } => Value::Widths(
                t.split('x')
                    .map(|w| w.parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("'{}' is not widths like 40x40", shorten(text)))?,
            ),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// Checks a value's range; the error states the value and the accepted range.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let ok = match (*self, value) {
            (Domain::Whole { min, max }, Value::Whole(v)) => (min..=max).contains(v),
            (Domain::Real { min, max, open_min }, Value::Real(v)) => {
                v.is_finite() && *v <= max && if open_min { *v > min } else { *v >= min }
            }
            (Domain::Choice(choices), Value::Choice(v)) => choices.iter().any(|c| c.0 == *v),
            (Domain::Flag, Value::Flag(_)) => true,
            (Domain::Widths { layers, width }, Value::Widths(ws)) => {
                (layers.0..=layers.1).contains(&ws.len())
                    && ws.iter().all(|w| (width.0..=width.1).contains(w))
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{} is outside the accepted range {}",
                self.format(value),
                self.accepted()
            ))
        }
    }

    /// A value as links and the CLI write it (`40x40`, `0.01`, `adam`, `1`).
    pub fn format(&self, value: &Value) -> String {
        match value {
            Value::Whole(v) => v.to_string(),
            Value::Real(v) => v.to_string(),
            Value::Choice(v) => v.to_string(),
            Value::Flag(v) => u8::from(*v).to_string(),
            Value::Widths(ws) => ws
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("x"),
        }
    }

    /// What is accepted, as every message states it: `1..=100`, `(0, 10]`, `[0, 1]`,
    /// `sgd or adam`, `0 or 1`, `1..=4 widths of 1..=256, like 40x40`.
    pub fn accepted(&self) -> String {
        match *self {
            Domain::Whole { min, max } => format!("{min}..={max}"),
            Domain::Real { min, max, open_min } => {
                format!("{}{min}, {max}]", if open_min { "(" } else { "[" })
            }
            Domain::Choice(choices) => either(&choices.iter().map(|c| c.0).collect::<Vec<_>>()),
            Domain::Flag => "0 or 1".into(),
            Domain::Widths { layers, width } => format!(
                "{}..={} widths of {}..={}, like 40x40",
                layers.0, layers.1, width.0, width.1
            ),
        }
    }

    /// The control's label of a choice's name (the name itself for other kinds).
    pub fn label_of(&self, name: &str) -> String {
        match self {
            Domain::Choice(choices) => choices
                .iter()
                .find(|c| c.0 == name)
                .map_or(name, |c| c.1)
                .to_string(),
            _ => name.to_string(),
        }
    }
}

/// One setting of a configuration `C`.
pub struct Setting<C: 'static> {
    /// Its key in a link (`inner_lr`), also the field named by problems.
    pub link: &'static str,
    /// Its long flag on the command line, without `--` (`inner-lr`).
    pub cli: &'static str,
    /// Its control's `data-testid`, `control-<control>` (`inner-lr`).
    pub control: &'static str,
    /// The control's label.
    pub label: &'static str,
    /// Unit shown after the value, if any.
    pub unit: &'static str,
    /// One line of help (CLI `--help`, the control's title).
    pub help: &'static str,
    /// Per run or for the whole experiment.
    pub scope: Scope,
    /// Which choice its default follows.
    pub defaults_by: DefaultsBy,
    /// Accepted values.
    pub domain: Domain,
    /// A rule beyond the range, stated after it (`at most pulls`).
    pub note: &'static str,
    /// Whether the setting matters for this configuration (the page hides the others).
    pub applies: fn(&C) -> bool,
    /// Reads it.
    pub get: fn(&C) -> Value,
    /// Writes a value of its domain, with its coupling rules (a bandit's setting sets its
    /// arms; `pulls` resets `adapt_every`).
    pub put: fn(&mut C, Value),
}

impl<C> Setting<C> {
    /// What is accepted, with the note.
    pub fn accepted(&self) -> String {
        if self.note.is_empty() {
            self.domain.accepted()
        } else {
            format!("{}, {}", self.domain.accepted(), self.note)
        }
    }

    /// The value in `c`, as links write it.
    pub fn text(&self, c: &C) -> String {
        self.domain.format(&(self.get)(c))
    }

    /// Parses `text` and writes it into `c` (no cross-field check).
    pub fn apply(&self, c: &mut C, text: &str) -> Result<(), String> {
        let v = self.domain.parse(text)?;
        (self.put)(c, v);
        Ok(())
    }

    /// Checks the value `c` holds against the domain, as a configuration error naming the key.
    pub fn check_in(&self, c: &C) -> crate::Result<()> {
        self.domain
            .check(&(self.get)(c))
            .map_err(|message| crate::Error::InvalidConfig {
                field: self.link,
                message,
            })
    }
}

/// Always.
pub fn always<C>(_: &C) -> bool {
    true
}

impl<C> Setting<C> {
    /// A run-level setting that always applies, with no unit and no note, whose control is
    /// named like its flag: the common case, which a table adjusts with `..Setting::new(..)`.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        link: &'static str,
        cli: &'static str,
        label: &'static str,
        help: &'static str,
        defaults_by: DefaultsBy,
        domain: Domain,
        get: fn(&C) -> Value,
        put: fn(&mut C, Value),
    ) -> Self {
        Setting {
            link,
            cli,
            control: cli,
            label,
            unit: "",
            help,
            scope: Scope::Run,
            defaults_by,
            domain,
            note: "",
            applies: always,
            get,
            put,
        }
    }
}

/// Whole numbers in an inclusive `usize` range.
pub const fn whole((min, max): (usize, usize)) -> Domain {
    Domain::Whole {
        min: min as u64,
        max: max as u64,
    }
}

/// A size as a [`Value::Whole`].
pub fn whole_of(v: usize) -> Value {
    Value::Whole(v as u64)
}

/// The setting with link key `key` in `table`.
pub fn find<C>(table: &'static [Setting<C>], key: &str) -> Option<&'static Setting<C>> {
    table.iter().find(|s| s.link == key)
}

/// `fresh` with `old`'s value of every setting `keep` selects by what its default follows
/// (switching the algorithm keeps all but the algorithm's; switching the task only those
/// with fixed defaults), in table order so that coupling rules apply as in a link.
pub fn carry<C>(
    table: &'static [Setting<C>],
    old: &C,
    mut fresh: C,
    keep: impl Fn(DefaultsBy) -> bool,
) -> C {
    for s in table {
        if s.defaults_by != DefaultsBy::Frame && keep(s.defaults_by) {
            (s.put)(&mut fresh, (s.get)(old));
        }
    }
    fresh
}

/// At most 40 characters of `s`, for messages about hostile input.
pub fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}
