//! `gik extract --refs <references> --out DIR`: references → concurrent range
//! reads → decode → one AIFS input-state pickle per ensemble member, streamed.
//!
//! The engine: plan (selection → chunks) → reads with bounded concurrency
//! (object_store, retries with backoff) → decode on the blocking pool (every
//! core busy) → write in order, field by field, into a temporary file that
//! is renamed into place when the member is complete. Peak memory is bounded
//! by `--concurrency`, not by the size of a member.

use crate::output::AtomicFile;
use crate::store::{Source, Stores};
use crate::{CliError, Result};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use gik_core::npy::Dtype;
use gik_core::pickle::{write_f64s, Date, StateWriter};
use gik_core::plan::{self, FieldPlan, Layout, Selection};
use gik_core::refs::RefValue;
use gik_core::regrid::{n320_latitudes, n320_longitudes, N320Operator, N320_POINTS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// Each field `(nlat, nlon)`, as the original pipeline wrote.
    Grid,
    /// Each field `(2, npoints)`: date − 6 h and date, flattened row-major, as anemoi-inference reads.
    Aifs,
}

/// `--grid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GridArg {
    /// Keep the source grid (0.25° for ECMWF open data).
    #[value(name = "0.25")]
    Source,
    /// Regrid to N320 (542,080 points) with MIR's "linear" interpolation, as AIFS reads its inputs.
    N320,
}

/// `--dtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DtypeArg {
    Float32,
    Float64,
}

/// Arguments of `gik extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// References: kerchunk JSON, two-column parquet, or fsspec parquet directory; local or remote.
    #[arg(long)]
    pub refs: String,
    /// Output directory (created if needed).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Members: all, 0,3,7, 1-10 (control = 0).
    #[arg(long, default_value = "all")]
    pub members: String,
    /// Valid date of the state (2025-01-01T06, 2025010106); default: the latest the references allow.
    #[arg(long)]
    pub date: Option<String>,
    /// Forecast steps in hours for --layout grid (default: the first); several give one file per step.
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<i64>>,
    /// Inputs: a preset (aifs-ens, aifs-single) or a list (2t,msl,t_850,gh_500).
    #[arg(long, default_value = "aifs-ens")]
    pub params: String,
    /// Field layout.
    #[arg(long, value_enum, default_value = "grid")]
    pub layout: LayoutArg,
    /// Output grid: the source grid, or N320 as the AIFS models read it (with `latitudes`/`longitudes` in the state).
    #[arg(long, value_enum, default_value = "0.25")]
    pub grid: GridArg,
    /// Element type of the arrays.
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: DtypeArg,
    /// Fields read and decoded at once (bounds memory: ~2 fields each).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Proceed without inputs the references lack (and say which).
    #[arg(long)]
    pub allow_missing: bool,
    /// Wait until each state is on disk before renaming it into place (survives power loss; slower).
    #[arg(long)]
    pub sync: bool,
    /// Skip members whose output file already exists (outputs are only ever complete).
    #[arg(long)]
    pub resume: bool,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Seconds since 1970 of a civil date (proleptic Gregorian, UTC).
fn epoch(y: i64, m: i64, d: i64, hh: i64, mm: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86400 + hh * 3600 + mm * 60
}

/// Civil date of seconds since 1970.
fn civil(t: i64) -> Date {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Date {
        year: u16::try_from(y).unwrap_or(0),
        month: m as u8,
        day: d as u8,
        hour: (secs / 3600) as u8,
        minute: (secs % 3600 / 60) as u8,
        second: (secs % 60) as u8,
    }
}

