//! The training web worker (built by Trunk with `data-type="worker"`), twice: as `worker`,
//! and with `--features relaxed-simd` as `worker_relaxed` (the same file; Cargo.toml), which
//! the page starts where the browser validates relaxed SIMD (`ui::worker_build`).

#[cfg(all(target_arch = "wasm32", feature = "web"))]
fn main() {
    metaplay::worker::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "web")))]
fn main() {
    eprintln!("the worker runs in the browser: `scripts/serve` builds and serves it");
}
