//! The session's GPU path: runs move to a [`GpuContext`] after `Configure`; each chunk submits
//! a batch of iterations per run ([`Session::gpu_submit`]), the caller awaits the readbacks
//! (asynchronously in the worker), and [`Session::gpu_apply`] turns them into the same events
//! as a CPU chunk. Any GPU failure rebuilds the runs on the CPU with a notice.

use crate::engine::gpu::{GpuContext, PendingReadback, Readback, LOSS_RING};
use crate::error::{Error, Result};
use crate::experiment::backend::{auto_plan, AutoPlan, Backend, Trial};
use crate::experiment::config::Config;
use crate::experiment::protocol::Event;
use crate::experiment::runner::Runner;
use crate::experiment::session::Session;

/// Wall time a GPU chunk aims at (submission plus readback), in ms.
const GPU_CHUNK_MS: f64 = 100.0;

/// The status-bar label of the CPU backend.
pub const CPU_LABEL: &str = "CPU (candle)";

/// Meta-iterations `auto` times on each backend (after as many untimed ones, which on the GPU
/// include building the pipelines).
const TRIAL_ITERS: usize = 5;

// the CPU's timing lives beside the runner (the bench CLI needs it without the `gpu` feature)
pub use crate::experiment::runner::cpu_ms_per_iter;

/// [`cpu_ms_per_iter`] on the GPU, each round submitted back to back and read back once (at least one
/// untimed iteration); also the compute dispatches of one iteration.
pub async fn gpu_ms_per_iter(
    ctx: &GpuContext,
    config: &Config,
    warmup: usize,
    iters: usize,
    clock: impl Fn() -> f64,
) -> Result<(f64, usize)> {
    let mut r = Runner::new(config.clone())?;
    r.attach_gpu(ctx)?;
    let dispatches = r.gpu_dispatches().unwrap_or(0);
    let mut start = 0.0;
    for (round, n) in [warmup.max(1), iters.max(1)].into_iter().enumerate() {
        if round == 1 {
            start = clock();
        }
        for _ in 0..n {
            r.submit()?;
        }
        let pending = r
            .readback()
            .ok_or_else(|| Error::Gpu("the timed run is not on the GPU".into()))?;
        pending.wait().await?;
    }
    Ok(((clock() - start) / iters.max(1) as f64, dispatches))
}

/// `auto`'s timing of `config` on both backends ([`TRIAL_ITERS`] untimed, then as many timed).
pub async fn auto_trial(ctx: &GpuContext, config: &Config, clock: impl Fn() -> f64) -> Trial {
    Trial {
        cpu_ms: cpu_ms_per_iter(config, TRIAL_ITERS, TRIAL_ITERS, &clock).unwrap_or(f64::INFINITY),
        gpu_ms: gpu_ms_per_iter(ctx, config, TRIAL_ITERS, TRIAL_ITERS, &clock)
            .await
            .map(|(ms, _)| ms)
            .map_err(|e| e.to_string()),
    }
}

impl Session {
    /// The backend the configured runs ask for (`None` for bandits or before `Configure`).
    pub fn requested_backend(&self) -> Option<Backend> {
        self.runs.first().map(|r| r.config().backend)
    }

    /// With `auto` and this adapter: the configuration to time on both backends before
    /// [`Session::settle_backend`] can decide (`None` when no trial is needed).
    pub fn auto_trial_config(&self, ctx: &GpuContext) -> Option<Config> {
        if self.requested_backend() != Some(Backend::Auto) {
            return None;
        }
        let configs: Vec<_> = self.runs.iter().map(|r| r.config().clone()).collect();
        match auto_plan(&configs, ctx.info.is_software()) {
            AutoPlan::Trial(i) => configs.into_iter().nth(i),
            AutoPlan::Cpu(_) => None,
        }
    }

    /// True when the runs train on the GPU.
    pub fn on_gpu(&self) -> bool {
        self.runs.first().is_some_and(Runner::on_gpu)
    }