/// Parses `2025-01-01T06`, `2025-01-01T06:00`, `2025-01-01 06:00:00`, `2025010106`, `20250101`.
fn parse_date(s: &str) -> Result<i64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let bad = || {
        CliError::Usage(format!(
            "--date `{s}`: expected e.g. 2025-01-01T06 or 2025010106"
        ))
    };
    if digits.len() < 8 {
        return Err(bad());
    }
    let n = |a: usize, b: usize| digits.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, m, d) = (
        n(0, 4).ok_or_else(bad)?,
        n(4, 6).ok_or_else(bad)?,
        n(6, 8).ok_or_else(bad)?,
    );
    let hh = n(8, 10).unwrap_or(0);
    let mm = n(10, 12).unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return Err(bad());
    }
    Ok(epoch(y, m, d, hh, mm))
}

/// Sources opened once per url.
#[derive(Default)]
struct Sources {
    stores: Stores,
    open: Mutex<HashMap<String, Source>>,
}

impl Sources {
    async fn get(&self, url: &str) -> Result<Source> {
        if let Some(s) = self.open.lock().ok().and_then(|m| m.get(url).cloned()) {
            return Ok(s);
        }
        let s = self.stores.open(url).await.map_err(CliError::store)?;
        if let Ok(mut m) = self.open.lock() {
            m.insert(url.to_string(), s.clone());
        }
        Ok(s)
    }
}

async fn fetch(sources: &Sources, part: &RefValue) -> Result<Bytes> {
    match part {
        RefValue::Inline(b) => Ok(Bytes::from(b.clone())),
        RefValue::Range {
            url,
            offset,
            length,
        } => {
            let src = sources.get(url).await?;
            src.read(*offset..offset.saturating_add(*length))
                .await
                .map_err(CliError::store)
        }
        RefValue::Whole { url } => {
            let mut src = sources.get(url).await?;
            src.read_all().await.map_err(CliError::store)
        }
    }
}

fn describe(part: &RefValue) -> String {
    match part {
        RefValue::Inline(b) => format!("inline chunk of {} bytes", b.len()),
        RefValue::Range {
            url,
            offset,
            length,
        } => format!("{url} bytes {offset}+{length}"),
        RefValue::Whole { url } => url.to_string(),
    }
}

