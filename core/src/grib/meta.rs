//! Field metadata with the names ecCodes and kerchunk users know.
//!
//! Every value is computed the way ecCodes 2.50 computes the key of the
//! same name, from ecCodes' own definition tables (see [`super::tables`]):
//! parameter names (`paramId`, `shortName`, `cfVarName`, `name`, `units`)
//! and `typeOfLevel` are ecCodes concepts evaluated with ecCodes' matching
//! rule, including its centre-local tables, pseudo-centre datasets (TIGGE,
//! S2S, DestinE, …) and the pre/post "MTG2" parameter encodings.

mod grid;
mod keys;
mod step;

use std::borrow::Cow;

use self::keys::Env;
use super::frame::Field;
use super::section::Section;
use super::tables::{self, k, MISSING_LONG};
use crate::Result;

/// A calendar date and time (UTC), as GRIB2 carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DateTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl DateTime {
    /// Seconds since 1970-01-01T00:00:00 (UTC).
    #[must_use]
    pub fn epoch_seconds(&self) -> i64 {
        crate::time::epoch_seconds(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
            i64::from(self.hour),
            i64::from(self.minute),
            i64::from(self.second),
        )
    }

    /// `YYYYMMDD`.
    #[must_use]
    pub fn date(&self) -> u32 {
        u32::try_from(self.year).unwrap_or(0) * 10000
            + u32::from(self.month) * 100
            + u32::from(self.day)
    }

    /// `HHMM`.
    #[must_use]
    pub fn time(&self) -> u32 {
        u32::from(self.hour) * 100 + u32::from(self.minute)
    }
}

/// The grid of a field (GRIB2 section 3).
///
/// A key ecCodes reports as missing (e.g. `Ni` of a reduced Gaussian grid,
/// `iDirectionIncrementInDegrees` when the increment is not given) is `None`,
/// as is a key the grid template does not define.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    /// ecCodes `gridType`: `regular_ll`, `regular_gg`, `reduced_gg`, `lambert`, `polar_stereographic`, …
    pub grid_type: String,
    /// Grid definition template number (3.N).
    pub template: u16,
    /// ecCodes `numberOfDataPoints`.
    pub number_of_data_points: u64,
    /// Points along a parallel (`Ni`), when defined.
    pub ni: Option<u32>,
    /// Points along a meridian (`Nj`), when defined.
    pub nj: Option<u32>,
    pub lat_first: Option<f64>,
    pub lon_first: Option<f64>,
    pub lat_last: Option<f64>,
    pub lon_last: Option<f64>,
    /// `iDirectionIncrementInDegrees`.
    pub di: Option<f64>,
    /// `jDirectionIncrementInDegrees`.
    pub dj: Option<f64>,
    /// Scanning mode flags (octet 72 of template 3.0).
    pub scanning_mode: u8,
}

impl Grid {
    /// ecCodes `scanningMode`, for the grid templates that define it.
    #[must_use]
    pub fn scanning_mode_key(&self) -> Option<u8> {
        matches!(self.template, 0..=3 | 10 | 20 | 30 | 31 | 40..=43 | 150)
            .then_some(self.scanning_mode)
    }
}

