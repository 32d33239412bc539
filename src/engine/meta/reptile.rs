//! Reptile (Nichol, Achiam & Schulman 2018): run SGD or Adam on each task, then move the
//! initialisation towards the adapted weights, `θ ← θ + ε·(mean_t θ'_t − θ)`.

use candle_core::Tensor;

use crate::engine::mlp::Mlp;
use crate::error::Result;

/// The update rule of Reptile's inner loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InnerRule {
    /// Plain SGD with learning rate `lr`.
    Sgd {
        /// Learning rate.
        lr: f64,
    },
    /// Adam with β₁ = 0 and β₂ = 0.999, as in the Reptile paper (§6), fresh for each task.
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
                const B2: f64 = 0.999;
                const EPS: f64 = 1e-8;
                // β₁ = 0: the first moment is the gradient itself.
                moments = if moments.is_empty() {
                    grads
                        .iter()
                        .map(|g| Ok(g.sqr()?.affine(1.0 - B2, 0.0)?))
                        .collect::<Result<_>>()?
                } else {
                    moments
                        .iter()
                        .zip(&grads)
                        .map(|(v, g)| Ok((v.affine(B2, 0.0)? + g.sqr()?.affine(1.0 - B2, 0.0)?)?))
                        .collect::<Result<_>>()?
                };
                let c2 = 1.0 - B2.powi(s as i32 + 1);
                p.iter()
                    .zip(grads.iter().zip(&moments))
                    .map(|(p, (g, v))| {
                        let denom = v.affine(1.0 / c2, 0.0)?.sqrt()?.affine(1.0, EPS)?;
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
