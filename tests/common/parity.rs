//! Shared by the native, Node and browser parity tests: the meta-losses of iterations 1–3 for
//! several algorithms, against the natively written fixture.

use metaplay::engine::meta::Algo;
use metaplay::experiment::{Config, Runner, TaskKind};

const FIXTURE: &str = include_str!("../fixtures/early_losses.json");
const CASES: [(TaskKind, Algo); 5] = [
    (TaskKind::Sine, Algo::Maml),
    (TaskKind::Sine, Algo::Fomaml),
    (TaskKind::Sine, Algo::MetaSgd),
    (TaskKind::SineReptile, Algo::Reptile),
    (TaskKind::Sine, Algo::Pretrain),
];

fn early_losses() -> Vec<(String, Vec<f64>)> {
    CASES
        .iter()
        .map(|&(task, algo)| {
            let mut r = Runner::new(Config::new(task, algo)).expect("valid default config");
            let losses = (0..3).map(|_| r.step().expect("finite loss")).collect();
            (format!("{}/{}", task.name(), algo.name()), losses)
        })
        .collect()
}

/// Checks (or, natively with `UPDATE_FIXTURES` set, rewrites) the fixture.
pub fn check_early_losses() {
    let got = early_losses();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        let map: serde_json::Map<String, serde_json::Value> = got
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/early_losses.json"
        );
        std::fs::write(path, serde_json::to_string_pretty(&map).unwrap() + "\n").unwrap();
        return;
    }
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    for (key, losses) in got {
        let want = fixture[&key]
            .as_array()
            .unwrap_or_else(|| panic!("fixture lacks {key}"));
        assert_eq!(want.len(), 3);
        for (i, (g, w)) in losses.iter().zip(want).enumerate() {
            let w = w.as_f64().unwrap();
            let rel = (g - w).abs() / w.abs();
            assert!(
                rel <= 1e-5,
                "{key} iteration {}: got {g}, fixture {w}, relative difference {rel:e}",
                i + 1
            );
        }
    }
}
