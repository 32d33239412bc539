//! `metaplay bench`: ms per meta-iteration on the CPU (candle) and the WebGPU backend across a
//! size sweep, measured back to back on the same configurations (JSON lines with `--json`).

use std::time::Instant;

use clap::Args;
use serde_json::json;

use metaplay::engine::meta::Algo;
use metaplay::experiment::{Config, Runner, TaskKind};

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

/// ms per iteration of `config` on the CPU.
fn cpu_ms(config: &Config, warmup: usize, iters: usize) -> Result<f64, metaplay::Error> {
    let mut r = Runner::new(config.clone())?;
    for _ in 0..warmup {
        r.step()?;
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        r.step()?;
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3 / iters as f64)
}

/// ms per iteration of `config` on the GPU (`iters` submitted back to back, then one readback)
/// and the compute dispatches of one iteration.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn gpu_ms(
    ctx: &metaplay::engine::gpu::GpuContext,
    config: &Config,
    warmup: usize,
    iters: usize,
) -> Result<(f64, usize), metaplay::Error> {
    let mut r = Runner::new(config.clone())?;
    r.attach_gpu(ctx)?;
    let mut run = |n: usize| -> Result<(), metaplay::Error> {
        for _ in 0..n {
            r.submit()?;
        }
        let back = pollster::block_on(r.readback().expect("on the GPU").wait())?;
        r.apply_readback(back)?;
        Ok(())
    };
    run(warmup.max(1))?;
    let t0 = Instant::now();
    run(iters)?;
    Ok((
        t0.elapsed().as_secs_f64() * 1e3 / iters as f64,
        r.gpu_dispatches().unwrap_or(0),
    ))
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
        metaplay::bail!("this build has no WebGPU backend (feature `gpu`)");
    }
    let iters = args.iters.clamp(1, metaplay::engine::gpu::LOSS_RING);
    for &h in &args.hidden.0 {
        for &t in &args.meta_batch.0 {
            let mut c = Config::new(TaskKind::Sine, args.algo);
            c.hidden = vec![h, h];
            c.meta_batch = t;
            c.validate()?;
            let mut line = json!({"event": "bench", "algo": args.algo.name(), "hidden": h,
                "meta_batch": t, "iters": iters});
            if want("cpu") {
                line["cpu_ms"] = json!(cpu_ms(&c, args.warmup, iters)?);
            }
            #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
            if let Some(ctx) = &ctx {
                let (ms, dispatches) = gpu_ms(ctx, &c, args.warmup, iters)?;
                line["webgpu_ms"] = json!(ms);
                line["webgpu_dispatches"] = json!(dispatches);
            }
            emit(args.json, line);
        }
    }
    Ok(())
}