/// Decodes one slice (a whole GRIB message) and appends its values, scaled,
/// in the output dtype, to `out`.
fn decode_into(
    bytes: &[u8],
    part: &RefValue,
    field: &FieldPlan,
    dtype: DtypeArg,
    regrid: Option<&N320Operator>,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    if !bytes.starts_with(b"GRIB") {
        return Err(format!(
            "{} does not start with a GRIB message (stale or shifted reference?)",
            describe(part)
        ));
    }
    let f = gik_core::grib::fields(bytes)
        .next()
        .ok_or_else(|| format!("{}: no GRIB message", describe(part)))?
        .map_err(|e| format!("{}: {e}", describe(part)))?;
    let expected = field.grid.0 * field.grid.1;
    // Plain float32 fields: decode straight to f32 (half the memory; the same
    // values, ecCodes' f64 rounded once). Scaled, regridded or f64 output: via f64.
    if dtype == DtypeArg::Float32 && field.scale.is_none() && regrid.is_none() {
        let values = f.decode_f32().map_err(|e| format!("{}: {e}", describe(part)))?;
        if values.len() != expected {
            return Err(format!("{}: {} values, the references say {}×{}", describe(part), values.len(), field.grid.0, field.grid.1));
        }
        out.reserve(values.len() * 4);
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        return Ok(());
    }
    let values = f
        .decode_f64()
        .map_err(|e| format!("{}: {e}", describe(part)))?;
    if values.len() != expected {
        return Err(format!(
            "{}: {} values, the references say {}×{}",
            describe(part),
            values.len(),
            field.grid.0,
            field.grid.1
        ));
    }
    let values = match regrid {
        Some(op) => op
            .apply_f64(&values)
            .map_err(|e| format!("{}: {e}", describe(part)))?,
        None => values,
    };
    let scale = field.scale;
    match dtype {
        DtypeArg::Float32 => {
            out.reserve(values.len() * 4);
            for v in values {
                let v = scale.map_or(v, |s| v * s);
                out.extend_from_slice(&(v as f32).to_le_bytes());
            }
        }
        DtypeArg::Float64 => {
            out.reserve(values.len() * 8);
            for v in values {
                let v = scale.map_or(v, |s| v * s);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    Ok(())
}

struct Decoded {
    state: usize,
    field: usize,
    bytes: Vec<u8>,
    read: u64,
}

async fn fetch_decode(
    sources: Arc<Sources>,
    state: usize,
    field_idx: usize,
    field: FieldPlan,
    member: i64,
    dtype: DtypeArg,
    regrid: Option<Arc<N320Operator>>,
) -> Result<Decoded> {
    let ctx = |source: CliError| CliError::Field {
        member,
        field: field.name.clone(),
        source: Box::new(source),
    };
    let reads = futures::future::join_all(field.parts.iter().map(|p| fetch(&sources, p))).await;
    let mut parts = Vec::with_capacity(reads.len());
    for r in reads {
        parts.push(r.map_err(ctx)?);
    }
    let read: u64 = parts.iter().map(|b| b.len() as u64).sum();
    let f2 = field.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for (b, p) in parts.iter().zip(&f2.parts) {
            decode_into(b, p, &f2, dtype, regrid.as_deref(), &mut out)?;
        }
        Ok::<_, String>(out)
    })
    .await
    .map_err(|e| ctx(CliError::Usage(format!("decode task failed: {e}"))))?
    .map_err(|reason| ctx(CliError::Usage(reason)))?;
    Ok(Decoded {
        state,
        field: field_idx,
        bytes,
        read,
    })
}

struct Summary {
    written: Vec<PathBuf>,
    skipped: usize,
    fields: usize,
    bytes_read: u64,
}

async fn run_engine(
    args: &Args,
    plan: &plan::Plan,
    dir: PathBuf,
    bar: ProgressBar,
) -> Result<Summary> {
    let sources = Arc::new(Sources::default());
    let sync = args.sync;
    let dtype = args.dtype;
    let several_steps =
        args.layout == LayoutArg::Grid && args.steps.as_ref().is_some_and(|s| s.len() > 1);
    let name_of =
        |s: &plan::StatePlan| plan::state_file_name(s.member, several_steps.then_some(s.step));
    let mut skipped = 0;
    let mut todo = Vec::new();
    for (i, s) in plan.states.iter().enumerate() {
        if args.resume && dir.join(name_of(s)).is_file() {
            skipped += 1;
        } else {
            todo.push(i);
        }
    }
    let total: usize = todo.iter().map(|&i| plan.states[i].fields.len()).sum();
    bar.set_length(total as u64);
    let jobs = todo.iter().flat_map(|&si| {
        let s = &plan.states[si];
        s.fields
            .iter()
            .enumerate()
            .map(move |(fi, f)| (si, fi, f.clone(), s.member))
    });
    // The N320 operator is built once (under a second) and shared by every decode.
    let regrid = match args.grid {
        GridArg::N320 => Some(Arc::new(
            tokio::task::spawn_blocking(N320Operator::build)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?,
        )),
        GridArg::Source => None,
    };
    let mut results =
        stream::iter(jobs.map(|(si, fi, f, m)| {
            fetch_decode(sources.clone(), si, fi, f, m, dtype, regrid.clone())
        }))
        .buffered(args.concurrency.max(1));
    let coords = regrid
        .as_ref()
        .map(|_| (n320_latitudes(), n320_longitudes()));
    let finish = |w: StateWriter<AtomicFile>, path: &std::path::Path| -> Result<()> {
        let mut w = w;
        if let Some((lats, lons)) = &coords {
            for (name, v) in [("latitudes", lats), ("longitudes", lons)] {
                w.top_level_array(name, Dtype::F64, &[v.len()], |out| write_f64s(out, v))
                    .map_err(CliError::io(path))?;
            }
        }
        w.finish().map_err(CliError::io(path))?.commit_with(sync)
    };
    let mut current: Option<(usize, StateWriter<AtomicFile>)> = None;
    let mut written = Vec::new();
    let mut bytes_read = 0u64;
    let t0 = Instant::now();
    let mut done_fields = 0usize;
    while let Some(d) = results.next().await {
        let d = d?;
        let state = &plan.states[d.state];
        if current.as_ref().map(|c| c.0) != Some(d.state) {
            if let Some((prev, w)) = current.take() {
                let path = dir.join(name_of(&plan.states[prev]));
                finish(w, &path)?;
                written.push(path);
            }
            let path = dir.join(name_of(state));
            let file = AtomicFile::create(&path)?;
            let w = StateWriter::new(file, civil(state.date)).map_err(CliError::io(&path))?;
            current = Some((d.state, w));
        }
        let field = &state.fields[d.field];
        let points = if regrid.is_some() {
            N320_POINTS
        } else {
            field.grid.0 * field.grid.1
        };
        let shape: Vec<usize> = match (args.layout, regrid.is_some()) {
            (LayoutArg::Grid, false) => vec![field.grid.0, field.grid.1],
            (LayoutArg::Grid, true) => vec![points],
            (LayoutArg::Aifs, _) => vec![field.parts.len(), points],
        };
        let dt = if dtype == DtypeArg::Float32 {
            Dtype::F32
        } else {
            Dtype::F64
        };
        if let Some((_, w)) = current.as_mut() {
            let path = dir.join(name_of(state));
            w.field(&field.name, dt, &shape, |out| out.write_all(&d.bytes))
                .map_err(CliError::io(&path))?;
        }
        bytes_read += d.read;
        done_fields += 1;
        bar.inc(1);
        let secs = t0.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "member {} · {:.0} MB/s",
            state.member,
            bytes_read as f64 / 1e6 / secs
        ));
    }
    if let Some((prev, w)) = current.take() {
        let path = dir.join(name_of(&plan.states[prev]));
        finish(w, &path)?;
        written.push(path);
    }
    Ok(Summary {
        written,
        skipped,
        fields: done_fields,
        bytes_read,
    })
}

