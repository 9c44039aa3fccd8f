//! `gik decode <file> [--message N | --all] --out <path> [--format f32|npy]`.

use crate::output::AtomicFile;
use crate::{CliError, Result};
use gik_core::grib;
use gik_core::npy;
use std::io::Write;
use std::path::PathBuf;

/// Output formats of `gik decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Raw float32 little-endian, NaN where missing (like `wgrib2 -bin -no_header`).
    F32,
    /// NumPy `.npy`, float32; with `--all` a 2-D array (fields × points).
    Npy,
}

/// Arguments of `gik decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 file to decode (a path, or an s3://, gs://, az://, http(s):// url).
    pub file: PathBuf,
    /// Index of the field to decode (the `#` column of `gik inspect`).
    #[arg(long, short = 'm', conflicts_with = "all")]
    pub message: Option<usize>,
    /// Decode every field, concatenated in file order.
    #[arg(long)]
    pub all: bool,
    /// Output file.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Output format (default: from the extension, `.npy` → npy, otherwise f32).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Runs `gik decode`: the fields are found from the headers alone (no pass
/// over the data), then read one message at a time and written as they are
/// decoded, so memory stays at one message and one field whatever the size
/// of the file (a 5 GB ensemble file included).
pub fn run(args: &Args) -> Result<()> {
    let format = args.format.unwrap_or_else(|| {
        if args.out.extension().is_some_and(|e| e == "npy") {
            Format::Npy
        } else {
            Format::F32
        }
    });
    let path = args.file.display().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let (fields, points) = rt.block_on(decode_to(args, &path, format))?;
    eprintln!(
        "gik: wrote {fields} field(s) of {points} points to {}",
        args.out.display()
    );
    Ok(())
}

/// Decodes the selected fields of `path` into `args.out`; returns how many
/// fields were written and the points of the first.
async fn decode_to(args: &Args, path: &str, format: Format) -> Result<(usize, usize)> {
    let stores = crate::store::Stores::default();
    let src = stores.open(path).await.map_err(CliError::store)?;
    let scanned = crate::scan_engine::scan_headers_only(&src, &indicatif::ProgressBar::hidden())
        .await
        .map_err(CliError::scan)?;
    if scanned.is_empty() {
        return Err(CliError::Grib {
            path: path.to_string(),
            source: gik_core::Error::NotGrib {
                offset: 0,
                reason: "no GRIB message in the file",
            },
        });
    }
    let wanted: Vec<usize> = if args.all {
        (0..scanned.len()).collect()
    } else {
        let n = args.message.unwrap_or(0);
        if n >= scanned.len() {
            return Err(CliError::Usage(format!(
                "{path}: no field {n}: the file has {} (0–{})",
                scanned.len(),
                scanned.len() - 1
            )));
        }
        vec![n]
    };
    let mut out = AtomicFile::create(&args.out)?;
    let mut points: Option<usize> = None;
    // (index in `scanned` of the message's first field, message bytes)
    let mut message: Option<(usize, bytes::Bytes)> = None;
    // (drawn only on a terminal)
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(wanted.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} fields",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for &i in &wanted {
        let f = &scanned[i];
        // fields of one message share its offset and come in order
        let first = i - scanned[..i]
            .iter()
            .rev()
            .take_while(|g| g.offset == f.offset)
            .count();
        if message.as_ref().map(|m| m.0) != Some(first) {
            let bytes = src
                .read(f.offset..f.offset + f.length)
                .await
                .map_err(CliError::store)?;
            message = Some((first, bytes));
        }
        let Some((_, bytes)) = &message else {
            continue;
        };
        let field = grib::fields(bytes)
            .nth(i - first)
            .ok_or_else(|| CliError::Usage(format!("{path}: field {i} vanished from its message")))?
            .map_err(CliError::grib(path))?;
        let values = field.decode_f32_le().map_err(CliError::grib(path))?;
        let n = values.len() / 4;
        match points {
            None => {
                points = Some(n);
                if format == Format::Npy {
                    let shape = if args.all {
                        vec![wanted.len(), n]
                    } else {
                        vec![n]
                    };
                    out.write_all(&npy::header(npy::Dtype::F32, &shape))
                        .map_err(CliError::io(&args.out))?;
                }
            }
            Some(p) if format == Format::Npy && n != p => {
                return Err(CliError::Usage(format!(
                    "{path}: field {i} (byte {}) has {n} points, the first has {p}: write --format f32 or one --message at a time",
                    f.offset
                )));
            }
            Some(_) => {}
        }
        out.write_all(&values).map_err(CliError::io(&args.out))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    out.commit()?;
    Ok((wanted.len(), points.unwrap_or(0)))
}
