//! `gik.extract_state`: one member's AIFS input state as arrays, through the
//! core's plan and extraction engine (the ones `gik extract` runs), without
//! writing a pickle.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use gik_core::assemble;
use gik_core::checkpoint::{self, Model};
use gik_core::extract::{Coalesce, Engine, Options};
use gik_core::plan::{self, InputSource, InputTimes, Layout, Selection};
use gik_core::regrid::{Operator, ReducedGaussian, SourceLayout};
use gik_store::Blocking;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::decode::Dtype;
use crate::error::{Error, Kind, Result};
use crate::refs::{datetime, References};
use crate::runtime::block_on;

/// The N320 operator, built once per process (about a second) and shared.
static N320: OnceLock<Arc<Operator>> = OnceLock::new();

/// A decoded field's array, little-endian bytes turned into numbers.
enum Array {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Array {
    fn from_le(bytes: &[u8], dtype: Dtype) -> Self {
        match dtype {
            Dtype::F32 => Self::F32(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
                    .collect(),
            ),
            Dtype::F64 => Self::F64(
                bytes
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                    .collect(),
            ),
        }
    }
}

/// The state's `date` and its fields in plan order: `(name, shape, array)`.
struct State {
    date: i64,
    fields: Vec<(String, Vec<usize>, Array)>,
    /// The target points' latitudes and longitudes, when regridded.
    coordinates: Option<(Vec<f64>, Vec<f64>)>,
}

/// What `extract_state` was asked for, checked.
struct Request {
    inputs: Vec<plan::Input>,
    selection: Selection,
    times: InputTimes,
    /// The grid to regrid to.
    grid: Option<ReducedGaussian>,
    /// The model's own coordinates for the grid's points, when it has them.
    coordinates: Option<(Vec<f64>, Vec<f64>)>,
    dtype: Dtype,
}

/// The operator to `grid`: N320's built once per process, others per call.
async fn operator(grid: ReducedGaussian) -> Result<Arc<Operator>> {
    if grid == ReducedGaussian::N320 {
        if let Some(op) = N320.get() {
            return Ok(op.clone());
        }
    }
    let built =
        tokio::task::spawn_blocking(move || Operator::build_grid(grid, SourceLayout::OpenData))
            .await
            .map_err(|e| Error::new(Kind::Other, e.to_string()))?
            .map_err(|e| Error::new(Kind::Selection, e.to_string()))?;
    if grid == ReducedGaussian::N320 {
        return Ok(N320.get_or_init(|| Arc::new(built)).clone());
    }
    Ok(Arc::new(built))
}

/// The model a checkpoint (`.ckpt`, local or remote, read by range) or its
/// metadata JSON (`.json`, local) declares.
async fn load_model(reader: &gik_store::Sources, location: &str) -> Result<Model> {
    let model_error = |e: String| Error::new(Kind::Selection, format!("{location}: {e}"));
    if location.to_ascii_lowercase().ends_with(".json") {
        let bytes = std::fs::read(location).map_err(|e| {
            Error::new(
                if e.kind() == std::io::ErrorKind::NotFound {
                    Kind::NotFound
                } else {
                    Kind::Read
                },
                format!("{location}: {e}"),
            )
        })?;
        return Model::from_json(&bytes).map_err(|e| model_error(e.to_string()));
    }
    checkpoint::read_model(reader, location)
        .await
        .map_err(|e| match e {
            checkpoint::ReadError::Read { source, .. } => Error::from(source),
            other => Error::new(Kind::Selection, other.to_string()),
        })
}

async fn extract(refs: &References, req: Request) -> Result<State> {
    let plan = plan::plan_with(&refs.store, &req.inputs, &req.selection, &req.times)?;
    let state = match plan.states.as_slice() {
        [one] => one,
        many => {
            let steps: Vec<String> = many.iter().map(|s| s.step.to_string()).collect();
            return Err(Error::new(
                Kind::Selection,
                format!(
                    "{}: the selection gives {} states (steps {}); ask for one step",
                    refs.origin,
                    many.len(),
                    steps.join(", ")
                ),
            ));
        }
    };
    let regrid = match req.grid {
        Some(grid) => {
            let op = operator(grid).await?;
            Some(match req.coordinates {
                Some((lat, lon)) => Arc::new(
                    op.with_coordinates(lat, lon)
                        .map_err(|e| Error::new(Kind::Selection, e.to_string()))?,
                ),
                None => op,
            })
        }
        None => None,
    };
    let options = Options {
        dtype: req.dtype.core(),
        regrid: regrid.clone(),
        layout: req.selection.layout,
        concurrency: 16,
        decoders: std::thread::available_parallelism().map_or(2, usize::from) + 1,
        coalesce: Coalesce::Auto,
    };
    let points = regrid.as_ref().map(|op| op.target_len());
    let engine = Engine::states(&*refs.reader, &plan, &[0], &options);
    let mut decoded = std::pin::pin!(engine.fields(&Blocking));
    let mut fields = Vec::with_capacity(state.fields.len());
    while let Some(d) = decoded.next().await {
        let d = d?;
        let Some(f) = state.fields.get(d.field) else {
            continue;
        };
        let shape = assemble::state_field_shape(f, options.layout, points);
        fields.push((f.name.clone(), shape, Array::from_le(&d.bytes, req.dtype)));
    }
    Ok(State {
        date: state.date,
        fields,
        coordinates: regrid.map(|op| (op.latitudes(), op.longitudes())),
    })
}

/// One member's AIFS input state, `{"date": datetime, "fields": {name:
/// array}}` (plus `latitudes`/`longitudes` on a reduced Gaussian grid): the
/// arrays `gik extract` writes into that member's pickle. With `checkpoint`
/// (a `.ckpt` path or url, or its metadata `.json`), the state holds that
/// model's inputs and input times on its grid (`layout` aifs).
#[pyfunction]
#[pyo3(signature = (refs, member, params = None, layout = None, grid = None, date = None, dtype = "float32", steps = None, inputs = "forecast", allow_missing = false, checkpoint = None))]
#[allow(clippy::too_many_arguments)]
pub fn extract_state<'py>(
    py: Python<'py>,
    refs: &References,
    member: i64,
    params: Option<&str>,
    layout: Option<&str>,
    grid: Option<&str>,
    date: Option<&str>,
    dtype: &str,
    steps: Option<Vec<i64>>,
    inputs: &str,
    allow_missing: bool,
    checkpoint: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let bad = |what: &str, v: &str, allowed: &str| {
        Error::new(Kind::Selection, format!("{what} `{v}`: expected {allowed}"))
    };
    let layout = match (layout, checkpoint) {
        (None, None) | (Some("grid"), None) => Layout::Grid,
        (None, Some(_)) | (Some("aifs"), _) => Layout::Aifs,
        (Some("grid"), Some(c)) => {
            return Err(PyErr::from(Error::new(
                Kind::Selection,
                format!("{c}: states for a model are layout aifs (its input times stacked)"),
            )))
        }
        (Some(l), _) => return Err(PyErr::from(bad("layout", l, "grid or aifs"))),
    };
    let grid = match grid {
        None => None,
        Some("0.25" | "source") => Some(None),
        Some(g) => Some(Some(ReducedGaussian::parse(g).map_err(|e| {
            bad(
                "grid",
                g,
                &format!("0.25 or a reduced Gaussian grid such as n320 or O96 ({e})"),
            )
        })?)),
    };
    if let (Some(p), Some(c)) = (params, checkpoint) {
        return Err(PyErr::from(Error::new(
            Kind::Selection,
            format!("params `{p}` with checkpoint {c}: the model's inputs are its own; give one"),
        )));
    }
    let source = match inputs {
        "forecast" => InputSource::Forecast,
        "analyses" => InputSource::Analyses,
        i => return Err(PyErr::from(bad("inputs", i, "forecast or analyses"))),
    };
    let date = date
        .map(|d| {
            assemble::parse_date(d)
                .ok_or_else(|| bad("date", d, "e.g. 2025-01-01T06 or a datetime"))
        })
        .transpose()?;
    let model = match checkpoint {
        Some(c) => Some(block_on(py, "reading the checkpoint", || {
            load_model(&refs.reader, c)
        })?),
        None => None,
    };
    let (inputs, times, grid, coordinates) = match (model, checkpoint) {
        (Some(m), Some(c)) => {
            // the core decides: the model's grid unless `grid` is given, and
            // checks the model's coordinates are that grid's points
            let s = m
                .states(grid, source)
                .map_err(|e| Error::new(Kind::Selection, format!("{c}: {e}")))?;
            (s.inputs, s.times, s.grid, s.coordinates)
        }
        _ => (
            plan::parse_params(params.unwrap_or("aifs-ens")).map_err(Error::from)?,
            InputTimes {
                source,
                ..InputTimes::default()
            },
            grid.flatten(),
            None,
        ),
    };
    let req = Request {
        inputs,
        selection: Selection {
            members: Some(BTreeSet::from([member])),
            date,
            steps,
            layout,
            allow_missing,
        },
        times,
        grid,
        coordinates,
        dtype: Dtype::parse(dtype)?,
    };
    let state = block_on(py, "extracting a state", || extract(refs, req))?;
    let out = PyDict::new(py);
    out.set_item("date", datetime(py, state.date)?)?;
    let fields = PyDict::new(py);
    for (name, shape, array) in state.fields {
        let a = match array {
            Array::F32(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
            Array::F64(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
        };
        fields.set_item(name, a)?;
    }
    out.set_item("fields", fields)?;
    if let Some((lat, lon)) = state.coordinates {
        out.set_item("latitudes", PyArray1::from_vec(py, lat))?;
        out.set_item("longitudes", PyArray1::from_vec(py, lon))?;
    }
    Ok(out)
}
