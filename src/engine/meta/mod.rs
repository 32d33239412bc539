//! Meta-learners and baselines, behind one [`Learner`] whose [`Learner::step`] is one
//! meta-iteration of the chosen [`Algo`].

mod algo;
pub mod baselines;
pub mod cnp;
pub mod eval;
pub mod gradient_check;
mod gradient_step;
pub mod hypernet;
pub mod maml;
pub mod model_based;
pub mod momentum;
pub mod reptile;

use candle_core::{Device, Tensor};

use crate::engine::mlp::{Mlp, Precision};
use crate::engine::optim::{Optimizer, OptimizerKind};
use crate::engine::params::{host_gradients, to_host, ParamSet};
use crate::engine::rng::Rng;
use crate::engine::tasks::RegressionBatch;
use crate::error::Result;
use rand::Rng as _;

pub use algo::{Algo, LrInit};
pub use maml::InnerLr;
pub use model_based::ModelBased;
pub use reptile::{AdamState, InnerOptimizer, InnerRule};

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
                self.gradient_step(&b)?
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

    /// Training tasks left out of a meta-update because their inner loop diverged (only with
    /// [`LearnerSpec::meta_clip`]).
    pub fn dropped_tasks(&self) -> usize {
        self.dropped_tasks
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
