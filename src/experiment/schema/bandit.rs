//! The settings of a bandit experiment ([`BanditConfig`]), in the order links write them and
//! controls show them. Defaults come from [`BanditConfig::new`].

use super::sine::{BACKENDS, SEED};
use super::{whole, whole_of, DefaultsBy, Domain, Scope, Setting, Value};
use crate::engine::tasks::BanditSetting;
use crate::experiment::backend::Backend;
use crate::experiment::bandit_agent::AgentAlgo;
use crate::experiment::bandit_config::{limits, BanditConfig};

/// Bandit settings: `(name, label)`, in [`BanditSetting::ALL`]'s order.
pub const SETTINGS: &[(&str, &str)] = &[
    ("independent", "Independent arms · μ ~ U[0,1] (RL²)"),
    ("dependent-easy", "Dependent · easy · p₁ ∈ {0.1, 0.9}"),
    ("dependent-medium", "Dependent · medium · p₁ ∈ {0.25, 0.75}"),
    ("dependent-hard", "Dependent · hard · p₁ ∈ {0.4, 0.6}"),
    ("dependent-uniform", "Dependent · p₁ ~ U[0,1]"),
    (
        "informative",
        "Informative arm · 11 arms, one names the target (Wang et al.)",
    ),
    (
        "skewed",
        "Skewed priors · arm 1 ~ Beta(3,1), others Beta(1,3)",
    ),
];
/// The agent's learners, in [`AgentAlgo::ALL`]'s order: the softmax agent's meta-learners,
/// then RL².
pub const AGENTS: &[(&str, &str)] = &[
    ("maml", "MAML"),
    ("fomaml", "First-order MAML"),
    ("reptile", "Reptile"),
    ("metasgd", "Meta-SGD"),
    ("scratch", "From scratch"),
    ("rl2", "RL² (recurrent, actor-critic)"),
];

/// The softmax agent's settings apply.
fn softmax_agent(c: &BanditConfig) -> bool {
    !c.algo.is_rl2()
}

/// RL²'s settings apply.
fn rl2_agent(c: &BanditConfig) -> bool {
    c.algo.is_rl2()
}

const UNIT: Domain = Domain::Real {
    min: 0.0,
    max: 1.0,
    open_min: false,
};

const LR: Domain = Domain::Real {
    min: limits::LR.0,
    max: limits::LR.1,
    open_min: true,
};

/// A setting with the usual spellings: link key `link`, flag and control `cli`.
#[allow(clippy::too_many_arguments)]
const fn setting(
    link: &'static str,
    cli: &'static str,
    label: &'static str,
    help: &'static str,
    defaults_by: DefaultsBy,
    domain: Domain,
    get: fn(&BanditConfig) -> Value,
    put: fn(&mut BanditConfig, Value),
) -> Setting<BanditConfig> {
    Setting {
        scope: Scope::Experiment,
        ..Setting::new(link, cli, label, help, defaults_by, domain, get, put)
    }
}

