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
        (
            &["train", "--algo", "nope"][..],
            "'nope' is not maml, fomaml",
        ),
        (
            &["train", "--meta-batch", "0", "--iters", "1"][..],
            "--meta-batch <N>': 0 is outside the accepted range 1..=128",
        ),
        (&["train", "--inner-lr=-1", "--iters", "1"][..], "(0, 10]"),
        (&["train", "--hidden", "40,40"][..], "widths like 40x40"),
        (&["train", "--iters", "1000000"][..], "1..=200000"),
        (&["bandit", "--seed=-3"][..], "'-3' is not a whole number"),
        (
            &["train", "--inner-opt", "adamw"][..],
            "'adamw' is not sgd, adam or adam-per-task",
        ),
        (&["train", "--threads", "0"][..], "--threads <THREADS>"),
        (&["train", "--threads", "65"][..], "1..=64"),
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
    assert_eq!(evals.len(), 9, "the classical policies and the two optima");
    // the kernel plays six; OTS, Gittins and the Bayes-optimal programme are routed to the CPU
    for e in &evals {
        let routed = ["ots", "gittins", "bayes-optimal"].contains(&e["policy"].as_str().unwrap());
        assert_eq!(e["backend"], if routed { "cpu" } else { "webgpu" }, "{e}");
    }
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
        msg.contains("--backend") && msg.contains("auto, cpu or webgpu"),
        "{msg}"
    );
}

#[cfg(feature = "gpu")]
#[test]
fn train_on_the_gpu_prints_the_cpu_losses_and_says_where_it_ran() {
    let run = |backend: &str| {
        let out = metaplay(&[
            "train",
            "--iters",
            "60",
            "--log-every",
            "20",
            "--eval-tasks",
            "0",
            "--backend",
            backend,
            "--json",
        ]);
        json_lines(&out)
    };
    let (cpu, gpu) = (run("cpu"), run("webgpu"));
    assert_eq!(cpu[0]["backend"], "CPU (candle)");
    let label = gpu[0]["backend"].as_str().unwrap();
    assert!(label.starts_with("WebGPU ("), "{label}");
    let losses = |e: &[serde_json::Value]| -> Vec<f64> {
        e.iter()
            .filter(|e| e["event"] == "progress")
            .map(|e| e["meta_loss"].as_f64().unwrap())
            .collect()
    };
    let (a, b) = (losses(&cpu), losses(&gpu));
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-4 * x.abs(), "{a:?} vs {b:?}");
    }
    // auto on a software adapter stays on the CPU and says why
    let auto = run("auto");
    let label = auto[0]["backend"].as_str().unwrap();
    assert!(label.starts_with("CPU (candle) · auto:"), "{label}");
}

/// Built without the `gpu` feature, asking for WebGPU is an error that says how to get it.
#[cfg(not(feature = "gpu"))]
#[test]
fn without_the_gpu_feature_webgpu_is_refused_with_the_reason() {
    // train and bandit decide as the page does: the CPU, with a notice that says why
    for args in [
        &[
            "bandit",
            "--backend",
            "webgpu",
            "--episodes",
            "10",
            "--json",
        ][..],
        &[
            "train",
            "--backend",
            "webgpu",
            "--iters",
            "2",
            "--eval-tasks",
            "0",
            "--json",
        ][..],
    ] {
        let lines = json_lines(&metaplay(args));
        let notice = lines
            .iter()
            .find_map(|l| {
                l.get("notice")
                    .or(l.get("backend_notice"))
                    .and_then(|n| n.as_str())
            })
            .unwrap_or_default()
            .to_string();
        assert!(notice.contains("no WebGPU backend"), "{args:?}: {lines:?}");
    }
    // the bench compares backends: it refuses one it does not have
    let args = [
        "bench",
        "--backends",
        "webgpu",
        "--hidden",
        "4",
        "--meta-batch",
        "1",
    ];
    let out = metaplay(&args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no WebGPU backend") && err.contains("`gpu` feature"),
        "{args:?}: {err}"
    );
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
