//! Few-shot evaluation, as in the MAML paper and the JAX reference: on fresh tasks, fine-tune
//! the meta-learned initialisation on K support points with the run's own inner rule
//! ([`FineTune`]) and measure the MSE on query points before adaptation and after given numbers
//! of steps.

use candle_core::Tensor;
use serde::Serialize;

use super::momentum::Momentum;
use super::reptile::{self, AdamState, InnerOptimizer, InnerRule};
use super::{maml, Algo, InnerLr, Learner, ModelBased};
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

/// Fine-tuning of a learner's network on support sets, a few steps at a time, with the rule the
/// run trains its inner loop with: SGD at the inner learning rate (Meta-SGD: its learned
/// per-parameter rates; the learned optimiser: heavy-ball momentum with its learned rates and
/// decays, the momentum kept from step to step), or for Reptile with inner Adam that Adam — afresh for every task
/// ([`InnerOptimizer::AdamPerTask`]) or going on from the training state
/// ([`InnerOptimizer::Adam`], [`AdamState::for_tasks`]). Every step uses all support points.
pub struct FineTune<'a> {
    learner: &'a Learner,
    lrs: Vec<Tensor>,
    params: Vec<Tensor>,
    adam: Option<AdamState>,
    decays: Vec<Tensor>,
    heavy_ball: Option<Momentum>,
}

impl<'a> FineTune<'a> {
    /// Starts at the learner's network, for batches of `tasks` tasks.
    pub fn new(learner: &'a Learner, tasks: usize) -> Result<Self> {
        let spec = learner.spec();
        let adam = match (spec.algo, spec.inner_optimizer) {
            (Algo::Reptile, InnerOptimizer::Adam) => Some(learner.inner_adam().for_tasks(tasks)?),
            (Algo::Reptile, InnerOptimizer::AdamPerTask) => Some(AdamState::default()),
            _ => None,
        };
        let params = learner.network()?;
        let heavy_ball = (spec.algo == Algo::MetaSgdMomentum).then(|| Momentum::new(&params));
        Ok(Self {
            learner,
            lrs: learner.inner_lrs()?,
            params,
            adam,
            decays: learner.momentum_decays()?,
            heavy_ball,
        })
    }

    /// The current parameters (shared before the first step, per task after it).
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// `steps` more steps on the support sets `xs`, `ys` (`[T, K, 1]`).
    pub fn steps(&mut self, xs: &Tensor, ys: &Tensor, steps: usize) -> Result<()> {
        let spec = self.learner.spec();
        if let Some(state) = self.heavy_ball.as_mut() {
            state.steps(&spec.mlp, &self.lrs, &self.decays, xs, ys, steps, true)?;
            self.params = state.params.clone();
            return Ok(());
        }
        self.params = match self.adam.as_mut() {
            Some(state) => {
                let rule = InnerRule::Adam {
                    lr: spec.inner_lr,
                    state,
                };
                reptile::adapt_tasks(&spec.mlp, &self.params, xs, ys, steps, xs.dim(1)?, rule)?
            }
            None => {
                let lr = if spec.algo.learns_inner_lrs() {
                    InnerLr::PerParam(&self.lrs)
                } else {
                    InnerLr::Scalar(spec.inner_lr)
                };
                maml::adapt(&spec.mlp, &self.params, xs, ys, steps, lr, true)?
            }
        };
        Ok(())
    }
}

/// Per-task query MSE after each number of steps in `steps` (0 = before adaptation),
/// `result[i][t]` for `steps[i]` and task `t`. Adaptation is [`FineTune`] on the support set,
/// all tasks batched.
pub fn adaptation_mse(
    learner: &Learner,
    batch: &RegressionBatch,
    steps: &[usize],
) -> Result<Vec<Vec<f64>>> {
    if let Some(model) = learner.model_based() {
        return model_mse(learner, &model, batch, steps);
    }
    let spec = learner.spec();
    let dtype = spec.precision.dtype();
    let max_steps = steps.iter().copied().max().unwrap_or(0);
    let mut out = vec![Vec::with_capacity(batch.tasks); steps.len()];
    let mut start = 0;
    while start < batch.tasks {
        let len = EVAL_CHUNK.min(batch.tasks - start);
        let b = batch.slice(start, len).tensors(dtype, learner.device())?;
        let mut tune = FineTune::new(learner, len)?;
        for s in 0..=max_steps {
            if s > 0 {
                tune.steps(&b.xs, &b.ys, 1)?;
            }
            let mse = spec.mlp.loss(tune.params(), &b.xq, &b.yq)?;
            let mse = to_host(&mse)?;
            for (i, _) in steps.iter().enumerate().filter(|(_, &n)| n == s) {
                out[i].extend_from_slice(&mse);
            }
        }
        start += len;
    }
    Ok(out)
}

/// [`adaptation_mse`] of a model-based learner: step count 0 is its prediction from no support
/// points (what it assumes of a task it knows nothing about), every other count its prediction
/// given the support set (one forward pass; there are no gradient steps to take).
fn model_mse(
    learner: &Learner,
    model: &ModelBased,
    batch: &RegressionBatch,
    steps: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let dtype = learner.spec().precision.dtype();
    let params = learner.params().tensors(dtype, learner.device())?;
    let mut out = vec![Vec::with_capacity(batch.tasks); steps.len()];
    let mut start = 0;
    while start < batch.tasks {
        let len = EVAL_CHUNK.min(batch.tasks - start);
        let b = batch.slice(start, len).tensors(dtype, learner.device())?;
        let read = to_host(&model.mse(&params, &b.xs, &b.ys, &b.xq, &b.yq)?)?;
        let (xs0, ys0) = (b.xs.narrow(1, 0, 0)?, b.ys.narrow(1, 0, 0)?);
        let prior = to_host(&model.mse(&params, &xs0, &ys0, &b.xq, &b.yq)?)?;
        for (i, &s) in steps.iter().enumerate() {
            out[i].extend_from_slice(if s == 0 { &prior } else { &read });
        }
        start += len;
    }
    Ok(out)
}
