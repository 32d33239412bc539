//! Baselines for few-shot regression (Finn et al. 2017, §5.1): joint pre-training on all
//! tasks, a randomly initialised network trained from scratch on the support set, and an
//! oracle that knows each task's true function.

use candle_core::Tensor;

use crate::engine::mlp::Mlp;
use crate::error::Result;

/// Joint pre-training: the per-task MSE on all of a task's points (support and query), its
/// gradient averaged over the batch. Returns the mean loss and one gradient per parameter.
pub fn pretrain_loss_and_grad(
    mlp: &Mlp,
    params: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    xq: &Tensor,
    yq: &Tensor,
) -> Result<(f64, Vec<Tensor>)> {
    let x = Tensor::cat(&[xs, xq], 1)?;
    let y = Tensor::cat(&[ys, yq], 1)?;
    let (loss, grads) = mlp.loss_and_grad(params, &x, &y)?;
    let loss = loss
        .mean(0)?
        .to_dtype(candle_core::DType::F64)?
        .to_scalar::<f64>()?;
    let grads = grads
        .iter()
        .zip(params)
        .map(|(g, p)| Ok(g.mean(0)?.reshape(p.shape())?))
        .collect::<Result<_>>()?;
    Ok((loss, grads))
}
