//! Bandits: each classical policy against its definition on hand-made cases, expected rewards
//! against values derived independently, and the agent's meta-gradient against finite
//! differences.

use metaplay::engine::bandit::agent::{initial_params, SoftmaxAgent};
use metaplay::engine::bandit::{
    evaluate, ArmStats, BanditLearner, BanditLearnerSpec, Baseline, Policy,
};
use metaplay::engine::meta::Algo;
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BanditFamily, BanditSetting, BanditTask, TaskFamily};
use metaplay::experiment::AgentAlgo;
use metaplay::experiment::{BanditConfig, BanditRunner};

fn task(means: &[f64]) -> BanditTask {
    BanditTask::bernoulli(means.to_vec())
}

fn stats(pulls: &[u32], successes: &[u32]) -> ArmStats {
    ArmStats::from_counts(pulls, successes)
}

#[test]
fn ucb1_plays_each_arm_once_in_order_then_the_largest_index() {
    let t = task(&[0.9, 0.1, 0.5, 0.3]);
    let mut r = rng(0, Stream::Bandit);
    let mut s = ArmStats::new(4);
    for expected in 0..4 {
        let a = Baseline::Ucb1.choose(&s, &t, &mut r);
        assert_eq!(a, expected, "UCB1 plays untried arms first, in order");
        s.record(a, 1.0, &mut r);
    }
    // t = 11: arm 0 has x̄ = 0.6 over 10 pulls: 0.6 + √(2 ln 11 / 10) = 1.2925;
    // arm 1 has x̄ = 0 over 1 pull: 0 + √(2 ln 11) = 2.1899 → arm 1
    let s = stats(&[10, 1], &[6, 0]);
    assert_eq!(Baseline::Ucb1.choose(&s, &task(&[0.5, 0.5]), &mut r), 1);
    // t = 40: arm 0 x̄ = 0.9 (30 pulls): 0.9 + √(2 ln 40 / 30) = 1.398;
    // arm 1 x̄ = 0.1 (10 pulls): 0.1 + √(2 ln 40 / 10) = 0.959 → arm 0
    let s = stats(&[30, 10], &[27, 1]);
    assert_eq!(Baseline::Ucb1.choose(&s, &task(&[0.5, 0.5]), &mut r), 0);
}

#[test]
fn thompson_samples_the_beta_posterior() {
    // arm 0 after one success: Beta(2, 1); arm 1 after one failure: Beta(1, 2).
    // P(X > Y) = ∫₀¹ 2x · (2x − x²) dx = 4/3 − 1/2 = 5/6.
    let s = stats(&[1, 1], &[1, 0]);
    let t = task(&[0.5, 0.5]);
    let mut r = rng(1, Stream::Bandit);
    let n = 40_000;
    let zeros = (0..n)
        .filter(|_| Baseline::Thompson.choose(&s, &t, &mut r) == 0)
        .count();
    let p = zeros as f64 / n as f64;
    let sd = (5.0 / 36.0 / n as f64).sqrt();
    assert!((p - 5.0 / 6.0).abs() < 4.0 * sd, "{p}");
    // a decisive posterior: Beta(31, 1) against Beta(1, 31) always picks arm 0
    let s = stats(&[30, 30], &[30, 0]);
    assert!((0..1000).all(|_| Baseline::Thompson.choose(&s, &t, &mut r) == 0));
}

