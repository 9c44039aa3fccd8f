//! Assembly: fetched GRIB messages → the arrays of a state, and a state →
//! its pickle. Shared by `gik extract` and the WebAssembly bindings, so the
//! browser hands out the very bytes the command line writes.
//!
//! The flow for one member (sans-IO: the caller fetches):
//!
//! ```text
//! plan::plan(…)            → StatePlan { fields: [FieldPlan { parts, grid, scale }] }
//! fetch every part          → bytes of one GRIB message each
//! decode_field(field, …)    → the field's array bytes (scaled, cast, little-endian)
//! StateAssembler::push(…)   → streamed into the pickle in plan order
//! ```
//!
//! Values are decoded in f64, multiplied by the field's scale (`gh` → `z`:
//! × 9.80665) and then cast to the output dtype, exactly once, so every
//! writer of a state gets bit-identical arrays.
//!
//! [`field_chunk`] answers the other question a viewer asks: which chunk
//! holds *this* field (variable, reference time, step, level, member).

use std::io::{self, Write};

use crate::npy::Dtype;
use crate::pickle::StateWriter;
use crate::plan::{FieldPlan, Layout, StatePlan};
use crate::refs::{Axes, RefStore, RefValue, RefsError, Variable};

/// What can go wrong assembling fields and states.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// The fetched bytes are not a GRIB message.
    #[error("{part} does not start with a GRIB message (stale or shifted reference?)")]
    NotGrib { part: String },
    /// The message could not be framed or decoded.
    #[error("{part}: {source}")]
    Grib {
        part: String,
        #[source]
        source: crate::Error,
    },
    /// The decoded field does not have the grid the references announce.
    #[error("{part}: {got} values, the references say {nlat}×{nlon}")]
    Shape {
        part: String,
        got: usize,
        nlat: usize,
        nlon: usize,
    },
    /// The field could not be regridded.
    #[error("{part}: {source}")]
    Regrid {
        part: String,
        #[source]
        source: crate::regrid::RegridError,
    },
    /// Not one fetched message per part of the field.
    #[error("field {field}: {got} message(s) fetched, its plan has {want}")]
    Parts {
        field: String,
        got: usize,
        want: usize,
    },
    /// A coordinate value asked for is not on the variable's axis.
    #[error("{variable}: {axis} {value} is not in the references (they hold {available})")]
    NotOnAxis {
        variable: String,
        axis: &'static str,
        value: String,
        available: String,
    },
    /// The references could not be read.
    #[error(transparent)]
    Refs(#[from] RefsError),
    /// Writing the pickle failed.
    #[error("writing the state: {0}")]
    Io(#[from] io::Error),
}

/// Result alias for this module.
pub type Result<T, E = AssembleError> = std::result::Result<T, E>;

/// A short description of a reference for messages: `url bytes offset+length`.
#[must_use]
pub fn describe(part: &RefValue) -> String {
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

pub use crate::time::{date_of, epoch_of, parse_date};

/// The array shape of a field in a state: `(nlat, nlon)` for
/// [`Layout::Grid`], `(times, npoints)` for [`Layout::Aifs`].
#[must_use]
pub fn field_shape(field: &FieldPlan, layout: Layout) -> Vec<usize> {
    match layout {
        Layout::Grid => vec![field.grid.0, field.grid.1],
        Layout::Aifs => vec![field.parts.len(), field.grid.0 * field.grid.1],
    }
}

/// The array shape of a field in a state as [`StateAssembler`] writes it:
/// [`field_shape`], or, for fields regridded to `points` points per time
/// slice (N320: 542,080), `(points,)` for [`Layout::Grid`] and
/// `(times, points)` for [`Layout::Aifs`]. Front ends that hand out arrays
/// instead of a pickle (Python) shape [`crate::extract::Decoded`] bytes with it.
#[must_use]
pub fn state_field_shape(field: &FieldPlan, layout: Layout, points: Option<usize>) -> Vec<usize> {
    match (points, layout) {
        (None, _) => field_shape(field, layout),
        (Some(n), Layout::Grid) => vec![n],
        (Some(n), Layout::Aifs) => vec![field.parts.len(), n],
    }
}

/// The GRIB message that `bytes`, fetched for `part`, start with.
fn first_field<'b>(bytes: &'b [u8], part: &RefValue) -> Result<crate::grib::Field<'b>> {
    if !bytes.starts_with(b"GRIB") {
        return Err(AssembleError::NotGrib {
            part: describe(part),
        });
    }
    crate::grib::first_field(bytes).map_err(|source| AssembleError::Grib {
        part: describe(part),
        source,
    })
}

