//! Advantage actor-critic for the RL² network (Mnih et al. 2016, A2C), with generalised
//! advantage estimation (Schulman et al. 2016, GAE) and an entropy bonus, back-propagated
//! through the whole episode.
//!
//! For episodes `b = 1…B` of `n` pulls, with `δ_t = r_t + γ V_{t+1} − V_t` (`V_n = 0`: the
//! episode ends), `A_t = Σ_l (γλ)^l δ_{t+l}` and the value target `R_t = A_t + V_t` (both held
//! constant), the loss is
//! `L = (1/(B·n)) Σ_{b,t} [ −A_t log π(a_t) + c_v ½ (V_t − R_t)² − c_e H(π_t) ]`.
//! The value head predicts the expected reward *per pull* still to come, `v_t`, and
//! `V_t = D_t v_t` with `D_t = Σ_{l < n−t} γ^l` the discounted pulls left ([`pulls_left`]): the
//! head works on the scale of one reward whatever `γ` and `n`, and `V` falls to 0 at the end.
//! Its gradient at the heads: `∂L/∂logit_j = s·(−A_t (1[j = a_t] − π_j) + c_e π_j (log π_j + H))`,
//! `∂L/∂v_t = s·c_v (V_t − R_t) D_t`, `s = 1/(B·n)`; [`super::net::Net::backward_step`] carries
//! them back through the GRU.

use crate::engine::bandit::agent::sample_arm;
use crate::engine::bandit::rl2::net::{zero_grads, Input, Net, StepCache};
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::engine::tasks::BanditTask;

/// The weights of the loss and the advantage estimator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefficients {
    /// Discount `γ`.
    pub gamma: f64,
    /// GAE's `λ`.
    pub lambda: f64,
    /// Entropy bonus `c_e`.
    pub entropy: f64,
    /// Value loss weight `c_v`.
    pub value: f64,
}

/// The episodes of one iteration: per episode, the pulls' arms and rewards and every step's
/// cached values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rollout {
    /// Per episode, the arm of each pull.
    pub actions: Vec<Vec<usize>>,
    /// Per episode, the reward of each pull.
    pub rewards: Vec<Vec<f64>>,
    /// Per episode, each step's forward values.
    pub steps: Vec<Vec<StepCache>>,
    /// `Σ_{b,t} Σ_a π_t(a) μ_a`: the expected reward of the policies played (Rao–Blackwellised
    /// with the true arm means).
    pub expected_reward: f64,
}

/// The input before pull `t` of an episode whose earlier pulls were `actions`/`rewards`.
pub fn input_at(t: usize, pulls: usize, actions: &[usize], rewards: &[f64]) -> Input {
    Input {
        previous: t.checked_sub(1).map(|p| (actions[p], rewards[p])),
        time: t as f64 / pulls as f64,
    }
}

/// Plays one episode of `pulls` pulls on `task` from a zero hidden state, sampling arms from
/// the policy, calling `on_step(cache, arm, reward)` after each pull. Draws, per pull, the arm
/// and then the reward from `rng`.
pub fn play_episode(
    net: &Net,
    task: &BanditTask,
    pulls: usize,
    rng: &mut Rng,
    mut on_step: impl FnMut(&StepCache, usize, f64),
) {
    let mut cache = StepCache::default();
    let mut h = vec![0.0; net.h];
    let mut previous = None;
    for t in 0..pulls {
        let input = Input {
            previous,
            time: t as f64 / pulls as f64,
        };
        net.step(&h, input, &mut cache);
        let arm = sample_arm(&cache.probs, rng);
        let reward = task.pull(arm, rng);
        on_step(&cache, arm, reward);
        std::mem::swap(&mut h, &mut cache.h);
        previous = Some((arm, reward));
    }
}

