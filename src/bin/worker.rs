//! The training web worker (built by Trunk with `data-type="worker"`).

#[cfg(all(target_arch = "wasm32", feature = "web"))]
fn main() {
    metaplay::worker::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "web")))]
fn main() {
    eprintln!("the worker runs in the browser: `scripts/serve` builds and serves it");
}
