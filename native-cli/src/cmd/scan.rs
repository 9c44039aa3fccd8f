//! `gik scan <locations…> --out <path>`: GRIB2 files (or their indexes) →
//! kerchunk references for a whole ensemble forecast.

use crate::scan_engine::{self, Mode, Scanned, Verify};
use crate::store::Stores;
use crate::{CliError, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Reference formats `gik scan` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// kerchunk JSON, version 1.
    Json,
    /// The original pipeline's two-column parquet (`key`, `value`).
    Parquet,
    /// fsspec's parquet reference directory (`.zmetadata` + `{var}/refs.{n}.parq`).
    ParquetDir,
}

/// Arguments of `gik scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 files: local paths, file://, http(s)://, s3://, gs://, az://.
    #[arg(required = true)]
    pub locations: Vec<String>,
    /// Output: `.json` → kerchunk JSON, `.parquet` → two-column parquet, a directory → fsspec parquet directory, `-` → JSON on standard output.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Output format (default from the extension of --out).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also write the original per-member layout (members/control/control.parquet, members/ens_01/ens_01.parquet, …) beside --out.
    #[arg(long)]
    pub split_members: bool,
    /// How to find messages: from an index next to each file when there is one (auto), only from an index, or from headers.
    #[arg(long, value_enum, default_value = "auto")]
    pub mode: Mode,
    /// How much of an index to check against the GRIB headers.
    #[arg(long, value_enum, default_value = "all")]
    pub verify: Verify,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn format_for(args: &Args) -> Format {
    if crate::refs_out::is_stdout(&args.out) {
        return args.format.unwrap_or(Format::Json);
    }
    args.format
        .unwrap_or_else(|| match args.out.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("parquet" | "parq") => Format::Parquet,
            _ => Format::ParquetDir,
        })
}

pub(crate) fn progress(quiet: bool, len: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Scans the locations (shared with other commands).
pub(crate) fn scan(args: &Args) -> Result<Vec<Scanned>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let bar = progress(args.quiet, 0);
    let stores = Arc::new(Stores::default());
    let fields = rt
        .block_on(scan_engine::scan_all(
            stores,
            &args.locations,
            args.mode,
            args.verify,
            args.concurrency,
            &bar,
        ))
        .map_err(CliError::scan)?;
    bar.finish_and_clear();
    Ok(fields)
}

/// Runs `gik scan`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let fields = scan(args)?;
    let format = format_for(args);
    crate::refs_out::write(&fields, &args.out, format, args.split_members)?;
    if !args.quiet {
        eprintln!(
            "gik: {} messages from {} file(s) in {:.2} s → {}",
            fields.len(),
            args.locations.len(),
            t0.elapsed().as_secs_f64(),
            if crate::refs_out::is_stdout(&args.out) {
                "standard output".into()
            } else {
                args.out.display().to_string()
            }
        );
    }
    Ok(())
}
