//! The bandit session's GPU path: its evaluations (every episode of every policy one invocation
//! of `bandit.wgsl`, [`evaluate_gpu`]) run on a [`GpuContext`], over all of the config's
//! episodes instead of the CPU's [`super::LIVE_EPISODES`]. The worker awaits each
//! [`GpuEvaluation`] without holding the session, then hands the result back. `auto` times the
//! CPU on a few hundred episodes against the GPU's first evaluation and keeps the faster; any GPU
//! failure moves the evaluations to the CPU with a notice.

use crate::engine::bandit::{Policy, PolicyReport};
use crate::engine::gpu::{evaluate_gpu, GpuContext};
use crate::engine::tasks::BanditFamily;
use crate::error::Result;
use crate::experiment::backend::{Backend, Trial};
use crate::experiment::bandit_session::{BanditSession, CURVE_POINTS, LIVE_EPISODES};
use crate::experiment::protocol::Event;
use crate::experiment::session::CPU_LABEL;

/// Episodes per policy `auto` times on the CPU.
const TRIAL_EPISODES: usize = 500;

/// The unit of a bandit [`Trial`]: ms per 1000 episodes (of any policy).
const TRIAL_UNIT: &str = "ms/1000 episodes";

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

    /// The evaluation that moves the session to the GPU: every policy over all the config's
    /// episodes (`None` when the config asks for the CPU).
    pub fn gpu_setup(&self) -> Option<GpuEvaluation> {
        (self.config().backend != Backend::Cpu).then(|| self.gpu_evaluation(self.all_policies()))
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

    /// Settles on the CPU, `why` the GPU is not used: the status label (a notice when WebGPU
    /// was asked for) and the CPU evaluation when it has not been made yet.
    pub fn settle_cpu(&mut self, why: &str) -> Vec<Event> {
        let (label, notice) = match self.config().backend {
            Backend::Cpu => (CPU_LABEL.to_string(), None),
            Backend::Auto => (format!("{CPU_LABEL} · auto: {why}"), None),
            Backend::WebGpu => (
                CPU_LABEL.to_string(),
                Some(format!(
                    "WebGPU is not available here ({why}); the bandit evaluation runs on the CPU instead."
                )),
            ),
        };
        self.evaluate_on_cpu_labelled(label, notice)
    }

    /// The backend event, then the CPU evaluation unless the CPU has already made it.
    fn evaluate_on_cpu_labelled(&mut self, label: String, notice: Option<String>) -> Vec<Event> {
        let mut events = vec![Event::Backend { label, notice }];
        if self.baselines.is_empty() || self.on_gpu() {
            events.push(self.evaluate_on_cpu());
        }
        events
    }

    /// Takes [`BanditSession::gpu_setup`]'s `result`, run on `ctx` in `gpu_ms` (wall): with
    /// `webgpu` the evaluations move to the GPU; with `auto` only when the GPU was at least
    /// [`crate::experiment::backend::AUTO_GPU_MARGIN`] times faster per episode than the CPU
    /// (`cpu_ms_per_1000`, from [`BanditSession::cpu_ms_per_1000_episodes`]). Returns the events.
    pub fn settle_gpu(
        &mut self,
        ctx: &GpuContext,
        setup: &GpuEvaluation,
        result: Result<Vec<PolicyReport>>,
        gpu_ms: f64,
        cpu_ms_per_1000: Option<f64>,
    ) -> Vec<Event> {
        let trial = cpu_ms_per_1000.map(|cpu_ms| Trial {
            cpu_ms,
            gpu_ms: result
                .as_ref()
                .map(|_| gpu_ms * 1000.0 / setup.size().max(1) as f64)
                .map_err(|e| e.to_string()),
        });
        let suffix = match &trial {
            Some(t) => format!(" · auto: {}", t.summary_in(TRIAL_UNIT)),
            None => String::new(),
        };
        let mut reports = match (result, &trial) {
            (Ok(reports), None) => reports,
            (Ok(reports), Some(t)) if t.gpu_wins() => reports,
            (_, Some(_)) => {
                return self.evaluate_on_cpu_labelled(format!("{CPU_LABEL}{suffix}"), None)
            }
            (Err(e), None) => {
                let notice = format!(
                    "{e}; the bandit evaluation runs on the CPU instead ({} episodes per policy).",
                    self.config().episodes.min(LIVE_EPISODES)
                );
                return self.evaluate_on_cpu_labelled(CPU_LABEL.to_string(), Some(notice));
            }
        };
        let agent = reports.pop().into_iter().collect();
        self.baselines = reports;
        self.gpu = Some(ctx.clone());
        self.eval_due = false;
        vec![
            Event::Backend {
                label: format!("evaluation on {}{suffix}", ctx.info.label()),
                notice: None,
            },
            self.evaluation_with(agent),
        ]
    }

    /// Takes the due re-evaluation's `result` ([`BanditSession::gpu_due`]); after a GPU failure
    /// the evaluations go on on the CPU, with a notice.
    pub fn apply_gpu_evaluation(&mut self, result: Result<Vec<PolicyReport>>) -> Vec<Event> {
        self.eval_due = false;
        match result {
            Ok(agent) => vec![self.evaluation_with(agent)],
            Err(e) => vec![
                Event::Backend {
                    label: CPU_LABEL.to_string(),
                    notice: Some(format!(
                        "{e}. The bandit evaluation goes on on the CPU ({} episodes per policy).",
                        self.config().episodes.min(LIVE_EPISODES)
                    )),
                },
                self.evaluate_on_cpu(),
            ],
        }
    }

    /// Natively: settles the evaluation backend as the worker does (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn settle_blocking(&mut self, ctx: std::result::Result<&GpuContext, &str>) -> Vec<Event> {
        let (ctx, setup) = match (ctx, self.gpu_setup()) {
            (Ok(ctx), Some(setup)) => (ctx, setup),
            (Err(why), _) => return self.settle_cpu(why),
            (Ok(_), None) => return self.settle_cpu("not asked for"),
        };
        let t0 = std::time::Instant::now();
        let clock = move || t0.elapsed().as_secs_f64() * 1e3;
        let cpu =
            (self.config().backend == Backend::Auto).then(|| self.cpu_ms_per_1000_episodes(clock));
        let (result, gpu_ms) = pollster::block_on(setup.run_timed(ctx, cpu.is_some(), clock));
        self.settle_gpu(ctx, &setup, result, gpu_ms, cpu)
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
