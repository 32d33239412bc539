//! Meta-training the softmax bandit agent ([`super::agent`]) with MAML (exact second order),
//! first-order MAML, Reptile or Meta-SGD.
//!
//! The meta-objective is the expected total reward of the policies the agent plays over an
//! episode, per pull: `J = (1/n) Σ_j R_j` with `R_j = m_j Σ_a π_j(a)·μ_a`, exact given the
//! pulls seen before block `j` (Bernoulli arms have mean `μ_a`). Its gradient has two parts:
//! - the pathwise part, through the inner policy-gradient steps, which are written as candle
//!   ops so that one `backward` differentiates through every step exactly (second order;
//!   first-order MAML holds `π_j` constant inside `ĝ_j`);
//! - the score-function part (Williams 1992), for how the parameters change *which* pulls
//!   happen and so what the agent learns from them: `Σ_i (G_i − Ḡ_i) ∇ log p(pulls of block
//!   i)`, with `G_i = Σ_{j>i} R_j` the expected reward still to come and `Ḡ_i` the mean of
//!   the other episodes' (a leave-one-out baseline, so the estimate stays unbiased). Without it the meta-gradient ignores the value of
//!   exploration (the bias of MAML's RL meta-gradient discussed by Rothfuss et al. 2019,
//!   ProMP) and meta-training drifts to policies that commit too early.

use candle_core::{DType, Device, Tensor};

