//! WebAssembly bindings of `gik-core`: read kerchunk references, range-fetch
//! the GRIB messages a selection needs, decode them, and hand out the same
//! AIFS input-state pickles `gik extract` writes.
//!
//! Thin on purpose: each export converts JS values to core types, calls the
//! core (`refs`, `plan`, `assemble`, `grib`) and converts back. The only
//! thing this crate adds is the `fetch` reader ([`Fetcher`]).
//!
//! ```js
//! import init, { openRefs } from "gik-wasm";
//! await init();
//! const refs = await openRefs("https://example.org/refs.json");
//! const field = await refs.readField({ variable: "t2m/instant/heightAboveGround/t2m", member: 0, step: 6 });
//! console.log(field.units, field.min, field.max, field.values.length);
//! const pickle = await refs.memberPickle({ member: 3, params: "aifs-ens" });
//! ```

mod error;
mod fetch;
mod js;

use std::collections::BTreeSet;
use std::rc::Rc;

use futures::stream::{self, StreamExt, TryStreamExt};
use gik_core::assemble::{self, FieldAt, StateAssembler};
use gik_core::npy::Dtype;
use gik_core::plan::{self, Layout, Selection};
use gik_core::refs::{self, FileMap, RefStore, RefValue, Variable};
use js_sys::{Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

pub use error::Error;
use error::Result;
pub use fetch::{FetchOptions, Fetcher, ProxyMode};
use js::Obj;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `openRefs`. */
export interface OpenOptions {
  /** Url that relative references (and references given as bytes) resolve against. */
  baseUrl?: string;
  /** Prefix of a CORS range proxy; the url-encoded target is appended (`gik serve`: "/proxy?url="). */
  proxy?: string;
  /** When to use the proxy: directly first and the proxy when refused (default), always, or never. */
  proxyMode?: "fallback" | "always" | "never";
  /** Prefix under which absolute local paths are served (`gik serve`: "/files"). */
  files?: string;
  /** Requests in flight at once for a member's state (default 8). */
  concurrency?: number;
}

/** A data variable of the references. */
export interface VariableInfo {
  /** Array path, e.g. "t/instant/isobaricInhPa/t". */
  path: string;
  name: string;
  shortName: string;
  longName: string;
  units: string;
  typeOfLevel: string;
  stepType: string;
  gridType: string;
  dims: string[];
  shape: number[];
  /** Level coordinate name ("isobaricInhPa") or null. */
  levelName: string | null;
  levels: number[];
  /** Forecast steps, hours. */
  steps: number[];
  /** Forecast reference times, seconds since 1970. */
  times: number[];
  /** Ensemble members (control = 0); empty for a deterministic forecast. */
  members: number[];
}

/** The coordinates of a variable. */
export interface Coords {
  dims: string[];
  time: number[];
  step: number[];
  levelName: string | null;
  levels: number[];
  number: number[];
  latitude: Float64Array | null;
  longitude: Float64Array | null;
}

/** One field: a variable at a reference time, step, level and member (absent: the first). */
export interface FieldSelection {
  /** Array path, or a shortName / name when unambiguous. */
  variable: string;
  member?: number;
  /** Hours. */
  step?: number;
  level?: number;
  /** Reference time, seconds since 1970. */
  time?: number;
}

/** A decoded field. */
export interface FieldData {
  /** Values in GRIB order (row-major, `shape`); NaN where missing. */
  values: Float32Array;
  /** [nlat, nlon] for a regular grid, [npoints] otherwise. */
  shape: number[];
  /** Latitude of each row (null when the grid is not regular). */
  latitudes: Float64Array | null;
  /** Longitude of each column (null when the grid is not regular). */
  longitudes: Float64Array | null;
  min: number;
  max: number;
  mean: number;
  /** Number of missing (NaN) points. */
  missing: number;
  units: string;
  /** Long name, e.g. "2 metre temperature". */
  name: string;
  shortName: string;
  variable: string;
  gridType: string;
  packingType: string;
  time: number | null;
  step: number | null;
  level: number | null;
  member: number | null;
  /** Valid time, seconds since 1970. */
  validTime: number | null;
  /** Bytes fetched. */
  bytes: number;
  fetchMs: number;
  decodeMs: number;
}

/** What goes into a member's AIFS input state (as `gik extract` takes it). */
export interface MemberPickleOptions {
  /** Ensemble member (default: the first). */
  member?: number;
  /** Preset ("aifs-ens", "aifs-single") or list ("2t,msl,t_850,gh_500"); default "aifs-ens". */
  params?: string;
  /** Valid date ("2025-01-01T06", "2025010106") or seconds since 1970; default the latest possible. */
  date?: string | number;
  /** Forecast step in hours for the grid layout (default: the first). */
  step?: number;
  /** "grid": (nlat, nlon) per field (default); "aifs": (2, npoints), date − 6 h and date. */
  layout?: "grid" | "aifs";
  /** "n320": regrid every field to N320 (542,080 points, MIR "linear") and add
   * `latitudes`/`longitudes` (0 → 360), as the AIFS models read them; default "0.25" (source grid). */
  grid?: "0.25" | "n320";
  dtype?: "float32" | "float64";
  /** Leave out inputs the references lack instead of failing. */
  allowMissing?: boolean;
  /** Requests in flight at once (default: the open options' concurrency). */
  concurrency?: number;
  /** Called after each field: (fields done, fields in all, name of the field). */
  onProgress?: (done: number, total: number, name: string) => void;
}

/** One decoded message of a GRIB2 buffer. */
export interface DecodedField {
  index: number;
  offset: number;
  length: number;
  shortName: string;
  name: string;
  units: string;
  typeOfLevel: string;
  level: number;
  stepRange: string;
  number: number | null;
  gridType: string;
  packingType: string;
  shape: number[];
  values: Float32Array;
  latitudes: Float64Array | null;
  longitudes: Float64Array | null;
  min: number;
  max: number;
}

/** Options of `scan`: how urls are fetched (as for `openRefs`) and how messages are found. */
export interface ScanOptions extends OpenOptions {
  /** The `.index` / `.idx` next to each file when there is one (default), only an index, or the headers. */
  mode?: "auto" | "index" | "headers";
  /** How much of an index to check against the GRIB headers (default "all"). */
  verify?: "all" | "sample" | "none";
}

/** Errors thrown by gik-wasm carry a kind: "network" (CORS refusal or no network), "notFound",
 * "http", "unreachable" (a url the page cannot fetch), "badRefs", "missingData", "decode", "options",
 * "scan" (an index that disagrees with its GRIB file, no index, no message). */
export type GikErrorKind = "network" | "notFound" | "http" | "unreachable" | "badRefs" | "missingData" | "decode" | "options" | "scan";
"#;

#[wasm_bindgen]
extern "C" {
    /// `OpenOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "OpenOptions")]
    pub type OpenOptionsJs;
    /// `FieldSelection` in TypeScript.
    #[wasm_bindgen(typescript_type = "FieldSelection")]
    pub type FieldSelectionJs;
    /// `MemberPickleOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "MemberPickleOptions")]
    pub type MemberPickleOptionsJs;
    /// `ScanOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "ScanOptions")]
    pub type ScanOptionsJs;
}

struct Inner {
    store: RefStore,
    location: String,
    fetcher: Fetcher,
    concurrency: usize,
}

/// An open reference set: its variables, coordinates and fields.
#[wasm_bindgen]
pub struct Refs {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for Refs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refs")
            .field("location", &self.inner.location)
            .finish_non_exhaustive()
    }
}

