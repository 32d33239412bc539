//! Where a sine experiment trains (and a bandit experiment evaluates): candle on the CPU, or the
//! WebGPU backend ([`crate::engine::gpu`]), or `auto`, which takes the GPU only where it gains.

use serde::{Deserialize, Serialize};

/// The requested backend (`backend=auto|cpu|webgpu` in links).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// WebGPU when a hardware adapter exists and, timed on this machine, it is clearly faster
    /// than the CPU for the largest run ([`crate::experiment::backend_decision`]); otherwise the CPU.
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

/// How many times faster than the CPU the GPU must be for `auto` to take it: a margin for timing
/// noise and for the readbacks the page needs.
pub const AUTO_GPU_MARGIN: f64 = 1.2;

/// One configuration timed on both backends by `auto`, ms per meta-iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// On the CPU.
    pub cpu_ms: f64,
    /// On the GPU, or why it failed.
    pub gpu_ms: Result<f64, String>,
}

impl Trial {
    /// True when the GPU ran and was at least [`AUTO_GPU_MARGIN`] times faster.
    pub fn gpu_wins(&self) -> bool {
        matches!(self.gpu_ms, Ok(g) if g.is_finite() && g * AUTO_GPU_MARGIN < self.cpu_ms)
    }

    /// For the status bar, e.g. `CPU 0.41 ms/it, WebGPU 18.20 ms/it`.
    pub fn summary(&self) -> String {
        self.summary_in("ms/it")
    }

    /// The same with the timings' `unit` (bandit evaluations: `ms/1000 episodes`).
    pub fn summary_in(&self, unit: &str) -> String {
        match &self.gpu_ms {
            Ok(g) => format!("CPU {:.2} {unit}, WebGPU {g:.2} {unit}", self.cpu_ms),
            Err(e) => format!("CPU {:.2} {unit}, WebGPU failed ({e})", self.cpu_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gpu_must_be_clearly_faster() {
        let t = |cpu_ms, gpu_ms| Trial { cpu_ms, gpu_ms };
        assert!(t(10.0, Ok(1.0)).gpu_wins());
        assert!(
            !t(10.0, Ok(9.0)).gpu_wins(),
            "within the margin: stay on the CPU"
        );
        assert!(!t(0.4, Ok(18.0)).gpu_wins());
        assert!(!t(10.0, Ok(f64::NAN)).gpu_wins());
        assert!(!t(10.0, Err("device lost".into())).gpu_wins());
        assert_eq!(
            t(0.414, Ok(18.2)).summary(),
            "CPU 0.41 ms/it, WebGPU 18.20 ms/it"
        );
    }
}
