//! The settings a link carries, one table per family: URL key, how to read it from a
//! configuration, how to write a value into one (parse errors name what was expected), and the
//! accepted values quoted in problem messages. Used by [`crate::experiment::url`].

use crate::engine::meta::{Algo, InnerOptimizer};
use crate::engine::mlp::{Activation, Precision};
use crate::engine::optim::OptimizerKind;
use crate::engine::tasks::BanditSetting;
use crate::experiment::backend::Backend;
use crate::experiment::state::Family;
use crate::experiment::{BanditConfig, Config};

pub(crate) type Get<C> = fn(&C) -> String;
pub(crate) type Set<C> = fn(&mut C, &str) -> Result<(), String>;

pub(crate) fn num<T: std::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.trim()
        .parse::<T>()
        .map_err(|_| format!("'{v}' is not {what}"))
}

pub(crate) fn finite(v: &str) -> Result<f64, String> {
    let x: f64 = num(v, "a number")?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!("'{v}' is not a finite number"))
    }
}

pub(crate) fn flag(v: &str) -> Result<bool, String> {
    match v {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(format!("'{v}' is not 0 or 1")),
    }
}

fn optimizer(v: &str) -> Result<OptimizerKind, String> {
    OptimizerKind::parse(v).ok_or_else(|| format!("'{v}' is not sgd or adam"))
}

fn fmt_hidden(h: &[usize]) -> String {
    h.iter().map(usize::to_string).collect::<Vec<_>>().join("x")
}

/// Per-run sine settings: URL key, read, write. Order matters: later keys may depend on
/// earlier ones (none do today).
pub(crate) fn sine_fields() -> Vec<(&'static str, Get<Config>, Set<Config>)> {
    vec![
        (
            "seed",
            |c| c.seed.to_string(),
            |c, v| num(v, "a whole number ≥ 0").map(|x| c.seed = x),
        ),
        (
            "iters",
            |c| c.iters.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.iters = x),
        ),
        (
            "meta_batch",
            |c| c.meta_batch.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.meta_batch = x),
        ),
        (
            "k",
            |c| c.k.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.k = x),
        ),
        (
            "k_query",
            |c| c.k_query.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.k_query = x),
        ),
        (
            "inner_lr",
            |c| c.inner_lr.to_string(),
            |c, v| finite(v).map(|x| c.inner_lr = x),
        ),
        (
            "inner_steps",
            |c| c.inner_steps.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.inner_steps = x),
        ),
        (
            "inner_batch",
            |c| c.inner_batch.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.inner_batch = x),
        ),
        (
            "inner_opt",
            |c| c.inner_optimizer.name().into(),
            |c, v| {
                InnerOptimizer::parse(v)
                    .ok_or_else(|| format!("'{v}' is not sgd, adam or adam-per-task"))
                    .map(|x| c.inner_optimizer = x)
            },
        ),
        (
            "meta_lr",
            |c| c.meta_lr.to_string(),
            |c, v| finite(v).map(|x| c.meta_lr = x),
        ),
        (
            "meta_opt",
            |c| c.meta_optimizer.name().into(),
            |c, v| optimizer(v).map(|x| c.meta_optimizer = x),
        ),
        (
            "anneal",
            |c| u8::from(c.anneal).to_string(),
            |c, v| flag(v).map(|x| c.anneal = x),
        ),
        (
            "hidden",
            |c| fmt_hidden(&c.hidden),
            |c, v| {
                let h = v
                    .split('x')
                    .map(|w| num::<usize>(w, "a width"))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("'{v}' is not widths like 40x40"))?;
                c.hidden = h;
                Ok(())
            },
        ),
        (
            "activation",
            |c| c.activation.name().into(),
            |c, v| {
                Activation::parse(v)
                    .ok_or_else(|| format!("'{v}' is not relu or tanh"))
                    .map(|x| c.activation = x)
            },
        ),
        (
            "precision",
            |c| match c.precision {
                Precision::F32 => "f32".into(),
                Precision::F64 => "f64".into(),
            },
            |c, v| {
                c.precision = match v {
                    "f32" => Precision::F32,
                    "f64" => Precision::F64,
                    _ => return Err(format!("'{v}' is not f32 or f64")),
                };
                Ok(())
            },
        ),
        (
            "backend",
            |c| c.backend.name().into(),
            |c, v| backend(v).map(|x| c.backend = x),
        ),
    ]
}

