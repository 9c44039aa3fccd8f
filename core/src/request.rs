//! ECMWF open-data requests → the objects that hold them, on a mirror.
//!
//! A [`Request`] is what users of ECMWF's `ecmwf-opendata` client already
//! write (`model`, `resol`, `date`, `time`, `step`, `stream`, `type`,
//! `number`, `param`, `levelist`), parsed from the same keywords and values
//! (`step=0/to/144/by/6`, `date=-1`, `date=latest`). It resolves, for one
//! [`Run`], to the GRIB objects and their `.index` files on a [`Mirror`]
//! ([`Request::objects`]), with ECMWF's naming before and since IFS cycle
//! 50r1 ([`Cycle`]):
//!
//! | | before 50r1 | since 50r1 (2026-05-12) |
//! |---|---|---|
//! | ENS control (`type=cf`) | in `enfo-ef` (`number` 0) | in `oper-fc` (no `number`) |
//! | ENS members 1–50 | in `enfo-ef` | in `enfo-ef` |
//! | 06/18 UTC deterministic | `scda-fc`, waves `scwv-fc` | `oper-fc`, waves `wave-fc` |
//!
//! so an ensemble request since 50r1 resolves to both `enfo-ef` and
//! `oper-fc`, which `scan` merges into one ensemble (the control as member
//! 0). The fields of those objects are selected by their `.index` lines
//! ([`Selection`], applied by the scan: [`crate::scan::ScanOptions::select`]).
//!
//! Which runs exist is asked of the mirror, never guessed from the clock:
//! [`locate`] checks that every object's `.index` exists (one `len` each
//! through a [`RangeReader`], whose typed not-found says "missing"), for the
//! run asked for or, with `date=latest`, walking back run by run.
//!
//! Everything here is sans-IO but [`locate`] and [`probe`], which read only
//! through a [`RangeReader`]; the time `now` is always given by the caller
//! (the core has no clock: `wasm32-unknown-unknown` has none either).
//!
//! ```
//! use gik_core::request::{Mirror, Request, Run};
//! let req: Request = "model=ifs,stream=enfo,step=0/to/12/by/6,param=2t/t,levelist=850".parse()?;
//! let objects = req.objects(&Mirror::Aws, Run::new(2026, 6, 1, 0)?)?;
//! assert_eq!(objects.len(), 6); // 3 steps × (enfo-ef + oper-fc)
//! assert_eq!(objects[0].url, "s3://ecmwf-forecasts/20260601/00z/ifs/0p25/enfo/20260601000000-0h-enfo-ef.grib2");
//! assert_eq!(objects[1].index, "s3://ecmwf-forecasts/20260601/00z/ifs/0p25/oper/20260601000000-0h-oper-fc.index");
//! # Ok::<(), gik_core::request::RequestError>(())
//! ```

use crate::grib::FieldMeta;
use crate::index::IndexEntry;
use crate::io::{RangeReader, ReadError, ReadErrorKind};
use crate::refs::ScannedField;
use crate::time;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The first run of IFS cycle 50r1 in ECMWF's open data: 2026-05-12 06 UTC
/// (`make_ensemble.py --cycle 50r1`'s layout; ECMWF announces the day, and
/// the `ecmwf-opendata` client switches the 06/18 UTC stream names from
/// that day on, where its 00 UTC run makes no difference).
pub const CYCLE_50R1_FIRST_RUN: (i64, i64, i64, u8) = (2026, 5, 12, 6);

/// How far `date=latest` walks back, in days, where a mirror does not say
/// less ([`Mirror::retention_days`]).
pub const LATEST_WINDOW_DAYS: u32 = 4;

/// What can be wrong with a request, before anything is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A keyword's value cannot be understood.
    #[error("{key}={value}: {reason}")]
    BadValue {
        key: String,
        value: String,
        reason: String,
    },
    /// A keyword the request does not know.
    #[error("unknown keyword `{key}` (known: model, resol, date, time, step, stream, type, number, param, levelist)")]
    UnknownKeyword { key: String },
    /// A combination that names no open-data object.
    #[error("{0}")]
    Unsupported(String),
    /// A mirror name that is neither known nor a URL or path.
    #[error("unknown mirror `{0}`: give ecmwf, aws, azure, google, a URL or a local path")]
    UnknownMirror(String),
}

fn bad(key: &str, value: &str, reason: impl Into<String>) -> RequestError {
    RequestError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The model folder of the open-data layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    /// ECMWF's physics model, IFS (`ifs`).
    Ifs,
    /// The deterministic AIFS (`aifs-single`).
    AifsSingle,
    /// The ensemble AIFS (`aifs-ens`).
    AifsEns,
}

impl Model {
    /// Every model, in folder order.
    pub const ALL: [Model; 3] = [Model::Ifs, Model::AifsSingle, Model::AifsEns];

    /// The folder name (`ifs`, `aifs-single`, `aifs-ens`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ifs => "ifs",
            Self::AifsSingle => "aifs-single",
            Self::AifsEns => "aifs-ens",
        }
    }

    /// A model from its folder name.
    ///
    /// # Errors
    /// [`RequestError::BadValue`] for another name.
    pub fn parse(s: &str) -> Result<Self, RequestError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| bad("model", s, "expected ifs, aifs-single or aifs-ens"))
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The forecasting system as a request names it. `scda`/`scwv`, the names
/// of the 06/18 UTC deterministic runs before 50r1, are [`Stream::Oper`] and
/// [`Stream::Wave`]: the object's name depends on the run ([`Cycle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Atmospheric deterministic forecast (`oper`, `scda`).
    Oper,
    /// Ocean-wave deterministic forecast (`wave`, `scwv`).
    Wave,
    /// Atmospheric ensemble (`enfo`).
    Enfo,
    /// Ocean-wave ensemble (`waef`).
    Waef,
}

