//! Behaviour of the learners: Reptile (SGD and both inner Adams, training, evaluation and fit
//! curves) against hand computations; on held-out tasks what each learner's training gives
//! that a broken one would not (MAML below half of pre-training after one step, ...);
//! determinism.

use metaplay::engine::meta::eval::adaptation_mse;
use metaplay::engine::meta::{Algo, InnerOptimizer, Learner, LearnerSpec, LrInit};
use metaplay::engine::mlp::{Activation, Mlp, Precision};
use metaplay::engine::optim::OptimizerKind;
use metaplay::engine::params::{to_host, ParamSet};
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
    /// The gradient of `L = mean (ŷ − y)²` over the points, flat as [`TinyNet::flat`].
    fn grad(&self, xs: &[f64], ys: &[f64]) -> [f64; 7] {
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
        [gw0[0], gw0[1], gb0[0], gb0[1], gw1[0], gw1[1], gb1]
    }

    fn predict(&self, x: f64) -> f64 {
        let h0 = (x * self.w0[0] + self.b0[0]).tanh();
        let h1 = (x * self.w0[1] + self.b0[1]).tanh();
        h0 * self.w1[0] + h1 * self.w1[1] + self.b1
    }

    fn mse(&self, xs: &[f64], ys: &[f64]) -> f64 {
        let sq: f64 = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| (self.predict(x) - y).powi(2))
            .sum();
        sq / xs.len() as f64
    }

    /// `θ ← θ − δ` for a flat `δ`.
    fn sub(&mut self, d: &[f64; 7]) {
        let mut f = self.flat();
        for (f, d) in f.iter_mut().zip(d) {
            *f -= d;
        }
        *self = Self::from_flat(&f);
    }

    fn sgd_step(&mut self, xs: &[f64], ys: &[f64], lr: f64) {
        let g = self.grad(xs, ys);
        self.sub(&g.map(|g| lr * g));
    }

    fn flat(&self) -> Vec<f64> {
        vec![
            self.w0[0], self.w0[1], self.b0[0], self.b0[1], self.w1[0], self.w1[1], self.b1,
        ]
    }

    fn from_flat(f: &[f64]) -> Self {
        Self {
            w0: [f[0], f[1]],
            b0: [f[2], f[3]],
            w1: [f[4], f[5]],
            b1: f[6],
        }
    }

    fn param_set(&self) -> ParamSet {
        let mut params = ParamSet::new();
        params.push("w0", vec![1, 2], self.w0.to_vec());
        params.push("b0", vec![1, 2], self.b0.to_vec());
        params.push("w1", vec![2, 1], self.w1.to_vec());
        params.push("b1", vec![1, 1], vec![self.b1]);
        params
    }
}

/// Adam with β₁ = 0, β₂ = 0.999, ε = 1e-8 written out (TensorFlow's AdamOptimizer(beta1=0)
/// of supervised-reptile, with ε on the bias-corrected root): `v ← β₂v + (1 − β₂)g²`,
/// `θ ← θ − lr·g / (√(v / (1 − β₂ᵗ)) + ε)`.
#[derive(Clone, Copy, Default)]
struct HandAdam {
    v: [f64; 7],
    t: i32,
}

impl HandAdam {
    fn step(&mut self, net: &mut TinyNet, xs: &[f64], ys: &[f64], lr: f64) {
        let g = net.grad(xs, ys);
        self.t += 1;
        let c2 = 1.0 - 0.999f64.powi(self.t);
        let mut d = [0.0; 7];
        for i in 0..7 {
            self.v[i] = 0.999 * self.v[i] + 0.001 * g[i] * g[i];
            d[i] = lr * g[i] / ((self.v[i] / c2).sqrt() + 1e-8);
        }
        net.sub(&d);
    }
}

const START: TinyNet = TinyNet {
    w0: [0.3, -0.7],
    b0: [0.1, 0.2],
    w1: [0.9, -0.4],
    b1: 0.05,
};

