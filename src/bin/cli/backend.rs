//! Where `metaplay train` trains: the backend decision of the playground
//! ([`metaplay::experiment::backend_decision`]) driven to the end natively, and the GPU loop.

#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
use metaplay::error::GpuError;
use metaplay::experiment::backend_decision::{BackendDecision, Status, Workload};
use metaplay::experiment::Runner;

/// Most iterations submitted to the GPU between readbacks (the learner's loss ring).
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub const MAX_CHUNK: usize = metaplay::engine::gpu::LOSS_RING;
/// Most iterations submitted to the GPU between readbacks (none without the GPU backend).
#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
pub const MAX_CHUNK: usize = 1;

/// Settles the backend of `runner` (not started yet) and moves it to the GPU when the decision
/// says so. Returns whether it trains there and the status to print.
pub fn place(runner: &mut Runner) -> (bool, Status) {
    let config = runner.config().clone();
    let decision = BackendDecision::new(config.backend, Workload::Training(vec![config.clone()]));
    if let metaplay::experiment::backend_decision::Next::Settle { gpu: false, status } =
        decision.start()
    {
        return (false, status); // the CPU was asked for, or f64 under auto: no adapter needed
    }
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    {
        use metaplay::experiment::session::{decide_blocking, gpu_error};
        let adapter =
            pollster::block_on(metaplay::engine::gpu::GpuContext::new()).map_err(|e| gpu_error(&e));
        let (gpu, status) = decide_blocking(
            decision.clone(),
            adapter.as_ref().map_err(Clone::clone),
            &[config],
        );
        match (gpu, &adapter) {
            (true, Ok(ctx)) => match runner.attach_gpu(ctx) {
                Ok(()) => (true, status),
                Err(e) => (false, decision.failed(gpu_error(&e), None)),
            },
            _ => (false, status),
        }
    }
    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    {
        let none = GpuError::NoAdapter(crate::NO_GPU.into());
        let mut decision = decision;
        let next = match decision.start() {
            metaplay::experiment::backend_decision::Next::RequestAdapter => {
                decision.adapter(Err(none))
            }
            next => next,
        };
        match next {
            metaplay::experiment::backend_decision::Next::Settle { status, .. } => (false, status),
            _ => (
                false,
                decision.failed(GpuError::Unsupported("no GPU".into()), None),
            ),
        }
    }
}

/// `n` meta-iterations on the GPU, submitted back to back and read back once: their losses.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub fn gpu_steps(runner: &mut Runner, n: usize) -> metaplay::Result<Vec<f64>> {
    for _ in 0..n {
        runner.submit()?;
    }
    let pending = runner
        .readback()
        .ok_or_else(|| metaplay::Error::gpu_unsupported("the run is not on the GPU"))?;
    let back = pollster::block_on(pending.wait())?;
    runner.apply_readback(back)
}

/// Without the GPU backend there is nothing to step there.
#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
pub fn gpu_steps(_: &mut Runner, _: usize) -> metaplay::Result<Vec<f64>> {
    Err(metaplay::Error::Gpu(GpuError::Unsupported(
        crate::NO_GPU.into(),
    )))
}
