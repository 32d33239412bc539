//! The playground page (built by Trunk): mounts the Leptos app.

#[cfg(target_arch = "wasm32")]
fn main() {
    metaplay::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the playground runs in the browser: `scripts/serve` builds and serves it");
}
