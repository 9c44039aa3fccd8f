//! The reference set and the reader API over it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::zarr::{array_dims, parse_attrs, ArrayMeta};
use super::{RefsError, Result};

/// One reference: what a zarr key resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefValue {
    /// The bytes themselves: zarr metadata JSON, coordinate values, or a
    /// small GRIB message kerchunk inlined.
    Inline(Vec<u8>),
    /// `length` bytes at `offset` of `url` (one GRIB message).
    Range {
        url: Arc<str>,
        offset: u64,
        length: u64,
    },
    /// A whole file, `[url]`.
    Whole { url: Arc<str> },
}

impl RefValue {
    /// A byte range.
    #[must_use]
    pub fn range(url: impl Into<Arc<str>>, offset: u64, length: u64) -> Self {
        Self::Range {
            url: url.into(),
            offset,
            length,
        }
    }

    /// The inline bytes, if inline.
    #[must_use]
    pub fn as_inline(&self) -> Option<&[u8]> {
        match self {
            Self::Inline(b) => Some(b),
            _ => None,
        }
    }

    /// The url this reference points into, if it is not inline.
    #[must_use]
    pub fn url(&self) -> Option<&str> {
        match self {
            Self::Inline(_) => None,
            Self::Range { url, .. } | Self::Whole { url } => Some(url),
        }
    }
}

/// A kerchunk reference set: zarr v2 keys to [`RefValue`]s, in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefStore {
    refs: BTreeMap<String, RefValue>,
}

/// A data variable of a reference set: an array that is not a coordinate.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Full array path, e.g. `t/instant/isobaricInhPa/t`.
    pub path: String,
    /// Array name (last path component), e.g. `t`.
    pub name: String,
    /// The group holding it (`""` for the root), e.g. `t/instant/isobaricInhPa`.
    pub group: String,
    /// Dimension names (`_ARRAY_DIMENSIONS`).
    pub dims: Vec<String>,
    /// Array shape.
    pub shape: Vec<u64>,
    /// Chunk shape.
    pub chunks: Vec<u64>,
    /// Numpy dtype string.
    pub dtype: String,
    /// Coordinate arrays present in the same group (sorted).
    pub coords: Vec<String>,
    /// The array's attributes (`.zattrs`, without `_ARRAY_DIMENSIONS`).
    pub attrs: Map<String, Value>,
    /// How many of its chunks have a reference.
    pub chunks_present: u64,
}

/// Decoded values of a coordinate array.
#[derive(Debug, Clone, PartialEq)]
pub enum CoordValues {
    /// Integer values (`time`, `step`, `valid_time`, `number`); `None` where
    /// the chunk is missing.
    Int(Vec<Option<i64>>),
    /// Floating-point values (levels, latitude, longitude); `None` where the
    /// chunk is missing.
    Float(Vec<Option<f64>>),
}

impl CoordValues {
    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::Float(v) => v.len(),
        }
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as integers (floats truncated), present ones only.
    #[must_use]
    pub fn ints(&self) -> Vec<i64> {
        match self {
            Self::Int(v) => v.iter().flatten().copied().collect(),
            Self::Float(v) => v.iter().flatten().map(|x| *x as i64).collect(),
        }
    }

    /// The values as floats, present ones only.
    #[must_use]
    pub fn floats(&self) -> Vec<f64> {
        match self {
            Self::Int(v) => v.iter().flatten().map(|x| *x as f64).collect(),
            Self::Float(v) => v.iter().flatten().copied().collect(),
        }
    }
}

/// A decoded coordinate array.
#[derive(Debug, Clone, PartialEq)]
pub struct Coordinate {
    /// Its name, e.g. `step`.
    pub name: String,
    /// Its dimensions (empty for a scalar).
    pub dims: Vec<String>,
    /// Its shape.
    pub shape: Vec<u64>,
    /// Values in row-major order (`None` where the chunk has no reference).
    pub values: CoordValues,
    /// What zarr reads where a chunk is missing: the `fill_value`, or 0 when
    /// it is `null` (zarr-python's default; kerchunk's `MultiZarrToZarr`
    /// leaves out all-zero coordinate chunks, e.g. `step` `[0]`).
    pub fill: f64,
}

