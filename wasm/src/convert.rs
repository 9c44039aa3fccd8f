//! Core values → JS objects (the shapes `types.d.ts` declares).

use gik_core::refs::{Axes, Variable};
use gik_core::stats::Summary;

use crate::js::{self, Obj};

/// A `VariableInfo`.
pub fn variable(v: &Variable, axes: &Axes) -> Obj {
    let o = Obj::new();
    o.set("path", v.path.as_str())
        .set("name", v.name.as_str())
        .set("shortName", v.attr("GRIB_shortName"))
        .set("longName", v.long_name())
        .set("units", v.units())
        .set("typeOfLevel", v.attr("GRIB_typeOfLevel"))
        .set("stepType", v.attr("GRIB_stepType"))
        .set("gridType", v.attr("GRIB_gridType"))
        .set("dims", js::strings(&v.dims))
        .set(
            "shape",
            js::ints(&v.shape.iter().map(|&x| x as i64).collect::<Vec<_>>()),
        )
        .opt("levelName", axes.level.as_ref().map(|(n, _)| n.as_str()))
        .set(
            "levels",
            js::numbers(axes.level.as_ref().map_or(&[][..], |(_, l)| l)),
        )
        .set("steps", js::ints(&axes.step))
        .set("times", js::ints(&axes.time))
        .set("members", js::ints(&axes.number));
    o
}

/// A `Coords`.
pub fn coords(var: &Variable, axes: &Axes, lat: Option<Vec<f64>>, lon: Option<Vec<f64>>) -> Obj {
    let o = Obj::new();
    o.set("dims", js::strings(&var.dims))
        .set("time", js::ints(&axes.time))
        .set("step", js::ints(&axes.step))
        .opt("levelName", axes.level.as_ref().map(|(n, _)| n.as_str()))
        .set(
            "levels",
            js::numbers(axes.level.as_ref().map_or(&[][..], |(_, l)| l)),
        )
        .set("number", js::ints(&axes.number))
        .opt("latitude", lat.as_deref().map(js::f64s))
        .opt("longitude", lon.as_deref().map(js::f64s));
    o
}

/// The JS object of a decoded field: values, shape, axes (when the grid is
/// regular and they fit), statistics, metadata.
pub fn field(
    meta: &gik_core::grib::FieldMeta,
    values: &[f32],
    lats: Option<Vec<f64>>,
    lons: Option<Vec<f64>>,
) -> Obj {
    let regular = matches!((&lats, &lons), (Some(a), Some(b)) if a.len() * b.len() == values.len());
    let shape: Vec<f64> = match (&lats, &lons) {
        (Some(a), Some(b)) if regular => vec![a.len() as f64, b.len() as f64],
        _ => vec![values.len() as f64],
    };
    let s = Summary::of(values);
    let o = Obj::new();
    o.set("values", js::f32s(values))
        .set("shape", js::numbers(&shape))
        .opt(
            "latitudes",
            lats.filter(|_| regular).as_deref().map(js::f64s),
        )
        .opt(
            "longitudes",
            lons.filter(|_| regular).as_deref().map(js::f64s),
        )
        .set("min", s.min)
        .set("max", s.max)
        .set("mean", s.mean)
        .set("missing", s.missing)
        .set("units", meta.units.as_str())
        .set("name", meta.name.as_str())
        .set("shortName", meta.short_name.as_str())
        .set("gridType", meta.grid.grid_type.as_str())
        .set("packingType", meta.packing_type.as_str());
    o
}
