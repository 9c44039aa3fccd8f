//! Python pickles of AIFS input states, streamed: `{"date": datetime.datetime,
//! "fields": {name: numpy.ndarray}}` (plus optional extra arrays such as
//! `latitudes`/`longitudes`), written field by field so a member is never
//! held in memory whole.
//!
//! serde-pickle cannot emit numpy arrays or datetimes, so this writes the
//! protocol-3 opcodes itself. Arrays are rebuilt the way numpy pickles them
//! (`numpy._core.multiarray._reconstruct` + `BUILD` with the dtype and raw
//! bytes), which numpy 1.26 and 2.x load without warnings.

use crate::npy::Dtype;
use std::io::{self, Write};

const PROTO: u8 = 0x80;
const STOP: u8 = b'.';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const MARK: u8 = b'(';
const TUPLE: u8 = b't';
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const GLOBAL: u8 = b'c';
const REDUCE: u8 = b'R';
const BUILD: u8 = b'b';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const BINUNICODE: u8 = b'X';
const BINBYTES: u8 = b'B';
const SHORT_BINBYTES: u8 = b'C';
const NONE: u8 = b'N';
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;

/// A date and time for the state's `"date"` (naive, UTC by convention, as anemoi uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

fn int<W: Write>(w: &mut W, v: i64) -> io::Result<()> {
    if (0..256).contains(&v) {
        w.write_all(&[BININT1, v as u8])
    } else if (0..65536).contains(&v) {
        w.write_all(&[BININT2])?;
        w.write_all(&(v as u16).to_le_bytes())
    } else if let Ok(v32) = i32::try_from(v) {
        w.write_all(&[BININT])?;
        w.write_all(&v32.to_le_bytes())
    } else {
        // LONG1 with 8 little-endian two's-complement bytes.
        w.write_all(&[0x8a, 8])?;
        w.write_all(&v.to_le_bytes())
    }
}

fn text<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    w.write_all(&[BINUNICODE])?;
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn global<W: Write>(w: &mut W, module: &str, name: &str) -> io::Result<()> {
    w.write_all(&[GLOBAL])?;
    w.write_all(module.as_bytes())?;
    w.write_all(b"\n")?;
    w.write_all(name.as_bytes())?;
    w.write_all(b"\n")
}

fn datetime<W: Write>(w: &mut W, d: Date) -> io::Result<()> {
    global(w, "datetime", "datetime")?;
    let [yh, yl] = d.year.to_be_bytes();
    w.write_all(&[
        SHORT_BINBYTES,
        10,
        yh,
        yl,
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second,
        0,
        0,
        0,
    ])?;
    w.write_all(&[TUPLE1, REDUCE])
}

fn dtype<W: Write>(w: &mut W, dt: Dtype) -> io::Result<()> {
    global(w, "numpy", "dtype")?;
    text(w, if dt == Dtype::F32 { "f4" } else { "f8" })?;
    w.write_all(&[NEWFALSE, NEWTRUE, TUPLE3, REDUCE, MARK])?;
    int(w, 3)?;
    text(w, "<")?;
    w.write_all(&[NONE, NONE, NONE])?;
    int(w, -1)?;
    int(w, -1)?;
    int(w, 0)?;
    w.write_all(&[TUPLE, BUILD])
}

/// Writes the opcodes of an ndarray up to its raw data; the caller then
/// writes exactly `len` bytes of little-endian data and calls [`array_end`].
fn array_begin<W: Write>(w: &mut W, dt: Dtype, shape: &[usize]) -> io::Result<u64> {
    let count: u64 = shape.iter().map(|&n| n as u64).product();
    let len = count * dt.size() as u64;
    let len32 = u32::try_from(len).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("array of {len} bytes exceeds a pickle protocol-3 bytes object (4 GiB)"),
        )
    })?;
    global(w, "numpy._core.multiarray", "_reconstruct")?;
    global(w, "numpy", "ndarray")?;
    int(w, 0)?;
    w.write_all(&[TUPLE1, SHORT_BINBYTES, 1, b'b', TUPLE3, REDUCE, MARK])?;
    int(w, 1)?;
    match shape {
        [] => w.write_all(b")")?,
        [a] => {
            int(w, *a as i64)?;
            w.write_all(&[TUPLE1])?;
        }
        [a, b] => {
            int(w, *a as i64)?;
            int(w, *b as i64)?;
            w.write_all(&[TUPLE2])?;
        }
        [a, b, c] => {
            int(w, *a as i64)?;
            int(w, *b as i64)?;
            int(w, *c as i64)?;
            w.write_all(&[TUPLE3])?;
        }
        _ => {
            w.write_all(&[MARK])?;
            for &n in shape {
                int(w, n as i64)?;
            }
            w.write_all(&[TUPLE])?;
        }
    }
    dtype(w, dt)?;
    w.write_all(&[NEWFALSE, BINBYTES])?;
    w.write_all(&len32.to_le_bytes())?;
    Ok(len)
}

fn array_end<W: Write>(w: &mut W) -> io::Result<()> {
    w.write_all(&[TUPLE, BUILD])
}

