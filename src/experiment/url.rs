//! The experiment as a readable, versioned query string (`?v=1&task=sine&runs=maml,pretrain
//! &k=10…`), and the one validating decoder every link goes through.
//!
//! Decoding never fails and never panics: unknown keys are ignored, malformed or out-of-range
//! values fall back to the default, and each is reported in a list of problems naming the key
//! and, for settings, the accepted range (the messages of `validate()`). Per-run settings are
//! one value for every run (`k=10`) or one per run (`inner_lr=0.01,0.02`). The link ends with
//! the version of the app that wrote it (`app=0.1.0`).

use std::collections::BTreeMap;

use crate::engine::meta::Algo;
use crate::experiment::protocol::MAX_RUNS;
use crate::experiment::state::{Experiment, Family, ViewState};
use crate::experiment::url_fields::{accepted, bandit_fields, finite, flag, num, sine_fields};
use crate::experiment::{BanditConfig, Config, TaskKind};

/// The link format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Longest query string read; the rest is ignored (and reported).
pub const MAX_QUERY_LEN: usize = 8192;
/// Most user-placed support points a link may carry.
pub const MAX_POINTS: usize = 100;

/// Keys of the view state (always accepted).
const VIEW_KEYS: [&str; 8] = [
    "v", "task", "n", "log", "heldout", "pts", "embed", "autoplay",
];

