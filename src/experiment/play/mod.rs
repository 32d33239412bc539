//! "Play it yourself": the student pulls the arms of one bandit for the experiment's `pulls`
//! pulls ([`PlayGame`]), then sees their cumulative regret beside every policy's on that same
//! bandit, pull by pull ([`replay`]).
//!
//! Everything follows from the play seed (shown in the page, not in the experiment's link):
//! the bandit is drawn from the experiment's family, the student's rewards come from a stream
//! of their own, and policy `i` of the replay plays with a stream of its own, so a replay is
//! deterministic for a given seed and agent. The streams are indices of
//! [`Stream::Validation`] from [`STREAM_BASE`] on, far above the ones the arm-usage chart takes
//! (one per policy from 1).
//!
//! Regret is the pseudo-regret of the evaluation protocol: pull `t` adds `μ* − μ_{a_t}`, read
//! from the true means, whatever the reward drawn.

use serde::{Deserialize, Serialize};

use crate::engine::bandit::Policy;
use crate::engine::rng::{rng_indexed, Rng, Stream};
use crate::engine::tasks::{BanditFamily, BanditTask, TaskFamily};
use crate::experiment::schema::sine::SEED;

mod game;
pub use game::{arm_of_key, key_of_arm, PlayGame};

/// The row name of the student's own pulls.
pub const YOU: &str = "you";

/// First stream index of [`Stream::Validation`] used by the play session: the bandit, then
/// the student's rewards, then one per policy of the replay.
pub const STREAM_BASE: u64 = 1 << 32;

/// The bandit of play seed `seed`.
pub fn play_task(family: &BanditFamily, seed: u64) -> BanditTask {
    family.sample_task(&mut rng_indexed(seed, Stream::Validation, STREAM_BASE))
}

/// The stream of the student's rewards under play seed `seed`.
fn student_rng(seed: u64) -> Rng {
    rng_indexed(seed, Stream::Validation, STREAM_BASE + 1)
}

/// The stream policy number `index` of a replay plays with under play seed `seed`.
pub fn policy_rng(seed: u64, index: usize) -> Rng {
    rng_indexed(seed, Stream::Validation, STREAM_BASE + 2 + index as u64)
}

/// Reads the play seed typed into the page: a whole number of the experiment seeds' range,
/// or a message naming the field and the range.
pub fn parse_seed(text: &str) -> std::result::Result<u64, String> {
    SEED.parse(text)
        .map(|v| v.whole())
        .map_err(|why| format!("Play seed: {why} (accepted: {})", SEED.accepted()))
}

