//! The concept rows, their values and strings: most of the parameter tables,
//! kept as binary tables beside `generated.rs` (written by
//! `core/tables/gen_tables.py`, format in its `blob`).
//!
//! `concepts.bin` holds all of them; `concepts-open-data.bin` the rows of the
//! parameters of ECMWF's open data (by discipline/category/number) and every
//! row that fixes no such triple. A message whose triple is one of those, or
//! that has none, is named by the subset exactly as by the whole (a test
//! below checks the subset is the whole, filtered).
//!
//! With the cargo feature `full-tables` (default) the whole tables are built
//! in. Without it (the npm package, where every byte is downloaded before the
//! first field) only the open-data subset is; [`Field::meta`] of a message
//! outside it fails with [`Error::ParameterTables`] until
//! [`load_parameter_tables`] got the whole tables.
//!
//! [`Field::meta`]: crate::grib::Field::meta
//! [`Error::ParameterTables`]: crate::Error::ParameterTables

use std::sync::OnceLock;

use super::{Row, Table};

const MAGIC: &[u8; 8] = b"GIKCPT1\0";
/// The inflated tables are ~1.5 MB; this bounds what hostile bytes can make us allocate.
const MAX_INFLATED: usize = 64 << 20;

/// The whole tables (`concepts.bin`), when built in.
#[cfg(feature = "full-tables")]
const FULL_BYTES: &[u8] = include_bytes!("concepts.bin");
/// The open-data subset (`concepts-open-data.bin`).
#[cfg(any(test, not(feature = "full-tables")))]
const OPEN_DATA_BYTES: &[u8] = include_bytes!("concepts-open-data.bin");

/// Concept tables read from their binary form.
#[derive(Debug, Default)]
pub(crate) struct Concepts {
    /// The discipline/category/number triples whose rows are all here,
    /// sorted; `None`: every row is here.
    covers: Option<Vec<u32>>,
    pub tables: Vec<Table>,
    pub rows: Vec<Row>,
    pub values: Vec<u32>,
    /// Borrowed from the tables' bytes (built in, or leaked once when loaded).
    pub strings: Vec<&'static str>,
}

impl Concepts {
    /// True when every row a message with triple `dcn` (or none) can match is here.
    pub(crate) fn covers(&self, dcn: Option<u32>) -> bool {
        match (&self.covers, dcn) {
            (None, _) | (_, None) => true,
            (Some(list), Some(dcn)) => list.binary_search(&dcn).is_ok(),
        }
    }

    /// Reads the binary form (uncompressed).
    fn parse(bytes: &'static [u8]) -> Result<Self, TablesError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(TablesError::Format("not gik parameter tables (bad magic)"));
        }
        let covers = match r.u32()? {
            u32::MAX => None,
            n => Some(r.list(n, |r| r.u32())?),
        };
        let tables = r.count_list(|r| {
            Ok(Table {
                rows: r.u32()?,
                len: r.u32()?,
                width: r.u8()?,
            })
        })?;
        let rows = r.count_list(|r| {
            Ok(Row(
                r.u32()?,
                r.u32()?,
                r.u32()?,
                r.u8()?,
                r.u8()?,
                r.u32()?,
            ))
        })?;
        let values = r.count_list(Reader::u32)?;
        let strings = r.count_list(|r| {
            let len = r.u32()? as usize;
            std::str::from_utf8(r.take(len)?)
                .map_err(|_| TablesError::Format("a string is not UTF-8"))
        })?;
        if r.at != bytes.len() {
            return Err(TablesError::Format("bytes after the strings"));
        }
        let c = Self {
            covers,
            tables,
            rows,
            values,
            strings,
        };
        c.check()?;
        Ok(c)
    }

    /// Every index in range and rows sorted, so evaluation needs no other check.
    fn check(&self) -> Result<(), TablesError> {
        let bad = |what| Err(TablesError::Format(what));
        if self.tables.len() != super::generated::NUM_TABLES {
            return bad("not the number of tables this gik knows");
        }
        for t in &self.tables {
            let end = u64::from(t.rows) + u64::from(t.len);
            if end > self.rows.len() as u64 {
                return bad("a table's rows are outside the rows");
            }
            let rows = &self.rows[t.rows as usize..end as usize];
            if !rows.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)) {
                return bad("a table's rows are not sorted");
            }
            for row in rows {
                let conds = u64::from(row.2) + u64::from(row.3);
                let values = u64::from(row.5) + u64::from(t.width);
                if conds > super::generated::CONDS.len() as u64 || values > self.values.len() as u64
                {
                    return bad("a row's conditions or values are out of range");
                }
            }
        }
        if self
            .values
            .iter()
            .any(|v| *v as usize >= self.strings.len())
        {
            return bad("a value names no string");
        }
        if self
            .covers
            .as_ref()
            .is_some_and(|c| !c.windows(2).all(|w| w[0] < w[1]))
        {
            return bad("the covered triples are not sorted");
        }
        Ok(())
    }
}

struct Reader {
    bytes: &'static [u8],
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> Result<&'static [u8], TablesError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(TablesError::Format("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, TablesError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, TablesError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn list<T>(
        &mut self,
        n: u32,
        mut item: impl FnMut(&mut Self) -> Result<T, TablesError>,
    ) -> Result<Vec<T>, TablesError> {
        // Every item takes at least a byte: a count past the bytes left is a lie.
        if n as usize > self.bytes.len() - self.at {
            return Err(TablesError::Format("a count exceeds the bytes"));
        }
        (0..n).map(|_| item(self)).collect()
    }
    fn count_list<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> Result<T, TablesError>,
    ) -> Result<Vec<T>, TablesError> {
        let n = self.u32()?;
        self.list(n, item)
    }
}

