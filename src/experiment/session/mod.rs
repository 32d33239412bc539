//! The session the worker runs: nothing, sine runs, or a bandit experiment, answering
//! [`Command`]s with [`Event`]s. Plain Rust, tested natively; the worker binary only moves
//! messages, schedules time-boxed chunks and awaits the GPU.

use std::collections::HashMap;

use crate::engine::params::ParamSet;
use crate::experiment::params_file::{self, to_safetensors_numbered};
use crate::experiment::protocol::{Command, Event, Shard};
use crate::experiment::Config;

mod bandit;
#[cfg(feature = "gpu")]
mod bandit_gpu;
mod sine;
#[cfg(feature = "gpu")]
mod sine_gpu;

pub use bandit::{BanditSession, LIVE_EPISODES};
#[cfg(feature = "gpu")]
pub use bandit_gpu::{gpu_error, GpuEvaluation};
pub use sine::SineSession;
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub use sine_gpu::decide_blocking;
#[cfg(feature = "gpu")]
pub use sine_gpu::{adapter_facts, auto_trial, backend_event, cpu_ms_per_iter, gpu_ms_per_iter};

/// What the worker trains.
#[derive(Default)]
pub enum Session {
    /// Nothing configured yet.
    #[default]
    Idle,
    /// Up to four sine runs side by side.
    Sine(Box<SineSession>),
    /// A bandit experiment.
    Bandit(Box<BanditSession>),
}

impl Session {
    /// An empty session (nothing until `Configure`).
    pub fn new() -> Self {
        Self::Idle
    }

    /// True while training should continue.
    pub fn playing(&self) -> bool {
        match self {
            Session::Idle => false,
            Session::Sine(s) => s.playing(),
            Session::Bandit(b) => b.playing(),
        }
    }

    /// The sine runs (none for a bandit experiment).
    pub fn runs(&self) -> &[crate::experiment::Runner] {
        match self {
            Session::Sine(s) => s.runs(),
            _ => &[],
        }
    }

    /// The sine session, when one is configured.
    pub fn sine_mut(&mut self) -> Option<&mut SineSession> {
        match self {
            Session::Sine(s) => Some(s),
            _ => None,
        }
    }

    /// The bandit experiment, when one is configured.
    pub fn bandit(&self) -> Option<&BanditSession> {
        match self {
            Session::Bandit(b) => Some(b.as_ref()),
            _ => None,
        }
    }

    /// Mutable access to the bandit experiment (its GPU evaluations).
    pub fn bandit_mut(&mut self) -> Option<&mut BanditSession> {
        match self {
            Session::Bandit(b) => Some(b.as_mut()),
            _ => None,
        }
    }

    /// True when the sine runs train on the GPU.
    pub fn on_gpu(&self) -> bool {
        match self {
            Session::Sine(s) => s.on_gpu(),
            _ => false,
        }
    }

    /// Applies a command; returns the events to send back. A refused configuration leaves the
    /// session as it was and answers with an error.
    pub fn handle(&mut self, command: Command) -> Vec<Event> {
        let error = |message: String| vec![Event::Error { message }];
        match (command, &mut *self) {
            (Command::Configure { runs }, _) => {
                let shard = Shard::whole(runs.len());
                self.configure_sine(runs, shard)
            }
            (Command::ConfigureShard { runs, shard }, _) => self.configure_sine(runs, shard),
            (Command::MergeParams { files }, _) => match params_file::merge(&files) {
                Ok(bytes) => vec![Event::ParamsFile { bytes }],
                Err(e) => error(e.to_string()),
            },
            (Command::Clear, _) => {
                *self = Session::Idle;
                vec![]
            }
            (Command::ConfigureBandit { config }, _) => match BanditSession::new(config) {
                Ok((b, events)) => {
                    *self = Session::Bandit(Box::new(b));
                    events
                }
                Err(e) => error(e.to_string()),
            },
            (_, Session::Idle) => vec![],
            (Command::Play, Session::Sine(s)) => {
                s.set_playing(true);
                vec![]
            }
            (Command::Play, Session::Bandit(b)) => {
                b.set_playing(true);
                vec![]
            }
            (Command::Pause, Session::Sine(s)) => s.pause(),
            (Command::Pause, Session::Bandit(b)) => b.pause(),
            (Command::Step, Session::Sine(s)) => s.step(),
            (Command::Step, Session::Bandit(b)) => b.step(),
            (Command::Fit(request), Session::Sine(s)) => s.set_fit(request),
            (Command::Fit(_), Session::Bandit(_)) => vec![],
            (Command::ExportParams { link }, Session::Sine(s)) => s.export_params(link),
            (Command::ExportParams { link }, Session::Bandit(b)) => b.export_params(link),
            (Command::ImportParams { bytes }, Session::Sine(s)) => s.import_params(&bytes),
            (Command::ImportParams { bytes }, Session::Bandit(b)) => b.import_params(&bytes),
            (Command::CheckImport { bytes }, Session::Sine(s)) => s.check_import(&bytes),
            (Command::CommitImport, Session::Sine(s)) => s.commit_import(),
            (Command::CheckImport { .. } | Command::CommitImport, Session::Bandit(_)) => {
                error("a parameter import in two steps is for sine runs spread over workers".into())
            }
            (Command::Replay { seed }, Session::Bandit(b)) => b.replay(seed),
            (Command::Replay { .. }, Session::Sine(_)) => vec![],
            (Command::CheckGradients { run }, Session::Sine(s)) => s.check_gradients(run),
            (Command::CheckGradients { .. }, Session::Bandit(_)) => {
                error("Check gradients is for the sine runs".into())
            }
        }
    }

