//! `gik.decode` and the codec's chunk decoding: the first GRIB2 message of
//! a buffer → its values (gik-core's decoders, ecCodes' values, NaN where
//! the bitmap marks a point missing).

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::error::{Error, Kind, Result};
use crate::runtime::detached;

/// Element type of decoded arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

impl Dtype {
    /// `float32`/`f4`/`<f4` or `float64`/`f8`/`<f8`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "float32" | "f4" | "<f4" => Ok(Self::F32),
            "float64" | "f8" | "<f8" => Ok(Self::F64),
            other => Err(Error::new(
                Kind::Selection,
                format!("dtype `{other}`: expected float32 or float64"),
            )),
        }
    }

    /// The core's dtype.
    pub fn core(self) -> gik_core::npy::Dtype {
        match self {
            Self::F32 => gik_core::npy::Dtype::F32,
            Self::F64 => gik_core::npy::Dtype::F64,
        }
    }
}

/// Decoded values and, for a grid of rows × columns stored row by row, its
/// shape `(Nj, Ni)`.
enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

fn decode_first(message: &[u8], dtype: Dtype) -> Result<(Values, Option<[usize; 2]>)> {
    let field = gik_core::grib::first_field(message)?;
    let values = match dtype {
        Dtype::F32 => Values::F32(field.decode_f32()?),
        Dtype::F64 => Values::F64(field.decode_f64()?),
    };
    let n = match &values {
        Values::F32(v) => v.len(),
        Values::F64(v) => v.len(),
    };
    // 2-D only where the grid says rows × columns, i consecutive (scanning
    // mode bit 3 clear): the order ecCodes hands values out in.
    let shape = field.meta().ok().and_then(|m| {
        let g = m.grid;
        let (ni, nj) = (g.ni? as usize, g.nj? as usize);
        (ni * nj == n && g.scanning_mode & 0x20 == 0).then_some([nj, ni])
    });
    Ok((values, shape))
}

fn to_numpy<'py>(
    py: Python<'py>,
    values: Values,
    shape: Option<[usize; 2]>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match (values, shape) {
        (Values::F32(v), None) => PyArray1::from_vec(py, v).into_any(),
        (Values::F64(v), None) => PyArray1::from_vec(py, v).into_any(),
        (Values::F32(v), Some(s)) => PyArray1::from_vec(py, v).reshape(s)?.into_any(),
        (Values::F64(v), Some(s)) => PyArray1::from_vec(py, v).reshape(s)?.into_any(),
    })
}

/// Decodes the GRIB2 message at the start of `message` (its first field):
/// a 1-D array, or `(Nj, Ni)` with `shaped` for a grid of rows and columns.
/// The GIL is released while decoding.
#[pyfunction]
#[pyo3(signature = (message, dtype = "float64", shaped = true))]
pub fn decode<'py>(
    py: Python<'py>,
    message: PyBackedBytes,
    dtype: &str,
    shaped: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = Dtype::parse(dtype)?;
    let bytes: &[u8] = &message;
    let (values, shape) = detached(py, "decoding a GRIB message", || {
        decode_first(bytes, dtype).map_err(|e| {
            Error::new(
                Kind::Grib,
                format!("GRIB message of {} bytes: {}", bytes.len(), e.message()),
            )
        })
    })?;
    to_numpy(py, values, shape.filter(|_| shaped))
}
