//! What the command line plugs into the core's pipeline: where CPU work runs
//! (tokio's blocking pool) and where progress goes (an indicatif bar); and
//! the one-object header scan that `inspect`, `decode` and `regrid` share.

use crate::store::Sources;
use crate::{CliError, Result};
use gik_core::refs::ScannedField;
use gik_core::scan::{Executor, Progress, TaskError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The async runtime of a command: `threads` worker threads (`None`: one
/// per core) and at most `blocking` threads for CPU work (`None`: tokio's
/// default). The one place the CLI builds a runtime.
///
/// # Errors
/// [`CliError::Runtime`] when the operating system refuses the threads.
pub fn runtime(threads: Option<usize>, blocking: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let mut b = if threads == Some(1) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = threads {
            b.worker_threads(n);
        }
        b
    };
    if let Some(n) = blocking {
        b.max_blocking_threads(n);
    }
    b.enable_all().build().map_err(CliError::Runtime)
}

/// What a progress bar counts.
#[derive(Debug, Clone, Copy)]
pub enum Counts {
    /// Bytes, with a rate.
    Bytes,
    /// Items of this name (`fields`).
    Items(&'static str),
}

/// The CLI's one progress-bar style, on standard error (drawn only on a
/// terminal), hidden when `quiet`.
#[must_use]
pub fn progress_bar(quiet: bool, len: u64, counts: Counts) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let template = match counts {
        Counts::Bytes => {
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}"
                .to_string()
        }
        Counts::Items(name) => {
            format!("{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {name} {{msg}}")
        }
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

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