fn open_options(options: &JsValue) -> Result<(FetchOptions, usize)> {
    let proxy_mode = match js::get_str(options, "proxyMode")?.as_deref() {
        None | Some("fallback") => ProxyMode::Fallback,
        Some("always") => ProxyMode::Always,
        Some("never") => ProxyMode::Never,
        Some(other) => {
            return Err(Error::Options(format!(
                "proxyMode must be \"fallback\", \"always\" or \"never\", got \"{other}\""
            )))
        }
    };
    let concurrency = js::get_i64(options, "concurrency")?
        .unwrap_or(8)
        .clamp(1, 64) as usize;
    Ok((
        FetchOptions {
            base: js::get_str(options, "baseUrl")?,
            proxy: js::get_str(options, "proxy")?,
            proxy_mode,
            files: js::get_str(options, "files")?,
        },
        concurrency,
    ))
}

fn parse_refs(location: &str, bytes: &[u8]) -> Result<RefStore> {
    let parsed = if bytes.starts_with(b"PAR1") {
        refs::read_seed_parquet(bytes)
    } else {
        refs::read_json(bytes)
    };
    parsed.map_err(|source| Error::Refs {
        location: location.to_string(),
        source,
    })
}

fn is_directory_url(url: &str) -> bool {
    url.ends_with('/') || url.ends_with("/.zmetadata")
}

