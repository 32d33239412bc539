//! The link codec: encode → decode is the identity on valid experiments, and decoding any
//! string gives a valid experiment plus a list of problems, never a panic.

use metaplay::engine::meta::{Algo, InnerOptimizer};
use metaplay::engine::mlp::{Activation, Precision};
use metaplay::engine::optim::OptimizerKind;
use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::backend::Backend;
use metaplay::experiment::lessons::LESSONS;
use metaplay::experiment::state::{Experiment, Family, ViewState};
use metaplay::experiment::url::{decode, encode, MAX_POINTS};
use metaplay::experiment::{AgentAlgo, BanditConfig, Config, TaskKind};
use proptest::prelude::*;

fn sine_run(task: TaskKind) -> impl Strategy<Value = Config> {
    (
        prop::sample::select(Algo::ALL.to_vec()),
        (
            0u64..1_000_000,
            1usize..=200_000,
            1usize..=128,
            1usize..=100,
            1usize..=1000,
        ),
        (
            1e-6f64..10.0,
            1usize..=20,
            1usize..=100,
            prop::sample::select(InnerOptimizer::ALL.to_vec()),
            1e-6f64..10.0,
            any::<bool>(),
        ),
        (
            prop::collection::vec(1usize..=256, 1..=4),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            move |(
                algo,
                (seed, iters, mb, k, kq),
                (ilr, isteps, ib, iopt, mlr, mopt),
                (hidden, tanh, f64p, anneal),
            )| {
                let mut c = Config::new(task, algo);
                c.seed = seed;
                c.iters = iters;
                c.meta_batch = mb;
                c.k = k;
                c.k_query = kq;
                c.inner_lr = ilr;
                c.inner_steps = isteps;
                c.inner_batch = ib;
                c.inner_optimizer = iopt;
                c.meta_lr = mlr;
                c.meta_optimizer = if mopt {
                    OptimizerKind::Adam
                } else {
                    OptimizerKind::Sgd
                };
                c.anneal = anneal;
                c.hidden = hidden;
                c.activation = if tanh {
                    Activation::Tanh
                } else {
                    Activation::Relu
                };
                c.precision = if f64p { Precision::F64 } else { Precision::F32 };
                c
            },
        )
}

fn hide_names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z][a-z0-9-]{0,12}", 0..4)
}

fn sine_experiment() -> impl Strategy<Value = Experiment> {
    prop::sample::select(vec![TaskKind::Sine, TaskKind::SineReptile])
        .prop_flat_map(|task| prop::collection::vec(sine_run(task), 1..=4))
        .prop_map(|mut runs| {
            // experiment-level settings: one value for every run
            let first = runs[0].clone();
            for c in &mut runs {
                c.seed = first.seed;
                c.iters = first.iters;
                c.backend = first.backend;
            }
            runs
        })
        .prop_flat_map(|runs| {
            (
                Just(runs),
                1usize..=100,
                any::<bool>(),
                0u64..1000,
                prop::option::of(prop::collection::vec(
                    (-5000i32..=5000, -6000i32..=6000),
                    0..20,
                )),
                (any::<bool>(), any::<bool>(), hide_names()),
                (
                    prop::option::of(prop::sample::select(
                        LESSONS.iter().map(|l| l.id.to_string()).collect::<Vec<_>>(),
                    )),
                    any::<bool>(),
                    any::<bool>(),
                    (prop::option::of(1usize..=4), any::<bool>()),
                ),
            )
        })
        .prop_map(
            |(
                runs,
                fit_steps,
                log_scale,
                task_index,
                pts,
                (embed, autoplay, hide),
                (lesson, text, controls, (workers, strict_simd)),
            )| Experiment {
                family: Family::Sine,
                runs,
                bandit: Experiment::default().bandit,
                view: ViewState {
                    fit_steps,
                    log_scale,
                    task_index,
                    // points as the page stores them: rounded to 0.001
                    points: pts.map(|p| {
                        p.into_iter()
                            .map(|(x, y)| (x as f64 / 1000.0, y as f64 / 1000.0))
                            .collect()
                    }),
                    embed,
                    autoplay,
                    hide,
                    made_with: Some(env!("CARGO_PKG_VERSION").to_string()),
                    lesson,
                    text,
                    controls,
                    workers,
                    strict_simd,
                },
            },
        )
}

