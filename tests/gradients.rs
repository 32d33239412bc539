//! Meta-gradients against central finite differences (f64), and the first-order and Reptile
//! updates against independent computations.

use candle_core::{DType, Device, Tensor};
use metaplay::engine::meta::{maml, InnerLr};
use metaplay::engine::mlp::{Activation, Mlp};
use metaplay::engine::params::{to_host, ParamSet};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BatchTensors, RegressionBatch, RegressionFamily, SineFamily};

const DEV: Device = Device::Cpu;

fn batch(tasks: usize, k: usize, q: usize, seed: u64) -> (RegressionBatch, BatchTensors) {
    let b = SineFamily::maml().sample_batch(&mut rng(seed, Stream::Train), tasks, k, q);
    let t = b.tensors(DType::F64, &DEV).unwrap();
    (b, t)
}

/// Flattens a parameter set into one vector and back.
fn flat(p: &ParamSet) -> Vec<f64> {
    p.values.concat()
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

/// The MAML (or Meta-SGD, when `lrs` is given) meta-loss at `theta`, and its autograd gradient
/// with respect to `theta` followed by the learning rates.
fn loss_and_autograd(
    mlp: &Mlp,
    theta: &ParamSet,
    lrs: Option<&ParamSet>,
    b: &BatchTensors,
    steps: usize,
    first_order: bool,
) -> (f64, Vec<f64>) {
    let mut all = theta.clone();
    if let Some(l) = lrs {
        for i in 0..l.len() {
            all.push(l.names[i].clone(), l.shapes[i].clone(), l.values[i].clone());
        }
    }
    let vars = all.vars(DType::F64, &DEV).unwrap();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (th, lr) = ts.split_at(theta.len());
    let inner = if lrs.is_some() {
        InnerLr::PerParam(lr)
    } else {
        InnerLr::Scalar(0.05)
    };
    let loss = maml::meta_loss(
        mlp,
        th,
        &b.xs,
        &b.ys,
        &b.xq,
        &b.yq,
        steps,
        inner,
        first_order,
    )
    .unwrap();
    let grads = loss.backward().unwrap();
    let g = vars
        .iter()
        .flat_map(|v| to_host(grads.get(v).unwrap()).unwrap())
        .collect();
    (loss.to_scalar::<f64>().unwrap(), g)
}

/// Central differences of `f` at `x`, step `h`.
fn finite_differences(x: &[f64], h: f64, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let mut a = x.to_vec();
            let mut b = x.to_vec();
            a[i] += h;
            b[i] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        })
        .collect()
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den
}

fn check_maml(hidden: &[usize], activation: Activation, steps: usize) {
    let mlp = Mlp::new(1, hidden, 1, activation);
    let theta = mlp.init(&mut rng(7, Stream::Init));
    let (_, b) = batch(3, 5, 4, 11);
    let (_, g) = loss_and_autograd(&mlp, &theta, None, &b, steps, false);
    let fd = finite_differences(&flat(&theta), 1e-6, |x| {
        loss_and_autograd(&mlp, &unflat(&theta, x), None, &b, steps, false).0
    });
    let err = rel_err(&g, &fd);
    assert!(
        err <= 1e-6,
        "MAML {hidden:?} {activation:?} {steps} steps: relative error {err:e}"
    );
}

#[test]
fn maml_meta_gradient_matches_finite_differences_relu_one_step() {
    check_maml(&[8, 8], Activation::Relu, 1);
}

#[test]
fn maml_meta_gradient_matches_finite_differences_relu_three_steps() {
    check_maml(&[8, 8], Activation::Relu, 3);
}

#[test]
fn maml_meta_gradient_matches_finite_differences_tanh_one_and_three_steps() {
    check_maml(&[6, 5], Activation::Tanh, 1);
    check_maml(&[6, 5], Activation::Tanh, 3);
}

#[test]
fn maml_meta_gradient_matches_finite_differences_other_shapes() {
    check_maml(&[10], Activation::Relu, 2);
    check_maml(&[4, 6, 3], Activation::Tanh, 2);
    check_maml(&[4, 6, 3], Activation::Relu, 1);
}

#[test]
fn meta_sgd_gradient_matches_finite_differences_for_weights_and_learning_rates() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let mlp = Mlp::new(1, &[6, 6], 1, activation);
        let theta = mlp.init(&mut rng(3, Stream::Init));
        let mut lrs = theta.clone();
        // distinct rates per parameter, around 0.05
        for (i, v) in lrs.values.iter_mut().enumerate() {
            for (j, x) in v.iter_mut().enumerate() {
                *x = 0.03 + 0.001 * ((i * 7 + j) % 40) as f64;
            }
        }
        let (_, b) = batch(2, 5, 4, 5);
        for steps in [1, 2] {
            let (_, g) = loss_and_autograd(&mlp, &theta, Some(&lrs), &b, steps, false);
            let n = flat(&theta).len();
            let x0: Vec<f64> = flat(&theta).into_iter().chain(flat(&lrs)).collect();
            let fd = finite_differences(&x0, 1e-6, |x| {
                loss_and_autograd(
                    &mlp,
                    &unflat(&theta, &x[..n]),
                    Some(&unflat(&lrs, &x[n..])),
                    &b,
                    steps,
                    false,
                )
                .0
            });
            let (err_w, err_lr) = (rel_err(&g[..n], &fd[..n]), rel_err(&g[n..], &fd[n..]));
            assert!(err_w <= 1e-6, "Meta-SGD weights {activation:?}: {err_w:e}");
            assert!(
                err_lr <= 1e-6,
                "Meta-SGD learning rates {activation:?}: {err_lr:e}"
            );
        }
    }
}

