//! The sine side of the worker's session: up to [`MAX_RUNS`] runs stepped side by side in
//! time-boxed chunks on the same task stream, with their validation and fit curves.

use crate::engine::params::ParamSet;
use crate::engine::rng::{rng, Stream};
use crate::engine::tasks::{RegressionBatch, RegressionFamily};
use crate::error::Error;
use crate::experiment::divergence::diverged_message;
use crate::experiment::loss_log::LossLog;
use crate::experiment::params_file::from_safetensors_numbered;
use crate::experiment::protocol::{Event, FitRequest, Shard, GRADIENT_CHECK_DIRECTIONS, MAX_RUNS};
use crate::experiment::runner::Runner;
use crate::experiment::schema::{Scope, SINE};
use crate::experiment::session::{export_file_numbered, progress_event};
use crate::experiment::Config;

/// Validation tasks per run (post-adaptation MSE shown beside the meta-loss).
const VALIDATION_TASKS: usize = 50;
/// Query points per validation task.
const VALIDATION_QUERY: usize = 50;
/// Points of the fit chart's grid over the task family's input range.
const FIT_GRID: usize = 101;
/// While training, the fit curves are recomputed at most this often (ms): 5 redraws a second,
/// instead of one per 50 ms chunk (about 2–4% of the worker's time with four runs). A clock
/// that does not move (single steps, tests) gets them every chunk.
const FIT_REFRESH_MS: f64 = 200.0;

/// Runs trained together, and what the page asked to see.
pub struct SineSession {
    pub(super) runs: Vec<Runner>,
    pub(super) validation: Vec<RegressionBatch>,
    pub(super) stopped: Vec<bool>,
    pub(super) playing: bool,
    fit: Option<FitRequest>,
    pub(super) logs: Vec<LossLog>,
    /// When training last redrew the fit curves (by the chunk's clock).
    fit_shown_at: Option<f64>,
    /// Which of the experiment's runs these are (all of them unless spread over workers).
    pub(super) shard: Shard,
    /// A parameter file checked by [`SineSession::check_import`], waiting for its commit.
    staged: Option<Vec<ParamSet>>,
    /// Iterations per run in the next GPU chunk (adapted to the measured speed).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(super) gpu_chunk: usize,
}

/// Refuses runs that disagree on a setting of the whole experiment (seed, iterations, backend).
fn check_experiment_level(runs: &[Config]) -> Result<(), String> {
    for s in SINE.iter().filter(|s| s.scope == Scope::Experiment) {
        let first = s.text(&runs[0]);
        if let Some(other) = runs.iter().map(|c| s.text(c)).find(|t| *t != first) {
            return Err(format!(
                "`{}` is one value for the whole experiment; the runs give {first} and {other}",
                s.link
            ));
        }
    }
    Ok(())
}

impl SineSession {
    /// The runs of `configs` (1..=[`MAX_RUNS`], agreeing on the experiment-level settings),
    /// paused at iteration 0, and the first progress event.
    pub fn new(configs: Vec<Config>) -> Result<(Self, Vec<Event>), String> {
        let shard = Shard::whole(configs.len());
        Self::new_shard(configs, shard)
    }

    /// Like [`SineSession::new`] for part of an experiment's runs: they are run
    /// `shard.numbers[i]` of `shard.total` in messages, events and parameter files.
    pub fn new_shard(configs: Vec<Config>, shard: Shard) -> Result<(Self, Vec<Event>), String> {
        let numbers_ok = shard.numbers.len() == configs.len()
            && shard.total <= MAX_RUNS
            && shard.numbers.iter().all(|&n| n < shard.total)
            && (1..shard.numbers.len()).all(|i| !shard.numbers[..i].contains(&shard.numbers[i]));
        if !numbers_ok {
            return Err(format!(
                "runs {:?} of {}: each a different number below the total (at most {MAX_RUNS}), one per configuration",
                shard.numbers, shard.total
            ));
        }
        if configs.is_empty() || configs.len() > MAX_RUNS {
            return Err(format!(
                "runs: {} given, accepted 1..={MAX_RUNS}",
                configs.len()
            ));
        }
        check_experiment_level(&configs)?;
        let runs: Vec<Runner> = configs
            .into_iter()
            .map(Runner::new)
            .collect::<Result<_, Error>>()
            .map_err(|e| e.to_string())?;
        let validation = runs
            .iter()
            .map(|r| {
                let c = r.config();
                let mut g = rng(c.seed, Stream::Validation);
                r.family()
                    .sample_batch(&mut g, VALIDATION_TASKS, c.k, VALIDATION_QUERY)
            })
            .collect();
        let n = runs.len();
        let session = Self {
            runs,
            validation,
            stopped: vec![false; n],
            playing: false,
            fit: None,
            logs: vec![LossLog::default(); n],
            fit_shown_at: None,
            shard,
            staged: None,
            gpu_chunk: 0,
        };
        let events = vec![session.progress(vec![], vec![], 0, 0.0)];
        Ok((session, events))
    }

