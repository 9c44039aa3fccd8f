//! The extraction engine: a plan → coalesced reads → decode → states,
//! streamed field by field. The one copy every front end runs (`gik
//! extract`, the npm package); they supply the reader, where decoding runs
//! ([`Executor`]) and where states go ([`StateSink`]).
//!
//! ```text
//! Engine::states(reader, &plan, &todo, &options)   which fields, their reads coalesced
//! engine.fields(&executor)                         Stream<Decoded>, in plan order:
//!                                                    up to `concurrency` fields being read,
//!                                                    `decoders` being decoded
//! StatesWriter::push(decoded)                      streamed into the state's pickle (a sink's
//!                                                    `Write`); a state complete → sink.commit
//! ```
//!
//! [`run`] drives both on one task (the browser); `gik extract` pushes into
//! the [`StatesWriter`] on a writer thread of its own so that disk writes
//! overlap reading and decoding. Memory stays bounded by the two windows,
//! not by the size of a state.
//!
//! A field without parts (a chunk the references lack, in [`VarPlan`]) is
//! zarr's fill value: NaN.

use std::io::{self, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};

use crate::assemble::{self, AssembleError, StateAssembler};
use crate::io::{CoalescingReader, RangeReader};
use crate::npy::Dtype;
use crate::plan::{FieldPlan, Layout, Plan};
use crate::refs::{CoordValues, RefStore, RefsError, Variable};
use crate::regrid::Operator;
use crate::scan::{Executor, TaskError};

/// Largest gap between two parts of a remote object still read in one
/// request: a few hundred kB cost less than a round trip (~30–100 ms to
/// object stores). Local files coalesce only touching ranges.
pub const REMOTE_MAX_GAP: u64 = 1 << 20;
/// Largest coalesced read.
pub const MAX_COALESCED: u64 = 32 << 20;

/// Which neighbouring parts are read in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coalesce {
    /// [`REMOTE_MAX_GAP`] for remote objects (a location with a scheme
    /// other than `file://`), only touching ranges for local files.
    #[default]
    Auto,
    /// Nothing coalesces.
    Off,
    /// Parts at most this many bytes apart.
    Gap(u64),
}

impl Coalesce {
    fn max_gap(self, location: &str) -> u64 {
        match self {
            Self::Gap(n) => n,
            Self::Auto if location.contains("://") && !location.starts_with("file://") => {
                REMOTE_MAX_GAP
            }
            Self::Auto | Self::Off => 0,
        }
    }
}

/// How fields are read and decoded.
#[derive(Debug, Clone)]
pub struct Options {
    /// Element type of the arrays.
    pub dtype: Dtype,
    /// Regrid every field to a reduced Gaussian grid (MIR "linear") with
    /// this operator; the states' `latitudes`/`longitudes` are its target points.
    pub regrid: Option<Arc<Operator>>,
    /// Layout of the states (the shape of each field).
    pub layout: Layout,
    /// Fields being read at once (and the window within which reads coalesce).
    pub concurrency: usize,
    /// Fields being decoded at once.
    pub decoders: usize,
    /// Which neighbouring parts are read in one request.
    pub coalesce: Coalesce,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dtype: Dtype::F32,
            regrid: None,
            layout: Layout::Grid,
            concurrency: 16,
            decoders: 1,
            coalesce: Coalesce::Auto,
        }
    }
}

/// Why a field could not be extracted. `E` is the reader's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError<E: std::error::Error + 'static> {
    /// Reading one of the field's messages failed.
    #[error("member {member}, field {field}: {source}")]
    Read {
        member: i64,
        field: String,
        #[source]
        source: E,
    },
    /// A message could not be decoded into the field's array.
    #[error("member {member}, field {field}: {source}")]
    Decode {
        member: i64,
        field: String,
        #[source]
        source: AssembleError,
    },
    /// The decoding task did not finish.
    #[error(transparent)]
    Task(TaskError),
}

/// One decoded field, the bytes of its array in the state.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Index of its state in the plan.
    pub state: usize,
    /// Index of the field in its state.
    pub field: usize,
    /// The array, little-endian in the options' dtype.
    pub bytes: Vec<u8>,
    /// Compressed bytes read for it.
    pub read: u64,
}

/// One field to extract.
#[derive(Debug, Clone)]
struct Job<'a> {
    state: usize,
    field: usize,
    member: i64,
    plan: &'a FieldPlan,
}

/// The fields of a run with their reads planned (see the module docs).
#[derive(Debug)]
pub struct Engine<'a, R> {
    reader: CoalescingReader<R>,
    jobs: Vec<Job<'a>>,
    options: &'a Options,
}