/// Decodes one fetched message of `field` and appends its values, scaled
/// and cast to `dtype`, little-endian, to `out`.
///
/// # Errors
/// Bytes that are not a GRIB message, a decoding error, or a number of
/// values other than the field's grid.
pub fn decode_part(
    bytes: &[u8],
    part: &RefValue,
    field: &FieldPlan,
    dtype: Dtype,
    out: &mut Vec<u8>,
) -> Result<()> {
    decode_part_with(bytes, part, field, dtype, None, out)
}

/// [`decode_part`], optionally regridded to a reduced Gaussian grid (MIR
/// "linear") before the scale and the cast.
///
/// Plain float32 fields are decoded straight to f32 (ecCodes' f64 value
/// rounded once: the same bytes, half the memory); scaled, regridded or f64
/// fields go through f64 and are cast once at the end.
///
/// # Errors
/// As [`decode_part`], or a field that is not on the 0.25° grid when regridding.
pub fn decode_part_with(
    bytes: &[u8],
    part: &RefValue,
    field: &FieldPlan,
    dtype: Dtype,
    regrid: Option<&crate::regrid::N320Operator>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let f = first_field(bytes, part)?;
    let grib = |source| AssembleError::Grib {
        part: describe(part),
        source,
    };
    let (nlat, nlon) = field.grid;
    let check = |got: usize| {
        if got == nlat * nlon {
            Ok(())
        } else {
            Err(AssembleError::Shape {
                part: describe(part),
                got,
                nlat,
                nlon,
            })
        }
    };
    if dtype == Dtype::F32 && field.scale.is_none() && regrid.is_none() {
        let bytes = f.decode_f32_le().map_err(grib)?;
        check(bytes.len() / 4)?;
        if out.is_empty() {
            *out = bytes;
        } else {
            out.extend_from_slice(&bytes);
        }
        return Ok(());
    }
    let values = f64_values(f, part, field, regrid)?;
    match dtype {
        Dtype::F32 => {
            let narrowed: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            crate::npy::extend_le(out, &narrowed);
        }
        Dtype::F64 => crate::npy::extend_le(out, &values),
    }
    Ok(())
}

/// The f64 values of the message `bytes` (fetched for `part`) as
/// [`decode_part`] gives them for [`Dtype::F64`], without the bytes: what a
/// caller filling its own f64 array needs (one buffer fewer per field).
///
/// # Errors
/// As [`decode_part`].
pub fn decode_part_f64(bytes: &[u8], part: &RefValue, field: &FieldPlan) -> Result<Vec<f64>> {
    f64_values(first_field(bytes, part)?, part, field, None)
}

/// The checked, regridded and scaled f64 values of the field `f`.
fn f64_values(
    f: crate::grib::Field<'_>,
    part: &RefValue,
    field: &FieldPlan,
    regrid: Option<&crate::regrid::N320Operator>,
) -> Result<Vec<f64>> {
    let values = f.decode_f64().map_err(|source| AssembleError::Grib {
        part: describe(part),
        source,
    })?;
    let (nlat, nlon) = field.grid;
    if values.len() != nlat * nlon {
        return Err(AssembleError::Shape {
            part: describe(part),
            got: values.len(),
            nlat,
            nlon,
        });
    }
    let mut values = match regrid {
        Some(op) => op.apply_f64(&values).map_err(|e| AssembleError::Regrid {
            part: describe(part),
            source: e,
        })?,
        None => values,
    };
    if let Some(s) = field.scale {
        values.iter_mut().for_each(|v| *v *= s);
    }
    Ok(values)
}

