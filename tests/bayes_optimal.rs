//! The Bayes-optimal programme against brute force: an expectimax over every sequence of
//! actions and rewards of a tiny horizon, with the posterior predictive computed from the
//! likelihood of the whole history under the prior (Gauss–Legendre quadrature, exact for these
//! polynomial integrands), so neither the state aggregation nor the closed-form posteriors of
//! `bayes_optimal.rs` are reused. Then its value against the simulated mean of its policy, and
//! the reference totals at n = 100.

use metaplay::engine::bandit::bayes_optimal::{self, BayesOptimal, Model};
use metaplay::engine::bandit::{evaluate, ArmStats, Baseline, Policy};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BanditFamily, BanditSetting};

/// Nodes and weights of the `m`-point Gauss–Legendre rule on [0, 1] (Newton on Pₘ).
fn gauss_legendre(m: usize) -> Vec<(f64, f64)> {
    (0..m)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (m as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                // P₀ = 1, P₁ = x, (k+1)P_{k+1} = (2k+1)x·P_k − k·P_{k−1}
                let (mut p0, mut p1) = (1.0, x);
                for k in 1..m {
                    let p2 = ((2 * k + 1) as f64 * x * p1 - k as f64 * p0) / (k + 1) as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = m as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-15 {
                    break;
                }
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            ((x + 1.0) / 2.0, w / 2.0)
        })
        .collect()
}

/// The prior as weighted worlds: each world fixes both arms' means.
fn worlds(setting: BanditSetting, priors: [(f64, f64); 2]) -> Vec<(f64, [f64; 2])> {
    let gl = gauss_legendre(16);
    match setting.dependent_pair() {
        Some(low) => vec![(0.5, [low, 1.0 - low]), (0.5, [1.0 - low, low])],
        None if setting.is_dependent() => gl.iter().map(|&(q, w)| (w, [q, 1.0 - q])).collect(),
        None => {
            // Beta(a, b) density, a and b whole: q^{a−1}(1 − q)^{b−1} / B(a, b)
            let density = |q: f64, (a, b): (f64, f64)| {
                let beta = gl
                    .iter()
                    .map(|&(x, w)| w * x.powf(a - 1.0) * (1.0 - x).powf(b - 1.0))
                    .sum::<f64>();
                q.powf(a - 1.0) * (1.0 - q).powf(b - 1.0) / beta
            };
            let mut v = Vec::new();
            for &(q1, w1) in &gl {
                for &(q2, w2) in &gl {
                    v.push((
                        w1 * w2 * density(q1, priors[0]) * density(q2, priors[1]),
                        [q1, q2],
                    ));
                }
            }
            v
        }
    }
}

