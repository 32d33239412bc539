//! Shared by the native, Node and browser parity tests: the meta-losses of iterations 1–3 for
//! several algorithms, against the natively written fixture.

use metaplay::engine::meta::Algo;
use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::{AgentAlgo, BanditConfig, BanditRunner, Config, Runner, TaskKind};

const FIXTURE: &str = include_str!("../fixtures/early_losses.json");
const CASES: [(TaskKind, Algo); 8] = [
    (TaskKind::Sine, Algo::Maml),
    (TaskKind::Sine, Algo::Fomaml),
    (TaskKind::Sine, Algo::MetaSgd),
    (TaskKind::SineReptile, Algo::Reptile),
    (TaskKind::Sine, Algo::Pretrain),
    (TaskKind::Sine, Algo::MetaSgdMomentum),
    (TaskKind::Sine, Algo::Cnp),
    (TaskKind::Sine, Algo::Hypernet),
];

fn early_losses() -> Vec<(String, Vec<f64>)> {
    let mut all: Vec<(String, Vec<f64>)> = CASES
        .iter()
        .map(|&(task, algo)| {
            let mut r = Runner::new(Config::new(task, algo)).expect("valid default config");
            let losses = (0..3).map(|_| r.step().expect("finite loss")).collect();
            (format!("{}/{}", task.name(), algo.name()), losses)
        })
        .collect();
    // bandit agents: the expected reward per pull of iterations 1–3 (RL²: rollouts sampled
    // through the GRU, then actor-critic updates)
    for (setting, algo) in [
        (BanditSetting::DependentMedium, AgentAlgo::Rl2),
        (BanditSetting::Independent, AgentAlgo::Rl2),
        (BanditSetting::DependentMedium, AgentAlgo::Maml),
    ] {
        let mut r = BanditRunner::new(BanditConfig::new(setting, algo)).expect("valid");
        let rewards = (0..3).map(|_| r.step().expect("finite")).collect();
        all.push((
            format!("bandit-{}/{}", setting.name(), algo.name()),
            rewards,
        ));
    }
    all
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

/// The batched product kernel (wasm SIMD tiles in wasm, portable loops natively) against
/// candle's matmul: full and partial tiles, the last columns, transposed and sliced operands.
pub fn check_tiled_products() {
    use candle_core::{Device, Tensor};
    use metaplay::engine::batched_matmul::tiled;
    let dev = Device::Cpu;
    let mut seed = 1u32;
    let mut fill = |dims: (usize, usize, usize)| {
        let count = dims.0 * dims.1 * dims.2;
        let v: Vec<f32> = (0..count)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        Tensor::from_vec(v, dims, &dev).unwrap()
    };
    for (t, m, k, n) in [
        (25, 10, 40, 40),
        (25, 40, 10, 40),
        (25, 1, 10, 40),
        (25, 10, 1, 40),
        (25, 40, 10, 1),
        (25, 10, 40, 1),
        (3, 7, 5, 13),
        (2, 9, 6, 17),
    ] {
        let a = fill((t, m, k));
        let b = fill((t, k, n));
        let a_t = fill((t, k, m)).transpose(1, 2).unwrap();
        let b_sliced = fill((t, k, n + 3)).narrow(2, 1, n).unwrap();
        for (x, y) in [(&a, &b), (&a_t, &b), (&a, &b_sliced), (&a_t, &b_sliced)] {
            let want = x
                .matmul(y)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let got = tiled(x, y)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{t}x{m}x{k}x{n}: {g} vs {w}"
                );
            }
        }
    }
}
