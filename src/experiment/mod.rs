//! Experiments: a validated [`Config`] and a [`Runner`] that steps and evaluates a run.

pub mod config;
pub mod runner;

pub use config::{Config, TaskKind};
pub use runner::{EvalReport, EvalSpec, Runner};