impl Stream {
    fn parse(s: &str) -> Result<Self, RequestError> {
        Ok(match s {
            "oper" | "scda" => Self::Oper,
            "wave" | "scwv" => Self::Wave,
            "enfo" => Self::Enfo,
            "waef" => Self::Waef,
            _ => {
                return Err(bad(
                    "stream",
                    s,
                    "expected oper, wave, enfo, waef, scda or scwv",
                ))
            }
        })
    }

    fn ensemble(self) -> Self {
        match self {
            Self::Oper | Self::Enfo => Self::Enfo,
            Self::Wave | Self::Waef => Self::Waef,
        }
    }

    fn deterministic(self) -> Self {
        match self {
            Self::Oper | Self::Enfo => Self::Oper,
            Self::Wave | Self::Waef => Self::Wave,
        }
    }

    /// The stream's name in a run of `cycle` at `hour` UTC.
    fn name(self, cycle: Cycle, hour: u8) -> &'static str {
        let short_cutoff = cycle == Cycle::C49r1 && (hour == 6 || hour == 18);
        match (self, short_cutoff) {
            (Self::Oper, false) => "oper",
            (Self::Oper, true) => "scda",
            (Self::Wave, false) => "wave",
            (Self::Wave, true) => "scwv",
            (Self::Enfo, _) => "enfo",
            (Self::Waef, _) => "waef",
        }
    }
}

/// The open-data naming of a run: before or since IFS cycle 50r1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    /// Before 2026-05-12 06 UTC: the ENS control in `enfo-ef`, `scda`/`scwv` at 06/18 UTC.
    C49r1,
    /// Since: the control in `oper-fc`, `oper`/`wave` at every run.
    C50r1,
}

/// One forecast run: a day and an hour (0, 6, 12, 18 UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Run {
    /// Days since 1970-01-01.
    pub day: i64,
    /// The hour, UTC.
    pub hour: u8,
}

impl Run {
    /// The run of `year-month-day` at `hour` UTC.
    ///
    /// # Errors
    /// A date that does not exist or an hour other than 0, 6, 12, 18.
    pub fn new(year: i64, month: i64, day: i64, hour: u8) -> Result<Self, RequestError> {
        let days = time::days_from_civil(year, month, day);
        if time::civil_from_days(days) != (year, month, day) {
            return Err(bad(
                "date",
                &format!("{year:04}-{month:02}-{day:02}"),
                "no such day",
            ));
        }
        Self::at(days, hour)
    }

    fn at(day: i64, hour: u8) -> Result<Self, RequestError> {
        if !hour.is_multiple_of(6) || hour > 18 {
            return Err(bad(
                "time",
                &hour.to_string(),
                "runs are at 0, 6, 12 and 18 UTC",
            ));
        }
        Ok(Self { day, hour })
    }

    /// The newest run at or before `seconds` since 1970 (UTC).
    #[must_use]
    pub fn at_or_before(seconds: i64) -> Self {
        let hours = seconds.div_euclid(3600);
        let run = hours - hours.rem_euclid(6);
        Self {
            day: run.div_euclid(24),
            hour: u8::try_from(run.rem_euclid(24)).unwrap_or(0),
        }
    }

    /// The run 6 hours earlier.
    #[must_use]
    pub fn previous(self) -> Self {
        if self.hour == 0 {
            Self {
                day: self.day - 1,
                hour: 18,
            }
        } else {
            Self {
                day: self.day,
                hour: self.hour - 6,
            }
        }
    }

    /// Seconds since 1970-01-01 of the run's start.
    #[must_use]
    pub fn epoch(self) -> i64 {
        self.day * 86_400 + i64::from(self.hour) * 3600
    }

    /// `YYYYMMDD`.
    #[must_use]
    pub fn yyyymmdd(self) -> String {
        let (y, m, d) = time::civil_from_days(self.day);
        format!("{y:04}{m:02}{d:02}")
    }

    /// Which naming the run's objects follow.
    #[must_use]
    pub fn cycle(self) -> Cycle {
        let (y, m, d, h) = CYCLE_50R1_FIRST_RUN;
        let first = Self {
            day: time::days_from_civil(y, m, d),
            hour: h,
        };
        if self >= first {
            Cycle::C50r1
        } else {
            Cycle::C49r1
        }
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = time::civil_from_days(self.day);
        write!(f, "{y:04}-{m:02}-{d:02} {:02}z", self.hour)
    }
}

/// The `date` of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSpec {
    /// A day (days since 1970-01-01).
    Day(i64),
    /// Days from today, UTC (`0` today, `-1` yesterday), as ecmwf-opendata takes them.
    Relative(i64),
    /// The newest run whose objects all exist ([`locate`]).
    Latest,
}

/// Which fields of the objects a request keeps, by their `.index` lines
/// (or, without an index, their headers). Empty lists keep everything.
///
/// - `param` matches the line's `param` (the shortName: `2t`, `t`, `sot`);
/// - `levelist` applies to fields on levels (pressure levels, soil layers,
///   …); fields without a level (`2t`, `msl`) are kept, where
///   ecmwf-opendata would drop them whenever `levelist` is given;
/// - `number` matches the member; a line without `number` (the control in
///   `oper-fc` since 50r1, or a deterministic forecast) is member 0.
///   `control`/`perturbed` keep or drop member 0 and members ≥ 1 (from
///   `type=cf` or `type=pf` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// shortNames to keep.
    pub param: Vec<String>,
    /// Levels to keep (of fields that have one).
    pub levelist: Vec<String>,
    /// Members to keep.
    pub number: Vec<i64>,
    /// Keep member 0.
    pub control: bool,
    /// Keep members ≥ 1.
    pub perturbed: bool,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            param: Vec::new(),
            levelist: Vec::new(),
            number: Vec::new(),
            control: true,
            perturbed: true,
        }
    }
}

