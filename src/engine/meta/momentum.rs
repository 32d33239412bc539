//! Meta-SGD with a learned momentum: a learned inner optimiser, batched over tasks.
//!
//! Meta-SGD (Li et al. 2017, "Meta-SGD: Learning to Learn Quickly for Few-Shot Learning")
//! meta-learns a per-parameter inner learning rate `α` together with the initialisation `θ₀`.
//! Here the inner loop is heavy-ball momentum with a per-parameter, meta-learned decay `β`, a
//! small instance of a learned optimiser (as in Andrychowicz et al. 2016, "Learning to learn by
//! gradient descent by gradient descent", with the update rule fixed and its coefficients
//! learned). For each task, from `θ₀` and `m₀ = 0`, for `k = 0 … S−1`:
//!
//! `g_k = ∇L_support(θ_k)`, `m_{k+1} = β ⊙ m_k + g_k`, `θ_{k+1} = θ_k − α ⊙ m_{k+1}`,
//!
//! and the meta-loss is the mean over the `T` tasks of `L_query(θ_S)`. `α` and `β` are shaped
//! as the parameters and shared by the tasks. With `β = 0` this is Meta-SGD exactly.

use candle_core::Tensor;

use crate::engine::mlp::Mlp;
use crate::error::Result;

/// The largest momentum decay `β` a learner keeps: after every meta-update `β` is projected to
/// `[0, MAX_DECAY]`, so that the inner loop stays a damped heavy ball (at `β ≥ 1` the
/// momentum grows without bound over more steps than were trained).
pub const MAX_DECAY: f64 = 0.95;

/// `f(a_i, b_i)` for each pair of tensors (one per parameter).
fn zip(
    a: &[Tensor],
    b: &[Tensor],
    f: impl Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
) -> Result<Vec<Tensor>> {
    a.iter().zip(b).map(|(a, b)| Ok(f(a, b)?)).collect()
}

/// One inner step on per-task `m_k` (`None` for `m₀ = 0`): `(m_{k+1}, θ_{k+1})`. `alphas` and
/// `betas` are already per task.
fn step(
    p: &[Tensor],
    m: Option<&[Tensor]>,
    grads: &[Tensor],
    alphas: &[Tensor],
    betas: &[Tensor],
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let m_next = match m {
        Some(m) => zip(&zip(betas, m, Tensor::mul)?, grads, Tensor::add)?,
        None => grads.to_vec(),
    };
    let p_next = zip(
        p,
        &zip(alphas, &m_next, Tensor::mul)?,
        Tensor::broadcast_sub,
    )?;
    Ok((m_next, p_next))
}

/// `steps` momentum steps on each task's support set, starting from `params` (shared or per
/// task), returning per-task parameters. The result stays differentiable with respect to
/// `params`, `lrs` (`α`) and `betas` (`β`) when they are `Var`s; with `first_order` the inner
/// gradients `g_k` are detached (the dependence through `α`, `β` and the path `θ₀ → θ_S`
/// remains).
#[allow(clippy::too_many_arguments)]
pub fn adapt(
    mlp: &Mlp,
    params: &[Tensor],
    lrs: &[Tensor],
    betas: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    steps: usize,
    first_order: bool,
) -> Result<Vec<Tensor>> {
    let mut state = Momentum::new(params);
    state.steps(mlp, lrs, betas, xs, ys, steps, first_order)?;
    Ok(state.params)
}

/// The inner optimiser's state between steps: the parameters `θ_k` (shared before the first
/// step, per task after it) and the momentum `m_k` (`None` for `m₀ = 0`), so that evaluation
/// can go on one step at a time.
#[derive(Clone, Debug)]
pub struct Momentum {
    /// The current parameters.
    pub params: Vec<Tensor>,
    momentum: Option<Vec<Tensor>>,
}

impl Momentum {
    /// At `params`, with no momentum yet.
    pub fn new(params: &[Tensor]) -> Self {
        Self {
            params: params.to_vec(),
            momentum: None,
        }
    }

    /// `steps` more momentum steps on the support sets `xs`, `ys` (`[T, K, 1]`).
    #[allow(clippy::too_many_arguments)]
    pub fn steps(
        &mut self,
        mlp: &Mlp,
        lrs: &[Tensor],
        betas: &[Tensor],
        xs: &Tensor,
        ys: &Tensor,
        steps: usize,
        first_order: bool,
    ) -> Result<()> {
        let tasks = xs.dim(0)?;
        let (alphas, betas) = (Mlp::replicate(lrs, tasks)?, Mlp::replicate(betas, tasks)?);
        for _ in 0..steps {
            let (_, grads) = mlp.loss_and_grad(&self.params, xs, ys)?;
            let grads: Vec<Tensor> = if first_order {
                grads.iter().map(Tensor::detach).collect()
            } else {
                grads
            };
            let (m_next, p_next) = step(
                &self.params,
                self.momentum.as_deref(),
                &grads,
                &alphas,
                &betas,
            )?;
            (self.momentum, self.params) = (Some(m_next), p_next);
        }
        Ok(())
    }
}

/// The meta-objective: the query loss after [`adapt`] (second order), averaged over the tasks
/// of the batch (a scalar; candle's `backward` on it is the reference for [`meta_gradient`]).
#[allow(clippy::too_many_arguments)]
pub fn meta_loss(
    mlp: &Mlp,
    params: &[Tensor],
    lrs: &[Tensor],
    betas: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    xq: &Tensor,
    yq: &Tensor,
    steps: usize,
) -> Result<Tensor> {
    let adapted = adapt(mlp, params, lrs, betas, xs, ys, steps, false)?;
    Ok(mlp.loss(&adapted, xq, yq)?.mean(0)?)
}

