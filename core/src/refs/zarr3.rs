//! The reference model as a Zarr v3 hierarchy, and back: what an Icechunk
//! repository (or any Zarr v3 store of virtual chunks) holds.
//!
//! [`to_zarr3`] turns a [`RefStore`] into one [`Zarr3Node`] per group and
//! array: its `zarr.json` and its chunks. Groups, names, dimensions
//! (`dimension_names`) and attributes are the references'; data arrays name
//! gik's Zarr v3 codec (`{"name": "gik", "configuration": {"var": …}}`, an
//! array→bytes codec decoding one GRIB message per chunk) and keep their
//! chunk references `[url, offset, length]`; coordinates become one real
//! (inline) chunk each, little-endian `int64` or `float64` with the `bytes`
//! codec. [`from_zarr3`] is the inverse, so gik reads back what it wrote
//! with the normal pipeline.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::store::{join, split_path, CoordValues, RefStore, RefValue};
use super::zarr::{array_dims, to_ascii_json, ArrayMeta};
use super::{RefsError, Result};

/// One node of a Zarr v3 hierarchy: a group or an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zarr3Node {
    /// Its path without a leading `/` (`""` for the root,
    /// `t2m/instant/heightAboveGround/t2m`).
    pub path: String,
    /// Its `zarr.json` document.
    pub metadata: Vec<u8>,
    /// An array's chunks by chunk index (`[]` for a 0-d array): inline bytes
    /// (coordinates) or byte ranges of GRIB files (data); empty for a group.
    pub chunks: Vec<(Vec<u64>, RefValue)>,
}

impl Zarr3Node {
    /// Whether the node is an array (its `zarr.json` says `"node_type": "array"`).
    #[must_use]
    pub fn is_array(&self) -> bool {
        serde_json::from_slice::<Value>(&self.metadata)
            .ok()
            .and_then(|v| {
                v.get("node_type")
                    .and_then(Value::as_str)
                    .map(|t| t == "array")
            })
            .unwrap_or(false)
    }

    /// The `zarr.json` key of the node (`zarr.json`, `t2m/zarr.json`).
    #[must_use]
    pub fn metadata_key(&self) -> String {
        join(&self.path, "zarr.json")
    }
}

/// The Zarr v3 codec id of gik's GRIB codec.
pub const GIK_CODEC: &str = "gik";

/// The Zarr v3 hierarchy of `store`: every group (parents first) and array.
///
/// # Errors
/// Malformed metadata, a data array whose codec is neither `grib` nor `gik`
/// (or that has a compressor), or a coordinate that cannot be decoded.
pub fn to_zarr3(store: &RefStore) -> Result<Vec<Zarr3Node>> {
    let data: BTreeSet<String> = store.variables()?.into_iter().map(|v| v.path).collect();
    let arrays: Vec<String> = store.arrays().map(str::to_string).collect();
    let mut groups: BTreeSet<String> = BTreeSet::from([String::new()]);
    for (k, _) in store.iter() {
        if k == ".zgroup" {
            continue;
        }
        if let Some(g) = k.strip_suffix("/.zgroup") {
            add_with_parents(&mut groups, g);
        }
    }
    for a in &arrays {
        add_with_parents(&mut groups, split_path(a).0);
    }
    let mut nodes = Vec::with_capacity(groups.len() + arrays.len());
    for g in &groups {
        let doc = json!({"zarr_format": 3, "node_type": "group", "attributes": store.attrs(g)?});
        nodes.push(Zarr3Node {
            path: g.clone(),
            metadata: to_ascii_json(&doc),
            chunks: Vec::new(),
        });
    }
    for a in &arrays {
        nodes.push(if data.contains(a) {
            data_array(store, a)?
        } else {
            coordinate_array(store, a)?
        });
    }
    nodes.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(nodes)
}

fn add_with_parents(groups: &mut BTreeSet<String>, g: &str) {
    let mut p = g;
    while !p.is_empty() {
        groups.insert(p.to_string());
        p = split_path(p).0;
    }
}

fn unsupported(path: &str, reason: impl Into<String>) -> RefsError {
    RefsError::Metadata {
        key: join(path, ".zarray"),
        reason: format!("cannot be written as Zarr v3: {}", reason.into()),
    }
}