/// Bandit settings: URL key, read, write (setting before arms, pulls before adapt_every).
pub(crate) fn bandit_fields() -> Vec<(&'static str, Get<BanditConfig>, Set<BanditConfig>)> {
    vec![
        (
            "setting",
            |c| c.setting.name().into(),
            |c, v| {
                let s = BanditSetting::parse(v).ok_or_else(|| format!("'{v}' is not a bandit setting (independent, dependent-easy, dependent-medium, dependent-hard, dependent-uniform)"))?;
                c.setting = s;
                c.arms = if s.is_dependent() { 2 } else { 10 };
                Ok(())
            },
        ),
        (
            "agent",
            |c| c.algo.name().into(),
            |c, v| {
                Algo::parse(v)
                    .ok_or_else(|| format!("'{v}' is not an algorithm"))
                    .map(|x| c.algo = x)
            },
        ),
        (
            "arms",
            |c| c.arms.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.arms = x),
        ),
        (
            "pulls",
            |c| c.pulls.to_string(),
            |c, v| {
                c.pulls = num(v, "a whole number")?;
                c.adapt_every = BanditConfig::default_adapt_every(c.pulls);
                Ok(())
            },
        ),
        (
            "adapt_every",
            |c| c.adapt_every.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.adapt_every = x),
        ),
        (
            "iters",
            |c| c.iters.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.iters = x),
        ),
        (
            "seed",
            |c| c.seed.to_string(),
            |c, v| num(v, "a whole number ≥ 0").map(|x| c.seed = x),
        ),
        (
            "meta_batch",
            |c| c.meta_batch.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.meta_batch = x),
        ),
        (
            "inner_lr",
            |c| c.inner_lr.to_string(),
            |c, v| finite(v).map(|x| c.inner_lr = x),
        ),
        (
            "meta_lr",
            |c| c.meta_lr.to_string(),
            |c, v| finite(v).map(|x| c.meta_lr = x),
        ),
        (
            "epsilon",
            |c| c.epsilon.to_string(),
            |c, v| finite(v).map(|x| c.epsilon = x),
        ),
        (
            "episodes",
            |c| c.episodes.to_string(),
            |c, v| num(v, "a whole number").map(|x| c.episodes = x),
        ),
        (
            "eval_seed",
            |c| c.eval_seed.to_string(),
            |c, v| num(v, "a whole number ≥ 0").map(|x| c.eval_seed = x),
        ),
        (
            "backend",
            |c| c.backend.name().into(),
            |c, v| backend(v).map(|x| c.backend = x),
        ),
    ]
}

fn backend(v: &str) -> Result<Backend, String> {
    Backend::parse(v).ok_or_else(|| format!("'{v}' is not auto, cpu or webgpu"))
}

/// The accepted values of a key, as the problem messages state them.
pub fn accepted(key: &str, family: Family) -> String {
    use crate::experiment::bandit_config::limits as bl;
    use crate::experiment::config::limits as sl;
    let r = |(a, b): (usize, usize)| format!("{a}..={b}");
    match (family, key) {
        (_, "seed" | "eval_seed") => format!("0..={}", u64::MAX),
        (Family::Sine, "iters") => r(sl::ITERS),
        (Family::Sine, "meta_batch") => r(sl::META_BATCH),
        (Family::Sine, "k") => r(sl::K),
        (Family::Sine, "k_query") => r(sl::K_QUERY),
        (Family::Sine, "inner_steps") => r(sl::INNER_STEPS),
        (Family::Sine, "inner_batch") => r(sl::INNER_BATCH),
        (Family::Sine, "inner_lr" | "meta_lr") => format!("({}, {}]", sl::LR.0, sl::LR.1),
        (Family::Sine, "hidden") => format!(
            "{}..={} widths of {}..={}, like 40x40",
            sl::HIDDEN_LAYERS.0,
            sl::HIDDEN_LAYERS.1,
            sl::HIDDEN_WIDTH.0,
            sl::HIDDEN_WIDTH.1
        ),
        (_, "inner_opt") => "sgd, adam or adam-per-task".into(),
        (_, "meta_opt") => "sgd or adam".into(),
        (_, "anneal") => "0 or 1".into(),
        (_, "activation") => "relu or tanh".into(),
        (_, "precision") => "f32 or f64".into(),
        (_, "backend") => "auto, cpu or webgpu".into(),
        (Family::Bandit, "arms") => format!("{} (dependent: 2)", r(bl::ARMS)),
        (Family::Bandit, "pulls") => r(bl::PULLS),
        (Family::Bandit, "adapt_every") => format!("1..=pulls, at most {} blocks", bl::BLOCKS.1),
        (Family::Bandit, "iters") => r(bl::ITERS),
        (Family::Bandit, "meta_batch") => r(bl::META_BATCH),
        (Family::Bandit, "episodes") => r(bl::EPISODES),
        (Family::Bandit, "inner_lr" | "meta_lr") => format!("({}, {}]", bl::LR.0, bl::LR.1),
        (Family::Bandit, "epsilon") => "[0, 1]".into(),
        (Family::Bandit, "setting") => {
            "independent, dependent-easy, dependent-medium, dependent-hard, dependent-uniform"
                .into()
        }
        (Family::Bandit, "agent") => "maml, fomaml, reptile, metasgd, scratch".into(),
        _ => String::new(),
    }
}
