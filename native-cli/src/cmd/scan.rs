//! `gik scan <locations…> --out <path>`: GRIB2 files (or their indexes) →
//! kerchunk references for a whole ensemble forecast.

use crate::pipeline::{Bar, Blocking};
use crate::{CliError, Result};
use gik_core::index;
use gik_core::refs::ScannedField;
use gik_core::request::{Located, Request, ScanRequestError, Selection};
use gik_store::{self as store, Sources};
use indicatif::ProgressBar;
use std::path::PathBuf;
use std::time::Instant;

/// How to check an index against the GRIB it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    /// Read the header of every message the index lists.
    All,
    /// Read one header per parameter/level type and every 16th entry.
    Sample,
    /// Trust the index; read only one header per parameter/level type (for grid and names).
    None,
}

/// How to find the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The index when one exists next to the file, otherwise headers.
    Auto,
    /// Require an index (`.index` or `.idx`).
    Index,
    /// Hop from header to header, ignoring any index.
    Headers,
}

/// Reference formats `gik scan` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// kerchunk JSON, version 1.
    Json,
    /// The original pipeline's two-column parquet (`key`, `value`).
    Parquet,
    /// fsspec's parquet reference directory (`.zmetadata` + `{var}/refs.{n}.parq`).
    ParquetDir,
    /// An Icechunk repository (Zarr v3, data chunks virtual references decoded by gik's codec).
    Icechunk,
}

/// The codec the references' data arrays name (`--codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CodecArg {
    /// kerchunk's `grib` codec (ecCodes): opens wherever kerchunk is installed.
    Grib,
    /// gik's codec from the `gik` Python package (pure Rust, Zarr v2 and v3, no ecCodes).
    Gik,
}

/// Arguments of `gik scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 files: local paths, file://, http(s)://, s3://, gs://, az://. Or none, and an open-data request (--model, --date, --step, …, --source) instead.
    pub locations: Vec<String>,
    #[command(flatten)]
    pub request: crate::args::Request,
    /// Output: `.json` → kerchunk JSON, `.parquet` → two-column parquet, `.icechunk` → Icechunk repository, anything else (`.parq`, a directory) → fsspec parquet directory, `-` → JSON on standard output.
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
    /// The codec that decodes each chunk (one GRIB message) in Python: kerchunk's `grib`
    /// (default: what kerchunk users have) or `gik` (needs `pip install gik`, no ecCodes).
    #[arg(long, value_enum, default_value = "grib")]
    pub codec: CodecArg,
    /// Add the scanned run (or steps) to an existing Icechunk repository
    /// (`--out x.icechunk`) in one commit; a run already there changes nothing.
    #[arg(long)]
    pub append: bool,
    #[command(flatten)]
    pub progress: crate::args::Progress,
}

fn format_for(args: &Args) -> Format {
    if crate::refs_out::is_stdout(&args.out) {
        return args.format.unwrap_or(Format::Json);
    }
    args.format
        .unwrap_or_else(|| match args.out.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("parquet") => Format::Parquet,
            Some("icechunk") => Format::Icechunk,
            _ => Format::ParquetDir,
        })
}

pub(crate) fn progress(quiet: bool, len: u64) -> ProgressBar {
    crate::pipeline::progress_bar(quiet, len, crate::pipeline::Counts::Bytes)
}

/// The request the flags give and its run on its mirror (`gik scan` and
/// `gik extract` from a request), said on stderr unless `quiet`.
pub(crate) async fn locate_request(
    request: &crate::args::Request,
    sources: &Sources,
    quiet: bool,
) -> Result<(Request, Located)> {
    let req = crate::request::parse(request)?;
    let mirror = crate::request::mirror(request.source.as_deref())?;
    let located = crate::request::locate(sources, &req, &mirror).await?;
    if !quiet {
        eprintln!(
            "gik: {} on {}: {} object(s)",
            located.run,
            mirror,
            located.objects.len()
        );
    }
    Ok((req, located))
}

/// The fields of a located request, scanned by the core
/// ([`gik_core::request::scan_located`]); `select` replaces the request's
/// own selection of fields to scan (every part of the request's must still
/// match a field).
pub(crate) async fn scan_request(
    sources: &Sources,
    req: &Request,
    located: &Located,
    select: Option<Selection>,
    how: How,
) -> Result<Vec<ScannedField>> {
    let opts = scan_options(how, select);
    let bar = progress(how.quiet, 0);
    let fields =
        gik_core::request::scan_located(sources, req, located, &opts, &Bar(&bar), &Blocking)
            .await
            .map_err(|e| match e {
                ScanRequestError::Locate(e) => CliError::Locate(Box::new(e)),
                ScanRequestError::Scan(e) => CliError::Scan(e),
                other => CliError::Usage(other.to_string()),
            })?;
    bar.finish_and_clear();
    Ok(fields)
}

