//! The view state in a link (`n`, `log`, `heldout`, `pts`): what the page shows besides the
//! experiment. Its settings are declared as a schema table ([`VIEW`]) like the experiment's.

use std::collections::BTreeMap;

use crate::engine::tasks::RegressionFamily;
use crate::experiment::schema::{shorten, DefaultsBy, Domain, Scope, Setting, Value};
use crate::experiment::state::ViewState;
use crate::experiment::TaskKind;

/// Most user-placed support points a link may carry.
pub const MAX_POINTS: usize = 100;
/// Largest |y| of a user-placed support point.
pub const MAX_POINT_Y: f64 = 100.0;

const fn view(
    link: &'static str,
    label: &'static str,
    domain: Domain,
    get: fn(&ViewState) -> Value,
    put: fn(&mut ViewState, Value),
) -> Setting<ViewState> {
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(
            link,
            link,
            label,
            label,
            DefaultsBy::Nothing,
            domain,
            get,
            put,
        )
    }
}

/// The view's settings with one value each (the support points `pts` are a list of pairs,
/// read by [`decode_view`]).
pub static VIEW: &[Setting<ViewState>] = &[
    view(
        "n",
        "fit steps",
        Domain::Whole { min: 1, max: 100 },
        |v| Value::Whole(v.fit_steps as u64),
        |v, x| v.fit_steps = x.size(),
    ),
    view(
        "log",
        "log scale",
        Domain::Flag,
        |v| Value::Flag(v.log_scale),
        |v, x| v.log_scale = x.flag(),
    ),
    view(
        "heldout",
        "held-out task",
        Domain::Whole {
            min: 0,
            max: 1_000_000,
        },
        |v| Value::Whole(v.task_index),
        |v, x| v.task_index = x.whole(),
    ),
];

/// Reads a 0/1 flag.
pub fn flag(v: &str) -> Result<bool, String> {
    Domain::Flag.parse(v).map(|x| x.flag())
}

fn finite(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Appends the view's keys to a link.
pub fn encode_view(view: &ViewState, parts: &mut Vec<(String, String)>) {
    for s in VIEW {
        parts.push((s.link.into(), s.text(view)));
    }
    if let Some(points) = &view.points {
        let p: Vec<String> = points.iter().map(|(x, y)| format!("{x}:{y}")).collect();
        parts.push(("pts".into(), p.join(";")));
    }
}

/// Reads the view's keys of a sine link on `task`'s input range.
pub fn decode_view(
    pairs: &BTreeMap<String, String>,
    task: TaskKind,
    view: &mut ViewState,
    problems: &mut Vec<String>,
) {
    for s in VIEW {
        let Some(v) = pairs.get(s.link) else {
            continue;
        };
        if let Err(m) = s.apply(view, v) {
            problems.push(format!(
                "`{}` ({}): {m} (accepted: {}); using {}",
                s.link,
                s.label,
                s.accepted(),
                s.text(view)
            ));
        }
    }
    if let Some(v) = pairs.get("pts") {
        let (lo, hi) = task.family().input_range();
        let mut points = Vec::new();
        let mut bad = 0usize;
        for p in v.split(';').filter(|p| !p.is_empty()) {
            let parsed = p
                .split_once(':')
                .and_then(|(x, y)| Some((finite(x)?, finite(y)?)));
            match parsed {
                Some((x, y))
                    if (lo..=hi).contains(&x)
                        && y.abs() <= MAX_POINT_Y
                        && points.len() < MAX_POINTS =>
                {
                    points.push((x, y))
                }
                _ => bad += 1,
            }
        }
        if bad > 0 {
            problems.push(format!(
                "`pts`: {bad} support points skipped (accepted: at most {MAX_POINTS} points x:y with x in [{lo}, {hi}], |y| ≤ {MAX_POINT_Y}); '{}'",
                shorten(v)
            ));
        }
        view.points = Some(points);
    }
}
