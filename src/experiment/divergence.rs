//! A diverging run stops cleanly, written once for every runner: [`step_or_roll_back`] undoes
//! an update whose value or parameters are not finite and reports [`Error::Diverged`], and
//! [`diverged_message`] says what happened and what to change.

use crate::engine::bandit::BanditLearner;
use crate::engine::meta::Learner;
use crate::error::{Error, Result};
use crate::experiment::bandit_agent::AgentLearner;

/// A learner whose parameters can be put back after a bad update.
pub trait Rollback {
    /// A copy of the parameters.
    type Snapshot;
    /// Copies the parameters.
    fn snapshot(&self) -> Self::Snapshot;
    /// Puts them back.
    fn restore(&mut self, snapshot: Self::Snapshot);
    /// True when every parameter is finite.
    fn finite(&self) -> bool;
    /// Meta-iterations done.
    fn iterations(&self) -> usize;
}

/// Runs `update` (one meta-iteration, returning its meta-loss or objective); when the value or
/// the parameters after it are not finite, restores the parameters as they were and returns
/// [`Error::Diverged`], so that the run stays usable where it stopped.
pub fn step_or_roll_back<L: Rollback>(
    learner: &mut L,
    update: impl FnOnce(&mut L) -> Result<f64>,
) -> Result<f64> {
    let before = learner.snapshot();
    let value = update(learner)?;
    if !value.is_finite() || !learner.finite() {
        learner.restore(before);
        return Err(Error::Diverged {
            iter: learner.iterations(),
            loss: value,
        });
    }
    Ok(value)
}

/// What the page shows when `who` (e.g. `run 2 (maml)`) stopped with `e`: the iteration, the
/// value of its `quantity` (meta-loss, meta-objective) and the likely cause.
pub fn diverged_message(who: &str, quantity: &str, e: &Error) -> String {
    match e {
        Error::Diverged { iter, loss } => format!(
            "{who} diverged at iteration {iter}: {quantity} {loss}. The learning rates (inner or meta) are probably too high; lower them and reset."
        ),
        other => format!("{who} stopped: {other}"),
    }
}

/// Every learner keeps their parameters as a [`crate::engine::params::ParamSet`].
macro_rules! rollback_by_params {
    ($($learner:ty),*) => {$(
        impl Rollback for $learner {
            type Snapshot = crate::engine::params::ParamSet;
            fn snapshot(&self) -> Self::Snapshot {
                self.params().clone()
            }
            fn restore(&mut self, snapshot: Self::Snapshot) {
                self.set_params(snapshot)
            }
            fn finite(&self) -> bool {
                self.params().all_finite()
            }
            fn iterations(&self) -> usize {
                self.iter()
            }
        }
    )*};
}

rollback_by_params!(Learner, BanditLearner, AgentLearner);
