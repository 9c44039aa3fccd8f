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
    /// Whether the state can do without it (left out, and said, when the
    /// references lack it). No preset has such inputs: a model takes exactly
    /// its inputs.
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

/// Why a plan cannot be made: the one error type of this module (the
/// wasm package and the CLI show it as it is, so it names no command-line
/// flag).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A list of inputs that names none, or has an empty item.
    #[error("inputs `{spec}`: {reason} (presets: aifs-ens, aifs-single)")]
    Params { spec: String, reason: &'static str },
    /// A member selection that is malformed.
    #[error("members: `{item}` is not a member number or range (e.g. all, 0,3,7, 1-10)")]
    Members { item: String },
    /// Inputs the references do not hold (all listed together).
    #[error("the references lack {} input(s): {}", .0.len(), .0.join(", "))]
    Missing(Vec<String>),
    /// Members asked for that the references do not hold.
    #[error(
        "member(s) {} are not in the references (they hold {})",
        list(absent),
        list(held)
    )]
    MembersAbsent { absent: Vec<i64>, held: Vec<i64> },
    /// A step asked for that the references do not hold.
    #[error("step {step} h is not in the references (steps: {held:?})")]
    StepAbsent { step: i64, held: Vec<i64> },
    /// No run has the step asked for at the date asked for.
    #[error("no run in the references has step {step} h valid at the requested date")]
    NoRunForStep { step: i64 },
    /// No input times were asked for.
    #[error("no input times asked for")]
    NoInputTimes,
    /// The input times of an AIFS state are not in the references.
    #[error("{} input times need {} at {offsets} from {date} (the references hold {held})", from.name(), from.needs())]
    InputTimes {
        /// Where the input times were to come from.
        from: InputSource,
        /// The offsets of the input times, `-6 h, +0 h`.
        offsets: String,
        /// The date asked for, or "the date".
        date: String,
        /// The runs and steps the references hold.
        held: String,
    },
    /// Reading the references failed.
    #[error(transparent)]
    Refs(#[from] RefsError),
}

fn list(v: &[i64]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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

fn soil_temperature() -> Vec<Input> {
    [(1, "stl1"), (2, "stl2")]
        .into_iter()
        .map(|(l, name)| Input::new(name, "sot", "soilLayer", Some(f64::from(l))))
        .collect()
}

fn soil_moisture() -> Vec<Input> {
    [(1, "swvl1"), (2, "swvl2")]
        .into_iter()
        .map(|(l, name)| Input::new(name, "vsw", "soilLayer", Some(f64::from(l))))
        .collect()
}

/// The inputs of a preset, exactly those of a released model:
///
/// - `aifs-ens`: AIFS-ENS v1. Source: ECMWF, "Implementation of AIFS ENS v1"
///   (confluence.ecmwf.int/display/FCST/Implementation+of+AIFS+ENS+v1), its
///   table of input and output parameters, and the model card
///   (huggingface.co/ecmwf/aifs-ens-1.0) with its notebook's open-data
///   request: `10u 10v 2d 2t msl skt sp tcw`, soil temperature `sot` layers
///   1–2 (`stl1 stl2`), forcings `lsm z slor sdor`, and `gh t u v w q` on
///   the 13 open-data pressure levels. No soil moisture (`swvl1`/`swvl2`):
///   anemoi-inference stops on a state that holds inputs the model lacks.
///   `slor`: the implementation page's table lists `sdor`, `lsm` and
///   orography among the forcings but not `slor`; the checkpoint itself
///   (`aifs-ens-crps-1.0.ckpt`) has it. Its `dataset.variables`, as
///   NVIDIA/earth2studio copies them into `earth2studio/models/px/aifsens.py`
///   (`VARIABLES`, "from config.json >> dataset.variables"), put `slor` among
///   the 90 variables before the 9 generated forcings, and that model feeds
///   `x[..., :90]` plus `stl1 stl2` as the user's 92 inputs (prognostic +
///   forcing indices minus generated ones); the model card's notebook
///   requests `slor` with `lsm z sdor` from open data. So `slor` stays.
/// - `aifs-single`: AIFS-single v1.x. Source: the AIFS-single 1.1
///   checkpoint's metadata, as anemoi-inference's integration tests carry it
///   (ecmwf/anemoi-inference@29dc717:tests/integration/single-o48-1.1/metadata.json,
///   `../shared/data/anemoi/aifs-single-1.1-o48-test-metadata.json`): its 94
///   user-supplied inputs are the AIFS-ENS v1 ones plus soil moisture
///   `swvl1 swvl2` (`vsw` layers 1–2). No `tcwv`.
///
/// The computed forcings (`cos_latitude`, `insolation`, …) are not inputs:
/// the runner makes them.
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
    v.extend(soil_temperature());
    match name {
        "aifs-ens" => {}
        "aifs-single" => v.extend(soil_moisture()),
        _ => return None,
    }
    v.extend(pressure_inputs(&["gh", "t", "u", "v", "w", "q"]));
    Some(v)
}

