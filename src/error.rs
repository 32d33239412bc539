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
    /// The WebGPU backend cannot do what was asked, by kind.
    Gpu(GpuError),
    /// Any other failure, described in words.
    Msg(String),
}

/// Why the WebGPU backend cannot do what was asked, by kind: the backend decision
/// ([`crate::experiment::backend_decision`]) falls back to the CPU on each, without a notice
/// under `auto` only for the two the user cannot change ([`GpuError::falls_back_silently`]).
#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// There is no adapter, or the request for it (or its device) failed.
    NoAdapter(String),
    /// The device was lost or failed while working.
    DeviceLost(String),
    /// The work does not fit the device's limits (buffer sizes, workgroups, loop limits).
    TooLarge(String),
    /// The configuration asks for what the GPU backend does not do (f64).
    Unsupported(String),
}

impl GpuError {
    /// A lost device or a failed request: nothing the user could have set differently.
    pub fn falls_back_silently(&self) -> bool {
        matches!(self, GpuError::NoAdapter(_) | GpuError::DeviceLost(_))
    }
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter(why) => write!(f, "no WebGPU adapter ({why})"),
            GpuError::DeviceLost(why) => write!(f, "the WebGPU device was lost ({why})"),
            GpuError::TooLarge(why) => write!(f, "too large for WebGPU: {why}"),
            GpuError::Unsupported(why) => f.write_str(why),
        }
    }
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
            Error::Gpu(e) => write!(f, "{e}"),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// [`GpuError::NoAdapter`].
    pub fn no_adapter(why: impl Into<String>) -> Self {
        Error::Gpu(GpuError::NoAdapter(why.into()))
    }
    /// [`GpuError::DeviceLost`].
    pub fn device_lost(why: impl Into<String>) -> Self {
        Error::Gpu(GpuError::DeviceLost(why.into()))
    }
    /// [`GpuError::TooLarge`].
    pub fn too_large(why: impl Into<String>) -> Self {
        Error::Gpu(GpuError::TooLarge(why.into()))
    }
    /// [`GpuError::Unsupported`].
    pub fn gpu_unsupported(why: impl Into<String>) -> Self {
        Error::Gpu(GpuError::Unsupported(why.into()))
    }
}

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
