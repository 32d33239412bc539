//! The RL² network (Duan et al. 2016, §3): a GRU (Cho et al. 2014) over the episode's pulls,
//! with a softmax policy head and a value head on its hidden state.
//!
//! Input at pull `t` (`2k + 2` values): the previous arm one-hot `e_a` (`k`), the same one-hot
//! scaled by the previous reward `r·e_a` (`k`), the previous reward `r` and `t / n` (zeros and
//! 0 before the first pull). The product `r·e_a` makes "this arm paid" a linear feature: with
//! only `e_a` and `r` the first layer must learn their interaction (win-stay lose-shift is an
//! XOR of them), and with Adam at 0.003 two of three seeds on dependent easy arms never left
//! the uniform policy (measured: 49.7 and 47.0 against 89.2). Gates in PyTorch's convention, order `r, z, n`:
//! `r = σ(Wx_r x + bx_r + Wh_r h + bh_r)`, `z = σ(Wx_z x + bx_z + Wh_z h + bh_z)`,
//! `n = tanh(Wx_n x + bx_n + r ⊙ (Wh_n h + bh_n))`, `h' = (1 − z) ⊙ n + z ⊙ h`;
//! then `logits = Wπ h' + bπ` and `v = wᵥ·h' + bᵥ`, the value per pull still to come
//! ([`super::a2c`] scales it to the value). The hidden state starts at zero in every
//! episode: the network's memory of one bandit never leaks into the next.
//!
//! Everything here runs on plain `f64` slices: a pull of one episode is a few thousand
//! multiply-adds, far below what a candle graph node costs to build; the candle form in
//! [`super::autograd`] is the reference the written-out backward pass is tested against.

use rand_distr::{Distribution, Uniform};

use crate::engine::params::ParamSet;
use crate::engine::rng::Rng;

/// Parameter order in the [`ParamSet`]: `gru.wx [2k+2, 3H]`, `gru.bx [3H]`, `gru.wh [H, 3H]`,
/// `gru.bh [3H]`, `policy.w [H, k]`, `policy.b [k]`, `value.w [H, 1]`, `value.b [1]`.
pub const PARAM_NAMES: [&str; 8] = [
    "gru.wx", "gru.bx", "gru.wh", "gru.bh", "policy.w", "policy.b", "value.w", "value.b",
];

/// Fresh parameters for `arms` arms and `hidden` units: GRU weights and biases
/// U[−1/√H, 1/√H] (PyTorch's GRU default), the policy head 100× smaller so that the untrained
/// policy is close to uniform, the value head's weights zero and its bias ½ (the mean reward
/// per pull of a uniform policy when the arms' means average ½).
pub fn initial_params(arms: usize, hidden: usize, rng: &mut Rng) -> ParamSet {
    let bound = 1.0 / (hidden as f64).sqrt();
    let u = Uniform::new_inclusive(-bound, bound).expect("finite bound");
    let mut draw =
        |n: usize, scale: f64| -> Vec<f64> { (0..n).map(|_| scale * u.sample(rng)).collect() };
    let (input, gates) = (2 * arms + 2, 3 * hidden);
    let mut p = ParamSet::new();
    p.push(PARAM_NAMES[0], vec![input, gates], draw(input * gates, 1.0));
    p.push(PARAM_NAMES[1], vec![gates], draw(gates, 1.0));
    p.push(
        PARAM_NAMES[2],
        vec![hidden, gates],
        draw(hidden * gates, 1.0),
    );
    p.push(PARAM_NAMES[3], vec![gates], draw(gates, 1.0));
    p.push(
        PARAM_NAMES[4],
        vec![hidden, arms],
        draw(hidden * arms, 0.01),
    );
    p.push(PARAM_NAMES[5], vec![arms], vec![0.0; arms]);
    p.push(PARAM_NAMES[6], vec![hidden, 1], vec![0.0; hidden]);
    p.push(PARAM_NAMES[7], vec![1], vec![0.5]);
    p
}

/// Arms `k` and hidden units `H` of a parameter set laid out as [`initial_params`]'s, or
/// `None` when its names or shapes are not that layout.
pub fn dims(params: &ParamSet) -> Option<(usize, usize)> {
    let names_ok = params.names.iter().map(String::as_str).eq(PARAM_NAMES);
    let (input, gates) = match params.shapes.first()?.as_slice() {
        [i, g] => (*i, *g),
        _ => return None,
    };
    let k = input.checked_sub(2)? / 2;
    let h = gates / 3;
    if input != 2 * k + 2 {
        return None;
    }
    let expected: [&[usize]; 8] = [
        &[input, gates],
        &[gates],
        &[h, gates],
        &[gates],
        &[h, k],
        &[k],
        &[h, 1],
        &[1],
    ];
    let shapes_ok = params.shapes.iter().map(Vec::as_slice).eq(expected);
    (names_ok && shapes_ok && k >= 1 && h >= 1 && gates == 3 * h).then_some((k, h))
}

