//! Meta-learners and baselines, behind one [`Learner`] whose [`Learner::step`] is one
//! meta-iteration of the chosen [`Algo`].

pub mod baselines;
pub mod cnp;
pub mod eval;
pub mod hypernet;
pub mod maml;
pub mod model_based;
pub mod momentum;
pub mod reptile;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::engine::mlp::{Mlp, Precision};
use crate::engine::optim::{Optimizer, OptimizerKind};
use crate::engine::params::{host_gradients, to_host, ParamSet};
use crate::engine::rng::Rng;
use crate::engine::tasks::{BatchTensors, RegressionBatch};
use crate::error::Result;
use rand::Rng as _;

pub use maml::InnerLr;
pub use model_based::ModelBased;
pub use reptile::{AdamState, InnerOptimizer, InnerRule};

/// The meta-learning algorithm (or baseline) a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    /// MAML with exact second-order meta-gradients (Finn et al. 2017).
    Maml,
    /// First-order MAML: the inner gradient is detached (Finn et al. 2017, §5.2).
    Fomaml,
    /// Reptile (Nichol et al. 2018).
    Reptile,
    /// Meta-SGD: MAML with a learned per-parameter inner learning rate (Li et al. 2017).
    MetaSgd,
    /// A learned inner optimiser: Meta-SGD with a learned per-parameter momentum decay
    /// ([`momentum`]).
    #[serde(rename = "metasgd-momentum")]
    MetaSgdMomentum,
    /// Joint pre-training on all tasks, fine-tuned at test time (MAML paper baseline).
    Pretrain,
    /// No meta-training: a random initialisation fine-tuned on the support set.
    Scratch,
    /// Conditional neural process (Garnelo et al. 2018): reads the support set, no gradient
    /// step at adaptation.
    Cnp,
    /// A GRU that reads the support points and writes the task network's output layer and
    /// per-unit scale and shift (model-based).
    Hypernet,
}

impl Algo {
    /// Every algorithm, in menu order.
    pub const ALL: [Algo; 9] = [
        Algo::Maml,
        Algo::Fomaml,
        Algo::Reptile,
        Algo::MetaSgd,
        Algo::MetaSgdMomentum,
        Algo::Pretrain,
        Algo::Scratch,
        Algo::Cnp,
        Algo::Hypernet,
    ];

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Maml => "maml",
            Algo::Fomaml => "fomaml",
            Algo::Reptile => "reptile",
            Algo::MetaSgd => "metasgd",
            Algo::MetaSgdMomentum => "metasgd-momentum",
            Algo::Pretrain => "pretrain",
            Algo::Scratch => "scratch",
            Algo::Cnp => "cnp",
            Algo::Hypernet => "hypernet",
        }
    }

    /// True for the learners that adapt by reading the support set, not by gradient steps.
    pub fn is_model_based(self) -> bool {
        matches!(self, Algo::Cnp | Algo::Hypernet)
    }

    /// True for the learners that meta-learn per-parameter inner learning rates (Meta-SGD and
    /// the learned optimiser).
    pub fn learns_inner_lrs(self) -> bool {
        matches!(self, Algo::MetaSgd | Algo::MetaSgdMomentum)
    }

    /// True for the learners the WebGPU backend has kernels for (all but the model-based ones
    /// and the learned optimiser, which train on the CPU).
    pub fn has_gpu_kernels(self) -> bool {
        !self.is_model_based() && self != Algo::MetaSgdMomentum
    }

    /// Parses a [`Algo::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// How Meta-SGD's per-parameter learning rates start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrInit {
    /// Every rate at the inner learning rate α.
    #[default]
    Constant,
    /// Each rate drawn from U[0.005, 0.1], as Li et al. 2017 (§4.1) initialise them.
    Uniform,
}

impl LrInit {
    /// The range of [`LrInit::Uniform`].
    pub const UNIFORM_RANGE: (f64, f64) = (0.005, 0.1);

