//! `metaplay`: the native command line on the same engine as the playground.
//! Prints JSON lines (with `--json`) or readable lines; invalid flags exit with code 2.

use std::process::ExitCode;

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

use metaplay::engine::meta::{Algo, InnerOptimizer};
use metaplay::engine::mlp::{Activation, Precision};
use metaplay::engine::optim::OptimizerKind;
use metaplay::experiment::{Config, EvalSpec, Runner, TaskKind};

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
    /// Task family: sine | sine-reptile.
    #[arg(long, default_value = "sine", value_parser = parse_task)]
    task: TaskKind,
    /// Algorithm: maml | fomaml | reptile | metasgd | pretrain | scratch.
    #[arg(long, default_value = "maml", value_parser = parse_algo)]
    algo: Algo,
    /// Meta-iterations (default: 70000 for sine, 30000 for sine-reptile).
    #[arg(long)]
    iters: Option<usize>,
    /// Seed of weights and training tasks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Tasks per meta-iteration.
    #[arg(long)]
    meta_batch: Option<usize>,
    /// Support points per task (K).
    #[arg(long)]
    k: Option<usize>,
    /// Query points per training task.
    #[arg(long)]
    k_query: Option<usize>,
    /// Inner learning rate α.
    #[arg(long)]
    inner_lr: Option<f64>,
    /// Inner steps during meta-training.
    #[arg(long)]
    inner_steps: Option<usize>,
    /// Reptile: support points per inner step.
    #[arg(long)]
    inner_batch: Option<usize>,
    /// Reptile: inner optimiser, sgd | adam (β₁ = 0, state kept across tasks, the authors') |
    /// adam-per-task (β₁ = 0, reset for every task).
    #[arg(long, value_parser = parse_inner_optimizer)]
    inner_optimizer: Option<InnerOptimizer>,
    /// Outer learning rate (Reptile: outer step size ε).
    #[arg(long)]
    meta_lr: Option<f64>,
    /// Outer optimiser, adam | sgd.
    #[arg(long, value_parser = parse_optimizer)]
    meta_optimizer: Option<OptimizerKind>,
    /// Reptile: anneal ε linearly to 0 (true | false).
    #[arg(long)]
    anneal: Option<bool>,
    /// Hidden layer widths, comma separated (e.g. 40,40).
    #[arg(long, value_parser = parse_hidden)]
    hidden: Option<Widths>,
    /// Hidden activation: relu | tanh.
    #[arg(long, value_parser = parse_activation)]
    activation: Option<Activation>,
    /// Compute in f64 instead of f32.
    #[arg(long)]
    f64: bool,
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
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

/// A comma-separated list of sizes.
#[derive(Clone, Debug)]
struct Widths(Vec<usize>);

fn parse_task(s: &str) -> Result<TaskKind, String> {
    TaskKind::parse(s).ok_or_else(|| format!("unknown task '{s}' (accepted: sine, sine-reptile)"))
}

fn parse_algo(s: &str) -> Result<Algo, String> {
    let names: Vec<_> = Algo::ALL.iter().map(|a| a.name()).collect();
    Algo::parse(s)
        .ok_or_else(|| format!("unknown algorithm '{s}' (accepted: {})", names.join(", ")))
}

fn parse_optimizer(s: &str) -> Result<OptimizerKind, String> {
    OptimizerKind::parse(s).ok_or_else(|| format!("unknown optimiser '{s}' (accepted: sgd, adam)"))
}

fn parse_inner_optimizer(s: &str) -> Result<InnerOptimizer, String> {
    InnerOptimizer::parse(s).ok_or_else(|| {
        format!("unknown inner optimiser '{s}' (accepted: sgd, adam, adam-per-task)")
    })
}

fn parse_activation(s: &str) -> Result<Activation, String> {
    Activation::parse(s).ok_or_else(|| format!("unknown activation '{s}' (accepted: relu, tanh)"))
}

fn parse_list(s: &str, what: &str, min: usize) -> Result<Widths, String> {
    s.split(',')
        .map(|p| match p.trim().parse::<usize>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(format!(
                "'{p}' is not a valid {what} (whole numbers ≥ {min}, comma separated)"
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Widths)
}

fn parse_hidden(s: &str) -> Result<Widths, String> {
    parse_list(s, "layer width", 1)
}

fn parse_steps(s: &str) -> Result<Widths, String> {
    parse_list(s, "step count", 1)
}

impl TrainArgs {
    fn config(&self) -> Config {
        let mut c = Config::new(self.task, self.algo);
        c.seed = self.seed;
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            iters,
            meta_batch,
            k,
            k_query,
            inner_lr,
            inner_steps,
            inner_batch,
            inner_optimizer,
            meta_lr,
            meta_optimizer,
            anneal,
            activation
        );
        if self.k.is_some() && self.inner_batch.is_none() && self.algo == Algo::Reptile {
            c.inner_batch = c.k;
        }
        if let Some(h) = &self.hidden {
            c.hidden = h.0.clone();
        }
        if self.f64 {
            c.precision = Precision::F64;
        }
        c
    }
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
    let config = args.config();
    let mut runner = Runner::new(config.clone())?;
    emit(
        args.json,
        json!({"event": "config", "config": config, "params": runner.learner().params().numel()}),
    );
    let warmup = (config.iters / 10).min(50);
    let mut times = Vec::with_capacity(config.iters);
    let mut window = 0.0;
    let mut window_len = 0;
    let started = Instant::now();
    for it in 1..=config.iters {
        let t0 = Instant::now();
        let loss = runner.step()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        window += loss;
        window_len += 1;
        if it % args.log_every.max(1) == 0 || it == config.iters {
            emit(
                args.json,
                json!({"event": "progress", "iter": it, "meta_loss": window / window_len as f64,
                "elapsed_s": started.elapsed().as_secs_f64()}),
            );
            window = 0.0;
            window_len = 0;
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
