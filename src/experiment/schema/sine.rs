//! The settings of a sine-regression run ([`Config`]), in the order links write them and
//! controls show them. Defaults come from [`Config::new`] (per task family and algorithm).

use super::{whole, whole_of, DefaultsBy, Domain, Scope, Setting, Value};
use crate::engine::meta::{Algo, InnerOptimizer, LrInit};
use crate::engine::mlp::{Activation, Precision};
use crate::engine::optim::OptimizerKind;
use crate::experiment::backend::Backend;
use crate::experiment::config::{limits, Config, TaskKind};

/// Task families: `(name, label)`.
pub const TASKS: &[(&str, &str)] = &[("sine", "Sine · MAML"), ("sine-reptile", "Sine · Reptile")];
/// Algorithms: `(name, label)`, in [`Algo::ALL`]'s order.
pub const ALGOS: &[(&str, &str)] = &[
    ("maml", "MAML"),
    ("fomaml", "First-order MAML"),
    ("reptile", "Reptile"),
    ("metasgd", "Meta-SGD"),
    ("metasgd-momentum", "Learned optimiser (α, β)"),
    ("pretrain", "Pre-training"),
    ("scratch", "From scratch"),
    ("cnp", "Neural process (CNP)"),
    ("hypernet", "GRU writing the model"),
];
/// Outer optimisers.
pub const OPTIMIZERS: &[(&str, &str)] = &[("sgd", "SGD"), ("adam", "Adam")];
/// Reptile's inner rules: Adam with β₁ = 0 keeping its state across tasks (the authors' code),
/// or reset for every task.
pub const INNER_OPTIMIZERS: &[(&str, &str)] = &[
    ("sgd", "SGD"),
    ("adam", "Adam (β₁ 0, state kept)"),
    ("adam-per-task", "Adam, reset per task"),
];
/// How Meta-SGD's learned rates start.
pub const LR_INITS: &[(&str, &str)] = &[
    ("constant", "All at α"),
    ("uniform", "Random in [0.005, 0.1]"),
];
/// Hidden activations.
pub const ACTIVATIONS: &[(&str, &str)] = &[("relu", "ReLU"), ("tanh", "tanh")];
/// Precisions.
pub const PRECISIONS: &[(&str, &str)] = &[("f32", "f32"), ("f64", "f64 (CPU only)")];
/// Backends, in [`Backend::ALL`]'s order.
pub const BACKENDS: &[(&str, &str)] = &[
    ("auto", "Auto"),
    ("cpu", "CPU (candle)"),
    ("webgpu", "WebGPU"),
];
/// Seeds: whole numbers a JavaScript number and a JSON message carry exactly.
pub const SEED: Domain = Domain::Whole {
    min: 0,
    max: u32::MAX as u64,
};

const LR: Domain = Domain::Real {
    min: limits::LR.0,
    max: limits::LR.1,
    open_min: true,
};

fn learns_inner_lrs(c: &Config) -> bool {
    c.algo.learns_inner_lrs()
}

fn is_learned_optimizer(c: &Config) -> bool {
    c.algo == Algo::MetaSgdMomentum
}

fn is_reptile(c: &Config) -> bool {
    c.algo == Algo::Reptile
}

/// Settings of the inner loop: every learner but the model-based ones, which take no
/// gradient step at adaptation.
fn adapts_by_gradient(c: &Config) -> bool {
    !c.algo.is_model_based()
}

fn optimizer(v: &Value) -> OptimizerKind {
    OptimizerKind::parse(v.choice()).unwrap_or_default()
}