/// `(attributes without _ARRAY_DIMENSIONS, dimension names)` of an array.
fn attrs_and_dims(store: &RefStore, path: &str) -> Result<(Map<String, Value>, Vec<String>)> {
    let mut attrs = store.attrs(path)?;
    let dims = array_dims(&attrs);
    attrs.remove("_ARRAY_DIMENSIONS");
    Ok((attrs, dims))
}

fn array_doc(
    shape: &[u64],
    chunk_shape: &[u64],
    data_type: &str,
    fill_value: Value,
    codecs: Value,
    attrs: Map<String, Value>,
    dims: &[String],
) -> Vec<u8> {
    let mut doc = json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk_shape}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill_value,
        "codecs": codecs,
        "attributes": attrs,
    });
    if dims.len() == shape.len() {
        doc["dimension_names"] = json!(dims);
    }
    to_ascii_json(&doc)
}

fn data_array(store: &RefStore, path: &str) -> Result<Zarr3Node> {
    let meta = store.array_meta(path)?;
    let (attrs, dims) = attrs_and_dims(store, path)?;
    let data_type = match meta.dtype.as_str() {
        "<f8" => "float64",
        "<f4" => "float32",
        d => {
            return Err(unsupported(
                path,
                format!("data dtype {d} (gik's codec gives float32 or float64)"),
            ))
        }
    };
    if !meta.compressor.is_null() {
        return Err(unsupported(path, "a data array with a compressor"));
    }
    let var = match meta.filters.as_array().map(Vec::as_slice) {
        Some([f]) if matches!(f.get("id").and_then(Value::as_str), Some("grib" | "gik")) => {
            f.get("var").and_then(Value::as_str).map(str::to_string)
        }
        _ => {
            return Err(unsupported(
                path,
                "data arrays must name the `grib` or `gik` codec",
            ))
        }
    };
    let codec = match var {
        Some(v) => json!({"name": GIK_CODEC, "configuration": {"var": v}}),
        None => json!({"name": GIK_CODEC}),
    };
    let fill = match &meta.fill_value {
        Value::Null => json!(0.0),
        v => v.clone(),
    };
    let chunk_shape: Vec<u64> = meta.chunks.iter().map(|&c| c.max(1)).collect();
    let prefix = format!("{path}/");
    let mut chunks = Vec::new();
    for (k, v) in store.prefixed(&prefix) {
        if let Some(idx) = meta.parse_chunk_key(&k[prefix.len()..]) {
            chunks.push((idx, v.clone()));
        }
    }
    Ok(Zarr3Node {
        path: path.to_string(),
        metadata: array_doc(
            &meta.shape,
            &chunk_shape,
            data_type,
            fill,
            json!([codec]),
            attrs,
            &dims,
        ),
        chunks,
    })
}

fn coordinate_array(store: &RefStore, path: &str) -> Result<Zarr3Node> {
    let (group, name) = split_path(path);
    let c = store.coordinate(group, name)?;
    let (attrs, dims) = attrs_and_dims(store, path)?;
    let (data_type, fill, bytes) = match &c.values {
        CoordValues::Int(v) => (
            "int64",
            json!(c.fill as i64),
            v.iter()
                .flat_map(|x| x.unwrap_or(c.fill as i64).to_le_bytes())
                .collect::<Vec<u8>>(),
        ),
        CoordValues::Float(v) => (
            "float64",
            float_json(c.fill),
            v.iter()
                .flat_map(|x| x.unwrap_or(c.fill).to_le_bytes())
                .collect(),
        ),
    };
    let chunk_shape: Vec<u64> = c.shape.iter().map(|&n| n.max(1)).collect();
    let chunks = if c.shape.contains(&0) {
        Vec::new()
    } else {
        vec![(vec![0; c.shape.len()], RefValue::Inline(bytes))]
    };
    let codecs = json!([{"name": "bytes", "configuration": {"endian": "little"}}]);
    Ok(Zarr3Node {
        path: path.to_string(),
        metadata: array_doc(
            &c.shape,
            &chunk_shape,
            data_type,
            fill,
            codecs,
            attrs,
            &dims,
        ),
        chunks,
    })
}

