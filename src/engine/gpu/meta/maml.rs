//! MAML, first-order MAML and Meta-SGD on the GPU, as [`crate::engine::meta::maml`]: the inner
//! SGD steps forward, then reverse mode through every one of them — `v_j = v_{j+1} −
//! H_j·(α ⊙ v_{j+1})` with Pearlmutter's Hessian-vector product (second order), `v_j =
//! v_{j+1}` (first order) — and Meta-SGD's rate gradient `−Σ_j g_j ⊙ v_{j+1}`.

use super::{Outer, Recording};
use crate::engine::gpu::mlp_program::{elementwise, ParamView};
use crate::engine::gpu::program::{Kernel, Params};
use crate::engine::meta::Algo;

/// Records the meta-gradient of MAML, first-order MAML or Meta-SGD into `r.grad`.
pub(super) fn record(r: &mut Recording) -> Outer {
    let (t, p, spec) = (r.tasks, r.p, r.spec);
    let (support, query) = (r.support, r.query);
    let (support_pts, query_pts) = (r.support_pts(), r.query_pts());
    let meta = r.meta;
    let meta_sgd = spec.algo == Algo::MetaSgd;
    let steps = spec.inner_steps;
    let lr_flag = u32::from(meta_sgd);
    let inner_lr = spec.inner_lr as f32;
    let mut thetas = vec![r.shared()];
    let mut passes = Vec::new();
    for j in 0..steps {
        let pass = r.rec.pass_bufs(&mut r.b, &format!("support{j}"), support);
        r.rec.forward(&mut r.b, thetas[j], &support_pts, &pass);
        let scale = 2.0 / support as f32;
        r.rec
            .backward(&mut r.b, thetas[j], &support_pts, &pass, scale);
        let next = ParamView {
            buf: r.b.buffer(&format!("theta{}", j + 1), t * p),
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
        let reads = [thetas[j].buf, pass.grad, meta];
        r.b.op(Kernel::InnerSgd, &reads, &[next.buf], params, t * p);
        thetas.push(next);
        passes.push(pass);
    }
    let qpass = r.rec.pass_bufs(&mut r.b, "query", query);
    let adapted = thetas[steps];
    r.rec.forward(&mut r.b, adapted, &query_pts, &qpass);
    // the query gradient already divided by T: v_S = ∇L_query(θ_S)/T
    let scale = 2.0 / (query * t) as f32;
    r.rec.backward(&mut r.b, adapted, &query_pts, &qpass, scale);
    r.mean_loss(qpass.loss);
    let v = qpass.grad;
    let lr_grad = meta_sgd.then(|| r.b.buffer("lr gradient", t * p));
    let second_order = spec.algo != Algo::Fomaml;
    let (u, hu, hvp) = if second_order && steps > 0 {
        (
            Some(r.b.buffer("u", t * p)),
            Some(r.b.buffer("hu", t * p)),
            Some(r.rec.hvp_bufs(&mut r.b, support)),
        )
    } else {
        (None, None, None)
    };
    for j in (0..steps).rev() {
        if let Some(lg) = lr_grad {
            // ∂α += g_j ⊙ v_{j+1} (negated at the sum)
            let flag = u32::from(j + 1 < steps);
            let params = elementwise(t * p, 1.0, flag);
            r.b.op(Kernel::Mul, &[passes[j].grad, v], &[lg], params, t * p);
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
            r.b.op(Kernel::ScaleLr, &[v, meta], &[u], params, t * p);
            let scale = 2.0 / support as f32;
            r.rec.hvp(
                &mut r.b,
                thetas[j],
                &support_pts,
                &passes[j],
                scale,
                u,
                hvp,
                hu,
            );
            let params = elementwise(t * p, -1.0, 1);
            r.b.op(Kernel::Axpy, &[hu], &[v], params, t * p);
        }
    }
    r.task_sum(v, 0, 1.0);
    if let Some(lg) = lr_grad {
        r.task_sum(lg, p, -1.0);
    }
    Outer::Update
}
