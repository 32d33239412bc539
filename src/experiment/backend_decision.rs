//! Where an experiment's work runs, decided by one pure state machine (no I/O): the worker,
//! the CLI and the tests ask [`BackendDecision`] what to do next ([`Next`]: ask for an
//! adapter, time a run, evaluate on the GPU, or settle), do it, and feed the result back. The
//! status bar's text comes from one formatter, [`Status::label`] and [`Status::notice`].
//!
//! Rules: `cpu` never touches the GPU. `webgpu` takes the adapter whenever there is one.
//! `auto` takes it only on a hardware adapter, for f32 work, after timing both backends on the
//! largest run (or, for bandits, the first evaluation) and finding the GPU at least
//! [`AUTO_GPU_MARGIN`](crate::experiment::backend::AUTO_GPU_MARGIN) times faster: software adapters were measured 13–46× slower than candle
//! at every size the playground allows (BENCHMARKS.md, "WebGPU backend").

use crate::error::GpuError;
use crate::experiment::backend::{Backend, Trial};
use crate::experiment::config::Config;
use crate::experiment::BanditConfig;

/// The status-bar label of the CPU backend.
pub const CPU_LABEL: &str = "CPU (candle)";

/// What the decision is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// Sine runs: where they train.
    Training(Vec<Config>),
    /// A bandit experiment: where its evaluation episodes run (the agent trains on the CPU).
    Evaluation(Box<BanditConfig>),
}

/// What the adapter is, as far as the decision cares.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterFacts {
    /// The label the status bar shows, e.g. `WebGPU (SwiftShader Device, software)`.
    pub label: String,
    /// A software rasteriser (lavapipe, SwiftShader).
    pub software: bool,
}

/// The next thing to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Ask for the WebGPU adapter, then call [`BackendDecision::adapter`].
    RequestAdapter,
    /// `auto` on sine runs: time run `index` on both backends (throwaway copies), then call
    /// [`BackendDecision::timed`].
    TimeRun(usize),
    /// Bandits: run the first evaluation on the GPU (with `time_cpu`, time the CPU on a few
    /// hundred episodes first), then call [`BackendDecision::timed`] (`auto`) or
    /// [`BackendDecision::evaluated`].
    EvaluateOnGpu {
        /// Time the CPU too (`auto`).
        time_cpu: bool,
    },
    /// Decided: move the work to the GPU (`gpu`) or keep it on the CPU, and show `status`.
    Settle {
        /// On the GPU.
        gpu: bool,
        /// What the status bar says.
        status: Status,
    },
}

/// Why the work runs where it does.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// Asked for (`cpu`, or `webgpu` with an adapter).
    Asked,
    /// `auto`: no adapter here.
    NoAdapter,
    /// `auto`: the adapter is software.
    Software,
    /// `auto`: the configuration needs what the GPU backend lacks (f64).
    Unsupported(String),
    /// `auto`: the timings decided.
    Timed(Trial),
    /// The GPU failed; the work runs (or goes on) on the CPU.
    FellBack(GpuError),
}

/// Where the work runs and why: formats the status bar's label and the notice.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// What was asked for.
    pub requested: Backend,
    /// The adapter's label when the work runs on the GPU.
    pub gpu: Option<String>,
    /// Why.
    pub reason: Reason,
    /// Bandit evaluation (`true`) or sine training.
    pub evaluation: bool,
    /// After a failure while training: the iteration the CPU goes on from.
    pub resumed_at: Option<usize>,
}

impl Status {
    fn unit(&self) -> &'static str {
        if self.evaluation {
            "ms/1000 episodes"
        } else {
            "ms/it"
        }
    }

    /// The status bar's label, e.g. `CPU (candle) · auto: the WebGPU adapter is software…`.
    pub fn label(&self) -> String {
        let auto = |why: String| format!("{CPU_LABEL} · auto: {why}");
        match (&self.gpu, &self.reason) {
            (Some(adapter), reason) => {
                let prefix = if self.evaluation {
                    "evaluation on "
                } else {
                    ""
                };
                let suffix = match reason {
                    Reason::Timed(t) => format!(" · auto: {}", t.summary_in(self.unit())),
                    _ => String::new(),
                };
                format!("{prefix}{adapter}{suffix}")
            }
            (None, Reason::NoAdapter) => auto("no WebGPU here".into()),
            (None, Reason::Software) => {
                auto("the WebGPU adapter is software, slower than the CPU".into())
            }
            (None, Reason::Unsupported(why)) => auto(why.clone()),
            (None, Reason::Timed(t)) => auto(t.summary_in(self.unit())),
            (None, Reason::Asked | Reason::FellBack(_)) => CPU_LABEL.to_string(),
        }
    }

    /// The notice shown beside the status bar: when WebGPU was asked for and the work runs on
    /// the CPU, or when the GPU failed for a reason the user can change (too large,
    /// unsupported). `auto` without an adapter, or after a lost device, says it in the label.
    pub fn notice(&self) -> Option<String> {
        let Reason::FellBack(e) = &self.reason else {
            return None;
        };
        if self.requested != Backend::WebGpu && e.falls_back_silently() {
            return None;
        }
        if let Some(at) = self.resumed_at {
            return Some(format!(
                "{e}. Training goes on on the CPU from iteration {at} (the optimiser's moments start afresh)."
            ));
        }
        let what = if self.evaluation {
            "the bandit evaluation runs on the CPU instead"
        } else {
            "training on the CPU instead"
        };
        Some(match e {
            GpuError::NoAdapter(why) => format!("WebGPU is not available here ({why}); {what}."),
            other => format!("{other}; {what}."),
        })
    }
}

