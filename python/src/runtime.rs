//! The extension's async runtime: one tokio runtime for every read, built
//! on first use, driven with the GIL released.

use std::future::Future;
use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::error::{guarded, Error, Kind, Result};

static RUNTIME: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();

fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("gik")
                .enable_all()
                .build()
        })
        .as_ref()
        .map_err(|e| Error::new(Kind::Other, format!("cannot start gik's runtime: {e}")))
}

/// Runs `make()`'s future to completion on the runtime with the GIL
/// released (other Python threads run meanwhile); `what` names the work in
/// the error a panic becomes.
pub fn block_on<T: Send, F>(
    py: Python<'_>,
    what: &str,
    make: impl FnOnce() -> F + Send,
) -> PyResult<T>
where
    F: Future<Output = Result<T>>,
{
    py.detach(|| guarded(what, || runtime()?.block_on(make())))
        .map_err(PyErr::from)
}

/// Runs CPU work `f` with the GIL released, a panic becoming a `GikError`.
pub fn detached<T: Send>(
    py: Python<'_>,
    what: &str,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| guarded(what, f)).map_err(PyErr::from)
}
