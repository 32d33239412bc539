//! The playground page (built by Trunk): mounts the Leptos app.

#[cfg(all(target_arch = "wasm32", feature = "web"))]
fn main() {
    metaplay::ui::start();
}

#[cfg(not(all(target_arch = "wasm32", feature = "web")))]
fn main() {
    eprintln!("the playground runs in the browser: `scripts/serve` builds and serves it");
}
