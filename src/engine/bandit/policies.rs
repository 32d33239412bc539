//! Classical bandit policies, each exactly as defined in its paper, acting on per-arm
//! counts ([`ArmStats`]).
//!
//! Rewards lie in [0, 1]. The policies built on a Beta–Bernoulli posterior (Thompson sampling,
//! optimistic Thompson sampling, the Gittins index, the Bayes-optimal programme) need 0/1
//! rewards: a reward `r` strictly between 0 and 1 is binarised by a Bernoulli(`r`) draw, the
//! reduction of Agrawal & Goyal (2012, "Analysis of Thompson sampling for the multi-armed
//! bandit problem", Section 2), which keeps the expected success equal to `r`. Greedy,
//! ε-greedy and UCB1 use the reward sums themselves. On Bernoulli arms both are the same
//! counts and no draw is made.

use rand::Rng as _;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::engine::rng::Rng;
use crate::engine::tasks::BanditTask;

/// What a policy has seen so far: pulls, reward sums and (binarised) successes per arm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArmStats {
    /// `Nᵢ`, pulls of arm `i`.
    pub pulls: Vec<u32>,
    /// `Sᵢ`, the sum of arm `i`'s rewards.
    pub rewards: Vec<f64>,
    /// `sᵢ`, arm `i`'s successes: its rewards of 1, and a Bernoulli(`r`) draw for each reward
    /// `r` strictly between 0 and 1 (equal to `Sᵢ` on Bernoulli arms).
    pub successes: Vec<u32>,
}

impl ArmStats {
    /// No pulls yet on `arms` arms.
    pub fn new(arms: usize) -> Self {
        Self {
            pulls: vec![0; arms],
            rewards: vec![0.0; arms],
            successes: vec![0; arms],
        }
    }

    /// Counts of Bernoulli arms: `pulls` and `successes` (reward sums = successes).
    pub fn from_counts(pulls: &[u32], successes: &[u32]) -> Self {
        Self {
            pulls: pulls.to_vec(),
            rewards: successes.iter().map(|&s| f64::from(s)).collect(),
            successes: successes.to_vec(),
        }
    }

    /// Records reward `reward` ∈ [0, 1] from `arm`; binarises it with one draw from `rng`
    /// only when it is strictly between 0 and 1.
    pub fn record(&mut self, arm: usize, reward: f64, rng: &mut Rng) {
        self.pulls[arm] += 1;
        self.rewards[arm] += reward;
        let success = if reward <= 0.0 {
            false
        } else if reward >= 1.0 {
            true
        } else {
            rng.random::<f64>() < reward
        };
        self.successes[arm] += u32::from(success);
    }

    /// Total pulls `t` so far.
    pub fn total(&self) -> u32 {
        self.pulls.iter().sum()
    }

    /// Failures `Nᵢ − sᵢ` of arm `i`.
    pub fn failures(&self, arm: usize) -> u32 {
        self.pulls[arm] - self.successes[arm]
    }

    /// `(Sᵢ + 1) / (Nᵢ + 2)`: the Beta(1, 1) posterior mean on Bernoulli arms, the same
    /// pseudo-count estimate for [0, 1] rewards (an untried arm counts 0.5).
    pub fn posterior_mean(&self, arm: usize) -> f64 {
        (self.rewards[arm] + 1.0) / (self.pulls[arm] as f64 + 2.0)
    }

    /// The mean of the Beta(1 + sᵢ, 1 + Nᵢ − sᵢ) posterior of the binarised successes.
    pub fn beta_mean(&self, arm: usize) -> f64 {
        (self.successes[arm] as f64 + 1.0) / (self.pulls[arm] as f64 + 2.0)
    }

    /// A draw from arm `arm`'s Beta(1 + sᵢ, 1 + Nᵢ − sᵢ) posterior.
    pub fn beta_sample(&self, arm: usize, rng: &mut Rng) -> f64 {
        let s = self.successes[arm] as f64;
        let f = self.failures(arm) as f64;
        Beta::new(1.0 + s, 1.0 + f)
            .expect("Beta parameters ≥ 1")
            .sample(rng)
    }
}

