//! A functional multilayer perceptron whose loss gradient is written as ordinary candle ops.
//!
//! Parameters are plain tensors passed in (no module state), in the order `w0, b0, w1, b1, ...`.
//! A weight is `[in, out]` when shared by all tasks or `[T, in, out]` when each of `T` tasks has
//! its own (after an inner step); a bias is `[1, out]` or `[T, 1, out]`. Inputs are `[T, N, in]`.
//!
//! [`Mlp::loss_and_grad`] computes the per-task MSE gradient by hand-written backpropagation.
//! Because it is made of differentiable candle ops, the inner update `θ' = θ − α·∇L(θ)` stays
//! in the autograd graph, and one `backward` on the query loss gives MAML's exact second-order
//! meta-gradient (Finn et al. 2017, eq. 1). candle's own `backward` detaches intermediate
//! gradients, so it cannot be nested for this.

use candle_core::{DType, Tensor};
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::error::Result;

/// The hidden layers' nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(0, z)`, as in the MAML paper. Its slope mask is detached: exact, since ReLU'' = 0.
    Relu,
    /// `tanh(z)`, as in the Reptile demo. Its slope `1 − tanh²` stays in the graph: its own
    /// derivative is not zero and is part of the second-order term.
    Tanh,
}

impl Activation {
    /// Parses `relu` or `tanh`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relu" => Some(Self::Relu),
            "tanh" => Some(Self::Tanh),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Tanh => "tanh",
        }
    }
}

/// The architecture of a fully connected network: layer sizes and activation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    activation: Activation,
}

/// What the forward pass keeps for the backward pass.
struct Trace {
    /// The input of each layer (`x` for the first).
    inputs: Vec<Tensor>,
    /// The activation's slope at each hidden layer.
    slopes: Vec<Tensor>,
    /// The network's output `[T, N, out]`.
    output: Tensor,
}

impl Mlp {
    /// A network `input → hidden[0] → … → output`.
    pub fn new(input: usize, hidden: &[usize], output: usize, activation: Activation) -> Self {
        let mut sizes = vec![input];
        sizes.extend_from_slice(hidden);
        sizes.push(output);
        Self { sizes, activation }
    }

    /// Layer widths, input and output included.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The hidden activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Number of linear layers.
    pub fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Shared parameters drawn as PyTorch's `nn.Linear` default (and the JAX reference):
    /// `W, b ~ U(−1/√fan_in, 1/√fan_in)`, drawn layer by layer, weight then bias.
    pub fn init(&self, rng: &mut Rng) -> ParamSet {
        let mut set = ParamSet::new();
        for (l, pair) in self.sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            let u = Uniform::new(-bound, bound).expect("bound > 0");
            let w = (0..fan_in * fan_out).map(|_| u.sample(rng)).collect();
            let b = (0..fan_out).map(|_| u.sample(rng)).collect();
            set.push(format!("w{l}"), vec![fan_in, fan_out], w);
            set.push(format!("b{l}"), vec![1, fan_out], b);
        }
        set
    }

    /// `x·W + b`, for shared or per-task parameters.
    fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(x.broadcast_matmul(w)?.broadcast_add(b)?)
    }

    fn trace(&self, params: &[Tensor], x: &Tensor) -> Result<Trace> {
        let last = self.layers() - 1;
        let mut inputs = Vec::with_capacity(self.layers());
        let mut slopes = Vec::with_capacity(last);
        let mut a = x.clone();
        for l in 0..=last {
            let z = Self::linear(&a, &params[2 * l], &params[2 * l + 1])?;
            inputs.push(a);
            if l == last {
                a = z;
                break;
            }
            let (out, slope) = match self.activation {
                Activation::Relu => {
                    let mask = z.gt(0.0)?.to_dtype(z.dtype())?.detach();
                    (z.mul(&mask)?, mask)
                }
                Activation::Tanh => {
                    let y = z.tanh()?;
                    let slope = y.sqr()?.affine(-1.0, 1.0)?; // d tanh = 1 − tanh²
                    (y, slope)
                }
            };
            slopes.push(slope);
            a = out;
        }
        Ok(Trace {
            inputs,
            slopes,
            output: a,
        })
    }

    /// The network's output `[T, N, out]` for inputs `x` `[T, N, in]`.
    pub fn forward(&self, params: &[Tensor], x: &Tensor) -> Result<Tensor> {
        Ok(self.trace(params, x)?.output)
    }

    /// Per-task mean squared error `[T]`.
    pub fn loss(&self, params: &[Tensor], x: &Tensor, y: &Tensor) -> Result<Tensor> {
        mse_per_task(&self.forward(params, x)?, y)
    }

    /// Per-task MSE `[T]` and its gradient with respect to each parameter, per task
    /// (`[T, in, out]` and `[T, 1, out]`), by backpropagation written as candle ops:
    /// `δ_L = 2(ŷ − y)/N`, `∂W_l = a_lᵀ·δ_l`, `∂b_l = Σ_n δ_l`, `δ_{l−1} = (δ_l·W_lᵀ) ⊙ σ'(z_{l−1})`.
    pub fn loss_and_grad(
        &self,
        params: &[Tensor],
        x: &Tensor,
        y: &Tensor,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let trace = self.trace(params, x)?;
        let diff = trace.output.sub(y)?;
        let (_, n, out) = diff.dims3()?;
        let loss = diff.sqr()?.flatten_from(1)?.mean(1)?;
        let mut delta = diff.affine(2.0 / (n * out) as f64, 0.0)?;
        let mut grads = vec![None; 2 * self.layers()];
        for l in (0..self.layers()).rev() {
            grads[2 * l] = Some(trace.inputs[l].transpose(1, 2)?.matmul(&delta)?);
            grads[2 * l + 1] = Some(delta.sum_keepdim(1)?);
            if l > 0 {
                let w = &params[2 * l];
                let w_t = if w.rank() == 2 {
                    w.t()?
                } else {
                    w.transpose(1, 2)?
                };
                delta = delta.broadcast_matmul(&w_t)?.mul(&trace.slopes[l - 1])?;
            }
        }
        Ok((
            loss,
            grads
                .into_iter()
                .map(|g| g.expect("every layer visited"))
                .collect(),
        ))
    }
}

/// Mean over points and outputs of the squared error, per task: `[T, N, out] → [T]`.
pub fn mse_per_task(pred: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(pred.sub(y)?.sqr()?.flatten_from(1)?.mean(1)?)
}

/// The precision a run computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats (fast; the default).
    #[default]
    F32,
    /// 64-bit floats (for gradient checks).
    F64,
}

impl Precision {
    /// The candle dtype.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F64 => DType::F64,
        }
    }
}
