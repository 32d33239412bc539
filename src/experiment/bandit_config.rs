//! The configuration of a bandit experiment: the task setting, the meta-learner of the
//! softmax agent, and the evaluation, with field-named validation.

use serde::{Deserialize, Serialize};

use crate::engine::bandit::BanditLearnerSpec;
use crate::engine::meta::Algo;
use crate::engine::tasks::{BanditFamily, BanditSetting};
use crate::error::{Error, Result};
use crate::experiment::backend::Backend;
use crate::experiment::schema::BANDIT;

/// Accepted ranges for bandit settings.
pub mod limits {
    /// Arms `k` (dependent settings: exactly 2).
    pub const ARMS: (usize, usize) = (2, 100);
    /// Pulls per episode `n`.
    pub const PULLS: (usize, usize) = (1, 10_000);
    /// Adaptation blocks per episode (`pulls / adapt_every`, rounded up): bounds the
    /// unrolled graph of one meta-iteration.
    pub const BLOCKS: (usize, usize) = (1, 500);
    /// Episodes per meta-iteration.
    pub const META_BATCH: (usize, usize) = (1, 128);
    /// Evaluation episodes.
    pub const EPISODES: (usize, usize) = (1, 100_000);
    /// Meta-iterations.
    pub const ITERS: (usize, usize) = (0, 200_000);
    /// Step sizes (exclusive lower bound).
    pub const LR: (f64, f64) = (0.0, 100.0);
}

/// Every setting of a bandit experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BanditConfig {
    /// How arm means are drawn.
    pub setting: BanditSetting,
    /// Arms `k`.
    pub arms: usize,
    /// Pulls per episode `n`.
    pub pulls: usize,
    /// Meta-learner of the agent: maml, fomaml, reptile, metasgd, or scratch (none).
    pub algo: Algo,
    /// Meta-iterations.
    pub iters: usize,
    /// Seed of the agent's training episodes.
    pub seed: u64,
    /// Episodes per meta-iteration.
    pub meta_batch: usize,
    /// The agent adapts every this many pulls.
    pub adapt_every: usize,
    /// Inner policy-gradient step size `α`.
    pub inner_lr: f64,
    /// Outer learning rate (Adam; Reptile: SGD step annealed to 0).
    pub meta_lr: f64,
    /// ε of ε-greedy.
    pub epsilon: f64,
    /// Evaluation episodes per policy.
    pub episodes: usize,
    /// Seed of the evaluation bandits.
    pub eval_seed: u64,
    /// Where the playground runs the evaluation episodes (`backend=auto|cpu|webgpu`): on the
    /// GPU every episode of every policy is one invocation, all in one dispatch. The agent's
    /// meta-training (k logits) stays on the CPU.
    #[serde(default)]
    pub backend: Backend,
}

impl Default for BanditConfig {
    /// The playground's bandit experiment: dependent arms, medium difficulty, MAML's agent.
    fn default() -> Self {
        Self::new(BanditSetting::DependentMedium, Algo::Maml)
    }
}

impl BanditConfig {
    /// Defaults for `setting`: dependent settings 2 arms × 100 pulls (Wang et al. 2016),
    /// independent 10 arms × 100 pulls (a cell of RL²'s grid), the informative arm 11 arms × 5
    /// pulls (Wang et al.), skewed priors 5 arms × 20 pulls; adapt after every pull up to
    /// 100 blocks; α = 2, Adam 0.001 (0.01 let the noisy score-function gradient drift the
    /// baseline; measured in BENCHMARKS.md), meta-batch 16, 1000 iterations.
    pub fn new(setting: BanditSetting, algo: Algo) -> Self {
        let arms = setting.default_arms();
        let pulls = setting.default_pulls();
        Self {
            setting,
            arms,
            pulls,
            algo,
            iters: if algo == Algo::Scratch { 0 } else { 1000 },
            seed: 0,
            meta_batch: 16,
            adapt_every: Self::default_adapt_every(pulls),
            inner_lr: 2.0,
            meta_lr: if algo == Algo::Reptile { 0.1 } else { 0.001 },
            epsilon: 0.1,
            episodes: 10_000,
            eval_seed: 1234,
            backend: Backend::Auto,
        }
    }