impl Coordinate {
    /// Values with missing chunks read as zarr reads them ([`Coordinate::fill`]).
    #[must_use]
    pub fn filled(&self) -> CoordValues {
        match &self.values {
            CoordValues::Int(v) => CoordValues::Int(
                v.iter()
                    .map(|x| Some(x.unwrap_or(self.fill as i64)))
                    .collect(),
            ),
            CoordValues::Float(v) => {
                CoordValues::Float(v.iter().map(|x| Some(x.unwrap_or(self.fill))).collect())
            }
        }
    }
}

/// The labelled axes of a data variable, decoded from its coordinates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axes {
    /// Forecast reference times, seconds since 1970-01-01 (`time`).
    pub time: Vec<i64>,
    /// Forecast steps in hours (`step`).
    pub step: Vec<i64>,
    /// Level coordinate name and values (`isobaricInhPa`, `[500.0, 850.0]`),
    /// whether a dimension or a scalar.
    pub level: Option<(String, Vec<f64>)>,
    /// Ensemble members (`number`): the dimension's values, or the distinct
    /// values of a scalar/auxiliary `number`; empty when there is none.
    pub number: Vec<i64>,
    /// Whether `number` is a dimension of the variable.
    pub number_is_dim: bool,
    /// Whether the level is a dimension of the variable.
    pub level_is_dim: bool,
}

/// Largest number of values gik decodes from one coordinate.
const MAX_COORD_VALUES: u64 = 50_000_000;

/// Values a coordinate may have beyond those its inline chunks hold (chunks
/// left out read as the fill value): what a few bytes of `.zarray` can make
/// [`RefStore::coordinate`] allocate (16 MiB).
const COORD_VALUES_WITHOUT_DATA: u64 = 1 << 20;

impl Variable {
    /// A string attribute (`GRIB_shortName`, `units`, …); empty when absent.
    #[must_use]
    pub fn attr(&self, key: &str) -> &str {
        self.attrs
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }

    /// `long_name`, or `GRIB_name` when it has none.
    #[must_use]
    pub fn long_name(&self) -> &str {
        Some(self.attr("long_name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.attr("GRIB_name"))
    }

    /// `units`, or `GRIB_units` when it has none.
    #[must_use]
    pub fn units(&self) -> &str {
        Some(self.attr("units"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.attr("GRIB_units"))
    }
}

impl RefStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of references.
    #[must_use]
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// Whether there are no references.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// The reference of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&RefValue> {
        self.refs.get(key)
    }

    /// Whether `key` has a reference.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.refs.contains_key(key)
    }

    /// Sets the reference of `key`, returning the previous one.
    pub fn insert(&mut self, key: impl Into<String>, value: RefValue) -> Option<RefValue> {
        self.refs.insert(key.into(), value)
    }

    /// Removes the reference of `key`.
    pub fn remove(&mut self, key: &str) -> Option<RefValue> {
        self.refs.remove(key)
    }