fn float_json(x: f64) -> Value {
    if x.is_nan() {
        json!("NaN")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(x)
    }
}

/// The reference set of a Zarr v3 hierarchy written by [`to_zarr3`] (or any
/// hierarchy of plain numeric coordinates and `gik`-coded data arrays).
///
/// # Errors
/// A `zarr.json` that is not JSON or lacks what the references need, a data
/// type or codec gik cannot read.
pub fn from_zarr3(nodes: &[Zarr3Node]) -> Result<RefStore> {
    let mut store = RefStore::new();
    for node in nodes {
        let key = node.metadata_key();
        let doc: Value =
            serde_json::from_slice(&node.metadata).map_err(|source| RefsError::Json {
                what: key.clone(),
                source,
            })?;
        let bad = |reason: &str| RefsError::Metadata {
            key: key.clone(),
            reason: reason.to_string(),
        };
        let attrs = match doc.get("attributes") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(bad("`attributes` is not an object")),
        };
        match doc.get("node_type").and_then(Value::as_str) {
            Some("group") => {
                store.insert(
                    join(&node.path, ".zgroup"),
                    RefValue::Inline(to_ascii_json(&json!({"zarr_format": 2}))),
                );
                store.insert(
                    join(&node.path, ".zattrs"),
                    RefValue::Inline(to_ascii_json(&Value::Object(attrs))),
                );
            }
            Some("array") => put_v2_array(&mut store, node, &doc, attrs).map_err(|r| bad(&r))?,
            _ => return Err(bad("`node_type` is neither `group` nor `array`")),
        }
    }
    Ok(store)
}

