//! The model-based meta-learners behind one type: networks that read a task's support set and
//! predict its query points in one forward pass, with no gradient step at adaptation.

use candle_core::Tensor;

use super::cnp::{Cnp, Prediction};
use super::hypernet::Hypernet;
use crate::engine::mlp::{mse_per_task, Mlp};
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::error::Result;

/// A conditional neural process or a recurrent hypernetwork, with the widths of the run's MLP.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelBased {
    /// [`Cnp`].
    Cnp(Cnp),
    /// [`Hypernet`].
    Hypernet(Hypernet),
}

/// A prediction and, when the learner has one, its standard deviation.
#[derive(Clone, Debug)]
pub struct ReadOut {
    /// Predicted mean `[T, Q, 1]`.
    pub mean: Tensor,
    /// Predicted standard deviation `[T, Q, 1]` (CNP only).
    pub std: Option<Tensor>,
}

impl ModelBased {
    /// A CNP whose encoder and decoder have `mlp`'s hidden widths.
    pub fn cnp(mlp: &Mlp) -> Self {
        Self::Cnp(Cnp::new(hidden(mlp), mlp.activation()))
    }

    /// A hypernetwork whose body has `mlp`'s hidden widths.
    pub fn hypernet(mlp: &Mlp) -> Self {
        Self::Hypernet(Hypernet::new(hidden(mlp), mlp.activation()))
    }

    /// Fresh parameters.
    pub fn init(&self, rng: &mut Rng) -> ParamSet {
        match self {
            Self::Cnp(m) => m.init(rng),
            Self::Hypernet(m) => m.init(rng),
        }
    }

    /// The prediction at `xq` given support sets `xs`, `ys` (`[T, K, 1]`, `K` may be 0).
    pub fn predict(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
    ) -> Result<ReadOut> {
        Ok(match self {
            Self::Cnp(m) => {
                let Prediction { mean, std } = m.predict(params, xs, ys, xq)?;
                ReadOut {
                    mean,
                    std: Some(std),
                }
            }
            Self::Hypernet(m) => ReadOut {
                mean: m.predict(params, xs, ys, xq)?,
                std: None,
            },
        })
    }

    /// The training objective (CNP: the Gaussian negative log-likelihood; hypernetwork: the
    /// query MSE) and the per-task query MSE of the mean `[T]`, both as tensors.
    pub fn objective(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
        yq: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Self::Cnp(m) => {
                let l = m.loss(params, xs, ys, xq, yq)?;
                (l.nll, l.mse)
            }
            Self::Hypernet(m) => {
                let mse = m.loss(params, xs, ys, xq, yq)?;
                (mse.mean_all()?, mse.detach())
            }
        })
    }

    /// Per-task query MSE `[T]` of the prediction given the support sets.
    pub fn mse(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
        yq: &Tensor,
    ) -> Result<Tensor> {
        mse_per_task(&self.predict(params, xs, ys, xq)?.mean, yq)
    }
}

/// `mlp`'s hidden widths.
fn hidden(mlp: &Mlp) -> &[usize] {
    let s = mlp.sizes();
    &s[1..s.len() - 1]
}
