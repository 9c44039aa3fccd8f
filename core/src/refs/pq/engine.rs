//! The parquet crate's side of [`super`]: reading and writing the tables
//! (cargo feature `parquet`).

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, Type as PhysicalType};
use parquet::column::reader::ColumnReader;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use super::{Column, OutColumn, Table};
use crate::refs::{RefsError, Result};

/// Largest number of rows gik reads from one reference parquet file.
const MAX_ROWS: i64 = 200_000_000;

fn pq_err(file: &str) -> impl Fn(parquet::errors::ParquetError) -> RefsError + '_ {
    move |source| RefsError::Parquet {
        file: file.to_string(),
        source,
    }
}

/// Reads the columns named in `wanted` (others are ignored). Byte-array
/// columns (utf8, large_utf8, binary, large_binary: all BYTE_ARRAY in
/// parquet) become [`Column::Bytes`]; INT32/INT64 become [`Column::Int`].
///
/// The parquet crate asserts on some corrupt files instead of returning an
/// error, and on `wasm32-unknown-unknown` a panic aborts (the module
/// traps). So what it would assert on is checked first: the thrift
/// metadata of the footer and of every page header (`thrift.rs`: a bool
/// field of another type), and each column chunk's pages (`check_pages`:
/// dictionary indices past the dictionary, a dictionary-encoded page
/// without a dictionary, a dictionary larger than its page). The
/// `seed_parquet` and `parquet_dir` fuzz targets find what is left: they
/// build with `cfg(fuzzing)`, where nothing is caught. As a last resort a
/// panic is still caught here natively and returned as
/// [`RefsError::ParquetSchema`] (the default panic hook prints it), and the
/// web page replaces a trapped worker (web/app.js, tested in Chromium).
pub(crate) fn read_table(file: &str, bytes: &[u8], wanted: &[&str]) -> Result<Table> {
    // Fuzzing (`cargo fuzz` sets cfg(fuzzing)) must see those panics: they
    // trap in wasm, so each needs a check before the call.
    #[cfg(fuzzing)]
    return read_table_inner(file, bytes, wanted);
    #[cfg(not(fuzzing))]
    match std::panic::catch_unwind(|| read_table_inner(file, bytes, wanted)) {
        Ok(r) => r,
        Err(_) => Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: "corrupt parquet data (the parquet decoder gave up)".to_string(),
        }),
    }
}

fn read_table_inner(file: &str, bytes: &[u8], wanted: &[&str]) -> Result<Table> {
    crate::refs::thrift::check(bytes).map_err(|reason| RefsError::ParquetSchema {
        file: file.to_string(),
        reason,
    })?;
    let reader = SerializedFileReader::new(Bytes::copy_from_slice(bytes)).map_err(pq_err(file))?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let rows = meta.file_metadata().num_rows();
    if !(0..=MAX_ROWS).contains(&rows) {
        return Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("{rows} rows is outside 0..={MAX_ROWS}"),
        });
    }
    check_codecs(file, meta)?;
    let mut table = Table::default();
    for (ci, col) in schema.columns().iter().enumerate() {
        let name = col.path().parts().join(".");
        if !wanted.contains(&name.as_str()) {
            continue;
        }
        let data = read_column(file, &reader, ci, col, &name)?;
        table.columns.push((name, data));
    }
    Ok(table)
}

/// Refuses codecs we cannot decode with a clear error, before touching pages.
fn check_codecs(file: &str, meta: &parquet::file::metadata::ParquetMetaData) -> Result<()> {
    for rg in meta.row_groups() {
        for c in rg.columns() {
            let codec = match c.compression() {
                Compression::UNCOMPRESSED
                | Compression::SNAPPY
                | Compression::GZIP(_)
                | Compression::LZ4
                | Compression::LZ4_RAW => continue,
                Compression::ZSTD(_) => "zstd",
                Compression::BROTLI(_) => "brotli",
                Compression::LZO => "lzo",
            };
            return Err(RefsError::UnsupportedCompression {
                file: file.to_string(),
                codec: codec.to_string(),
            });
        }
    }
    Ok(())
}

