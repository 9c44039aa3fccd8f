//! Building references in kerchunk `grib_tree`'s hierarchy from scanned fields.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::cf;
use super::store::{RefStore, RefValue};
use super::zarr::{to_ascii_json, ArrayMeta};
use super::{RefsError, Result};
use crate::grib::FieldMeta;

/// One GRIB message located in a file, with its metadata: the input of [`build`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedField {
    /// Where the message is, as it should appear in the references
    /// (`s3://bucket/key.grib2`, `/data/file.grib2`, `https://…`).
    pub url: String,
    /// Byte offset of `GRIB`.
    pub offset: u64,
    /// Length of the whole message.
    pub length: u64,
    /// The message's metadata (of its first field).
    pub meta: FieldMeta,
}

/// The codec data arrays name to decode their chunks (one GRIB message each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Codec {
    /// kerchunk's `grib` codec (numcodecs, decodes with ecCodes): what
    /// kerchunk writes and any Python environment with kerchunk reads, so
    /// the default for users without gik's Python package.
    #[default]
    Grib,
    /// gik's own codec (`{"id": "gik"}`, the `gik` Python package: pure
    /// Rust, Zarr v2 and v3, no ecCodes).
    Gik,
}

impl Codec {
    /// The codec id in the array's `filters` (`grib`, `gik`).
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Grib => "grib",
            Self::Gik => "gik",
        }
    }
}

/// How [`build_with`] writes references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The codec the data arrays name.
    pub codec: Codec,
}

impl BuildOptions {
    /// Options with data arrays naming `codec`.
    #[must_use]
    pub fn with_codec(codec: Codec) -> Self {
        Self { codec }
    }
}

/// A scanned field [`build`] left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The field's url.
    pub url: String,
    /// The field's offset.
    pub offset: u64,
    /// Why it was left out.
    pub reason: String,
}

/// The result of [`build`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Built {
    /// The references.
    pub store: RefStore,
    /// Fields left out (variables kerchunk cannot name: `cfVarName` and
    /// `shortName` both `unknown`), as `grib_tree` drops them.
    pub skipped: Vec<Skipped>,
}

/// cfgrib's `missingValue` attribute (float32 max), written as kerchunk does.
const CFGRIB_MISSING_VALUE: f64 = 3.402_823_466_385_288_6e38;

/// One field placed in its variable.
struct Item<'a> {
    field: &'a ScannedField,
    url: Arc<str>,
    time: i64,
    step: i64,
    level: f64,
    number: Option<i64>,
    valid: i64,
    order: usize,
}

/// Builds kerchunk references for `fields` (one per GRIB message) in
/// `grib_tree`'s hierarchy `{cfVarName}/{stepType}/{typeOfLevel}/{cfVarName}`.
///
/// Within each variable, fields are placed along `time` (reference time),
/// `step`, the level (a dimension when the variable has several levels,
/// otherwise a scalar coordinate) and `number` (a dimension when the variable
/// has several members; see the [module docs](super) for how the 50r1
/// control without `number` becomes member 0). Coordinates are sorted
/// ascending and inlined; `valid_time` (and `number` when it is not a
/// dimension) vary along the concatenated dimensions, as kerchunk's
/// `MultiZarrToZarr` writes them. Latitude and longitude are computed for
/// `regular_ll` grids exactly as ecCodes' iterator does; other grids get no
/// latitude/longitude arrays (Gaussian latitudes and projections are left to
/// the reader), and grids without `Ni`/`Nj` get one `values` dimension.
///
/// # Errors
/// [`RefsError::DuplicateField`] when two fields land on the same chunk,
/// [`RefsError::Inconsistent`] when the fields of one variable have
/// different grids.
pub fn build(fields: &[ScannedField]) -> Result<Built> {
    build_with(fields, &BuildOptions::default())
}