/// The `typeOfLevel` ECMWF open data gives a surface parameter (`None`: not known).
fn surface_level_type(short_name: &str) -> Option<&'static str> {
    Some(match short_name {
        "10u" | "10v" | "2t" | "2d" | "100u" | "100v" => "heightAboveGround",
        "msl" => "meanSea",
        // (tcc: as ECMWF open data codes it, data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2)
        "tcw" | "tcwv" | "tcc" => "entireAtmosphere",
        "skt" | "sp" | "lsm" | "z" | "slor" | "sdor" | "tp" | "cp" | "sf" | "ro" | "ssrd"
        | "strd" | "hcc" | "mcc" | "lcc" => "surface",
        _ => return None,
    })
}

/// The inputs a model declares ([`crate::checkpoint::ModelSpec`]), as ECMWF
/// open data holds them: `z` on pressure levels from `gh` × g, soil
/// temperature and moisture `stl{n}`/`swvl{n}` from `sot`/`vsw` layer `n`
/// (as ECMWF's open-data input for anemoi maps them), constant fields taken
/// once for every member and time.
#[must_use]
pub fn model_inputs(spec: &crate::checkpoint::ModelSpec) -> Vec<Input> {
    let mut out = Vec::with_capacity(spec.inputs.len());
    for m in &spec.inputs {
        let name = m.name.as_str();
        // the level from MARS metadata, or from a `param_level` name
        let split = name
            .rsplit_once('_')
            .and_then(|(p, l)| l.parse::<f64>().ok().map(|l| (p, l)));
        let param = m.param.as_deref().or(split.map(|(p, _)| p)).unwrap_or(name);
        let level = m.level.or(split.map(|(_, l)| l));
        let soil = name
            .strip_prefix("stl")
            .map(|n| ("sot", n))
            .or_else(|| name.strip_prefix("swvl").map(|n| ("vsw", n)))
            .and_then(|(s, n)| n.parse::<f64>().ok().map(|n| (s, n)));
        let pressure = m.levtype.as_deref() == Some("pl")
            || (m.levtype.is_none() && split.is_some() && soil.is_none());
        let mut i = if let Some((short, layer)) = soil {
            Input::new(name, short, "soilLayer", Some(layer))
        } else if pressure {
            let short = if param == "z" { "gh" } else { param };
            let mut i = Input::new(name, short, "isobaricInhPa", level);
            if param == "z" {
                i.scale = Some(GRAVITY);
            }
            i
        } else {
            let mut i = Input::new(name, param, "", None);
            i.type_of_level = surface_level_type(param).map(String::from);
            i
        };
        i.per_member = !m.constant;
        out.push(i);
    }
    out
}

