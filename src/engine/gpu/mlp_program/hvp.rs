//! Pearlmutter's R-operator on the GPU: the Hessian-vector products of the MLP's loss,
//! recorded into the same program as the passes ([`super::MlpRecorder`]).

use super::*;

/// The R-operator's work buffers.
pub struct HvpBufs {
    pub(super) rz: Vec<Buf>,
    ra: Vec<Buf>,
    rdelta: Vec<Buf>,
    rback: Vec<Option<Buf>>,
}

impl MlpRecorder {
    /// Work buffers for Hessian-vector products on passes of `rows` points.
    pub fn hvp_bufs(&self, b: &mut ProgramBuilder, rows: usize) -> HvpBufs {
        let t = self.tasks;
        let layers = self.layout.layers();
        let mut h = HvpBufs {
            rz: Vec::new(),
            ra: Vec::new(),
            rdelta: Vec::new(),
            rback: Vec::new(),
        };
        for l in 0..layers {
            let out = self.width(l + 1);
            h.rz.push(b.buffer(&format!("hvp.rz{l}"), t * rows * out));
            if l + 1 < layers {
                h.ra.push(b.buffer(&format!("hvp.ra{}", l + 1), t * rows * out));
            }
            h.rdelta
                .push(b.buffer(&format!("hvp.rdelta{l}"), t * rows * out));
            h.rback.push(
                (l > 0).then(|| b.buffer(&format!("hvp.rback{l}"), t * rows * self.width(l))),
            );
        }
        h
    }

    /// `out = H·u` per task: the Hessian of the pass's loss at parameters `p` times the
    /// per-task directions `u` `[T, P]` (Pearlmutter's R-operator, as [`crate::engine::mlp::Backprop::hvp`]).
    #[allow(clippy::too_many_arguments)]
    pub fn hvp(
        &self,
        b: &mut ProgramBuilder,
        p: ParamView,
        pts: &Points,
        pass: &PassBufs,
        scale: f32,
        u: Buf,
        h: &HvpBufs,
        out: Buf,
    ) {
        let (t, n) = (self.tasks, pass.rows);
        let layers = self.layout.layers();
        let plen = self.layout.len;
        let uv = ParamView {
            buf: u,
            base: 0,
            stride: plen,
        };
        // forward: Rz_l = a_l·U_l + u_b + Ra_l·W_l, Ra_{l+1} = σ'(z_l) ⊙ Rz_l
        for l in 0..layers {
            let (d_in, d_out) = (self.width(l), self.width(l + 1));
            let rz = Mat::dense(h.rz[l], n, d_out);
            let input = self.input(pts, pass, l);
            b.gemm(
                input.buf,
                u,
                rz.buf,
                gemm_params(n, d_in, d_out, t, input, self.weight(uv, l), rz),
            );
            let bias = Params {
                m: n as u32,
                n: d_out as u32,
                batch: t as u32,
                b: [self.layout.offsets[2 * l + 1] as u32, plen as u32, 0, 0],
                ..Params::default()
            };
            b.op(Kernel::BiasAct, &[u], &[rz.buf], bias, t * n * d_out);
            if l > 0 {
                let ra = Mat::dense(h.ra[l - 1], n, d_in);
                let mut g = gemm_params(n, d_in, d_out, t, ra, self.weight(p, l), rz);
                g.flag = 1;
                b.gemm(ra.buf, p.buf, rz.buf, g);
            }
            if l + 1 < layers {
                let m = t * n * d_out;
                b.op(
                    Kernel::Mul,
                    &[h.rz[l], pass.slopes[l]],
                    &[h.ra[l]],
                    elementwise(m, 1.0, 0),
                    m,
                );
            }
        }
        // backward: Rδ_L = c·Rz_L, then per layer the product and Rδ_{l−1}
        let m = t * n * self.width(layers);
        b.op(
            Kernel::Axpy,
            &[h.rz[layers - 1]],
            &[h.rdelta[layers - 1]],
            elementwise(m, scale, 0),
            m,
        );
        for l in (0..layers).rev() {
            let (d_in, d_out) = (self.width(l), self.width(l + 1));
            let rdelta = Mat::dense(h.rdelta[l], n, d_out);
            let input = self.input(pts, pass, l);
            let gw = Mat {
                buf: out,
                off: self.layout.offsets[2 * l],
                bs: plen,
                rs: d_out,
                cs: 1,
            };
            b.gemm(
                input.buf,
                rdelta.buf,
                out,
                gemm_params(d_in, n, d_out, t, input.t(), rdelta, gw),
            );
            if l > 0 {
                let ra = Mat::dense(h.ra[l - 1], n, d_in);
                let delta = Mat::dense(pass.deltas[l], n, d_out);
                let mut g = gemm_params(d_in, n, d_out, t, ra.t(), delta, gw);
                g.flag = 1;
                b.gemm(ra.buf, delta.buf, out, g);
            }
            self.row_sum(b, rdelta, n, d_out, out, self.layout.offsets[2 * l + 1]);
            if l > 0 {
                let rback = h.rback[l].expect("hidden layers have a back buffer");
                let rb = Mat::dense(rback, n, d_in);
                let delta = Mat::dense(pass.deltas[l], n, d_out);
                b.gemm(
                    rdelta.buf,
                    p.buf,
                    rback,
                    gemm_params(n, d_out, d_in, t, rdelta, self.weight(p, l).t(), rb),
                );
                let mut g = gemm_params(n, d_out, d_in, t, delta, self.weight(uv, l).t(), rb);
                g.flag = 1;
                b.gemm(delta.buf, u, rback, g);
                let m = t * n * d_in;
                b.op(
                    Kernel::Mul,
                    &[rback, pass.slopes[l - 1]],
                    &[h.rdelta[l - 1]],
                    elementwise(m, 1.0, 0),
                    m,
                );
                if self.layout.activation == Activation::Tanh {
                    // σ''·Rz = −2·a ⊙ Ra for tanh
                    let back = pass.backs[l].expect("hidden layers have a back buffer");
                    b.op(
                        Kernel::Mul,
                        &[back, pass.acts[l - 1], h.ra[l - 1]],
                        &[h.rdelta[l - 1]],
                        elementwise(m, -2.0, 3),
                        m,
                    );
                }
            }
        }
    }
}