/// Plays `tasks` one after the other (each from a zero state), keeping what the backward pass
/// needs.
pub fn rollout(params: &ParamSet, tasks: &[BanditTask], pulls: usize, rng: &mut Rng) -> Rollout {
    let net = Net::new(params);
    let mut out = Rollout::default();
    for task in tasks {
        let (mut actions, mut rewards, mut steps) = (
            Vec::with_capacity(pulls),
            Vec::with_capacity(pulls),
            Vec::with_capacity(pulls),
        );
        play_episode(&net, task, pulls, rng, |cache, arm, reward| {
            out.expected_reward += cache
                .probs
                .iter()
                .zip(&task.means)
                .map(|(p, m)| p * m)
                .sum::<f64>();
            actions.push(arm);
            rewards.push(reward);
            steps.push(cache.clone());
        });
        out.actions.push(actions);
        out.rewards.push(rewards);
        out.steps.push(steps);
    }
    out
}

/// Advantages `A_t` and value targets `R_t` of every episode (GAE; see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    /// Per episode, `A_t`.
    pub advantages: Vec<Vec<f64>>,
    /// Per episode, `R_t = A_t + V_t`.
    pub returns: Vec<Vec<f64>>,
}

/// `D_t = Σ_{l < n−t} γ^l`, the discounted number of pulls left from pull `t` of `n`.
pub fn pulls_left(t: usize, n: usize, gamma: f64) -> f64 {
    let left = n.saturating_sub(t) as i32;
    if gamma == 1.0 {
        left as f64
    } else {
        (1.0 - gamma.powi(left)) / (1.0 - gamma)
    }
}

/// The values `V_t = D_t v_t` of one episode's steps.
pub fn values(steps: &[StepCache], gamma: f64) -> Vec<f64> {
    let n = steps.len();
    steps
        .iter()
        .enumerate()
        .map(|(t, s)| pulls_left(t, n, gamma) * s.value)
        .collect()
}