impl<'a, R: RangeReader> Engine<'a, R> {
    /// Every field of the states `todo` (indexes into `plan.states`, in
    /// the order they are to be written).
    pub fn states(reader: R, plan: &'a Plan, todo: &[usize], options: &'a Options) -> Self {
        let jobs = todo
            .iter()
            .filter_map(|&si| plan.states.get(si).map(|s| (si, s)))
            .flat_map(|(si, s)| {
                s.fields.iter().enumerate().map(move |(fi, f)| Job {
                    state: si,
                    field: fi,
                    member: s.member,
                    plan: f,
                })
            })
            .collect();
        Self::new(reader, jobs, options)
    }

    /// Every chunk of a [`VarPlan`], as fields of state 0.
    pub fn var(reader: R, var: &'a VarPlan, options: &'a Options) -> Self {
        let jobs = var
            .fields
            .iter()
            .enumerate()
            .map(|(fi, f)| Job {
                state: 0,
                field: fi,
                member: 0,
                plan: f,
            })
            .collect();
        Self::new(reader, jobs, options)
    }

    fn new(reader: R, jobs: Vec<Job<'a>>, options: &'a Options) -> Self {
        let window = options.concurrency.max(1);
        let coalesce = options.coalesce;
        let reader = CoalescingReader::new(
            reader,
            jobs.iter().map(|j| j.plan.parts.as_slice()),
            window,
            |url| coalesce.max_gap(url),
            // (no part is longer than 0 bytes: nothing coalesces)
            if coalesce == Coalesce::Off {
                0
            } else {
                MAX_COALESCED
            },
        );
        Self {
            reader,
            jobs,
            options,
        }
    }

    /// Number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether there is no field to extract.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The decoded fields, in plan order.
    pub fn fields<'s, X: Executor>(
        &'s self,
        executor: &'s X,
    ) -> impl Stream<Item = Result<Decoded, ExtractError<R::Error>>> + 's {
        let reader = &self.reader;
        stream::iter(
            self.jobs
                .iter()
                .enumerate()
                .map(move |(seq, job)| async move {
                    let reads = futures::future::join_all(
                        job.plan
                            .parts
                            .iter()
                            .enumerate()
                            .map(|(i, p)| reader.read_part(seq, i, p)),
                    )
                    .await;
                    let mut parts = Vec::with_capacity(reads.len());
                    for r in reads {
                        parts.push(r.map_err(|source| ExtractError::Read {
                            member: job.member,
                            field: job.plan.name.clone(),
                            source,
                        })?);
                    }
                    Ok((job, parts))
                }),
        )
        .buffered(self.options.concurrency.max(1))
        .map(move |fetched| async move {
            let (job, parts) = fetched?;
            decode(job, parts, self.options, executor).await
        })
        .buffered(self.options.decoders.max(1))
    }
}

/// Decodes the fetched messages of one field with `executor`.
async fn decode<E: std::error::Error + 'static, X: Executor>(
    job: &Job<'_>,
    parts: Vec<Bytes>,
    options: &Options,
    executor: &X,
) -> Result<Decoded, ExtractError<E>> {
    let read: u64 = parts.iter().map(|b| b.len() as u64).sum();
    let field = job.plan.clone();
    let (dtype, regrid) = (options.dtype, options.regrid.clone());
    let bytes = executor
        .run(move || {
            if field.parts.is_empty() {
                // no reference: zarr's fill value
                let n = field.grid.0 * field.grid.1;
                return Ok(match dtype {
                    Dtype::F32 => f32::NAN.to_le_bytes().repeat(n),
                    Dtype::F64 => f64::NAN.to_le_bytes().repeat(n),
                });
            }
            let mut out = Vec::new();
            for (b, p) in parts.iter().zip(&field.parts) {
                assemble::decode_part_with(b, p, &field, dtype, regrid.as_deref(), &mut out)?;
            }
            Ok(out)
        })
        .await
        .map_err(ExtractError::Task)?
        .map_err(|source| ExtractError::Decode {
            member: job.member,
            field: job.plan.name.clone(),
            source,
        })?;
    Ok(Decoded {
        state: job.state,
        field: job.field,
        bytes,
        read,
    })
}

