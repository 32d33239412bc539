//! The meta-iteration of each algorithm recorded as one GPU [`Program`], one file per
//! algorithm as in [`crate::engine::meta`]: [`maml`] (MAML, first-order MAML, Meta-SGD),
//! [`reptile`], [`baselines`] (joint pre-training, the unadapted scratch baseline). What they
//! share — the buffers every program has, the points' addressing, the per-task sum, the loss
//! ring and the outer update — is here.

mod baselines;
mod maml;
mod reptile;

use crate::engine::gpu::context::GpuContext;
use crate::engine::gpu::mlp_program::{elementwise, Layout, MlpRecorder, ParamView, Points};
use crate::engine::gpu::program::{Buf, Kernel, Params, Program, ProgramBuilder};
use crate::engine::meta::reptile::{outer_step_size, INNER_ADAM};
use crate::engine::meta::{Algo, InnerOptimizer, LearnerSpec};
use crate::engine::optim::{AdamParams, OptimizerKind};
use crate::error::{Error, Result};

/// Index of the first of Reptile's inner-Adam bias corrections in the step record (see
/// [`step_record`]).
const STEP_INNER: usize = 4;

/// The device buffers the host writes every iteration.
pub(crate) struct Inputs {
    pub xs: Buf,
    pub ys: Buf,
    pub xq: Buf,
    pub yq: Buf,
    /// The step record ([`step_record`]).
    pub step: Buf,
}

/// A recorded meta-iteration and the buffers the learner reads or writes.
pub(crate) struct Recorded {
    pub program: Program,
    pub inputs: Inputs,
    /// The meta-parameters (Meta-SGD: network, then rates).
    pub meta: Buf,
    /// Meta-losses, one slot per iteration modulo the ring's length.
    pub loss_ring: Buf,
    /// Reptile with [`InnerOptimizer::Adam`]: the inner Adam's second moments `[T, P]`, kept
    /// across iterations.
    pub inner_moments: Option<Buf>,
    /// Meta-parameters.
    pub meta_len: usize,
}

/// What an algorithm's recording works with.
struct Recording<'a> {
    b: ProgramBuilder,
    rec: MlpRecorder,
    spec: &'a LearnerSpec,
    inputs: Inputs,
    meta: Buf,
    /// The meta-gradient `[meta_len]` the outer update reads.
    grad: Buf,
    loss_ring: Buf,
    tasks: usize,
    support: usize,
    query: usize,
    /// Scalars per network.
    p: usize,
}

impl Recording<'_> {
    /// The meta-parameters' network, shared by every task.
    fn shared(&self) -> ParamView {
        ParamView {
            buf: self.meta,
            base: 0,
            stride: 0,
        }
    }

    fn support_pts(&self) -> Points {
        Points {
            x: self.inputs.xs,
            y: self.inputs.ys,
            off: 0,
            stride: self.support,
            rows: self.support,
        }
    }

    fn query_pts(&self) -> Points {
        Points {
            x: self.inputs.xq,
            y: self.inputs.yq,
            off: 0,
            stride: self.query,
            rows: self.query,
        }
    }

    /// `grad[off..off + P] = alpha · Σ_t from[t]` over per-task vectors of `P` scalars.
    fn task_sum(&mut self, from: Buf, off: usize, alpha: f32) {
        let (p, t) = (self.p, self.tasks);
        let params = Params {
            m: p as u32,
            batch: t as u32,
            a: [0, p as u32, 0, 0],
            c: [off as u32, 0, 0],
            alpha,
            ..Params::default()
        };
        self.b.op(Kernel::TaskSum, &[from], &[self.grad], params, p);
    }

    /// The mean of the per-task `losses` into this iteration's slot of the loss ring.
    fn mean_loss(&mut self, losses: Buf) {
        let params = Params {
            batch: self.tasks as u32,
            ..Params::default()
        };
        let step = self.inputs.step;
        let reads = [losses, step, step, step];
        self.b
            .op(Kernel::MeanLoss, &reads, &[self.loss_ring], params, 1);
    }
}

/// Whether the program ends with an outer update of the meta-parameters.
enum Outer {
    Update,
    None,
}

