//! Selection → what to read: which chunk (GRIB message) of which variable
//! becomes which named field of which member's AIFS input state.
//!
//! Variables are found by their GRIB attributes (`GRIB_shortName`,
//! `GRIB_typeOfLevel`), never by hard-coded paths; each dimension index is
//! taken from the variable's own `_ARRAY_DIMENSIONS` and coordinate values
//! (never a fixed chunk position), so members, levels and steps land where
//! they belong whatever the layout of the references.

use crate::refs::{RefStore, RefValue, RefsError, Variable};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Standard gravity: `gh` (geopotential height, gpm) × g = `z` (geopotential, m² s⁻²).
pub const GRAVITY: f64 = 9.80665;

/// Pressure levels of the AIFS presets (hPa), in the order of the state.
pub const AIFS_LEVELS: [i64; 13] = [
    1000, 925, 850, 700, 600, 500, 400, 300, 250, 200, 150, 100, 50,
];

/// Fields that do not change with member or step (ECMWF publishes them at step 0).
pub const CONSTANT_FIELDS: [&str; 4] = ["lsm", "z", "slor", "sdor"];

/// One input of a state: a named field taken from one GRIB parameter and level.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Name in the state (`2t`, `t_850`, `z_500`, `stl1`).
    pub name: String,
    /// ecCodes `shortName` in the references (`2t`, `t`, `gh`, `sot`).
    pub short_name: String,
    /// ecCodes `typeOfLevel` (`heightAboveGround`, `isobaricInhPa`, `soilLayer`, …); `None`: any.
    pub type_of_level: Option<String>,
    /// Level value, for level types with several levels.
    pub level: Option<f64>,
    /// Whether every member has its own (false: constant fields such as `lsm`, `z`).
    pub per_member: bool,
    /// Factor applied to the values (`gh` → `z`: [`GRAVITY`]).
    pub scale: Option<f64>,
    /// Whether the state can do without it (`vsw` → `swvl1`, `swvl2` "where present").
    pub optional: bool,
}

impl Input {
    fn new(name: impl Into<String>, short_name: &str, tol: &str, level: Option<f64>) -> Self {
        Self {
            name: name.into(),
            short_name: short_name.to_string(),
            type_of_level: Some(tol.to_string()),
            level,
            per_member: true,
            scale: None,
            optional: false,
        }
    }
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// An unknown preset or a malformed parameter list.
    #[error("--params: {0}")]
    Params(String),
    /// A member selection that is malformed.
    #[error("--members: {0}")]
    Members(String),
    /// Inputs the references do not hold (all listed together).
    #[error("the references lack {} input(s): {}", .0.len(), .0.join(", "))]
    Missing(Vec<String>),
    /// The requested date/step is not in the references.
    #[error("{0}")]
    Time(String),
    /// Reading the references failed.
    #[error(transparent)]
    Refs(#[from] RefsError),
}

fn surface(name: &str, tol: &str) -> Input {
    Input::new(name, name, tol, None)
}

fn constant(name: &str, short: &str) -> Input {
    let mut i = Input::new(name, short, "surface", None);
    i.per_member = false;
    i
}

fn pressure_inputs(params: &[&str]) -> Vec<Input> {
    let mut out = Vec::new();
    for p in params {
        for l in AIFS_LEVELS {
            let name = if *p == "gh" {
                format!("z_{l}")
            } else {
                format!("{p}_{l}")
            };
            let mut i = Input::new(name, p, "isobaricInhPa", Some(l as f64));
            if *p == "gh" {
                i.scale = Some(GRAVITY);
            }
            out.push(i);
        }
    }
    out
}

fn soil_inputs() -> Vec<Input> {
    let mut out = Vec::new();
    for (l, (t, w)) in [(1, ("stl1", "swvl1")), (2, ("stl2", "swvl2"))] {
        out.push(Input::new(t, "sot", "soilLayer", Some(f64::from(l))));
        let mut vsw = Input::new(w, "vsw", "soilLayer", Some(f64::from(l)));
        vsw.optional = true;
        out.push(vsw);
    }
    out
}

/// The inputs of a preset: `aifs-ens` (AIFS-ENS v1) or `aifs-single`.
#[must_use]
pub fn preset(name: &str) -> Option<Vec<Input>> {
    let mut v = vec![
        surface("10u", "heightAboveGround"),
        surface("10v", "heightAboveGround"),
        surface("2d", "heightAboveGround"),
        surface("2t", "heightAboveGround"),
        surface("msl", "meanSea"),
        surface("skt", "surface"),
        surface("sp", "surface"),
        surface("tcw", "entireAtmosphere"),
        constant("lsm", "lsm"),
        constant("z", "z"),
        constant("slor", "slor"),
        constant("sdor", "sdor"),
    ];
    match name {
        "aifs-ens" => {}
        "aifs-single" => {
            // AIFS-single additionally reads total column water vapour where present.
            let mut tcwv = surface("tcwv", "entireAtmosphere");
            tcwv.optional = true;
            v.push(tcwv);
        }
        _ => return None,
    }
    v.extend(soil_inputs());
    v.extend(pressure_inputs(&["gh", "t", "u", "v", "w", "q"]));
    Some(v)
}

/// Parses `--params`: a preset name, or a comma list of `shortName` or
/// `shortName_level` (`2t,msl,t_850,gh_500`; `gh_L` is named `z_L` and scaled by g).
///
/// # Errors
/// [`PlanError::Params`] for an unknown preset or an empty or malformed item.
pub fn parse_params(spec: &str) -> Result<Vec<Input>, PlanError> {
    if let Some(p) = preset(spec) {
        return Ok(p);
    }
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(PlanError::Params(format!("empty item in `{spec}`")));
        }
        if let Some(p) = preset(item) {
            out.extend(p);
            continue;
        }
        match item.rsplit_once('_') {
            Some((p, l)) if !p.is_empty() && l.parse::<f64>().is_ok() => {
                let level: f64 = l.parse().unwrap_or_default();
                let name = if p == "gh" {
                    format!("z_{l}")
                } else {
                    item.to_string()
                };
                let mut i = Input::new(name, p, "", Some(level));
                i.type_of_level = None;
                if p == "gh" {
                    i.scale = Some(GRAVITY);
                }
                out.push(i);
            }
            _ => {
                let mut i = Input::new(item, item, "", None);
                i.type_of_level = None;
                // Fields ECMWF publishes once (step 0, control/oper only) serve every member and step.
                i.per_member = !CONSTANT_FIELDS.contains(&item);
                out.push(i);
            }
        }
    }
    if out.is_empty() {
        return Err(PlanError::Params(format!(
            "no inputs in `{spec}` (presets: aifs-ens, aifs-single)"
        )));
    }
    Ok(out)
}

