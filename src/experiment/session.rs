//! The training session the worker runs: up to [`MAX_RUNS`] runs stepped side by side in
//! time-boxed chunks, answering [`Command`]s with [`Event`]s. Plain Rust, tested natively; the
//! worker binary only moves messages and schedules chunks.

use crate::engine::params::ParamSet;
use crate::engine::rng::{rng, Stream};
use crate::engine::tasks::{RegressionBatch, RegressionFamily};
use crate::error::Error;
use crate::experiment::bandit_session::BanditSession;
use crate::experiment::loss_log::LossLog;
use crate::experiment::params_file::{from_safetensors, to_safetensors};
use crate::experiment::protocol::{Command, Event, FitRequest, MAX_RUNS};
use crate::experiment::runner::Runner;

#[cfg(feature = "gpu")]
mod gpu;
#[cfg(feature = "gpu")]
pub use gpu::{auto_trial, cpu_ms_per_iter, gpu_ms_per_iter, CPU_LABEL};

/// Validation tasks per run (post-adaptation MSE shown beside the meta-loss).
const VALIDATION_TASKS: usize = 50;
/// Query points per validation task.
const VALIDATION_QUERY: usize = 50;
/// Points of the fit chart's grid on [−5, 5].
const FIT_GRID: usize = 101;
/// While training, the fit curves are recomputed at most this often (ms): 5 redraws a second,
/// instead of one per 50 ms chunk (about 2–4% of the worker's time with four runs). A clock
/// that does not move (single steps, tests) gets them every chunk.
const FIT_REFRESH_MS: f64 = 200.0;

/// Runs trained together, and what the page asked to see.
#[derive(Default)]
pub struct Session {
    runs: Vec<Runner>,
    validation: Vec<RegressionBatch>,
    stopped: Vec<bool>,
    playing: bool,
    fit: Option<FitRequest>,
    bandit: Option<BanditSession>,
    logs: Vec<LossLog>,
    /// When training last redrew the fit curves (by the chunk's clock).
    fit_shown_at: Option<f64>,
    /// Iterations per run in the next GPU chunk (adapted to the measured speed).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    gpu_chunk: usize,
}

impl Session {
    /// An empty session (no runs until `Configure`).
    pub fn new() -> Self {
        Self::default()
    }

    /// True while training should continue.
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// The runs.
    pub fn runs(&self) -> &[Runner] {
        &self.runs
    }

    /// The bandit experiment, when one is configured.
    pub fn bandit(&self) -> Option<&BanditSession> {
        self.bandit.as_ref()
    }

    /// Mutable access to the bandit experiment (its GPU evaluations).
    pub fn bandit_mut(&mut self) -> Option<&mut BanditSession> {
        self.bandit.as_mut()
    }

