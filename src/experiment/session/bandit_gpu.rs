//! The bandit session's GPU path: its evaluations (every episode of every policy one invocation
//! of `bandit.wgsl`, [`evaluate_gpu`]) run on a [`GpuContext`], over all of the config's
//! episodes instead of the CPU's [`super::LIVE_EPISODES`]. The worker awaits each
//! [`GpuEvaluation`] without holding the session, then hands the result back. `auto` times the
//! CPU on a few hundred episodes against the GPU's first evaluation and keeps the faster; any GPU
//! failure moves the evaluations to the CPU with a notice.

use crate::engine::bandit::{Policy, PolicyReport};
use crate::engine::gpu::{evaluate_gpu, GpuContext};
use crate::engine::tasks::BanditFamily;
use crate::error::{Error, GpuError, Result};
use crate::experiment::backend::Trial;
use crate::experiment::backend_decision::{BackendDecision, Next, Status, Workload};
use crate::experiment::protocol::Event;
use crate::experiment::session::bandit::{BanditSession, CURVE_POINTS};
#[cfg(not(target_arch = "wasm32"))]
use crate::experiment::session::sine_gpu::adapter_facts;
use crate::experiment::session::sine_gpu::backend_event;

/// Episodes per policy `auto` times on the CPU.
const TRIAL_EPISODES: usize = 500;

/// An evaluation to run on the GPU, detached from the session so that the worker can await it.
#[derive(Clone, Debug)]
pub struct GpuEvaluation {
    family: BanditFamily,
    policies: Vec<Policy>,
    episodes: usize,
    seed: u64,
}

impl GpuEvaluation {
    /// Runs it: one report per policy, in order.
    pub async fn run(&self, ctx: &GpuContext) -> Result<Vec<PolicyReport>> {
        evaluate_gpu(
            ctx,
            &self.family,
            &self.policies,
            self.episodes,
            self.seed,
            CURVE_POINTS,
        )
        .await
    }

    /// Runs it and times it by `clock` (ms). With `warm`, one episode of the same policies runs
    /// first, untimed, to build the pipeline: `auto` times the evaluation, not the shader
    /// compiler.
    pub async fn run_timed(
        &self,
        ctx: &GpuContext,
        warm: bool,
        clock: impl Fn() -> f64,
    ) -> (Result<Vec<PolicyReport>>, f64) {
        if warm {
            let one = GpuEvaluation {
                episodes: 1,
                ..self.clone()
            };
            let _ = one.run(ctx).await;
        }
        let start = clock();
        let result = self.run(ctx).await;
        (result, clock() - start)
    }

    /// Episodes over all policies.
    pub fn size(&self) -> usize {
        self.episodes * self.policies.len()
    }

    /// Natively: runs it, waiting for the device (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_blocking(&self, ctx: &GpuContext) -> Result<Vec<PolicyReport>> {
        pollster::block_on(self.run(ctx))
    }
}

impl BanditSession {
    /// Every policy, classical ones first, the agent last.
    fn all_policies(&self) -> Vec<Policy> {
        let mut policies = self.runner.baselines();
        policies.push(self.runner.agent());
        policies
    }

    fn gpu_evaluation(&self, policies: Vec<Policy>) -> GpuEvaluation {
        let c = self.runner.config();
        GpuEvaluation {
            family: c.family(),
            policies,
            episodes: c.episodes,
            seed: c.eval_seed,
        }
    }

    /// The backend decision for the evaluations ([`BackendDecision`]): the worker and
    /// [`BanditSession::settle_blocking`] drive it.
    pub fn backend_decision(&self) -> BackendDecision {
        let c = self.config();
        BackendDecision::new(c.backend, Workload::Evaluation(Box::new(c.clone())))
    }

    /// The evaluation that moves the session to the GPU ([`Next::EvaluateOnGpu`]): every policy
    /// over all the config's episodes.
    pub fn gpu_setup(&self) -> GpuEvaluation {
        self.gpu_evaluation(self.all_policies())
    }

    /// The agent's due re-evaluation and the device to run it on (`None` when none is due).
    pub fn gpu_due(&self) -> Option<(GpuEvaluation, GpuContext)> {
        let ctx = self.gpu.clone().filter(|_| self.eval_due)?;
        Some((self.gpu_evaluation(vec![self.runner.agent()]), ctx))
    }