fn tiny_reptile(inner: InnerOptimizer) -> LearnerSpec {
    LearnerSpec {
        algo: Algo::Reptile,
        mlp: Mlp::new(1, &[2], 1, Activation::Tanh),
        inner_lr: 0.1,
        inner_steps: 2,
        lr_init: LrInit::Constant,
        momentum: 0.0,
        inner_batch: 2,
        inner_optimizer: inner,
        meta_lr: 0.5,
        meta_optimizer: OptimizerKind::Sgd,
        anneal_iters: None,
        precision: Precision::F64,
        meta_clip: None,
    }
}

fn close(got: &[f64], expected: &[f64], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            (g - e).abs() < 1e-12,
            "{what}: got {got:?}, expected {expected:?}"
        );
    }
}

#[test]
fn reptile_step_equals_hand_computation() {
    let mut learner = Learner::new(tiny_reptile(InnerOptimizer::Sgd), &mut rng(0, Stream::Init));
    let start = START;
    learner.set_params(start.param_set());
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
    close(&learner.params().values.concat(), &expected, "Reptile step");
}

/// Reptile with inner Adam, both variants, two meta-iterations by hand: `adam` (the authors')
/// goes on from each meta-batch slot's state — moments and step count — across iterations,
/// `adam-per-task` starts every task afresh. Evaluation then fine-tunes with the same rule:
/// `adam` from the slots' mean state, `adam-per-task` afresh (not SGD at Adam's step size).
#[test]
fn reptile_inner_adam_keeps_or_resets_its_state_and_evaluation_uses_it() {
    let batches = [
        (
            [-1.0, 0.5, 2.0, -0.3, 0.7, -2.2, 1.1, 0.0],
            [0.4, -0.2, 1.5, 0.9, -1.0, 0.3, 0.8, -0.6],
        ),
        (
            [0.2, -1.5, 1.7, 0.9, -0.4, 2.5, -2.0, 0.6],
            [-0.7, 0.1, 1.2, -0.5, 0.3, 0.9, -1.1, 0.2],
        ),
    ];
    // evaluation: two tasks, three support points and two query points each
    let eval = RegressionBatch {
        tasks: 2,
        n_support: 3,
        n_query: 2,
        xs: vec![-0.8, 0.3, 1.9, 0.5, -1.2, 2.1],
        ys: vec![0.6, -0.9, 0.2, 1.1, 0.4, -0.3],
        xq: vec![0.0, 1.0, -1.5, 0.7],
        yq: vec![-0.4, 0.8, 0.5, -0.2],
    };
    for inner in [InnerOptimizer::Adam, InnerOptimizer::AdamPerTask] {
        let keep = inner == InnerOptimizer::Adam;
        let mut learner = Learner::new(tiny_reptile(inner), &mut rng(0, Stream::Init));
        learner.set_params(START.param_set());
        let mut theta = START.flat();
        let mut slots = [HandAdam::default(); 2];
        for (it, (xs, ys)) in batches.iter().enumerate() {
            learner
                .step(&RegressionBatch {
                    tasks: 2,
                    n_support: 4,
                    n_query: 1,
                    xs: xs.to_vec(),
                    ys: ys.to_vec(),
                    xq: vec![0.0; 2],
                    yq: vec![0.0; 2],
                })
                .unwrap();
            let mut mean = [0.0; 7];
            for (t, slot) in slots.iter_mut().enumerate() {
                if !keep {
                    *slot = HandAdam::default();
                }
                let mut net = TinyNet::from_flat(&theta);
                for mb in 0..2 {
                    let r = t * 4 + mb * 2..t * 4 + mb * 2 + 2;
                    slot.step(&mut net, &xs[r.clone()], &ys[r], 0.1);
                }
                for (m, v) in mean.iter_mut().zip(net.flat()) {
                    *m += v / 2.0;
                }
            }
            for (th, m) in theta.iter_mut().zip(mean) {
                *th += 0.5 * (m - *th);
            }
            let what = format!("{} after iteration {}", inner.name(), it + 1);
            close(&learner.params().values.concat(), &theta, &what);
        }
        // the learner's kept state is the slots' (adam-per-task keeps none)
        let state = learner.inner_adam();
        if keep {
            assert_eq!(state.steps, 4, "two iterations of two inner steps");
            for (t, slot) in slots.iter().enumerate() {
                let lane: Vec<f64> = state
                    .v
                    .iter()
                    .flat_map(|v| to_host(&v.get(t).unwrap()).unwrap())
                    .collect();
                close(&lane, &slot.v, "inner Adam moments");
            }
        } else {
            assert!(state.v.is_empty() && state.steps == 0);
        }
        // evaluation: query MSE before and after 1 and 2 steps on all three support points
        let start = if keep {
            let mut mean = HandAdam {
                t: 4,
                ..HandAdam::default()
            };
            for (m, (a, b)) in mean.v.iter_mut().zip(slots[0].v.iter().zip(&slots[1].v)) {
                *m = (a + b) / 2.0;
            }
            mean
        } else {
            HandAdam::default()
        };
        let got = adaptation_mse(&learner, &eval, &[0, 1, 2]).unwrap();
        for t in 0..eval.tasks {
            let (s, q) = (t * 3..t * 3 + 3, t * 2..t * 2 + 2);
            let mut net = TinyNet::from_flat(&theta);
            let mut adam = start;
            for (steps, mse) in got.iter().enumerate() {
                if steps > 0 {
                    adam.step(&mut net, &eval.xs[s.clone()], &eval.ys[s.clone()], 0.1);
                }
                let expected = net.mse(&eval.xq[q.clone()], &eval.yq[q.clone()]);
                let what = format!("{} evaluation, task {t}, {steps} steps", inner.name());
                close(&mse[t..=t], &[expected], &what);
            }
        }
    }
}

