//! Named parameter tensors kept on the host between iterations.
//!
//! The meta-parameters live here as plain `f64` vectors; each iteration turns them into
//! candle tensors (or variables, to differentiate) of the run's precision. That keeps the
//! optimisers, Reptile's interpolation and export simple, exact and backend-independent.

use candle_core::{DType, Device, Tensor, Var};

use crate::error::Result;

/// An ordered list of named tensors (`w0`, `b0`, `w1`, ...) stored on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSet {
    /// Tensor names, in order.
    pub names: Vec<String>,
    /// Tensor shapes, in order.
    pub shapes: Vec<Vec<usize>>,
    /// Row-major values of each tensor.
    pub values: Vec<Vec<f64>>,
}

impl ParamSet {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            names: Vec::new(),
            shapes: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Appends a tensor; `values.len()` must equal the product of `shape`.
    pub fn push(&mut self, name: impl Into<String>, shape: Vec<usize>, values: Vec<f64>) {
        debug_assert_eq!(shape.iter().product::<usize>(), values.len());
        self.names.push(name.into());
        self.shapes.push(shape);
        self.values.push(values);
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the set holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Total number of scalars.
    pub fn numel(&self) -> usize {
        self.values.iter().map(Vec::len).sum()
    }

    /// True when every value is finite.
    pub fn all_finite(&self) -> bool {
        self.values.iter().flatten().all(|v| v.is_finite())
    }

    /// The tensors, as constants of `dtype` on `device`.
    pub fn tensors(&self, dtype: DType, device: &Device) -> Result<Vec<Tensor>> {
        self.values
            .iter()
            .zip(&self.shapes)
            .map(|(v, s)| Ok(Tensor::from_slice(v, s.as_slice(), device)?.to_dtype(dtype)?))
            .collect()
    }

    /// The tensors, as candle variables (leaves of a graph to differentiate).
    pub fn vars(&self, dtype: DType, device: &Device) -> Result<Vec<Var>> {
        self.tensors(dtype, device)?
            .iter()
            .map(|t| Ok(Var::from_tensor(t)?))
            .collect()
    }

    /// Replaces the values with those of `tensors` (same shapes, any float dtype).
    pub fn assign(&mut self, tensors: &[Tensor]) -> Result<()> {
        for (slot, t) in self.values.iter_mut().zip(tensors) {
            *slot = to_host(t)?;
        }
        Ok(())
    }
}

impl Default for ParamSet {
    fn default() -> Self {
        Self::new()
    }
}

/// The gradient of every variable in `vars` from `grads`, as flat host vectors (zeros for a
/// variable the loss does not depend on).
pub fn host_gradients(
    vars: &[Var],
    grads: &candle_core::backprop::GradStore,
) -> Result<Vec<Vec<f64>>> {
    vars.iter()
        .map(|v| match grads.get(v.as_tensor()) {
            Some(g) => to_host(g),
            None => Ok(vec![0.0; v.as_tensor().elem_count()]),
        })
        .collect()
}

/// A tensor's values as a flat `f64` vector.
pub fn to_host(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?)
}
