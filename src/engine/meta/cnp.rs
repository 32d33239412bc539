//! Conditional neural process (Garnelo et al. 2018): a model-based meta-learner that reads the
//! support set instead of taking gradient steps on it.
//!
//! An encoder MLP maps each support pair `(x, y)` to a vector; their mean `r` is the task's
//! representation (order-free, any number of points; no points: `r = 0`). A decoder MLP maps
//! `(x, r)` to a Gaussian's mean `μ` and standard deviation `σ = 0.1 + 0.9·softplus(s)` (the
//! lower bound as in DeepMind's reference notebook). Training minimises the Gaussian negative
//! log-likelihood of the query points, `log σ + (y − μ)²/(2σ²) + ½ log 2π`, by candle's own
//! `backward` (no second-order terms are involved). Adaptation is one forward pass.

use candle_core::{Tensor, D};

use crate::engine::mlp::{mse_per_task, Activation, Mlp};
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::error::Result;

/// The smallest standard deviation the decoder can predict.
const MIN_STD: f64 = 0.1;

/// A CNP's two networks. With hidden widths `h₁ … h_n` the encoder is `2 → h₁ … h_{n−1} → h_n`
/// (its last layer linear; `r` has `h_n` entries) and the decoder `1 + h_n → h₁ … h_{n−1} → 2`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cnp {
    encoder: Mlp,
    decoder: Mlp,
}

/// A prediction at query inputs: the Gaussian's mean and standard deviation, `[T, Q, 1]` each.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// Mean `μ`.
    pub mean: Tensor,
    /// Standard deviation `σ ≥ 0.1`.
    pub std: Tensor,
}

/// The training loss of a batch and the query MSE of its mean (for the meta-loss chart).
#[derive(Clone, Debug)]
pub struct CnpLoss {
    /// Mean negative log-likelihood over tasks and query points (differentiable).
    pub nll: Tensor,
    /// Per-task MSE of the predicted mean `[T]`.
    pub mse: Tensor,
}

impl Cnp {
    /// The CNP with hidden widths `hidden` (at least one) and `activation`.
    pub fn new(hidden: &[usize], activation: Activation) -> Self {
        let (last, inner) = hidden.split_last().expect("at least one hidden layer");
        Self {
            encoder: Mlp::new(2, inner, *last, activation),
            decoder: Mlp::new(1 + last, inner, 2, activation),
        }
    }

    /// The representation's width.
    pub fn representation(&self) -> usize {
        *self.encoder.sizes().last().expect("sizes")
    }

    /// Encoder then decoder parameters (`enc.w0`, `enc.b0`, …, `dec.w0`, …), drawn as
    /// [`Mlp::init`] does.
    pub fn init(&self, rng: &mut Rng) -> ParamSet {
        let mut set = ParamSet::new();
        for (prefix, net) in [("enc", &self.encoder), ("dec", &self.decoder)] {
            let p = net.init(rng);
            for i in 0..p.len() {
                let name = format!("{prefix}.{}", p.names[i]);
                set.push(name, p.shapes[i].clone(), p.values[i].clone());
            }
        }
        set
    }

    /// The prediction at `xq` `[T, Q, 1]` given support sets `xs`, `ys` `[T, K, 1]` (`K` may
    /// be 0).
    pub fn predict(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
    ) -> Result<Prediction> {
        let (enc, dec) = params.split_at(2 * self.encoder.layers());
        let (tasks, queries, _) = xq.dims3()?;
        let width = self.representation();
        let r = if xs.dim(1)? == 0 {
            Tensor::zeros((tasks, 1, width), xq.dtype(), xq.device())?
        } else {
            let pairs = Tensor::cat(&[xs, ys], D::Minus1)?;
            self.encoder.forward(enc, &pairs)?.mean_keepdim(1)?
        };
        let r = r.broadcast_as((tasks, queries, width))?;
        let input = Tensor::cat(&[xq, &r], D::Minus1)?;
        let out = self.decoder.forward(dec, &input)?;
        let mean = out.narrow(2, 0, 1)?;
        let std = (softplus(&out.narrow(2, 1, 1)?)? * (1.0 - MIN_STD))? + MIN_STD;
        Ok(Prediction { mean, std: std? })
    }

    /// The training loss on query points `xq`, `yq` given the support sets.
    pub fn loss(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
        yq: &Tensor,
    ) -> Result<CnpLoss> {
        let p = self.predict(params, xs, ys, xq)?;
        let z = yq.sub(&p.mean)?.div(&p.std)?;
        let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let nll = (p.std.log()? + (z.sqr()? * 0.5)?)?.mean_all()? + half_log_2pi;
        Ok(CnpLoss {
            nll: nll?,
            mse: mse_per_task(&p.mean.detach(), yq)?,
        })
    }
}

/// `softplus(s) = log(1 + eᶻ)`, computed as `max(s, 0) + log(1 + e^{−|s|})` so that it never
/// overflows.
fn softplus(s: &Tensor) -> Result<Tensor> {
    let tail = (s.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok(s.relu()?.add(&tail)?)
}
