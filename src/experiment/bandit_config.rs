//! The configuration of a bandit experiment: the task setting, the meta-learner of the
//! softmax agent, and the evaluation, with field-named validation.

use serde::{Deserialize, Serialize};

use crate::engine::bandit::rl2::Coefficients;
use crate::engine::bandit::{BanditLearnerSpec, Rl2Spec};
use crate::engine::tasks::{BanditFamily, BanditSetting};
use crate::error::{Error, Result};
use crate::experiment::backend::Backend;
use crate::experiment::bandit_agent::AgentAlgo;
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
    /// RL²'s GRU hidden units.
    pub const HIDDEN: (usize, usize) = (1, 256);
    /// RL²'s unrolled work per iteration, `meta_batch × pulls × hidden`: bounds the memory the
    /// backward pass keeps (about 6 values per unit and pull: ≤ 100 MB) and one iteration's time.
    pub const RL2_UNROLLED: usize = 2_000_000;
    /// RL²'s work per episode, `pulls × hidden²` (≈ a third of its multiply-adds): bounds an
    /// evaluation (the page's 2000 episodes stay under a minute in the worker).
    pub const RL2_EPISODE_WORK: usize = 10_000_000;
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
    /// The agent's learner: maml, fomaml, reptile, metasgd or scratch (the softmax agent), or
    /// rl2 (the recurrent agent).
    pub algo: AgentAlgo,
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
    /// RL²: GRU hidden units.
    #[serde(default = "defaults::hidden")]
    pub hidden: usize,
    /// RL²: discount `γ` of the advantages.
    #[serde(default = "defaults::gamma")]
    pub gamma: f64,
    /// RL²: GAE's `λ`.
    #[serde(default = "defaults::gae_lambda")]
    pub gae_lambda: f64,
    /// RL²: the entropy bonus at the start (annealed linearly to 0 over the iterations).
    #[serde(default = "defaults::entropy")]
    pub entropy: f64,
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

/// RL²'s defaults, also for configurations written before it existed.
mod defaults {
    pub fn hidden() -> usize {
        48
    }
    pub fn gamma() -> f64 {
        0.9
    }
    pub fn gae_lambda() -> f64 {
        0.8
    }
    pub fn entropy() -> f64 {
        0.05
    }
}

impl Default for BanditConfig {
    /// The playground's bandit experiment: dependent arms, medium difficulty, MAML's agent.
    fn default() -> Self {
        Self::new(BanditSetting::DependentMedium, AgentAlgo::Maml)
    }
}

