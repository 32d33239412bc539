//! Messages between the playground page and the training worker (serde enums; the page
//! sends [`Command`]s, the worker answers with [`Event`]s).

use serde::{Deserialize, Serialize};

use crate::engine::bandit::PolicyReport;
use crate::engine::meta::gradient_check::GradientCheck;
use crate::experiment::bandit_config::BanditConfig;
use crate::experiment::config::Config;
use crate::experiment::play::PlayReplay;

/// Most runs an experiment compares side by side.
pub const MAX_RUNS: usize = 4;

/// What the fit chart asks of the runs: the support points they adapt to (the held-out task's
/// true curve is drawn by the page itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRequest {
    /// Support points `(x, y)` (sampled from the task, or placed by the user).
    pub points: Vec<(f64, f64)>,
    /// Adaptation steps of the "after N steps" curve.
    pub steps: usize,
}

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Start over with these runs (1..=[`MAX_RUNS`]), paused at iteration 0.
    Configure {
        /// One configuration per run.
        runs: Vec<Config>,
    },
    /// Start over with a bandit experiment (replaces any sine runs), paused at iteration 0.
    ConfigureBandit {
        /// The experiment.
        config: BanditConfig,
    },
    /// Train until every run has done its iterations, or until `Pause`.
    Play,
    /// Stop training after the current chunk.
    Pause,
    /// One meta-iteration of every run.
    Step,
    /// What the fit chart should show; answered with [`Event::Fit`] now and after each chunk.
    Fit(FitRequest),
    /// Every run's meta-parameters as a safetensors file; answered with [`Event::ParamsFile`].
    ExportParams {
        /// The experiment's link, stored in the file's metadata.
        link: String,
    },
    /// Replace every run's meta-parameters with a file's (checked against the runs first).
    ImportParams {
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// "Play it yourself": every policy of the bandit experiment (the agent as it is now) on
    /// the bandit of play seed `seed`; answered with [`Event::Replay`] (nothing for sine runs).
    Replay {
        /// The play seed ([`crate::experiment::play`]).
        seed: u64,
    },
    /// Start over with part of the sine runs of an experiment spread over several workers
    /// ([`crate::experiment::worker_pool`]): these runs, numbered as in the experiment.
    ConfigureShard {
        /// One configuration per run of this worker.
        runs: Vec<Config>,
        /// Which of the experiment's runs they are.
        shard: Shard,
    },
    /// Forget the experiment (a worker the next experiment does not need).
    Clear,
    /// The first half of an import spread over several workers: check a parameter file
    /// against this worker's runs and keep it; answered with [`Event::ImportChecked`] or an
    /// error. Nothing changes until [`Command::CommitImport`].
    CheckImport {
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// Load the file kept by [`Command::CheckImport`] (sent once every worker accepted it).
    CommitImport,
    /// One parameter file of the workers' parts of an export (done in a worker, so that the
    /// page's wasm needs no safetensors); answered with [`Event::ParamsFile`].
    MergeParams {
        /// The parts, in worker order.
        files: Vec<Vec<u8>>,
    },
    /// "Check gradients" for sine run `run`; answered with [`Event::GradientCheck`] (or an
    /// error naming why the run has no meta-gradient to check).
    CheckGradients {
        /// Which run.
        run: usize,
    },
}

/// The runs of one worker, when an experiment's sine runs are spread over several: their
/// numbers in the experiment (run `numbers[i]` is the worker's `i`-th) out of `total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// The experiment's run numbers of this worker's runs, in its order.
    pub numbers: Vec<usize>,
    /// Runs in the whole experiment.
    pub total: usize,
}

impl Shard {
    /// All `n` runs in one worker.
    pub fn whole(n: usize) -> Self {
        Self {
            numbers: (0..n).collect(),
            total: n,
        }
    }
}

/// Random directions of a gradient check.
pub const GRADIENT_CHECK_DIRECTIONS: usize = 3;

/// Predictions of one run on the fit chart's grid.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FitCurves {
    /// Before adaptation.
    pub before: Vec<f64>,
    /// After one step.
    pub one: Vec<f64>,
    /// After N steps.
    pub many: Vec<f64>,
    /// A model-based learner's predicted standard deviation given the points (the chart draws
    /// `many ± 2σ`); empty for the others.
    #[serde(default)]
    pub std: Vec<f64>,
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The worker's wasm is initialised and listens.
    Ready,
    /// New training progress since the last event (one event per ~50 ms chunk).
    Progress {
        /// Meta-iterations done, per run.
        iters: Vec<usize>,
        /// New `(iteration, meta-loss)` points per run (mean over the chunk).
        losses: Vec<Vec<(usize, f64)>>,
        /// New `(iteration, validation post-adaptation MSE)` points per run.
        validation: Vec<Vec<(usize, f64)>>,
        /// Meta-iterations per second over the chunk (all runs together).
        iters_per_sec: f64,
        /// Milliseconds per meta-iteration of one run, over the chunk.
        ms_per_iter: f64,
        /// True when training is going on.
        playing: bool,
    },
    /// The fit chart's curves: `grid` x values, per run the predictions.
    Fit {
        /// x values.
        grid: Vec<f64>,
        /// One entry per run.
        runs: Vec<FitCurves>,
    },
    /// Bandit evaluation: every policy on the same episodes, and one bandit's arm usage.
    BanditEval(BanditEvaluation),
    /// The policies' pulls on the student's bandit, asked for with [`Command::Replay`].
    Replay(PlayReplay),
    /// A run stopped because its loss was not finite.
    Diverged {
        /// Which run.
        run: usize,
        /// What happened and the likely cause.
        message: String,
    },
    /// The meta-parameters file asked for with [`Command::ExportParams`].
    ParamsFile {
        /// safetensors bytes.
        bytes: Vec<u8>,
    },
    /// [`Command::CheckImport`] accepted the file (it waits for [`Command::CommitImport`]).
    ImportChecked,
    /// An import succeeded; the message says what was loaded.
    Imported {
        /// Human-readable summary.
        message: String,
    },
    /// Where the runs train, and why (sent after `Configure` once the backend is settled).
    Backend {
        /// For the status bar, e.g. `CPU (candle)` or `WebGPU (SwiftShader Device, software)`.
        label: String,
        /// Set when WebGPU was asked for (or failed while training) and the CPU took over:
        /// shown as a notice.
        notice: Option<String>,
    },
    /// The worker's wasm memory size after a chunk (bytes), to watch for growth.
    Memory {
        /// Bytes of linear memory.
        bytes: f64,
    },
    /// The answer to [`Command::CheckGradients`].
    GradientCheck {
        /// Which run.
        run: usize,
        /// What was measured.
        report: GradientCheck,
    },
    /// Something failed; the message says what.
    Error {
        /// Human-readable description.
        message: String,
    },
}

/// What the bandit view draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BanditEvaluation {
    /// Meta-iteration of the agent evaluated.
    pub iter: usize,
    /// One report per policy: the classical ones, then the agent.
    pub reports: Vec<PolicyReport>,
    /// The arms' means of the one bandit of the arm chart.
    pub means: Vec<f64>,
    /// Mean pulls per arm of each policy (same order as `reports`) on that bandit.
    pub usage: Vec<Vec<f64>>,
    /// Episodes per usage figure.
    pub usage_episodes: usize,
}