/// [`build`] with options: the codec the data arrays name ([`Codec`]).
///
/// # Errors
/// As [`build`].
pub fn build_with(fields: &[ScannedField], options: &BuildOptions) -> Result<Built> {
    let ensemble = fields.iter().any(|f| f.meta.number.is_some());
    let mut urls: HashMap<&str, Arc<str>> = HashMap::new();
    let mut groups: BTreeMap<Vec<String>, Vec<Item<'_>>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for (order, f) in fields.iter().enumerate() {
        let m = &f.meta;
        let Some(var) = var_name(m) else {
            skipped.push(Skipped {
                url: f.url.clone(),
                offset: f.offset,
                reason: format!(
                    "unknown variable (paramId {}, shortName {:?}): grib_tree drops it",
                    m.param_id, m.short_name
                ),
            });
            continue;
        };
        let mut parts = vec![var.to_string()];
        for p in [&m.step_type, &m.type_of_level] {
            if valid_name(p) {
                parts.push(p.clone());
            }
        }
        let url = urls
            .entry(f.url.as_str())
            .or_insert_with(|| Arc::from(f.url.as_str()))
            .clone();
        let r = &m.reference_time;
        let time = r.epoch_seconds();
        let step = m.end_step;
        let v = &m.validity_time_full;
        let valid = if v.year == 0 && v.month == 0 {
            // Not filled in: reference time + step (hours).
            time + step * 3600
        } else {
            v.epoch_seconds()
        };
        groups.entry(parts).or_default().push(Item {
            field: f,
            url,
            time,
            step,
            level: m.level as f64,
            number: if ensemble {
                Some(m.number.unwrap_or(0))
            } else {
                None
            },
            valid,
            order,
        });
    }
    let mut store = RefStore::new();
    store.insert(".zgroup", inline_json(&json!({"zarr_format": 2})));
    for (parts, items) in &groups {
        // The field whose attributes describe the variable: the earliest
        // time, step and member (the control), then input order, which is
        // the field kerchunk's MultiZarrToZarr takes them from for files
        // given in order.
        let Some(first) = items
            .iter()
            .min_by_key(|it| (it.time, it.step, it.number, it.order))
        else {
            continue;
        };
        build_variable(&mut store, parts, items, &first.field.meta, options.codec)?;
    }
    Ok(Built { store, skipped })
}

/// The variable name kerchunk uses: `cfVarName`, or `shortName` when that is
/// `undef`/`unknown`; `None` when neither names the variable.
fn var_name(m: &FieldMeta) -> Option<&str> {
    let cf = m.cf_var_name.as_str();
    let name = if cf.is_empty() || cf == "undef" || cf == "unknown" {
        m.short_name.as_str()
    } else {
        cf
    };
    valid_name(name).then_some(name)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s != "unknown" && s != "undef" && !s.contains('/')
}

fn inline_json(v: &Value) -> RefValue {
    RefValue::Inline(to_ascii_json(v))
}

