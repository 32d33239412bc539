//! The same seed gives the same meta-losses at iterations 1–3 natively and in wasm: both
//! compare against one fixture (`tests/fixtures/early_losses.json`, written natively with
//! `UPDATE_FIXTURES=1 cargo test --test wasm_parity`). Runs natively under `cargo test` and in
//! wasm under `wasm-bindgen-test` in Node; `wasm_browser.rs` runs it in headless Chromium.

#[path = "common/parity.rs"]
mod parity;

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn early_meta_losses_match_the_native_fixture() {
    parity::check_early_losses();
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn the_batched_product_kernel_matches_candle() {
    parity::check_tiled_products();
}
