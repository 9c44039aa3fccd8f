//! What the command line plugs into the core's pipeline: where CPU work
//! runs (tokio's blocking pool, [`gik_store::Blocking`]) and where progress
//! goes (an indicatif bar); and the one-object header scan that `inspect`,
//! `decode` and `regrid` share ([`each_field`]).

use crate::{CliError, Result};
use gik_core::grib;
use gik_core::io::RangeReader;
use gik_core::refs::ScannedField;
use gik_core::scan::Progress;
pub use gik_store::Blocking;
use gik_store::Sources;
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

/// Every field of the object at `url` (a [`gik_store::reference_url`]),
/// from its headers alone.
pub async fn headers(sources: &Sources, url: &str) -> Result<Vec<ScannedField>> {
    gik_core::scan::scan_headers(sources, url, &())
        .await
        .map_err(CliError::scan)
}

/// Calls `each(total, index, field)` for the fields of `path` that
/// `--message N` (default 0) or `--all` select, in file order. Fields are
/// found from the headers alone, then read one message at a time, so memory
/// stays at one message whatever the size of the file; a progress bar is
/// drawn on a terminal. Returns how many fields were handed over. Shared by
/// `gik decode` and `gik regrid`.
pub(crate) fn each_field(
    path: &str,
    which: &crate::args::Fields,
    mut each: impl FnMut(usize, usize, &grib::Field<'_>) -> Result<()>,
) -> Result<usize> {
    let rt = crate::pipeline::runtime(Some(1), None)?;
    rt.block_on(async {
        let url = gik_store::reference_url(path).map_err(CliError::store)?;
        let sources = gik_store::Sources::default();
        let scanned = crate::pipeline::headers(&sources, &url).await?;
        if scanned.is_empty() {
            return Err(CliError::Grib {
                path: path.to_string(),
                source: gik_core::Error::NotGrib {
                    offset: 0,
                    reason: "no GRIB message in the file",
                },
            });
        }
        let wanted: Vec<usize> = if which.all {
            (0..scanned.len()).collect()
        } else {
            let n = which.message.unwrap_or(0);
            if n >= scanned.len() {
                return Err(CliError::Usage(format!(
                    "{path}: no field {n}: the file has {} (0–{})",
                    scanned.len(),
                    scanned.len() - 1
                )));
            }
            vec![n]
        };
        // (drawn only on a terminal)
        let bar = crate::pipeline::progress_bar(
            false,
            wanted.len() as u64,
            crate::pipeline::Counts::Items("fields"),
        );
        // (index in `scanned` of the message's first field, message bytes)
        let mut held: Option<(usize, bytes::Bytes)> = None;
        for &i in &wanted {
            let f = &scanned[i];
            // fields of one message share its offset and come in order
            let first = i - scanned[..i]
                .iter()
                .rev()
                .take_while(|g| g.offset == f.offset)
                .count();
            if held.as_ref().map(|m| m.0) != Some(first) {
                let bytes = sources
                    .read_range(&url, f.offset..f.offset + f.length)
                    .await
                    .map_err(CliError::store)?;
                held = Some((first, bytes));
            }
            let Some((_, bytes)) = &held else {
                continue;
            };
            let field = grib::fields(bytes)
                .nth(i - first)
                .ok_or_else(|| {
                    CliError::Usage(format!("{path}: field {i} vanished from its message"))
                })?
                .map_err(CliError::grib(path))?;
            each(wanted.len(), i, &field)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(wanted.len())
    })
}
