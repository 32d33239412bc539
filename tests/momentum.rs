//! Meta-SGD with learned momentum: the written-out meta-gradient against candle's autograd and
//! central finite differences (f64), its reduction to Meta-SGD at β = 0, and its inner loop.

use candle_core::{DType, Device, Tensor, Var};
use metaplay::engine::meta::eval::{adaptation_mse, FineTune, MseSummary};
use metaplay::engine::meta::{maml, momentum, Algo, InnerLr, Learner, LrInit};
use metaplay::engine::mlp::{Activation, Mlp, Precision};
use metaplay::engine::params::{to_host, ParamSet};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BatchTensors, RegressionFamily, SineFamily};
use metaplay::experiment::{Config, TaskKind};

const DEV: Device = Device::Cpu;
const STEPS: usize = 3;

fn batch(seed: u64) -> BatchTensors {
    let b = SineFamily::maml().sample_batch(&mut rng(seed, Stream::Train), 3, 4, 5);
    b.tensors(DType::F64, &DEV).unwrap()
}

/// The 1-5-5-1 network and its initialisation.
fn setup(activation: Activation, seed: u64) -> (Mlp, ParamSet) {
    let mlp = Mlp::new(1, &[5, 5], 1, activation);
    let theta = mlp.init(&mut rng(seed, Stream::Init));
    (mlp, theta)
}

/// Per-parameter values `base + spread·((7i + j) mod 40)/40` shaped as `like`.
fn rates(like: &ParamSet, base: f64, spread: f64) -> ParamSet {
    let mut out = like.clone();
    for (i, v) in out.values.iter_mut().enumerate() {
        for (j, x) in v.iter_mut().enumerate() {
            *x = base + spread * ((i * 7 + j) % 40) as f64 / 40.0;
        }
    }
    out
}

fn tensors(p: &ParamSet) -> Vec<Tensor> {
    p.tensors(DType::F64, &DEV).unwrap()
}

fn host(ts: &[Tensor]) -> Vec<f64> {
    ts.iter().flat_map(|t| to_host(t).unwrap()).collect()
}

/// The three groups `θ₀, α, β` flattened, and back.
fn flat(groups: [&ParamSet; 3]) -> Vec<f64> {
    groups.iter().flat_map(|g| g.values.concat()).collect()
}

fn unflat(like: &ParamSet, v: &[f64]) -> ParamSet {
    let mut out = like.clone();
    let mut at = 0;
    for slot in out.values.iter_mut() {
        let n = slot.len();
        slot.copy_from_slice(&v[at..at + n]);
        at += n;
    }
    out
}

fn meta_loss(mlp: &Mlp, g: [&ParamSet; 3], b: &BatchTensors, steps: usize) -> f64 {
    let [p, a, m] = g.map(tensors);
    let l = momentum::meta_loss(mlp, &p, &a, &m, &b.xs, &b.ys, &b.xq, &b.yq, steps).unwrap();
    l.to_scalar::<f64>().unwrap()
}

/// candle's backward through the differentiable inner loop: `(∂θ₀, ∂α, ∂β)`.
fn autograd(mlp: &Mlp, g: [&ParamSet; 3], b: &BatchTensors, steps: usize) -> [Vec<f64>; 3] {
    let vars: [Vec<Var>; 3] = g.map(|p| p.vars(DType::F64, &DEV).unwrap());
    let [p, a, m] = vars
        .each_ref()
        .map(|v| v.iter().map(|v| v.as_tensor().clone()).collect::<Vec<_>>());
    let l = momentum::meta_loss(mlp, &p, &a, &m, &b.xs, &b.ys, &b.xq, &b.yq, steps).unwrap();
    let grads = l.backward().unwrap();
    vars.map(|vs| {
        vs.iter()
            .flat_map(|v| match grads.get(v) {
                Some(g) => to_host(g).unwrap(),
                None => vec![0.0; v.elem_count()], // not in the graph (β at one step)
            })
            .collect()
    })
}

