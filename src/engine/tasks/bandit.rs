//! Multi-armed bandits, the reinforcement-learning task family.
//!
//! Settings from the meta-RL literature:
//! - independent arms (RL², Duan et al. 2016): each arm's success probability is drawn
//!   i.i.d. from U[0, 1];
//! - dependent arms (Wang et al. 2016, "Learning to reinforcement learn"): two arms with
//!   `p₂ = 1 − p₁`, `p₁` drawn from {0.1, 0.9} (easy), {0.25, 0.75} (medium),
//!   {0.4, 0.6} (hard) with equal probability, or from U[0, 1] (uniform);
//! - the informative arm (Wang et al. 2016, "dependent arms II"): 11 arms with deterministic
//!   rewards, one of the first ten is the target, the eleventh tells which ([`informative`]);
//! - skewed priors: each arm's mean has its own Beta prior, the first arm usually good
//!   ([`skewed`]), a family whose best *initial* policy is not uniform, so that a learned
//!   initialisation (MAML and kin) has something to learn.
//!
//! Every reward lies in [0, 1] and `means` is always the expected reward of each arm, so the
//! classical policies, the regret and the agent's expected reward apply to every setting.

use rand::Rng as _;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::engine::rng::Rng;
use crate::engine::tasks::TaskFamily;

/// Wang et al.'s bandit with an informative arm, scaled into [0, 1].
///
/// The paper (Section 3.1, "dependent arms II"): 11 arms that always pay; of the first ten,
/// nine non-target arms pay 1.1 and the target arm pays 5; the eleventh, informative arm pays a
/// tenth of the target's index (0.1 for the first arm … 1.0 for the tenth); episodes of 5 pulls.
/// Pulling the informative arm always earns less than any other arm, so only an agent that
/// remembers what it said profits: the optimal strategy pulls it once, then the target.
/// Here every reward is divided by 5 (the largest), which keeps the structure and puts the
/// rewards in [0, 1]: target 1, non-target 0.22, informative `0.02·(j + 1)` for target `j`
/// (0-based). Rewards are deterministic; Bernoulli-based policies binarise them
/// ([`crate::engine::bandit::ArmStats::record`]).
pub mod informative {
    /// Arms: ten candidates and the informative arm (the last).
    pub const ARMS: usize = 11;
    /// The informative arm's index.
    pub const INFORMATIVE_ARM: usize = 10;
    /// Pulls per episode in the paper.
    pub const PULLS: usize = 5;
    /// The paper's rewards divided by this.
    pub const SCALE: f64 = 5.0;
    /// The target arm's reward (paper: 5).
    pub const TARGET: f64 = 5.0 / SCALE;
    /// A non-target arm's reward (paper: 1.1).
    pub const NON_TARGET: f64 = 1.1 / SCALE;

    /// The informative arm's reward when the target is arm `target` (0-based; paper:
    /// `(target + 1) / 10`).
    pub fn informative_reward(target: usize) -> f64 {
        (target + 1) as f64 / 10.0 / SCALE
    }

    /// The rewards of the 11 arms when the target is arm `target` (0..10).
    pub fn rewards(target: usize) -> Vec<f64> {
        let mut r = vec![NON_TARGET; ARMS];
        r[target] = TARGET;
        r[INFORMATIVE_ARM] = informative_reward(target);
        r
    }
}

/// Arms with different priors: arm 0's mean is drawn from Beta(3, 1) (mean ¾, usually good),
/// every other arm's from Beta(1, 3) (mean ¼). Arm 0 is the best arm 86% of the time
/// at k = 5, so the best initial policy leans on it; the classical policies (Beta(1, 1)
/// priors) do not know that and explore every arm alike.
pub mod skewed {
    /// The first arm's prior Beta(a, b).
    pub const FIRST: (f64, f64) = (3.0, 1.0);
    /// Every other arm's prior Beta(a, b).
    pub const OTHERS: (f64, f64) = (1.0, 3.0);
    /// Default arms.
    pub const ARMS: usize = 5;
    /// Default pulls: in short episodes the first pulls, where the prior matters, are a large
    /// share of the reward (at 100 pulls the untrained agent has adapted to the arms within
    /// a few pulls, and MAML's learned initialisation gains +0.14 ± 0.04; at 20 pulls +1.41 ±
    /// 0.02, `BENCHMARKS.md`).
    pub const PULLS: usize = 20;

