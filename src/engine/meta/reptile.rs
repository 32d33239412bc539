//! Reptile (Nichol, Achiam & Schulman 2018): run SGD or Adam on each task, then move the
//! initialisation towards the adapted weights, `θ ← θ + ε·(mean_t θ'_t − θ)`, with ε annealed
//! linearly ([`outer_step_size`]).

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::engine::mlp::Mlp;
use crate::engine::optim::AdamParams;
use crate::error::Result;

/// Reptile's inner update rule, as a setting (`inner_opt=sgd|adam|adam-per-task`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InnerOptimizer {
    /// Plain SGD.
    #[default]
    #[serde(rename = "sgd")]
    Sgd,
    /// Adam with [`INNER_ADAM`] (β₁ = 0) whose state — second moments and step count — is not
    /// part of what Reptile interpolates, so it goes on across tasks and meta-iterations, as in
    /// the authors' code (openai/supervised-reptile: `partial(tf.train.AdamOptimizer,
    /// beta1=0)`; the slots are outside the model state it resets). There the tasks of a
    /// meta-batch run one after another through one state; here they run batched, so each of
    /// the meta-batch's slots keeps its own state (slot `t` of every meta-batch goes on from
    /// slot `t` of the previous one): the same for one task per meta-batch. Evaluation starts
    /// every task from the slots' mean state, as the authors' evaluation starts from the
    /// training state.
    #[serde(rename = "adam")]
    Adam,
    /// Adam with [`INNER_ADAM`] started afresh for every task.
    #[serde(rename = "adam-per-task")]
    AdamPerTask,
}

impl InnerOptimizer {
    /// Every choice, in menu order.
    pub const ALL: [Self; 3] = [Self::Sgd, Self::Adam, Self::AdamPerTask];

    /// The name used on the command line and in links.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::AdamPerTask => "adam-per-task",
        }
    }

    /// Parses an [`InnerOptimizer::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// The inner Adam of the Reptile paper (§6) and code: β₁ = 0 (no first moment), β₂ and ε as
/// [`AdamParams::DEFAULT`].
pub const INNER_ADAM: AdamParams = AdamParams {
    beta1: 0.0,
    ..AdamParams::DEFAULT
};
// the CPU step below and the WebGPU kernel keep no first moment
const _: () = assert!(INNER_ADAM.beta1 == 0.0);

/// The outer step size ε at iteration `iter` (0-based): `eps0`, or with `anneal_iters` annealed
/// linearly to 0 over that many iterations (the Reptile demo's schedule).
pub fn outer_step_size(eps0: f64, iter: usize, anneal_iters: Option<usize>) -> f64 {
    match anneal_iters {
        Some(n) => eps0 * (1.0 - iter as f64 / n.max(1) as f64).max(0.0),
        None => eps0,
    }
}

/// The state of the inner Adam ([`INNER_ADAM`]): per-task second moments, one `[T, ...]`
/// tensor per parameter (empty before the first step: zero), and the steps taken.
#[derive(Clone, Debug, Default)]
pub struct AdamState {
    /// Second moments `v`, one tensor per parameter, per task.
    pub v: Vec<Tensor>,
    /// Steps taken (the bias correction's `t` of the next step is `steps + 1`).
    pub steps: u64,
}

impl AdamState {
    /// One step of per-task parameters `p` with gradients `g` (shapes alike), learning rate
    /// `lr`: `v ← β₂v + (1 − β₂)g²`, `θ ← θ − lr·g / (√(v / (1 − β₂ᵗ)) + ε)`.
    pub fn step(&mut self, p: &[Tensor], g: &[Tensor], lr: f64) -> Result<Vec<Tensor>> {
        let AdamParams { beta2, eps, .. } = INNER_ADAM;
        self.v = if self.v.is_empty() {
            g.iter()
                .map(|g| Ok(g.sqr()?.affine(1.0 - beta2, 0.0)?))
                .collect::<Result<_>>()?
        } else {
            self.v
                .iter()
                .zip(g)
                .map(|(v, g)| Ok((v.affine(beta2, 0.0)? + g.sqr()?.affine(1.0 - beta2, 0.0)?)?))
                .collect::<Result<_>>()?
        };
        self.steps += 1;
        let (_, c2) = INNER_ADAM.bias_corrections(self.steps);
        p.iter()
            .zip(g.iter().zip(&self.v))
            .map(|(p, (g, v))| {
                let denom = v.affine(1.0 / c2, 0.0)?.sqrt()?.affine(1.0, eps)?;
                Ok(p.sub(&g.div(&denom)?.affine(lr, 0.0)?)?)
            })
            .collect()
    }

