//! `metaplay bench`: ms per meta-iteration on the CPU (candle) and the WebGPU backend across a
//! size sweep, measured back to back on the same configurations (JSON lines with `--json`).

use std::time::Instant;

use clap::Args;
use serde_json::json;

use metaplay::engine::meta::Algo;
use metaplay::experiment::runner::cpu_ms_per_iter;
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
use metaplay::experiment::session::gpu_ms_per_iter;
use metaplay::experiment::{Config, TaskKind};

use crate::{emit, parse_algo, parse_hidden, Widths};

#[derive(Args)]
pub struct BenchArgs {
    /// Algorithm (paper settings otherwise).
    #[arg(long, default_value = "maml", value_parser = parse_algo)]
    algo: Algo,
    /// Hidden widths to sweep (two layers of each), comma separated.
    #[arg(long, default_value = "40,128,256", value_parser = parse_hidden)]
    hidden: Widths,
    /// Meta-batch sizes to sweep, comma separated.
    #[arg(long, default_value = "25,64,128", value_parser = parse_hidden)]
    meta_batch: Widths,
    /// Timed iterations per configuration and backend.
    #[arg(long, default_value_t = 50)]
    iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Backends: cpu, webgpu or both (comma separated).
    #[arg(long, default_value = "cpu,webgpu")]
    backends: String,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

/// Wall-clock milliseconds since the command started.
fn clock() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

pub fn run(args: &BenchArgs) -> Result<(), metaplay::Error> {
    let want = |b: &str| args.backends.split(',').any(|x| x.trim() == b);
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    let ctx = if want("webgpu") {
        let ctx = pollster::block_on(metaplay::engine::gpu::GpuContext::new())?;
        emit(args.json, json!({"event": "adapter", "info": ctx.info}));
        Some(ctx)
    } else {
        None
    };
    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    if want("webgpu") {
        metaplay::bail!("{}", crate::NO_GPU);
    }
    // the GPU reads back once per round: at most a loss ring of iterations
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    let iters = args.iters.clamp(1, metaplay::engine::gpu::LOSS_RING);
    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    let iters = args.iters.max(1);
    for &h in &args.hidden.0 {
        for &t in &args.meta_batch.0 {
            let mut c = Config::new(TaskKind::Sine, args.algo);
            c.hidden = vec![h, h];
            c.meta_batch = t;
            c.validate()?;
            let mut line = json!({"event": "bench", "algo": args.algo.name(), "hidden": h,
                "meta_batch": t, "iters": iters});
            if want("cpu") {
                line["cpu_ms"] = json!(cpu_ms_per_iter(&c, args.warmup, iters, clock)?);
            }
            #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
            if let Some(ctx) = &ctx {
                // `iters` submitted back to back, then one readback
                let (ms, dispatches) =
                    pollster::block_on(gpu_ms_per_iter(ctx, &c, args.warmup, iters, clock))?;
                line["webgpu_ms"] = json!(ms);
                line["webgpu_dispatches"] = json!(dispatches);
            }
            emit(args.json, line);
        }
    }
    Ok(())
}
