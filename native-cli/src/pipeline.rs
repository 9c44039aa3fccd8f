//! What the command line plugs into the core's pipeline: where CPU work runs
//! (tokio's blocking pool) and where progress goes (an indicatif bar); and
//! the one-object header scan that `inspect`, `decode` and `regrid` share.

use crate::store::Sources;
use crate::{CliError, Result};
use gik_core::refs::ScannedField;
use gik_core::scan::{Executor, Progress, TaskError};
use indicatif::ProgressBar;

/// Runs the core's CPU work with `spawn_blocking`, off the async workers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocking;

impl Executor for Blocking {
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> gik_core::io::BoxFuture<'static, Result<T, TaskError>> {
        Box::pin(async move {
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| TaskError(e.to_string()))
        })
    }
}

/// Progress in bytes on a bar.
#[derive(Debug)]
pub struct Bar<'a>(pub &'a ProgressBar);

impl Progress for Bar<'_> {
    fn add_total(&self, bytes: u64) {
        self.0.inc_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// Every field of the object at `url` (a [`crate::store::reference_url`]),
/// from its headers alone.
pub async fn headers(sources: &Sources, url: &str) -> Result<Vec<ScannedField>> {
    gik_core::scan::scan_headers(sources, url, &())
        .await
        .map_err(CliError::scan)
}