#[test]
fn greedy_uses_the_posterior_mean_and_breaks_ties_at_random() {
    let t = task(&[0.5, 0.5]);
    let mut r = rng(2, Stream::Bandit);
    // arm 0 failed twice: (0 + 1)/(2 + 2) = 0.25 < 0.5 for the untried arm 1
    assert_eq!(
        Baseline::Greedy.choose(&stats(&[2, 0], &[0, 0]), &t, &mut r),
        1
    );
    // arm 0 one success: 2/3 > 1/2
    assert_eq!(
        Baseline::Greedy.choose(&stats(&[1, 0], &[1, 0]), &t, &mut r),
        0
    );
    // all untried: each arm 1/3 of the time
    let fresh = ArmStats::new(3);
    let n = 30_000;
    let mut counts = [0usize; 3];
    for _ in 0..n {
        counts[Baseline::Greedy.choose(&fresh, &task(&[0.1, 0.2, 0.3]), &mut r)] += 1;
    }
    for c in counts {
        let sd = (n as f64 * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
        assert!((c as f64 - n as f64 / 3.0).abs() < 4.0 * sd, "{counts:?}");
    }
}

#[test]
fn eps_greedy_explores_with_probability_epsilon() {
    // greedy prefers arm 0 (2/3 vs 1/3); ε = 0.1 over 2 arms picks arm 1 with ε/2 = 0.05
    let s = stats(&[1, 1], &[1, 0]);
    let t = task(&[0.5, 0.5]);
    let mut r = rng(3, Stream::Bandit);
    let policy = Baseline::EpsGreedy { epsilon: 0.1 };
    let n = 40_000;
    let ones = (0..n)
        .filter(|_| policy.choose(&s, &t, &mut r) == 1)
        .count() as f64;
    let sd = (n as f64 * 0.05 * 0.95).sqrt();
    assert!((ones - 0.05 * n as f64).abs() < 4.0 * sd, "{ones}");
}

#[test]
fn oracle_always_plays_the_best_arm() {
    let t = task(&[0.2, 0.7, 0.4]);
    let mut r = rng(4, Stream::Bandit);
    assert!((0..100).all(|_| Baseline::Oracle.choose(&ArmStats::new(3), &t, &mut r) == 1));
}

/// |x − expected| within 4 standard errors.
fn close(name: &str, mean: f64, se: f64, expected: f64) {
    assert!(
        (mean - expected).abs() < 4.0 * se.max(1e-9),
        "{name}: {mean} ± {se}, expected {expected}"
    );
}

#[test]
fn expected_rewards_match_their_derivations() {
    // independent U[0,1] arms: random earns n·E[μ] = n/2; the oracle earns n·E[max of k
    // uniforms] = n·k/(k+1)
    let fam = BanditFamily {
        setting: BanditSetting::Independent,
        arms: 5,
        pulls: 50,
    };
    let policies = [
        Policy::Baseline(Baseline::Random),
        Policy::Baseline(Baseline::Oracle),
    ];
    let rep = evaluate(&fam, &policies, 4000, 7, 10);
    close("random", rep[0].mean_total_reward, rep[0].stderr, 25.0);
    close(
        "oracle",
        rep[1].mean_total_reward,
        rep[1].stderr,
        50.0 * 5.0 / 6.0,
    );
    // random's expected regret after t pulls: t·(E[max] − E[μ]) = t·(5/6 − 1/2)
    let last = rep[0].regret_mean.len() - 1;
    close(
        "random regret",
        rep[0].regret_mean[last],
        rep[0].regret_stderr[last],
        50.0 / 3.0,
    );
    assert!(rep[1].regret_mean.iter().all(|&r| r == 0.0));
    // dependent medium: random n/2, oracle 0.75·n; dependent uniform: oracle n·E[max(p, 1−p)] = 0.75·n
    for setting in [
        BanditSetting::DependentMedium,
        BanditSetting::DependentUniform,
    ] {
        let fam = BanditFamily {
            setting,
            arms: 2,
            pulls: 100,
        };
        let rep = evaluate(&fam, &policies, 4000, 8, 10);
        close("random dep", rep[0].mean_total_reward, rep[0].stderr, 50.0);
        close("oracle dep", rep[1].mean_total_reward, rep[1].stderr, 75.0);
    }
}

#[test]
fn learning_policies_beat_random_and_stay_below_the_oracle() {
    let fam = BanditFamily {
        setting: BanditSetting::Independent,
        arms: 5,
        pulls: 100,
    };
    let rep = evaluate(&fam, &Baseline::all(0.1).map(Policy::Baseline), 2000, 9, 10);
    let (random, oracle) = (rep[0].mean_total_reward, rep[5].mean_total_reward);
    for r in &rep[1..5] {
        assert!(
            r.mean_total_reward > random + 10.0 && r.mean_total_reward < oracle,
            "{r:?}"
        );
    }
}

fn spec(algo: Algo, adapt_every: usize) -> BanditLearnerSpec {
    BanditLearnerSpec {
        algo,
        family: BanditFamily {
            setting: BanditSetting::Independent,
            arms: 3,
            pulls: 12,
        },
        meta_batch: 4,
        adapt_every,
        inner_lr: 1.5,
        meta_lr: 0.01,
        iters: 10,
        score_function: false,
    }
}

/// A learner with asymmetric meta-parameters so that no gradient vanishes by symmetry.
fn learner(algo: Algo, adapt_every: usize) -> BanditLearner {
    let mut l = BanditLearner::new(spec(algo, adapt_every));
    let mut p = initial_params(3, 1.5);
    p.values[0] = vec![0.3, -0.2, 0.1];
    p.values[1] = vec![0.45];
    p.values[2] = vec![1.5, 0.7, 2.2];
    l.set_params(p);
    l
}

#[test]
fn maml_and_metasgd_meta_gradients_match_finite_differences() {
    // The pulls are sampled from a fixed stream; a perturbation of 1e-6 does not change which
    // arm a uniform draw selects (unless it falls within 1e-6 of a threshold), so central
    // differences of the objective with the same stream give its exact derivative.
    for algo in [Algo::Maml, Algo::MetaSgd] {
        let l = learner(algo, 3);
        let mut r = rng(11, Stream::Train);
        let tasks: Vec<BanditTask> = (0..4)
            .map(|_| l.spec().family.sample_task(&mut r))
            .collect();
        let draws = rng(12, Stream::Train);
        let (_, grads) = l.meta_gradient(&tasks, &mut draws.clone()).unwrap();
        let h = 1e-6;
        for (i, g) in grads.iter().enumerate() {
            for (j, &gj) in g.iter().enumerate() {
                let eval = |d: f64| {
                    let mut m = l.clone();
                    let mut p = m.params().clone();
                    p.values[i][j] += d;
                    m.set_params(p);
                    -m.meta_gradient(&tasks, &mut draws.clone()).unwrap().0
                };
                let fd = (eval(h) - eval(-h)) / (2.0 * h);
                assert!(
                    (fd - gj).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "{algo:?} param {i}[{j}]: autograd {gj} vs finite differences {fd}"
                );
            }
        }
        assert!(
            grads[0].iter().any(|g| g.abs() > 1e-4),
            "non-trivial gradient"
        );
        assert!(
            grads[2].iter().any(|g| g.abs() > 1e-6),
            "step sizes get a gradient"
        );
    }
}

#[test]
fn first_order_drops_only_the_second_order_term() {
    let mut r = rng(13, Stream::Train);
    let l2 = learner(Algo::Maml, 3);
    let l1 = learner(Algo::Fomaml, 3);
    let tasks: Vec<BanditTask> = (0..4)
        .map(|_| l2.spec().family.sample_task(&mut r))
        .collect();
    let draws = rng(14, Stream::Train);
    let (o2, g2) = l2.meta_gradient(&tasks, &mut draws.clone()).unwrap();
    let (o1, g1) = l1.meta_gradient(&tasks, &mut draws.clone()).unwrap();
    assert_eq!(o1, o2, "same objective");
    assert!(
        g1[0].iter().zip(&g2[0]).any(|(a, b)| (a - b).abs() > 1e-6),
        "second order matters"
    );
    // one block (no adaptation inside the episode): nothing to drop, gradients agree
    let (a, b) = (learner(Algo::Maml, 12), learner(Algo::Fomaml, 12));
    let (_, ga) = a.meta_gradient(&tasks, &mut draws.clone()).unwrap();
    let (_, gb) = b.meta_gradient(&tasks, &mut draws.clone()).unwrap();
    assert_eq!(ga, gb);
}

#[test]
fn the_agent_with_zero_step_size_plays_uniformly() {
    // α = 0: π stays uniform, so its expected reward is n·mean(μ) exactly
    let agent = SoftmaxAgent::new(&initial_params(4, 0.0), 1);
    let t = task(&[0.1, 0.2, 0.6, 0.9]);
    let ep = agent.play(&t, 40, &mut rng(5, Stream::Bandit), |_, _| {});
    assert!((ep.expected_reward - 40.0 * 0.45).abs() < 1e-12);
}

#[test]
fn meta_training_beats_the_untrained_agent_on_dependent_arms_and_is_deterministic() {
    let eval = |algo: AgentAlgo, iters: usize| {
        let mut c = BanditConfig::new(BanditSetting::DependentEasy, algo);
        c.iters = iters;
        c.inner_lr = 0.2; // a poor starting step size the meta-learner must fix
        c.meta_lr = 0.01;
        c.episodes = 2000;
        let mut run = BanditRunner::new(c.clone()).unwrap();
        let curve: Vec<f64> = (0..iters).map(|_| run.step().unwrap()).collect();
        let rep = run.evaluate(&[run.agent()], c.episodes, 5).remove(0);
        (rep, curve)
    };
    let (untrained, _) = eval(AgentAlgo::Scratch, 0);
    let (trained, curve) = eval(AgentAlgo::MetaSgd, 150);
    assert!(
        trained.mean_total_reward
            > untrained.mean_total_reward + 4.0 * (trained.stderr + untrained.stderr),
        "{} ± {} vs untrained {} ± {}",
        trained.mean_total_reward,
        trained.stderr,
        untrained.mean_total_reward,
        untrained.stderr
    );
    let (_, again) = eval(AgentAlgo::MetaSgd, 150);
    assert_eq!(curve, again, "same seed, same run");
}

#[test]
fn invalid_bandit_configs_name_the_field() {
    let mut c = BanditConfig::new(BanditSetting::DependentHard, AgentAlgo::Maml);
    c.arms = 3;
    assert!(c.validate().unwrap_err().to_string().contains("`arms`"));
    let mut c = BanditConfig::new(BanditSetting::Independent, AgentAlgo::Maml);
    c.pulls = 10_000;
    c.adapt_every = 1;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("`adapt_every`") && e.contains("500"), "{e}");
    c.adapt_every = 20;
    assert!(c.validate().is_ok());
    // RL²'s limits: a hostile link cannot ask for an episode or an iteration too big
    c.set_algo(AgentAlgo::Rl2);
    c.hidden = 256;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("`hidden`") && e.contains("10000000"), "{e}");
    c.set_pulls(100);
    c.meta_batch = 128;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("`meta_batch`") && e.contains("2000000"), "{e}");
    c.meta_batch = 16;
    assert!(c.validate().is_ok());
}

