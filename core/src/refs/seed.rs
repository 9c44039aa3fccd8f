//! The original pipeline's two-column parquet (`key`, `value`) and its
//! per-member split.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::pq::{bytes_column, read_table, write_table, OutColumn};
use super::store::{split_path, RefStore, RefValue};
use super::zarr::{array_dims, parse_attrs, to_ascii_json, ArrayMeta};
use super::{decode_base64, encode_inline_text, FileMap, RefsError, Result};

/// Reads the original pipeline's two-column parquet: `key` (string or
/// large string) and `value` (binary or string) holding UTF-8 JSON
/// metadata, `base64:…` inline bytes, raw inline text, or the JSON list
/// `[url, offset, length]` (or `[url]`). A `version` row, if any, is ignored.
///
/// # Errors
/// Not parquet, no `key`/`value` columns, null keys, bad base64, or a
/// codec gik-core cannot decode ([`RefsError::UnsupportedCompression`]).
pub fn read_seed_parquet(bytes: &[u8]) -> Result<RefStore> {
    let file = "two-column reference parquet";
    let mut t = read_table(file, bytes, &["key", "value"])?;
    let keys = bytes_column(file, "key", t.take("key"))?;
    let values = bytes_column(file, "value", t.take("value"))?;
    if keys.len() != values.len() {
        return Err(RefsError::ParquetSchema {
            file: file.to_string(),
            reason: "columns key and value differ in length".to_string(),
        });
    }
    let mut store = RefStore::new();
    let mut urls: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for (row, (k, v)) in keys.into_iter().zip(values).enumerate() {
        let k = k.ok_or_else(|| RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("row {row}: null key"),
        })?;
        let k = String::from_utf8(k).map_err(|_| RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("row {row}: key is not UTF-8"),
        })?;
        if k == "version" {
            continue;
        }
        let v = v.ok_or_else(|| RefsError::ParquetSchema {
            file: file.to_string(),
            reason: format!("row {row} ({k}): null value"),
        })?;
        let value = parse_seed_value(&k, v, &mut urls)?;
        store.insert(k, value);
    }
    Ok(store)
}