    /// The prior of arm `arm`.
    pub fn prior(arm: usize) -> (f64, f64) {
        if arm == 0 {
            FIRST
        } else {
            OTHERS
        }
    }
}

/// How the arms' rewards are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BanditSetting {
    /// `k` arms, means i.i.d. U[0, 1].
    Independent,
    /// Two arms, `p₁ ∈ {0.1, 0.9}`, `p₂ = 1 − p₁`.
    DependentEasy,
    /// Two arms, `p₁ ∈ {0.25, 0.75}`, `p₂ = 1 − p₁`.
    DependentMedium,
    /// Two arms, `p₁ ∈ {0.4, 0.6}`, `p₂ = 1 − p₁`.
    DependentHard,
    /// Two arms, `p₁ ~ U[0, 1]`, `p₂ = 1 − p₁`.
    DependentUniform,
    /// Wang et al.'s 11 arms with an informative arm ([`informative`]), deterministic rewards.
    Informative,
    /// `k` Bernoulli arms with per-arm Beta priors, the first usually good ([`skewed`]).
    Skewed,
}

impl BanditSetting {
    /// Every setting, in menu order.
    pub const ALL: [BanditSetting; 7] = [
        BanditSetting::Independent,
        BanditSetting::DependentEasy,
        BanditSetting::DependentMedium,
        BanditSetting::DependentHard,
        BanditSetting::DependentUniform,
        BanditSetting::Informative,
        BanditSetting::Skewed,
    ];

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Independent => "independent",
            Self::DependentEasy => "dependent-easy",
            Self::DependentMedium => "dependent-medium",
            Self::DependentHard => "dependent-hard",
            Self::DependentUniform => "dependent-uniform",
            Self::Informative => "informative",
            Self::Skewed => "skewed",
        }
    }

    /// Parses a [`BanditSetting::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// The two-armed dependent settings (`p₂ = 1 − p₁`).
    pub fn is_dependent(self) -> bool {
        matches!(
            self,
            Self::DependentEasy
                | Self::DependentMedium
                | Self::DependentHard
                | Self::DependentUniform
        )
    }

    /// The number of arms when the setting fixes it (2 dependent, 11 informative).
    pub fn fixed_arms(self) -> Option<usize> {
        if self.is_dependent() {
            Some(2)
        } else if self == Self::Informative {
            Some(informative::ARMS)
        } else {
            None
        }
    }

    /// Arms by default: the fixed number, 10 independent (a cell of RL²'s grid), 5 skewed.
    pub fn default_arms(self) -> usize {
        match self {
            Self::Independent => 10,
            Self::Skewed => skewed::ARMS,
            s => s.fixed_arms().expect("a setting with fixed arms"),
        }
    }

    /// Pulls by default: 5 for the informative arm (Wang et al.), 20 for skewed priors (the
    /// prior matters most in short episodes), else 100.
    pub fn default_pulls(self) -> usize {
        match self {
            Self::Informative => informative::PULLS,
            Self::Skewed => skewed::PULLS,
            _ => 100,
        }
    }

    /// True when every reward is 0 or 1 (all but [`BanditSetting::Informative`]).
    pub fn is_bernoulli(self) -> bool {
        self != Self::Informative
    }

    /// The two values `p₁` is drawn from in the discrete dependent settings: the lower one.
    pub fn dependent_pair(self) -> Option<f64> {
        match self {
            Self::DependentEasy => Some(0.1),
            Self::DependentMedium => Some(0.25),
            Self::DependentHard => Some(0.4),
            _ => None,
        }
    }
}

