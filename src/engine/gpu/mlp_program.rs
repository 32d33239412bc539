//! The MLP's forward pass, backward pass and Hessian-vector product as GPU dispatches: the same
//! maths as [`crate::engine::mlp`] (hand-written backpropagation and Pearlmutter's R-operator),
//! batched over tasks, recorded into a [`ProgramBuilder`].

use crate::engine::gpu::program::{Buf, Kernel, Params, ProgramBuilder};
use crate::engine::mlp::{Activation, Mlp};

mod hvp;
pub use hvp::HvpBufs;

/// Flat parameter layout of one network: `w0, b0, w1, b1, …`, row-major, `len` scalars.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Layer widths, input and output included.
    pub sizes: Vec<usize>,
    /// Element offset of each tensor (`w_l` at `2l`, `b_l` at `2l + 1`).
    pub offsets: Vec<usize>,
    /// Scalars per network.
    pub len: usize,
    activation: Activation,
}

impl Layout {
    /// The layout of `mlp`'s parameters (the order of [`Mlp::init`]).
    pub fn of(mlp: &Mlp) -> Self {
        let sizes = mlp.sizes().to_vec();
        let mut offsets = Vec::new();
        let mut len = 0;
        for pair in sizes.windows(2) {
            offsets.push(len);
            len += pair[0] * pair[1];
            offsets.push(len);
            len += pair[1];
        }
        Self {
            sizes,
            offsets,
            len,
            activation: mlp.activation(),
        }
    }

    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }
}

/// Where one network per task (or one shared network) lives: buffer, offset, task stride
/// (0 = shared by every task).
#[derive(Clone, Copy, Debug)]
pub struct ParamView {
    /// The buffer.
    pub buf: Buf,
    /// Element offset of `w0`.
    pub base: usize,
    /// Elements between tasks (0: shared).
    pub stride: usize,
}

/// A task's points: inputs and targets `[T, rows]` starting at `off` with `stride` per task.
#[derive(Clone, Copy, Debug)]
pub struct Points {
    /// Inputs.
    pub x: Buf,
    /// Targets.
    pub y: Buf,
    /// First point's offset.
    pub off: usize,
    /// Elements between tasks.
    pub stride: usize,
    /// Points per task.
    pub rows: usize,
}

/// A strided matrix operand `off + b·bs + row·rs + col·cs`.
#[derive(Clone, Copy)]
struct Mat {
    buf: Buf,
    off: usize,
    bs: usize,
    rs: usize,
    cs: usize,
}

impl Mat {
    /// A contiguous `[T, rows, cols]` tensor.
    fn dense(buf: Buf, rows: usize, cols: usize) -> Self {
        Self {
            buf,
            off: 0,
            bs: rows * cols,
            rs: cols,
            cs: 1,
        }
    }