use crate::engine::bandit::agent::{
    blocks, initial_params, sample_arm, softmax, AgentParams, SoftmaxAgent,
};
use crate::engine::meta::Algo;
use crate::engine::optim::{Optimizer, OptimizerKind};
use crate::engine::params::host_gradients;
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
    /// Include the score-function part of the meta-gradient (see the module docs).
    pub score_function: bool,
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
    /// negative with respect to each meta-parameter (logits, baseline, step sizes), by a
    /// reverse pass written out on the host: every quantity is a `k`-vector per task, so this is
    /// cheap where candle's graph would pay its per-op overhead thousands of times. Equal to
    /// [`BanditLearner::meta_gradient_autograd`] (tested); same pulls from `rng`.
    ///
    /// Adjoints, block `j` from last to first, with `J_π = diag(π) − ππᵀ`:
    /// `θ̄_j = c·m_j·J_π μ + c·A_j·(N_j − m_j π_j) + θ̄_{j+1} − (S_j/m_j)·J_π(α ⊙ θ̄_{j+1})`
    /// (the last term is the second-order one, dropped by first-order MAML),
    /// `ᾱ += θ̄_{j+1} ⊙ ĝ_j`, `b̄ += (α ⊙ θ̄_{j+1})·(m_j π_j − N_j)/m_j`, where `c = 1/(T·n)`
    /// and `A_j` is the advantage of the score-function term.
    pub fn meta_gradient(
        &self,
        tasks: &[BanditTask],
        rng: &mut Rng,
    ) -> Result<(f64, Vec<Vec<f64>>)> {
        let (t, k) = (tasks.len(), self.spec.family.arms);
        let logits = &self.params.values[0];
        let b = self.params.values[1][0];
        let alpha = &self.params.values[2];
        let first_order = self.spec.algo == Algo::Fomaml;
        let lens = blocks(self.spec.family.pulls, self.spec.adapt_every);
        let nb = lens.len();
        // forward, keeping per task and block: π_j, N_j, S_j, ĝ_j and R_j
        let mut theta = vec![logits.clone(); t];
        let mut pis = vec![vec![Vec::new(); nb]; t];
        let mut counts = vec![vec![Vec::new(); nb]; t];
        let mut sums = vec![vec![0.0; nb]; t];
        let mut steps = vec![vec![Vec::new(); nb]; t];
        let mut rewards = vec![vec![0.0; nb]; t];
        for (j, &len) in lens.iter().enumerate() {
            let m = len as f64;
            for (i, task) in tasks.iter().enumerate() {
                let pi = softmax(&theta[i]);
                rewards[i][j] = m * pi.iter().zip(&task.means).map(|(p, u)| p * u).sum::<f64>();
                if j + 1 < nb {
                    let (mut n, mut c) = (vec![0.0; k], vec![0.0; k]);
                    for _ in 0..len {
                        let a = sample_arm(&pi, rng);
                        n[a] += 1.0;
                        c[a] += task.pull(a, rng);
                    }
                    c.iter_mut().zip(&n).for_each(|(c, n)| *c -= b * n);
                    let s: f64 = c.iter().sum();
                    let g: Vec<f64> = (0..k).map(|a| (c[a] - s * pi[a]) / m).collect();
                    for a in 0..k {
                        theta[i][a] += alpha[a] * g[a];
                    }
                    counts[i][j] = n;
                    sums[i][j] = s;
                    steps[i][j] = g;
                }
                pis[i][j] = pi;
            }
        }
        let scale = 1.0 / (t as f64 * self.spec.family.pulls as f64);
        let objective = scale * rewards.iter().flatten().sum::<f64>();
        // score-function advantages A_j per task (leave-one-out baseline)
        let mut adv = vec![vec![0.0; nb]; t];
        if self.spec.score_function {
            let mut to_come = vec![0.0; t];
            for j in (0..nb.saturating_sub(1)).rev() {
                for (g, r) in to_come.iter_mut().zip(&rewards) {
                    *g += r[j + 1];
                }
                let total: f64 = to_come.iter().sum();
                for i in 0..t {
                    let others = if t > 1 {
                        (total - to_come[i]) / (t - 1) as f64
                    } else {
                        0.0
                    };
                    adv[i][j] = to_come[i] - others;
                }
            }
        }
        // reverse pass: gradient of the surrogate, then negated
        let jacobian_times = |pi: &[f64], v: &[f64]| -> Vec<f64> {
            let pv: f64 = pi.iter().zip(v).map(|(p, v)| p * v).sum();
            pi.iter().zip(v).map(|(p, v)| p * (v - pv)).collect()
        };
        let (mut g_logits, mut g_b, mut g_alpha) = (vec![0.0; k], 0.0, vec![0.0; k]);
        for i in 0..t {
            let mut next = vec![0.0; k]; // θ̄_{j+1}
            for j in (0..nb).rev() {
                let pi = &pis[i][j];
                let m = lens[j] as f64;
                let mu = &tasks[i].means;
                let mut bar = jacobian_times(pi, mu);
                bar.iter_mut().for_each(|v| *v *= scale * m);
                if j + 1 < nb {
                    let n = &counts[i][j];
                    for a in 0..k {
                        bar[a] += scale * adv[i][j] * (n[a] - m * pi[a]) + next[a];
                    }
                    let weighted: Vec<f64> = (0..k).map(|a| alpha[a] * next[a]).collect();
                    if !first_order {
                        let jw = jacobian_times(pi, &weighted);
                        for a in 0..k {
                            bar[a] -= sums[i][j] / m * jw[a];
                        }
                    }
                    for a in 0..k {
                        g_alpha[a] += next[a] * steps[i][j][a];
                        g_b += weighted[a] * (m * pi[a] - n[a]) / m;
                    }
                }
                next = bar;
            }
            for a in 0..k {
                g_logits[a] += next[a];
            }
        }
        let neg = |v: Vec<f64>| v.into_iter().map(|x| -x).collect::<Vec<f64>>();
        Ok((objective, vec![neg(g_logits), vec![-g_b], neg(g_alpha)]))
    }

    /// The same as [`BanditLearner::meta_gradient`] by candle's autograd through the episode
    /// written as candle ops: the reference the written-out reverse pass is tested against.
    pub fn meta_gradient_autograd(
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
        // per block: expected reward per task `[T]`, log-probability of its pulls per task `[T]`
        let mut rewards: Vec<Tensor> = Vec::with_capacity(lens.len());
        let mut log_probs: Vec<Tensor> = Vec::with_capacity(lens.len());
        for (j, &len) in lens.iter().enumerate() {
            let pi = softmax_rows(&theta)?;
            rewards.push((pi.mul(&mu)?.sum(1)? * len as f64)?);
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
            if self.spec.score_function {
                log_probs.push(n.mul(&log_softmax_rows(&theta)?)?.sum(1)?);
            }
            // c = R − b·N; ĝ = (c − (Σ_a c_a)·π) / m; θ ← θ + α ⊙ ĝ
            let c = r.sub(&n.broadcast_mul(baseline)?)?;
            let s = c.sum_keepdim(1)?;
            let pi_in_g = if first_order { pi.detach() } else { pi };
            let g = (c.sub(&s.broadcast_mul(&pi_in_g)?)? / len as f64)?;
            theta = theta.add(&g.broadcast_mul(alpha)?)?;
        }
        let scale = 1.0 / (t as f64 * self.spec.family.pulls as f64);
        let objective = (Tensor::stack(&rewards, 0)?.sum_all()? * scale)?;
        let mut surrogate = objective.clone();
        if !log_probs.is_empty() {
            // G_i = Σ_{j>i} R_j per task, as constants; advantage = G_i − mean over tasks
            let per_block: Vec<Vec<f64>> = rewards
                .iter()
                .map(|r| r.to_vec1::<f64>())
                .collect::<candle_core::Result<_>>()?;
            let mut to_come = vec![0.0; t];
            let mut score = Vec::with_capacity(log_probs.len());
            for i in (0..log_probs.len()).rev() {
                for (g, r) in to_come.iter_mut().zip(&per_block[i + 1]) {
                    *g += r;
                }
                // leave-one-out baseline: the other tasks' mean keeps the estimate unbiased
                let sum: f64 = to_come.iter().sum();
                let adv: Vec<f64> = to_come
                    .iter()
                    .map(|g| {
                        let others = if t > 1 {
                            (sum - g) / (t - 1) as f64
                        } else {
                            0.0
                        };
                        g - others
                    })
                    .collect();
                let adv = Tensor::from_vec(adv, t, &dev)?;
                score.push(log_probs[i].mul(&adv)?.sum_all()?);
            }
            surrogate = surrogate.add(&(Tensor::stack(&score, 0)?.sum_all()? * scale)?)?;
        }
        let grads = surrogate.neg()?.backward()?;
        let host = host_gradients(&vars, &grads)?;
        Ok((objective.to_scalar::<f64>()?, host))
    }
}

/// Row-wise log-softmax of `[T, k]` logits: `θ − max − log Σ exp(θ − max)`.
fn log_softmax_rows(theta: &Tensor) -> Result<Tensor> {
    let max = theta.max_keepdim(1)?.detach();
    let shifted = theta.broadcast_sub(&max)?;
    let log_z = shifted.exp()?.sum_keepdim(1)?.log()?;
    Ok(shifted.broadcast_sub(&log_z)?)
}

/// Row-wise softmax of `[T, k]` logits (max subtracted as a constant: exact).
fn softmax_rows(theta: &Tensor) -> Result<Tensor> {
    let max = theta.max_keepdim(1)?.detach();
    let e = theta.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(1)?)?)
}
