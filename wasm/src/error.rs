//! The one error type of the bindings. At the boundary it becomes a JS
//! `Error` whose `kind` says what went wrong, so a page can word its
//! message (CORS refusal, missing data, bad references) without parsing text.

use std::ops::Range;

use wasm_bindgen::JsValue;

/// Result alias for the bindings.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the bindings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got an HTTP answer: a CORS refusal or a network error
    /// (the browser does not say which).
    #[error("{url}: the request was refused before any answer (a server without CORS headers, or no network){}: {reason}", hint(.proxied))]
    Network {
        url: String,
        proxied: bool,
        reason: String,
    },
    /// The server answered 404.
    #[error("{url}: not found (HTTP 404)")]
    NotFound { url: String },
    /// Any other HTTP error status.
    #[error("{url}: HTTP {status} {status_text}{}", range_text(.range))]
    Http {
        url: String,
        status: u16,
        status_text: String,
        range: Option<Range<u64>>,
    },
    /// Fewer bytes than asked for.
    #[error("{url}: asked for bytes {}-{}, got {got}", .range.start, .range.end)]
    Short {
        url: String,
        range: Range<u64>,
        got: u64,
    },
    /// A reference url this page cannot fetch (a local path without `gik serve`, an unknown scheme).
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The references could not be read.
    #[error("{location}: {source}")]
    Refs {
        location: String,
        #[source]
        source: gik_core::refs::RefsError,
    },
    /// The selection cannot be planned (missing inputs, dates, members).
    #[error(transparent)]
    Plan(#[from] gik_core::plan::PlanError),
    /// Fields could not be assembled or a state written.
    #[error(transparent)]
    Assemble(#[from] gik_core::assemble::AssembleError),
    /// GRIB bytes could not be framed or decoded.
    #[error(transparent)]
    Grib(#[from] gik_core::Error),
    /// The references have no chunk for the requested field.
    #[error("{variable}: no field at {at} in the references (missing data)")]
    Missing { variable: String, at: String },
    /// An argument from JavaScript is not what the API takes.
    #[error("{0}")]
    Options(String),
    /// The caller stopped the computation (its progress callback returned `false`).
    #[error("cancelled")]
    Cancelled,
    /// An open-data request names a run whose objects are not all on the
    /// mirror (the first missing one named), or no complete run.
    #[error("{0}")]
    Locate(String),
    /// Scanning GRIB objects (or their indexes) failed.
    #[error(transparent)]
    Scan(Box<gik_core::scan::ScanError<Error>>),
}

/// What kind of read failure this is, for the core's pipeline (a missing
/// index next to a GRIB file is skipped, S3's 403 for a missing key too).
impl gik_core::io::ReadError for Error {
    fn kind(&self) -> gik_core::io::ReadErrorKind {
        match self {
            Self::NotFound { .. } => gik_core::io::ReadErrorKind::NotFound,
            Self::Http { status: 403, .. } => gik_core::io::ReadErrorKind::Denied,
            _ => gik_core::io::ReadErrorKind::Other,
        }
    }
}

fn hint(proxied: &bool) -> &'static str {
    if *proxied {
        ""
    } else {
        "; serve the page with `gik serve`, whose range proxy adds CORS headers"
    }
}

fn range_text(r: &Option<Range<u64>>) -> String {
    r.as_ref()
        .map(|r| format!(" for bytes {}-{}", r.start, r.end))
        .unwrap_or_default()
}

impl Error {
    /// A GRIB parameter outside the built-in open-data tables (see `loadParameterTables`).
    #[must_use]
    pub fn needs_parameter_tables(&self) -> bool {
        use gik_core::Error::ParameterTables as P;
        match self {
            Self::Grib(P { .. })
            | Self::Assemble(gik_core::assemble::AssembleError::Grib {
                source: P { .. }, ..
            }) => true,
            Self::Scan(e) => matches!(
                &**e,
                gik_core::scan::ScanError::Grib {
                    source: P { .. },
                    ..
                }
            ),
            _ => false,
        }
    }

    /// Something this module leaves out (the lite module: parquet
    /// references, JPEG 2000 or PNG packing); the full module has it.
    #[must_use]
    pub fn needs_full_module(&self) -> bool {
        use gik_core::assemble::AssembleError as A;
        use gik_core::refs::RefsError::NotBuiltIn as R;
        use gik_core::Error::NotBuiltIn as G;
        match self {
            Self::Grib(G { .. })
            | Self::Assemble(A::Grib {
                source: G { .. }, ..
            })
            | Self::Refs {
                source: R { .. }, ..
            }
            | Self::Plan(gik_core::plan::PlanError::Refs(R { .. }))
            | Self::Assemble(A::Refs(R { .. })) => true,
            Self::Scan(e) => matches!(
                &**e,
                gik_core::scan::ScanError::Grib {
                    source: G { .. },
                    ..
                }
            ),
            _ => false,
        }
    }

    /// A short machine-readable name of the kind of error.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            _ if self.needs_full_module() => "notBuiltIn",
            Self::Network { .. } => "network",
            Self::NotFound { .. } => "notFound",
            Self::Http { .. } | Self::Short { .. } => "http",
            Self::Unreachable { .. } => "unreachable",
            Self::Refs { .. } => "badRefs",
            Self::Plan(gik_core::plan::PlanError::Missing(_))
            | Self::Missing { .. }
            | Self::Locate(_) => "missingData",
            Self::Plan(gik_core::plan::PlanError::Refs(_)) => "badRefs",
            Self::Plan(_) | Self::Options(_) => "options",
            Self::Cancelled => "cancelled",
            _ if self.needs_parameter_tables() => "parameterTables",
            Self::Assemble(gik_core::assemble::AssembleError::NotOnAxis { .. }) => "missingData",
            Self::Assemble(gik_core::assemble::AssembleError::Refs(_)) => "badRefs",
            Self::Assemble(_) | Self::Grib(_) => "decode",
            Self::Scan(e) => match &**e {
                gik_core::scan::ScanError::Read(e) => e.kind(),
                gik_core::scan::ScanError::Grib { .. } => "decode",
                _ => "scan",
            },
        }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let t = s.to_string();
            if !msg.contains(&t) {
                msg.push_str(": ");
                msg.push_str(&t);
            }
            source = s.source();
        }
        let err = js_sys::Error::new(&msg);
        err.set_name("GikError");
        let _ = js_sys::Reflect::set(&err, &"kind".into(), &e.kind().into());
        err.into()
    }
}
