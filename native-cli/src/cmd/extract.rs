//! `gik extract --refs <references> --out DIR`: references → concurrent range
//! reads → decode → one AIFS input-state pickle per ensemble member, streamed.
//!
//! The engine: plan (selection → chunks) → reads with bounded concurrency
//! (object_store, retries with backoff) → decode on the blocking pool (every
//! core busy) → write in order, field by field, into a temporary file that
//! is renamed into place when the member is complete. Peak memory is bounded
//! by `--concurrency`, not by the size of a member.

use crate::output::AtomicFile;
use crate::store::{Sources, Stores};
use crate::{CliError, Result};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use gik_core::assemble;
use gik_core::io::CoalescingReader;
use gik_core::npy::Dtype;
use gik_core::pickle::{write_f64s, StateWriter};
use gik_core::plan::{self, FieldPlan, Layout, Selection};
use gik_core::refs::RefValue;
use gik_core::regrid::{n320_latitudes, n320_longitudes, N320Operator, N320_POINTS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    /// Output grid: the source grid, or N320 as the AIFS models read it (with `latitudes`/`longitudes`
    /// in the state) [default: 0.25; the checkpoint's grid with a checkpoint].
    #[arg(long, value_enum)]
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
    pub coalesce_gap: Gap,
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
    /// Write through the page cache instead of direct I/O (direct I/O is the
    /// default for states: faster on local disks, and it leaves the cache to
    /// the GRIB input; file systems without it fall back automatically).
    #[arg(long)]
    pub no_direct_io: bool,
    /// Skip members whose output file already exists (outputs are only ever complete).
    #[arg(long)]
    pub resume: bool,
    /// No progress bar or summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The bytes of one reference, through the shared [`gik_core::io::RangeReader`] seam.
pub(crate) async fn fetch(sources: &Sources, part: &RefValue) -> Result<Bytes> {
    gik_core::io::read_part(sources, part)
        .await
        .map_err(CliError::store)
}

struct Decoded {
    state: usize,
    field: usize,
    bytes: Vec<u8>,
    read: u64,
}

/// `--coalesce-gap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    Auto,
    Off,
    Bytes(u64),
}

fn parse_gap(s: &str) -> std::result::Result<Gap, String> {
    match s {
        "auto" => Ok(Gap::Auto),
        "off" => Ok(Gap::Off),
        n => n
            .parse()
            .map(Gap::Bytes)
            .map_err(|_| format!("`{n}`: expected auto, off or a number of bytes")),
    }
}

/// The reader of a run: neighbouring parts of up to `--concurrency`
/// consecutive fields are read at once.
type Reader = CoalescingReader<Sources>;

/// Largest gap between two parts of a remote object still read in one
/// request: a few hundred kB cost less than a round trip (~30–100 ms to
/// object stores). Local files coalesce only touching ranges.
const REMOTE_MAX_GAP: u64 = 1 << 20;
/// Largest coalesced read.
const MAX_COALESCED: u64 = 32 << 20;

/// The fetched messages of one field, not yet decoded.
struct Fetched {
    state: usize,
    field_idx: usize,
    field: FieldPlan,
    member: i64,
    parts: Vec<Bytes>,
}

fn field_error(member: i64, field: &FieldPlan, source: CliError) -> CliError {
    CliError::Field {
        member,
        field: field.name.clone(),
        source: Box::new(source),
    }
}

/// Reads the messages of field number `seq` (its parts concurrently).
async fn fetch_field(
    reader: Arc<Reader>,
    seq: usize,
    state: usize,
    field_idx: usize,
    field: FieldPlan,
    member: i64,
) -> Result<Fetched> {
    let reads = futures::future::join_all(
        field
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| reader.read_part(seq, i, p)),
    )
    .await;
    let mut parts = Vec::with_capacity(reads.len());
    for r in reads {
        parts.push(r.map_err(|e| field_error(member, &field, CliError::store(e)))?);
    }
    Ok(Fetched {
        state,
        field_idx,
        field,
        member,
        parts,
    })
}