/// Scans the locations given, or locates the request and scans its objects.
async fn scan_targets(
    args: &Args,
    sources: &Sources,
    how: How,
) -> Result<(Vec<ScannedField>, usize)> {
    if !args.locations.is_empty() {
        if args.request.given() {
            return Err(CliError::Usage(
                "give locations or an open-data request (--model, --date, --step, --source, …), not both".into(),
            ));
        }
        let urls = args
            .locations
            .iter()
            .map(|l| store::reference_url(l))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(CliError::store)?;
        let fields = scan_urls(sources, &urls, how).await?;
        return Ok((fields, urls.len()));
    }
    if !args.request.given() {
        return Err(CliError::Usage(
            "give GRIB2 locations, or an open-data request (--source, --date, --step, … as ecmwf-opendata takes them)".into(),
        ));
    }
    let (req, located) = locate_request(&args.request, sources, how.quiet).await?;
    let fields = scan_request(sources, &req, &located, None, how).await?;
    Ok((fields, located.objects.len()))
}

/// How `scan_urls` finds and checks the messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct How {
    pub mode: Mode,
    pub verify: Verify,
    pub concurrency: usize,
    pub quiet: bool,
}

/// Scans the locations, or the objects of a request (`gik scan`): the
/// fields and how many objects they came from.
pub(crate) fn scan(args: &Args) -> Result<(Vec<ScannedField>, usize)> {
    let rt = crate::pipeline::runtime(None, None)?;
    let sources = Sources::default();
    let how = How {
        mode: args.mode,
        verify: args.verify,
        concurrency: args.concurrency,
        quiet: args.progress.quiet,
    };
    rt.block_on(scan_targets(args, &sources, how))
}

/// The core's scan options for `how`, keeping the fields `select` keeps.
fn scan_options(how: How, select: Option<Selection>) -> gik_core::scan::ScanOptions {
    gik_core::scan::ScanOptions {
        mode: match how.mode {
            Mode::Auto => gik_core::scan::Mode::Auto,
            Mode::Index => gik_core::scan::Mode::Index,
            Mode::Headers => gik_core::scan::Mode::Headers,
        },
        verify: match how.verify {
            Verify::All => index::Verify::All,
            Verify::Sample => index::Verify::Sample,
            Verify::None => index::Verify::None,
        },
        concurrency: how.concurrency,
        objects_at_once: 4,
        batch: store::header_batch,
        select: select.map(std::sync::Arc::new),
    }
}

/// Scans `urls`, every field of them.
pub(crate) async fn scan_urls(
    sources: &Sources,
    urls: &[String],
    how: How,
) -> Result<Vec<ScannedField>> {
    let opts = scan_options(how, None);
    let bar = progress(how.quiet, 0);
    let fields = gik_core::scan::scan(sources, urls, &opts, &Bar(&bar), &Blocking)
        .await
        .map_err(CliError::scan)?;
    bar.finish_and_clear();
    Ok(fields)
}

/// Runs `gik scan`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let format = format_for(args);
    if args.append && format != Format::Icechunk {
        return Err(CliError::Usage(
            "--append adds to an Icechunk repository: give --out x.icechunk (or --format icechunk)"
                .into(),
        ));
    }
    let (fields, objects) = scan(args)?;
    let codec = match args.codec {
        CodecArg::Grib => gik_core::refs::Codec::Grib,
        CodecArg::Gik => gik_core::refs::Codec::Gik,
    };
    let options = gik_core::refs::BuildOptions::with_codec(codec);
    if format == Format::Icechunk {
        if args.split_members {
            return Err(CliError::Usage(
                "--split-members writes parquet files; not with an Icechunk repository".into(),
            ));
        }
        return crate::refs_out::write_icechunk(
            &fields,
            &args.out,
            args.append,
            &options,
            args.progress.quiet,
            t0,
        );
    }
    crate::refs_out::write(&fields, &args.out, format, args.split_members, &options)?;
    if !args.progress.quiet {
        eprintln!(
            "gik: {} messages from {} file(s) in {:.2} s → {}",
            fields.len(),
            objects,
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