/// A reward as the page writes it: `1`, `0` for whole values, two decimals otherwise (the
/// informative-arm family pays values in [0, 1]).
pub fn format_reward(v: f64) -> String {
    let v = v + 0.0; // an empty sum is −0
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `Σ_{s≤t} (μ* − μ_{a_s})` after each pull `t` of `arms` on `task` (arms out of range count
/// as the worst arm, which cannot happen for pulls made by [`PlayGame`] or a policy).
pub fn cumulative_regret(task: &BanditTask, arms: &[usize]) -> Vec<f64> {
    let best = task.best_mean();
    let worst = task.means.iter().copied().fold(f64::INFINITY, f64::min);
    let mut regret = 0.0;
    arms.iter()
        .map(|&a| {
            regret += best - task.means.get(a).copied().unwrap_or(worst);
            regret
        })
        .collect()
}

/// One player's pulls on the bandit: which arm, what it paid, and the regret so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayRow {
    /// [`YOU`] or the policy's report name.
    pub policy: String,
    /// The arm of each pull (0-based).
    pub arms: Vec<usize>,
    /// The reward of each pull.
    pub rewards: Vec<f64>,
    /// Cumulative regret after each pull ([`cumulative_regret`]).
    pub regret: Vec<f64>,
}

impl PlayRow {
    /// The row of `arms` and `rewards` on `task`, its regret computed from the true means.
    pub fn new(policy: String, task: &BanditTask, arms: Vec<usize>, rewards: Vec<f64>) -> Self {
        let regret = cumulative_regret(task, &arms);
        Self {
            policy,
            arms,
            rewards,
            regret,
        }
    }

    /// Sum of the rewards.
    pub fn total_reward(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// Regret after the last pull (0 before any).
    pub fn final_regret(&self) -> f64 {
        self.regret.last().copied().unwrap_or(0.0)
    }

    /// Pulls of each of `k` arms.
    pub fn arm_counts(&self, k: usize) -> Vec<usize> {
        let mut counts = vec![0; k];
        for &a in &self.arms {
            if let Some(c) = counts.get_mut(a) {
                *c += 1;
            }
        }
        counts
    }

    /// The arms as runs of the same arm, `(arm, how many in a row)`, in order.
    pub fn runs(&self) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &a in &self.arms {
            match runs.last_mut() {
                Some((arm, n)) if *arm == a => *n += 1,
                _ => runs.push((a, 1)),
            }
        }
        runs
    }
}

/// Every policy's episode on `task` for `pulls` pulls, policy `i` with [`policy_rng`]`(seed,
/// i)`, through [`Policy::play`] (so any policy the engine has replays, unchanged).
pub fn replay(task: &BanditTask, pulls: usize, policies: &[Policy], seed: u64) -> Vec<PlayRow> {
    policies
        .iter()
        .enumerate()
        .map(|(i, policy)| {
            let (mut arms, mut rewards) = (Vec::with_capacity(pulls), Vec::with_capacity(pulls));
            policy.play(task, pulls, &mut policy_rng(seed, i), |a, r| {
                arms.push(a);
                rewards.push(r);
            });
            PlayRow::new(policy.name(), task, arms, rewards)
        })
        .collect()
}

/// The worker's answer to a replay request: every policy of the session on the bandit of
/// `seed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayReplay {
    /// The play seed.
    pub seed: u64,
    /// The meta-iteration of the agent(s) replayed.
    pub iter: usize,
    /// The bandit's true means (the page checks them against its own game).
    pub means: Vec<f64>,
    /// One row per policy, in the evaluation's report order.
    pub rows: Vec<PlayRow>,
}