/// Everything gik knows about a field before decoding its values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldMeta {
    pub centre: String,
    pub stream: Option<String>,
    /// ecCodes `type` (`fc`, `cf`, `pf`, `an`, …).
    pub data_type: Option<String>,
    pub short_name: String,
    pub cf_var_name: String,
    pub name: String,
    pub units: String,
    pub param_id: u32,
    pub discipline: u8,
    pub parameter_category: u8,
    pub parameter_number: u8,
    pub type_of_level: String,
    pub level: i64,
    pub step_type: String,
    pub step_range: String,
    /// `startStep`, counted in [`FieldMeta::step_units`].
    pub start_step: i64,
    /// `endStep`, counted in [`FieldMeta::step_units`].
    pub end_step: i64,
    /// Perturbation number (`number`), when the product template has one.
    pub number: Option<i64>,
    pub data_date: u32,
    pub data_time: u32,
    pub validity_date: u32,
    pub validity_time: u32,
    pub reference_time: DateTime,
    pub validity_time_full: DateTime,
    pub product_definition_template: u16,
    pub data_representation_template: u16,
    pub packing_type: String,
    pub grid: Grid,
    pub number_of_values: u64,
    pub bitmap_present: bool,
    pub bits_per_value: u8,
    pub reference_value: f64,
    pub binary_scale_factor: i32,
    pub decimal_scale_factor: i32,
    pub ccsds_flags: Option<u8>,
    pub ccsds_block_size: Option<u32>,
    pub ccsds_rsi: Option<u32>,
    /// ecCodes `stepUnits`, the unit of `start_step`/`end_step` (code table
    /// 4.4: 0 minute, 1 hour, 13 second, …); `None` is read as hours.
    pub step_units: Option<u8>,
    /// `subCentre`.
    pub sub_centre: u16,
    /// `tablesVersion` (GRIB master tables version).
    pub tables_version: u8,
    /// `localTablesVersion`.
    pub local_tables_version: u8,
    /// MARS `class` (`od`, `ai`, …) when the message carries ECMWF MARS labelling.
    pub class: Option<String>,
    /// MARS `expver` (`0001`, …) when the message carries ECMWF MARS labelling.
    pub expver: Option<String>,
}

impl FieldMeta {
    fn units(&self) -> u8 {
        self.step_units.unwrap_or(step::HOUR)
    }

    /// `startStep` as ecCodes prints it: `6`, or with a unit suffix (`30m`)
    /// when the step unit is not the hour.
    #[must_use]
    pub fn start_step_str(&self) -> String {
        step::format_step(self.start_step, self.units())
    }

    /// `endStep` as ecCodes prints it (see [`FieldMeta::start_step_str`]).
    #[must_use]
    pub fn end_step_str(&self) -> String {
        step::format_step(self.end_step, self.units())
    }

    /// Whether ecCodes reports the steps as integers (hours) rather than strings.
    #[must_use]
    pub fn steps_in_hours(&self) -> bool {
        self.units() == step::HOUR
    }

    /// `startStep` in seconds, when the unit is known.
    #[must_use]
    pub fn start_step_seconds(&self) -> Option<i64> {
        step::step_seconds(self.start_step, self.units())
    }

    /// `endStep` in seconds, when the unit is known.
    #[must_use]
    pub fn end_step_seconds(&self) -> Option<i64> {
        step::step_seconds(self.end_step, self.units())
    }
}

/// MARS labelling from an ECMWF local section.
struct MarsLabels {
    class: i64,
    data_type: i64,
    stream: i64,
    expver: String,
}

/// Reads section 2 like ecCodes' `section.2.def`: the dataset-specific
/// prefix (TIGGE, UERRA, CRRA, DestinE), the local definition number and,
/// for ECMWF (`centreForLocal` 98), the MARS labelling.
fn read_local(
    s2: &Section<'_>,
    env: &mut Env,
    centre_for_local: u16,
    production_status: i64,
) -> Option<MarsLabels> {
    if s2.len() <= 5 {
        return None;
    }
    let mut pos = 6;
    match production_status {
        4 | 5 | 10 | 11 => {
            // tiggeLocalVersion / crraLocalVersion, then suiteName.
            if s2.u16(pos).ok()? != 1 {
                return None;
            }
            pos += 4;
        }
        8 | 9 => {
            // uerraLocalVersion, then experimentVersionNumber.
            if s2.u16(pos).ok()? != 1 {
                return None;
            }
            pos += 6;
        }
        12 | 13 => {
            let version = s2.u16(pos).ok()?;
            let dataset = s2.u16(pos + 2).ok()?;
            pos += 4;
            match dataset {
                1 => {
                    // climate-dt: activity, experiment, generation, model, realization, resolution.
                    env.set(k::GENERATION, i64::from(s2.u8(pos + 4).ok()?));
                    pos += 10;
                }
                4 => pos += 8, // on-demand-extremes-dt: georef
                _ => {}
            }
            match version {
                1 => {}
                2 => pos += 2, // tilescheme
                _ => return None,
            }
        }
        14..=17 => return None,
        _ => {}
    }
    let local_number = s2.u16(pos).ok()?;
    pos += 2;
    if centre_for_local != 98 || local_number == 0 {
        return None;
    }
    let class = i64::from(s2.u16(pos).ok()?);
    let data_type = i64::from(s2.u16(pos + 2).ok()?);
    let stream = i64::from(s2.u16(pos + 4).ok()?);
    let expver = s2
        .bytes
        .get(pos + 5..pos + 9)
        .map(|b| String::from_utf8_lossy(b).into_owned())?;
    Some(MarsLabels {
        class,
        data_type,
        stream,
        expver,
    })
}

