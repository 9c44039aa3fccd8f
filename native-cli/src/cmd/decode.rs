//! `gik decode <file> [--message N | --all] --out <path> [--format f32|npy]`.

use crate::output::AtomicFile;
use crate::{CliError, Result};
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
    #[command(flatten)]
    pub fields: crate::args::Fields,
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
    let mut out = AtomicFile::create(&args.out)?;
    let mut points: Option<usize> = None;
    let fields = crate::pipeline::each_field(&path, &args.fields, |total, i, field| {
        let values = field.decode_f32_le().map_err(CliError::grib(&path))?;
        let n = values.len() / 4;
        match points {
            None => {
                points = Some(n);
                if format == Format::Npy {
                    let shape = if args.fields.all {
                        vec![total, n]
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
                    field.msg_offset
                )));
            }
            Some(_) => {}
        }
        out.write_all(&values).map_err(CliError::io(&args.out))
    })?;
    out.commit()?;
    eprintln!(
        "gik: wrote {fields} field(s) of {} points to {}",
        points.unwrap_or(0),
        args.out.display()
    );
    Ok(())
}