/// Decodes the one GRIB message `bytes` (fetched for `part`) to f32, with
/// its metadata: what a viewer shows of one field.
///
/// # Errors
/// Bytes that are not a GRIB message, or a framing or decoding error.
pub fn decode_message(bytes: &[u8], part: &RefValue) -> Result<(crate::grib::FieldMeta, Vec<f32>)> {
    let field = first_field(bytes, part)?;
    let grib = |source| AssembleError::Grib {
        part: describe(part),
        source,
    };
    let meta = field.meta().map_err(grib)?;
    let values = field.decode_f32().map_err(grib)?;
    Ok((meta, values))
}

/// Decodes all fetched messages of `field` (one per part, in plan order)
/// into the bytes of its array in the state.
///
/// # Errors
/// As [`decode_part`], or a number of messages other than the field's parts.
pub fn decode_field<B: AsRef<[u8]>>(
    field: &FieldPlan,
    messages: &[B],
    dtype: Dtype,
) -> Result<Vec<u8>> {
    decode_field_with(field, messages, dtype, None)
}

/// [`decode_field`], optionally regridded to N320 ([`decode_part_with`]).
///
/// # Errors
/// As [`decode_field`].
pub fn decode_field_with<B: AsRef<[u8]>>(
    field: &FieldPlan,
    messages: &[B],
    dtype: Dtype,
    regrid: Option<&crate::regrid::N320Operator>,
) -> Result<Vec<u8>> {
    if messages.len() != field.parts.len() {
        return Err(AssembleError::Parts {
            field: field.name.clone(),
            got: messages.len(),
            want: field.parts.len(),
        });
    }
    let mut out = Vec::new();
    for (bytes, part) in messages.iter().zip(&field.parts) {
        decode_part_with(bytes.as_ref(), part, field, dtype, regrid, &mut out)?;
    }
    Ok(out)
}

/// Streams one state's pickle: `{"date": …, "fields": {name: array}}`,
/// fields pushed in plan order.
#[derive(Debug)]
pub struct StateAssembler<W: Write> {
    writer: StateWriter<W>,
    layout: Layout,
    dtype: Dtype,
    /// Points per time slice when the fields were regridded (N320: 542,080).
    points: Option<usize>,
    /// The operator they were regridded with (its target points' coordinates).
    target: Option<std::sync::Arc<crate::regrid::Operator>>,
}

impl<W: Write> StateAssembler<W> {
    /// Starts the pickle of `state` (its `"date"` is the state's valid date).
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn new(w: W, state: &StatePlan, layout: Layout, dtype: Dtype) -> Result<Self> {
        Ok(Self {
            writer: StateWriter::new(w, date_of(state.date))?,
            layout,
            dtype,
            points: None,
            target: None,
        })
    }

    /// Starts the pickle of a state whose fields are regridded to N320 (see
    /// [`decode_part_with`]): each field is `(points,)` for [`Layout::Grid`]
    /// and `(times, points)` for [`Layout::Aifs`], and [`StateAssembler::finish`]
    /// adds `latitudes` and `longitudes` (0 → 360), as anemoi-inference reads them.
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn new_n320(w: W, state: &StatePlan, layout: Layout, dtype: Dtype) -> Result<Self> {
        let mut a = Self::new(w, state, layout, dtype)?;
        a.points = Some(crate::regrid::N320_POINTS);
        Ok(a)
    }

    /// [`StateAssembler::new_n320`] for fields regridded with `op` (any
    /// reduced Gaussian grid): `latitudes` and `longitudes` are its target
    /// points' (a model's own coordinates when the operator carries them).
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn new_regridded(
        w: W,
        state: &StatePlan,
        layout: Layout,
        dtype: Dtype,
        op: std::sync::Arc<crate::regrid::Operator>,
    ) -> Result<Self> {
        let mut a = Self::new(w, state, layout, dtype)?;
        a.points = Some(op.target_len());
        a.target = Some(op);
        Ok(a)
    }

