//! The backend decision as a pure state machine: every path from a request to a settled
//! placement, the typed GPU errors, and the status bar's text, without a GPU.

use metaplay::engine::meta::Algo;
use metaplay::engine::mlp::Precision;
use metaplay::error::GpuError;
use metaplay::experiment::backend::{Backend, Trial};
use metaplay::experiment::backend_decision::{
    AdapterFacts, BackendDecision, Next, Reason, Workload, CPU_LABEL,
};
use metaplay::experiment::{BanditConfig, Config, TaskKind};

fn training(backend: Backend, runs: Vec<Config>) -> BackendDecision {
    BackendDecision::new(backend, Workload::Training(runs))
}

fn two_runs() -> Vec<Config> {
    let small = Config::new(TaskKind::Sine, Algo::Maml);
    let mut wide = small.clone();
    wide.hidden = vec![256, 256];
    vec![small, wide]
}

fn hardware() -> AdapterFacts {
    AdapterFacts {
        label: "WebGPU (Some GPU, discrete)".into(),
        software: false,
    }
}

fn software() -> AdapterFacts {
    AdapterFacts {
        label: "WebGPU (SwiftShader Device, software)".into(),
        software: true,
    }
}

fn settled(next: Next) -> (bool, String, Option<String>) {
    match next {
        Next::Settle { gpu, status } => (gpu, status.label(), status.notice()),
        other => panic!("not settled: {other:?}"),
    }
}

#[test]
fn cpu_never_asks_for_an_adapter() {
    let d = training(Backend::Cpu, two_runs());
    assert_eq!(settled(d.start()), (false, CPU_LABEL.to_string(), None));
}

#[test]
fn webgpu_takes_any_adapter_and_falls_back_with_a_notice() {
    let mut d = training(Backend::WebGpu, two_runs());
    assert_eq!(d.start(), Next::RequestAdapter);
    let (gpu, label, notice) = settled(d.adapter(Ok(software())));
    assert!(gpu && label.starts_with("WebGPU (SwiftShader") && notice.is_none());

    let mut d = training(Backend::WebGpu, two_runs());
    d.start();
    let (gpu, label, notice) = settled(d.adapter(Err(GpuError::NoAdapter("none".into()))));
    assert!(!gpu && label == CPU_LABEL);
    assert_eq!(
        notice.as_deref(),
        Some("WebGPU is not available here (none); training on the CPU instead.")
    );
}

#[test]
fn auto_times_the_largest_run_on_hardware_and_keeps_the_faster() {
    let mut d = training(Backend::Auto, two_runs());
    assert_eq!(d.start(), Next::RequestAdapter);
    assert_eq!(d.adapter(Ok(hardware())), Next::TimeRun(1), "the wide run");
    let trial = |gpu_ms| Trial {
        cpu_ms: 10.0,
        gpu_ms: Ok(gpu_ms),
    };
    let (gpu, label, notice) = settled(d.timed(trial(1.0)));
    assert!(gpu && notice.is_none());
    assert_eq!(
        label,
        "WebGPU (Some GPU, discrete) · auto: CPU 10.00 ms/it, WebGPU 1.00 ms/it"
    );
    let (gpu, label, _) = settled(d.timed(trial(9.0)));
    assert!(!gpu, "within the margin: the CPU");
    assert_eq!(
        label,
        "CPU (candle) · auto: CPU 10.00 ms/it, WebGPU 9.00 ms/it"
    );
    let failed = Trial {
        cpu_ms: 10.0,
        gpu_ms: Err("device lost".into()),
    };
    assert!(!settled(d.timed(failed)).0);
}

#[test]
fn auto_stays_on_the_cpu_without_asking_or_timing_when_it_cannot_gain() {
    // software adapter: no trial
    let mut d = training(Backend::Auto, two_runs());
    d.start();
    let (gpu, label, notice) = settled(d.adapter(Ok(software())));
    assert!(!gpu && label.contains("auto") && label.contains("software") && notice.is_none());
    // no adapter: the label says so, silently
    let mut d = training(Backend::Auto, two_runs());
    d.start();
    let (gpu, label, notice) = settled(d.adapter(Err(GpuError::NoAdapter("none".into()))));
    assert_eq!(
        (gpu, label.as_str(), notice),
        (false, "CPU (candle) · auto: no WebGPU here", None)
    );
    // f64: decided before any adapter request
    let mut runs = two_runs();
    runs[0].precision = Precision::F64;
    let (gpu, label, notice) = settled(training(Backend::Auto, runs.clone()).start());
    assert!(!gpu && label.contains("f32") && notice.is_none());
    // … and with webgpu asked for, the notice says why
    let (_, _, notice) = settled(training(Backend::WebGpu, runs).start());
    assert!(notice.is_some_and(|n| n.contains("f32")));
}

#[test]
fn only_a_lost_device_or_a_failed_request_falls_back_silently() {
    for (error, silent) in [
        (GpuError::NoAdapter("refused".into()), true),
        (GpuError::DeviceLost("destroyed".into()), true),
        (GpuError::TooLarge("buffer of 9 GB".into()), false),
        (GpuError::Unsupported("f64".into()), false),
    ] {
        assert_eq!(error.falls_back_silently(), silent, "{error}");
        let auto = training(Backend::Auto, two_runs()).failed(error.clone(), None);
        assert_eq!(auto.notice().is_none(), silent, "auto, {error}");
        assert!(matches!(auto.reason, Reason::FellBack(_)));
        assert_eq!(auto.label(), CPU_LABEL);
        let asked = training(Backend::WebGpu, two_runs()).failed(error.clone(), Some(40));
        let notice = asked.notice().expect("webgpu asked for: always a notice");
        assert!(notice.contains("from iteration 40"), "{notice}");
    }
}

#[test]
fn bandit_evaluations_run_on_the_gpu_first_and_auto_compares_per_episode() {
    let config = Box::new(BanditConfig::default());
    let mut d = BackendDecision::new(Backend::Auto, Workload::Evaluation(config.clone()));
    assert_eq!(d.start(), Next::RequestAdapter);
    assert_eq!(
        d.adapter(Ok(software())),
        Next::EvaluateOnGpu { time_cpu: true },
        "bandits time even a software adapter: its evaluation is the real one"
    );
    let (gpu, label, _) = settled(d.timed(Trial {
        cpu_ms: 30.0,
        gpu_ms: Ok(10.0),
    }));
    assert!(gpu);
    assert!(
        label.starts_with("evaluation on WebGPU (SwiftShader"),
        "{label}"
    );
    assert!(label.ends_with("WebGPU 10.00 ms/1000 episodes"), "{label}");

    let mut d = BackendDecision::new(Backend::WebGpu, Workload::Evaluation(config));
    d.start();
    assert_eq!(
        d.adapter(Ok(hardware())),
        Next::EvaluateOnGpu { time_cpu: false }
    );
    let (gpu, _, notice) = settled(d.evaluated(Err(GpuError::TooLarge("episodes".into()))));
    assert!(!gpu);
    assert!(notice.is_some_and(|n| n.contains("the bandit evaluation runs on the CPU")));
}
