//! `gik.extract_state`: one member's AIFS input state as arrays, through the
//! core's plan and extraction engine (the ones `gik extract` runs), without
//! writing a pickle.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use gik_core::assemble;
use gik_core::extract::{Coalesce, Engine, Options};
use gik_core::plan::{self, InputSource, InputTimes, Layout, Selection};
use gik_core::regrid::N320Operator;
use gik_store::Blocking;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::decode::Dtype;
use crate::error::{Error, Kind, Result};
use crate::refs::{datetime, References};
use crate::runtime::block_on;

/// The N320 operator, built once per process (about a second) and shared.
static N320: OnceLock<Arc<N320Operator>> = OnceLock::new();

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
    n320: bool,
}

/// What `extract_state` was asked for, checked.
struct Request {
    inputs: Vec<plan::Input>,
    selection: Selection,
    times: InputTimes,
    n320: bool,
    dtype: Dtype,
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
    let regrid = if req.n320 {
        let op = match N320.get() {
            Some(op) => op.clone(),
            None => {
                let built = tokio::task::spawn_blocking(N320Operator::build)
                    .await
                    .map_err(|e| Error::new(Kind::Other, e.to_string()))?;
                N320.get_or_init(|| Arc::new(built)).clone()
            }
        };
        Some(op)
    } else {
        None
    };
    let options = Options {
        dtype: req.dtype.core(),
        regrid,
        layout: req.selection.layout,
        concurrency: 16,
        decoders: std::thread::available_parallelism().map_or(2, usize::from) + 1,
        coalesce: Coalesce::Auto,
    };
    let points = req.n320.then_some(gik_core::regrid::N320_POINTS);
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
        n320: req.n320,
    })
}

/// One member's AIFS input state, `{"date": datetime, "fields": {name:
/// array}}` (plus `latitudes`/`longitudes` on N320): the arrays `gik
/// extract` writes into that member's pickle.
#[pyfunction]
#[pyo3(signature = (refs, member, params = "aifs-ens", layout = "grid", grid = "0.25", date = None, dtype = "float32", steps = None, inputs = "forecast", allow_missing = false))]
#[allow(clippy::too_many_arguments)]
pub fn extract_state<'py>(
    py: Python<'py>,
    refs: &References,
    member: i64,
    params: &str,
    layout: &str,
    grid: &str,
    date: Option<&str>,
    dtype: &str,
    steps: Option<Vec<i64>>,
    inputs: &str,
    allow_missing: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let bad = |what: &str, v: &str, allowed: &str| {
        Error::new(Kind::Selection, format!("{what} `{v}`: expected {allowed}"))
    };
    let layout = match layout {
        "grid" => Layout::Grid,
        "aifs" => Layout::Aifs,
        l => return Err(PyErr::from(bad("layout", l, "grid or aifs"))),
    };
    let n320 = match grid {
        "0.25" | "source" => false,
        "n320" | "N320" => true,
        g => return Err(PyErr::from(bad("grid", g, "0.25 or n320"))),
    };
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
    let req = Request {
        inputs: plan::parse_params(params).map_err(Error::from)?,
        selection: Selection {
            members: Some(BTreeSet::from([member])),
            date,
            steps,
            layout,
            allow_missing,
        },
        times: InputTimes {
            source,
            ..InputTimes::default()
        },
        n320,
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
    if state.n320 {
        out.set_item(
            "latitudes",
            PyArray1::from_vec(py, gik_core::regrid::n320_latitudes()),
        )?;
        out.set_item(
            "longitudes",
            PyArray1::from_vec(py, gik_core::regrid::n320_longitudes()),
        )?;
    }
    Ok(out)
}