    /// Writes `field` with the array bytes [`decode_field`] made for it.
    ///
    /// # Errors
    /// A writer error, or bytes that do not fill the field's shape.
    pub fn push(&mut self, field: &FieldPlan, array: &[u8]) -> Result<()> {
        let shape = state_field_shape(field, self.layout, self.points);
        self.writer
            .field(&field.name, self.dtype, &shape, |out| out.write_all(array))?;
        Ok(())
    }

    /// Ends the pickle and returns the writer.
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn finish(mut self) -> Result<W> {
        if self.points.is_some() {
            let (lat, lon) = match &self.target {
                Some(op) => (op.latitudes(), op.longitudes()),
                None => (
                    crate::regrid::n320_latitudes(),
                    crate::regrid::n320_longitudes(),
                ),
            };
            for (name, v) in [("latitudes", lat), ("longitudes", lon)] {
                self.writer
                    .top_level_array(name, Dtype::F64, &[v.len()], |o| {
                        crate::pickle::write_f64s(o, &v)
                    })?;
            }
        }
        Ok(self.writer.finish()?)
    }
}

/// Where on a variable's axes a single field sits; `None` takes the first
/// value of the axis (and is the only choice when the axis is absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldAt {
    /// Forecast reference time, seconds since 1970.
    pub time: Option<i64>,
    /// Forecast step in hours.
    pub step: Option<i64>,
    /// Level value (`850`, `2`, …).
    pub level: Option<f64>,
    /// Ensemble member (`number`; control = 0).
    pub member: Option<i64>,
}

impl FieldAt {
    /// The position in words, for messages: `step 6 h, member 3`.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.time {
            parts.push(format!("time {t}"));
        }
        if let Some(s) = self.step {
            parts.push(format!("step {s} h"));
        }
        if let Some(l) = self.level {
            parts.push(format!("level {l}"));
        }
        if let Some(m) = self.member {
            parts.push(format!("member {m}"));
        }
        if parts.is_empty() {
            "the first position".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The position of one field: indexes on each axis and the values they stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Chunk index of the data variable.
    pub chunk: Vec<u64>,
    /// Reference time (seconds since 1970), if the variable has one.
    pub time: Option<i64>,
    /// Step in hours, if any.
    pub step: Option<i64>,
    /// Level value, if any.
    pub level: Option<f64>,
    /// Member, if any.
    pub member: Option<i64>,
}

