//! The bandit side of the worker's session: meta-trains the agent in time-boxed chunks and
//! re-evaluates it beside the classical policies (evaluated once) every so often, on the CPU or,
//! with `backend=webgpu` (or `auto` when it times faster), on the GPU ([`gpu`]).

use crate::engine::bandit::PolicyReport;
use crate::error::Error;
use crate::experiment::backend::Backend;
use crate::experiment::divergence::diverged_message;
use crate::experiment::loss_log::LossLog;
use crate::experiment::params_file::from_safetensors;
use crate::experiment::play::replay_seed;
use crate::experiment::protocol::{BanditEvaluation, Event};
use crate::experiment::session::{export_file, progress_event};
use crate::experiment::{BanditConfig, BanditRunner};

/// Evaluation episodes per policy on the CPU in the playground (the GPU evaluates all of the
/// config's episodes; the CLI too).
pub const LIVE_EPISODES: usize = 2000;
/// Points on each regret curve.
pub(super) const CURVE_POINTS: usize = 100;
/// Episodes behind each arm-usage figure.
const USAGE_EPISODES: usize = 200;

/// A bandit experiment in the worker.
pub struct BanditSession {
    pub(super) runner: BanditRunner,
    pub(super) baselines: Vec<PolicyReport>,
    baseline_usage: Vec<Vec<f64>>,
    stopped: bool,
    playing: bool,
    log: LossLog,
    /// The agent is due a re-evaluation on the GPU (training waits for it).
    pub(super) eval_due: bool,
    /// The device the evaluations run on, when they run on the GPU.
    #[cfg(feature = "gpu")]
    pub(super) gpu: Option<crate::engine::gpu::GpuContext>,
}

impl BanditSession {
    /// Builds the experiment; evaluates the classical policies and the untrained agent on the
    /// CPU unless the config asks for WebGPU (then [`BanditSession::settle_gpu`] or
    /// [`BanditSession::settle_cpu`] does, once the adapter is known).
    pub fn new(config: BanditConfig) -> Result<(Self, Vec<Event>), Error> {
        let runner = BanditRunner::new(config)?;
        let (_, baseline_usage) = runner.arm_usage(
            &runner.baselines(),
            runner.config().eval_seed,
            USAGE_EPISODES,
        );
        let mut session = Self {
            runner,
            baselines: Vec::new(),
            baseline_usage,
            stopped: false,
            playing: false,
            log: LossLog::default(),
            eval_due: false,
            #[cfg(feature = "gpu")]
            gpu: None,
        };
        let wants_gpu = cfg!(feature = "gpu") && session.config().backend == Backend::WebGpu;
        let mut events = vec![session.progress(vec![], 0, 0.0)];
        if !wants_gpu {
            events.push(session.evaluate_on_cpu());
        }
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

    /// Stops training; returns where it stopped.
    pub fn pause(&mut self) -> Vec<Event> {
        self.playing = false;
        vec![self.progress(vec![], 0, 0.0)]
    }

    /// One meta-iteration of the agent.
    pub fn step(&mut self) -> Vec<Event> {
        self.playing = false;
        let mut events = self.chunk(f64::INFINITY, 1, &|| 0.0);
        events.extend(self.flush_logs());
        events
    }

    /// The agent's meta-parameters as a safetensors file.
    pub fn export_params(&self, link: String) -> Vec<Event> {
        export_file(&[self.runner.learner().params()], link)
    }

    /// Replaces the agent's meta-parameters with a file's, then re-evaluates it.
    pub fn import_params(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.playing = false;
        let expected = self.runner.learner().params().clone();
        match from_safetensors(bytes, &[&expected]) {
            Ok(mut sets) => {
                self.runner.learner_mut().set_params(sets.remove(0));
                let mut events = vec![Event::Imported {
                    message: "meta-parameters of the bandit agent loaded".into(),
                }];
                events.extend(self.request_evaluation());
                events
            }
            Err(e) => vec![Event::Error {
                message: e.to_string(),
            }],
        }
    }

    fn progress(&self, points: Vec<(usize, f64)>, steps: usize, elapsed_ms: f64) -> Event {
        let iters = vec![self.runner.iter()];
        progress_event(
            iters,
            vec![points],
            vec![vec![]],
            steps,
            elapsed_ms,
            self.playing,
        )
    }

    /// The configuration.
    pub fn config(&self) -> &BanditConfig {
        self.runner.config()
    }

    /// True when the evaluations run on the GPU.
    pub fn on_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        return self.gpu.is_some();
        #[cfg(not(feature = "gpu"))]
        false
    }

    /// Evaluation episodes per policy on the current backend.
    pub fn episodes(&self) -> usize {
        let all = self.config().episodes;
        if self.on_gpu() {
            all
        } else {
            all.min(LIVE_EPISODES)
        }
    }

