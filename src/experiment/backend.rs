//! Where a sine experiment trains (and a bandit experiment evaluates): candle on the CPU, or the
//! WebGPU backend ([`crate::engine::gpu`]), or `auto`, which takes the GPU only where it gains.

use serde::{Deserialize, Serialize};

use crate::engine::mlp::Precision;
use crate::experiment::config::Config;

/// The requested backend (`backend=auto|cpu|webgpu` in links).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// WebGPU when a hardware adapter exists and, timed on this machine, it is clearly faster
    /// than the CPU for the largest run ([`auto_plan`], [`Trial`]); otherwise the CPU.
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

/// Per-iteration work of `c`: network scalars × tasks × (support + query) points × inner steps
/// (`auto` times the largest run).
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

/// How many times faster than the CPU the GPU must be for `auto` to take it: a margin for timing
/// noise and for the readbacks the page needs.
pub const AUTO_GPU_MARGIN: f64 = 1.2;

/// What `auto` does once it knows the adapter.
#[derive(Clone, Debug, PartialEq)]
pub enum AutoPlan {
    /// Stay on the CPU, for this reason.
    Cpu(String),
    /// Time run `index` (the largest) on both backends and take the faster ([`Trial`]).
    Trial(usize),
}

/// `auto`'s plan for `runs` on an adapter that is (or is not) software. Software adapters
/// (lavapipe, SwiftShader) stay on the CPU without a trial: measured 13–46× slower than candle
/// at every size the playground allows (BENCHMARKS.md, "WebGPU backend").
pub fn auto_plan(runs: &[Config], software_adapter: bool) -> AutoPlan {
    if let Some(why) = runs.iter().find_map(gpu_unsupported) {
        return AutoPlan::Cpu(why);
    }
    if software_adapter {
        return AutoPlan::Cpu("the WebGPU adapter is software, slower than the CPU".into());
    }
    let largest = (0..runs.len())
        .max_by(|&a, &b| work(&runs[a]).total_cmp(&work(&runs[b])))
        .unwrap_or(0);
    AutoPlan::Trial(largest)
}

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
    use crate::engine::meta::Algo;
    use crate::experiment::config::TaskKind;

    #[test]
    fn auto_times_the_largest_run_on_hardware_and_never_takes_software_or_f64() {
        let small = Config::new(TaskKind::Sine, Algo::Maml);
        let mut wide = small.clone();
        wide.hidden = vec![256, 256];
        let runs = vec![small.clone(), wide, small.clone()];
        assert_eq!(auto_plan(&runs, false), AutoPlan::Trial(1));
        assert!(matches!(auto_plan(&runs, true), AutoPlan::Cpu(w) if w.contains("software")));
        let mut f64_run = small;
        f64_run.precision = Precision::F64;
        assert!(matches!(auto_plan(&[f64_run], false), AutoPlan::Cpu(w) if w.contains("f32")));
    }

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
