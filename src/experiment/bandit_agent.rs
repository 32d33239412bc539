//! Who learns to play the bandits: the softmax agent meta-learned by MAML, first-order MAML,
//! Reptile or Meta-SGD (optimisation-based: a learned initialisation adapted by
//! policy-gradient steps), untrained (`scratch`), or the RL² recurrent agent (memory-based:
//! its hidden state is the learning algorithm).

use serde::{Deserialize, Serialize};

use crate::engine::bandit::{BanditLearner, Policy, Rl2Learner};
use crate::engine::meta::Algo;
use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;
use crate::error::Result;

/// The bandit agent's learner, as links and the CLI name it (`agent=rl2`, `--algo rl2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentAlgo {
    /// MAML, exact second order (Finn et al. 2017).
    Maml,
    /// First-order MAML.
    Fomaml,
    /// Reptile (Nichol et al. 2018).
    Reptile,
    /// Meta-SGD (Li et al. 2017): per-arm step sizes learned too.
    MetaSgd,
    /// The softmax agent untrained.
    Scratch,
    /// RL² (Duan et al. 2016; Wang et al. 2016): a GRU policy trained by actor-critic.
    Rl2,
}

impl AgentAlgo {
    /// Every agent learner, in menu order.
    pub const ALL: [AgentAlgo; 6] = [
        AgentAlgo::Maml,
        AgentAlgo::Fomaml,
        AgentAlgo::Reptile,
        AgentAlgo::MetaSgd,
        AgentAlgo::Scratch,
        AgentAlgo::Rl2,
    ];

    /// The name used on the command line and in links.
    pub fn name(self) -> &'static str {
        match self.softmax() {
            Some(algo) => algo.name(),
            None => "rl2",
        }
    }

    /// Parses an [`AgentAlgo::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The meta-learner of the softmax agent, `None` for RL².
    pub fn softmax(self) -> Option<Algo> {
        match self {
            AgentAlgo::Maml => Some(Algo::Maml),
            AgentAlgo::Fomaml => Some(Algo::Fomaml),
            AgentAlgo::Reptile => Some(Algo::Reptile),
            AgentAlgo::MetaSgd => Some(Algo::MetaSgd),
            AgentAlgo::Scratch => Some(Algo::Scratch),
            AgentAlgo::Rl2 => None,
        }
    }

    /// What this learner moves, for the page and the README: two sentences, the second saying
    /// why the softmax agents' meta-training curve is flat on symmetric families.
    pub fn what_it_learns(self) -> String {
        let moves = match self {
            AgentAlgo::Maml | AgentAlgo::Fomaml => {
                "MAML meta-learns the softmax agent's initial logits and its reward baseline through the policy-gradient steps it takes every m pulls (first-order MAML drops the second-order term); the step size stays fixed."
            }
            AgentAlgo::Reptile => {
                "Reptile moves only the softmax agent's initial logits, towards where each episode's adaptation ended; baseline and step size stay fixed."
            }
            AgentAlgo::MetaSgd => {
                "Meta-SGD learns, besides the softmax agent's initial logits and baseline, one step size per arm: how far each policy-gradient step goes."
            }
            AgentAlgo::Scratch => {
                return "No training: the softmax agent with uniform logits adapts by its fixed policy-gradient steps, the reference the meta-learned agents are measured against (paired difference).".into();
            }
            AgentAlgo::Rl2 => {
                return "RL² trains a recurrent network (a GRU) whose hidden state is the bandit algorithm: fed the previous arm, the previous reward and the time, it picks the next arm, with no gradient step while it plays. Trained by actor-critic across many bandits of the family, it learns how to explore and when to commit, so its curve rises.".into();
            }
        };
        format!(
            "{moves} On families whose arms are symmetric (independent, dependent) the best initial logits are uniform, so there is little to move and the curve stays flat; where one arm is usually good, it rises."
        )
    }

    /// True for the RL² recurrent agent.
    pub fn is_rl2(self) -> bool {
        self == AgentAlgo::Rl2
    }
}

/// The agent being trained: the softmax agent's meta-learner or RL²'s.
#[derive(Clone, Debug)]
pub enum AgentLearner {
    /// The softmax agent ([`crate::engine::bandit::agent`]).
    Softmax(BanditLearner),
    /// The recurrent agent ([`crate::engine::bandit::rl2`]).
    Rl2(Rl2Learner),
}

impl AgentLearner {
    /// The learned parameters (softmax: logits, baseline, step sizes; RL²: the network).
    pub fn params(&self) -> &ParamSet {
        match self {
            AgentLearner::Softmax(l) => l.params(),
            AgentLearner::Rl2(l) => l.params(),
        }
    }

    /// Replaces the parameters (same names and shapes).
    pub fn set_params(&mut self, params: ParamSet) {
        match self {
            AgentLearner::Softmax(l) => l.set_params(params),
            AgentLearner::Rl2(l) => l.set_params(params),
        }
    }

    /// Iterations done.
    pub fn iter(&self) -> usize {
        match self {
            AgentLearner::Softmax(l) => l.iter(),
            AgentLearner::Rl2(l) => l.iter(),
        }
    }

    /// One iteration on fresh bandits from `rng`; returns the expected reward per pull of the
    /// episodes played (softmax: after adaptation), computed with the true arm means.
    pub fn step(&mut self, rng: &mut Rng) -> Result<f64> {
        match self {
            AgentLearner::Softmax(l) => l.step(rng),
            AgentLearner::Rl2(l) => Ok(l.step(rng)?.reward_per_pull),
        }
    }

    /// The agent as it is now, under `name`.
    pub fn policy(&self, name: String) -> Policy {
        match self {
            AgentLearner::Softmax(l) => Policy::Agent(name, l.agent()),
            AgentLearner::Rl2(l) => Policy::Recurrent(name, l.agent()),
        }
    }
}
