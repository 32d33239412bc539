//! Few-shot evaluation, as in the MAML paper and the JAX reference: on fresh tasks, fine-tune
//! the meta-learned initialisation by SGD on K support points and measure the MSE on query
//! points before adaptation and after given numbers of steps.

use serde::Serialize;

use super::{maml, Algo, InnerLr, Learner};
use crate::engine::params::to_host;
use crate::engine::tasks::RegressionBatch;
use crate::error::Result;

/// Tasks adapted at once during evaluation (bounds memory).
const EVAL_CHUNK: usize = 250;

/// Mean, standard error and median of per-task MSEs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MseSummary {
    /// Mean over tasks.
    pub mean: f64,
    /// Standard error of the mean.
    pub se: f64,
    /// Median over tasks.
    pub median: f64,
    /// Tasks whose MSE is NaN or infinite (adaptation diverged); they make `mean` NaN.
    pub non_finite: usize,
}

impl MseSummary {
    /// Summarises per-task values.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => f64::NAN,
            m if m % 2 == 1 => sorted[m / 2],
            m => 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]),
        };
        let non_finite = values.iter().filter(|v| !v.is_finite()).count();
        Self {
            mean,
            se: (var / n).sqrt(),
            median,
            non_finite,
        }
    }
}

/// Per-task query MSE after each number of SGD steps in `steps` (0 = before adaptation),
/// `result[i][t]` for `steps[i]` and task `t`. Adaptation uses the learner's inner learning
/// rate (Meta-SGD: its learned per-parameter rates), on the support set, all tasks batched.
pub fn adaptation_mse(
    learner: &Learner,
    batch: &RegressionBatch,
    steps: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let spec = learner.spec();
    let dtype = spec.precision.dtype();
    let theta = learner.network()?;
    let lrs = learner.inner_lrs()?;
    let lr = if spec.algo == Algo::MetaSgd {
        InnerLr::PerParam(&lrs)
    } else {
        InnerLr::Scalar(spec.inner_lr)
    };
    let max_steps = steps.iter().copied().max().unwrap_or(0);
    let mut out = vec![Vec::with_capacity(batch.tasks); steps.len()];
    let mut start = 0;
    while start < batch.tasks {
        let len = EVAL_CHUNK.min(batch.tasks - start);
        let b = batch.slice(start, len).tensors(dtype, learner.device())?;
        let mut p = theta.clone();
        for s in 0..=max_steps {
            if s > 0 {
                p = maml::adapt(&spec.mlp, &p, &b.xs, &b.ys, 1, lr, true)?;
            }
            let mse = spec.mlp.loss(&p, &b.xq, &b.yq)?;
            let mse = to_host(&mse)?;
            for (i, _) in steps.iter().enumerate().filter(|(_, &n)| n == s) {
                out[i].extend_from_slice(&mse);
            }
        }
        start += len;
    }
    Ok(out)
}