    /// Evaluates the classical policies and the agent on the CPU (after a GPU failure, or when
    /// the CPU is chosen) and returns the evaluation.
    pub fn evaluate_on_cpu(&mut self) -> Event {
        #[cfg(feature = "gpu")]
        {
            self.gpu = None;
        }
        self.eval_due = false;
        let r = &self.runner;
        self.baselines = r.evaluate(&r.baselines(), self.episodes(), CURVE_POINTS);
        self.evaluation()
    }

    /// Re-evaluates the agent: at once on the CPU, or marked due for the GPU.
    pub fn request_evaluation(&mut self) -> Vec<Event> {
        if self.on_gpu() {
            self.eval_due = true;
            vec![]
        } else {
            vec![self.evaluation()]
        }
    }

    /// True when training waits for the agent's GPU re-evaluation.
    pub fn eval_due(&self) -> bool {
        self.eval_due
    }

    /// The runner.
    pub fn runner(&self) -> &BanditRunner {
        &self.runner
    }

    /// Mutable access to the runner (parameter import).
    pub fn runner_mut(&mut self) -> &mut BanditRunner {
        &mut self.runner
    }

    /// True when there is nothing left to train (a due GPU evaluation still runs).
    pub fn finished(&self) -> bool {
        self.stopped || self.runner.iter() >= self.runner.config().iters
    }

    /// Re-evaluates the agent as it is now on the CPU, beside the cached classical policies.
    pub fn evaluation(&self) -> Event {
        let r = &self.runner;
        let agent = r.evaluate(&[r.agent()], self.episodes(), CURVE_POINTS);
        self.evaluation_with(agent)
    }

    /// The evaluation event for `agent`'s reports beside the cached classical policies (the arm
    /// usage is always counted on the CPU: a few hundred episodes on one bandit).
    pub(super) fn evaluation_with(&self, agent: Vec<PolicyReport>) -> Event {
        let r = &self.runner;
        let mut reports = self.baselines.clone();
        reports.extend(agent);
        let (task, agent_usage) = r.arm_usage(&[r.agent()], r.config().eval_seed, USAGE_EPISODES);
        let mut usage = self.baseline_usage.clone();
        usage.extend(agent_usage);
        Event::BanditEval(BanditEvaluation {
            iter: r.iter(),
            reports,
            means: task.means,
            usage,
            usage_episodes: USAGE_EPISODES,
        })
    }

    /// "Play it yourself": the policies of [`BanditSession::evaluation`] (the classical ones,
    /// then the agent as it is now) replayed on the bandit of play seed `seed`.
    pub fn replay(&self, seed: u64) -> Vec<Event> {
        let r = &self.runner;
        let mut policies = r.baselines();
        policies.push(r.agent());
        let replay = replay_seed(&r.config().family(), &policies, seed, r.iter());
        vec![Event::Replay(replay)]
    }

    /// Iterations between re-evaluations of the agent.
    fn eval_every(&self) -> usize {
        (self.runner.config().iters / 10).clamp(50, 1000)
    }

    /// Meta-iterations until `budget_ms` has passed (by `clock`) or `max_steps` are done.
    /// Returns one progress event (the new `(iteration, reward per pull)` points) first, then
    /// the evaluations and whatever else happened.
    pub fn chunk(
        &mut self,
        budget_ms: f64,
        max_steps: usize,
        clock: &dyn Fn() -> f64,
    ) -> Vec<Event> {
        let start = clock();
        let mut steps = 0usize;
        let mut points = Vec::new();
        let mut events = Vec::new();
        while steps < max_steps && !self.finished() && !self.eval_due {
            match self.runner.step() {
                Ok(v) => {
                    steps += 1;
                    let it = self.runner.iter();
                    let last = it == self.runner.config().iters;
                    points.extend(self.log.record(it, v, last));
                    if it.is_multiple_of(self.eval_every()) || it == self.runner.config().iters {
                        if self.on_gpu() {
                            self.eval_due = true; // the worker runs it, then training goes on
                        } else {
                            events.push(self.evaluation());
                        }
                    }
                }
                Err(e) => {
                    self.stopped = true;
                    let who = format!("the bandit agent ({})", self.runner.config().algo.name());
                    let message = diverged_message(&who, "meta-objective", &e);
                    events.push(Event::Diverged { run: 0, message });
                }
            }
            if clock() - start >= budget_ms {
                break;
            }
        }
        if self.finished() {
            self.playing = false;
        }
        events.insert(0, self.progress(points, steps, clock() - start));
        events
    }

    /// The pending logged mean as a progress event, if any (after a single step).
    pub fn flush_logs(&mut self) -> Option<Event> {
        let point = self.log.flush(self.runner.iter())?;
        Some(self.progress(vec![point], 0, 0.0))
    }
}
