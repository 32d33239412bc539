//! `metaplay bandit`: the classical policies and, with `--algo`, the meta-learned agent,
//! evaluated on the same bandits.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use metaplay::engine::meta::Algo;
use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::{BanditConfig, BanditRunner};

use crate::{emit, parse_algo};

#[derive(Args)]
pub struct BanditArgs {
    /// independent | dependent-easy | dependent-medium | dependent-hard | dependent-uniform.
    #[arg(long, default_value = "independent", value_parser = parse_setting)]
    setting: BanditSetting,
    /// Arms k (dependent settings: 2).
    #[arg(long)]
    arms: Option<usize>,
    /// Pulls per episode n.
    #[arg(long)]
    pulls: Option<usize>,
    /// Evaluation episodes per policy.
    #[arg(long, default_value_t = 10_000)]
    episodes: usize,
    /// Seed of the evaluation bandits and of the agent's training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Meta-learn the softmax agent with: maml | fomaml | reptile | metasgd | scratch.
    #[arg(long, value_parser = parse_algo)]
    algo: Option<Algo>,
    /// Meta-iterations.
    #[arg(long)]
    iters: Option<usize>,
    /// Episodes per meta-iteration.
    #[arg(long)]
    meta_batch: Option<usize>,
    /// The agent adapts every this many pulls.
    #[arg(long)]
    adapt_every: Option<usize>,
    /// Inner policy-gradient step size α.
    #[arg(long)]
    inner_lr: Option<f64>,
    /// Outer learning rate.
    #[arg(long)]
    meta_lr: Option<f64>,
    /// ε of ε-greedy.
    #[arg(long)]
    epsilon: Option<f64>,
    /// Progress every this many iterations.
    #[arg(long, default_value_t = 100)]
    log_every: usize,
    /// Where the evaluation runs: `cpu` (candle's engine, one policy after another) or `webgpu`
    /// (every episode of every policy in one GPU dispatch; natively Vulkan).
    #[arg(long, default_value = "cpu", value_parser = parse_eval_backend)]
    backend: String,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

fn parse_eval_backend(s: &str) -> Result<String, String> {
    match s {
        "cpu" | "webgpu" => Ok(s.to_string()),
        _ => Err(format!("unknown backend '{s}' (accepted: cpu, webgpu)")),
    }
}

fn parse_setting(s: &str) -> Result<BanditSetting, String> {
    let names: Vec<_> = BanditSetting::ALL.iter().map(|v| v.name()).collect();
    BanditSetting::parse(s)
        .ok_or_else(|| format!("unknown setting '{s}' (accepted: {})", names.join(", ")))
}

impl BanditArgs {
    fn config(&self) -> BanditConfig {
        let mut c = BanditConfig::new(self.setting, self.algo.unwrap_or(Algo::Scratch));
        c.seed = self.seed;
        c.eval_seed = self.seed;
        c.episodes = self.episodes;
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(arms, pulls, iters, meta_batch, inner_lr, meta_lr, epsilon);
        c.adapt_every = self
            .adapt_every
            .unwrap_or_else(|| BanditConfig::default_adapt_every(c.pulls));
        c
    }
}

/// Runs the command.
pub fn run(args: &BanditArgs) -> Result<(), metaplay::Error> {
    let config = args.config();
    let mut runner = BanditRunner::new(config.clone())?;
    emit(args.json, json!({"event": "config", "config": config}));
    let started = Instant::now();
    if args.algo.is_some() {
        let mut window = (0.0, 0usize);
        for it in 1..=config.iters {
            window.0 += runner.step()?;
            window.1 += 1;
            if it % args.log_every.max(1) == 0 || it == config.iters {
                emit(
                    args.json,
                    json!({"event": "progress", "iter": it,
                    "meta_reward_per_pull": window.0 / window.1 as f64,
                    "elapsed_s": started.elapsed().as_secs_f64()}),
                );
                window = (0.0, 0);
            }
        }
        let p = runner.learner().params();
        emit(
            args.json,
            json!({"event": "agent", "logits": p.values[0], "baseline": p.values[1][0],
            "inner_lr": p.values[2], "train_wall_s": started.elapsed().as_secs_f64()}),
        );
    }
    let mut policies = runner.baselines();
    if args.algo.is_some() {
        policies.push(runner.agent());
    }
    let eval_start = Instant::now();
    if args.backend == "webgpu" {
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        {
            let ctx = pollster::block_on(metaplay::engine::gpu::GpuContext::new())?;
            emit(args.json, json!({"event": "adapter", "info": ctx.info}));
            let t0 = Instant::now();
            let reports = pollster::block_on(metaplay::engine::gpu::evaluate_gpu(
                &ctx,
                &config.family(),
                &policies,
                config.episodes,
                config.eval_seed,
                1,
            ))?;
            let wall = t0.elapsed().as_secs_f64();
            for report in reports {
                emit(
                    args.json,
                    json!({"event": "bandit_eval", "policy": report.policy,
                    "mean_total_reward": report.mean_total_reward, "stderr": report.stderr,
                    "episodes": report.episodes, "setting": config.setting.name(),
                    "arms": config.arms, "pulls": config.pulls,
                    "final_regret": report.regret_mean.last(), "backend": "webgpu"}),
                );
            }
            emit(
                args.json,
                json!({"event": "eval_timing", "backend": "webgpu", "policies": policies.len(),
                "episodes": config.episodes, "wall_s": wall}),
            );
            return Ok(());
        }
        #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
        metaplay::bail!("{}", crate::NO_GPU);
    }
    let count = policies.len();
    for policy in policies {
        let t0 = Instant::now();
        let report = runner
            .evaluate(std::slice::from_ref(&policy), config.episodes, 1)
            .remove(0);
        emit(
            args.json,
            json!({"event": "bandit_eval", "policy": report.policy,
            "mean_total_reward": report.mean_total_reward, "stderr": report.stderr,
            "episodes": report.episodes, "setting": config.setting.name(), "arms": config.arms,
            "pulls": config.pulls, "final_regret": report.regret_mean.last(),
            "eval_wall_s": t0.elapsed().as_secs_f64(), "backend": "cpu"}),
        );
    }
    emit(
        args.json,
        json!({"event": "eval_timing", "backend": "cpu", "policies": count,
        "episodes": config.episodes, "wall_s": eval_start.elapsed().as_secs_f64()}),
    );
    Ok(())
}
