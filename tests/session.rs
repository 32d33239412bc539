//! The worker's training session, natively: commands in, batched events out.

use std::cell::Cell;

use metaplay::engine::meta::Algo;
use metaplay::experiment::protocol::{Command, Event, FitRequest};
use metaplay::experiment::session::Session;
use metaplay::experiment::AgentAlgo;
use metaplay::experiment::{Config, TaskKind};

fn runs() -> Vec<Config> {
    let mut a = Config::new(TaskKind::Sine, Algo::Maml);
    a.iters = 300;
    let mut b = Config::new(TaskKind::Sine, Algo::Pretrain);
    b.iters = 300;
    vec![a, b]
}

type Points = Vec<Vec<(usize, f64)>>;

fn progress(events: &[Event]) -> (&Vec<usize>, &Points, &Points, bool) {
    events
        .iter()
        .find_map(|e| match e {
            Event::Progress {
                iters,
                losses,
                validation,
                playing,
                ..
            } => Some((iters, losses, validation, *playing)),
            _ => None,
        })
        .expect("a progress event")
}

#[test]
fn step_play_and_chunks_report_batched_progress() {
    let mut s = Session::new();
    let ev = s.handle(Command::Configure { runs: runs() });
    assert_eq!(progress(&ev).0, &vec![0, 0]);
    let ev = s.handle(Command::Step);
    assert_eq!(progress(&ev).0, &vec![1, 1]);
    assert!(s.handle(Command::Play).is_empty());
    assert!(s.playing());
    // a fake clock that advances 1 ms per reading: a 50 ms budget is a few dozen rounds
    let t = Cell::new(0.0);
    let clock = || {
        t.set(t.get() + 1.0);
        t.get()
    };
    let ev = s.chunk(50.0, usize::MAX, &clock);
    let (iters, losses, _, playing) = progress(&ev);
    assert!(iters[0] > 1 && iters[0] == iters[1] && playing, "{iters:?}");
    assert_eq!(losses.len(), 2);
    // one batched event per chunk; its points fall on multiples of 10 iterations
    assert!(losses[0].iter().all(|p| p.0 % 10 == 0), "{losses:?}");
    assert_eq!(losses[0].len(), iters[0] / 10);
    // to the end: validation points every 100 iterations, then training stops by itself
    let mut validation = 0;
    while s.playing() {
        let ev = s.chunk(f64::INFINITY, 1000, &clock);
        validation += progress(&ev).2[0].len();
    }
    assert_eq!(s.runs()[0].iter(), 300);
    assert_eq!(validation, 3);
}

#[test]
fn fit_curves_follow_the_support_points() {
    let mut s = Session::new();
    s.handle(Command::Configure { runs: runs() });
    let request = |points: Vec<(f64, f64)>| Command::Fit(FitRequest { points, steps: 5 });
    let curves = |ev: Vec<Event>| match ev.into_iter().next() {
        Some(Event::Fit { grid, runs }) => (grid, runs),
        other => panic!("expected fit curves, got {other:?}"),
    };
    let (grid, none) = curves(s.handle(request(vec![])));
    assert_eq!(none.len(), 2);
    assert_eq!(
        none[0].before, none[0].many,
        "no points: nothing to adapt to"
    );
    let (_, some) = curves(s.handle(request(vec![(0.0, 3.0), (1.0, 3.0)])));
    assert_eq!(some[0].before, none[0].before);
    assert_ne!(some[0].one, some[0].before);
    // adapting towards y = 3 at x = 0 raises the prediction there
    let at0 = grid.iter().position(|&x| x.abs() < 1e-9).unwrap();
    assert!(some[0].many[at0] > some[0].before[at0]);
}

#[test]
fn bad_configurations_and_divergence_are_reported() {
    let mut s = Session::new();
    let ev = s.handle(Command::Configure { runs: vec![] });
    assert!(matches!(&ev[0], Event::Error { message } if message.contains("runs")));
    let mut bad = runs();
    bad[1].meta_batch = 0;
    let ev = s.handle(Command::Configure { runs: bad });
    assert!(matches!(&ev[0], Event::Error { message } if message.contains("meta_batch")));
    let mut wild = runs();
    wild[0].inner_lr = 10.0;
    wild[0].meta_lr = 10.0;
    wild[0].meta_optimizer = metaplay::engine::optim::OptimizerKind::Sgd;
    s.handle(Command::Configure { runs: wild });
    s.handle(Command::Play);
    let mut diverged = None;
    for _ in 0..50 {
        for e in s.chunk(f64::INFINITY, 10, &|| 0.0) {
            if let Event::Diverged { run, message } = e {
                diverged = Some((run, message));
            }
        }
    }
    let (run, message) = diverged.expect("the wild run diverges");
    assert_eq!(run, 0);
    assert!(
        message.contains("diverged at iteration") && message.contains("learning rate"),
        "{message}"
    );
    assert!(
        s.runs()[1].iter() > s.runs()[0].iter(),
        "the other run keeps training"
    );
}