/// Levels of fields on these level types are selected by `levelist`.
const LEVELLED: [&str; 7] = [
    "isobaricInhPa",
    "isobaricInPa",
    "soilLayer",
    "depthBelowLandLayer",
    "hybrid",
    "theta",
    "potentialVorticity",
];

fn same_level(want: &str, have: &str) -> bool {
    match (want.parse::<f64>(), have.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => want == have,
    }
}

impl Selection {
    /// Whether it keeps every field.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.param.is_empty()
            && self.levelist.is_empty()
            && self.number.is_empty()
            && self.control
            && self.perturbed
    }

    fn member(&self, n: i64) -> bool {
        (if n == 0 { self.control } else { self.perturbed })
            && (self.number.is_empty() || self.number.contains(&n))
    }

    /// Whether the field an ECMWF `.index` line describes is kept. NOAA
    /// `.idx` lines carry none of these keys and are kept whole.
    #[must_use]
    pub fn keeps_entry(&self, e: &IndexEntry) -> bool {
        if e.get("var").is_some() && e.get("param").is_none() {
            return true; // a NOAA line
        }
        if !self.param.is_empty()
            && !e
                .get("param")
                .is_some_and(|p| self.param.iter().any(|w| w == p))
        {
            return false;
        }
        if let Some(l) = e.get("levelist") {
            if !self.levelist.is_empty() && !self.levelist.iter().any(|w| same_level(w, l)) {
                return false;
            }
        }
        let n = e.get("number").and_then(|n| n.parse().ok()).unwrap_or(0);
        self.member(n)
    }

    /// Whether a field read from its headers is kept.
    #[must_use]
    pub fn keeps_field(&self, m: &FieldMeta) -> bool {
        if !self.param.is_empty()
            && !self
                .param
                .iter()
                .any(|w| *w == m.short_name || *w == m.param_id.to_string())
        {
            return false;
        }
        if LEVELLED.contains(&m.type_of_level.as_str())
            && !self.levelist.is_empty()
            && !self
                .levelist
                .iter()
                .any(|w| same_level(w, &m.level.to_string()))
        {
            return false;
        }
        self.member(m.number.unwrap_or(0))
    }

    /// What was asked for and found in none of `fields` (`param=zz`,
    /// `levelist=3`, `number=7`), for an error that says so.
    #[must_use]
    pub fn unmatched(&self, fields: &[ScannedField]) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.param {
            if !fields
                .iter()
                .any(|f| f.meta.short_name == *p || f.meta.param_id.to_string() == *p)
            {
                out.push(format!("param={p}"));
            }
        }
        for l in &self.levelist {
            if !fields.iter().any(|f| {
                LEVELLED.contains(&f.meta.type_of_level.as_str())
                    && same_level(l, &f.meta.level.to_string())
            }) {
                out.push(format!("levelist={l}"));
            }
        }
        for n in &self.number {
            if !fields.iter().any(|f| f.meta.number.unwrap_or(0) == *n) {
                out.push(format!("number={n}"));
            }
        }
        out
    }
}

impl Selection {
    /// That `fields`, scanned from a request's `objects` objects with this
    /// selection, hold something of every part of it.
    ///
    /// # Errors
    /// [`RequestError::Unsupported`] naming what matched no field
    /// (`param=zz`), or saying that nothing did.
    pub fn require(&self, fields: &[ScannedField], objects: usize) -> Result<(), RequestError> {
        let unmatched = self.unmatched(fields);
        if unmatched.is_empty() && !fields.is_empty() {
            return Ok(());
        }
        Err(RequestError::Unsupported(format!(
            "the {objects} object(s) of the request hold no field for {}",
            if unmatched.is_empty() {
                "the selection".to_string()
            } else {
                unmatched.join(", ")
            }
        )))
    }
}

/// An ECMWF open-data request, as the `ecmwf-opendata` client takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `model` (default `ifs`).
    pub model: Model,
    /// `resol` (default `0p25`).
    pub resol: String,
    /// `date` (default `latest`).
    pub date: DateSpec,
    /// `time`: the run's hour; `None` is 0 for a given date and any run for `latest`.
    pub time: Option<u8>,
    /// `step`, hours (default `0`).
    pub steps: Vec<u32>,
    /// `stream` (default `oper`, `enfo` for ensemble types and for `aifs-ens`).
    pub stream: Option<Stream>,
    /// `type` (default `fc`, or `cf`+`pf` for an ensemble stream).
    pub types: Vec<String>,
    /// `param`, `levelist`, `number`.
    pub select: Selection,
}

impl Default for Request {
    fn default() -> Self {
        Self {
            model: Model::Ifs,
            resol: "0p25".into(),
            date: DateSpec::Latest,
            time: None,
            steps: vec![0],
            stream: None,
            types: Vec::new(),
            select: Selection::default(),
        }
    }
}

/// Expands a MARS list: `a/b/c`, `a/to/b`, `a/to/b/by/n`.
///
/// # Errors
/// A value that is not a number, a range that runs backwards or a step of 0.
pub fn expand_list(key: &str, value: &str) -> Result<Vec<String>, RequestError> {
    let parts: Vec<&str> = value
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let is_range = matches!(parts.len(), 3 | 5)
        && parts[1].eq_ignore_ascii_case("to")
        && (parts.len() == 3 || parts[3].eq_ignore_ascii_case("by"));
    if !is_range {
        if parts.is_empty() {
            return Err(bad(key, value, "empty"));
        }
        return Ok(parts.into_iter().map(str::to_string).collect());
    }
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| bad(key, value, format!("`{s}` is not a whole number")))
    };
    let (start, end) = (num(parts[0])?, num(parts[2])?);
    let by = if parts.len() == 5 { num(parts[4])? } else { 1 };
    if by <= 0 || end < start {
        return Err(bad(
            key,
            value,
            "a range runs from its start up to its end, by a positive step",
        ));
    }
    if (end - start) / by > 10_000 {
        return Err(bad(key, value, "more than 10,000 values"));
    }
    Ok((0..=(end - start) / by)
        .map(|i| (start + i * by).to_string())
        .collect())
}

