//! [`GpuLearner`]: a [`Learner`](crate::engine::meta::Learner)'s meta-iteration on the GPU.
//!
//! The meta-parameters and the optimiser's moments stay on the device. Each iteration uploads
//! its meta-batch (drawn on the host from the same task stream as on the CPU) and one step
//! record, replays a fixed [`Program`] and writes the meta-loss into a ring buffer; nothing is
//! read back until [`GpuLearner::readback`], which copies the losses since the last readback and
//! the parameters, and resolves once the GPU is done (no per-iteration stall).

use crate::engine::gpu::context::GpuContext;
use crate::engine::gpu::mlp_program::{elementwise, Layout, MlpRecorder, ParamView, Points};
use crate::engine::gpu::program::{Buf, Kernel, Params, Program, ProgramBuilder};
use crate::engine::meta::{Algo, LearnerSpec};
use crate::engine::optim::OptimizerKind;
use crate::engine::params::ParamSet;
use crate::engine::tasks::RegressionBatch;
use crate::error::{Error, Result};

/// Iterations the loss ring holds: at most this many may be submitted between readbacks.
pub const LOSS_RING: usize = 1024;

/// The device buffers the host writes every iteration.
struct Inputs {
    xs: Buf,
    ys: Buf,
    xq: Buf,
    yq: Buf,
    step: Buf,
}

/// What a readback brings home.
#[derive(Clone, Debug, PartialEq)]
pub struct Readback {
    /// Iteration (0-based) of `losses[0]`.
    pub first_iter: usize,
    /// Meta-loss of each iteration since the previous readback.
    pub losses: Vec<f64>,
    /// All meta-parameters after the last of them, flat in [`ParamSet`] order.
    pub params: Vec<f64>,
}

/// A readback in flight: owns what it needs, so it can be awaited without borrowing the learner.
pub struct PendingReadback {
    ctx: GpuContext,
    staging: wgpu::Buffer,
    first_iter: usize,
    count: usize,
    params_len: usize,
}

impl PendingReadback {
    /// Waits for the GPU and returns the losses and parameters.
    pub async fn wait(self) -> Result<Readback> {
        let (tx, rx) = futures_channel::oneshot::channel();
        let slice = self.staging.slice(..);
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::device_lost(format!("waiting for the GPU: {e}")))?;
        let mapped = rx
            .await
            .map_err(|_| Error::device_lost("the readback was cancelled"))?;
        self.ctx.check()?;
        mapped.map_err(|e| Error::device_lost(format!("reading results back: {e}")))?;
        let values: Vec<f32> = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::device_lost(format!("reading results back: {e:?}")))?;
            view.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        self.staging.unmap();
        let losses = (0..self.count)
            .map(|i| f64::from(values[(self.first_iter + i) % LOSS_RING]))
            .collect();
        let params = values[LOSS_RING..LOSS_RING + self.params_len]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        Ok(Readback {
            first_iter: self.first_iter,
            losses,
            params,
        })
    }
}

/// A meta-learner running on the GPU (MAML, first-order MAML, Meta-SGD, Reptile, joint
/// pre-training, or the unadapted scratch baseline), equal in its maths to the CPU learner.
pub struct GpuLearner {
    ctx: GpuContext,
    spec: LearnerSpec,
    program: Program,
    inputs: Inputs,
    meta: Buf,
    loss_ring: Buf,
    staging: wgpu::Buffer,
    tasks: usize,
    support: usize,
    query: usize,
    params_len: usize,
    iter: usize,
    read_up_to: usize,
}

