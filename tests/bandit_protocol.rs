//! The evaluation protocol and the new bandit pieces: optimistic Thompson sampling, rewards in
//! [0, 1] (binarised for the Beta-posterior policies), the informative-arm and skewed-prior
//! families, the CLI's per-policy evaluation against the page's, and paired differences.

use metaplay::engine::bandit::agent::{initial_params, SoftmaxAgent};
use metaplay::engine::bandit::eval::{policy_rng, stream_index};
use metaplay::engine::bandit::policies::optimistic_draw;
use metaplay::engine::bandit::{evaluate, paired_difference, ArmStats, Baseline, Policy};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::bandit::informative;
use metaplay::engine::tasks::{BanditFamily, BanditSetting, BanditTask};
use metaplay::experiment::AgentAlgo;
use metaplay::experiment::{BanditConfig, BanditRunner};

#[test]
fn ots_is_thompson_raised_to_the_posterior_mean() {
    let mut r = rng(1, Stream::Bandit);
    // never below the posterior mean, on any counts
    for (n, s) in [(0, 0), (1, 0), (1, 1), (10, 3), (40, 39), (7, 0)] {
        let stats = ArmStats::from_counts(&[n], &[s]);
        let mean = (s as f64 + 1.0) / (n as f64 + 2.0);
        assert!((0..2000).all(|_| optimistic_draw(&stats, 0, &mut r) >= mean));
    }
    // untried arm: max(U, ½) has mean ½·½ + ∫_{½}^{1} u du = 5/8 and equals ½ half the time
    let fresh = ArmStats::new(1);
    let n = 40_000;
    let draws: Vec<f64> = (0..n).map(|_| optimistic_draw(&fresh, 0, &mut r)).collect();
    let mean = draws.iter().sum::<f64>() / n as f64;
    // sd of max(U, ½): E[X²] = ⅛ + 7/24 = 5/12, var = 5/12 − 25/64 ≈ 0.026
    assert!(
        (mean - 0.625).abs() < 4.0 * (0.026f64 / n as f64).sqrt(),
        "{mean}"
    );
    let at_mean = draws.iter().filter(|&&d| d == 0.5).count() as f64 / n as f64;
    assert!((at_mean - 0.5).abs() < 0.01, "{at_mean}");
    // and it plays the arm of the larger value: Beta(31, 1) against Beta(1, 31)
    let s = ArmStats::from_counts(&[30, 30], &[30, 0]);
    let t = BanditTask::bernoulli(vec![0.5, 0.5]);
    let ots = Baseline::OptimisticThompson;
    assert!((0..500).all(|_| ots.choose(&s, &t, &mut r) == 0));
}

#[test]
fn fractional_rewards_are_binarised_by_a_bernoulli_draw() {
    let mut r = rng(2, Stream::Bandit);
    let mut s = ArmStats::new(2);
    let n = 20_000;
    for _ in 0..n {
        s.record(0, 0.3, &mut r);
    }
    assert_eq!(s.pulls[0], n);
    assert!(
        (s.rewards[0] - 0.3 * n as f64).abs() < 1e-6,
        "sums stay exact"
    );
    let p = f64::from(s.successes[0]) / f64::from(n);
    assert!((p - 0.3).abs() < 4.0 * (0.21 / f64::from(n)).sqrt(), "{p}");
    // 0 and 1 draw nothing: the stream is where it was
    let (mut a, mut b) = (rng(3, Stream::Bandit), rng(3, Stream::Bandit));
    let mut t = ArmStats::new(2);
    t.record(1, 1.0, &mut a);
    t.record(1, 0.0, &mut a);
    assert_eq!((t.successes[1], t.pulls[1]), (1, 2));
    use rand::Rng as _;
    assert_eq!(a.random::<u64>(), b.random::<u64>());
}

fn informative_family(pulls: usize) -> BanditFamily {
    BanditFamily {
        setting: BanditSetting::Informative,
        arms: informative::ARMS,
        pulls,
    }
}

