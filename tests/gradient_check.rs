//! "Check gradients": the exact meta-gradient agrees with central finite differences, first-order
//! MAML's visibly does not, and the check sees a sabotaged gradient; through the session as the
//! page asks for it.

use metaplay::engine::meta::Algo;
use metaplay::experiment::protocol::{Command, Event};
use metaplay::experiment::session::Session;
use metaplay::experiment::{Config, Runner, TaskKind};

fn config(algo: Algo) -> Config {
    let mut c = Config::new(TaskKind::Sine, algo);
    c.hidden = vec![20, 20];
    c.meta_batch = 5;
    c.inner_steps = c.inner_steps.min(3);
    c
}

/// A run trained `iters` iterations, so that the check is not only at the initialisation.
fn trained(algo: Algo, iters: usize) -> Runner {
    let mut r = Runner::new(config(algo)).unwrap();
    for _ in 0..iters {
        r.step().unwrap();
    }
    r
}

#[test]
fn the_exact_meta_gradient_agrees_with_finite_differences_and_first_order_does_not() {
    for algo in [Algo::Maml, Algo::Fomaml, Algo::MetaSgd] {
        let report = trained(algo, 20).check_gradients(4).unwrap();
        assert_eq!(report.algo, algo);
        assert_eq!(report.directions.len(), 4);
        // measured: ~1e-9; a first-order gradient passed off as exact would be off by > 1e-2
        assert!(
            report.exact_error < 1e-6,
            "{}: exact error {:e}",
            algo.name(),
            report.exact_error
        );
        let gap = report
            .first_order_gap
            .expect("MAML-family learners have a first-order variant");
        assert!(gap > 1e-2, "{}: first-order gap {gap:e}", algo.name());
        for d in &report.directions {
            let scale = d.exact.abs().max(1e-3);
            assert!(
                (d.exact - d.finite_difference).abs() / scale < 1e-4,
                "{d:?}"
            );
        }
        // sabotage: the first-order gradient, checked as if it were exact, fails the check
        let fo_error = report
            .directions
            .iter()
            .map(|d| (d.first_order.unwrap() - d.finite_difference).abs())
            .fold(0.0, f64::max);
        let exact_abs = report
            .directions
            .iter()
            .map(|d| (d.exact - d.finite_difference).abs())
            .fold(0.0, f64::max);
        assert!(
            fo_error > 1e3 * exact_abs,
            "{}: first-order {fo_error:e} vs exact {exact_abs:e}",
            algo.name()
        );
    }
}

#[test]
fn the_learned_optimiser_is_checked_through_all_its_inner_steps() {
    let report = trained(Algo::MetaSgdMomentum, 10)
        .check_gradients(3)
        .unwrap();
    assert!(report.exact_error < 1e-6, "{:e}", report.exact_error);
    assert_eq!(report.first_order_gap, None);
}

#[test]
fn the_check_is_reproducible_and_refuses_learners_without_an_inner_loop_gradient() {
    let r = trained(Algo::Maml, 5);
    assert_eq!(r.check_gradients(2).unwrap(), r.check_gradients(2).unwrap());
    for algo in [Algo::Reptile, Algo::Pretrain, Algo::Cnp] {
        let runner = Runner::new(Config::new(TaskKind::Sine, algo)).unwrap();
        let e = runner.check_gradients(2).unwrap_err().to_string();
        assert!(e.contains(algo.name()), "{e}");
    }
}

#[test]
fn the_session_answers_check_gradients_for_the_asked_run() {
    let mut s = Session::new();
    s.handle(Command::Configure {
        runs: vec![config(Algo::Pretrain), config(Algo::Fomaml)],
    });
    let events = s.handle(Command::CheckGradients { run: 1 });
    match &events[..] {
        [Event::GradientCheck { run: 1, report }] => {
            assert_eq!(report.algo, Algo::Fomaml);
            assert!(report.exact_error < 1e-6);
        }
        other => panic!("{other:?}"),
    }
    let events = s.handle(Command::CheckGradients { run: 0 });
    assert!(matches!(&events[..], [Event::Error { message }] if message.contains("pretrain")));
    let events = s.handle(Command::CheckGradients { run: 7 });
    assert!(matches!(&events[..], [Event::Error { message }] if message.contains("no run 7")));
}
