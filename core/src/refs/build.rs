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
        build_variable(&mut store, parts, items, &first.field.meta)?;
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
) -> Result<()> {
    let base = parts.join("/");
    let var = parts[0].as_str();
    let grid = &first.grid;
    for it in items {
        if it.field.meta.grid != *grid {
            return Err(RefsError::Inconsistent {
                path: format!("{base}/{var}"),
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

    // Group attributes, as grib_tree writes them.
    let filters = ["stepType", "typeOfLevel"];
    let values = [&first.step_type, &first.type_of_level];
    let present: Vec<(&str, &String)> = filters
        .iter()
        .zip(values)
        .filter(|(_, v)| valid_name(v))
        .map(|(f, v)| (*f, v))
        .collect();
    let has_level = present.iter().any(|(f, _)| *f == "typeOfLevel");
    let level_name = has_level.then(|| first.type_of_level.clone());

    // Axes.
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
    let level_dim = has_level && levels.len() > 1;
    let number_dim = numbers.len() > 1;

    let mut cdims: Vec<(&str, u64)> =
        vec![("time", times.len() as u64), ("step", steps.len() as u64)];
    if let (true, Some(l)) = (level_dim, level_name.as_deref()) {
        cdims.push((l, levels.len() as u64));
    }
    if number_dim {
        cdims.push(("number", numbers.len() as u64));
    }
    let layout = grid_layout(first);

    // Coordinates list, in the order kerchunk writes it.
    let mut coord_names: Vec<&str> = Vec::new();
    if let Some(l) = level_name.as_deref() {
        coord_names.push(l);
    }
    if layout.lat.is_some() {
        coord_names.push("latitude");
    }
    if layout.lon.is_some() {
        coord_names.push("longitude");
    }
    if !numbers.is_empty() {
        coord_names.push("number");
    }
    coord_names.extend(["step", "time", "valid_time"]);

    for i in 0..parts.len() {
        let prefix = parts[..=i].join("/");
        let mut attrs = Map::new();
        if i == 0 {
            attrs.insert("name".into(), json!(first.name));
        } else if let Some((f, v)) = present.get(i - 1) {
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

    // The data variable.
    let cnames: Vec<&str> = cdims.iter().map(|(n, _)| *n).collect();
    let mut dims: Vec<&str> = cnames.clone();
    dims.extend(layout.dims.iter().copied());
    let mut shape: Vec<u64> = cdims.iter().map(|(_, n)| *n).collect();
    shape.extend(&layout.shape);
    let mut chunks = vec![1; cdims.len()];
    chunks.extend(&layout.shape);
    let mut data_meta = ArrayMeta::plain(shape, chunks, "<f8");
    data_meta.filters = json!([{"id": "grib", "var": var, "dtype": "float64"}]);
    // kerchunk writes `null`, which zarr-python 3 reads as 0.0 for a missing
    // chunk (a member without this field would show 0 K); NaN marks it missing.
    data_meta.fill_value = json!("NaN");
    let vpath = format!("{base}/{var}");
    put_array(
        store,
        &vpath,
        &data_meta,
        attrs_with_dims(data_attrs(first, var), &dims),
    );

    let cshape: Vec<u64> = cdims.iter().map(|(_, n)| *n).collect();
    let varying = ArrayMeta::plain(cshape.clone(), vec![1; cshape.len()], "<i8");
    let grid_zeros = vec!["0"; layout.dims.len()].join(".");
    let mut seen: HashMap<String, &Item<'_>> = HashMap::with_capacity(items.len());
    for it in items {
        let mut idx = vec![time_idx[&it.time], step_idx[&it.step]];
        if level_dim {
            idx.push(level_idx[&it.level.to_bits()]);
        }
        if number_dim {
            if let Some(n) = it.number {
                idx.push(number_idx[&n]);
            }
        }
        let ckey = varying.chunk_key(&idx);
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
        if !number_dim {
            if let Some(n) = it.number {
                store.insert(
                    format!("{base}/number/{ckey}"),
                    RefValue::Inline(le_i64(&[n])),
                );
            }
        }
    }

    // Coordinates.
    let one_d = |n: usize, dtype: &str| ArrayMeta::plain(vec![n as u64], vec![n as u64], dtype);
    put_array(
        store,
        &format!("{base}/time"),
        &one_d(times.len(), "<i8"),
        attrs_with_dims(cf::coord_attrs("time"), &["time"]),
    );
    store.insert(format!("{base}/time/0"), RefValue::Inline(le_i64(&times)));
    put_array(
        store,
        &format!("{base}/step"),
        &one_d(steps.len(), "<i8"),
        attrs_with_dims(cf::coord_attrs("step"), &["step"]),
    );
    store.insert(format!("{base}/step/0"), RefValue::Inline(le_i64(&steps)));
    put_array(
        store,
        &format!("{base}/valid_time"),
        &varying,
        attrs_with_dims(cf::coord_attrs("valid_time"), &cnames),
    );
    if let Some(l) = level_name.as_deref() {
        let path = format!("{base}/{l}");
        if level_dim {
            put_array(
                store,
                &path,
                &one_d(levels.len(), "<f8"),
                attrs_with_dims(cf::coord_attrs(l), &[l]),
            );
            store.insert(format!("{path}/0"), RefValue::Inline(le_f64(&levels)));
        } else {
            put_array(
                store,
                &path,
                &ArrayMeta::plain(vec![], vec![], "<f8"),
                attrs_with_dims(cf::coord_attrs(l), &[]),
            );
            store.insert(format!("{path}/0"), RefValue::Inline(le_f64(&levels[..1])));
        }
    }
    if number_dim {
        let path = format!("{base}/number");
        put_array(
            store,
            &path,
            &one_d(numbers.len(), "<i8"),
            attrs_with_dims(cf::coord_attrs("number"), &["number"]),
        );
        store.insert(format!("{path}/0"), RefValue::Inline(le_i64(&numbers)));
    } else if !numbers.is_empty() {
        put_array(
            store,
            &format!("{base}/number"),
            &varying,
            attrs_with_dims(cf::coord_attrs("number"), &cnames),
        );
    }
    if let Some(lat) = &layout.lat {
        put_array(
            store,
            &format!("{base}/latitude"),
            &one_d(lat.len(), "<f8"),
            attrs_with_dims(cf::coord_attrs("latitude"), &["latitude"]),
        );
        store.insert(format!("{base}/latitude/0"), RefValue::Inline(le_f64(lat)));
    }
    if let Some(lon) = &layout.lon {
        put_array(
            store,
            &format!("{base}/longitude"),
            &one_d(lon.len(), "<f8"),
            attrs_with_dims(cf::coord_attrs("longitude"), &["longitude"]),
        );
        store.insert(format!("{base}/longitude/0"), RefValue::Inline(le_f64(lon)));
    }
    Ok(())
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