/// Parses `--params`: a preset name, or a comma list of `shortName` or
/// `shortName_level` (`2t,msl,t_850,gh_500`; `gh_L` is named `z_L` and scaled by g).
///
/// # Errors
/// [`PlanError::Params`] for an empty list or an empty item.
pub fn parse_params(spec: &str) -> Result<Vec<Input>, PlanError> {
    if let Some(p) = preset(spec) {
        return Ok(p);
    }
    let mut out = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(PlanError::Params {
                spec: spec.to_string(),
                reason: "an empty item",
            });
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
        return Err(PlanError::Params {
            spec: spec.to_string(),
            reason: "no inputs",
        });
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
        let bad = || PlanError::Members {
            item: item.to_string(),
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
    /// Each field `(times, npoints)`: the input times (by default date − 6 h
    /// and date, see [`InputTimes`]), flattened row-major (anemoi-inference).
    Aifs,
}

/// Where the input times of a [`Layout::Aifs`] state come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputSource {
    /// One forecast run: steps `s − (n − 1)·Δt … s` of the same run
    /// (valid at date − (n − 1)·Δt … date). Every time comes from one
    /// forecast, so one set of files serves all input times.
    #[default]
    Forecast,
    /// Step 0 of consecutive runs (the runs at date − (n − 1)·Δt … date),
    /// as ECMWF's open-data input for anemoi requests them: each input time
    /// is its own forecast start. Each member takes its own number's step 0
    /// of every run (the control: the control's).
    Analyses,
}

impl InputSource {
    /// The name users give it (`forecast`, `analyses`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Forecast => "forecast",
            Self::Analyses => "analyses",
        }
    }

    fn needs(self) -> &'static str {
        match self {
            Self::Forecast => "one run holding the steps",
            Self::Analyses => "step 0 of the runs",
        }
    }
}

/// The input times of a [`Layout::Aifs`] state: how many, how far apart
/// and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputTimes {
    /// Offsets from the state's date in hours, oldest first (`[-6, 0]`).
    pub lagged: Vec<i64>,
    /// Where they come from.
    pub source: InputSource,
}

