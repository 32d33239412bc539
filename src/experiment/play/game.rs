//! The student's own game of "play it yourself": one bandit, pulled by key or click, and the
//! keys that pull the arms.

use super::{play_task, student_rng, PlayReplay, PlayRow, YOU};
use crate::engine::rng::Rng;
use crate::engine::tasks::{BanditFamily, BanditTask};
use crate::error::{Error, Result};

/// The student's game: one bandit, `pulls` pulls, rewards drawn as they come.
#[derive(Clone, Debug)]
pub struct PlayGame {
    seed: u64,
    pulls: usize,
    task: BanditTask,
    rng: Rng,
    arms: Vec<usize>,
    rewards: Vec<f64>,
}

impl PlayGame {
    /// A fresh game on the bandit of `seed` from `family`, for `family.pulls` pulls.
    pub fn new(family: &BanditFamily, seed: u64) -> Self {
        Self {
            seed,
            pulls: family.pulls,
            task: play_task(family, seed),
            rng: student_rng(seed),
            arms: Vec::new(),
            rewards: Vec::new(),
        }
    }

    /// The play seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The bandit (its means are for the end of the game).
    pub fn task(&self) -> &BanditTask {
        &self.task
    }

    /// Number of arms.
    pub fn arm_count(&self) -> usize {
        self.task.means.len()
    }

    /// Pulls of the whole game.
    pub fn pulls(&self) -> usize {
        self.pulls
    }

    /// Pulls made so far.
    pub fn pulled(&self) -> usize {
        self.arms.len()
    }

    /// Pulls left.
    pub fn left(&self) -> usize {
        self.pulls - self.arms.len()
    }

    /// True when every pull is made (the means may be shown).
    pub fn finished(&self) -> bool {
        self.arms.len() >= self.pulls
    }

    /// Pulls `arm` (0-based) and returns its reward; refused when the game is over or there is
    /// no such arm.
    pub fn pull(&mut self, arm: usize) -> Result<f64> {
        if self.finished() {
            crate::bail!("all {} pulls are made: draw a new bandit", self.pulls);
        }
        if arm >= self.arm_count() {
            return Err(Error::InvalidConfig {
                field: "arm",
                message: format!(
                    "there is no arm {}: this bandit has arms 1..={}",
                    arm + 1,
                    self.arm_count()
                ),
            });
        }
        let r = self.task.pull(arm, &mut self.rng);
        self.arms.push(arm);
        self.rewards.push(r);
        Ok(r)
    }

    /// The last pull's arm and reward.
    pub fn last(&self) -> Option<(usize, f64)> {
        Some((*self.arms.last()?, *self.rewards.last()?))
    }

    /// Pulls of each arm so far.
    pub fn arm_pulls(&self) -> Vec<usize> {
        let mut n = vec![0; self.arm_count()];
        self.arms.iter().for_each(|&a| n[a] += 1);
        n
    }

    /// Sum of the rewards of each arm so far.
    pub fn arm_sums(&self) -> Vec<f64> {
        let mut s = vec![0.0; self.arm_count()];
        self.arms
            .iter()
            .zip(&self.rewards)
            .for_each(|(&a, &r)| s[a] += r);
        s
    }

    /// Sum of the rewards so far.
    pub fn total_reward(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// The student's row ([`YOU`]), regret from the true means.
    pub fn row(&self) -> PlayRow {
        PlayRow::new(
            YOU.into(),
            &self.task,
            self.arms.clone(),
            self.rewards.clone(),
        )
    }

    /// True when `replay` is of this game's bandit (same seed, same means, same pulls).
    pub fn matches(&self, replay: &PlayReplay) -> bool {
        replay.seed == self.seed
            && replay.means == self.task.means
            && replay.rows.iter().all(|r| r.arms.len() == self.pulls)
    }

    /// Pulls and reward sum of arm `a` so far (`(0, 0)` for an arm the game does not have: a
    /// button of the previous bandit may read the new game once before it is removed).
    pub fn arm_stats(&self, a: usize) -> (usize, f64) {
        self.arms
            .iter()
            .zip(&self.rewards)
            .filter(|(&arm, _)| arm == a)
            .fold((0, 0.0), |(n, sum), (_, &r)| (n + 1, sum + r))
    }

    /// The true mean of arm `a` (NaN for an arm the game does not have).
    pub fn mean_of(&self, a: usize) -> f64 {
        self.task.means.get(a).copied().unwrap_or(f64::NAN)
    }

    /// The student's row, then every policy's when `replay` is of this game.
    pub fn rows_with(&self, replay: Option<&PlayReplay>) -> Vec<PlayRow> {
        let mut rows = vec![self.row()];
        if let Some(r) = replay.filter(|r| self.matches(r)) {
            rows.extend(r.rows.iter().cloned());
        }
        rows
    }
}

/// The arm a key pulls: `1`–`9` arms 1–9, `0` arm 10 (0-based result).
pub fn arm_of_key(key: &str) -> Option<usize> {
    match key.as_bytes() {
        [b'0'] => Some(9),
        [d @ b'1'..=b'9'] => Some((d - b'1') as usize),
        _ => None,
    }
}

/// The key that pulls arm `a` (0-based), if any.
pub fn key_of_arm(a: usize) -> Option<String> {
    match a {
        0..=8 => Some((a + 1).to_string()),
        9 => Some("0".into()),
        _ => None,
    }
}
