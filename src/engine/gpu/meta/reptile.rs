//! Reptile on the GPU, as [`crate::engine::meta::reptile`]: inner SGD or Adam steps on
//! successive minibatches of each task's support set, then the outer "gradient"
//! `θ − mean_t θ'_t` for the outer update (whose step size ε the step record carries, annealed
//! on the host by [`crate::engine::meta::reptile::outer_step_size`]).

use super::{Recording, STEP_INNER};
use crate::engine::gpu::mlp_program::{ParamView, Points};
use crate::engine::gpu::program::{Buf, Kernel, Params};
use crate::engine::meta::InnerOptimizer;
use crate::error::{Error, Result};

/// Records Reptile's outer direction into `r.grad`. Returns the inner Adam's moments when
/// they are kept across iterations ([`InnerOptimizer::Adam`]).
pub(super) fn record(r: &mut Recording) -> Result<Option<Buf>> {
    let (t, p, spec) = (r.tasks, r.p, r.spec);
    let (support, query) = (r.support, r.query);
    let (support_pts, query_pts, shared) = (r.support_pts(), r.query_pts(), r.shared());
    let (meta, step) = (r.meta, r.inputs.step);
    let steps = spec.inner_steps;
    let batch = spec.inner_batch;
    let adapted = ParamView {
        buf: r.b.buffer("adapted", t * p),
        base: 0,
        stride: p,
    };
    let rule = spec.inner_optimizer;
    // AdamPerTask zeroes the moments at each task's first step; Adam never does (the buffer
    // starts at zero, the state before the first step)
    let inner_moments = (rule != InnerOptimizer::Sgd).then(|| r.b.buffer("inner moments", t * p));
    let reset = rule == InnerOptimizer::AdamPerTask;
    let pass = r.rec.pass_bufs(&mut r.b, "inner", batch);
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
        r.rec.forward(&mut r.b, from, &pts, &pass);
        r.rec
            .backward(&mut r.b, from, &pts, &pass, 2.0 / batch as f32);
        let in_place = if s == 0 { 0 } else { 2 };
        let params = Params {
            m: p as u32,
            batch: t as u32,
            flag: in_place,
            alpha: spec.inner_lr as f32,
            ..Params::default()
        };
        match inner_moments {
            Some(mom) => {
                // the bias correction of step s is the step record's STEP_INNER + s
                let params = Params {
                    k: (STEP_INNER + s) as u32,
                    flag: in_place | if reset && s == 0 { 4 } else { 0 },
                    ..params
                };
                let reads = [meta, pass.grad, meta, step];
                let writes = [adapted.buf, mom];
                r.b.op(Kernel::InnerAdam, &reads, &writes, params, t * p);
            }
            None => {
                let reads = [meta, pass.grad];
                r.b.op(Kernel::InnerSgd, &reads, &[adapted.buf], params, t * p);
            }
        }
    }
    let from = if steps == 0 { shared } else { adapted };
    let qpass = r.rec.pass_bufs(&mut r.b, "query", query);
    r.rec.forward(&mut r.b, from, &query_pts, &qpass);
    r.rec.loss(&mut r.b, &query_pts, &qpass, 0.0);
    r.mean_loss(qpass.loss);
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
    r.b.op(Kernel::TaskSum, &[from.buf, meta], &[r.grad], params, p);
    Ok(inner_moments.filter(|_| !reset))
}
