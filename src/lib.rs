//! # Metaplay
//!
//! A meta-learning playground: MAML (exact second order), first-order MAML, Reptile and
//! Meta-SGD on few-shot sine regression, running natively and in the browser (WebAssembly).
//!
//! Layers, each depending only on the ones above it:
//! - [`engine`]: tensors and maths on candle-core: functional MLP, task families,
//!   meta-learners, baselines, optimisers, seeded random streams.
//! - [`experiment`]: one typed [`experiment::Config`] with validation, and a
//!   [`experiment::Runner`] that steps a run and evaluates it; the worker protocol and the
//!   training session the worker runs.
//! - `worker` and `ui` (wasm32 only): the web worker and the Leptos playground.
#![warn(missing_docs)]

pub mod engine;
pub mod error;
pub mod experiment;
#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod ui;
#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod worker;

pub use error::{Error, Result};
