//! MAML (Finn et al. 2017): exact second-order and first-order meta-gradients, batched over tasks.
//!
//! The inner loop `θ'_t = θ − α·∇L_support_t(θ)` is built from [`Mlp::loss_and_grad`], i.e. from
//! ordinary differentiable candle ops, so one `backward` on the mean query loss differentiates
//! through it: for one step the result is `(I − α·H_t)·∇L_query_t(θ'_t)` averaged over tasks,
//! with the Hessian term exact. First-order MAML detaches the inner gradient explicitly.
//! Meta-SGD (Li et al. 2017) is the same graph with a learned per-parameter `α`.

use candle_core::Tensor;

use crate::engine::mlp::Mlp;
use crate::error::Result;

/// The inner loop's learning rate.
#[derive(Clone, Copy, Debug)]
pub enum InnerLr<'a> {
    /// One scalar `α` for every parameter (MAML).
    Scalar(f64),
    /// One `α` per parameter, shaped as the parameters (Meta-SGD).
    PerParam(&'a [Tensor]),
}

/// `steps` gradient steps on each task's support set, starting from `params` (shared or
/// per-task), returning per-task parameters. With `first_order` the inner gradients are
/// detached (first-order MAML, Finn et al. 2017 §5.2); otherwise the result stays
/// differentiable with respect to `params` and a per-parameter `α`.
pub fn adapt(
    mlp: &Mlp,
    params: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    steps: usize,
    lr: InnerLr<'_>,
    first_order: bool,
) -> Result<Vec<Tensor>> {
    let mut p = params.to_vec();
    for _ in 0..steps {
        let (_, grads) = mlp.loss_and_grad(&p, xs, ys)?;
        p = p
            .iter()
            .zip(grads)
            .enumerate()
            .map(|(i, (p, g))| {
                let g = if first_order { g.detach() } else { g };
                let update = match lr {
                    InnerLr::Scalar(alpha) => g.affine(alpha, 0.0)?,
                    InnerLr::PerParam(alphas) => g.broadcast_mul(&alphas[i])?,
                };
                Ok(p.broadcast_sub(&update)?)
            })
            .collect::<Result<_>>()?;
    }
    Ok(p)
}

/// MAML's meta-objective: the query loss after adaptation, averaged over the tasks of the
/// batch (a scalar to call `backward` on).
#[allow(clippy::too_many_arguments)]
pub fn meta_loss(
    mlp: &Mlp,
    params: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    xq: &Tensor,
    yq: &Tensor,
    steps: usize,
    lr: InnerLr<'_>,
    first_order: bool,
) -> Result<Tensor> {
    let adapted = adapt(mlp, params, xs, ys, steps, lr, first_order)?;
    Ok(mlp.loss(&adapted, xq, yq)?.mean(0)?)
}