/// The state machine.
#[derive(Clone, Debug)]
pub struct BackendDecision {
    requested: Backend,
    workload: Workload,
    adapter: Option<AdapterFacts>,
}

impl BackendDecision {
    /// A decision for `workload` with `requested`.
    pub fn new(requested: Backend, workload: Workload) -> Self {
        Self {
            requested,
            workload,
            adapter: None,
        }
    }

    fn evaluation(&self) -> bool {
        matches!(self.workload, Workload::Evaluation(_))
    }

    fn status(&self, gpu: bool, reason: Reason) -> Status {
        Status {
            requested: self.requested,
            gpu: gpu.then(|| {
                self.adapter
                    .as_ref()
                    .map(|a| a.label.clone())
                    .unwrap_or_default()
            }),
            reason,
            evaluation: self.evaluation(),
            resumed_at: None,
        }
    }

    fn settle(&self, gpu: bool, reason: Reason) -> Next {
        Next::Settle {
            gpu,
            status: self.status(gpu, reason),
        }
    }

    /// Why the GPU cannot run this workload at all, if it cannot.
    fn unsupported(&self) -> Option<String> {
        match &self.workload {
            Workload::Training(runs) => runs.iter().find_map(gpu_unsupported),
            Workload::Evaluation(bandit) => bandit.algo.is_rl2().then(|| {
                "the RL² agent's GRU runs on the CPU; its evaluation does too".to_string()
            }),
        }
    }

    /// The first step.
    pub fn start(&self) -> Next {
        if self.requested == Backend::Cpu {
            return self.settle(false, Reason::Asked);
        }
        if let Some(why) = self.unsupported() {
            return match self.requested {
                Backend::Auto => self.settle(false, Reason::Unsupported(why)),
                _ => self.settle(false, Reason::FellBack(GpuError::Unsupported(why))),
            };
        }
        Next::RequestAdapter
    }

    /// The adapter request's outcome.
    pub fn adapter(&mut self, found: Result<AdapterFacts, GpuError>) -> Next {
        let facts = match found {
            Ok(f) => f,
            Err(e) => {
                return match self.requested {
                    Backend::Auto => self.settle(false, Reason::NoAdapter),
                    _ => self.settle(false, Reason::FellBack(e)),
                }
            }
        };
        let software = facts.software;
        self.adapter = Some(facts);
        let auto = self.requested == Backend::Auto;
        match &self.workload {
            Workload::Evaluation(_) => Next::EvaluateOnGpu { time_cpu: auto },
            Workload::Training(_) if !auto => self.settle(true, Reason::Asked),
            Workload::Training(_) if software => self.settle(false, Reason::Software),
            Workload::Training(runs) => Next::TimeRun(largest(runs)),
        }
    }

    /// `auto`'s timings ([`Next::TimeRun`], or the bandit evaluation's).
    pub fn timed(&self, trial: Trial) -> Next {
        let gpu = trial.gpu_wins();
        self.settle(gpu, Reason::Timed(trial))
    }

    /// `webgpu` on bandits: the first GPU evaluation's outcome.
    pub fn evaluated(&self, result: Result<(), GpuError>) -> Next {
        match result {
            Ok(()) => self.settle(true, Reason::Asked),
            Err(e) => self.settle(false, Reason::FellBack(e)),
        }
    }

    /// The GPU failed while working: the work goes on on the CPU (training from iteration
    /// `resumed_at`).
    pub fn failed(&self, error: GpuError, resumed_at: Option<usize>) -> Status {
        Status {
            resumed_at,
            ..self.status(false, Reason::FellBack(error))
        }
    }
}

/// Per-iteration work of `c`: network scalars × tasks × (support + query) points × inner steps.
pub fn work(c: &Config) -> f64 {
    let sizes = c.mlp().sizes().to_vec();
    let params: usize = sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
    params as f64 * c.meta_batch as f64 * (c.k + c.k_query) as f64 * c.inner_steps.max(1) as f64
}

/// The run `auto` times: the one with the most work per iteration.
pub fn largest(runs: &[Config]) -> usize {
    (0..runs.len())
        .max_by(|&a, &b| work(&runs[a]).total_cmp(&work(&runs[b])))
        .unwrap_or(0)
}

/// Why the GPU cannot run `c` at all (it computes in f32 and has kernels for the MLP learners
/// only), if it cannot.
pub fn gpu_unsupported(c: &Config) -> Option<String> {
    if !c.algo.has_gpu_kernels() {
        return Some(format!(
            "the WebGPU backend has kernels for MAML, Reptile, Meta-SGD and the baselines; {} trains on the CPU",
            c.algo.name()
        ));
    }
    if c.clip > 0.0 {
        return Some(
            "the WebGPU backend does not clip meta-gradients; a run with clip > 0 trains on the CPU"
                .to_string(),
        );
    }
    (c.precision == crate::engine::mlp::Precision::F64)
        .then(|| "the WebGPU backend computes in f32; precision=f64 runs on the CPU".to_string())
}
