//! RL²: the written-out back-propagation through time against candle's autograd and central
//! finite differences, the hidden state's reset between bandits, determinism, and learning.

use metaplay::engine::bandit::rl2::a2c::{self, Coefficients};
use metaplay::engine::bandit::rl2::{autograd, net, Rl2Learner, Rl2Spec};
use metaplay::engine::params::ParamSet;
use metaplay::engine::rng::{rng, Stream};
use metaplay::engine::tasks::{BanditFamily, BanditSetting, BanditTask, TaskFamily};

const C: Coefficients = Coefficients {
    gamma: 0.9,
    lambda: 0.8,
    entropy: 0.05,
    value: 0.5,
};

fn family(setting: BanditSetting, arms: usize, pulls: usize) -> BanditFamily {
    BanditFamily {
        setting,
        arms,
        pulls,
    }
}

/// A tiny GRU (3 arms, 4 units) with weights large enough that every gate matters, and a
/// rollout of 3 episodes × 6 pulls from it.
fn tiny() -> (ParamSet, a2c::Rollout, a2c::Targets) {
    let mut r = rng(7, Stream::Init);
    let mut params = net::initial_params(3, 4, &mut r);
    // a policy head and value head far from zero, so their gradients are not trivially small
    for v in params.values.iter_mut().skip(4) {
        v.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x += 0.3 * ((i as f64) * 1.7).sin());
    }
    let fam = family(BanditSetting::Independent, 3, 6);
    let mut tr = rng(8, Stream::Train);
    let tasks: Vec<BanditTask> = (0..3).map(|_| fam.sample_task(&mut tr)).collect();
    let rollout = a2c::rollout(&params, &tasks, 6, &mut tr);
    let targets = a2c::targets(&rollout, C);
    (params, rollout, targets)
}

#[test]
fn written_out_gradient_equals_candle_autograd() {
    let (params, rollout, targets) = tiny();
    let (loss, host) = a2c::loss_and_gradient(&params, &rollout, &targets, C);
    let (auto_loss, auto) =
        autograd::loss_and_gradient(&params, &rollout.actions, &rollout.rewards, &targets, C)
            .unwrap();
    assert!(
        (loss.total() - auto_loss).abs() < 1e-12,
        "{loss:?} vs {auto_loss}"
    );
    for (name, (h, a)) in params.names.iter().zip(host.iter().zip(&auto)) {
        for (x, y) in h.iter().zip(a) {
            assert!((x - y).abs() < 1e-10, "{name}: {x} vs {y}");
        }
    }
    // every parameter tensor gets some gradient (a dropped term would leave zeros)
    assert!(host.iter().all(|g| g.iter().any(|v| v.abs() > 1e-6)));
}

#[test]
fn written_out_gradient_matches_central_finite_differences() {
    let (params, rollout, targets) = tiny();
    let (_, grads) = a2c::loss_and_gradient(&params, &rollout, &targets, C);
    let loss_at = |p: &ParamSet| {
        a2c::replayed_loss(p, &rollout.actions, &rollout.rewards, &targets, C).total()
    };
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    for (t, tensor_grads) in grads.iter().enumerate() {
        for (i, &grad) in tensor_grads.iter().enumerate() {
            let mut plus = params.clone();
            plus.values[t][i] += eps;
            let mut minus = params.clone();
            minus.values[t][i] -= eps;
            let fd = (loss_at(&plus) - loss_at(&minus)) / (2.0 * eps);
            let err = (fd - grad).abs();
            assert!(err < 1e-8, "{}[{i}]: fd {fd} vs {grad}", params.names[t]);
            worst = worst.max(err);
        }
    }
    assert!(worst < 1e-8);
}