fn bandit_experiment() -> impl Strategy<Value = Experiment> {
    (
        prop::sample::select(BanditSetting::ALL.to_vec()),
        prop::sample::select(AgentAlgo::ALL.to_vec()),
        (
            2usize..=100,
            1usize..=10_000,
            0usize..=200_000,
            0u64..1_000_000,
            1usize..=128,
        ),
        (
            1e-6f64..100.0,
            1e-6f64..100.0,
            0.0f64..=1.0,
            1usize..=100_000,
            0u64..1_000_000,
        ),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(Backend::ALL.to_vec()),
        ),
        (any::<bool>(), any::<bool>(), hide_names()),
        (1usize..=256, 0.0f64..=1.0, 0.0f64..=1.0, 0.0f64..=1.0),
    )
        .prop_map(
            |(
                setting,
                algo,
                (arms, pulls, iters, seed, mb),
                (ilr, mlr, eps, episodes, eval_seed),
                (every, backend),
                (embed, autoplay, hide),
                (hidden, gamma, lambda, entropy),
            )| {
                let mut b = BanditConfig::new(setting, algo);
                b.arms = setting.fixed_arms().unwrap_or(arms);
                b.pulls = pulls;
                let lo = pulls.div_ceil(500);
                b.adapt_every = lo + every.index(pulls - lo + 1);
                b.iters = iters;
                b.seed = seed;
                b.meta_batch = mb;
                b.inner_lr = ilr;
                b.meta_lr = mlr;
                b.epsilon = eps;
                b.episodes = episodes;
                b.eval_seed = eval_seed;
                b.backend = backend;
                b.gamma = gamma;
                b.gae_lambda = lambda;
                b.entropy = entropy;
                if algo.is_rl2() {
                    // within RL²'s limits: pulls × hidden² and meta_batch × pulls × hidden
                    b.hidden = hidden.min((10_000_000 / pulls).isqrt()).max(1);
                    b.meta_batch = mb.min(2_000_000 / (b.pulls * b.hidden)).max(1);
                } else {
                    b.hidden = hidden;
                }
                Experiment {
                    family: Family::Bandit,
                    runs: Experiment::default().runs,
                    bandit: b,
                    view: ViewState {
                        embed,
                        autoplay,
                        hide,
                        made_with: Some(env!("CARGO_PKG_VERSION").to_string()),
                        ..ViewState::default()
                    },
                }
            },
        )
}

