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
    /// GRIB2 file to decode.
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

/// The bytes of the message holding field `n` (in `gik inspect` numbering),
/// found by reading headers only, and the index of that field within them.
/// With `--all` the whole file is read instead (index 0 unused).
fn read_one_message(path: &str, n: usize) -> Result<(Vec<u8>, usize)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let stores = crate::store::Stores::default();
        let src = stores.open(path).await.map_err(CliError::store)?;
        let scanned =
            crate::scan_engine::scan_headers_only(&src, &indicatif::ProgressBar::hidden())
                .await
                .map_err(CliError::scan)?;
        let Some(f) = scanned.get(n) else {
            return Err(CliError::Usage(format!(
                "{path}: no field {n}: the file has {} (0–{})",
                scanned.len(),
                scanned.len().saturating_sub(1)
            )));
        };
        let within = scanned[..n]
            .iter()
            .rev()
            .take_while(|g| g.offset == f.offset)
            .count();
        let bytes = src
            .read(f.offset..f.offset + f.length)
            .await
            .map_err(CliError::store)?;
        Ok((bytes.to_vec(), within))
    })
}

/// Runs `gik decode`.
pub fn run(args: &Args) -> Result<()> {
    let format = args.format.unwrap_or_else(|| {
        if args.out.extension().is_some_and(|e| e == "npy") {
            Format::Npy
        } else {
            Format::F32
        }
    });
    let path = args.file.display().to_string();
    // One field of a large file: find it from the headers, read only its message.
    let bytes = match (args.all, args.message.unwrap_or(0)) {
        (false, n) => read_one_message(&path, n)?,
        (true, _) => (
            std::fs::read(&args.file).map_err(CliError::io(&args.file))?,
            0,
        ),
    };
    let (bytes, first_index) = bytes;
    let wanted = if args.all { None } else { Some(first_index) };

    let mut selected = Vec::new();
    let mut n_fields = 0usize;
    for (i, field) in grib::fields(&bytes).enumerate() {
        n_fields = i + 1;
        if wanted.is_none_or(|w| w == i) {
            selected.push(field.map_err(CliError::grib(&path))?);
        }
    }
    if selected.is_empty() {
        return Err(match wanted {
            Some(w) if n_fields > 0 => CliError::Usage(format!(
                "{path}: no field {w}: the file has {n_fields} (0–{})",
                n_fields - 1
            )),
            _ => CliError::Grib {
                path,
                source: gik_core::Error::NotGrib {
                    offset: 0,
                    reason: "no GRIB message in the file",
                },
            },
        });
    }
    // Decode the first field to learn the size; --all needs equal sizes for npy.
    let mut out = AtomicFile::create(&args.out)?;
    let mut header_written = false;
    let mut points = 0usize;
    for field in &selected {
        let values = field.decode_f32().map_err(CliError::grib(&path))?;
        if !header_written {
            points = values.len();
            if format == Format::Npy {
                let shape = if args.all {
                    vec![selected.len(), points]
                } else {
                    vec![points]
                };
                out.write_all(&npy::header(npy::Dtype::F32, &shape))
                    .map_err(CliError::io(&args.out))?;
            }
            header_written = true;
        } else if format == Format::Npy && values.len() != points {
            return Err(CliError::Usage(format!(
                "{path}: field at byte {} has {} points, the first has {points}: write --format f32 or one --message at a time",
                field.msg_offset,
                values.len()
            )));
        }
        let mut buf = Vec::with_capacity(values.len() * 4);
        for v in values {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&buf).map_err(CliError::io(&args.out))?;
    }
    out.commit()?;
    eprintln!(
        "gik: wrote {} field(s) of {points} points to {}",
        selected.len(),
        args.out.display()
    );
    Ok(())
}
