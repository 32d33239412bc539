//! "Check gradients": a learner's exact meta-gradient against central finite differences of
//! its meta-loss along random directions, and first-order MAML's gradient against the exact
//! one, all in f64 on one meta-batch. Silently first-order gradients (a framework detaching
//! part of the graph) are the most common bug in meta-learning code; this shows the size of
//! the gap.

use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{Algo, Learner};
use crate::engine::mlp::Precision;
use crate::engine::rng::Rng;
use crate::engine::tasks::{BatchTensors, RegressionBatch};
use crate::error::{Error, Result};

/// Step of the central differences (f64; the meta-loss is smooth away from ReLU kinks).
const EPSILON: f64 = 1e-6;

/// One random direction `d` (unit length over all meta-parameters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectionCheck {
    /// `g·d` with the exact meta-gradient `g`.
    pub exact: f64,
    /// `(L(θ + εd) − L(θ − εd)) / 2ε`.
    pub finite_difference: f64,
    /// `g₁·d` with first-order MAML's gradient (`None` when the learner has no first-order
    /// variant).
    pub first_order: Option<f64>,
}

/// The outcome of a gradient check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientCheck {
    /// The learner checked.
    pub algo: Algo,
    /// Meta-parameters.
    pub params: usize,
    /// Tasks in the meta-batch.
    pub tasks: usize,
    /// Per direction.
    pub directions: Vec<DirectionCheck>,
    /// Largest `|g·d − FD| / ‖g‖` over the directions: the exact gradient's error.
    pub exact_error: f64,
    /// `‖g₁ − g‖ / ‖g‖`: how far first-order MAML's gradient is from the exact one.
    pub first_order_gap: Option<f64>,
}

impl Learner {
    /// Checks this learner's meta-gradient on `batch` along `directions` random directions
    /// drawn from `rng` (in f64, whatever the learner's precision). For first-order MAML the
    /// exact gradient checked is MAML's, and the gap is its own gradient's distance from it.
    /// Only for the learners whose meta-gradient goes through an inner loop (MAML, first-order
    /// MAML, Meta-SGD, the learned optimiser).
    pub fn check_gradients(
        &self,
        batch: &RegressionBatch,
        directions: usize,
        rng: &mut Rng,
    ) -> Result<GradientCheck> {
        let algo = self.spec.algo;
        if !algo.has_inner_loop_gradient() {
            return Err(Error::Msg(format!(
                "Check gradients applies to MAML, first-order MAML, Meta-SGD and the learned optimiser, whose meta-gradient goes through the inner loop; {} has none to check",
                algo.name()
            )));
        }
        // first-order MAML is checked against MAML's exact gradient
        let exact_algo = if algo == Algo::Fomaml {
            Algo::Maml
        } else {
            algo
        };
        let mut exact = self.clone();
        exact.spec.precision = Precision::F64;
        exact.spec.algo = exact_algo;
        let b = batch.tensors(Precision::F64.dtype(), &exact.device)?;
        let (_, g) = exact.meta_gradient_of_order(&b, false)?;
        // the learned optimiser's reverse pass has no first-order variant
        let first_order = match exact_algo {
            Algo::MetaSgdMomentum => None,
            _ => Some(exact.meta_gradient_of_order(&b, true)?.1),
        };
        check_with(&exact, &b, &g, first_order, directions, rng, algo)
    }
}

fn check_with(
    exact: &Learner,
    b: &BatchTensors,
    g: &[Vec<f64>],
    first_order: Option<Vec<Vec<f64>>>,
    directions: usize,
    rng: &mut Rng,
    algo: Algo,
) -> Result<GradientCheck> {
    let flat = |v: &[Vec<f64>]| -> Vec<f64> { v.iter().flatten().copied().collect() };
    let g = flat(g);
    let g1 = first_order.as_deref().map(flat);
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let g_norm = norm(&g).max(f64::MIN_POSITIVE);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut checks = Vec::with_capacity(directions);
    for _ in 0..directions {
        let mut d: Vec<f64> = (0..g.len()).map(|_| StandardNormal.sample(rng)).collect();
        let n = norm(&d);
        d.iter_mut().for_each(|x| *x /= n);
        let loss_at = |sign: f64| -> Result<f64> {
            let mut moved = exact.clone();
            let mut offset = 0;
            for values in &mut moved.params.values {
                for v in values.iter_mut() {
                    *v += sign * EPSILON * d[offset];
                    offset += 1;
                }
            }
            Ok(moved.meta_gradient(b)?.0)
        };
        let fd = (loss_at(1.0)? - loss_at(-1.0)?) / (2.0 * EPSILON);
        checks.push(DirectionCheck {
            exact: dot(&g, &d),
            finite_difference: fd,
            first_order: g1.as_deref().map(|g1| dot(g1, &d)),
        });
    }
    let exact_error = checks
        .iter()
        .map(|c| (c.exact - c.finite_difference).abs() / g_norm)
        .fold(0.0, f64::max);
    let first_order_gap = g1.map(|g1| {
        let diff: Vec<f64> = g1.iter().zip(&g).map(|(a, b)| a - b).collect();
        norm(&diff) / g_norm
    });
    Ok(GradientCheck {
        algo,
        params: g.len(),
        tasks: b.xs.dim(0)?,
        directions: checks,
        exact_error,
        first_order_gap,
    })
}