fn written_out(mlp: &Mlp, g: [&ParamSet; 3], b: &BatchTensors, steps: usize) -> [Vec<f64>; 3] {
    let [p, a, m] = g.map(tensors);
    let mg = momentum::meta_gradient(mlp, &p, &a, &m, &b.xs, &b.ys, &b.xq, &b.yq, steps).unwrap();
    let loss = meta_loss(mlp, g, b, steps);
    assert!((mg.loss.to_scalar::<f64>().unwrap() - loss).abs() <= 1e-12 * loss);
    [host(&mg.params), host(&mg.lrs), host(&mg.betas)]
}

/// Central differences of the meta-loss in every coordinate of `θ₀, α, β`, step `1e-5`.
fn finite_differences(mlp: &Mlp, g: [&ParamSet; 3], b: &BatchTensors) -> [Vec<f64>; 3] {
    let x = flat(g);
    let n = [g[0].values.concat().len(), g[1].values.concat().len()];
    let at = |x: &[f64]| {
        let (p, rest) = x.split_at(n[0]);
        let (a, m) = rest.split_at(n[1]);
        let sets = [unflat(g[0], p), unflat(g[1], a), unflat(g[2], m)];
        meta_loss(mlp, [&sets[0], &sets[1], &sets[2]], b, STEPS)
    };
    let h = 1e-5;
    let fd: Vec<f64> = (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            (at(&up) - at(&down)) / (2.0 * h)
        })
        .collect();
    let (p, rest) = fd.split_at(n[0]);
    let (a, m) = rest.split_at(n[1]);
    [p.to_vec(), a.to_vec(), m.to_vec()]
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    assert!(den > 0.0, "a zero reference gradient checks nothing");
    (num / den).sqrt()
}

fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

const GROUPS: [&str; 3] = ["θ₀", "α", "β"];

#[test]
fn written_out_meta_gradient_equals_autograd() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let (mlp, theta) = setup(activation, 21);
        let (a, m) = (rates(&theta, 0.03, 0.04), rates(&theta, 0.3, 0.5));
        let b = batch(8);
        for steps in [1, 2, STEPS] {
            let got = written_out(&mlp, [&theta, &a, &m], &b, steps);
            let want = autograd(&mlp, [&theta, &a, &m], &b, steps);
            // at one step ∂β is zero both ways: compare it absolutely
            for i in 0..if steps == 1 { 2 } else { 3 } {
                let err = rel_err(&got[i], &want[i]);
                assert!(
                    err <= 1e-10,
                    "{activation:?} {steps} steps {}: {err:e}",
                    GROUPS[i]
                );
            }
            assert!(max_abs(&got[2], &want[2]) <= 1e-14);
        }
    }
}

#[test]
fn meta_gradients_match_finite_differences() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let (mlp, theta) = setup(activation, 3);
        let (a, m) = (rates(&theta, 0.04, 0.04), rates(&theta, 0.2, 0.6));
        let b = batch(5);
        let g = [&theta, &a, &m];
        let fd = finite_differences(&mlp, g, &b);
        let (got, auto) = (
            written_out(&mlp, g, &b, STEPS),
            autograd(&mlp, g, &b, STEPS),
        );
        for i in 0..3 {
            let (e1, e2) = (rel_err(&got[i], &fd[i]), rel_err(&auto[i], &fd[i]));
            assert!(
                e1 <= 1e-6,
                "{activation:?} written-out {}: {e1:e}",
                GROUPS[i]
            );
            assert!(e2 <= 1e-6, "{activation:?} autograd {}: {e2:e}", GROUPS[i]);
        }
    }
}

#[test]
fn without_momentum_it_is_meta_sgd() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let (mlp, theta) = setup(activation, 9);
        let (a, m) = (rates(&theta, 0.03, 0.05), rates(&theta, 0.0, 0.0));
        let b = batch(4);
        let [p, l] = [&theta, &a].map(tensors);
        let sgd = maml::meta_gradient(
            &mlp,
            &p,
            &b.xs,
            &b.ys,
            &b.xq,
            &b.yq,
            STEPS,
            InnerLr::PerParam(&l),
            false,
        )
        .unwrap();
        let got = written_out(&mlp, [&theta, &a, &m], &b, STEPS);
        let (want_p, want_a) = (host(&sgd.params), host(&sgd.lrs));
        assert!(rel_err(&got[0], &want_p) <= 1e-12, "{activation:?} θ₀");
        assert!(rel_err(&got[1], &want_a) <= 1e-12, "{activation:?} α");
        // ∂β at β = 0 is not zero (Σ_k g_{k−1} ⊙ ū_k): check it against autograd and FD
        let auto = autograd(&mlp, [&theta, &a, &m], &b, STEPS);
        let fd = finite_differences(&mlp, [&theta, &a, &m], &b);
        let (e1, e2) = (rel_err(&got[2], &auto[2]), rel_err(&got[2], &fd[2]));
        assert!(e1 <= 1e-10 && e2 <= 1e-6, "{activation:?} β: {e1:e} {e2:e}");
    }
}

