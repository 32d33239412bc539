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

use crate::engine::batched_matmul::bmm;
use crate::engine::params::ParamSet;
use crate::engine::relu_slope::relu_slope;
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

    /// `x·W + b` for `x` `[T, N, in]`, with `W`, `b` shared (`[in, out]`, `[1, out]`) or per
    /// task (`[T, in, out]`, `[T, 1, out]`).
    fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(times(x, w)?.broadcast_add(b)?)
    }

    /// Per-task copies `[T, ...]` of shared parameters (per-task ones are returned as they
    /// are). The copy is a matmul with a column of ones, so that its derivative, the sum over
    /// tasks, is a gemm too.
    pub fn replicate(params: &[Tensor], tasks: usize) -> Result<Vec<Tensor>> {
        params
            .iter()
            .map(|p| {
                if p.rank() == 3 {
                    return Ok(p.clone());
                }
                let (a, b) = p.dims2()?;
                let ones = Tensor::ones((tasks, 1), p.dtype(), p.device())?;
                Ok(ones
                    .matmul(&p.reshape((1, a * b))?)?
                    .reshape((tasks, a, b))?)
            })
            .collect()
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
                    // relu(z) = z ⊙ 1[z > 0], the slope constant for autograd: exact
                    let slope = relu_slope(&z)?;
                    (z.mul(&slope)?, slope)
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
    /// (`[T, in, out]` and `[T, 1, out]`, also for shared parameters), by
    /// backpropagation written as candle ops: `δ_L = 2(ŷ − y)/N`, `∂W_l = a_lᵀ·δ_l`,
    /// `∂b_l = Σ_n δ_l`, `δ_{l−1} = (δ_l·W_lᵀ) ⊙ σ'(z_{l−1})`.
    pub fn loss_and_grad(
        &self,
        params: &[Tensor],
        x: &Tensor,
        y: &Tensor,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let pass = self.backprop(params, x, y)?;
        Ok((pass.loss, pass.grads))
    }

    /// Forward and backward pass, keeping what a Hessian-vector product needs.
    pub fn backprop(&self, params: &[Tensor], x: &Tensor, y: &Tensor) -> Result<Backprop> {
        let params = params.to_vec();
        let trace = self.trace(&params, x)?;
        let diff = trace.output.sub(y)?;
        let (tasks, n, out) = diff.dims3()?;
        let loss = diff.sqr()?.flatten_from(1)?.mean(1)?;
        let scale = 2.0 / (n * out) as f64;
        let ones = Tensor::ones((tasks, 1, n), diff.dtype(), diff.device())?;
        let layers = self.layers();
        let mut grads = vec![None; 2 * layers];
        let mut deltas = vec![None; layers];
        let mut back = vec![None; layers];
        let mut delta = diff.affine(scale, 0.0)?;
        for l in (0..layers).rev() {
            grads[2 * l] = Some(bmm(&trace.inputs[l].transpose(1, 2)?, &delta)?);
            grads[2 * l + 1] = Some(bmm(&ones, &delta)?); // Σ_n δ as a product
            if l > 0 {
                let e = times_t(&delta, &params[2 * l])?;
                let next = e.mul(&trace.slopes[l - 1])?;
                back[l] = Some(e);
                deltas[l] = Some(std::mem::replace(&mut delta, next));
            }
        }
        deltas[0] = Some(delta);
        let unwrap = |v: Vec<Option<Tensor>>| {
            v.into_iter()
                .map(|t| t.unwrap_or_else(|| ones.clone()))
                .collect()
        };
        Ok(Backprop {
            loss,
            grads: unwrap(grads),
            params,
            trace,
            deltas: unwrap(deltas),
            back: unwrap(back),
            ones,
            scale,
            activation: self.activation,
        })
    }
}

/// A forward and backward pass at per-task parameters, with everything needed to multiply
/// the loss Hessian by a vector afterwards ([`Backprop::hvp`]).
pub struct Backprop {
    /// Per-task loss `[T]`.
    pub loss: Tensor,
    /// Per-task gradients, one per parameter.
    pub grads: Vec<Tensor>,
    params: Vec<Tensor>,
    trace: Trace,
    /// `∂L/∂z_l` per layer.
    deltas: Vec<Tensor>,
    /// `δ_l·W_lᵀ` per layer ≥ 1 (before the activation slope); index 0 unused.
    back: Vec<Tensor>,
    ones: Tensor,
    scale: f64,
    activation: Activation,
}

