//! Minimal parquet tables: flat columns of byte strings and integers, read
//! and written with the parquet crate's low-level API (no arrow).
//!
//! The engine (`engine.rs`) is the cargo feature `parquet`; without it
//! [`read_table`] and [`write_table`] fail with [`RefsError::NotBuiltIn`]
//! and the parquet crate is not linked (the npm package's lite module).

use super::{RefsError, Result};

#[cfg(feature = "parquet")]
mod engine;
#[cfg(feature = "parquet")]
pub(crate) use engine::{read_table, write_table};

/// One column's values; `None` for nulls.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) enum Column {
    Bytes(Vec<Option<Vec<u8>>>),
    Int(Vec<Option<i64>>),
}

/// A flat table: column names and values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub(crate) columns: Vec<(String, Column)>,
}

impl Table {
    pub(crate) fn take(&mut self, name: &str) -> Option<Column> {
        let i = self.columns.iter().position(|(n, _)| n == name)?;
        Some(self.columns.swap_remove(i).1)
    }
}

/// Without the cargo feature `parquet`: no parquet file can be read.
#[cfg(not(feature = "parquet"))]
pub(crate) fn read_table(file: &str, _bytes: &[u8], _wanted: &[&str]) -> Result<Table> {
    Err(not_built_in(file))
}

/// Without the cargo feature `parquet`: no parquet file can be written.
#[cfg(not(feature = "parquet"))]
pub(crate) fn write_table(file: &str, _columns: &[OutColumn<'_>]) -> Result<Vec<u8>> {
    Err(not_built_in(file))
}

#[cfg(not(feature = "parquet"))]
fn not_built_in(file: &str) -> RefsError {
    RefsError::NotBuiltIn {
        what: format!("{file}: parquet references"),
        feature: "parquet",
    }
}

/// A column to write.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(crate) enum OutColumn<'a> {
    /// Nullable byte strings; `utf8` marks them as strings.
    Bytes {
        name: &'a str,
        utf8: bool,
        values: Vec<Option<&'a [u8]>>,
    },
    /// Required 64-bit integers.
    Int { name: &'a str, values: Vec<i64> },
}

/// Requires `column` to be a byte column.
pub(crate) fn bytes_column(
    file: &str,
    name: &str,
    column: Option<Column>,
) -> Result<Vec<Option<Vec<u8>>>> {
    match column {
        Some(Column::Bytes(v)) => Ok(v),
        Some(Column::Int(_)) => Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("column {name} holds integers, expected strings or bytes"),
        }),
        None => Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("no column {name}"),
        }),
    }
}

/// Requires `column` to be an integer column.
pub(crate) fn int_column(
    file: &str,
    name: &str,
    column: Option<Column>,
) -> Result<Vec<Option<i64>>> {
    match column {
        Some(Column::Int(v)) => Ok(v),
        Some(Column::Bytes(_)) => Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("column {name} holds bytes, expected integers"),
        }),
        None => Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("no column {name}"),
        }),
    }
}
