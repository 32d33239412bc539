//! The ReLU slope `1[z > 0]` as one candle op.
//!
//! `relu(z) = z ⊙ 1[z > 0]` with the indicator held constant is exact to every order
//! (ReLU'' = 0 almost everywhere), so the MLP computes the slope once and multiplies. As a
//! custom op it is one vectorisable pass; candle's `relu` and `sign` each call `fmaxf` per
//! element in wasm, which profiling showed as ~7% of a meta-iteration there.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

struct ReluSlope;

impl CustomOp1 for ReluSlope {
    fn name(&self) -> &'static str {
        "relu-slope"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
            candle_core::Error::Msg("relu-slope: input must be contiguous".into())
        })?;
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(
                v[start..end]
                    .iter()
                    .map(|&z| if z > 0.0 { 1.0 } else { 0.0 })
                    .collect(),
            ),
            CpuStorage::F64(v) => CpuStorage::F64(
                v[start..end]
                    .iter()
                    .map(|&z| if z > 0.0 { 1.0 } else { 0.0 })
                    .collect(),
            ),
            _ => candle_core::bail!("relu-slope: f32 or f64 only"),
        };
        Ok((out, layout.shape().clone()))
    }
}

/// `1[z > 0]`, elementwise, as a constant for autograd (no gradient flows through it).
pub fn relu_slope(z: &Tensor) -> candle_core::Result<Tensor> {
    z.contiguous()?.apply_op1_no_bwd(&ReluSlope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn slope_is_one_exactly_where_positive() {
        let z = Tensor::new(&[[-2.0f32, 0.0, 1e-30, 3.0]], &Device::Cpu).unwrap();
        let s = relu_slope(&z).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(s, vec![vec![0.0, 0.0, 1.0, 1.0]]);
        let z64 = Tensor::new(&[-1.0f64, 2.0], &Device::Cpu).unwrap();
        assert_eq!(
            relu_slope(&z64).unwrap().to_vec1::<f64>().unwrap(),
            vec![0.0, 1.0]
        );
    }
}