fn pick<T: PartialEq + Copy + std::fmt::Display>(
    var: &Variable,
    axis: &'static str,
    values: &[T],
    want: Option<T>,
    eq: impl Fn(T, T) -> bool,
) -> Result<(usize, Option<T>)> {
    match want {
        None => Ok((0, values.first().copied())),
        Some(w) => match values.iter().position(|v| eq(*v, w)) {
            Some(i) => Ok((i, Some(values[i]))),
            None if values.is_empty() => Ok((0, None)),
            None => Err(AssembleError::NotOnAxis {
                variable: var.path.clone(),
                axis,
                value: w.to_string(),
                available: values
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        },
    }
}

/// Finds the chunk of `var` that holds the field at `at` (kerchunk GRIB
/// references hold one field per chunk). Each dimension index comes from
/// the variable's own dimension names and coordinate values.
///
/// # Errors
/// A value not on its axis ([`AssembleError::NotOnAxis`]).
pub fn locate(var: &Variable, axes: &Axes, at: &FieldAt) -> Result<Located> {
    let (ti, time) = pick(var, "time", &axes.time, at.time, |a, b| a == b)?;
    let (si, step) = pick(var, "step", &axes.step, at.step, |a, b| a == b)?;
    let levels: &[f64] = axes.level.as_ref().map_or(&[], |(_, v)| v.as_slice());
    let (li, level) = pick(var, "level", levels, at.level, |a, b| (a - b).abs() < 1e-9)?;
    let (mi, member) = pick(var, "member", &axes.number, at.member, |a, b| a == b)?;
    let level_name = axes.level.as_ref().map(|(n, _)| n.as_str());
    let chunk = var
        .dims
        .iter()
        .zip(&var.chunks)
        .map(|(d, c)| {
            let i = match d.as_str() {
                "time" => ti,
                "step" => si,
                "number" => mi,
                other if Some(other) == level_name => li,
                _ => 0,
            } as u64;
            i / (*c).max(1)
        })
        .collect();
    Ok(Located {
        chunk,
        time,
        step,
        level,
        member,
    })
}

/// The reference of the field of `var` at `at`, with where it sits;
/// `None` when the references have no chunk there (a missing field).
///
/// # Errors
/// As [`locate`], or a malformed reference set.
pub fn field_chunk(
    store: &RefStore,
    var: &Variable,
    at: &FieldAt,
) -> Result<(Located, Option<RefValue>)> {
    let axes = store.axes(var)?;
    let located = locate(var, &axes, at)?;
    let chunk = store.chunk(&var.path, &located.chunk)?.cloned();
    Ok((located, chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_layout() {
        let f = FieldPlan {
            name: "2t".into(),
            parts: vec![RefValue::range("a", 0, 1), RefValue::range("a", 1, 1)],
            grid: (721, 1440),
            scale: None,
            source: "t2m".into(),
        };
        assert_eq!(field_shape(&f, Layout::Grid), vec![721, 1440]);
        assert_eq!(field_shape(&f, Layout::Aifs), vec![2, 721 * 1440]);
        assert_eq!(state_field_shape(&f, Layout::Grid, None), vec![721, 1440]);
        assert_eq!(state_field_shape(&f, Layout::Grid, Some(9)), vec![9]);
        assert_eq!(state_field_shape(&f, Layout::Aifs, Some(9)), vec![2, 9]);
    }

    #[test]
    fn bytes_that_are_not_grib_are_named() {
        let part = RefValue::range("s3://b/f.grib2", 10, 4);
        let f = FieldPlan {
            name: "2t".into(),
            parts: vec![part.clone()],
            grid: (1, 1),
            scale: None,
            source: "t2m".into(),
        };
        let e = decode_field(&f, &[b"HTML"], Dtype::F32).unwrap_err();
        assert!(e.to_string().contains("s3://b/f.grib2 bytes 10+4"), "{e}");
        let e = decode_field::<&[u8]>(&f, &[], Dtype::F32).unwrap_err();
        assert!(matches!(
            e,
            AssembleError::Parts {
                got: 0,
                want: 1,
                ..
            }
        ));
    }

    #[test]
    fn locate_uses_dimension_names_and_values() {
        let var = Variable {
            path: "t/instant/isobaricInhPa/t".into(),
            name: "t".into(),
            group: "t/instant/isobaricInhPa".into(),
            dims: [
                "time",
                "step",
                "isobaricInhPa",
                "number",
                "latitude",
                "longitude",
            ]
            .map(String::from)
            .to_vec(),
            shape: vec![1, 2, 3, 51, 721, 1440],
            chunks: vec![1, 1, 1, 1, 721, 1440],
            dtype: "<f8".into(),
            coords: vec![],
            attrs: serde_json::Map::new(),
            chunks_present: 0,
        };
        let axes = Axes {
            time: vec![100],
            step: vec![0, 6],
            level: Some(("isobaricInhPa".into(), vec![500.0, 850.0, 1000.0])),
            number: (0..51).collect(),
            number_is_dim: true,
            level_is_dim: true,
        };
        let at = FieldAt {
            step: Some(6),
            level: Some(850.0),
            member: Some(7),
            ..FieldAt::default()
        };
        let l = locate(&var, &axes, &at).unwrap();
        assert_eq!(l.chunk, vec![0, 1, 1, 7, 0, 0]);
        assert_eq!((l.time, l.step, l.member), (Some(100), Some(6), Some(7)));
        let bad = FieldAt {
            step: Some(12),
            ..FieldAt::default()
        };
        let e = locate(&var, &axes, &bad).unwrap_err();
        assert!(e.to_string().contains("step 12"), "{e}");
    }
}