/// ecCodes `g2level`: the value of a fixed surface, in hPa for pressure.
/// Also says whether ecCodes switches `pressureUnits` to Pa (pressure below 1 hPa).
fn g2level(
    type_first: i64,
    scale_first: Option<i64>,
    value_first: Option<i64>,
    tigge: bool,
) -> (i64, bool) {
    let Some(value) = value_first else {
        return (0, false);
    };
    if value == MISSING_LONG {
        return (0, false);
    }
    let mut v = value as f64;
    let mut scale = scale_first.unwrap_or(0);
    if scale != MISSING_LONG {
        if type_first == 109 {
            // Potential vorticity: 1e-9 K m2 kg-1 s-1 (TIGGE: 1e-6)
            scale -= if tigge { 6 } else { 9 };
        }
        while scale < 0 && v != 0.0 {
            v *= 10.0;
            scale += 1;
        }
        while scale > 0 && v != 0.0 {
            v /= 10.0;
            scale -= 1;
        }
    }
    let mut to_pa = false;
    if type_first == 100 {
        let x = (v / 100.0) as i64;
        if scale == 0 && x == 0 {
            to_pa = true;
        } else {
            v = x as f64;
        }
    }
    ((v + 0.5) as i64, to_pa)
}

fn string_or(v: Option<&'static str>, default: &'static str) -> String {
    v.unwrap_or(default).to_string()
}

/// What section 1 gives the later phases of [`Field::meta`].
struct Identification {
    centre_name: Cow<'static, str>,
    /// `centreForLocal`: the sub-centre when it is ECMWF (98), else the centre.
    centre_for_local: u16,
    tables_version: u8,
    production_status: i64,
    reference_time: DateTime,
}

/// Reads section 1 (identification) into `env` and `m`.
fn read_identification(
    s1: &Section<'_>,
    env: &mut Env,
    m: &mut FieldMeta,
) -> Result<Identification> {
    let centre = s1.u16(6)?;
    let sub_centre = s1.u16(8)?;
    let tables_version = s1.u8(10)?;
    let local_tables_version = s1.u8(11)?;
    let reference_time = DateTime {
        year: i32::from(s1.u16(13)?),
        month: s1.u8(15)?,
        day: s1.u8(16)?,
        hour: s1.u8(17)?,
        minute: s1.u8(18)?,
        second: s1.u8(19)?,
    };
    let production_status = i64::from(s1.u8(20)?);
    let type_of_processed_data = i64::from(s1.u8(21)?);
    let centre_name = tables::centre_abbreviation(centre);
    env.set(k::CENTRE, i64::from(centre));
    env.set_str(k::CENTRE, centre_name.clone());
    env.set(k::SUB_CENTRE, i64::from(sub_centre));
    env.set(k::TABLES_VERSION, i64::from(tables_version));
    env.set(k::LOCAL_TABLES_VERSION, i64::from(local_tables_version));
    env.set(k::PRODUCTION_STATUS_OF_PROCESSED_DATA, production_status);
    env.set(k::TYPE_OF_PROCESSED_DATA, type_of_processed_data);
    m.centre = centre_name.clone().into_owned();
    m.sub_centre = sub_centre;
    m.tables_version = tables_version;
    m.local_tables_version = local_tables_version;
    m.reference_time = reference_time;
    m.data_date = reference_time.date();
    m.data_time = reference_time.time();
    Ok(Identification {
        centre_name,
        centre_for_local: if sub_centre == 98 { 98 } else { centre },
        tables_version,
        production_status,
        reference_time,
    })
}

