//! fsspec's parquet reference directory, as
//! `fsspec.implementations.reference.LazyReferenceMapper` reads and writes it:
//!
//! ```text
//! .zmetadata                         {"metadata": {".zgroup": {…}, "t/.zattrs": {…}, …}, "record_size": N}
//! t/instant/isobaricInhPa/t/refs.0.parq   columns path, offset, size, raw
//! t/instant/isobaricInhPa/t/refs.1.parq   …
//! ```
//!
//! Every zarr metadata key lives in `.zmetadata`. The chunks of each array
//! are numbered row-major over its chunk grid (`ceil(shape / chunks)`, `[1]`
//! for a 0-d array); chunk `n` is row `n % record_size` of
//! `{array}/refs.{n / record_size}.parq`. A row is inline bytes when `raw`
//! is set, missing when `path` is null, a whole file when offset and size
//! are both 0, else a byte range.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::pq::{bytes_column, int_column, read_table, write_table, OutColumn};
use super::store::{RefStore, RefValue};
use super::zarr::{is_meta_key, ravel, to_ascii_json, unravel, ArrayMeta};
use super::{FileMap, RefsError, Result};

/// References per parquet file when none is given (kerchunk's `refs_to_dataframe` default).
pub const DEFAULT_RECORD_SIZE: u64 = 100_000;

/// The `{array}/refs.{n}.parq` files an fsspec parquet reference directory
/// may hold, computed from its `.zmetadata` (each array's chunk count and
/// the `record_size`): what a reader must fetch when it cannot list the
/// directory (HTTP, browsers). Files of arrays whose chunks are all inline
/// may be absent.
///
/// # Errors
/// `.zmetadata` that is not JSON.
pub fn parquet_dir_files(zmetadata: &[u8]) -> Result<Vec<String>> {
    let parsed: Value = serde_json::from_slice(zmetadata).map_err(|source| RefsError::Json {
        what: ".zmetadata".into(),
        source,
    })?;
    let record_size = parsed
        .get("record_size")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_RECORD_SIZE)
        .max(1);
    let mut wanted = Vec::new();
    if let Some(meta) = parsed.get("metadata").and_then(Value::as_object) {
        for (k, v) in meta {
            let Some(array) = k.strip_suffix("/.zarray") else {
                continue;
            };
            let za: Value = match v {
                Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
                other => other.clone(),
            };
            let dims = |key: &str| -> Vec<u64> {
                za.get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default()
            };
            let chunks: u64 = dims("shape")
                .iter()
                .zip(&dims("chunks"))
                .map(|(s, c)| s.div_ceil((*c).max(1)))
                .fold(1u64, u64::saturating_mul);
            // Bounded: a hostile .zmetadata cannot make a reader list billions of files.
            let files = chunks.div_ceil(record_size).min(1 << 16);
            wanted.extend((0..files).map(|i| format!("{array}/refs.{i}.parq")));
        }
    }
    Ok(wanted)
}

