//! A [`Runner`] owns one run: its configuration, learner and training-task stream.

use serde::Serialize;

use candle_core::Tensor;

#[cfg(feature = "gpu")]
use crate::engine::gpu::{GpuContext, GpuLearner, PendingReadback, Readback};
use crate::engine::meta::eval::{adaptation_mse, FineTune, MseSummary};
use crate::engine::meta::gradient_check::GradientCheck;
use crate::engine::meta::Learner;
use crate::engine::params::to_host;
use crate::engine::rng::{rng, Rng, Stream};
use crate::engine::tasks::RegressionBatch;
use crate::engine::tasks::{RegressionFamily, SineFamily};
#[cfg(feature = "gpu")]
use crate::error::Error;
use crate::error::Result;
use crate::experiment::config::Config;
use crate::experiment::divergence::step_or_roll_back;
use crate::experiment::protocol::FitCurves;

/// How a run is evaluated (defaults: the MAML paper and the JAX reference).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalSpec {
    /// Number of fresh tasks.
    pub tasks: usize,
    /// Query points per task.
    pub query: usize,
    /// SGD step counts to report (0 is always reported as `pre`).
    pub steps: Vec<usize>,
    /// Seed of the evaluation tasks (independent of the training seed).
    pub seed: u64,
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            tasks: 1000,
            query: 100,
            steps: vec![1, 10],
            seed: 1234,
        }
    }
}

/// Query MSE before adaptation and after each requested number of steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Before adaptation.
    pub pre: MseSummary,
    /// `(steps, summary)` for each requested step count.
    pub post: Vec<(usize, MseSummary)>,
}

