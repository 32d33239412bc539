//! The Bayes-optimal policy: exact dynamic programming over the posterior, maximising the
//! expected total reward of the pulls left (Bellman 1956; Berry & Fristedt 1985, "Bandit
//! problems", ch. 2–3), for the families whose posterior has a small enough state.
//!
//! - **Two dependent arms** (`p₂ = 1 − p₁`, Wang et al. 2016). A success of arm 1 and a failure
//!   of arm 2 are the same evidence about `p₁` (each has likelihood `p₁`), and so are a failure
//!   of arm 1 and a success of arm 2 (likelihood `1 − p₁`). The posterior after `t` pulls is
//!   therefore fixed by `e`, the number of pulls of the first kind: with `p₁ ∈ {ℓ, 1 − ℓ}` at
//!   ½/½ (easy, medium, hard) `P(p₁ = 1 − ℓ) = 1 / (1 + (ℓ/(1 − ℓ))^{2e − t})` — a 1-D
//!   evidence count — and with `p₁ ~ U[0, 1]` the posterior is Beta(1 + e, 1 + t − e) — a
//!   Beta count. State `(t, e)`: `(n + 1)(n + 2)/2` states.
//! - **Two independent arms** with Beta priors (U[0, 1] = Beta(1, 1) for RL²'s setting; the
//!   skewed family's Beta(3, 1) and Beta(1, 3) at k = 2): state `(s₁, f₁, s₂, f₂)`,
//!   `C(n + 4, 4)` states (n = 100: 4.6 million; n = 500: 2.6 billion, refused).
//!
//! Backward induction from `V_n = 0`: `V_t(x) = max_a Σ_r P(r | x, a)·(r + V_{t+1}(x ⊕ (a, r)))`
//! with the posterior predictive `P(1 | x, a)`. The table stores each state's decision (one
//! byte); at most [`MAX_STATES`] states. **Ties** (both arms within 1e-9 of each other, e.g.
//! the first pull) are broken at random, as greedy's are.
//!
//! On dependent arms both arms move the state alike (a pull of either arm adds one to `e` with
//! the same probability `m = P(success of arm 1)`), so the optimal choice is the arm of larger
//! posterior mean: the DP confirms it, and its value is the reference optimum the issue quotes
//! (n = 100: easy 89.38, medium 74.00, hard 57.69, uniform 73.78).

use std::sync::{Arc, Mutex, OnceLock};

use rand::Rng as _;

use crate::engine::bandit::policies::ArmStats;
use crate::engine::rng::Rng;
use crate::engine::tasks::bandit::skewed;
use crate::engine::tasks::{BanditFamily, BanditSetting};

/// The most posterior states a table may hold (one byte each).
pub const MAX_STATES: u64 = 16_000_000;
/// Two values closer than this are a tie.
const TIE: f64 = 1e-9;

/// The prior the programme is exact for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Model {
    /// Two arms, `p₂ = 1 − p₁`, `p₁ ∈ {low, 1 − low}` with probability ½ each.
    DependentDiscrete {
        /// The lower of the two values.
        low: f64,
    },
    /// Two arms, `p₂ = 1 − p₁`, `p₁ ~ U[0, 1]`.
    DependentUniform,
    /// Two independent arms, arm `i`'s mean ~ Beta(aᵢ, bᵢ).
    Independent {
        /// `(aᵢ, bᵢ)` per arm.
        priors: [(f64, f64); 2],
    },
}

impl Model {
    /// The model of `family`, or why there is none.
    pub fn of(family: &BanditFamily) -> Result<Self, String> {
        let s = family.setting;
        match s {
            _ if s.is_dependent() => Ok(match s.dependent_pair() {
                Some(low) => Model::DependentDiscrete { low },
                None => Model::DependentUniform,
            }),
            BanditSetting::Independent | BanditSetting::Skewed if family.arms == 2 => {
                Ok(Model::Independent {
                    priors: if s == BanditSetting::Skewed {
                        [skewed::prior(0), skewed::prior(1)]
                    } else {
                        [(1.0, 1.0); 2]
                    },
                })
            }
            BanditSetting::Independent | BanditSetting::Skewed => Err(format!(
                "the Bayes-optimal programme takes 2 independent arms (its state is every arm's \
                 successes and failures: {} arms is too many)",
                family.arms
            )),
            BanditSetting::Informative => {
                Err("no Bayes-optimal programme for the informative arm".into())
            }
            _ => unreachable!("dependent settings handled above"),
        }
    }