    /// The name used on the command line and in URLs.
    pub fn name(self) -> &'static str {
        match self {
            LrInit::Constant => "constant",
            LrInit::Uniform => "uniform",
        }
    }

    /// Parses a [`LrInit::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [LrInit::Constant, LrInit::Uniform]
            .into_iter()
            .find(|i| i.name() == s)
    }
}

/// Everything a [`Learner`] needs to know besides the data.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnerSpec {
    /// The algorithm.
    pub algo: Algo,
    /// The network.
    pub mlp: Mlp,
    /// Inner-loop learning rate `α` (Meta-SGD: its initial value).
    pub inner_lr: f64,
    /// Meta-SGD and the learned optimiser: how the learned rates start.
    pub lr_init: LrInit,
    /// The learned optimiser: the initial momentum decay `β` of every parameter.
    pub momentum: f64,
    /// Inner-loop steps during meta-training.
    pub inner_steps: usize,
    /// Reptile: support points per inner step (the support set holds `inner_steps` of them).
    pub inner_batch: usize,
    /// Reptile: the inner update rule.
    pub inner_optimizer: InnerOptimizer,
    /// Outer learning rate (Reptile: the initial step size ε).
    pub meta_lr: f64,
    /// Outer update rule.
    pub meta_optimizer: OptimizerKind,
    /// Reptile: anneal ε linearly to 0 over this many iterations.
    pub anneal_iters: Option<usize>,
    /// Numeric precision.
    pub precision: Precision,
    /// Largest Euclidean norm of a meta-gradient: longer ones are scaled down to it, a
    /// non-finite one skips the update, and the tasks whose inner loop diverged are left out of
    /// the update (`None`: none of this). Not for Reptile, whose outer direction is not a
    /// gradient.
    pub meta_clip: Option<f64>,
}

/// A meta-learner: its meta-parameters, its optimiser state and its update rule.
#[derive(Clone, Debug)]
pub struct Learner {
    spec: LearnerSpec,
    params: ParamSet,
    optimizer: Optimizer,
    /// Reptile with [`InnerOptimizer::Adam`]: the inner Adam's state, kept across iterations.
    inner_adam: AdamState,
    iter: usize,
    dropped_tasks: usize,
    device: Device,
}

impl Learner {
    /// A learner with the network initialised from `rng`; for Meta-SGD and the learned
    /// optimiser also the inner learning rates `lr_*` ([`LrInit`], drawn after the network so
    /// that it is the same either way), and for the latter the momentum decays `beta_*` at
    /// `spec.momentum`.
    pub fn new(spec: LearnerSpec, rng: &mut Rng) -> Self {
        let mut params = match Self::model_of(&spec) {
            Some(model) => model.init(rng),
            None => spec.mlp.init(rng),
        };
        let net = params.len();
        let mut group = |prefix: &str, value: &mut dyn FnMut() -> f64| {
            for i in 0..net {
                let (name, shape) = (
                    format!("{prefix}_{}", params.names[i]),
                    params.shapes[i].clone(),
                );
                let values = (0..params.values[i].len()).map(|_| value()).collect();
                params.push(name, shape, values);
            }
        };
        if spec.algo.learns_inner_lrs() {
            let (lo, hi) = LrInit::UNIFORM_RANGE;
            match spec.lr_init {
                LrInit::Constant => group("lr", &mut || spec.inner_lr),
                LrInit::Uniform => group("lr", &mut || rng.random_range(lo..hi)),
            }
        }
        if spec.algo == Algo::MetaSgdMomentum {
            let beta = spec.momentum.clamp(0.0, momentum::MAX_DECAY);
            group("beta", &mut || beta);
        }
        let optimizer = Optimizer::new(spec.meta_optimizer, spec.meta_lr);
        Self {
            spec,
            params,
            optimizer,
            inner_adam: AdamState::default(),
            iter: 0,
            dropped_tasks: 0,
            device: Device::Cpu,
        }
    }

