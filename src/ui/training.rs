//! What the training workers report, as signals, and the workers themselves: the page starts
//! them once, provides the [`Training`] handle as context, and applies every [`Event`] they
//! send here; components take the handle with `expect_context::<Training>()`, read its
//! signals and [`Training::send`] commands. The runs of a comparison are spread over the
//! workers by a [`WorkerPool`], which also merges what they answer into the events of one
//! experiment.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::engine::meta::gradient_check::GradientCheck;
use crate::experiment::backend_decision::CPU_LABEL;
use crate::experiment::play::PlayReplay;
use crate::experiment::protocol::{BanditEvaluation, Command, Event, FitCurves, MAX_RUNS};
use crate::experiment::worker_pool::WorkerPool;

/// The training state shown by the page, and the worker (all `Copy` handles).
#[derive(Clone, Copy)]
pub struct Training {
    /// The error banner's message.
    pub error: RwSignal<Option<String>>,
    /// A run stopped (divergence): why.
    pub notice: RwSignal<Option<String>>,
    /// Where the runs train (status bar).
    pub backend_label: RwSignal<String>,
    /// WebGPU was asked for and the CPU took over: why.
    pub backend_notice: RwSignal<Option<String>>,
    /// The worker's wasm is up and listens.
    pub ready: RwSignal<bool>,
    /// Training is going on.
    pub playing: RwSignal<bool>,
    /// Meta-iterations done, per run.
    pub iters: RwSignal<Vec<usize>>,
    /// Logged meta-losses per run.
    pub losses: RwSignal<Vec<Vec<(usize, f64)>>>,
    /// Validation MSE after adaptation per run.
    pub validation: RwSignal<Vec<Vec<(usize, f64)>>>,
    /// Meta-iterations per second (all runs).
    pub rate: RwSignal<f64>,
    /// Milliseconds per meta-iteration.
    pub ms_per_iter: RwSignal<f64>,
    /// Training time shown in the status bar.
    pub elapsed_ms: RwSignal<f64>,
    /// When the last progress event came (to add up `elapsed_ms`).
    last_progress: StoredValue<Option<f64>>,
    /// The worker's wasm memory.
    pub worker_memory: RwSignal<f64>,
    /// A parameter import succeeded: what was loaded.
    pub imported: RwSignal<Option<String>>,
    /// The fit chart's grid and curves per run.
    pub fit: RwSignal<(Vec<f64>, Vec<FitCurves>)>,
    /// The latest bandit evaluation.
    pub bandit_eval: RwSignal<Option<BanditEvaluation>>,
    /// The latest replay of the policies on the student's bandit ("play it yourself").
    pub play_replay: RwSignal<Option<PlayReplay>>,
    /// The latest gradient check: the run and what was measured.
    pub gradient_check: RwSignal<Option<(usize, GradientCheck)>>,
    /// Workers training the current experiment (the status bar says when more than one).
    pub busy_workers: RwSignal<usize>,
    /// The workers are the relaxed-SIMD build ([`crate::ui::worker_build`]; status bar).
    pub relaxed_simd: RwSignal<bool>,
    /// The training workers, once started.
    workers: StoredValue<Vec<Worker>, LocalStorage>,
    /// Which runs each worker trains, and the merging of their events.
    pool: StoredValue<WorkerPool>,
}

impl Training {
    /// Empty state: nothing trained, the worker not ready.
    pub fn new() -> Self {
        Self {
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            backend_label: RwSignal::new(CPU_LABEL.to_string()),
            backend_notice: RwSignal::new(None),
            ready: RwSignal::new(false),
            playing: RwSignal::new(false),
            iters: RwSignal::new(Vec::new()),
            losses: RwSignal::new(Vec::new()),
            validation: RwSignal::new(Vec::new()),
            rate: RwSignal::new(0.0),
            ms_per_iter: RwSignal::new(0.0),
            elapsed_ms: RwSignal::new(0.0),
            last_progress: StoredValue::new(None),
            worker_memory: RwSignal::new(0.0),
            imported: RwSignal::new(None),
            fit: RwSignal::new((Vec::new(), Vec::new())),
            bandit_eval: RwSignal::new(None),
            play_replay: RwSignal::new(None),
            gradient_check: RwSignal::new(None),
            busy_workers: RwSignal::new(1),
            relaxed_simd: RwSignal::new(false),
            workers: StoredValue::new_local(Vec::new()),
            pool: StoredValue::new(WorkerPool::new(1)),
        }
    }

    /// Sends `command` to the workers that need it (nothing when they did not start: the
    /// banner says why).
    pub fn send(&self, command: &Command) {
        let routed = self
            .pool
            .try_update_value(|p| (p.route(command.clone()), p.busy_workers()));
        if let Some((routed, busy)) = routed {
            self.busy_workers.set(busy);
            self.post(routed);
        }
    }

    fn post(&self, routed: Vec<(usize, Command)>) {
        self.workers.with_value(|workers| {
            for (w, command) in routed {
                if let (Some(w), Ok(v)) = (workers.get(w), serde_wasm_bindgen::to_value(&command)) {
                    let _ = w.post_message(&v);
                }
            }
        });
    }