/// An fsspec parquet reference directory: `.zmetadata` says which arrays
/// exist and how many chunks each has, hence which `refs.{n}.parq` to fetch.
async fn load_parquet_dir(fetcher: &Fetcher, url: &str) -> Result<RefStore> {
    let base = url
        .trim_end_matches(".zmetadata")
        .trim_end_matches('/')
        .to_string();
    let zmeta_url = format!("{base}/.zmetadata");
    let zmeta = fetcher.get(&zmeta_url, None).await?;
    let wanted = refs::parquet_dir_files(&zmeta).map_err(|source| Error::Refs {
        location: zmeta_url.clone(),
        source,
    })?;
    let fetched: Vec<(String, Option<Vec<u8>>)> = stream::iter(wanted.into_iter().map(|rel| {
        let f = fetcher.clone();
        let url = format!("{base}/{rel}");
        async move {
            match f.get(&url, None).await {
                Ok(b) => Ok((rel, Some(b))),
                // Arrays whose chunks are all inline (coordinates) have no file.
                Err(Error::NotFound { .. }) => Ok((rel, None)),
                Err(e) => Err(e),
            }
        }
    }))
    .buffer_unordered(8)
    .try_collect()
    .await?;
    let mut files = FileMap::new();
    files.insert(".zmetadata".into(), zmeta);
    for (rel, bytes) in fetched {
        if let Some(b) = bytes {
            files.insert(rel, b);
        }
    }
    refs::read_parquet_dir(&files).map_err(|source| Error::Refs {
        location: base,
        source,
    })
}

/// Opens references: a url (kerchunk JSON, the two-column parquet, or an
/// fsspec parquet directory ending in `/`) or their bytes.
///
/// # Errors
/// A fetch that fails (CORS, 404, …) or references that cannot be read;
/// fsspec directories written with zstd give a message saying how to
/// convert them with `gik`.
#[wasm_bindgen(js_name = openRefs)]
pub async fn open_refs(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] source: JsValue,
    options: Option<OpenOptionsJs>,
) -> Result<Refs, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (opts, concurrency) = open_options(&options)?;
    let fetcher = Fetcher::new(opts);
    let (store, location, fetcher) = if let Some(url) = source.as_string() {
        // The references' own url: where relative references point from.
        let absolute = match fetcher.options().base.clone().or_else(fetch::page_location) {
            Some(base) => web_sys::Url::new_with_base(&url, &base)
                .map(|u| u.href())
                .unwrap_or_else(|_| url.clone()),
            None => url.clone(),
        };
        let store = if is_directory_url(&absolute) {
            load_parquet_dir(&fetcher, &absolute).await?
        } else {
            let bytes = fetcher.get(&absolute, None).await?;
            parse_refs(&absolute, &bytes)?
        };
        let fetcher = fetcher.with_base(absolute.clone());
        (store, absolute, fetcher)
    } else if let Some(bytes) = source.dyn_ref::<Uint8Array>() {
        let store = parse_refs("references (bytes)", &bytes.to_vec())?;
        (store, "references (bytes)".to_string(), fetcher)
    } else {
        return Err(Error::Options(
            "openRefs takes a url (string) or the references' bytes (Uint8Array)".into(),
        )
        .into());
    };
    Ok(Refs {
        inner: Rc::new(Inner {
            store,
            location,
            fetcher,
            concurrency,
        }),
    })
}