    /// The settings.
    pub fn spec(&self) -> &LearnerSpec {
        &self.spec
    }

    /// All meta-parameters (network, then Meta-SGD's learning rates `lr_*`, then the learned
    /// optimiser's momentum decays `beta_*`).
    pub fn params(&self) -> &ParamSet {
        &self.params
    }

    /// Replaces the meta-parameters (same names and shapes), e.g. from an imported file.
    pub fn set_params(&mut self, params: ParamSet) {
        self.params = params;
    }

    /// Reptile with [`InnerOptimizer::Adam`]: the inner Adam's state (one slot per task of the
    /// meta-batch; empty before the first iteration and for other rules).
    pub fn inner_adam(&self) -> &AdamState {
        &self.inner_adam
    }

    /// Replaces the inner Adam's state with flat per-task moments (the WebGPU backend's
    /// layout: `tasks` slots of every network parameter in [`ParamSet`] order) after `steps`
    /// steps.
    pub fn set_inner_adam(&mut self, flat: &[f64], tasks: usize, steps: u64) -> Result<()> {
        let shapes = &self.params.shapes[..self.net_len()];
        let dtype = self.spec.precision.dtype();
        self.inner_adam = AdamState::from_flat(flat, tasks, shapes, steps, dtype, &self.device)?;
        Ok(())
    }

    /// Meta-iterations done.
    pub fn iter(&self) -> usize {
        self.iter
    }

    /// Sets the iteration count, for parameters trained elsewhere (the GPU backend).
    pub fn set_iter(&mut self, iter: usize) {
        self.iter = iter;
    }

    /// Support points each training task needs.
    pub fn support_size(&self, k: usize) -> usize {
        match self.spec.algo {
            Algo::Reptile => self.spec.inner_steps * self.spec.inner_batch,
            _ => k,
        }
    }

    fn net_len(&self) -> usize {
        match self.spec.algo {
            a if a.is_model_based() => self.params.len(),
            _ => 2 * self.spec.mlp.layers(),
        }
    }

    fn model_of(spec: &LearnerSpec) -> Option<ModelBased> {
        match spec.algo {
            Algo::Cnp => Some(ModelBased::cnp(&spec.mlp)),
            Algo::Hypernet => Some(ModelBased::hypernet(&spec.mlp)),
            _ => None,
        }
    }

    /// The model-based learner's networks (CNP, hypernetwork), `None` for the others.
    pub fn model_based(&self) -> Option<ModelBased> {
        Self::model_of(&self.spec)
    }

