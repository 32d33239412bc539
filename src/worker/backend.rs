//! The worker's side of the backend decision ([`crate::experiment::backend_decision`]): it
//! carries out the steps the decision asks for (adapter request, timing, a first GPU
//! evaluation), awaiting them while commands queue, and hands the results back.

use wasm_bindgen_futures::spawn_local;

use super::{begin_busy, post_shared, settle, Gpu, Shared};
use crate::engine::gpu::GpuContext;
use crate::error::GpuError;
use crate::experiment::backend_decision::{BackendDecision, Next};
use crate::experiment::config::Config;
use crate::experiment::session::{adapter_facts, auto_trial, gpu_error, Session};

/// After a Configure: asks the session's backend decision where the work runs and carries out
/// its steps ([`advance`]).
pub(super) fn choose_backend(state: &Shared) {
    let decision = match &state.borrow().session {
        Session::Sine(s) => s.backend_decision(),
        Session::Bandit(b) => b.backend_decision(),
        Session::Idle => return,
    };
    let next = decision.start();
    advance(state, decision, next);
}

/// The adapter as far as it is known (`None`: not asked for yet, or lost since).
fn known_adapter(state: &Shared) -> Option<Result<GpuContext, GpuError>> {
    match &state.borrow().gpu {
        Gpu::Ready(ctx) if ctx.lost().is_none() => Some(Ok(ctx.clone())),
        Gpu::Unavailable(e) => Some(Err(e.clone())),
        _ => None,
    }
}

/// Does what the decision asks next: the asynchronous steps (adapter request, timing, a GPU
/// evaluation) hold the commands back until they are done ([`begin_busy`], [`settle`]).
fn advance(state: &Shared, mut decision: BackendDecision, next: Next) {
    let ctx = || match known_adapter(state) {
        Some(Ok(ctx)) => Some(ctx),
        _ => None,
    };
    match next {
        Next::RequestAdapter => match known_adapter(state) {
            Some(found) => {
                let next =
                    decision.adapter(found.as_ref().map(adapter_facts).map_err(Clone::clone));
                advance(state, decision, next)
            }
            None => request_adapter(state, decision),
        },
        Next::TimeRun(i) => {
            let config = match &state.borrow().session {
                Session::Sine(s) => s.run_config(i),
                _ => None,
            };
            let (Some(ctx), Some(config)) = (ctx(), config) else {
                return;
            };
            let cached = state.borrow().trials.get(&trial_key(&config)).cloned();
            match cached {
                Some(trial) => {
                    let next = decision.timed(trial);
                    advance(state, decision, next)
                }
                None => run_trial(state, ctx, config, decision),
            }
        }
        Next::EvaluateOnGpu { time_cpu } => {
            if let Some(ctx) = ctx() {
                bandit_gpu_setup(state, ctx, decision, time_cpu)
            }
        }
        Next::Settle { gpu, status } => {
            let ctx = ctx();
            let events = match &mut state.borrow_mut().session {
                Session::Sine(s) => s.place(gpu, status, ctx.as_ref()),
                Session::Bandit(b) => b.place_on_cpu(&status),
                Session::Idle => vec![],
            };
            post_shared(state, &events);
        }
    }
}

/// Runs the first bandit evaluation on the GPU (timing the CPU first for `auto`) and hands
/// the outcome to the decision; commands wait meanwhile.
fn bandit_gpu_setup(state: &Shared, ctx: GpuContext, decision: BackendDecision, time_cpu: bool) {
    let prepared = state.borrow().session.bandit().map(|b| {
        let cpu = time_cpu.then(|| b.cpu_ms_per_1000_episodes(js_sys::Date::now));
        (b.gpu_setup(), cpu)
    });
    let Some((setup, cpu)) = prepared else {
        return;
    };
    begin_busy(state, format!("evaluating on {}…", ctx.info.label()));
    let state = state.clone();
    spawn_local(async move {
        let (result, gpu_ms) = setup
            .run_timed(&ctx, cpu.is_some(), js_sys::Date::now)
            .await;
        let events = match state.borrow_mut().session.bandit_mut() {
            Some(b) => b.settle_gpu(&decision, &ctx, &setup, result, gpu_ms, cpu),
            None => vec![],
        };
        post_shared(&state, &events);
        settle(&state);
    });
}

/// Runs the agent's due re-evaluation on the GPU; training and commands wait for it.
pub(super) fn bandit_gpu_evaluation(state: &Shared) {
    let Some((job, ctx)) = state.borrow().session.bandit().and_then(|b| b.gpu_due()) else {
        return;
    };
    state.borrow_mut().busy = true;
    let state = state.clone();
    spawn_local(async move {
        let result = job.run(&ctx).await;
        let events = match state.borrow_mut().session.bandit_mut() {
            Some(b) => b.apply_gpu_evaluation(result),
            None => vec![],
        };
        post_shared(&state, &events);
        settle(&state);
    });
}

/// Requests the WebGPU adapter and device (once per worker, again after a device loss), then
/// goes on with the decision; commands wait meanwhile.
fn request_adapter(state: &Shared, decision: BackendDecision) {
    begin_busy(state, "looking for a WebGPU adapter…".into());
    state.borrow_mut().gpu = Gpu::Unknown;
    let state = state.clone();
    spawn_local(async move {
        let found = GpuContext::new().await.map_err(|e| gpu_error(&e));
        state.borrow_mut().gpu = match &found {
            Ok(ctx) => Gpu::Ready(ctx.clone()),
            Err(e) => Gpu::Unavailable(e.clone()),
        };
        state.borrow_mut().busy = false;
        let mut decision = decision;
        let next = decision.adapter(found.as_ref().map(adapter_facts).map_err(Clone::clone));
        advance(&state, decision, next);
        if !state.borrow().busy {
            settle(&state);
        }
    });
}

/// What a trial depends on: the configuration without its seed and iteration count.
fn trial_key(config: &Config) -> String {
    let mut c = config.clone();
    c.seed = 0;
    c.iters = 1;
    serde_json::to_string(&c).unwrap_or_default()
}

/// `auto` on a hardware adapter: times `config` on the CPU and on the GPU (a few iterations of
/// a throwaway copy each), then goes on with the decision; commands wait meanwhile.
fn run_trial(state: &Shared, ctx: GpuContext, config: Config, decision: BackendDecision) {
    begin_busy(
        state,
        format!("auto: timing the CPU and {}…", ctx.info.label()),
    );
    let state = state.clone();
    spawn_local(async move {
        let trial = auto_trial(&ctx, &config, js_sys::Date::now).await;
        state
            .borrow_mut()
            .trials
            .insert(trial_key(&config), trial.clone());
        let next = decision.timed(trial);
        advance(&state, decision, next);
        settle(&state);
    });
}