/// The bandit of `seed` and `policies` replayed on it (see [`replay`]).
pub fn replay_seed(
    family: &BanditFamily,
    policies: &[Policy],
    seed: u64,
    iter: usize,
) -> PlayReplay {
    let task = play_task(family, seed);
    let rows = replay(&task, family.pulls, policies, seed);
    PlayReplay {
        seed,
        iter,
        means: task.means,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::bandit::Baseline;
    use crate::engine::tasks::BanditSetting;

    fn family(setting: BanditSetting, arms: usize, pulls: usize) -> BanditFamily {
        BanditFamily {
            setting,
            arms,
            pulls,
        }
    }

    fn baselines() -> Vec<Policy> {
        Baseline::all(0.1)
            .into_iter()
            .map(Policy::Baseline)
            .collect()
    }

    #[test]
    fn a_replay_is_policy_play_with_its_own_stream() {
        let fam = family(BanditSetting::Independent, 5, 40);
        let task = play_task(&fam, 7);
        let policies = baselines();
        let rows = replay(&task, fam.pulls, &policies, 7);
        assert_eq!(rows.len(), policies.len());
        for (i, (row, policy)) in rows.iter().zip(&policies).enumerate() {
            let (mut arms, mut rewards) = (vec![], vec![]);
            policy.play(&task, fam.pulls, &mut policy_rng(7, i), |a, r| {
                arms.push(a);
                rewards.push(r);
            });
            assert_eq!(row.policy, policy.name());
            assert_eq!(row.arms, arms, "{}", row.policy);
            assert_eq!(row.rewards, rewards, "{}", row.policy);
            assert_eq!(row.regret.len(), fam.pulls);
        }
        // the same seed gives the same replay; another seed another bandit
        assert_eq!(replay(&task, fam.pulls, &policies, 7), rows);
        assert_ne!(play_task(&fam, 8), task);
    }

    #[test]
    fn the_oracle_has_no_regret_and_regret_never_falls() {
        let fam = family(BanditSetting::DependentMedium, 2, 100);
        for seed in 0..20 {
            let r = replay_seed(&fam, &baselines(), seed, 0);
            let oracle = r.rows.iter().find(|r| r.policy == "oracle").unwrap();
            assert!(oracle.regret.iter().all(|&g| g == 0.0));
            for row in &r.rows {
                assert!(
                    row.regret.windows(2).all(|w| w[1] >= w[0]),
                    "{}",
                    row.policy
                );
                assert_eq!(row.arms.len(), 100);
            }
        }
    }

    #[test]
    fn the_students_regret_comes_from_the_true_means() {
        // medium: means {0.25, 0.75} in some order; the wrong arm costs 0.5 a pull
        let fam = family(BanditSetting::DependentMedium, 2, 4);
        let mut game = PlayGame::new(&fam, 3);
        let best = game.task().best_arm();
        let worst = 1 - best;
        for arm in [worst, best, worst, best] {
            let r = game.pull(arm).unwrap();
            assert!(r == 0.0 || r == 1.0);
        }
        assert!(game.finished());
        let row = game.row();
        assert_eq!(row.policy, YOU);
        assert_eq!(row.regret, vec![0.5, 0.5, 1.0, 1.0]);
        assert_eq!(row.final_regret(), 1.0);
        assert_eq!(game.arm_pulls()[best], 2);
        assert_eq!(game.arm_sums().iter().sum::<f64>(), game.total_reward());
        assert_eq!(
            row.runs(),
            vec![(worst, 1), (best, 1), (worst, 1), (best, 1)]
        );
        assert_eq!(row.arm_counts(2), vec![2, 2]);
    }

    #[test]
    fn a_game_is_deterministic_from_its_seed_and_refuses_bad_pulls() {
        let fam = family(BanditSetting::Independent, 3, 5);
        let play = |seed| {
            let mut g = PlayGame::new(&fam, seed);
            (0..5).map(|t| g.pull(t % 3).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(play(11), play(11));
        let mut g = PlayGame::new(&fam, 11);
        let e = g.pull(3).unwrap_err().to_string();
        assert!(e.contains("`arm`") && e.contains("1..=3"), "{e}");
        assert_eq!(g.pulled(), 0);
        for _ in 0..5 {
            g.pull(0).unwrap();
        }
        assert_eq!(g.left(), 0);
        assert!(g.pull(0).is_err());
        assert_eq!(g.pulled(), 5);
    }

    #[test]
    fn a_replay_matches_its_game_only() {
        let fam = family(BanditSetting::Independent, 4, 10);
        let game = PlayGame::new(&fam, 5);
        let r = replay_seed(&fam, &baselines(), 5, 0);
        assert_eq!(r.means, game.task().means);
        assert!(game.matches(&r));
        assert!(!game.matches(&replay_seed(&fam, &baselines(), 6, 0)));
        let longer = family(BanditSetting::Independent, 4, 11);
        assert!(!game.matches(&replay_seed(&longer, &baselines(), 5, 0)));
    }

    #[test]
    fn seeds_are_checked_with_the_field_named() {
        assert_eq!(parse_seed(" 42 "), Ok(42));
        for bad in ["", "abc", "-1", "1.5", "99999999999"] {
            let e = parse_seed(bad).unwrap_err();
            assert!(e.starts_with("Play seed: "), "{e}");
            assert!(e.contains("0..=4294967295"), "{e}");
        }
    }

    #[test]
    fn rewards_show_whole_or_with_two_decimals() {
        assert_eq!(format_reward(1.0), "1");
        assert_eq!(format_reward(0.0), "0");
        assert_eq!(format_reward(Vec::<f64>::new().iter().sum()), "0");
        assert_eq!(format_reward(37.0), "37");
        assert_eq!(format_reward(0.456), "0.46");
        assert_eq!(format_reward(2.5), "2.50");
    }
}
