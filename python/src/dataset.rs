//! What the xarray backend (`engine="gik"`, `gik/xarray_backend.py`) reads
//! of a [`References`]: the store's groups and arrays as they are (the
//! layout the core built or opened), coordinate values (the core's
//! `RefStore::coordinate`) and data chunks read and decoded in bulk with the
//! GIL released (the core's `read_part` and decoders); and references
//! rebuilt from their JSON in another process (Dask workers).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use gik_core::assemble::{self, describe};
use gik_core::plan::FieldPlan;
use gik_core::refs::{self, CoordValues, RefValue};
use gik_store::Sources;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyDict, PyList};

use crate::decode::Dtype;
use crate::error::{Error, Kind, Result};
use crate::refs::References;
use crate::runtime::block_on;

/// Chunks read at once by [`read_chunks`].
const READS_AT_ONCE: usize = 32;

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The store's groups, in key order: `[{"path", "attrs", "arrays": [{"name",
/// "dims", "shape", "chunks", "dtype", "fill_value", "attrs", "data"}]}]`,
/// `data` true for the data variables (the core's `RefStore::variables`),
/// false for coordinates. Groups without arrays are listed too (the tree's
/// inner nodes).
#[pyfunction]
pub fn store_layout<'py>(py: Python<'py>, refs: &References) -> PyResult<Bound<'py, PyList>> {
    let store = &refs.store;
    let data: std::collections::BTreeSet<String> = store
        .variables()
        .map_err(Error::from)?
        .into_iter()
        .map(|v| v.path)
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in store.keys() {
        let (dir, leaf) = split(key);
        if leaf == ".zgroup" {
            groups.entry(dir.to_string()).or_default();
        }
    }
    for a in store.arrays() {
        let (group, _) = split(a);
        groups
            .entry(group.to_string())
            .or_default()
            .push(a.to_string());
    }
    let out = PyList::empty(py);
    for (group, arrays) in groups {
        let g = PyDict::new(py);
        g.set_item("path", &group)?;
        let attrs = store.attrs(&group).map_err(Error::from)?;
        g.set_item("attrs", json_to_py(py, &serde_json::Value::Object(attrs))?)?;
        let list = PyList::empty(py);
        for path in arrays {
            let meta = store.array_meta(&path).map_err(Error::from)?;
            let mut attrs = store.attrs(&path).map_err(Error::from)?;
            let dims: Vec<String> = attrs
                .remove("_ARRAY_DIMENSIONS")
                .and_then(|d| serde_json::from_value(d).ok())
                .unwrap_or_default();
            if dims.len() != meta.shape.len() {
                return Err(Error::new(
                    Kind::References,
                    format!(
                        "{path}: _ARRAY_DIMENSIONS names {} dimensions for a shape of {}",
                        dims.len(),
                        meta.shape.len()
                    ),
                )
                .into());
            }
            let a = PyDict::new(py);
            a.set_item("name", split(&path).1)?;
            a.set_item("path", &path)?;
            a.set_item("dims", dims)?;
            a.set_item("shape", &meta.shape)?;
            a.set_item("chunks", &meta.chunks)?;
            a.set_item("dtype", &meta.dtype)?;
            a.set_item("fill_value", json_to_py(py, &meta.fill_value)?)?;
            a.set_item("attrs", json_to_py(py, &serde_json::Value::Object(attrs))?)?;
            a.set_item("data", data.contains(&path))?;
            list.append(a)?;
        }
        g.set_item("arrays", list)?;
        out.append(g)?;
    }
    Ok(out)
}

/// The values of the inline coordinate array at `path`, row-major, 1-D:
/// int64 or float64 (as stored), chunks without a reference read as zarr
/// reads them (the fill value).
#[pyfunction]
pub fn read_coordinate<'py>(
    py: Python<'py>,
    refs: &References,
    path: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let (group, name) = split(path);
    let c = refs
        .store
        .coordinate(group, name)
        .map_err(|e| Error::new(Kind::References, format!("{}: {e}", refs.origin)))?;
    Ok(match c.filled() {
        CoordValues::Int(v) => {
            PyArray1::from_vec(py, v.into_iter().map(|x| x.unwrap_or(0)).collect()).into_any()
        }
        CoordValues::Float(v) => {
            PyArray1::from_vec(py, v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                .into_any()
        }
    })
}

