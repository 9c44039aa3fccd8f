//! `gik stats --refs R --variable V --step S --stat mean,std,p>0.01 --out x.npy`:
//! ensemble statistics per grid point, computed by the core
//! (`gik_core::stats::ensemble`) one member at a time.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use gik_core::npy;
use gik_core::stats::{ensemble_stats, EnsembleField, Stat, StatsError};

use crate::output::AtomicFile;
use crate::pipeline::Blocking;
use crate::{CliError, Result};
use gik_store::{Sources, StoreError};

/// Arguments of `gik stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// References: kerchunk JSON, two-column parquet, or fsspec parquet directory; local or remote.
    #[arg(long)]
    pub refs: String,
    /// The variable: an array path (`t2m/instant/heightAboveGround/t2m`) or an unambiguous shortName.
    #[arg(long)]
    pub variable: String,
    /// Forecast step in hours (default: the first), or `FROM-TO` for the change between two
    /// steps of each member first (an accumulation such as `tp` over that interval: `0-24`).
    #[arg(long, value_parser = parse_step)]
    pub step: Option<StepArg>,
    /// Level (850, 2, …; default: the first).
    #[arg(long)]
    pub level: Option<f64>,
    /// Forecast reference time (2025-01-01T00, 2025010100; default: the first).
    #[arg(long)]
    pub time: Option<String>,
    /// Members: all, 0,3,7, 1-10 (control = 0).
    #[arg(long, default_value = "all")]
    pub members: String,
    /// Statistics, comma-separated: mean, std, min, max, median, `q<percent>` (q90),
    /// p>threshold, p<threshold (the fraction of members, in the variable's units).
    #[arg(long, default_value = "mean")]
    pub stat: String,
    /// Output `.npy` (float32): (nlat, nlon) for one statistic, (statistics, nlat, nlon) for several.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Members' messages read at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    #[command(flatten)]
    pub progress: crate::args::Progress,
}

/// `--step`: one step, or the interval `from-to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepArg {
    pub from: Option<i64>,
    pub to: i64,
}

fn parse_step(s: &str) -> std::result::Result<StepArg, String> {
    let int = |t: &str| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| format!("`{s}`: expected a step in hours (24) or an interval (0-24)"))
    };
    match s.split_once('-') {
        Some((a, b)) => Ok(StepArg {
            from: Some(int(a)?),
            to: int(b)?,
        }),
        None => Ok(StepArg {
            from: None,
            to: int(s)?,
        }),
    }
}

fn stats_error(refs: &str, e: StatsError<StoreError>) -> CliError {
    match e {
        StatsError::Refs(source) => match source {
            gik_core::refs::RefsError::UnknownVariable { .. }
            | gik_core::refs::RefsError::AmbiguousVariable { .. } => {
                CliError::Usage(source.to_string())
            }
            source => CliError::Refs {
                location: refs.to_string(),
                source,
            },
        },
        StatsError::Read { source, .. } => CliError::store(source),
        StatsError::Decode(e) => CliError::assemble(e),
        StatsError::Locate(e) => CliError::Usage(e.to_string()),
        StatsError::Missing { .. } | StatsError::NoMembers { .. } => CliError::Usage(e.to_string()),
        other => CliError::Task(other.to_string()),
    }
}

/// Runs `gik stats`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let stats = Stat::parse_list(&args.stat).map_err(|e| CliError::Usage(e.to_string()))?;
    let members = gik_core::plan::parse_members(&args.members).map_err(CliError::plan)?;
    let time = args
        .time
        .as_deref()
        .map(|d| {
            gik_core::assemble::parse_date(d).ok_or_else(|| {
                CliError::Usage(format!(
                    "--time `{d}`: expected e.g. 2025-01-01T00 or 2025010100"
                ))
            })
        })
        .transpose()?;
    let field = EnsembleField {
        variable: args.variable.clone(),
        time,
        step: args.step.map(|s| s.to),
        from_step: args.step.and_then(|s| s.from),
        level: args.level,
        members: members.map(|m| m.into_iter().collect()),
    };
    let rt = crate::pipeline::runtime(None, None)?;
    let store = rt.block_on(crate::refs_in::load(&args.refs))?;
    let bar = crate::pipeline::progress_bar(
        args.progress.quiet,
        0,
        crate::pipeline::Counts::Items("members"),
    );
    let sources = Sources::default();
    let out = rt.block_on(async {
        let run = ensemble_stats(
            &sources,
            &store,
            &field,
            &stats,
            args.concurrency.max(1),
            &Blocking,
            |done, total, _| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                std::ops::ControlFlow::Continue(())
            },
        );
        tokio::select! {
            r = run => r.map_err(|e| stats_error(&args.refs, e)),
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
        }
    })?;
    bar.finish_and_clear();
    let mut shape = out.shape.clone();
    if out.values.len() > 1 {
        shape.insert(0, out.values.len());
    }
    let mut file = AtomicFile::create(&args.out)?;
    file.write_all(&npy::header(npy::Dtype::F32, &shape))
        .map_err(CliError::io(&args.out))?;
    for (_, values) in &out.values {
        let mut buf = Vec::with_capacity(values.len() * 4);
        npy::extend_le(&mut buf, values);
        file.write_all(&buf).map_err(CliError::io(&args.out))?;
    }
    file.commit()?;
    if !args.progress.quiet {
        let names: Vec<String> = out.values.iter().map(|(s, _)| s.to_string()).collect();
        eprintln!(
            "gik: {} of {} over {} members in {:.2} s → {}",
            names.join(", "),
            out.variable,
            out.members.len(),
            t0.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_intervals() {
        assert_eq!(parse_step("24"), Ok(StepArg { from: None, to: 24 }));
        assert_eq!(
            parse_step("0-24"),
            Ok(StepArg {
                from: Some(0),
                to: 24
            })
        );
        assert!(parse_step("x").is_err());
        assert!(parse_step("1-").is_err());
    }
}