/// The query string (without `?`) of `e`: every setting of the active family, then the view.
pub fn encode(e: &Experiment) -> String {
    let mut parts: Vec<(String, String)> = vec![("v".into(), VERSION.to_string())];
    match e.family {
        Family::Sine => {
            let task = e.runs.first().map(|c| c.task).unwrap_or(TaskKind::Sine);
            parts.push(("task".into(), task.name().into()));
            let algos: Vec<&str> = e.runs.iter().map(|c| c.algo.name()).collect();
            parts.push(("runs".into(), algos.join(",")));
            for (key, get, _) in sine_fields() {
                let values: Vec<String> = e.runs.iter().map(get).collect();
                let all_same = values.windows(2).all(|w| w[0] == w[1]);
                let v = if all_same {
                    values[0].clone()
                } else {
                    values.join(",")
                };
                parts.push((key.into(), v));
            }
            let view = &e.view;
            parts.push(("n".into(), view.fit_steps.to_string()));
            parts.push(("log".into(), u8::from(view.log_scale).to_string()));
            parts.push(("heldout".into(), view.task_index.to_string()));
            if let Some(points) = &view.points {
                let p: Vec<String> = points.iter().map(|(x, y)| format!("{x}:{y}")).collect();
                parts.push(("pts".into(), p.join(";")));
            }
        }
        Family::Bandit => {
            parts.push(("task".into(), "bandit".into()));
            for (key, get, _) in bandit_fields() {
                parts.push((key.into(), get(&e.bandit)));
            }
        }
    }
    if e.view.embed {
        parts.push(("embed".into(), "1".into()));
    }
    if e.view.autoplay {
        parts.push(("autoplay".into(), "1".into()));
    }
    if !e.view.hide.is_empty() {
        parts.push(("hide".into(), e.view.hide.join(",")));
    }
    // the version that writes the link, so a reader knows what made it
    parts.push(("app".into(), env!("CARGO_PKG_VERSION").into()));
    parts
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads a query string (with or without the leading `?`) into an experiment, starting from
/// the defaults. Returns the experiment, always valid, and the problems found.
pub fn decode(query: &str) -> (Experiment, Vec<String>) {
    let mut problems = Vec::new();
    let mut query = query.strip_prefix('?').unwrap_or(query);
    if query.len() > MAX_QUERY_LEN {
        problems.push(format!(
            "the link is {} characters long; only the first {MAX_QUERY_LEN} were read",
            query.len()
        ));
        let mut cut = MAX_QUERY_LEN;
        while !query.is_char_boundary(cut) {
            cut -= 1;
        }
        query = &query[..cut];
    }
    let mut pairs: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k.is_empty() {
            continue;
        }
        if pairs.contains_key(k.as_ref()) {
            problems.push(format!(
                "`{k}` is given more than once; the first value is used"
            ));
            continue;
        }
        pairs.insert(k.into_owned(), v.into_owned());
    }
    let mut e = Experiment::default();
    if let Some(v) = pairs.get("v") {
        if v != &VERSION.to_string() {
            problems.push(format!(
                "`v`: link version '{v}' is unknown; read as version {VERSION}"
            ));
        }
    }
    let mut used: Vec<&str> = VIEW_KEYS.to_vec();
    used.push("hide");
    used.push("app");
    if let Some(v) = pairs.get("app") {
        let ok = !v.is_empty()
            && v.len() <= 32
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c));
        if ok {
            e.view.made_with = Some(v.clone());
        } else {
            problems.push(format!(
                "`app`: '{}' is not a version number; ignored",
                shorten(v)
            ));
        }
    }
    let task = pairs.get("task").map(String::as_str);
    match task {
        Some("bandit") => {
            e.family = Family::Bandit;
            decode_bandit(&pairs, &mut e.bandit, &mut problems);
            used.extend(bandit_fields().iter().map(|f| f.0));
        }
        _ => {
            let kind = match task {
                None => TaskKind::Sine,
                Some(t) => TaskKind::parse(t).unwrap_or_else(|| {
                    problems.push(format!(
                        "`task`: '{t}' is not sine, sine-reptile or bandit; using sine"
                    ));
                    TaskKind::Sine
                }),
            };
            decode_sine(&pairs, kind, &mut e.runs, &mut problems);
            used.push("runs");
            used.extend(sine_fields().iter().map(|f| f.0));
            decode_view(&pairs, &mut e.view, &mut problems);
        }
    }
    if let Some(v) = pairs.get("embed") {
        e.view.embed = flag(v).unwrap_or_else(|m| {
            problems.push(format!("`embed`: {m}; accepted 0 or 1"));
            false
        });
    }
    if let Some(v) = pairs.get("autoplay") {
        e.view.autoplay = flag(v).unwrap_or_else(|m| {
            problems.push(format!("`autoplay`: {m}; accepted 0 or 1"));
            false
        });
    }
    if let Some(v) = pairs.get("hide") {
        e.view.hide = v
            .split(',')
            .map(str::trim)
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= 32
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .take(64)
            .map(String::from)
            .collect();
    }
    let unknown: Vec<&str> = pairs
        .keys()
        .map(String::as_str)
        .filter(|k| !used.contains(k))
        .collect();
    if !unknown.is_empty() {
        let mut list: Vec<String> = unknown
            .iter()
            .take(10)
            .map(|k| format!("`{}`", shorten(k)))
            .collect();
        if unknown.len() > 10 {
            list.push(format!("and {} more", unknown.len() - 10));
        }
        problems.push(format!("unknown keys ignored: {}", list.join(", ")));
    }
    (e, problems)
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