/// A distribution over bandits with `arms` arms played for `pulls` pulls.
#[derive(Clone, Debug, PartialEq)]
pub struct BanditFamily {
    /// How arm rewards are drawn.
    pub setting: BanditSetting,
    /// Number of arms `k` (2 for dependent settings, 11 for the informative arm).
    pub arms: usize,
    /// Episode length `n`.
    pub pulls: usize,
}

/// How a bandit's arms pay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rewards {
    /// Arm `a` pays 1 with probability `μ_a`, else 0.
    #[default]
    Bernoulli,
    /// Arm `a` always pays `μ_a` (in [0, 1]).
    Deterministic,
}

/// One bandit: the arms' expected rewards and how they pay.
#[derive(Clone, Debug, PartialEq)]
pub struct BanditTask {
    /// `μ_a`, the expected reward of arm `a` (Bernoulli arms: the probability it pays 1).
    pub means: Vec<f64>,
    /// Bernoulli or deterministic rewards.
    pub rewards: Rewards,
}

impl BanditTask {
    /// Bernoulli arms with success probabilities `means`.
    pub fn bernoulli(means: Vec<f64>) -> Self {
        Self {
            means,
            rewards: Rewards::Bernoulli,
        }
    }

    /// Arms that always pay `values`.
    pub fn deterministic(values: Vec<f64>) -> Self {
        Self {
            means: values,
            rewards: Rewards::Deterministic,
        }
    }

    /// The best arm's mean `μ*`.
    pub fn best_mean(&self) -> f64 {
        self.means.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The lowest-indexed best arm.
    pub fn best_arm(&self) -> usize {
        let best = self.best_mean();
        self.means.iter().position(|&m| m == best).unwrap_or(0)
    }

    /// Pulls `arm`: Bernoulli arms pay 1 with probability `μ_arm`, else 0 (one uniform draw);
    /// deterministic arms pay `μ_arm` (no draw).
    pub fn pull(&self, arm: usize, rng: &mut Rng) -> f64 {
        match self.rewards {
            Rewards::Bernoulli => {
                if rng.random::<f64>() < self.means[arm] {
                    1.0
                } else {
                    0.0
                }
            }
            Rewards::Deterministic => self.means[arm],
        }
    }
}

impl TaskFamily for BanditFamily {
    type Task = BanditTask;