/// Why parameter tables could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TablesError {
    /// The bytes are not (complete) gik parameter tables.
    #[error("parameter tables: {0}")]
    Format(&'static str),
    /// Deflated bytes that do not inflate.
    #[error("parameter tables: cannot inflate: {0}")]
    Inflate(String),
}

static FULL: OnceLock<Concepts> = OnceLock::new();

/// The whole tables.
#[cfg(feature = "full-tables")]
pub(crate) fn full() -> &'static Concepts {
    // The built-in bytes are checked by the tests; were they ever bad, no
    // concept would match (names `unknown`) rather than a panic.
    FULL.get_or_init(|| Concepts::parse(FULL_BYTES).unwrap_or_default())
}

/// The open-data subset.
#[cfg(any(test, not(feature = "full-tables")))]
pub(crate) fn open_data() -> &'static Concepts {
    static OPEN_DATA: OnceLock<Concepts> = OnceLock::new();
    OPEN_DATA.get_or_init(|| Concepts::parse(OPEN_DATA_BYTES).unwrap_or_default())
}

/// The tables concepts are evaluated with now.
pub(crate) fn loaded() -> &'static Concepts {
    #[cfg(feature = "full-tables")]
    {
        full()
    }
    #[cfg(not(feature = "full-tables"))]
    {
        FULL.get().unwrap_or_else(open_data)
    }
}

/// True when the parameter tables loaded now name every parameter exactly
/// as ecCodes (always, with the cargo feature `full-tables`); false when only
/// the built-in open-data subset is there.
#[must_use]
pub fn parameter_tables_complete() -> bool {
    loaded().covers.is_none()
}

/// Loads the whole parameter tables: `concepts.bin` as `gen_tables.py`
/// writes it, raw or deflated (raw DEFLATE, as the npm package ships it in
/// `gik_tables.bin`). Needed only by builds without the cargo feature
/// `full-tables`, for messages outside ECMWF's open-data parameters; a
/// second load is a no-op.
///
/// # Errors
/// Bytes that do not inflate, or are not complete tables of this gik's
/// format and ecCodes version.
pub fn load_parameter_tables(bytes: &[u8]) -> Result<(), TablesError> {
    if FULL.get().is_some() {
        return Ok(());
    }
    let raw = if bytes.starts_with(MAGIC) {
        bytes.to_vec()
    } else {
        miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, MAX_INFLATED)
            .map_err(|e| TablesError::Inflate(e.to_string()))?
    };
    // The strings borrow from the bytes for the rest of the process, as the
    // built-in tables' do (loaded once: a second load returns above).
    let raw: &'static [u8] = Box::leak(raw.into_boxed_slice());
    let c = Concepts::parse(raw)?;
    if c.covers.is_some() {
        return Err(TablesError::Format(
            "these are the open-data subset, not the whole tables",
        ));
    }
    // Another thread may have loaded them meanwhile: the same tables.
    let _ = FULL.set(c);
    Ok(())
}

#[cfg(test)]
#[cfg(feature = "full-tables")]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tables_parse() {
        assert!(Concepts::parse(FULL_BYTES).unwrap().covers.is_none());
        let open = Concepts::parse(OPEN_DATA_BYTES).unwrap();
        // 2t (0.0.0), tp (0.1.52), swh (10.0.3)
        for dcn in [0, 0x0134, 0x0a_0003] {
            assert!(open.covers(Some(dcn)), "{dcn:#x}");
        }
        // atmospheric chemistry (0.20.2) is not open data
        assert!(!open.covers(Some(0x1402)));
        assert!(open.covers(None));
    }

    /// The subset is the whole tables with only the rows of its triples and
    /// those without one, in the same order with the same strings: a
    /// message it covers matches the same rows.
    #[test]
    fn open_data_subset_is_the_whole_filtered() {
        let full = Concepts::parse(FULL_BYTES).unwrap();
        let open = Concepts::parse(OPEN_DATA_BYTES).unwrap();
        assert_eq!(full.tables.len(), open.tables.len());
        let mut kept = 0;
        for (f, o) in full.tables.iter().zip(&open.tables) {
            assert_eq!(f.width, o.width);
            /// A row's keys and its values' strings.
            type RowView = (u32, u32, u32, u8, u8, Vec<&'static str>);
            fn rows(c: &Concepts, t: &Table) -> Vec<RowView> {
                c.rows[t.rows as usize..(t.rows + t.len) as usize]
                    .iter()
                    .map(|r| {
                        let values: Vec<&'static str> = (0..t.width)
                            .map(|i| c.strings[c.values[r.5 as usize + usize::from(i)] as usize])
                            .collect();
                        (r.0, r.1, r.2, r.3, r.4, values)
                    })
                    .collect()
            }
            let want: Vec<_> = rows(&full, f)
                .into_iter()
                .filter(|r| r.0 == u32::MAX || open.covers(Some(r.0)))
                .collect();
            kept += want.len();
            assert_eq!(rows(&open, o), want);
        }
        assert_eq!(kept, open.rows.len());
        assert!(open.rows.len() * 5 < full.rows.len());
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(matches!(
            load_parameter_tables(b"not tables"),
            Err(TablesError::Inflate(_))
        ));
        assert!(load_parameter_tables(OPEN_DATA_BYTES).is_err());
        for cut in [8, 12, 100, FULL_BYTES.len() - 1] {
            assert!(Concepts::parse(&FULL_BYTES[..cut]).is_err(), "{cut}");
        }
        let deflated = miniz_oxide::deflate::compress_to_vec(FULL_BYTES, 6);
        load_parameter_tables(&deflated).unwrap();
        assert!(parameter_tables_complete());
    }
}