impl Backprop {
    /// The per-task Hessian of the loss times per-task directions `u` (shaped as the
    /// gradients), by Pearlmutter's R-operator (Pearlmutter 1994): the forward pass and the
    /// backward pass differentiated along `u`. Exact, about twice the cost of a gradient.
    ///
    /// With `Rz_l = Ra_l·W_l + a_l·U_l + 1·u_b`, `Ra_{l+1} = σ'(z_l) ⊙ Rz_l`,
    /// `Rδ_L = c·Rz_L`, `Rδ_{l−1} = (Rδ_l·W_lᵀ + δ_l·U_lᵀ) ⊙ σ' + (δ_l·W_lᵀ) ⊙ σ''·Rz_{l−1}`,
    /// the product is `(Ra_lᵀ·δ_l + a_lᵀ·Rδ_l, Σ_n Rδ_l)` per layer. For tanh
    /// `σ''·Rz = −2·a ⊙ Ra`; for ReLU `σ'' = 0`.
    pub fn hvp(&self, u: &[Tensor]) -> Result<Vec<Tensor>> {
        let layers = self.deltas.len();
        let inputs = &self.trace.inputs;
        // forward: Rz per layer and Ra per layer input (Ra_0 = 0, skipped)
        let mut r_inputs: Vec<Option<Tensor>> = vec![None; layers];
        let mut r_z = Vec::with_capacity(layers);
        for l in 0..layers {
            let mut rz = bmm(&inputs[l], &u[2 * l])?.broadcast_add(&u[2 * l + 1])?;
            if let Some(ra) = &r_inputs[l] {
                rz = rz.add(&times(ra, &self.params[2 * l])?)?;
            }
            if l + 1 < layers {
                r_inputs[l + 1] = Some(rz.mul(&self.trace.slopes[l])?);
            }
            r_z.push(rz);
        }
        // backward
        let mut out = vec![None; 2 * layers];
        let mut r_delta = r_z[layers - 1].affine(self.scale, 0.0)?;
        for l in (0..layers).rev() {
            let mut gw = bmm(&inputs[l].transpose(1, 2)?, &r_delta)?;
            if let Some(ra) = &r_inputs[l] {
                gw = gw.add(&bmm(&ra.transpose(1, 2)?, &self.deltas[l])?)?;
            }
            out[2 * l] = Some(gw);
            out[2 * l + 1] = Some(bmm(&self.ones, &r_delta)?);
            if l > 0 {
                let r_back = times_t(&r_delta, &self.params[2 * l])?
                    .add(&bmm(&self.deltas[l], &u[2 * l].transpose(1, 2)?)?)?;
                let mut next = r_back.mul(&self.trace.slopes[l - 1])?;
                if self.activation == Activation::Tanh {
                    let a = &inputs[l];
                    let ra = r_inputs[l].as_ref().expect("hidden layers have Ra");
                    let r_slope = a.mul(ra)?.affine(-2.0, 0.0)?;
                    next = next.add(&self.back[l].mul(&r_slope)?)?;
                }
                r_delta = next;
            }
        }
        Ok(out
            .into_iter()
            .map(|t| t.expect("every layer visited"))
            .collect())
    }
}

/// `a·W` for activations `a` `[T, N, in]` and a weight shared by the tasks (`[in, out]`: one
/// product over all `T·N` rows) or per task (`[T, in, out]`: one product per task).
fn times(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    if w.rank() == 3 {
        return Ok(bmm(a, w)?);
    }
    let (t, n, i) = a.dims3()?;
    let out = w.dim(1)?;
    let rows = a.reshape((1, t * n, i))?;
    Ok(bmm(&rows, &w.unsqueeze(0)?)?.reshape((t, n, out))?)
}

/// `a·Wᵀ` for `a` `[T, N, out]`, `W` shared or per task as in [`times`].
fn times_t(a: &Tensor, w: &Tensor) -> Result<Tensor> {
    if w.rank() == 3 {
        return Ok(bmm(a, &w.transpose(1, 2)?)?);
    }
    let (t, n, o) = a.dims3()?;
    let i = w.dim(0)?;
    let rows = a.reshape((1, t * n, o))?;
    // Wᵀ made contiguous (one small copy) so that its rows are, as the tiled product wants
    let w_t = w.t()?.contiguous()?.unsqueeze(0)?;
    Ok(bmm(&rows, &w_t)?.reshape((t, n, i))?)
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
    /// The name used in links and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// Parses a [`Precision::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::F32, Self::F64].into_iter().find(|p| p.name() == s)
    }

    /// The candle dtype.
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F64 => DType::F64,
        }
    }
}
