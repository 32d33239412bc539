//! The WebGPU backend: meta-training on the GPU with wgpu (WebGPU in the browser, Vulkan
//! natively), beside candle, which stays the CPU engine and the reference.
//!
//! candle-core 0.11 has no WebGPU backend, and GPU tensor libraries with one (burn, cubecl)
//! differentiate only once, so this backend writes the maths out: [`mlp_program`] records the
//! MLP's forward pass, backward pass and Hessian-vector product (Pearlmutter's R-operator) as
//! dispatches of a dozen small WGSL kernels, `meta` chains them, one file per algorithm, into
//! exact second-order MAML (reverse mode through every inner step, as
//! [`crate::engine::meta::maml::meta_gradient`]), first-order MAML, Meta-SGD, Reptile and
//! joint pre-training, with Adam or SGD on the device, and [`learner::GpuLearner`] replays
//! that program every iteration and reads the results back.

pub mod bandit_eval;
pub mod context;
pub mod learner;
pub(crate) mod meta;
pub mod mlp_program;
pub mod program;
pub mod shader;

pub use bandit_eval::evaluate_gpu;
pub use context::{GpuContext, GpuInfo};
pub use learner::{GpuLearner, PendingReadback, Readback, LOSS_RING};
