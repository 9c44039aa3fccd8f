//! Concatenating reference sets along their labelled axes: a new run along
//! `time`, new steps along `step` (what kerchunk's `MultiZarrToZarr` does
//! for files, here for two whole reference sets).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::store::{join, split_path, CoordValues, Coordinate, RefStore, RefValue, Variable};
use super::zarr::{to_ascii_json, unravel, ArrayMeta};
use super::{RefsError, Result};

/// Dimensions of the grid, never concatenated.
const GRID_DIMS: [&str; 5] = ["latitude", "longitude", "x", "y", "values"];

/// `a` and `b` together: every variable of either, those of both
/// concatenated along their labelled dimensions (`time`, `step`, the
/// level, `number`: the union of their values, sorted), with `valid_time`
/// and the other coordinates that vary along them merged. The groups, names
/// and attributes of `a` win; a group only `b` has is copied.
///
/// A chunk both have with the same reference is kept once (so adding a run
/// that is already there changes nothing).
///
/// # Errors
/// [`RefsError::DuplicateField`] when `a` and `b` reference different
/// messages for the same chunk; [`RefsError::Inconsistent`] when a
/// variable's dimensions, grid or scalar coordinates differ between them.
pub fn concat(a: &RefStore, b: &RefStore) -> Result<RefStore> {
    let by_group = |s: &RefStore| -> Result<BTreeMap<String, Vec<Variable>>> {
        let mut m: BTreeMap<String, Vec<Variable>> = BTreeMap::new();
        for v in s.variables()? {
            m.entry(v.group.clone()).or_default().push(v);
        }
        Ok(m)
    };
    let (ga, gb) = (by_group(a)?, by_group(b)?);
    let mut out = a.clone();
    for (g, vars_b) in &gb {
        match ga.get(g) {
            None => copy_group(b, g, &mut out),
            Some(vars_a) => merge_group(a, b, g, vars_a, vars_b, &mut out)?,
        }
    }
    Ok(out)
}

/// Arrays directly in `group` (their paths).
fn arrays_in(s: &RefStore, group: &str) -> Vec<String> {
    s.arrays()
        .filter(|p| split_path(p).0 == group)
        .map(str::to_string)
        .collect()
}

fn copy_array(from: &RefStore, path: &str, out: &mut RefStore) {
    let prefix = format!("{path}/");
    for (k, v) in from.prefixed(&prefix) {
        out.insert(k.to_string(), v.clone());
    }
}

fn remove_array(out: &mut RefStore, path: &str) {
    let prefix = format!("{path}/");
    let keys: Vec<String> = out.prefixed(&prefix).map(|(k, _)| k.to_string()).collect();
    for k in keys {
        out.remove(&k);
    }
}

/// A group of `from` that `out` lacks: its arrays and the metadata of it and
/// its parents (where `out` has none).
fn copy_group(from: &RefStore, group: &str, out: &mut RefStore) {
    for p in arrays_in(from, group) {
        copy_array(from, &p, out);
    }
    let mut g = group;
    loop {
        for k in [".zgroup", ".zattrs"] {
            let key = join(g, k);
            if let (false, Some(v)) = (out.contains_key(&key), from.get(&key)) {
                out.insert(key, v.clone());
            }
        }
        if g.is_empty() {
            break;
        }
        g = split_path(g).0;
    }
}