/// Every bandit setting, in link order: the setting and the agent first (they couple to arms,
/// iterations and the meta learning rate), `pulls` before `adapt_every`.
pub static BANDIT: &[Setting<BanditConfig>] = &[
    setting(
        "setting",
        "setting",
        "Setting",
        "How the arms' means are drawn",
        DefaultsBy::Frame,
        Domain::Choice(SETTINGS),
        |c| Value::Choice(c.setting.name()),
        |c, v| {
            if let Some(s) = BanditSetting::parse(v.choice()) {
                c.set_setting(s)
            }
        },
    ),
    Setting {
        control: "algo",
        ..setting(
            "agent",
            "algo",
            "Agent meta-learner",
            "The softmax agent's meta-learner, or the RL² recurrent agent",
            DefaultsBy::Frame,
            Domain::Choice(AGENTS),
            |c| Value::Choice(c.algo.name()),
            |c, v| {
                if let Some(a) = AgentAlgo::parse(v.choice()) {
                    c.set_algo(a)
                }
            },
        )
    },
    Setting {
        note: "exactly 2 for the dependent settings, 11 for the informative arm",
        ..setting(
            "arms",
            "arms",
            "Arms k",
            "Arms per bandit",
            DefaultsBy::Task,
            whole(limits::ARMS),
            |c| whole_of(c.arms),
            |c, v| c.arms = v.size(),
        )
    },
    setting(
        "pulls",
        "pulls",
        "Pulls n",
        "Pulls per episode (sets adapt_every to its default)",
        DefaultsBy::Task,
        whole(limits::PULLS),
        |c| whole_of(c.pulls),
        |c, v| c.set_pulls(v.size()),
    ),
    Setting {
        note: "at most pulls and at most 500 adaptation blocks",
        applies: softmax_agent,
        ..setting(
            "adapt_every",
            "adapt-every",
            "Adapt every m pulls",
            "The agent adapts every this many pulls",
            DefaultsBy::Task,
            Domain::Whole {
                min: 1,
                max: limits::PULLS.1 as u64,
            },
            |c| whole_of(c.adapt_every),
            |c, v| c.adapt_every = v.size(),
        )
    },
    setting(
        "iters",
        "iters",
        "Meta-iterations",
        "Meta-iterations of the agent (RL²: actor-critic updates; 0: untrained)",
        DefaultsBy::Algo,
        whole(limits::ITERS),
        |c| whole_of(c.iters),
        |c, v| c.iters = v.size(),
    ),
    setting(
        "meta_batch",
        "meta-batch",
        "Episodes per meta-batch",
        "Episodes per meta-iteration",
        DefaultsBy::Nothing,
        whole(limits::META_BATCH),
        |c| whole_of(c.meta_batch),
        |c, v| c.meta_batch = v.size(),
    ),
    Setting {
        applies: softmax_agent,
        ..setting(
            "inner_lr",
            "inner-lr",
            "Inner step α",
            "Inner policy-gradient step size α",
            DefaultsBy::Nothing,
            LR,
            |c| Value::Real(c.inner_lr),
            |c, v| c.inner_lr = v.real(),
        )
    },
    Setting {
        applies: rl2_agent,
        note: "pulls × hidden² at most 10,000,000",
        ..setting(
            "hidden",
            "hidden",
            "GRU units",
            "RL²: hidden units of the GRU",
            DefaultsBy::Nothing,
            whole(limits::HIDDEN),
            |c| whole_of(c.hidden),
            |c, v| c.hidden = v.size(),
        )
    },
    Setting {
        applies: rl2_agent,
        ..setting(
            "gamma",
            "gamma",
            "Discount γ",
            "RL²: discount of the advantages",
            DefaultsBy::Task,
            UNIT,
            |c| Value::Real(c.gamma),
            |c, v| c.gamma = v.real(),
        )
    },
    Setting {
        applies: rl2_agent,
        ..setting(
            "gae_lambda",
            "gae-lambda",
            "GAE λ",
            "RL²: λ of generalised advantage estimation",
            DefaultsBy::Task,
            UNIT,
            |c| Value::Real(c.gae_lambda),
            |c, v| c.gae_lambda = v.real(),
        )
    },
    Setting {
        applies: rl2_agent,
        ..setting(
            "entropy",
            "entropy",
            "Entropy bonus",
            "RL²: entropy bonus at the start, annealed linearly to 0",
            DefaultsBy::Task,
            UNIT,
            |c| Value::Real(c.entropy),
            |c, v| c.entropy = v.real(),
        )
    },
    setting(
        "meta_lr",
        "meta-lr",
        "Meta learning rate",
        "Outer learning rate (Adam; Reptile: SGD step annealed to 0; RL²: Adam)",
        DefaultsBy::Algo,
        LR,
        |c| Value::Real(c.meta_lr),
        |c, v| c.meta_lr = v.real(),
    ),
    setting(
        "epsilon",
        "epsilon",
        "ε of ε-greedy",
        "Exploration rate of the ε-greedy baseline",
        DefaultsBy::Nothing,
        Domain::Real {
            min: 0.0,
            max: 1.0,
            open_min: false,
        },
        |c| Value::Real(c.epsilon),
        |c, v| c.epsilon = v.real(),
    ),
    setting(
        "episodes",
        "episodes",
        "Evaluation episodes",
        "Evaluation episodes per policy (the page's CPU evaluation takes at most 2000)",
        DefaultsBy::Nothing,
        whole(limits::EPISODES),
        |c| whole_of(c.episodes),
        |c, v| c.episodes = v.size(),
    ),
    setting(
        "seed",
        "seed",
        "Seed",
        "Seed of the agent's weights and training episodes",
        DefaultsBy::Nothing,
        SEED,
        |c| Value::Whole(c.seed),
        |c, v| c.seed = v.whole(),
    ),
    setting(
        "eval_seed",
        "eval-seed",
        "Evaluation seed",
        "Seed of the evaluation bandits (the same for every policy)",
        DefaultsBy::Nothing,
        SEED,
        |c| Value::Whole(c.eval_seed),
        |c, v| c.eval_seed = v.whole(),
    ),
    setting(
        "backend",
        "backend",
        "Evaluation backend",
        "Where the evaluation episodes run (the agent trains on the CPU): WebGPU evaluates every episode in one dispatch; auto times both here and keeps the faster",
        DefaultsBy::Nothing,
        Domain::Choice(BACKENDS),
        |c| Value::Choice(c.backend.name()),
        |c, v| c.backend = Backend::parse(v.choice()).unwrap_or_default(),
    ),
];
