//! ECMWF open-data requests in Python (`gik.request`, `gik.resolve_request`):
//! the core's request module (keywords as ecmwf-opendata takes them, both
//! IFS cycles' naming, the mirrors, `latest` checked with the `.index`
//! files) and the core's scan with the request's field selection, read
//! through gik-store. The clock is the only thing added here.

use std::sync::Arc;

use gik_core::refs;
use gik_core::request::{self, LocateError, Located, Mirror, Request, ScanRequestError};
use gik_core::scan::ScanOptions;
use gik_store::{Blocking, Sources, StoreError};
use pyo3::prelude::*;

use crate::error::{Error, Kind};
use crate::refs::References;
use crate::runtime::block_on;

impl From<LocateError<StoreError>> for Error {
    fn from(e: LocateError<StoreError>) -> Self {
        match e {
            LocateError::Read(e) => e.into(),
            LocateError::Request(e) => Self::new(Kind::Selection, e.to_string()),
            other => Self::new(Kind::NotFound, other.to_string()),
        }
    }
}

/// The request and the mirror (a local root made absolute, as references name it).
fn parse(pairs: &[(String, String)], source: &str) -> Result<(Request, Mirror), Error> {
    let req = Request::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| Error::new(Kind::Selection, e.to_string()))?;
    let mirror = gik_store::absolute_mirror(
        Mirror::parse(source).map_err(|e| Error::new(Kind::Selection, e.to_string()))?,
    )?;
    Ok((req, mirror))
}

async fn locate(reader: &Sources, req: &Request, mirror: &Mirror) -> Result<Located, Error> {
    Ok(request::locate(reader, req, mirror, gik_store::now()).await?)
}

/// The run a request names on a mirror and its objects: `(run, urls, indexes)`.
#[pyfunction]
pub fn resolve_request(
    py: Python<'_>,
    pairs: Vec<(String, String)>,
    source: String,
) -> PyResult<(String, Vec<String>, Vec<String>)> {
    let (req, mirror) = parse(&pairs, &source)?;
    let reader = Sources::default();
    let (r, q, m) = (&reader, &req, &mirror);
    let located = block_on(py, "locating the request's run", || async move {
        locate(r, q, m).await
    })?;
    Ok((
        located.run.to_string(),
        located.objects.iter().map(|o| o.url.clone()).collect(),
        located.objects.into_iter().map(|o| o.index).collect(),
    ))
}

/// The references of a request (its objects scanned with its selection),
/// as `gik scan --source … --date … --out refs.json` writes them.
#[pyfunction]
#[pyo3(signature = (pairs, source, codec = "grib", concurrency = 64))]
pub fn scan_request(
    py: Python<'_>,
    pairs: Vec<(String, String)>,
    source: String,
    codec: &str,
    concurrency: usize,
) -> PyResult<(References, String)> {
    let codec = match codec {
        "grib" => refs::Codec::Grib,
        "gik" => refs::Codec::Gik,
        c => {
            return Err(Error::new(
                Kind::Selection,
                format!("codec `{c}`: expected grib or gik"),
            )
            .into())
        }
    };
    let (req, mirror) = parse(&pairs, &source)?;
    let reader = Arc::new(Sources::default());
    let (r, q, m) = (&*reader, &req, &mirror);
    let (run, built) = block_on(py, "scanning the request", || async move {
        let opts = ScanOptions {
            concurrency: concurrency.max(1),
            objects_at_once: 4,
            batch: gik_store::header_batch,
            ..ScanOptions::default()
        };
        let (located, fields) =
            request::scan_request(r, q, m, gik_store::now(), &opts, &(), &Blocking)
                .await
                .map_err(|e| match e {
                    ScanRequestError::Locate(e) => Error::from(e),
                    ScanRequestError::Scan(e) => Error::from(*e),
                    other => Error::new(Kind::Selection, other.to_string()),
                })?;
        let built = refs::build_with(&fields, &refs::BuildOptions::with_codec(codec))?;
        Ok((located.run, built))
    })?;
    let origin = format!("{run} on {mirror}");
    Ok((
        References {
            store: built.store,
            reader,
            origin: origin.clone(),
        },
        origin,
    ))
}