/// The fit curves (the playground's plot) adapt with the run's inner rule too: a 1-2-1 tanh
/// network trained by Reptile for 5 iterations, its one- and ten-step predictions at the
/// clicked points against SGD, fresh Adam, or Adam going on from the training state by hand.
#[test]
fn fit_curves_adapt_with_the_runs_inner_rule() {
    let points = [(-2.0, 1.0), (-0.5, -0.3), (1.0, 0.8), (3.0, -1.2)];
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    for inner in InnerOptimizer::ALL {
        let mut c = quick_config(TaskKind::SineReptile, Algo::Reptile, 5);
        c.hidden = vec![2];
        c.inner_optimizer = inner;
        c.precision = Precision::F64;
        assert_eq!(c.meta_batch, 1, "one slot: the mean state is the slot's");
        let r = train(c.clone());
        let fit = r.fit_curves(&points, &xs, 10).unwrap();
        let mut net = TinyNet::from_flat(&r.learner().params().values.concat());
        let mut adam = HandAdam::default();
        if inner == InnerOptimizer::Adam {
            let state = r.learner().inner_adam();
            assert_eq!(state.steps, 25, "5 iterations of 5 inner steps");
            let v: Vec<f64> = state.v.iter().flat_map(|v| to_host(v).unwrap()).collect();
            adam.v.copy_from_slice(&v);
            adam.t = 25;
        }
        for steps in 1..=10 {
            match inner {
                InnerOptimizer::Sgd => net.sgd_step(&xs, &ys, c.inner_lr),
                _ => adam.step(&mut net, &xs, &ys, c.inner_lr),
            }
            let want: Vec<f64> = xs.iter().map(|&x| net.predict(x)).collect();
            let curve = match steps {
                1 => &fit.one,
                10 => &fit.many,
                _ => continue,
            };
            close(
                curve,
                &want,
                &format!("{} fit, {steps} steps", inner.name()),
            );
        }
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

/// Held-out tasks (the same for every run), query MSE before and after 1 and 10 SGD steps.
fn held_out(r: &Runner) -> (f64, f64, f64) {
    let spec = EvalSpec {
        tasks: 300,
        query: 50,
        steps: vec![1, 10],
        seed: 5,
    };
    let rep = r.evaluate(&spec).unwrap();
    (rep.pre.mean, rep.post[0].1.mean, rep.post[1].1.mean)
}

// Each learner is checked for what its training gives and a broken version of it would not:
// one SGD step lowers the MSE from any start, so "the loss falls after adaptation" proves
// nothing. Budgets and margins measured on seeds 0–3 (BENCHMARKS-style figures in comments).

/// What only meta-learning gives: at the same budget, seed and tasks, MAML's one-step MSE is
/// below half of joint pre-training's (measured at 2000 iterations: 0.81 vs 2.34, seed 2: 0.97
/// vs 2.49; with MAML's meta-update disabled 4.0). Pre-training in turn learns the family's
/// mean function: before adaptation it is well below the untrained network (3.0 vs 4.3).
#[test]
fn maml_after_one_step_beats_pretraining_by_half_at_the_same_budget() {
    let (_, maml, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Maml, 2000)));
    let (pre, pretrain, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Pretrain, 2000)));
    let (scratch_pre, _, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Scratch, 1)));
    println!("one step: MAML {maml:.3}, pre-training {pretrain:.3}");
    assert!(
        maml < 0.5 * pretrain,
        "MAML {maml} vs pre-training {pretrain}"
    );
    assert!(
        pre < 0.8 * scratch_pre,
        "pre-training before adaptation {pre} vs untrained {scratch_pre}"
    );
}