fn attr_str(v: &Variable, k: &str) -> String {
    v.attrs
        .get(k)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn variable_by_name(store: &RefStore, name: &str) -> Result<Variable> {
    let vars = store.variables().map_err(|source| Error::Refs {
        location: "references".into(),
        source,
    })?;
    if let Some(v) = vars.iter().find(|v| v.path == name) {
        return Ok(v.clone());
    }
    let hits: Vec<&Variable> = vars
        .iter()
        .filter(|v| v.name == name || attr_str(v, "GRIB_shortName") == name)
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::Options(format!(
            "no variable `{name}` in the references (they hold {})",
            vars.iter()
                .map(|v| v.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        many => Err(Error::Options(format!(
            "`{name}` is ambiguous: {}; give the path",
            many.iter()
                .map(|v| v.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn field_at(sel: &JsValue) -> Result<(String, FieldAt)> {
    let variable = js::get_str(sel, "variable")?
        .ok_or_else(|| Error::Options("readField needs `variable`".into()))?;
    Ok((
        variable,
        FieldAt {
            time: js::get_i64(sel, "time")?,
            step: js::get_i64(sel, "step")?,
            level: js::get_f64(sel, "level")?,
            member: js::get_i64(sel, "member")?,
        },
    ))
}

fn at_text(at: &FieldAt) -> String {
    let mut parts = Vec::new();
    if let Some(t) = at.time {
        parts.push(format!("time {t}"));
    }
    if let Some(s) = at.step {
        parts.push(format!("step {s} h"));
    }
    if let Some(l) = at.level {
        parts.push(format!("level {l}"));
    }
    if let Some(m) = at.member {
        parts.push(format!("member {m}"));
    }
    if parts.is_empty() {
        "the first position".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(target_arch = "wasm32")]
async fn fetch_part(fetcher: &Fetcher, part: &RefValue) -> Result<bytes::Bytes> {
    gik_core::io::read_part(fetcher, part).await
}

/// Reads the parts of a state's fields, neighbouring messages of up to
/// `window` consecutive fields in one request (fewer requests matter in a
/// browser: six connections per origin).
struct PartReader {
    #[cfg(target_arch = "wasm32")]
    inner: gik_core::io::CoalescingReader<Fetcher>,
    #[cfg(not(target_arch = "wasm32"))]
    fetcher: Fetcher,
}

impl PartReader {
    fn new(fetcher: &Fetcher, fields: &[plan::FieldPlan], window: usize) -> Self {
        #[cfg(target_arch = "wasm32")]
        {
            Self {
                inner: gik_core::io::CoalescingReader::new(
                    fetcher.clone(),
                    fields.iter().map(|f| f.parts.as_slice()),
                    window,
                    // as `gik extract --coalesce-gap auto` for remote objects
                    |_| 1 << 20,
                    32 << 20,
                ),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (fields, window);
            Self {
                fetcher: fetcher.clone(),
            }
        }
    }

    async fn read(&self, field: usize, part: usize, value: &RefValue) -> Result<bytes::Bytes> {
        #[cfg(target_arch = "wasm32")]
        {
            self.inner.read_part(field, part, value).await
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = (field, part);
            fetch_part(&self.fetcher, value).await
        }
    }
}

/// Natively (the crate's own unit tests) there is no `fetch` to read with.
#[cfg(not(target_arch = "wasm32"))]
async fn fetch_part(_fetcher: &Fetcher, part: &RefValue) -> Result<bytes::Bytes> {
    Err(Error::Unreachable {
        url: assemble::describe(part),
        reason: "reading needs WebAssembly's fetch".into(),
    })
}

/// Checks that range reads of `url` through this package's `fetch` reader
/// keep the core's `RangeReader` contract (exact ranges; ranges past the end
/// and missing objects are errors), given the object's bytes; `missingUrl`
/// must not exist. Resolves when they do, rejects with the first broken
/// promise. The package's tests run it; it also tells whether a server
/// handles `Range` requests as gik needs.
///
/// # Errors
/// The first broken promise, as text.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = checkReader)]
pub async fn check_reader(
    url: String,
    expected: Vec<u8>,
    missing_url: String,
) -> Result<(), JsError> {
    let fetcher = Fetcher::new(FetchOptions::default());
    gik_core::io::check_reader(&fetcher, &url, &expected, &missing_url)
        .await
        .map_err(|e| JsError::new(&e))
}

/// The core's scan options from a `ScanOptions` object.
#[cfg(target_arch = "wasm32")]
fn scan_options(options: &JsValue) -> Result<gik_core::scan::ScanOptions> {
    use gik_core::{index::Verify, scan::Mode};
    let mode = match js::get_str(options, "mode")?.as_deref() {
        None | Some("auto") => Mode::Auto,
        Some("index") => Mode::Index,
        Some("headers") => Mode::Headers,
        Some(other) => {
            return Err(Error::Options(format!(
                "mode must be \"auto\", \"index\" or \"headers\", got \"{other}\""
            )))
        }
    };
    let verify = match js::get_str(options, "verify")?.as_deref() {
        None | Some("all") => Verify::All,
        Some("sample") => Verify::Sample,
        Some("none") => Verify::None,
        Some(other) => {
            return Err(Error::Options(format!(
                "verify must be \"all\", \"sample\" or \"none\", got \"{other}\""
            )))
        }
    };
    Ok(gik_core::scan::ScanOptions {
        mode,
        verify,
        concurrency: js::get_i64(options, "concurrency")?.map_or(64, |c| c.clamp(1, 1024) as usize),
        ..gik_core::scan::ScanOptions::default()
    })
}

/// Scans GRIB2 files (urls, read with range requests; an `.index` / `.idx`
/// next to each is used and checked against the headers) into kerchunk
/// references: the bytes `gik scan --out refs.json` writes for the same urls,
/// which `openRefs` opens.
///
/// # Errors
/// A failed fetch, malformed GRIB, an index that disagrees with its file.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(js_name = scan)]
pub async fn scan(
    urls: Vec<String>,
    options: Option<ScanOptionsJs>,
) -> Result<Uint8Array, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (fetch, _) = open_options(&options)?;
    let opts = scan_options(&options)?;
    let fetcher = Fetcher::new(fetch);
    let fields = gik_core::scan::scan(&fetcher, &urls, &opts, &(), &gik_core::scan::Inline)
        .await
        .map_err(|e| Error::Scan(Box::new(e)))?;
    let store = refs::build(&fields)
        .map_err(|source| Error::Refs {
            location: urls.first().cloned().unwrap_or_default(),
            source,
        })?
        .store;
    Ok(Uint8Array::from(
        &refs::write_json(&store, refs::JsonVersion::V1)[..],
    ))
}

/// Latitudes and longitudes of a regular lat/lon grid from its GRIB header.
fn grid_axes(grid: &gik_core::grib::Grid) -> Option<(Vec<f64>, Vec<f64>)> {
    if grid.grid_type != "regular_ll" {
        return None;
    }
    let (ni, nj) = (grid.ni? as usize, grid.nj? as usize);
    let (la0, la1, lo0) = (grid.lat_first?, grid.lat_last?, grid.lon_first?);
    let dlat = if nj > 1 {
        (la1 - la0) / (nj - 1) as f64
    } else {
        0.0
    };
    let di = grid.di.unwrap_or(360.0 / ni as f64);
    let di = if grid.scanning_mode & 0x80 != 0 {
        -di
    } else {
        di
    };
    let lats = (0..nj).map(|j| la0 + dlat * j as f64).collect();
    let lons = (0..ni)
        .map(|i| {
            let l = lo0 + di * i as f64;
            if l >= 180.0 {
                l - 360.0
            } else {
                l
            }
        })
        .collect();
    Some((lats, lons))
}

fn stats(values: &[f32]) -> (f64, f64, f64, u32) {
    let (mut lo, mut hi, mut sum, mut n, mut missing) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0u64, 0u32);
    for &v in values {
        if v.is_nan() {
            missing += 1;
            continue;
        }
        let v = f64::from(v);
        lo = lo.min(v);
        hi = hi.max(v);
        sum += v;
        n += 1;
    }
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN, missing);
    }
    (lo, hi, sum / n as f64, missing)
}

impl Inner {
    fn variable(&self, name: &str) -> Result<Variable> {
        variable_by_name(&self.store, name)
    }

    fn refs_err(&self, source: refs::RefsError) -> Error {
        Error::Refs {
            location: self.location.clone(),
            source,
        }
    }

    fn variables(&self) -> Result<Array> {
        let out = Array::new();
        for v in self.store.variables().map_err(|e| self.refs_err(e))? {
            let axes = self.store.axes(&v).map_err(|e| self.refs_err(e))?;
            let o = Obj::new();
            o.set("path", v.path.as_str())
                .set("name", v.name.as_str())
                .set("shortName", attr_str(&v, "GRIB_shortName"))
                .set("longName", {
                    let n = attr_str(&v, "long_name");
                    if n.is_empty() {
                        attr_str(&v, "GRIB_name")
                    } else {
                        n
                    }
                })
                .set("units", {
                    let u = attr_str(&v, "units");
                    if u.is_empty() {
                        attr_str(&v, "GRIB_units")
                    } else {
                        u
                    }
                })
                .set("typeOfLevel", attr_str(&v, "GRIB_typeOfLevel"))
                .set("stepType", attr_str(&v, "GRIB_stepType"))
                .set("gridType", attr_str(&v, "GRIB_gridType"))
                .set("dims", js::strings(&v.dims))
                .set(
                    "shape",
                    v.shape
                        .iter()
                        .map(|x| JsValue::from(*x as f64))
                        .collect::<Array>(),
                )
                .opt("levelName", axes.level.as_ref().map(|(n, _)| n.as_str()))
                .set(
                    "levels",
                    js::numbers(axes.level.as_ref().map_or(&[][..], |(_, l)| l)),
                )
                .set("steps", js::ints(&axes.step))
                .set("times", js::ints(&axes.time))
                .set("members", js::ints(&axes.number));
            out.push(&o.into_js());
        }
        Ok(out)
    }

    fn lat_lon(&self, var: &Variable) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        let coord = |name: &str| {
            var.coords
                .iter()
                .any(|c| c == name)
                .then(|| self.store.coordinate(&var.group, name).ok())
                .flatten()
                .map(|c| c.filled().floats())
        };
        (coord("latitude"), coord("longitude"))
    }

    fn coords(&self, name: &str) -> Result<JsValue> {
        let var = self.variable(name)?;
        let axes = self.store.axes(&var).map_err(|e| self.refs_err(e))?;
        let (lat, lon) = self.lat_lon(&var);
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
        Ok(o.into_js())
    }

    async fn read_field(&self, sel: JsValue) -> Result<JsValue> {
        let (name, at) = field_at(&sel)?;
        let var = self.variable(&name)?;
        let (located, chunk) = assemble::field_chunk(&self.store, &var, &at)?;
        let part = chunk.ok_or_else(|| Error::Missing {
            variable: var.path.clone(),
            at: at_text(&at),
        })?;
        let t0 = fetch::now_ms();
        let bytes = fetch_part(&self.fetcher, &part).await?;
        let t1 = fetch::now_ms();
        if !bytes.starts_with(b"GRIB") {
            return Err(assemble::AssembleError::NotGrib {
                part: assemble::describe(&part),
            }
            .into());
        }
        let field = gik_core::grib::fields(&bytes).next().ok_or_else(|| {
            Error::Grib(gik_core::Error::NotGrib {
                offset: 0,
                reason: "no message in the chunk",
            })
        })??;
        let meta = field.meta()?;
        let values = field.decode_f32()?;
        let t2 = fetch::now_ms();
        let (min, max, mean, missing) = stats(&values);
        let (mut lats, mut lons) = self.lat_lon(&var);
        if lats.is_none() || lons.is_none() {
            if let Some((a, b)) = grid_axes(&meta.grid) {
                (lats, lons) = (Some(a), Some(b));
            }
        }
        let regular =
            matches!((&lats, &lons), (Some(a), Some(b)) if a.len() * b.len() == values.len());
        let shape: Vec<f64> = match (&lats, &lons) {
            (Some(a), Some(b)) if regular => vec![a.len() as f64, b.len() as f64],
            _ => vec![values.len() as f64],
        };
        let o = Obj::new();
        o.set("values", js::f32s(&values))
            .set("shape", js::numbers(&shape))
            .opt(
                "latitudes",
                lats.filter(|_| regular).as_deref().map(js::f64s),
            )
            .opt(
                "longitudes",
                lons.filter(|_| regular).as_deref().map(js::f64s),
            )
            .set("min", min)
            .set("max", max)
            .set("mean", mean)
            .set("missing", missing)
            .set("units", meta.units.as_str())
            .set("name", meta.name.as_str())
            .set("shortName", meta.short_name.as_str())
            .set("variable", var.path.as_str())
            .set("gridType", meta.grid.grid_type.as_str())
            .set("packingType", meta.packing_type.as_str())
            .opt("time", located.time.map(|t| t as f64))
            .opt("step", located.step.map(|s| s as f64))
            .opt("level", located.level)
            .opt("member", located.member.map(|m| m as f64))
            .opt(
                "validTime",
                located
                    .time
                    .map(|t| (t + located.step.unwrap_or(0) * 3600) as f64),
            )
            .set("bytes", bytes.len() as f64)
            .set("fetchMs", t1 - t0)
            .set("decodeMs", t2 - t1);
        Ok(o.into_js())
    }

    /// The pickle of the one state a plan holds, fields fetched `concurrency` at a time.
    async fn state_pickle(
        &self,
        plan: &plan::Plan,
        layout: Layout,
        dtype: Dtype,
        concurrency: usize,
        progress: Option<Function>,
        n320: bool,
    ) -> Result<Vec<u8>> {
        let state = match plan.states.as_slice() {
            [one] => one,
            [] => return Err(Error::Options("the selection holds no state".into())),
            many => {
                return Err(Error::Options(format!(
                    "the selection holds {} states; ask for one member and one step per pickle",
                    many.len()
                )))
            }
        };
        let total = state.fields.len();
        // Built per pickle (~0.1 s in wasm), shared by every field of it.
        let regrid = n320.then(gik_core::regrid::N320Operator::build);
        let mut asm = if n320 {
            StateAssembler::new_n320(Vec::new(), state, layout, dtype)?
        } else {
            StateAssembler::new(Vec::new(), state, layout, dtype)?
        };
        let reader = PartReader::new(&self.fetcher, &state.fields, concurrency.max(1));
        let reader = &reader;
        let mut fetched = stream::iter(state.fields.iter().enumerate().map(
            |(i, field)| async move {
                let parts = futures::future::try_join_all(
                    field
                        .parts
                        .iter()
                        .enumerate()
                        .map(|(j, p)| reader.read(i, j, p)),
                )
                .await?;
                Ok::<_, Error>((field, parts))
            },
        ))
        .buffered(concurrency.max(1));
        let mut done = 0;
        while let Some(next) = fetched.next().await {
            let (field, parts) = next?;
            let array = assemble::decode_field_with(field, &parts, dtype, regrid.as_ref())?;
            drop(parts);
            asm.push(field, &array)?;
            done += 1;
            if let Some(f) = &progress {
                let _ = f.call3(
                    &JsValue::NULL,
                    &JsValue::from(done as f64),
                    &JsValue::from(total as f64),
                    &JsValue::from(field.name.as_str()),
                );
            }
        }
        Ok(asm.finish()?)
    }

    async fn member_pickle(&self, opts: JsValue) -> Result<JsValue> {
        let params = js::get_str(&opts, "params")?.unwrap_or_else(|| "aifs-ens".into());
        let inputs = plan::parse_params(&params)?;
        let date = match js::get(&opts, "date") {
            None => None,
            Some(d) => match (d.as_f64(), d.as_string()) {
                (Some(secs), _) => Some(secs as i64),
                (_, Some(s)) => Some(assemble::parse_date(&s).ok_or_else(|| {
                    Error::Options(format!(
                        "date `{s}`: expected e.g. 2025-01-01T06 or 2025010106"
                    ))
                })?),
                _ => return Err(Error::Options("date must be a string or a number".into())),
            },
        };
        let layout = match js::get_str(&opts, "layout")?.as_deref() {
            None | Some("grid") => Layout::Grid,
            Some("aifs") => Layout::Aifs,
            Some(o) => {
                return Err(Error::Options(format!(
                    "layout must be \"grid\" or \"aifs\", got \"{o}\""
                )))
            }
        };
        let dtype = match js::get_str(&opts, "dtype")?.as_deref() {
            None | Some("float32") => Dtype::F32,
            Some("float64") => Dtype::F64,
            Some(o) => {
                return Err(Error::Options(format!(
                    "dtype must be \"float32\" or \"float64\", got \"{o}\""
                )))
            }
        };
        // `grid: "n320"`: regrid to N320 (MIR "linear"), as `gik extract --grid n320`.
        let n320 = match js::get_str(&opts, "grid")?.as_deref() {
            None | Some("0.25" | "source") => false,
            Some("n320" | "N320") => true,
            Some(o) => {
                return Err(Error::Options(format!(
                    "grid must be \"0.25\" or \"n320\", got \"{o}\""
                )))
            }
        };
        let member = js::get_i64(&opts, "member")?;
        let steps = js::get_i64s(&opts, "step")?.or(js::get_i64s(&opts, "steps")?);
        let sel = Selection {
            members: Some(BTreeSet::from([member.unwrap_or(0)])),
            date,
            steps,
            layout,
            allow_missing: js::get_bool(&opts, "allowMissing")?.unwrap_or(false),
        };
        let sel = match member {
            Some(_) => sel,
            None => self.first_member(sel, &inputs),
        };
        let plan = plan::plan(&self.store, &inputs, &sel)?;
        let concurrency = js::get_i64(&opts, "concurrency")?
            .map_or(self.concurrency, |c| c.clamp(1, 64) as usize);
        let progress = js::get(&opts, "onProgress").and_then(|f| f.dyn_into::<Function>().ok());
        let bytes = self
            .state_pickle(&plan, layout, dtype, concurrency, progress, n320)
            .await?;
        Ok(Uint8Array::from(bytes.as_slice()).into())
    }

    /// Without a member: the first the references hold (the control when there is one).
    fn first_member(&self, mut sel: Selection, inputs: &[plan::Input]) -> Selection {
        let all = Selection {
            members: None,
            ..sel.clone()
        };
        if let Ok(p) = plan::plan(&self.store, inputs, &all) {
            if let Some(s) = p.states.first() {
                sel.members = Some(BTreeSet::from([s.member]));
            }
        }
        sel
    }

    async fn field_pickle(&self, sel: JsValue) -> Result<JsValue> {
        let (name, at) = field_at(&sel)?;
        let var = self.variable(&name)?;
        let axes = self.store.axes(&var).map_err(|e| self.refs_err(e))?;
        let located = assemble::locate(&var, &axes, &at)?;
        let short = attr_str(&var, "GRIB_shortName");
        let short = if short.is_empty() {
            var.name.clone()
        } else {
            short
        };
        // The same input `gik extract --params {short}[_{level}]` makes.
        let spec = match located
            .level
            .filter(|_| axes.level.as_ref().is_some_and(|(_, l)| l.len() > 1))
        {
            Some(l) => format!("{short}_{l}"),
            None => short,
        };
        let mut inputs = plan::parse_params(&spec)?;
        let tol = attr_str(&var, "GRIB_typeOfLevel");
        for i in &mut inputs {
            if !tol.is_empty() {
                i.type_of_level = Some(tol.clone());
            }
        }
        let selection = Selection {
            members: Some(BTreeSet::from([located.member.unwrap_or(0)])),
            date: located.time.map(|t| t + located.step.unwrap_or(0) * 3600),
            steps: Some(vec![located.step.unwrap_or(0)]),
            layout: Layout::Grid,
            allow_missing: false,
        };
        let plan = plan::plan(&self.store, &inputs, &selection)?;
        let bytes = self
            .state_pickle(&plan, Layout::Grid, Dtype::F32, 1, None, false)
            .await?;
        Ok(Uint8Array::from(bytes.as_slice()).into())
    }
}

fn promise<F>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    future_to_promise(async move { f.await.map_err(JsValue::from) })
}

#[wasm_bindgen]
impl Refs {
    /// Where the references came from.
    #[wasm_bindgen(getter)]
    pub fn location(&self) -> String {
        self.inner.location.clone()
    }

    /// The data variables with their axes.
    ///
    /// # Errors
    /// Malformed zarr metadata or coordinates in the references.
    #[wasm_bindgen(unchecked_return_type = "VariableInfo[]")]
    pub fn variables(&self) -> Result<Array, JsValue> {
        Ok(self.inner.variables()?)
    }

    /// The coordinates of one variable (path, or an unambiguous shortName).
    ///
    /// # Errors
    /// An unknown variable or malformed coordinates.
    #[wasm_bindgen(unchecked_return_type = "Coords")]
    pub fn coords(&self, variable: &str) -> Result<JsValue, JsValue> {
        Ok(self.inner.coords(variable)?)
    }

    /// Fetches and decodes one field.
    #[wasm_bindgen(js_name = readField, unchecked_return_type = "Promise<FieldData>")]
    pub fn read_field(&self, selection: FieldSelectionJs) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.read_field(selection.into()).await })
    }

    /// The pickle of one field as `gik extract --params {shortName}[_{level}]
    /// --members {member} --steps {step}` writes it.
    #[wasm_bindgen(js_name = fieldPickle, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn field_pickle(&self, selection: FieldSelectionJs) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.field_pickle(selection.into()).await })
    }

    /// One member's AIFS input state, byte-identical to what `gik extract`
    /// writes for the same selection.
    #[wasm_bindgen(js_name = memberPickle, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn member_pickle(&self, options: Option<MemberPickleOptionsJs>) -> Promise {
        let inner = self.inner.clone();
        let opts: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        promise(async move { inner.member_pickle(opts).await })
    }
}

