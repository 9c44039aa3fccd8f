//! JS option objects → the core's types. Each option object is a Rust type
//! deserialised with `serde-wasm-bindgen`; its TypeScript declaration is
//! generated from the same type by `tsify` (doc comments included), so the
//! two cannot drift. Translation only: every default and rule is the core's
//! or `gik extract`'s.

use std::collections::BTreeSet;

use gik_core::assemble::{self, FieldAt};
use gik_core::npy::Dtype;
use gik_core::plan::{InputSource, Layout, Selection};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};
use crate::fetch::{FetchOptions, ProxyMode};

/// Reads an options object (`undefined` and `null` give the defaults); a
/// wrong value is an `options` error naming the property.
pub fn parse<T: DeserializeOwned + Default>(what: &str, value: &JsValue) -> Result<T> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    parse_required(what, value)
}

/// As [`parse`], for an object that must be given.
pub fn parse_required<T: DeserializeOwned>(what: &str, value: &JsValue) -> Result<T> {
    let de = serde_wasm_bindgen::Deserializer::from(value.clone());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            Error::Options(format!("{what}: {}", e.inner()))
        } else {
            Error::Options(format!("{what}: option `{path}`: {}", e.inner()))
        }
    })
}

/// Options of `openRefs`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    /// Url that relative references (and references given as bytes) resolve against.
    #[tsify(optional)]
    pub base_url: Option<String>,
    /// Prefix of a CORS range proxy; the url-encoded target is appended (`gik serve`: "/proxy?url=").
    #[tsify(optional)]
    pub proxy: Option<String>,
    /// When to use the proxy: directly first and the proxy when refused (default), always, or never.
    #[tsify(optional)]
    pub proxy_mode: Option<ProxyModeOption>,
    /// Prefix under which absolute local paths are served (`gik serve`: "/files").
    #[tsify(optional)]
    pub files: Option<String>,
    /// Requests in flight at once (default 8 for a member's state, 64 for `scan`).
    #[tsify(optional)]
    pub concurrency: Option<u32>,
}

/// When to use the CORS range proxy.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ProxyModeOption {
    Fallback,
    Always,
    Never,
}

impl OpenOptions {
    /// How urls are fetched, and requests in flight for a state (default 8).
    pub fn fetch(&self) -> (FetchOptions, usize) {
        let proxy_mode = match self.proxy_mode {
            None | Some(ProxyModeOption::Fallback) => ProxyMode::Fallback,
            Some(ProxyModeOption::Always) => ProxyMode::Always,
            Some(ProxyModeOption::Never) => ProxyMode::Never,
        };
        let fetch = FetchOptions {
            base: self.base_url.clone(),
            proxy: self.proxy.clone(),
            proxy_mode,
            files: self.files.clone(),
        };
        (fetch, self.concurrency.unwrap_or(8).clamp(1, 64) as usize)
    }
}

/// Options of `scan`: how urls are fetched (as for `openRefs`) and how messages are found.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ScanOptions {
    #[serde(flatten)]
    pub open: OpenOptions,
    /// The `.index` / `.idx` next to each file when there is one (default), only an index, or the headers.
    #[tsify(optional)]
    pub mode: Option<ScanMode>,
    /// How much of an index to check against the GRIB headers (default "all").
    #[tsify(optional)]
    pub verify: Option<ScanVerify>,
}

/// How `scan` finds messages.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ScanMode {
    Auto,
    Index,
    Headers,
}

/// How much of an index `scan` checks against the GRIB headers.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ScanVerify {
    All,
    Sample,
    None,
}

impl ScanOptions {
    /// The core's scan options (`gik scan`'s defaults).
    pub fn core(&self) -> gik_core::scan::ScanOptions {
        use gik_core::{index::Verify, scan::Mode};
        gik_core::scan::ScanOptions {
            mode: match self.mode {
                None | Some(ScanMode::Auto) => Mode::Auto,
                Some(ScanMode::Index) => Mode::Index,
                Some(ScanMode::Headers) => Mode::Headers,
            },
            verify: match self.verify {
                None | Some(ScanVerify::All) => Verify::All,
                Some(ScanVerify::Sample) => Verify::Sample,
                Some(ScanVerify::None) => Verify::None,
            },
            concurrency: self
                .open
                .concurrency
                .map_or(64, |c| c.clamp(1, 1024) as usize),
            ..gik_core::scan::ScanOptions::default()
        }
    }
}

