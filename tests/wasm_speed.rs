//! Speed probe, not an assertion: ms per MAML meta-iteration (paper setup) natively and in wasm
//! (Node). Run by hand: `RAYON_NUM_THREADS=1 cargo test --release --test wasm_speed -- --ignored --nocapture` and
//! `cargo test --release --target wasm32-unknown-unknown --test wasm_speed`.

use metaplay::engine::meta::Algo;
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
    for algo in [Algo::Maml, Algo::Fomaml] {
        let mut r = Runner::new(Config::new(TaskKind::Sine, algo)).unwrap();
        for _ in 0..100 {
            r.step().unwrap();
        }
        let mut means = Vec::new();
        for _ in 0..10 {
            let t0 = now_ms();
            for _ in 0..100 {
                r.step().unwrap();
            }
            means.push((now_ms() - t0) / 100.0);
        }
        means.sort_by(f64::total_cmp);
        let msg = format!(
            "speed {}: {:.3} ms/iter (median of 10x100), min {:.3}",
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
