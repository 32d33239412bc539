//! The web worker that trains: owns a [`Session`], receives [`Command`]s, and posts one batch of
//! [`Event`]s per ~50 ms chunk, yielding with `setTimeout(0)` between chunks so commands (Pause)
//! get through (toolchain.md: a microtask yield would starve them).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::experiment::protocol::{Command, Event};
use crate::experiment::session::Session;

/// Milliseconds of training per chunk.
const CHUNK_MS: f64 = 50.0;

struct State {
    session: Session,
    scheduled: bool,
    scope: DedicatedWorkerGlobalScope,
}

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

fn schedule(state: &Rc<RefCell<State>>) {
    {
        let s = state.borrow();
        if !s.session.playing() || s.scheduled {
            return;
        }
    }
    state.borrow_mut().scheduled = true;
    let next = state.clone();
    let callback = Closure::once_into_js(move || {
        let events = {
            let mut s = next.borrow_mut();
            s.scheduled = false;
            if !s.session.playing() {
                return;
            }
            let mut events = s.session.chunk(CHUNK_MS, usize::MAX, &js_sys::Date::now);
            events.push(Event::Memory {
                bytes: memory_bytes(),
            });
            events
        };
        post(&next.borrow().scope, &events);
        schedule(&next);
    });
    let scope = state.borrow().scope.clone();
    let _ =
        scope.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), 0);
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
    let state = Rc::new(RefCell::new(State {
        session: Session::new(),
        scheduled: false,
        scope: scope.clone(),
    }));
    let handler = {
        let state = state.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |msg: MessageEvent| {
            let events = match serde_wasm_bindgen::from_value::<Command>(msg.data()) {
                Ok(command) => state.borrow_mut().session.handle(command),
                Err(e) => vec![Event::Error {
                    message: format!("worker: unreadable command: {e}"),
                }],
            };
            post(&state.borrow().scope, &events);
            schedule(&state);
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&scope, &[Event::Ready]);
}
