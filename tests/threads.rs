//! `train --threads N`: the meta-batch's tasks spread over threads give the same losses and
//! meta-parameters, bit for bit, for any number of threads (one test: the setting is global).

use metaplay::engine::meta::Algo;
use metaplay::engine::parallel::set_threads;
use metaplay::experiment::{Config, Runner, TaskKind};

fn trained(algo: Algo, inner_steps: usize, threads: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    set_threads(threads);
    let mut c = Config::new(TaskKind::Sine, algo);
    c.hidden = vec![24, 24];
    c.meta_batch = 7; // slices of unequal size for 2 and 3 threads
    c.inner_steps = inner_steps;
    let mut r = Runner::new(c).unwrap();
    let losses = (0..15).map(|_| r.step().unwrap()).collect();
    let params = r.learner().params().values.clone();
    set_threads(1);
    (losses, params)
}

#[test]
fn losses_are_the_same_for_any_number_of_threads() {
    for (algo, steps) in [
        (Algo::Maml, 1),
        (Algo::Maml, 3),
        (Algo::Fomaml, 2),
        (Algo::MetaSgd, 2),
    ] {
        let one = trained(algo, steps, 1);
        assert!(
            one.0.iter().all(|l| l.is_finite() && *l > 0.0),
            "{}",
            algo.name()
        );
        assert_ne!(one.0[0], one.0[14], "{}: the parameters move", algo.name());
        for threads in [2, 3, 7, 16] {
            let many = trained(algo, steps, threads);
            assert_eq!(
                many.0,
                one.0,
                "{} ({steps} steps), {threads} threads: losses",
                algo.name()
            );
            assert_eq!(
                many.1,
                one.1,
                "{} ({steps} steps), {threads} threads: parameters",
                algo.name()
            );
        }
    }
}