fn parse_seed_value(
    key: &str,
    v: Vec<u8>,
    urls: &mut BTreeMap<String, Arc<str>>,
) -> Result<RefValue> {
    if let Some(b64) = v.strip_prefix(b"base64:") {
        return Ok(RefValue::Inline(decode_base64(key, b64)?));
    }
    if v.first() == Some(&b'[') && v.last() == Some(&b']') {
        // A reference list, unless it is raw bytes that merely start with `[`.
        if let Ok(Value::Array(a)) = serde_json::from_slice::<Value>(&v) {
            let url = a.first().and_then(Value::as_str);
            let mut intern = |u: &str| {
                urls.entry(u.to_string())
                    .or_insert_with(|| Arc::from(u))
                    .clone()
            };
            match (url, a.len()) {
                (Some(u), 1) => return Ok(RefValue::Whole { url: intern(u) }),
                (Some(u), 3) => {
                    if let (Some(offset), Some(length)) = (a[1].as_u64(), a[2].as_u64()) {
                        return Ok(RefValue::Range {
                            url: intern(u),
                            offset,
                            length,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(RefValue::Inline(v))
}

/// Whether inline bytes would be read back as a reference list.
fn reads_as_list(b: &[u8]) -> bool {
    let mut urls = BTreeMap::new();
    !matches!(
        parse_seed_value("", b.to_vec(), &mut urls),
        Ok(RefValue::Inline(_))
    )
}

/// The value column text of one reference, as the original pipeline writes it.
fn seed_value(v: &RefValue) -> Vec<u8> {
    match v {
        // inline text that reads as a reference list goes in base64, or
        // it would come back as a reference
        RefValue::Inline(b) if reads_as_list(b) => {
            use base64::Engine as _;
            format!(
                "base64:{}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )
            .into_bytes()
        }
        RefValue::Inline(b) => encode_inline_text(b).into_owned().into_bytes(),
        // Python's json.dumps of a list: `["url", 0, 4048]`.
        RefValue::Range {
            url,
            offset,
            length,
        } => format!("[{}, {offset}, {length}]", Value::String(url.to_string())).into_bytes(),
        RefValue::Whole { url } => format!("[{}]", Value::String(url.to_string())).into_bytes(),
    }
}

/// Writes the original pipeline's two-column parquet (`key` string, `value`
/// binary), one row per reference in key order, snappy-compressed. Inline
/// values are raw text when ASCII and `base64:…` otherwise, so the
/// pipeline's loader (`value.decode("utf-8")`) reads every row.
///
/// # Errors
/// Only if the parquet writer fails.
pub fn write_seed_parquet(store: &RefStore) -> Result<Vec<u8>> {
    let values: Vec<Vec<u8>> = store.iter().map(|(_, v)| seed_value(v)).collect();
    let keys: Vec<&[u8]> = store.keys().map(str::as_bytes).collect();
    write_table(
        "two-column reference parquet",
        &[
            OutColumn::Bytes {
                name: "key",
                utf8: true,
                values: keys.into_iter().map(Some).collect(),
            },
            OutColumn::Bytes {
                name: "value",
                utf8: false,
                values: values.iter().map(|v| Some(v.as_slice())).collect(),
            },
        ],
    )
}

/// The pipeline's directory name of member `number`: `control` for 0,
/// otherwise `ens_01`, `ens_02`, ….
#[must_use]
pub fn member_name(number: i64) -> String {
    if number == 0 {
        "control".to_string()
    } else {
        format!("ens_{number:02}")
    }
}

/// Every member number found in the `number` coordinates of `store`, sorted.
///
/// # Errors
/// Malformed or non-inline `number` coordinates.
pub fn members(store: &RefStore) -> Result<Vec<i64>> {
    let mut set = BTreeSet::new();
    for path in store.arrays().map(str::to_string).collect::<Vec<_>>() {
        let (group, name) = split_path(&path);
        if name == "number" {
            set.extend(store.coordinate(group, name)?.values.ints());
        }
    }
    Ok(set.into_iter().collect())
}

/// Drops every chunk reference except those of arrays whose path ends in
/// one of `keep` (kerchunk's `strip_datavar_chunks`; the pipeline keeps
/// `latitude` and `longitude`). Metadata stays.
#[must_use]
pub fn strip_data_chunks(store: &RefStore, keep: &[&str]) -> RefStore {
    let mut out = store.clone();
    out.retain(|k, _| match chunk_of(k) {
        Some((array, _)) => keep.iter().any(|kp| array.ends_with(kp)),
        None => true,
    });
    out
}

/// `(array, chunk)` when `key` looks like a chunk key (`name/0`, `name/0.1.2`).
fn chunk_of(key: &str) -> Option<(&str, &str)> {
    let (array, chunk) = key.rsplit_once('/')?;
    let mut parts = chunk.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (first_ok && parts.all(|p| p.bytes().all(|b| b.is_ascii_digit()))).then_some((array, chunk))
}

/// The references of one ensemble member, the `number` dimension dropped
/// (found through `_ARRAY_DIMENSIONS`, not by position), as the original
/// pipeline's per-member files hold them: arrays with a `number` dimension
/// keep this member's chunks; `number` coordinates become a scalar holding
/// `number`; arrays without the dimension are copied; the root `.zattrs`
/// gets `extracted_ensemble_member`. A variable that lacks this member keeps
/// its metadata and no chunks.
///
/// # Errors
/// Malformed metadata or `number` coordinates.
pub fn split_member(store: &RefStore, number: i64) -> Result<RefStore> {
    let with_number = arrays_with_number(store, number)?;
    let mut out = RefStore::new();
    for (k, v) in store.iter() {
        let (array, _) = k.rsplit_once('/').unwrap_or(("", k));
        if array == "number" || array.ends_with("/number") {
            copy_number_coordinate(&mut out, k, v, number)?;
            continue;
        }
        if let Some(&(pos, idx)) = with_number.get(array) {
            copy_member_entry(&mut out, k, v, pos, idx)?;
            continue;
        }
        out.insert(k, v.clone());
    }
    let mut root = match out.get(".zattrs").and_then(RefValue::as_inline) {
        Some(b) => parse_attrs(".zattrs", b)?,
        None => serde_json::Map::new(),
    };
    root.insert("extracted_ensemble_member".into(), Value::from(number));
    out.insert(
        ".zattrs",
        RefValue::Inline(to_ascii_json(&Value::Object(root))),
    );
    Ok(out)
}

/// The arrays of `store` with a `number` dimension (not the `number`
/// coordinates themselves): the position of the dimension and the index of
/// member `number` in the group's `number` coordinate (`None`: it lacks it).
fn arrays_with_number(
    store: &RefStore,
    number: i64,
) -> Result<BTreeMap<String, (usize, Option<u64>)>> {
    let mut with_number: BTreeMap<String, (usize, Option<u64>)> = BTreeMap::new();
    let mut member_index: BTreeMap<String, Option<u64>> = BTreeMap::new();
    for (k, v) in store.iter() {
        let Some(array) =
            k.strip_suffix("/.zattrs")
                .or(if k == ".zattrs" { Some("") } else { None })
        else {
            continue;
        };
        let Some(b) = v.as_inline() else { continue };
        let dims = array_dims(&parse_attrs(k, b)?);
        let Some(pos) = dims.iter().position(|d| d == "number") else {
            continue;
        };
        let (group, name) = split_path(array);
        if name == "number" {
            continue;
        }
        let idx = match member_index.get(group) {
            Some(i) => *i,
            None => {
                let c = store.coordinate(group, "number")?;
                let i = c
                    .values
                    .ints()
                    .iter()
                    .position(|&n| n == number)
                    .map(|i| i as u64);
                member_index.insert(group.to_string(), i);
                i
            }
        };
        with_number.insert(array.to_string(), (pos, idx));
    }
    Ok(with_number)
}

/// Copies entry `k` of a `number` coordinate into `out` as a scalar holding `number`.
fn copy_number_coordinate(out: &mut RefStore, k: &str, v: &RefValue, number: i64) -> Result<()> {
    let (array, leaf) = k.rsplit_once('/').unwrap_or(("", k));
    let meta_bad = |reason: &str| RefsError::Metadata {
        key: k.to_string(),
        reason: reason.to_string(),
    };
    match leaf {
        ".zarray" => {
            let mut m = ArrayMeta::parse(k, v.as_inline().ok_or_else(|| meta_bad("not inline"))?)?;
            m.shape.clear();
            m.chunks.clear();
            out.insert(
                k,
                RefValue::Inline(to_ascii_json(&rewrite_zarray(k, v, &m)?)),
            );
        }
        ".zattrs" => {
            let mut a = parse_attrs(k, v.as_inline().ok_or_else(|| meta_bad("not inline"))?)?;
            a.insert("_ARRAY_DIMENSIONS".into(), Value::Array(vec![]));
            out.insert(k, RefValue::Inline(to_ascii_json(&Value::Object(a))));
        }
        _ if chunk_of(k).is_some() => {
            out.insert(
                format!("{array}/0"),
                RefValue::Inline(number.to_le_bytes().to_vec()),
            );
        }
        _ => {
            out.insert(k, v.clone());
        }
    }
    Ok(())
}

/// Copies entry `k` of an array with a `number` dimension (at `pos`) into
/// `out` without that dimension, keeping only the chunks of member index `idx`.
fn copy_member_entry(
    out: &mut RefStore,
    k: &str,
    v: &RefValue,
    pos: usize,
    idx: Option<u64>,
) -> Result<()> {
    let (array, leaf) = k.rsplit_once('/').unwrap_or(("", k));
    match leaf {
        ".zarray" => {
            let b = v.as_inline().ok_or_else(|| RefsError::Metadata {
                key: k.to_string(),
                reason: "not inline".to_string(),
            })?;
            let mut m = ArrayMeta::parse(k, b)?;
            if pos < m.shape.len() {
                m.shape.remove(pos);
                m.chunks.remove(pos);
            }
            out.insert(
                k,
                RefValue::Inline(to_ascii_json(&rewrite_zarray(k, v, &m)?)),
            );
        }
        ".zattrs" => {
            let b = v.as_inline().unwrap_or_default();
            let mut a = parse_attrs(k, b)?;
            let dims: Vec<Value> = array_dims(&a)
                .into_iter()
                .filter(|d| d != "number")
                .map(Value::String)
                .collect();
            a.insert("_ARRAY_DIMENSIONS".into(), Value::Array(dims));
            out.insert(k, RefValue::Inline(to_ascii_json(&Value::Object(a))));
        }
        _ if chunk_of(k).is_some() => {
            let mut parts: Vec<&str> = leaf.split('.').collect();
            let Some(want) = idx else { return Ok(()) };
            if parts.get(pos).and_then(|p| p.parse::<u64>().ok()) != Some(want) {
                return Ok(());
            }
            parts.remove(pos);
            let rel = if parts.is_empty() {
                "0".to_string()
            } else {
                parts.join(".")
            };
            out.insert(format!("{array}/{rel}"), v.clone());
        }
        _ => {
            out.insert(k, v.clone());
        }
    }
    Ok(())
}

/// Keeps every key of the original `.zarray` document, replacing shape and chunks.
fn rewrite_zarray(key: &str, original: &RefValue, m: &ArrayMeta) -> Result<Value> {
    let b = original.as_inline().unwrap_or_default();
    let mut v: Value = serde_json::from_slice(b).map_err(|source| RefsError::Json {
        what: key.to_string(),
        source,
    })?;
    if let Value::Object(o) = &mut v {
        o.insert("shape".into(), Value::from(m.shape.clone()));
        o.insert("chunks".into(), Value::from(m.chunks.clone()));
    }
    Ok(v)
}

/// The original pipeline's output layout: `comprehensive/ensemble_all.parquet`
/// (the whole ensemble: every reference, as [`write_seed_parquet`] writes
/// it) and one `members/{name}/{name}.parquet` per member ([`split_member`],
/// [`member_name`]). `only` restricts the members written.
///
/// The original pipeline's `ensemble_all.parquet` held only what kerchunk's
/// `strip_datavar_chunks` leaves (metadata, latitude/longitude): opened, it
/// read as all-NaN data with `number` all 0, silently. gik's is complete.
///
/// # Errors
/// As [`split_member`] and [`write_seed_parquet`].
pub fn write_seed_layout(store: &RefStore, only: Option<&[i64]>) -> Result<FileMap> {
    let mut files = FileMap::new();
    files.insert(
        "comprehensive/ensemble_all.parquet".to_string(),
        write_seed_parquet(store)?,
    );
    let all = members(store)?;
    let wanted: Vec<i64> = match only {
        Some(o) => o.to_vec(),
        None => all,
    };
    for n in wanted {
        let name = member_name(n);
        files.insert(
            format!("members/{name}/{name}.parquet"),
            write_seed_parquet(&split_member(store, n)?)?,
        );
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys() {
        assert_eq!(chunk_of("a/b/0.1.2"), Some(("a/b", "0.1.2")));
        assert_eq!(chunk_of("a/0"), Some(("a", "0")));
        assert_eq!(chunk_of("a/.zarray"), None);
        assert_eq!(chunk_of(".zgroup"), None);
        assert_eq!(chunk_of("a/x.1"), None);
    }

    #[test]
    fn seed_values() {
        let mut urls = BTreeMap::new();
        assert_eq!(
            seed_value(&RefValue::range("/tmp/a.grib2", 0, 4048)),
            br#"["/tmp/a.grib2", 0, 4048]"#.to_vec()
        );
        let v = parse_seed_value("k", br#"["/tmp/a.grib2", 0, 4048]"#.to_vec(), &mut urls)
            .expect("range");
        assert_eq!(v, RefValue::range("/tmp/a.grib2", 0, 4048));
        // Raw bytes starting with `[` stay inline.
        let raw = vec![b'[', 0, 0, 0, 0, 0, 0, b']'];
        assert_eq!(
            parse_seed_value("k", raw.clone(), &mut urls).expect("raw"),
            RefValue::Inline(raw)
        );
        assert!(parse_seed_value("k", b"base64:!!".to_vec(), &mut urls).is_err());
    }
}