/// Records the meta-iteration of `spec` for meta-batches of `tasks` tasks with `support` and
/// `query` points.
pub(crate) fn record(
    ctx: &GpuContext,
    spec: &LearnerSpec,
    tasks: usize,
    support: usize,
    query: usize,
) -> Result<Recorded> {
    let layout = Layout::of(&spec.mlp);
    let p = layout.len;
    let meta_len = meta_len(spec);
    let t = tasks;
    let mut b = ProgramBuilder::new(ctx);
    let meta = b.buffer("meta", meta_len);
    let moments = b.buffer("moments", 2 * meta_len);
    let grad = b.buffer("meta gradient", meta_len);
    let loss_ring = b.buffer("loss ring", super::learner::LOSS_RING);
    let all = support + query;
    let (xs_len, xq_len) = if spec.algo == Algo::Pretrain {
        (t * all, t * all)
    } else {
        (t * support, t * query)
    };
    let inputs = Inputs {
        xs: b.buffer("xs", xs_len),
        ys: b.buffer("ys", xs_len),
        xq: b.buffer("xq", xq_len),
        yq: b.buffer("yq", xq_len),
        step: b.buffer("step", step_len(spec)),
    };
    let mut r = Recording {
        b,
        rec: MlpRecorder { layout, tasks },
        spec,
        inputs,
        meta,
        grad,
        loss_ring,
        tasks,
        support,
        query,
        p,
    };
    let mut inner_moments = None;
    let outer = match spec.algo {
        Algo::Maml | Algo::Fomaml | Algo::MetaSgd => maml::record(&mut r),
        Algo::Reptile => {
            inner_moments = reptile::record(&mut r)?;
            Outer::Update
        }
        Algo::Pretrain => baselines::pretrain(&mut r),
        Algo::Scratch => baselines::scratch(&mut r),
        Algo::Cnp | Algo::Hypernet | Algo::MetaSgdMomentum => return Err(cpu_only(spec)),
    };
    let Recording { mut b, inputs, .. } = r;
    if let Outer::Update = outer {
        let flag = u32::from(spec.meta_optimizer == OptimizerKind::Sgd);
        let step = inputs.step;
        b.op(
            Kernel::OuterUpdate,
            &[grad, step, step, step],
            &[meta, moments],
            elementwise(meta_len, 1.0, flag),
            meta_len,
        );
    }
    Ok(Recorded {
        program: b.finish()?,
        inputs,
        meta,
        loss_ring,
        inner_moments,
        meta_len,
    })
}

/// Meta-parameters of `spec`: the network's scalars (Meta-SGD: and as many rates).
pub(crate) fn meta_len(spec: &LearnerSpec) -> usize {
    let p = Layout::of(&spec.mlp).len;
    if spec.algo == Algo::MetaSgd {
        2 * p
    } else {
        p
    }
}

/// Scalars in the step record of `spec`.
fn step_len(spec: &LearnerSpec) -> usize {
    match (spec.algo, spec.inner_optimizer) {
        (Algo::Reptile, InnerOptimizer::Adam | InnerOptimizer::AdamPerTask) => {
            STEP_INNER + spec.inner_steps
        }
        _ => STEP_INNER,
    }
}

/// The step record written before iteration `iter` (0-based): `[lr, 1 − β₁ᵗ, 1 − β₂ᵗ, slot]`
/// for the outer update ([`AdamParams::DEFAULT`], `t = iter + 1`; Reptile: the annealed ε)
/// and the loss ring's `slot`, then for Reptile's inner Adam `1 / (1 − β₂ᵗ)` of each inner
/// step ([`INNER_ADAM`]; `t` goes on from `inner_adam_steps` steps taken before).
pub(crate) fn step_record(
    spec: &LearnerSpec,
    iter: usize,
    slot: usize,
    inner_adam_steps: u64,
) -> Vec<f32> {
    let lr = match spec.algo {
        Algo::Reptile => outer_step_size(spec.meta_lr, iter, spec.anneal_iters),
        _ => spec.meta_lr,
    };
    let (c1, c2) = AdamParams::DEFAULT.bias_corrections(iter as u64 + 1);
    let mut record = vec![lr as f32, c1 as f32, c2 as f32, slot as f32];
    for s in 0..step_len(spec) - STEP_INNER {
        let (_, c2) = INNER_ADAM.bias_corrections(inner_adam_steps + s as u64 + 1);
        record.push((1.0 / c2) as f32);
    }
    record
}

/// Fails for the learners without kernels here (the model-based ones and the learned
/// optimiser): they train on the CPU.
pub(crate) fn check_supported(spec: &LearnerSpec) -> Result<()> {
    match spec.algo.has_gpu_kernels() {
        true => Ok(()),
        false => Err(cpu_only(spec)),
    }
}

fn cpu_only(spec: &LearnerSpec) -> Error {
    Error::gpu_unsupported(format!("{} trains on the CPU only", spec.algo.name()))
}

/// Fails unless `params` holds `meta_len` scalars.
pub(crate) fn check_len(given: usize, meta_len: usize, whose: &str) -> Result<()> {
    if given == meta_len {
        Ok(())
    } else {
        Err(Error::gpu_unsupported(format!(
            "{given} meta-parameters given, {whose} has {meta_len}"
        )))
    }
}
