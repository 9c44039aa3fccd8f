//! `gik`: ECMWF open-data GRIB2 → kerchunk references → AIFS input states.

mod args;
mod cmd;
mod error;
mod model;
mod output;
mod pipeline;
mod refs_in;
mod refs_out;
mod request;

use clap::{Parser, Subcommand};

// Decoding allocates and frees several 4–8 MB buffers per field; glibc's
// malloc returns such blocks to the kernel each time (and page-faults them
// back in), which cost ~40% of `gik extract`'s time in system calls
// (measured: sys 0.40 s per member). mimalloc keeps them for reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

pub use error::{CliError, Result};

/// gik turns GRIB2 forecasts into kerchunk references and AIFS input states.
#[derive(Debug, Parser)]
#[command(name = "gik", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the fields of a GRIB2 file: offset, length, shortName, level, step, member, grid, packing.
    Inspect(cmd::inspect::Args),
    /// Decode values of one or all fields to float32 little-endian or .npy.
    Decode(cmd::decode::Args),
    /// Scan GRIB2 files (or their .index) into kerchunk references.
    Scan(cmd::scan::Args),
    /// List the runs, streams, types and steps an open-data mirror has for a day.
    Ls(cmd::ls::Args),
    /// Extract AIFS input states (one pickle per member) from references.
    Extract(cmd::extract::Args),
    /// Run the whole job on bundled data: scan → references → AIFS states.
    Demo(cmd::demo::Args),
    /// Regrid 0.25° fields to N320 (MIR's "linear" interpolation) into .npy.
    Regrid(cmd::regrid::Args),
    /// Ensemble statistics per grid point (mean, spread, quantiles, probabilities) into .npy.
    Stats(cmd::stats::Args),
    /// Serve the web page, the wasm package and local files (with Range), plus a CORS range proxy.
    Serve(cmd::serve::Args),
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Decode(args) => cmd::decode::run(&args),
        Command::Scan(args) => cmd::scan::run(&args),
        Command::Ls(args) => cmd::ls::run(&args),
        Command::Extract(args) => cmd::extract::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Regrid(args) => cmd::regrid::run(&args),
        Command::Stats(args) => cmd::stats::run(&args),
    }
}

/// Runs a `gik` command line (without the program name), parsed exactly
/// as the shell's would be: how `gik demo` runs the other commands.
///
/// # Errors
/// A usage error for arguments clap refuses; else the command's error.
pub(crate) fn run_command_line<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<()> {
    let argv = std::iter::once(std::ffi::OsStr::new("gik")).chain(args.iter().map(AsRef::as_ref));
    let cli = Cli::try_parse_from(argv).map_err(|e| CliError::Usage(e.to_string()))?;
    dispatch(cli.command)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            eprintln!("gik: error: {text}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let cause = s.to_string();
                // Messages already quote their cause; print only what adds something.
                if !text.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
                source = s.source();
            }
            ExitCode::from(e.exit_code())
        }
    }
}