fn inconsistent(path: &str, reason: impl Into<String>) -> RefsError {
    RefsError::Inconsistent {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// One concatenated dimension: the union of its values and where each
/// side's values went.
struct Axis {
    name: String,
    values: CoordValues,
    from_a: Vec<u64>,
    from_b: Vec<u64>,
}

fn union_axis(name: &str, ca: &Coordinate, cb: &Coordinate, path: &str) -> Result<Axis> {
    // Integers and floats as sortable keys; a float axis keeps its bits.
    let (ka, kb): (Vec<Key>, Vec<Key>) = match (ca.filled(), cb.filled()) {
        (CoordValues::Int(x), CoordValues::Int(y)) => (
            x.iter().map(|v| Key::Int(v.unwrap_or(0))).collect(),
            y.iter().map(|v| Key::Int(v.unwrap_or(0))).collect(),
        ),
        (CoordValues::Float(x), CoordValues::Float(y)) => (
            x.iter().map(|v| Key::float(v.unwrap_or(0.0))).collect(),
            y.iter().map(|v| Key::float(v.unwrap_or(0.0))).collect(),
        ),
        _ => {
            return Err(inconsistent(
                path,
                format!("coordinate {name} is integer on one side and float on the other"),
            ))
        }
    };
    let all: BTreeSet<Key> = ka.iter().chain(&kb).copied().collect();
    let pos: HashMap<Key, u64> = all
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u64))
        .collect();
    let values = if matches!(all.first(), Some(Key::Float(_))) {
        CoordValues::Float(all.iter().map(|k| Some(k.as_f64())).collect())
    } else {
        CoordValues::Int(all.iter().map(|k| Some(k.as_i64())).collect())
    };
    Ok(Axis {
        name: name.to_string(),
        values,
        from_a: ka.iter().map(|k| pos[k]).collect(),
        from_b: kb.iter().map(|k| pos[k]).collect(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Int(i64),
    /// An `f64` mapped to an integer of the same order.
    Float(i64),
}

impl Key {
    fn float(x: f64) -> Self {
        let b = x.to_bits() as i64;
        Self::Float(b ^ (((b >> 63) as u64) >> 1) as i64)
    }
    fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::Float(k) => f64::from_bits((k ^ (((k >> 63) as u64) >> 1) as i64) as u64),
        }
    }
    fn as_i64(self) -> i64 {
        match self {
            Self::Int(i) => i,
            Self::Float(_) => self.as_f64() as i64,
        }
    }
}

/// Writes an inline, single-chunk coordinate array.
fn put_coordinate(
    out: &mut RefStore,
    path: &str,
    shape: &[u64],
    values: &CoordValues,
    attrs: &serde_json::Map<String, Value>,
    dims: &[String],
) {
    let (dtype, bytes): (&str, Vec<u8>) = match values {
        CoordValues::Int(v) => (
            "<i8",
            v.iter()
                .flat_map(|x| x.unwrap_or(0).to_le_bytes())
                .collect(),
        ),
        CoordValues::Float(v) => (
            "<f8",
            v.iter()
                .flat_map(|x| x.unwrap_or(f64::NAN).to_le_bytes())
                .collect(),
        ),
    };
    let meta = ArrayMeta::plain(shape.to_vec(), shape.to_vec(), dtype);
    let mut attrs = attrs.clone();
    attrs.insert("_ARRAY_DIMENSIONS".into(), serde_json::json!(dims));
    out.insert(
        join(path, ".zarray"),
        RefValue::Inline(to_ascii_json(&meta.to_value())),
    );
    out.insert(
        join(path, ".zattrs"),
        RefValue::Inline(to_ascii_json(&Value::Object(attrs))),
    );
    if !shape.contains(&0) {
        out.insert(
            join(path, &meta.chunk_key(&vec![0; shape.len()])),
            RefValue::Inline(bytes),
        );
    }
}

#[allow(clippy::too_many_lines)]
fn merge_group(
    a: &RefStore,
    b: &RefStore,
    group: &str,
    vars_a: &[Variable],
    vars_b: &[Variable],
    out: &mut RefStore,
) -> Result<()> {
    let names = |vs: &[Variable]| {
        vs.iter()
            .map(|v| (v.name.clone(), v.dims.clone()))
            .collect::<BTreeSet<_>>()
    };
    if names(vars_a) != names(vars_b) {
        return Err(inconsistent(
            group,
            "the two reference sets have different variables or dimensions in this group",
        ));
    }
    let first = &vars_a[0];
    let has_coord = |s: &RefStore, n: &str| s.contains_key(&join(&join(group, n), ".zarray"));
    // The labelled dimensions: chunked one by one, with a coordinate of their name.
    let mut axes: Vec<Axis> = Vec::new();
    let mut is_axis = vec![false; first.dims.len()];
    for (i, d) in first.dims.iter().enumerate() {
        if GRID_DIMS.contains(&d.as_str())
            || first.chunks.get(i) != Some(&1)
            || !has_coord(a, d)
            || !has_coord(b, d)
        {
            continue;
        }
        let (ca, cb) = (a.coordinate(group, d)?, b.coordinate(group, d)?);
        axes.push(union_axis(d, &ca, &cb, group)?);
        is_axis[i] = true;
    }
    for (va, vb) in vars_a.iter().zip(vars_b) {
        for (i, d) in va.dims.iter().enumerate() {
            if !is_axis[i] && va.shape[i] != vb.shape[i] {
                return Err(inconsistent(&va.path, format!("dimension {d} has {} values on one side and {} on the other (not a labelled dimension gik concatenates)", va.shape[i], vb.shape[i])));
            }
        }
    }
    let axis_of = |name: &str| axes.iter().position(|x| x.name == name);
    // Data arrays: each chunk moved to its place on the merged axes.
    for va in vars_a {
        let meta_a = a.array_meta(&va.path)?;
        let meta_b = b.array_meta(&va.path)?;
        let mut meta = meta_a.clone();
        let mut ai = 0;
        for (i, _) in va.dims.iter().enumerate() {
            if is_axis[i] {
                meta.shape[i] = axes[ai].values.len() as u64;
                ai += 1;
            }
        }
        let mut chunks: BTreeMap<Vec<u64>, RefValue> = BTreeMap::new();
        for (side, (s, m)) in [(a, &meta_a), (b, &meta_b)].into_iter().enumerate() {
            let prefix = format!("{}/", va.path);
            for (k, v) in s.prefixed(&prefix) {
                let Some(mut idx) = m.parse_chunk_key(&k[prefix.len()..]) else {
                    continue;
                };
                let mut ai = 0;
                for (i, x) in idx.iter_mut().enumerate() {
                    if is_axis[i] {
                        let map = if side == 0 {
                            &axes[ai].from_a
                        } else {
                            &axes[ai].from_b
                        };
                        *x = map.get(*x as usize).copied().ok_or_else(|| {
                            inconsistent(&va.path, format!("chunk {k} lies beyond its coordinates"))
                        })?;
                        ai += 1;
                    }
                }
                if let Some(prev) = chunks.get(&idx) {
                    if prev != v {
                        return Err(RefsError::DuplicateField {
                            key: join(&va.path, &meta.chunk_key(&idx)),
                            first: describe(prev),
                            second: describe(v),
                        });
                    }
                    continue;
                }
                chunks.insert(idx, v.clone());
            }
        }
        let attrs = a.attrs(&va.path)?;
        remove_array(out, &va.path);
        out.insert(
            join(&va.path, ".zarray"),
            RefValue::Inline(to_ascii_json(&meta.to_value())),
        );
        out.insert(
            join(&va.path, ".zattrs"),
            RefValue::Inline(to_ascii_json(&Value::Object(attrs))),
        );
        for (idx, v) in chunks {
            out.insert(join(&va.path, &meta.chunk_key(&idx)), v);
        }
    }
    // Coordinates.
    let data: BTreeSet<&str> = vars_a.iter().map(|v| v.path.as_str()).collect();
    let mut coords: BTreeSet<String> = arrays_in(a, group).into_iter().collect();
    coords.extend(arrays_in(b, group));
    for path in coords.iter().filter(|p| !data.contains(p.as_str())) {
        let name = split_path(path).1;
        let (in_a, in_b) = (has_coord(a, name), has_coord(b, name));
        if !in_a || !in_b {
            if in_b {
                copy_array(b, path, out);
            }
            continue;
        }
        let (ca, cb) = (a.coordinate(group, name)?, b.coordinate(group, name)?);
        let attrs = {
            let mut m = a.attrs(path)?;
            m.remove("_ARRAY_DIMENSIONS");
            m
        };
        remove_array(out, path);
        if let Some(i) = axis_of(name) {
            let ax = &axes[i];
            put_coordinate(
                out,
                path,
                &[ax.values.len() as u64],
                &ax.values,
                &attrs,
                &ca.dims,
            );
            continue;
        }
        let along: Option<Vec<usize>> = if ca.dims.is_empty() {
            None
        } else {
            ca.dims.iter().map(|d| axis_of(d)).collect()
        };
        let Some(along) = along.filter(|_| ca.dims == cb.dims) else {
            // Scalar or on the grid: the same on both sides.
            if ca.values != cb.values || ca.shape != cb.shape {
                return Err(inconsistent(path, "this coordinate differs between the two reference sets (a scalar level or the grid): they cannot be concatenated"));
            }
            copy_array(a, path, out);
            continue;
        };
        // Varies along labelled dimensions (valid_time, an auxiliary number).
        let shape: Vec<u64> = along.iter().map(|&i| axes[i].values.len() as u64).collect();
        let total = shape.iter().product::<u64>() as usize;
        let place = |c: &Coordinate, side: usize, vals: &mut dyn FnMut(usize, usize)| {
            for n in 0..c.values.len() {
                let idx = unravel(n as u64, &c.shape);
                let mut pos = 0u64;
                for (d, &i) in along.iter().enumerate() {
                    let map = if side == 0 {
                        &axes[i].from_a
                    } else {
                        &axes[i].from_b
                    };
                    pos = pos * shape[d] + map.get(idx[d] as usize).copied().unwrap_or(0);
                }
                vals(pos as usize, n);
            }
        };
        let values = match (&ca.values, &cb.values) {
            (CoordValues::Int(x), CoordValues::Int(y)) => {
                let mut v: Vec<Option<i64>> = vec![None; total];
                place(&ca, 0, &mut |p, n| v[p] = x[n].or(v[p]));
                place(&cb, 1, &mut |p, n| v[p] = v[p].or(y[n]));
                if name == "valid_time" {
                    fill_valid_time(&mut v, &along, &axes, &shape);
                }
                CoordValues::Int(v)
            }
            (CoordValues::Float(x), CoordValues::Float(y)) => {
                let mut v: Vec<Option<f64>> = vec![None; total];
                place(&ca, 0, &mut |p, n| v[p] = x[n].or(v[p]));
                place(&cb, 1, &mut |p, n| v[p] = v[p].or(y[n]));
                CoordValues::Float(v)
            }
            _ => {
                return Err(inconsistent(
                    path,
                    "integer on one side and float on the other",
                ))
            }
        };
        put_coordinate(out, path, &shape, &values, &attrs, &ca.dims);
    }
    Ok(())
}

/// `valid_time` where neither side has one (a step one run lacks): `time + step`.
fn fill_valid_time(v: &mut [Option<i64>], along: &[usize], axes: &[Axis], shape: &[u64]) {
    let (Some(t), Some(s)) = (
        along.iter().position(|&i| axes[i].name == "time"),
        along.iter().position(|&i| axes[i].name == "step"),
    ) else {
        return;
    };
    let (CoordValues::Int(times), CoordValues::Int(steps)) =
        (&axes[along[t]].values, &axes[along[s]].values)
    else {
        return;
    };
    for (n, x) in v.iter_mut().enumerate() {
        if x.is_none() {
            let idx = unravel(n as u64, shape);
            if let (Some(Some(time)), Some(Some(step))) =
                (times.get(idx[t] as usize), steps.get(idx[s] as usize))
            {
                *x = Some(time + step * 3600);
            }
        }
    }
}

fn describe(v: &RefValue) -> String {
    match v {
        RefValue::Inline(b) => format!("{} inline bytes", b.len()),
        RefValue::Range { url, offset, .. } => format!("{url}@{offset}"),
        RefValue::Whole { url } => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::{build, ScannedField};

    fn fields(day: u8, steps: &[i64], offset0: u64) -> Vec<ScannedField> {
        let mut out = Vec::new();
        for (k, &step) in steps.iter().enumerate() {
            for n in 0..3 {
                let mut meta = crate::grib::FieldMeta::default();
                (meta.short_name, meta.cf_var_name, meta.name) =
                    ("2t".into(), "t2m".into(), "2 metre temperature".into());
                (meta.type_of_level, meta.level, meta.step_type) =
                    ("heightAboveGround".into(), 2, "instant".into());
                (
                    meta.reference_time.year,
                    meta.reference_time.month,
                    meta.reference_time.day,
                ) = (2026, 6, day);
                meta.end_step = step;
                meta.grid.grid_type = "regular_ll".into();
                (meta.grid.ni, meta.grid.nj) = (Some(4), Some(3));
                meta.number = Some(n);
                out.push(ScannedField {
                    url: format!("/d/{day}.grib2"),
                    offset: offset0 + (k as u64 * 3 + n as u64) * 100,
                    length: 100,
                    meta,
                });
            }
        }
        out
    }

    #[test]
    fn two_runs_concatenate_as_one_scan() {
        let (r1, r2) = (fields(1, &[0, 6], 0), fields(2, &[6, 12], 0));
        let a = build(&r1).unwrap().store;
        let b = build(&r2).unwrap().store;
        let both = build(&[r1, r2].concat()).unwrap().store;
        let merged = concat(&a, &b).unwrap();
        let (vm, vb) = (merged.variables().unwrap(), both.variables().unwrap());
        assert_eq!(vm.len(), 1);
        assert_eq!((&vm[0].dims, &vm[0].shape), (&vb[0].dims, &vb[0].shape));
        assert_eq!(merged.axes(&vm[0]).unwrap(), both.axes(&vb[0]).unwrap());
        for t in 0..2 {
            for s in 0..3 {
                for n in 0..3 {
                    let i = [t, s, n, 0, 0];
                    assert_eq!(
                        merged.chunk(&vm[0].path, &i).unwrap(),
                        both.chunk(&vb[0].path, &i).unwrap(),
                        "{i:?}"
                    );
                }
            }
        }
        let vt = |s: &RefStore| {
            s.coordinate("t2m/instant/heightAboveGround", "valid_time")
                .unwrap()
                .values
        };
        let (CoordValues::Int(m), CoordValues::Int(o)) = (vt(&merged), vt(&both)) else {
            panic!("valid_time is integer")
        };
        let day = 86_400;
        let t0 = crate::time::epoch_seconds(2026, 6, 1, 0, 0, 0);
        for (n, (x, y)) in m.iter().zip(&o).enumerate() {
            let (t, s) = (n / 9, [0, 6, 12][(n / 3) % 3]); // valid_time is (time, step, number)
            assert_eq!(*x, Some(t0 + t as i64 * day + s * 3600), "{n}");
            assert!(y.is_none() || y == x);
        }
        // Adding what is there already changes nothing; a different message for the same chunk is an error.
        assert_eq!(concat(&merged, &b).unwrap(), merged);
        let b2 = build(&fields(2, &[6], 50)).unwrap().store;
        assert!(matches!(
            concat(&merged, &b2),
            Err(RefsError::DuplicateField { .. })
        ));
    }
}