fn le_i64(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_f64(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn attrs_with_dims(mut attrs: Map<String, Value>, dims: &[&str]) -> Value {
    attrs.insert("_ARRAY_DIMENSIONS".to_string(), json!(dims));
    Value::Object(attrs)
}

fn put_array(store: &mut RefStore, path: &str, meta: &ArrayMeta, attrs: Value) {
    store.insert(format!("{path}/.zarray"), inline_json(&meta.to_value()));
    store.insert(format!("{path}/.zattrs"), inline_json(&attrs));
}

/// Sorted distinct values and a lookup from value to index.
fn axis_i64(values: impl Iterator<Item = i64>) -> (Vec<i64>, HashMap<i64, u64>) {
    let set: BTreeSet<i64> = values.collect();
    let v: Vec<i64> = set.into_iter().collect();
    let idx = v.iter().enumerate().map(|(i, x)| (*x, i as u64)).collect();
    (v, idx)
}

#[allow(clippy::too_many_lines)]
fn build_variable(
    store: &mut RefStore,
    parts: &[String],
    items: &[Item<'_>],
    first: &FieldMeta,
    codec: Codec,
) -> Result<()> {
    let base = parts.join("/");
    let var = parts[0].as_str();
    check_one_grid(&format!("{base}/{var}"), items, first)?;
    let axes = VarAxes::of(items, first);
    let layout = grid_layout(first);
    write_groups(store, parts, first, &axes, &layout);
    let vpath = format!("{base}/{var}");
    let cnames = axes.chunked_names();
    let mut dims: Vec<&str> = cnames.clone();
    dims.extend(layout.dims.iter().copied());
    let cshape = axes.chunked_shape();
    let mut shape = cshape.clone();
    shape.extend(&layout.shape);
    let mut chunks = vec![1; cshape.len()];
    chunks.extend(&layout.shape);
    let mut data_meta = ArrayMeta::plain(shape, chunks, "<f8");
    data_meta.filters = json!([{"id": codec.id(), "var": var, "dtype": "float64"}]);
    // kerchunk writes `null`, which zarr-python 3 reads as 0.0 for a missing
    // chunk (a member without this field would show 0 K); NaN marks it missing.
    data_meta.fill_value = json!("NaN");
    put_array(
        store,
        &vpath,
        &data_meta,
        attrs_with_dims(data_attrs(first, var), &dims),
    );
    let varying = ArrayMeta::plain(cshape.clone(), vec![1; cshape.len()], "<i8");
    write_chunks(
        store,
        &base,
        &vpath,
        items,
        &axes,
        &varying,
        layout.dims.len(),
    )?;
    write_coordinates(store, &base, &axes, &varying, &layout);
    Ok(())
}

/// Every field of a variable must be on the first one's grid.
fn check_one_grid(path: &str, items: &[Item<'_>], first: &FieldMeta) -> Result<()> {
    for it in items {
        if it.field.meta.grid != first.grid {
            return Err(RefsError::Inconsistent {
                path: path.to_string(),
                reason: format!(
                    "fields have different grids ({}@{} and {}@{})",
                    first_url(items),
                    first_offset(items),
                    it.field.url,
                    it.field.offset
                ),
            });
        }
    }
    Ok(())
}

/// A variable's axes, as its fields give them, with each value's index.
struct VarAxes {
    /// `(stepType, …)`, `(typeOfLevel, …)`: the group filters that have a name.
    present: Vec<(&'static str, String)>,
    level_name: Option<String>,
    times: Vec<i64>,
    time_idx: HashMap<i64, u64>,
    steps: Vec<i64>,
    step_idx: HashMap<i64, u64>,
    levels: Vec<f64>,
    level_idx: HashMap<u64, u64>,
    numbers: Vec<i64>,
    number_idx: HashMap<i64, u64>,
    /// More than one level: a level dimension.
    level_dim: bool,
    /// More than one member: a `number` dimension.
    number_dim: bool,
}

impl VarAxes {
    fn of(items: &[Item<'_>], first: &FieldMeta) -> Self {
        let filters = ["stepType", "typeOfLevel"];
        let values = [&first.step_type, &first.type_of_level];
        let present: Vec<(&'static str, String)> = filters
            .iter()
            .zip(values)
            .filter(|(_, v)| valid_name(v))
            .map(|(f, v)| (*f, v.clone()))
            .collect();
        let has_level = present.iter().any(|(f, _)| *f == "typeOfLevel");
        let (times, time_idx) = axis_i64(items.iter().map(|i| i.time));
        let (steps, step_idx) = axis_i64(items.iter().map(|i| i.step));
        let mut levels: Vec<f64> = items.iter().map(|i| i.level).collect();
        levels.sort_by(f64::total_cmp);
        levels.dedup_by(|a, b| a.to_bits() == b.to_bits());
        let level_idx: HashMap<u64, u64> = levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.to_bits(), i as u64))
            .collect();
        let (numbers, number_idx) = axis_i64(items.iter().filter_map(|i| i.number));
        Self {
            level_name: has_level.then(|| first.type_of_level.clone()),
            level_dim: has_level && levels.len() > 1,
            number_dim: numbers.len() > 1,
            present,
            times,
            time_idx,
            steps,
            step_idx,
            levels,
            level_idx,
            numbers,
            number_idx,
        }
    }

    /// The dimensions before the grid's, with their lengths.
    fn chunked(&self) -> Vec<(&str, u64)> {
        let mut c: Vec<(&str, u64)> = vec![
            ("time", self.times.len() as u64),
            ("step", self.steps.len() as u64),
        ];
        if let (true, Some(l)) = (self.level_dim, self.level_name.as_deref()) {
            c.push((l, self.levels.len() as u64));
        }
        if self.number_dim {
            c.push(("number", self.numbers.len() as u64));
        }
        c
    }

    fn chunked_names(&self) -> Vec<&str> {
        self.chunked().iter().map(|(n, _)| *n).collect()
    }

    fn chunked_shape(&self) -> Vec<u64> {
        self.chunked().iter().map(|(_, n)| *n).collect()
    }

    /// The chunk index of a field along the chunked dimensions.
    fn index(&self, it: &Item<'_>) -> Vec<u64> {
        let mut idx = vec![self.time_idx[&it.time], self.step_idx[&it.step]];
        if self.level_dim {
            idx.push(self.level_idx[&it.level.to_bits()]);
        }
        if self.number_dim {
            if let Some(n) = it.number {
                idx.push(self.number_idx[&n]);
            }
        }
        idx
    }
}

/// The groups down to the variable, with the attributes grib_tree writes.
fn write_groups(
    store: &mut RefStore,
    parts: &[String],
    first: &FieldMeta,
    axes: &VarAxes,
    layout: &Layout,
) {
    // Coordinates list, in the order kerchunk writes it.
    let mut coord_names: Vec<&str> = Vec::new();
    if let Some(l) = axes.level_name.as_deref() {
        coord_names.push(l);
    }
    if layout.lat.is_some() {
        coord_names.push("latitude");
    }
    if layout.lon.is_some() {
        coord_names.push("longitude");
    }
    if !axes.numbers.is_empty() {
        coord_names.push("number");
    }
    coord_names.extend(["step", "time", "valid_time"]);
    for i in 0..parts.len() {
        let prefix = parts[..=i].join("/");
        let mut attrs = Map::new();
        if i == 0 {
            attrs.insert("name".into(), json!(first.name));
        } else if let Some((f, v)) = axes.present.get(i - 1) {
            attrs.insert((*f).to_string(), json!(v));
        }
        if i == parts.len() - 1 {
            attrs.insert("GRIB_edition".into(), json!(2));
            attrs.insert("GRIB_centre".into(), json!(first.centre));
            if let Some(d) = cf::centre_description(&first.centre) {
                attrs.insert("GRIB_centreDescription".into(), json!(d));
                attrs.insert("institution".into(), json!(d));
            }
            attrs.insert("coordinates".into(), json!(coord_names.join(" ")));
        }
        store.insert(
            format!("{prefix}/.zgroup"),
            inline_json(&json!({"zarr_format": 2})),
        );
        store.insert(
            format!("{prefix}/.zattrs"),
            inline_json(&Value::Object(attrs)),
        );
    }
}

/// One reference per field, with its `valid_time` (and `number`) chunks.
fn write_chunks(
    store: &mut RefStore,
    base: &str,
    vpath: &str,
    items: &[Item<'_>],
    axes: &VarAxes,
    varying: &ArrayMeta,
    grid_dims: usize,
) -> Result<()> {
    let grid_zeros = vec!["0"; grid_dims].join(".");
    let mut seen: HashMap<String, &Item<'_>> = HashMap::with_capacity(items.len());
    for it in items {
        let ckey = varying.chunk_key(&axes.index(it));
        let key = format!("{vpath}/{ckey}.{grid_zeros}");
        if let Some(prev) = seen.insert(key.clone(), it) {
            return Err(RefsError::DuplicateField {
                key,
                first: format!("{}@{}", prev.field.url, prev.field.offset),
                second: format!("{}@{}", it.field.url, it.field.offset),
            });
        }
        store.insert(
            key,
            RefValue::Range {
                url: it.url.clone(),
                offset: it.field.offset,
                length: it.field.length,
            },
        );
        store.insert(
            format!("{base}/valid_time/{ckey}"),
            RefValue::Inline(le_i64(&[it.valid])),
        );
        if !axes.number_dim {
            if let Some(n) = it.number {
                store.insert(
                    format!("{base}/number/{ckey}"),
                    RefValue::Inline(le_i64(&[n])),
                );
            }
        }
    }
    Ok(())
}

/// The coordinate arrays: time, step, valid_time, the level, number,
/// latitude and longitude.
fn write_coordinates(
    store: &mut RefStore,
    base: &str,
    axes: &VarAxes,
    varying: &ArrayMeta,
    layout: &Layout,
) {
    let cnames = axes.chunked_names();
    let one_d = |n: usize, dtype: &str| ArrayMeta::plain(vec![n as u64], vec![n as u64], dtype);
    put_array(
        store,
        &format!("{base}/time"),
        &one_d(axes.times.len(), "<i8"),
        attrs_with_dims(cf::coord_attrs("time"), &["time"]),
    );
    store.insert(
        format!("{base}/time/0"),
        RefValue::Inline(le_i64(&axes.times)),
    );
    put_array(
        store,
        &format!("{base}/step"),
        &one_d(axes.steps.len(), "<i8"),
        attrs_with_dims(cf::coord_attrs("step"), &["step"]),
    );
    store.insert(
        format!("{base}/step/0"),
        RefValue::Inline(le_i64(&axes.steps)),
    );
    put_array(
        store,
        &format!("{base}/valid_time"),
        varying,
        attrs_with_dims(cf::coord_attrs("valid_time"), &cnames),
    );
    if let Some(l) = axes.level_name.as_deref() {
        let path = format!("{base}/{l}");
        if axes.level_dim {
            put_array(
                store,
                &path,
                &one_d(axes.levels.len(), "<f8"),
                attrs_with_dims(cf::coord_attrs(l), &[l]),
            );
            store.insert(format!("{path}/0"), RefValue::Inline(le_f64(&axes.levels)));
        } else {
            put_array(
                store,
                &path,
                &ArrayMeta::plain(vec![], vec![], "<f8"),
                attrs_with_dims(cf::coord_attrs(l), &[]),
            );
            store.insert(
                format!("{path}/0"),
                RefValue::Inline(le_f64(&axes.levels[..1])),
            );
        }
    }
    if axes.number_dim {
        let path = format!("{base}/number");
        put_array(
            store,
            &path,
            &one_d(axes.numbers.len(), "<i8"),
            attrs_with_dims(cf::coord_attrs("number"), &["number"]),
        );
        store.insert(format!("{path}/0"), RefValue::Inline(le_i64(&axes.numbers)));
    } else if !axes.numbers.is_empty() {
        put_array(
            store,
            &format!("{base}/number"),
            varying,
            attrs_with_dims(cf::coord_attrs("number"), &cnames),
        );
    }
    for (name, values) in [("latitude", &layout.lat), ("longitude", &layout.lon)] {
        if let Some(v) = values {
            put_array(
                store,
                &format!("{base}/{name}"),
                &one_d(v.len(), "<f8"),
                attrs_with_dims(cf::coord_attrs(name), &[name]),
            );
            store.insert(format!("{base}/{name}/0"), RefValue::Inline(le_f64(v)));
        }
    }
}

/// The data variable's attributes: cfgrib's `GRIB_*` keys that `FieldMeta` carries.
fn data_attrs(m: &FieldMeta, var: &str) -> Map<String, Value> {
    let g = &m.grid;
    let mut a = Map::new();
    let mut put = |k: &str, v: Value| {
        a.insert(k.to_string(), v);
    };
    put("GRIB_paramId", json!(m.param_id));
    if let Some(t) = &m.data_type {
        put("GRIB_dataType", json!(t));
    }
    put("GRIB_numberOfPoints", json!(g.number_of_data_points));
    put("GRIB_typeOfLevel", json!(m.type_of_level));
    put("GRIB_stepUnits", json!(1));
    put("GRIB_stepType", json!(m.step_type));
    put("GRIB_gridType", json!(g.grid_type));
    put("GRIB_shortName", json!(m.short_name));
    put("GRIB_units", json!(m.units));
    put("GRIB_name", json!(m.name));
    let cf_name = cf::cf_name(m.param_id);
    put("GRIB_cfName", json!(cf_name));
    put("GRIB_cfVarName", json!(var));
    put("GRIB_missingValue", json!(CFGRIB_MISSING_VALUE));
    if let Some(d) = cf::grid_description(g.template) {
        put("GRIB_gridDefinitionDescription", json!(d));
    }
    if matches!(g.grid_type.as_str(), "regular_ll" | "regular_gg") {
        let flag = |bit: u8| json!(u8::from(g.scanning_mode & bit != 0));
        let (ni, nj) = if g.grid_type == "regular_ll" {
            ("GRIB_Nx", "GRIB_Ny")
        } else {
            ("GRIB_Ni", "GRIB_Nj")
        };
        if let Some(v) = g.ni {
            put(ni, json!(v));
        }
        if let Some(v) = g.nj {
            put(nj, json!(v));
        }
        for (k, v) in [
            ("GRIB_iDirectionIncrementInDegrees", g.di),
            ("GRIB_longitudeOfFirstGridPointInDegrees", g.lon_first),
            ("GRIB_longitudeOfLastGridPointInDegrees", g.lon_last),
            ("GRIB_latitudeOfFirstGridPointInDegrees", g.lat_first),
            ("GRIB_latitudeOfLastGridPointInDegrees", g.lat_last),
        ] {
            if let Some(v) = v {
                put(k, json!(v));
            }
        }
        if g.grid_type == "regular_ll" {
            if let Some(v) = g.dj {
                put("GRIB_jDirectionIncrementInDegrees", json!(v));
            }
        }
        put("GRIB_iScansNegatively", flag(0x80));
        put("GRIB_jScansPositively", flag(0x40));
        put("GRIB_jPointsAreConsecutive", flag(0x20));
    }
    put("long_name", json!(m.name));
    put("units", json!(m.units));
    put("standard_name", json!(cf_name));
    a
}

fn first_url(items: &[Item<'_>]) -> String {
    items
        .first()
        .map(|i| i.field.url.clone())
        .unwrap_or_default()
}

fn first_offset(items: &[Item<'_>]) -> u64 {
    items.first().map_or(0, |i| i.field.offset)
}

/// How a grid maps to array dimensions, and its coordinate values.
struct Layout {
    dims: Vec<&'static str>,
    shape: Vec<u64>,
    lat: Option<Vec<f64>>,
    lon: Option<Vec<f64>>,
}

/// Grid types cfgrib gives `y`/`x` dimensions (2-D latitude/longitude).
const GRID_TYPES_2D: [&str; 6] = [
    "rotated_gg",
    "lambert_azimuthal_equal_area",
    "polar_stereographic",
    "rotated_ll",
    "lambert",
    "albers",
];

fn grid_layout(m: &FieldMeta) -> Layout {
    let g = &m.grid;
    match (g.ni, g.nj) {
        (Some(ni), Some(nj)) if ni > 0 && nj > 0 => {
            let shape = vec![u64::from(nj), u64::from(ni)];
            if GRID_TYPES_2D.contains(&g.grid_type.as_str()) {
                return Layout {
                    dims: vec!["y", "x"],
                    shape,
                    lat: None,
                    lon: None,
                };
            }
            let (lat, lon) = g
                .lat_lon()
                .map_or((None, None), |(a, b)| (Some(a), Some(b)));
            Layout {
                dims: vec!["latitude", "longitude"],
                shape,
                lat,
                lon,
            }
        }
        _ => Layout {
            dims: vec!["values"],
            shape: vec![g.number_of_data_points],
            lat: None,
            lon: None,
        },
    }
}