/// Writes `store` as an fsspec parquet reference directory: `.zmetadata`
/// plus `{array}/refs.{n}.parq` files of `record_size` rows (the last file
/// of an array holds only the rows up to its last chunk; files whose chunks
/// are all missing are not written, which fsspec reads as missing chunks),
/// snappy-compressed.
///
/// # Errors
/// A metadata value that is not JSON, a chunk key of an array without
/// `.zarray`, a chunk key outside its array's grid, or `record_size` 0.
pub fn write_parquet_dir(store: &RefStore, record_size: u64) -> Result<FileMap> {
    if record_size == 0 {
        return Err(RefsError::Format {
            what: "parquet reference directory".to_string(),
            reason: "record_size must be at least 1".to_string(),
        });
    }
    let mut metadata = Map::new();
    // array path -> (chunk number -> value)
    let mut arrays: BTreeMap<String, (ArrayMeta, BTreeMap<u64, &RefValue>)> = BTreeMap::new();
    for (k, v) in store.iter() {
        if is_meta_key(k) || !k.contains('/') {
            let b = v.as_inline().ok_or_else(|| RefsError::Metadata {
                key: k.to_string(),
                reason: "metadata must be inline to go into .zmetadata".to_string(),
            })?;
            let json: Value = serde_json::from_slice(b).map_err(|source| RefsError::Json {
                what: k.to_string(),
                source,
            })?;
            metadata.insert(k.to_string(), json);
        }
    }
    for (k, v) in store.iter() {
        if is_meta_key(k) || !k.contains('/') {
            continue;
        }
        let Some((array, chunk)) = k.rsplit_once('/') else {
            continue;
        };
        if !arrays.contains_key(array) {
            let meta = store.array_meta(array)?;
            arrays.insert(array.to_string(), (meta, BTreeMap::new()));
        }
        let Some((meta, chunks)) = arrays.get_mut(array) else {
            continue;
        };
        let grid = meta.chunk_grid();
        let idx = meta
            .parse_chunk_key(chunk)
            .ok_or_else(|| RefsError::ChunkOutOfRange {
                key: k.to_string(),
                grid: grid.clone(),
            })?;
        let idx = if idx.is_empty() { vec![0] } else { idx };
        chunks.insert(ravel(&idx, &grid), v);
    }
    let mut files = FileMap::new();
    for (array, (meta, chunks)) in &arrays {
        let total = meta.chunk_count(&format!("{array}/.zarray"))?;
        let mut by_record: BTreeMap<u64, Vec<(u64, &RefValue)>> = BTreeMap::new();
        for (n, v) in chunks {
            by_record
                .entry(n / record_size)
                .or_default()
                .push((n % record_size, v));
        }
        for (record, rows) in by_record {
            let start = record * record_size;
            let nrows = usize::try_from(record_size.min(total.saturating_sub(start))).unwrap_or(0);
            let mut path: Vec<Option<&[u8]>> = vec![None; nrows];
            let mut offset = vec![0i64; nrows];
            let mut size = vec![0i64; nrows];
            let mut raw: Vec<Option<&[u8]>> = vec![None; nrows];
            for (i, v) in rows {
                let i = i as usize;
                if i >= nrows {
                    continue;
                }
                match v {
                    RefValue::Inline(b) => raw[i] = Some(b),
                    RefValue::Range {
                        url,
                        offset: o,
                        length,
                    } => {
                        path[i] = Some(url.as_bytes());
                        offset[i] = i64::try_from(*o).unwrap_or(i64::MAX);
                        size[i] = i64::try_from(*length).unwrap_or(i64::MAX);
                    }
                    RefValue::Whole { url } => path[i] = Some(url.as_bytes()),
                }
            }
            let file = format!("{array}/refs.{record}.parq");
            let bytes = write_table(
                &file,
                &[
                    OutColumn::Bytes {
                        name: "path",
                        utf8: true,
                        values: path,
                    },
                    OutColumn::Int {
                        name: "offset",
                        values: offset,
                    },
                    OutColumn::Int {
                        name: "size",
                        values: size,
                    },
                    OutColumn::Bytes {
                        name: "raw",
                        utf8: false,
                        values: raw,
                    },
                ],
            )?;
            files.insert(file, bytes);
        }
    }
    let zmeta =
        serde_json::json!({"metadata": Value::Object(metadata), "record_size": record_size});
    files.insert(".zmetadata".to_string(), to_ascii_json(&zmeta));
    Ok(files)
}

/// Reads an fsspec parquet reference directory from its files (keyed by
/// path relative to the directory).
///
/// # Errors
/// No or malformed `.zmetadata`, parquet files without the expected columns,
/// or compressed with a codec gik-core cannot decode: fsspec writes zstd,
/// which gives [`RefsError::UnsupportedCompression`].
pub fn read_parquet_dir(files: &FileMap) -> Result<RefStore> {
    let (record_size, mut store) = read_zmetadata(files)?;
    let arrays: Vec<String> = store.arrays().map(str::to_string).collect();
    let mut urls: BTreeMap<Vec<u8>, Arc<str>> = BTreeMap::new();
    for array in arrays {
        let meta = store.array_meta(&array)?;
        let total = meta.chunk_count(&format!("{array}/.zarray"))?;
        let grid = meta.chunk_grid();
        let nrec = total.div_ceil(record_size);
        let prefix = if array.is_empty() {
            "refs.".to_string()
        } else {
            format!("{array}/refs.")
        };
        for (record, bytes) in present_records(files, &prefix, nrec) {
            let file = format!("{prefix}{record}.parq");
            let columns = RefColumns::read(&file, bytes)?;
            for i in 0..columns.rows() {
                let n = record * record_size + i as u64;
                if n >= total {
                    break;
                }
                let Some(value) = columns.value(&file, i, &mut urls)? else {
                    continue;
                };
                let idx = unravel(n, &grid);
                let rel = if meta.shape.is_empty() {
                    "0".to_string()
                } else {
                    meta.chunk_key(&idx)
                };
                let key = if array.is_empty() {
                    rel
                } else {
                    format!("{array}/{rel}")
                };
                store.insert(key, value);
            }
        }
    }
    Ok(store)
}