    /// All references in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RefValue)> {
        self.refs.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// All keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.refs.keys().map(String::as_str)
    }

    /// Keeps only the references for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &RefValue) -> bool) {
        self.refs.retain(|k, v| keep(k, v));
    }

    /// Inline bytes of a metadata key, or `None` when absent.
    fn meta_bytes(&self, key: &str) -> Result<Option<&[u8]>> {
        match self.refs.get(key) {
            None => Ok(None),
            Some(RefValue::Inline(b)) => Ok(Some(b)),
            Some(_) => Err(RefsError::Metadata {
                key: key.to_string(),
                reason: "zarr metadata must be inline, not a byte range".to_string(),
            }),
        }
    }

    /// The `.zarray` of the array at `path`.
    ///
    /// # Errors
    /// No such array, or malformed metadata.
    pub fn array_meta(&self, path: &str) -> Result<ArrayMeta> {
        let key = join(path, ".zarray");
        let bytes = self
            .meta_bytes(&key)?
            .ok_or_else(|| RefsError::UnknownArray {
                path: path.to_string(),
            })?;
        ArrayMeta::parse(&key, bytes)
    }

    /// The attributes (`.zattrs`) of the array or group at `path` (empty when absent).
    ///
    /// # Errors
    /// Malformed metadata.
    pub fn attrs(&self, path: &str) -> Result<Map<String, Value>> {
        let key = join(path, ".zattrs");
        match self.meta_bytes(&key)? {
            None => Ok(Map::new()),
            Some(b) => parse_attrs(&key, b),
        }
    }

    /// The references whose keys start with `prefix`, in key order.
    pub(crate) fn prefixed<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a RefValue)> + 'a {
        self.refs
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Paths of every array (every key ending in `.zarray`), in order.
    pub fn arrays(&self) -> impl Iterator<Item = &str> {
        self.refs.keys().filter_map(|k| {
            if k == ".zarray" {
                Some("")
            } else {
                k.strip_suffix("/.zarray")
            }
        })
    }

    /// The data variables: arrays that are neither named in their group's
    /// `coordinates` attribute nor a dimension coordinate (an array named
    /// after one of its own dimensions), nor a coordinate cfgrib writes
    /// (`latitude`, `longitude`, `time`, `step`, `valid_time`, `number`).
    ///
    /// # Errors
    /// Malformed metadata.
    pub fn variables(&self) -> Result<Vec<Variable>> {
        let arrays: Vec<String> = self.arrays().map(str::to_string).collect();
        let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in &arrays {
            let (g, n) = split_path(a);
            by_group
                .entry(g.to_string())
                .or_default()
                .push(n.to_string());
        }
        let mut out = Vec::new();
        for (group, names) in &by_group {
            let gattrs = self.attrs(group)?;
            let mut coords: BTreeSet<String> = gattrs
                .get("coordinates")
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let mut dims_of = BTreeMap::new();
            for n in names {
                let path = join(group, n);
                let attrs = self.attrs(&path)?;
                let dims = array_dims(&attrs);
                if dims.len() == 1 && dims[0] == *n {
                    coords.insert(n.clone());
                }
                if matches!(
                    n.as_str(),
                    "latitude" | "longitude" | "time" | "step" | "valid_time" | "number"
                ) {
                    coords.insert(n.clone());
                }
                dims_of.insert(n.clone(), (dims, attrs));
            }
            let present: Vec<String> = names
                .iter()
                .filter(|n| coords.contains(*n))
                .cloned()
                .collect();
            for n in names {
                if coords.contains(n) {
                    continue;
                }
                let path = join(group, n);
                let meta = self.array_meta(&path)?;
                let (dims, mut attrs) = dims_of.remove(n).unwrap_or_default();
                attrs.remove("_ARRAY_DIMENSIONS");
                let prefix = format!("{path}/");
                let chunks_present = self
                    .refs
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter(|(k, _)| meta.parse_chunk_key(&k[prefix.len()..]).is_some())
                    .count() as u64;
                out.push(Variable {
                    path,
                    name: n.clone(),
                    group: group.clone(),
                    dims,
                    shape: meta.shape,
                    chunks: meta.chunks,
                    dtype: meta.dtype,
                    coords: present.clone(),
                    attrs,
                    chunks_present,
                });
            }
        }
        Ok(out)
    }

    /// The variable named `name`: an array path, or a name or `GRIB_shortName`
    /// when only one variable has it.
    ///
    /// # Errors
    /// [`RefsError::UnknownVariable`], [`RefsError::AmbiguousVariable`], or
    /// malformed metadata.
    pub fn find_variable(&self, name: &str) -> Result<Variable> {
        let vars = self.variables()?;
        let paths = |vs: &[&Variable]| {
            vs.iter()
                .map(|v| v.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(v) = vars.iter().find(|v| v.path == name) {
            return Ok(v.clone());
        }
        let hits: Vec<&Variable> = vars
            .iter()
            .filter(|v| v.name == name || v.attr("GRIB_shortName") == name)
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(RefsError::UnknownVariable {
                name: name.to_string(),
                available: paths(&vars.iter().collect::<Vec<_>>()),
            }),
            many => Err(RefsError::AmbiguousVariable {
                name: name.to_string(),
                candidates: paths(many),
            }),
        }
    }

    /// The `latitude` and `longitude` coordinate values of `var`, where it has them.
    #[must_use]
    pub fn lat_lon(&self, var: &Variable) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        let coord = |name: &str| {
            var.coords
                .iter()
                .any(|c| c == name)
                .then(|| self.coordinate(&var.group, name).ok())
                .flatten()
                .map(|c| c.filled().floats())
        };
        (coord("latitude"), coord("longitude"))
    }

    /// The data variable at `path`.
    ///
    /// # Errors
    /// No such variable, or malformed metadata.
    pub fn variable(&self, path: &str) -> Result<Variable> {
        self.variables()?
            .into_iter()
            .find(|v| v.path == path)
            .ok_or_else(|| RefsError::UnknownArray {
                path: path.to_string(),
            })
    }

    /// The reference of one chunk of the array at `path`, by chunk index
    /// (one index per dimension; `&[]` for a 0-d array). `Ok(None)` when the
    /// chunk has no reference (zarr reads it as the fill value).
    ///
    /// # Errors
    /// No such array, malformed metadata, or an index outside the chunk grid.
    pub fn chunk(&self, path: &str, index: &[u64]) -> Result<Option<&RefValue>> {
        let meta = self.array_meta(path)?;
        let grid = meta.chunk_grid();
        let key = join(path, &meta.chunk_key(index));
        let fits = if meta.shape.is_empty() {
            index.is_empty() || index == [0]
        } else {
            index.len() == grid.len() && index.iter().zip(&grid).all(|(i, g)| i < g)
        };
        if !fits {
            return Err(RefsError::ChunkOutOfRange { key, grid });
        }
        Ok(self.refs.get(&key))
    }

    /// Decodes the inline coordinate array `name` of `group`.
    ///
    /// # Errors
    /// No such array, an unsupported dtype or compressor, or a chunk that is
    /// a byte range (not inline).
    pub fn coordinate(&self, group: &str, name: &str) -> Result<Coordinate> {
        let path = join(group, name);
        let meta = self.array_meta(&path)?;
        let dims = array_dims(&self.attrs(&path)?);
        let zkey = join(&path, ".zarray");
        let dt = coordinate_dtype(&meta, &zkey)?;
        let total = self.coordinate_len(&path, &meta, &dt)?;
        let values = self.coordinate_values(&path, &meta, &dt, &zkey, total)?;
        let fill = fill_value(&meta.fill_value);
        Ok(Coordinate {
            name: name.to_string(),
            dims,
            shape: meta.shape,
            values,
            fill,
        })
    }

    /// The number of values of coordinate `path`, bounded by the input: as
    /// many values as its inline chunks hold (plus a few for chunks left
    /// out), so a 100-byte `.zarray` cannot make the caller allocate a gigabyte.
    fn coordinate_len(&self, path: &str, meta: &ArrayMeta, dt: &Dtype) -> Result<usize> {
        let total: u128 = meta
            .shape
            .iter()
            .map(|&n| u128::from(n))
            .fold(1, u128::saturating_mul);
        let prefix = format!("{path}/");
        let inline: u64 = self
            .refs
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].starts_with('.'))
            .filter_map(|(_, v)| v.as_inline())
            .map(|b| b.len() as u64)
            .sum();
        let limit = (inline / dt.size as u64)
            .saturating_add(COORD_VALUES_WITHOUT_DATA)
            .min(MAX_COORD_VALUES);
        if total > u128::from(limit) {
            return Err(RefsError::TooLarge {
                what: format!("coordinate {path} (its chunks hold {inline} bytes)"),
                count: total,
                limit,
            });
        }
        // (at most MAX_COORD_VALUES)
        Ok(total as usize)
    }

    /// Decodes the `total` values of coordinate `path` from its inline chunks
    /// (`None` where no chunk has them): floats for a float `dt`, else integers.
    fn coordinate_values(
        &self,
        path: &str,
        meta: &ArrayMeta,
        dt: &Dtype,
        zkey: &str,
        total: usize,
    ) -> Result<CoordValues> {
        let mut ints: Vec<Option<i64>> = Vec::new();
        let mut floats: Vec<Option<f64>> = Vec::new();
        if dt.float {
            floats = vec![None; total];
        } else {
            ints = vec![None; total];
        }
        let grid = meta.chunk_grid();
        let nchunks = meta.chunk_count(zkey)?;
        let chunk_shape: Vec<u64> = if meta.shape.is_empty() {
            vec![1]
        } else {
            meta.chunks.clone()
        };
        let shape: Vec<u64> = if meta.shape.is_empty() {
            vec![1]
        } else {
            meta.shape.clone()
        };
        let chunk_len: u64 = chunk_shape.iter().fold(1, |a, &c| a.saturating_mul(c));
        for n in 0..nchunks {
            let idx = super::zarr::unravel(n, &grid);
            let key = join(
                path,
                &meta.chunk_key(if meta.shape.is_empty() { &[] } else { &idx }),
            );
            let bytes = match self.refs.get(&key) {
                None => continue,
                Some(RefValue::Inline(b)) => b,
                Some(RefValue::Range { url, .. } | RefValue::Whole { url }) => {
                    return Err(RefsError::NotInline {
                        key,
                        url: url.to_string(),
                    })
                }
            };
            if (bytes.len() as u64) < chunk_len.saturating_mul(dt.size as u64) {
                return Err(RefsError::Metadata {
                    key,
                    reason: format!(
                        "chunk holds {} bytes, {} {} values need {}",
                        bytes.len(),
                        chunk_len,
                        meta.dtype,
                        chunk_len.saturating_mul(dt.size as u64)
                    ),
                });
            }
            // Place every element of the chunk at its position in the array.
            for (e, item) in bytes
                .chunks_exact(dt.size)
                .take(chunk_len as usize)
                .enumerate()
            {
                let local = super::zarr::unravel(e as u64, &chunk_shape);
                let mut pos = 0u64;
                let mut inside = true;
                for d in 0..shape.len() {
                    let g = idx[d] * chunk_shape[d] + local[d];
                    if g >= shape[d] {
                        inside = false;
                        break;
                    }
                    pos = pos * shape[d] + g;
                }
                if !inside {
                    continue;
                }
                let pos = pos as usize;
                if dt.float {
                    floats[pos] = Some(dt.float_value(item));
                } else {
                    ints[pos] = Some(dt.int_value(item));
                }
            }
        }
        Ok(if dt.float {
            CoordValues::Float(floats)
        } else {
            CoordValues::Int(ints)
        })
    }

    /// The labelled axes of `var`: reference times, steps, level and members,
    /// decoded from the coordinates of its group.
    ///
    /// # Errors
    /// As [`RefStore::coordinate`].
    pub fn axes(&self, var: &Variable) -> Result<Axes> {
        let has = |n: &str| self.contains_key(&join(&join(&var.group, n), ".zarray"));
        let mut axes = Axes::default();
        if has("time") {
            axes.time = self.coordinate(&var.group, "time")?.filled().ints();
        }
        if has("step") {
            axes.step = self.coordinate(&var.group, "step")?.filled().ints();
        }
        if has("number") {
            let c = self.coordinate(&var.group, "number")?;
            axes.number_is_dim = var.dims.iter().any(|d| d == "number");
            let mut v = if axes.number_is_dim {
                c.filled().ints()
            } else {
                c.values.ints()
            };
            if !axes.number_is_dim {
                v.sort_unstable();
                v.dedup();
            }
            axes.number = v;
        }
        let level_name = var
            .attrs
            .get("GRIB_typeOfLevel")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                self.attrs(&var.group).ok().and_then(|a| {
                    a.get("typeOfLevel")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
            });
        if let Some(l) = level_name {
            if has(&l) {
                let c = self.coordinate(&var.group, &l)?;
                axes.level_is_dim = var.dims.contains(&l);
                axes.level = Some((l, c.filled().floats()));
            }
        }
        Ok(axes)
    }

    /// Chunks stored as byte ranges shorter than `max_length` bytes: the
    /// candidates for inlining (kerchunk's `MultiZarrToZarr` inlines chunks
    /// under 500 bytes). Returns `(key, url, offset, length)`.
    #[must_use]
    pub fn small_ranges(&self, max_length: u64) -> Vec<(String, Arc<str>, u64, u64)> {
        self.refs
            .iter()
            .filter_map(|(k, v)| match v {
                RefValue::Range {
                    url,
                    offset,
                    length,
                } if *length < max_length => Some((k.clone(), url.clone(), *offset, *length)),
                _ => None,
            })
            .collect()
    }

    /// Replaces the reference of `key` by its bytes.
    pub fn set_inline(&mut self, key: &str, bytes: Vec<u8>) {
        if let Some(v) = self.refs.get_mut(key) {
            *v = RefValue::Inline(bytes);
        }
    }

    /// Every distinct url referenced, in order.
    #[must_use]
    pub fn urls(&self) -> Vec<Arc<str>> {
        let set: BTreeSet<Arc<str>> = self
            .refs
            .values()
            .filter_map(|v| match v {
                RefValue::Range { url, .. } | RefValue::Whole { url } => Some(url.clone()),
                RefValue::Inline(_) => None,
            })
            .collect();
        set.into_iter().collect()
    }
}