fn put_v2_array(
    store: &mut RefStore,
    node: &Zarr3Node,
    doc: &Value,
    mut attrs: Map<String, Value>,
) -> std::result::Result<(), String> {
    let ints = |v: Option<&Value>, what: &str| -> std::result::Result<Vec<u64>, String> {
        v.and_then(Value::as_array)
            .ok_or_else(|| format!("`{what}` missing"))?
            .iter()
            .map(|x| {
                x.as_u64()
                    .ok_or_else(|| format!("`{what}` holds a non-integer"))
            })
            .collect()
    };
    let shape = ints(doc.get("shape"), "shape")?;
    let chunk_shape = ints(
        doc.pointer("/chunk_grid/configuration/chunk_shape"),
        "chunk_grid.configuration.chunk_shape",
    )?;
    if chunk_shape.len() != shape.len() {
        return Err("`chunk_shape` and `shape` differ in length".into());
    }
    let dtype = match doc.get("data_type").and_then(Value::as_str) {
        Some("float64") => "<f8",
        Some("float32") => "<f4",
        Some("int64") => "<i8",
        Some("int32") => "<i4",
        Some("int16") => "<i2",
        Some("int8") => "|i1",
        Some("uint64") => "<u8",
        Some("uint32") => "<u4",
        Some("uint16") => "<u2",
        Some("uint8") => "|u1",
        other => return Err(format!("unsupported data_type {other:?}")),
    };
    let codecs = doc
        .get("codecs")
        .and_then(Value::as_array)
        .ok_or("`codecs` missing")?;
    let filters = match codecs.as_slice() {
        [c] if c.get("name").and_then(Value::as_str) == Some(GIK_CODEC) => {
            let mut f = json!({"id": GIK_CODEC, "dtype": "float64"});
            if let Some(var) = c.pointer("/configuration/var") {
                f["var"] = var.clone();
            }
            json!([f])
        }
        [c] if c.get("name").and_then(Value::as_str) == Some("bytes")
            && c.pointer("/configuration/endian").and_then(Value::as_str) != Some("big") =>
        {
            Value::Null
        }
        _ => return Err("codecs other than `gik` or little-endian `bytes` cannot be read".into()),
    };
    let mut meta = ArrayMeta::plain(shape.clone(), chunk_shape, dtype);
    meta.filters = filters;
    meta.fill_value = doc.get("fill_value").cloned().unwrap_or(Value::Null);
    let dims: Vec<Value> = doc
        .get("dimension_names")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !dims.is_empty() || shape.is_empty() {
        attrs.insert("_ARRAY_DIMENSIONS".into(), Value::Array(dims));
    }
    store.insert(
        join(&node.path, ".zarray"),
        RefValue::Inline(to_ascii_json(&meta.to_value())),
    );
    store.insert(
        join(&node.path, ".zattrs"),
        RefValue::Inline(to_ascii_json(&Value::Object(attrs))),
    );
    let grid = meta.chunk_grid();
    for (idx, v) in &node.chunks {
        let fits = if shape.is_empty() {
            idx.is_empty()
        } else {
            idx.len() == grid.len() && idx.iter().zip(&grid).all(|(i, g)| i < g)
        };
        if !fits {
            return Err(format!("chunk {idx:?} is outside the chunk grid {grid:?}"));
        }
        store.insert(join(&node.path, &meta.chunk_key(idx)), v.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::{build_with, BuildOptions, Codec, ScannedField};

    pub(crate) fn fields() -> Vec<ScannedField> {
        let mut meta = crate::grib::FieldMeta::default();
        (meta.short_name, meta.cf_var_name, meta.name) =
            ("2t".into(), "t2m".into(), "2 metre temperature".into());
        (meta.type_of_level, meta.level, meta.step_type) =
            ("heightAboveGround".into(), 2, "instant".into());
        meta.reference_time.year = 2026;
        meta.reference_time.month = 6;
        meta.reference_time.day = 1;
        meta.grid.grid_type = "regular_ll".into();
        (meta.grid.ni, meta.grid.nj) = (Some(4), Some(3));
        (0..3)
            .map(|n| {
                let mut meta = meta.clone();
                meta.number = Some(n);
                ScannedField {
                    url: "s3://b/f.grib2".into(),
                    offset: n as u64 * 100,
                    length: 100,
                    meta,
                }
            })
            .collect()
    }

    #[test]
    fn round_trip_keeps_variables_axes_and_chunks() {
        let store = build_with(&fields(), &BuildOptions::with_codec(Codec::Grib))
            .unwrap()
            .store;
        let nodes = to_zarr3(&store).unwrap();
        assert_eq!(nodes[0].path, "");
        let t2m = nodes
            .iter()
            .find(|n| n.path == "t2m/instant/heightAboveGround/t2m")
            .unwrap();
        let doc: Value = serde_json::from_slice(&t2m.metadata).unwrap();
        assert_eq!(doc["codecs"][0]["name"], "gik");
        assert_eq!(
            doc["dimension_names"],
            json!(["time", "step", "number", "latitude", "longitude"])
        );
        assert_eq!(t2m.chunks.len(), 3);
        let back = from_zarr3(&nodes).unwrap();
        let (v0, v1) = (
            store.variable(&t2m.path).unwrap(),
            back.variable(&t2m.path).unwrap(),
        );
        assert_eq!(
            (v0.dims.clone(), v0.shape.clone(), v0.attrs.clone()),
            (v1.dims.clone(), v1.shape.clone(), v1.attrs.clone())
        );
        assert_eq!(store.axes(&v0).unwrap(), back.axes(&v1).unwrap());
        for n in 0..3 {
            assert_eq!(
                store.chunk(&v0.path, &[0, 0, n, 0, 0]).unwrap(),
                back.chunk(&v1.path, &[0, 0, n, 0, 0]).unwrap()
            );
        }
        // A second conversion is the identity.
        assert_eq!(to_zarr3(&back).unwrap(), nodes);
    }

    #[test]
    fn bad_metadata_is_an_error() {
        let node = |m: &str| Zarr3Node {
            path: "a".into(),
            metadata: m.as_bytes().to_vec(),
            chunks: vec![],
        };
        assert!(from_zarr3(&[node("{")]).is_err());
        assert!(from_zarr3(&[node(r#"{"node_type":"array","shape":[2]}"#)]).is_err());
        assert!(from_zarr3(&[node(r#"{"node_type":"array","shape":[2],"chunk_grid":{"configuration":{"chunk_shape":[2]}},"data_type":"float64","codecs":[{"name":"zstd"}]}"#)]).is_err());
    }
}