impl Default for InputTimes {
    /// Two times 6 h apart from one forecast run (AIFS single and ENS v1).
    fn default() -> Self {
        Self {
            lagged: vec![-6, 0],
            source: InputSource::Forecast,
        }
    }
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
    /// The references of its time slices (1 for grid, one per input time for aifs).
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

/// `sel` with its members set to the first member a plan of `inputs` finds
/// (the control when there is one): what a viewer asks for when it names no
/// member. Unchanged when nothing can be planned (the plan then says why).
#[must_use]
pub fn first_member(store: &RefStore, inputs: &[Input], mut sel: Selection) -> Selection {
    let all = Selection {
        members: None,
        ..sel.clone()
    };
    if let Ok(p) = plan(store, inputs, &all) {
        if let Some(s) = p.states.first() {
            sel.members = Some(BTreeSet::from([s.member]));
        }
    }
    sel
}

/// The input and selection of one field of `var` at `located`, as
/// `gik extract --params {shortName}[_{level}] --members {member} --steps
/// {step}` takes them: a state holding that field alone.
///
/// # Errors
/// A short name that is not a valid input.
pub fn field_request(
    var: &crate::refs::Variable,
    axes: &crate::refs::Axes,
    located: &crate::assemble::Located,
) -> Result<(Vec<Input>, Selection), PlanError> {
    let short = Some(var.attr("GRIB_shortName"))
        .filter(|s| !s.is_empty())
        .unwrap_or(&var.name);
    let spec = match located
        .level
        .filter(|_| axes.level.as_ref().is_some_and(|(_, l)| l.len() > 1))
    {
        Some(l) => format!("{short}_{l}"),
        None => short.to_string(),
    };
    let mut inputs = parse_params(&spec)?;
    let tol = var.attr("GRIB_typeOfLevel");
    if !tol.is_empty() {
        for i in &mut inputs {
            i.type_of_level = Some(tol.to_string());
        }
    }
    let selection = Selection {
        members: Some(BTreeSet::from([located.member.unwrap_or(0)])),
        date: located.time.map(|t| t + located.step.unwrap_or(0) * 3600),
        steps: Some(vec![located.step.unwrap_or(0)]),
        layout: Layout::Grid,
        allow_missing: false,
    };
    Ok((inputs, selection))
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
/// and steps, and lists the chunks of every field of every state. A
/// [`Layout::Aifs`] state has the default [`InputTimes`] (two times 6 h
/// apart from one forecast run); [`plan_with`] takes others.
///
/// # Errors
/// [`PlanError::Missing`] listing every input the references lack (unless
/// allowed); [`PlanError::MembersAbsent`], [`PlanError::StepAbsent`],
/// [`PlanError::NoRunForStep`] or [`PlanError::InputTimes`] when the
/// members, date or steps are not there.
pub fn plan(store: &RefStore, inputs: &[Input], sel: &Selection) -> Result<Plan, PlanError> {
    plan_with(store, inputs, sel, &InputTimes::default())
}

/// `2025-01-01T06` for messages.
fn iso(seconds: i64) -> String {
    let d = crate::assemble::date_of(seconds);
    format!("{:04}-{:02}-{:02}T{:02}", d.year, d.month, d.day, d.hour)
}

/// Picks a [`Layout::Aifs`] state's slices `(valid time, step)`, oldest
/// first, from the `(run, step)` pairs the references hold.
fn aifs_slices(
    pairs: &BTreeSet<(i64, i64)>,
    date: Option<i64>,
    times: &InputTimes,
) -> Result<Vec<(i64, i64)>, PlanError> {
    let lagged = &times.lagged;
    if lagged.is_empty() {
        return Err(PlanError::NoInputTimes);
    }
    let held = || {
        let mut runs: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &(r, s) in pairs {
            runs.entry(r).or_default().push(s);
        }
        runs.iter()
            .map(|(r, s)| {
                let steps: Vec<String> = s.iter().map(ToString::to_string).collect();
                format!("run {} steps {}", iso(*r), steps.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let not_held = || {
        let offsets: Vec<String> = lagged.iter().map(|l| format!("{l:+} h")).collect();
        PlanError::InputTimes {
            from: times.source,
            offsets: offsets.join(", "),
            date: date.map_or_else(|| "the date".to_string(), iso),
            held: held(),
        }
    };
    match times.source {
        InputSource::Forecast => {
            // (date, run) of every state one run can give: steps s + lag all held
            let mut cands: Vec<(i64, i64)> = Vec::new();
            for &(run, step) in pairs {
                let ok = lagged.iter().all(|l| {
                    let s = step + l - lagged[lagged.len() - 1];
                    s >= 0 && pairs.contains(&(run, s))
                });
                if ok {
                    cands.push((run + step * 3600, run));
                }
            }
            // the latest date, from the latest run that gives it
            cands.sort_unstable();
            let chosen = match date {
                Some(d) => cands.iter().rev().find(|c| c.0 == d),
                None => cands.last(),
            };
            let Some(&(d, run)) = chosen else {
                return Err(not_held());
            };
            Ok(lagged
                .iter()
                .map(|l| (d + l * 3600, (d + l * 3600 - run) / 3600))
                .collect())
        }
        InputSource::Analyses => {
            let starts: BTreeSet<i64> = pairs
                .iter()
                .filter(|(_, s)| *s == 0)
                .map(|(r, _)| *r)
                .collect();
            let ok = |d: i64| lagged.iter().all(|l| starts.contains(&(d + l * 3600)));
            let chosen = match date {
                Some(d) => ok(d).then_some(d),
                None => starts.iter().rev().copied().find(|&d| ok(d)),
            };
            let Some(d) = chosen else {
                return Err(not_held());
            };
            Ok(lagged.iter().map(|l| (d + l * 3600, 0)).collect())
        }
    }
}

/// [`plan`] with the input times of a [`Layout::Aifs`] state: how many, how
/// far apart, and whether from one forecast run or from consecutive runs'
/// step 0 ([`InputSource`]).
///
/// # Errors
/// As [`plan`].
pub fn plan_with(
    store: &RefStore,
    inputs: &[Input],
    sel: &Selection,
    times: &InputTimes,
) -> Result<Plan, PlanError> {
    let vars = store.variables()?;
    let (resolved, mut left_out) = resolve_inputs(store, &vars, inputs, sel.allow_missing)?;
    let members = select_members(&resolved, sel.members.as_ref())?;
    // Times: valid times common to the per-member inputs, chosen from the
    // first per-member input's axes.
    let first = resolved
        .iter()
        .find(|r| r.input.per_member)
        .unwrap_or(&resolved[0]);
    let slices_per_state = match sel.layout {
        Layout::Grid => grid_slices(first, sel)?,
        Layout::Aifs => {
            let pairs = held_pairs(store, first, members.first())?;
            vec![aifs_slices(&pairs, sel.date, times)?]
        }
    };
    let mut missing = Vec::new();
    let mut states = Vec::new();
    for slices in &slices_per_state {
        for &m in &members {
            let mut fields = Vec::new();
            for r in &resolved {
                match field_plan(store, r, m, slices)? {
                    Some(f) => fields.push(f),
                    None => missing.push(format!("{} (member {m})", r.input.name)),
                }
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

/// Finds every input in the references: the resolved ones, and the names
/// left out (optional inputs, and missing ones when `allow_missing`).
fn resolve_inputs<'a>(
    store: &RefStore,
    vars: &[Variable],
    inputs: &'a [Input],
    allow_missing: bool,
) -> Result<(Vec<Resolved<'a>>, Vec<String>), PlanError> {
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    let mut left_out = Vec::new();
    for input in inputs {
        match resolve(store, vars, input)? {
            Some(r) => resolved.push(r),
            None if input.optional => left_out.push(input.name.clone()),
            None => missing.push(input.name.clone()),
        }
    }
    if !missing.is_empty() {
        if allow_missing {
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
    Ok((resolved, left_out))
}

/// The members of the states: those asked for (all held), or every member
/// of the per-member inputs.
fn select_members(
    resolved: &[Resolved<'_>],
    want: Option<&BTreeSet<i64>>,
) -> Result<Vec<i64>, PlanError> {
    let mut held = BTreeSet::new();
    for r in resolved.iter().filter(|r| r.input.per_member) {
        held.extend(r.axes.number.iter().copied());
    }
    if held.is_empty() {
        held.insert(0);
    }
    let Some(want) = want else {
        return Ok(held.into_iter().collect());
    };
    let absent: Vec<i64> = want.difference(&held).copied().collect();
    if !absent.is_empty() {
        return Err(PlanError::MembersAbsent {
            absent,
            held: held.into_iter().collect(),
        });
    }
    Ok(want.iter().copied().collect())
}

fn steps_of(r: &Resolved<'_>) -> Vec<i64> {
    if r.axes.step.is_empty() {
        vec![0]
    } else {
        r.axes.step.clone()
    }
}

/// [`Layout::Grid`]: one state per step asked for (default: the first),
/// each of one slice `(valid time, step)`.
fn grid_slices(first: &Resolved<'_>, sel: &Selection) -> Result<Vec<Vec<(i64, i64)>>, PlanError> {
    let held = steps_of(first);
    let vts = valid_times(&first.axes);
    let steps = match &sel.steps {
        Some(s) => s.clone(),
        None => vec![held.first().copied().unwrap_or(0)],
    };
    let mut out = Vec::new();
    for s in steps {
        let Some(si) = held.iter().position(|x| *x == s) else {
            return Err(PlanError::StepAbsent {
                step: s,
                held: held.clone(),
            });
        };
        let cands: Vec<_> = vts.iter().filter(|(_, ssi, _)| *ssi == si).collect();
        let chosen = match sel.date {
            Some(d) => cands.iter().find(|(_, _, v)| *v == d).copied(),
            None => cands.last().copied(),
        };
        let Some(&(_, _, v)) = chosen else {
            return Err(PlanError::NoRunForStep { step: s });
        };
        out.push(vec![(v, s)]);
    }
    Ok(out)
}

/// The `(run, step)` pairs the references really hold for `first` (runs ×
/// steps is a grid with holes when runs have different steps), for the
/// first member asked for.
fn held_pairs(
    store: &RefStore,
    first: &Resolved<'_>,
    member: Option<&i64>,
) -> Result<BTreeSet<(i64, i64)>, PlanError> {
    let step_at = |si: usize| first.axes.step.get(si).copied().unwrap_or(0);
    let mi = match (first.axes.number_is_dim, member) {
        (true, Some(m)) => first.axes.number.iter().position(|x| x == m),
        _ => None,
    };
    let mut pairs = BTreeSet::new();
    for (ti, si, v) in valid_times(&first.axes) {
        if chunk_for(first, store, ti, si, mi)?.is_some() {
            pairs.insert((v - step_at(si) * 3600, step_at(si)));
        }
    }
    Ok(pairs)
}

/// The chunks of input `r` for member `m` at every slice, or `None` when
/// one is not in the references.
fn field_plan(
    store: &RefStore,
    r: &Resolved<'_>,
    m: i64,
    slices: &[(i64, i64)],
) -> Result<Option<FieldPlan>, PlanError> {
    let member_index = if r.axes.number_is_dim {
        let want = if r.input.per_member {
            m
        } else {
            *r.axes.number.first().unwrap_or(&0)
        };
        match r.axes.number.iter().position(|x| *x == want) {
            Some(i) => Some(i),
            None if !r.input.per_member => Some(0),
            None => return Ok(None),
        }
    } else {
        None
    };
    let r_vts = valid_times(&r.axes);
    let mut parts = Vec::new();
    for &(valid, step) in slices {
        // The same run and step; constant fields (at step 0 only, or in
        // one run only) fall back to another time.
        let hit = r_vts
            .iter()
            .rev()
            .find(|x| x.2 == valid && r.axes.step.get(x.1).copied().unwrap_or(0) == step)
            .or_else(|| {
                if r.input.per_member {
                    None
                } else {
                    r_vts
                        .iter()
                        .rev()
                        .find(|x| x.2 == valid)
                        .or_else(|| r_vts.last())
                }
            });
        let chunk = match hit {
            Some(&(ti, si, _)) => chunk_for(r, store, ti, si, member_index)?,
            None => None,
        };
        match chunk {
            Some(c) => parts.push(c),
            None => return Ok(None),
        }
    }
    Ok(Some(FieldPlan {
        name: r.input.name.clone(),
        parts,
        grid: grid_of(&r.var),
        scale: r.input.scale,
        source: r.var.path.clone(),
    }))
}

/// Member names as the original pipeline's files use them.
#[must_use]
pub fn state_file_name(member: i64, step: Option<i64>) -> String {
    match step {
        None => format!("input_state_member_{member:03}.pkl"),
        Some(s) => format!("input_state_member_{member:03}_step_{s:03}.pkl"),
    }
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
    fn presets_are_the_released_models_inputs_exactly() {
        let names =
            |p: &str| -> Vec<String> { preset(p).unwrap().into_iter().map(|i| i.name).collect() };
        let (ens, single) = (names("aifs-ens"), names("aifs-single"));
        assert_eq!((ens.len(), single.len()), (92, 94));
        for n in ["swvl1", "swvl2", "tcwv"] {
            assert!(!ens.contains(&n.to_string()), "aifs-ens has {n}");
        }
        assert!(single.contains(&"swvl2".to_string()));
        assert!(!single.contains(&"tcwv".to_string()));
        assert!(preset("aifs-single")
            .unwrap()
            .iter()
            .chain(&preset("aifs-ens").unwrap())
            .all(|i| !i.optional));
    }

    #[test]
    fn model_inputs_map_to_open_data_parameters() {
        let meta = br#"{"config": {"data": {"forcing": ["z", "cos_latitude"], "timestep": "6h"},
            "training": {"multistep_input": 3}},
            "dataset": {"variables": ["z", "z_500", "t_850", "stl1", "swvl2", "10u", "cos_latitude"],
                "variables_metadata": {
                    "z": {"constant_in_time": true, "mars": {"param": "z", "levtype": "sfc"}},
                    "z_500": {"mars": {"param": "z", "levtype": "pl", "levelist": 500}},
                    "stl1": {"mars": {"param": "stl1", "levtype": "sfc"}},
                    "cos_latitude": {"computed_forcing": true, "constant_in_time": true}}},
            "data_indices": {"data": {"input": {"prognostic": [1, 2, 3, 4, 5]}}}}"#;
        let spec = crate::checkpoint::ModelSpec::from_json(meta).unwrap();
        let got: Vec<_> = model_inputs(&spec)
            .into_iter()
            .map(|i| {
                (
                    i.name,
                    i.short_name,
                    i.type_of_level,
                    i.level,
                    i.per_member,
                    i.scale,
                )
            })
            .collect();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            got,
            vec![
                ("z".into(), "z".into(), s("surface"), None, false, None),
                (
                    "z_500".into(),
                    "gh".into(),
                    s("isobaricInhPa"),
                    Some(500.0),
                    true,
                    Some(GRAVITY)
                ),
                // no MARS metadata: the level from the name
                (
                    "t_850".into(),
                    "t".into(),
                    s("isobaricInhPa"),
                    Some(850.0),
                    true,
                    None
                ),
                (
                    "stl1".into(),
                    "sot".into(),
                    s("soilLayer"),
                    Some(1.0),
                    true,
                    None
                ),
                (
                    "swvl2".into(),
                    "vsw".into(),
                    s("soilLayer"),
                    Some(2.0),
                    true,
                    None
                ),
                (
                    "10u".into(),
                    "10u".into(),
                    s("heightAboveGround"),
                    None,
                    true,
                    None
                ),
            ]
        );
        assert_eq!(spec.lagged_hours(), [-12, -6, 0]);
    }

    #[test]
    fn input_times_from_one_run_or_from_consecutive_runs() {
        let h = 3600;
        // two runs (00 and 06 UTC), steps 0, 6 and 12
        let pairs: BTreeSet<(i64, i64)> = [0, 6 * h]
            .into_iter()
            .flat_map(|r| [0, 6, 12].map(|s| (r, s)))
            .collect();
        let forecast = InputTimes::default();
        // the latest date one run gives: 06 UTC run, steps 6 and 12
        assert_eq!(
            aifs_slices(&pairs, None, &forecast).unwrap(),
            vec![(12 * h, 6), (18 * h, 12)]
        );
        // a given date from the latest run that holds it
        assert_eq!(
            aifs_slices(&pairs, Some(6 * h), &forecast).unwrap(),
            vec![(0, 0), (6 * h, 6)]
        );
        let analyses = InputTimes {
            lagged: vec![-6, 0],
            source: InputSource::Analyses,
        };
        assert_eq!(
            aifs_slices(&pairs, None, &analyses).unwrap(),
            vec![(0, 0), (6 * h, 0)]
        );
        let e = aifs_slices(&pairs, Some(12 * h), &analyses).unwrap_err();
        assert!(
            e.to_string().contains("step 0 of the runs at -6 h, +0 h"),
            "{e}"
        );
        // one run only: analyses cannot pair it
        let one: BTreeSet<(i64, i64)> = [(0, 0), (0, 6)].into_iter().collect();
        let e = aifs_slices(&one, None, &analyses).unwrap_err();
        assert!(
            e.to_string().contains("run 1970-01-01T00 steps 0, 6"),
            "{e}"
        );
        // three input times 6 h apart from one run
        let three = InputTimes {
            lagged: vec![-12, -6, 0],
            source: InputSource::Forecast,
        };
        assert_eq!(
            aifs_slices(&pairs, None, &three).unwrap(),
            vec![(6 * h, 0), (12 * h, 6), (18 * h, 12)]
        );
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
}
