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
use crate::experiment::lessons::{Lesson, LESSONS};
use crate::experiment::protocol::MAX_RUNS;
use crate::experiment::schema::sine::TASKS;
use crate::experiment::schema::{either, find, shorten, DefaultsBy, Scope, BANDIT, SINE};
use crate::experiment::state::{Experiment, Family};
use crate::experiment::url_view::{decode_view, encode_view, flag};
use crate::experiment::{BanditConfig, Config, TaskKind};

/// The link format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Longest query string read; the rest is ignored (and reported).
pub const MAX_QUERY_LEN: usize = 8192;
pub use crate::experiment::url_view::MAX_POINTS;

/// Keys of the view state (always accepted).
const VIEW_KEYS: [&str; 8] = [
    "v", "task", "n", "log", "heldout", "pts", "embed", "autoplay",
];

/// The query string (without `?`) of `e`: every setting of the active family, then the view.
pub fn encode(e: &Experiment) -> String {
    let mut parts: Vec<(String, String)> = vec![("v".into(), VERSION.to_string())];
    match e.family {
        Family::Sine => {
            for setting in SINE {
                let values: Vec<String> = e.runs.iter().map(|c| setting.text(c)).collect();
                let all_same = values.windows(2).all(|w| w[0] == w[1]);
                let v = if all_same && setting.link != "runs" {
                    values[0].clone()
                } else {
                    values.join(",")
                };
                parts.push((setting.link.into(), v));
            }
            encode_view(&e.view, &mut parts);
        }
        Family::Bandit => {
            parts.push(("task".into(), "bandit".into()));
            for setting in BANDIT {
                parts.push((setting.link.into(), setting.text(&e.bandit)));
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
    if let Some(id) = &e.view.lesson {
        parts.push(("lesson".into(), id.clone()));
    }
    if !e.view.text {
        parts.push(("text".into(), "0".into()));
    }
    if e.view.controls {
        parts.push(("controls".into(), "1".into()));
    }
    if let Some(n) = e.view.workers {
        parts.push(("workers".into(), n.to_string()));
    }
    if e.view.strict_simd {
        parts.push(("simd".into(), "strict".into()));
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
    used.extend([
        "hide", "app", "lesson", "text", "controls", "workers", "simd",
    ]);
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
            used.extend(BANDIT.iter().map(|s| s.link));
        }
        _ => {
            let kind = match task {
                None => TaskKind::Sine,
                Some(t) => TaskKind::parse(t).unwrap_or_else(|| {
                    problems.push(format!(
                        "`task`: '{}' is not {} or bandit; using sine",
                        shorten(t),
                        either(&TASKS.iter().map(|t| t.0).collect::<Vec<_>>())
                    ));
                    TaskKind::Sine
                }),
            };
            decode_sine(&pairs, kind, &mut e.runs, &mut problems);
            used.extend(SINE.iter().map(|s| s.link));
            decode_view(&pairs, kind, &mut e.view, &mut problems);
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
    if let Some(v) = pairs.get("lesson") {
        match Lesson::find(v) {
            Some(lesson) => e.view.lesson = Some(lesson.id.to_string()),
            None => problems.push(format!(
                "`lesson`: '{}' is not a lesson (accepted: {})",
                shorten(v),
                LESSONS.iter().map(|l| l.id).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    if let Some(v) = pairs.get("text") {
        e.view.text = flag(v).unwrap_or_else(|m| {
            problems.push(format!("`text`: {m}; accepted 0 or 1"));
            true
        });
    }
    if let Some(v) = pairs.get("controls") {
        e.view.controls = flag(v).unwrap_or_else(|m| {
            problems.push(format!("`controls`: {m}; accepted 0 or 1"));
            false
        });
    }
    if let Some(v) = pairs.get("workers") {
        match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_RUNS).contains(&n) => e.view.workers = Some(n),
            _ => problems.push(format!(
                "`workers` (training workers): '{}' is not a whole number from 1 to {MAX_RUNS}; using one per run as the cores allow",
                shorten(v)
            )),
        }
    }
    if let Some(v) = pairs.get("simd") {
        match v.trim() {
            "strict" => e.view.strict_simd = true,
            "auto" => {}
            _ => problems.push(format!(
                "`simd` (the worker's SIMD kernels): '{}' is not accepted; accepted: auto (relaxed SIMD where the browser has it), strict (never); using auto",
                shorten(v)
            )),
        }
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

fn decode_sine(
    pairs: &BTreeMap<String, String>,
    kind: TaskKind,
    runs: &mut Vec<Config>,
    problems: &mut Vec<String>,
) {
    let algo = find(SINE, "runs").map(|s| s.domain);
    let mut algos: Vec<Algo> = Vec::new();
    if let (Some(list), Some(domain)) = (pairs.get("runs"), algo) {
        let names: Vec<&str> = list.split(',').filter(|s| !s.trim().is_empty()).collect();
        if names.is_empty() {
            problems.push(format!(
                "`runs`: no algorithm given (accepted: {}, comma separated); using the default runs",
                domain.accepted()
            ));
        }
        for name in names.iter().take(MAX_RUNS) {
            match domain.parse(name).map(|v| Algo::parse(v.choice())) {
                Ok(Some(a)) => algos.push(a),
                Ok(None) | Err(_) => problems.push(format!(
                    "`runs`: '{}' is not an algorithm ({}); skipped",
                    shorten(name),
                    domain.accepted()
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
    let defaults: Vec<Config> = algos.iter().map(|&a| Config::new(kind, a)).collect();
    *runs = defaults.clone();
    for setting in SINE.iter().filter(|s| s.defaults_by != DefaultsBy::Frame) {
        let key = setting.link;
        let Some(value) = pairs.get(key) else {
            continue;
        };
        let values: Vec<&str> = value.split(',').collect();
        let per_run: Vec<&str> = if values.len() == runs.len() && setting.scope == Scope::Run {
            values
        } else {
            if values.len() != 1 {
                problems.push(match setting.scope {
                    Scope::Experiment => format!(
                        "`{key}`: one value for the whole experiment, {} given; the first is used",
                        values.len().min(9999)
                    ),
                    Scope::Run => format!(
                        "`{key}`: {} values for {} runs; the first is used for every run",
                        values.len().min(9999),
                        runs.len()
                    ),
                });
            }
            vec![values[0]; runs.len()]
        };
        let shared = per_run.windows(2).all(|w| w[0] == w[1]);
        for (i, v) in per_run.into_iter().enumerate() {
            let mut candidate = runs[i].clone();
            match setting
                .apply(&mut candidate, v)
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
                        setting.accepted(),
                        setting.text(&runs[i])
                    ))
                }
            }
        }
    }
}

fn decode_bandit(
    pairs: &BTreeMap<String, String>,
    b: &mut BanditConfig,
    problems: &mut Vec<String>,
) {
    // all at once first: the rules between settings (RL²'s meta_batch × pulls × hidden) hold
    // for the whole link, not for every prefix of it
    let mut whole = b.clone();
    let all_parse = BANDIT.iter().all(|setting| {
        pairs
            .get(setting.link)
            .is_none_or(|v| setting.apply(&mut whole, v).is_ok())
    });
    if all_parse && whole.validate().is_ok() {
        *b = whole;
        return;
    }
    // otherwise one by one, keeping each value that leaves the experiment valid
    for setting in BANDIT {
        let key = setting.link;
        let Some(v) = pairs.get(key) else { continue };
        let mut candidate = b.clone();
        match setting
            .apply(&mut candidate, v)
            .and_then(|_| candidate.validate().map_err(|e| e.to_string()))
        {
            Ok(()) => *b = candidate,
            Err(m) => problems.push(format!(
                "`{key}`: {m} (accepted: {}); using {}",
                setting.accepted(),
                setting.text(b)
            )),
        }
    }
}
