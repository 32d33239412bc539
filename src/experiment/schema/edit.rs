//! What a control does with typed text: parse it with the setting's domain, write it into the
//! run (every run for an experiment-level setting), validate, and either return the new
//! configurations or a message naming the control's label and the accepted range. The page's
//! controls call these; the schema tests check them against the link codec and the CLI.

use super::{Domain, Scope, Setting};
use crate::experiment::{BanditConfig, Config};

/// The message a control shows for refused `text`.
fn refusal<C>(s: &Setting<C>, why: &str) -> String {
    if why.contains(&s.domain.accepted()) {
        format!("{}: {why}", s.label)
    } else {
        format!("{}: {why} (accepted: {})", s.label, s.accepted())
    }
}

/// `runs` after the control of `s` took `text` for run `selected` (for every run when `s` is
/// experiment-level), or the message saying why it was refused.
pub fn edit_runs(
    s: &Setting<Config>,
    runs: &[Config],
    selected: usize,
    text: &str,
) -> Result<Vec<Config>, String> {
    let value = s.domain.parse(text).map_err(|m| refusal(s, &m))?;
    let mut next = runs.to_vec();
    for (i, c) in next.iter_mut().enumerate() {
        if s.scope == Scope::Experiment || i == selected {
            (s.put)(c, value.clone());
            c.validate().map_err(|e| refusal(s, &e.to_string()))?;
        }
    }
    Ok(next)
}

/// The bandit experiment after the control of `s` took `text`, or why it was refused.
pub fn edit_bandit(
    s: &Setting<BanditConfig>,
    config: &BanditConfig,
    text: &str,
) -> Result<BanditConfig, String> {
    let value = s.domain.parse(text).map_err(|m| refusal(s, &m))?;
    let mut next = config.clone();
    (s.put)(&mut next, value);
    next.validate().map_err(|e| refusal(s, &e.to_string()))?;
    Ok(next)
}

/// How a control shows a domain.
#[derive(Clone, Debug, PartialEq)]
pub enum Widget {
    /// `<input type="number" min max step>`.
    Number {
        /// `min` attribute.
        min: String,
        /// `max` attribute.
        max: String,
        /// `step` attribute (`1` for whole numbers, `any` otherwise).
        step: &'static str,
    },
    /// `<select>` of `(value, label)` options.
    Select(Vec<(&'static str, &'static str)>),
    /// `<input type="text">` (layer widths).
    Text,
}

/// The widget of a domain: its attributes come from the same bounds that parsing checks.
pub fn widget(domain: &Domain) -> Widget {
    match *domain {
        Domain::Whole { min, max } => Widget::Number {
            min: min.to_string(),
            max: max.to_string(),
            step: "1",
        },
        Domain::Real { min, max, .. } => Widget::Number {
            min: min.to_string(),
            max: max.to_string(),
            step: "any",
        },
        Domain::Choice(choices) => Widget::Select(choices.to_vec()),
        Domain::Flag => Widget::Select(vec![("1", "on"), ("0", "off")]),
        Domain::Widths { .. } => Widget::Text,
    }
}