    /// True while training should continue.
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Starts or stops training.
    pub fn set_playing(&mut self, playing: bool) {
        self.playing = playing;
    }

    /// True when the runs train on the GPU.
    pub fn on_gpu(&self) -> bool {
        self.runs.first().is_some_and(Runner::on_gpu)
    }

    /// The runs.
    pub fn runs(&self) -> &[Runner] {
        &self.runs
    }

    /// Stops training; returns where it stopped and the fit curves there (the last chunk may
    /// have skipped them).
    pub fn pause(&mut self) -> Vec<Event> {
        self.playing = false;
        let mut events = vec![self.progress(vec![], vec![], 0, 0.0)];
        events.extend(self.fit_event());
        events
    }

    /// One meta-iteration of every run (on the CPU; the worker steps GPU runs itself).
    pub fn step(&mut self) -> Vec<Event> {
        self.playing = false;
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        if self.on_gpu() {
            let mut events = self.gpu_chunk_blocking(1, &|| 0.0);
            events.extend(self.flush_logs());
            return events;
        }
        let mut events = self.chunk(f64::INFINITY, 1, &|| 0.0);
        events.extend(self.flush_logs());
        events
    }

    /// What the fit chart shows from now on; returns its curves.
    pub fn set_fit(&mut self, request: FitRequest) -> Vec<Event> {
        self.fit = Some(request);
        self.fit_event().into_iter().collect()
    }

    /// Steps every unfinished run in turn until `budget_ms` (by `clock`, in ms) has passed or
    /// `max_rounds` rounds are done; returns one batched progress event (and the fit curves).
    pub fn chunk(
        &mut self,
        budget_ms: f64,
        max_rounds: usize,
        clock: &dyn Fn() -> f64,
    ) -> Vec<Event> {
        let n = self.runs.len();
        if self.on_gpu() {
            return vec![]; // GPU runs advance by gpu_submit / gpu_apply
        }
        let mut losses = vec![Vec::new(); n];
        let mut validation = vec![Vec::new(); n];
        let mut events = Vec::new();
        let start = clock();
        let mut steps = 0usize;
        for _ in 0..max_rounds {
            let mut any = false;
            for i in 0..n {
                let r = &mut self.runs[i];
                if self.stopped[i] || r.iter() >= r.config().iters {
                    continue;
                }
                any = true;
                match r.step() {
                    Ok(loss) => {
                        steps += 1;
                        let it = r.iter();
                        let last = it == r.config().iters;
                        losses[i].extend(self.logs[i].record(it, loss, last));
                        if it.is_multiple_of(100) || it == r.config().iters {
                            match r.mse_after(&self.validation[i], r.config().inner_steps) {
                                Ok(v) => validation[i].push((it, v)),
                                Err(e) => events.push(Event::Error {
                                    message: e.to_string(),
                                }),
                            }
                        }
                    }
                    Err(e) => {
                        self.stopped[i] = true;
                        let message = self.diverged_message(i, &e);
                        let run = self.shard.numbers[i];
                        events.push(Event::Diverged { run, message });
                    }
                }
            }
            if !any {
                self.playing = false;
                break;
            }
            if clock() - start >= budget_ms {
                break;
            }
        }
        events.push(self.progress(losses, validation, steps, clock() - start));
        let now = clock();
        let due = self
            .fit_shown_at
            .is_none_or(|t| now - t >= FIT_REFRESH_MS || now <= t);
        if due || !self.playing {
            self.fit_shown_at = Some(now);
            events.extend(self.fit_event());
        }
        events
    }

    /// The partly filled logging blocks as one progress event, so that a single step shows at
    /// once whatever the logging interval (`None` when nothing is pending).
    pub fn flush_logs(&mut self) -> Option<Event> {
        let losses: Vec<Vec<(usize, f64)>> = self
            .logs
            .iter_mut()
            .zip(&self.runs)
            .map(|(log, r)| log.flush(r.iter()).into_iter().collect())
            .collect();
        let n = losses.len();
        losses
            .iter()
            .any(|l| !l.is_empty())
            .then(|| self.progress(losses, vec![vec![]; n], 0, 0.0))
    }

