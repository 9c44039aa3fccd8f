//! `gik extract --refs <references> --out DIR`: references → concurrent range
//! reads → decode → one AIFS input-state pickle per ensemble member, streamed.
//!
//! The engine: plan (selection → chunks) → reads with bounded concurrency
//! (object_store, retries with backoff) → decode on the blocking pool (every
//! core busy) → write in order, field by field, into a temporary file that
//! is renamed into place when the member is complete. Peak memory is bounded
//! by `--concurrency`, not by the size of a member.

mod var;

use crate::output::AtomicFile;
use crate::pipeline::Blocking;
use crate::{CliError, Result};
use futures::stream::StreamExt;
use gik_core::assemble;
use gik_core::checkpoint;
pub use gik_core::extract::Coalesce;
use gik_core::extract::{
    Decoded, Engine, ExtractError, Options, StateSink, StatesWriter, WriteError,
};
use gik_core::npy::Dtype;
use gik_core::plan::{self, Layout, Selection};
use gik_core::regrid::{Operator, ReducedGaussian, SourceLayout};
use gik_store::{Sources, StoreError};
use indicatif::ProgressBar;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    /// Each field `(nlat, nlon)`, as the original pipeline wrote.
    Grid,
    /// Each field `(times, npoints)`: the input times (date − 6 h and date
    /// unless a checkpoint says otherwise), flattened row-major, as anemoi-inference reads.
    Aifs,
}

/// `--inputs`: where the input times of an aifs state come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputsArg {
    /// One forecast run: steps s − 6 h and s of the same run (the files of one run suffice).
    Forecast,
    /// Step 0 of consecutive runs (date − 6 h and date), as ECMWF's open-data input for anemoi reads them.
    Analyses,
}

/// `--grid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridArg {
    /// Keep the source grid (0.25° for ECMWF open data).
    Source,
    /// Regrid to a reduced Gaussian grid (N320: 542,080 points) with MIR's
    /// "linear" interpolation, as AIFS reads its inputs.
    Gaussian(ReducedGaussian),
}

/// `--grid 0.25`, `--grid N320`, `--grid O96`, …
pub fn parse_grid(s: &str) -> std::result::Result<GridArg, String> {
    if s == "0.25" {
        return Ok(GridArg::Source);
    }
    ReducedGaussian::parse(s)
        .map(GridArg::Gaussian)
        .map_err(|e| format!("{e}; or 0.25 for the source grid"))
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
    /// Or none, and an open-data request instead (--model, --date, --time, --step, --stream, …,
    /// --source, as `gik scan` takes it): its objects are scanned on the way.
    #[arg(long)]
    pub refs: Option<String>,
    #[command(flatten)]
    pub request: crate::args::Request,
    /// Output directory (created if needed).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Members: all, 0,3,7, 1-10 (control = 0).
    #[arg(long, default_value = "all")]
    pub members: String,
    /// Forecast steps in hours for --layout grid (default: the first); several give one file per step.
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<i64>>,
    /// Inputs: a preset (aifs-ens = AIFS-ENS v1, aifs-single = AIFS-single v1.x) or a list (2t,msl,t_850,gh_500).
    #[arg(long, default_value = "aifs-ens", conflicts_with_all = ["checkpoint", "checkpoint_metadata"])]
    pub params: String,
    /// The model the states are for: an anemoi checkpoint (.ckpt), local or a URL; only its
    /// metadata is read, by range. States then hold exactly the inputs it takes from the user,
    /// as many input times as it reads, spaced by its time step, on its grid (--layout aifs).
    #[arg(long, conflicts_with = "checkpoint_metadata")]
    pub checkpoint: Option<String>,
    /// As --checkpoint, from the checkpoint's metadata JSON (anemoi-metadata/ai-models.json).
    #[arg(long)]
    pub checkpoint_metadata: Option<String>,
    /// Where the input times of --layout aifs come from: `forecast` (one run, steps s − 6 h and s)
    /// or `analyses` (step 0 of consecutive runs).
    #[arg(long, value_enum, default_value = "forecast")]
    pub inputs: InputsArg,
    /// Field layout [default: grid; aifs with a checkpoint].
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,
    /// Output grid: `0.25` (the source grid), or a reduced Gaussian grid as AIFS models read
    /// it (`N320`, `O96`, `N160`, …; with `latitudes`/`longitudes` in the state)
    /// [default: 0.25; the checkpoint's grid with a checkpoint].
    #[arg(long, value_parser = parse_grid)]
    pub grid: Option<GridArg>,
    /// Element type of the arrays.
    #[arg(long, value_enum, default_value = "float32")]
    pub dtype: DtypeArg,
    /// Fields whose messages are read at once (requests in flight; bounds
    /// memory at about one compressed field each; decoding runs on every core).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Read neighbouring messages of up to --concurrency consecutive fields in
    /// one request when at most this many bytes apart: `auto` (1 MiB for
    /// remote objects, only touching ranges for local files), `off`, or bytes.
    #[arg(long, default_value = "auto", value_parser = parse_gap)]
    pub coalesce_gap: Coalesce,
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
    pub format: var::VarFormat,
    /// Write through the page cache instead of direct I/O (direct I/O is the
    /// default for states: faster on local disks, and it leaves the cache to
    /// the GRIB input; file systems without it fall back automatically).
    #[arg(long)]
    pub no_direct_io: bool,
    /// Skip members whose output file already exists (outputs are only ever complete).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub progress: crate::args::Progress,
}