    /// Every pull when that gives at most 100 blocks, else `⌈pulls / 100⌉`.
    pub fn default_adapt_every(pulls: usize) -> usize {
        pulls.div_ceil(100).max(1)
    }

    /// Switches the setting. A setting that fixes the arms sets them (dependent 2, informative
    /// 11). Otherwise arms and pulls follow the new setting's defaults (arms: independent 10, a
    /// cell of RL²'s grid, skewed 5; pulls: 100, informative 5, Wang et al.'s episodes, skewed
    /// 20) when they were the old setting's defaults, and stay as they are when set otherwise.
    pub fn set_setting(&mut self, setting: BanditSetting) {
        let old = self.setting;
        self.setting = setting;
        self.arms = match setting.fixed_arms() {
            Some(k) => k,
            None if self.arms == old.default_arms() => setting.default_arms(),
            None => self.arms,
        };
        if self.pulls == old.default_pulls() && setting.default_pulls() != self.pulls {
            self.set_pulls(setting.default_pulls());
        }
    }

    /// Sets the pulls per episode and `adapt_every` to its default for them.
    pub fn set_pulls(&mut self, pulls: usize) {
        self.pulls = pulls;
        self.adapt_every = Self::default_adapt_every(pulls);
    }

    /// Switches the agent's meta-learner: its own meta learning rate, and no meta-iterations
    /// for `scratch` (the default number when leaving it).
    pub fn set_algo(&mut self, algo: Algo) {
        let fresh = Self::new(self.setting, algo);
        self.algo = algo;
        self.meta_lr = fresh.meta_lr;
        if algo == Algo::Scratch || self.iters == 0 {
            self.iters = fresh.iters;
        }
    }

    /// Checks every setting against the schema ([`crate::experiment::schema::BANDIT`]), then
    /// the rules between them; the error names the first field out of range.
    pub fn validate(&self) -> Result<()> {
        BANDIT.iter().try_for_each(|s| s.check_in(self))?;
        if let Some(k) = self.setting.fixed_arms().filter(|&k| k != self.arms) {
            let why = if self.setting.is_dependent() {
                "p₂ = 1 − p₁"
            } else {
                "ten candidates and the informative arm"
            };
            return Err(Error::InvalidConfig {
                field: "arms",
                message: format!(
                    "{} has exactly {k} arms ({why}), got {}",
                    self.setting.name(),
                    self.arms
                ),
            });
        }
        if self.adapt_every > self.pulls {
            return Err(Error::InvalidConfig {
                field: "adapt_every",
                message: format!(
                    "{} is more than the {} pulls of an episode",
                    self.adapt_every, self.pulls
                ),
            });
        }
        let blocks = self.pulls.div_ceil(self.adapt_every);
        if blocks > limits::BLOCKS.1 {
            return Err(Error::InvalidConfig {
                field: "adapt_every",
                message: format!(
                    "{} gives {blocks} adaptation blocks for {} pulls; at most {} are accepted (adapt_every ≥ {})",
                    self.adapt_every,
                    self.pulls,
                    limits::BLOCKS.1,
                    self.pulls.div_ceil(limits::BLOCKS.1)
                ),
            });
        }
        Ok(())
    }

    /// The task family.
    pub fn family(&self) -> BanditFamily {
        BanditFamily {
            setting: self.setting,
            arms: self.arms,
            pulls: self.pulls,
        }
    }

    /// The meta-learner's settings.
    pub fn learner_spec(&self) -> BanditLearnerSpec {
        BanditLearnerSpec {
            algo: self.algo,
            family: self.family(),
            meta_batch: self.meta_batch,
            adapt_every: self.adapt_every,
            inner_lr: self.inner_lr,
            meta_lr: self.meta_lr,
            iters: self.iters,
            score_function: true,
        }
    }
}
