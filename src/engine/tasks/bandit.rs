//! Bernoulli multi-armed bandits, the reinforcement-learning task family.
//!
//! Two settings from the meta-RL literature:
//! - independent arms (RL², Duan et al. 2016): each arm's success probability is drawn
//!   i.i.d. from U[0, 1];
//! - dependent arms (Wang et al. 2016, "Learning to reinforcement learn"): two arms with
//!   `p₂ = 1 − p₁`, `p₁` drawn from {0.1, 0.9} (easy), {0.25, 0.75} (medium),
//!   {0.4, 0.6} (hard) with equal probability, or from U[0, 1] (uniform).

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::engine::rng::Rng;
use crate::engine::tasks::TaskFamily;

/// How the arms' success probabilities are drawn.
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
}

impl BanditSetting {
    /// Every setting, in menu order.
    pub const ALL: [BanditSetting; 5] = [
        BanditSetting::Independent,
        BanditSetting::DependentEasy,
        BanditSetting::DependentMedium,
        BanditSetting::DependentHard,
        BanditSetting::DependentUniform,
    ];

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Independent => "independent",
            Self::DependentEasy => "dependent-easy",
            Self::DependentMedium => "dependent-medium",
            Self::DependentHard => "dependent-hard",
            Self::DependentUniform => "dependent-uniform",
        }
    }

    /// Parses a [`BanditSetting::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s)
    }

    /// Dependent settings have exactly two arms.
    pub fn is_dependent(self) -> bool {
        self != Self::Independent
    }

    /// The two values `p₁` is drawn from in the discrete dependent settings.
    fn dependent_pair(self) -> Option<f64> {
        match self {
            Self::DependentEasy => Some(0.1),
            Self::DependentMedium => Some(0.25),
            Self::DependentHard => Some(0.4),
            _ => None,
        }
    }
}

/// A distribution over Bernoulli bandits with `arms` arms played for `pulls` pulls.
#[derive(Clone, Debug, PartialEq)]
pub struct BanditFamily {
    /// How arm means are drawn.
    pub setting: BanditSetting,
    /// Number of arms `k` (2 for dependent settings).
    pub arms: usize,
    /// Episode length `n`.
    pub pulls: usize,
}

/// One bandit: the arms' success probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct BanditTask {
    /// `μ_a`, the probability that arm `a` pays 1.
    pub means: Vec<f64>,
}

impl BanditTask {
    /// The best arm's mean `μ*`.
    pub fn best_mean(&self) -> f64 {
        self.means.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The lowest-indexed best arm.
    pub fn best_arm(&self) -> usize {
        let best = self.best_mean();
        self.means.iter().position(|&m| m == best).unwrap_or(0)
    }

    /// Pulls `arm`: 1 with probability `μ_arm`, else 0.
    pub fn pull(&self, arm: usize, rng: &mut Rng) -> f64 {
        if rng.random::<f64>() < self.means[arm] {
            1.0
        } else {
            0.0
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
            s => {
                let low = s.dependent_pair().expect("discrete dependent setting");
                let p = if rng.random_bool(0.5) { low } else { 1.0 - low };
                vec![p, 1.0 - p]
            }
        };
        BanditTask { means }
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
}
