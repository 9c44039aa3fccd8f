//! `gik regrid <GRIB file> --to n320 --out <.npy>`: one-off regridding of
//! 0.25° fields to N320 (or another reduced Gaussian grid: `--to O96`) with
//! MIR's "linear" interpolation.

use crate::output::AtomicFile;
use crate::{CliError, Result};
use gik_core::npy;
use gik_core::regrid::{Operator, ReducedGaussian, SourceLayout};
use std::io::Write;
use std::path::PathBuf;

fn parse_target(s: &str) -> std::result::Result<ReducedGaussian, String> {
    ReducedGaussian::parse(s).map_err(|e| e.to_string())
}

/// Arguments of `gik regrid`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 file on the 0.25° ECMWF open-data grid (721 × 1440): a path or an s3://, gs://, az://, http(s):// url.
    pub file: PathBuf,
    /// Target grid: N320 (542,080 points, the grid AIFS reads), or another reduced
    /// Gaussian grid (`O96`, `N160`, `O1280`, …).
    #[arg(long, value_parser = parse_target, default_value = "n320")]
    pub to: ReducedGaussian,
    #[command(flatten)]
    pub fields: crate::args::Fields,
    /// Output `.npy` (float32; `--f64` for float64).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Write float64 instead of float32.
    #[arg(long)]
    pub f64: bool,
}

/// Runs `gik regrid`: fields found from the headers and read one message at
/// a time (as `gik decode`), each regridded and written as it comes.
pub fn run(args: &Args) -> Result<()> {
    let path = args.file.display().to_string();
    let op = Operator::build_grid(args.to, SourceLayout::OpenData)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let points = op.target_len();
    let dtype = if args.f64 {
        npy::Dtype::F64
    } else {
        npy::Dtype::F32
    };
    let mut out = AtomicFile::create(&args.out)?;
    let mut started = false;
    let fields = crate::pipeline::each_field(&path, &args.fields, |total, _, f| {
        if !started {
            let shape = if args.fields.all {
                vec![total, points]
            } else {
                vec![points]
            };
            out.write_all(&npy::header(dtype, &shape))
                .map_err(CliError::io(&args.out))?;
            started = true;
        }
        let values = f.decode_f64().map_err(CliError::grib(&path))?;
        let target = op.apply_f64(&values).map_err(|source| CliError::Regrid {
            path: path.clone(),
            offset: f.msg_offset,
            source,
        })?;
        let mut buf = Vec::with_capacity(target.len() * dtype.size());
        if args.f64 {
            npy::extend_le(&mut buf, &target);
        } else {
            let narrowed: Vec<f32> = target.iter().map(|&v| v as f32).collect();
            npy::extend_le(&mut buf, &narrowed);
        }
        out.write_all(&buf).map_err(CliError::io(&args.out))
    })?;
    out.commit()?;
    eprintln!(
        "gik: regridded {fields} field(s) to {} → {}",
        args.to,
        args.out.display()
    );
    Ok(())
}