/// One field: a variable at a reference time, step, level and member (absent: the first).
#[derive(Debug, Deserialize, Tsify)]
pub struct FieldSelection {
    /// Array path, or a shortName / name when unambiguous.
    pub variable: String,
    #[tsify(optional)]
    pub member: Option<i64>,
    /// Hours.
    #[tsify(optional)]
    pub step: Option<i64>,
    #[tsify(optional)]
    pub level: Option<f64>,
    /// Reference time, seconds since 1970.
    #[tsify(optional)]
    pub time: Option<i64>,
}

impl FieldSelection {
    /// The variable's name and where the field sits.
    pub fn field_at(self) -> (String, FieldAt) {
        (
            self.variable,
            FieldAt {
                time: self.time,
                step: self.step,
                level: self.level,
                member: self.member,
            },
        )
    }
}

/// What goes into a member's AIFS input state (as `gik extract` takes it).
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct MemberPickleOptions {
    /// Ensemble member (default: the first).
    #[tsify(optional)]
    pub member: Option<i64>,
    /// Preset ("aifs-ens" = AIFS-ENS v1, "aifs-single" = AIFS-single v1.x) or list
    /// ("2t,msl,t_850,gh_500"); default "aifs-ens".
    #[tsify(optional)]
    pub params: Option<String>,
    /// The model the state is for, instead of `params`: the url of an anemoi checkpoint
    /// (`.ckpt`, read by range: only its metadata and coordinates), a `File` (or `Blob`) the
    /// user picked (a `.ckpt` read by `Blob.slice`, never whole nor uploaded, or its metadata
    /// `.json`), its bytes, or the bytes of its metadata JSON (`anemoi-metadata/ai-models.json`).
    /// The state then holds exactly the inputs the model takes from the user, as many input
    /// times as it reads, on its grid (with its own `latitudes`/`longitudes` when stored).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "string | Uint8Array | Blob")]
    pub checkpoint: JsValue,
    /// Valid date ("2025-01-01T06", "2025010106") or seconds since 1970; default the latest possible.
    #[tsify(optional)]
    pub date: Option<DateOption>,
    /// Forecast step(s) in hours for the grid layout (default: the first); `steps` is the same.
    #[serde(alias = "steps")]
    #[tsify(optional)]
    pub step: Option<Steps>,
    /// "grid": (nlat, nlon) per field (default); "aifs": (input times, npoints), date − 6 h and date.
    #[tsify(optional)]
    pub layout: Option<LayoutOption>,
    /// "n320": regrid every field to N320 (542,080 points, MIR "linear") and add
    /// `latitudes`/`longitudes` (0 → 360), as the AIFS models read them; "0.25": the source grid.
    /// Default: the source grid, or with `checkpoint` the model's own grid (an error when gik
    /// cannot produce it; "0.25" then keeps the source grid), as `gik extract --checkpoint`.
    #[tsify(optional)]
    pub grid: Option<GridOption>,
    #[tsify(optional)]
    pub dtype: Option<DtypeOption>,
    /// Where the input times of the aifs layout come from: "forecast" (one run, steps s − 6 h
    /// and s; default) or "analyses" (step 0 of consecutive runs).
    #[tsify(optional)]
    pub inputs: Option<InputsOption>,
    /// Leave out inputs the references lack instead of failing.
    #[tsify(optional)]
    pub allow_missing: Option<bool>,
    /// Requests in flight at once (default: the open options' concurrency).
    #[tsify(optional)]
    pub concurrency: Option<u32>,
    /// Called after each field: (fields done, fields in all, name of the field).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    #[tsify(optional, type = "(done: number, total: number, name: string) => void")]
    pub on_progress: JsValue,
}

/// A valid date: text or seconds since 1970.
#[derive(Debug, Deserialize, Tsify)]
#[serde(untagged)]
pub enum DateOption {
    Seconds(f64),
    Text(String),
}

/// One step or several, in hours.
#[derive(Debug, Deserialize, Tsify)]
#[serde(untagged)]
pub enum Steps {
    One(i64),
    Many(Vec<i64>),
}

/// The field layout of a state.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum LayoutOption {
    Grid,
    Aifs,
}

/// The output grid of a state.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
pub enum GridOption {
    #[serde(rename = "0.25", alias = "source")]
    Source,
    #[serde(rename = "n320", alias = "N320")]
    N320,
}