/// GAE over one episode's `values` and `rewards`: `(A_t, R_t)` for every `t`.
pub fn gae(values: &[f64], rewards: &[f64], gamma: f64, lambda: f64) -> (Vec<f64>, Vec<f64>) {
    let n = values.len();
    let mut adv = vec![0.0; n];
    let mut running = 0.0;
    for t in (0..n).rev() {
        let next = if t + 1 < n { values[t + 1] } else { 0.0 };
        let delta = rewards[t] + gamma * next - values[t];
        running = delta + gamma * lambda * running;
        adv[t] = running;
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

/// The [`Targets`] of a rollout, from its own values. The advantages are then standardised
/// over the whole batch (mean 0, standard deviation 1, as in common A2C/PPO code): raw GAE
/// advantages of a bandit are all of the order of the return (≈ 5 at γ = 0.9) while the value
/// head is still near zero, and their scale would swamp the entropy bonus and collapse the
/// policy onto one arm before it learns to use the rewards.
pub fn targets(rollout: &Rollout, c: Coefficients) -> Targets {
    let (mut advantages, returns): (Vec<Vec<f64>>, Vec<Vec<f64>>) = rollout
        .steps
        .iter()
        .zip(&rollout.rewards)
        .map(|(steps, rewards)| gae(&values(steps, c.gamma), rewards, c.gamma, c.lambda))
        .unzip();
    let count = advantages.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    let mean = advantages.iter().flatten().sum::<f64>() / count;
    let var = advantages
        .iter()
        .flatten()
        .map(|a| (a - mean) * (a - mean))
        .sum::<f64>()
        / count;
    let scale = 1.0 / (var.sqrt() + 1e-8);
    advantages
        .iter_mut()
        .flatten()
        .for_each(|a| *a = (*a - mean) * scale);
    Targets {
        advantages,
        returns,
    }
}

/// The parts of the loss, each already scaled by `1/(B·n)` and its coefficient.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Loss {
    /// `−s Σ A_t log π(a_t)`.
    pub policy: f64,
    /// `s c_v Σ ½ (V_t − R_t)²`.
    pub value: f64,
    /// `−s c_e Σ H(π_t)`.
    pub entropy: f64,
}

impl Loss {
    /// The sum of the parts.
    pub fn total(&self) -> f64 {
        self.policy + self.value + self.entropy
    }
}

/// What the loss needs of one step besides its forward values.
struct StepTargets {
    arm: usize,
    advantage: f64,
    target: f64,
    /// `D_t`.
    pulls_left: f64,
}

/// One step's contribution to the loss, and the loss's gradients at its heads (`v_t`'s for
/// the value).
fn head_terms(
    cache: &StepCache,
    st: StepTargets,
    c: Coefficients,
    s: f64,
    loss: &mut Loss,
) -> (Vec<f64>, f64) {
    let StepTargets {
        arm,
        advantage,
        target,
        pulls_left,
    } = st;
    let p = &cache.probs;
    let log_p: Vec<f64> = p.iter().map(|&q| q.max(f64::MIN_POSITIVE).ln()).collect();
    let entropy: f64 = -p.iter().zip(&log_p).map(|(q, l)| q * l).sum::<f64>();
    let diff = pulls_left * cache.value - target;
    loss.policy -= s * advantage * log_p[arm];
    loss.value += s * c.value * 0.5 * diff * diff;
    loss.entropy -= s * c.entropy * entropy;
    let d_logits = (0..p.len())
        .map(|j| {
            let chosen = if j == arm { 1.0 } else { 0.0 };
            s * (-advantage * (chosen - p[j]) + c.entropy * p[j] * (log_p[j] + entropy))
        })
        .collect();
    (d_logits, s * c.value * diff * pulls_left)
}

/// The loss of `rollout` given `targets`, and its gradient with respect to every parameter
/// (the layout of `params`), by back-propagation through time.
pub fn loss_and_gradient(
    params: &ParamSet,
    rollout: &Rollout,
    targets: &Targets,
    c: Coefficients,
) -> (Loss, Vec<Vec<f64>>) {
    let net = Net::new(params);
    let mut grads = zero_grads(params);
    let mut loss = Loss::default();
    let count: usize = rollout.actions.iter().map(Vec::len).sum();
    let s = 1.0 / count.max(1) as f64;
    for (b, steps) in rollout.steps.iter().enumerate() {
        let mut dh = vec![0.0; net.h];
        for t in (0..steps.len()).rev() {
            let st = StepTargets {
                arm: rollout.actions[b][t],
                advantage: targets.advantages[b][t],
                target: targets.returns[b][t],
                pulls_left: pulls_left(t, steps.len(), c.gamma),
            };
            let (d_logits, d_value) = head_terms(&steps[t], st, c, s, &mut loss);
            net.backward_step(&steps[t], &d_logits, d_value, &mut dh, &mut grads);
        }
    }
    (loss, grads)
}

/// The loss of the episodes `actions`/`rewards` replayed through `params` (the same pulls,
/// fresh forward values) with `targets` held fixed: what [`loss_and_gradient`] differentiates,
/// for finite-difference checks.
pub fn replayed_loss(
    params: &ParamSet,
    actions: &[Vec<usize>],
    rewards: &[Vec<f64>],
    targets: &Targets,
    c: Coefficients,
) -> Loss {
    let net = Net::new(params);
    let mut loss = Loss::default();
    let count: usize = actions.iter().map(Vec::len).sum();
    let s = 1.0 / count.max(1) as f64;
    for (b, (acts, rews)) in actions.iter().zip(rewards).enumerate() {
        let pulls = acts.len();
        let mut h = vec![0.0; net.h];
        let mut cache = StepCache::default();
        for t in 0..pulls {
            net.step(&h, input_at(t, pulls, acts, rews), &mut cache);
            let st = StepTargets {
                arm: acts[t],
                advantage: targets.advantages[b][t],
                target: targets.returns[b][t],
                pulls_left: pulls_left(t, pulls, c.gamma),
            };
            head_terms(&cache, st, c, s, &mut loss);
            h.clone_from(&cache.h);
        }
    }
    loss
}
