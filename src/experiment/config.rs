//! One typed experiment configuration with the paper setups as defaults and a validating
//! check that names the field and its accepted range.

use serde::{Deserialize, Serialize};

use crate::engine::meta::{momentum, Algo, InnerOptimizer, LearnerSpec, LrInit};
use crate::engine::mlp::{Activation, Mlp, Precision};
use crate::engine::optim::OptimizerKind;
use crate::engine::tasks::SineFamily;
use crate::error::Result;
use crate::experiment::backend::Backend;
use crate::experiment::schema::{carry, DefaultsBy, SINE};

/// The regression task family of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// MAML's sine distribution (Finn et al. 2017).
    #[serde(rename = "sine")]
    Sine,
    /// The Reptile demo's sine distribution (Nichol et al. 2018).
    #[serde(rename = "sine-reptile")]
    SineReptile,
}

impl TaskKind {
    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Sine => "sine",
            TaskKind::SineReptile => "sine-reptile",
        }
    }

    /// Parses a [`TaskKind::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [TaskKind::Sine, TaskKind::SineReptile]
            .into_iter()
            .find(|t| t.name() == s)
    }

    /// The task family.
    pub fn family(self) -> SineFamily {
        match self {
            TaskKind::Sine => SineFamily::maml(),
            TaskKind::SineReptile => SineFamily::reptile(),
        }
    }
}

/// Accepted ranges, chosen so that no configuration (e.g. from a shared link) can freeze a tab.
pub mod limits {
    /// Tasks per meta-batch.
    pub const META_BATCH: (usize, usize) = (1, 128);
    /// Support points per task (K).
    pub const K: (usize, usize) = (1, 100);
    /// Query points per training task.
    pub const K_QUERY: (usize, usize) = (1, 1000);
    /// Inner-loop steps.
    pub const INNER_STEPS: (usize, usize) = (1, 20);
    /// Reptile's points per inner step.
    pub const INNER_BATCH: (usize, usize) = (1, 100);
    /// Learning rates (exclusive lower bound).
    pub const LR: (f64, f64) = (0.0, 10.0);
    /// Hidden layers.
    pub const HIDDEN_LAYERS: (usize, usize) = (1, 4);
    /// Width of a hidden layer.
    pub const HIDDEN_WIDTH: (usize, usize) = (1, 256);
    /// Meta-iterations.
    pub const ITERS: (usize, usize) = (1, 200_000);
    /// The learned optimiser's meta-gradient clip: 20× the median norm of Meta-SGD's meta-gradient
    /// with 5 steps early in training (~5), above its 90th percentile (~18), far below its spikes
    /// (10³–10²⁷ when a task's inner loop blows up).
    pub const DEFAULT_CLIP: f64 = 100.0;

    /// The learned optimiser's initial momentum decay β (it is kept in this range while it
    /// learns).
    pub const MOMENTUM: (f64, f64) = (0.0, super::momentum::MAX_DECAY);
    /// Meta-gradient norm clip (0: off).
    pub const CLIP: (f64, f64) = (0.0, 1e6);
}

/// The learned optimiser's meta-gradient clip: 20× the median norm of Meta-SGD's meta-gradient
/// with 5 steps early in training (~5), above its 90th percentile (~18), far below its spikes
/// (10³–10²⁷ when a task's inner loop blows up).
pub const DEFAULT_CLIP: f64 = 100.0;

/// The learned optimiser's initial momentum decay: halfway between plain steps and heavy ball.
fn default_momentum() -> f64 {
    0.5
}

/// Every setting of a sine-regression run. Defaults follow the papers (see [`Config::new`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Task family.
    pub task: TaskKind,
    /// Algorithm.
    pub algo: Algo,
    /// Seed of weights and training tasks.
    pub seed: u64,
    /// Meta-iterations.
    pub iters: usize,
    /// Tasks per meta-iteration.
    pub meta_batch: usize,
    /// Support points per task (K-shot).
    pub k: usize,
    /// Query points per training task.
    pub k_query: usize,
    /// Inner learning rate α (also the fine-tuning rate at evaluation).
    pub inner_lr: f64,
    /// Inner steps during meta-training.
    pub inner_steps: usize,
    /// Meta-SGD and the learned optimiser: how the learned rates start.
    #[serde(default)]
    pub lr_init: LrInit,
    /// The learned optimiser: initial momentum decay β.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    /// Largest meta-gradient norm (0: no clipping).
    #[serde(default)]
    pub clip: f64,
    /// Reptile: support points per inner step.
    pub inner_batch: usize,
    /// Reptile: inner update rule.
    pub inner_optimizer: InnerOptimizer,
    /// Outer learning rate (Reptile: outer step size ε).
    pub meta_lr: f64,
    /// Outer update rule.
    pub meta_optimizer: OptimizerKind,
    /// Reptile: anneal ε linearly to 0 over the run.
    pub anneal: bool,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Numeric precision.
    pub precision: Precision,
    /// Where to train (the same for every run of an experiment).
    pub backend: Backend,
}