/// Reads column `ci` (`col`, named `name`) of every row group: a flat byte
/// array or integer column, its pages checked before they are decoded.
fn read_column(
    file: &str,
    reader: &SerializedFileReader<Bytes>,
    ci: usize,
    col: &parquet::schema::types::ColumnDescriptor,
    name: &str,
) -> Result<Column> {
    if col.max_rep_level() > 0 || col.path().parts().len() != 1 {
        return Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("column {name} is nested; reference parquet columns are flat"),
        });
    }
    let nullable = col.max_def_level() > 0;
    let mut data = match col.physical_type() {
        PhysicalType::BYTE_ARRAY => Column::Bytes(Vec::new()),
        PhysicalType::INT64 | PhysicalType::INT32 => Column::Int(Vec::new()),
        other => {
            return Err(RefsError::ParquetSchema {
                file: file.to_string(),
                reason: format!(
                    "column {name} has physical type {other}, expected a byte array or an integer"
                ),
            })
        }
    };
    for rg in 0..reader.num_row_groups() {
        let rg_reader = reader.get_row_group(rg).map_err(pq_err(file))?;
        let n = usize::try_from(rg_reader.metadata().num_rows()).unwrap_or(0);
        check_pages(
            file,
            name,
            rg_reader.as_ref(),
            ci,
            col.max_def_level(),
            col.physical_type() == PhysicalType::BYTE_ARRAY,
        )?;
        let reader_c = rg_reader.get_column_reader(ci).map_err(pq_err(file))?;
        read_chunk(file, name, nullable, reader_c, n, &mut data)?;
    }
    Ok(data)
}

/// Decodes the `n` rows of one column chunk through `reader_c`, appending them to `data`.
fn read_chunk(
    file: &str,
    name: &str,
    nullable: bool,
    reader_c: ColumnReader,
    n: usize,
    data: &mut Column,
) -> Result<()> {
    let mut defs: Vec<i16> = Vec::new();
    match (reader_c, data) {
        (ColumnReader::ByteArrayColumnReader(mut r), Column::Bytes(out)) => {
            let mut vals: Vec<ByteArray> = Vec::new();
            read_all(
                file,
                n,
                |left, d, v| r.read_records(left, d, None, v),
                &mut defs,
                &mut vals,
            )?;
            spread(
                file,
                name,
                nullable,
                &defs,
                vals.into_iter().map(|b| b.data().to_vec()),
                n,
                out,
            )?;
        }
        (ColumnReader::Int64ColumnReader(mut r), Column::Int(out)) => {
            let mut vals: Vec<i64> = Vec::new();
            read_all(
                file,
                n,
                |left, d, v| r.read_records(left, d, None, v),
                &mut defs,
                &mut vals,
            )?;
            spread(file, name, nullable, &defs, vals.into_iter(), n, out)?;
        }
        (ColumnReader::Int32ColumnReader(mut r), Column::Int(out)) => {
            let mut vals: Vec<i32> = Vec::new();
            read_all(
                file,
                n,
                |left, d, v| r.read_records(left, d, None, v),
                &mut defs,
                &mut vals,
            )?;
            spread(
                file,
                name,
                nullable,
                &defs,
                vals.into_iter().map(i64::from),
                n,
                out,
            )?;
        }
        _ => {
            return Err(RefsError::ParquetSchema {
                file: file.to_string(),
                reason: format!("column {name}: unexpected reader type"),
            })
        }
    }
    Ok(())
}

