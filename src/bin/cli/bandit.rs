//! `metaplay bandit`: the classical policies and, with `--algo`, the meta-learned agent,
//! evaluated on the same bandits.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use metaplay::experiment::{AgentLearner, BanditRunner};

use metaplay::engine::bandit::{Policy, PolicyReport};
use metaplay::experiment::backend_decision::{BackendDecision, Next, Status, Workload};
use metaplay::experiment::schema::{self, cli::Flags};

use crate::emit;

#[derive(Args)]
pub struct BanditArgs {
    /// Every setting of the experiment, as in links: `--setting`, `--arms`, `--pulls`,
    /// `--episodes`, `--seed`, `--eval-seed`, `--backend`, … The agent is meta-learned and
    /// evaluated only when `--algo` is given; without it, only the classical policies.
    #[command(flatten)]
    settings: Flags<schema::cli::Bandit>,
    /// Progress every this many iterations.
    #[arg(long, default_value_t = 100)]
    log_every: usize,
    /// Print JSON lines.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: &BanditArgs) -> Result<(), metaplay::Error> {
    let config = args.settings.config()?;
    let mut runner = BanditRunner::new(config.clone())?;
    emit(args.json, json!({"event": "config", "config": config}));
    let started = Instant::now();
    if args.settings.with_agent() {
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
        let wall = started.elapsed().as_secs_f64();
        let agent = match runner.learner() {
            AgentLearner::Softmax(l) => {
                let p = l.params();
                json!({"event": "agent", "logits": p.values[0], "baseline": p.values[1][0],
                "inner_lr": p.values[2], "train_wall_s": wall})
            }
            AgentLearner::Rl2(l) => json!({"event": "agent", "kind": "rl2",
                "hidden": l.spec().hidden, "params": l.params().numel(), "train_wall_s": wall,
                "ms_per_iter": wall * 1e3 / config.iters.max(1) as f64,
                "episodes_per_s": (config.iters * config.meta_batch) as f64 / wall.max(1e-9)}),
        };
        emit(args.json, agent);
    }
    let mut policies = runner.baselines();
    if args.settings.with_agent() {
        policies.push(runner.agent());
    }
    let eval_start = Instant::now();
    let (gpu, status) = gpu_evaluation(&runner, &policies);
    emit(
        args.json,
        json!({"event": "backend", "label": status.label(), "notice": status.notice()}),
    );
    if let Some((reports, wall)) = gpu {
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

/// The backend decision for the evaluation, driven as in the page: `webgpu` evaluates on the
/// GPU, `auto` times the CPU on a few hundred episodes against the GPU's evaluation and keeps
/// the faster. Returns the GPU's reports and wall seconds when they are the ones to print.
fn gpu_evaluation(
    runner: &BanditRunner,
    policies: &[Policy],
) -> (Option<(Vec<PolicyReport>, f64)>, Status) {
    let config = runner.config();
    let mut decision = BackendDecision::new(
        config.backend,
        Workload::Evaluation(Box::new(config.clone())),
    );
    let next = decision.start();
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    let next = match next {
        Next::RequestAdapter => {
            use metaplay::experiment::session::{adapter_facts, gpu_error};
            let found = pollster::block_on(metaplay::engine::gpu::GpuContext::new());
            let facts = found.as_ref().map(adapter_facts).map_err(gpu_error);
            match (decision.adapter(facts), found) {
                (Next::EvaluateOnGpu { time_cpu }, Ok(ctx)) => {
                    let cpu_ms = time_cpu.then(|| {
                        let n = 500.min(config.episodes);
                        let t0 = Instant::now();
                        let _ = runner.evaluate(policies, n, 1);
                        t0.elapsed().as_secs_f64() * 1e6 / (n * policies.len()) as f64
                    });
                    let t0 = Instant::now();
                    let result = pollster::block_on(metaplay::engine::gpu::evaluate_gpu(
                        &ctx,
                        &config.family(),
                        policies,
                        config.episodes,
                        config.eval_seed,
                        1,
                    ));
                    let wall = t0.elapsed().as_secs_f64();
                    let next = match cpu_ms {
                        Some(cpu_ms) => decision.timed(metaplay::experiment::Trial {
                            cpu_ms,
                            gpu_ms: result
                                .as_ref()
                                .map(|_| wall * 1e6 / (config.episodes * policies.len()) as f64)
                                .map_err(|e| e.to_string()),
                        }),
                        None => decision.evaluated(result.as_ref().map(|_| ()).map_err(gpu_error)),
                    };
                    if let (Next::Settle { gpu: true, status }, Ok(reports)) = (&next, result) {
                        return (Some((reports, wall)), status.clone());
                    }
                    next
                }
                (next, _) => next,
            }
        }
        next => next,
    };
    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    let next = match (next, policies) {
        (Next::RequestAdapter, _) => decision.adapter(Err(metaplay::error::GpuError::NoAdapter(
            crate::NO_GPU.into(),
        ))),
        (next, _) => next,
    };
    match next {
        Next::Settle { status, .. } => (None, status),
        _ => (
            None,
            decision.failed(metaplay::error::GpuError::NoAdapter("none".into()), None),
        ),
    }
}
