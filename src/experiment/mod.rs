//! Experiments: a validated [`Config`] and a [`Runner`] that steps and evaluates a run.

pub mod config;
pub mod protocol;
pub mod runner;
pub mod session;

pub use config::{Config, TaskKind};
pub use runner::{EvalReport, EvalSpec, Runner};