fn parse_gap(s: &str) -> std::result::Result<Coalesce, String> {
    match s {
        "auto" => Ok(Coalesce::Auto),
        "off" => Ok(Coalesce::Off),
        n => n
            .parse()
            .map(Coalesce::Gap)
            .map_err(|_| format!("`{n}`: expected auto, off or a number of bytes")),
    }
}

/// The CLI's errors for a field the engine could not extract.
pub(crate) fn extract_error(e: ExtractError<StoreError>) -> CliError {
    let (member, field, source) = match e {
        ExtractError::Read {
            member,
            field,
            source,
        } => (member, field, CliError::store(source)),
        ExtractError::Decode {
            member,
            field,
            source,
        } => (member, field, CliError::assemble(source)),
        other => {
            return CliError::Io {
                path: "decode task".into(),
                source: std::io::Error::other(other.to_string()),
            }
        }
    };
    CliError::Field {
        member,
        field,
        source: Box::new(source),
    }
}

/// A decoded field for the writer, or the end of the run.
enum Msg {
    Field(Decoded),
    Done,
}

/// What the writer needs to name and store the states.
struct WriteSpec<'a> {
    plan: &'a plan::Plan,
    dir: PathBuf,
    several_steps: bool,
    sync: bool,
    direct: bool,
}

impl WriteSpec<'_> {
    fn path(&self, state: usize) -> PathBuf {
        let s = &self.plan.states[state];
        self.dir.join(plan::state_file_name(
            s.member,
            self.several_steps.then_some(s.step),
        ))
    }
}

/// The states' files: written through a temporary file (direct I/O, whole
/// 8 MiB blocks) renamed into place when the state is complete.
impl StateSink for &WriteSpec<'_> {
    type Out = AtomicFile;
    type Error = CliError;
    fn create(&mut self, state: usize) -> Result<AtomicFile> {
        let path = self.path(state);
        if self.direct {
            AtomicFile::create_direct(&path)
        } else {
            AtomicFile::create(&path)
        }
    }
    fn commit(&mut self, _state: usize, out: AtomicFile) -> Result<()> {
        out.commit_with(self.sync)
    }
}

/// The writer thread: the core's [`StatesWriter`] over the states' files,
/// fed in plan order, so disk writes overlap reading and decoding. If the
/// channel closes without [`Msg::Done`] (the run failed or was
/// interrupted), the open state's temporary file is removed on drop.
fn write_states(
    spec: &WriteSpec<'_>,
    options: &Options,
    mut rx: mpsc::Receiver<Msg>,
) -> Result<Vec<PathBuf>> {
    let error = |e: WriteError<CliError>| match e {
        WriteError::Sink { source, .. } => source,
        WriteError::Write { state, source } => CliError::Io {
            path: spec.path(state),
            source,
        },
        other => CliError::Io {
            path: spec.dir.clone(),
            source: std::io::Error::other(other.to_string()),
        },
    };
    let mut writer = StatesWriter::new(spec, spec.plan, options);
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Field(d) => writer.push(&d).map_err(error)?,
            Msg::Done => {
                let (_, written) = writer.finish().map_err(error)?;
                return Ok(written.into_iter().map(|s| spec.path(s)).collect());
            }
        }
    }
    // the engine stopped early: the open state is dropped, its temporary file removed
    Ok(Vec::new())
}

struct Counts {
    skipped: usize,
    fields: usize,
    bytes_read: u64,
}

