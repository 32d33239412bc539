//! The bandit evaluation protocol: every policy plays the same `episodes` bandits (drawn once
//! from the evaluation seed) for `pulls` pulls; reported are the mean total reward with its
//! standard error and the mean cumulative regret against pulls.
//!
//! **Pull streams.** Each policy draws its own randomness (its choices and the arms' payouts)
//! from a stream of the evaluation seed keyed by the policy's *name* ([`stream_index`]), so a
//! policy's figures do not depend on which other policies are evaluated with it or in what
//! order: evaluated alone (the CLI, one policy at a time, and the page's re-evaluation of the
//! agent) or in a list (the page's table) it reports the same numbers, draw for draw.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::bandit::agent::SoftmaxAgent;
use crate::engine::bandit::bayes_optimal::BayesOptimal;
use crate::engine::bandit::gittins::GittinsTable;
use crate::engine::bandit::policies::{ArmStats, Baseline};
use crate::engine::bandit::rl2::Rl2Agent;
use crate::engine::rng::{rng_indexed, Rng, Stream};
use crate::engine::tasks::{BanditFamily, BanditTask, TaskFamily};

/// A policy to evaluate.
#[derive(Clone, Debug)]
pub enum Policy {
    /// A classical policy.
    Baseline(Baseline),
    /// The Gittins index policy ([`crate::engine::bandit::gittins`]), its table shared.
    Gittins(Arc<GittinsTable>),
    /// The Bayes-optimal policy of one family ([`crate::engine::bandit::bayes_optimal`]).
    BayesOptimal(Arc<BayesOptimal>),
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
            Policy::Gittins(_) => "gittins".to_string(),
            Policy::BayesOptimal(_) => "bayes-optimal".to_string(),
            Policy::Agent(name, _) | Policy::Recurrent(name, _) => name.clone(),
        }
    }

    /// Plays one episode, calling `on_pull(arm, reward)` after each pull.
    pub fn play(
        &self,
        task: &BanditTask,
        pulls: usize,
        rng: &mut Rng,
        on_pull: impl FnMut(usize, f64),
    ) {
        match self {
            Policy::Baseline(b) => {
                play_counts(task, pulls, rng, on_pull, |s, r| b.choose(s, task, r))
            }
            Policy::Gittins(table) => {
                play_counts(task, pulls, rng, on_pull, |s, r| table.choose(s, r))
            }
            Policy::BayesOptimal(dp) => {
                play_counts(task, pulls, rng, on_pull, |s, r| dp.choose(s, r))
            }
            Policy::Agent(_, agent) => {
                agent.play(task, pulls, rng, on_pull);
            }
            Policy::Recurrent(_, agent) => agent.play(task, pulls, rng, on_pull),
        }
    }
}

/// One episode of a policy that acts on the counts ([`ArmStats`]) through `choose`.
fn play_counts(
    task: &BanditTask,
    pulls: usize,
    rng: &mut Rng,
    mut on_pull: impl FnMut(usize, f64),
    mut choose: impl FnMut(&ArmStats, &mut Rng) -> usize,
) {
    let mut stats = ArmStats::new(task.means.len());
    for _ in 0..pulls {
        let a = choose(&stats, rng);
        let r = task.pull(a, rng);
        stats.record(a, r, rng);
        on_pull(a, r);
    }
}

/// The stream index of the policy called `name`: its FNV-1a hash, 48 bits.
pub fn stream_index(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h & 0xffff_ffff_ffff
}

/// The pull stream of the policy called `name` under `seed` (`stream` of the seed, numbered by
/// [`stream_index`]).
pub fn policy_rng(seed: u64, stream: Stream, name: &str) -> Rng {
    rng_indexed(seed, stream, stream_index(name))
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

/// What one policy did on every bandit: the total reward per episode and the sums of the
/// regret (and its square) at each curve point.
struct Played {
    totals: Vec<f64>,
    regret: Vec<f64>,
    regret_sq: Vec<f64>,
}

/// Plays `policy` on every bandit of `tasks` with the pull stream `r`.
fn play_all(
    policy: &Policy,
    tasks: &[BanditTask],
    pulls: usize,
    marks: &[usize],
    r: &mut Rng,
) -> Played {
    let mut out = Played {
        totals: Vec::with_capacity(tasks.len()),
        regret: vec![0.0; marks.len()],
        regret_sq: vec![0.0; marks.len()],
    };
    for task in tasks {
        let best = task.best_mean();
        let (mut total, mut regret, mut t, mut next) = (0.0, 0.0, 0usize, 0usize);
        policy.play(task, pulls, r, |a, reward| {
            total += reward;
            regret += best - task.means[a];
            t += 1;
            if next < marks.len() && marks[next] == t {
                out.regret[next] += regret;
                out.regret_sq[next] += regret * regret;
                next += 1;
            }
        });
        out.totals.push(total);
    }
    out
}

/// Plays every policy on the same bandits ([`eval_tasks`]); each policy draws its pulls from
/// its own stream of `seed`, keyed by its name ([`policy_rng`]), so its report is the same
/// whatever else is in `policies`.
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
        .map(|policy| {
            let name = policy.name();
            let mut r = policy_rng(seed, Stream::Bandit, &name);
            let p = play_all(policy, &tasks, family.pulls, &marks, &mut r);
            let sum = p.totals.iter().sum::<f64>();
            let sum_sq = p.totals.iter().map(|x| x * x).sum::<f64>();
            PolicyReport::from_sums(
                name,
                episodes,
                (sum, sum_sq),
                marks.clone(),
                &p.regret,
                &p.regret_sq,
            )
        })
        .collect()
}

/// The paired difference of two policies ([`paired_difference`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// The first policy's name.
    pub a: String,
    /// The second policy's name.
    pub b: String,
    /// `mean(total_a − total_b)` over the episodes.
    pub mean: f64,
    /// Its standard error (sample standard deviation of the differences / √episodes).
    pub stderr: f64,
    /// Episodes.
    pub episodes: usize,
}

/// `a` against `b` on the same bandits ([`eval_tasks`]), episode by episode: the mean of
/// `total_a − total_b` and its standard error. Both play with `a`'s pull stream (common random
/// numbers: the same draws where the two agree), so the mean is `a`'s figure in [`evaluate`]
/// minus what `b` earns in `a`'s place, and the standard error counts only what differs.
pub fn paired_difference(
    family: &BanditFamily,
    a: &Policy,
    b: &Policy,
    episodes: usize,
    seed: u64,
) -> PairedDifference {
    let tasks = eval_tasks(family, episodes, seed);
    let name = a.name();
    let run = |p: &Policy| {
        let mut r = policy_rng(seed, Stream::Bandit, &name);
        play_all(p, &tasks, family.pulls, &[], &mut r).totals
    };
    let (ta, tb) = (run(a), run(b));
    let (sum, sum_sq) = ta
        .iter()
        .zip(&tb)
        .map(|(x, y)| x - y)
        .fold((0.0, 0.0), |(s, q), d| (s + d, q + d * d));
    let (mean, stderr) = mean_se(sum, sum_sq, episodes.max(1) as f64);
    PairedDifference {
        a: name,
        b: b.name(),
        mean,
        stderr,
        episodes,
    }
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

/// Mean pulls of each arm per episode when each policy plays `task` `episodes` times (each
/// policy with its own stream, keyed by its name).
pub fn arm_usage(
    task: &BanditTask,
    pulls: usize,
    policies: &[Policy],
    episodes: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    policies
        .iter()
        .map(|policy| {
            let mut r = policy_rng(seed, Stream::Validation, &policy.name());
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