/// Checks, before the parquet crate decodes a column chunk, what it would
/// assert on (and so panic, a trap in wasm) or allocate without bound:
/// a dictionary page declaring more values than its bytes can hold (the
/// crate allocates them all first), a dictionary-encoded page without a
/// dictionary page before it (`Must call set_dict() first!`), and a
/// dictionary index past the dictionary (`encodings/rle.rs` indexes the
/// dictionary with it), and a plain byte array longer than the rest of its
/// page (the crate's bounds check, `start + len`, wraps with wasm32's
/// 32-bit `usize`, and the slice then traps). Pages are decompressed once
/// more for this; reference files are small.
fn check_pages(
    file: &str,
    name: &str,
    rg: &dyn parquet::file::reader::RowGroupReader,
    ci: usize,
    max_def: i16,
    byte_array: bool,
) -> Result<()> {
    use parquet::basic::Encoding;
    use parquet::column::page::Page;
    let corrupt = |reason: String| RefsError::ParquetSchema {
        file: file.to_string(),
        reason: format!("column {name}: {reason}"),
    };
    let is_dict = |e: Encoding| matches!(e, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY);
    // the smallest encoded value: a byte array's 4-byte length, an INT32
    let min_size = 4u64;
    let mut dict_len: Option<u64> = None;
    for page in rg.get_column_page_reader(ci).map_err(pq_err(file))? {
        let page = page.map_err(pq_err(file))?;
        match page {
            Page::DictionaryPage {
                buf, num_values, ..
            } => {
                if u64::from(num_values) * min_size > buf.len() as u64 {
                    return Err(corrupt(format!(
                        "dictionary page declares {num_values} values in {} bytes",
                        buf.len()
                    )));
                }
                if byte_array {
                    check_byte_arrays(&buf, u64::from(num_values), &corrupt)?;
                }
                dict_len = Some(u64::from(num_values));
            }
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                ..
            } if is_dict(encoding) || (byte_array && encoding == Encoding::PLAIN) => {
                let mut values = &buf[..];
                let mut present = u64::from(num_values);
                if max_def > 0 {
                    if def_level_encoding != Encoding::RLE {
                        return Err(corrupt(format!(
                            "definition levels encoded as {def_level_encoding}, expected RLE"
                        )));
                    }
                    let len = values
                        .get(..4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                        .ok_or_else(|| corrupt("data page cut short".to_string()))?;
                    let levels = values
                        .get(4..4 + len)
                        .ok_or_else(|| corrupt("definition levels cut short".to_string()))?;
                    let width = (16 - max_def.leading_zeros()) as u8;
                    present = 0;
                    rle_hybrid(
                        levels,
                        width,
                        u64::from(num_values),
                        |v, n| {
                            present += if v == max_def as u64 { n } else { 0 };
                            Ok(())
                        },
                        &corrupt,
                    )?;
                    values = &values[4 + len..];
                }
                if is_dict(encoding) {
                    check_indices(values, present, dict_len, &corrupt)?;
                } else {
                    check_byte_arrays(values, present, &corrupt)?;
                }
            }
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                num_nulls,
                def_levels_byte_len,
                rep_levels_byte_len,
                ..
            } if is_dict(encoding) || (byte_array && encoding == Encoding::PLAIN) => {
                let at = def_levels_byte_len as usize + rep_levels_byte_len as usize;
                let values = buf
                    .get(at..)
                    .ok_or_else(|| corrupt("levels longer than the page".to_string()))?;
                let present = u64::from(num_values.saturating_sub(num_nulls));
                if is_dict(encoding) {
                    check_indices(values, present, dict_len, &corrupt)?;
                } else {
                    check_byte_arrays(values, present, &corrupt)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks that the first `count` plain-encoded byte arrays of `values`
/// (each a 4-byte length and its bytes) fit in it, counting in `u64`.
fn check_byte_arrays(
    values: &[u8],
    count: u64,
    corrupt: &dyn Fn(String) -> RefsError,
) -> Result<()> {
    let mut at = 0u64;
    let end = values.len() as u64;
    for _ in 0..count {
        // (the crate asserts there are 4 bytes for the length: `bit_util.rs`)
        let Some(b) = values.get(at as usize..at as usize + 4) else {
            return Err(corrupt(format!(
                "the page ends ({end} bytes) where a byte array's length should be"
            )));
        };
        let len = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        at += 4;
        if at + len > end {
            return Err(corrupt(format!(
                "a byte array of {len} bytes at byte {at} reaches past the end of its page ({end} bytes)"
            )));
        }
        at += len;
    }
    Ok(())
}

/// Checks the first `count` dictionary indices of a page's values (a bit
/// width byte, then RLE/bit-packed runs) against the dictionary's length.
fn check_indices(
    values: &[u8],
    count: u64,
    dict_len: Option<u64>,
    corrupt: &dyn Fn(String) -> RefsError,
) -> Result<()> {
    let Some(dict_len) = dict_len else {
        return Err(corrupt(
            "a dictionary-encoded page without a dictionary page before it".to_string(),
        ));
    };
    // (the crate itself refuses an empty page or a width over 32)
    let Some((&width, runs)) = values.split_first() else {
        return Ok(());
    };
    if width > 32 {
        return Ok(());
    }
    rle_hybrid(
        runs,
        width,
        count,
        |i, _| {
            if i >= dict_len {
                Err(corrupt(format!(
                    "dictionary index {i} past the dictionary of {dict_len} values"
                )))
            } else {
                Ok(())
            }
        },
        corrupt,
    )
}

/// Walks the first `count` values of parquet's RLE/bit-packing hybrid
/// encoding of `width`-bit values, stopping early where the bytes end (the
/// crate then reports the short page itself): `each(value, times)`.
fn rle_hybrid(
    mut b: &[u8],
    width: u8,
    mut count: u64,
    mut each: impl FnMut(u64, u64) -> Result<()>,
    corrupt: &dyn Fn(String) -> RefsError,
) -> Result<()> {
    let width = u32::from(width);
    // the crate reads the first header even when it wants no value
    let mut first = true;
    while count > 0 || first {
        first = false;
        // ULEB128 run header: a u32, so at most 5 bytes (the crate's
        // `get_vlq_int` overflows its shift past 9)
        let mut header = 0u64;
        let mut shift = 0;
        loop {
            let Some((&byte, rest)) = b.split_first() else {
                return Ok(());
            };
            b = rest;
            if shift >= 35 {
                return Err(corrupt("an RLE run header longer than 5 bytes".to_string()));
            }
            header |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        if count == 0 {
            break;
        }
        if header == 0 {
            // the crate stops at a 0 header (fastparquet pads pages with
            // them) but, asked for more values, reads on past it
            continue;
        }
        if header & 1 == 1 {
            // bit-packed: (header >> 1) groups of 8 values, LSB first
            let n = (header >> 1).saturating_mul(8);
            let bytes = usize::try_from((header >> 1).saturating_mul(u64::from(width)))
                .unwrap_or(usize::MAX)
                .min(b.len());
            let (packed, rest) = b.split_at(bytes);
            b = rest;
            let take = n.min(count);
            let mut bit = 0u64;
            for _ in 0..take {
                let mut v = 0u64;
                for k in 0..u64::from(width) {
                    let at = bit + k;
                    let Some(byte) = packed.get((at / 8) as usize) else {
                        return Ok(());
                    };
                    v |= u64::from((byte >> (at % 8)) & 1) << k;
                }
                each(v, 1)?;
                bit += u64::from(width);
            }
            count -= take;
        } else {
            // a run of one value, in ceil(width / 8) bytes
            let run = (header >> 1).min(count);
            let nbytes = (width as usize).div_ceil(8);
            let Some(vb) = b.get(..nbytes) else {
                return Ok(());
            };
            b = &b[nbytes..];
            let v = vb
                .iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
            if run > 0 {
                each(v, run)?;
            }
            count -= run;
        }
    }
    Ok(())
}

fn read_all<V>(
    file: &str,
    n: usize,
    mut read: impl FnMut(
        usize,
        Option<&mut Vec<i16>>,
        &mut Vec<V>,
    ) -> parquet::errors::Result<(usize, usize, usize)>,
    defs: &mut Vec<i16>,
    vals: &mut Vec<V>,
) -> Result<()> {
    let mut records = 0usize;
    while records < n {
        let (r, _, _) = read(n - records, Some(defs), vals).map_err(pq_err(file))?;
        if r == 0 {
            break;
        }
        records += r;
    }
    if records != n {
        return Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("expected {n} rows, read {records}"),
        });
    }
    Ok(())
}

/// Places non-null values at the rows whose definition level is the maximum.
fn spread<T>(
    file: &str,
    name: &str,
    nullable: bool,
    defs: &[i16],
    mut vals: impl Iterator<Item = T>,
    n: usize,
    out: &mut Vec<Option<T>>,
) -> Result<()> {
    let short = || RefsError::ParquetSchema {
        file: file.to_string(),
        reason: format!("column {name}: fewer values than rows"),
    };
    if nullable {
        if defs.len() != n {
            return Err(short());
        }
        for &d in defs {
            out.push(if d > 0 {
                Some(vals.next().ok_or_else(short)?)
            } else {
                None
            });
        }
    } else {
        for _ in 0..n {
            out.push(Some(vals.next().ok_or_else(short)?));
        }
    }
    Ok(())
}

/// Writes one row group with snappy compression and no statistics (as
/// fsspec writes its reference files).
pub(crate) fn write_table(file: &str, columns: &[OutColumn<'_>]) -> Result<Vec<u8>> {
    let mut fields = Vec::new();
    for c in columns {
        let t = match c {
            OutColumn::Bytes { name, utf8, .. } => {
                let b = Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                    .with_repetition(parquet::basic::Repetition::OPTIONAL);
                let b = if *utf8 {
                    b.with_logical_type(Some(parquet::basic::LogicalType::String))
                        .with_converted_type(parquet::basic::ConvertedType::UTF8)
                } else {
                    b
                };
                b.build()
            }
            OutColumn::Int { name, .. } => Type::primitive_type_builder(name, PhysicalType::INT64)
                .with_repetition(parquet::basic::Repetition::REQUIRED)
                .build(),
        }
        .map_err(pq_err(file))?;
        fields.push(Arc::new(t));
    }
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(pq_err(file))?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_created_by(format!("gik {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "pandas".to_string(),
                pandas_metadata(columns),
            )]))
            .build(),
    );
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut w = SerializedFileWriter::new(&mut buf, schema, props).map_err(pq_err(file))?;
        let mut rg = w.next_row_group().map_err(pq_err(file))?;
        let mut i = 0;
        while let Some(mut cw) = rg.next_column().map_err(pq_err(file))? {
            match columns.get(i) {
                Some(OutColumn::Bytes { values, .. }) => {
                    let defs: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                    let vals: Vec<ByteArray> = values
                        .iter()
                        .flatten()
                        .map(|b| ByteArray::from(b.to_vec()))
                        .collect();
                    cw.typed::<ByteArrayType>()
                        .write_batch(&vals, Some(&defs), None)
                        .map_err(pq_err(file))?;
                }
                Some(OutColumn::Int { values, .. }) => {
                    cw.typed::<Int64Type>()
                        .write_batch(values, None, None)
                        .map_err(pq_err(file))?;
                }
                None => {}
            }
            cw.close().map_err(pq_err(file))?;
            i += 1;
        }
        rg.close().map_err(pq_err(file))?;
        w.close().map_err(pq_err(file))?;
    }
    Ok(buf)
}

/// The `pandas` schema note pandas writers leave in the file: with it,
/// pandas (fastparquet and pyarrow engines) reads the integer columns as
/// numpy `int64` rather than nullable `Int64`, which fsspec's reference
/// reader needs (it seeks to the offsets it reads).
fn pandas_metadata(columns: &[OutColumn<'_>]) -> String {
    let cols: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| {
            let (name, pandas_type, numpy_type) = match c {
                OutColumn::Bytes {
                    name, utf8: true, ..
                } => (name, "unicode", "object"),
                OutColumn::Bytes {
                    name, utf8: false, ..
                } => (name, "bytes", "object"),
                OutColumn::Int { name, .. } => (name, "int64", "int64"),
            };
            serde_json::json!({"field_name": name, "metadata": null, "name": name,
                               "numpy_type": numpy_type, "pandas_type": pandas_type})
        })
        .collect();
    serde_json::json!({
        "column_indexes": [],
        "columns": cols,
        "creator": {"library": "gik", "version": env!("CARGO_PKG_VERSION")},
        "index_columns": [],
        "partition_columns": [],
        "pandas_version": "2.0.0",
    })
    .to_string()
}
