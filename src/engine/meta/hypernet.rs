//! A recurrent meta-learner that writes the task model (the model-based family's "RNN that
//! outputs the task network's parameters": Santoro et al. 2016's recurrent learners, Ha et al.
//! 2017's hypernetworks; FiLM layers, Perez et al. 2018).
//!
//! A GRU reads the support points `(x, y)` one at a time; from its last state a linear layer
//! emits the task network's output layer and a per-unit scale and shift of its last hidden
//! layer: with the body `z(x)` (an MLP shared by all tasks, its last layer linear),
//! `ŷ = σ((1 + Δγ) ⊙ z(x) + Δβ) · (w + Δw) + b + Δb`. No support points: the GRU state is 0 and
//! the emitted terms are the emit layer's biases. Everything is trained end to end by the
//! query MSE with candle's `backward`; adaptation is one pass of the GRU.

use candle_core::{Tensor, D};
use rand_distr::{Distribution, Uniform};

use crate::engine::mlp::{mse_per_task, Activation, Mlp};
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::error::Result;

/// The emit layer starts this much smaller than a default layer, so that an untrained
/// hypernetwork is close to its body network.
const EMIT_INIT_SCALE: f64 = 0.1;

/// The hypernetwork's shapes: body `1 → h₁ … h_{n−1} → h_n`, a GRU of `h_n` units over
/// 2-dimensional inputs, and an emit layer `h_n → 3·h_n + 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypernet {
    body: Mlp,
    activation: Activation,
}

/// `U(−bound, bound)` values.
fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f64> {
    let u = Uniform::new_inclusive(-bound, bound).expect("bound ≥ 0");
    (0..n).map(|_| u.sample(rng)).collect()
}

/// `σ(x) = ½ (1 + tanh(x / 2))`.
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    Ok((((x * 0.5)?.tanh()? + 1.0)? * 0.5)?)
}

impl Hypernet {
    /// The hypernetwork with hidden widths `hidden` (at least one) and `activation`.
    pub fn new(hidden: &[usize], activation: Activation) -> Self {
        let (last, inner) = hidden.split_last().expect("at least one hidden layer");
        Self {
            body: Mlp::new(1, inner, *last, activation),
            activation,
        }
    }

    fn width(&self) -> usize {
        *self.body.sizes().last().expect("sizes")
    }

    /// Body (`body.w0`, …), output layer (`head.w`, `head.b`), GRU (`gru.wx`, `gru.bx`,
    /// `gru.wh`, `gru.bh`, gates in the order reset, update, candidate) and emit layer
    /// (`emit.w`, `emit.b`). The body is drawn as [`Mlp::init`], the GRU as PyTorch's
    /// (`U(±1/√h)`), the emit layer at a tenth of that.
    pub fn init(&self, rng: &mut Rng) -> ParamSet {
        let h = self.width();
        let mut set = ParamSet::new();
        let body = self.body.init(rng);
        for i in 0..body.len() {
            let name = format!("body.{}", body.names[i]);
            set.push(name, body.shapes[i].clone(), body.values[i].clone());
        }
        let bound = 1.0 / (h as f64).sqrt();
        set.push("head.w", vec![h, 1], uniform(rng, h, bound));
        set.push("head.b", vec![1, 1], uniform(rng, 1, bound));
        set.push("gru.wx", vec![2, 3 * h], uniform(rng, 6 * h, bound));
        set.push("gru.bx", vec![1, 3 * h], uniform(rng, 3 * h, bound));
        set.push("gru.wh", vec![h, 3 * h], uniform(rng, 3 * h * h, bound));
        set.push("gru.bh", vec![1, 3 * h], uniform(rng, 3 * h, bound));
        let e = 3 * h + 1;
        let small = EMIT_INIT_SCALE * bound;
        set.push("emit.w", vec![h, e], uniform(rng, h * e, small));
        set.push("emit.b", vec![1, e], uniform(rng, e, small));
        set
    }

    /// The GRU's state after reading each task's support points in order: `[T, h]`.
    fn read(&self, gru: &[Tensor], xs: &Tensor, ys: &Tensor) -> Result<Tensor> {
        let (wx, bx, wh, bh) = (&gru[0], &gru[1], &gru[2], &gru[3]);
        let (tasks, k, _) = xs.dims3()?;
        let h = self.width();
        let mut state = Tensor::zeros((tasks, h), xs.dtype(), xs.device())?;
        if k == 0 {
            return Ok(state);
        }
        let pairs = Tensor::cat(&[xs, ys], D::Minus1)?; // [T, K, 2]
        for i in 0..k {
            let x = pairs.narrow(1, i, 1)?.squeeze(1)?;
            let gx = x.matmul(wx)?.broadcast_add(bx)?;
            let gh = state.matmul(wh)?.broadcast_add(bh)?;
            let r = sigmoid(&(gx.narrow(1, 0, h)? + gh.narrow(1, 0, h)?)?)?;
            let z = sigmoid(&(gx.narrow(1, h, h)? + gh.narrow(1, h, h)?)?)?;
            let n = (gx.narrow(1, 2 * h, h)? + r.mul(&gh.narrow(1, 2 * h, h)?)?)?.tanh()?;
            state = (&n + z.mul(&(&state - &n)?)?)?;
        }
        Ok(state)
    }

    /// The task networks' predictions `[T, Q, 1]` at `xq` given support sets `xs`, `ys`
    /// `[T, K, 1]` (`K` may be 0).
    pub fn predict(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
    ) -> Result<Tensor> {
        let n_body = 2 * self.body.layers();
        let (body, rest) = params.split_at(n_body);
        let (head_w, head_b, gru, emit_w, emit_b) =
            (&rest[0], &rest[1], &rest[2..6], &rest[6], &rest[7]);
        let h = self.width();
        let tasks = xq.dim(0)?;
        let state = self.read(gru, xs, ys)?;
        let e = state.matmul(emit_w)?.broadcast_add(emit_b)?; // [T, 3h + 1]
        let gamma = (e.narrow(1, 0, h)? + 1.0)?.reshape((tasks, 1, h))?;
        let beta = e.narrow(1, h, h)?.reshape((tasks, 1, h))?;
        let w = e
            .narrow(1, 2 * h, h)?
            .reshape((tasks, h, 1))?
            .broadcast_add(head_w)?;
        let b = e
            .narrow(1, 3 * h, 1)?
            .reshape((tasks, 1, 1))?
            .broadcast_add(head_b)?;
        let z = self.body.forward(body, xq)?;
        let pre = z.broadcast_mul(&gamma)?.broadcast_add(&beta)?;
        let features = match self.activation {
            Activation::Relu => pre.relu()?,
            Activation::Tanh => pre.tanh()?,
        };
        Ok(features.matmul(&w)?.broadcast_add(&b)?)
    }

    /// Per-task query MSE `[T]` (the training loss is its mean).
    pub fn loss(
        &self,
        params: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        xq: &Tensor,
        yq: &Tensor,
    ) -> Result<Tensor> {
        mse_per_task(&self.predict(params, xs, ys, xq)?, yq)
    }
}
