//! Behaviour of the learners: Reptile against a hand computation, adaptation helping on
//! held-out tasks, determinism.

use metaplay::engine::meta::{Algo, Learner, LearnerSpec};
use metaplay::engine::mlp::{Activation, Mlp, Precision};
use metaplay::engine::optim::OptimizerKind;
use metaplay::engine::params::ParamSet;
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::RegressionBatch;
use metaplay::experiment::{Config, EvalSpec, Runner, TaskKind};

/// A 1-2-1 tanh network, forward and gradient of the MSE written out by hand.
struct TinyNet {
    w0: [f64; 2],
    b0: [f64; 2],
    w1: [f64; 2],
    b1: f64,
}

impl TinyNet {
    fn sgd_step(&mut self, xs: &[f64], ys: &[f64], lr: f64) {
        let n = xs.len() as f64;
        let (mut gw0, mut gb0, mut gw1, mut gb1) = ([0.0; 2], [0.0; 2], [0.0; 2], 0.0);
        for (&x, &y) in xs.iter().zip(ys) {
            let h = [
                (x * self.w0[0] + self.b0[0]).tanh(),
                (x * self.w0[1] + self.b0[1]).tanh(),
            ];
            let pred = h[0] * self.w1[0] + h[1] * self.w1[1] + self.b1;
            let d = 2.0 * (pred - y) / n; // dL/dŷ for L = mean (ŷ − y)²
            gb1 += d;
            for j in 0..2 {
                gw1[j] += d * h[j];
                let dz = d * self.w1[j] * (1.0 - h[j] * h[j]);
                gw0[j] += dz * x;
                gb0[j] += dz;
            }
        }
        for j in 0..2 {
            self.w0[j] -= lr * gw0[j];
            self.b0[j] -= lr * gb0[j];
            self.w1[j] -= lr * gw1[j];
        }
        self.b1 -= lr * gb1;
    }

    fn flat(&self) -> Vec<f64> {
        vec![
            self.w0[0], self.w0[1], self.b0[0], self.b0[1], self.w1[0], self.w1[1], self.b1,
        ]
    }
}

#[test]
fn reptile_step_equals_hand_computation() {
    let mlp = Mlp::new(1, &[2], 1, Activation::Tanh);
    let spec = LearnerSpec {
        algo: Algo::Reptile,
        mlp: mlp.clone(),
        inner_lr: 0.1,
        inner_steps: 2,
        inner_batch: 2,
        inner_optimizer: OptimizerKind::Sgd,
        meta_lr: 0.5,
        meta_optimizer: OptimizerKind::Sgd,
        anneal_iters: None,
        precision: Precision::F64,
    };
    let mut learner = Learner::new(spec, &mut rng(0, Stream::Init));
    let start = TinyNet {
        w0: [0.3, -0.7],
        b0: [0.1, 0.2],
        w1: [0.9, -0.4],
        b1: 0.05,
    };
    let mut params = ParamSet::new();
    params.push("w0", vec![1, 2], start.w0.to_vec());
    params.push("b0", vec![1, 2], start.b0.to_vec());
    params.push("w1", vec![2, 1], start.w1.to_vec());
    params.push("b1", vec![1, 1], vec![start.b1]);
    learner.set_params(params);
    // two tasks, four support points each (two minibatches of two)
    let xs = vec![-1.0, 0.5, 2.0, -0.3, 0.7, -2.2, 1.1, 0.0];
    let ys = vec![0.4, -0.2, 1.5, 0.9, -1.0, 0.3, 0.8, -0.6];
    let batch = RegressionBatch {
        tasks: 2,
        n_support: 4,
        n_query: 1,
        xs: xs.clone(),
        ys: ys.clone(),
        xq: vec![0.0, 0.0],
        yq: vec![0.0, 0.0],
    };
    learner.step(&batch).unwrap();

    // by hand: each task runs SGD on points (0,1) then (2,3); θ ← θ + ε·(mean θ' − θ)
    let mut mean = [0.0; 7];
    for t in 0..2 {
        let mut net = TinyNet { ..start };
        for mb in 0..2 {
            let r = t * 4 + mb * 2..t * 4 + mb * 2 + 2;
            net.sgd_step(&xs[r.clone()], &ys[r], 0.1);
        }
        for (m, v) in mean.iter_mut().zip(net.flat()) {
            *m += v / 2.0;
        }
    }
    let expected: Vec<f64> = start
        .flat()
        .iter()
        .zip(mean)
        .map(|(t, m)| t + 0.5 * (m - t))
        .collect();
    let got = learner.params().values.concat();
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() < 1e-12, "got {got:?}, expected {expected:?}");
    }
}

