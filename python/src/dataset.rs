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

/// An element of [`read_chunks`]' output, decoded straight into its slot.
trait Elem: Copy + Send + Sync + numpy::Element {
    const NAN: Self;
    /// Decodes `bytes` (the chunk `key`, read for `part`) into `out`.
    fn decode(
        bytes: &[u8],
        part: &RefValue,
        key: &str,
        field: &FieldPlan,
        out: &mut [Self],
    ) -> Result<()>;
    /// The decoded `values` of `bytes` in an array of their own.
    fn decode_owned(
        bytes: &[u8],
        part: &RefValue,
        key: &str,
        field: &FieldPlan,
        values: usize,
    ) -> Result<Vec<Self>> {
        let mut out = vec![Self::NAN; values];
        Self::decode(bytes, part, key, field, &mut out)?;
        Ok(out)
    }
}

fn shape_error(key: &str, part: &RefValue, got: usize, want: usize) -> Error {
    Error::new(
        Kind::Grib,
        format!(
            "{key} ({}): {got} values for a chunk of {want}",
            describe(part)
        ),
    )
}

impl Elem for f64 {
    const NAN: Self = f64::NAN;
    fn decode(
        bytes: &[u8],
        part: &RefValue,
        key: &str,
        field: &FieldPlan,
        out: &mut [f64],
    ) -> Result<()> {
        let values = assemble::decode_part_f64(bytes, part, field)
            .map_err(|e| Error::from(e).prefixed(key))?;
        if values.len() != out.len() {
            return Err(shape_error(key, part, values.len(), out.len()));
        }
        out.copy_from_slice(&values);
        Ok(())
    }
    fn decode_owned(
        bytes: &[u8],
        part: &RefValue,
        key: &str,
        field: &FieldPlan,
        values: usize,
    ) -> Result<Vec<f64>> {
        let decoded = assemble::decode_part_f64(bytes, part, field)
            .map_err(|e| Error::from(e).prefixed(key))?;
        if decoded.len() != values {
            return Err(shape_error(key, part, decoded.len(), values));
        }
        Ok(decoded)
    }
}

impl Elem for f32 {
    const NAN: Self = f32::NAN;
    fn decode(
        bytes: &[u8],
        part: &RefValue,
        key: &str,
        field: &FieldPlan,
        out: &mut [f32],
    ) -> Result<()> {
        let mut decoded = Vec::new();
        assemble::decode_part(bytes, part, field, gik_core::npy::Dtype::F32, &mut decoded)
            .map_err(|e| Error::from(e).prefixed(key))?;
        if decoded.len() != out.len() * 4 {
            return Err(shape_error(key, part, decoded.len() / 4, out.len()));
        }
        for (o, b) in out.iter_mut().zip(decoded.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

/// Reads `parts` (chunk key, reference) and decodes them into one array of
/// `parts.len()` × `values`, NaN for a chunk without a reference: reads
/// concurrently, decoding on every core while further reads arrive.
async fn read_into<T: Elem>(
    reader: &Sources,
    parts: &[(String, Option<RefValue>)],
    field: &FieldPlan,
    values: usize,
) -> Result<Vec<T>> {
    if let [(key, Some(part))] = parts {
        // one chunk (a Dask task's): its decoded values are the array, no copy
        let b = gik_core::io::read_part(reader, part)
            .await
            .map_err(|e| Error::from(e).prefixed(key))?;
        return T::decode_owned(&b, part, key, field, values);
    }
    let mut out = vec![T::NAN; parts.len() * values];
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
    let mut slots: Vec<Option<&mut [T]>> = out.chunks_mut(values.max(1)).map(Some).collect();
    let mut decodes = Vec::new();
    while let Some(r) = reads.next().await {
        let (i, b) = r?;
        if let (Some(b), Some(slot)) = (b, slots.get_mut(i).and_then(Option::take)) {
            decodes.push((i, b, slot));
        }
    }
    let decode = |batch: &mut [(usize, bytes::Bytes, &mut [T])]| {
        for (i, b, slot) in batch.iter_mut() {
            let (key, part) = &parts[*i];
            let part = part
                .as_ref()
                .ok_or_else(|| Error::new(Kind::Other, format!("{key}: no reference")))?;
            T::decode(b, part, key, field, slot)?;
        }
        Ok::<_, Error>(())
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(decodes.len().max(1));
    if threads == 1 {
        decode(&mut decodes)?;
    } else {
        let per = decodes.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = decodes
                .chunks_mut(per)
                .map(|batch| s.spawn(move || decode(batch)))
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::new(Kind::Other, "a decoding thread failed")))
            })
        })?;
    }
    drop(decodes);
    Ok(out)
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
    let shape = [parts.len(), values];
    Ok(match dtype {
        Dtype::F32 => {
            let v = block_on(py, "reading chunks", || {
                read_into::<f32>(reader, parts, field, values)
            })?;
            PyArray1::from_vec(py, v).reshape(shape)?.into_any()
        }
        Dtype::F64 => {
            let v = block_on(py, "reading chunks", || {
                read_into::<f64>(reader, parts, field, values)
            })?;
            PyArray1::from_vec(py, v).reshape(shape)?.into_any()
        }
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
