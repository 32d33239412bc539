//! Seeded random streams. Every random draw in Metaplay comes from a [`Rng`] made here,
//! so one seed fixes a whole run, natively and in wasm alike (ChaCha8 is portable).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random number generator used everywhere.
pub type Rng = ChaCha8Rng;

/// Independent streams drawn from one seed (as the JAX reference's `default_rng([seed, stream])`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Initial weights.
    Init = 0,
    /// Training tasks.
    Train = 1,
    /// Evaluation tasks (seeded with the evaluation seed).
    Eval = 2,
    /// Validation tasks shown in the playground.
    Validation = 3,
    /// Bandit episodes.
    Bandit = 4,
    /// The tasks and directions of a gradient check.
    GradientCheck = 5,
}

/// A generator for `stream` of `seed`.
pub fn rng(seed: u64, stream: Stream) -> Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream as u64);
    r
}

/// Generator number `index` of `stream` of `seed` (e.g. one per policy), independent of the
/// others and of [`rng`]'s.
pub fn rng_indexed(seed: u64, stream: Stream, index: u64) -> Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(((index + 1) << 8) | stream as u64);
    r
}