    /// Takes in an event of worker `w` (through the pool, which may answer with commands).
    fn receive(&self, w: usize, event: Event) {
        if let Some((events, commands)) = self.pool.try_update_value(|p| p.take(w, event)) {
            events.into_iter().for_each(|e| self.apply(e));
            self.post(commands);
        }
    }

    /// Forgets the previous experiment's progress and notices (before a new `Configure`).
    pub fn clear_run(&self) {
        self.losses.set(Vec::new());
        self.validation.set(Vec::new());
        self.iters.set(Vec::new());
        self.elapsed_ms.set(0.0);
        self.rate.set(0.0);
        self.ms_per_iter.set(0.0);
        self.notice.set(None);
        self.backend_notice.set(None);
        self.imported.set(None);
        self.gradient_check.set(None);
        self.last_progress.set_value(None);
    }

    /// Takes one event from the worker in.
    pub fn apply(&self, event: Event) {
        let Training {
            error,
            notice,
            backend_label,
            backend_notice,
            ready,
            playing,
            iters,
            losses,
            validation,
            rate,
            ms_per_iter,
            elapsed_ms,
            last_progress,
            worker_memory,
            imported,
            fit,
            bandit_eval,
            play_replay,
            gradient_check,
            busy_workers: _,
            relaxed_simd: _,
            workers: _,
            pool: _,
        } = *self;
        match event {
            Event::Ready => ready.set(true),
            Event::Progress {
                iters: it,
                losses: l,
                validation: v,
                iters_per_sec,
                ms_per_iter: ms,
                playing: p,
            } => {
                let now = js_sys::Date::now();
                if playing.get_untracked() {
                    if let Some(t) = last_progress.get_value() {
                        elapsed_ms.update(|e| *e += now - t);
                    }
                }
                last_progress.set_value(Some(now));
                iters.set(it);
                if !l.is_empty() {
                    losses.update(|h| {
                        h.resize(l.len(), Vec::new());
                        h.iter_mut().zip(l).for_each(|(h, l)| h.extend(l));
                    });
                }
                if !v.is_empty() {
                    validation.update(|h| {
                        h.resize(v.len(), Vec::new());
                        h.iter_mut().zip(v).for_each(|(h, v)| h.extend(v));
                    });
                }
                if iters_per_sec > 0.0 {
                    rate.set(iters_per_sec);
                    ms_per_iter.set(ms);
                }
                playing.set(p);
            }
            Event::Fit { grid, runs } => fit.set((grid, runs)),
            Event::BanditEval(b) => bandit_eval.set(Some(b)),
            Event::Replay(r) => play_replay.set(Some(r)),
            Event::Memory { bytes } => worker_memory.set(bytes),
            Event::ParamsFile { bytes } => {
                if let Err(e) = super::export::download_bytes(
                    "metaplay-params.safetensors",
                    "application/octet-stream",
                    &bytes,
                ) {
                    error.set(Some(format!("export failed: {e:?}")));
                }
            }
            Event::Imported { message } => {
                error.set(None);
                imported.set(Some(message));
                playing.set(false);
            }
            Event::Diverged { message, .. } => notice.set(Some(message)),
            Event::Backend { label, notice } => {
                backend_label.set(label);
                if notice.is_some() {
                    backend_notice.set(notice);
                }
            }
            Event::GradientCheck { run, report } => gradient_check.set(Some((run, report))),
            Event::Error { message } => error.set(Some(message)),
            // the pool takes the first step of a spread import itself
            Event::ImportChecked => {}
        }
    }

    /// Starts `count` training workers (Trunk's loader of `worker`, or of `worker_relaxed`
    /// when `relaxed`) and routes their events here; a failure to start one goes to the error
    /// banner.
    pub fn start_workers(&self, count: usize, relaxed: bool) {
        let state = *self;
        self.relaxed_simd.set(relaxed);
        let script = crate::ui::worker_build::loader_script(relaxed);
        let mut workers = Vec::new();
        for w in 0..count.clamp(1, MAX_RUNS) {
            match Worker::new(script) {
                Ok(worker) => {
                    let on_message =
                        Closure::<dyn FnMut(MessageEvent)>::new(move |msg: MessageEvent| {
                            match serde_wasm_bindgen::from_value::<Vec<Event>>(msg.data()) {
                                Ok(events) => events.into_iter().for_each(|e| state.receive(w, e)),
                                Err(e) => state
                                    .error
                                    .set(Some(format!("unreadable message from the worker: {e}"))),
                            }
                        });
                    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                    on_message.forget();
                    let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(
                        move |e: web_sys::ErrorEvent| {
                            state
                                .error
                                .set(Some(format!("the training worker failed: {}", e.message())));
                        },
                    );
                    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                    on_error.forget();
                    workers.push(worker);
                }
                Err(e) => {
                    self.error
                        .set(Some(format!("cannot start the training worker: {e:?}")));
                    break;
                }
            }
        }
        // the pool waits for every worker it has: as many as started
        self.pool.set_value(WorkerPool::new(workers.len().max(1)));
        self.workers.set_value(workers);
    }
}

impl Default for Training {
    fn default() -> Self {
        Self::new()
    }
}
