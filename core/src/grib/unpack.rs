//! Value decoding: one module per data representation template (5.N).
//! (Placeholder: being written; the entry points below are the contract.)

mod ccsds;

use super::frame::Field;
use crate::Result;

/// Limits that protect against hostile headers.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Largest number of grid points a field may have (default 2^27, 1 GiB of f64).
    pub max_points: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { max_points: 1 << 27 }
    }
}

impl Field<'_> {
    /// Decodes the values as f64, NaN where the bitmap marks a point missing.
    ///
    /// # Errors
    /// Unsupported packing, corrupt or truncated data.
    pub fn decode_f64(&self) -> Result<Vec<f64>> {
        self.decode_f64_with(&DecodeOptions::default())
    }

    /// [`Field::decode_f64`] with explicit limits.
    ///
    /// # Errors
    /// Unsupported packing, corrupt or truncated data, or a field over the limits.
    pub fn decode_f64_with(&self, _opts: &DecodeOptions) -> Result<Vec<f64>> {
        Ok(Vec::new())
    }

    /// Decodes the values as f32 (ecCodes' f64 values cast to f32), NaN where missing.
    ///
    /// # Errors
    /// As [`Field::decode_f64`].
    pub fn decode_f32(&self) -> Result<Vec<f32>> {
        self.decode_f32_with(&DecodeOptions::default())
    }

    /// [`Field::decode_f32`] with explicit limits.
    ///
    /// # Errors
    /// As [`Field::decode_f64_with`].
    pub fn decode_f32_with(&self, opts: &DecodeOptions) -> Result<Vec<f32>> {
        Ok(self.decode_f64_with(opts)?.into_iter().map(|v| v as f32).collect())
    }
}