/// The exact expected objective of a two-pull episode adapting after the first pull (k = 2),
/// by enumerating the first pull's arm and reward:
/// `J = ½ [π₀·μ + Σ_a π₀(a) Σ_r P(r | a) π₁(a, r)·μ]`, `π₁ = softmax(θ₀ + α ⊙ (r − b)(e_a − π₀))`.
fn exact_two_pull_objective(logits: &[f64], b: f64, alpha: &[f64], mu: &[f64]) -> f64 {
    let softmax = |t: &[f64]| {
        let m = t[0].max(t[1]);
        let e = [(t[0] - m).exp(), (t[1] - m).exp()];
        [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])]
    };
    let dot = |p: [f64; 2]| p[0] * mu[0] + p[1] * mu[1];
    let pi0 = softmax(logits);
    let mut later = 0.0;
    for a in 0..2 {
        for (r, pr) in [(0.0, 1.0 - mu[a]), (1.0, mu[a])] {
            let theta1: Vec<f64> = (0..2)
                .map(|i| {
                    let e = if i == a { 1.0 } else { 0.0 };
                    logits[i] + alpha[i] * (r - b) * (e - pi0[i])
                })
                .collect();
            later += pi0[a] * pr * dot(softmax(&theta1));
        }
    }
    0.5 * (dot(pi0) + later)
}

