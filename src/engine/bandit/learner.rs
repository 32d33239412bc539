//! Meta-training the softmax bandit agent ([`super::agent`]) with MAML (exact second order),
//! first-order MAML, Reptile or Meta-SGD.
//!
//! The meta-objective is the expected reward per pull of the policies the agent plays over an
//! episode, `J = (1/n) Σ_j m_j Σ_a π_j(a)·μ_a`, exact given the pulls seen (Bernoulli arms
//! have mean `μ_a`). The pulls are sampled; as in MAML's reinforcement-learning experiments
//! (Finn et al. 2017, §5.3) the dependence of *which* pulls happen on the parameters is not
//! differentiated, but everything else is: the inner policy-gradient steps are written as
//! candle ops, so one `backward` gives the exact second-order gradient through every step
//! (first-order MAML holds `π_j` constant inside `ĝ_j`).

use candle_core::{DType, Device, Tensor};

use crate::engine::bandit::agent::{blocks, initial_params, sample_arm, AgentParams, SoftmaxAgent};
use crate::engine::meta::Algo;
use crate::engine::optim::{Optimizer, OptimizerKind};
use crate::engine::params::to_host;
use crate::engine::rng::Rng;
use crate::engine::tasks::{BanditFamily, BanditTask, TaskFamily};
use crate::error::Result;

/// Settings of a bandit meta-learner.
#[derive(Clone, Debug, PartialEq)]
pub struct BanditLearnerSpec {
    /// `maml`, `fomaml`, `reptile`, `metasgd` or `scratch` (no meta-training).
    pub algo: Algo,
    /// The task family (setting, arms, pulls).
    pub family: BanditFamily,
    /// Episodes per meta-iteration.
    pub meta_batch: usize,
    /// Adapt every `m` pulls.
    pub adapt_every: usize,
    /// Inner step size `α` (Meta-SGD: its initial value).
    pub inner_lr: f64,
    /// Outer learning rate (Adam; Reptile: SGD step ε, annealed linearly to 0).
    pub meta_lr: f64,
    /// Meta-iterations planned (Reptile's annealing horizon).
    pub iters: usize,
}

/// A bandit meta-learner: the agent's meta-parameters and their optimiser.
#[derive(Clone, Debug)]
pub struct BanditLearner {
    spec: BanditLearnerSpec,
    params: AgentParams,
    optimizer: Optimizer,
    iter: usize,
}

impl BanditLearner {
    /// A learner starting from the uniform policy, baseline ½ and step `inner_lr`.
    pub fn new(spec: BanditLearnerSpec) -> Self {
        let params = initial_params(spec.family.arms, spec.inner_lr);
        let kind = if spec.algo == Algo::Reptile {
            OptimizerKind::Sgd
        } else {
            OptimizerKind::Adam
        };
        let optimizer = Optimizer::new(kind, spec.meta_lr);
        Self {
            spec,
            params,
            optimizer,
            iter: 0,
        }
    }

    /// The settings.
    pub fn spec(&self) -> &BanditLearnerSpec {
        &self.spec
    }

    /// The meta-parameters.
    pub fn params(&self) -> &AgentParams {
        &self.params
    }

    /// Replaces the meta-parameters (same names and shapes).
    pub fn set_params(&mut self, params: AgentParams) {
        self.params = params;
    }

    /// Meta-iterations done.
    pub fn iter(&self) -> usize {
        self.iter
    }

    /// The agent with the current meta-parameters.
    pub fn agent(&self) -> SoftmaxAgent {
        SoftmaxAgent::new(&self.params, self.spec.adapt_every)
    }

