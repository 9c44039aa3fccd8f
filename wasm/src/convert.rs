//! Core values → JS objects. Each object the package hands out is a Rust
//! type serialised with `serde-wasm-bindgen`; its TypeScript declaration is
//! generated from the same type by `tsify`. Typed arrays pass through as
//! they are (`serde_wasm_bindgen::preserve`), absent values are `null`.

use gik_core::grib::FieldMeta;
use gik_core::refs::{Axes, Variable};
use gik_core::stats::Summary;
use js_sys::{Float32Array, Float64Array};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::JsValue;

use crate::error::{Error, Result};

/// `value` as a JS value (plain objects, `null` for absent values).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue> {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value
        .serialize(&ser)
        .map_err(|e| Error::Options(format!("cannot convert to JavaScript: {e}")))
}

/// A data variable of the references.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct VariableInfo {
    /// Array path, e.g. "t/instant/isobaricInhPa/t".
    pub path: String,
    pub name: String,
    pub short_name: String,
    pub long_name: String,
    pub units: String,
    pub type_of_level: String,
    pub step_type: String,
    pub grid_type: String,
    pub dims: Vec<String>,
    pub shape: Vec<u64>,
    /// Level coordinate name ("isobaricInhPa") or null.
    pub level_name: Option<String>,
    pub levels: Vec<f64>,
    /// Forecast steps, hours.
    pub steps: Vec<f64>,
    /// Forecast reference times, seconds since 1970.
    pub times: Vec<f64>,
    /// Ensemble members (control = 0); empty for a deterministic forecast.
    pub members: Vec<f64>,
}

impl VariableInfo {
    pub fn new(v: &Variable, axes: &Axes) -> Self {
        Self {
            path: v.path.clone(),
            name: v.name.clone(),
            short_name: v.attr("GRIB_shortName").to_string(),
            long_name: v.long_name().to_string(),
            units: v.units().to_string(),
            type_of_level: v.attr("GRIB_typeOfLevel").to_string(),
            step_type: v.attr("GRIB_stepType").to_string(),
            grid_type: v.attr("GRIB_gridType").to_string(),
            dims: v.dims.clone(),
            shape: v.shape.clone(),
            level_name: axes.level.as_ref().map(|(n, _)| n.clone()),
            levels: axes.level.as_ref().map_or(Vec::new(), |(_, l)| l.clone()),
            steps: numbers(&axes.step),
            times: numbers(&axes.time),
            members: numbers(&axes.number),
        }
    }
}

/// Integers as JS numbers. References may hold any 64-bit value (a
/// corrupt time axis, say); JS gets the nearest number, as for every
/// integer the package hands out, rather than an error.
pub fn numbers(v: &[i64]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// `Some(array)` as a typed array, `None` as `null`.
fn f64s(v: Option<&[f64]>) -> JsValue {
    v.map_or(JsValue::NULL, |v| Float64Array::from(v).into())
}

/// The coordinates of a variable.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct Coords {
    pub dims: Vec<String>,
    pub time: Vec<f64>,
    pub step: Vec<f64>,
    pub level_name: Option<String>,
    pub levels: Vec<f64>,
    pub number: Vec<f64>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub latitude: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub longitude: JsValue,
}

impl Coords {
    pub fn new(var: &Variable, axes: &Axes, lat: Option<&[f64]>, lon: Option<&[f64]>) -> Self {
        Self {
            dims: var.dims.clone(),
            time: numbers(&axes.time),
            step: numbers(&axes.step),
            level_name: axes.level.as_ref().map(|(n, _)| n.clone()),
            levels: axes.level.as_ref().map_or(Vec::new(), |(_, l)| l.clone()),
            number: numbers(&axes.number),
            latitude: f64s(lat),
            longitude: f64s(lon),
        }
    }
}