#[test]
fn the_full_meta_gradient_is_unbiased_for_the_expected_objective() {
    // Pathwise plus score-function parts, averaged over many sampled meta-batches, against
    // central differences of the exact expectation above (Meta-SGD: every parameter counts).
    let mut s = spec(Algo::MetaSgd, 1);
    s.family = BanditFamily {
        setting: BanditSetting::Independent,
        arms: 2,
        pulls: 2,
    };
    s.score_function = true;
    let mut l = BanditLearner::new(s);
    let mut p = initial_params(2, 1.0);
    p.values[0] = vec![0.4, -0.3];
    p.values[1] = vec![0.35];
    p.values[2] = vec![2.5, 1.5];
    l.set_params(p.clone());
    let mu = [0.3, 0.8];
    let tasks = vec![task(&mu); 64];
    let mut r = rng(21, Stream::Train);
    let m = 400;
    let mut sums = vec![vec![0.0; 2], vec![0.0; 1], vec![0.0; 2]];
    let mut squares = sums.clone();
    for _ in 0..m {
        let (_, g) = l.meta_gradient(&tasks, &mut r).unwrap();
        for i in 0..3 {
            for (j, v) in g[i].iter().enumerate() {
                sums[i][j] += v;
                squares[i][j] += v * v;
            }
        }
    }
    let h = 1e-6;
    for i in 0..3 {
        for j in 0..p.values[i].len() {
            let at = |d: f64| {
                let mut q = p.clone();
                q.values[i][j] += d;
                exact_two_pull_objective(&q.values[0], q.values[1][0], &q.values[2], &mu)
            };
            // meta_gradient returns the gradient of −J
            let exact = -(at(h) - at(-h)) / (2.0 * h);
            let mean = sums[i][j] / m as f64;
            let se = ((squares[i][j] / m as f64 - mean * mean) / m as f64).sqrt();
            assert!(
                (mean - exact).abs() < 4.0 * se + 1e-4,
                "param {i}[{j}]: estimate {mean} ± {se}, exact {exact}"
            );
        }
    }
}