    /// One meta-iteration on `batch`; returns the meta-training loss: the mean query MSE after
    /// the inner loop (pre-training: the MSE on all points; scratch: the query MSE unadapted;
    /// model-based learners: the query MSE of their prediction, whatever they minimise).
    pub fn step(&mut self, batch: &RegressionBatch) -> Result<f64> {
        let dtype = self.spec.precision.dtype();
        let b = batch.tensors(dtype, &self.device)?;
        let s = &self.spec;
        let loss = match s.algo {
            Algo::Maml | Algo::Fomaml | Algo::MetaSgd | Algo::MetaSgdMomentum => {
                let (mut loss, mut g) = self.meta_gradient(&b)?;
                if !loss.is_finite() && s.meta_clip.is_some() {
                    if let Some(kept) = self.finite_tasks(&b)? {
                        self.dropped_tasks += b.xs.dim(0)? - kept.xs.dim(0)?;
                        (loss, g) = self.meta_gradient(&kept)?;
                    }
                }
                let algo = s.algo;
                self.update(g);
                if algo == Algo::MetaSgdMomentum {
                    let n = self.net_len();
                    for values in &mut self.params.values[2 * n..] {
                        values
                            .iter_mut()
                            .for_each(|b| *b = b.clamp(0.0, momentum::MAX_DECAY));
                    }
                }
                loss
            }
            Algo::Reptile => {
                let theta = self.params.tensors(dtype, &self.device)?;
                let mut fresh = AdamState::default();
                let lr = s.inner_lr;
                let rule = match s.inner_optimizer {
                    InnerOptimizer::Sgd => InnerRule::Sgd { lr },
                    InnerOptimizer::Adam => InnerRule::Adam {
                        lr,
                        state: &mut self.inner_adam,
                    },
                    InnerOptimizer::AdamPerTask => InnerRule::Adam {
                        lr,
                        state: &mut fresh,
                    },
                };
                let adapted = reptile::adapt_tasks(
                    &s.mlp,
                    &theta,
                    &b.xs,
                    &b.ys,
                    s.inner_steps,
                    s.inner_batch,
                    rule,
                )?;
                let loss = scalar(&s.mlp.loss(&adapted, &b.xq, &b.yq)?.mean(0)?)?;
                let direction = reptile::outer_direction(&theta, &adapted)?;
                self.optimizer.lr = reptile::outer_step_size(s.meta_lr, self.iter, s.anneal_iters);
                let g = direction.iter().map(to_host).collect::<Result<Vec<_>>>()?;
                self.optimizer.step(&mut self.params, &g);
                loss
            }
            Algo::Pretrain => {
                let theta = self.params.tensors(dtype, &self.device)?;
                let (loss, grads) =
                    baselines::pretrain_loss_and_grad(&s.mlp, &theta, &b.xs, &b.ys, &b.xq, &b.yq)?;
                let g = grads.iter().map(to_host).collect::<Result<Vec<_>>>()?;
                self.update(g);
                loss
            }
            Algo::Scratch => {
                let theta = self.params.tensors(dtype, &self.device)?;
                scalar(&s.mlp.loss(&theta, &b.xq, &b.yq)?.mean(0)?)?
            }
            Algo::Cnp | Algo::Hypernet => {
                let model = Self::model_of(s).expect("a model-based algorithm");
                let vars = self.params.vars(dtype, &self.device)?;
                let p: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
                let k = context_size(self.iter, b.xs.dim(1)?);
                let (xs, ys) = (b.xs.narrow(1, 0, k)?, b.ys.narrow(1, 0, k)?);
                let (objective, mse) = model.objective(&p, &xs, &ys, &b.xq, &b.yq)?;
                let g = host_gradients(&vars, &objective.backward()?)?;
                self.update(g);
                scalar(&mse.mean(0)?)?
            }
        };
        self.iter += 1;
        Ok(loss)
    }

    /// The meta-loss and meta-gradient (network, then rates, then decays) of the
    /// gradient-based meta-learners on `b`: exact second order, or first order for FOMAML.
    fn meta_gradient(&self, b: &BatchTensors) -> Result<(f64, Vec<Vec<f64>>)> {
        let s = &self.spec;
        let ts = self.params.tensors(s.precision.dtype(), &self.device)?;
        let n = self.net_len();
        let (theta, rest) = ts.split_at(n);
        let host = |groups: &[&Vec<Tensor>]| -> Result<Vec<Vec<f64>>> {
            groups.iter().copied().flatten().map(to_host).collect()
        };
        if s.algo == Algo::MetaSgdMomentum {
            let (lrs, betas) = rest.split_at(n);
            let (xs, ys, xq, yq) = (&b.xs, &b.ys, &b.xq, &b.yq);
            let mg =
                momentum::meta_gradient(&s.mlp, theta, lrs, betas, xs, ys, xq, yq, s.inner_steps)?;
            return Ok((scalar(&mg.loss)?, host(&[&mg.params, &mg.lrs, &mg.betas])?));
        }
        let inner = match rest.is_empty() {
            true => InnerLr::Scalar(s.inner_lr),
            false => InnerLr::PerParam(rest),
        };
        let first_order = s.algo == Algo::Fomaml;
        let mg = maml::meta_gradient(
            &s.mlp,
            theta,
            &b.xs,
            &b.ys,
            &b.xq,
            &b.yq,
            s.inner_steps,
            inner,
            first_order,
        )?;
        Ok((scalar(&mg.loss)?, host(&[&mg.params, &mg.lrs])?))
    }