#[test]
fn on_the_informative_arm_classical_policies_fall_short_of_pull_it_once_then_exploit() {
    // optimal (Wang et al.): the informative arm, E[0.02·(j + 1)] = 0.11, then the target for
    // the 4 pulls left: 4.11 (20.55 in the paper's units)
    let fam = informative_family(5);
    let c = BanditConfig::new(BanditSetting::Informative, AgentAlgo::Scratch);
    assert_eq!((c.arms, c.pulls), (11, 5));
    let runner = BanditRunner::new(c).unwrap();
    let policies = runner.baselines();
    let names: Vec<String> = policies.iter().map(|p| p.name()).collect();
    assert!(!names.contains(&"bayes-optimal".to_string()), "{names:?}");
    let rep = evaluate(&fam, &policies, 4000, 3, 5);
    let oracle = rep.iter().find(|r| r.policy == "oracle").unwrap();
    assert_eq!(oracle.mean_total_reward, 5.0, "the target every pull");
    assert_eq!(oracle.stderr, 0.0);
    let random = rep.iter().find(|r| r.policy == "random").unwrap();
    // random: E[reward] = (1 + 9·0.22 + 0.11)/11 = 0.28 per pull
    let expected = 5.0 * (1.0 + 9.0 * 0.22 + 0.11) / 11.0;
    assert!((random.mean_total_reward - expected).abs() < 4.0 * random.stderr);
    for r in &rep {
        if r.policy != "oracle" {
            assert!(
                r.mean_total_reward < 4.11,
                "{}: {}",
                r.policy,
                r.mean_total_reward
            );
        }
    }
}

#[test]
fn a_policy_reports_the_same_alone_as_in_the_pages_list() {
    // the CLI evaluates each policy on its own; the page evaluates the classical policies in
    // one list and the agent alone: every policy's figures must be the same either way
    for setting in [
        BanditSetting::DependentMedium,
        BanditSetting::Independent,
        BanditSetting::Informative,
        BanditSetting::Skewed,
    ] {
        let mut c = BanditConfig::new(setting, AgentAlgo::Maml);
        c.iters = 5;
        let mut runner = BanditRunner::new(c).unwrap();
        for _ in 0..5 {
            runner.step().unwrap();
        }
        let mut all = runner.baselines();
        all.push(runner.agent());
        let page = runner.evaluate(&runner.baselines(), 300, 10);
        let page_agent = runner.evaluate(&[runner.agent()], 300, 10);
        let together = runner.evaluate(&all, 300, 10);
        for (i, policy) in all.iter().enumerate() {
            let alone = runner.evaluate(std::slice::from_ref(policy), 300, 10);
            let in_page = if i < page.len() {
                &page[i]
            } else {
                &page_agent[0]
            };
            assert_eq!(&alone[0], in_page, "{}: {}", setting.name(), policy.name());
            assert_eq!(&alone[0], &together[i], "{}", policy.name());
        }
        // reversing the list changes nothing either
        let mut reversed = all.clone();
        reversed.reverse();
        let back = runner.evaluate(&reversed, 300, 10);
        for (r, t) in back.iter().rev().zip(&together) {
            assert_eq!(r, t);
        }
    }
    // distinct names, distinct streams
    let names = [
        "random",
        "greedy",
        "eps-greedy",
        "ucb1",
        "thompson",
        "ots",
        "gittins",
    ];
    let mut idx: Vec<u64> = names.iter().map(|n| stream_index(n)).collect();
    idx.sort();
    idx.dedup();
    assert_eq!(idx.len(), names.len());
}

fn agent(logits: Vec<f64>) -> SoftmaxAgent {
    let mut p = initial_params(logits.len(), 2.0);
    p.values[0] = logits;
    SoftmaxAgent::new(&p, 1)
}