impl GpuLearner {
    /// Builds the learner for meta-batches of `tasks` tasks with `support` and `query` points,
    /// starting from `params` (the CPU learner's initial meta-parameters, Meta-SGD rates
    /// included) at iteration `iter`.
    pub fn new(
        ctx: &GpuContext,
        spec: &LearnerSpec,
        params: &ParamSet,
        tasks: usize,
        support: usize,
        query: usize,
    ) -> Result<Self> {
        let mlp = &spec.mlp;
        let layout = Layout::of(mlp);
        let p = layout.len;
        let meta_sgd = spec.algo == Algo::MetaSgd;
        let meta_len = if meta_sgd { 2 * p } else { p };
        if params.numel() != meta_len {
            return Err(Error::gpu_unsupported(format!(
                "{} meta-parameters given, the network has {meta_len}",
                params.numel()
            )));
        }
        let rec = MlpRecorder {
            layout: layout.clone(),
            tasks,
        };
        let t = tasks;
        let mut b = ProgramBuilder::new(ctx);
        let meta = b.buffer("meta", meta_len);
        let moments = b.buffer("moments", 2 * meta_len);
        let grad = b.buffer("meta gradient", meta_len);
        let loss_ring = b.buffer("loss ring", LOSS_RING);
        let all = support + query;
        let pretrain = spec.algo == Algo::Pretrain;
        let (xs_len, xq_len) = if pretrain {
            (t * all, t * all)
        } else {
            (t * support, t * query)
        };
        let inputs = Inputs {
            xs: b.buffer("xs", xs_len),
            ys: b.buffer("ys", xs_len),
            xq: b.buffer("xq", xq_len),
            yq: b.buffer("yq", xq_len),
            step: b.buffer("step", 4),
        };
        let shared = ParamView {
            buf: meta,
            base: 0,
            stride: 0,
        };
        let support_pts = Points {
            x: inputs.xs,
            y: inputs.ys,
            off: 0,
            stride: support,
            rows: support,
        };
        let query_pts = Points {
            x: inputs.xq,
            y: inputs.yq,
            off: 0,
            stride: query,
            rows: query,
        };
        let task_sum = |b: &mut ProgramBuilder, from: Buf, off: usize, alpha: f32| {
            let params = Params {
                m: p as u32,
                batch: t as u32,
                a: [0, p as u32, 0, 0],
                c: [off as u32, 0, 0],
                alpha,
                ..Params::default()
            };
            b.op(Kernel::TaskSum, &[from], &[grad], params, p);
        };
        let mean_loss = |b: &mut ProgramBuilder, losses: Buf| {
            let params = Params {
                batch: t as u32,
                ..Params::default()
            };
            b.op(
                Kernel::MeanLoss,
                &[losses, inputs.step, inputs.step, inputs.step],
                &[loss_ring],
                params,
                1,
            );
        };
        let mut update = true;
        match spec.algo {
            Algo::Maml | Algo::Fomaml | Algo::MetaSgd => {
                let steps = spec.inner_steps;
                let lr_flag = u32::from(meta_sgd);
                let inner_lr = spec.inner_lr as f32;
                let mut thetas = vec![shared];
                let mut passes = Vec::new();
                for j in 0..steps {
                    let pass = rec.pass_bufs(&mut b, &format!("support{j}"), support);
                    rec.forward(&mut b, thetas[j], &support_pts, &pass);
                    rec.backward(&mut b, thetas[j], &support_pts, &pass, 2.0 / support as f32);
                    let next = ParamView {
                        buf: b.buffer(&format!("theta{}", j + 1), t * p),
                        base: 0,
                        stride: p,
                    };
                    let params = Params {
                        m: p as u32,
                        batch: t as u32,
                        a: [0, thetas[j].stride as u32, 0, 0],
                        b: [p as u32, 0, 0, 0],
                        flag: lr_flag,
                        alpha: inner_lr,
                        ..Params::default()
                    };
                    b.op(
                        Kernel::InnerSgd,
                        &[thetas[j].buf, pass.grad, meta],
                        &[next.buf],
                        params,
                        t * p,
                    );
                    thetas.push(next);
                    passes.push(pass);
                }
                let qpass = rec.pass_bufs(&mut b, "query", query);
                let adapted = thetas[steps];
                rec.forward(&mut b, adapted, &query_pts, &qpass);
                // the query gradient already divided by T: v_S = ∇L_query(θ_S)/T
                rec.backward(
                    &mut b,
                    adapted,
                    &query_pts,
                    &qpass,
                    2.0 / (query * t) as f32,
                );
                mean_loss(&mut b, qpass.loss);
                let v = qpass.grad;
                let lr_grad = meta_sgd.then(|| b.buffer("lr gradient", t * p));
                let second_order = spec.algo != Algo::Fomaml;
                let (u, hu, hvp) = if second_order && steps > 0 {
                    (
                        Some(b.buffer("u", t * p)),
                        Some(b.buffer("hu", t * p)),
                        Some(rec.hvp_bufs(&mut b, support)),
                    )
                } else {
                    (None, None, None)
                };
                for j in (0..steps).rev() {
                    if let Some(lg) = lr_grad {
                        // ∂α += g_j ⊙ v_{j+1} (negated at the sum)
                        let flag = u32::from(j + 1 < steps);
                        b.op(
                            Kernel::Mul,
                            &[passes[j].grad, v],
                            &[lg],
                            elementwise(t * p, 1.0, flag),
                            t * p,
                        );
                    }
                    if let (Some(u), Some(hu), Some(hvp)) = (u, hu, hvp.as_ref()) {
                        // v_j = v_{j+1} − H_j·(α ⊙ v_{j+1})
                        let params = Params {
                            m: p as u32,
                            batch: t as u32,
                            b: [p as u32, 0, 0, 0],
                            flag: lr_flag,
                            alpha: inner_lr,
                            ..Params::default()
                        };
                        b.op(Kernel::ScaleLr, &[v, meta], &[u], params, t * p);
                        rec.hvp(
                            &mut b,
                            thetas[j],
                            &support_pts,
                            &passes[j],
                            2.0 / support as f32,
                            u,
                            hvp,
                            hu,
                        );
                        b.op(
                            Kernel::Axpy,
                            &[hu],
                            &[v],
                            elementwise(t * p, -1.0, 1),
                            t * p,
                        );
                    }
                }
                task_sum(&mut b, v, 0, 1.0);
                if let Some(lg) = lr_grad {
                    task_sum(&mut b, lg, p, -1.0);
                }
            }
            Algo::Reptile => {
                let steps = spec.inner_steps;
                let batch = spec.inner_batch;
                let adapted = ParamView {
                    buf: b.buffer("adapted", t * p),
                    base: 0,
                    stride: p,
                };
                let adam = spec.inner_optimizer == OptimizerKind::Adam;
                let inner_moments = adam.then(|| b.buffer("inner moments", t * p));
                let pass = rec.pass_bufs(&mut b, "inner", batch);
                for s in 0..steps {
                    let start = (s * batch) % support;
                    if batch.min(support - start) != batch {
                        return Err(Error::gpu_unsupported(
                            "Reptile needs the support set to hold whole inner batches",
                        ));
                    }
                    let pts = Points {
                        off: start,
                        ..support_pts
                    };
                    let from = if s == 0 { shared } else { adapted };
                    rec.forward(&mut b, from, &pts, &pass);
                    rec.backward(&mut b, from, &pts, &pass, 2.0 / batch as f32);
                    let in_place = if s == 0 { 0 } else { 2 };
                    let reads = [meta, pass.grad];
                    let params = Params {
                        m: p as u32,
                        batch: t as u32,
                        flag: in_place,
                        alpha: spec.inner_lr as f32,
                        beta: (1.0 / (1.0 - 0.999f64.powi(s as i32 + 1))) as f32,
                        ..Params::default()
                    };
                    match inner_moments {
                        Some(mom) => {
                            let params = Params {
                                flag: in_place | if s == 0 { 4 } else { 0 },
                                ..params
                            };
                            b.op(
                                Kernel::InnerAdam,
                                &reads,
                                &[adapted.buf, mom],
                                params,
                                t * p,
                            );
                        }
                        None => b.op(Kernel::InnerSgd, &reads, &[adapted.buf], params, t * p),
                    }
                }
                let from = if steps == 0 { shared } else { adapted };
                let qpass = rec.pass_bufs(&mut b, "query", query);
                rec.forward(&mut b, from, &query_pts, &qpass);
                rec.loss(&mut b, &query_pts, &qpass, 0.0);
                mean_loss(&mut b, qpass.loss);
                // θ − mean_t θ'_t
                let params = Params {
                    m: p as u32,
                    batch: t as u32,
                    a: [0, from.stride as u32, 0, 0],
                    flag: 1,
                    alpha: -1.0 / t as f32,
                    beta: 1.0,
                    ..Params::default()
                };
                b.op(Kernel::TaskSum, &[from.buf, meta], &[grad], params, p);
            }
            Algo::Pretrain => {
                let pts = Points {
                    x: inputs.xs,
                    y: inputs.ys,
                    off: 0,
                    stride: all,
                    rows: all,
                };
                let pass = rec.pass_bufs(&mut b, "all", all);
                rec.forward(&mut b, shared, &pts, &pass);
                rec.backward(&mut b, shared, &pts, &pass, 2.0 / (all * t) as f32);
                mean_loss(&mut b, pass.loss);
                task_sum(&mut b, pass.grad, 0, 1.0);
            }
            Algo::Scratch => {
                let qpass = rec.pass_bufs(&mut b, "query", query);
                rec.forward(&mut b, shared, &query_pts, &qpass);
                rec.loss(&mut b, &query_pts, &qpass, 0.0);
                mean_loss(&mut b, qpass.loss);
                update = false;
            }
        }
        if update {
            let flag = u32::from(spec.meta_optimizer == OptimizerKind::Sgd);
            b.op(
                Kernel::OuterUpdate,
                &[grad, inputs.step, inputs.step, inputs.step],
                &[meta, moments],
                elementwise(meta_len, 1.0, flag),
                meta_len,
            );
        }
        let program = b.finish()?;
        let flat: Vec<f32> = params.values.iter().flatten().map(|&v| v as f32).collect();
        program.write(meta, 0, &flat);
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: ((LOSS_RING + meta_len) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            ctx: ctx.clone(),
            spec: spec.clone(),
            program,
            inputs,
            meta,
            loss_ring,
            staging,
            tasks,
            support,
            query,
            params_len: meta_len,
            iter: 0,
            read_up_to: 0,
        })
    }

    /// Replaces the meta-parameters (same layout; the optimiser's moments are kept), e.g. with
    /// imported ones.
    pub fn set_params(&mut self, params: &ParamSet) -> Result<()> {
        if params.numel() != self.params_len {
            return Err(Error::gpu_unsupported(format!(
                "{} meta-parameters given, the learner has {}",
                params.numel(),
                self.params_len
            )));
        }
        let flat: Vec<f32> = params.values.iter().flatten().map(|&v| v as f32).collect();
        self.program.write(self.meta, 0, &flat);
        Ok(())
    }

    /// Meta-iterations submitted.
    pub fn iter(&self) -> usize {
        self.iter
    }

    /// Sets the iteration count (the optimiser's step and Reptile's annealing follow it); for a
    /// learner built from parameters trained elsewhere.
    pub fn set_iter(&mut self, iter: usize) {
        self.iter = iter;
        self.read_up_to = iter;
    }

    /// Iterations submitted but not yet read back.
    pub fn unread(&self) -> usize {
        self.iter - self.read_up_to
    }

    /// Dispatches per meta-iteration.
    pub fn dispatches(&self) -> usize {
        self.program.len()
    }

    /// Queues one meta-iteration on `batch` (drawn with `support` and `query` points per task).
    /// Returns at once; fails when [`LOSS_RING`] iterations are unread or the device is lost.
    pub fn submit(&mut self, batch: &RegressionBatch) -> Result<()> {
        self.ctx.check()?;
        if self.unread() >= LOSS_RING {
            return Err(Error::gpu_unsupported(format!(
                "{LOSS_RING} iterations submitted without a readback"
            )));
        }
        if batch.tasks != self.tasks
            || batch.n_support != self.support
            || batch.n_query != self.query
        {
            return Err(Error::gpu_unsupported(format!(
                "batch of {}×({}+{}) points, the learner was built for {}×({}+{})",
                batch.tasks, batch.n_support, batch.n_query, self.tasks, self.support, self.query
            )));
        }
        let f = |v: &[f64]| -> Vec<f32> { v.iter().map(|&x| x as f32).collect() };
        let i = &self.inputs;
        if self.spec.algo == Algo::Pretrain {
            // each task's support points, then its query points
            let (k, q) = (self.support, self.query);
            let mut x = Vec::with_capacity(self.tasks * (k + q));
            let mut y = Vec::with_capacity(self.tasks * (k + q));
            for t in 0..self.tasks {
                x.extend(f(&batch.xs[t * k..(t + 1) * k]));
                x.extend(f(&batch.xq[t * q..(t + 1) * q]));
                y.extend(f(&batch.ys[t * k..(t + 1) * k]));
                y.extend(f(&batch.yq[t * q..(t + 1) * q]));
            }
            self.program.write(i.xs, 0, &x);
            self.program.write(i.ys, 0, &y);
        } else {
            self.program.write(i.xs, 0, &f(&batch.xs));
            self.program.write(i.ys, 0, &f(&batch.ys));
            self.program.write(i.xq, 0, &f(&batch.xq));
            self.program.write(i.yq, 0, &f(&batch.yq));
        }
        let t = self.iter as i32 + 1;
        let s = &self.spec;
        let lr = match (s.algo, s.anneal_iters) {
            (Algo::Reptile, Some(n)) => {
                s.meta_lr * (1.0 - self.iter as f64 / n.max(1) as f64).max(0.0)
            }
            _ => s.meta_lr,
        };
        let step = [
            lr as f32,
            (1.0 - 0.9f64.powi(t)) as f32,
            (1.0 - 0.999f64.powi(t)) as f32,
            (self.iter % LOSS_RING) as f32,
        ];
        self.program.write(i.step, 0, &step);
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("meta-iteration"),
            });
        self.program.record(&mut encoder);
        self.ctx.queue.submit([encoder.finish()]);
        self.iter += 1;
        Ok(())
    }

    /// Starts copying the unread losses and the parameters back; await the result with
    /// [`PendingReadback::wait`] (natively it blocks until the GPU is done).
    pub fn readback(&mut self) -> PendingReadback {
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        let ring = self.program.buffer(self.loss_ring);
        encoder.copy_buffer_to_buffer(ring, 0, &self.staging, 0, (LOSS_RING * 4) as u64);
        encoder.copy_buffer_to_buffer(
            self.program.buffer(self.meta),
            0,
            &self.staging,
            (LOSS_RING * 4) as u64,
            (self.params_len * 4) as u64,
        );
        self.ctx.queue.submit([encoder.finish()]);
        let pending = PendingReadback {
            ctx: self.ctx.clone(),
            staging: self.staging.clone(),
            first_iter: self.read_up_to,
            count: self.unread(),
            params_len: self.params_len,
        };
        self.read_up_to = self.iter;
        pending
    }
}
