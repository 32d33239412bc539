//! The meta-learning engine: pure Rust on candle-core, native and wasm alike, no web imports.

pub mod bandit;
pub mod batched_matmul;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod meta;
pub mod mlp;
pub mod optim;
pub mod parallel;
pub mod params;
pub mod relu_slope;
pub mod rng;
#[cfg(not(target_arch = "wasm32"))]
pub mod spin_pool;
pub mod tasks;
