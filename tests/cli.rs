//! The `metaplay` command line: JSON lines out, exit code 2 on invalid flags.

use std::process::Command;

fn metaplay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_metaplay"))
        .args(args)
        .output()
        .expect("runs")
}

/// Every stdout line of a successful run as JSON.
fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn train_prints_progress_timing_and_eval_as_json_lines() {
    let out = metaplay(&[
        "train",
        "--iters",
        "200",
        "--seed",
        "1",
        "--eval-tasks",
        "50",
        "--eval-steps",
        "1,5",
        "--json",
    ]);
    let events = json_lines(&out);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["config", "progress", "progress", "timing", "eval"]);
    assert_eq!(events[2]["iter"], 200);
    assert!(events[3]["ms_per_iter_median"].as_f64().unwrap() > 0.0);
    let eval = &events[4];
    let (pre, one) = (
        eval["pre_mse"].as_f64().unwrap(),
        eval["post_mse_1"].as_f64().unwrap(),
    );
    assert!(
        one < pre && eval["post_mse_5"].as_f64().unwrap().is_finite(),
        "{eval}"
    );
}

#[test]
fn invalid_flags_exit_with_code_2_and_a_clear_message() {
    for (args, needle) in [
        (&["train", "--algo", "nope"][..], "unknown algorithm 'nope'"),
        (
            &["train", "--meta-batch", "0", "--iters", "1"][..],
            "meta_batch",
        ),
        (&["train", "--inner-lr=-1", "--iters", "1"][..], "inner_lr"),
        (&["train", "--hidden", "40,x"][..], "layer width"),
        (&["train", "--iters", "1000000"][..], "iters"),
        (
            &["train", "--inner-optimizer", "adamw"][..],
            "accepted: sgd, adam, adam-per-task",
        ),
    ] {
        let out = metaplay(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[cfg(feature = "gpu")]
#[test]
fn bandit_evaluates_on_the_gpu_with_the_same_lines_and_refuses_unknown_backends() {
    let out = metaplay(&[
        "bandit",
        "--setting",
        "dependent-medium",
        "--episodes",
        "500",
        "--backend",
        "webgpu",
        "--json",
    ]);
    let events = json_lines(&out);
    let evals: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "bandit_eval")
        .collect();
    assert_eq!(evals.len(), 6, "the six classical policies");
    assert!(evals.iter().all(|e| e["backend"] == "webgpu"));
    let random = evals.iter().find(|e| e["policy"] == "random").unwrap();
    // dependent arms: μ₁ + μ₂ = 1, so random earns 50 of 100 pulls on average
    let (m, se) = (
        random["mean_total_reward"].as_f64().unwrap(),
        random["stderr"].as_f64().unwrap(),
    );
    assert!((m - 50.0).abs() <= 4.0 * se, "{m} ± {se}");
    assert!(events.iter().any(|e| e["event"] == "eval_timing"));

    let bad = metaplay(&["bandit", "--backend", "tpu"]);
    assert_eq!(bad.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        msg.contains("--backend") && msg.contains("cpu, webgpu"),
        "{msg}"
    );
}

/// Built without the `gpu` feature, asking for WebGPU is an error that says how to get it.
#[cfg(not(feature = "gpu"))]
#[test]
fn without_the_gpu_feature_webgpu_is_refused_with_the_reason() {
    for args in [
        &["bandit", "--backend", "webgpu", "--episodes", "10"][..],
        &[
            "bench",
            "--backends",
            "webgpu",
            "--hidden",
            "4",
            "--meta-batch",
            "1",
        ][..],
    ] {
        let out = metaplay(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no WebGPU backend") && err.contains("`gpu` feature"),
            "{args:?}: {err}"
        );
    }
    // the CPU half of the bench still runs
    let out = metaplay(&[
        "bench",
        "--backends",
        "cpu",
        "--hidden",
        "4",
        "--meta-batch",
        "1",
        "--iters",
        "2",
        "--json",
    ]);
    let lines = json_lines(&out);
    assert!(lines[0]["cpu_ms"].as_f64().unwrap() > 0.0, "{lines:?}");
}
