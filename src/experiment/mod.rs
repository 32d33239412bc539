//! Experiments: a validated [`Config`] and a [`Runner`] that steps and evaluates a run.

pub mod backend;
pub mod backend_decision;
pub mod bandit_agent;
pub mod bandit_config;
pub mod bandit_runner;
pub mod chart_text;
pub mod config;
pub mod divergence;
pub mod embed;
pub mod explanations;
pub mod export;
pub mod lessons;
pub mod loss_log;
pub mod palette;
pub mod params_file;
pub mod play;
pub mod presets;
pub mod protocol;
pub mod runner;
pub mod schema;
pub mod session;
pub mod state;
pub mod url;
pub mod url_view;
pub mod worker_pool;

pub use backend::{Backend, Trial};
pub use bandit_agent::{AgentAlgo, AgentLearner};
pub use bandit_config::BanditConfig;
pub use bandit_runner::BanditRunner;
pub use config::{Config, TaskKind};
pub use runner::{EvalReport, EvalSpec, Runner};
