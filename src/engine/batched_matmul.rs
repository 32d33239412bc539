//! Per-task products `[T, m, k]·[T, k, n]` of small matrices in one pass, for wasm.
//!
//! A meta-iteration of the sine MLP makes ~750 per-task products of at most 40×40. candle
//! hands each task to gemm separately, and in wasm gemm's per-call dispatch and packing took
//! about a fifth of the iteration (Node `--cpu-prof`). This kernel does every task in one call
//! on the operands as they lie (rows of `b` contiguous), in tiles of up to 4 rows × 8 columns
//! held in simd128 registers, then the last `n mod 8` columns: MAML paper setup 0.76 → 0.61
//! ms/iter in Node (BENCHMARKS.md). Natively gemm (AVX2/FMA, ~0.1 µs per tiny call) stays in
//! use; the portable version of the tiles is what the native tests check.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

/// Rows and columns of one register tile.
const ROWS: usize = 4;
const COLS: usize = 8;

/// `a·b` per task, `a` `[T, m, k]`, `b` `[T, k, n]`: in wasm, f32 operands whose `b` rows are
/// contiguous go through [`tiled_product`] in one op (outside any autograd graph); everything
/// else through candle's `matmul`.
pub fn bmm(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if cfg!(target_arch = "wasm32") && tiled_applies(a, b) {
        a.apply_op2_no_bwd(b, &TiledMatmul)
    } else {
        a.matmul(b)
    }
}

/// True when [`TiledMatmul`] takes `a·b`: rank 3, f32, the same task count, `b`'s rows
/// contiguous and no gradient tracked.
pub fn tiled_applies(a: &Tensor, b: &Tensor) -> bool {
    a.rank() == 3
        && b.rank() == 3
        && a.dtype() == candle_core::DType::F32
        && b.dtype() == candle_core::DType::F32
        && a.dims()[0] == b.dims()[0]
        && a.dims()[2] == b.dims()[1]
        && a.dims()[2] > 0
        && b.stride()[2] == 1
        && !a.track_op()
        && !b.track_op()
}

/// The tiled product itself, exposed for tests: `a·b` with candle's batched layout rules.
pub fn tiled(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if !tiled_applies(a, b) {
        candle_core::bail!("tiled product: unsupported operands");
    }
    a.apply_op2_no_bwd(b, &TiledMatmul)
}

struct TiledMatmul;

/// Operand geometry: dims `(t, m, k)` of `a`, `n`, strides of `a` (task, row, inner), of `b`
/// (task, row; columns contiguous), and start offsets.
struct Geometry {
    t: usize,
    m: usize,
    k: usize,
    n: usize,
    a_strides: (usize, usize, usize),
    b_strides: (usize, usize),
    a_start: usize,
    b_start: usize,
}

/// `c[task] = a[task]·b[task]`, row-major `[t, m, n]`: tiles of up to 4 rows × 8 columns,
/// then the last `n mod 8` columns down all rows at once.
#[cfg_attr(
    all(target_arch = "wasm32", feature = "relaxed-simd"),
    target_feature(enable = "relaxed-simd")
)]
fn tiled_product(a: &[f32], b: &[f32], g: &Geometry) -> Vec<f32> {
    let (m, k, n) = (g.m, g.k, g.n);
    let (at, ai, ak) = g.a_strides;
    let (bt, bk) = g.b_strides;
    let mut c = vec![0f32; g.t * m * n];
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    let n8 = n - n % COLS;
    for (task, out) in c.chunks_exact_mut(m * n).enumerate() {
        let pa = g.a_start + task * at;
        let pb = g.b_start + task * bt;
        // every read below stays at or before these, every write inside `out`
        assert!(
            pa + (m - 1) * ai + (k - 1) * ak < a.len(),
            "tiled-matmul: a too short"
        );
        assert!(
            pb + (k - 1) * bk + n - 1 < b.len(),
            "tiled-matmul: b too short"
        );
        let ops = Operands {
            a: &a[pa..],
            ai,
            ak,
            b: &b[pb..],
            bk,
            k,
        };
        let mut i = 0;
        while i < m {
            let rows = ROWS.min(m - i);
            for j in (0..n8).step_by(COLS) {
                let c_tile = &mut out[i * n + j..];
                match rows {
                    4 => tile::<4>(&ops, i, j, c_tile, n),
                    3 => tile::<3>(&ops, i, j, c_tile, n),
                    2 => tile::<2>(&ops, i, j, c_tile, n),
                    _ => tile::<1>(&ops, i, j, c_tile, n),
                }
            }
            i += rows;
        }
        for jj in n8..n {
            last_column(&ops, m, jj, out, n);
        }
    }
    c
}

/// One task's operands from their first element: `a[i·ai + kk·ak]`, `b[kk·bk + j]`.
struct Operands<'a> {
    a: &'a [f32],
    ai: usize,
    ak: usize,
    b: &'a [f32],
    bk: usize,
    k: usize,
}

/// `a·b + c`, lane by lane: one `f32x4.relaxed_madd` (fused where the hardware has FMA) in the
/// `relaxed-simd` build, the worker that browsers with relaxed SIMD load (issue 16); a
/// multiply and an add otherwise.
/// (`inline(always)` cannot go with `target_feature`: there `inline`, and the callers share the
/// feature so that LLVM may inline.)
#[cfg(target_arch = "wasm32")]
#[cfg_attr(not(feature = "relaxed-simd"), inline(always))]
#[cfg_attr(
    feature = "relaxed-simd",
    inline,
    target_feature(enable = "relaxed-simd")
)]
fn madd(
    a: core::arch::wasm32::v128,
    b: core::arch::wasm32::v128,
    c: core::arch::wasm32::v128,
) -> core::arch::wasm32::v128 {
    #[cfg(feature = "relaxed-simd")]
    {
        core::arch::wasm32::f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(feature = "relaxed-simd"))]
    {
        core::arch::wasm32::f32x4_add(c, core::arch::wasm32::f32x4_mul(a, b))
    }
}