/// Expectimax over histories: `weights` are the worlds' prior weights times the likelihood of
/// the history so far; returns the optimal expected reward of the `left` pulls still to come.
fn brute_force(worlds: &[(f64, [f64; 2])], weights: &[f64], left: usize) -> f64 {
    if left == 0 {
        return 0.0;
    }
    let z: f64 = weights.iter().sum();
    (0..2)
        .map(|arm| {
            let p1: f64 = weights
                .iter()
                .zip(worlds)
                .map(|(w, (_, q))| w * q[arm])
                .sum::<f64>()
                / z;
            let after = |r: bool| -> Vec<f64> {
                weights
                    .iter()
                    .zip(worlds)
                    .map(|(w, (_, q))| w * if r { q[arm] } else { 1.0 - q[arm] })
                    .collect()
            };
            p1 * (1.0 + brute_force(worlds, &after(true), left - 1))
                + (1.0 - p1) * brute_force(worlds, &after(false), left - 1)
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

fn family(setting: BanditSetting, pulls: usize) -> BanditFamily {
    BanditFamily {
        setting,
        arms: 2,
        pulls,
    }
}

#[test]
fn the_programme_equals_brute_force_enumeration_on_tiny_horizons() {
    for setting in [
        BanditSetting::DependentEasy,
        BanditSetting::DependentMedium,
        BanditSetting::DependentHard,
        BanditSetting::DependentUniform,
        BanditSetting::Independent,
        BanditSetting::Skewed,
    ] {
        let priors = match Model::of(&family(setting, 1)).unwrap() {
            Model::Independent { priors } => priors,
            _ => [(1.0, 1.0); 2],
        };
        let w = worlds(setting, priors);
        let prior: Vec<f64> = w.iter().map(|(p, _)| *p).collect();
        for n in 1..=5 {
            let dp = BayesOptimal::new(&family(setting, n)).unwrap().value();
            let bf = brute_force(&w, &prior, n);
            assert!(
                (dp - bf).abs() < 1e-9,
                "{} n = {n}: DP {dp} against enumeration {bf}",
                setting.name()
            );
        }
    }
    // and by hand, independent U[0, 1] arms, n = 2: the first pull earns ½; after a success
    // (p ½) stay, 2/3; after a failure switch to the untried arm, ½: ½ + ½·2/3 + ½·½ = 13/12
    let v = BayesOptimal::new(&family(BanditSetting::Independent, 2))
        .unwrap()
        .value();
    assert!((v - 13.0 / 12.0).abs() < 1e-12, "{v}");
}

#[test]
fn the_reference_totals_at_100_pulls() {
    // the issue's figures (two decimals, rounded half up) and ours to four: easy is 89.375
    // exactly, which `{:.2}` prints as 89.37 (it rounds the tie to even)
    for (setting, issue, ours) in [
        (BanditSetting::DependentEasy, 89.38, 89.375),
        (BanditSetting::DependentMedium, 74.00, 74.0),
        (BanditSetting::DependentHard, 57.69, 57.6879),
        (BanditSetting::DependentUniform, 73.78, 73.7786),
    ] {
        let v = BayesOptimal::new(&family(setting, 100)).unwrap().value();
        assert!((v - ours).abs() < 5e-5, "{}: {v:.10}", setting.name());
        let half_up = (v * 100.0 + 0.5 + 1e-9).floor() / 100.0;
        assert!(
            (half_up - issue).abs() < 1e-9,
            "{}: {v:.10}",
            setting.name()
        );
    }
}

#[test]
fn its_simulated_mean_matches_its_value_and_beats_the_other_policies() {
    for (setting, pulls) in [
        (BanditSetting::DependentMedium, 100),
        (BanditSetting::DependentUniform, 100),
        (BanditSetting::Independent, 60),
        (BanditSetting::Skewed, 30),
    ] {
        let fam = family(setting, pulls);
        let dp = bayes_optimal::for_family(&fam).unwrap();
        let value = dp.value();
        let policies = [
            Policy::BayesOptimal(dp),
            Policy::Baseline(Baseline::Greedy),
            Policy::Baseline(Baseline::Thompson),
        ];
        let rep = evaluate(&fam, &policies, 20_000, 11, 1);
        let (m, se) = (rep[0].mean_total_reward, rep[0].stderr);
        assert!(
            (m - value).abs() < 4.0 * se,
            "{}: simulated {m} ± {se}, DP {value}",
            setting.name()
        );
        // no policy beats it in expectation: each other one's simulated mean stays below the
        // DP value (4 standard errors of slack)
        for r in &rep[1..] {
            assert!(
                r.mean_total_reward < value + 4.0 * r.stderr,
                "{}: {} {} ± {} above the optimum {value}",
                setting.name(),
                r.policy,
                r.mean_total_reward,
                r.stderr
            );
        }
    }
}

#[test]
fn ties_are_broken_at_random_and_decisions_follow_the_posterior() {
    let dp = BayesOptimal::new(&family(BanditSetting::Independent, 10)).unwrap();
    let mut r = rng(3, Stream::Bandit);
    // the first pull: both arms alike
    let n = 4000;
    let zeros = (0..n)
        .filter(|_| dp.choose(&ArmStats::new(2), &mut r) == 0)
        .count();
    let sd = (n as f64 * 0.25).sqrt();
    assert!((zeros as f64 - n as f64 / 2.0).abs() < 4.0 * sd, "{zeros}");
    // arm 0 failed once, arm 1 untried: the untried arm (mean ½ against ⅓)
    let s = ArmStats::from_counts(&[1, 0], &[0, 0]);
    assert!((0..100).all(|_| dp.choose(&s, &mut r) == 1));
    // dependent medium: three successes of the second arm (evidence that p₂ = ¾) → arm 1;
    // three failures of the second arm: the same evidence as three successes of the first → 0
    let dep = BayesOptimal::new(&family(BanditSetting::DependentMedium, 10)).unwrap();
    let s = ArmStats::from_counts(&[0, 3], &[0, 3]);
    assert!((0..100).all(|_| dep.choose(&s, &mut r) == 1));
    let s = ArmStats::from_counts(&[0, 3], &[0, 0]);
    assert!((0..100).all(|_| dep.choose(&s, &mut r) == 0));
}

#[test]
fn too_large_or_unknown_families_are_refused_with_the_reason() {
    // n = 100, two independent arms: C(104, 4) = 4.6 million states, accepted
    assert_eq!(
        Model::Independent {
            priors: [(1.0, 1.0); 2]
        }
        .states(100),
        4_598_126
    );
    assert!(BayesOptimal::new(&family(BanditSetting::Independent, 100)).is_ok());
    let e = BayesOptimal::new(&family(BanditSetting::Independent, 500)).unwrap_err();
    assert!(e.contains("2656615626 posterior states"), "{e}");
    let five = BanditFamily {
        setting: BanditSetting::Independent,
        arms: 5,
        pulls: 10,
    };
    assert!(BayesOptimal::new(&five).unwrap_err().contains("5 arms"));
    let inf = BanditFamily {
        setting: BanditSetting::Informative,
        arms: 11,
        pulls: 5,
    };
    assert!(BayesOptimal::new(&inf).unwrap_err().contains("informative"));
}
