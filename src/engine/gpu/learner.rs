//! [`GpuLearner`]: a [`Learner`](crate::engine::meta::Learner)'s meta-iteration on the GPU.
//!
//! The meta-parameters and the optimiser's moments stay on the device. Each iteration uploads
//! its meta-batch (drawn on the host from the same task stream as on the CPU) and one step
//! record, replays a fixed [`Program`] and writes the meta-loss into a ring buffer; nothing is
//! read back until [`GpuLearner::readback`], which copies the losses since the last readback and
//! the parameters, and resolves once the GPU is done (no per-iteration stall).

use crate::engine::gpu::context::GpuContext;
use crate::engine::gpu::meta::{self, check_len, step_record, Inputs};
use crate::engine::gpu::program::{Buf, Program};
use crate::engine::meta::{Algo, LearnerSpec};
use crate::engine::params::ParamSet;
use crate::engine::tasks::RegressionBatch;
use crate::error::{Error, Result};

/// Iterations the loss ring holds: at most this many may be submitted between readbacks.
pub const LOSS_RING: usize = 1024;

/// What a readback brings home.
#[derive(Clone, Debug, PartialEq)]
pub struct Readback {
    /// Iteration (0-based) of `losses[0]`.
    pub first_iter: usize,
    /// Meta-loss of each iteration since the previous readback.
    pub losses: Vec<f64>,
    /// All meta-parameters after the last of them, flat in [`ParamSet`] order.
    pub params: Vec<f64>,
    /// Reptile with [`crate::engine::meta::InnerOptimizer::Adam`]: the inner Adam's second
    /// moments after them, one network's worth per task of the meta-batch (empty otherwise).
    pub inner_moments: Vec<f64>,
    /// The inner Adam's steps taken (0 without a kept state).
    pub inner_steps: u64,
}

/// A readback in flight: owns what it needs, so it can be awaited without borrowing the learner.
pub struct PendingReadback {
    ctx: GpuContext,
    staging: wgpu::Buffer,
    first_iter: usize,
    count: usize,
    params_len: usize,
    inner_len: usize,
    inner_steps: u64,
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
        let widen = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect();
        let at = LOSS_RING + self.params_len;
        Ok(Readback {
            first_iter: self.first_iter,
            losses,
            params: widen(&values[LOSS_RING..at]),
            inner_moments: widen(&values[at..at + self.inner_len]),
            inner_steps: self.inner_steps,
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
    /// Reptile's inner Adam state when it is kept across iterations, and its steps taken.
    inner_moments: Option<Buf>,
    inner_steps: u64,
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
    /// included) at iteration 0, the inner Adam's state (if any) empty.
    pub fn new(
        ctx: &GpuContext,
        spec: &LearnerSpec,
        params: &ParamSet,
        tasks: usize,
        support: usize,
        query: usize,
    ) -> Result<Self> {
        meta::check_supported(spec)?;
        check_len(params.numel(), meta::meta_len(spec), "the network")?;
        let rec = meta::record(ctx, spec, tasks, support, query)?;
        let flat: Vec<f32> = params.values.iter().flatten().map(|&v| v as f32).collect();
        rec.program.write(rec.meta, 0, &flat);
        let inner_len = rec.inner_moments.map_or(0, |_| rec.meta_len * tasks);
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: ((LOSS_RING + rec.meta_len + inner_len) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            ctx: ctx.clone(),
            spec: spec.clone(),
            program: rec.program,
            inputs: rec.inputs,
            meta: rec.meta,
            loss_ring: rec.loss_ring,
            inner_moments: rec.inner_moments,
            inner_steps: 0,
            staging,
            tasks,
            support,
            query,
            params_len: rec.meta_len,
            iter: 0,
            read_up_to: 0,
        })
    }

    /// Replaces the meta-parameters (same layout; the optimiser's moments are kept), e.g. with
    /// imported ones.
    pub fn set_params(&mut self, params: &ParamSet) -> Result<()> {
        check_len(params.numel(), self.params_len, "the learner")?;
        let flat: Vec<f32> = params.values.iter().flatten().map(|&v| v as f32).collect();
        self.program.write(self.meta, 0, &flat);
        Ok(())
    }

    /// Meta-iterations submitted.
    pub fn iter(&self) -> usize {
        self.iter
    }

    /// Sets the iteration count (the optimiser's step and Reptile's annealing follow it); for a
    /// learner built from parameters trained elsewhere. Reptile's inner Adam state, kept on the
    /// device, still starts empty.
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
        let step = step_record(
            &self.spec,
            self.iter,
            self.iter % LOSS_RING,
            self.inner_steps,
        );
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
        if self.inner_moments.is_some() {
            self.inner_steps += self.spec.inner_steps as u64;
        }
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
        let inner_len = self
            .inner_moments
            .map_or(0, |_| self.params_len * self.tasks);
        if let Some(mom) = self.inner_moments {
            encoder.copy_buffer_to_buffer(
                self.program.buffer(mom),
                0,
                &self.staging,
                ((LOSS_RING + self.params_len) * 4) as u64,
                (inner_len * 4) as u64,
            );
        }
        self.ctx.queue.submit([encoder.finish()]);
        let pending = PendingReadback {
            ctx: self.ctx.clone(),
            staging: self.staging.clone(),
            first_iter: self.read_up_to,
            count: self.unread(),
            params_len: self.params_len,
            inner_len,
            inner_steps: self.inner_steps,
        };
        self.read_up_to = self.iter;
        pending
    }
}
