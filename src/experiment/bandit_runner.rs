//! One bandit experiment: trains the agent (the meta-learned softmax agent or RL²) and
//! evaluates it beside the classical policies on the same bandits.

use crate::engine::bandit::{
    arm_usage, bayes_optimal, evaluate, gittins, BanditLearner, Baseline, Policy, PolicyReport,
    Rl2Learner,
};
use crate::engine::rng::{rng, Rng, Stream};
use crate::engine::tasks::{BanditTask, TaskFamily};
use crate::error::Result;
use crate::experiment::bandit_agent::AgentLearner;
use crate::experiment::divergence::step_or_roll_back;
use crate::experiment::BanditConfig;

/// A bandit run.
#[derive(Clone, Debug)]
pub struct BanditRunner {
    config: BanditConfig,
    learner: AgentLearner,
    train_rng: Rng,
}

impl BanditRunner {
    /// Validates `config` and sets the run up from its seed.
    pub fn new(config: BanditConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            learner: Self::fresh_learner(&config),
            train_rng: rng(config.seed, Stream::Train),
            config,
        })
    }

    /// The agent's learner before any training: the softmax agent's (uniform logits) or RL²'s
    /// (weights drawn from the seed's initialisation stream).
    fn fresh_learner(config: &BanditConfig) -> AgentLearner {
        match config.learner_spec() {
            Some(spec) => AgentLearner::Softmax(BanditLearner::new(spec)),
            None => AgentLearner::Rl2(Rl2Learner::new(
                config.rl2_spec(),
                &mut rng(config.seed, Stream::Init),
            )),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BanditConfig {
        &self.config
    }

    /// The learner.
    pub fn learner(&self) -> &AgentLearner {
        &self.learner
    }

    /// Mutable access to the learner (e.g. to import parameters).
    pub fn learner_mut(&mut self) -> &mut AgentLearner {
        &mut self.learner
    }

    /// Meta-iterations done.
    pub fn iter(&self) -> usize {
        self.learner.iter()
    }

    /// One meta-iteration; returns the expected reward per pull after adaptation, or
    /// [`Error::Diverged`] (leaving the run where it was) when a value is not finite.
    pub fn step(&mut self) -> Result<f64> {
        let rng = &mut self.train_rng;
        step_or_roll_back(&mut self.learner, |l| l.step(rng))
    }

    /// The name of the agent in reports: `agent-<algo>`.
    pub fn agent_name(&self) -> String {
        format!("agent-{}", self.config.algo.name())
    }

    /// The classical policies and the reference optima, in report order: random, greedy,
    /// ε-greedy, UCB1, Thompson sampling, optimistic Thompson sampling, the Gittins index (up
    /// to [`gittins::MAX_PULLS`] pulls), the Bayes-optimal programme (where the family's
    /// posterior is small enough: two dependent arms, or two independent ones up to
    /// [`bayes_optimal::MAX_STATES`] states), the oracle. The Gittins and Bayes-optimal tables
    /// are computed once per family and shared.
    pub fn baselines(&self) -> Vec<Policy> {
        let family = self.config.family();
        let [random, greedy, eps, ucb1, thompson, oracle] = Baseline::all(self.config.epsilon);
        let mut v: Vec<Policy> = [random, greedy, eps, ucb1, thompson]
            .into_iter()
            .chain([Baseline::OptimisticThompson])
            .map(Policy::Baseline)
            .collect();
        v.extend(gittins::table_for(family.pulls).map(Policy::Gittins));
        v.extend(
            bayes_optimal::for_family(&family)
                .ok()
                .map(Policy::BayesOptimal),
        );
        v.push(Policy::Baseline(oracle));
        v
    }

    /// The agent as it is now.
    pub fn agent(&self) -> Policy {
        self.learner.policy(self.agent_name())
    }

    /// Evaluates `policies` over `episodes` bandits of the evaluation seed, with regret
    /// curves sampled at up to `points` pull counts.
    pub fn evaluate(
        &self,
        policies: &[Policy],
        episodes: usize,
        points: usize,
    ) -> Vec<PolicyReport> {
        evaluate(
            &self.config.family(),
            policies,
            episodes,
            self.config.eval_seed,
            points,
        )
    }

    /// One bandit drawn from `seed` and the mean pulls per arm of each policy on it over
    /// `episodes` episodes.
    pub fn arm_usage(
        &self,
        policies: &[Policy],
        seed: u64,
        episodes: usize,
    ) -> (BanditTask, Vec<Vec<f64>>) {
        let task = self
            .config
            .family()
            .sample_task(&mut rng(seed, Stream::Validation));
        let usage = arm_usage(&task, self.config.pulls, policies, episodes, seed);
        (task, usage)
    }
}
