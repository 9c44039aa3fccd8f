//! `gik.open_references`, `gik.scan` and `References`: the core's
//! `refs::open`, scan driver and `refs::build`, over gik-store's reader.

use std::path::PathBuf;
use std::sync::Arc;

use gik_core::assemble::{self, FieldAt};
use gik_core::plan::FieldPlan;
use gik_core::refs::{self, JsonVersion, RefStore, Variable};
use gik_core::scan::ScanOptions;
use gik_store::{Blocking, Sources};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::error::{Error, Kind};
use crate::runtime::{block_on, detached};

/// Kerchunk references (any format, local or remote) and the reader their
/// chunks are read through.
#[pyclass(name = "References", module = "gik", frozen)]
#[derive(Debug)]
pub struct References {
    pub(crate) store: RefStore,
    pub(crate) reader: Arc<Sources>,
    /// Where they came from (a location, or the scanned urls), for messages.
    pub(crate) origin: String,
}

/// A datetime.datetime (naive, UTC) of `seconds` since 1970.
pub(crate) fn datetime(py: Python<'_>, seconds: i64) -> PyResult<Bound<'_, PyAny>> {
    let d = assemble::date_of(seconds);
    py.import("datetime")?
        .getattr("datetime")?
        .call1((d.year, d.month, d.day, d.hour, d.minute, d.second))
}

/// Seconds since 1970 of a datetime (naive = UTC), an ISO string or an int.
fn seconds_of(t: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(s) = t.extract::<i64>() {
        return Ok(s);
    }
    if let Ok(s) = t.extract::<String>() {
        return assemble::parse_date(&s).ok_or_else(|| {
            Error::new(
                Kind::Selection,
                format!("time `{s}`: expected e.g. 2025-01-01T06"),
            )
            .into()
        });
    }
    // (naive datetimes are taken as UTC, aware ones converted to it)
    let tuple = t.call_method0("utctimetuple")?;
    t.py()
        .import("calendar")?
        .call_method1("timegm", (tuple,))?
        .extract()
}

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}

/// The shape of one chunk's field: the variable's dimensions other than
/// time, step, number and the level (latitude × longitude, or values).
fn field_dims(var: &Variable, level_name: Option<&str>) -> Vec<usize> {
    var.dims
        .iter()
        .zip(&var.chunks)
        .filter(|(d, _)| {
            !matches!(d.as_str(), "time" | "step" | "number") && Some(d.as_str()) != level_name
        })
        .map(|(_, &c)| c as usize)
        .collect()
}

#[pymethods]
impl References {
    fn __repr__(&self) -> String {
        let vars = self.store.variables().map(|v| v.len()).unwrap_or(0);
        format!(
            "<gik.References {}: {} variables, {} references>",
            self.origin,
            vars,
            self.store.len()
        )
    }