    /// Posterior states of an episode of `pulls` pulls.
    pub fn states(self, pulls: usize) -> u64 {
        let n = pulls as u64;
        match self {
            Model::Independent { .. } => (n + 1) * (n + 2) / 2 * (n + 3) / 3 * (n + 4) / 4,
            _ => (n + 1) * (n + 2) / 2,
        }
    }
}

/// The Bayes-optimal policy of one family: a decision per posterior state.
#[derive(Clone, PartialEq)]
pub struct BayesOptimal {
    model: Model,
    pulls: usize,
    /// 0: arm 0, 1: arm 1, 2: either (tie).
    decision: Vec<u8>,
    value: f64,
}

impl std::fmt::Debug for BayesOptimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BayesOptimal {{ model: {:?}, pulls: {}, value: {} }}",
            self.model, self.pulls, self.value
        )
    }
}

/// `(Q(arm 0), Q(arm 1))` as a decision byte.
fn decide(q0: f64, q1: f64) -> u8 {
    if (q0 - q1).abs() <= TIE {
        2
    } else if q0 > q1 {
        0
    } else {
        1
    }
}

fn tri(t: usize) -> usize {
    t * (t + 1) / 2
}

impl BayesOptimal {
    /// Solves `family` exactly, or says why not (no model, or more than [`MAX_STATES`]).
    pub fn new(family: &BanditFamily) -> Result<Self, String> {
        let model = Model::of(family)?;
        let states = model.states(family.pulls);
        if states > MAX_STATES {
            return Err(format!(
                "the Bayes-optimal programme for {} × {} pulls has {states} posterior states, \
                 more than the {MAX_STATES} accepted ({} MB of decisions)",
                family.setting.name(),
                family.pulls,
                states / 1_000_000
            ));
        }
        Ok(match model {
            Model::Independent { priors } => Self::independent(priors, family.pulls),
            _ => Self::dependent(model, family.pulls),
        })
    }

    /// `P(success of arm 0)` in dependent state `(t, e)`.
    fn dependent_mean(model: Model, t: usize, e: usize) -> f64 {
        match model {
            Model::DependentDiscrete { low } => {
                let high = 1.0 - low;
                let d = 2.0 * e as f64 - t as f64;
                // P(p₁ = high | e) = 1 / (1 + (low/high)^d)
                let p_high = 1.0 / (1.0 + (d * (low / high).ln()).exp());
                p_high * high + (1.0 - p_high) * low
            }
            Model::DependentUniform => (e as f64 + 1.0) / (t as f64 + 2.0),
            Model::Independent { .. } => unreachable!(),
        }
    }

    fn dependent(model: Model, n: usize) -> Self {
        let mut decision = vec![0u8; tri(n)];
        let mut next = vec![0.0f64; n + 1]; // V_n = 0
        let mut cur = vec![0.0f64; n + 1];
        for t in (0..n).rev() {
            for e in 0..=t {
                let m = Self::dependent_mean(model, t, e);
                // arm 0: success (m) → e + 1 with reward, failure → e;
                // arm 1: success (1 − m) → e with reward, failure (m) → e + 1
                let q0 = m * (1.0 + next[e + 1]) + (1.0 - m) * next[e];
                let q1 = (1.0 - m) * (1.0 + next[e]) + m * next[e + 1];
                decision[tri(t) + e] = decide(q0, q1);
                cur[e] = q0.max(q1);
            }
            std::mem::swap(&mut cur, &mut next);
        }
        Self {
            model,
            pulls: n,
            decision,
            value: next[0],
        }
    }

    /// Where block `n₁` of layer `t` starts (states `(n₁, s₁, s₂)` with `n₂ = t − n₁`, block
    /// `j` holding `(j + 1)(t − j + 1)` states): `Σ_{i=1}^{n₁} i·(t + 2 − i)`.
    fn block(t: usize, n1: usize) -> usize {
        (t + 2) * n1 * (n1 + 1) / 2 - n1 * (n1 + 1) * (2 * n1 + 1) / 6
    }

