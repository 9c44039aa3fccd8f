//! WebAssembly bindings of `gik-core`: read kerchunk references, range-fetch
//! the GRIB messages a selection needs, decode them, and hand out the same
//! AIFS input-state pickles `gik extract` writes.
//!
//! Bindings only: each export converts JS values to core types
//! (`options`), calls the core (`refs::open`, `plan`, the `extract`
//! engine, `assemble`, `stats`, `grib`) and converts back. The only thing
//! this crate adds is the `fetch` reader ([`Fetcher`]).
//!
//! ```js
//! import init, { openRefs } from "gik-wasm";
//! await init();
//! const refs = await openRefs("https://example.org/refs.json");
//! const field = await refs.readField({ variable: "t2m/instant/heightAboveGround/t2m", member: 0, step: 6 });
//! console.log(field.units, field.min, field.max, field.values.length);
//! const pickle = await refs.memberPickle({ member: 3, params: "aifs-ens" });
//! // or an ECMWF open-data request (module `request`)
//! const run = await openRequest({ date: "latest", step: "0/6", stream: "enfo", source: "aws" });
//! ```

mod blob;
mod convert;
mod error;
mod fetch;
mod options;
#[cfg(target_arch = "wasm32")]
mod request;
mod session;
mod tables;

use std::rc::Rc;

use gik_core::refs::{self, OpenError};
use js_sys::{Array, Promise, Uint8Array};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

pub use error::Error;
use error::Result;
use fetch::Reader;
pub use fetch::{FetchOptions, Fetcher, ProxyMode};
pub use options::{
    EnsembleStatsOptions, FieldSelection, MemberPickleOptions, OpenOptions, ScanOptions,
};
use session::Inner;
pub use tables::load_parameter_tables;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("types.d.ts");

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

fn open_error(e: OpenError<Error>) -> Error {
    match e {
        OpenError::Read(e) => e,
        OpenError::Refs { location, source } => Error::Refs { location, source },
        other => Error::Options(other.to_string()),
    }
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
    options: Option<Ts<OpenOptions>>,
) -> Result<Refs, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let (opts, concurrency) = options::parse::<OpenOptions>("openRefs", &options)?.fetch();
    let fetcher = Fetcher::new(opts);
    let (store, location, fetcher) = if let Some(url) = source.as_string() {
        // The references' own url: where relative references point from.
        let absolute = match fetcher.options().base.clone().or_else(fetch::page_location) {
            Some(base) => web_sys::Url::new_with_base(&url, &base)
                .map(|u| u.href())
                .unwrap_or_else(|_| url.clone()),
            None => url.clone(),
        };
        let store = refs::open(&Reader::from(fetcher.clone()), &absolute)
            .await
            .map_err(open_error)?;
        let fetcher = fetcher.with_base(absolute.clone());
        (store, absolute, fetcher)
    } else if let Some(bytes) = source.dyn_ref::<Uint8Array>() {
        let location = "references (bytes)".to_string();
        let store = refs::parse_file(&bytes.to_vec()).map_err(|source| Error::Refs {
            location: location.clone(),
            source,
        })?;
        (store, location, fetcher)
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
    options: Option<Ts<ScanOptions>>,
) -> Result<Uint8Array, JsValue> {
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    let options = options::parse::<ScanOptions>("scan", &options)?;
    let opts = options.core();
    let fetcher = Fetcher::new(options.open.fetch().0);
    let fields = tables::retry(|| async {
        gik_core::scan::scan(&fetcher, &urls, &opts, &(), &gik_core::scan::Inline)
            .await
            .map_err(|e| Error::Scan(Box::new(e)))
    })
    .await?;
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
    pub fn read_field(&self, selection: Ts<FieldSelection>) -> Promise {
        let inner = self.inner.clone();
        let sel: JsValue = selection.into();
        promise(async move { tables::retry(|| inner.read_field(sel.clone())).await })
    }

    /// The pickle of one field as `gik extract --params {shortName}[_{level}]
    /// --members {member} --steps {step}` writes it.
    #[wasm_bindgen(js_name = fieldPickle, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn field_pickle(&self, selection: Ts<FieldSelection>) -> Promise {
        let inner = self.inner.clone();
        let sel: JsValue = selection.into();
        promise(async move { tables::retry(|| inner.field_pickle(sel.clone())).await })
    }

    /// An ensemble's statistics per grid point (mean, spread, quantiles,
    /// probabilities), each member's message read and decoded in turn:
    /// the same numbers as `gik stats`. `onProgress(done, total, partial)`
    /// after each member (`partial`: the statistics so far, every
    /// `partialEvery` members); returning `false` from it cancels (the
    /// promise rejects with kind "cancelled").
    #[wasm_bindgen(js_name = ensembleStats, unchecked_return_type = "Promise<EnsembleStatsData>")]
    pub fn ensemble_stats(
        &self,
        options: Ts<EnsembleStatsOptions>,
        #[wasm_bindgen(
            unchecked_param_type = "(done: number, total: number, partial?: { name: string; values: Float32Array }[]) => boolean | void"
        )]
        on_progress: Option<js_sys::Function>,
    ) -> Promise {
        let inner = self.inner.clone();
        let opts: JsValue = options.into();
        promise(async move {
            tables::retry(|| inner.ensemble_stats(opts.clone(), on_progress.clone())).await
        })
    }

    /// One member's AIFS input state, byte-identical to what `gik extract`
    /// writes for the same selection.
    #[wasm_bindgen(js_name = memberPickle, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn member_pickle(&self, options: Option<Ts<MemberPickleOptions>>) -> Promise {
        let inner = self.inner.clone();
        let opts: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
        promise(async move { tables::retry(|| inner.member_pickle(opts.clone())).await })
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
        let (lats, lons) = meta
            .grid
            .lat_lon()
            .map_or((None, None), |(a, b)| (Some(a), Some(b)));
        out.push(&convert::to_js(&convert::DecodedField {
            field: convert::FieldValues::new(&meta, &values, lats, lons),
            index: index as u64,
            offset: field.msg_offset,
            length: field.msg_length,
            type_of_level: meta.type_of_level.clone(),
            level: meta.level,
            step_range: meta.step_range.clone(),
            number: meta.number.map(|n| n as f64),
        })?);
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