#[test]
fn a_bandit_experiment_trains_in_chunks_and_reports_every_policy() {
    use metaplay::engine::tasks::BanditSetting;
    use metaplay::experiment::BanditConfig;
    let mut s = Session::new();
    let mut config = BanditConfig::new(BanditSetting::DependentMedium, AgentAlgo::Maml);
    config.iters = 60;
    config.episodes = 200;
    let ev = s.handle(Command::ConfigureBandit { config });
    assert_eq!(progress(&ev).0, &vec![0]);
    let eval = ev
        .iter()
        .find_map(|e| match e {
            Event::BanditEval(b) => Some(b),
            _ => None,
        })
        .expect("the first evaluation");
    let names: Vec<_> = eval.reports.iter().map(|r| r.policy.as_str()).collect();
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
            "oracle",
            "agent-maml"
        ]
    );
    assert_eq!(eval.means.len(), 2);
    assert_eq!(eval.usage.len(), 10);
    for u in &eval.usage {
        assert!(
            (u.iter().sum::<f64>() - 100.0).abs() < 1e-9,
            "every pull counted"
        );
    }
    s.handle(Command::Play);
    let t = Cell::new(0.0);
    let clock = || {
        t.set(t.get() + 1.0);
        t.get()
    };
    let mut evals = 0;
    let mut last = 0;
    while s.playing() {
        let ev = s.chunk(10.0, usize::MAX, &clock);
        last = progress(&ev).0[0];
        evals += ev
            .iter()
            .filter(|e| matches!(e, Event::BanditEval(_)))
            .count();
    }
    assert_eq!(last, 60, "trained to the end, then stopped");
    assert!(evals >= 1, "re-evaluated at least at the end");
    // back to sine runs: the bandit experiment is gone
    s.handle(Command::Configure { runs: runs() });
    assert!(s.bandit().is_none());
}

#[test]
fn the_logged_curve_does_not_depend_on_how_training_is_chunked() {
    let curve = |budget: f64| {
        let mut s = Session::new();
        s.handle(Command::Configure { runs: runs() });
        s.handle(Command::Play);
        let t = Cell::new(0.0);
        let clock = || {
            t.set(t.get() + 1.0);
            t.get()
        };
        let mut all: Vec<Vec<(usize, f64)>> = vec![Vec::new(); 2];
        while s.playing() {
            let ev = s.chunk(budget, usize::MAX, &clock);
            for (a, l) in all.iter_mut().zip(progress(&ev).1) {
                a.extend(l);
            }
        }
        all
    };
    let (a, b) = (curve(7.0), curve(53.0));
    assert_eq!(a[0].len(), 30);
    assert_eq!(a, b);
}