    /// `auto`'s CPU side: ms per 1000 episodes of the CPU evaluation, timed by `clock` (in ms) on
    /// [`TRIAL_EPISODES`] episodes of every policy.
    pub fn cpu_ms_per_1000_episodes(&self, clock: impl Fn() -> f64) -> f64 {
        let policies = self.all_policies();
        let n = TRIAL_EPISODES.min(self.config().episodes);
        let start = clock();
        let _ = self.runner.evaluate(&policies, n, CURVE_POINTS);
        (clock() - start) * 1000.0 / (n * policies.len()) as f64
    }

    /// Settles on the CPU ([`Next::Settle`] without the GPU): the status event, then the CPU
    /// evaluation unless the CPU has already made it.
    pub fn place_on_cpu(&mut self, status: &Status) -> Vec<Event> {
        let mut events = vec![backend_event(status)];
        if self.baselines.is_empty() || self.on_gpu() {
            events.push(self.evaluate_on_cpu());
        }
        events
    }

    /// Takes [`BanditSession::gpu_setup`]'s `result`, run on `ctx` in `gpu_ms` (wall), into the
    /// decision: `webgpu` keeps the GPU unless it failed; `auto` compares it with the CPU's
    /// `cpu_ms_per_1000` ([`BanditSession::cpu_ms_per_1000_episodes`]). Returns the events.
    pub fn settle_gpu(
        &mut self,
        decision: &BackendDecision,
        ctx: &GpuContext,
        setup: &GpuEvaluation,
        result: Result<Vec<PolicyReport>>,
        gpu_ms: f64,
        cpu_ms_per_1000: Option<f64>,
    ) -> Vec<Event> {
        let next = match cpu_ms_per_1000 {
            Some(cpu_ms) => decision.timed(Trial {
                cpu_ms,
                gpu_ms: result
                    .as_ref()
                    .map(|_| gpu_ms * 1000.0 / setup.size().max(1) as f64)
                    .map_err(|e| e.to_string()),
            }),
            None => decision.evaluated(result.as_ref().map(|_| ()).map_err(gpu_error)),
        };
        let Next::Settle { gpu, status } = next else {
            return vec![];
        };
        match (gpu, result) {
            (true, Ok(mut reports)) => {
                let agent = reports.pop().into_iter().collect();
                self.baselines = reports;
                self.gpu = Some(ctx.clone());
                self.eval_due = false;
                vec![backend_event(&status), self.evaluation_with(agent)]
            }
            _ => self.place_on_cpu(&status),
        }
    }

    /// Takes the due re-evaluation's `result` ([`BanditSession::gpu_due`]); after a GPU failure
    /// the evaluations go on on the CPU.
    pub fn apply_gpu_evaluation(&mut self, result: Result<Vec<PolicyReport>>) -> Vec<Event> {
        self.eval_due = false;
        match result {
            Ok(agent) => vec![self.evaluation_with(agent)],
            Err(e) => {
                let status = self.backend_decision().failed(gpu_error(&e), None);
                vec![backend_event(&status), self.evaluate_on_cpu()]
            }
        }
    }

    /// Natively: drives the backend decision to the end on `adapter` (or why there is none) as
    /// the worker does (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn settle_blocking(
        &mut self,
        adapter: std::result::Result<&GpuContext, GpuError>,
    ) -> Vec<Event> {
        let mut decision = self.backend_decision();
        let mut next = decision.start();
        loop {
            next = match next {
                Next::RequestAdapter => decision.adapter(adapter.clone().map(adapter_facts)),
                Next::EvaluateOnGpu { time_cpu } => {
                    let Ok(ctx) = adapter else { break vec![] };
                    let t0 = std::time::Instant::now();
                    let clock = move || t0.elapsed().as_secs_f64() * 1e3;
                    let cpu = time_cpu.then(|| self.cpu_ms_per_1000_episodes(clock));
                    let setup = self.gpu_setup();
                    let (result, gpu_ms) =
                        pollster::block_on(setup.run_timed(ctx, cpu.is_some(), clock));
                    break self.settle_gpu(&decision, ctx, &setup, result, gpu_ms, cpu);
                }
                Next::TimeRun(_) => break vec![],
                Next::Settle { status, .. } => break self.place_on_cpu(&status),
            }
        }
    }

    /// Natively: runs the due re-evaluation, if any (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_due_blocking(&mut self) -> Vec<Event> {
        match self.gpu_due() {
            Some((job, ctx)) => {
                let result = job.run_blocking(&ctx);
                self.apply_gpu_evaluation(result)
            }
            None => vec![],
        }
    }
}

/// The typed GPU failure of `e` (any other failure counts as a lost device).
pub fn gpu_error(e: &Error) -> GpuError {
    match e {
        Error::Gpu(g) => g.clone(),
        other => GpuError::DeviceLost(other.to_string()),
    }
}