    /// The tasks of `b` whose query loss after the inner loop is finite, `None` when there are
    /// none (the run has diverged).
    fn finite_tasks(&self, b: &BatchTensors) -> Result<Option<BatchTensors>> {
        let mut tune = eval::FineTune::new(self, b.xs.dim(0)?)?;
        tune.steps(&b.xs, &b.ys, self.spec.inner_steps)?;
        let losses = to_host(&self.spec.mlp.loss(tune.params(), &b.xq, &b.yq)?)?;
        let kept: Vec<u32> = (0..losses.len() as u32)
            .filter(|&t| losses[t as usize].is_finite())
            .collect();
        if kept.is_empty() {
            return Ok(None);
        }
        let idx = Tensor::new(kept.as_slice(), &self.device)?;
        let pick = |t: &Tensor| t.index_select(&idx, 0);
        Ok(Some(BatchTensors {
            xs: pick(&b.xs)?,
            ys: pick(&b.ys)?,
            xq: pick(&b.xq)?,
            yq: pick(&b.yq)?,
        }))
    }

    /// Training tasks left out of a meta-update because their inner loop diverged (only with
    /// [`LearnerSpec::meta_clip`]).
    pub fn dropped_tasks(&self) -> usize {
        self.dropped_tasks
    }

    /// One outer update with the meta-gradient `g`, clipped to [`LearnerSpec::meta_clip`].
    fn update(&mut self, mut g: Vec<Vec<f64>>) {
        if let Some(max) = self.spec.meta_clip {
            let norm = g.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
            if !norm.is_finite() {
                return;
            }
            if norm > max {
                g.iter_mut().flatten().for_each(|x| *x *= max / norm);
            }
        }
        self.optimizer.step(&mut self.params, &g);
    }

    /// The network's parameters as tensors (without Meta-SGD's learning rates).
    pub fn network(&self) -> Result<Vec<Tensor>> {
        let mut t = self
            .params
            .tensors(self.spec.precision.dtype(), &self.device)?;
        t.truncate(self.net_len());
        Ok(t)
    }

    /// Meta-SGD's (and the learned optimiser's) learned learning rates as tensors (empty for
    /// other algorithms).
    pub fn inner_lrs(&self) -> Result<Vec<Tensor>> {
        self.group(1)
    }

    /// The learned optimiser's momentum decays `β` as tensors (empty for other algorithms).
    pub fn momentum_decays(&self) -> Result<Vec<Tensor>> {
        self.group(2)
    }

    /// The `index`-th block of `net_len` parameters (0 network, 1 rates, 2 decays), empty when
    /// the learner has none.
    fn group(&self, index: usize) -> Result<Vec<Tensor>> {
        let n = self.net_len();
        let t = self
            .params
            .tensors(self.spec.precision.dtype(), &self.device)?;
        Ok(t.get(index * n..(index + 1) * n)
            .unwrap_or_default()
            .to_vec())
    }

    /// The device tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// The support points a model-based learner reads at meta-iteration `iter` of support sets of
/// `k`: drawn uniformly from `0..=k` (the same for the whole meta-batch), so that it learns to
/// read any number of points, none included, as Garnelo et al. 2018 train on random context
/// sizes. A hash of the iteration (SplitMix64), so that it needs no random stream of its own.
pub fn context_size(iter: usize, k: usize) -> usize {
    let mut z = (iter as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % (k as u64 + 1)) as usize
}

/// A scalar tensor's value as `f64`.
pub fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
}