#[test]
fn parameters_export_and_import_through_safetensors() {
    let mut trained = Session::new();
    trained.handle(Command::Configure { runs: runs() });
    for _ in 0..5 {
        trained.handle(Command::Step);
    }
    let ev = trained.handle(Command::ExportParams {
        link: "?v=1".into(),
    });
    let bytes = match &ev[0] {
        Event::ParamsFile { bytes } => bytes.clone(),
        other => panic!("{other:?}"),
    };
    // a fresh session with the same settings takes them and predicts the same
    let mut fresh = Session::new();
    fresh.handle(Command::Configure { runs: runs() });
    let ev = fresh.handle(Command::ImportParams {
        bytes: bytes.clone(),
    });
    assert!(matches!(&ev[0], Event::Imported { .. }), "{ev:?}");
    for (a, b) in trained.runs().iter().zip(fresh.runs()) {
        assert!(
            a.learner().params() == b.learner().params(),
            "imported parameters differ"
        );
    }
    // other settings: the file is refused with the tensor and both shapes named
    let mut other = runs();
    for c in &mut other {
        c.hidden = vec![20, 20];
    }
    let mut wrong = Session::new();
    wrong.handle(Command::Configure { runs: other });
    let ev = wrong.handle(Command::ImportParams {
        bytes: bytes.clone(),
    });
    match &ev[0] {
        Event::Error { message } => {
            assert!(message.contains("`run0.w0` has shape [1, 40]"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // a corrupted file is refused
    let mut corrupt = bytes;
    corrupt[3] ^= 0x55;
    let ev = fresh.handle(Command::ImportParams { bytes: corrupt });
    assert!(
        matches!(&ev[0], Event::Error { message } if message.contains("parameter file rejected")),
        "{ev:?}"
    );
}

/// While training the fit curves are refreshed at most every 200 ms of the chunks' clock, and
/// Pause always sends them, so a paused page shows the fit of where training stopped.
#[test]
fn fit_curves_are_throttled_while_training_and_sent_on_pause() {
    let mut s = Session::new();
    s.handle(Command::Configure { runs: runs() });
    s.handle(Command::Fit(FitRequest {
        points: vec![(0.0, 1.0), (1.0, 2.0)],
        steps: 3,
    }));
    s.handle(Command::Play);
    let now = Cell::new(0.0);
    let clock = || {
        now.set(now.get() + 10.0);
        now.get()
    };
    let fits = |ev: &[Event]| ev.iter().filter(|e| matches!(e, Event::Fit { .. })).count();
    let mut shown = 0;
    for _ in 0..10 {
        shown += fits(&s.chunk(30.0, 1, &clock)); // each chunk reads the clock a few times: +10 ms each
    }
    assert!(
        (1..=3).contains(&shown),
        "{shown} fits in 10 chunks (~400 ms)"
    );
    assert_eq!(fits(&s.handle(Command::Pause)), 1, "Pause sends the fit");
}

#[test]
fn an_rl2_experiment_trains_evaluates_and_round_trips_its_weights() {
    use metaplay::engine::tasks::BanditSetting;
    use metaplay::experiment::BanditConfig;
    let mut config = BanditConfig::new(BanditSetting::DependentMedium, AgentAlgo::Rl2);
    config.iters = 4;
    config.episodes = 50;
    config.pulls = 20;
    config.hidden = 8;
    let mut s = Session::new();
    let ev = s.handle(Command::ConfigureBandit {
        config: config.clone(),
    });
    let eval = ev
        .iter()
        .find_map(|e| match e {
            Event::BanditEval(b) => Some(b),
            _ => None,
        })
        .expect("the first evaluation");
    assert_eq!(eval.reports.last().unwrap().policy, "agent-rl2");
    for _ in 0..4 {
        s.handle(Command::Step);
    }
    let ev = s.handle(Command::ExportParams {
        link: "?v=1".into(),
    });
    let bytes = match &ev[0] {
        Event::ParamsFile { bytes } => bytes.clone(),
        other => panic!("{other:?}"),
    };
    // the same settings take the trained GRU
    let mut fresh = Session::new();
    fresh.handle(Command::ConfigureBandit {
        config: config.clone(),
    });
    let ev = fresh.handle(Command::ImportParams {
        bytes: bytes.clone(),
    });
    assert!(matches!(&ev[0], Event::Imported { .. }), "{ev:?}");
    assert_eq!(
        s.bandit().unwrap().runner().learner().params(),
        fresh.bandit().unwrap().runner().learner().params()
    );
    // another width of the GRU refuses the file, naming the tensor
    let mut wider = config;
    wider.hidden = 9;
    let mut other = Session::new();
    other.handle(Command::ConfigureBandit { config: wider });
    let ev = other.handle(Command::ImportParams { bytes });
    match &ev[0] {
        Event::Error { message } => assert!(message.contains("gru.wx"), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// The new learners' meta-parameters (CNP and GRU networks; the learned optimiser's network,
/// rates `lr_*` and decays `beta_*`) go through the same safetensors file, and a file of one
/// learner is refused by a run of another.
#[test]
fn new_learners_export_and_import_their_parameters() {
    let small = |algo| {
        let mut c = Config::new(TaskKind::Sine, algo);
        c.hidden = vec![8, 8];
        c.iters = 50;
        c
    };
    let runs = || {
        vec![
            small(Algo::Cnp),
            small(Algo::Hypernet),
            small(Algo::MetaSgdMomentum),
        ]
    };
    let mut trained = Session::new();
    trained.handle(Command::Configure { runs: runs() });
    for _ in 0..3 {
        trained.handle(Command::Step);
    }
    let bytes = match &trained.handle(Command::ExportParams {
        link: "?v=1".into(),
    })[0]
    {
        Event::ParamsFile { bytes } => bytes.clone(),
        other => panic!("{other:?}"),
    };
    let mut fresh = Session::new();
    fresh.handle(Command::Configure { runs: runs() });
    let ev = fresh.handle(Command::ImportParams {
        bytes: bytes.clone(),
    });
    assert!(matches!(&ev[0], Event::Imported { .. }), "{ev:?}");
    for (a, b) in trained.runs().iter().zip(fresh.runs()) {
        assert!(a.learner().params() == b.learner().params());
    }
    let names = &fresh.runs()[2].learner().params().names;
    assert!(names.iter().any(|n| n.starts_with("beta_")), "{names:?}");
    // Meta-SGD has no decays: the learned optimiser's file does not fit it
    let mut other = runs();
    other[2] = small(Algo::MetaSgd);
    let mut wrong = Session::new();
    wrong.handle(Command::Configure { runs: other });
    let ev = wrong.handle(Command::ImportParams { bytes });
    assert!(
        matches!(&ev[0], Event::Error { message } if message.contains("run2")),
        "{ev:?}"
    );
}
