//! RL² (Duan et al. 2016, "RL²: Fast reinforcement learning via slow reinforcement learning";
//! Wang et al. 2016, "Learning to reinforcement learn"): a recurrent policy whose hidden state
//! *is* the bandit algorithm. Fed the previous arm, the previous reward and the time, it keeps
//! its state through the `n` pulls of one bandit (reset between bandits); trained across
//! bandits of the family by advantage actor-critic ([`a2c`]), it learns how to explore and when
//! to commit — no gradient step happens while it plays.

pub mod a2c;
pub mod autograd;
pub mod net;

use crate::engine::optim::{Optimizer, OptimizerKind};
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::engine::tasks::{BanditFamily, BanditTask, TaskFamily};
use crate::error::Result;

pub use a2c::Coefficients;

/// Settings of RL²'s meta-training.
#[derive(Clone, Debug, PartialEq)]
pub struct Rl2Spec {
    /// The task family.
    pub family: BanditFamily,
    /// GRU hidden units.
    pub hidden: usize,
    /// Episodes (bandits) per iteration.
    pub meta_batch: usize,
    /// Adam's learning rate.
    pub meta_lr: f64,
    /// Iterations planned: the entropy bonus falls linearly to zero over them.
    pub iters: usize,
    /// Loss and advantage coefficients (`entropy` is the initial bonus).
    pub coefficients: Coefficients,
    /// Largest global gradient norm (larger gradients are scaled down to it).
    pub max_grad_norm: f64,
}

/// The RL² learner: the network's parameters and their optimiser.
#[derive(Clone, Debug)]
pub struct Rl2Learner {
    spec: Rl2Spec,
    params: ParamSet,
    optimizer: Optimizer,
    iter: usize,
}

/// What one iteration measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rl2Step {
    /// The expected reward per pull of the episodes played (true arm means).
    pub reward_per_pull: f64,
    /// The loss's parts.
    pub loss: a2c::Loss,
}

impl Rl2Learner {
    /// A learner with fresh weights drawn from `init` ([`net::initial_params`]).
    pub fn new(spec: Rl2Spec, init: &mut Rng) -> Self {
        let params = net::initial_params(spec.family.arms, spec.hidden, init);
        let optimizer = Optimizer::new(OptimizerKind::Adam, spec.meta_lr);
        Self {
            spec,
            params,
            optimizer,
            iter: 0,
        }
    }

    /// The settings.
    pub fn spec(&self) -> &Rl2Spec {
        &self.spec
    }

    /// The network's parameters.
    pub fn params(&self) -> &ParamSet {
        &self.params
    }

    /// Replaces the parameters (same names and shapes, checked by the caller).
    pub fn set_params(&mut self, params: ParamSet) {
        self.params = params;
    }

    /// Iterations done.
    pub fn iter(&self) -> usize {
        self.iter
    }

    /// The entropy bonus at iteration `iter`: `c_e (1 − iter / iters)`.
    pub fn entropy_now(&self) -> f64 {
        let left = 1.0 - self.iter as f64 / self.spec.iters.max(1) as f64;
        self.spec.coefficients.entropy * left.max(0.0)
    }

    /// One iteration on `meta_batch` fresh bandits from `rng`: play them, then one Adam step
    /// on the actor-critic loss.
    pub fn step(&mut self, rng: &mut Rng) -> Result<Rl2Step> {
        let tasks: Vec<BanditTask> = (0..self.spec.meta_batch)
            .map(|_| self.spec.family.sample_task(rng))
            .collect();
        let pulls = self.spec.family.pulls;
        let rollout = a2c::rollout(&self.params, &tasks, pulls, rng);
        let c = Coefficients {
            entropy: self.entropy_now(),
            ..self.spec.coefficients
        };
        let targets = a2c::targets(&rollout, c);
        let (loss, mut grads) = a2c::loss_and_gradient(&self.params, &rollout, &targets, c);
        clip_global_norm(&mut grads, self.spec.max_grad_norm);
        self.optimizer.step(&mut self.params, &grads);
        self.iter += 1;
        Ok(Rl2Step {
            reward_per_pull: rollout.expected_reward / (tasks.len() * pulls) as f64,
            loss,
        })
    }

    /// The policy with the current parameters.
    pub fn agent(&self) -> Rl2Agent {
        Rl2Agent {
            params: self.params.clone(),
        }
    }
}

/// Scales `grads` down so that their global L2 norm is at most `max` (no-op when it is not
/// finite or not positive).
pub fn clip_global_norm(grads: &mut [Vec<f64>], max: f64) {
    let norm = grads.iter().flatten().map(|g| g * g).sum::<f64>().sqrt();
    if max > 0.0 && max.is_finite() && norm > max {
        let scale = max / norm;
        grads.iter_mut().flatten().for_each(|g| *g *= scale);
    }
}

/// A trained (or untrained) RL² policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Rl2Agent {
    params: ParamSet,
}

impl Rl2Agent {
    /// The policy of `params` (laid out as [`net::initial_params`]'s).
    pub fn new(params: ParamSet) -> Self {
        Self { params }
    }

    /// The parameters.
    pub fn params(&self) -> &ParamSet {
        &self.params
    }

    /// Plays one episode of `pulls` pulls on `task` from a zero hidden state, calling
    /// `on_pull(arm, reward)` after each pull.
    pub fn play(
        &self,
        task: &BanditTask,
        pulls: usize,
        rng: &mut Rng,
        mut on_pull: impl FnMut(usize, f64),
    ) {
        let net = net::Net::new(&self.params);
        a2c::play_episode(&net, task, pulls, rng, |_, arm, reward| {
            on_pull(arm, reward)
        });
    }
}