/// Runs `gik extract`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    let inputs = plan::parse_params(&args.params).map_err(CliError::plan)?;
    let members = plan::parse_members(&args.members).map_err(CliError::plan)?;
    let date = args.date.as_deref().map(parse_date).transpose()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let stores = Stores::default();
    let store = rt.block_on(crate::refs_in::load(&stores, &args.refs))?;
    let sel = Selection {
        members,
        date,
        steps: args.steps.clone(),
        layout: if args.layout == LayoutArg::Grid {
            Layout::Grid
        } else {
            Layout::Aifs
        },
        allow_missing: args.allow_missing,
    };
    let plan = plan::plan(&store, &inputs, &sel).map_err(CliError::plan)?;
    if !plan.left_out.is_empty() && !args.quiet {
        eprintln!(
            "gik: left out (not in the references): {}",
            plan.left_out.join(", ")
        );
    }
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} fields · {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let engine = run_engine(args, &plan, args.out.clone(), bar.clone());
    let summary = rt.block_on(async {
        tokio::select! {
            r = engine => r,
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
        }
    })?;
    bar.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "gik: {} state(s) written ({} skipped as complete), {} fields, {:.1} MB read in {:.2} s → {}",
            summary.written.len(),
            summary.skipped,
            summary.fields,
            summary.bytes_read as f64 / 1e6,
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
    fn dates_round_trip() {
        let t = parse_date("2025-01-01T06").unwrap();
        assert_eq!(t, 1_735_711_200);
        assert_eq!(
            civil(t),
            Date {
                year: 2025,
                month: 1,
                day: 1,
                hour: 6,
                minute: 0,
                second: 0
            }
        );
        assert_eq!(parse_date("2026051206").unwrap(), epoch(2026, 5, 12, 6, 0));
        assert_eq!(civil(epoch(2024, 2, 29, 23, 59)).day, 29);
        assert!(parse_date("2025-13-01").is_err());
    }
}