/// Decoded fields of chunks, `n` × `field` values.
enum Out {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Decodes `bytes` (the chunk `key`, read for `part`) into `out`.
fn decode_into(
    bytes: &[u8],
    part: &RefValue,
    key: &str,
    field: &FieldPlan,
    dtype: Dtype,
    out: &mut [u8],
) -> Result<()> {
    let mut decoded = Vec::with_capacity(out.len());
    assemble::decode_part(bytes, part, field, dtype.core(), &mut decoded)
        .map_err(|e| Error::from(e).prefixed(key))?;
    if decoded.len() != out.len() {
        return Err(Error::new(
            Kind::Grib,
            format!(
                "{key} ({}): {} bytes of values for a chunk of {}",
                describe(part),
                decoded.len(),
                out.len()
            ),
        ));
    }
    out.copy_from_slice(&decoded);
    Ok(())
}

/// Reads and decodes the chunks of the data array at `path` whose leading
/// indices are `indices` (one list per chunk; the trailing, whole
/// dimensions are chunk 0): an array of `len(indices)` × the chunk's
/// values, NaN where a chunk has no reference. Reads run concurrently and
/// decoding on every core, with the GIL released; an error names the chunk
/// key and the byte range.
#[pyfunction]
#[pyo3(signature = (refs, path, indices, dtype = "float64"))]
pub fn read_chunks<'py>(
    py: Python<'py>,
    refs: &References,
    path: &str,
    indices: Vec<Vec<u64>>,
    dtype: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = Dtype::parse(dtype)?;
    let store = &refs.store;
    let meta = store.array_meta(path).map_err(Error::from)?;
    let lead = indices.first().map_or(0, Vec::len);
    let field_dims = meta.chunks.get(lead..).unwrap_or_default();
    let whole = meta.shape.get(lead..).unwrap_or_default();
    let lead_chunks = meta.chunks.get(..lead).unwrap_or_default();
    if field_dims != whole || lead > meta.shape.len() || lead_chunks.iter().any(|&c| c != 1) {
        return Err(Error::new(
            Kind::References,
            format!(
                "{path}: chunks {:?} of shape {:?} are not one field per chunk",
                meta.chunks, meta.shape
            ),
        )
        .into());
    }
    let values: usize = field_dims.iter().map(|&c| c as usize).product();
    let grid = match field_dims {
        [nlat, nlon] => (*nlat as usize, *nlon as usize),
        _ => (1, values),
    };
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let mut parts = Vec::with_capacity(indices.len());
    for idx in &indices {
        if idx.len() != lead {
            return Err(Error::new(
                Kind::Selection,
                format!("{path}: chunk indices of different lengths"),
            )
            .into());
        }
        let mut full = idx.clone();
        full.resize(meta.shape.len(), 0);
        let key = format!("{path}/{}", meta.chunk_key(&full));
        let part = store.chunk(path, &full).map_err(Error::from)?.cloned();
        parts.push((key, part));
    }
    let field = FieldPlan {
        name: path.to_string(),
        parts: Vec::new(),
        grid,
        scale: None,
        source: path.to_string(),
    };
    let reader: &Sources = &refs.reader;
    let (parts, field) = (&parts, &field);
    let bytes = block_on(py, "reading chunks", || async move {
        let mut out = vec![0u8; parts.len() * values * width];
        let fill: Vec<u8> = match dtype {
            Dtype::F32 => f32::NAN.to_le_bytes().to_vec(),
            Dtype::F64 => f64::NAN.to_le_bytes().to_vec(),
        };
        let mut reads = futures::stream::iter(parts.iter().enumerate())
            .map(|(i, (key, part))| async move {
                match part {
                    None => Ok((i, None)),
                    Some(p) => gik_core::io::read_part(reader, p)
                        .await
                        .map(|b| (i, Some(b)))
                        .map_err(|e| Error::from(e).prefixed(key)),
                }
            })
            .buffer_unordered(READS_AT_ONCE);
        // decode on the blocking pool while further reads arrive
        let mut decodes = Vec::new();
        let slots: Vec<&mut [u8]> = out.chunks_mut((values * width).max(1)).collect();
        let mut slots: Vec<Option<&mut [u8]>> = slots.into_iter().map(Some).collect();
        let mut filled = Vec::new();
        while let Some(r) = reads.next().await {
            let (i, b) = r?;
            let Some(slot) = slots.get_mut(i).and_then(Option::take) else {
                continue;
            };
            match b {
                None => filled.push(slot),
                Some(b) => decodes.push((i, b, slot)),
            }
        }
        for slot in filled {
            for v in slot.chunks_exact_mut(width) {
                v.copy_from_slice(&fill);
            }
        }
        let threads = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .min(decodes.len().max(1));
        let per = decodes.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = decodes
                .chunks_mut(per)
                .map(|batch| {
                    s.spawn(move || {
                        for (i, b, slot) in batch.iter_mut() {
                            let (key, part) = &parts[*i];
                            let part = part.as_ref().ok_or_else(|| {
                                Error::new(Kind::Other, format!("{key}: no reference"))
                            })?;
                            decode_into(b, part, key, field, dtype, slot)?;
                        }
                        Ok::<_, Error>(())
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::new(Kind::Other, "a decoding thread failed")))
            })
        })?;
        drop(decodes);
        Ok(out)
    })?;
    let n = parts.len();
    let out = match dtype {
        Dtype::F32 => Out::F32(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
                .collect(),
        ),
        Dtype::F64 => Out::F64(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
    };
    let shape = [n, values];
    Ok(match out {
        Out::F32(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
        Out::F64(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
    })
}

/// References parsed from the bytes of a reference file (kerchunk JSON or
/// two-column parquet), e.g. `References.to_json()` sent to a Dask worker;
/// `origin` names them in messages.
#[pyfunction]
pub fn references_from_bytes(
    py: Python<'_>,
    data: PyBackedBytes,
    origin: String,
) -> PyResult<References> {
    let bytes: &[u8] = &data;
    let store = crate::runtime::detached(py, "parsing references", || {
        refs::parse_file(bytes).map_err(|e| Error::new(Kind::References, format!("{origin}: {e}")))
    })?;
    Ok(References {
        store,
        reader: Arc::new(Sources::default()),
        origin,
    })
}
