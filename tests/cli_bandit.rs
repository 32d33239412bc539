//! `metaplay bandit` prints the figures of the page's protocol: the CLI evaluates each policy
//! on its own, the page the classical policies in one list and the agent alone; both must give
//! every policy the same report, and the `paired` line must be the library's paired difference.

use std::process::Command;

/// Equal up to the last digit JSON keeps (serde_json's default float parser may be one ulp
/// off the printed value).
fn same(json: &serde_json::Value, x: f64) -> bool {
    json.as_f64()
        .is_some_and(|v| (v - x).abs() <= 1e-12 * x.abs().max(1.0))
}

use metaplay::engine::bandit::paired_difference;

use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::{AgentAlgo, BanditConfig, BanditRunner};

#[test]
fn the_cli_prints_the_pages_figures_and_the_paired_difference() {
    let out = Command::new(env!("CARGO_BIN_EXE_metaplay"))
        .args([
            "bandit",
            "--setting",
            "skewed",
            "--algo",
            "maml",
            "--iters",
            "20",
            "--episodes",
            "400",
            "--backend",
            "cpu",
            "--json",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();

    // the page: the same config, trained as far, evaluated as the session does
    let mut c = BanditConfig::new(BanditSetting::Skewed, AgentAlgo::Maml);
    c.iters = 20;
    c.episodes = 400;
    c.backend = metaplay::experiment::Backend::Cpu;
    let mut runner = BanditRunner::new(c.clone()).unwrap();
    for _ in 0..20 {
        runner.step().unwrap();
    }
    let mut page = runner.evaluate(&runner.baselines(), c.episodes, 100);
    page.extend(runner.evaluate(&[runner.agent()], c.episodes, 100));

    let evals: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "bandit_eval")
        .collect();
    assert_eq!(evals.len(), page.len());
    for (cli, p) in evals.iter().zip(&page) {
        assert_eq!(cli["policy"], p.policy.as_str());
        assert!(
            same(&cli["mean_total_reward"], p.mean_total_reward),
            "{cli} {p:?}"
        );
        assert!(same(&cli["stderr"], p.stderr), "{cli} {p:?}");
    }
    let untrained = BanditRunner::new(c.clone()).unwrap().agent();
    let d = paired_difference(
        &c.family(),
        &runner.agent(),
        &untrained,
        c.episodes,
        c.eval_seed,
    );
    let paired = lines
        .iter()
        .find(|l| l["event"] == "paired")
        .expect("a paired line");
    assert_eq!(paired["a"], "agent-maml");
    assert_eq!(paired["b"], "agent-maml (untrained)");
    assert!(same(&paired["mean_difference"], d.mean), "{paired} {d:?}");
    assert!(same(&paired["stderr"], d.stderr), "{paired} {d:?}");
}
