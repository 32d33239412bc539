//! Reptile (Nichol, Achiam & Schulman 2018): run SGD or Adam on each task, then move the
//! initialisation towards the adapted weights, `θ ← θ + ε·(mean_t θ'_t − θ)`, with ε annealed
//! linearly ([`outer_step_size`]).

use candle_core::Tensor;

use crate::engine::mlp::Mlp;
use crate::engine::optim::AdamParams;
use crate::error::Result;

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

/// The update rule of Reptile's inner loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InnerRule {
    /// Plain SGD with learning rate `lr`.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// Adam with [`INNER_ADAM`] (β₁ = 0), fresh for each task.
    Adam {
        /// Learning rate.
        lr: f64,
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
    rule: InnerRule,
) -> Result<Vec<Tensor>> {
    let n = xs.dim(1)?;
    let mut p = Mlp::replicate(params, xs.dim(0)?)?;
    let mut moments: Vec<Tensor> = Vec::new();
    for s in 0..steps {
        let start = (s * batch_size) % n;
        let len = batch_size.min(n - start);
        let (_, grads) =
            mlp.loss_and_grad(&p, &xs.narrow(1, start, len)?, &ys.narrow(1, start, len)?)?;
        p = match rule {
            InnerRule::Sgd { lr } => p
                .iter()
                .zip(&grads)
                .map(|(p, g)| Ok(p.sub(&g.affine(lr, 0.0)?)?))
                .collect::<Result<_>>()?,
            InnerRule::Adam { lr } => {
                let AdamParams { beta2, eps, .. } = INNER_ADAM;
                // β₁ = 0: the first moment is the gradient itself.
                moments = if moments.is_empty() {
                    grads
                        .iter()
                        .map(|g| Ok(g.sqr()?.affine(1.0 - beta2, 0.0)?))
                        .collect::<Result<_>>()?
                } else {
                    moments
                        .iter()
                        .zip(&grads)
                        .map(|(v, g)| {
                            Ok((v.affine(beta2, 0.0)? + g.sqr()?.affine(1.0 - beta2, 0.0)?)?)
                        })
                        .collect::<Result<_>>()?
                };
                let (_, c2) = INNER_ADAM.bias_corrections(s as u64 + 1);
                p.iter()
                    .zip(grads.iter().zip(&moments))
                    .map(|(p, (g, v))| {
                        let denom = v.affine(1.0 / c2, 0.0)?.sqrt()?.affine(1.0, eps)?;
                        Ok(p.sub(&g.div(&denom)?.affine(lr, 0.0)?)?)
                    })
                    .collect::<Result<_>>()?
            }
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
