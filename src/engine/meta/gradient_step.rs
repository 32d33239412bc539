//! The outer step of the gradient-based meta-learners (MAML, first-order MAML, Meta-SGD, the
//! learned optimiser): meta-gradient, the clip of [`super::LearnerSpec::meta_clip`], and the tasks
//! left out when their inner loop diverged.

use candle_core::Tensor;

use super::{eval, maml, momentum, scalar, Algo, InnerLr, Learner};
use crate::engine::params::to_host;
use crate::engine::tasks::BatchTensors;
use crate::error::Result;

impl Learner {
    /// One meta-iteration of a gradient-based meta-learner on `b`; returns the meta-loss.
    pub(super) fn gradient_step(&mut self, b: &BatchTensors) -> Result<f64> {
        let s = &self.spec;
        let (mut loss, mut g) = self.meta_gradient(b)?;
        if !loss.is_finite() && s.meta_clip.is_some() {
            if let Some(kept) = self.finite_tasks(b)? {
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
        Ok(loss)
    }

    /// The meta-loss and meta-gradient (network, then rates, then decays) of the
    /// gradient-based meta-learners on `b`: exact second order, or first order for FOMAML.
    pub(super) fn meta_gradient(&self, b: &BatchTensors) -> Result<(f64, Vec<Vec<f64>>)> {
        self.meta_gradient_of_order(b, self.spec.algo == Algo::Fomaml)
    }

    /// [`Self::meta_gradient`], exact or with the inner gradient detached (`first_order`; not
    /// for the learned optimiser, whose reverse pass is always exact).
    pub(super) fn meta_gradient_of_order(
        &self,
        b: &BatchTensors,
        first_order: bool,
    ) -> Result<(f64, Vec<Vec<f64>>)> {
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
    pub(super) fn finite_tasks(&self, b: &BatchTensors) -> Result<Option<BatchTensors>> {
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

    /// One outer update with the meta-gradient `g`, clipped to [`super::LearnerSpec::meta_clip`].
    pub(super) fn update(&mut self, mut g: Vec<Vec<f64>>) {
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
}