/// The meta-loss and its gradients, computed by [`meta_gradient`].
#[derive(Clone, Debug)]
pub struct MomentumGradient {
    /// Mean query loss after adaptation.
    pub loss: Tensor,
    /// Gradient with respect to the shared initialisation `θ₀`, shaped as the parameters.
    pub params: Vec<Tensor>,
    /// Gradient with respect to the learning rates `α`, shaped as the parameters.
    pub lrs: Vec<Tensor>,
    /// Gradient with respect to the momentum decays `β`, shaped as the parameters.
    pub betas: Vec<Tensor>,
}

/// The same meta-gradient as `meta_loss(..).backward()` (exact, second order), by reverse mode
/// written out with Hessian-vector products ([`crate::engine::mlp::Backprop::hvp`]), as
/// [`super::maml::meta_gradient`] does.
///
/// Adjoints, per task: `vθ_S = ∇L_query(θ_S)/T`, `vm_S = 0`. Step `k` reads `θ_k` and `m_k`
/// and writes `m_{k+1} = β ⊙ m_k + g(θ_k)` and `θ_{k+1} = θ_k − α ⊙ m_{k+1}`, so going
/// `k = S−1 … 0`:
/// - `ū = vm_{k+1} − α ⊙ vθ_{k+1}` (the total adjoint of `m_{k+1}`: directly and through
///   `θ_{k+1}`);
/// - `∂α −= m_{k+1} ⊙ vθ_{k+1}`, `∂β += m_k ⊙ ū` (zero at `k = 0`, where `m₀ = 0`);
/// - `vm_k = β ⊙ ū`, `vθ_k = vθ_{k+1} + H_k·ū` (`∂g/∂θ_k = H_k`, the support-loss Hessian).
///
/// The gradients are the sums over tasks of `vθ_0`, `∂α` and `∂β`. With `β = 0`: `ū = −α ⊙ vθ`
/// and `m_{k+1} = g_k`, Meta-SGD's reverse pass.
#[allow(clippy::too_many_arguments)]
pub fn meta_gradient(
    mlp: &Mlp,
    params: &[Tensor],
    lrs: &[Tensor],
    betas: &[Tensor],
    xs: &Tensor,
    ys: &Tensor,
    xq: &Tensor,
    yq: &Tensor,
    steps: usize,
) -> Result<MomentumGradient> {
    let tasks = xs.dim(0)?;
    let (alphas, rep_betas) = (Mlp::replicate(lrs, tasks)?, Mlp::replicate(betas, tasks)?);
    let mut p = params.to_vec();
    // ms[k] = m_{k+1}
    let (mut passes, mut ms) = (Vec::with_capacity(steps), Vec::<Vec<Tensor>>::new());
    for _ in 0..steps {
        let pass = mlp.backprop(&p, xs, ys)?;
        let (m_next, p_next) = step(
            &p,
            ms.last().map(Vec::as_slice),
            &pass.grads,
            &alphas,
            &rep_betas,
        )?;
        p = p_next;
        passes.push(pass);
        ms.push(m_next);
    }
    let query = mlp.backprop(&p, xq, yq)?;
    let inv_t = 1.0 / tasks as f64;
    let mut v_theta = query
        .grads
        .iter()
        .map(|g| Ok(g.affine(inv_t, 0.0)?))
        .collect::<Result<Vec<_>>>()?;
    let mut v_m: Option<Vec<Tensor>> = None; // vm_S = 0
    let zeros = |like: &[Tensor]| -> Result<Vec<Tensor>> {
        like.iter().map(|t| Ok(t.zeros_like()?)).collect()
    };
    let (mut d_alpha, mut d_beta) = (zeros(&alphas)?, zeros(&alphas)?);
    for k in (0..steps).rev() {
        let a_v = zip(&alphas, &v_theta, Tensor::mul)?;
        let u = match &v_m {
            Some(vm) => zip(vm, &a_v, Tensor::sub)?,
            None => a_v.iter().map(|t| Ok(t.neg()?)).collect::<Result<_>>()?,
        };
        d_alpha = zip(&d_alpha, &zip(&ms[k], &v_theta, Tensor::mul)?, Tensor::sub)?;
        if k > 0 {
            d_beta = zip(&d_beta, &zip(&ms[k - 1], &u, Tensor::mul)?, Tensor::add)?;
        }
        v_m = Some(zip(&rep_betas, &u, Tensor::mul)?);
        v_theta = zip(&v_theta, &passes[k].hvp(&u)?, Tensor::add)?;
    }
    Ok(MomentumGradient {
        loss: query.loss.mean(0)?,
        params: sum_tasks(&v_theta, params)?,
        lrs: sum_tasks(&d_alpha, lrs)?,
        betas: sum_tasks(&d_beta, betas)?,
    })
}

/// Per-task tensors `[T, ...]` summed over tasks (a gemm with a row of ones), shaped as `like`.
fn sum_tasks(v: &[Tensor], like: &[Tensor]) -> Result<Vec<Tensor>> {
    v.iter()
        .zip(like)
        .map(|(v, p)| {
            let tasks = v.dim(0)?;
            let ones = Tensor::ones((1, tasks), v.dtype(), v.device())?;
            Ok(ones
                .matmul(&v.reshape((tasks, p.elem_count()))?)?
                .reshape(p.shape())?)
        })
        .collect()
}
