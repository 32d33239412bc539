//! The session's GPU path: runs move to a [`GpuContext`] after `Configure`; each chunk submits
//! a batch of iterations per run ([`SineSession::gpu_submit`]), the caller awaits the readbacks
//! (asynchronously in the worker), and [`SineSession::gpu_apply`] turns them into the same events
//! as a CPU chunk. Any GPU failure rebuilds the runs on the CPU with a notice.

use crate::engine::gpu::{GpuContext, PendingReadback, Readback, LOSS_RING};
use crate::error::{Error, GpuError, Result};
use crate::experiment::backend::{Backend, Trial};
#[cfg(not(target_arch = "wasm32"))]
use crate::experiment::backend_decision::Next;
use crate::experiment::backend_decision::{AdapterFacts, BackendDecision, Status, Workload};
use crate::experiment::config::Config;
use crate::experiment::protocol::Event;
use crate::experiment::runner::Runner;
use crate::experiment::session::SineSession;

/// Wall time a GPU chunk aims at (submission plus readback), in ms.
const GPU_CHUNK_MS: f64 = 100.0;

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
            .ok_or_else(|| Error::gpu_unsupported("the timed run is not on the GPU"))?;
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

/// What the backend decision needs to know of an adapter.
pub fn adapter_facts(ctx: &GpuContext) -> AdapterFacts {
    AdapterFacts {
        label: ctx.info.label(),
        software: ctx.info.is_software(),
    }
}

/// The status bar's event for `status` (its label and notice, formatted in one place).
pub fn backend_event(status: &Status) -> Event {
    Event::Backend {
        label: status.label(),
        notice: status.notice(),
    }
}

/// Natively: drives `decision` for sine `runs` to the end on `adapter`, timing both backends
/// when `auto` asks (CLI, tests). Returns whether to train on the GPU and the status.
#[cfg(not(target_arch = "wasm32"))]
pub fn decide_blocking(
    mut decision: BackendDecision,
    adapter: std::result::Result<&GpuContext, GpuError>,
    runs: &[Config],
) -> (bool, Status) {
    let mut next = decision.start();
    loop {
        next = match next {
            Next::RequestAdapter => decision.adapter(adapter.clone().map(adapter_facts)),
            Next::TimeRun(i) => match (&adapter, runs.get(i)) {
                (Ok(ctx), Some(config)) => {
                    let t0 = std::time::Instant::now();
                    let clock = move || t0.elapsed().as_secs_f64() * 1e3;
                    decision.timed(pollster::block_on(auto_trial(ctx, config, clock)))
                }
                _ => {
                    return (
                        false,
                        decision.failed(GpuError::NoAdapter("none".into()), None),
                    )
                }
            },
            Next::EvaluateOnGpu { .. } => {
                let why = GpuError::Unsupported("sine runs are not evaluations".into());
                return (false, decision.failed(why, None));
            }
            Next::Settle { gpu, status } => return (gpu, status),
        }
    }
}

impl SineSession {
    /// The backend decision for these runs ([`BackendDecision`]): the worker and
    /// [`SineSession::settle_backend_blocking`] drive it, then [`SineSession::place`] the runs.
    pub fn backend_decision(&self) -> BackendDecision {
        let configs: Vec<Config> = self.runs.iter().map(|r| r.config().clone()).collect();
        let requested = configs.first().map_or(Backend::Cpu, |c| c.backend);
        BackendDecision::new(requested, Workload::Training(configs))
    }

    /// The configuration of run `index`, for `auto`'s timing ([`Next::TimeRun`]).
    pub fn run_config(&self, index: usize) -> Option<Config> {
        self.runs.get(index).map(|r| r.config().clone())
    }

    /// Carries out a settled decision ([`Next::Settle`]): moves the runs to `ctx` when `gpu`
    /// says so (a failure there keeps them on the CPU, as the decision says), and returns the
    /// [`Event::Backend`] to show.
    pub fn place(&mut self, gpu: bool, status: Status, ctx: Option<&GpuContext>) -> Vec<Event> {
        let status = match (gpu, ctx) {
            (true, Some(ctx)) => match self.attach(ctx) {
                Ok(()) => status,
                Err(Error::Gpu(e)) => self.backend_decision().failed(e, None),
                Err(e) => self
                    .backend_decision()
                    .failed(GpuError::DeviceLost(e.to_string()), None),
            },
            _ => status,
        };
        vec![backend_event(&status)]
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
                        run: self.shard.numbers[i],
                        message: self.diverged_message(i, &e),
                    });
                }
                Err(e) => {
                    // the device failed: every run goes on on the CPU from its last readback
                    self.runs.iter_mut().for_each(Runner::detach_gpu);
                    let at = self.runs.iter().map(Runner::iter).min().unwrap_or(0);
                    let error = match e {
                        Error::Gpu(g) => g,
                        other => GpuError::DeviceLost(other.to_string()),
                    };
                    let status = self.backend_decision().failed(error, Some(at));
                    events.push(backend_event(&status));
                    events.push(self.progress(losses, validation, 0, 0.0));
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
        if elapsed_ms > 0.0 && steps > 0 {
            let per_run = (steps as f64 / n.max(1) as f64).max(1.0);
            let target = per_run * GPU_CHUNK_MS / elapsed_ms;
            self.gpu_chunk = (target.round() as usize).clamp(1, LOSS_RING);
        }
        events.push(self.progress(losses, validation, steps, elapsed_ms));
        events.extend(self.fit_event());
        events
    }

    /// Natively: drives the backend decision to the end on `adapter` (or why there is none),
    /// timing both backends when `auto` asks, and places the runs (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn settle_backend_blocking(
        &mut self,
        adapter: std::result::Result<&GpuContext, GpuError>,
    ) -> Vec<Event> {
        let configs: Vec<Config> = self.runs.iter().map(|r| r.config().clone()).collect();
        let (gpu, status) = decide_blocking(self.backend_decision(), adapter.clone(), &configs);
        self.place(gpu, status, adapter.ok())
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