/// One meta-training run.
pub struct Runner {
    config: Config,
    family: SineFamily,
    learner: Learner,
    train_rng: Rng,
    /// The run's learner on the GPU, when it trains there; `learner` then holds the parameters
    /// of the last readback (for evaluation, plots and export).
    #[cfg(feature = "gpu")]
    gpu: Option<GpuLearner>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .field("iter", &self.iter())
            .field("on_gpu", &self.on_gpu())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Validates `config` and initialises the run from its seed.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let learner = Learner::new(config.learner_spec(), &mut rng(config.seed, Stream::Init));
        Ok(Self {
            family: config.task.family(),
            train_rng: rng(config.seed, Stream::Train),
            learner,
            config,
            #[cfg(feature = "gpu")]
            gpu: None,
        })
    }

    /// Moves training to the GPU (before the first iteration). On error the run stays on the CPU.
    #[cfg(feature = "gpu")]
    pub fn attach_gpu(&mut self, ctx: &GpuContext) -> Result<()> {
        if let Some(why) = crate::experiment::backend_decision::gpu_unsupported(&self.config) {
            return Err(Error::gpu_unsupported(why));
        }
        if self.iter() > 0 {
            return Err(Error::gpu_unsupported(
                "a run moves to the GPU only before it starts",
            ));
        }
        let c = &self.config;
        let support = self.learner.support_size(c.k);
        self.gpu = Some(GpuLearner::new(
            ctx,
            self.learner.spec(),
            self.learner.params(),
            c.meta_batch,
            support,
            c.k_query,
        )?);
        Ok(())
    }

    /// Leaves the GPU (after a device failure): training goes on on the CPU from the
    /// parameters and iteration of the last readback.
    pub fn detach_gpu(&mut self) {
        #[cfg(feature = "gpu")]
        {
            self.gpu = None;
        }
    }

    /// GPU runs: compute dispatches per meta-iteration.
    #[cfg(feature = "gpu")]
    pub fn gpu_dispatches(&self) -> Option<usize> {
        self.gpu.as_ref().map(GpuLearner::dispatches)
    }

    /// True when the run trains on the GPU.
    pub fn on_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        return self.gpu.is_some();
        #[cfg(not(feature = "gpu"))]
        false
    }

    /// GPU runs: queues one meta-iteration (drawn from the same task stream as on the CPU).
    #[cfg(feature = "gpu")]
    pub fn submit(&mut self) -> Result<()> {
        let c = &self.config;
        let support = self.learner.support_size(c.k);
        let batch = self
            .family
            .sample_batch(&mut self.train_rng, c.meta_batch, support, c.k_query);
        match self.gpu.as_mut() {
            Some(g) => g.submit(&batch),
            None => Err(Error::gpu_unsupported("the run is not on the GPU")),
        }
    }

    /// GPU runs: iterations submitted (the CPU learner counts only those read back).
    pub fn submitted(&self) -> usize {
        #[cfg(feature = "gpu")]
        if let Some(g) = &self.gpu {
            return g.iter();
        }
        self.iter()
    }

    /// GPU runs: starts reading back the losses and parameters of the submitted iterations.
    #[cfg(feature = "gpu")]
    pub fn readback(&mut self) -> Option<PendingReadback> {
        self.gpu.as_mut().map(GpuLearner::readback)
    }

    /// Replaces the meta-parameters (CPU copy and, on the GPU, the device copy).
    pub fn set_params(&mut self, params: crate::engine::params::ParamSet) -> Result<()> {
        #[cfg(feature = "gpu")]
        if let Some(g) = self.gpu.as_mut() {
            g.set_params(&params)?;
        }
        self.learner.set_params(params);
        Ok(())
    }

    /// GPU runs: takes a readback in. Returns the meta-losses, or [`Error::Diverged`] at the
    /// first non-finite one (the CPU copy of the parameters then stays at the previous readback).
    #[cfg(feature = "gpu")]
    pub fn apply_readback(&mut self, back: Readback) -> Result<Vec<f64>> {
        if let Some(i) = back.losses.iter().position(|l| !l.is_finite()) {
            return Err(Error::Diverged {
                iter: back.first_iter + i + 1,
                loss: back.losses[i],
            });
        }
        let mut params = self.learner.params().clone();
        let mut at = 0;
        for v in params.values.iter_mut() {
            let n = v.len();
            v.copy_from_slice(&back.params[at..at + n]);
            at += n;
        }
        if !params.all_finite() {
            return Err(Error::Diverged {
                iter: back.first_iter + back.losses.len(),
                loss: f64::NAN,
            });
        }
        self.learner.set_params(params);
        let tasks = self.config.meta_batch;
        self.learner
            .set_inner_adam(&back.inner_moments, tasks, back.inner_steps)?;
        self.learner.set_iter(back.first_iter + back.losses.len());
        Ok(back.losses)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The learner.
    pub fn learner(&self) -> &Learner {
        &self.learner
    }

    /// Mutable access to the learner (e.g. to import parameters).
    pub fn learner_mut(&mut self) -> &mut Learner {
        &mut self.learner
    }

    /// The task family.
    pub fn family(&self) -> &SineFamily {
        &self.family
    }

    /// Meta-iterations done.
    pub fn iter(&self) -> usize {
        self.learner.iter()
    }

    /// One meta-iteration: draws a meta-batch and updates the learner. Returns the meta-loss,
    /// or [`Error::Diverged`] (and leaves the run where it was) when it is not finite.
    pub fn step(&mut self) -> Result<f64> {
        let c = &self.config;
        let support = self.learner.support_size(c.k);
        let batch = self
            .family
            .sample_batch(&mut self.train_rng, c.meta_batch, support, c.k_query);
        step_or_roll_back(&mut self.learner, |l| l.step(&batch))
    }

    /// Few-shot evaluation on `spec.tasks` fresh tasks with K = `config.k` support points. A
    /// model-based learner reports its prediction from no points as `pre` and the one given
    /// the support points as after 0 steps (it takes none; `spec.steps` does not apply).
    pub fn evaluate(&self, spec: &EvalSpec) -> Result<EvalReport> {
        let batch = self.family.sample_batch(
            &mut rng(spec.seed, Stream::Eval),
            spec.tasks,
            self.config.k,
            spec.query,
        );
        if self.config.algo.is_model_based() {
            // no gradient steps: the prediction given the support set is reported as after 0
            // steps, the one from no points as before adaptation
            let per_task = adaptation_mse(&self.learner, &batch, &[0, 1])?;
            return Ok(EvalReport {
                pre: MseSummary::of(&per_task[0]),
                post: vec![(0, MseSummary::of(&per_task[1]))],
            });
        }
        let mut steps = vec![0];
        steps.extend(spec.steps.iter().copied().filter(|&s| s > 0));
        let per_task = adaptation_mse(&self.learner, &batch, &steps)?;
        Ok(EvalReport {
            pre: MseSummary::of(&per_task[0]),
            post: steps[1..]
                .iter()
                .zip(&per_task[1..])
                .map(|(&s, v)| (s, MseSummary::of(v)))
                .collect(),
        })
    }

    /// The learner's meta-gradient checked against finite differences along `directions`
    /// random directions, and first-order MAML's against it ([`GradientCheck`]), on one
    /// meta-batch of training tasks drawn from the seed's own stream (the same for every call).
    pub fn check_gradients(&self, directions: usize) -> Result<GradientCheck> {
        let c = &self.config;
        let mut r = rng(c.seed, Stream::GradientCheck);
        let support = self.learner.support_size(c.k);
        let batch = self
            .family
            .sample_batch(&mut r, c.meta_batch, support, c.k_query);
        self.learner.check_gradients(&batch, directions, &mut r)
    }

    /// Mean query MSE over `batch` after `steps` adaptation steps (validation loss).
    pub fn mse_after(&self, batch: &RegressionBatch, steps: usize) -> Result<f64> {
        Ok(MseSummary::of(&adaptation_mse(&self.learner, batch, &[steps])?[0]).mean)
    }

    /// The network's predictions at `grid` before adaptation and after 1 and `steps` steps on
    /// `points`, with the run's own inner rule ([`FineTune`], as the evaluation).
    pub fn fit_curves(
        &self,
        points: &[(f64, f64)],
        grid: &[f64],
        steps: usize,
    ) -> Result<FitCurves> {
        let spec = self.learner.spec();
        let dtype = spec.precision.dtype();
        let device = self.learner.device();
        let xg = Tensor::from_slice(grid, (1, grid.len(), 1), device)?.to_dtype(dtype)?;
        let column = |v: Vec<f64>| -> Result<Tensor> {
            let n = v.len();
            Ok(Tensor::from_vec(v, (1, n, 1), device)?.to_dtype(dtype)?)
        };
        let xs = column(points.iter().map(|p| p.0).collect())?;
        let ys = column(points.iter().map(|p| p.1).collect())?;
        if let Some(model) = self.learner.model_based() {
            // no gradient steps: "before" is the prediction from no points, "after" (1 and N
            // steps alike) the prediction given the points
            let params = self.learner.params().tensors(dtype, device)?;
            let none = (xs.narrow(1, 0, 0)?, ys.narrow(1, 0, 0)?);
            let before = to_host(&model.predict(&params, &none.0, &none.1, &xg)?.mean)?;
            let read = model.predict(&params, &xs, &ys, &xg)?;
            let after = to_host(&read.mean)?;
            let std = read
                .std
                .as_ref()
                .map(to_host)
                .transpose()?
                .unwrap_or_default();
            return Ok(FitCurves {
                before,
                one: after.clone(),
                many: after,
                std,
            });
        }
        let theta = self.learner.network()?;
        let predict = |p: &[Tensor]| -> Result<Vec<f64>> { to_host(&spec.mlp.forward(p, &xg)?) };
        let before = predict(&theta)?;
        if points.is_empty() {
            return Ok(FitCurves {
                one: before.clone(),
                many: before.clone(),
                before,
                std: Vec::new(),
            });
        }
        let mut tune = FineTune::new(&self.learner, 1)?;
        tune.steps(&xs, &ys, 1)?;
        let one = predict(tune.params())?;
        tune.steps(&xs, &ys, steps.saturating_sub(1))?;
        let many = predict(tune.params())?;
        Ok(FitCurves {
            before,
            one,
            many,
            std: Vec::new(),
        })
    }
}

/// ms per meta-iteration of a fresh [`Runner`] of `config` on the CPU: `warmup` untimed iterations, then `iters` timed by `clock` (in ms).
pub fn cpu_ms_per_iter(
    config: &Config,
    warmup: usize,
    iters: usize,
    clock: impl Fn() -> f64,
) -> Result<f64> {
    let mut r = Runner::new(config.clone())?;
    for _ in 0..warmup {
        r.step()?;
    }
    let start = clock();
    for _ in 0..iters {
        r.step()?;
    }
    Ok((clock() - start) / iters.max(1) as f64)
}