/// Parses `--members`: `all`, `0,3,7`, `1-10`, or a mix (`0,5-9`).
///
/// # Errors
/// [`PlanError::Members`] for anything else.
pub fn parse_members(spec: &str) -> Result<Option<BTreeSet<i64>>, PlanError> {
    if spec.trim() == "all" {
        return Ok(None);
    }
    let mut set = BTreeSet::new();
    for item in spec.split(',').map(str::trim) {
        let bad = || {
            PlanError::Members(format!(
                "`{item}` is not a member number or range (e.g. all, 0,3,7, 1-10)"
            ))
        };
        if let Some((a, b)) = item.split_once('-') {
            let (a, b): (i64, i64) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a > b || b - a > 100_000 {
                return Err(bad());
            }
            set.extend(a..=b);
        } else {
            set.insert(item.parse().map_err(|_| bad())?);
        }
    }
    Ok(Some(set))
}

/// How fields are laid out in the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Each field `(nlat, nlon)` at one time, as the original pipeline wrote.
    Grid,
    /// Each field `(2, npoints)`: date − 6 h and date, flattened row-major (anemoi-inference).
    Aifs,
}

/// What to extract.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Members wanted (`None`: all).
    pub members: Option<BTreeSet<i64>>,
    /// The state's valid date, seconds since 1970 (`None`: the latest possible).
    pub date: Option<i64>,
    /// For [`Layout::Grid`]: forecast steps in hours (`None`: the first step).
    pub steps: Option<Vec<i64>>,
    /// Layout.
    pub layout: Layout,
    /// Proceed without inputs the references lack.
    pub allow_missing: bool,
}

/// One field of one state: the chunk(s) to read, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPlan {
    /// Name in the state.
    pub name: String,
    /// The references of its time slices (1 for grid, 2 for aifs).
    pub parts: Vec<RefValue>,
    /// Grid shape `(nlat, nlon)` of one slice.
    pub grid: (usize, usize),
    /// Factor to apply.
    pub scale: Option<f64>,
    /// Array path it came from, for error messages.
    pub source: String,
}