/// Everything a decoded experiment must satisfy.
fn assert_valid(e: &Experiment) {
    assert!((1..=4).contains(&e.runs.len()), "{} runs", e.runs.len());
    for c in &e.runs {
        c.validate().expect("decoded runs are valid");
        assert_eq!(c.task, e.runs[0].task, "one task family for all runs");
    }
    e.bandit.validate().expect("decoded bandit config is valid");
    assert!((1..=100).contains(&e.view.fit_steps));
    assert!(e.view.points.as_ref().is_none_or(|p| p.len() <= MAX_POINTS));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn sine_links_round_trip(e in sine_experiment()) {
        prop_assume!(e.runs.iter().all(|c| c.validate().is_ok()));
        let query = encode(&e);
        let (back, problems) = decode(&query);
        prop_assert_eq!(problems, Vec::<String>::new(), "{}", query);
        prop_assert_eq!(back, e);
    }

    #[test]
    fn bandit_links_round_trip(e in bandit_experiment()) {
        prop_assert!(e.bandit.validate().is_ok(), "{:?}", e.bandit.validate());
        let query = encode(&e);
        let (back, problems) = decode(&query);
        prop_assert_eq!(problems, Vec::<String>::new(), "{}", query);
        prop_assert_eq!(back, e);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn any_string_decodes_to_a_valid_experiment(s in ".{0,300}") {
        let (e, _) = decode(&s);
        assert_valid(&e);
    }

    #[test]
    fn hostile_key_values_decode_to_a_valid_experiment_with_problems(
        pairs in prop::collection::vec((
            prop::sample::select(vec!["v", "task", "runs", "seed", "iters", "meta_batch", "k", "k_query", "inner_lr",
                "inner_steps", "inner_batch", "inner_opt", "meta_lr", "meta_opt", "anneal", "hidden", "activation",
                "precision", "n", "log", "heldout", "pts", "embed", "autoplay", "hide", "setting", "agent", "arms",
                "pulls", "adapt_every", "epsilon", "episodes", "eval_seed", "zzz"]),
            prop_oneof![
                Just("NaN".to_string()), Just("inf".to_string()), Just("-1".to_string()), Just("1e308".to_string()),
                Just("99999999999999999999999".to_string()), Just("bandit".to_string()), Just("0".to_string()),
                Just("maml,reptile,fomaml,metasgd,pretrain,scratch,maml".to_string()), Just("%ZZ".to_string()),
                Just("1:2;3:x;999:1".to_string()), Just("40x0x40".to_string()), Just("".to_string()),
                "[ -~]{0,20}",
            ],
        ), 0..12)
    ) {
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (e, _) = decode(&query.join("&"));
        assert_valid(&e);
    }
}

#[test]
fn problems_name_the_field_and_the_range() {
    let (e, problems) =
        decode("v=1&task=sine&runs=maml,bogus&k=1000&inner_lr=NaN&hidden=40x0&colour=red&n=0");
    assert_valid(&e);
    assert_eq!(e.runs.len(), 1);
    let all = problems.join("\n");
    for needle in [
        "`runs`: 'bogus'",
        "`k` (every run)",
        "1..=100",
        "`inner_lr` (every run)",
        "`hidden` (every run)",
        "`colour`",
        "`n` (fit steps)",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in\n{all}");
    }
    // every rejected setting states what is accepted
    let k_line = problems
        .iter()
        .find(|p| p.starts_with("`k`"))
        .expect("k reported");
    assert!(
        k_line.contains("'NaN'") || k_line.contains("1000"),
        "{k_line}"
    );
    assert!(k_line.contains("accepted: 1..=100"), "{k_line}");
    let (b, problems) =
        decode("task=bandit&arms=abc&epsilon=2&pulls=0&setting=sideways&backend=tpu");
    assert_valid(&b);
    assert_eq!(b.bandit.backend, Backend::Auto);
    let all = problems.join("\n");
    for needle in [
        "`arms`",
        "accepted: 2..=100",
        "`epsilon`",
        "accepted: [0, 1]",
        "`pulls`",
        "accepted: 1..=10000",
        "`setting`",
        "`backend`: 'tpu' is not auto, cpu or webgpu",
        "accepted: auto, cpu or webgpu",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in\n{all}");
    }
    // thousands of runs are cut to four
    let many = vec!["maml"; 5000].join(",");
    let (e, problems) = decode(&format!(
        "runs={many}&hidden=256x256x256x256&meta_batch=128"
    ));
    assert_eq!(e.runs.len(), 4);
    assert!(
        problems.iter().any(|p| p.contains("at most 4")),
        "{problems:?}"
    );
    // a huge link is read only in part
    let (e, problems) = decode(&"x".repeat(100_000));
    assert_valid(&e);
    assert!(problems.iter().any(|p| p.contains("only the first")));
}

#[test]
fn a_link_reads_back_what_the_page_writes() {
    let mut e = Experiment::default();
    e.runs[1].inner_lr = 0.02;
    e.view.points = Some(vec![(1.25, -0.5), (2.0, 3.0)]);
    e.view.made_with = Some(env!("CARGO_PKG_VERSION").to_string());
    let q = encode(&e);
    assert!(
        q.ends_with(&format!("&app={}", env!("CARGO_PKG_VERSION"))),
        "{q}"
    );
    assert!(q.starts_with("v=1&task=sine&runs=maml,pretrain&"), "{q}");
    assert!(q.contains("&inner_lr=0.01,0.02&"), "{q}");
    assert!(q.contains("&pts=1.25:-0.5;2:3"), "{q}");
    assert_eq!(decode(&format!("?{q}")).0, e);
    let (b, problems) = decode("task=bandit&backend=webgpu&episodes=50000");
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(b.bandit.backend, Backend::WebGpu);
    assert!(encode(&b).contains("&backend=webgpu"), "{}", encode(&b));
}

#[test]
fn the_workers_key_pins_the_training_workers_within_1_to_4() {
    let (e, problems) = decode("v=1&task=sine&workers=2");
    assert_eq!(
        (e.view.workers, problems.len()),
        (Some(2), 0),
        "{problems:?}"
    );
    assert!(encode(&e).contains("workers=2"));
    for bad in ["0", "5", "two", "-1", "99999999999999999999"] {
        let (e, problems) = decode(&format!("v=1&task=sine&workers={bad}"));
        assert_eq!(e.view.workers, None, "{bad}");
        assert!(
            problems.len() == 1
                && problems[0].contains("`workers`")
                && problems[0].contains("1 to 4"),
            "{bad}: {problems:?}"
        );
    }
    assert!(!encode(&decode("v=1&task=sine").0).contains("workers"));
}

#[test]
fn the_simd_key_pins_the_strict_worker_and_refuses_other_values() {
    let (e, problems) = decode("v=1&task=sine&simd=strict");
    assert!(e.view.strict_simd && problems.is_empty(), "{problems:?}");
    assert!(encode(&e).contains("simd=strict"));
    let (e, problems) = decode("v=1&task=sine&simd=auto");
    assert!(!e.view.strict_simd && problems.is_empty(), "{problems:?}");
    assert!(
        !encode(&e).contains("simd"),
        "auto is the default, not written"
    );
    let (e, problems) = decode("v=1&task=sine&simd=fast");
    assert!(!e.view.strict_simd);
    assert!(
        problems.len() == 1 && problems[0].contains("`simd`") && problems[0].contains("strict"),
        "{problems:?}"
    );
}