/// A decoded field's values, shape, axes (when the grid is regular and they
/// fit), statistics and names: what `FieldData` and `DecodedField` share.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct FieldValues {
    /// Values in GRIB order (row-major, `shape`); NaN where missing.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float32Array")]
    pub values: Float32Array,
    /// [nlat, nlon] for a regular grid, [npoints] otherwise.
    pub shape: Vec<u64>,
    /// Latitude of each row (null when the grid is not regular).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub latitudes: JsValue,
    /// Longitude of each column (null when the grid is not regular).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub longitudes: JsValue,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Number of missing (NaN) points.
    pub missing: u32,
    pub units: String,
    /// Long name, e.g. "2 metre temperature".
    pub name: String,
    pub short_name: String,
    pub grid_type: String,
    pub packing_type: String,
}

impl FieldValues {
    pub fn new(
        meta: &FieldMeta,
        values: &[f32],
        lats: Option<Vec<f64>>,
        lons: Option<Vec<f64>>,
    ) -> Self {
        let regular =
            matches!((&lats, &lons), (Some(a), Some(b)) if a.len() * b.len() == values.len());
        let shape = match (&lats, &lons) {
            (Some(a), Some(b)) if regular => vec![a.len() as u64, b.len() as u64],
            _ => vec![values.len() as u64],
        };
        let s = Summary::of(values);
        Self {
            values: Float32Array::from(values),
            shape,
            latitudes: f64s(lats.as_deref().filter(|_| regular)),
            longitudes: f64s(lons.as_deref().filter(|_| regular)),
            min: s.min,
            max: s.max,
            mean: s.mean,
            missing: s.missing,
            units: meta.units.clone(),
            name: meta.name.clone(),
            short_name: meta.short_name.clone(),
            grid_type: meta.grid.grid_type.clone(),
            packing_type: meta.packing_type.clone(),
        }
    }
}

/// A decoded field of the references.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct FieldData {
    #[serde(flatten)]
    pub field: FieldValues,
    pub variable: String,
    pub time: Option<f64>,
    pub step: Option<f64>,
    pub level: Option<f64>,
    pub member: Option<f64>,
    /// Valid time, seconds since 1970.
    pub valid_time: Option<f64>,
    /// Bytes fetched.
    pub bytes: u64,
    pub fetch_ms: f64,
    pub decode_ms: f64,
}

/// One decoded message of a GRIB2 buffer.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct DecodedField {
    #[serde(flatten)]
    pub field: FieldValues,
    pub index: u64,
    pub offset: u64,
    pub length: u64,
    pub type_of_level: String,
    pub level: i64,
    pub step_range: String,
    pub number: Option<f64>,
}

/// An ensemble's statistics per grid point.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct EnsembleStatsData {
    /// The variable's array path.
    pub variable: String,
    /// The members included.
    pub members: Vec<f64>,
    /// [nlat, nlon] for a regular grid, [npoints] otherwise.
    pub shape: Vec<u64>,
    /// The statistics asked for, in that order: name ("mean", "p>0.01", …) and values (NaN
    /// where every member is missing).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "{ name: string; values: Float32Array }[]")]
    pub stats: JsValue,
    /// Latitude of each row (null when the grid is not regular).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub latitudes: JsValue,
    /// Longitude of each column (null when the grid is not regular).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Float64Array | null")]
    pub longitudes: JsValue,
}

impl EnsembleStatsData {
    pub fn new(
        s: &gik_core::stats::EnsembleStats,
        lat: Option<&[f64]>,
        lon: Option<&[f64]>,
    ) -> Self {
        let stats = stat_arrays(s.values.iter().map(|(s, v)| (*s, v.clone())));
        let regular = s.shape.len() == 2;
        Self {
            variable: s.variable.clone(),
            members: numbers(&s.members),
            shape: s.shape.iter().map(|&x| x as u64).collect(),
            stats,
            latitudes: f64s(lat.filter(|_| regular)),
            longitudes: f64s(lon.filter(|_| regular)),
        }
    }
}

/// Statistics as `{ name, values }[]` (`values` a `Float32Array`).
pub fn stat_arrays(stats: impl IntoIterator<Item = (gik_core::stats::Stat, Vec<f32>)>) -> JsValue {
    let out = js_sys::Array::new();
    for (stat, values) in stats {
        let o = js_sys::Object::new();
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&o, &"name".into(), &stat.to_string().into());
        let _ = js_sys::Reflect::set(&o, &"values".into(), &Float32Array::from(&values[..]));
        out.push(&o);
    }
    out.into()
}