/// Reads and decodes every field of the states not yet complete with the
/// core's engine (decoding on the blocking pool), and hands them in plan
/// order to the writer.
async fn run_engine(
    args: &Args,
    options: &Options,
    plan: &plan::Plan,
    spec_path: impl Fn(usize) -> PathBuf,
    tx: mpsc::Sender<Msg>,
    bar: ProgressBar,
) -> Result<Counts> {
    let mut skipped = 0;
    let mut todo = Vec::new();
    for i in 0..plan.states.len() {
        if args.resume && spec_path(i).is_file() {
            skipped += 1;
        } else {
            todo.push(i);
        }
    }
    let engine = Engine::states(Sources::default(), plan, &todo, options);
    bar.set_length(engine.len() as u64);
    let mut results = std::pin::pin!(engine.fields(&Blocking));
    let mut bytes_read = 0u64;
    let t0 = Instant::now();
    let mut done_fields = 0usize;
    while let Some(d) = results.next().await {
        let d = d.map_err(extract_error)?;
        let member = plan.states[d.state].member;
        // states are written in plan order: this one is the k-th of the run
        let k = todo.partition_point(|&si| si < d.state) + 1;
        bytes_read += d.read;
        if tx.send(Msg::Field(d)).await.is_err() {
            // the writer stopped on an error, which it reports
            return Err(CliError::Task("the writer stopped".into()));
        }
        done_fields += 1;
        bar.inc(1);
        let secs = t0.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "member {member} ({k}/{} states) · {:.0} MB/s read",
            todo.len(),
            bytes_read as f64 / 1e6 / secs
        ));
    }
    if tx.send(Msg::Done).await.is_err() {
        return Err(CliError::Task("the writer stopped".into()));
    }
    Ok(Counts {
        skipped,
        fields: done_fields,
        bytes_read,
    })
}

/// What the states hold: from the model's checkpoint, or from the flags.
struct Resolved {
    inputs: Vec<plan::Input>,
    times: plan::InputTimes,
    layout: LayoutArg,
    grid: GridArg,
    /// The model's own latitudes and longitudes, when the states are on its grid.
    coordinates: Option<(Vec<f64>, Vec<f64>)>,
}

fn resolve_model(args: &Args, model: Option<&crate::model::Model>) -> Result<Resolved> {
    let source = match args.inputs {
        InputsArg::Forecast => plan::InputSource::Forecast,
        InputsArg::Analyses => plan::InputSource::Analyses,
    };
    let Some(m) = model else {
        return Ok(Resolved {
            inputs: plan::parse_params(&args.params).map_err(CliError::plan)?,
            times: plan::InputTimes {
                source,
                ..plan::InputTimes::default()
            },
            layout: args.layout.unwrap_or(LayoutArg::Grid),
            grid: args.grid.unwrap_or(GridArg::Source),
            coordinates: None,
        });
    };
    if args.layout == Some(LayoutArg::Grid) {
        return Err(CliError::Usage(format!(
            "{}: states for a model are --layout aifs (its input times stacked)",
            m.location
        )));
    }
    // An explicit --grid wins (said on stderr); else the model's own grid
    // (the core decides, and checks the model's coordinates are its points).
    let asked = args.grid.map(|g| match g {
        GridArg::Gaussian(r) => Some(r),
        GridArg::Source => None,
    });
    let states = m.core().states(asked, source).map_err(|source| {
        let e = CliError::Model {
            location: m.location.clone(),
            source,
        };
        match (asked, &e) {
            (None, CliError::Model { source: checkpoint::CheckpointError::Grid { .. }, .. }) => CliError::Usage(format!(
                "{e}. Pass --grid 0.25 to keep the references' grid anyway (the model will not read such states as they are)"
            )),
            _ => e,
        }
    })?;
    if states.off_grid && !args.progress.quiet {
        eprintln!(
            "gik: the model {} declares grid {}; states are on {} as --grid asks",
            m.location,
            m.spec.grid.as_deref().unwrap_or("(none)"),
            states
                .grid
                .map_or_else(|| "the references' grid".into(), |r| r.name())
        );
    }
    Ok(Resolved {
        inputs: states.inputs,
        times: states.times,
        layout: LayoutArg::Aifs,
        grid: states.grid.map_or(GridArg::Source, GridArg::Gaussian),
        coordinates: states.coordinates,
    })
}

pub(crate) fn dtype_of(d: DtypeArg) -> Dtype {
    match d {
        DtypeArg::Float32 => Dtype::F32,
        DtypeArg::Float64 => Dtype::F64,
    }
}

