//! ECMWF open-data requests in the npm package: `resolveRequest` (the run
//! and objects a request names on a mirror, `latest` checked with the
//! `.index` files) and `openRequest` (those objects scanned, with the
//! request's field selection, into open references). Bindings only: the
//! request, the naming of both IFS cycles, the mirrors and `latest` are
//! `gik_core::request`'s, the scan is `gik_core::scan`'s; this module adds
//! the clock (`Date.now()`) and the `fetch` reader.
//!
//! ```js
//! const refs = await openRequest(
//!   { model: "ifs", date: "latest", time: 0, step: "0/to/12/by/6", stream: "enfo", param: "2t/msl", source: "aws" },
//!   { proxy: "/proxy?url=" });
//! ```

use std::rc::Rc;

use gik_core::request::{self, LocateError, Located, Mirror, Request, ScanRequestError};
use gik_core::scan::Inline;
use serde::{Deserialize, Serialize};
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result};
use crate::fetch::{self, Fetcher};
use crate::options::{self, ScanOptions};
use crate::session::Inner;
use crate::Refs;

/// One keyword's value: a string as ecmwf-opendata takes it (`"0/to/144/by/6"`,
/// `"2t/msl"`, `"latest"`), a number, or a list of either.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(untagged)]
pub enum Keyword {
    Text(String),
    Number(f64),
    List(Vec<Keyword>),
}

impl Keyword {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::List(l) => l.iter().map(Self::text).collect::<Vec<_>>().join("/"),
        }
    }
}

/// An open-data request, with ecmwf-opendata's keywords (every one optional:
/// `ifs`, `latest`, step 0, … as `gik scan` defaults them) and the mirror.
#[derive(Debug, Default, Deserialize, Tsify)]
pub struct RequestSpec {
    /// ifs, aifs-single or aifs-ens.
    #[tsify(optional)]
    pub model: Option<Keyword>,
    /// Resolution folder (0p25).
    #[tsify(optional)]
    pub resol: Option<Keyword>,
    /// YYYYMMDD, YYYY-MM-DD, 0 / -1 (days from today, UTC), or "latest".
    #[tsify(optional)]
    pub date: Option<Keyword>,
    /// The run's hour: 0, 6, 12, 18.
    #[tsify(optional)]
    pub time: Option<Keyword>,
    /// Steps in hours: 6, "0/6/12", "0/to/144/by/6", [0, 6].
    #[tsify(optional)]
    pub step: Option<Keyword>,
    /// oper, enfo, wave, waef (scda/scwv).
    #[tsify(optional)]
    pub stream: Option<Keyword>,
    /// fc, cf, pf, ef, ep.
    #[tsify(optional)]
    #[serde(rename = "type")]
    pub kind: Option<Keyword>,
    /// Members (0 is the control).
    #[tsify(optional)]
    pub number: Option<Keyword>,
    /// shortNames: "2t/msl".
    #[tsify(optional)]
    pub param: Option<Keyword>,
    /// Levels of fields that have one: "850/500".
    #[tsify(optional)]
    pub levelist: Option<Keyword>,
    /// ecmwf (default), aws, azure, google, or a root laid out like ECMWF's (a url; relative to the page).
    #[tsify(optional)]
    pub source: Option<String>,
}

impl RequestSpec {
    fn request(&self) -> Result<Request> {
        let pairs = [
            ("model", &self.model),
            ("resol", &self.resol),
            ("date", &self.date),
            ("time", &self.time),
            ("step", &self.step),
            ("stream", &self.stream),
            ("type", &self.kind),
            ("number", &self.number),
            ("param", &self.param),
            ("levelist", &self.levelist),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.text())));
        Request::from_pairs(pairs).map_err(|e| Error::Options(e.to_string()))
    }

    /// The mirror; a root url made absolute against the page (or the
    /// options' `base`), as the urls of references are.
    fn mirror(&self, fetcher: &Fetcher) -> Result<Mirror> {
        let m = Mirror::parse(self.source.as_deref().unwrap_or("ecmwf"))
            .map_err(|e| Error::Options(e.to_string()))?;
        Ok(match m {
            Mirror::Root(root) => {
                let base = fetcher.options().base.clone().or_else(fetch::page_location);
                let abs = match base {
                    Some(b) => web_sys::Url::new_with_base(&root, &b)
                        .map(|u| u.href())
                        .unwrap_or(root),
                    None => root,
                };
                Mirror::Root(abs.trim_end_matches('/').to_string())
            }
            m => m,
        })
    }
}

/// The keys a request object may have.
const KEYWORDS: [&str; 11] = [
    "model", "resol", "date", "time", "step", "stream", "type", "number", "param", "levelist",
    "source",
];