    /// Sine runs from now on (a refused configuration leaves the session as it was).
    fn configure_sine(&mut self, runs: Vec<Config>, shard: Shard) -> Vec<Event> {
        match SineSession::new_shard(runs, shard) {
            Ok((s, events)) => {
                *self = Session::Sine(Box::new(s));
                events
            }
            Err(message) => vec![Event::Error { message }],
        }
    }

    /// Trains until `budget_ms` (by `clock`, in ms) has passed or `max_rounds` rounds are done;
    /// returns one batched progress event and whatever else happened.
    pub fn chunk(
        &mut self,
        budget_ms: f64,
        max_rounds: usize,
        clock: &dyn Fn() -> f64,
    ) -> Vec<Event> {
        match self {
            Session::Idle => vec![],
            Session::Sine(s) => s.chunk(budget_ms, max_rounds, clock),
            Session::Bandit(b) => b.chunk(budget_ms, max_rounds, clock),
        }
    }

    /// The partly filled logging blocks as one progress event (after a single step).
    pub fn flush_logs(&mut self) -> Option<Event> {
        match self {
            Session::Idle => None,
            Session::Sine(s) => s.flush_logs(),
            Session::Bandit(b) => b.flush_logs(),
        }
    }
}

/// The progress event of a chunk: `steps` meta-iterations (of all runs) in `elapsed_ms`. A
/// clock that did not move (single steps, tests) gives no rate rather than an absurd one.
pub(crate) fn progress_event(
    iters: Vec<usize>,
    losses: Vec<Vec<(usize, f64)>>,
    validation: Vec<Vec<(usize, f64)>>,
    steps: usize,
    elapsed_ms: f64,
    playing: bool,
) -> Event {
    let (iters_per_sec, ms_per_iter) = if elapsed_ms > 0.0 && steps > 0 {
        (steps as f64 / elapsed_ms * 1e3, elapsed_ms / steps as f64)
    } else {
        (0.0, 0.0)
    };
    Event::Progress {
        iters,
        losses,
        validation,
        iters_per_sec,
        ms_per_iter,
        playing,
    }
}

/// The meta-parameters file of `runs`, with the experiment's `link` in its metadata.
pub(crate) fn export_file(runs: &[&ParamSet], link: String) -> Vec<Event> {
    let numbered: Vec<(usize, &ParamSet)> = runs.iter().copied().enumerate().collect();
    export_file_numbered(&numbered, link)
}

/// [`export_file`] of runs under their numbers in the experiment.
pub(crate) fn export_file_numbered(runs: &[(usize, &ParamSet)], link: String) -> Vec<Event> {
    let metadata = HashMap::from([
        ("app".to_string(), "metaplay".to_string()),
        ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("link".to_string(), link),
    ]);
    match to_safetensors_numbered(runs, metadata) {
        Ok(bytes) => vec![Event::ParamsFile { bytes }],
        Err(e) => vec![Event::Error {
            message: e.to_string(),
        }],
    }
}
