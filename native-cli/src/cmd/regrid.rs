//! `gik regrid <GRIB file> --to n320 --out <.npy>`: one-off regridding of
//! 0.25° fields to N320 with MIR's "linear" interpolation.

use crate::output::AtomicFile;
use crate::{CliError, Result};
use gik_core::grib;
use gik_core::npy;
use gik_core::regrid::{N320Operator, N320_POINTS};
use std::io::Write;
use std::path::PathBuf;

/// Target grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The N320 reduced Gaussian grid (542,080 points) AIFS reads.
    N320,
}

/// Arguments of `gik regrid`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 file on the 0.25° ECMWF open-data grid (721 × 1440).
    pub file: PathBuf,
    /// Target grid.
    #[arg(long, value_enum, default_value = "n320")]
    pub to: Target,
    /// Index of the field (the `#` column of `gik inspect`).
    #[arg(long, short = 'm', conflicts_with = "all")]
    pub message: Option<usize>,
    /// Regrid every field: a `(fields, 542080)` array.
    #[arg(long)]
    pub all: bool,
    /// Output `.npy` (float32; `--f64` for float64).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Write float64 instead of float32.
    #[arg(long)]
    pub f64: bool,
}

/// Runs `gik regrid`.
pub fn run(args: &Args) -> Result<()> {
    let bytes = std::fs::read(&args.file).map_err(CliError::io(&args.file))?;
    let path = args.file.display().to_string();
    let wanted = if args.all {
        None
    } else {
        Some(args.message.unwrap_or(0))
    };
    let mut fields = Vec::new();
    for (i, f) in grib::fields(&bytes).enumerate() {
        if wanted.is_none_or(|w| w == i) {
            fields.push(f.map_err(CliError::grib(&path))?);
        }
    }
    if fields.is_empty() {
        return Err(CliError::Usage(format!(
            "{path}: no such field (see `gik inspect {path}`)"
        )));
    }
    let op = N320Operator::build();
    let dtype = if args.f64 {
        npy::Dtype::F64
    } else {
        npy::Dtype::F32
    };
    let shape = if args.all {
        vec![fields.len(), N320_POINTS]
    } else {
        vec![N320_POINTS]
    };
    let mut out = AtomicFile::create(&args.out)?;
    out.write_all(&npy::header(dtype, &shape))
        .map_err(CliError::io(&args.out))?;
    for f in &fields {
        let values = f.decode_f64().map_err(CliError::grib(&path))?;
        let target = op
            .apply_f64(&values)
            .map_err(|e| CliError::Usage(format!("{path}: field at byte {}: {e}", f.msg_offset)))?;
        let mut buf = Vec::with_capacity(target.len() * 8);
        for v in target {
            if args.f64 {
                buf.extend_from_slice(&v.to_le_bytes());
            } else {
                buf.extend_from_slice(&(v as f32).to_le_bytes());
            }
        }
        out.write_all(&buf).map_err(CliError::io(&args.out))?;
    }
    out.commit()?;
    eprintln!(
        "gik: regridded {} field(s) to N320 → {}",
        fields.len(),
        args.out.display()
    );
    Ok(())
}