/// Rows `i..i+R`, columns `j..j+8` of the product into `c` (rows `n` apart).
#[cfg_attr(
    not(all(target_arch = "wasm32", feature = "relaxed-simd")),
    inline(always)
)]
#[cfg_attr(
    all(target_arch = "wasm32", feature = "relaxed-simd"),
    inline,
    target_feature(enable = "relaxed-simd")
)]
fn tile<const R: usize>(o: &Operands, i: usize, j: usize, c: &mut [f32], n: usize) {
    assert!((R - 1) * n + COLS <= c.len());
    #[cfg(target_arch = "wasm32")]
    {
        use core::arch::wasm32::{f32x4_splat, v128, v128_load, v128_store};
        let mut acc = [[f32x4_splat(0.0); 2]; R];
        let a = o.a[i * o.ai..].as_ptr();
        let b = o.b[j..].as_ptr();
        for kk in 0..o.k {
            // SAFETY: tiled_product checked that a[(m−1)·ai + (k−1)·ak] and
            // b[(k−1)·bk + n−1] are in bounds; here i + R ≤ m and j + 8 ≤ n
            unsafe {
                let bp = b.add(kk * o.bk);
                let b0 = v128_load(bp as *const v128);
                let b1 = v128_load(bp.add(4) as *const v128);
                let ap = a.add(kk * o.ak);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = f32x4_splat(*ap.add(r * o.ai));
                    acc[0] = madd(x, b0, acc[0]);
                    acc[1] = madd(x, b1, acc[1]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            // SAFETY: asserted above: the tile's rows r < R lie inside c
            unsafe {
                let cp = c.as_mut_ptr().add(r * n);
                v128_store(cp as *mut v128, acc[0]);
                v128_store(cp.add(4) as *mut v128, acc[1]);
            }
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut acc = [[0f32; COLS]; R];
        for kk in 0..o.k {
            let brow = &o.b[kk * o.bk + j..kk * o.bk + j + COLS];
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = o.a[(i + r) * o.ai + kk * o.ak];
                for (s, &y) in acc.iter_mut().zip(brow) {
                    *s += x * y;
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            c[r * n..r * n + COLS].copy_from_slice(acc);
        }
    }
}

/// Column `jj` of the product, every row: four rows at a time when `a`'s rows are adjacent
/// (`ai = 1`, a transposed operand), else one dot product per row.
#[cfg_attr(
    all(target_arch = "wasm32", feature = "relaxed-simd"),
    target_feature(enable = "relaxed-simd")
)]
fn last_column(o: &Operands, m: usize, jj: usize, c: &mut [f32], n: usize) {
    #[allow(unused_mut)]
    let mut i = 0;
    #[cfg(target_arch = "wasm32")]
    if o.ai == 1 {
        use core::arch::wasm32::{f32x4_extract_lane, f32x4_splat};
        use core::arch::wasm32::{v128, v128_load};
        while i + 4 <= m {
            let mut acc = f32x4_splat(0.0);
            for kk in 0..o.k {
                // SAFETY: (i + 3) + kk·ak ≤ (m − 1)·ai + (k − 1)·ak with ai = 1, checked in
                // tiled_product
                let x = unsafe { v128_load(o.a.as_ptr().add(i + kk * o.ak) as *const v128) };
                acc = madd(x, f32x4_splat(o.b[kk * o.bk + jj]), acc);
            }
            c[i * n + jj] = f32x4_extract_lane::<0>(acc);
            c[(i + 1) * n + jj] = f32x4_extract_lane::<1>(acc);
            c[(i + 2) * n + jj] = f32x4_extract_lane::<2>(acc);
            c[(i + 3) * n + jj] = f32x4_extract_lane::<3>(acc);
            i += 4;
        }
    }
    for r in i..m {
        let mut s = 0f32;
        for kk in 0..o.k {
            s += o.a[r * o.ai + kk * o.ak] * o.b[kk * o.bk + jj];
        }
        c[r * n + jj] = s;
    }
}

impl CustomOp2 for TiledMatmul {
    fn name(&self) -> &'static str {
        "tiled-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (da, db) = (l1.dims(), l2.dims());
        let (sa, sb) = (l1.stride(), l2.stride());
        let g = Geometry {
            t: da[0],
            m: da[1],
            k: da[2],
            n: db[2],
            a_strides: (sa[0], sa[1], sa[2]),
            b_strides: (sb[0], sb[1]),
            a_start: l1.start_offset(),
            b_start: l2.start_offset(),
        };
        let out = match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => tiled_product(a, b, &g),
            _ => candle_core::bail!("tiled-matmul: f32 operands only"),
        };
        Ok((CpuStorage::F32(out), Shape::from((g.t, g.m, g.n))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    // the product itself is checked against candle natively and in wasm (Node, Chromium) by
    // tests/common/parity.rs (`check_tiled_products`)

    #[test]
    fn transposed_rows_of_b_go_to_candle() {
        let dev = Device::Cpu;
        let a = Tensor::randn(0f32, 1.0, (2, 3, 4), &dev).unwrap();
        let b = Tensor::randn(0f32, 1.0, (2, 5, 4), &dev).unwrap();
        assert!(!tiled_applies(&a, &b.transpose(1, 2).unwrap()));
        assert!(tiled_applies(
            &a,
            &b.transpose(1, 2).unwrap().contiguous().unwrap()
        ));
    }
}
