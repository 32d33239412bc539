//! Sine-wave regression, the few-shot benchmark of MAML (Finn et al. 2017, §5.1) and the
//! Reptile demo (Nichol et al. 2018).

use rand::seq::SliceRandom;
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use super::{RegressionFamily, TaskFamily};
use crate::engine::rng::Rng;

/// The inputs of both sine families: x in [−5, 5] (both papers).
pub const INPUT_RANGE: (f64, f64) = (-5.0, 5.0);

/// Which paper's sine distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SineVariant {
    /// MAML: amplitude U[0.1, 5], phase U[0, π], x U[−5, 5], y = A·sin(x − φ).
    Maml,
    /// Reptile demo: amplitude U[0.1, 5], phase U[0, 2π], x from 50 grid points on [−5, 5],
    /// y = A·sin(x + φ). Points are drawn without replacement (a reshuffled grid each 50),
    /// so 50 points are the whole grid in random order, as the demo trains.
    Reptile,
}

/// One sine task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SineTask {
    /// Amplitude `A`.
    pub amplitude: f64,
    /// Phase `φ`.
    pub phase: f64,
}

/// The sine task family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SineFamily {
    /// The paper setup.
    pub variant: SineVariant,
}

/// Number of grid points of the Reptile demo.
pub const REPTILE_GRID: usize = 50;

impl SineFamily {
    /// MAML's distribution.
    pub fn maml() -> Self {
        Self {
            variant: SineVariant::Maml,
        }
    }

    /// The Reptile demo's distribution.
    pub fn reptile() -> Self {
        Self {
            variant: SineVariant::Reptile,
        }
    }

    fn grid(i: usize) -> f64 {
        let (lo, hi) = INPUT_RANGE;
        lo + (hi - lo) * i as f64 / (REPTILE_GRID - 1) as f64
    }
}

impl TaskFamily for SineFamily {
    type Task = SineTask;

    fn sample_task(&self, rng: &mut Rng) -> SineTask {
        let amplitude = Uniform::new(0.1, 5.0).expect("valid range").sample(rng);
        let max_phase = match self.variant {
            SineVariant::Maml => std::f64::consts::PI,
            SineVariant::Reptile => 2.0 * std::f64::consts::PI,
        };
        let phase = Uniform::new(0.0, max_phase)
            .expect("valid range")
            .sample(rng);
        SineTask { amplitude, phase }
    }
}

impl RegressionFamily for SineFamily {
    fn sample_inputs(&self, rng: &mut Rng, n: usize) -> Vec<f64> {
        match self.variant {
            SineVariant::Maml => {
                let u = Uniform::new(INPUT_RANGE.0, INPUT_RANGE.1).expect("valid range");
                (0..n).map(|_| u.sample(rng)).collect()
            }
            SineVariant::Reptile => {
                let mut out = Vec::with_capacity(n);
                let mut order: Vec<usize> = (0..REPTILE_GRID).collect();
                while out.len() < n {
                    order.shuffle(rng);
                    let take = (n - out.len()).min(REPTILE_GRID);
                    out.extend(order[..take].iter().map(|&i| Self::grid(i)));
                }
                out
            }
        }
    }

    fn target(&self, task: &SineTask, x: f64) -> f64 {
        match self.variant {
            SineVariant::Maml => task.amplitude * (x - task.phase).sin(),
            SineVariant::Reptile => task.amplitude * (x + task.phase).sin(),
        }
    }

    fn input_range(&self) -> (f64, f64) {
        INPUT_RANGE
    }
}