/// One output state.
#[derive(Debug, Clone, PartialEq)]
pub struct StatePlan {
    /// Ensemble member.
    pub member: i64,
    /// Valid date of the state, seconds since 1970.
    pub date: i64,
    /// Step in hours of the (last) slice, to name files when several steps are asked for.
    pub step: i64,
    /// Fields in output order.
    pub fields: Vec<FieldPlan>,
}

/// The plan for a whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One per member (and step, for grid layout with several steps).
    pub states: Vec<StatePlan>,
    /// Optional or allowed-missing inputs that were left out.
    pub left_out: Vec<String>,
}

fn attr<'a>(v: &'a Variable, k: &str) -> Option<&'a str> {
    v.attrs.get(k).and_then(Value::as_str)
}

/// A resolved input: the variable and its decoded axes.
struct Resolved<'a> {
    input: &'a Input,
    var: Variable,
    axes: crate::refs::Axes,
    level_index: Option<usize>,
}

fn resolve<'a>(
    store: &RefStore,
    vars: &[Variable],
    input: &'a Input,
) -> Result<Option<Resolved<'a>>, PlanError> {
    for v in vars {
        if attr(v, "GRIB_shortName") != Some(input.short_name.as_str()) {
            continue;
        }
        if let Some(t) = &input.type_of_level {
            if attr(v, "GRIB_typeOfLevel") != Some(t.as_str()) {
                continue;
            }
        }
        let axes = store.axes(v)?;
        let level_index = match (input.level, &axes.level) {
            (None, _) => None,
            (Some(l), Some((_, values))) => {
                match values.iter().position(|x| (x - l).abs() < 1e-9) {
                    Some(i) => Some(i),
                    None => continue,
                }
            }
            (Some(_), None) => continue,
        };
        return Ok(Some(Resolved {
            input,
            var: v.clone(),
            axes,
            level_index,
        }));
    }
    Ok(None)
}

/// The (time index, step index) pairs of a variable with their valid times.
fn valid_times(axes: &crate::refs::Axes) -> Vec<(usize, usize, i64)> {
    let times = if axes.time.is_empty() {
        vec![0]
    } else {
        axes.time.clone()
    };
    let steps = if axes.step.is_empty() {
        vec![0]
    } else {
        axes.step.clone()
    };
    let mut out = Vec::new();
    for (ti, t) in times.iter().enumerate() {
        for (si, s) in steps.iter().enumerate() {
            out.push((ti, si, t + s * 3600));
        }
    }
    out
}

fn chunk_for(
    r: &Resolved<'_>,
    store: &RefStore,
    ti: usize,
    si: usize,
    member: Option<usize>,
) -> Result<Option<RefValue>, PlanError> {
    let level_name = r.axes.level.as_ref().map(|(n, _)| n.as_str());
    let mut idx = Vec::with_capacity(r.var.dims.len());
    for (d, chunk) in r.var.dims.iter().zip(&r.var.chunks) {
        let i = match d.as_str() {
            "time" => ti,
            "step" => si,
            "number" => member.unwrap_or(0),
            "latitude" | "longitude" | "values" | "y" | "x" => 0,
            other if Some(other) == level_name => r.level_index.unwrap_or(0),
            _ => 0,
        } as u64;
        // Chunk index, not element index (kerchunk chunks are one field each).
        idx.push(i / (*chunk).max(1));
    }
    Ok(store.chunk(&r.var.path, &idx)?.cloned())
}

fn grid_of(v: &Variable) -> (usize, usize) {
    let n = v.shape.len();
    if n >= 2 && v.dims.get(n - 2).map(String::as_str) == Some("latitude") {
        (v.shape[n - 2] as usize, v.shape[n - 1] as usize)
    } else {
        (1, v.shape.last().copied().unwrap_or(1) as usize)
    }
}