fn quick_config(task: TaskKind, algo: Algo, iters: usize) -> Config {
    let mut c = Config::new(task, algo);
    c.iters = iters;
    c
}

fn train(config: Config) -> Runner {
    let mut r = Runner::new(config).unwrap();
    for _ in 0..r.config().iters {
        r.step().unwrap();
    }
    r
}

#[test]
fn adaptation_lowers_the_loss_on_held_out_tasks() {
    let spec = EvalSpec {
        tasks: 200,
        query: 50,
        steps: vec![1, 10],
        seed: 99,
    };
    for algo in [
        Algo::Maml,
        Algo::Fomaml,
        Algo::MetaSgd,
        Algo::Reptile,
        Algo::Pretrain,
        Algo::Scratch,
    ] {
        // Reptile moves the initialisation more slowly (outer step 0.1, annealed)
        let iters = if algo == Algo::Reptile { 2000 } else { 300 };
        let r = train(quick_config(TaskKind::Sine, algo, iters));
        let rep = r.evaluate(&spec).unwrap();
        let (pre, one, ten) = (rep.pre.mean, rep.post[0].1.mean, rep.post[1].1.mean);
        assert!(one < pre, "{algo:?}: pre {pre}, 1 step {one}");
        // Meta-SGD learns rates for the step count it was trained with (one): ten steps of
        // them may overshoot, so only the others must keep improving.
        if algo != Algo::MetaSgd {
            assert!(ten < one, "{algo:?}: 1 step {one}, 10 steps {ten}");
        }
    }
}

#[test]
fn meta_training_beats_no_meta_training_after_one_step() {
    let spec = EvalSpec {
        tasks: 300,
        query: 50,
        steps: vec![1],
        seed: 5,
    };
    let maml = train(quick_config(TaskKind::Sine, Algo::Maml, 1500))
        .evaluate(&spec)
        .unwrap();
    let scratch = train(quick_config(TaskKind::Sine, Algo::Scratch, 1))
        .evaluate(&spec)
        .unwrap();
    assert!(
        maml.post[0].1.mean < 0.6 * scratch.post[0].1.mean,
        "MAML {} vs scratch {}",
        maml.post[0].1.mean,
        scratch.post[0].1.mean
    );
}

#[test]
fn same_seed_gives_bit_identical_losses_and_another_seed_does_not() {
    for (task, algo) in [
        (TaskKind::Sine, Algo::Maml),
        (TaskKind::SineReptile, Algo::Reptile),
        (TaskKind::Sine, Algo::MetaSgd),
    ] {
        let run = |seed| {
            let mut c = quick_config(task, algo, 10);
            c.seed = seed;
            let mut r = Runner::new(c).unwrap();
            (0..10)
                .map(|_| r.step().unwrap().to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}

#[test]
fn invalid_configs_name_the_field_and_range() {
    let mut c = Config::new(TaskKind::Sine, Algo::Maml);
    c.meta_batch = 0;
    let e = Runner::new(c).unwrap_err().to_string();
    assert!(e.contains("meta_batch") && e.contains("1..=128"), "{e}");
    let mut c = Config::new(TaskKind::Sine, Algo::Maml);
    c.inner_lr = f64::NAN;
    assert!(Runner::new(c).unwrap_err().to_string().contains("inner_lr"));
    let mut c = Config::new(TaskKind::Sine, Algo::Maml);
    c.hidden = vec![40, 300];
    assert!(Runner::new(c).unwrap_err().to_string().contains("hidden"));
}

#[test]
fn a_diverging_run_stops_with_the_iteration() {
    let mut c = Config::new(TaskKind::Sine, Algo::Maml);
    c.inner_lr = 10.0;
    c.meta_lr = 10.0;
    c.meta_optimizer = OptimizerKind::Sgd;
    let mut r = Runner::new(c).unwrap();
    let err = (0..200)
        .find_map(|_| r.step().err())
        .expect("should diverge");
    assert!(matches!(err, metaplay::Error::Diverged { .. }), "{err}");
    assert!(r.learner().params().all_finite());
}