/// What the network saw before a pull: the previous arm and reward, and the time `t / n`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Input {
    /// The previous pull's arm and reward (`None` before the first pull).
    pub previous: Option<(usize, f64)>,
    /// `t / n`.
    pub time: f64,
}

/// The values of one GRU step kept for the backward pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepCache {
    /// The input.
    pub input: Option<Input>,
    /// `h` before the step.
    pub h_prev: Vec<f64>,
    /// Reset gate `r`.
    pub r: Vec<f64>,
    /// Update gate `z`.
    pub z: Vec<f64>,
    /// Candidate `n`.
    pub n: Vec<f64>,
    /// `Wh_n h + bh_n` (what `r` multiplies).
    pub hn: Vec<f64>,
    /// `h'` after the step.
    pub h: Vec<f64>,
    /// `softmax(logits)`.
    pub probs: Vec<f64>,
    /// `v(h')`, the value head's output: expected reward per pull still to come.
    pub value: f64,
}

/// The network of a [`ParamSet`] (borrowed), `k` arms and `H` hidden units.
#[derive(Clone, Copy, Debug)]
pub struct Net<'a> {
    /// Arms.
    pub k: usize,
    /// Hidden units.
    pub h: usize,
    wx: &'a [f64],
    bx: &'a [f64],
    wh: &'a [f64],
    bh: &'a [f64],
    wp: &'a [f64],
    bp: &'a [f64],
    wv: &'a [f64],
    bv: f64,
}

/// `1 / (1 + e^{−x})`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl<'a> Net<'a> {
    /// The network of `params` (laid out as [`initial_params`]'s; see [`dims`]).
    pub fn new(params: &'a ParamSet) -> Self {
        let (k, h) = dims(params).expect("an RL² parameter set");
        let v = &params.values;
        Self {
            k,
            h,
            wx: &v[0],
            bx: &v[1],
            wh: &v[2],
            bh: &v[3],
            wp: &v[4],
            bp: &v[5],
            wv: &v[6],
            bv: v[7][0],
        }
    }

    /// One step from hidden state `h_prev` on `input`, filling `out` (its vectors reused).
    pub fn step(&self, h_prev: &[f64], input: Input, out: &mut StepCache) {
        let (h, g) = (self.h, 3 * self.h);
        // gates from the input: bias plus the rows of Wx the sparse input selects
        let mut gx = self.bx.to_vec();
        let row = |i: usize| &self.wx[i * g..(i + 1) * g];
        if let Some((arm, reward)) = input.previous {
            gx.iter_mut().zip(row(arm)).for_each(|(a, w)| *a += w);
            for i in [self.k + arm, 2 * self.k] {
                gx.iter_mut()
                    .zip(row(i))
                    .for_each(|(a, w)| *a += reward * w);
            }
        }
        gx.iter_mut()
            .zip(row(2 * self.k + 1))
            .for_each(|(a, w)| *a += input.time * w);
        // gates from the state: Wh h + bh (h as a row vector times Wh [H, 3H])
        let mut gh = self.bh.to_vec();
        for (i, &hi) in h_prev.iter().enumerate() {
            if hi != 0.0 {
                gh.iter_mut()
                    .zip(&self.wh[i * g..(i + 1) * g])
                    .for_each(|(a, w)| *a += hi * w);
            }
        }
        out.input = Some(input);
        out.h_prev.clear();
        out.h_prev.extend_from_slice(h_prev);
        out.r.clear();
        out.r.extend((0..h).map(|j| sigmoid(gx[j] + gh[j])));
        out.z.clear();
        out.z.extend((0..h).map(|j| sigmoid(gx[h + j] + gh[h + j])));
        out.hn.clear();
        out.hn.extend_from_slice(&gh[2 * h..]);
        out.n.clear();
        out.n
            .extend((0..h).map(|j| (gx[2 * h + j] + out.r[j] * out.hn[j]).tanh()));
        out.h.clear();
        out.h
            .extend((0..h).map(|j| (1.0 - out.z[j]) * out.n[j] + out.z[j] * h_prev[j]));
        let mut logits = self.bp.to_vec();
        for (i, &hi) in out.h.iter().enumerate() {
            logits
                .iter_mut()
                .zip(&self.wp[i * self.k..(i + 1) * self.k])
                .for_each(|(l, w)| *l += hi * w);
        }
        out.probs = crate::engine::bandit::agent::softmax(&logits);
        out.value = self.bv + out.h.iter().zip(self.wv).map(|(a, b)| a * b).sum::<f64>();
    }
}