    pub(super) fn diverged_message(&self, i: usize, e: &Error) -> String {
        let number = self.shard.numbers[i] + 1;
        let who = format!("run {number} ({})", self.runs[i].config().algo.name());
        diverged_message(&who, "meta-loss", e)
    }

    pub(super) fn progress(
        &self,
        losses: Vec<Vec<(usize, f64)>>,
        validation: Vec<Vec<(usize, f64)>>,
        steps: usize,
        elapsed_ms: f64,
    ) -> Event {
        let iters = self.runs.iter().map(Runner::iter).collect();
        progress_event(iters, losses, validation, steps, elapsed_ms, self.playing)
    }

    /// Run `run`'s gradient check ([`Runner::check_gradients`]; `run` is its number in the
    /// experiment).
    pub fn check_gradients(&self, run: usize) -> Vec<Event> {
        let index = self.shard.numbers.iter().position(|&n| n == run);
        let Some(runner) = index.and_then(|i| self.runs.get(i)) else {
            return vec![Event::Error {
                message: format!("Check gradients: there is no run {run}"),
            }];
        };
        match runner.check_gradients(GRADIENT_CHECK_DIRECTIONS) {
            Ok(report) => vec![Event::GradientCheck { run, report }],
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    /// Every run's meta-parameters as a safetensors file.
    pub fn export_params(&self, link: String) -> Vec<Event> {
        let runs: Vec<(usize, &ParamSet)> = self
            .shard
            .numbers
            .iter()
            .copied()
            .zip(self.runs.iter().map(|r| r.learner().params()))
            .collect();
        export_file_numbered(&runs, link)
    }

    /// The runs' parameters read from a file (checked against the runs; the tensors of the
    /// experiment's runs trained by other workers are skipped).
    fn read_file(&self, bytes: &[u8]) -> Result<Vec<ParamSet>, Error> {
        let expected: Vec<ParamSet> = self
            .runs
            .iter()
            .map(|r| r.learner().params().clone())
            .collect();
        let numbered: Vec<(usize, &ParamSet)> =
            self.shard.numbers.iter().copied().zip(&expected).collect();
        from_safetensors_numbered(bytes, &numbered, self.shard.total)
    }

    /// Replaces every run's meta-parameters with a file's (checked against the runs first).
    pub fn import_params(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.playing = false;
        match self.read_file(bytes) {
            Ok(sets) => self.load(sets),
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    /// Checks a file as [`SineSession::import_params`] does and keeps it for
    /// [`SineSession::commit_import`]; nothing changes yet.
    pub fn check_import(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.playing = false;
        self.staged = None;
        match self.read_file(bytes) {
            Ok(sets) => {
                self.staged = Some(sets);
                vec![Event::ImportChecked]
            }
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    /// Loads the file kept by [`SineSession::check_import`].
    pub fn commit_import(&mut self) -> Vec<Event> {
        match self.staged.take() {
            Some(sets) => self.load(sets),
            None => vec![Event::Error {
                message: "import: no checked parameter file to load".into(),
            }],
        }
    }

    fn load(&mut self, sets: Vec<ParamSet>) -> Vec<Event> {
        for (r, p) in self.runs.iter_mut().zip(sets) {
            if let Err(e) = r.set_params(p) {
                return vec![Event::Error {
                    message: e.to_string(),
                }];
            }
        }
        let mut events = vec![Event::Imported {
            message: format!("meta-parameters of {} run(s) loaded", self.runs.len()),
        }];
        events.extend(self.fit_event());
        events
    }

    pub(super) fn fit_event(&self) -> Option<Event> {
        let fit = self.fit.as_ref()?;
        let (lo, hi) = self.runs.first()?.family().input_range();
        let grid: Vec<f64> = (0..FIT_GRID)
            .map(|i| lo + (hi - lo) * i as f64 / (FIT_GRID - 1) as f64)
            .collect();
        let runs: Result<Vec<_>, Error> = self
            .runs
            .iter()
            .map(|r| r.fit_curves(&fit.points, &grid, fit.steps))
            .collect();
        Some(match runs {
            Ok(runs) => Event::Fit { grid, runs },
            Err(e) => Event::Error {
                message: e.to_string(),
            },
        })
    }
}
