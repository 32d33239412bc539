//! The model-based sine learners (conditional neural process, GRU hypernetwork): their training
//! gradients against central finite differences (f64), the likelihood written out by hand, what
//! reading a support set means for each, determinism, and learning.

use candle_core::{DType, Device, Tensor};
use metaplay::engine::meta::model_based::ModelBased;
use metaplay::engine::meta::{Algo, Learner, LearnerSpec};
use metaplay::engine::mlp::{Activation, Mlp, Precision};
use metaplay::engine::params::{host_gradients, to_host, ParamSet};
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BatchTensors, RegressionFamily, SineFamily};
use metaplay::experiment::{Config, Runner, TaskKind};

const DEV: Device = Device::Cpu;

fn batch(tasks: usize, k: usize, q: usize, seed: u64) -> BatchTensors {
    let b = SineFamily::maml().sample_batch(&mut rng(seed, Stream::Train), tasks, k, q);
    b.tensors(DType::F64, &DEV).unwrap()
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

/// The training objective at `params` and its autograd gradient (flat).
fn objective_and_grad(model: &ModelBased, params: &ParamSet, b: &BatchTensors) -> (f64, Vec<f64>) {
    let vars = params.vars(DType::F64, &DEV).unwrap();
    let p: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (objective, _) = model.objective(&p, &b.xs, &b.ys, &b.xq, &b.yq).unwrap();
    let g = host_gradients(&vars, &objective.backward().unwrap()).unwrap();
    (objective.to_scalar::<f64>().unwrap(), g.concat())
}

fn objective(model: &ModelBased, params: &ParamSet, b: &BatchTensors) -> f64 {
    let p = params.tensors(DType::F64, &DEV).unwrap();
    let (o, _) = model.objective(&p, &b.xs, &b.ys, &b.xq, &b.yq).unwrap();
    o.to_scalar::<f64>().unwrap()
}

/// Relative error of the autograd gradient against central differences, over every parameter.
fn gradient_error(model: &ModelBased, seed: u64) -> f64 {
    let params = model.init(&mut rng(seed, Stream::Init));
    let b = batch(3, 4, 5, seed + 1);
    let (_, g) = objective_and_grad(model, &params, &b);
    let x = params.values.concat();
    let h = 1e-6;
    let fd: Vec<f64> = (0..x.len())
        .map(|i| {
            let (mut a, mut c) = (x.clone(), x.clone());
            a[i] += h;
            c[i] -= h;
            (objective(model, &unflat(&params, &a), &b)
                - objective(model, &unflat(&params, &c), &b))
                / (2.0 * h)
        })
        .collect();
    assert!(
        g.iter().any(|v| v.abs() > 1e-6),
        "a gradient that is not all zero"
    );
    let num: f64 = g
        .iter()
        .zip(&fd)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    num / fd.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn cnp_likelihood_gradient_matches_finite_differences() {
    for act in [Activation::Relu, Activation::Tanh] {
        let model = ModelBased::cnp(&Mlp::new(1, &[5, 4], 1, act));
        let err = gradient_error(&model, 3);
        assert!(err < 1e-6, "CNP {act:?}: relative error {err:e}");
    }
}

#[test]
fn hypernet_gradient_matches_finite_differences() {
    for act in [Activation::Relu, Activation::Tanh] {
        let model = ModelBased::hypernet(&Mlp::new(1, &[5, 4], 1, act));
        let err = gradient_error(&model, 5);
        assert!(err < 1e-6, "hypernetwork {act:?}: relative error {err:e}");
    }
}

#[test]
fn cnp_loss_is_the_gaussian_negative_log_likelihood_of_its_prediction() {
    let model = ModelBased::cnp(&Mlp::new(1, &[6, 6], 1, Activation::Relu));
    let params = model.init(&mut rng(1, Stream::Init));
    let b = batch(2, 3, 4, 9);
    let p = params.tensors(DType::F64, &DEV).unwrap();
    let read = model.predict(&p, &b.xs, &b.ys, &b.xq).unwrap();
    let (mean, std) = (
        to_host(&read.mean).unwrap(),
        to_host(&read.std.unwrap()).unwrap(),
    );
    let y = to_host(&b.yq).unwrap();
    // −log N(y; μ, σ²) = log σ + (y − μ)²/(2σ²) + ½ log 2π, averaged over the 8 points
    let by_hand = (0..y.len())
        .map(|i| {
            std[i].ln()
                + (y[i] - mean[i]).powi(2) / (2.0 * std[i] * std[i])
                + 0.5 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum::<f64>()
        / y.len() as f64;
    let nll = objective(&model, &params, &b);
    assert!((nll - by_hand).abs() < 1e-12, "{nll} vs {by_hand}");
    assert!(
        std.iter().all(|&s| s >= 0.1),
        "σ = 0.1 + 0.9·softplus ≥ 0.1"
    );
}

/// The prediction at the query points of task 0 with its support points in `order`.
fn read_in_order(
    model: &ModelBased,
    params: &ParamSet,
    b: &BatchTensors,
    order: &[usize],
) -> Vec<f64> {
    let idx = Tensor::new(order.iter().map(|&i| i as u32).collect::<Vec<_>>(), &DEV).unwrap();
    let pick = |t: &Tensor| t.narrow(0, 0, 1).unwrap().index_select(&idx, 1).unwrap();
    let p = params.tensors(DType::F64, &DEV).unwrap();
    let xq = b.xq.narrow(0, 0, 1).unwrap();
    to_host(
        &model
            .predict(&p, &pick(&b.xs), &pick(&b.ys), &xq)
            .unwrap()
            .mean,
    )
    .unwrap()
}

#[test]
fn the_cnp_reads_a_set_and_the_gru_a_sequence() {
    let mlp = Mlp::new(1, &[8, 8], 1, Activation::Tanh);
    let b = batch(1, 5, 6, 4);
    for (model, order_matters) in [
        (ModelBased::cnp(&mlp), false),
        (ModelBased::hypernet(&mlp), true),
    ] {
        let params = model.init(&mut rng(2, Stream::Init));
        let forward = read_in_order(&model, &params, &b, &[0, 1, 2, 3, 4]);
        let shuffled = read_in_order(&model, &params, &b, &[3, 0, 4, 2, 1]);
        let fewer = read_in_order(&model, &params, &b, &[0, 1, 2]);
        let gap = |a: &[f64], c: &[f64]| {
            a.iter()
                .zip(c)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max)
        };
        if order_matters {
            assert!(
                gap(&forward, &shuffled) > 1e-6,
                "the GRU reads the points in order"
            );
        } else {
            assert!(
                gap(&forward, &shuffled) < 1e-12,
                "the mean over points forgets their order"
            );
        }
        assert!(
            gap(&forward, &fewer) > 1e-6,
            "every point read changes the prediction"
        );
    }
}

fn spec(algo: Algo, hidden: &[usize]) -> LearnerSpec {
    let mut s = Config::new(TaskKind::Sine, algo).learner_spec();
    s.mlp = Mlp::new(1, hidden, 1, Activation::Relu);
    s.precision = Precision::F64;
    s
}

#[test]
fn model_based_learners_are_deterministic_from_the_seed() {
    for algo in [Algo::Cnp, Algo::Hypernet] {
        let run = || {
            let mut l = Learner::new(spec(algo, &[16, 16]), &mut rng(0, Stream::Init));
            let family = SineFamily::maml();
            let mut g = rng(0, Stream::Train);
            (0..5)
                .map(|_| l.step(&family.sample_batch(&mut g, 4, 10, 10)).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run(), "{algo:?}");
    }
}

#[test]
fn meta_training_teaches_them_to_read_the_support_set() {
    // the prediction given K = 10 points beats the one from no points on the same held-out
    // tasks by a margin far beyond its standard error (measured: the CNP gains 1.25 after 3000
    // iterations, nothing yet after 1000, while it learns the prior first)
    for (algo, iters) in [(Algo::Cnp, 3000), (Algo::Hypernet, 400)] {
        let mut c = Config::new(TaskKind::Sine, algo);
        c.hidden = vec![32, 32];
        c.iters = iters;
        let mut r = Runner::new(c).unwrap();
        for _ in 0..iters {
            r.step().unwrap();
        }
        let family = SineFamily::maml();
        let held_out = family.sample_batch(&mut rng(77, Stream::Eval), 200, 10, 50);
        let prior =
            metaplay::engine::meta::eval::adaptation_mse(r.learner(), &held_out, &[0, 1]).unwrap();
        let diffs: Vec<f64> = prior[0].iter().zip(&prior[1]).map(|(a, b)| a - b).collect();
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let se = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
        assert!(
            mean > 0.5 && mean > 5.0 * se,
            "{algo:?}: gain {mean} ± {se}"
        );
    }
}

#[test]
fn a_model_based_evaluation_reports_its_reading_as_zero_steps() {
    let mut c = Config::new(TaskKind::Sine, Algo::Cnp);
    c.hidden = vec![8, 8];
    let r = Runner::new(c).unwrap();
    let spec = metaplay::experiment::runner::EvalSpec {
        tasks: 20,
        ..Default::default()
    };
    let report = r.evaluate(&spec).unwrap();
    assert_eq!(report.post.len(), 1);
    assert_eq!(
        report.post[0].0, 0,
        "no gradient steps: reported after 0 steps"
    );
    assert!(report.pre.mean.is_finite() && report.post[0].1.mean.is_finite());
}