/// First-order MAML's meta-gradient still helps: one step below 0.8 × pre-training's at 1500
/// iterations (measured 0.47–0.68 × on seeds 0–3).
#[test]
fn fomaml_after_one_step_beats_pretraining() {
    let (_, fomaml, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Fomaml, 1500)));
    let (_, pretrain, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Pretrain, 1500)));
    assert!(
        fomaml < 0.8 * pretrain,
        "first-order MAML {fomaml} vs pre-training {pretrain}"
    );
}

/// Meta-SGD's learned per-parameter rates make its one step far better than MAML's fixed α at
/// the same budget (600 iterations: 0.25–0.34 × on seeds 0–3). (Ten steps of rates learned
/// for one may overshoot, so ten steps are not checked.)
#[test]
fn meta_sgd_after_one_step_beats_maml() {
    let (_, meta_sgd, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::MetaSgd, 600)));
    let (_, maml, _) = held_out(&train(quick_config(TaskKind::Sine, Algo::Maml, 600)));
    assert!(meta_sgd < 0.6 * maml, "Meta-SGD {meta_sgd} vs MAML {maml}");
}

/// Reptile's meta-training makes its own initialisation adapt better: ten steps from it
/// against ten steps from the same network untrained (2000 iterations: 0.48–0.56 × on seeds
/// 0–2). On `sine` at this budget Reptile does not beat pre-training (2.19 vs 1.60), so that
/// is not asserted.
#[test]
fn reptile_training_improves_its_initialisation_for_ten_steps() {
    let (_, _, reptile) = held_out(&train(quick_config(TaskKind::Sine, Algo::Reptile, 2000)));
    // the scratch baseline of the same seed is the same network, untrained
    let (_, _, untrained) = held_out(&train(quick_config(TaskKind::Sine, Algo::Scratch, 1)));
    assert!(
        reptile < 0.7 * untrained,
        "Reptile {reptile} vs its untrained start {untrained}"
    );
}

/// The scratch baseline is trained by nothing: its parameters stay those it started with.
#[test]
fn scratch_does_not_move() {
    let r = train(quick_config(TaskKind::Sine, Algo::Scratch, 20));
    let fresh = Runner::new(quick_config(TaskKind::Sine, Algo::Scratch, 20)).unwrap();
    assert_eq!(r.iter(), 20);
    assert_eq!(r.learner().params(), fresh.learner().params());
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