/// Runs `gik extract --var`: one variable as one array.
fn run_var(args: &Args, path: &str, t0: Instant) -> Result<()> {
    let rt = crate::pipeline::runtime(None, None)?;
    let store = load_refs(args, &rt, &[])?;
    let file = rt.block_on(async {
        tokio::select! {
            r = var::run(args, &store, path, args.format) => r,
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
        }
    })?;
    if !args.progress.quiet {
        eprintln!(
            "gik: {path} → {} ({:.2} s)",
            file.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// What `--refs` names, or what the request stands for (in messages).
pub(crate) fn refs_label(args: &Args) -> String {
    args.refs
        .clone()
        .unwrap_or_else(|| "the references of the request".into())
}

/// `--date` with `--refs`: the valid date of the state. (From a request it
/// is the run's day, and the state's date is the latest the run allows.)
fn state_date(args: &Args) -> Option<&str> {
    args.refs.as_ref().and(args.request.date.as_deref())
}

/// The references: read from `--refs`, or built from a scan of the
/// request's objects (the references `gik scan` writes for it, in memory).
/// A request without `--param` is narrowed to the parameters of `inputs`
/// (the states' inputs), so only their index lines are kept and their
/// headers read; one the objects lack is then the planner's to report.
fn load_refs(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    inputs: &[plan::Input],
) -> Result<gik_core::refs::RefStore> {
    let request = &args.request;
    if let Some(refs) = &args.refs {
        let given: Vec<&str> = request
            .pairs()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| *k != "date")
            .chain(request.source.as_ref().map(|_| "source"))
            .collect();
        if !given.is_empty() {
            return Err(CliError::Usage(format!(
                "give --refs or an open-data request, not both (--{} with --refs)",
                given.join(", --")
            )));
        }
        return rt.block_on(crate::refs_in::load(refs));
    }
    if !request.given() {
        return Err(CliError::Usage(
            "give --refs, or an open-data request (--source, --date, --time, --step, … as gik scan takes them)".into(),
        ));
    }
    let sources = Sources::default();
    let quiet = args.progress.quiet;
    let fields = rt.block_on(async {
        let (req, located) = super::scan::locate_request(request, &sources, quiet).await?;
        let how = super::scan::How {
            mode: super::scan::Mode::Auto,
            verify: super::scan::Verify::All,
            concurrency: 64,
            quiet,
        };
        // Without --param, only the parameters of the states' inputs are
        // scanned (the request's own selection must still match).
        let mut select = req.select.clone();
        if request.param.is_none() && !inputs.is_empty() {
            select.param = inputs.iter().map(|i| i.short_name.clone()).collect();
            select.param.sort();
            select.param.dedup();
        }
        super::scan::scan_request(&sources, &req, &located, Some(select), how).await
    })?;
    let built = gik_core::refs::build(&fields).map_err(|source| CliError::Refs {
        location: refs_label(args),
        source,
    })?;
    for s in &built.skipped {
        eprintln!(
            "gik: warning: {} at byte {} left out: {}",
            s.url, s.offset, s.reason
        );
    }
    Ok(built.store)
}

/// The states to write: the model (or the flags) resolved against the
/// references, planned by the core.
struct Planned {
    plan: plan::Plan,
    layout: LayoutArg,
    grid: GridArg,
    /// The model's own latitudes and longitudes, when the states are on its grid.
    coordinates: Option<(Vec<f64>, Vec<f64>)>,
}

/// Reads the model and the references and plans the states.
fn plan_states(args: &Args, rt: &tokio::runtime::Runtime) -> Result<Planned> {
    let members = plan::parse_members(&args.members).map_err(CliError::plan)?;
    let date = state_date(args)
        .map(|d| {
            assemble::parse_date(d).ok_or_else(|| {
                CliError::Usage(format!(
                    "--date `{d}`: expected e.g. 2025-01-01T06 or 2025010106"
                ))
            })
        })
        .transpose()?;
    let model = match (&args.checkpoint, &args.checkpoint_metadata) {
        (Some(c), _) => Some(rt.block_on(crate::model::from_checkpoint(&Sources::default(), c))?),
        (None, Some(m)) => Some(crate::model::from_metadata_file(m)?),
        (None, None) => None,
    };
    let resolved = resolve_model(args, model.as_ref())?;
    let store = load_refs(args, rt, &resolved.inputs)?;
    let sel = Selection {
        members,
        date,
        steps: args.steps.clone(),
        layout: layout_of(resolved.layout),
        allow_missing: args.allow_missing,
    };
    let plan =
        plan::plan_with(&store, &resolved.inputs, &sel, &resolved.times).map_err(|e| {
            match (e, &model) {
                (plan::PlanError::Missing(missing), Some(m)) => CliError::ModelInputs {
                    checkpoint: m.location.clone(),
                    missing,
                },
                (e, _) => CliError::plan(e),
            }
        })?;
    if !plan.left_out.is_empty() && !args.progress.quiet {
        eprintln!(
            "gik: left out (not in the references): {}",
            plan.left_out.join(", ")
        );
    }
    Ok(Planned {
        plan,
        layout: resolved.layout,
        grid: resolved.grid,
        coordinates: resolved.coordinates,
    })
}

fn layout_of(l: LayoutArg) -> Layout {
    if l == LayoutArg::Grid {
        Layout::Grid
    } else {
        Layout::Aifs
    }
}

/// The engine's settings. Two stages, both in plan order: up to
/// --concurrency fields' messages being read (compressed, ~1 MB each:
/// enough requests in flight to hide object-store latency), and one decode
/// per core plus one (decoded fields are 4 MB each). Memory is bounded by
/// both, not by the run.
fn engine_options(args: &Args, planned: &Planned, rt: &tokio::runtime::Runtime) -> Result<Options> {
    // The operator is built once (under a second for N320) and shared by every decode.
    let regrid = match planned.grid {
        GridArg::Gaussian(g) => {
            let op = rt
                .block_on(async {
                    tokio::task::spawn_blocking(move || {
                        Operator::build_grid(g, SourceLayout::OpenData)
                    })
                    .await
                })
                .map_err(|e| CliError::Task(format!("building the {g} operator: {e}")))?
                .map_err(|e| CliError::Usage(e.to_string()))?;
            let op = match &planned.coordinates {
                // (checked against the grid when the model was resolved)
                Some((lat, lon)) => op
                    .with_coordinates(lat.clone(), lon.clone())
                    .map_err(|e| CliError::Usage(e.to_string()))?,
                None => op,
            };
            Some(Arc::new(op))
        }
        GridArg::Source => None,
    };
    Ok(Options {
        dtype: dtype_of(args.dtype),
        regrid,
        layout: layout_of(planned.layout),
        concurrency: args.concurrency.max(1),
        decoders: std::thread::available_parallelism().map_or(2, usize::from) + 1,
        coalesce: args.coalesce_gap,
    })
}

/// Runs `gik extract`.
pub fn run(args: &Args) -> Result<()> {
    let t0 = Instant::now();
    if let Some(path) = &args.var {
        return run_var(args, path, t0);
    }
    // Decoding runs on the blocking pool. Capped at two threads per core it
    // still keeps every core busy (local reads are short preads there too),
    // while tokio's default of up to 512 threads let each idle thread's
    // allocator keep its own freed buffers: peak RSS was ~300 MB, not ~200.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let rt = crate::pipeline::runtime(None, Some(2 * cores))?;
    let planned = plan_states(args, &rt)?;
    let (plan, layout) = (&planned.plan, planned.layout);
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let bar = crate::pipeline::progress_bar(
        args.progress.quiet,
        0,
        crate::pipeline::Counts::Items("fields ·"),
    );
    let spec = WriteSpec {
        plan,
        dir: args.out.clone(),
        several_steps: layout == LayoutArg::Grid
            && args.steps.as_ref().is_some_and(|s| s.len() > 1),
        sync: args.sync,
        direct: !args.no_direct_io,
    };
    let options = engine_options(args, &planned, &rt)?;
    // a few decoded fields queue for the writer: memory stays bounded
    let (tx, rx) = mpsc::channel(2);
    let (engine, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_states(&spec, &options, rx));
        let engine = run_engine(args, &options, plan, |i| spec.path(i), tx, bar.clone());
        // on Ctrl-C or an error the engine, and with it the sender, is dropped
        // here; the writer then removes its temporary file before we exit
        let engine = rt.block_on(async {
            tokio::select! {
                r = engine => r,
                _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted),
            }
        });
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(CliError::Task("the writer thread failed".into())));
        (engine, written)
    });
    let (counts, written) = match (engine, written) {
        (Ok(c), Ok(w)) => (c, w),
        (Err(CliError::Interrupted), _) => return Err(CliError::Interrupted),
        (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
    };
    bar.finish_and_clear();
    if !args.progress.quiet {
        eprintln!(
            "gik: {} state(s) written ({} skipped as complete), {} fields, {:.1} MB read in {:.2} s → {}",
            written.len(),
            counts.skipped,
            counts.fields,
            counts.bytes_read as f64 / 1e6,
            t0.elapsed().as_secs_f64(),
            args.out.display()
        );
    }
    Ok(())
}