/// Where states go: one `Write` per state, committed when it is complete.
/// An output dropped without [`StateSink::commit`] is a state that failed
/// or was interrupted (an atomic file removes itself).
pub trait StateSink {
    /// One state's output.
    type Out: Write;
    /// What can go wrong opening or committing an output.
    type Error;
    /// Opens the output of state `state` (an index into the plan's states).
    ///
    /// # Errors
    /// The sink's own.
    fn create(&mut self, state: usize) -> Result<Self::Out, Self::Error>;
    /// Takes the complete output of state `state`.
    ///
    /// # Errors
    /// The sink's own.
    fn commit(&mut self, state: usize, out: Self::Out) -> Result<(), Self::Error>;
}

/// Whole states in memory, in the order they are complete.
impl StateSink for Vec<Vec<u8>> {
    type Out = Vec<u8>;
    type Error = std::convert::Infallible;
    fn create(&mut self, _state: usize) -> Result<Vec<u8>, Self::Error> {
        Ok(Vec::new())
    }
    fn commit(&mut self, _state: usize, out: Vec<u8>) -> Result<(), Self::Error> {
        self.push(out);
        Ok(())
    }
}

/// Why a state could not be written. `E` is the sink's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError<E> {
    /// The sink failed opening or committing state `state`.
    #[error("state {state}: {source}")]
    Sink { state: usize, source: E },
    /// Writing into state `state`'s output failed.
    #[error("state {state}: {source}")]
    Write {
        state: usize,
        #[source]
        source: io::Error,
    },
}

/// Streams decoded fields into the pickles of their states, in plan order:
/// `{"date": …, "fields": {name: array}}` (with `latitudes`/`longitudes` when
/// regridded to N320), the bytes `gik extract` writes.
#[derive(Debug)]
pub struct StatesWriter<'a, S: StateSink> {
    sink: S,
    plan: &'a Plan,
    layout: Layout,
    dtype: Dtype,
    regrid: Option<Arc<Operator>>,
    current: Option<(usize, StateAssembler<S::Out>)>,
    written: Vec<usize>,
}

impl<'a, S: StateSink> StatesWriter<'a, S> {
    /// A writer of `plan`'s states into `sink`, as `options` shape them.
    pub fn new(sink: S, plan: &'a Plan, options: &Options) -> Self {
        Self {
            sink,
            plan,
            layout: options.layout,
            dtype: options.dtype,
            regrid: options.regrid.clone(),
            current: None,
            written: Vec::new(),
        }
    }

    fn finish_current(&mut self) -> Result<(), WriteError<S::Error>> {
        if let Some((state, asm)) = self.current.take() {
            let out = asm.finish().map_err(|e| write_error(state, e))?;
            self.sink
                .commit(state, out)
                .map_err(|source| WriteError::Sink { state, source })?;
            self.written.push(state);
        }
        Ok(())
    }

    /// Writes one decoded field; a field of the next state completes the
    /// one before.
    ///
    /// # Errors
    /// The sink's, or a failed write.
    pub fn push(&mut self, d: &Decoded) -> Result<(), WriteError<S::Error>> {
        let state = d.state;
        let Some(plan) = self.plan.states.get(state) else {
            return Ok(());
        };
        if self.current.as_ref().map(|c| c.0) != Some(state) {
            self.finish_current()?;
            let out = self
                .sink
                .create(state)
                .map_err(|source| WriteError::Sink { state, source })?;
            let asm = if let Some(op) = &self.regrid {
                StateAssembler::new_regridded(out, plan, self.layout, self.dtype, op.clone())
            } else {
                StateAssembler::new(out, plan, self.layout, self.dtype)
            }
            .map_err(|e| write_error(state, e))?;
            self.current = Some((state, asm));
        }
        if let (Some((_, asm)), Some(field)) = (&mut self.current, plan.fields.get(d.field)) {
            asm.push(field, &d.bytes)
                .map_err(|e| write_error(state, e))?;
        }
        Ok(())
    }

    /// Completes the last state; returns the sink and the states written, in order.
    ///
    /// # Errors
    /// As [`StatesWriter::push`].
    pub fn finish(mut self) -> Result<(S, Vec<usize>), WriteError<S::Error>> {
        self.finish_current()?;
        let written = std::mem::take(&mut self.written);
        let Self { sink, current, .. } = self;
        drop(current);
        Ok((sink, written))
    }
}

fn write_error<E>(state: usize, e: AssembleError) -> WriteError<E> {
    match e {
        AssembleError::Io(source) => WriteError::Write { state, source },
        other => WriteError::Write {
            state,
            source: io::Error::other(other),
        },
    }
}

/// Why [`run`] stopped. `E` is the reader's error, `S` the sink's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError<E: std::error::Error + 'static, S> {
    /// A field could not be extracted.
    #[error(transparent)]
    Extract(ExtractError<E>),
    /// A state could not be written.
    #[error(transparent)]
    Write(WriteError<S>),
}