/// Decodes a fetched field on the blocking pool.
async fn decode_field(
    f: Fetched,
    dtype: DtypeArg,
    regrid: Option<Arc<N320Operator>>,
) -> Result<Decoded> {
    let read: u64 = f.parts.iter().map(|b| b.len() as u64).sum();
    let Fetched {
        state,
        field_idx,
        field,
        member,
        parts,
    } = f;
    let dt = if dtype == DtypeArg::Float32 {
        Dtype::F32
    } else {
        Dtype::F64
    };
    let decoded = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for (b, p) in parts.iter().zip(&field.parts) {
            if let Err(e) =
                assemble::decode_part_with(b, p, &field, dt, regrid.as_deref(), &mut out)
            {
                return Err(field_error(member, &field, CliError::assemble(e)));
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| CliError::Io {
        path: "decode task".into(),
        source: std::io::Error::other(e),
    })??;
    Ok(Decoded {
        state,
        field: field_idx,
        bytes: decoded,
        read,
    })
}

/// A decoded field for the writer, or the end of the run.
enum Msg {
    Field(Decoded),
    Done,
}

/// What the writer needs to name, shape and store the states.
struct WriteSpec<'a> {
    plan: &'a plan::Plan,
    dir: PathBuf,
    several_steps: bool,
    layout: LayoutArg,
    regridded: bool,
    dtype: Dtype,
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

/// The writer thread: streams each decoded field into its member's pickle,
/// in plan order, and renames each complete state into place. Disk writes
/// (direct I/O, whole 8 MiB blocks) overlap with reading and decoding.
/// If the channel closes without [`Msg::Done`] (the run failed or was
/// interrupted), the open state's temporary file is removed on drop.
fn write_states(spec: &WriteSpec<'_>, mut rx: mpsc::Receiver<Msg>) -> Result<Vec<PathBuf>> {
    let coords = spec
        .regridded
        .then(|| (n320_latitudes(), n320_longitudes()));
    let finish = |w: StateWriter<AtomicFile>, path: &std::path::Path| -> Result<()> {
        let mut w = w;
        if let Some((lats, lons)) = &coords {
            for (name, v) in [("latitudes", lats), ("longitudes", lons)] {
                w.top_level_array(name, Dtype::F64, &[v.len()], |out| write_f64s(out, v))
                    .map_err(CliError::io(path))?;
            }
        }
        w.finish()
            .map_err(CliError::io(path))?
            .commit_with(spec.sync)
    };
    let mut current: Option<(usize, PathBuf, StateWriter<AtomicFile>)> = None;
    let mut written = Vec::new();
    while let Some(msg) = rx.blocking_recv() {
        let d = match msg {
            Msg::Field(d) => d,
            Msg::Done => {
                if let Some((_, path, w)) = current.take() {
                    finish(w, &path)?;
                    written.push(path);
                }
                return Ok(written);
            }
        };
        if current.as_ref().map(|c| c.0) != Some(d.state) {
            if let Some((_, path, w)) = current.take() {
                finish(w, &path)?;
                written.push(path);
            }
            let path = spec.path(d.state);
            let file = if spec.direct {
                AtomicFile::create_direct(&path)?
            } else {
                AtomicFile::create(&path)?
            };
            let date = assemble::date_of(spec.plan.states[d.state].date);
            let w = StateWriter::new(file, date).map_err(CliError::io(&path))?;
            current = Some((d.state, path, w));
        }
        let field = &spec.plan.states[d.state].fields[d.field];
        let points = if spec.regridded {
            N320_POINTS
        } else {
            field.grid.0 * field.grid.1
        };
        let shape: Vec<usize> = match (spec.layout, spec.regridded) {
            (LayoutArg::Grid, false) => vec![field.grid.0, field.grid.1],
            (LayoutArg::Grid, true) => vec![points],
            (LayoutArg::Aifs, _) => vec![field.parts.len(), points],
        };
        if let Some((_, path, w)) = &mut current {
            w.field(&field.name, spec.dtype, &shape, |out| {
                out.write_all(&d.bytes)
            })
            .map_err(CliError::io(&*path))?;
        }
    }
    // the engine stopped early: `current` is dropped, its temporary file removed
    Ok(written)
}

struct Counts {
    skipped: usize,
    fields: usize,
    bytes_read: u64,
}

/// Reads and decodes every field of the states not yet complete, with
/// bounded concurrency, and hands them in plan order to the writer.
async fn run_engine(
    args: &Args,
    grid: GridArg,
    plan: &plan::Plan,
    spec_path: impl Fn(usize) -> PathBuf,
    tx: mpsc::Sender<Msg>,
    bar: ProgressBar,
) -> Result<Counts> {
    let dtype = args.dtype;
    let mut skipped = 0;
    let mut todo = Vec::new();
    for i in 0..plan.states.len() {
        if args.resume && spec_path(i).is_file() {
            skipped += 1;
        } else {
            todo.push(i);
        }
    }
    let total: usize = todo.iter().map(|&i| plan.states[i].fields.len()).sum();
    bar.set_length(total as u64);
    let jobs: Vec<(usize, usize)> = todo
        .iter()
        .flat_map(|&si| (0..plan.states[si].fields.len()).map(move |fi| (si, fi)))
        .collect();
    let field = |&(si, fi): &(usize, usize)| &plan.states[si].fields[fi];
    let reader = Arc::new(CoalescingReader::new(
        Sources::default(),
        jobs.iter().map(|j| field(j).parts.as_slice()),
        args.concurrency.max(1),
        |url| match args.coalesce_gap {
            Gap::Bytes(n) => n,
            Gap::Auto if crate::store::is_url(url) && !url.starts_with("file://") => REMOTE_MAX_GAP,
            Gap::Auto | Gap::Off => 0,
        },
        // (no part is longer than 0 bytes: nothing coalesces)
        if args.coalesce_gap == Gap::Off {
            0
        } else {
            MAX_COALESCED
        },
    ));
    // The N320 operator is built once (under a second) and shared by every decode.
    let regrid = match grid {
        GridArg::N320 => Some(Arc::new(
            tokio::task::spawn_blocking(N320Operator::build)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?,
        )),
        GridArg::Source => None,
    };
    // Two stages, both in plan order: up to --concurrency fields' messages
    // being read (compressed, ~1 MB each: enough requests in flight to hide
    // object-store latency), and one decode per core plus one (decoded
    // fields are 4 MB each). Memory is bounded by both, not by the run.
    let decoders = std::thread::available_parallelism().map_or(2, usize::from) + 1;
    let mut results = stream::iter(jobs.iter().enumerate().map(|(seq, j @ &(si, fi))| {
        let member = plan.states[si].member;
        fetch_field(reader.clone(), seq, si, fi, field(j).clone(), member)
    }))
    .buffered(args.concurrency.max(1))
    .map(|fetched| {
        let regrid = regrid.clone();
        async move { decode_field(fetched?, dtype, regrid).await }
    })
    .buffered(decoders);
    let mut bytes_read = 0u64;
    let t0 = Instant::now();
    let mut done_fields = 0usize;
    while let Some(d) = results.next().await {
        let d = d?;
        let member = plan.states[d.state].member;
        // states are written in plan order: this one is the k-th of the run
        let k = todo.partition_point(|&si| si < d.state) + 1;
        bytes_read += d.read;
        if tx.send(Msg::Field(d)).await.is_err() {
            // the writer stopped on an error, which it reports
            return Err(CliError::Usage("the writer stopped".into()));
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
        return Err(CliError::Usage("the writer stopped".into()));
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
        });
    };
    if args.layout == Some(LayoutArg::Grid) {
        return Err(CliError::Usage(format!(
            "{}: states for a model are --layout aifs (its input times stacked)",
            m.location
        )));
    }
    // An explicit --grid wins (said on stderr); else the model's own grid.
    let grid = match args.grid {
        Some(g) => {
            let on_models_grid = g == GridArg::N320 && m.target_grid().is_ok();
            if !on_models_grid && !args.quiet {
                eprintln!(
                    "gik: the model {} declares grid {}; states are on {} as --grid asks",
                    m.location,
                    m.spec.grid.as_deref().unwrap_or("(none)"),
                    if g == GridArg::N320 { "N320" } else { "the references' grid" }
                );
            }
            g
        }
        None => match m.target_grid().map_err(|e| {
            CliError::Usage(format!(
                "{e}. Pass --grid 0.25 to keep the references' grid anyway (the model will not read such states as they are)"
            ))
        })? {
            gik_core::checkpoint::TargetGrid::N320 => GridArg::N320,
            _ => {
                return Err(CliError::Usage(format!(
                    "{}: gik cannot produce the model's grid",
                    m.location
                )))
            }
        },
    };
    Ok(Resolved {
        inputs: plan::model_inputs(&m.spec),
        times: m.spec.input_times(source),
        layout: LayoutArg::Aifs,
        grid,
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
    // Decoding runs on the blocking pool. Capped at two threads per core it
    // still keeps every core busy (local reads are short preads there too),
    // while tokio's default of up to 512 threads let each idle thread's
    // allocator keep its own freed buffers: peak RSS was ~300 MB, not ~200.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(2 * cores)
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    let model = match (&args.checkpoint, &args.checkpoint_metadata) {
        (Some(c), _) => Some(rt.block_on(crate::model::from_checkpoint(&Sources::default(), c))?),
        (None, Some(m)) => Some(crate::model::from_metadata_file(m)?),
        (None, None) => None,
    };
    let resolved = resolve_model(args, model.as_ref())?;
    let (inputs, times, layout, grid) = (
        resolved.inputs,
        resolved.times,
        resolved.layout,
        resolved.grid,
    );
    let stores = Stores::default();
    let store = rt.block_on(crate::refs_in::load(&stores, &args.refs))?;
    let sel = Selection {
        members,
        date,
        steps: args.steps.clone(),
        layout: if layout == LayoutArg::Grid {
            Layout::Grid
        } else {
            Layout::Aifs
        },
        allow_missing: args.allow_missing,
    };
    let plan = plan::plan_with(&store, &inputs, &sel, &times).map_err(|e| match (e, &model) {
        (plan::PlanError::Missing(missing), Some(m)) => CliError::ModelInputs {
            checkpoint: m.location.clone(),
            missing,
        },
        (e, _) => CliError::plan(e),
    })?;
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
    let spec = WriteSpec {
        plan: &plan,
        dir: args.out.clone(),
        several_steps: layout == LayoutArg::Grid
            && args.steps.as_ref().is_some_and(|s| s.len() > 1),
        layout,
        regridded: grid == GridArg::N320,
        dtype: if args.dtype == DtypeArg::Float32 {
            Dtype::F32
        } else {
            Dtype::F64
        },
        sync: args.sync,
        direct: !args.no_direct_io,
    };
    // a few decoded fields queue for the writer: memory stays bounded
    let (tx, rx) = mpsc::channel(2);
    let (engine, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_states(&spec, rx));
        let engine = run_engine(args, grid, &plan, |i| spec.path(i), tx, bar.clone());
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
            .unwrap_or_else(|_| Err(CliError::Usage("the writer thread failed".into())));
        (engine, written)
    });
    let (counts, written) = match (engine, written) {
        (Ok(c), Ok(w)) => (c, w),
        (Err(CliError::Interrupted), _) => return Err(CliError::Interrupted),
        (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
    };
    bar.finish_and_clear();
    if !args.quiet {
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