#[test]
fn the_written_out_reverse_pass_equals_autograd() {
    for (algo, score) in [
        (Algo::Maml, true),
        (Algo::Maml, false),
        (Algo::Fomaml, true),
        (Algo::MetaSgd, true),
    ] {
        let mut s = spec(algo, 2);
        s.score_function = score;
        s.family.pulls = 13; // a shorter last block
        let mut l = BanditLearner::new(s);
        let mut p = initial_params(3, 1.5);
        p.values[0] = vec![0.3, -0.2, 0.1];
        p.values[1] = vec![0.45];
        p.values[2] = vec![1.5, 0.7, 2.2];
        l.set_params(p);
        let mut r = rng(31, Stream::Train);
        let tasks: Vec<BanditTask> = (0..5)
            .map(|_| l.spec().family.sample_task(&mut r))
            .collect();
        let draws = rng(32, Stream::Train);
        let (o1, g1) = l.meta_gradient(&tasks, &mut draws.clone()).unwrap();
        let (o2, g2) = l
            .meta_gradient_autograd(&tasks, &mut draws.clone())
            .unwrap();
        assert!((o1 - o2).abs() < 1e-12, "{o1} vs {o2}");
        for (a, b) in g1.iter().flatten().zip(g2.iter().flatten()) {
            assert!(
                (a - b).abs() <= 1e-10 * (1.0 + b.abs()),
                "{algo:?} score={score}: {g1:?} vs {g2:?}"
            );
        }
    }
}