    /// Applies a command; returns the events to send back.
    pub fn handle(&mut self, command: Command) -> Vec<Event> {
        match command {
            Command::Configure { runs } => {
                self.playing = false;
                if runs.is_empty() || runs.len() > MAX_RUNS {
                    return vec![Event::Error {
                        message: format!("runs: {} given, accepted 1..={MAX_RUNS}", runs.len()),
                    }];
                }
                self.bandit = None;
                let built: Result<Vec<Runner>, Error> = runs.into_iter().map(Runner::new).collect();
                match built {
                    Ok(runs) => {
                        self.validation = runs
                            .iter()
                            .map(|r| {
                                let c = r.config();
                                let mut g = rng(c.seed, Stream::Validation);
                                r.family().sample_batch(
                                    &mut g,
                                    VALIDATION_TASKS,
                                    c.k,
                                    VALIDATION_QUERY,
                                )
                            })
                            .collect();
                        self.stopped = vec![false; runs.len()];
                        self.logs = vec![LossLog::default(); runs.len()];
                        self.runs = runs;
                        let mut events = vec![self.progress(vec![], vec![], 0.0, 0.0)];
                        events.extend(self.fit_event());
                        events
                    }
                    Err(e) => vec![Event::Error {
                        message: e.to_string(),
                    }],
                }
            }
            Command::ConfigureBandit { config } => {
                self.playing = false;
                self.runs.clear();
                self.validation.clear();
                self.stopped.clear();
                match BanditSession::new(config) {
                    Ok((session, mut events)) => {
                        self.bandit = Some(session);
                        events.insert(0, self.progress(vec![], vec![], 0.0, 0.0));
                        events
                    }
                    Err(e) => {
                        self.bandit = None;
                        vec![Event::Error {
                            message: e.to_string(),
                        }]
                    }
                }
            }
            Command::Play => {
                self.playing = !self.runs.is_empty() || self.bandit.is_some();
                vec![]
            }
            Command::Pause => {
                self.playing = false;
                // the fit curves of where training stopped (the last chunk may have skipped them)
                let mut events = vec![self.progress(vec![], vec![], 0.0, 0.0)];
                events.extend(self.fit_event());
                events
            }
            Command::Step => {
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
            Command::ExportParams { link } => self.export_params(link),
            Command::ImportParams { bytes } => self.import_params(&bytes),
            Command::Fit(request) => {
                self.fit = Some(request);
                self.fit_event().into_iter().collect()
            }
        }
    }

    /// Steps every unfinished run in turn until `budget_ms` (by `clock`, in ms) has passed or
    /// `max_rounds` rounds are done; returns one batched progress event (and the fit curves).
    pub fn chunk(
        &mut self,
        budget_ms: f64,
        max_rounds: usize,
        clock: &dyn Fn() -> f64,
    ) -> Vec<Event> {
        if let Some(bandit) = self.bandit.as_mut() {
            let start = clock();
            let (points, steps, mut events) = bandit.chunk(budget_ms, max_rounds, clock);
            if bandit.finished() {
                self.playing = false;
            }
            let elapsed = clock() - start;
            let (rate, ms) = if elapsed > 0.0 && steps > 0 {
                (steps as f64 / elapsed * 1e3, elapsed / steps as f64)
            } else {
                (0.0, 0.0)
            };
            events.insert(0, self.progress(vec![points], vec![vec![]], rate, ms));
            return events;
        }
        let n = self.runs.len();
        if self.runs.iter().any(Runner::on_gpu) {
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
                        let message = self.diverged_message(i, e);
                        events.push(Event::Diverged { run: i, message });
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
        // a clock that did not move (single steps) gives no rate rather than an absurd one
        let elapsed = clock() - start;
        let (rate, ms) = if elapsed > 0.0 && steps > 0 {
            (steps as f64 / elapsed * 1e3, elapsed / steps as f64)
        } else {
            (0.0, 0.0)
        };
        events.push(self.progress(losses, validation, rate, ms));
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
        let losses: Vec<Vec<(usize, f64)>> = match self.bandit.as_mut() {
            Some(b) => vec![b.flush_log().into_iter().collect()],
            None => self
                .logs
                .iter_mut()
                .zip(&self.runs)
                .map(|(log, r)| log.flush(r.iter()).into_iter().collect())
                .collect(),
        };
        let n = losses.len();
        losses
            .iter()
            .any(|l| !l.is_empty())
            .then(|| self.progress(losses, vec![vec![]; n], 0.0, 0.0))
    }

    fn diverged_message(&self, i: usize, e: Error) -> String {
        match e {
            Error::Diverged { iter, loss } => format!(
                "run {} ({}) diverged at iteration {iter}: meta-loss {loss}. The inner or meta learning rate is probably too high; lower it and reset.",
                i + 1,
                self.runs[i].config().algo.name()
            ),
            other => other.to_string(),
        }
    }

    fn progress(
        &self,
        losses: Vec<Vec<(usize, f64)>>,
        validation: Vec<Vec<(usize, f64)>>,
        rate: f64,
        ms: f64,
    ) -> Event {
        let iters = match &self.bandit {
            Some(b) => vec![b.runner().iter()],
            None => self.runs.iter().map(Runner::iter).collect(),
        };
        Event::Progress {
            iters,
            losses,
            validation,
            iters_per_sec: rate,
            ms_per_iter: ms,
            playing: self.playing,
        }
    }

    fn export_params(&self, link: String) -> Vec<Event> {
        let metadata = std::collections::HashMap::from([
            ("app".to_string(), "metaplay".to_string()),
            ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ("link".to_string(), link),
        ]);
        let runs: Vec<&ParamSet> = match &self.bandit {
            Some(b) => vec![b.runner().learner().params()],
            None => self.runs.iter().map(|r| r.learner().params()).collect(),
        };
        match to_safetensors(&runs, metadata) {
            Ok(bytes) => vec![Event::ParamsFile { bytes }],
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    fn import_params(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.playing = false;
        if let Some(b) = self.bandit.as_mut() {
            let expected = b.runner().learner().params().clone();
            return match from_safetensors(bytes, &[&expected]) {
                Ok(mut sets) => {
                    b.runner_mut().learner_mut().set_params(sets.remove(0));
                    let mut events = vec![Event::Imported {
                        message: "meta-parameters of the bandit agent loaded".into(),
                    }];
                    events.extend(b.request_evaluation());
                    events
                }
                Err(e) => vec![Event::Error {
                    message: e.to_string(),
                }],
            };
        }
        let expected: Vec<_> = self
            .runs
            .iter()
            .map(|r| r.learner().params().clone())
            .collect();
        let refs: Vec<_> = expected.iter().collect();
        match from_safetensors(bytes, &refs) {
            Ok(sets) => {
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
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    fn fit_event(&self) -> Option<Event> {
        let fit = self.fit.as_ref()?;
        let grid: Vec<f64> = (0..FIT_GRID)
            .map(|i| -5.0 + 10.0 * i as f64 / (FIT_GRID - 1) as f64)
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