/// Gradients with the layout of the parameters ([`PARAM_NAMES`]).
pub fn zero_grads(params: &ParamSet) -> Vec<Vec<f64>> {
    params.values.iter().map(|v| vec![0.0; v.len()]).collect()
}

impl Net<'_> {
    /// Back-propagates one step: given `d_logits` and `d_value` (the loss's gradients at this
    /// step's heads) and `dh` (the gradient flowing into `h'` from later steps), adds the
    /// parameter gradients to `grads` and replaces `dh` with the gradient into `h_prev`.
    ///
    /// `dn = dh ⊙ (1 − z)`, `dz = dh ⊙ (h − n)`, `ãₙ = dn ⊙ (1 − n²)`,
    /// `ãᵣ = ãₙ ⊙ hn ⊙ r(1 − r)`, `ã_z = dz ⊙ z(1 − z)`; the input gates get
    /// `[ãᵣ, ã_z, ãₙ]`, the state gates `[ãᵣ, ã_z, ãₙ ⊙ r]`, and
    /// `dh_prev = dh ⊙ z + Wh [ãᵣ, ã_z, ãₙ ⊙ r]`.
    pub fn backward_step(
        &self,
        cache: &StepCache,
        d_logits: &[f64],
        d_value: f64,
        dh: &mut [f64],
        grads: &mut [Vec<f64>],
    ) {
        let (k, h, g) = (self.k, self.h, 3 * self.h);
        // heads
        for (i, &hi) in cache.h.iter().enumerate() {
            let row = &mut grads[4][i * k..(i + 1) * k];
            row.iter_mut().zip(d_logits).for_each(|(w, d)| *w += hi * d);
            grads[6][i] += hi * d_value;
            dh[i] += self.wp[i * k..(i + 1) * k]
                .iter()
                .zip(d_logits)
                .map(|(w, d)| w * d)
                .sum::<f64>()
                + self.wv[i] * d_value;
        }
        grads[5].iter_mut().zip(d_logits).for_each(|(b, d)| *b += d);
        grads[7][0] += d_value;
        // the GRU cell
        let mut gate_x = vec![0.0; g];
        let mut gate_h = vec![0.0; g];
        for j in 0..h {
            let (r, z, n) = (cache.r[j], cache.z[j], cache.n[j]);
            let dn = dh[j] * (1.0 - z);
            let dz = dh[j] * (cache.h_prev[j] - n);
            let an = dn * (1.0 - n * n);
            let ar = an * cache.hn[j] * r * (1.0 - r);
            let az = dz * z * (1.0 - z);
            gate_x[j] = ar;
            gate_x[h + j] = az;
            gate_x[2 * h + j] = an;
            gate_h[j] = ar;
            gate_h[h + j] = az;
            gate_h[2 * h + j] = an * r;
        }
        let input = cache.input.expect("a forward step filled this cache");
        let add_row = |grads: &mut [Vec<f64>], row: usize, scale: f64| {
            grads[0][row * g..(row + 1) * g]
                .iter_mut()
                .zip(&gate_x)
                .for_each(|(w, d)| *w += scale * d);
        };
        if let Some((arm, reward)) = input.previous {
            add_row(grads, arm, 1.0);
            add_row(grads, k + arm, reward);
            add_row(grads, 2 * k, reward);
        }
        add_row(grads, 2 * k + 1, input.time);
        grads[1].iter_mut().zip(&gate_x).for_each(|(b, d)| *b += d);
        grads[3].iter_mut().zip(&gate_h).for_each(|(b, d)| *b += d);
        for i in 0..h {
            let hp = cache.h_prev[i];
            let w_row = &self.wh[i * g..(i + 1) * g];
            let g_row = &mut grads[2][i * g..(i + 1) * g];
            let mut back = 0.0;
            for ((gw, w), d) in g_row.iter_mut().zip(w_row).zip(&gate_h) {
                *gw += hp * d;
                back += w * d;
            }
            dh[i] = dh[i] * cache.z[i] + back;
        }
    }
}
