//! The GPU bandit evaluation with the policies and families its kernel does not know: the
//! others are routed to the CPU protocol in their place, non-Bernoulli families are refused
//! as unsupported (the callers then fall back to the CPU with a notice).
#![cfg(all(feature = "gpu", not(target_arch = "wasm32")))]

use metaplay::engine::bandit::{evaluate, Policy};
use metaplay::engine::gpu::bandit_eval::on_device;
use metaplay::engine::gpu::{evaluate_gpu, GpuContext};
use metaplay::engine::tasks::BanditSetting;
use metaplay::error::{Error, GpuError};
use metaplay::experiment::AgentAlgo;
use metaplay::experiment::{BanditConfig, BanditRunner};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new())
        .expect("a WebGPU adapter (natively: Vulkan; install mesa-vulkan-drivers for lavapipe)")
}

#[test]
fn policies_the_kernel_lacks_run_on_the_cpu_in_their_place() {
    let ctx = context();
    let c = BanditConfig::new(BanditSetting::DependentMedium, AgentAlgo::Maml);
    let runner = BanditRunner::new(c.clone()).unwrap();
    let mut policies = runner.baselines();
    policies.push(runner.agent());
    let routed: Vec<&str> = policies
        .iter()
        .filter(|p| !on_device(p))
        .map(|p| match p {
            Policy::Baseline(b) => b.name(),
            Policy::Gittins(_) => "gittins",
            Policy::BayesOptimal(_) => "bayes-optimal",
            Policy::Agent(..) => "agent",
            Policy::Recurrent(..) => "rl2",
        })
        .collect();
    assert_eq!(routed, ["ots", "gittins", "bayes-optimal"]);
    // the RL² agent's GRU is not in the kernel either
    let rl2 = BanditRunner::new(BanditConfig::new(
        BanditSetting::DependentMedium,
        AgentAlgo::Rl2,
    ))
    .unwrap()
    .agent();
    assert!(!on_device(&rl2));
    let family = c.family();
    let gpu = pollster::block_on(evaluate_gpu(&ctx, &family, &policies, 2000, 3, 10)).unwrap();
    let cpu = evaluate(&family, &policies, 2000, 3, 10);
    assert_eq!(gpu.len(), policies.len());
    for ((g, c), p) in gpu.iter().zip(&cpu).zip(&policies) {
        assert_eq!(g.policy, p.name(), "in the order asked");
        if on_device(p) {
            let z = (g.mean_total_reward - c.mean_total_reward) / g.stderr.hypot(c.stderr);
            assert!(z.abs() <= 4.0, "{}: z = {z:.2}", p.name());
        } else {
            assert_eq!(g, c, "{} is the CPU's report", p.name());
        }
    }
}

#[test]
fn non_bernoulli_families_are_refused_as_unsupported_and_skewed_priors_run() {
    let ctx = context();
    let c = BanditConfig::new(BanditSetting::Informative, AgentAlgo::Maml);
    let runner = BanditRunner::new(c.clone()).unwrap();
    let r = pollster::block_on(evaluate_gpu(
        &ctx,
        &c.family(),
        &runner.baselines(),
        100,
        1,
        5,
    ));
    match r {
        Err(Error::Gpu(GpuError::Unsupported(why))) => {
            assert!(why.contains("informative"), "{why}")
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    // skewed priors are Bernoulli arms drawn on the host: the kernel plays them
    let c = BanditConfig::new(BanditSetting::Skewed, AgentAlgo::Maml);
    let runner = BanditRunner::new(c.clone()).unwrap();
    let gpu = pollster::block_on(evaluate_gpu(
        &ctx,
        &c.family(),
        &runner.baselines(),
        500,
        1,
        5,
    ))
    .unwrap();
    assert_eq!(gpu.len(), runner.baselines().len());
}