/// Reads section 2's MARS labelling (if any) into `env` and `m`.
fn read_labels(
    s2: Option<&Section<'_>>,
    env: &mut Env,
    m: &mut FieldMeta,
    id: &Identification,
) -> Option<MarsLabels> {
    let labels = s2.and_then(|s2| read_local(s2, env, id.centre_for_local, id.production_status));
    if let Some(l) = &labels {
        env.set(k::MARS_CLASS, l.class);
        env.set_str(k::MARS_CLASS, tables::mars_class(l.class));
        env.set(k::MARS_TYPE, l.data_type);
        env.set_str(k::MARS_TYPE, tables::mars_type(l.data_type));
        env.set(k::MARS_STREAM, l.stream);
        env.set_str(k::MARS_STREAM, tables::mars_stream(l.stream));
        m.class = Some(tables::mars_class(l.class).into_owned());
        m.data_type = Some(tables::mars_type(l.data_type).into_owned());
        m.stream = Some(tables::mars_stream(l.stream).into_owned());
        m.expver = Some(l.expver.clone());
    }
    labels
}

/// Reads section 4 (product definition template and parameter) into `env` and `m`;
/// gives the template when ecCodes defines it.
fn read_product(
    s4: &Section<'_>,
    env: &mut Env,
    m: &mut FieldMeta,
) -> Result<Option<&'static tables::Pdt>> {
    let nv = s4.u16(6)?;
    let pdtn = s4.u16(8)?;
    env.set(k::NV, i64::from(nv));
    env.set(k::PRODUCT_DEFINITION_TEMPLATE_NUMBER, i64::from(pdtn));
    m.product_definition_template = pdtn;
    let pdt = tables::pdt(pdtn);
    match pdt {
        Some(p) => {
            env.read_template(s4, p);
            for (key, name) in [
                (k::IS_CHEMICAL, "is_chemical"),
                (k::IS_CHEMICAL_SRCSINK, "is_chemical_srcsink"),
                (k::IS_CHEMICAL_DISTFN, "is_chemical_distfn"),
                (k::IS_AEROSOL, "is_aerosol"),
                (k::IS_AEROSOL_OPTICAL, "is_aerosol_optical"),
                (k::SELECT_STEP_TEMPLATE_INSTANT, "selectStepTemplateInstant"),
                (
                    k::SELECT_STEP_TEMPLATE_INTERVAL,
                    "selectStepTemplateInterval",
                ),
            ] {
                env.set(key, i64::from(p.flag(name)));
            }
        }
        None => {
            // A template ecCodes does not define: nearly all start with the parameter.
            if let (Ok(c), Ok(n)) = (s4.u8(10), s4.u8(11)) {
                env.set(k::PARAMETER_CATEGORY, i64::from(c));
                env.set(k::PARAMETER_NUMBER, i64::from(n));
            }
        }
    }
    let type_first = env.get(k::TYPE_OF_FIRST_FIXED_SURFACE);
    env.set_str(k::PRESSURE_UNITS, "hPa");
    env.set(
        k::GEN_VERT_HEIGHT_COORDS,
        i64::from(type_first == Some(150)),
    );
    m.parameter_category = env
        .get(k::PARAMETER_CATEGORY)
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or(0);
    m.parameter_number = env
        .get(k::PARAMETER_NUMBER)
        .and_then(|v| u8::try_from(v).ok())
        .unwrap_or(0);
    Ok(pdt)
}