/// The element type of a state's arrays.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum DtypeOption {
    Float32,
    Float64,
}

/// Where the input times of the aifs layout come from.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum InputsOption {
    Forecast,
    Analyses,
}

/// Which field's ensemble `ensembleStats` summarises, and how.
#[derive(Debug, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct EnsembleStatsOptions {
    /// Array path, or a shortName / name when unambiguous.
    pub variable: String,
    /// Forecast step in hours (default: the first).
    #[tsify(optional)]
    pub step: Option<i64>,
    /// Subtract each member's field at this step first (an accumulation such as `tp`
    /// over `fromStep`–`step`).
    #[tsify(optional)]
    pub from_step: Option<i64>,
    #[tsify(optional)]
    pub level: Option<f64>,
    /// Reference time, seconds since 1970 (default: the first).
    #[tsify(optional)]
    pub time: Option<i64>,
    /// Members to include (default: all).
    #[tsify(optional)]
    pub members: Option<Vec<i64>>,
    /// Statistics: "mean", "std", "min", "max", "median", "q90", "p>0.01", "p<273.15";
    /// "p>" and "p<" alone take `threshold`. Default ["mean"].
    #[tsify(optional)]
    pub stats: Option<Vec<String>>,
    /// The threshold of "p>" / "p<", in the variable's units.
    #[tsify(optional)]
    pub threshold: Option<f64>,
    /// Members' messages read at once (default: the open options' concurrency).
    #[tsify(optional)]
    pub concurrency: Option<u32>,
    /// Hand the statistics of the members so far to the progress callback (its third
    /// argument) every this many members, and after the last: a map that fills in as
    /// members arrive. Default: never.
    #[tsify(optional)]
    pub partial_every: Option<u32>,
}

