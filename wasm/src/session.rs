//! What an open [`Refs`](crate::Refs) holds, and the glue between its
//! JavaScript methods and the core: look up, read and decode a field,
//! plan a state and run the core's extraction engine into memory.

use std::sync::Arc;

use gik_core::assemble;
use gik_core::extract::{self, Coalesce, RunError, REMOTE_MAX_GAP};
use gik_core::plan::{self, Layout};
use gik_core::refs::{self, RefStore};
use gik_core::scan::Inline;
use js_sys::{Array, Function, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::convert::{
    self, to_js, Coords, EnsembleStatsData, FieldData, FieldValues, VariableInfo,
};
use crate::error::{Error, Result};
use crate::fetch::{self, Fetcher, Reader};
use crate::options::{self, FieldSelection, MemberPickleOptions};

pub(crate) struct Inner {
    pub(crate) store: RefStore,
    pub(crate) location: String,
    pub(crate) fetcher: Fetcher,
    pub(crate) concurrency: usize,
}

impl Inner {
    pub(crate) fn refs_err(&self, source: refs::RefsError) -> Error {
        match source {
            refs::RefsError::UnknownVariable { .. } | refs::RefsError::AmbiguousVariable { .. } => {
                Error::Options(source.to_string())
            }
            source => Error::Refs {
                location: self.location.clone(),
                source,
            },
        }
    }

    pub(crate) fn reader(&self) -> Reader {
        Reader::from(self.fetcher.clone())
    }

    pub(crate) fn variables(&self) -> Result<Array> {
        let out = Array::new();
        for v in self.store.variables().map_err(|e| self.refs_err(e))? {
            let axes = self.store.axes(&v).map_err(|e| self.refs_err(e))?;
            out.push(&to_js(&VariableInfo::new(&v, &axes))?);
        }
        Ok(out)
    }

    pub(crate) fn coords(&self, name: &str) -> Result<JsValue> {
        let var = self
            .store
            .find_variable(name)
            .map_err(|e| self.refs_err(e))?;
        let axes = self.store.axes(&var).map_err(|e| self.refs_err(e))?;
        let (lat, lon) = self.store.lat_lon(&var);
        to_js(&Coords::new(&var, &axes, lat.as_deref(), lon.as_deref()))
    }

    pub(crate) async fn read_field(&self, sel: JsValue) -> Result<JsValue> {
        let sel: FieldSelection = options::parse_required("readField", &sel)?;
        let (name, at) = sel.field_at();
        let var = self
            .store
            .find_variable(&name)
            .map_err(|e| self.refs_err(e))?;
        let (located, chunk) = assemble::field_chunk(&self.store, &var, &at)?;
        let part = chunk.ok_or_else(|| Error::Missing {
            variable: var.path.clone(),
            at: at.describe(),
        })?;
        let t0 = fetch::now_ms();
        let bytes = gik_core::io::read_part(&self.reader(), &part).await?;
        let t1 = fetch::now_ms();
        let (meta, values) = assemble::decode_message(&bytes, &part)?;
        let t2 = fetch::now_ms();
        let (lats, lons) = match self.store.lat_lon(&var) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => meta
                .grid
                .lat_lon()
                .map_or((None, None), |(a, b)| (Some(a), Some(b))),
        };
        to_js(&FieldData {
            field: FieldValues::new(&meta, &values, lats, lons),
            variable: var.path.clone(),
            time: located.time.map(|t| t as f64),
            step: located.step.map(|s| s as f64),
            level: located.level,
            member: located.member.map(|m| m as f64),
            valid_time: located
                .time
                .map(|t| t.saturating_add(located.step.unwrap_or(0).saturating_mul(3600)) as f64),
            bytes: bytes.len() as u64,
            fetch_ms: t1 - t0,
            decode_ms: t2 - t1,
        })
    }

    /// The pickle of the one state a plan holds, through the core's engine.
    async fn state_pickle(
        &self,
        plan: &plan::Plan,
        options: &extract::Options,
        progress: Option<Function>,
    ) -> Result<Vec<u8>> {
        if plan.states.len() != 1 {
            return Err(Error::Options(format!(
                "the selection holds {} states; ask for one member and one step per pickle",
                plan.states.len()
            )));
        }
        let report = |done: usize, total: usize, field: &plan::FieldPlan| {
            if let Some(f) = &progress {
                let _ = f.call3(
                    &JsValue::NULL,
                    &JsValue::from(done as f64),
                    &JsValue::from(total as f64),
                    &JsValue::from(field.name.as_str()),
                );
            }
        };
        let sink: Vec<Vec<u8>> = Vec::new();
        let (mut states, _) =
            extract::run(self.reader(), plan, &[0], options, &Inline, sink, report)
                .await
                .map_err(|e| match e {
                    RunError::Extract(extract::ExtractError::Read { source, .. }) => source,
                    RunError::Extract(extract::ExtractError::Decode { source, .. }) => {
                        Error::Assemble(source)
                    }
                    other => Error::Options(other.to_string()),
                })?;
        Ok(states.pop().unwrap_or_default())
    }

    fn engine_options(
        &self,
        layout: Layout,
        dtype: gik_core::npy::Dtype,
        regrid: Option<gik_core::regrid::Operator>,
        concurrency: usize,
    ) -> extract::Options {
        extract::Options {
            dtype,
            // Built per pickle (~0.1 s in wasm for N320), shared by every field of it.
            regrid: regrid.map(Arc::new),
            layout,
            concurrency,
            decoders: 1,
            // every location is remote in a browser (six connections per origin)
            coalesce: Coalesce::Gap(REMOTE_MAX_GAP),
        }
    }

    pub(crate) async fn member_pickle(&self, opts: JsValue) -> Result<JsValue> {
        let o = options::parse::<MemberPickleOptions>("memberPickle", &opts)?.core()?;
        let (inputs, times, grid, coordinates) = match o.checkpoint.clone() {
            Some(c) => {
                let m = options::model(&self.reader(), c).await?;
                // the core decides: the model's grid (or `grid` when given),
                // its points carrying the model's own coordinates
                let s = m
                    .states(o.grid, o.source)
                    .map_err(|e| Error::Options(format!("checkpoint: {e}")))?;
                (s.inputs, s.times, s.grid, s.coordinates)
            }
            None => (
                plan::parse_params(&o.params)?,
                plan::InputTimes {
                    source: o.source,
                    ..plan::InputTimes::default()
                },
                o.grid.flatten(),
                None,
            ),
        };
        let regrid = grid
            .map(|g| {
                let op = gik_core::regrid::Operator::build_grid(
                    g,
                    gik_core::regrid::SourceLayout::OpenData,
                )
                .map_err(|e| Error::Options(format!("grid: {e}")))?;
                match coordinates {
                    Some((lat, lon)) => op
                        .with_coordinates(lat, lon)
                        .map_err(|e| Error::Options(format!("checkpoint: {e}"))),
                    None => Ok(op),
                }
            })
            .transpose()?;
        let mut sel = o.selection;
        if o.checkpoint.is_some() {
            sel.layout = Layout::Aifs;
        }
        let sel = if o.member_given {
            sel
        } else {
            plan::first_member(&self.store, &inputs, sel)
        };
        let plan = plan::plan_with(&self.store, &inputs, &sel, &times)?;
        let options = self.engine_options(
            sel.layout,
            o.dtype,
            regrid,
            o.concurrency.unwrap_or(self.concurrency),
        );
        let bytes = self.state_pickle(&plan, &options, o.on_progress).await?;
        Ok(Uint8Array::from(bytes.as_slice()).into())
    }

    /// An ensemble's statistics per grid point, through the core
    /// (`stats::ensemble_stats`): the same numbers as `gik stats`.
    pub(crate) async fn ensemble_stats(
        &self,
        opts: JsValue,
        progress: Option<Function>,
    ) -> Result<JsValue> {
        let o: options::EnsembleStatsOptions = options::parse_required("ensembleStats", &opts)?;
        let (field, stats) = o.core()?;
        let concurrency = o
            .concurrency
            .map_or(self.concurrency, |c| c.clamp(1, 64) as usize);
        // The callback sees the members so far; returning `false` stops the
        // computation (a page cancelling a choice it no longer shows).
        let every = o.partial_every.unwrap_or(0) as usize;
        let report = |done: usize, total: usize, acc: &gik_core::stats::Ensemble| {
            let go_on = progress.as_ref().is_none_or(|f| {
                let partial = if every > 0 && (done.is_multiple_of(every) || done == total) {
                    convert::stat_arrays(stats.iter().copied().zip(acc.finish()))
                } else {
                    JsValue::UNDEFINED
                };
                f.call3(
                    &JsValue::NULL,
                    &JsValue::from(done as f64),
                    &JsValue::from(total as f64),
                    &partial,
                )
                .map_or(true, |r| r.as_bool() != Some(false))
            });
            if go_on {
                std::ops::ControlFlow::Continue(())
            } else {
                std::ops::ControlFlow::Break(())
            }
        };
        let out = gik_core::stats::ensemble_stats(
            &self.reader(),
            &self.store,
            &field,
            &stats,
            concurrency,
            &Inline,
            report,
        )
        .await
        .map_err(|e| self.stats_err(e))?;
        let var = self
            .store
            .find_variable(&out.variable)
            .map_err(|e| self.refs_err(e))?;
        let (lat, lon) = self.store.lat_lon(&var);
        to_js(&EnsembleStatsData::new(
            &out,
            lat.as_deref(),
            lon.as_deref(),
        ))
    }

    fn stats_err(&self, e: gik_core::stats::StatsError<Error>) -> Error {
        use gik_core::stats::StatsError;
        match e {
            StatsError::Refs(source) => self.refs_err(source),
            StatsError::Read { source, .. } => source,
            StatsError::Decode(e) | StatsError::Locate(e) => Error::Assemble(e),
            StatsError::Missing { variable, at } => Error::Missing { variable, at },
            StatsError::Cancelled => Error::Cancelled,
            other => Error::Options(other.to_string()),
        }
    }

    pub(crate) async fn field_pickle(&self, sel: JsValue) -> Result<JsValue> {
        let sel: FieldSelection = options::parse_required("fieldPickle", &sel)?;
        let (name, at) = sel.field_at();
        let var = self
            .store
            .find_variable(&name)
            .map_err(|e| self.refs_err(e))?;
        let axes = self.store.axes(&var).map_err(|e| self.refs_err(e))?;
        let located = assemble::locate(&var, &axes, &at)?;
        let (inputs, selection) = plan::field_request(&var, &axes, &located)?;
        let plan = plan::plan(&self.store, &inputs, &selection)?;
        let options = self.engine_options(Layout::Grid, gik_core::npy::Dtype::F32, None, 1);
        let bytes = self.state_pickle(&plan, &options, None).await?;
        Ok(Uint8Array::from(bytes.as_slice()).into())
    }
}