/// The concept directories that apply to a field (`g2_concept_dir`): local first, then master.
struct ConceptDirs {
    local: Cow<'static, str>,
    master: Cow<'static, str>,
}

impl ConceptDirs {
    /// The directories for the field's dataset (`datasetForLocal`) or, without one, its centre.
    fn new(env: &Env, centre_name: &str) -> Self {
        let dataset = keys::inline(env, tables::DATASET_FOR_LOCAL).unwrap_or("unknown");
        if dataset == "unknown" {
            Self {
                local: Cow::Owned(format!("grib2/localConcepts/{centre_name}")),
                master: Cow::Borrowed("grib2"),
            }
        } else {
            Self {
                local: Cow::Borrowed("grib2"),
                master: Cow::Owned(format!("grib2/localConcepts/{dataset}")),
            }
        }
    }

    /// Evaluates the concept `file` in these directories.
    fn concept(&self, env: &Env, file: &str) -> Option<&'static str> {
        keys::concept_in(env, &self.local, &self.master, file)
    }
}

/// ecCodes' `MTG2Switch`: which parameter encoding (0 pre-MTG2, 1 MTG2, 2 chemical split) applies.
fn mtg2_switch(env: &Env, dirs: &ConceptDirs, tables_version: u8) -> i64 {
    let via_tables_version = dirs
        .concept(env, "MTG2SwitchViaTablesVersionConcept.def")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let mtg2_default = if via_tables_version != 0 {
        if tables_version <= 33 {
            0
        } else if matches!(env.get_str(k::MARS_CLASS), Some("mc" | "cr" | "a5")) {
            2
        } else {
            1
        }
    } else {
        1
    };
    dirs.concept(env, "MTG2SwitchConcept.def")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(mtg2_default)
}

/// Sets `stepTypeInternal` and `stepType` in `env` and `m`.
fn read_step_type(env: &mut Env, m: &mut FieldMeta, statistical: bool) {
    let n_ranges = env.get(k::NUMBER_OF_TIME_RANGES);
    let step_type_internal = if statistical {
        match n_ranges {
            Some(1 | 2) => keys::inline(env, tables::STEP_TYPE_INTERNAL_STATISTICAL),
            _ => Some("multiple steps"),
        }
    } else {
        Some("instant")
    };
    if let Some(sti) = step_type_internal {
        env.set_str(k::STEP_TYPE_INTERNAL, sti);
    }
    let step_type = if step_type_internal == Some("multiple steps") {
        Some("multiple steps")
    } else {
        keys::inline(env, tables::STEP_TYPE)
    };
    if let Some(st) = step_type {
        env.set_str(k::STEP_TYPE, st);
    }
    m.step_type = string_or(step_type, "unknown");
}

/// Evaluates the parameter concepts: paramId, shortName, name, units, cfVarName.
fn read_parameter(env: &Env, m: &mut FieldMeta, dirs: &ConceptDirs, mtg2: i64) {
    let variant = match mtg2 {
        0 => ".lte33",
        2 => ".chemsplit",
        _ => "",
    };
    let param = |env: &Env, name: &str| {
        let file = format!("{name}{variant}.def");
        dirs.concept(env, &file)
            .or_else(|| keys::concept_in(env, "grib2/localConcepts/ecmf", "grib2", &file))
            .or_else(|| {
                keys::concept_in(
                    env,
                    "grib2/localConcepts/ecmf",
                    "grib2",
                    &format!("{name}.legacy.def"),
                )
            })
    };
    m.param_id = param(env, "paramId")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    m.short_name = string_or(param(env, "shortName"), "unknown");
    m.name = string_or(param(env, "name"), "unknown");
    m.units = string_or(param(env, "units"), "unknown");
    m.cf_var_name = match dirs.concept(env, "cfVarName.def") {
        Some(v) => v.to_string(),
        None if m.short_name == "~" || m.short_name.starts_with(|c: char| c.is_ascii_digit()) => {
            format!("p{}", m.param_id)
        }
        None => m.short_name.clone(),
    };
}

