//! Zarr v2 metadata: `.zarray` parsing and writing, chunk keys.

use serde_json::{json, Map, Value};

use super::{RefsError, Result};

/// Largest chunk grid (number of chunks of one array) gik accepts from a
/// reference file: well above any forecast (51 members × 145 steps × 13
/// levels ≈ 96,000), far below what would exhaust memory.
pub(crate) const MAX_CHUNKS: u64 = 100_000_000;

/// The parts of a zarr v2 `.zarray` that references need.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMeta {
    /// Array shape.
    pub shape: Vec<u64>,
    /// Chunk shape.
    pub chunks: Vec<u64>,
    /// Numpy dtype string, e.g. `<f8`, `<i8`.
    pub dtype: String,
    /// `fill_value` as written (`null`, a number or `"NaN"`).
    pub fill_value: Value,
    /// `filters` as written (`null` or a list of codec configurations).
    pub filters: Value,
    /// `compressor` as written.
    pub compressor: Value,
    /// `dimension_separator`: `.` (default) or `/`.
    pub dimension_separator: String,
}

impl ArrayMeta {
    /// An uncompressed, unfiltered array (inline coordinates).
    pub(crate) fn plain(shape: Vec<u64>, chunks: Vec<u64>, dtype: &str) -> Self {
        Self {
            shape,
            chunks,
            dtype: dtype.to_string(),
            fill_value: Value::Null,
            filters: Value::Null,
            compressor: Value::Null,
            dimension_separator: ".".to_string(),
        }
    }

    /// Parses a `.zarray` document; `key` names it in errors.
    ///
    /// # Errors
    /// Invalid JSON, or `shape`/`chunks`/`dtype` missing or of the wrong type.
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes).map_err(|source| RefsError::Json {
            what: key.to_string(),
            source,
        })?;
        let bad = |reason: &str| RefsError::Metadata {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        let obj = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let ints = |name: &str| -> Result<Vec<u64>> {
            match obj.get(name) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_u64()
                            .ok_or_else(|| bad(&format!("`{name}` holds a non-integer")))
                    })
                    .collect(),
                Some(Value::Null) if name == "chunks" => Ok(Vec::new()),
                _ => Err(bad(&format!("`{name}` missing or not a list"))),
            }
        };
        let shape = ints("shape")?;
        let mut chunks = ints("chunks")?;
        if chunks.is_empty() && !shape.is_empty() {
            chunks.clone_from(&shape);
        }
        if chunks.len() != shape.len() {
            return Err(bad("`chunks` and `shape` differ in length"));
        }
        if chunks.iter().zip(&shape).any(|(&c, &s)| c == 0 && s != 0) {
            return Err(bad("a chunk length is 0"));
        }
        let dtype = match obj.get("dtype") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(bad("`dtype` missing or not a string")),
        };
        let dimension_separator = match obj.get("dimension_separator") {
            Some(Value::String(s)) if s == "/" => "/".to_string(),
            _ => ".".to_string(),
        };
        Ok(Self {
            shape,
            chunks,
            dtype,
            fill_value: obj.get("fill_value").cloned().unwrap_or(Value::Null),
            filters: obj.get("filters").cloned().unwrap_or(Value::Null),
            compressor: obj.get("compressor").cloned().unwrap_or(Value::Null),
            dimension_separator,
        })
    }

    /// The `.zarray` JSON value, with the keys kerchunk writes.
    pub(crate) fn to_value(&self) -> Value {
        json!({
            "shape": self.shape,
            "chunks": self.chunks,
            "dtype": self.dtype,
            "fill_value": self.fill_value,
            "order": "C",
            "filters": self.filters,
            "dimension_separator": self.dimension_separator,
            "compressor": self.compressor,
            "zarr_format": 2,
        })
    }

    /// Number of chunks along each dimension (`[1]` for a 0-d array, as fsspec counts it).
    #[must_use]
    pub fn chunk_grid(&self) -> Vec<u64> {
        if self.shape.is_empty() {
            return vec![1];
        }
        self.shape
            .iter()
            .zip(&self.chunks)
            .map(|(&s, &c)| if c == 0 { 0 } else { s.div_ceil(c) })
            .collect()
    }

    /// Total number of chunks, checked against [`MAX_CHUNKS`].
    pub(crate) fn chunk_count(&self, key: &str) -> Result<u64> {
        let mut n: u128 = 1;
        for g in self.chunk_grid() {
            n = n.saturating_mul(u128::from(g));
        }
        if n > u128::from(MAX_CHUNKS) {
            return Err(RefsError::TooLarge {
                what: format!("chunk grid of {key}"),
                count: n,
                limit: MAX_CHUNKS,
            });
        }
        Ok(n as u64)
    }

    /// The chunk key (relative to the array) of chunk `idx`.
    #[must_use]
    pub fn chunk_key(&self, idx: &[u64]) -> String {
        if idx.is_empty() {
            return "0".to_string();
        }
        let parts: Vec<String> = idx.iter().map(u64::to_string).collect();
        parts.join(&self.dimension_separator)
    }

    /// Parses a chunk key (relative to the array) into indices; `None` when
    /// it is not a chunk key of this array or lies outside its grid.
    pub(crate) fn parse_chunk_key(&self, rel: &str) -> Option<Vec<u64>> {
        let idx: Vec<u64> = rel
            .split(self.dimension_separator.as_str())
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<_>>()?;
        let grid = self.chunk_grid();
        if self.shape.is_empty() {
            return (idx == [0]).then(Vec::new);
        }
        if idx.len() != grid.len() || idx.iter().zip(&grid).any(|(i, g)| i >= g) {
            return None;
        }
        Some(idx)
    }
}

