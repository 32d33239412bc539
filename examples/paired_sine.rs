//! Trains the sine runs of a playground link one after another and evaluates them on the same
//! fresh tasks (the CLI's protocol: 1000 tasks, eval seed 1234, 100 query points each), then
//! reports every run against the first as a paired difference of per-task MSE ± its standard
//! error, at each step count.
//!
//! `cargo run --release --example paired_sine -- 'runs=metasgd-momentum,metasgd,maml&inner_steps=5&clip=100&iters=20000' 1,5,10,20`
//!
//! Model-based runs take no steps: their reading of the support set stands for every count.

use metaplay::engine::meta::eval::{adaptation_mse, MseSummary};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::RegressionFamily;
use metaplay::experiment::url::decode;
use metaplay::experiment::Runner;

fn main() {
    let mut args = std::env::args().skip(1);
    let query = args
        .next()
        .expect("a link's query string, e.g. 'runs=maml,metasgd'");
    let steps: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,10".into())
        .split(',')
        .map(|s| s.parse().expect("step counts like 1,5,10"))
        .collect();
    let (experiment, problems) = decode(&query);
    assert!(problems.is_empty(), "{problems:?}");
    let mut per_run = Vec::new();
    for config in experiment.runs {
        let name = config.algo.name();
        let started = std::time::Instant::now();
        let mut runner = Runner::new(config.clone()).expect("valid config");
        for _ in 0..config.iters {
            runner.step().expect("training");
        }
        let train_s = started.elapsed().as_secs_f64();
        let batch = runner
            .family()
            .sample_batch(&mut rng(1234, Stream::Eval), 1000, config.k, 100);
        // a model-based learner's reading (its count 1) stands for every step count
        let counts: Vec<usize> = match config.algo.is_model_based() {
            true => steps.iter().map(|_| 1).collect(),
            false => steps.clone(),
        };
        let mse = adaptation_mse(runner.learner(), &batch, &counts).expect("evaluation");
        let summary: Vec<String> = steps
            .iter()
            .zip(&mse)
            .map(|(s, v)| {
                let m = MseSummary::of(v);
                format!("\"{s}\":[{:.4},{:.4},{}]", m.mean, m.se, m.non_finite)
            })
            .collect();
        println!(
            "{{\"run\":\"{name}\",\"train_s\":{train_s:.1},\"dropped_tasks\":{},\"mse_se_nonfinite\":{{{}}}}}",
            runner.learner().dropped_tasks(),
            summary.join(",")
        );
        per_run.push((name, mse));
    }
    let (first, base) = &per_run[0];
    for (name, mse) in &per_run[1..] {
        for (i, s) in steps.iter().enumerate() {
            let d: Vec<f64> = mse[i].iter().zip(&base[i]).map(|(o, f)| o - f).collect();
            let m = MseSummary::of(&d);
            println!(
                "{{\"paired\":\"{name} − {first}\",\"steps\":{s},\"mean_difference\":{:.4},\"se\":{:.4},\"z\":{:.1}}}",
                m.mean,
                m.se,
                m.mean / m.se
            );
        }
    }
}