/// Reads `level` and `typeOfLevel` (switching `pressureUnits` to Pa where ecCodes does).
fn read_level(env: &mut Env, m: &mut FieldMeta, dirs: &ConceptDirs, production_status: i64) {
    // With one surface, ecCodes reads `level` while parsing, and a pressure
    // below 1 hPa switches `pressureUnits` to Pa before `typeOfLevel` is looked up.
    let type_first = env.get(k::TYPE_OF_FIRST_FIXED_SURFACE);
    let (level, to_pa) = type_first.map_or((0, false), |t| {
        g2level(
            t,
            env.get(k::SCALE_FACTOR_OF_FIRST_FIXED_SURFACE),
            env.get(k::SCALED_VALUE_OF_FIRST_FIXED_SURFACE),
            matches!(production_status, 4 | 5),
        )
    });
    if to_pa && env.get(k::TYPE_OF_SECOND_FIXED_SURFACE) == Some(255) {
        env.set_str(k::PRESSURE_UNITS, "Pa");
    }
    // ecCodes aliases `level` to the second surface for layers between two
    // levels of the same kind (soil, sea ice, ocean model, snow layers).
    let type_second = env.get(k::TYPE_OF_SECOND_FIXED_SURFACE);
    m.level = match (type_first, type_second) {
        (Some(t @ (151 | 152 | 168 | 114)), Some(t2)) if t2 == t => {
            g2level(
                t,
                env.get(k::SCALE_FACTOR_OF_SECOND_FIXED_SURFACE),
                env.get(k::SCALED_VALUE_OF_SECOND_FIXED_SURFACE),
                matches!(production_status, 4 | 5),
            )
            .0
        }
        _ => level,
    };
    m.type_of_level = if type_first.is_some() {
        string_or(dirs.concept(env, "typeOfLevelConcept.def"), "unknown")
    } else {
        "unknown".to_string()
    };
}

/// MARS stream and type of the datasets without a local section (TIGGE, S2S, UERRA, CRRA, LC-GCR).
fn read_mars_without_local(env: &mut Env, m: &mut FieldMeta, production_status: i64) {
    // The first (outermost) time range, as CRRA and LC-GCR streams test it.
    if env.get(k::TYPE_OF_STATISTICAL_PROCESSING).is_some() {
        if let Some(&v) = env.list(k::LENGTH_OF_TIME_RANGE).and_then(|l| l.first()) {
            env.set(k::OUTER_LOOP_LENGTH_OF_TIME_RANGE, v);
        }
        if let Some(&v) = env.list(k::TYPE_OF_TIME_INCREMENT).and_then(|l| l.first()) {
            env.set(k::OUTER_LOOP_TYPE_OF_TIME_INCREMENT, v);
        }
    }
    let products = match production_status {
        4 | 5 => Some((tables::TIGGE_MARS_STREAM, tables::TIGGE_MARS_TYPE)),
        6 | 7 => Some((tables::S2S_MARS_STREAM, tables::S2S_MARS_TYPE)),
        8 | 9 => Some((tables::UERRA_MARS_STREAM, tables::UERRA_MARS_TYPE)),
        10 | 11 => Some((tables::CRRA_MARS_STREAM, tables::CRRA_MARS_TYPE)),
        14 | 15 => Some((tables::LCGCR_MARS_STREAM, tables::LCGCR_MARS_TYPE)),
        _ => None,
    };
    if let Some((stream, data_type)) = products {
        m.stream = Some(string_or(keys::inline(env, stream), "unknown"));
        m.data_type = Some(string_or(keys::inline(env, data_type), "unknown"));
    }
}