/// `0`, `6`, `12`, `18`, `00`, `0600`, `1200`.
fn parse_time(value: &str) -> Result<u8, RequestError> {
    let t: u32 = value
        .trim()
        .parse()
        .map_err(|_| bad("time", value, "expected 0, 6, 12 or 18"))?;
    let hour = if t >= 100 {
        if !t.is_multiple_of(100) {
            return Err(bad("time", value, "runs start on the hour"));
        }
        t / 100
    } else {
        t
    };
    match u8::try_from(hour) {
        Ok(h @ (0 | 6 | 12 | 18)) => Ok(h),
        _ => Err(bad("time", value, "runs are at 0, 6, 12 and 18 UTC")),
    }
}

/// `YYYYMMDD`, `YYYY-MM-DD` (with an optional ` HH:MM[:SS]` or `THH…`),
/// `0`/`-1` (days from today), `latest`; and the hour the date carries.
fn parse_date(value: &str) -> Result<(DateSpec, Option<u8>), RequestError> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("latest") {
        return Ok((DateSpec::Latest, None));
    }
    if let Ok(n) = v.parse::<i64>() {
        if n <= 0 {
            return Ok((DateSpec::Relative(n), None));
        }
    }
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    let only_date_chars = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | ' ' | 'T' | 'Z'));
    if !only_date_chars || !(digits.len() == 8 || digits.len() >= 10) {
        return Err(bad(
            "date",
            value,
            "expected YYYYMMDD, YYYY-MM-DD, 0 or -N (days from today) or latest",
        ));
    }
    let n = |a: usize, b: usize| digits[a..b].parse::<i64>().unwrap_or(0);
    let run = Run::new(n(0, 4), n(4, 6), n(6, 8), 0)?;
    let hour = if digits.len() >= 10 {
        Some(parse_time(&digits[8..10])?)
    } else {
        None
    };
    Ok((DateSpec::Day(run.day), hour))
}