/// Whether `key` is zarr metadata (`.zarray`, `.zattrs`, `.zgroup`, `.zmetadata`), as fsspec decides it.
pub(crate) fn is_meta_key(key: &str) -> bool {
    key.starts_with(".z") || key.contains("/.z")
}

/// Row-major index of `idx` in a grid of `sizes` (fsspec's `ravel_multi_index`).
pub(crate) fn ravel(idx: &[u64], sizes: &[u64]) -> u64 {
    let mut val = 0u64;
    let mut mult = 1u64;
    for (i, s) in idx.iter().rev().zip(sizes.iter().rev()) {
        val = val.saturating_add(i.saturating_mul(mult));
        mult = mult.saturating_mul(*s);
    }
    val
}

/// Inverse of [`ravel`].
pub(crate) fn unravel(mut n: u64, sizes: &[u64]) -> Vec<u64> {
    let mut out = vec![0; sizes.len()];
    for (o, s) in out.iter_mut().zip(sizes).rev() {
        if *s == 0 {
            continue;
        }
        *o = n % s;
        n /= s;
    }
    out
}

/// Serialises JSON compactly with every non-ASCII character escaped
/// (`\uXXXX`), as Python's `json`/`ujson` do by default: metadata then stays
/// ASCII, so every format stores it as plain text.
pub(crate) fn to_ascii_json(v: &Value) -> Vec<u8> {
    let s = v.to_string();
    if s.is_ascii() {
        return s.into_bytes();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// Parses a `.zattrs` document into its object; `key` names it in errors.
pub(crate) fn parse_attrs(key: &str, bytes: &[u8]) -> Result<Map<String, Value>> {
    let v: Value = serde_json::from_slice(bytes).map_err(|source| RefsError::Json {
        what: key.to_string(),
        source,
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(RefsError::Metadata {
            key: key.to_string(),
            reason: "not a JSON object".to_string(),
        }),
    }
}

/// `_ARRAY_DIMENSIONS` of an attribute map (empty when absent).
pub(crate) fn array_dims(attrs: &Map<String, Value>) -> Vec<String> {
    attrs
        .get("_ARRAY_DIMENSIONS")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ravel_matches_fsspec() {
        // fsspec: ravel_multi_index([1, 2, 3], [2, 3, 4]) == 1*12 + 2*4 + 3
        assert_eq!(ravel(&[1, 2, 3], &[2, 3, 4]), 23);
        assert_eq!(unravel(23, &[2, 3, 4]), vec![1, 2, 3]);
        assert_eq!(ravel(&[0], &[1]), 0);
    }

    #[test]
    fn ascii_json_escapes_like_python() {
        let v = json!({"units": "°C"});
        assert_eq!(to_ascii_json(&v), br#"{"units":"\u00b0C"}"#.to_vec());
        let back: Value = serde_json::from_slice(&to_ascii_json(&v)).unwrap_or_default();
        assert_eq!(back, v);
    }

    #[test]
    fn zarray_round_trip_and_keys() {
        let m = ArrayMeta::plain(vec![1, 2, 37], vec![1, 1, 37], "<f8");
        let bytes = to_ascii_json(&m.to_value());
        let back = ArrayMeta::parse("x/.zarray", &bytes).expect("parse");
        assert_eq!(back, m);
        assert_eq!(m.chunk_grid(), vec![1, 2, 1]);
        assert_eq!(m.chunk_key(&[0, 1, 0]), "0.1.0");
        assert_eq!(m.parse_chunk_key("0.1.0"), Some(vec![0, 1, 0]));
        assert_eq!(m.parse_chunk_key("0.2.0"), None);
        let scalar = ArrayMeta::plain(vec![], vec![], "<f8");
        assert_eq!(scalar.chunk_grid(), vec![1]);
        assert_eq!(scalar.parse_chunk_key("0"), Some(vec![]));
    }

    #[test]
    fn bad_zarray_is_an_error() {
        assert!(ArrayMeta::parse("k", b"{").is_err());
        assert!(ArrayMeta::parse("k", b"[]").is_err());
        assert!(ArrayMeta::parse("k", br#"{"shape":[2],"chunks":[0],"dtype":"<f8"}"#).is_err());
        assert!(ArrayMeta::parse("k", br#"{"shape":[2],"chunks":[1,1],"dtype":"<f8"}"#).is_err());
        assert!(ArrayMeta::parse("k", br#"{"shape":[-1],"chunks":[1],"dtype":"<f8"}"#).is_err());
    }
}
