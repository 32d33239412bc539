//! Meta-parameters as a safetensors file: tensors named `run<i>.<parameter>` (e.g.
//! `run0.w1`, `run1.lr_b0`), stored as F64 (the optimiser keeps them in f64, so the file is
//! exact), the link and app version in the metadata; F32 files are read too. Importing checks size, format, names, shapes, dtype and finiteness against the
//! current runs, and names what is wrong.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::engine::params::ParamSet;
use crate::error::{Error, Result};

/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// The file of `runs`' parameters, with `metadata`.
pub fn to_safetensors(runs: &[&ParamSet], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let numbered: Vec<(usize, &ParamSet)> = runs.iter().copied().enumerate().collect();
    to_safetensors_numbered(&numbered, metadata)
}

/// The file of some runs' parameters, each under its number in the experiment (`run<number>.`).
pub fn to_safetensors_numbered(
    runs: &[(usize, &ParamSet)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut buffers = Vec::new();
    for (i, params) in runs {
        for ((name, shape), values) in params.names.iter().zip(&params.shapes).zip(&params.values) {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            buffers.push((format!("run{i}.{name}"), Dtype::F64, shape.clone(), bytes));
        }
    }
    serialize(&buffers, metadata)
}

type Buffer = (String, Dtype, Vec<usize>, Vec<u8>);

fn serialize(buffers: &[Buffer], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Msg(format!("cannot write the parameter file: {e}")))?;
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Msg(format!("cannot write the parameter file: {e}")))
}

/// One file of the tensors of `files` (the parts written by the workers of one experiment,
/// [`crate::experiment::worker_pool`]), with the first file's metadata. Refuses a tensor
/// name given twice.
pub fn merge(files: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut buffers: Vec<Buffer> = Vec::new();
    let mut metadata = HashMap::new();
    for (i, bytes) in files.iter().enumerate() {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::Msg(format!("cannot merge the parameter files: {e}")))?;
        if i == 0 {
            metadata = header.metadata().clone().unwrap_or_default();
        }
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Msg(format!("cannot merge the parameter files: {e}")))?;
        for (name, view) in file.tensors() {
            if buffers.iter().any(|b| b.0 == name) {
                return Err(Error::Msg(format!(
                    "cannot merge the parameter files: `{name}` is in two of them"
                )));
            }
            buffers.push((
                name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            ));
        }
    }
    serialize(&buffers, metadata)
}

fn bad(message: String) -> Error {
    Error::Msg(format!("parameter file rejected: {message}"))
}

/// Reads a file written by [`to_safetensors`] for runs shaped as `expected` (names and shapes
/// of each run's parameters); returns the parameters per run.
pub fn from_safetensors(bytes: &[u8], expected: &[&ParamSet]) -> Result<Vec<ParamSet>> {
    let numbered: Vec<(usize, &ParamSet)> = expected.iter().copied().enumerate().collect();
    from_safetensors_numbered(bytes, &numbered, expected.len())
}

/// Reads the runs `expected` (each under its number in the experiment) from a file of an
/// experiment of `total` runs: the tensors of its other runs (trained by other workers) are
/// skipped, anything else is refused as in [`from_safetensors`].
pub fn from_safetensors_numbered(
    bytes: &[u8],
    expected: &[(usize, &ParamSet)],
    total: usize,
) -> Result<Vec<ParamSet>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{} bytes; at most {MAX_FILE_BYTES} are accepted",
            bytes.len()
        )));
    }
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let mut wanted: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(expected.len());
    for &(i, params) in expected {
        let mut set = ParamSet::new();
        for (name, shape) in params.names.iter().zip(&params.shapes) {
            let key = format!("run{i}.{name}");
            let view = file.tensor(&key).map_err(|_| {
                bad(format!(
                    "tensor `{key}` is missing (the current settings need it, shape {shape:?})"
                ))
            })?;
            if view.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "tensor `{key}` has shape {:?}; the current settings need {shape:?}",
                    view.shape()
                )));
            }
            let values: Vec<f64> = match view.dtype() {
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                    .collect(),
                Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
                other => {
                    return Err(bad(format!(
                        "tensor `{key}` has dtype {other:?}; accepted F32 or F64"
                    )))
                }
            };
            if values.iter().any(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "tensor `{key}` holds values that are not finite"
                )));
            }
            set.push(name.clone(), shape.clone(), values);
            wanted.push(key);
        }
        out.push(set);
    }
    if let Some(extra) = file
        .names()
        .into_iter()
        .find(|n| !wanted.iter().any(|w| w == *n) && !of_other_run(n, expected, total))
    {
        return Err(bad(format!(
            "tensor `{extra}` does not belong to the current runs"
        )));
    }
    Ok(out)
}

/// True when tensor `name` is `run<j>.…` of one of the experiment's runs not in `expected`.
fn of_other_run(name: &str, expected: &[(usize, &ParamSet)], total: usize) -> bool {
    let number = name
        .strip_prefix("run")
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(j, _)| j.parse::<usize>().ok());
    number.is_some_and(|j| j < total && expected.iter().all(|(i, _)| *i != j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(shape_b: usize) -> ParamSet {
        let mut p = ParamSet::new();
        p.push("w0", vec![1, 3], vec![0.5, -1.25, 2.0]);
        p.push("b0", vec![1, shape_b], vec![0.125; shape_b]);
        p
    }

    #[test]
    fn round_trip_and_every_rejection_names_the_problem() {
        let a = set(3);
        let bytes = to_safetensors(&[&a, &a], HashMap::new()).unwrap();
        assert_eq!(
            from_safetensors(&bytes, &[&a, &a]).unwrap(),
            vec![a.clone(), a.clone()]
        );
        let err = |r: Result<Vec<ParamSet>>| r.unwrap_err().to_string();
        assert!(err(from_safetensors(b"garbage", &[&a])).contains("not a safetensors file"));
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 5);
        assert!(err(from_safetensors(&cut, &[&a, &a])).contains("not a safetensors file"));
        assert!(
            err(from_safetensors(&bytes, &[&set(4), &a])).contains("`run0.b0` has shape [1, 3]")
        );
        let extra = err(from_safetensors(&bytes, &[&a]));
        assert!(
            extra.contains("`run1.") && extra.contains("does not belong"),
            "{extra}"
        );
        assert!(err(from_safetensors(&bytes, &[&a, &a, &a])).contains("`run2.w0` is missing"));
        let mut nan = a.clone();
        nan.values[0][1] = f64::NAN;
        let bytes = to_safetensors(&[&nan], HashMap::new()).unwrap();
        assert!(err(from_safetensors(&bytes, &[&a])).contains("not finite"));
    }
}