fn decode_sine(
    pairs: &BTreeMap<String, String>,
    kind: TaskKind,
    runs: &mut Vec<Config>,
    problems: &mut Vec<String>,
) {
    let mut algos: Vec<Algo> = Vec::new();
    if let Some(list) = pairs.get("runs") {
        let names: Vec<&str> = list.split(',').filter(|s| !s.is_empty()).collect();
        for name in names.iter().take(MAX_RUNS) {
            match Algo::parse(name.trim()) {
                Some(a) => algos.push(a),
                None => problems.push(format!(
                    "`runs`: '{}' is not an algorithm (maml, fomaml, reptile, metasgd, pretrain, scratch); skipped",
                    shorten(name)
                )),
            }
        }
        if names.len() > MAX_RUNS {
            problems.push(format!(
                "`runs`: {} runs given; at most {MAX_RUNS} are accepted, the first {MAX_RUNS} kept",
                names.len()
            ));
        }
    }
    if algos.is_empty() {
        algos = runs.iter().map(|c| c.algo).collect();
    }
    let defaults: Vec<Config> = algos
        .iter()
        .map(|&a| {
            let mut c = Config::new(kind, a);
            if kind == TaskKind::Sine {
                c.iters = 10_000;
            }
            c
        })
        .collect();
    *runs = defaults.clone();
    for (key, _, set) in sine_fields() {
        let Some(value) = pairs.get(key) else {
            continue;
        };
        let values: Vec<&str> = value.split(',').collect();
        let per_run: Vec<&str> = if values.len() == runs.len() {
            values
        } else {
            if values.len() != 1 {
                problems.push(format!(
                    "`{key}`: {} values for {} runs; the first is used for every run",
                    values.len().min(9999),
                    runs.len()
                ));
            }
            vec![values[0]; runs.len()]
        };
        let shared = per_run.windows(2).all(|w| w[0] == w[1]);
        for (i, v) in per_run.into_iter().enumerate() {
            let mut candidate = runs[i].clone();
            match set(&mut candidate, v)
                .and_then(|_| candidate.validate().map_err(|e| e.to_string()))
            {
                Ok(()) => runs[i] = candidate,
                // one value for every run: one report is enough
                Err(_) if shared && i > 0 => {}
                Err(m) => {
                    let which = if shared {
                        "every run".to_string()
                    } else {
                        format!("run {}", i + 1)
                    };
                    problems.push(format!(
                        "`{key}` ({which}): {m} (accepted: {}); using {}",
                        accepted(key, Family::Sine),
                        sine_default(key, &defaults[i])
                    ))
                }
            }
        }
    }
}

fn sine_default(key: &str, c: &Config) -> String {
    sine_fields()
        .into_iter()
        .find(|f| f.0 == key)
        .map(|f| (f.1)(c))
        .unwrap_or_default()
}

fn decode_bandit(
    pairs: &BTreeMap<String, String>,
    b: &mut BanditConfig,
    problems: &mut Vec<String>,
) {
    let defaults = b.clone();
    for (key, get, set) in bandit_fields() {
        let Some(v) = pairs.get(key) else { continue };
        let mut candidate = b.clone();
        match set(&mut candidate, v).and_then(|_| candidate.validate().map_err(|e| e.to_string())) {
            Ok(()) => *b = candidate,
            Err(m) => problems.push(format!(
                "`{key}`: {m} (accepted: {}); using {}",
                accepted(key, Family::Bandit),
                get(if key == "arms" || key == "adapt_every" {
                    b
                } else {
                    &defaults
                })
            )),
        }
    }
}

fn decode_view(pairs: &BTreeMap<String, String>, view: &mut ViewState, problems: &mut Vec<String>) {
    if let Some(v) = pairs.get("n") {
        match num::<usize>(v, "a whole number") {
            Ok(n) if (1..=100).contains(&n) => view.fit_steps = n,
            _ => problems.push(format!(
                "`n` (fit steps): '{}' is outside the accepted range 1..=100; using 10",
                shorten(v)
            )),
        }
    }
    if let Some(v) = pairs.get("log") {
        match flag(v) {
            Ok(b) => view.log_scale = b,
            Err(m) => problems.push(format!("`log`: {m}; accepted 0 or 1")),
        }
    }
    if let Some(v) = pairs.get("heldout") {
        match num::<u64>(v, "a whole number") {
            Ok(i) if i <= 1_000_000 => view.task_index = i,
            _ => problems.push(format!(
                "`heldout`: '{}' is outside the accepted range 0..=1000000; using 0",
                shorten(v)
            )),
        }
    }
    if let Some(v) = pairs.get("pts") {
        let mut points = Vec::new();
        let mut bad = 0usize;
        for p in v.split(';').filter(|p| !p.is_empty()) {
            let parsed = p
                .split_once(':')
                .and_then(|(x, y)| Some((finite(x).ok()?, finite(y).ok()?)));
            match parsed {
                Some((x, y))
                    if (-5.0..=5.0).contains(&x)
                        && y.abs() <= 100.0
                        && points.len() < MAX_POINTS =>
                {
                    points.push((x, y))
                }
                _ => bad += 1,
            }
        }
        if bad > 0 {
            problems.push(format!(
                "`pts`: {bad} support points skipped (accepted: at most {MAX_POINTS} points x:y with x in [−5, 5], |y| ≤ 100)"
            ));
        }
        view.points = Some(points);
    }
}