impl Config {
    /// The paper setup for `task` and `algo`:
    /// - `sine` (MAML, Finn et al. 2017): meta-batch 25, K = 10 + 10 query, MLP 1-40-40-1 ReLU,
    ///   inner SGD α = 0.01 for 1 step, Adam meta-lr 1e-3; 10,000 iterations (the paper trains
    ///   70,000: pass `iters=70000` for its figures).
    /// - `sine-reptile` (Reptile demo): MLP 1-64-64-1 tanh, inner SGD lr 0.02, K = 10, the query
    ///   set is the 50-point grid.
    /// - Reptile on either: 5 inner SGD steps on minibatches of K (so 50 points per task),
    ///   outer SGD with ε = 0.1 annealed linearly to 0; on `sine-reptile` one task per
    ///   iteration, as the demo.
    pub fn new(task: TaskKind, algo: Algo) -> Self {
        let mut c = Config {
            task,
            algo,
            seed: 0,
            iters: 10_000,
            meta_batch: 25,
            k: 10,
            k_query: 10,
            inner_lr: 0.01,
            inner_steps: 1,
            lr_init: LrInit::Constant,
            momentum: default_momentum(),
            clip: 0.0,
            inner_batch: 10,
            inner_optimizer: InnerOptimizer::Sgd,
            meta_lr: 1e-3,
            meta_optimizer: OptimizerKind::Adam,
            anneal: false,
            hidden: vec![40, 40],
            activation: Activation::Relu,
            precision: Precision::F32,
            backend: Backend::Auto,
        };
        if task == TaskKind::SineReptile {
            c.iters = 30_000;
            c.hidden = vec![64, 64];
            c.activation = Activation::Tanh;
            c.inner_lr = 0.02;
            c.k_query = 50;
        }
        if algo == Algo::MetaSgdMomentum {
            // one step leaves β without effect (m₀ = 0): the and our comparisons use 5;
            // learned rates over 5 steps drift to the edge of stability, where rare tasks blow
            // the inner loop up (Meta-SGD too): clipping the meta-gradient keeps it training
            c.inner_steps = 5;
            c.clip = DEFAULT_CLIP;
        }
        if algo == Algo::Reptile {
            c.inner_steps = 5;
            c.inner_batch = c.k;
            c.meta_optimizer = OptimizerKind::Sgd;
            c.meta_lr = 0.1;
            c.anneal = true;
            if task == TaskKind::SineReptile {
                c.meta_batch = 1;
            }
        }
        c
    }

    /// Checks every setting against the schema ([`crate::experiment::schema::SINE`]); the
    /// error names the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        SINE.iter().try_for_each(|s| s.check_in(self))
    }

    /// This run switched to `algo`: the algorithm's own defaults for the settings that follow
    /// the algorithm (e.g. Reptile's outer step size), the others kept.
    pub fn with_algo(&self, algo: Algo) -> Config {
        let fresh = Config::new(self.task, algo);
        carry(SINE, self, fresh, |d| d != DefaultsBy::Algo)
    }

    /// This run switched to `task`: the task's defaults, keeping only the settings whose
    /// default is the same everywhere (seed, precision, backend).
    pub fn with_task(&self, task: TaskKind) -> Config {
        let fresh = Config::new(task, self.algo);
        carry(SINE, self, fresh, |d| d == DefaultsBy::Nothing)
    }

    /// Points of each training task the meta-update learns from: Reptile's inner minibatches
    /// (`inner_steps × inner_batch`, 50 by default), the others' support and query sets
    /// (`k + k_query`, 20 on `sine`). Comparisons should say when these differ.
    pub fn points_per_task(&self) -> usize {
        match self.algo {
            Algo::Reptile => self.inner_steps * self.inner_batch,
            _ => self.k + self.k_query,
        }
    }

    /// The sentence that warns when `runs` learn from different amounts of data per task.
    pub fn data_budget_note(runs: &[Config]) -> Option<String> {
        let first = runs.first()?.points_per_task();
        if runs.iter().all(|c| c.points_per_task() == first) {
            return None;
        }
        let each: Vec<String> = runs
            .iter()
            .map(|c| format!("{} {}", c.algo.name(), c.points_per_task()))
            .collect();
        Some(format!(
            "The runs learn from different numbers of points per training task ({}): Reptile's inner minibatches are not MAML's support and query sets.",
            each.join(", ")
        ))
    }

    /// The sentence that warns when the fit chart's `n` adaptation steps are more than a run
    /// with meta-learned inner rates (Meta-SGD, the learned optimiser) was trained with: its rates
    /// (and decays) were tuned for its own number of steps, and past it the fit may overshoot or
    /// diverge (BENCHMARKS.md: the learned optimiser trained for 5 steps has a mean MSE of 1.66
    /// after 10).
    pub fn extra_steps_note(runs: &[Config], n: usize) -> Option<String> {
        let over: Vec<String> = runs
            .iter()
            .filter(|c| c.algo.learns_inner_lrs() && n > c.inner_steps)
            .map(|c| format!("{} was trained with {}", c.algo.name(), c.inner_steps))
            .collect();
        if over.is_empty() {
            return None;
        }
        Some(format!(
            "N = {n} is more steps than a learner with learned step sizes was trained for ({}): its rates were tuned for that many steps, and beyond them its fit can overshoot or blow up. Set N to its training steps to see what it learned.",
            over.join("; ")
        ))
    }

    /// The network this configuration trains.
    pub fn mlp(&self) -> Mlp {
        Mlp::new(1, &self.hidden, 1, self.activation)
    }

    /// The learner's settings.
    pub fn learner_spec(&self) -> LearnerSpec {
        LearnerSpec {
            algo: self.algo,
            mlp: self.mlp(),
            inner_lr: self.inner_lr,
            inner_steps: self.inner_steps,
            lr_init: self.lr_init,
            momentum: self.momentum,
            inner_batch: self.inner_batch,
            inner_optimizer: self.inner_optimizer,
            meta_lr: self.meta_lr,
            meta_optimizer: self.meta_optimizer,
            anneal_iters: self.anneal.then_some(self.iters),
            precision: self.precision,
            meta_clip: (self.clip > 0.0 && self.algo != Algo::Reptile).then_some(self.clip),
        }
    }
}
