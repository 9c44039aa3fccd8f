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
use gik_core::assemble;
use gik_core::npy::Dtype;
use gik_core::pickle::{write_f64s, StateWriter};
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
    /// Extract one variable (an array path such as `t2m/instant/heightAboveGround/t2m`)
    /// as one n-d array with its coordinates, instead of AIFS states.
    #[arg(long)]
    pub var: Option<String>,
    /// With --var: `pickle` (array + coordinates) or `npy` (the array alone).
    #[arg(long, value_enum, default_value = "pickle")]
    pub format: super::extract_var::VarFormat,
    /// Skip members whose output file already exists (outputs are only ever complete).
    #[arg(long)]
    pub resume: bool,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Sources opened once per url.
#[derive(Default)]
pub(crate) struct Sources {
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

pub(crate) async fn fetch(sources: &Sources, part: &RefValue) -> Result<Bytes> {
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
            let dt = if dtype == DtypeArg::Float32 {
                Dtype::F32
            } else {
                Dtype::F64
            };
            assemble::decode_part_with(b, p, &f2, dt, regrid.as_deref(), &mut out)
                .map_err(|e| e.to_string())?;
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
            let w = StateWriter::new(file, assemble::date_of(state.date))
                .map_err(CliError::io(&path))?;
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
    if let Some(path) = &args.var {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
        let stores = Stores::default();
        let store = rt.block_on(crate::refs_in::load(&stores, &args.refs))?;
        let file = rt.block_on(async {
            tokio::select! {
                r = super::extract_var::run(args, &store, path, args.format) => r,
                _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
            }
        })?;
        if !args.quiet {
            eprintln!(
                "gik: {path} → {} ({:.2} s)",
                file.display(),
                t0.elapsed().as_secs_f64()
            );
        }
        return Ok(());
    }
    let inputs = plan::parse_params(&args.params).map_err(CliError::plan)?;
    let members = plan::parse_members(&args.members).map_err(CliError::plan)?;
    let date = args
        .date
        .as_deref()
        .map(|d| {
            assemble::parse_date(d).ok_or_else(|| {
                CliError::Usage(format!(
                    "--date `{d}`: expected e.g. 2025-01-01T06 or 2025010106"
                ))
            })
        })
        .transpose()?;
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
