//! The meta-learned bandit agent: a softmax policy over arms that adapts during its episode
//! with policy-gradient (REINFORCE, Williams 1992) steps on its own pulls.
//!
//! Meta-parameters: initial logits `θ₀ ∈ ℝᵏ`, a reward baseline `b`, and the inner step
//! sizes `α ∈ ℝᵏ` (one shared value except under Meta-SGD, Li et al. 2017). The episode is cut
//! into blocks of `m` pulls; block `j` samples arms from `π_j = softmax(θ_j)` and ends with
//! `θ_{j+1} = θ_j + α ⊙ ĝ_j`, where, for the block's pulls `(a_t, r_t)`,
//! `ĝ_j = (1/m) Σ_t (r_t − b)(e_{a_t} − π_j)` is the REINFORCE estimate of the gradient of the
//! expected reward (`∇ log π(a) = e_a − π` for a softmax). Written per arm with the block's
//! counts `N` and reward sums `R`: `c = R − b·N`, `ĝ = (c − (Σ_a c_a)·π_j) / m`.

use rand::Rng as _;

use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::engine::tasks::BanditTask;

/// The agent's meta-parameters, as a [`ParamSet`] named `logits` `[1, k]`, `baseline`
/// `[1, 1]` and `inner_lr` `[1, k]`.
pub type AgentParams = ParamSet;

/// Initial meta-parameters: uniform policy, baseline ½ (the mean arm under every setting
/// here), step size `inner_lr` on every arm.
pub fn initial_params(arms: usize, inner_lr: f64) -> AgentParams {
    let mut p = ParamSet::new();
    p.push("logits", vec![1, arms], vec![0.0; arms]);
    p.push("baseline", vec![1, 1], vec![0.5]);
    p.push("inner_lr", vec![1, arms], vec![inner_lr; arms]);
    p
}

/// `softmax(θ)`, computed stably.
pub fn softmax(theta: &[f64]) -> Vec<f64> {
    let max = theta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = theta.iter().map(|&t| (t - max).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}

/// An arm drawn from the distribution `pi`.
pub fn sample_arm(pi: &[f64], rng: &mut Rng) -> usize {
    let u = rng.random::<f64>();
    let mut acc = 0.0;
    for (a, &p) in pi.iter().enumerate() {
        acc += p;
        if u < acc {
            return a;
        }
    }
    pi.len() - 1
}

/// Lengths of the adaptation blocks of an episode: `pulls` cut into blocks of `every`
/// (the last one shorter if `every` does not divide `pulls`).
pub fn blocks(pulls: usize, every: usize) -> Vec<usize> {
    let every = every.max(1);
    (0..pulls.div_ceil(every))
        .map(|j| every.min(pulls - j * every))
        .collect()
}

/// What one episode of the agent produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// Sum of the rewards received.
    pub total_reward: f64,
    /// `Σ_t Σ_a π_t(a)·μ_a`: the expected total reward of the policies played. It uses the true
    /// arm means `μ`, which the agent never sees: a Rao–Blackwellised estimate of the total
    /// reward (the rewards' conditional expectation given the policies played), unbiased and
    /// less noisy than `total_reward`, but a quantity only a simulator can compute.
    pub expected_reward: f64,
    /// The logits after the last adaptation.
    pub final_logits: Vec<f64>,
}

/// The softmax agent with given meta-parameters, adapting every `adapt_every` pulls.
#[derive(Clone, Debug)]
pub struct SoftmaxAgent {
    logits: Vec<f64>,
    baseline: f64,
    inner_lr: Vec<f64>,
    adapt_every: usize,
}

impl SoftmaxAgent {
    /// The agent of `params` (see [`AgentParams`]).
    pub fn new(params: &AgentParams, adapt_every: usize) -> Self {
        Self {
            logits: params.values[0].clone(),
            baseline: params.values[1][0],
            inner_lr: params.values[2].clone(),
            adapt_every: adapt_every.max(1),
        }
    }

    /// Initial logits, reward baseline, per-arm inner step sizes and pulls per adaptation.
    pub fn parts(&self) -> (&[f64], f64, &[f64], usize) {
        (
            &self.logits,
            self.baseline,
            &self.inner_lr,
            self.adapt_every,
        )
    }

    /// Plays one episode of `pulls` pulls on `task`, calling `on_pull(arm, reward)` after each.
    pub fn play(
        &self,
        task: &BanditTask,
        pulls: usize,
        rng: &mut Rng,
        mut on_pull: impl FnMut(usize, f64),
    ) -> Episode {
        let k = self.logits.len();
        let mut theta = self.logits.clone();
        let (mut total, mut expected) = (0.0, 0.0);
        for len in blocks(pulls, self.adapt_every) {
            let pi = softmax(&theta);
            expected += len as f64 * pi.iter().zip(&task.means).map(|(p, m)| p * m).sum::<f64>();
            let mut c = vec![0.0; k];
            for _ in 0..len {
                let a = sample_arm(&pi, rng);
                let r = task.pull(a, rng);
                total += r;
                c[a] += r - self.baseline;
                on_pull(a, r);
            }
            let s: f64 = c.iter().sum();
            for a in 0..k {
                theta[a] += self.inner_lr[a] * (c[a] - s * pi[a]) / len as f64;
            }
        }
        Episode {
            total_reward: total,
            expected_reward: expected,
            final_logits: theta,
        }
    }
}
