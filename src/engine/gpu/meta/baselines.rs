//! The baselines on the GPU, as [`crate::engine::meta::baselines`]: joint pre-training (one
//! gradient step on every task's support and query points together) and the unadapted
//! scratch network (its query loss, no update).

use super::{Outer, Recording};
use crate::engine::gpu::mlp_program::Points;

/// Records the gradient of the mean MSE over all points of all tasks into `r.grad`; the
/// inputs hold each task's support points followed by its query points.
pub(super) fn pretrain(r: &mut Recording) -> Outer {
    let all = r.support + r.query;
    let pts = Points {
        x: r.inputs.xs,
        y: r.inputs.ys,
        off: 0,
        stride: all,
        rows: all,
    };
    let shared = r.shared();
    let pass = r.rec.pass_bufs(&mut r.b, "all", all);
    r.rec.forward(&mut r.b, shared, &pts, &pass);
    let scale = 2.0 / (all * r.tasks) as f32;
    r.rec.backward(&mut r.b, shared, &pts, &pass, scale);
    r.mean_loss(pass.loss);
    r.task_sum(pass.grad, 0, 1.0);
    Outer::Update
}

/// Records the query loss of the shared network; nothing is updated.
pub(super) fn scratch(r: &mut Recording) -> Outer {
    let (shared, query_pts) = (r.shared(), r.query_pts());
    let qpass = r.rec.pass_bufs(&mut r.b, "query", r.query);
    r.rec.forward(&mut r.b, shared, &query_pts, &qpass);
    r.rec.loss(&mut r.b, &query_pts, &qpass, 0.0);
    r.mean_loss(qpass.loss);
    Outer::None
}