/// A classical policy that needs no precomputed table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Uniformly random arm every pull.
    Random,
    /// The arm with the highest posterior mean [`ArmStats::posterior_mean`], ties at random.
    Greedy,
    /// With probability ε a uniformly random arm, otherwise [`Baseline::Greedy`]'s choice.
    EpsGreedy {
        /// Exploration probability ε.
        epsilon: f64,
    },
    /// UCB1 (Auer, Cesa-Bianchi & Fischer 2002): play each arm once (in index order), then
    /// the arm maximising `x̄ᵢ + √(2 ln t / Nᵢ)` with `x̄ᵢ = Sᵢ / Nᵢ` the empirical mean and `t`
    /// the pulls so far; ties at random.
    Ucb1,
    /// Thompson sampling (Thompson 1933) with Beta(1, 1) priors: draw `θᵢ ~ Beta(1 + sᵢ,
    /// 1 + Nᵢ − sᵢ)` and play the largest.
    Thompson,
    /// Optimistic Thompson sampling (May, Korda, Lee & Leslie 2012, "Optimistic Bayesian
    /// sampling in contextual-bandit problems", JMLR 13): Thompson's draw, but never below the
    /// posterior mean: `θᵢ = max(draw, (sᵢ + 1) / (Nᵢ + 2))`; the largest is played, ties at
    /// random. One of the baselines of RL² (Duan et al. 2016, Table 1).
    OptimisticThompson,
    /// Always the best arm (knows the means): the reference for regret.
    Oracle,
}

impl Baseline {
    /// The six baselines of the first bandit release (and of the GPU kernel), with ε-greedy's
    /// ε = `epsilon`, in report order. [`crate::experiment::BanditRunner::baselines`] adds
    /// the others where they apply.
    pub fn all(epsilon: f64) -> [Baseline; 6] {
        [
            Baseline::Random,
            Baseline::Greedy,
            Baseline::EpsGreedy { epsilon },
            Baseline::Ucb1,
            Baseline::Thompson,
            Baseline::Oracle,
        ]
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Random => "random",
            Baseline::Greedy => "greedy",
            Baseline::EpsGreedy { .. } => "eps-greedy",
            Baseline::Ucb1 => "ucb1",
            Baseline::Thompson => "thompson",
            Baseline::OptimisticThompson => "ots",
            Baseline::Oracle => "oracle",
        }
    }

    /// The arm to pull next given `stats` (the oracle reads `task`).
    pub fn choose(self, stats: &ArmStats, task: &BanditTask, rng: &mut Rng) -> usize {
        let k = stats.pulls.len();
        match self {
            Baseline::Random => rng.random_range(0..k),
            Baseline::Greedy => greedy(stats, rng),
            Baseline::EpsGreedy { epsilon } => {
                if rng.random::<f64>() < epsilon {
                    rng.random_range(0..k)
                } else {
                    greedy(stats, rng)
                }
            }
            Baseline::Ucb1 => {
                if let Some(untried) = stats.pulls.iter().position(|&n| n == 0) {
                    return untried;
                }
                let log_t = (stats.total() as f64).ln();
                let index = (0..k).map(|i| {
                    let n = stats.pulls[i] as f64;
                    stats.rewards[i] / n + (2.0 * log_t / n).sqrt()
                });
                argmax_random_ties(index, rng)
            }
            Baseline::Thompson => {
                let draws: Vec<f64> = (0..k).map(|i| stats.beta_sample(i, rng)).collect();
                argmax_random_ties(draws.into_iter(), rng)
            }
            Baseline::OptimisticThompson => {
                let draws: Vec<f64> = (0..k).map(|i| optimistic_draw(stats, i, rng)).collect();
                argmax_random_ties(draws.into_iter(), rng)
            }
            Baseline::Oracle => task.best_arm(),
        }
    }
}

/// Optimistic Thompson sampling's value of arm `arm`: a posterior draw, raised to the posterior
/// mean when below it.
pub fn optimistic_draw(stats: &ArmStats, arm: usize, rng: &mut Rng) -> f64 {
    stats.beta_sample(arm, rng).max(stats.beta_mean(arm))
}

fn greedy(stats: &ArmStats, rng: &mut Rng) -> usize {
    argmax_random_ties((0..stats.pulls.len()).map(|i| stats.posterior_mean(i)), rng)
}

/// The index of the largest value, a uniformly random one among exact ties.
pub fn argmax_random_ties(values: impl Iterator<Item = f64>, rng: &mut Rng) -> usize {
    let mut best = f64::NEG_INFINITY;
    let mut chosen = 0;
    let mut ties = 0u32;
    for (i, v) in values.enumerate() {
        if v > best {
            best = v;
            chosen = i;
            ties = 1;
        } else if v == best {
            // reservoir sampling: keep the i-th tie with probability 1/ties
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                chosen = i;
            }
        }
    }
    chosen
}