    /// The references as kerchunk JSON (version 1), the bytes `gik scan --out x.json` writes.
    fn to_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &refs::write_json(&self.store, JsonVersion::V1))
    }

    /// Writes the references to `path`: `json` (kerchunk JSON), `parquet`
    /// (two-column parquet) or `parquet-dir` (fsspec parquet directory);
    /// by default from the extension, as `gik scan --out` chooses.
    #[pyo3(signature = (path, format = None))]
    fn write(&self, py: Python<'_>, path: PathBuf, format: Option<&str>) -> PyResult<()> {
        let format = match format {
            Some(f) => f.to_string(),
            None => match path.extension().and_then(|e| e.to_str()) {
                Some("json") => "json".into(),
                // `.parq` is a directory, as kerchunk's `refs_to_dataframe` names it
                Some("parquet") => "parquet".into(),
                _ => "parquet-dir".into(),
            },
        };
        let store = &self.store;
        detached(py, "writing references", || {
            let at = |e: std::io::Error| Error::new(Kind::Read, format!("{}: {e}", path.display()));
            let refs_err = |e: refs::RefsError| {
                Error::new(Kind::References, format!("{}: {e}", path.display()))
            };
            let files: refs::FileMap = match format.as_str() {
                "json" => [(String::new(), refs::write_json(store, JsonVersion::V1))].into(),
                "parquet" => [(
                    String::new(),
                    refs::write_seed_parquet(store).map_err(refs_err)?,
                )]
                .into(),
                "parquet-dir" => {
                    refs::write_parquet_dir(store, refs::DEFAULT_RECORD_SIZE).map_err(refs_err)?
                }
                other => {
                    return Err(Error::new(
                        Kind::Selection,
                        format!("format `{other}`: expected json, parquet or parquet-dir"),
                    ))
                }
            };
            for (rel, bytes) in &files {
                let target = if rel.is_empty() {
                    path.clone()
                } else {
                    path.join(rel)
                };
                if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(at)?;
                }
                // a temporary sibling renamed into place: a failed write leaves no partial file
                let tmp = target.with_extension(format!("gik-tmp-{}", std::process::id()));
                std::fs::write(&tmp, bytes).map_err(at)?;
                std::fs::rename(&tmp, &target).map_err(at)?;
            }
            Ok(())
        })
    }

    /// One dict per data variable: path, name, dims, shape, attrs, level
    /// name and levels, steps (hours), times (datetimes) and members.
    fn variables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let vars = self.store.variables().map_err(Error::from)?;
        let out = PyList::empty(py);
        for v in vars {
            let axes = self.store.axes(&v).map_err(Error::from)?;
            let d = PyDict::new(py);
            d.set_item("path", &v.path)?;
            d.set_item("name", &v.name)?;
            d.set_item("dims", &v.dims)?;
            d.set_item("shape", &v.shape)?;
            d.set_item(
                "attrs",
                json_to_py(py, &serde_json::Value::Object(v.attrs.clone()))?,
            )?;
            let (level_name, levels) = match &axes.level {
                Some((n, l)) => (Some(n.clone()), Some(l.clone())),
                None => (None, None),
            };
            d.set_item("level_name", level_name)?;
            d.set_item("levels", levels)?;
            d.set_item("steps", &axes.step)?;
            let times = axes
                .time
                .iter()
                .map(|&t| datetime(py, t))
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("times", times)?;
            d.set_item("members", &axes.number)?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// The field of `variable` (an array path, or a name when only one
    /// variable has it) at the given member, step (hours), level and
    /// reference time (a datetime, naive meaning UTC; an ISO string; or
    /// seconds since 1970): read and decoded to float64, NaN where the
    /// bitmap marks a point missing, all NaN where the references have no
    /// chunk (zarr's fill value).
    #[pyo3(signature = (variable, member = None, step = None, level = None, time = None))]
    fn read_field<'py>(
        &self,
        py: Python<'py>,
        variable: &str,
        member: Option<i64>,
        step: Option<i64>,
        level: Option<f64>,
        time: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let time = time.map(|t| seconds_of(&t)).transpose()?;
        let at = FieldAt {
            time,
            step,
            level,
            member,
        };
        let (store, reader) = (&self.store, &*self.reader);
        let (values, dims) = block_on(py, "reading a field", || async move {
            let var = store.find_variable(variable)?;
            let axes = store.axes(&var)?;
            let dims = field_dims(&var, axes.level.as_ref().map(|(n, _)| n.as_str()));
            let grid = match dims.as_slice() {
                [nlat, nlon] => (*nlat, *nlon),
                other => (1, other.iter().product()),
            };
            let (_, chunk) = assemble::field_chunk(store, &var, &at)?;
            let Some(part) = chunk else {
                return Ok((vec![f64::NAN; grid.0 * grid.1], dims));
            };
            let bytes = gik_core::io::read_part(reader, &part).await?;
            let field = FieldPlan {
                name: var.name.clone(),
                parts: vec![part.clone()],
                grid,
                scale: None,
                source: var.path.clone(),
            };
            let values = assemble::decode_part_f64(&bytes, &part, &field)?;
            Ok((values, dims))
        })?;
        Ok(PyArray1::from_vec(py, values).reshape(dims)?.into_any())
    }

    /// Ensemble statistics per grid point of `variable` at one step, level
    /// and reference time, over `members` (default: all), computed by the
    /// core one member at a time (the numbers `gik stats` writes):
    /// `{"mean": ndarray, "std": …, "p>273.15": …}` keyed and ordered as `stats`
    /// (`mean`, `std`, `min`, `max`, `median`, `q<percent>`, `p>t`, `p<t`), float32,
    /// (nlat, nlon). `from_step` subtracts each member's field at that step
    /// first (an accumulation such as `tp` over `from_step`–`step`).
    #[pyo3(signature = (variable, stats = vec!["mean".to_string()], step = None, level = None, time = None, members = None, from_step = None, concurrency = 16))]
    #[allow(clippy::too_many_arguments)]
    fn ensemble_stats<'py>(
        &self,
        py: Python<'py>,
        variable: &str,
        stats: Vec<String>,
        step: Option<i64>,
        level: Option<f64>,
        time: Option<Bound<'py, PyAny>>,
        members: Option<Vec<i64>>,
        from_step: Option<i64>,
        concurrency: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let time = time.map(|t| seconds_of(&t)).transpose()?;
        let parsed = stats
            .iter()
            .map(|s| gik_core::stats::Stat::parse(s))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| PyErr::from(Error::new(Kind::Selection, e.to_string())))?;
        if parsed.is_empty() {
            return Err(Error::new(Kind::Selection, "stats is empty").into());
        }
        let field = gik_core::stats::EnsembleField {
            variable: variable.to_string(),
            time,
            step,
            from_step,
            level,
            members,
        };
        let (store, reader) = (&self.store, &*self.reader);
        let (field, parsed) = (&field, &parsed);
        let out = block_on(py, "computing ensemble statistics", || async move {
            Ok(gik_core::stats::ensemble_stats(
                reader,
                store,
                field,
                parsed,
                concurrency.max(1),
                &gik_store::Blocking,
                |_, _, _| std::ops::ControlFlow::Continue(()),
            )
            .await?)
        })?;
        // keyed by the names as given ("median", "q50" and "q50.0" are one statistic)
        let d = PyDict::new(py);
        for (name, (_, values)) in stats.iter().zip(out.values) {
            let a = PyArray1::from_vec(py, values).reshape(out.shape.clone())?;
            d.set_item(name.trim(), a)?;
        }
        Ok(d)
    }
}