    /// Where layer `t` starts: `Σ_{u<t} C(u + 3, 3) = C(t + 3, 4)`.
    fn layer(t: usize) -> usize {
        t * (t + 1) * (t + 2) * (t + 3) / 24
    }

    /// The index of independent state `(n₁, s₁, s₂)` of layer `t`, within the layer.
    fn at(t: usize, n1: usize, s1: usize, s2: usize) -> usize {
        Self::block(t, n1) + s1 * (t - n1 + 1) + s2
    }

    fn independent(priors: [(f64, f64); 2], n: usize) -> Self {
        let model = Model::Independent { priors };
        let mut decision = vec![0u8; Self::layer(n)];
        let mut next = vec![0.0f64; Self::layer(n + 1) - Self::layer(n)]; // V_n = 0
        let [(a1, b1), (a2, b2)] = priors;
        for t in (0..n).rev() {
            let mut cur = vec![0.0f64; Self::layer(t + 1) - Self::layer(t)];
            for n1 in 0..=t {
                let n2 = t - n1;
                for s1 in 0..=n1 {
                    let m1 = (s1 as f64 + a1) / (n1 as f64 + a1 + b1);
                    for s2 in 0..=n2 {
                        let m2 = (s2 as f64 + a2) / (n2 as f64 + a2 + b2);
                        // arm 0 → (n₁ + 1, s₁ + r, s₂); arm 1 → (n₁, s₁, s₂ + r) in layer t + 1
                        let up = |n1, s1, s2| next[Self::at(t + 1, n1, s1, s2)];
                        let q0 =
                            m1 * (1.0 + up(n1 + 1, s1 + 1, s2)) + (1.0 - m1) * up(n1 + 1, s1, s2);
                        let q1 = m2 * (1.0 + up(n1, s1, s2 + 1)) + (1.0 - m2) * up(n1, s1, s2);
                        let at = Self::at(t, n1, s1, s2);
                        decision[Self::layer(t) + at] = decide(q0, q1);
                        cur[at] = q0.max(q1);
                    }
                }
            }
            next = cur;
        }
        Self {
            model,
            pulls: n,
            decision,
            value: next[0],
        }
    }

    /// The model it solves.
    pub fn model(&self) -> Model {
        self.model
    }

    /// Episode length.
    pub fn pulls(&self) -> usize {
        self.pulls
    }

    /// Expected total reward of an episode under the prior, playing optimally: the
    /// Bayes-optimal total.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The decision byte of the state `stats` is in.
    fn decision(&self, stats: &ArmStats) -> u8 {
        let t = stats.total() as usize;
        assert!(t < self.pulls, "the episode has {} pulls", self.pulls);
        match self.model {
            Model::Independent { .. } => {
                let (n1, s1, s2) = (
                    stats.pulls[0] as usize,
                    stats.successes[0] as usize,
                    stats.successes[1] as usize,
                );
                self.decision[Self::layer(t) + Self::at(t, n1, s1, s2)]
            }
            _ => {
                let e = (stats.successes[0] + stats.failures(1)) as usize;
                self.decision[tri(t) + e]
            }
        }
    }

    /// The optimal arm in the state `stats` is in (binarised counts), ties at random.
    pub fn choose(&self, stats: &ArmStats, rng: &mut Rng) -> usize {
        match self.decision(stats) {
            2 => usize::from(rng.random_bool(0.5)),
            a => a as usize,
        }
    }
}

/// The Bayes-optimal policy of `family`, solved once and shared (the last four kept), or why
/// there is none.
pub fn for_family(family: &BanditFamily) -> Result<Arc<BayesOptimal>, String> {
    type Cache = Mutex<Vec<((BanditSetting, usize, usize), Arc<BayesOptimal>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (family.setting, family.arms, family.pulls);
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Some(found) = cache
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(k, _)| *k == key).map(|(_, t)| t.clone()))
    {
        return Ok(found);
    }
    let solved = Arc::new(BayesOptimal::new(family)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 4 {
            c.remove(0);
        }
        c.push((key, solved.clone()));
    }
    Ok(solved)
}
