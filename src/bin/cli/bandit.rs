//! `metaplay bandit`: the classical policies (with optimistic Thompson sampling, the Gittins
//! index and, where it is computable, the Bayes-optimal programme) and, with `--algo`, the
//! meta-learned agent, evaluated on the same bandits; then the agent against its own
//! untrained form as a paired difference.
//!
//! Each policy is evaluated on its own (one `bandit_eval` line and its wall time each), which
//! gives the same figures as the page's table: a policy's pull stream is keyed by its name
//! ([`metaplay::engine::bandit::eval::stream_index`]), not by its place in a list.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use metaplay::experiment::{AgentLearner, BanditRunner};

use metaplay::engine::bandit::{paired_difference, Policy, PolicyReport};
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
                // the meta-objective: the expected reward per pull of the policies the agent
                // played, computed with the true arm means (Σ_a π(a)·μ_a per pull), a
                // Rao–Blackwellised estimate of the reward per pull, not the rewards drawn
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
    let line = |report: &PolicyReport, policy: &Policy, backend: &str| {
        let mut line = json!({"event": "bandit_eval", "policy": report.policy,
            "mean_total_reward": report.mean_total_reward, "stderr": report.stderr,
            "episodes": report.episodes, "setting": config.setting.name(),
            "arms": config.arms, "pulls": config.pulls,
            "final_regret": report.regret_mean.last(), "backend": backend});
        match policy {
            Policy::Gittins(t) => line["discount"] = json!(t.discount()),
            Policy::BayesOptimal(dp) => line["exact_value"] = json!(dp.value()),
            _ => {}
        }
        line
    };
    if let Some((reports, wall)) = gpu {
        for (report, policy) in reports.iter().zip(&policies) {
            emit(args.json, line(report, policy, gpu_backend(policy)));
        }
        emit(
            args.json,
            json!({"event": "eval_timing", "backend": "webgpu", "policies": policies.len(),
            "episodes": config.episodes, "wall_s": wall}),
        );
    } else {
        for policy in &policies {
            let t0 = Instant::now();
            let report = runner
                .evaluate(std::slice::from_ref(policy), config.episodes, 1)
                .remove(0);
            let mut l = line(&report, policy, "cpu");
            l["eval_wall_s"] = json!(t0.elapsed().as_secs_f64());
            emit(args.json, l);
        }
        emit(
            args.json,
            json!({"event": "eval_timing", "backend": "cpu", "policies": policies.len(),
            "episodes": config.episodes, "wall_s": eval_start.elapsed().as_secs_f64()}),
        );
    }
    if args.settings.with_agent() {
        // the same agent with its initial parameters: a fresh runner of the same config
        let untrained = BanditRunner::new(config.clone())?.agent();
        let d = paired_difference(
            &config.family(),
            &runner.agent(),
            &untrained,
            config.episodes,
            config.eval_seed,
        );
        emit(
            args.json,
            json!({"event": "paired", "a": d.a, "b": format!("{} (untrained)", d.b),
            "mean_difference": d.mean, "stderr": d.stderr, "episodes": d.episodes,
            "setting": config.setting.name(), "arms": config.arms, "pulls": config.pulls,
            "z": if d.stderr > 0.0 { d.mean / d.stderr } else { 0.0 }}),
        );
    }
    Ok(())
}

/// Where the GPU evaluation played `policy`: on the device, or routed to the CPU.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn gpu_backend(policy: &Policy) -> &'static str {
    if metaplay::engine::gpu::bandit_eval::on_device(policy) {
        "webgpu"
    } else {
        "cpu"
    }
}

#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
fn gpu_backend(_: &Policy) -> &'static str {
    "cpu"
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