/// Streams one state pickle: `{"date": …, "fields": {…}, extra…}`.
///
/// Call [`StateWriter::field`] once per field, in the order they should
/// appear, then [`StateWriter::finish`]. The writer checks that each field
/// gets exactly the bytes its shape announces.
#[derive(Debug)]
pub struct StateWriter<W: Write> {
    w: W,
    in_fields: bool,
}

impl<W: Write> StateWriter<W> {
    /// Starts the pickle and writes `"date"`.
    ///
    /// # Errors
    /// Any error of the underlying writer.
    pub fn new(mut w: W, date: Date) -> io::Result<Self> {
        w.write_all(&[PROTO, 3, EMPTY_DICT])?;
        text(&mut w, "date")?;
        datetime(&mut w, date)?;
        w.write_all(&[SETITEM])?;
        text(&mut w, "fields")?;
        w.write_all(&[EMPTY_DICT])?;
        Ok(Self { w, in_fields: true })
    }

    /// Writes one field: `name` → ndarray of `shape`; `fill` must write
    /// exactly the array's bytes (little-endian, C order) to the writer it gets.
    ///
    /// # Errors
    /// A writer error, a field after [`StateWriter::top_level_array`], or `fill` writing the wrong number of bytes.
    pub fn field(
        &mut self,
        name: &str,
        dt: Dtype,
        shape: &[usize],
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if !self.in_fields {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "fields must come before top-level arrays",
            ));
        }
        self.array(name, dt, shape, fill)
    }

    fn array(
        &mut self,
        name: &str,
        dt: Dtype,
        shape: &[usize],
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        text(&mut self.w, name)?;
        let len = array_begin(&mut self.w, dt, shape)?;
        let mut counted = Counted {
            inner: &mut self.w,
            n: 0,
        };
        fill(&mut counted)?;
        if counted.n != len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "field {name}: wrote {} bytes, its shape needs {len}",
                    counted.n
                ),
            ));
        }
        array_end(&mut self.w)?;
        self.w.write_all(&[SETITEM])
    }

    /// Closes `"fields"` (if still open) and writes an array at the top level
    /// of the state, e.g. `latitudes`.
    ///
    /// # Errors
    /// As [`StateWriter::field`].
    pub fn top_level_array(
        &mut self,
        name: &str,
        dt: Dtype,
        shape: &[usize],
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        self.close_fields()?;
        self.array(name, dt, shape, fill)
    }

    fn close_fields(&mut self) -> io::Result<()> {
        if self.in_fields {
            self.w.write_all(&[SETITEM])?;
            self.in_fields = false;
        }
        Ok(())
    }

    /// Ends the pickle and returns the writer.
    ///
    /// # Errors
    /// Any error of the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.close_fields()?;
        self.w.write_all(&[STOP])?;
        self.w.flush()?;
        Ok(self.w)
    }
}

struct Counted<'a, W: Write> {
    inner: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `values` as little-endian bytes, 64 Ki values at a time.
fn write_le<T: crate::npy::LeBytes>(w: &mut dyn Write, values: &[T]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(values.len().min(1 << 16) * T::SIZE);
    for chunk in values.chunks(1 << 16) {
        buf.clear();
        crate::npy::extend_le(&mut buf, chunk);
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Writes a whole f32 slice as little-endian bytes (helper for `fill`).
///
/// # Errors
/// Any error of the writer.
pub fn write_f32s(w: &mut dyn Write, values: &[f32]) -> io::Result<()> {
    write_le(w, values)
}

/// Writes a whole f64 slice as little-endian bytes (helper for `fill`).
///
/// # Errors
/// Any error of the writer.
pub fn write_f64s(w: &mut dyn Write, values: &[f64]) -> io::Result<()> {
    write_le(w, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_byte_count_is_refused() {
        let mut s = StateWriter::new(
            Vec::new(),
            Date {
                year: 2026,
                month: 5,
                day: 12,
                hour: 6,
                minute: 0,
                second: 0,
            },
        )
        .unwrap();
        let e = s
            .field("2t", Dtype::F32, &[2, 3], |w| write_f32s(w, &[1.0; 5]))
            .unwrap_err();
        assert!(e.to_string().contains("needs 24"), "{e}");
    }

    #[test]
    fn stream_is_well_formed() {
        let mut s = StateWriter::new(
            Vec::new(),
            Date {
                year: 2026,
                month: 5,
                day: 12,
                hour: 6,
                minute: 0,
                second: 0,
            },
        )
        .unwrap();
        s.field("2t", Dtype::F32, &[2, 3], |w| write_f32s(w, &[1.0; 6]))
            .unwrap();
        let bytes = s.finish().unwrap();
        assert_eq!(&bytes[..3], &[PROTO, 3, EMPTY_DICT]);
        assert_eq!(*bytes.last().unwrap(), STOP);
        // The raw data follows the BINBYTES opcode with its length.
        let pos = bytes
            .windows(5)
            .position(|w| w == [BINBYTES, 24, 0, 0, 0])
            .unwrap();
        assert_eq!(&bytes[pos + 5..pos + 9], &1.0f32.to_le_bytes());
    }
}