    /// Settles the backend once the GPU adapter is known (`ctx`, or why there is none):
    /// moves the runs to the GPU when they ask for it (`auto`: only when `trial`, the timing of
    /// [`Session::auto_trial_config`], says the GPU is clearly faster), and returns the
    /// [`Event::Backend`] to show.
    pub fn settle_backend(
        &mut self,
        ctx: std::result::Result<&GpuContext, &str>,
        trial: Option<&Trial>,
    ) -> Vec<Event> {
        let Some(requested) = self.requested_backend() else {
            return vec![];
        };
        let configs: Vec<_> = self.runs.iter().map(|r| r.config().clone()).collect();
        let (label, notice) = match (requested, ctx) {
            (Backend::Cpu, _) => (CPU_LABEL.to_string(), None),
            (Backend::Auto, Err(_)) => (format!("{CPU_LABEL} · auto: no WebGPU here"), None),
            (Backend::WebGpu, Err(why)) => (
                CPU_LABEL.to_string(),
                Some(format!(
                    "WebGPU is not available here ({why}); training on the CPU instead."
                )),
            ),
            (Backend::Auto, Ok(ctx)) => {
                match (auto_plan(&configs, ctx.info.is_software()), trial) {
                    (AutoPlan::Cpu(why), _) => (format!("{CPU_LABEL} · auto: {why}"), None),
                    (AutoPlan::Trial(_), None) => (
                        format!("{CPU_LABEL} · auto: the backends were not timed"),
                        None,
                    ),
                    (AutoPlan::Trial(_), Some(t)) if !t.gpu_wins() => {
                        (format!("{CPU_LABEL} · auto: {}", t.summary()), None)
                    }
                    (AutoPlan::Trial(_), Some(t)) => {
                        self.attach_labelled(ctx, format!(" · auto: {}", t.summary()))
                    }
                }
            }
            (_, Ok(ctx)) => self.attach_labelled(ctx, String::new()),
        };
        vec![Event::Backend { label, notice }]
    }

    /// Moves the runs to `ctx`: the status label (the adapter's, then `suffix`) and no notice,
    /// or the CPU's label and why it failed.
    fn attach_labelled(&mut self, ctx: &GpuContext, suffix: String) -> (String, Option<String>) {
        match self.attach(ctx) {
            Ok(()) => (format!("{}{suffix}", ctx.info.label()), None),
            Err(e) => (
                CPU_LABEL.to_string(),
                Some(format!("{e}; training on the CPU instead.")),
            ),
        }
    }

    fn attach(&mut self, ctx: &GpuContext) -> Result<()> {
        let attached: Result<()> = self.runs.iter_mut().try_for_each(|r| r.attach_gpu(ctx));
        if attached.is_err() {
            self.rebuild_on_cpu();
        }
        attached
    }

    /// Rebuilds every run on the CPU from its configuration (iteration 0, same seed).
    fn rebuild_on_cpu(&mut self) {
        let rebuilt: Vec<Runner> = self
            .runs
            .iter()
            .filter_map(|r| Runner::new(r.config().clone()).ok())
            .collect();
        let n = rebuilt.len();
        self.runs = rebuilt;
        self.stopped = vec![false; n];
        self.logs = vec![Default::default(); n];
    }

    /// Queues up to `max_iters` iterations on every unfinished GPU run (fewer near the end, and
    /// never past the next multiple of 100, where validation is measured). Returns the readbacks
    /// to await, tagged with their run.
    pub fn gpu_submit(&mut self, max_iters: usize) -> Vec<(usize, PendingReadback)> {
        let chunk = if self.gpu_chunk == 0 {
            8
        } else {
            self.gpu_chunk
        };
        let n = max_iters.clamp(1, LOSS_RING).min(chunk);
        let mut pending = Vec::new();
        for (i, r) in self.runs.iter_mut().enumerate() {
            let (done, total) = (r.submitted(), r.config().iters);
            if self.stopped[i] || done >= total {
                continue;
            }
            let next_validation = (done / 100 + 1) * 100;
            let count = n.min(total - done).min(next_validation - done);
            for _ in 0..count {
                if r.submit().is_err() {
                    break; // the readback reports the failure
                }
            }
            if let Some(p) = r.readback() {
                pending.push((i, p));
            }
        }
        pending
    }