impl BanditConfig {
    /// Defaults for `setting`: dependent settings 2 arms × 100 pulls (Wang et al. 2016),
    /// independent 10 arms × 100 pulls (a cell of RL²'s grid), the informative arm 11 arms × 5
    /// pulls (Wang et al.), skewed priors 5 arms × 20 pulls; adapt after every pull up to
    /// 100 blocks; α = 2, Adam 0.001 (0.01 let the noisy score-function gradient drift the
    /// baseline; measured in BENCHMARKS.md), meta-batch 16, 1000 iterations. RL²: 48 GRU
    /// units, Adam 0.003, [`BanditConfig::rl2_entropy`], [`BanditConfig::rl2_discount`] and
    /// [`BanditConfig::rl2_iters`] (measured in BENCHMARKS.md).
    pub fn new(setting: BanditSetting, algo: AgentAlgo) -> Self {
        let arms = setting.default_arms();
        let pulls = setting.default_pulls();
        Self {
            setting,
            arms,
            pulls,
            algo,
            iters: match algo {
                AgentAlgo::Scratch => 0,
                AgentAlgo::Rl2 => Self::rl2_iters(setting),
                _ => 1000,
            },
            seed: 0,
            meta_batch: 16,
            adapt_every: Self::default_adapt_every(pulls),
            inner_lr: 2.0,
            meta_lr: match algo {
                AgentAlgo::Reptile => 0.1,
                AgentAlgo::Rl2 => 0.003,
                _ => 0.001,
            },
            hidden: defaults::hidden(),
            gamma: Self::rl2_discount(setting).0,
            gae_lambda: Self::rl2_discount(setting).1,
            entropy: Self::rl2_entropy(setting),
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
        if self.algo.is_rl2() && self.iters == Self::rl2_iters(old) {
            self.iters = Self::rl2_iters(setting);
        }
        if (self.gamma, self.gae_lambda) == Self::rl2_discount(old) {
            (self.gamma, self.gae_lambda) = Self::rl2_discount(setting);
        }
        if self.entropy == Self::rl2_entropy(old) {
            self.entropy = Self::rl2_entropy(setting);
        }
    }

    /// RL²'s default iterations: 40,000 on independent arms (the RL² paper's setting, where it
    /// must learn to explore k arms), 30,000 on the informative arm (5-pull episodes, 20 s),
    /// 3000 elsewhere.
    pub fn rl2_iters(setting: BanditSetting) -> usize {
        match setting {
            BanditSetting::Independent => 40_000,
            BanditSetting::Informative => 30_000,
            _ => 3000,
        }
    }

    /// RL²'s default initial entropy bonus: 0.2 on the informative arm, where the agent must
    /// keep trying the arm that pays least until it learns to read it (30,000 updates: 3.84
    /// against 2.26 with 0.05, the optimum 4.11), 0.05 elsewhere.
    pub fn rl2_entropy(setting: BanditSetting) -> f64 {
        if setting == BanditSetting::Informative {
            0.2
        } else {
            defaults::entropy()
        }
    }

    /// RL²'s default `(γ, λ)`: on independent arms `(0.99, 0.3)`, so that exploring pays off
    /// over the long episode (k = 5, n = 100: 0.779 expected reward per pull in training at
    /// 14,000 iterations against 0.772 at 18,000 with the other pair); elsewhere `(0.9, 0.8)`,
    /// which learns faster where little exploration is needed (dependent medium after 600
    /// iterations: 73.62 against 66.01).
    pub fn rl2_discount(setting: BanditSetting) -> (f64, f64) {
        if setting == BanditSetting::Independent {
            (0.99, 0.3)
        } else {
            (defaults::gamma(), defaults::gae_lambda())
        }
    }

    /// Sets the pulls per episode and `adapt_every` to its default for them.
    pub fn set_pulls(&mut self, pulls: usize) {
        self.pulls = pulls;
        self.adapt_every = Self::default_adapt_every(pulls);
    }

    /// Switches the agent's learner: its own meta learning rate, and its default number of
    /// iterations when switching to or from `scratch` or RL² (none for `scratch`).
    pub fn set_algo(&mut self, algo: AgentAlgo) {
        let fresh = Self::new(self.setting, algo);
        let family_changes = algo.is_rl2() != self.algo.is_rl2();
        self.algo = algo;
        self.meta_lr = fresh.meta_lr;
        if algo == AgentAlgo::Scratch || self.iters == 0 || family_changes {
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
        if self.algo.is_rl2() {
            let work = self.pulls * self.hidden * self.hidden;
            if work > limits::RL2_EPISODE_WORK {
                return Err(Error::InvalidConfig {
                    field: "hidden",
                    message: format!(
                        "RL² costs pulls × hidden² = {} × {}² = {work} per episode; at most {} are accepted",
                        self.pulls,
                        self.hidden,
                        limits::RL2_EPISODE_WORK
                    ),
                });
            }
            let unrolled = self.meta_batch * self.pulls * self.hidden;
            if unrolled > limits::RL2_UNROLLED {
                return Err(Error::InvalidConfig {
                    field: "meta_batch",
                    message: format!(
                        "RL² unrolls meta_batch × pulls × hidden = {} × {} × {} = {unrolled} per iteration; at most {} are accepted",
                        self.meta_batch,
                        self.pulls,
                        self.hidden,
                        limits::RL2_UNROLLED
                    ),
                });
            }
            return Ok(());
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

    /// The softmax agent's meta-learner's settings (`None` for RL²).
    pub fn learner_spec(&self) -> Option<BanditLearnerSpec> {
        Some(BanditLearnerSpec {
            algo: self.algo.softmax()?,
            family: self.family(),
            meta_batch: self.meta_batch,
            adapt_every: self.adapt_every,
            inner_lr: self.inner_lr,
            meta_lr: self.meta_lr,
            iters: self.iters,
            score_function: true,
        })
    }

    /// RL²'s settings (value-loss weight ½, gradients clipped to norm 1).
    pub fn rl2_spec(&self) -> Rl2Spec {
        Rl2Spec {
            family: self.family(),
            hidden: self.hidden,
            meta_batch: self.meta_batch,
            meta_lr: self.meta_lr,
            iters: self.iters,
            coefficients: Coefficients {
                gamma: self.gamma,
                lambda: self.gae_lambda,
                entropy: self.entropy,
                value: 0.5,
            },
            max_grad_norm: 1.0,
        }
    }
}