impl Request {
    /// A request from ecmwf-opendata keywords and values (`("step",
    /// "0/to/144/by/6")`, `("param", "2t/msl")`); later keywords override
    /// earlier ones.
    ///
    /// # Errors
    /// An unknown keyword or a value it cannot take.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, RequestError> {
        let mut r = Self::default();
        let mut time_in_date = None;
        let mut stream_given = false;
        for (k, v) in pairs {
            let (k, v) = (k.as_ref().trim(), v.as_ref().trim());
            match k {
                "model" => r.model = Model::parse(v)?,
                "resol" => {
                    if v.is_empty() || v.contains('/') {
                        return Err(bad(k, v, "one resolution, such as 0p25"));
                    }
                    r.resol = v.to_string();
                }
                "date" => (r.date, time_in_date) = parse_date(v)?,
                "time" => r.time = Some(parse_time(v)?),
                "step" => {
                    r.steps = expand_list(k, v)?
                        .iter()
                        .map(|s| {
                            s.parse::<u32>()
                                .map_err(|_| bad(k, v, format!("`{s}` is not a step in hours")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "stream" => {
                    r.stream = Some(Stream::parse(v)?);
                    stream_given = true;
                }
                "type" => {
                    r.types = expand_list(k, v)?;
                    for t in &r.types {
                        if !["fc", "cf", "pf", "ef", "ep", "em", "es"].contains(&t.as_str()) {
                            return Err(bad(
                                k,
                                v,
                                format!("unknown type `{t}` (fc, cf, pf, ef, ep, em, es)"),
                            ));
                        }
                    }
                }
                "number" => {
                    r.select.number = expand_list(k, v)?
                        .iter()
                        .map(|s| {
                            s.parse::<i64>()
                                .ok()
                                .filter(|n| *n >= 0)
                                .ok_or_else(|| bad(k, v, format!("`{s}` is not a member number")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "param" => r.select.param = expand_list(k, v)?,
                "levelist" => r.select.levelist = expand_list(k, v)?,
                _ => return Err(RequestError::UnknownKeyword { key: k.to_string() }),
            }
        }
        if r.time.is_none() {
            r.time = time_in_date;
        }
        if r.model == Model::AifsEns {
            // (ecmwf-opendata: aifs-ens has ensemble forecasts only)
            r.stream = Some(Stream::Enfo);
        } else if !stream_given {
            r.stream = None;
        }
        r.settle()?;
        Ok(r)
    }

    /// Stream and type defaults, as ecmwf-opendata infers them; the member
    /// filter implied by `type=cf` or `type=pf` alone.
    fn settle(&mut self) -> Result<(), RequestError> {
        const ENS_TYPES: [&str; 6] = ["cf", "pf", "ef", "ep", "em", "es"];
        let ens_type = self.types.iter().any(|t| ENS_TYPES.contains(&t.as_str()));
        let stream = match self.stream {
            Some(s) if ens_type => s.ensemble(),
            Some(s) => s,
            None if ens_type => Stream::Enfo,
            None => Stream::Oper,
        };
        if self.types.is_empty() {
            self.types = match stream {
                Stream::Enfo | Stream::Waef => vec!["cf".into(), "pf".into()],
                Stream::Oper | Stream::Wave => vec!["fc".into()],
            };
        }
        let has = |t: &str| self.types.iter().any(|x| x == t);
        if has("fc") && self.types.len() > 1 {
            return Err(RequestError::Unsupported(format!(
                "type={}: `fc` (a deterministic forecast) cannot be mixed with ensemble types",
                self.types.join("/")
            )));
        }
        if matches!(stream, Stream::Enfo | Stream::Waef) && !has("fc") {
            self.select.control = has("cf") || has("ef");
            self.select.perturbed = has("pf") || has("ef");
            if has("ep") || has("em") || has("es") {
                // (products, not members: no member filter)
                self.select.control = true;
                self.select.perturbed = true;
            }
        }
        if self.model == Model::AifsSingle && stream != Stream::Oper {
            return Err(RequestError::Unsupported(
                "aifs-single publishes stream=oper, type=fc only".into(),
            ));
        }
        if self.model == Model::AifsEns
            && !self
                .types
                .iter()
                .all(|t| ["cf", "pf", "ef"].contains(&t.as_str()))
        {
            return Err(RequestError::Unsupported(
                "aifs-ens publishes type=cf and type=pf only".into(),
            ));
        }
        self.stream = Some(stream);
        if self.steps.is_empty() {
            return Err(bad("step", "", "no step"));
        }
        Ok(())
    }

    /// The stream after defaults.
    #[must_use]
    pub fn stream(&self) -> Stream {
        self.stream.unwrap_or(Stream::Oper)
    }

    /// The runs to try, newest first: the one run of a given or relative
    /// date (at `time`, default 0 UTC), or for `latest` every run (every
    /// `time` one, if given) from the newest at or before `now` back over
    /// `window_days`.
    #[must_use]
    pub fn candidate_runs(&self, now: i64, window_days: u32) -> Vec<Run> {
        let today = now.div_euclid(86_400);
        match self.date {
            DateSpec::Day(day) => vec![Run {
                day,
                hour: self.time.unwrap_or(0),
            }],
            DateSpec::Relative(n) => vec![Run {
                day: today + n,
                hour: self.time.unwrap_or(0),
            }],
            DateSpec::Latest => {
                let mut run = Run::at_or_before(now);
                let mut out = Vec::new();
                for _ in 0..(window_days.max(1) * 4) {
                    if self.time.is_none_or(|t| t == run.hour) {
                        out.push(run);
                    }
                    run = run.previous();
                }
                out
            }
        }
    }

    /// The files of one step of `run`: (stream folder and name, type).
    fn files(&self, run: Run) -> Vec<(&'static str, String)> {
        let stream = self.stream();
        let cycle = run.cycle();
        let has = |t: &str| self.types.iter().any(|x| x == t);
        let sel = &self.select;
        let want_control = sel.control && (sel.number.is_empty() || sel.number.contains(&0));
        let want_members =
            sel.perturbed && (sel.number.is_empty() || sel.number.iter().any(|n| *n > 0));
        let mut out = Vec::new();
        match (self.model, stream) {
            // (ecmwf-opendata does not rename aifs-single's streams)
            (Model::AifsSingle, _) => out.push(("oper", "fc".to_string())),
            (Model::Ifs, Stream::Oper | Stream::Wave) => {
                out.push((stream.name(cycle, run.hour), "fc".to_string()));
            }
            (Model::AifsEns, _) => {
                if want_control {
                    out.push(("enfo", "cf".to_string()));
                }
                if want_members {
                    out.push(("enfo", "pf".to_string()));
                }
            }
            (Model::Ifs, Stream::Enfo | Stream::Waef) => {
                let name = stream.name(cycle, run.hour);
                if has("ep") || has("em") || has("es") {
                    out.push((name, "ep".to_string()));
                }
                if has("cf") || has("pf") || has("ef") {
                    match cycle {
                        Cycle::C49r1 => {
                            if want_control || want_members {
                                out.push((name, "ef".to_string()));
                            }
                        }
                        Cycle::C50r1 => {
                            if want_members {
                                out.push((name, "ef".to_string()));
                            }
                            if want_control {
                                // the control is the deterministic forecast since 50r1
                                out.push((
                                    stream.deterministic().name(cycle, run.hour),
                                    "fc".to_string(),
                                ));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The objects of `run` on `mirror`: for each step, in the order asked,
    /// each file that holds part of the request (since 50r1 an ensemble's
    /// `enfo-ef`, then the control's `oper-fc`).
    ///
    /// # Errors
    /// [`RequestError::Unsupported`] when the request selects no file
    /// (`type=pf` with `number=0`).
    pub fn objects(&self, mirror: &Mirror, run: Run) -> Result<Vec<Object>, RequestError> {
        let files = self.files(run);
        if files.is_empty() {
            return Err(RequestError::Unsupported(format!(
                "type={} with number={} selects no member",
                self.types.join("/"),
                self.select
                    .number
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            )));
        }
        let ymd = run.yyyymmdd();
        let root = mirror.root();
        let mut out = Vec::new();
        // (a set: a request may list up to 10,000 steps, and `ep` steps share a file)
        let mut seen = std::collections::HashSet::new();
        for &step in &self.steps {
            for (stream, kind) in &files {
                // (ecmwf-opendata: probabilities are in the 240 h or 360 h file)
                let step_name = if kind == "ep" {
                    if step <= 240 {
                        240
                    } else {
                        360
                    }
                } else {
                    step
                };
                let dir = format!(
                    "{root}/{ymd}/{:02}z/{}/{}/{stream}",
                    run.hour, self.model, self.resol
                );
                let stem = format!("{ymd}{:02}0000-{step_name}h-{stream}-{kind}", run.hour);
                let url = format!("{dir}/{stem}.grib2");
                if !seen.insert(url.clone()) {
                    continue;
                }
                out.push(Object {
                    index: format!("{dir}/{stem}.index"),
                    url,
                    run,
                    step: step_name,
                    stream: (*stream).to_string(),
                    kind: kind.clone(),
                });
            }
        }
        Ok(out)
    }
}

impl std::str::FromStr for Request {
    type Err = RequestError;

    /// A MARS-style request: `model=ifs,date=latest,step=0/to/144/by/6`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let pairs = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| bad(p, "", "expected keyword=value"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_pairs(pairs)
    }
}

/// One GRIB object of a request and its `.index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The GRIB file.
    pub url: String,
    /// Its `.index` (ECMWF JSON lines).
    pub index: String,
    /// The run.
    pub run: Run,
    /// The step in its name (hours).
    pub step: u32,
    /// The stream in its name (`enfo`, `oper`, `scda`, …).
    pub stream: String,
    /// The type in its name (`ef`, `fc`, `cf`, `pf`, `ep`).
    pub kind: String,
}

/// Where the objects are: one of ECMWF's mirrors or any root laid out like them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// ECMWF's own server, `https://data.ecmwf.int/forecasts`.
    Ecmwf,
    /// Amazon's, the bucket `s3://ecmwf-forecasts` (eu-central-1).
    Aws,
    /// Microsoft's, `https://ai4edataeuwest.blob.core.windows.net/ecmwf`
    /// (anonymous reads need a SAS token since 2025).
    Azure,
    /// Google's, the bucket `gs://ecmwf-open-data`.
    Google,
    /// Any root laid out like ECMWF's: a URL or a local path (no trailing `/`).
    Root(String),
}

impl Mirror {
    /// A mirror by name (`ecmwf`, `aws`, `azure`, `google`), or a root
    /// given as a URL or path (`/data/ecmwf`, `http://127.0.0.1:8000/forecasts`).
    ///
    /// # Errors
    /// An empty name.
    pub fn parse(s: &str) -> Result<Self, RequestError> {
        Ok(match s {
            "ecmwf" => Self::Ecmwf,
            "aws" => Self::Aws,
            "azure" => Self::Azure,
            "google" => Self::Google,
            "" => return Err(RequestError::UnknownMirror(s.to_string())),
            root => Self::Root(root.trim_end_matches('/').to_string()),
        })
    }

    /// The root objects are named below.
    #[must_use]
    pub fn root(&self) -> &str {
        match self {
            Self::Ecmwf => "https://data.ecmwf.int/forecasts",
            Self::Aws => "s3://ecmwf-forecasts",
            Self::Azure => "https://ai4edataeuwest.blob.core.windows.net/ecmwf",
            Self::Google => "gs://ecmwf-open-data",
            Self::Root(r) => r,
        }
    }

    /// How many days of runs the mirror keeps, where it is known: ECMWF's
    /// own server keeps a few days only (its maintainers: "only 3 days
    /// online", ecmwf-opendata#4; about 4 days are listed); the cloud
    /// mirrors keep an archive, and ECMWF documents no limit for them.
    #[must_use]
    pub fn retention_days(&self) -> Option<u32> {
        match self {
            Self::Ecmwf => Some(4),
            _ => None,
        }
    }

    /// How far `latest` walks back on this mirror, in days.
    #[must_use]
    pub fn latest_window_days(&self) -> u32 {
        self.retention_days()
            .map_or(LATEST_WINDOW_DAYS, |d| d.min(LATEST_WINDOW_DAYS))
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root())
    }
}

/// Why no run could be located. `E` is the reader's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError<E: std::error::Error + 'static> {
    /// The request cannot name objects.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The run asked for lacks an object.
    #[error("{run} on {mirror}: {missing} does not exist ({present} of the request's {total} objects do)")]
    Missing {
        run: Run,
        mirror: String,
        /// The first missing object's `.index`.
        missing: String,
        present: usize,
        total: usize,
    },
    /// `latest`: no run within the window has every object.
    #[error("no complete run on {mirror} from {newest} back to {oldest} ({tried} runs tried); the newest lacks {missing}")]
    NoneComplete {
        mirror: String,
        newest: Run,
        oldest: Run,
        tried: usize,
        /// The newest run's first missing object's `.index`.
        missing: String,
    },
    /// A read failed for another reason than a missing object.
    #[error(transparent)]
    Read(E),
}

/// A run whose objects all exist, and those objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The run.
    pub run: Run,
    /// Its objects, in [`Request::objects`] order.
    pub objects: Vec<Object>,
}

/// Index checks in flight at once.
const PROBES_AT_ONCE: usize = 16;

/// Whether the object at `location` exists (its `len` succeeds).
async fn exists<R: RangeReader + ?Sized>(reader: &R, location: &str) -> Result<bool, R::Error> {
    match reader.len(location).await {
        Ok(_) => Ok(true),
        // (S3 answers 403, not 404, for a missing key when listing is not allowed)
        Err(e) if matches!(e.kind(), ReadErrorKind::NotFound | ReadErrorKind::Denied) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The first object of `objects` whose `.index` is missing, and how many
/// exist. `quick` (walking back for `latest`) checks the last step first
/// and stops at its first missing object (a run still being published
/// lacks its last steps); otherwise every object is checked, several at
/// once, and the first missing in request order is named.
async fn first_missing<R: RangeReader + ?Sized>(
    reader: &R,
    objects: &[Object],
    quick: bool,
) -> Result<Option<(String, usize)>, R::Error> {
    let mut checked = vec![false; objects.len()];
    if quick {
        let last_step = objects.iter().map(|o| o.step).max();
        for (i, o) in objects.iter().enumerate() {
            if Some(o.step) == last_step {
                if !exists(reader, &o.index).await? {
                    return Ok(Some((o.index.clone(), 0)));
                }
                checked[i] = true;
            }
        }
    }
    let rest: Vec<&Object> = objects
        .iter()
        .zip(&checked)
        .filter(|(_, c)| !**c)
        .map(|(o, _)| o)
        .collect();
    let found: Vec<Result<bool, R::Error>> =
        stream::iter(rest.iter().map(|o| exists(reader, &o.index)))
            .buffered(PROBES_AT_ONCE)
            .collect()
            .await;
    let mut present = objects.len() - rest.len();
    let mut missing = None;
    for (o, f) in rest.iter().zip(found) {
        if f? {
            present += 1;
        } else if missing.is_none() {
            missing = Some(o.index.clone());
            if quick {
                break;
            }
        }
    }
    Ok(missing.map(|m| (m, present)))
}

/// The run of `request` on `mirror` whose objects all exist: the run asked
/// for, or with `date=latest` the newest from `now` (seconds since 1970,
/// UTC) back over the mirror's window, checked by the existence of every
/// object's `.index` (ECMWF publishes a file's index with it).
///
/// # Errors
/// [`LocateError::Missing`] naming the first missing object of the run
/// asked for; [`LocateError::NoneComplete`] when no run in the window is
/// complete; [`LocateError::Read`] for a read that fails otherwise.
pub async fn locate<R: RangeReader + ?Sized>(
    reader: &R,
    request: &Request,
    mirror: &Mirror,
    now: i64,
) -> Result<Located, LocateError<R::Error>> {
    let runs = request.candidate_runs(now, mirror.latest_window_days());
    let mut newest_missing = None;
    for &run in &runs {
        let objects = request.objects(mirror, run)?;
        let quick = request.date == DateSpec::Latest;
        match first_missing(reader, &objects, quick)
            .await
            .map_err(LocateError::Read)?
        {
            None => return Ok(Located { run, objects }),
            Some((missing, present)) => {
                if !quick {
                    return Err(LocateError::Missing {
                        run,
                        mirror: mirror.to_string(),
                        missing,
                        present,
                        total: objects.len(),
                    });
                }
                newest_missing.get_or_insert(missing);
            }
        }
    }
    Err(LocateError::NoneComplete {
        mirror: mirror.to_string(),
        newest: runs.first().copied().unwrap_or(Run::at_or_before(now)),
        oldest: runs.last().copied().unwrap_or(Run::at_or_before(now)),
        tried: runs.len(),
        missing: newest_missing.unwrap_or_default(),
    })
}

/// One stream and type of a run on a mirror, and its steps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// The run.
    pub run: Run,
    /// The model folder.
    pub model: String,
    /// The resolution folder.
    pub resol: String,
    /// The stream in the objects' names.
    pub stream: String,
    /// The type in the objects' names.
    pub kind: String,
    /// The steps that have a `.index` (hours), ascending.
    pub steps: Vec<u32>,
}

/// The parts of an open-data object's path below its root
/// (`20260601/00z/ifs/0p25/enfo/20260601000000-6h-enfo-ef.index`): run,
/// model, resolution, stream, step, type and extension; `None` for a path
/// that is not named so.
#[must_use]
pub fn parse_path(path: &str) -> Option<(Run, String, String, String, u32, String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let [date, hh, model, resol, stream, file] = parts.as_slice() else {
        return None;
    };
    let hour: u8 = hh.strip_suffix('z')?.parse().ok()?;
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| date[a..b].parse::<i64>().ok();
    let run = Run::new(n(0, 4)?, n(4, 6)?, n(6, 8)?, hour).ok()?;
    let (stem, ext) = file.rsplit_once('.')?;
    let mut it = stem.splitn(4, '-');
    let (stamp, step, s, kind) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if stamp != format!("{date}{hh}0000", hh = &hh[..2]) || s != *stream {
        return None;
    }
    let step: u32 = step.strip_suffix('h')?.parse().ok()?;
    Some((
        run,
        (*model).to_string(),
        (*resol).to_string(),
        (*stream).to_string(),
        step,
        kind.to_string(),
        ext.to_string(),
    ))
}

/// What a mirror has, from the paths of its objects below the root (a
/// listing): one entry per run, model, resolution, stream and type, with
/// the steps that have a `.index`.
#[must_use]
pub fn listing<S: AsRef<str>>(paths: impl IntoIterator<Item = S>) -> Vec<Listed> {
    let mut map: BTreeMap<(Run, String, String, String, String), BTreeSet<u32>> = BTreeMap::new();
    for p in paths {
        if let Some((run, model, resol, stream, step, kind, ext)) = parse_path(p.as_ref()) {
            if ext == "index" {
                map.entry((run, model, resol, stream, kind))
                    .or_default()
                    .insert(step);
            }
        }
    }
    map.into_iter()
        .map(|((run, model, resol, stream, kind), steps)| Listed {
            run,
            model,
            resol,
            stream,
            kind,
            steps: steps.into_iter().collect(),
        })
        .collect()
}

/// The steps ECMWF publishes for a model's files (the open-data schedule:
/// IFS 0–144 by 3 then 150–360 by 6; AIFS 0–360 by 6).
#[must_use]
pub fn schedule(model: Model) -> Vec<u32> {
    match model {
        Model::Ifs => (0..=144).step_by(3).chain((150..=360).step_by(6)).collect(),
        Model::AifsSingle | Model::AifsEns => (0..=360).step_by(6).collect(),
    }
}

/// The (stream, type) files a model may have in a run.
fn known_files(model: Model, run: Run) -> Vec<(&'static str, &'static str)> {
    let c = run.cycle();
    match model {
        Model::Ifs => vec![
            (Stream::Oper.name(c, run.hour), "fc"),
            (Stream::Wave.name(c, run.hour), "fc"),
            ("enfo", "ef"),
            ("enfo", "ep"),
            ("waef", "ef"),
            ("waef", "ep"),
        ],
        Model::AifsSingle => vec![("oper", "fc")],
        Model::AifsEns => vec![("enfo", "cf"), ("enfo", "pf")],
    }
}

/// What a mirror that cannot list (an HTTP root) has on `day` for `models`
/// at `resol`, by asking for the `.index` of every known name: each run's
/// streams and types at step 0 (240 for probabilities), then every step of
/// the schedule of those that exist.
///
/// # Errors
/// A read that fails otherwise than "not found".
pub async fn probe<R: RangeReader + ?Sized>(
    reader: &R,
    mirror: &Mirror,
    day: i64,
    models: &[Model],
    resol: &str,
) -> Result<Vec<Listed>, R::Error> {
    let name = |run: Run, model: Model, stream: &str, kind: &str, step: u32| {
        let ymd = run.yyyymmdd();
        format!(
            "{root}/{ymd}/{h:02}z/{model}/{resol}/{stream}/{ymd}{h:02}0000-{step}h-{stream}-{kind}.index",
            root = mirror.root(),
            h = run.hour
        )
    };
    let mut firsts = Vec::new();
    for hour in [0u8, 6, 12, 18] {
        let run = Run { day, hour };
        for &model in models {
            for (stream, kind) in known_files(model, run) {
                let step = if kind == "ep" { 240 } else { 0 };
                firsts.push((
                    run,
                    model,
                    stream,
                    kind,
                    name(run, model, stream, kind, step),
                ));
            }
        }
    }
    let found: Vec<Result<bool, R::Error>> =
        stream::iter(firsts.iter().map(|f| exists(reader, &f.4)))
            .buffered(PROBES_AT_ONCE)
            .collect()
            .await;
    let mut out = Vec::new();
    for (f, ok) in firsts.iter().zip(found) {
        if !ok? {
            continue;
        }
        let (run, model, stream, kind, _) = *f;
        let steps: Vec<u32> = if kind == "ep" {
            vec![240, 360]
        } else {
            schedule(model)
        };
        let there: Vec<Result<bool, R::Error>> = stream::iter(
            steps
                .iter()
                .map(|&s| async move { exists(reader, &name(run, model, stream, kind, s)).await }),
        )
        .buffered(PROBES_AT_ONCE)
        .collect()
        .await;
        let mut have = Vec::new();
        for (s, ok) in steps.iter().zip(there) {
            if ok? {
                have.push(*s);
            }
        }
        out.push(Listed {
            run,
            model: model.to_string(),
            resol: resol.to_string(),
            stream: stream.to_string(),
            kind: kind.to_string(),
            steps: have,
        });
    }
    out.sort();
    Ok(out)
}

/// Why a request's fields could not be gathered ([`scan_request`],
/// [`scan_located`]). `E` is the reader's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanRequestError<E: std::error::Error + 'static> {
    /// No run with every object of the request (or a failed read while looking).
    #[error(transparent)]
    Locate(#[from] LocateError<E>),
    /// Scanning the objects failed.
    #[error(transparent)]
    Scan(Box<crate::scan::ScanError<E>>),
    /// A `param`, `levelist` or `number` of the request matches no field of
    /// its objects (or nothing does).
    #[error(transparent)]
    Selection(RequestError),
}

/// The fields of a located request: its objects scanned (`opts.select`
/// choosing fields by their `.index` lines, or the request's own selection
/// when it is `None`), then every part of the request's selection required
/// to match a field. `gik scan`/`gik extract` from a request, `openRequest`
/// in the npm package and `gik.scan_request` in Python all end here.
///
/// # Errors
/// A failed scan ([`ScanRequestError::Scan`]); a selection that matches no
/// field ([`ScanRequestError::Selection`]).
pub async fn scan_located<R, P, X>(
    reader: &R,
    request: &Request,
    located: &Located,
    opts: &crate::scan::ScanOptions,
    progress: &P,
    exec: &X,
) -> Result<Vec<ScannedField>, ScanRequestError<R::Error>>
where
    R: RangeReader + ?Sized,
    P: crate::scan::Progress + ?Sized,
    X: crate::scan::Executor + ?Sized,
{
    let urls: Vec<String> = located.objects.iter().map(|o| o.url.clone()).collect();
    let mut opts = opts.clone();
    if opts.select.is_none() {
        opts.select = Some(std::sync::Arc::new(request.select.clone()));
    }
    let fields = crate::scan::scan(reader, &urls, &opts, progress, exec)
        .await
        .map_err(|e| ScanRequestError::Scan(Box::new(e)))?;
    request
        .select
        .require(&fields, urls.len())
        .map_err(ScanRequestError::Selection)?;
    Ok(fields)
}

/// A request's run located on `mirror` ([`locate`]) and its fields
/// ([`scan_located`]).
///
/// # Errors
/// As [`locate`] and [`scan_located`].
pub async fn scan_request<R, P, X>(
    reader: &R,
    request: &Request,
    mirror: &Mirror,
    now: i64,
    opts: &crate::scan::ScanOptions,
    progress: &P,
    exec: &X,
) -> Result<(Located, Vec<ScannedField>), ScanRequestError<R::Error>>
where
    R: RangeReader + ?Sized,
    P: crate::scan::Progress + ?Sized,
    X: crate::scan::Executor + ?Sized,
{
    let located = locate(reader, request, mirror, now).await?;
    let fields = scan_located(reader, request, &located, opts, progress, exec).await?;
    Ok((located, fields))
}

/// Steps as a MARS list, ranges folded: `0/to/144/by/3, 150/to/360/by/6`.
#[must_use]
pub fn format_steps(steps: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let start = steps[i];
        let mut j = i;
        if let Some(&next) = steps.get(i + 1) {
            let by = next.saturating_sub(start);
            while by > 0 && steps.get(j + 1).is_some_and(|&s| s == steps[j] + by) {
                j += 1;
            }
            if j - i >= 2 {
                parts.push(format!("{start}/to/{}/by/{by}", steps[j]));
                i = j + 1;
                continue;
            }
        }
        parts.push(start.to_string());
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