/// Computes the steps (`stepUnits`, `startStep`, `endStep`, `stepRange`) into `m`.
fn read_steps(env: &Env, m: &mut FieldMeta, statistical: bool, mtg2: i64) {
    let ranges = match (
        env.list(k::TYPE_OF_TIME_INCREMENT),
        env.list(k::INDICATOR_OF_UNIT_FOR_TIME_RANGE),
        env.list(k::LENGTH_OF_TIME_RANGE),
    ) {
        (Some(a), Some(b), Some(c)) => a
            .iter()
            .zip(b)
            .zip(c)
            .map(|((a, b), c)| (*a, *b, *c))
            .collect(),
        _ => Vec::new(),
    };
    let step_keys = step::StepKeys {
        forecast_time: env.get(k::FORECAST_TIME),
        forecast_unit: env.get(k::INDICATOR_OF_UNIT_OF_TIME_RANGE),
        range_length: env.get(k::LENGTH_OF_TIME_RANGE),
        range_unit: env.get(k::INDICATOR_OF_UNIT_FOR_TIME_RANGE),
        ranges,
        statistical,
        mtg2_switch: mtg2,
    };
    match step::steps(&step_keys) {
        Some(st) => {
            m.step_units = Some(st.units);
            m.start_step = st.start;
            m.end_step = st.end;
            m.step_range = step::step_range(&st);
        }
        None => {
            m.step_units = None;
            m.step_range = "unknown".to_string();
        }
    }
}

/// Computes the validity date and time into `m`: the end of the overall
/// interval for statistical products, else the reference time plus the start step.
fn read_validity(env: &Env, m: &mut FieldMeta, statistical: bool, reference_time: DateTime) {
    let end_of_interval = [
        k::YEAR_OF_END_OF_OVERALL_TIME_INTERVAL,
        k::MONTH_OF_END_OF_OVERALL_TIME_INTERVAL,
        k::DAY_OF_END_OF_OVERALL_TIME_INTERVAL,
        k::HOUR_OF_END_OF_OVERALL_TIME_INTERVAL,
        k::MINUTE_OF_END_OF_OVERALL_TIME_INTERVAL,
        k::SECOND_OF_END_OF_OVERALL_TIME_INTERVAL,
    ]
    .map(|key| env.get(key));
    if statistical {
        let [y, mo, d, h, mi, se] = end_of_interval.map(|v| v.unwrap_or(0));
        m.validity_date = u32::try_from(y * 10000 + mo * 100 + d).unwrap_or(0);
        m.validity_time = u32::try_from(h * 100 + mi).unwrap_or(0);
        m.validity_time_full = DateTime {
            year: i32::try_from(y).unwrap_or(0),
            month: u8::try_from(mo).unwrap_or(0),
            day: u8::try_from(d).unwrap_or(0),
            hour: u8::try_from(h).unwrap_or(0),
            minute: u8::try_from(mi).unwrap_or(0),
            second: u8::try_from(se).unwrap_or(0),
        };
    } else {
        let (vd, vt) = step::validity(m.data_date, m.data_time, m.start_step, m.units());
        m.validity_date = vd;
        m.validity_time = vt;
        m.validity_time_full =
            step::add_seconds(reference_time, m.start_step_seconds().unwrap_or(0));
    }
}

/// Reads section 5 (data representation: packing and its parameters) into `env` and `m`.
fn read_packing(s5: &Section<'_>, env: &mut Env, m: &mut FieldMeta) -> Result<()> {
    m.number_of_values = u64::from(s5.u32(6)?);
    let drtn = s5.u16(10)?;
    m.data_representation_template = drtn;
    env.set(k::DATA_REPRESENTATION_TEMPLATE_NUMBER, i64::from(drtn));
    m.packing_type = string_or(keys::inline(env, tables::PACKING_TYPE), "unknown");
    match drtn {
        4 => {}
        200 => {
            m.bits_per_value = s5.u8(12)?;
            m.decimal_scale_factor = i32::from(s5.u8(17)?);
        }
        0..=3 | 40..=42 | 50..=53 | 61 | 40000 | 40010 | 50001 | 50002 => {
            m.reference_value = f64::from(s5.f32(12)?);
            m.binary_scale_factor = i32::from(s5.i16(16)?);
            m.decimal_scale_factor = i32::from(s5.i16(18)?);
            m.bits_per_value = s5.u8(20)?;
            if drtn == 42 {
                m.ccsds_flags = Some(s5.u8(22)?);
                m.ccsds_block_size = Some(u32::from(s5.u8(23)?));
                m.ccsds_rsi = Some(u32::from(s5.u16(24)?));
            }
        }
        _ => {}
    }
    Ok(())
}

