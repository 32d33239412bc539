// Compute kernels of the WebGPU backend (the optimiser constants ADAM_*, INNER_* are generated
// in front of this file by program.rs). Every kernel shares one bind group layout (four
// read-only buffers r0..r3, two writable ones w0, w1, and a parameter block p) so that a
// meta-iteration is a fixed list of dispatches recorded once. Tensors are f32, row-major; an
// operand is addressed as `off + b·bs + row·rs + col·cs` (batch stride 0 = shared by all tasks).

struct Params {
    m: u32, n: u32, k: u32, batch: u32,
    a_off: u32, a_bs: u32, a_rs: u32, a_cs: u32,
    b_off: u32, b_bs: u32, b_rs: u32, b_cs: u32,
    c_off: u32, c_bs: u32, c_rs: u32, flag: u32,
    alpha: f32, beta: f32, gamma: f32, delta: f32,
}

@group(0) @binding(0) var<storage, read> r0: array<f32>;
@group(0) @binding(1) var<storage, read> r1: array<f32>;
@group(0) @binding(2) var<storage, read> r2: array<f32>;
@group(0) @binding(3) var<storage, read> r3: array<f32>;
@group(0) @binding(4) var<storage, read_write> w0: array<f32>;
@group(0) @binding(5) var<storage, read_write> w1: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// Flat index of a 1-D kernel dispatched as (x, y) workgroups of 64 (y > 1 only past 65535).
fn flat(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

// C[b] = (flag ? C[b] : 0) + alpha · op(A[b]) · op(B[b]); A is m×k, B is k×n, C is m×n.
// Each invocation computes a strip of 4 columns of one row: A's element is read once for four
// products (a workgroup of 8×8 covers 8 rows × 32 columns).
@compute @workgroup_size(8, 8, 1)
fn gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.y;
    let j0 = gid.x * 4u;
    let b = gid.z;
    if (i >= p.m || j0 >= p.n) {
        return;
    }
    let a0 = p.a_off + b * p.a_bs + i * p.a_rs;
    let b0 = p.b_off + b * p.b_bs + j0 * p.b_cs;
    let cols = min(4u, p.n - j0);
    var acc = vec4<f32>(0.0);
    if (cols == 4u) {
        let s = p.b_cs;
        for (var kk = 0u; kk < p.k; kk++) {
            let x = r0[a0 + kk * p.a_cs];
            let r = b0 + kk * p.b_rs;
            acc += x * vec4<f32>(r1[r], r1[r + s], r1[r + 2u * s], r1[r + 3u * s]);
        }
    } else {
        for (var kk = 0u; kk < p.k; kk++) {
            let x = r0[a0 + kk * p.a_cs];
            let r = b0 + kk * p.b_rs;
            for (var q = 0u; q < cols; q++) {
                acc[q] += x * r1[r + q * p.b_cs];
            }
        }
    }
    let c = p.c_off + b * p.c_bs + i * p.c_rs + j0;
    for (var q = 0u; q < cols; q++) {
        if (p.flag == 1u) {
            w0[c + q] = w0[c + q] + p.alpha * acc[q];
        } else {
            w0[c + q] = p.alpha * acc[q];
        }
    }
}

// z = C + bias (per column, bias row from r0), then in place C = σ(z) and w1 = σ'(z).
// flag: 0 identity (no slope written), 1 ReLU, 2 tanh.
@compute @workgroup_size(64)
fn bias_act(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let idx = flat(gid, g);
    if (idx >= p.batch * p.m * p.n) {
        return;
    }
    let b = idx / (p.m * p.n);
    let j = idx % p.n;
    let c = p.c_off + idx;
    let z = w0[c] + r0[p.b_off + b * p.b_bs + j];
    if (p.flag == 0u) {
        w0[c] = z;
    } else if (p.flag == 1u) {
        w0[c] = max(z, 0.0);
        w1[c] = select(0.0, 1.0, z > 0.0);
    } else {
        let y = tanh(z);
        w0[c] = y;
        w1[c] = 1.0 - y * y;
    }
}

// Per task b (output width 1): d = ŷ − y over m points; w0 = alpha·d (the output delta),
// w1[c_off + b] = mean d² (the task's MSE).
@compute @workgroup_size(64)
fn mse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let b = flat(gid, g);
    if (b >= p.batch) {
        return;
    }
    var loss = 0.0;
    for (var i = 0u; i < p.m; i++) {
        let d = r0[p.a_off + b * p.a_bs + i] - r1[p.b_off + b * p.b_bs + i];
        w0[p.c_off + b * p.c_bs + i] = p.alpha * d;
        loss += d * d;
    }
    w1[b] = loss / f32(p.m);
}

// w0[slot] = mean over the batch of r0 (per-task losses); slot = r3[3] (the step record).
@compute @workgroup_size(1)
fn mean_loss() {
    var s = 0.0;
    for (var b = 0u; b < p.batch; b++) {
        s += r0[b];
    }
    w0[u32(r3[3])] = s / f32(p.batch);
}

// Bias gradient: w0[c_off + b·c_bs + j] = Σ_i A[b](i, j) over m rows, n columns.
@compute @workgroup_size(64)
fn row_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let idx = flat(gid, g);
    if (idx >= p.batch * p.n) {
        return;
    }
    let b = idx / p.n;
    let j = idx % p.n;
    var s = 0.0;
    for (var i = 0u; i < p.m; i++) {
        s += r0[p.a_off + b * p.a_bs + i * p.a_rs + j];
    }
    w0[p.c_off + b * p.c_bs + j] = s;
}