#[test]
fn one_step_leaves_the_momentum_decay_without_gradient() {
    let (mlp, theta) = setup(Activation::Tanh, 5);
    let (a, m) = (rates(&theta, 0.05, 0.02), rates(&theta, 0.4, 0.4));
    let b = batch(6);
    let [p, l, bt] = [&theta, &a, &m].map(tensors);
    let mg = momentum::meta_gradient(&mlp, &p, &l, &bt, &b.xs, &b.ys, &b.xq, &b.yq, 1).unwrap();
    // m₀ = 0, so β never multiplies anything
    assert!(host(&mg.betas).iter().all(|&x| x == 0.0));
    assert!(host(&mg.lrs).iter().any(|&x| x != 0.0));
    let shapes: Vec<_> = mg.betas.iter().map(|t| t.dims().to_vec()).collect();
    assert_eq!(shapes, theta.shapes);
}

#[test]
fn momentum_steps_lower_every_support_loss() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let (mlp, theta) = setup(activation, 2);
        let (a, m) = (rates(&theta, 0.01, 0.0), rates(&theta, 0.5, 0.0));
        let b = batch(12);
        let [p, l, bt] = [&theta, &a, &m].map(tensors);
        let loss = |steps| {
            let q = momentum::adapt(&mlp, &p, &l, &bt, &b.xs, &b.ys, steps, false).unwrap();
            to_host(&mlp.loss(&q, &b.xs, &b.ys).unwrap()).unwrap()
        };
        let before = loss(0);
        let mut last = before.clone();
        for steps in 1..=5 {
            let now = loss(steps);
            for t in 0..3 {
                assert!(now[t] < last[t], "{activation:?} task {t} step {steps}");
            }
            last = now;
        }
        // momentum goes further than plain steps of the same α
        let plain = |steps| {
            let q = maml::adapt(&mlp, &p, &b.xs, &b.ys, steps, InnerLr::PerParam(&l), false);
            to_host(&mlp.loss(&q.unwrap(), &b.xs, &b.ys).unwrap()).unwrap()
        };
        let sgd = plain(5);
        for t in 0..3 {
            assert!(
                last[t] < sgd[t],
                "{activation:?} task {t}: {} ≥ {}",
                last[t],
                sgd[t]
            );
        }
    }
}

/// The learned optimiser as the playground runs it: a 1-8-8-1 network in f64.
fn learner(lr_init: LrInit, seed: u64) -> Learner {
    let mut c = Config::new(TaskKind::Sine, Algo::MetaSgdMomentum);
    c.hidden = vec![8, 8];
    c.precision = Precision::F64;
    c.lr_init = lr_init;
    Learner::new(c.learner_spec(), &mut rng(seed, Stream::Init))
}

#[test]
fn the_learner_holds_network_rates_and_decays() {
    let (constant, uniform) = (learner(LrInit::Constant, 4), learner(LrInit::Uniform, 4));
    let p = constant.params();
    let layers = 6; // three weights and three biases
    assert_eq!(p.len(), 3 * layers);
    assert!(p.names[layers].starts_with("lr_") && p.names[2 * layers].starts_with("beta_"));
    for i in 0..layers {
        assert_eq!(p.shapes[i], p.shapes[layers + i]);
        assert_eq!(p.shapes[i], p.shapes[2 * layers + i]);
        // the rates are drawn after the network: the same network either way
        assert_eq!(p.values[i], uniform.params().values[i]);
        assert!(p.values[layers + i].iter().all(|&a| a == 0.01));
        assert!(p.values[2 * layers + i].iter().all(|&b| b == 0.5));
    }
    let rates: Vec<f64> = uniform.params().values[layers..2 * layers].concat();
    assert!(rates.iter().all(|&a| (0.005..0.1).contains(&a)));
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    // U[0.005, 0.1] has mean 0.0525; 177 draws have a standard error of 0.002
    assert!((mean - 0.0525).abs() < 0.01, "mean rate {mean}");
}