impl EnsembleStatsOptions {
    /// The core's field and statistics.
    pub fn core(&self) -> Result<(gik_core::stats::EnsembleField, Vec<gik_core::stats::Stat>)> {
        let names = self.stats.clone().unwrap_or_else(|| vec!["mean".into()]);
        let stats = names
            .iter()
            .map(|n| {
                let n = match (n.trim(), self.threshold) {
                    ("p>" | "p<", Some(t)) => format!("{}{t}", n.trim()),
                    _ => n.clone(),
                };
                gik_core::stats::Stat::parse(&n).map_err(|e| Error::Options(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        if stats.is_empty() {
            return Err(Error::Options("ensembleStats: `stats` is empty".into()));
        }
        let field = gik_core::stats::EnsembleField {
            variable: self.variable.clone(),
            time: self.time,
            step: self.step,
            from_step: self.from_step,
            level: self.level,
            members: self.members.clone(),
        };
        Ok((field, stats))
    }
}

/// `MemberPickleOptions` in the core's terms.
#[derive(Debug)]
pub struct MemberPickle {
    pub params: String,
    pub selection: Selection,
    /// Whether the options named a member (else: the first there is).
    pub member_given: bool,
    pub dtype: Dtype,
    /// The grid asked for: `None` when not given (the model's, else the
    /// references'), `Some(None)` for the references' grid.
    pub grid: Option<Option<gik_core::regrid::ReducedGaussian>>,
    pub concurrency: Option<usize>,
    /// Where the input times come from.
    pub source: InputSource,
    /// The checkpoint, when one is given.
    pub checkpoint: Option<JsValue>,
    /// The progress callback, when one is given.
    pub on_progress: Option<js_sys::Function>,
}

impl MemberPickleOptions {
    /// The core's selection and engine choices.
    pub fn core(self) -> Result<MemberPickle> {
        let date = match self.date {
            None => None,
            Some(DateOption::Seconds(secs)) => Some(secs as i64),
            Some(DateOption::Text(s)) => Some(assemble::parse_date(&s).ok_or_else(|| {
                Error::Options(format!(
                    "date `{s}`: expected e.g. 2025-01-01T06 or 2025010106"
                ))
            })?),
        };
        let present = |v: JsValue| (!v.is_undefined() && !v.is_null()).then_some(v);
        Ok(MemberPickle {
            params: self.params.unwrap_or_else(|| "aifs-ens".into()),
            selection: Selection {
                members: Some(BTreeSet::from([self.member.unwrap_or(0)])),
                date,
                steps: self.step.map(|s| match s {
                    Steps::One(s) => vec![s],
                    Steps::Many(s) => s,
                }),
                layout: match self.layout {
                    None | Some(LayoutOption::Grid) => Layout::Grid,
                    Some(LayoutOption::Aifs) => Layout::Aifs,
                },
                allow_missing: self.allow_missing.unwrap_or(false),
            },
            member_given: self.member.is_some(),
            dtype: match self.dtype {
                None | Some(DtypeOption::Float32) => Dtype::F32,
                Some(DtypeOption::Float64) => Dtype::F64,
            },
            grid: self.grid.map(|g| match g {
                GridOption::Source => None,
                GridOption::N320 => Some(gik_core::regrid::ReducedGaussian::N320),
            }),
            concurrency: self.concurrency.map(|c| c.clamp(1, 64) as usize),
            source: match self.inputs {
                None | Some(InputsOption::Forecast) => InputSource::Forecast,
                Some(InputsOption::Analyses) => InputSource::Analyses,
            },
            checkpoint: present(self.checkpoint),
            on_progress: present(self.on_progress).and_then(|f| f.dyn_into().ok()),
        })
    }
}

/// A model from `checkpoint`: a url of its `.ckpt` (read by range), a
/// `File`/`Blob` the user picked (a `.ckpt` read by `Blob.slice`, never
/// whole; or its metadata JSON), the checkpoint's bytes, or its metadata
/// JSON's bytes. From a `.ckpt`, with its `latitudes`/`longitudes`.
pub async fn model<R: gik_core::io::RangeReader<Error = Error>>(
    reader: &R,
    checkpoint: JsValue,
) -> Result<gik_core::checkpoint::Model> {
    use gik_core::checkpoint::{self, Model};
    let model = |e: checkpoint::CheckpointError| Error::Options(format!("checkpoint: {e}"));
    fn named(name: &str) -> impl Fn(checkpoint::ReadError<Error>) -> Error + '_ {
        move |e| match e {
            checkpoint::ReadError::Read { source, .. } => source,
            other => Error::Options(format!("{name}: {other}")),
        }
    }
    if let Some(url) = checkpoint.as_string() {
        return checkpoint::read_model(reader, &url)
            .await
            .map_err(named(&url));
    }
    if let Some(blob) = checkpoint.dyn_ref::<web_sys::Blob>() {
        let r = crate::blob::BlobReader::new(blob.clone());
        let name = r.name().to_string();
        if name.to_ascii_lowercase().ends_with(".json") {
            if r.size() > checkpoint::MAX_METADATA {
                return Err(Error::Options(format!(
                    "{name}: {} bytes, more than a model's metadata ({} at most)",
                    r.size(),
                    checkpoint::MAX_METADATA
                )));
            }
            let bytes = r.slice(0..r.size()).await?;
            return Model::from_json(&bytes).map_err(model);
        }
        return read_blob(&r, &name).await.map_err(named(&name));
    }
    if let Some(bytes) = checkpoint.dyn_ref::<js_sys::Uint8Array>() {
        let bytes = bytes.to_vec();
        if bytes.starts_with(b"PK") {
            let mut r = gik_core::io::MemoryReader::new();
            r.insert("checkpoint", bytes);
            return checkpoint::read_model(&r, "checkpoint")
                .await
                .map_err(|e| Error::Options(format!("checkpoint: {e}")));
        }
        return Model::from_json(&bytes).map_err(model);
    }
    Err(Error::Options(
        "checkpoint must be a url, a File (or Blob) the user picked, or the bytes of a .ckpt or its metadata JSON".into(),
    ))
}

#[cfg(target_arch = "wasm32")]
async fn read_blob(
    r: &crate::blob::BlobReader,
    name: &str,
) -> Result<gik_core::checkpoint::Model, gik_core::checkpoint::ReadError<Error>> {
    gik_core::checkpoint::read_model(r, name).await
}

#[cfg(not(target_arch = "wasm32"))]
async fn read_blob(
    _r: &crate::blob::BlobReader,
    name: &str,
) -> Result<gik_core::checkpoint::Model, gik_core::checkpoint::ReadError<Error>> {
    Err(gik_core::checkpoint::ReadError::Read {
        location: name.to_string(),
        source: Error::Unreachable {
            url: name.to_string(),
            reason: "reading a File needs WebAssembly".into(),
        },
    })
}