// w0 = (flag ? w0 : 0) + alpha · r0, over m elements.
@compute @workgroup_size(64)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = flat(gid, g);
    if (i >= p.m) {
        return;
    }
    let c = p.c_off + i;
    let v = p.alpha * r0[p.a_off + i];
    if (p.flag == 1u) {
        w0[c] = w0[c] + v;
    } else {
        w0[c] = v;
    }
}

// w0 = (flag & 1 ? w0 : 0) + alpha · r0 ⊙ r1 (⊙ r2 when flag & 2), over m elements.
@compute @workgroup_size(64)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = flat(gid, g);
    if (i >= p.m) {
        return;
    }
    var v = p.alpha * r0[p.a_off + i] * r1[p.b_off + i];
    if ((p.flag & 2u) != 0u) {
        v = v * r2[i];
    }
    let c = p.c_off + i;
    if ((p.flag & 1u) != 0u) {
        w0[c] = w0[c] + v;
    } else {
        w0[c] = v;
    }
}

// Per-task vectors of m parameters: w0[b·m + i] = lr_i · r0[b·m + i], lr_i = r1[b_off + i]
// (Meta-SGD, flag 1) or alpha.
@compute @workgroup_size(64)
fn scale_lr(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let idx = flat(gid, g);
    if (idx >= p.batch * p.m) {
        return;
    }
    let i = idx % p.m;
    var lr = p.alpha;
    if (p.flag == 1u) {
        lr = r1[p.b_off + i];
    }
    w0[idx] = lr * r0[idx];
}

// Inner SGD step per task: w0[b·m + i] = θ_i − lr_i · r1[b·m + i]. θ is w0 itself (flag & 2)
// or r0[a_off + b·a_bs + i]; lr_i = r2[b_off + i] (flag & 1) or alpha.
@compute @workgroup_size(64)
fn inner_sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let idx = flat(gid, g);
    if (idx >= p.batch * p.m) {
        return;
    }
    let b = idx / p.m;
    let i = idx % p.m;
    var lr = p.alpha;
    if ((p.flag & 1u) != 0u) {
        lr = r2[p.b_off + i];
    }
    var theta = 0.0;
    if ((p.flag & 2u) != 0u) {
        theta = w0[idx];
    } else {
        theta = r0[p.a_off + b * p.a_bs + i];
    }
    w0[idx] = theta - lr * r1[idx];
}

// Reptile's inner Adam step (β₁ = 0; INNER_B2, INNER_EPS generated from Rust) per task:
// v = β₂v + (1 − β₂)g² (v = 0 before the step, flag & 4), θ −= alpha · g / (√(v · c) + ε), where
// c = 1 / (1 − β₂^t) is r3[k] (the step record). θ as in inner_sgd (flag & 2: in place).
@compute @workgroup_size(64)
fn inner_adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let idx = flat(gid, g);
    if (idx >= p.batch * p.m) {
        return;
    }
    let b = idx / p.m;
    let i = idx % p.m;
    let grad = r1[idx];
    var v = 0.0;
    if ((p.flag & 4u) == 0u) {
        v = w1[idx];
    }
    v = INNER_B2 * v + (grad * grad) * INNER_1MB2;
    w1[idx] = v;
    var theta = 0.0;
    if ((p.flag & 2u) != 0u) {
        theta = w0[idx];
    } else {
        theta = r0[p.a_off + b * p.a_bs + i];
    }
    w0[idx] = theta - grad / (sqrt(v * r3[p.k]) + INNER_EPS) * p.alpha;
}

// Sum over tasks: w0[c_off + i] = alpha · Σ_b r0[a_off + b·a_bs + i] (+ beta · r1[i], flag 1).
@compute @workgroup_size(64)
fn task_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = flat(gid, g);
    if (i >= p.m) {
        return;
    }
    var s = 0.0;
    for (var b = 0u; b < p.batch; b++) {
        s += r0[p.a_off + b * p.a_bs + i];
    }
    var v = p.alpha * s;
    if (p.flag == 1u) {
        v += p.beta * r1[i];
    }
    w0[p.c_off + i] = v;
}

// The outer update of the m meta-parameters w0 with gradient r0; r3 = [lr, 1 − β₁^t,
// 1 − β₂^t, slot] (the step record). flag 0: Adam (ADAM_B1, ADAM_B2, ADAM_EPS generated from
// Rust; moments in w1[0..m], w1[m..2m]), flag 1: SGD.
@compute @workgroup_size(64)
fn outer_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = flat(gid, g);
    if (i >= p.m) {
        return;
    }
    let grad = r0[i];
    let lr = r3[0];
    if (p.flag == 1u) {
        w0[i] = w0[i] - lr * grad;
        return;
    }
    let m1 = ADAM_B1 * w1[i] + ADAM_1MB1 * grad;
    let v1 = ADAM_B2 * w1[p.m + i] + ADAM_1MB2 * grad * grad;
    w1[i] = m1;
    w1[p.m + i] = v1;
    w0[i] = w0[i] - lr * (m1 / r3[1]) / (sqrt(v1 / r3[2]) + ADAM_EPS);
}
