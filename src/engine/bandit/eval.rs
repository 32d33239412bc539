//! The bandit evaluation protocol: every policy plays the same `episodes` bandits (drawn once
//! from the evaluation seed) for `pulls` pulls; reported are the mean total reward with its
//! standard error and the mean cumulative regret against pulls.

use serde::{Deserialize, Serialize};

use crate::engine::bandit::agent::SoftmaxAgent;
use crate::engine::bandit::policies::{ArmStats, Baseline};
use crate::engine::bandit::rl2::Rl2Agent;
use crate::engine::rng::{rng_indexed, Rng, Stream};
use crate::engine::tasks::{BanditFamily, BanditTask, TaskFamily};

/// A policy to evaluate.
#[derive(Clone, Debug)]
pub enum Policy {
    /// A classical policy.
    Baseline(Baseline),
    /// The meta-learned agent, under a display name.
    Agent(String, SoftmaxAgent),
    /// The RL² recurrent agent, under a display name.
    Recurrent(String, Rl2Agent),
}

impl Policy {
    /// The name in reports.
    pub fn name(&self) -> String {
        match self {
            Policy::Baseline(b) => b.name().to_string(),
            Policy::Agent(name, _) | Policy::Recurrent(name, _) => name.clone(),
        }
    }

    /// Plays one episode, calling `on_pull(arm, reward)` after each pull.
    pub fn play(
        &self,
        task: &BanditTask,
        pulls: usize,
        rng: &mut Rng,
        mut on_pull: impl FnMut(usize, f64),
    ) {
        match self {
            Policy::Baseline(b) => {
                let mut stats = ArmStats::new(task.means.len());
                for _ in 0..pulls {
                    let a = b.choose(&stats, task, rng);
                    let r = task.pull(a, rng);
                    stats.record(a, r);
                    on_pull(a, r);
                }
            }
            Policy::Agent(_, agent) => {
                agent.play(task, pulls, rng, on_pull);
            }
            Policy::Recurrent(_, agent) => agent.play(task, pulls, rng, on_pull),
        }
    }
}

/// One policy's evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Policy name.
    pub policy: String,
    /// Mean over episodes of the total reward.
    pub mean_total_reward: f64,
    /// Its standard error (sample standard deviation / √episodes).
    pub stderr: f64,
    /// Episodes played.
    pub episodes: usize,
    /// Pull counts `t` at which the regret curve is sampled (1-based).
    pub curve_pulls: Vec<usize>,
    /// Mean cumulative (pseudo-)regret `Σ_{s≤t} (μ* − μ_{a_s})` at each of `curve_pulls`.
    pub regret_mean: Vec<f64>,
    /// Its standard error.
    pub regret_stderr: Vec<f64>,
}

/// The outcome of [`evaluate`].
pub type EvalOutcome = Vec<PolicyReport>;

/// The bandits of an evaluation: `episodes` draws from `family` with `seed`.
pub fn eval_tasks(family: &BanditFamily, episodes: usize, seed: u64) -> Vec<BanditTask> {
    let mut r = rng_indexed(seed, Stream::Eval, 0);
    (0..episodes).map(|_| family.sample_task(&mut r)).collect()
}

/// Up to `points` pull counts spread evenly over `1..=pulls` (always including `pulls`).
pub fn curve_points(pulls: usize, points: usize) -> Vec<usize> {
    let points = points.clamp(1, pulls.max(1));
    let mut v: Vec<usize> = (1..=points).map(|i| (i * pulls).div_ceil(points)).collect();
    v.dedup();
    v
}

/// Plays every policy on the same bandits ([`eval_tasks`]); each policy draws its own pulls
/// from a stream of `seed` indexed by its position in `policies`.
pub fn evaluate(
    family: &BanditFamily,
    policies: &[Policy],
    episodes: usize,
    seed: u64,
    points: usize,
) -> EvalOutcome {
    let tasks = eval_tasks(family, episodes, seed);
    let marks = curve_points(family.pulls, points);
    policies
        .iter()
        .enumerate()
        .map(|(index, policy)| {
            let mut r = rng_indexed(seed, Stream::Bandit, index as u64 + 1);
            let (mut sum, mut sum_sq) = (0.0, 0.0);
            let mut reg = vec![0.0; marks.len()];
            let mut reg_sq = vec![0.0; marks.len()];
            for task in &tasks {
                let best = task.best_mean();
                let (mut total, mut regret, mut t, mut next) = (0.0, 0.0, 0usize, 0usize);
                policy.play(task, family.pulls, &mut r, |a, reward| {
                    total += reward;
                    regret += best - task.means[a];
                    t += 1;
                    if next < marks.len() && marks[next] == t {
                        reg[next] += regret;
                        reg_sq[next] += regret * regret;
                        next += 1;
                    }
                });
                sum += total;
                sum_sq += total * total;
            }
            PolicyReport::from_sums(
                policy.name(),
                episodes,
                (sum, sum_sq),
                marks.clone(),
                &reg,
                &reg_sq,
            )
        })
        .collect()
}

impl PolicyReport {
    /// The report of `episodes` episodes from sums over them: of the total rewards and their
    /// squares, and per curve point of the regrets and their squares.
    pub(crate) fn from_sums(
        policy: String,
        episodes: usize,
        (sum, sum_sq): (f64, f64),
        curve_pulls: Vec<usize>,
        regret_sums: &[f64],
        regret_sq_sums: &[f64],
    ) -> Self {
        let n = episodes.max(1) as f64;
        let (mean, se) = mean_se(sum, sum_sq, n);
        let (regret_mean, regret_stderr) = regret_sums
            .iter()
            .zip(regret_sq_sums)
            .map(|(&s, &q)| mean_se(s, q, n))
            .unzip();
        PolicyReport {
            policy,
            mean_total_reward: mean,
            stderr: se,
            episodes,
            curve_pulls,
            regret_mean,
            regret_stderr,
        }
    }
}

/// Mean pulls of each arm per episode when each policy plays `task` `episodes` times.
pub fn arm_usage(
    task: &BanditTask,
    pulls: usize,
    policies: &[Policy],
    episodes: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    policies
        .iter()
        .enumerate()
        .map(|(index, policy)| {
            let mut r = rng_indexed(seed, Stream::Validation, index as u64 + 1);
            let mut counts = vec![0.0; task.means.len()];
            for _ in 0..episodes {
                policy.play(task, pulls, &mut r, |a, _| counts[a] += 1.0);
            }
            counts.iter().map(|c| c / episodes.max(1) as f64).collect()
        })
        .collect()
}

/// Mean and standard error of the mean from a sum and a sum of squares over `n` samples.
fn mean_se(sum: f64, sum_sq: f64, n: f64) -> (f64, f64) {
    let mean = sum / n;
    if n < 2.0 {
        return (mean, 0.0);
    }
    let var = ((sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
    (mean, (var / n).sqrt())
}
