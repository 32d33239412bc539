//! The crate's error type: one enum, a `Result` alias and a `bail!` helper (candle's style).

use std::fmt;

/// Everything that can go wrong in Metaplay.
#[derive(Debug)]
pub enum Error {
    /// A setting is outside its accepted range; names the field and the range.
    InvalidConfig {
        /// The field as users write it (`meta_batch`, `inner_lr`, ...).
        field: &'static str,
        /// What was wrong and what is accepted.
        message: String,
    },
    /// Training produced a NaN or infinite loss.
    Diverged {
        /// The meta-iteration (1-based) whose loss was not finite.
        iter: usize,
        /// The offending value.
        loss: f64,
    },
    /// A tensor operation failed inside candle.
    Tensor(candle_core::Error),
    /// The WebGPU backend failed (no adapter, device lost, a buffer too large, ...).
    Gpu(String),
    /// Any other failure, described in words.
    Msg(String),
}

/// `Result` with [`Error`] as the error type.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig { field, message } => write!(f, "invalid `{field}`: {message}"),
            Error::Diverged { iter, loss } => write!(
                f,
                "training diverged at iteration {iter} (loss {loss}); the learning rates are probably too high"
            ),
            Error::Tensor(e) => write!(f, "tensor error: {e}"),
            Error::Gpu(m) => write!(f, "WebGPU: {m}"),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Tensor(e)
    }
}

/// Returns early with an [`Error::Msg`] built like `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::Msg(format!($($arg)*)))
    };
}