/// What a request resolves to on a mirror.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedRequest {
    /// The run, `2026-06-01 00z`.
    pub run: String,
    /// Its day, `YYYYMMDD`.
    pub date: String,
    /// Its hour, UTC.
    pub time: u8,
    /// The mirror's root.
    pub mirror: String,
    /// The GRIB objects, in request order.
    pub urls: Vec<String>,
    /// Their `.index` files.
    pub indexes: Vec<String>,
}

fn locate_error(e: LocateError<Error>) -> Error {
    match e {
        LocateError::Read(e) => e,
        LocateError::Request(e) => Error::Options(e.to_string()),
        other => Error::Locate(other.to_string()),
    }
}

async fn locate(spec: &RequestSpec, fetcher: &Fetcher) -> Result<(Request, Mirror, Located)> {
    let req = spec.request()?;
    let mirror = spec.mirror(fetcher)?;
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let located = request::locate(fetcher, &req, &mirror, now)
        .await
        .map_err(locate_error)?;
    Ok((req, mirror, located))
}

/// The run a request names on its mirror (the newest complete one for
/// `date: "latest"`, checked with the `.index` files) and its objects.
///
/// # Errors
/// A bad keyword (`kind` "options"), a run that lacks an object (the
/// first missing `.index` named; `kind` "missingData"), a failed fetch.
#[wasm_bindgen(js_name = resolveRequest, unchecked_return_type = "Promise<ResolvedRequest>")]
pub fn resolve_request(
    request: Ts<RequestSpec>,
    options: Option<Ts<ScanOptions>>,
) -> js_sys::Promise {
    let parsed = parse(request, options);
    wasm_bindgen_futures::future_to_promise(async move {
        let (spec, options) = parsed?;
        let fetcher = Fetcher::new(options.open.fetch().0);
        let (_, mirror, located) = locate(&spec, &fetcher).await?;
        let run = located.run;
        let out = ResolvedRequest {
            run: run.to_string(),
            date: run.yyyymmdd(),
            time: run.hour,
            mirror: mirror.to_string(),
            urls: located.objects.iter().map(|o| o.url.clone()).collect(),
            indexes: located.objects.iter().map(|o| o.index.clone()).collect(),
        };
        Ok(crate::convert::to_js(&out)?)
    })
}

fn parse(
    request: Ts<RequestSpec>,
    options: Option<Ts<ScanOptions>>,
) -> std::result::Result<(RequestSpec, ScanOptions), JsValue> {
    let request: JsValue = request.into();
    let options: JsValue = options.map_or(JsValue::UNDEFINED, Into::into);
    // (serde-wasm-bindgen reads only the fields it knows: a misspelt
    // keyword would be dropped silently and the request widened)
    if let Some(obj) = request.dyn_ref::<js_sys::Object>() {
        for key in js_sys::Object::keys(obj)
            .iter()
            .filter_map(|k| k.as_string())
        {
            if !KEYWORDS.contains(&key.as_str()) {
                return Err(Error::Options(format!(
                    "request: unknown keyword `{key}` (known: {})",
                    KEYWORDS.join(", ")
                ))
                .into());
            }
        }
    }
    Ok((
        options::parse::<RequestSpec>("request", &request)?,
        options::parse::<ScanOptions>("request options", &options)?,
    ))
}

/// Opens the references of a request: its objects on the mirror (as
/// `resolveRequest` finds them) scanned with the request's `param`,
/// `levelist` and `number` selecting fields by their `.index` lines: the
/// references `gik scan` writes for the same request.
///
/// # Errors
/// As `resolveRequest`; a selection that matches no field names it
/// (`param=zz`, `kind` "options").
#[wasm_bindgen(js_name = openRequest, unchecked_return_type = "Promise<Refs>")]
pub fn open_request(request: Ts<RequestSpec>, options: Option<Ts<ScanOptions>>) -> js_sys::Promise {
    let parsed = parse(request, options);
    wasm_bindgen_futures::future_to_promise(async move {
        let (spec, options) = parsed?;
        let (fetch_opts, concurrency) = options.open.fetch();
        let fetcher = Fetcher::new(fetch_opts);
        let (req, mirror, located) = locate(&spec, &fetcher).await?;
        let fields = request::scan_located(&fetcher, &req, &located, &options.core(), &(), &Inline)
            .await
            .map_err(|e| match e {
                ScanRequestError::Locate(e) => locate_error(e),
                ScanRequestError::Scan(e) => Error::Scan(e),
                other => Error::Options(other.to_string()),
            })?;
        let location = format!("{} on {mirror}", located.run);
        let store = gik_core::refs::build(&fields)
            .map_err(|source| Error::Refs {
                location: location.clone(),
                source,
            })?
            .store;
        Ok(JsValue::from(Refs {
            inner: Rc::new(Inner {
                store,
                location,
                fetcher,
                concurrency,
            }),
        }))
    })
}