impl Field<'_> {
    /// Reads the field's metadata.
    ///
    /// Fails when the loaded concept tables lack rows this message could match.
    fn check_tables(&self, env: &Env) -> Result<()> {
        let dcn = keys::triple(env);
        if tables::concepts_cover(dcn) {
            return Ok(());
        }
        let [_, discipline, category, number] = dcn.unwrap_or(0).to_be_bytes();
        Err(crate::Error::ParameterTables {
            offset: self.msg_offset,
            discipline,
            category,
            number,
        })
    }

    /// Names are those ecCodes 2.50 gives; where ecCodes would have no value
    /// gik puts `unknown` (names) or leaves the key out (`None`).
    ///
    /// # Errors
    /// A truncated section 1, 3, 4 or 5 header.
    pub fn meta(&self) -> Result<FieldMeta> {
        let s = &self.sections;
        let mut env = Env::default();
        let mut m = FieldMeta::default();
        env.set(k::TRUE, 1);
        env.set(k::FALSE, 0);
        env.set(k::DUMMY, 1);
        env.set(k::DUMMYC, 0);
        env.set(k::DISCIPLINE, i64::from(self.discipline));
        m.discipline = self.discipline;

        let id = read_identification(&s.s1, &mut env, &mut m)?;
        // Section 2: ECMWF MARS labelling.
        let labels = read_labels(s.s2.as_ref(), &mut env, &mut m, &id);
        m.grid = grid::read(&s.s3, &mut env);
        let pdt = read_product(&s.s4, &mut env, &mut m)?;
        self.check_tables(&env)?;

        // Which concept files apply (g2_concept_dir, MTG2Switch).
        let dirs = ConceptDirs::new(&env, &id.centre_name);
        let mtg2 = mtg2_switch(&env, &dirs, id.tables_version);
        env.set(k::MTG2_SWITCH, mtg2);

        let statistical = pdt.is_some_and(|p| p.statistical);
        read_step_type(&mut env, &mut m, statistical);
        read_parameter(&env, &mut m, &dirs, mtg2);
        read_level(&mut env, &mut m, &dirs, id.production_status);

        // Ensemble member, MARS stream and type of datasets without a local section.
        m.number = env.get(k::PERTURBATION_NUMBER);
        if labels.is_none() {
            read_mars_without_local(&mut env, &mut m, id.production_status);
        }

        read_steps(&env, &mut m, statistical, mtg2);
        read_validity(&env, &mut m, statistical, id.reference_time);

        // Section 5 and 6.
        read_packing(&s.s5, &mut env, &mut m)?;
        m.bitmap_present = s.s6.is_some();
        Ok(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(g2level(100, Some(0), Some(85_000), false), (850, false));
        assert_eq!(g2level(100, Some(0), Some(50), false), (50, true)); // below 1 hPa: ecCodes switches to Pa
        assert_eq!(g2level(100, Some(2), Some(0), false), (0, false));
        assert_eq!(g2level(103, Some(0), Some(2), false), (2, false));
        assert_eq!(
            g2level(1, Some(MISSING_LONG), Some(MISSING_LONG), false),
            (0, false)
        );
        assert_eq!(g2level(106, Some(1), Some(1), false), (0, false)); // 0.1 m rounds to 0
        assert_eq!(g2level(106, Some(2), Some(289), false), (3, false));
        assert_eq!(g2level(109, Some(6), Some(2), false), (2000, false));
    }
}