#[test]
fn the_paired_difference_is_the_difference_of_the_reported_means_with_its_own_error() {
    let fam = BanditFamily {
        setting: BanditSetting::Skewed,
        arms: 5,
        pulls: 20,
    };
    let good = Policy::Agent("agent-x".into(), agent(vec![2.0, 0.0, 0.0, 0.0, 0.0]));
    let flat = Policy::Agent("agent-x".into(), agent(vec![0.0; 5]));
    let d = paired_difference(&fam, &good, &flat, 3000, 4);
    let (a, b) = (
        evaluate(&fam, std::slice::from_ref(&good), 3000, 4, 1).remove(0),
        evaluate(&fam, std::slice::from_ref(&flat), 3000, 4, 1).remove(0),
    );
    // both play with agent-x's stream, so the mean is exactly the difference of the means
    assert!((d.mean - (a.mean_total_reward - b.mean_total_reward)).abs() < 1e-9);
    assert_eq!(d.episodes, 3000);
    // leaning on the usually good arm pays, many standard errors
    assert!(d.mean > 8.0 * d.stderr, "{d:?}");
    // the error of the paired differences, not of the two means: common draws make it smaller
    assert!(d.stderr < a.stderr.hypot(b.stderr), "{d:?} {a:?} {b:?}");
    // a policy against itself: exactly zero
    let z = paired_difference(&fam, &good, &good, 500, 4);
    assert_eq!((z.mean, z.stderr), (0.0, 0.0));
    // the stream is the first policy's
    let mut r1 = policy_rng(4, Stream::Bandit, "agent-x");
    let mut r2 = policy_rng(4, Stream::Bandit, &good.name());
    use rand::Rng as _;
    assert_eq!(r1.random::<u64>(), r2.random::<u64>());
}

#[test]
fn on_skewed_priors_meta_learning_beats_the_untrained_agent_by_many_standard_errors() {
    // the defaults (5 arms × 20 pulls, MAML, 1000 iterations, Adam 0.001)
    let c = BanditConfig::new(BanditSetting::Skewed, AgentAlgo::Maml);
    assert_eq!((c.arms, c.pulls, c.iters), (5, 20, 1000));
    let untrained = BanditRunner::new(c.clone()).unwrap().agent();
    let mut run = BanditRunner::new(c.clone()).unwrap();
    let curve: Vec<f64> = (0..c.iters).map(|_| run.step().unwrap()).collect();
    let d = paired_difference(&c.family(), &run.agent(), &untrained, 4000, c.eval_seed);
    assert!(d.mean > 0.5 && d.mean > 10.0 * d.stderr, "{d:?}");
    // the meta-training curve rises: the last 100 iterations above the first 100
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (first, last) = (mean(&curve[..100]), mean(&curve[900..]));
    assert!(last > first + 0.03, "{first} → {last}");
    // and the untrained form (scratch) against itself is exactly zero
    let s = BanditConfig::new(BanditSetting::Skewed, AgentAlgo::Scratch);
    let scratch = BanditRunner::new(s.clone()).unwrap().agent();
    let z = paired_difference(&s.family(), &scratch, &untrained, 200, 1);
    assert_eq!(z.mean, 0.0);
}

#[test]
fn the_new_settings_are_validated_and_couple_arms_and_pulls() {
    let mut c = BanditConfig::new(BanditSetting::Informative, AgentAlgo::Maml);
    c.arms = 10;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("`arms`") && e.contains("exactly 11"), "{e}");
    // switching: medium (2 × 100) → informative (11 × 5) → skewed (5 × 20) → independent
    let mut c = BanditConfig::default();
    c.set_setting(BanditSetting::Informative);
    assert_eq!((c.arms, c.pulls), (11, 5));
    c.set_setting(BanditSetting::Skewed);
    assert_eq!((c.arms, c.pulls), (5, 20));
    c.set_setting(BanditSetting::Independent);
    assert_eq!((c.arms, c.pulls), (10, 100));
    (c.arms, c.pulls) = (7, 37);
    c.set_setting(BanditSetting::Skewed);
    assert_eq!((c.arms, c.pulls), (7, 37), "what the user set stays");
    c.validate().unwrap();
    for s in BanditSetting::ALL {
        let c = BanditConfig::new(s, AgentAlgo::Maml);
        c.validate().unwrap();
        assert_eq!(BanditSetting::parse(s.name()), Some(s));
    }
    let mut c = BanditConfig::new(BanditSetting::Skewed, AgentAlgo::Maml);
    c.arms = 2;
    c.validate().unwrap();
    // two skewed arms: the Bayes-optimal programme knows their priors
    let names: Vec<String> = BanditRunner::new(c)
        .unwrap()
        .baselines()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(
        names,
        [
            "random",
            "greedy",
            "eps-greedy",
            "ucb1",
            "thompson",
            "ots",
            "gittins",
            "bayes-optimal",
            "oracle"
        ]
    );
}
