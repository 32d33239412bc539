//! The Gittins index against published values, and the table the policy uses against the
//! single-state computation.
//!
//! Published values (Gittins' tables for Bernoulli arms with a uniform prior, as reprinted in
//! Christian & Griffiths 2016, "Algorithms to Live By", ch. 2, whose records "w–l" are
//! Beta(1 + w, 1 + l) posteriors): γ = 0.9: 0–0 → 0.7029, 1–1 → 0.6346, 2–2 → 0.6010,
//! 9–1 → 0.8695, and in the book's example a 9–6 machine scores 0.6300 against the 1–1
//! machine's 0.6346; γ = 0.99: 0–0 → 0.8699.

use metaplay::engine::bandit::gittins::{self, gittins_index, GittinsTable};
use metaplay::engine::bandit::{ArmStats, Baseline};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::BanditTask;

/// Rounds to four decimals, as the tables print.
fn four(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

#[test]
fn indices_match_the_published_tables_to_four_decimals() {
    for (wins, losses, published) in [
        (0, 0, 0.7029),
        (1, 1, 0.6346),
        (2, 2, 0.6010),
        (9, 1, 0.8695),
        (9, 6, 0.6300),
    ] {
        let v = gittins_index(1.0 + wins as f64, 1.0 + losses as f64, 0.9, 300);
        assert_eq!(four(v), published, "γ = 0.9, {wins}–{losses}: {v:.6}");
    }
    let v = gittins_index(1.0, 1.0, 0.99, 3000);
    assert_eq!(four(v), 0.8699, "γ = 0.99, 0–0: {v:.6}");
}

#[test]
fn the_table_agrees_with_the_single_state_index() {
    for (discount, pulls) in [(0.9, 60), (0.99, 60)] {
        let table = GittinsTable::new(discount, pulls);
        let depth = 2 * gittins::truncation_depth(discount) + pulls;
        for (s, f) in [
            (0, 0),
            (1, 1),
            (9, 1),
            (0, 5),
            (5, 0),
            (20, 30),
            (0, 59),
            (59, 1),
        ] {
            let exact = gittins_index(1.0 + s as f64, 1.0 + f as f64, discount, depth);
            let got = table.index(s, f);
            assert!(
                (got - exact).abs() < 1e-4,
                "γ = {discount}, ({s}, {f}): table {got:.6}, exact {exact:.6}"
            );
        }
    }
}

#[test]
fn indices_rise_with_successes_fall_with_failures_and_exceed_the_mean() {
    let t = GittinsTable::new(0.95, 40);
    for s in 0..20u32 {
        for f in 0..20u32 {
            let v = t.index(s, f);
            let mean = (s as f64 + 1.0) / (s as f64 + f as f64 + 2.0);
            assert!(v > mean, "({s}, {f}): {v} ≤ mean {mean}");
            assert!(t.index(s + 1, f) > v, "({s}, {f}) win-stay");
            assert!(t.index(s, f + 1) < v, "({s}, {f})");
        }
    }
}

#[test]
fn the_policy_explores_where_greedy_exploits() {
    // the book's example: a 1–1 arm (mean ½, index 0.6346) against a 9–6 arm (mean 10/17,
    // index 0.6300) at γ = 0.9: Gittins tries the less known arm, greedy the better mean
    let t = GittinsTable::new(0.9, 20);
    let s = ArmStats::from_counts(&[2, 15], &[1, 9]);
    let mut r = rng(1, Stream::Bandit);
    assert!((0..50).all(|_| t.choose(&s, &mut r) == 0));
    let task = BanditTask::bernoulli(vec![0.5, 0.5]);
    assert!((0..50).all(|_| Baseline::Greedy.choose(&s, &task, &mut r) == 1));
}

#[test]
fn the_discount_follows_the_horizon() {
    assert_eq!(gittins::discount_for(1), 0.5);
    assert!((gittins::discount_for(10) - 10.0 / 11.0).abs() < 1e-12);
    assert_eq!(gittins::discount_for(100), 0.99);
    assert_eq!(gittins::discount_for(500), 0.99);
    assert!(gittins::table_for(gittins::MAX_PULLS + 1).is_none());
    // shared: the same table twice
    let (a, b) = (
        gittins::table_for(7).unwrap(),
        gittins::table_for(7).unwrap(),
    );
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}