    /// The state `tasks` tasks start from: every task gets the mean over this state's slots
    /// (the same step count).
    pub fn for_tasks(&self, tasks: usize) -> Result<Self> {
        let v = self
            .v
            .iter()
            .map(|v| {
                let mut dims = v.dims().to_vec();
                let mean = v.mean_keepdim(0)?;
                dims[0] = tasks;
                Ok(mean.broadcast_as(dims)?.contiguous()?)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            v,
            steps: self.steps,
        })
    }

    /// A state from flat per-task moments (`tasks` slots of every parameter in `shapes`' order,
    /// as the WebGPU backend keeps them); empty `flat` is the state before the first step.
    pub fn from_flat(
        flat: &[f64],
        tasks: usize,
        shapes: &[Vec<usize>],
        steps: u64,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        if flat.is_empty() {
            return Ok(Self { v: vec![], steps });
        }
        let per_task: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        let mut v = Vec::with_capacity(shapes.len());
        let mut at = 0;
        for shape in shapes {
            let n: usize = shape.iter().product();
            let mut values = Vec::with_capacity(tasks * n);
            for t in 0..tasks {
                values.extend_from_slice(&flat[t * per_task + at..t * per_task + at + n]);
            }
            let mut dims = vec![tasks];
            dims.extend(shape);
            v.push(Tensor::from_vec(values, dims, device)?.to_dtype(dtype)?);
            at += n;
        }
        Ok(Self { v, steps })
    }
}

/// The update rule of Reptile's inner loop, with what it updates.
#[derive(Debug)]
pub enum InnerRule<'a> {
    /// Plain SGD with learning rate `lr`.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// [`INNER_ADAM`] with learning rate `lr`, going on from `state` (pass a fresh
    /// [`AdamState::default`] for an Adam started afresh).
    Adam {
        /// Learning rate.
        lr: f64,
        /// The state, updated in place.
        state: &'a mut AdamState,
    },
}

/// Adapts every task of the batch (tasks batched, gradients not tracked): `steps` updates,
/// step `s` on the `s`-th minibatch of `batch_size` support points (cycling), starting from
/// the shared `params`. Returns the per-task adapted parameters.
pub fn adapt_tasks(
    mlp: &Mlp,
    params: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    steps: usize,
    batch_size: usize,
    mut rule: InnerRule<'_>,
) -> Result<Vec<Tensor>> {
    let n = xs.dim(1)?;
    let mut p = Mlp::replicate(params, xs.dim(0)?)?;
    for s in 0..steps {
        let start = (s * batch_size) % n;
        let len = batch_size.min(n - start);
        let (_, grads) =
            mlp.loss_and_grad(&p, &xs.narrow(1, start, len)?, &ys.narrow(1, start, len)?)?;
        p = match &mut rule {
            InnerRule::Sgd { lr } => p
                .iter()
                .zip(&grads)
                .map(|(p, g)| Ok(p.sub(&g.affine(*lr, 0.0)?)?))
                .collect::<Result<_>>()?,
            InnerRule::Adam { lr, state } => state.step(&p, &grads, *lr)?,
        };
    }
    Ok(p)
}

/// Reptile's outer "gradient" `θ − mean_t θ'_t`: a descent step of size ε along it is the
/// Reptile update. `adapted` are per-task tensors `[T, ...]`.
pub fn outer_direction(params: &[Tensor], adapted: &[Tensor]) -> Result<Vec<Tensor>> {
    params
        .iter()
        .zip(adapted)
        .map(|(p, a)| Ok(p.sub(&a.mean(0)?.reshape(p.shape())?)?))
        .collect()
}