/// Every setting of a sine run, in link order: `task` and `algo` first (they pick the
/// defaults of the others), then coupling before what it couples to (`k` sets Reptile's
/// `inner_batch`).
pub static SINE: &[Setting<Config>] = &[
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(
            "task",
            "task",
            "Task",
            "Task family: MAML's sine tasks or the Reptile demo's",
            DefaultsBy::Frame,
            Domain::Choice(TASKS),
            |c| Value::Choice(c.task.name()),
            |c, v| {
                if let Some(t) = TaskKind::parse(v.choice()) {
                    *c = c.with_task(t)
                }
            },
        )
    },
    Setting::new(
        "runs",
        "algo",
        "Algorithm",
        "Meta-learning algorithm or baseline (in a link: one per run, `runs=maml,pretrain`)",
        DefaultsBy::Frame,
        Domain::Choice(ALGOS),
        |c| Value::Choice(c.algo.name()),
        |c, v| {
            if let Some(a) = Algo::parse(v.choice()) {
                *c = c.with_algo(a)
            }
        },
    ),
    Setting::new(
        "k",
        "k",
        "K (support points)",
        "Support points per task (K-shot)",
        DefaultsBy::Task,
        whole(limits::K),
        |c| whole_of(c.k),
        |c, v| {
            c.k = v.size();
            c.inner_batch = c.k;
        },
    ),
    Setting::new(
        "k_query",
        "k-query",
        "Query points",
        "Query points per training task",
        DefaultsBy::Task,
        whole(limits::K_QUERY),
        |c| whole_of(c.k_query),
        |c, v| c.k_query = v.size(),
    ),
    Setting {
        applies: adapts_by_gradient,
        ..Setting::new(
            "inner_steps",
            "inner-steps",
            "Inner steps",
            "Inner-loop steps during meta-training",
            DefaultsBy::Algo,
            whole(limits::INNER_STEPS),
            |c| whole_of(c.inner_steps),
            |c, v| c.inner_steps = v.size(),
        )
    },
    Setting {
        applies: adapts_by_gradient,
        ..Setting::new(
            "inner_lr",
            "inner-lr",
            "Inner learning rate α",
            "Inner learning rate α (also the fine-tuning rate at evaluation)",
            DefaultsBy::Task,
            LR,
            |c| Value::Real(c.inner_lr),
            |c, v| c.inner_lr = v.real(),
        )
    },
    Setting {
        applies: learns_inner_lrs,
        ..Setting::new(
            "lr_init",
            "lr-init",
            "Learned rates start",
            "Meta-SGD: every learned rate at α, or each drawn from U[0.005, 0.1] as Li et al. 2017",
            DefaultsBy::Nothing,
            Domain::Choice(LR_INITS),
            |c| Value::Choice(c.lr_init.name()),
            |c, v| c.lr_init = LrInit::parse(v.choice()).unwrap_or_default(),
        )
    },
    Setting {
        applies: is_learned_optimizer,
        ..Setting::new(
            "momentum",
            "momentum",
            "Initial momentum β",
            "Learned optimiser: every parameter's momentum decay at the start (learned, kept in [0, 0.95])",
            DefaultsBy::Nothing,
            Domain::Real {
                min: limits::MOMENTUM.0,
                max: limits::MOMENTUM.1,
                open_min: false,
            },
            |c| Value::Real(c.momentum),
            |c, v| c.momentum = v.real(),
        )
    },
    Setting {
        applies: |c| c.algo != Algo::Reptile && c.algo != Algo::Scratch,
        ..Setting::new(
            "clip",
            "clip",
            "Meta-gradient clip",
            "Largest norm of a meta-gradient, longer ones are scaled down and non-finite ones skipped (0: off; CPU only)",
            DefaultsBy::Algo,
            Domain::Real {
                min: limits::CLIP.0,
                max: limits::CLIP.1,
                open_min: false,
            },
            |c| Value::Real(c.clip),
            |c, v| c.clip = v.real(),
        )
    },
    Setting {
        applies: is_reptile,
        ..Setting::new(
            "inner_batch",
            "inner-batch",
            "Inner minibatch",
            "Reptile: support points per inner step (K by default)",
            DefaultsBy::Algo,
            whole(limits::INNER_BATCH),
            |c| whole_of(c.inner_batch),
            |c, v| c.inner_batch = v.size(),
        )
    },
    Setting {
        applies: is_reptile,
        ..Setting::new(
            "inner_opt",
            "inner-opt",
            "Inner optimiser",
            "Reptile: inner update rule (adam: β₁ = 0 with its state kept across tasks, as the authors' code; adam-per-task: reset for every task)",
            DefaultsBy::Algo,
            Domain::Choice(INNER_OPTIMIZERS),
            |c| Value::Choice(c.inner_optimizer.name()),
            |c, v| c.inner_optimizer = InnerOptimizer::parse(v.choice()).unwrap_or(InnerOptimizer::Sgd),
        )
    },
    Setting::new(
        "meta_lr",
        "meta-lr",
        "Meta learning rate",
        "Outer learning rate (Reptile: outer step size ε)",
        DefaultsBy::Algo,
        LR,
        |c| Value::Real(c.meta_lr),
        |c, v| c.meta_lr = v.real(),
    ),
    Setting::new(
        "meta_opt",
        "meta-opt",
        "Meta optimiser",
        "Outer update rule",
        DefaultsBy::Algo,
        Domain::Choice(OPTIMIZERS),
        |c| Value::Choice(c.meta_optimizer.name()),
        |c, v| c.meta_optimizer = optimizer(&v),
    ),
    Setting {
        applies: is_reptile,
        ..Setting::new(
            "anneal",
            "anneal",
            "Anneal ε to 0",
            "Reptile: anneal the outer step size linearly to 0 over the run",
            DefaultsBy::Algo,
            Domain::Flag,
            |c| Value::Flag(c.anneal),
            |c, v| c.anneal = v.flag(),
        )
    },
    Setting::new(
        "meta_batch",
        "meta-batch",
        "Meta-batch (tasks)",
        "Tasks per meta-iteration",
        DefaultsBy::Algo,
        whole(limits::META_BATCH),
        |c| whole_of(c.meta_batch),
        |c, v| c.meta_batch = v.size(),
    ),
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(
            "iters",
            "iters",
            "Iterations",
            "Meta-iterations of every run",
            DefaultsBy::Task,
            whole(limits::ITERS),
            |c| whole_of(c.iters),
            |c, v| c.iters = v.size(),
        )
    },
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(
            "seed",
            "seed",
            "Seed",
            "Seed of the weights and the training tasks (the same for every run)",
            DefaultsBy::Nothing,
            SEED,
            |c| Value::Whole(c.seed),
            |c, v| c.seed = v.whole(),
        )
    },
    Setting::new(
        "hidden",
        "hidden",
        "Hidden layers",
        "Hidden layer widths, like 40x40",
        DefaultsBy::Task,
        Domain::Widths {
            layers: limits::HIDDEN_LAYERS,
            width: limits::HIDDEN_WIDTH,
        },
        |c| Value::Widths(c.hidden.clone()),
        |c, v| c.hidden = v.widths(),
    ),
    Setting::new(
        "activation",
        "activation",
        "Activation",
        "Hidden activation",
        DefaultsBy::Task,
        Domain::Choice(ACTIVATIONS),
        |c| Value::Choice(c.activation.name()),
        |c, v| c.activation = Activation::parse(v.choice()).unwrap_or(Activation::Relu),
    ),
    Setting::new(
        "precision",
        "precision",
        "Precision",
        "Numeric precision (the WebGPU backend computes in f32)",
        DefaultsBy::Nothing,
        Domain::Choice(PRECISIONS),
        |c| Value::Choice(c.precision.name()),
        |c, v| c.precision = Precision::parse(v.choice()).unwrap_or_default(),
    ),
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(
            "backend",
            "backend",
            "Backend",
            "Where the runs train: auto takes WebGPU on a hardware adapter when, timed here, it is clearly faster than the CPU",
            DefaultsBy::Nothing,
            Domain::Choice(BACKENDS),
            |c| Value::Choice(c.backend.name()),
            |c, v| c.backend = Backend::parse(v.choice()).unwrap_or_default(),
        )
    },
];