    /// One meta-iteration on `meta_batch` fresh bandits from `rng`; returns the
    /// meta-objective, the expected reward per pull of the adapted policies.
    pub fn step(&mut self, rng: &mut Rng) -> Result<f64> {
        let tasks: Vec<BanditTask> = (0..self.spec.meta_batch)
            .map(|_| self.spec.family.sample_task(rng))
            .collect();
        let pulls = self.spec.family.pulls as f64;
        let objective = match self.spec.algo {
            Algo::Reptile => {
                let agent = self.agent();
                let k = self.spec.family.arms;
                let mut direction = vec![0.0; k];
                let mut expected = 0.0;
                for task in &tasks {
                    let ep = agent.play(task, self.spec.family.pulls, rng, |_, _| {});
                    expected += ep.expected_reward;
                    for (d, (after, before)) in direction
                        .iter_mut()
                        .zip(ep.final_logits.iter().zip(&self.params.values[0]))
                    {
                        // SGD on −direction moves θ₀ towards the adapted logits
                        *d -= (after - before) / tasks.len() as f64;
                    }
                }
                self.optimizer.lr = self.spec.meta_lr
                    * (1.0 - self.iter as f64 / self.spec.iters.max(1) as f64).max(0.0);
                let fixed = vec![0.0; 1];
                let fixed_lr = vec![0.0; k];
                self.optimizer
                    .step(&mut self.params, &[direction, fixed, fixed_lr]);
                expected / (tasks.len() as f64 * pulls)
            }
            Algo::Maml | Algo::Fomaml | Algo::MetaSgd => {
                let (objective, mut grads) = self.meta_gradient(&tasks, rng)?;
                if self.spec.algo != Algo::MetaSgd {
                    grads[2].iter_mut().for_each(|g| *g = 0.0); // α stays fixed
                }
                self.optimizer.step(&mut self.params, &grads);
                objective
            }
            _ => {
                let agent = self.agent();
                let total: f64 = tasks
                    .iter()
                    .map(|t| {
                        agent
                            .play(t, self.spec.family.pulls, rng, |_, _| {})
                            .expected_reward
                    })
                    .sum();
                total / (tasks.len() as f64 * pulls)
            }
        };
        self.iter += 1;
        Ok(objective)
    }

    /// The meta-objective on `tasks` (episodes sampled from `rng`) and the gradient of its
    /// negative with respect to each meta-parameter (logits, baseline, step sizes).
    pub fn meta_gradient(
        &self,
        tasks: &[BanditTask],
        rng: &mut Rng,
    ) -> Result<(f64, Vec<Vec<f64>>)> {
        let dev = Device::Cpu;
        let (t, k) = (tasks.len(), self.spec.family.arms);
        let vars = self.params.vars(DType::F64, &dev)?;
        let (logits, baseline, alpha) = (
            vars[0].as_tensor(),
            vars[1].as_tensor(),
            vars[2].as_tensor(),
        );
        let means: Vec<f64> = tasks.iter().flat_map(|task| task.means.clone()).collect();
        let mu = Tensor::from_vec(means, (t, k), &dev)?;
        let first_order = self.spec.algo == Algo::Fomaml;
        let lens = blocks(self.spec.family.pulls, self.spec.adapt_every);
        let mut theta = logits.broadcast_as((t, k))?;
        let mut objective: Option<Tensor> = None;
        for (j, &len) in lens.iter().enumerate() {
            let pi = softmax_rows(&theta)?;
            let reward = (pi.mul(&mu)?.sum_all()? * len as f64)?;
            objective = Some(match objective {
                Some(o) => o.add(&reward)?,
                None => reward,
            });
            if j + 1 == lens.len() {
                break;
            }
            let pv = pi.to_vec2::<f64>()?;
            let (mut n, mut r) = (vec![0.0; t * k], vec![0.0; t * k]);
            for (i, task) in tasks.iter().enumerate() {
                for _ in 0..len {
                    let a = sample_arm(&pv[i], rng);
                    n[i * k + a] += 1.0;
                    r[i * k + a] += task.pull(a, rng);
                }
            }
            let n = Tensor::from_vec(n, (t, k), &dev)?;
            let r = Tensor::from_vec(r, (t, k), &dev)?;
            // c = R − b·N; ĝ = (c − (Σ_a c_a)·π) / m; θ ← θ + α ⊙ ĝ
            let c = r.sub(&n.broadcast_mul(baseline)?)?;
            let s = c.sum_keepdim(1)?;
            let pi_in_g = if first_order { pi.detach() } else { pi };
            let g = (c.sub(&s.broadcast_mul(&pi_in_g)?)? / len as f64)?;
            theta = theta.add(&g.broadcast_mul(alpha)?)?;
        }
        let scale = 1.0 / (t as f64 * self.spec.family.pulls as f64);
        let objective = (objective.expect("at least one pull") * scale)?;
        let grads = objective.neg()?.backward()?;
        let host = vars
            .iter()
            .map(|v| match grads.get(v.as_tensor()) {
                Some(g) => to_host(g),
                None => Ok(vec![0.0; v.as_tensor().elem_count()]),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((objective.to_scalar::<f64>()?, host))
    }
}

/// Row-wise softmax of `[T, k]` logits (max subtracted as a constant: exact).
fn softmax_rows(theta: &Tensor) -> Result<Tensor> {
    let max = theta.max_keepdim(1)?.detach();
    let e = theta.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(1)?)?)
}