/// Opens references: kerchunk JSON, two-column parquet or an fsspec parquet
/// directory; a local path or an s3/gs/az/http(s) url.
#[pyfunction]
pub fn open_references(py: Python<'_>, location: String) -> PyResult<References> {
    let reader = Arc::new(Sources::default());
    let r = &*reader;
    let loc = location.as_str();
    let store = block_on(py, "opening references", || async move {
        Ok(refs::open(r, loc).await?)
    })?;
    Ok(References {
        store,
        reader,
        origin: location,
    })
}

/// Scans GRIB2 files (local paths or urls) into references, as `gik scan` does.
#[pyfunction]
#[pyo3(signature = (urls, mode = "auto", verify = "all", codec = "grib", concurrency = 64))]
pub fn scan(
    py: Python<'_>,
    urls: Vec<String>,
    mode: &str,
    verify: &str,
    codec: &str,
    concurrency: usize,
) -> PyResult<References> {
    let choice = |what: &str, v: &str, allowed: &str| {
        Error::new(Kind::Selection, format!("{what} `{v}`: expected {allowed}"))
    };
    let mode = match mode {
        "auto" => gik_core::scan::Mode::Auto,
        "index" => gik_core::scan::Mode::Index,
        "headers" => gik_core::scan::Mode::Headers,
        m => return Err(choice("mode", m, "auto, index or headers").into()),
    };
    let verify = match verify {
        "all" => gik_core::index::Verify::All,
        "sample" => gik_core::index::Verify::Sample,
        "none" => gik_core::index::Verify::None,
        v => return Err(choice("verify", v, "all, sample or none").into()),
    };
    let codec = match codec {
        "grib" => refs::Codec::Grib,
        "gik" => refs::Codec::Gik,
        c => return Err(choice("codec", c, "grib or gik").into()),
    };
    if urls.is_empty() {
        return Err(Error::new(Kind::Selection, "scan: no urls given").into());
    }
    let reader = Arc::new(Sources::default());
    let r = &*reader;
    let given = &urls;
    let built = block_on(py, "scanning", || async move {
        let urls = given
            .iter()
            .map(|l| gik_store::reference_url(l))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let opts = ScanOptions {
            mode,
            verify,
            concurrency: concurrency.max(1),
            objects_at_once: 4,
            batch: gik_store::header_batch,
            select: None,
        };
        let fields = gik_core::scan::scan(r, &urls, &opts, &(), &Blocking).await?;
        Ok(refs::build_with(
            &fields,
            &refs::BuildOptions::with_codec(codec),
        )?)
    })?;
    for s in &built.skipped {
        let msg = format!("{} at byte {} left out: {}", s.url, s.offset, s.reason);
        PyErr::warn(
            py,
            &py.get_type::<PyUserWarning>(),
            &std::ffi::CString::new(msg).unwrap_or_default(),
            1,
        )?;
    }
    let origin = match urls.as_slice() {
        [one] => one.clone(),
        many => format!("{} files", many.len()),
    };
    Ok(References {
        store: built.store,
        reader,
        origin,
    })
}