#[test]
fn the_decays_stay_in_their_range() {
    // β next to both ends, then Adam steps of ~0.05 each: unprojected, some would leave
    // [0, 0.95] on the first step
    let mut c = Config::new(TaskKind::Sine, Algo::MetaSgdMomentum);
    c.hidden = vec![8, 8];
    c.precision = Precision::F64;
    c.meta_lr = 0.05;
    let mut l = Learner::new(c.learner_spec(), &mut rng(1, Stream::Init));
    let mut p = l.params().clone();
    for (i, b) in p.values[12..].iter_mut().flatten().enumerate() {
        *b = if i % 2 == 0 { 0.94 } else { 0.01 };
    }
    l.set_params(p);
    let family = SineFamily::maml();
    let mut g = rng(1, Stream::Train);
    let decays = |l: &Learner| -> Vec<f64> { host(&l.momentum_decays().unwrap()) };
    let before = decays(&l);
    for _ in 0..3 {
        l.step(&family.sample_batch(&mut g, 4, 10, 10)).unwrap();
    }
    let after = decays(&l);
    assert_ne!(before, after, "β is learned");
    assert!(after
        .iter()
        .all(|&b| (0.0..=momentum::MAX_DECAY).contains(&b)));
    let at_ends = after
        .iter()
        .filter(|&&b| b == 0.0 || b == momentum::MAX_DECAY)
        .count();
    assert!(at_ends > 0, "{after:?}");
}

#[test]
fn evaluation_steps_one_at_a_time_equal_the_inner_loop() {
    // FineTune keeps the momentum between single steps: 5 of them are the trained 5-step loop
    let l = learner(LrInit::Uniform, 2);
    let b = SineFamily::maml().sample_batch(&mut rng(3, Stream::Train), 3, 10, 10);
    let t = b.tensors(DType::F64, &DEV).unwrap();
    let mut tune = FineTune::new(&l, 3).unwrap();
    for _ in 0..5 {
        tune.steps(&t.xs, &t.ys, 1).unwrap();
    }
    let (theta, lrs, betas) = (
        l.network().unwrap(),
        l.inner_lrs().unwrap(),
        l.momentum_decays().unwrap(),
    );
    let want = momentum::adapt(&l.spec().mlp, &theta, &lrs, &betas, &t.xs, &t.ys, 5, true).unwrap();
    assert_eq!(host(tune.params()), host(&want));
    // and momentum is not plain SGD with the same rates
    let sgd = maml::adapt(
        &l.spec().mlp,
        &theta,
        &t.xs,
        &t.ys,
        5,
        InnerLr::PerParam(&lrs),
        true,
    );
    assert_ne!(host(tune.params()), host(&sgd.unwrap()));
}

#[test]
fn meta_training_lowers_the_five_step_loss() {
    // 1000 iterations of 1-16-16-1 on 10 tasks: the query MSE after the 5 trained steps on 200
    // held-out tasks falls well beyond its standard error
    let mut c = Config::new(TaskKind::Sine, Algo::MetaSgdMomentum);
    c.hidden = vec![16, 16];
    c.meta_batch = 10;
    c.lr_init = LrInit::Uniform;
    let mut l = Learner::new(c.learner_spec(), &mut rng(0, Stream::Init));
    let family = SineFamily::maml();
    let held_out = family.sample_batch(&mut rng(0, Stream::Eval), 200, 10, 100);
    let five = |l: &Learner| adaptation_mse(l, &held_out, &[5]).unwrap().remove(0);
    let before = five(&l);
    let mut g = rng(0, Stream::Train);
    for _ in 0..1000 {
        l.step(&family.sample_batch(&mut g, 10, 10, 10)).unwrap();
    }
    let after = five(&l);
    let diffs: Vec<f64> = before.iter().zip(&after).map(|(b, a)| b - a).collect();
    let s = MseSummary::of(&diffs);
    assert!(
        s.mean > 5.0 * s.se && s.mean > 0.3,
        "gain {} ± {}",
        s.mean,
        s.se
    );
}
