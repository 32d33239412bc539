//! The bandit side of the worker's session: meta-trains the agent in time-boxed chunks and
//! re-evaluates it beside the classical policies (evaluated once) every so often.

use crate::engine::bandit::PolicyReport;
use crate::error::Error;
use crate::experiment::loss_log::LossLog;
use crate::experiment::protocol::{BanditEvaluation, Event};
use crate::experiment::{BanditConfig, BanditRunner};

/// Evaluation episodes per policy in the playground (the CLI uses the config's own count).
pub const LIVE_EPISODES: usize = 2000;
/// Points on each regret curve.
const CURVE_POINTS: usize = 100;
/// Episodes behind each arm-usage figure.
const USAGE_EPISODES: usize = 200;

/// A bandit experiment in the worker.
pub struct BanditSession {
    runner: BanditRunner,
    baselines: Vec<PolicyReport>,
    baseline_usage: Vec<Vec<f64>>,
    stopped: bool,
    log: LossLog,
}

impl BanditSession {
    /// Builds the experiment and evaluates the classical policies and the untrained agent.
    pub fn new(config: BanditConfig) -> Result<(Self, Vec<Event>), Error> {
        let runner = BanditRunner::new(config)?;
        let baselines = runner.evaluate(&runner.baselines(), Self::episodes(&runner), CURVE_POINTS);
        let (_, baseline_usage) = runner.arm_usage(
            &runner.baselines(),
            runner.config().eval_seed,
            USAGE_EPISODES,
        );
        let session = Self {
            runner,
            baselines,
            baseline_usage,
            stopped: false,
            log: LossLog::default(),
        };
        let event = session.evaluation();
        Ok((session, vec![event]))
    }

    fn episodes(runner: &BanditRunner) -> usize {
        runner.config().episodes.min(LIVE_EPISODES)
    }

    /// The runner.
    pub fn runner(&self) -> &BanditRunner {
        &self.runner
    }

    /// Mutable access to the runner (parameter import).
    pub fn runner_mut(&mut self) -> &mut BanditRunner {
        &mut self.runner
    }

    /// True when there is nothing left to train.
    pub fn finished(&self) -> bool {
        self.stopped || self.runner.iter() >= self.runner.config().iters
    }

    /// Re-evaluates the agent as it is now, beside the cached classical policies.
    pub fn evaluation(&self) -> Event {
        let r = &self.runner;
        let agent = [r.agent()];
        let mut reports = self.baselines.clone();
        reports.extend(r.evaluate(&agent, Self::episodes(r), CURVE_POINTS));
        let (task, agent_usage) = r.arm_usage(&agent, r.config().eval_seed, USAGE_EPISODES);
        let mut usage = self.baseline_usage.clone();
        usage.extend(agent_usage);
        Event::BanditEval(BanditEvaluation {
            iter: r.iter(),
            reports,
            means: task.means,
            usage,
            usage_episodes: USAGE_EPISODES,
        })
    }

    /// Iterations between re-evaluations of the agent.
    fn eval_every(&self) -> usize {
        (self.runner.config().iters / 10).clamp(50, 1000)
    }

    /// Meta-iterations until `budget_ms` has passed (by `clock`) or `max_steps` are done.
    /// Returns `(new (iteration, reward per pull) points, steps, events)`.
    pub fn chunk(
        &mut self,
        budget_ms: f64,
        max_steps: usize,
        clock: &dyn Fn() -> f64,
    ) -> (Vec<(usize, f64)>, usize, Vec<Event>) {
        let start = clock();
        let mut steps = 0usize;
        let mut points = Vec::new();
        let mut events = Vec::new();
        while steps < max_steps && !self.finished() {
            match self.runner.step() {
                Ok(v) => {
                    steps += 1;
                    let it = self.runner.iter();
                    let last = it == self.runner.config().iters;
                    points.extend(self.log.record(it, v, last));
                    if it.is_multiple_of(self.eval_every()) || it == self.runner.config().iters {
                        events.push(self.evaluation());
                    }
                }
                Err(e) => {
                    self.stopped = true;
                    let message = match e {
                        Error::Diverged { iter, loss } => format!(
                            "the bandit agent ({}) diverged at iteration {iter}: meta-objective {loss}. The inner step size or meta learning rate is probably too high; lower it and reset.",
                            self.runner.config().algo.name()
                        ),
                        other => other.to_string(),
                    };
                    events.push(Event::Diverged { run: 0, message });
                }
            }
            if clock() - start >= budget_ms {
                break;
            }
        }
        (points, steps, events)
    }

    /// The pending logged mean, if any (after a single step).
    pub fn flush_log(&mut self) -> Option<(usize, f64)> {
        self.log.flush(self.runner.iter())
    }
}
