//! Task families: distributions over tasks that meta-learning learns to adapt to.

pub mod bandit;
pub mod sine;

use candle_core::{DType, Device, Tensor};

use crate::engine::rng::Rng;
use crate::error::Result;

pub use bandit::{BanditFamily, BanditSetting, BanditTask};
pub use sine::{SineFamily, SineTask, SineVariant};

/// A distribution over tasks (the `p(T)` of the MAML paper).
pub trait TaskFamily {
    /// One task drawn from the family.
    type Task;
    /// Draws a task.
    fn sample_task(&self, rng: &mut Rng) -> Self::Task;
}

/// A family of 1-D regression tasks `x ↦ f_task(x)`.
pub trait RegressionFamily: TaskFamily {
    /// Draws `n` inputs for a task of this family.
    fn sample_inputs(&self, rng: &mut Rng, n: usize) -> Vec<f64>;
    /// The task's true output at `x`.
    fn target(&self, task: &Self::Task, x: f64) -> f64;
    /// The input interval tasks are defined on (for plots).
    fn input_range(&self) -> (f64, f64);

    /// Draws `tasks` tasks, each with `n_support` support and `n_query` query points,
    /// in a fixed order (task, then its support inputs, then its query inputs).
    fn sample_batch(
        &self,
        rng: &mut Rng,
        tasks: usize,
        n_support: usize,
        n_query: usize,
    ) -> RegressionBatch {
        let mut batch = RegressionBatch {
            tasks,
            n_support,
            n_query,
            xs: Vec::with_capacity(tasks * n_support),
            ys: Vec::with_capacity(tasks * n_support),
            xq: Vec::with_capacity(tasks * n_query),
            yq: Vec::with_capacity(tasks * n_query),
        };
        for _ in 0..tasks {
            let task = self.sample_task(rng);
            for x in self.sample_inputs(rng, n_support) {
                batch.xs.push(x);
                batch.ys.push(self.target(&task, x));
            }
            for x in self.sample_inputs(rng, n_query) {
                batch.xq.push(x);
                batch.yq.push(self.target(&task, x));
            }
        }
        batch
    }
}

/// A meta-batch of regression tasks, stored task-major on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionBatch {
    /// Number of tasks `T`.
    pub tasks: usize,
    /// Support points per task `K`.
    pub n_support: usize,
    /// Query points per task.
    pub n_query: usize,
    /// Support inputs, `T·K`.
    pub xs: Vec<f64>,
    /// Support targets, `T·K`.
    pub ys: Vec<f64>,
    /// Query inputs.
    pub xq: Vec<f64>,
    /// Query targets.
    pub yq: Vec<f64>,
}

/// A [`RegressionBatch`] as `[T, N, 1]` tensors.
#[derive(Clone, Debug)]
pub struct BatchTensors {
    /// Support inputs `[T, K, 1]`.
    pub xs: Tensor,
    /// Support targets `[T, K, 1]`.
    pub ys: Tensor,
    /// Query inputs `[T, Q, 1]`.
    pub xq: Tensor,
    /// Query targets `[T, Q, 1]`.
    pub yq: Tensor,
}

impl RegressionBatch {
    /// The batch as tensors of `dtype`.
    pub fn tensors(&self, dtype: DType, device: &Device) -> Result<BatchTensors> {
        let t = |v: &[f64], n: usize| -> Result<Tensor> {
            Ok(Tensor::from_slice(v, (self.tasks, n, 1), device)?.to_dtype(dtype)?)
        };
        Ok(BatchTensors {
            xs: t(&self.xs, self.n_support)?,
            ys: t(&self.ys, self.n_support)?,
            xq: t(&self.xq, self.n_query)?,
            yq: t(&self.yq, self.n_query)?,
        })
    }

    /// Tasks `start..start + len` only.
    pub fn slice(&self, start: usize, len: usize) -> RegressionBatch {
        let (k, q) = (self.n_support, self.n_query);
        RegressionBatch {
            tasks: len,
            n_support: k,
            n_query: q,
            xs: self.xs[start * k..(start + len) * k].to_vec(),
            ys: self.ys[start * k..(start + len) * k].to_vec(),
            xq: self.xq[start * q..(start + len) * q].to_vec(),
            yq: self.yq[start * q..(start + len) * q].to_vec(),
        }
    }
}
