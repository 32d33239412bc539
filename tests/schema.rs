//! The settings schema: the link codec, the page's controls and the CLI accept and refuse
//! exactly the same values of every setting, and give the same configuration when they accept
//! (a property test over the whole schema); the tables agree with the engine's enums and with
//! the defaults of every task family and algorithm.

use clap::{Args, Command, FromArgMatches};
use metaplay::engine::meta::Algo;
use metaplay::engine::tasks::BanditSetting;
use metaplay::experiment::backend::Backend;
use metaplay::experiment::schema::cli::{Bandit, Flags, Sine};
use metaplay::experiment::schema::edit::{edit_bandit, edit_runs, widget, Widget};
use metaplay::experiment::schema::{bandit, sine, DefaultsBy, Domain, Scope, BANDIT, SINE};
use metaplay::experiment::url::decode;
use metaplay::experiment::{AgentAlgo, BanditConfig, Config, TaskKind};
use proptest::prelude::*;

/// Text a user might type for a value of `domain`: in range, at and beyond the bounds, and
/// garbage. No commas: in a link they separate the runs' values.
fn texts(domain: Domain) -> BoxedStrategy<String> {
    let garbage = prop_oneof![
        Just(String::new()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just(" 7 ".to_string()),
        Just("99999999999999999999999".to_string()),
        "[ -+.-~]{0,10}",
    ];
    match domain {
        Domain::Whole { min, max } => prop_oneof![
            (min..=max).prop_map(|v| v.to_string()),
            Just(min.to_string()),
            Just(max.to_string()),
            Just(min.wrapping_sub(1).to_string()),
            Just(max.saturating_add(1).to_string()),
            any::<u64>().prop_map(|v| v.to_string()),
            (min..=max).prop_map(|v| format!("{v}.5")),
            garbage,
        ]
        .boxed(),
        Domain::Real { min, max, .. } => prop_oneof![
            (min..=max).prop_map(|v| v.to_string()),
            Just(min.to_string()),
            Just(max.to_string()),
            Just((max * 1.5 + 1.0).to_string()),
            (-1e3f64..1e3).prop_map(|v| v.to_string()),
            Just("1e-3".to_string()),
            garbage,
        ]
        .boxed(),
        Domain::Choice(choices) => prop_oneof![
            prop::sample::select(choices.iter().map(|c| c.0.to_string()).collect::<Vec<_>>()),
            prop::sample::select(
                choices
                    .iter()
                    .map(|c| c.0.to_uppercase())
                    .collect::<Vec<_>>()
            ),
            "[a-z-]{0,12}",
            garbage,
        ]
        .boxed(),
        Domain::Flag => prop::sample::select(
            ["0", "1", "true", "false", "2", "yes", ""]
                .map(String::from)
                .to_vec(),
        )
        .boxed(),
        Domain::Widths { .. } => prop_oneof![
            prop::collection::vec(0usize..300, 0..6).prop_map(|w| w
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("x")),
            Just("40x40".to_string()),
            Just("40x".to_string()),
            garbage,
        ]
        .boxed(),
    }
}

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What the CLI makes of `args` (the flags the `metaplay` binary flattens into its commands).
fn cli<T, C>(args: &[String], config: impl Fn(&Flags<T>) -> metaplay::Result<C>) -> Option<C>
where
    T: metaplay::experiment::schema::cli::Table,
{
    let cmd = Flags::<T>::augment_args(Command::new("metaplay"));
    let mut argv = vec!["metaplay".to_string()];
    argv.extend_from_slice(args);
    let matches = cmd.try_get_matches_from(argv).ok()?;
    config(&Flags::<T>::from_arg_matches(&matches).ok()?).ok()
}

fn sine_case() -> impl Strategy<Value = (usize, String)> {
    (0..SINE.len()).prop_flat_map(|i| (Just(i), texts(SINE[i].domain)))
}

fn bandit_case() -> impl Strategy<Value = (usize, String)> {
    (0..BANDIT.len()).prop_flat_map(|i| (Just(i), texts(BANDIT[i].domain)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn sine_link_control_and_cli_agree_on_every_setting((i, text) in sine_case()) {
        let s = &SINE[i];
        let base = Config::new(TaskKind::Sine, Algo::Maml);
        // the one rule: the setting's domain, then the configuration's validation
        let expected = s.domain.parse(&text).ok().and_then(|v| {
            let mut c = base.clone();
            (s.put)(&mut c, v);
            c.validate().ok().map(|_| c)
        });
        // `task=bandit` switches the page to the bandit view: not a sine task
        prop_assume!(!(s.link == "task" && text.trim() == "bandit"));
        let frame: String = ["task=sine", "runs=maml"]
            .iter()
            .filter(|kv| !kv.starts_with(&format!("{}=", s.link)))
            .map(|kv| format!("{kv}&"))
            .collect();
        let (e, problems) = decode(&format!("v=1&{frame}{}={}", s.link, enc(&text)));
        let by_link = (!problems.iter().any(|p| p.starts_with(&format!("`{}`", s.link))))
            .then(|| e.runs[0].clone());
        let by_control = edit_runs(s, std::slice::from_ref(&base), 0, &text).ok().map(|r| r[0].clone());
        let by_cli = cli::<Sine, _>(&[format!("--{}={text}", s.cli)], |f| f.config());
        prop_assert_eq!(&by_link, &expected, "link, {}={:?}: {:?}", s.link, text, problems);
        prop_assert_eq!(&by_control, &expected, "control, {}={:?}", s.control, text);
        prop_assert_eq!(&by_cli, &expected, "cli, --{}={:?}", s.cli, text);
    }

    #[test]
    fn bandit_link_control_and_cli_agree_on_every_setting((i, text) in bandit_case()) {
        let s = &BANDIT[i];
        // independent arms, so that `arms` is free (a dependent setting has exactly 2)
        let mut base = BanditConfig::default();
        base.set_setting(BanditSetting::Independent);
        let expected = s.domain.parse(&text).ok().and_then(|v| {
            let mut c = base.clone();
            (s.put)(&mut c, v);
            c.validate().ok().map(|_| c)
        });
        let prefix: String = ["setting=independent", "agent=maml"]
            .iter()
            .filter(|kv| !kv.starts_with(&format!("{}=", s.link)))
            .map(|kv| format!("{kv}&"))
            .collect();
        let (e, problems) = decode(&format!("task=bandit&{prefix}{}={}", s.link, enc(&text)));
        let by_link = problems.is_empty().then(|| e.bandit.clone());
        let by_control = edit_bandit(s, &base, &text).ok();
        let mut args = vec![format!("--{}={text}", s.cli)];
        if s.link != "setting" {
            args.push("--setting=independent".into());
        }
        if s.link != "agent" {
            args.push("--algo=maml".into());
        }
        let by_cli = cli::<Bandit, _>(&args, |f| f.config());
        prop_assert_eq!(&by_link, &expected, "link, {}={:?}: {:?}", s.link, text, problems);
        prop_assert_eq!(&by_control, &expected, "control, {}={:?}", s.control, text);
        prop_assert_eq!(&by_cli, &expected, "cli, --{}={:?}", s.cli, text);
    }
}

#[test]
fn the_tables_name_what_the_engine_offers() {
    let names = |c: &[(&str, &str)]| c.iter().map(|c| c.0.to_string()).collect::<Vec<_>>();
    let of = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        names(sine::ALGOS),
        of(Algo::ALL.iter().map(|a| a.name()).collect())
    );
    assert_eq!(
        names(sine::BACKENDS),
        of(Backend::ALL.iter().map(|b| b.name()).collect())
    );
    assert_eq!(
        names(sine::INNER_OPTIMIZERS),
        of(metaplay::engine::meta::InnerOptimizer::ALL
            .iter()
            .map(|o| o.name())
            .collect())
    );
    assert_eq!(
        names(sine::TASKS),
        of(vec![TaskKind::Sine.name(), TaskKind::SineReptile.name()])
    );
    assert_eq!(
        names(bandit::SETTINGS),
        of(BanditSetting::ALL.iter().map(|s| s.name()).collect())
    );
    assert_eq!(
        names(bandit::AGENTS),
        of(AgentAlgo::ALL.iter().map(|a| a.name()).collect())
    );
    for (name, _) in bandit::AGENTS {
        let mut c = BanditConfig::default();
        c.set_algo(AgentAlgo::parse(name).expect("an agent learner"));
        c.validate().expect("every agent has a bandit version");
    }
}

fn assert_unique(what: &str, keys: Vec<&str>) {
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "{what} are not unique: {keys:?}");
}

#[test]
fn keys_flags_and_controls_are_unique_and_spelled_alike() {
    for (links, clis, controls) in [
        (
            SINE.iter().map(|s| s.link).collect::<Vec<_>>(),
            SINE.iter().map(|s| s.cli).collect::<Vec<_>>(),
            SINE.iter().map(|s| s.control).collect::<Vec<_>>(),
        ),
        (
            BANDIT.iter().map(|s| s.link).collect::<Vec<_>>(),
            BANDIT.iter().map(|s| s.cli).collect::<Vec<_>>(),
            BANDIT.iter().map(|s| s.control).collect::<Vec<_>>(),
        ),
    ] {
        assert_unique("link keys", links.clone());
        assert_unique("flags", clis.clone());
        assert_unique("controls", controls);
        // the flag is the link key with dashes, except where the link names a list of runs
        for (link, flag) in links.iter().zip(&clis) {
            if !["runs", "agent"].contains(link) {
                assert_eq!(&link.replace('_', "-"), flag);
            }
        }
    }
}

#[test]
fn every_default_is_accepted_and_reads_back_as_written() {
    for task in [TaskKind::Sine, TaskKind::SineReptile] {
        for algo in Algo::ALL {
            let c = Config::new(task, algo);
            c.validate()
                .unwrap_or_else(|e| panic!("{task:?} {algo:?}: {e}"));
            for s in SINE {
                assert_eq!(s.domain.parse(&s.text(&c)), Ok((s.get)(&c)), "{}", s.link);
                let mut back = c.clone();
                (s.put)(&mut back, (s.get)(&c));
                if s.defaults_by != DefaultsBy::Frame {
                    assert_eq!(back, c, "{}: put(get) changes nothing", s.link);
                }
            }
        }
    }
    for setting in BanditSetting::ALL {
        let mut c = BanditConfig::default();
        c.set_setting(setting);
        c.validate().unwrap();
        for s in BANDIT {
            assert_eq!(s.domain.parse(&s.text(&c)), Ok((s.get)(&c)), "{}", s.link);
        }
    }
}

#[test]
fn switching_the_algorithm_keeps_the_task_level_settings() {
    let mut c = Config::new(TaskKind::Sine, Algo::Maml);
    c.k = 5;
    c.seed = 9;
    c.hidden = vec![20, 30];
    c.inner_steps = 3;
    let r = c.with_algo(Algo::Reptile);
    assert_eq!((r.k, r.seed, r.hidden.clone()), (5, 9, vec![20, 30]));
    assert_eq!(r.inner_batch, 5, "Reptile's minibatch follows K");
    assert_eq!(r.inner_steps, 5, "the algorithm's own inner steps");
    let t = r.with_task(TaskKind::SineReptile);
    assert_eq!((t.seed, t.hidden.clone()), (9, vec![64, 64]));
    assert_eq!(
        t.iters,
        Config::new(TaskKind::SineReptile, Algo::Reptile).iters
    );
}

#[test]
fn experiment_level_settings_take_one_value() {
    for s in SINE
        .iter()
        .filter(|s| s.scope == Scope::Experiment && s.link != "task")
    {
        let both = format!("{0},{0}", s.text(&Config::new(TaskKind::Sine, Algo::Maml)));
        let (e, problems) = decode(&format!("runs=maml,fomaml&{}={both}", s.link));
        assert!(
            problems
                .iter()
                .any(|p| p.contains(&format!("`{}`: one value for the whole experiment", s.link))),
            "{}: {problems:?}",
            s.link
        );
        assert_eq!(s.text(&e.runs[0]), s.text(&e.runs[1]));
    }
    // a control edits every run
    let runs = vec![
        Config::new(TaskKind::Sine, Algo::Maml),
        Config::new(TaskKind::Sine, Algo::Pretrain),
    ];
    let seed = SINE.iter().find(|s| s.link == "seed").unwrap();
    let edited = edit_runs(seed, &runs, 1, "42").unwrap();
    assert!(edited.iter().all(|c| c.seed == 42));
    let k = SINE.iter().find(|s| s.link == "k").unwrap();
    let edited = edit_runs(k, &runs, 1, "5").unwrap();
    assert_eq!((edited[0].k, edited[1].k), (10, 5));
}

#[test]
fn controls_show_the_bounds_that_parsing_checks() {
    for s in SINE
        .iter()
        .map(|s| (s.domain, s.link))
        .chain(BANDIT.iter().map(|s| (s.domain, s.link)))
    {
        match (s.0, widget(&s.0)) {
            (
                Domain::Whole { min, max },
                Widget::Number {
                    min: a,
                    max: b,
                    step,
                },
            ) => {
                assert_eq!(
                    (a, b, step),
                    (min.to_string(), max.to_string(), "1"),
                    "{}",
                    s.1
                )
            }
            (Domain::Real { min, max, .. }, Widget::Number { min: a, max: b, .. }) => {
                assert_eq!((a, b), (min.to_string(), max.to_string()), "{}", s.1)
            }
            (Domain::Choice(c), Widget::Select(options)) => assert_eq!(options, c.to_vec()),
            (Domain::Flag, Widget::Select(_)) | (Domain::Widths { .. }, Widget::Text) => {}
            (d, w) => panic!("{}: {d:?} shown as {w:?}", s.1),
        }
    }
}

#[test]
fn a_comparison_says_when_the_runs_learn_from_different_amounts_of_data() {
    let maml = Config::new(TaskKind::Sine, Algo::Maml);
    let reptile = maml.with_algo(Algo::Reptile);
    assert_eq!(
        (maml.points_per_task(), reptile.points_per_task()),
        (20, 50)
    );
    let note = Config::data_budget_note(&[maml.clone(), reptile]).expect("a note");
    assert!(note.contains("maml 20, reptile 50"), "{note}");
    let pre = maml.with_algo(Algo::Pretrain);
    assert_eq!(Config::data_budget_note(&[maml, pre]), None);
}

#[test]
fn the_fit_chart_warns_when_n_exceeds_the_steps_a_learned_rate_was_trained_for() {
    let maml = Config::new(TaskKind::Sine, Algo::Maml);
    let learned = Config::new(TaskKind::Sine, Algo::MetaSgdMomentum);
    let steps = learned.inner_steps;
    let runs = [maml.clone(), learned];
    // MAML's fixed α is what it is at any N: no note
    assert_eq!(Config::extra_steps_note(&[maml], 50), None);
    assert_eq!(Config::extra_steps_note(&runs, steps), None);
    let note = Config::extra_steps_note(&runs, steps + 1).expect("a note past the trained steps");
    assert!(
        note.contains(&format!("metasgd-momentum was trained with {steps}")),
        "{note}"
    );
    assert!(!note.contains("maml was"), "{note}");
}
