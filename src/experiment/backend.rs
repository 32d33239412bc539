//! Where a sine experiment trains: candle on the CPU, or the WebGPU backend
//! ([`crate::engine::gpu`]), or `auto`, which takes the GPU only where it gains.

use serde::{Deserialize, Serialize};

use crate::engine::mlp::Precision;
use crate::experiment::config::Config;

/// The requested backend (`backend=auto|cpu|webgpu` in links).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// WebGPU when a hardware adapter exists and the configuration is large enough to gain
    /// ([`auto_wants_gpu`]), otherwise the CPU.
    #[default]
    Auto,
    /// candle on the CPU.
    Cpu,
    /// WebGPU; falls back to the CPU with a notice when it cannot run.
    WebGpu,
}

impl Backend {
    /// Every choice, in menu order.
    pub const ALL: [Backend; 3] = [Backend::Auto, Backend::Cpu, Backend::WebGpu];

    /// The name used in links and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::WebGpu => "webgpu",
        }
    }

    /// Parses a [`Backend::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// Scalars of per-task work per meta-iteration (parameters × tasks × points) from which `auto`
/// takes a hardware GPU. Measured on this project's machines (BENCHMARKS.md, "WebGPU"): the
/// paper setup (1-40-40-1, 25 tasks, 20 points: 0.85 M) is dispatch-bound on any GPU, while
/// 1-256-256-1 × 128 tasks (1.7 G) is where the GPU path is built to win.
pub const AUTO_MIN_WORK: f64 = 5.0e7;

/// Per-iteration work of `c`: network scalars × tasks × (support + query) points.
pub fn work(c: &Config) -> f64 {
    let sizes = c.mlp().sizes().to_vec();
    let params: usize = sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
    params as f64 * c.meta_batch as f64 * (c.k + c.k_query) as f64 * c.inner_steps.max(1) as f64
}

/// Why the GPU cannot run `c` at all (it computes in f32), if it cannot.
pub fn gpu_unsupported(c: &Config) -> Option<String> {
    (c.precision == Precision::F64)
        .then(|| "the WebGPU backend computes in f32; precision=f64 runs on the CPU".to_string())
}

/// `auto`'s choice for `runs` on an adapter that is (or is not) software: the GPU only on
/// hardware and only when the largest run does at least [`AUTO_MIN_WORK`].
pub fn auto_wants_gpu(runs: &[Config], software_adapter: bool) -> bool {
    !software_adapter
        && runs.iter().all(|c| gpu_unsupported(c).is_none())
        && runs.iter().map(work).fold(0.0, f64::max) >= AUTO_MIN_WORK
}