    fn sample_task(&self, rng: &mut Rng) -> BanditTask {
        let means = match self.setting {
            BanditSetting::Independent => (0..self.arms).map(|_| rng.random::<f64>()).collect(),
            BanditSetting::DependentUniform => {
                let p = rng.random::<f64>();
                vec![p, 1.0 - p]
            }
            BanditSetting::Informative => {
                let target = rng.random_range(0..informative::INFORMATIVE_ARM);
                return BanditTask::deterministic(informative::rewards(target));
            }
            BanditSetting::Skewed => (0..self.arms)
                .map(|a| {
                    let (x, y) = skewed::prior(a);
                    Beta::new(x, y)
                        .expect("positive Beta parameters")
                        .sample(rng)
                })
                .collect(),
            s => {
                let low = s.dependent_pair().expect("discrete dependent setting");
                let p = if rng.random_bool(0.5) { low } else { 1.0 - low };
                vec![p, 1.0 - p]
            }
        };
        BanditTask::bernoulli(means)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{rng, Stream};

    #[test]
    fn dependent_arms_sum_to_one_and_take_the_listed_values() {
        let mut r = rng(3, Stream::Bandit);
        for (setting, low) in [
            (BanditSetting::DependentEasy, 0.1),
            (BanditSetting::DependentMedium, 0.25),
            (BanditSetting::DependentHard, 0.4),
        ] {
            let fam = BanditFamily {
                setting,
                arms: 2,
                pulls: 10,
            };
            let mut seen_low = 0;
            for _ in 0..2000 {
                let t = fam.sample_task(&mut r);
                assert_eq!(t.means.len(), 2);
                assert!((t.means[0] + t.means[1] - 1.0).abs() < 1e-12);
                assert!(t.means[0] == low || t.means[0] == 1.0 - low);
                seen_low += usize::from(t.means[0] == low);
            }
            // p₁ is the low value half the time: 1000 ± 3σ (σ ≈ 22)
            assert!((934..=1066).contains(&seen_low), "{seen_low}");
        }
    }

    #[test]
    fn independent_means_are_uniform() {
        let mut r = rng(4, Stream::Bandit);
        let fam = BanditFamily {
            setting: BanditSetting::Independent,
            arms: 5,
            pulls: 10,
        };
        let all: Vec<f64> = (0..2000)
            .flat_map(|_| fam.sample_task(&mut r).means)
            .collect();
        assert_eq!(all.len(), 10_000);
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        // U[0,1] has mean 1/2 and sd 1/√12: 10,000 draws give se ≈ 0.0029
        assert!((mean - 0.5).abs() < 0.012, "{mean}");
        assert!(all.iter().all(|&m| (0.0..1.0).contains(&m)));
    }

    #[test]
    fn the_informative_arm_names_the_target_and_pays_less_than_any_other() {
        let mut r = rng(5, Stream::Bandit);
        let fam = BanditFamily {
            setting: BanditSetting::Informative,
            arms: informative::ARMS,
            pulls: informative::PULLS,
        };
        let mut targets = [0usize; 10];
        for _ in 0..5000 {
            let t = fam.sample_task(&mut r);
            assert_eq!(t.rewards, Rewards::Deterministic);
            assert_eq!(t.means.len(), 11);
            let target = t.best_arm();
            assert!(target < 10, "the informative arm is never the target");
            // paper: 5 for the target, 1.1 for the others, target/10 for arm 11; all ÷ 5
            assert_eq!(t.means[target], 1.0);
            let inf = t.means[informative::INFORMATIVE_ARM];
            assert!(
                (inf * 5.0 * 10.0 - (target + 1) as f64).abs() < 1e-9,
                "{inf}"
            );
            for (a, &m) in t.means.iter().enumerate().take(10) {
                if a != target {
                    assert!((m - 0.22).abs() < 1e-12);
                }
            }
            assert!(inf < 0.22, "informative pays less than a non-target arm");
            // deterministic: pulling twice pays the same, whatever the stream
            assert_eq!(t.pull(3, &mut r), t.means[3]);
            targets[target] += 1;
        }
        // each target 1/10 of the time: 500 ± 4σ (σ ≈ 21)
        assert!(
            targets.iter().all(|&c| (415..=585).contains(&c)),
            "{targets:?}"
        );
    }

    #[test]
    fn skewed_priors_make_the_first_arm_usually_good() {
        let mut r = rng(6, Stream::Bandit);
        let fam = BanditFamily {
            setting: BanditSetting::Skewed,
            arms: 5,
            pulls: 10,
        };
        let n = 4000;
        let mut sums = [0.0; 5];
        let mut first_best = 0;
        for _ in 0..n {
            let t = fam.sample_task(&mut r);
            assert_eq!(t.rewards, Rewards::Bernoulli);
            for (s, m) in sums.iter_mut().zip(&t.means) {
                *s += m;
            }
            first_best += usize::from(t.best_arm() == 0);
        }
        // Beta(3, 1) has mean 3/4 and sd √(3/80) ≈ 0.19; Beta(1, 3) mean 1/4: se ≈ 0.003
        assert!((sums[0] / n as f64 - 0.75).abs() < 0.012, "{sums:?}");
        for s in &sums[1..] {
            assert!((s / n as f64 - 0.25).abs() < 0.012, "{sums:?}");
        }
        let share = first_best as f64 / n as f64;
        assert!((0.83..0.88).contains(&share), "arm 0 best {share}");
    }
}
