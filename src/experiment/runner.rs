//! A [`Runner`] owns one run: its configuration, learner and training-task stream.

use serde::Serialize;

use crate::engine::meta::eval::{adaptation_mse, MseSummary};
use crate::engine::meta::Learner;
use crate::engine::rng::{rng, Rng, Stream};
use crate::engine::tasks::{RegressionFamily, SineFamily};
use crate::error::{Error, Result};
use crate::experiment::config::Config;

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
#[derive(Clone, Debug)]
pub struct Runner {
    config: Config,
    family: SineFamily,
    learner: Learner,
    train_rng: Rng,
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
        })
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
        let before = self.learner.params().clone();
        let loss = self.learner.step(&batch)?;
        if !loss.is_finite() || !self.learner.params().all_finite() {
            self.learner.set_params(before);
            return Err(Error::Diverged {
                iter: self.learner.iter(),
                loss,
            });
        }
        Ok(loss)
    }

    /// Few-shot evaluation on `spec.tasks` fresh tasks with K = `config.k` support points.
    pub fn evaluate(&self, spec: &EvalSpec) -> Result<EvalReport> {
        let batch = self.family.sample_batch(
            &mut rng(spec.seed, Stream::Eval),
            spec.tasks,
            self.config.k,
            spec.query,
        );
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
}