    /// Takes the awaited readbacks in: logs, validation, divergence, the fit curves and one
    /// progress event, as a CPU chunk; adapts the next chunk's size to `elapsed_ms`.
    pub fn gpu_apply(
        &mut self,
        results: Vec<(usize, Result<Readback>)>,
        elapsed_ms: f64,
    ) -> Vec<Event> {
        let n = self.runs.len();
        let mut losses = vec![Vec::new(); n];
        let mut validation = vec![Vec::new(); n];
        let mut events = Vec::new();
        let mut steps = 0usize;
        for (i, result) in results {
            if i >= n {
                continue;
            }
            let outcome = result.and_then(|back| self.runs[i].apply_readback(back));
            match outcome {
                Ok(run_losses) => {
                    let r = &self.runs[i];
                    let end = r.iter();
                    let start = end - run_losses.len();
                    steps += run_losses.len();
                    for (j, loss) in run_losses.into_iter().enumerate() {
                        let it = start + j + 1;
                        losses[i].extend(self.logs[i].record(it, loss, it == r.config().iters));
                    }
                    if end > start && (end.is_multiple_of(100) || end == r.config().iters) {
                        match r.mse_after(&self.validation[i], r.config().inner_steps) {
                            Ok(v) => validation[i].push((end, v)),
                            Err(e) => events.push(Event::Error {
                                message: e.to_string(),
                            }),
                        }
                    }
                }
                Err(e @ Error::Diverged { .. }) => {
                    self.stopped[i] = true;
                    events.push(Event::Diverged {
                        run: i,
                        message: self.diverged_message(i, e),
                    });
                }
                Err(e) => {
                    // the device failed: every run goes on on the CPU from its last readback
                    self.runs.iter_mut().for_each(Runner::detach_gpu);
                    let at = self.runs.iter().map(Runner::iter).min().unwrap_or(0);
                    events.push(Event::Backend {
                        label: CPU_LABEL.to_string(),
                        notice: Some(format!(
                            "{e}. Training goes on on the CPU from iteration {at} (the optimiser's moments start afresh)."
                        )),
                    });
                    events.push(self.progress(losses, validation, 0.0, 0.0));
                    return events;
                }
            }
        }
        if self
            .runs
            .iter()
            .enumerate()
            .all(|(i, r)| self.stopped[i] || r.iter() >= r.config().iters)
        {
            self.playing = false;
        }
        let (rate, ms) = if elapsed_ms > 0.0 && steps > 0 {
            // every run advanced in the same wall time: iterations of all runs per second
            (steps as f64 / elapsed_ms * 1e3, elapsed_ms / steps as f64)
        } else {
            (0.0, 0.0)
        };
        if elapsed_ms > 0.0 && steps > 0 {
            let per_run = (steps as f64 / n.max(1) as f64).max(1.0);
            let target = per_run * GPU_CHUNK_MS / elapsed_ms;
            self.gpu_chunk = (target.round() as usize).clamp(1, LOSS_RING);
        }
        events.push(self.progress(losses, validation, rate, ms));
        events.extend(self.fit_event());
        events
    }

    /// Natively: [`Session::settle_backend`], timing both backends first when `auto` needs it
    /// (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn settle_backend_blocking(
        &mut self,
        ctx: std::result::Result<&GpuContext, &str>,
    ) -> Vec<Event> {
        let trial = ctx.ok().and_then(|ctx| {
            let config = self.auto_trial_config(ctx)?;
            let t0 = std::time::Instant::now();
            let clock = move || t0.elapsed().as_secs_f64() * 1e3;
            Some(pollster::block_on(auto_trial(ctx, &config, clock)))
        });
        self.settle_backend(ctx, trial.as_ref())
    }

    /// Natively: one GPU chunk, waiting for the device (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu_chunk_blocking(&mut self, max_iters: usize, clock: &dyn Fn() -> f64) -> Vec<Event> {
        let start = clock();
        let pending = self.gpu_submit(max_iters);
        let results = pending
            .into_iter()
            .map(|(i, p)| (i, pollster::block_on(p.wait())))
            .collect();
        self.gpu_apply(results, clock() - start)
    }
}