#[test]
fn first_order_maml_equals_the_detached_computation() {
    let mlp = Mlp::new(1, &[8, 8], 1, Activation::Tanh);
    let theta = mlp.init(&mut rng(1, Stream::Init));
    let (_, b) = batch(4, 5, 6, 2);
    for steps in [1, 3] {
        let (_, fo) = loss_and_autograd(&mlp, &theta, None, &b, steps, true);
        // Independent route: adapt (no graph), then the average over tasks of each task's
        // query-loss gradient at its adapted weights: mean_t ∇L_q,t(θ'_t).
        let p = theta.tensors(DType::F64, &DEV).unwrap();
        let adapted =
            maml::adapt(&mlp, &p, &b.xs, &b.ys, steps, InnerLr::Scalar(0.05), true).unwrap();
        let adapted: Vec<Tensor> = adapted
            .iter()
            .map(|a| {
                if a.rank() == 2 {
                    a.unsqueeze(0).unwrap().repeat((4, 1, 1)).unwrap()
                } else {
                    a.clone()
                }
            })
            .collect();
        let (_, grads) = mlp.loss_and_grad(&adapted, &b.xq, &b.yq).unwrap();
        let expected: Vec<f64> = grads
            .iter()
            .flat_map(|g| to_host(&g.mean(0).unwrap()).unwrap())
            .collect();
        let err = rel_err(&fo, &expected);
        assert!(err <= 1e-12, "FOMAML vs detached computation: {err:e}");
        // ...and it is not the second-order gradient.
        let (_, so) = loss_and_autograd(&mlp, &theta, None, &b, steps, false);
        assert!(
            rel_err(&fo, &so) > 1e-3,
            "first- and second-order gradients should differ"
        );
    }
}

#[test]
fn mlp_gradient_matches_finite_differences() {
    for activation in [Activation::Relu, Activation::Tanh] {
        let mlp = Mlp::new(1, &[7, 5], 1, activation);
        let theta = mlp.init(&mut rng(9, Stream::Init));
        let (_, b) = batch(1, 8, 1, 3);
        let loss_at = |x: &[f64]| {
            let p = unflat(&theta, x).tensors(DType::F64, &DEV).unwrap();
            mlp.loss(&p, &b.xs, &b.ys)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let p = theta.tensors(DType::F64, &DEV).unwrap();
        let (_, grads) = mlp.loss_and_grad(&p, &b.xs, &b.ys).unwrap();
        let g: Vec<f64> = grads.iter().flat_map(|g| to_host(g).unwrap()).collect();
        let fd = finite_differences(&flat(&theta), 1e-6, loss_at);
        assert!(
            rel_err(&g, &fd) <= 1e-7,
            "{activation:?}: {:e}",
            rel_err(&g, &fd)
        );
    }
}

/// The hand-written reverse pass (`meta_gradient`, used in training) against candle's
/// autograd through the differentiable inner loop (itself checked against finite differences).
#[test]
fn written_out_meta_gradient_equals_autograd() {
    for (hidden, activation) in [
        (&[8, 8][..], Activation::Relu),
        (&[6, 5][..], Activation::Tanh),
        (&[4, 6, 3][..], Activation::Tanh),
    ] {
        let mlp = Mlp::new(1, hidden, 1, activation);
        let theta = mlp.init(&mut rng(21, Stream::Init));
        let mut lrs = theta.clone();
        for (i, v) in lrs.values.iter_mut().enumerate() {
            for (j, x) in v.iter_mut().enumerate() {
                *x = 0.02 + 0.002 * ((i * 5 + j) % 30) as f64;
            }
        }
        let (_, b) = batch(3, 5, 4, 8);
        let p = theta.tensors(DType::F64, &DEV).unwrap();
        let l = lrs.tensors(DType::F64, &DEV).unwrap();
        for steps in [1, 3] {
            for first_order in [false, true] {
                let mg = maml::meta_gradient(
                    &mlp,
                    &p,
                    &b.xs,
                    &b.ys,
                    &b.xq,
                    &b.yq,
                    steps,
                    InnerLr::Scalar(0.05),
                    first_order,
                )
                .unwrap();
                let got: Vec<f64> = mg.params.iter().flat_map(|g| to_host(g).unwrap()).collect();
                let (loss, want) = loss_and_autograd(&mlp, &theta, None, &b, steps, first_order);
                let err = rel_err(&got, &want);
                assert!(
                    err <= 1e-10,
                    "{hidden:?} {activation:?} steps {steps} first_order {first_order}: {err:e}"
                );
                assert!((mg.loss.to_scalar::<f64>().unwrap() - loss).abs() <= 1e-12 * loss.abs());
            }
            let mg = maml::meta_gradient(
                &mlp,
                &p,
                &b.xs,
                &b.ys,
                &b.xq,
                &b.yq,
                steps,
                InnerLr::PerParam(&l),
                false,
            )
            .unwrap();
            let got: Vec<f64> = mg
                .params
                .iter()
                .chain(&mg.lrs)
                .flat_map(|g| to_host(g).unwrap())
                .collect();
            let (_, want) = loss_and_autograd(&mlp, &theta, Some(&lrs), &b, steps, false);
            let err = rel_err(&got, &want);
            assert!(
                err <= 1e-10,
                "Meta-SGD {hidden:?} {activation:?} steps {steps}: {err:e}"
            );
        }
    }
}