#[test]
fn later_advantages_reach_the_recurrent_weights() {
    // credit flows back through time: the last pull's advantage changes the gradient of the
    // recurrent weights Wh (a backward pass that dropped dh between steps would not see it)
    let (params, rollout, targets) = tiny();
    let (_, grads) = a2c::loss_and_gradient(&params, &rollout, &targets, C);
    let (_, auto) =
        autograd::loss_and_gradient(&params, &rollout.actions, &rollout.rewards, &targets, C)
            .unwrap();
    let mut shifted = targets.clone();
    shifted.advantages[0][5] += 1.0;
    let (_, auto_shifted) =
        autograd::loss_and_gradient(&params, &rollout.actions, &rollout.rewards, &shifted, C)
            .unwrap();
    let moved = auto[2]
        .iter()
        .zip(&auto_shifted[2])
        .any(|(a, b)| (a - b).abs() > 1e-6);
    assert!(
        moved,
        "the last step's advantage reaches the recurrent weights"
    );
    assert!(grads[2].iter().any(|g| g.abs() > 1e-6));
}

#[test]
fn hidden_state_starts_at_zero_in_every_bandit() {
    let mut r = rng(1, Stream::Init);
    let params = net::initial_params(2, 8, &mut r);
    let fam = family(BanditSetting::DependentMedium, 2, 20);
    let mut tr = rng(2, Stream::Train);
    let tasks: Vec<BanditTask> = (0..4).map(|_| fam.sample_task(&mut tr)).collect();
    let rollout = a2c::rollout(&params, &tasks, 20, &mut tr);
    for steps in &rollout.steps {
        assert!(steps[0].h_prev.iter().all(|&h| h == 0.0));
        assert_eq!(steps[0].input.unwrap().previous, None);
        // the first pull's policy is the same in every bandit: nothing carried over
        assert_eq!(steps[0].probs, rollout.steps[0][0].probs);
    }
    // and within an episode the state does carry: the second pull sees the first
    assert!(rollout.steps[0][1].h_prev.iter().any(|&h| h != 0.0));
}

fn spec(setting: BanditSetting, arms: usize, pulls: usize, iters: usize) -> Rl2Spec {
    Rl2Spec {
        family: family(setting, arms, pulls),
        hidden: 16,
        meta_batch: 8,
        meta_lr: 3e-3,
        iters,
        coefficients: C,
        max_grad_norm: 1.0,
    }
}

#[test]
fn training_is_deterministic_from_the_seed() {
    let run = || {
        let s = spec(BanditSetting::DependentMedium, 2, 10, 5);
        let mut l = Rl2Learner::new(s, &mut rng(3, Stream::Init));
        let mut tr = rng(3, Stream::Train);
        let curve: Vec<f64> = (0..5)
            .map(|_| l.step(&mut tr).unwrap().reward_per_pull)
            .collect();
        (curve, l.params().clone())
    };
    let (a, pa) = run();
    let (b, pb) = run();
    assert_eq!(a, b);
    assert_eq!(pa, pb);
}

/// RL² on two dependent arms (p₁ ∈ {0.1, 0.9}) with short episodes: after 300 actor-critic
/// updates it earns clearly more than its untrained form on the same bandits (paired, 2000
/// episodes) — and with a learning rate too small to move it, it does not.
#[test]
fn rl2_learns_to_exploit_dependent_arms() {
    use metaplay::engine::bandit::{paired_difference, Policy};
    let fam = family(BanditSetting::DependentEasy, 2, 20);
    let gain = |meta_lr: f64| {
        let s = Rl2Spec {
            meta_lr,
            meta_batch: 16,
            iters: 300,
            ..spec(BanditSetting::DependentEasy, 2, 20, 300)
        };
        let mut l = Rl2Learner::new(s, &mut rng(0, Stream::Init));
        let untrained = Policy::Recurrent("untrained".into(), l.agent());
        let mut tr = rng(0, Stream::Train);
        for _ in 0..300 {
            l.step(&mut tr).unwrap();
        }
        let trained = Policy::Recurrent("trained".into(), l.agent());
        let d = paired_difference(&fam, &trained, &untrained, 2000, 99);
        (d.mean, d.stderr)
    };
    let (diff, se) = gain(0.01);
    // untrained ≈ 10 (half the pulls on the 0.9 arm); win-stay play gets ≈ 17
    assert!(diff > 3.0 && diff > 10.0 * se, "gain {diff} ± {se}");
    let (frozen, frozen_se) = gain(1e-9);
    assert!(
        frozen.abs() < 4.0 * frozen_se.max(0.05),
        "{frozen} ± {frozen_se}"
    );
}
