//! The engine in the browser (headless Chromium through wasm-bindgen-test-runner and
//! chromedriver): the parity checks of `wasm_parity.rs` (early meta-losses, the SIMD product
//! kernel), and a training session whose loss falls.
#![cfg(target_arch = "wasm32")]

use metaplay::engine::meta::Algo;
use metaplay::experiment::protocol::{Command, Event};
use metaplay::experiment::session::Session;
use metaplay::experiment::{Config, TaskKind};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[path = "common/parity.rs"]
mod parity;

#[wasm_bindgen_test]
fn early_meta_losses_match_the_native_fixture_in_the_browser() {
    parity::check_early_losses();
}

#[wasm_bindgen_test]
fn the_batched_product_kernel_matches_candle_in_the_browser() {
    parity::check_tiled_products();
}

#[wasm_bindgen_test]
fn maml_meta_loss_falls_in_the_browser() {
    let mut config = Config::new(TaskKind::Sine, Algo::Maml);
    config.iters = 300;
    let mut session = Session::new();
    session.handle(Command::Configure { runs: vec![config] });
    session.handle(Command::Play);
    let mut losses = Vec::new();
    while session.playing() {
        for event in session.chunk(f64::INFINITY, 50, &|| 0.0) {
            if let Event::Progress { losses: l, .. } = event {
                losses.extend(l[0].iter().map(|p| p.1));
            }
        }
    }
    // one logged point per 10 iterations
    assert_eq!(losses.len(), 30);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (first, last) = (mean(&losses[..5]), mean(&losses[25..]));
    assert!(last < 0.8 * first, "meta-loss should fall: {losses:?}");
}
