//! The web worker that trains: owns a [`Session`], receives [`Command`]s, and posts one batch of
//! [`Event`]s per ~50 ms chunk, yielding to the event loop between chunks so commands (Pause)
//! get through (a microtask yield would starve them: measured with Trunk 0.22 and Leptos 0.8). The yield is a message to
//! itself on a `MessageChannel`: a task like `setTimeout(0)`, without its 4 ms clamp.
//!
//! On the WebGPU backend a chunk submits a batch of iterations and awaits their readback
//! asynchronously; commands that arrive meanwhile wait for it (at most one chunk, ~100 ms), so
//! they always apply to a settled session.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent, MessagePort};

use std::collections::HashMap;

use crate::engine::gpu::GpuContext;
use crate::error::GpuError;
use crate::experiment::backend::Trial;
use crate::experiment::protocol::{Command, Event};
use crate::experiment::session::Session;

mod backend;
use backend::{bandit_gpu_evaluation, choose_backend};

/// Milliseconds of training per chunk.
const CHUNK_MS: f64 = 50.0;

/// What is known of this browser's WebGPU adapter (asked for once, when a run first wants it).
enum Gpu {
    /// Not asked for yet, or being asked for (commands wait meanwhile).
    Unknown,
    /// An adapter and device.
    Ready(GpuContext),
    /// None, and why.
    Unavailable(GpuError),
}

struct State {
    session: Session,
    scope: DedicatedWorkerGlobalScope,
    /// A chunk is scheduled (its tick is posted).
    scheduled: bool,
    /// A GPU chunk or the adapter request is in flight: commands queue in `waiting`.
    busy: bool,
    waiting: Vec<Command>,
    gpu: Gpu,
    /// `auto`'s timings, by configuration (a trial runs once per configuration and adapter).
    trials: HashMap<String, Trial>,
    /// Where [`schedule`] posts the tick that runs the next chunk; a message, not
    /// `setTimeout(0)`, which browsers clamp to 4 ms once nested (8% of a 50 ms chunk).
    tick: MessagePort,
    /// The other end of `tick`'s channel, whose handler runs the chunk (kept alive here).
    _tock: MessagePort,
}

type Shared = Rc<RefCell<State>>;

fn post(scope: &DedicatedWorkerGlobalScope, events: &[Event]) {
    if events.is_empty() {
        return;
    }
    match serde_wasm_bindgen::to_value(events) {
        Ok(v) => {
            let _ = scope.post_message(&v);
        }
        Err(e) => web_sys::console::error_1(&format!("worker: cannot encode events: {e}").into()),
    }
}

fn post_shared(state: &Shared, events: &[Event]) {
    let scope = state.borrow().scope.clone();
    post(&scope, events);
}

fn schedule(state: &Shared) {
    {
        let s = state.borrow();
        if s.busy {
            return;
        }
        if s.session.bandit().is_some_and(|b| b.eval_due()) {
            drop(s);
            return bandit_gpu_evaluation(state);
        }
        if !s.session.playing() || s.scheduled {
            return;
        }
    }
    state.borrow_mut().scheduled = true;
    let _ = state.borrow().tick.post_message(&JsValue::NULL);
}

/// One CPU chunk (or the start of a GPU one), run when the tick posted by [`schedule`] arrives.
fn on_tick(state: &Shared) {
    let on_gpu = {
        let mut s = state.borrow_mut();
        s.scheduled = false;
        if !s.session.playing() || s.busy {
            return;
        }
        s.session.on_gpu()
    };
    if on_gpu {
        gpu_chunk(state, usize::MAX, false);
        return;
    }
    let events = {
        let mut s = state.borrow_mut();
        let mut events = s.session.chunk(CHUNK_MS, usize::MAX, &js_sys::Date::now);
        events.push(Event::Memory {
            bytes: memory_bytes(),
        });
        events
    };
    post_shared(state, &events);
    schedule(state);
}