/// Reads `.zmetadata`: the record size, and a store holding its metadata documents.
fn read_zmetadata(files: &FileMap) -> Result<(u64, RefStore)> {
    let zm = files
        .get(".zmetadata")
        .ok_or_else(|| RefsError::MissingFile {
            file: ".zmetadata".to_string(),
        })?;
    let doc: Value = serde_json::from_slice(zm).map_err(|source| RefsError::Json {
        what: ".zmetadata".to_string(),
        source,
    })?;
    let bad = |reason: &str| RefsError::Format {
        what: ".zmetadata".to_string(),
        reason: reason.to_string(),
    };
    let record_size = doc
        .get("record_size")
        .and_then(Value::as_u64)
        .filter(|r| *r > 0)
        .ok_or_else(|| bad("`record_size` missing or not a positive integer"))?;
    let metadata = doc
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`metadata` missing or not an object"))?;
    let mut store = RefStore::new();
    for (k, v) in metadata {
        let bytes = match v {
            Value::String(s) => s.clone().into_bytes(),
            other => to_ascii_json(other),
        };
        store.insert(k.clone(), RefValue::Inline(bytes));
    }
    Ok((record_size, store))
}

/// The record files under `prefix` that exist, numbered below `nrec`.
fn present_records<'f>(files: &'f FileMap, prefix: &str, nrec: u64) -> Vec<(u64, &'f Vec<u8>)> {
    // the files there are (not every number up to nrec: a 100-byte
    // .zmetadata may declare 10^8 records)
    files
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter_map(|(k, v)| {
            let n = k[prefix.len()..].strip_suffix(".parq")?;
            // canonical numbers only: refs.01.parq is not record 1
            let record: u64 = n.parse().ok()?;
            (record.to_string() == n && record < nrec).then_some((record, v))
        })
        .collect()
}

/// The columns of one record file of references.
struct RefColumns {
    raw: Option<Vec<Option<Vec<u8>>>>,
    path: Option<Vec<Option<Vec<u8>>>>,
    offset: Option<Vec<Option<i64>>>,
    size: Option<Vec<Option<i64>>>,
}

impl RefColumns {
    /// Reads record `file`, which needs a `path` or a `raw` column.
    fn read(file: &str, bytes: &[u8]) -> Result<Self> {
        let mut t = read_table(file, bytes, &["path", "offset", "size", "raw"])?;
        let raw = t
            .take("raw")
            .map(|c| bytes_column(file, "raw", Some(c)))
            .transpose()?;
        let path = t
            .take("path")
            .map(|c| bytes_column(file, "path", Some(c)))
            .transpose()?;
        let offset = t
            .take("offset")
            .map(|c| int_column(file, "offset", Some(c)))
            .transpose()?;
        let size = t
            .take("size")
            .map(|c| int_column(file, "size", Some(c)))
            .transpose()?;
        if raw.is_none() && path.is_none() {
            return Err(RefsError::ParquetSchema {
                file: file.to_string(),
                reason: "neither a `path` nor a `raw` column".to_string(),
            });
        }
        Ok(Self {
            raw,
            path,
            offset,
            size,
        })
    }

    /// The number of rows: the longer of `raw` and `path`.
    fn rows(&self) -> usize {
        self.raw
            .as_ref()
            .map_or(0, Vec::len)
            .max(self.path.as_ref().map_or(0, Vec::len))
    }

    /// The reference in row `i` (`None` for an empty row), urls shared through `urls`.
    fn value(
        &self,
        file: &str,
        i: usize,
        urls: &mut BTreeMap<Vec<u8>, Arc<str>>,
    ) -> Result<Option<RefValue>> {
        if let Some(b) = self
            .raw
            .as_ref()
            .and_then(|r| r.get(i))
            .and_then(Option::as_ref)
        {
            return Ok(Some(RefValue::Inline(b.clone())));
        }
        let Some(p) = self
            .path
            .as_ref()
            .and_then(|p| p.get(i))
            .and_then(Option::as_ref)
        else {
            return Ok(None);
        };
        let url = urls
            .entry(p.clone())
            .or_insert_with(|| Arc::from(String::from_utf8_lossy(p).as_ref()))
            .clone();
        let o = self
            .offset
            .as_ref()
            .and_then(|c| c.get(i).copied().flatten())
            .unwrap_or(0);
        let s = self
            .size
            .as_ref()
            .and_then(|c| c.get(i).copied().flatten())
            .unwrap_or(0);
        if o < 0 || s < 0 {
            return Err(RefsError::ParquetSchema {
                file: file.to_string(),
                reason: format!("row {i}: negative offset or size"),
            });
        }
        Ok(Some(if o == 0 && s == 0 {
            RefValue::Whole { url }
        } else {
            RefValue::Range {
                url,
                offset: o as u64,
                length: s as u64,
            }
        }))
    }
}