    fn t(self) -> Self {
        Self {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// What one forward and backward pass keeps (per task, `N` points).
pub struct PassBufs {
    /// `a_{l+1} = σ(z_l)` (the last is the output).
    acts: Vec<Buf>,
    /// `σ'(z_l)` of each hidden layer.
    slopes: Vec<Buf>,
    /// `δ_l = ∂L/∂z_l`.
    deltas: Vec<Buf>,
    /// `δ_l·W_lᵀ` for `l ≥ 1` (index 0 unused).
    backs: Vec<Option<Buf>>,
    /// Per-task gradient `[T, P]`.
    pub grad: Buf,
    /// Per-task loss `[T]`.
    pub loss: Buf,
    rows: usize,
}

/// Records MLP passes for `tasks` tasks.
pub struct MlpRecorder {
    /// The parameter layout.
    pub layout: Layout,
    /// Tasks per batch.
    pub tasks: usize,
}

fn gemm_params(m: usize, k: usize, n: usize, batch: usize, a: Mat, b: Mat, c: Mat) -> Params {
    Params {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        batch: batch as u32,
        a: [a.off as u32, a.bs as u32, a.rs as u32, a.cs as u32],
        b: [b.off as u32, b.bs as u32, b.rs as u32, b.cs as u32],
        c: [c.off as u32, c.bs as u32, c.rs as u32],
        alpha: 1.0,
        ..Params::default()
    }
}

impl MlpRecorder {
    fn width(&self, l: usize) -> usize {
        self.layout.sizes[l]
    }

    /// Buffers for a pass over `rows` points per task.
    pub fn pass_bufs(&self, b: &mut ProgramBuilder, name: &str, rows: usize) -> PassBufs {
        let t = self.tasks;
        let layers = self.layout.layers();
        let mut acts = Vec::new();
        let mut slopes = Vec::new();
        let mut deltas = Vec::new();
        let mut backs = Vec::new();
        for l in 0..layers {
            let out = self.width(l + 1);
            acts.push(b.buffer(&format!("{name}.a{}", l + 1), t * rows * out));
            if l + 1 < layers {
                slopes.push(b.buffer(&format!("{name}.slope{}", l + 1), t * rows * out));
            }
            deltas.push(b.buffer(&format!("{name}.delta{l}"), t * rows * out));
            backs.push(
                (l > 0).then(|| b.buffer(&format!("{name}.back{l}"), t * rows * self.width(l))),
            );
        }
        PassBufs {
            acts,
            slopes,
            deltas,
            backs,
            grad: b.buffer(&format!("{name}.grad"), t * self.layout.len),
            loss: b.buffer(&format!("{name}.loss"), t),
            rows,
        }
    }

    /// The input of layer `l` for this pass.
    fn input(&self, pts: &Points, pass: &PassBufs, l: usize) -> Mat {
        if l == 0 {
            let d = self.width(0);
            Mat {
                buf: pts.x,
                off: pts.off,
                bs: pts.stride,
                rs: d,
                cs: 1,
            }
        } else {
            Mat::dense(pass.acts[l - 1], pass.rows, self.width(l))
        }
    }

    /// `W_l` of a parameter view as a `[in, out]` operand.
    fn weight(&self, p: ParamView, l: usize) -> Mat {
        Mat {
            buf: p.buf,
            off: p.base + self.layout.offsets[2 * l],
            bs: p.stride,
            rs: self.width(l + 1),
            cs: 1,
        }
    }

    /// Forward pass: `a_{l+1} = σ(a_l·W_l + b_l)`, slopes kept for the backward pass.
    pub fn forward(&self, b: &mut ProgramBuilder, p: ParamView, pts: &Points, pass: &PassBufs) {
        let (t, n) = (self.tasks, pass.rows);
        let layers = self.layout.layers();
        for l in 0..layers {
            let (d_in, d_out) = (self.width(l), self.width(l + 1));
            let out = Mat::dense(pass.acts[l], n, d_out);
            let input = self.input(pts, pass, l);
            b.gemm(
                input.buf,
                p.buf,
                out.buf,
                gemm_params(n, d_in, d_out, t, input, self.weight(p, l), out),
            );
            let hidden = l + 1 < layers;
            let flag = match (hidden, self.layout.activation) {
                (false, _) => 0,
                (true, Activation::Relu) => 1,
                (true, Activation::Tanh) => 2,
            };
            let params = Params {
                m: n as u32,
                n: d_out as u32,
                batch: t as u32,
                b: [
                    (p.base + self.layout.offsets[2 * l + 1]) as u32,
                    p.stride as u32,
                    0,
                    0,
                ],
                flag,
                ..Params::default()
            };
            let writes: Vec<Buf> = if hidden {
                vec![pass.acts[l], pass.slopes[l]]
            } else {
                vec![pass.acts[l]]
            };
            b.op(Kernel::BiasAct, &[p.buf], &writes, params, t * n * d_out);
        }
    }

    /// MSE per task and its gradient per task (into `pass.grad`); the output delta is
    /// `scale·(ŷ − y)` (`2/N` gives the gradient of the per-task MSE).
    pub fn backward(
        &self,
        b: &mut ProgramBuilder,
        p: ParamView,
        pts: &Points,
        pass: &PassBufs,
        scale: f32,
    ) {
        let (t, n) = (self.tasks, pass.rows);
        let layers = self.layout.layers();
        self.loss(b, pts, pass, scale);
        let plen = self.layout.len;
        for l in (0..layers).rev() {
            let (d_in, d_out) = (self.width(l), self.width(l + 1));
            let delta = Mat::dense(pass.deltas[l], n, d_out);
            let input = self.input(pts, pass, l);
            // ∂W_l = a_lᵀ·δ_l
            let gw = Mat {
                buf: pass.grad,
                off: self.layout.offsets[2 * l],
                bs: plen,
                rs: d_out,
                cs: 1,
            };
            b.gemm(
                input.buf,
                delta.buf,
                gw.buf,
                gemm_params(d_in, n, d_out, t, input.t(), delta, gw),
            );
            // ∂b_l = Σ_n δ_l
            self.row_sum(
                b,
                delta,
                n,
                d_out,
                pass.grad,
                self.layout.offsets[2 * l + 1],
            );
            if l > 0 {
                // δ_{l−1} = (δ_l·W_lᵀ) ⊙ σ'(z_{l−1})
                let back = pass.backs[l].expect("hidden layers have a back buffer");
                let e = Mat::dense(back, n, d_in);
                b.gemm(
                    delta.buf,
                    p.buf,
                    back,
                    gemm_params(n, d_out, d_in, t, delta, self.weight(p, l).t(), e),
                );
                let m = t * n * d_in;
                b.op(
                    Kernel::Mul,
                    &[back, pass.slopes[l - 1]],
                    &[pass.deltas[l - 1]],
                    elementwise(m, 1.0, 0),
                    m,
                );
            }
        }
    }

    /// Per-task MSE into `pass.loss` and the output delta `scale·(ŷ − y)`.
    pub fn loss(&self, b: &mut ProgramBuilder, pts: &Points, pass: &PassBufs, scale: f32) {
        let (t, n) = (self.tasks, pass.rows);
        assert_eq!(
            self.width(self.layout.layers()),
            1,
            "regression output is 1-D"
        );
        let last = self.layout.layers() - 1;
        let params = Params {
            m: n as u32,
            batch: t as u32,
            a: [0, n as u32, 0, 0],
            b: [pts.off as u32, pts.stride as u32, 0, 0],
            c: [0, n as u32, 0],
            alpha: scale,
            ..Params::default()
        };
        b.op(
            Kernel::Mse,
            &[pass.acts[last], pts.y],
            &[pass.deltas[last], pass.loss],
            params,
            t,
        );
    }

    fn row_sum(
        &self,
        b: &mut ProgramBuilder,
        a: Mat,
        rows: usize,
        cols: usize,
        out: Buf,
        off: usize,
    ) {
        let t = self.tasks;
        let params = Params {
            m: rows as u32,
            n: cols as u32,
            batch: t as u32,
            a: [a.off as u32, a.bs as u32, a.rs as u32, 1],
            c: [off as u32, self.layout.len as u32, 0],
            ..Params::default()
        };
        b.op(Kernel::RowSum, &[a.buf], &[out], params, t * cols);
    }
}

/// Parameters of an elementwise kernel over `m` contiguous elements.
pub fn elementwise(m: usize, alpha: f32, flag: u32) -> Params {
    Params {
        m: m as u32,
        alpha,
        flag,
        ..Params::default()
    }
}
