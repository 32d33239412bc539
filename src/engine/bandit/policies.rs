//! Classical bandit policies, each exactly as defined in its paper, acting on per-arm
//! counts ([`ArmStats`]).

use rand::Rng as _;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::engine::rng::Rng;
use crate::engine::tasks::BanditTask;

/// What a policy has seen so far: pulls and successes per arm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArmStats {
    /// `Nᵢ`, pulls of arm `i`.
    pub pulls: Vec<u32>,
    /// Successes (reward 1) of arm `i`.
    pub successes: Vec<u32>,
}

impl ArmStats {
    /// No pulls yet on `arms` arms.
    pub fn new(arms: usize) -> Self {
        Self {
            pulls: vec![0; arms],
            successes: vec![0; arms],
        }
    }

    /// Records reward `reward` (0 or 1) from `arm`.
    pub fn record(&mut self, arm: usize, reward: f64) {
        self.pulls[arm] += 1;
        self.successes[arm] += u32::from(reward > 0.5);
    }

    /// Total pulls `t` so far.
    pub fn total(&self) -> u32 {
        self.pulls.iter().sum()
    }

    /// The Beta(1, 1) posterior mean `(sᵢ + 1) / (Nᵢ + 2)` (an untried arm counts 0.5).
    pub fn posterior_mean(&self, arm: usize) -> f64 {
        (self.successes[arm] as f64 + 1.0) / (self.pulls[arm] as f64 + 2.0)
    }
}

/// A classical policy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Uniformly random arm every pull.
    Random,
    /// The arm with the highest Beta(1, 1) posterior mean, ties broken at random.
    Greedy,
    /// With probability ε a uniformly random arm, otherwise [`Baseline::Greedy`]'s choice.
    EpsGreedy {
        /// Exploration probability ε.
        epsilon: f64,
    },
    /// UCB1 (Auer, Cesa-Bianchi & Fischer 2002): play each arm once (in index order), then
    /// the arm maximising `x̄ᵢ + √(2 ln t / Nᵢ)` with `x̄ᵢ` the empirical mean and `t` the
    /// pulls so far; ties at random.
    Ucb1,
    /// Thompson sampling (Thompson 1933) with Beta(1, 1) priors: draw `θᵢ ~ Beta(1 + sᵢ,
    /// 1 + Nᵢ − sᵢ)` and play the largest.
    Thompson,
    /// Always the best arm (knows the means): the reference for regret.
    Oracle,
}

impl Baseline {
    /// All baselines with ε-greedy's ε = `epsilon`, in report order.
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
                    stats.successes[i] as f64 / n + (2.0 * log_t / n).sqrt()
                });
                argmax_random_ties(index, rng)
            }
            Baseline::Thompson => {
                let draws: Vec<f64> = (0..k)
                    .map(|i| {
                        let s = stats.successes[i] as f64;
                        let f = (stats.pulls[i] - stats.successes[i]) as f64;
                        Beta::new(1.0 + s, 1.0 + f)
                            .expect("Beta parameters ≥ 1")
                            .sample(rng)
                    })
                    .collect();
                argmax_random_ties(draws.into_iter(), rng)
            }
            Baseline::Oracle => task.best_arm(),
        }
    }
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
