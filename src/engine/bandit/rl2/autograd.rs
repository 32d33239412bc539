//! The RL² loss of [`super::a2c`] written as candle ops over a batch of episodes, so that
//! candle's own `backward` gives its gradient: the reference the written-out back-propagation
//! through time ([`super::a2c::loss_and_gradient`]) is tested against.

use candle_core::{DType, Device, Tensor, D};

use crate::engine::bandit::rl2::a2c::{input_at, pulls_left, Coefficients, Targets};
use crate::engine::bandit::rl2::net::dims;
use crate::engine::params::{host_gradients, ParamSet};
use crate::error::Result;

/// `σ(x) = ½ (1 + tanh(x / 2))`.
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    Ok((((x * 0.5)?.tanh()? + 1.0)? * 0.5)?)
}

/// The loss of the episodes `actions`/`rewards` (all of the same length) with `targets` held
/// constant, and its gradient for every parameter, by candle's autograd in `f64`.
pub fn loss_and_gradient(
    params: &ParamSet,
    actions: &[Vec<usize>],
    rewards: &[Vec<f64>],
    targets: &Targets,
    c: Coefficients,
) -> Result<(f64, Vec<Vec<f64>>)> {
    let dev = Device::Cpu;
    let (k, h) = dims(params).expect("an RL² parameter set");
    let vars = params.vars(DType::F64, &dev)?;
    let p: Vec<&Tensor> = vars.iter().map(|v| v.as_tensor()).collect();
    let (wx, bx, wh, bh, wp, bp, wv, bv) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
    let batch = actions.len();
    let pulls = actions[0].len();
    let s = 1.0 / (batch * pulls) as f64;
    let mut state = Tensor::zeros((batch, h), DType::F64, &dev)?;
    let mut terms = Vec::with_capacity(pulls);
    for t in 0..pulls {
        let width = 2 * k + 2;
        let mut x = vec![0.0; batch * width];
        let mut chosen = vec![0.0; batch * k];
        let (mut adv, mut ret) = (vec![0.0; batch], vec![0.0; batch]);
        for b in 0..batch {
            let input = input_at(t, pulls, &actions[b], &rewards[b]);
            if let Some((arm, reward)) = input.previous {
                x[b * width + arm] = 1.0;
                x[b * width + k + arm] = reward;
                x[b * width + 2 * k] = reward;
            }
            x[b * width + 2 * k + 1] = input.time;
            chosen[b * k + actions[b][t]] = 1.0;
            adv[b] = targets.advantages[b][t];
            ret[b] = targets.returns[b][t];
        }
        let x = Tensor::from_vec(x, (batch, width), &dev)?;
        let gx = x.matmul(wx)?.broadcast_add(bx)?;
        let gh = state.matmul(wh)?.broadcast_add(bh)?;
        let r = sigmoid(&(gx.narrow(1, 0, h)? + gh.narrow(1, 0, h)?)?)?;
        let z = sigmoid(&(gx.narrow(1, h, h)? + gh.narrow(1, h, h)?)?)?;
        let n = (gx.narrow(1, 2 * h, h)? + r.mul(&gh.narrow(1, 2 * h, h)?)?)?.tanh()?;
        state = (&n + z.mul(&(&state - &n)?)?)?;
        let logits = state.matmul(wp)?.broadcast_add(bp)?;
        let max = logits.max_keepdim(D::Minus1)?.detach();
        let shifted = logits.broadcast_sub(&max)?;
        let log_p = shifted.broadcast_sub(&shifted.exp()?.sum_keepdim(D::Minus1)?.log()?)?;
        let probs = log_p.exp()?;
        let value =
            (state.matmul(wv)?.broadcast_add(bv)?.squeeze(1)? * pulls_left(t, pulls, c.gamma))?;
        let adv = Tensor::from_vec(adv, batch, &dev)?;
        let ret = Tensor::from_vec(ret, batch, &dev)?;
        let chosen = Tensor::from_vec(chosen, (batch, k), &dev)?;
        let log_pa = log_p.mul(&chosen)?.sum(1)?;
        let policy = (log_pa.mul(&adv)?.sum_all()? * -s)?;
        let value_loss = ((value - ret)?.sqr()?.sum_all()? * (0.5 * s * c.value))?;
        // −c_e H = c_e Σ p log p
        let entropy = (probs.mul(&log_p)?.sum_all()? * (s * c.entropy))?;
        terms.push(((policy + value_loss)? + entropy)?);
    }
    let loss = Tensor::stack(&terms, 0)?.sum_all()?;
    let grads = loss.backward()?;
    let host = host_gradients(&vars, &grads)?;
    Ok((loss.to_scalar::<f64>()?, host))
}