/// Extracts the states `todo` of `plan` into `sink` on the calling task:
/// fields read and decoded as [`Engine::fields`] does, each pushed into its
/// state as it arrives; `progress` hears of each field written (done so
/// far, in all, the field). Returns the sink and the states written.
///
/// # Errors
/// The first field that fails, or the sink's error.
pub async fn run<R: RangeReader, X: Executor, S: StateSink>(
    reader: R,
    plan: &Plan,
    todo: &[usize],
    options: &Options,
    executor: &X,
    sink: S,
    mut progress: impl FnMut(usize, usize, &FieldPlan),
) -> Result<(S, Vec<usize>), RunError<R::Error, S::Error>> {
    let engine = Engine::states(reader, plan, todo, options);
    let total = engine.len();
    let mut writer = StatesWriter::new(sink, plan, options);
    let mut fields = std::pin::pin!(engine.fields(executor));
    let mut done = 0;
    while let Some(d) = fields.next().await {
        let d = d.map_err(RunError::Extract)?;
        writer.push(&d).map_err(RunError::Write)?;
        done += 1;
        if let Some(f) = plan.states.get(d.state).and_then(|s| s.fields.get(d.field)) {
            progress(done, total, f);
        }
    }
    writer.finish().map_err(RunError::Write)
}

/// One variable as one n-d array (`gik extract --var`): its chunks, one
/// GRIB field each, in C order, as fields of one state.
#[derive(Debug, Clone, PartialEq)]
pub struct VarPlan {
    /// The variable's name (`t2m`).
    pub name: String,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// One per chunk, in C order; without parts where the references have
    /// no chunk (NaN).
    pub fields: Vec<FieldPlan>,
    /// The first reference time, seconds since 1970 (the pickle's `date`).
    pub date: i64,
    /// The variable's coordinates (`time`, `step`, `latitude`, …) as f64.
    pub coords: Vec<(String, Vec<f64>)>,
}

/// Why a variable cannot be extracted as one array.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VarError {
    /// The references could not be read.
    #[error(transparent)]
    Refs(#[from] RefsError),
    /// Not one GRIB field per chunk.
    #[error("{path}: expected one GRIB field per chunk (chunks {chunks:?}, shape {shape:?})")]
    Chunking {
        path: String,
        chunks: Vec<u64>,
        shape: Vec<u64>,
    },
}

/// Plans the extraction of the variable at `path` as one array.
///
/// # Errors
/// An unknown variable, malformed references, or chunks that are not one
/// field each.
pub fn plan_var(store: &RefStore, path: &str) -> Result<VarPlan, VarError> {
    let var = store.variable(path)?;
    let meta = store.array_meta(path)?;
    let n = var.shape.len();
    if n < 2 || var.chunks[n - 2..] != var.shape[n - 2..] {
        return Err(VarError::Chunking {
            path: path.to_string(),
            chunks: var.chunks.clone(),
            shape: var.shape.clone(),
        });
    }
    let grid = (var.shape[n - 2] as usize, var.shape[n - 1] as usize);
    let mut fields = Vec::new();
    for idx in all_indices(&meta.chunk_grid()[..n - 2]) {
        let key = [idx, vec![0, 0]].concat();
        let part = store.chunk(path, &key)?.cloned();
        fields.push(FieldPlan {
            name: var.name.clone(),
            parts: part.into_iter().collect(),
            grid,
            scale: None,
            source: path.to_string(),
        });
    }
    let times = store.axes(&var).map(|a| a.time).unwrap_or_default();
    Ok(VarPlan {
        name: var.name.clone(),
        shape: var.shape.iter().map(|&s| s as usize).collect(),
        fields,
        date: times.first().copied().unwrap_or(0),
        coords: coords(store, &var),
    })
}

fn all_indices(grid: &[u64]) -> Vec<Vec<u64>> {
    let mut out = vec![Vec::new()];
    for &n in grid {
        out = out
            .into_iter()
            .flat_map(|p| (0..n).map(move |i| [p.clone(), vec![i]].concat()))
            .collect();
    }
    out
}

fn coords(store: &RefStore, var: &Variable) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    for name in &var.coords {
        if let Ok(c) = store.coordinate(&var.group, name) {
            let v = match c.filled() {
                CoordValues::Int(v) => v.into_iter().map(|x| x.unwrap_or(0) as f64).collect(),
                CoordValues::Float(v) => v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
            };
            out.push((name.clone(), v));
        }
    }
    out
}
