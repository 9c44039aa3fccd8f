//! Rust errors as Python exceptions: the classes live in `gik/errors.py`
//! (so they can be both a `GikError` and a `ValueError`/`OSError`), the
//! message is the Rust error's, which names the location (a url, a path
//! with its byte range, a variable).

use gik_core::extract::ExtractError;
use gik_core::io::{ReadError, ReadErrorKind};
use gik_core::refs::OpenError;
use gik_core::scan::ScanError;
use gik_store::StoreError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python exception classes of `gik.errors`.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Bytes that are not (valid, supported) GRIB2: `ValueError`.
    Grib,
    /// Malformed or inconsistent references, unknown variables: `ValueError`.
    References,
    /// A selection the references cannot give (member, step, date, inputs): `ValueError`.
    Selection,
    /// A read that failed: `OSError`.
    Read,
    /// An object or file that does not exist: `FileNotFoundError`.
    NotFound,
    /// Anything else (a background task that died): `GikError`.
    Other,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Self::Grib => "GribError",
            Self::References => "ReferencesError",
            Self::Selection => "SelectionError",
            Self::Read => "ReadError",
            Self::NotFound => "NotFoundError",
            Self::Other => "GikError",
        }
    }
}

/// An error on its way to Python: which class, what message. Built without
/// the GIL (inside `Python::detach`), raised with it.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
}

/// Result alias of the bindings.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl Error {
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error, its message preceded by `at` (a chunk key).
    #[must_use]
    pub fn prefixed(self, at: &str) -> Self {
        Self {
            kind: self.kind,
            message: format!("{at}: {}", self.message),
        }
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        Python::attach(|py| {
            let class = py
                .import("gik.errors")
                .and_then(|m| m.getattr(e.kind.class_name()))
                .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
            match class {
                Ok(class) => PyErr::from_type(class, e.message),
                // (gik.errors missing: a broken install; still say what happened)
                Err(_) => PyRuntimeError::new_err(e.message),
            }
        })
    }
}

impl From<gik_core::Error> for Error {
    fn from(e: gik_core::Error) -> Self {
        Self::new(Kind::Grib, e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        let kind = match e.kind() {
            ReadErrorKind::NotFound => Kind::NotFound,
            _ => Kind::Read,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<gik_core::refs::RefsError> for Error {
    fn from(e: gik_core::refs::RefsError) -> Self {
        Self::new(Kind::References, e.to_string())
    }
}

impl From<gik_core::plan::PlanError> for Error {
    fn from(e: gik_core::plan::PlanError) -> Self {
        Self::new(Kind::Selection, e.to_string())
    }
}

impl From<gik_core::assemble::AssembleError> for Error {
    fn from(e: gik_core::assemble::AssembleError) -> Self {
        use gik_core::assemble::AssembleError as A;
        let kind = match &e {
            A::NotOnAxis { .. } => Kind::Selection,
            A::Refs(_) => Kind::References,
            A::Io(_) => Kind::Read,
            _ => Kind::Grib,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<OpenError<StoreError>> for Error {
    fn from(e: OpenError<StoreError>) -> Self {
        match e {
            OpenError::Read(e) => e.into(),
            other => Self::new(Kind::References, other.to_string()),
        }
    }
}

impl From<ScanError<StoreError>> for Error {
    fn from(e: ScanError<StoreError>) -> Self {
        match e {
            ScanError::Read(e) => e.into(),
            other => Self::new(Kind::Grib, other.to_string()),
        }
    }
}

impl From<gik_core::stats::StatsError<StoreError>> for Error {
    fn from(e: gik_core::stats::StatsError<StoreError>) -> Self {
        use gik_core::stats::StatsError as S;
        match e {
            S::Read { source, .. } => source.into(),
            S::Refs(e) => e.into(),
            S::Decode(e) | S::Locate(e) => e.into(),
            other @ (S::Missing { .. } | S::NoMembers { .. }) => {
                Self::new(Kind::Selection, other.to_string())
            }
            other => Self::new(Kind::Other, other.to_string()),
        }
    }
}

impl From<ExtractError<StoreError>> for Error {
    fn from(e: ExtractError<StoreError>) -> Self {
        let message = e.to_string();
        let kind = match e {
            ExtractError::Read { source, .. } => Error::from(source).kind,
            ExtractError::Decode { source, .. } => Error::from(source).kind,
            _ => Kind::Other,
        };
        Self::new(kind, message)
    }
}

/// Runs `f`, turning a Rust panic (a bug: bad input must give an error)
/// into a `GikError` that says what was being done, never a crash or a
/// `PanicException`.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::new(
                Kind::Other,
                format!(
                    "{what}: gik failed unexpectedly ({reason}); this is a bug, please report it"
                ),
            ))
        }
    }
}
