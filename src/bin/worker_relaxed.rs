//! The training web worker with relaxed SIMD in its matrix kernels (`--features
//! relaxed-simd`): what the page starts where `WebAssembly.validate` accepts relaxed SIMD.

#[cfg(all(target_arch = "wasm32", feature = "web"))]
fn main() {
    metaplay::worker::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "web")))]
fn main() {
    eprintln!("the worker runs in the browser: `scripts/serve` builds and serves it");
}
