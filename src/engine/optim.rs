//! Gradient-descent update rules, one `match` over an enum (candle's style).

use serde::{Deserialize, Serialize};

use crate::engine::params::ParamSet;

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain gradient descent `θ ← θ − lr·g`.
    Sgd,
    /// Adam (Kingma & Ba 2015) with [`AdamParams::DEFAULT`], bias-corrected, as optax.
    #[default]
    Adam,
}

/// Adam's hyper-parameters: `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
/// `θ ← θ − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`. The one definition the CPU
/// optimisers and the WebGPU kernels (which get them generated into their source) share.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
}

impl AdamParams {
    /// Kingma & Ba's defaults (also optax's and TensorFlow's): β = (0.9, 0.999), ε = 1e-8.
    pub const DEFAULT: Self = Self {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// The bias corrections `(1 − β₁ᵗ, 1 − β₂ᵗ)` after `t` steps (`t` ≥ 1).
    pub fn bias_corrections(&self, t: u64) -> (f64, f64) {
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t))
    }
}

impl OptimizerKind {
    /// Parses `sgd` or `adam`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sgd" => Some(Self::Sgd),
            "adam" => Some(Self::Adam),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
        }
    }
}

/// An optimiser with its state, updating a [`ParamSet`] in place.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// The learning rate (may be changed between steps, e.g. annealed).
    pub lr: f64,
    adam: AdamParams,
    t: u64,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl Optimizer {
    /// A fresh optimiser of `kind` with learning rate `lr`.
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        Self {
            kind,
            lr,
            adam: AdamParams::DEFAULT,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// The update rule.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// Applies one update with gradients `grads` (one flat vector per tensor of `params`).
    pub fn step(&mut self, params: &mut ParamSet, grads: &[Vec<f64>]) {
        match self.kind {
            OptimizerKind::Sgd => {
                for (p, g) in params.values.iter_mut().zip(grads) {
                    for (p, g) in p.iter_mut().zip(g) {
                        *p -= self.lr * g;
                    }
                }
            }
            OptimizerKind::Adam => {
                if self.m.is_empty() {
                    self.m = params.values.iter().map(|p| vec![0.0; p.len()]).collect();
                    self.v = self.m.clone();
                }
                self.t += 1;
                let AdamParams {
                    beta1: b1,
                    beta2: b2,
                    eps,
                } = self.adam;
                let (c1, c2) = self.adam.bias_corrections(self.t);
                for ((p, g), (m, v)) in params
                    .values
                    .iter_mut()
                    .zip(grads)
                    .zip(self.m.iter_mut().zip(self.v.iter_mut()))
                {
                    for i in 0..p.len() {
                        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                        p[i] -= self.lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}