impl FromIterator<(String, RefValue)> for RefStore {
    fn from_iter<I: IntoIterator<Item = (String, RefValue)>>(iter: I) -> Self {
        Self {
            refs: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for RefStore {
    type Item = (String, RefValue);
    type IntoIter = std::collections::btree_map::IntoIter<String, RefValue>;
    fn into_iter(self) -> Self::IntoIter {
        self.refs.into_iter()
    }
}

/// `group/name`, or `name` at the root.
pub(crate) fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// `(group, name)` of a path.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The dtype of the coordinate whose `.zarray` (at `zkey`) is `meta`: a plain
/// numeric one, without compressor or filters.
fn coordinate_dtype(meta: &ArrayMeta, zkey: &str) -> Result<Dtype> {
    if !meta.compressor.is_null()
        || !(meta.filters.is_null() || meta.filters == Value::Array(vec![]))
    {
        return Err(RefsError::Metadata {
            key: zkey.to_string(),
            reason: "coordinates with a compressor or filters cannot be decoded here".to_string(),
        });
    }
    Dtype::parse(&meta.dtype).ok_or_else(|| RefsError::Metadata {
        key: zkey.to_string(),
        reason: format!("unsupported coordinate dtype {}", meta.dtype),
    })
}

/// A coordinate's zarr `fill_value` as a float (`NaN` and the infinities as
/// zarr writes them; anything else 0).
fn fill_value(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        _ => 0.0,
    }
}
/// A numpy dtype string of a plain numeric type.
struct Dtype {
    float: bool,
    signed: bool,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 3 {
            return None;
        }
        let big_endian = match b[0] {
            b'<' | b'|' | b'=' => false,
            b'>' => true,
            _ => return None,
        };
        let size: usize = s[2..].parse().ok()?;
        let (float, signed) = match b[1] {
            b'f' => (true, true),
            b'i' => (false, true),
            b'u' => (false, false),
            _ => return None,
        };
        let ok = if float {
            matches!(size, 4 | 8)
        } else {
            matches!(size, 1 | 2 | 4 | 8)
        };
        ok.then_some(Self {
            float,
            signed,
            size,
            big_endian,
        })
    }

    fn raw(&self, item: &[u8]) -> u64 {
        let mut v = 0u64;
        if self.big_endian {
            for &x in item {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in item.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        v
    }

    fn int_value(&self, item: &[u8]) -> i64 {
        let raw = self.raw(item);
        let bits = self.size * 8;
        if self.signed && bits < 64 {
            let shift = 64 - bits;
            ((raw << shift) as i64) >> shift
        } else {
            raw as i64
        }
    }

    fn float_value(&self, item: &[u8]) -> f64 {
        let raw = self.raw(item);
        if self.size == 4 {
            f64::from(f32::from_bits(raw as u32))
        } else {
            f64::from_bits(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(s: &str) -> RefValue {
        RefValue::Inline(s.as_bytes().to_vec())
    }

    fn i64s(v: &[i64]) -> RefValue {
        RefValue::Inline(v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    #[test]
    fn coordinate_from_single_and_many_chunks() {
        let mut s = RefStore::new();
        s.insert("g/step/.zarray", inline(r#"{"shape":[2],"chunks":[2],"dtype":"<i8","fill_value":null,"compressor":null,"filters":null}"#));
        s.insert(
            "g/step/.zattrs",
            inline(r#"{"_ARRAY_DIMENSIONS":["step"]}"#),
        );
        s.insert("g/step/0", i64s(&[0, 6]));
        s.insert("g/vt/.zarray", inline(r#"{"shape":[1,2],"chunks":[1,1],"dtype":"<i8","fill_value":null,"compressor":null,"filters":null}"#));
        s.insert("g/vt/0.1", i64s(&[7]));
        let c = s.coordinate("g", "step").expect("step");
        assert_eq!(c.values, CoordValues::Int(vec![Some(0), Some(6)]));
        assert_eq!(c.dims, vec!["step"]);
        let c = s.coordinate("g", "vt").expect("vt");
        assert_eq!(c.values, CoordValues::Int(vec![None, Some(7)]));
        // A short chunk is an error, not a panic.
        s.insert("g/step/0", i64s(&[0]));
        assert!(s.coordinate("g", "step").is_err());
        // A range chunk cannot be decoded.
        s.insert("g/step/0", RefValue::range("f", 0, 16));
        assert!(matches!(
            s.coordinate("g", "step"),
            Err(RefsError::NotInline { .. })
        ));
    }

    #[test]
    fn dtypes() {
        let d = Dtype::parse("<i4").expect("i4");
        assert_eq!(d.int_value(&(-5i32).to_le_bytes()), -5);
        let d = Dtype::parse(">f8").expect("f8");
        assert_eq!(d.float_value(&2.5f64.to_be_bytes()), 2.5);
        assert!(Dtype::parse("<c16").is_none());
        assert!(Dtype::parse("x").is_none());
    }
}
