//! Speed probe, not an assertion: ms per meta-iteration of the MAML paper setup (second order,
//! first order, then second order again once the wasm engine has tiered up) in a dedicated
//! worker of headless Chromium. `scripts/bench-browser` runs it alternately with the native CLI;
//! natively it is ignored unless asked for (`-- --ignored`).

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

use metaplay::engine::meta::Algo;
use metaplay::experiment::AgentAlgo;
use metaplay::experiment::{Config, Runner, TaskKind};

fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys_now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            * 1e3
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn js_sys_now() -> f64;
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    ignore = "speed probe, run by hand with --ignored"
)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn maml_ms_per_iter() {
    time_sine(&[Algo::Maml, Algo::Fomaml, Algo::Maml], 100);
}

/// The model-based learners and the learned optimiser, each with its defaults (the CLI's).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    ignore = "speed probe, run by hand with --ignored"
)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn new_learners_ms_per_iter() {
    time_sine(&[Algo::Cnp, Algo::Hypernet, Algo::MetaSgdMomentum], 100);
}

/// Prints the median and the fastest of 10 means over `per` iterations each, after `per`
/// iterations of warm-up, for every algorithm with its default configuration.
fn time_sine(algos: &[Algo], per: usize) {
    for &algo in algos {
        let mut r = Runner::new(Config::new(TaskKind::Sine, algo)).unwrap();
        for _ in 0..per {
            r.step().unwrap();
        }
        let mut means = Vec::new();
        for _ in 0..10 {
            let t0 = now_ms();
            for _ in 0..per {
                r.step().unwrap();
            }
            means.push((now_ms() - t0) / per as f64);
        }
        means.sort_by(f64::total_cmp);
        let msg = format!(
            "{{\"event\":\"wasm_speed\",\"algo\":\"{}\",\"ms_per_iter_median\":{:.4},\"ms_per_iter_min\":{:.4}}}",
            algo.name(),
            means[5],
            means[0]
        );
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!("{msg}");
        #[cfg(not(target_arch = "wasm32"))]
        println!("{msg}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    ignore = "speed probe, run by hand with --ignored"
)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bandit_ms_per_iter() {
    use metaplay::engine::tasks::BanditSetting;
    use metaplay::experiment::{BanditConfig, BanditRunner};
    let mut r = BanditRunner::new(BanditConfig::new(
        BanditSetting::DependentMedium,
        AgentAlgo::Maml,
    ))
    .unwrap();
    for _ in 0..5 {
        r.step().unwrap();
    }
    let t0 = now_ms();
    for _ in 0..20 {
        r.step().unwrap();
    }
    let ms = (now_ms() - t0) / 20.0;
    let msg = format!(
        "{{\"event\":\"wasm_speed\",\"algo\":\"bandit-maml\",\"ms_per_iter_median\":{ms:.4}}}"
    );
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{msg}");
    #[cfg(not(target_arch = "wasm32"))]
    println!("{msg}");
}

/// RL² on dependent medium at the defaults (16 episodes × 100 pulls, 48 GRU units): ms per
/// actor-critic iteration and episodes per second.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    ignore = "speed probe, run by hand with --ignored"
)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn rl2_ms_per_iter() {
    use metaplay::engine::tasks::BanditSetting;
    use metaplay::experiment::{BanditConfig, BanditRunner};
    let config = BanditConfig::new(BanditSetting::DependentMedium, AgentAlgo::Rl2);
    let episodes = config.meta_batch;
    let mut r = BanditRunner::new(config).unwrap();
    for _ in 0..5 {
        r.step().unwrap();
    }
    let t0 = now_ms();
    for _ in 0..50 {
        r.step().unwrap();
    }
    let ms = (now_ms() - t0) / 50.0;
    let msg = format!(
        "{{\"event\":\"wasm_speed\",\"algo\":\"bandit-rl2\",\"ms_per_iter_median\":{ms:.4},\"episodes_per_s\":{:.0}}}",
        episodes as f64 * 1e3 / ms
    );
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{msg}");
    #[cfg(not(target_arch = "wasm32"))]
    println!("{msg}");
}
