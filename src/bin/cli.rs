//! `metaplay`: the native command line on the same engine as the playground.
//! Prints JSON lines (with `--json`) or readable lines; invalid flags exit with code 2.

use std::process::ExitCode;

#[path = "cli/backend.rs"]
mod backend;
#[path = "cli/bandit.rs"]
mod bandit;
#[path = "cli/bench.rs"]
mod bench;

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use metaplay::engine::meta::Algo;
use metaplay::experiment::schema::{self, cli::Flags};
use metaplay::experiment::{EvalSpec, Runner};

/// The error for `webgpu` asked of a build without the `gpu` feature.
#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
const NO_GPU: &str = "this build has no WebGPU backend: it was built without the `gpu` feature \
     (on by default; rebuild without --no-default-features, or with --features gpu)";

#[derive(Parser)]
#[command(
    name = "metaplay",
    version,
    about = "Meta-learning on few-shot sine regression and Bernoulli bandits: train, evaluate, benchmark."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Meta-train one run, report progress and timing, then evaluate it.
    Train(TrainArgs),
    /// Bernoulli bandits: classical policies and, with --algo, the meta-learned agent.
    Bandit(bandit::BanditArgs),
    /// ms per meta-iteration on the CPU and the WebGPU backend across network and batch sizes.
    Bench(bench::BenchArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// Every setting of the run, as in links: `--task`, `--algo`, `--k`, `--inner-lr`, …
    /// (defaults per task family and algorithm, the playground's).
    #[command(flatten)]
    settings: Flags<schema::cli::Sine>,
    /// Evaluation tasks (0 skips evaluation).
    #[arg(long, default_value_t = 1000)]
    eval_tasks: usize,
    /// Query points per evaluation task.
    #[arg(long, default_value_t = 100)]
    eval_query: usize,
    /// Step counts to report at evaluation, comma separated.
    #[arg(long, default_value = "1,10", value_parser = parse_steps)]
    eval_steps: Widths,
    /// Seed of the evaluation tasks.
    #[arg(long, default_value_t = 1234)]
    eval_seed: u64,
    /// Progress every this many iterations.
    #[arg(long, default_value_t = 100)]
    log_every: usize,
    /// Threads the meta-batch's tasks are spread over (MAML, first-order MAML, Meta-SGD on
    /// the CPU; the losses are the same for any number).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=metaplay::engine::parallel::MAX_THREADS as u64))]
    threads: u64,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

/// A comma-separated list of sizes.
#[derive(Clone, Debug)]
struct Widths(Vec<usize>);

fn parse_list(s: &str, what: &str) -> Result<Widths, String> {
    s.split(',')
        .map(|p| match p.trim().parse::<usize>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!(
                "'{p}' is not a valid {what} (whole numbers ≥ 1, comma separated)"
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Widths)
}

fn parse_steps(s: &str) -> Result<Widths, String> {
    parse_list(s, "step count")
}

/// A list of sizes to sweep (`metaplay bench`).
fn parse_hidden(s: &str) -> Result<Widths, String> {
    parse_list(s, "size")
}

/// An algorithm, as the schema's `algo` setting reads it.
fn parse_algo(s: &str) -> Result<Algo, String> {
    let setting = schema::find(schema::SINE, "runs").expect("the schema declares the algorithm");
    let v = setting.domain.parse(s)?;
    Algo::parse(v.choice()).ok_or_else(|| format!("'{s}' is not an algorithm"))
}

fn emit(json: bool, value: serde_json::Value) {
    if json {
        println!("{value}");
    } else {
        let obj = value.as_object().expect("events are objects");
        let event = obj.get("event").and_then(|e| e.as_str()).unwrap_or("");
        let rest: Vec<String> = obj
            .iter()
            .filter(|(k, _)| *k != "event")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("{event:>8}  {}", rest.join("  "));
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    sorted[((q * (n - 1) as f64).round() as usize).min(n - 1)]
}

fn train(args: &TrainArgs) -> Result<(), metaplay::Error> {
    let config = args.settings.config()?;
    metaplay::engine::parallel::set_threads(args.threads as usize);
    let mut runner = Runner::new(config.clone())?;
    let (on_gpu, status) = backend::place(&mut runner);
    emit(
        args.json,
        json!({"event": "config", "config": config, "params": runner.learner().params().numel(),
        "backend": status.label(), "backend_notice": status.notice(), "threads": args.threads}),
    );
    let warmup = (config.iters / 10).min(50);
    let log_every = args.log_every.max(1);
    let mut times = Vec::with_capacity(config.iters);
    let mut window = 0.0;
    let mut window_len = 0;
    let started = Instant::now();
    let mut it = 0;
    while it < config.iters {
        let t0 = Instant::now();
        // on the GPU: up to the next progress line in one submission, read back once
        let losses = if on_gpu {
            let n = (log_every - it % log_every)
                .min(config.iters - it)
                .min(backend::MAX_CHUNK);
            backend::gpu_steps(&mut runner, n)?
        } else {
            vec![runner.step()?]
        };
        let ms = t0.elapsed().as_secs_f64() * 1e3 / losses.len().max(1) as f64;
        for loss in losses {
            it += 1;
            times.push(ms);
            window += loss;
            window_len += 1;
            if it % log_every == 0 || it == config.iters {
                emit(
                    args.json,
                    json!({"event": "progress", "iter": it, "meta_loss": window / window_len as f64,
                    "elapsed_s": started.elapsed().as_secs_f64()}),
                );
                window = 0.0;
                window_len = 0;
            }
        }
    }
    let mut timed: Vec<f64> = times[warmup.min(times.len().saturating_sub(1))..].to_vec();
    timed.sort_by(f64::total_cmp);
    emit(
        args.json,
        json!({"event": "timing", "ms_per_iter_median": percentile(&timed, 0.5),
        "ms_per_iter_p10": percentile(&timed, 0.1), "ms_per_iter_p90": percentile(&timed, 0.9),
        "n_timed": timed.len(), "warmup_iters": warmup, "train_wall_s": started.elapsed().as_secs_f64()}),
    );
    if args.eval_tasks > 0 {
        let spec = EvalSpec {
            tasks: args.eval_tasks,
            query: args.eval_query,
            steps: args.eval_steps.0.clone(),
            seed: args.eval_seed,
        };
        let t0 = Instant::now();
        let report = runner.evaluate(&spec)?;
        let mut ev = json!({"event": "eval", "algo": config.algo.name(), "iters": config.iters, "eval_tasks": spec.tasks,
            "k": config.k, "eval_query": spec.query, "eval_seed": spec.seed, "pre_mse": report.pre.mean});
        for (s, m) in &report.post {
            ev[format!("post_mse_{s}")] = json!(m.mean);
        }
        ev["detail"] = json!({"pre": report.pre, "post": report.post});
        ev["eval_wall_s"] = json!(t0.elapsed().as_secs_f64());
        emit(args.json, ev);
    }
    Ok(())
}

fn main() -> ExitCode {
    // candle's matmul splits even tiny products over rayon threads; at these sizes that costs
    // more than it gains (measured ~2x slower per iteration on 2 cores), so one thread unless
    // RAYON_NUM_THREADS says otherwise. Set before any candle op reads it.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(args) => train(args),
        Command::Bandit(args) => bandit::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metaplay: {e}");
            ExitCode::from(match e {
                metaplay::Error::InvalidConfig { .. } => 2,
                _ => 1,
            })
        }
    }
}
