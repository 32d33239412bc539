//! Bandit agents: the classical policies of the literature, the Gittins index and the
//! Bayes-optimal programme, the meta-learned softmax agent, the RL² recurrent agent, and the
//! evaluation protocol that plays them all on the same arm draws.

pub mod agent;
pub mod bayes_optimal;
pub mod eval;
pub mod gittins;
pub mod learner;
pub mod policies;
pub mod rl2;

pub use agent::{AgentParams, SoftmaxAgent};
pub use bayes_optimal::BayesOptimal;
pub use eval::{
    arm_usage, evaluate, paired_difference, EvalOutcome, PairedDifference, Policy, PolicyReport,
};
pub use gittins::GittinsTable;
pub use learner::{BanditLearner, BanditLearnerSpec};
pub use policies::{ArmStats, Baseline};
pub use rl2::{Rl2Agent, Rl2Learner, Rl2Spec};