/// One GPU chunk: submits up to `max_iters` iterations per run, awaits the readbacks, posts the
/// events, then runs the commands that came in meanwhile. `single` marks a Step.
fn gpu_chunk(state: &Shared, max_iters: usize, single: bool) {
    let start = js_sys::Date::now();
    let pending = {
        let mut s = state.borrow_mut();
        s.busy = true;
        s.session
            .sine_mut()
            .map(|x| x.gpu_submit(max_iters))
            .unwrap_or_default()
    };
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let mut results = Vec::with_capacity(pending.len());
        for (i, p) in pending {
            results.push((i, p.wait().await));
        }
        let events = {
            let mut s = state.borrow_mut();
            let elapsed = js_sys::Date::now() - start;
            let mut events = s
                .session
                .sine_mut()
                .map(|x| x.gpu_apply(results, elapsed))
                .unwrap_or_default();
            if single {
                events.extend(s.session.flush_logs());
            }
            events.push(Event::Memory {
                bytes: memory_bytes(),
            });
            events
        };
        post_shared(&state, &events);
        settle(&state);
    });
}

/// Starts a busy phase (commands queue until [`settle`]) and shows `label` meanwhile.
fn begin_busy(state: &Shared, label: String) {
    state.borrow_mut().busy = true;
    post_shared(
        state,
        &[Event::Backend {
            label,
            notice: None,
        }],
    );
}

/// Ends a busy phase: runs the queued commands in order (which may start another busy phase, or
/// mark a bandit evaluation due), then schedules training or that evaluation.
fn settle(state: &Shared) {
    state.borrow_mut().busy = false;
    loop {
        let next = {
            let mut s = state.borrow_mut();
            // a due GPU evaluation goes first (schedule starts it; its settle takes the rest)
            let due = s.session.bandit().is_some_and(|b| b.eval_due());
            if s.busy || due || s.waiting.is_empty() {
                break;
            }
            s.waiting.remove(0)
        };
        run_command(state, next);
    }
    schedule(state);
}

/// Applies one command (the session is settled: nothing is in flight).
fn run_command(state: &Shared, command: Command) {
    let configure = matches!(
        command,
        Command::Configure { .. }
            | Command::ConfigureShard { .. }
            | Command::ConfigureBandit { .. }
    );
    if matches!(command, Command::Step) && state.borrow().session.on_gpu() {
        let events = state.borrow_mut().session.handle(Command::Pause);
        post_shared(state, &events);
        gpu_chunk(state, 1, true);
        return;
    }
    let events = state.borrow_mut().session.handle(command);
    post_shared(state, &events);
    // a refused configuration leaves the previous runs as they were
    let refused = events.iter().any(|e| matches!(e, Event::Error { .. }));
    if configure && !refused {
        choose_backend(state);
    }
}

/// Size of this worker's wasm linear memory.
fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let Ok(channel) = MessageChannel::new() else {
        post(
            &scope,
            &[Event::Error {
                message: "worker: cannot create a MessageChannel".into(),
            }],
        );
        return;
    };
    let state = Rc::new(RefCell::new(State {
        session: Session::new(),
        scope: scope.clone(),
        scheduled: false,
        busy: false,
        waiting: Vec::new(),
        gpu: Gpu::Unknown,
        trials: HashMap::new(),
        tick: channel.port2(),
        _tock: channel.port1(),
    }));
    let ticker = {
        let state = state.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| on_tick(&state))
    };
    channel
        .port1()
        .set_onmessage(Some(ticker.as_ref().unchecked_ref()));
    ticker.forget();
    let handler = {
        let state = state.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |msg: MessageEvent| {
            match serde_wasm_bindgen::from_value::<Command>(msg.data()) {
                Ok(command) => {
                    if state.borrow().busy {
                        state.borrow_mut().waiting.push(command);
                        return;
                    }
                    run_command(&state, command);
                }
                Err(e) => post_shared(
                    &state,
                    &[Event::Error {
                        message: format!("worker: unreadable command: {e}"),
                    }],
                ),
            }
            schedule(&state);
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&scope, &[Event::Ready]);
}