/// Decodes every field of a GRIB2 buffer.
///
/// # Errors
/// Any framing or decoding error of the core.
#[wasm_bindgen(js_name = decodeGrib, unchecked_return_type = "DecodedField[]")]
pub fn decode_grib(bytes: &[u8]) -> Result<Array, JsValue> {
    let out = Array::new();
    for (index, field) in gik_core::grib::fields(bytes).enumerate() {
        let field = field.map_err(Error::from)?;
        let meta = field.meta().map_err(Error::from)?;
        let values = field.decode_f32().map_err(Error::from)?;
        let (min, max, _, _) = stats(&values);
        let axes = grid_axes(&meta.grid).filter(|(a, b)| a.len() * b.len() == values.len());
        let shape: Vec<f64> = match &axes {
            Some((a, b)) => vec![a.len() as f64, b.len() as f64],
            None => vec![values.len() as f64],
        };
        let o = Obj::new();
        o.set("index", index as f64)
            .set("offset", field.msg_offset as f64)
            .set("length", field.msg_length as f64)
            .set("shortName", meta.short_name.as_str())
            .set("name", meta.name.as_str())
            .set("units", meta.units.as_str())
            .set("typeOfLevel", meta.type_of_level.as_str())
            .set("level", meta.level as f64)
            .set("stepRange", meta.step_range.as_str())
            .opt("number", meta.number.map(|n| n as f64))
            .set("gridType", meta.grid.grid_type.as_str())
            .set("packingType", meta.packing_type.as_str())
            .set("shape", js::numbers(&shape))
            .set("values", js::f32s(&values))
            .opt("latitudes", axes.as_ref().map(|(a, _)| js::f64s(a)))
            .opt("longitudes", axes.as_ref().map(|(_, b)| js::f64s(b)))
            .set("min", min)
            .set("max", max);
        out.push(&o.into_js());
    }
    Ok(out)
}

/// The version of gik-wasm.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Best-of-`iters` time in milliseconds of decoding the first field of
/// `bytes` to f32 inside WebAssembly, without metadata or copies to JS
/// (for comparing with the native decoder; see tests/browser/bench_decode.mjs).
///
/// # Errors
/// As [`decode_grib`].
#[wasm_bindgen(js_name = benchDecode)]
pub fn bench_decode(bytes: &[u8], iters: u32) -> Result<f64, JsValue> {
    let field = gik_core::grib::fields(bytes)
        .next()
        .ok_or_else(|| Error::Options("no GRIB message in the buffer".into()))?
        .map_err(Error::from)?;
    let mut best = f64::INFINITY;
    for _ in 0..iters.max(1) {
        let t = fetch::now_ms();
        let v = field.decode_f32().map_err(Error::from)?;
        best = best.min(fetch::now_ms() - t);
        drop(v);
    }
    Ok(best)
}