/// Makes the plan: resolves every input in the references, picks the date
/// and steps, and lists the chunks of every field of every state.
///
/// # Errors
/// [`PlanError::Missing`] listing every input the references lack (unless
/// allowed), [`PlanError::Time`] when the date/steps are not there.
pub fn plan(store: &RefStore, inputs: &[Input], sel: &Selection) -> Result<Plan, PlanError> {
    let vars = store.variables()?;
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    let mut left_out = Vec::new();
    for input in inputs {
        match resolve(store, &vars, input)? {
            Some(r) => resolved.push(r),
            None if input.optional => left_out.push(input.name.clone()),
            None => missing.push(input.name.clone()),
        }
    }
    if !missing.is_empty() {
        if sel.allow_missing {
            left_out.append(&mut missing);
        } else {
            return Err(PlanError::Missing(missing));
        }
    }
    if resolved.is_empty() {
        return Err(PlanError::Missing(
            inputs.iter().map(|i| i.name.clone()).collect(),
        ));
    }
    // Members: the union over per-member inputs.
    let mut all_members = BTreeSet::new();
    for r in resolved.iter().filter(|r| r.input.per_member) {
        all_members.extend(r.axes.number.iter().copied());
    }
    if all_members.is_empty() {
        all_members.insert(0);
    }
    let members: Vec<i64> = match &sel.members {
        None => all_members.iter().copied().collect(),
        Some(want) => {
            let absent: Vec<String> = want
                .difference(&all_members)
                .map(ToString::to_string)
                .collect();
            if !absent.is_empty() {
                return Err(PlanError::Time(format!(
                    "member(s) {} are not in the references (they hold {})",
                    absent.join(", "),
                    all_members
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            want.iter().copied().collect()
        }
    };
    // Times: valid times common to the per-member inputs.
    let first = resolved
        .iter()
        .find(|r| r.input.per_member)
        .unwrap_or(&resolved[0]);
    let vts = valid_times(&first.axes);
    let steps_of = |r: &Resolved<'_>| {
        if r.axes.step.is_empty() {
            vec![0]
        } else {
            r.axes.step.clone()
        }
    };
    // Each slice: (valid time, step in hours) chosen from the first per-member input's axes.
    let slices_per_state: Vec<Vec<(i64, i64)>> = match sel.layout {
        Layout::Grid => {
            let steps = match &sel.steps {
                Some(s) => s.clone(),
                None => vec![steps_of(first).first().copied().unwrap_or(0)],
            };
            let mut out = Vec::new();
            for s in steps {
                let Some(si) = steps_of(first).iter().position(|x| *x == s) else {
                    return Err(PlanError::Time(format!(
                        "step {s} h is not in the references (steps: {:?})",
                        steps_of(first)
                    )));
                };
                let cands: Vec<_> = vts.iter().filter(|(_, ssi, _)| *ssi == si).collect();
                let chosen = match sel.date {
                    Some(d) => cands.iter().find(|(_, _, v)| *v == d).copied(),
                    None => cands.last().copied(),
                };
                let Some(&(_, _, v)) = chosen else {
                    return Err(PlanError::Time(format!(
                        "no run in the references has step {s} h valid at the requested date"
                    )));
                };
                out.push(vec![(v, s)]);
            }
            out
        }
        Layout::Aifs => {
            let valid: BTreeSet<i64> = vts.iter().map(|x| x.2).collect();
            let date = match sel.date {
                Some(d) => d,
                None => *valid.iter().rev().find(|v| valid.contains(&(*v - 6 * 3600))).ok_or_else(|| {
                    PlanError::Time("--layout aifs needs two times 6 h apart (e.g. steps 0 and 6); the references hold one".into())
                })?,
            };
            if !valid.contains(&date) || !valid.contains(&(date - 6 * 3600)) {
                return Err(PlanError::Time(
                    "the references do not hold both date − 6 h and date".into(),
                ));
            }
            let pick = |v: i64| {
                vts.iter()
                    .rev()
                    .find(|x| x.2 == v)
                    .map(|x| (x.2, first.axes.step.get(x.1).copied().unwrap_or(0)))
            };
            vec![vec![
                pick(date - 6 * 3600).unwrap_or_default(),
                pick(date).unwrap_or_default(),
            ]]
        }
    };
    let mut states = Vec::new();
    for slices in &slices_per_state {
        for &m in &members {
            let mut fields = Vec::new();
            for r in &resolved {
                let member_index = if r.axes.number_is_dim {
                    let want = if r.input.per_member {
                        m
                    } else {
                        *r.axes.number.first().unwrap_or(&0)
                    };
                    match r.axes.number.iter().position(|x| *x == want) {
                        Some(i) => Some(i),
                        None if !r.input.per_member => Some(0),
                        None => {
                            missing.push(format!("{} (member {m})", r.input.name));
                            continue;
                        }
                    }
                } else {
                    None
                };
                let r_vts = valid_times(&r.axes);
                let mut parts = Vec::new();
                for &(valid, step) in slices {
                    // Constant fields may exist at step 0 only: fall back to their only time.
                    let hit = r_vts
                        .iter()
                        .rev()
                        .find(|x| {
                            x.2 == valid && r.axes.step.get(x.1).copied().unwrap_or(0) == step
                        })
                        .or_else(|| r_vts.iter().rev().find(|x| x.2 == valid))
                        .or_else(|| {
                            if r.input.per_member {
                                None
                            } else {
                                r_vts.last()
                            }
                        });
                    let chunk = match hit {
                        Some(&(ti, si, _)) => chunk_for(r, store, ti, si, member_index)?,
                        None => None,
                    };
                    match chunk {
                        Some(c) => parts.push(c),
                        None => break,
                    }
                }
                if parts.len() != slices.len() {
                    missing.push(format!("{} (member {m})", r.input.name));
                    continue;
                }
                fields.push(FieldPlan {
                    name: r.input.name.clone(),
                    parts,
                    grid: grid_of(&r.var),
                    scale: r.input.scale,
                    source: r.var.path.clone(),
                });
            }
            let (date, step) = slices.last().copied().unwrap_or_default();
            states.push(StatePlan {
                member: m,
                date,
                step,
                fields,
            });
        }
    }
    if !missing.is_empty() {
        if sel.allow_missing {
            left_out.extend(missing);
        } else {
            return Err(PlanError::Missing(missing));
        }
    }
    left_out.sort();
    left_out.dedup();
    Ok(Plan { states, left_out })
}

/// Byte ranges of one file, coalesced: adjacent or overlapping ranges of
/// the same url merge into one read. Returns `(url, start, end, members)`
/// where `members` are the indexes of the input ranges each read covers.
#[must_use]
pub fn coalesce(
    ranges: &[(String, u64, u64)],
    max_gap: u64,
) -> Vec<(String, u64, u64, Vec<usize>)> {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by(|&a, &b| {
        ranges[a]
            .0
            .cmp(&ranges[b].0)
            .then(ranges[a].1.cmp(&ranges[b].1))
    });
    let mut out: Vec<(String, u64, u64, Vec<usize>)> = Vec::new();
    for i in order {
        let (url, off, len) = &ranges[i];
        let end = off.saturating_add(*len);
        if let Some(last) = out.last_mut() {
            if last.0 == *url && *off <= last.2.saturating_add(max_gap) {
                last.2 = last.2.max(end);
                last.3.push(i);
                continue;
            }
        }
        out.push((url.clone(), *off, end, vec![i]));
    }
    out
}

/// Member names as the original pipeline's files use them.
#[must_use]
pub fn state_file_name(member: i64, step: Option<i64>) -> String {
    match step {
        None => format!("input_state_member_{member:03}.pkl"),
        Some(s) => format!("input_state_member_{member:03}_step_{s:03}.pkl"),
    }
}

/// Groups fields by name for summaries: name → count.
#[must_use]
pub fn field_counts(plan: &Plan) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in &plan.states {
        for f in &s.fields {
            *m.entry(f.name.clone()).or_insert(0) += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_fields_as_aifs_does() {
        let p = preset("aifs-ens").unwrap();
        let names: Vec<_> = p.iter().map(|i| i.name.as_str()).collect();
        for n in [
            "2t", "10u", "msl", "lsm", "z", "stl1", "stl2", "t_850", "z_500", "q_50", "w_1000",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        let z500 = p.iter().find(|i| i.name == "z_500").unwrap();
        assert_eq!(
            (z500.short_name.as_str(), z500.scale),
            ("gh", Some(GRAVITY))
        );
        assert!(!p.iter().find(|i| i.name == "lsm").unwrap().per_member);
        assert!(parse_params("nope-preset,").is_err());
        let l = parse_params("2t,gh_500,t_850").unwrap();
        assert_eq!(l[1].name, "z_500");
        assert_eq!(l[2].level, Some(850.0));
    }

    #[test]
    fn members_parse() {
        assert_eq!(parse_members("all").unwrap(), None);
        assert_eq!(
            parse_members("0,3,5-7")
                .unwrap()
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![0, 3, 5, 6, 7]
        );
        assert!(parse_members("x").is_err());
        assert!(parse_members("5-1").is_err());
    }

    #[test]
    fn coalesce_merges_adjacent_ranges_of_one_url() {
        let r = vec![
            ("a".to_string(), 100, 50),
            ("a".to_string(), 0, 100),
            ("b".to_string(), 0, 10),
            ("a".to_string(), 400, 10),
        ];
        let c = coalesce(&r, 0);
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].1, c[0].2, c[0].3.clone()), (0, 150, vec![1, 0]));
    }
}
