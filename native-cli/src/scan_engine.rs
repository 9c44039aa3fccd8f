//! Finding every GRIB2 message of many files, fast: from their `.index` /
//! `.idx` (verified against the GRIB headers) or by hopping from header to
//! header. Never reads data sections.

use crate::store::{Source, StoreError, Stores};
use futures::stream::{self, StreamExt, TryStreamExt};
use gik_core::grib::{scan_headers, FieldMeta, HeaderScan};
use gik_core::index::{self, IndexEntry, IndexKind};
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::sync::Arc;

/// Bytes read per message to verify an index entry: sections 0–5 of ECMWF
/// messages take ~250 bytes; more is fetched when a header is longer.
const HEADER_GUESS: u64 = 2048;
/// Read-ahead when hopping between headers (several small messages per read).
const READ_AHEAD: u64 = 64 * 1024;
/// Read size when messages are large: enough for `7777` plus the next header.
const SMALL_READ: u64 = 4096;
/// A header (sections 0–5) larger than this is refused as implausible.
const MAX_HEADER: u64 = 16 << 20;

/// One field found in a file (the input of reference building).
pub use gik_core::refs::ScannedField as Scanned;

/// How to check an index against the GRIB it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    /// Read the header of every message the index lists.
    All,
    /// Read one header per parameter/level type and every 16th entry.
    Sample,
    /// Trust the index; read only one header per parameter/level type (for grid and names).
    None,
}

/// How to find the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The index when one exists next to the file, otherwise headers.
    Auto,
    /// Require an index (`.index` or `.idx`).
    Index,
    /// Hop from header to header, ignoring any index.
    Headers,
}

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{url}: {source}")]
    Grib {
        url: String,
        #[source]
        source: gik_core::Error,
    },
    #[error("{index}: {source}")]
    Index {
        index: String,
        #[source]
        source: index::IndexError,
    },
    #[error("{index} line {line} disagrees with the GRIB file {url}: {reason}")]
    Mismatch {
        index: String,
        line: usize,
        url: String,
        reason: String,
    },
    #[error("{url}: no index found (tried {tried})")]
    NoIndex { url: String, tried: String },
    #[error("{url}: no GRIB2 message found")]
    Empty { url: String },
}

/// Candidate index locations for a GRIB location, in the order tried:
/// ECMWF's `name.index` (extension replaced), `name.grib2.index`, NOAA's `name.grib2.idx`.
#[must_use]
pub fn index_candidates(location: &str) -> Vec<String> {
    let mut out = Vec::new();
    for ext in [".grib2", ".grib", ".grb2", ".grb", ".bin"] {
        if let Some(stem) = location.strip_suffix(ext) {
            out.push(format!("{stem}.index"));
        }
    }
    out.push(format!("{location}.index"));
    out.push(format!("{location}.idx"));
    out
}

async fn find_index(
    stores: &Stores,
    location: &str,
) -> Result<Option<(String, String)>, ScanError> {
    for cand in index_candidates(location) {
        let mut src = match stores.open(&cand).await {
            Ok(s) => s,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        match src.read_all().await {
            Ok(b) => return Ok(Some((cand, String::from_utf8_lossy(&b).into_owned()))),
            // S3 answers 403, not 404, for a missing key when listing is not allowed.
            Err(
                StoreError::NotFound { .. }
                | StoreError::Fetch {
                    source: object_store::Error::PermissionDenied { .. },
                    ..
                },
            ) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Reads the headers of the message at `offset`; `hint` is how many bytes to try first.
async fn read_message_headers(
    src: &Source,
    offset: u64,
    hint: u64,
    limit: u64,
) -> Result<(u64, Vec<FieldMeta>), ScanError> {
    let grib = |source| ScanError::Grib {
        url: src.url.clone(),
        source,
    };
    let mut want = hint.min(limit).max(16);
    loop {
        let bytes = src.read(offset..offset + want).await?;
        match scan_headers(&bytes, offset).map_err(grib)? {
            HeaderScan::Found { length, fields } => {
                let metas = fields
                    .iter()
                    .map(|f| f.meta())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(grib)?;
                return Ok((length, metas));
            }
            HeaderScan::NeedMore { needed } => {
                if needed > limit.min(MAX_HEADER) || needed <= want {
                    return Err(grib(gik_core::Error::Truncated {
                        offset,
                        what: "the message headers",
                        needed,
                        available: limit.min(want),
                    }));
                }
                want = needed.max(want * 2).min(limit);
            }
        }
    }
}

/// Group key of an index entry for templates: same file, parameter, level type, stream and type.
fn group_key(e: &IndexEntry) -> String {
    ["param", "levtype", "stream", "type", "var", "level"]
        .iter()
        .map(|k| e.get(k).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("|")
}

fn check_entry(
    index: &str,
    url: &str,
    e: &IndexEntry,
    kind: IndexKind,
    length: u64,
    meta: &FieldMeta,
) -> Result<(), ScanError> {
    let mismatch = |reason: String| ScanError::Mismatch {
        index: index.to_string(),
        line: e.line,
        url: url.to_string(),
        reason,
    };
    if let Some(l) = e.length {
        if l != length {
            return Err(mismatch(format!(
                "it says {l} bytes at offset {}, the GRIB message there is {length} bytes",
                e.offset
            )));
        }
    }
    if kind == IndexKind::Noaa {
        return Ok(());
    }
    if let Some(p) = e.get("param") {
        if p != meta.short_name && p != meta.param_id.to_string() {
            return Err(mismatch(format!(
                "param `{p}` but the message at offset {} is `{}`",
                e.offset, meta.short_name
            )));
        }
    }
    if let Some(l) = e.get("levelist") {
        if l.parse::<i64>().ok() != Some(meta.level) {
            return Err(mismatch(format!(
                "levelist {l} but the message at offset {} is level {}",
                e.offset, meta.level
            )));
        }
    }
    if let Some(n) = e.get("number") {
        if n.parse::<i64>().ok() != meta.number {
            return Err(mismatch(format!(
                "number {n} but the message at offset {} is member {:?}",
                e.offset, meta.number
            )));
        }
    }
    if let Some(s) = e.get("step") {
        if s != meta.end_step.to_string() && s != meta.step_range {
            return Err(mismatch(format!(
                "step {s} but the message at offset {} is step {}",
                e.offset, meta.step_range
            )));
        }
    }
    Ok(())
}

/// Fills a template's metadata with what an unverified index line says.
fn from_template(template: &FieldMeta, e: &IndexEntry) -> FieldMeta {
    let mut m = template.clone();
    if let Some(l) = e.get("levelist").and_then(|l| l.parse().ok()) {
        m.level = l;
    }
    if let Some(n) = e.get("number").and_then(|n| n.parse().ok()) {
        m.number = Some(n);
    }
    m
}

/// Scans one file through its index.
pub async fn scan_with_index(
    src: &Source,
    index_url: &str,
    text: &str,
    verify: Verify,
    concurrency: usize,
    bar: &ProgressBar,
) -> Result<Vec<Scanned>, ScanError> {
    let (kind, entries) = index::parse(text).map_err(|source| ScanError::Index {
        index: index_url.to_string(),
        source,
    })?;
    let mut size_src = src.clone();
    let file_len = size_src.len().await?;
    // Which entries get their header read.
    let mut first_of_group: HashMap<String, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        first_of_group.entry(group_key(e)).or_insert(i);
    }
    let read: Vec<bool> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| match verify {
            Verify::All => true,
            Verify::Sample => i % 16 == 0 || first_of_group.get(&group_key(e)) == Some(&i),
            Verify::None => first_of_group.get(&group_key(e)) == Some(&i),
        })
        .collect();
    bar.inc_length(file_len);
    let checked: Vec<IndexEntry> = entries
        .iter()
        .zip(&read)
        .filter(|(_, r)| **r)
        .map(|(e, _)| e.clone())
        .collect();
    for e in &checked {
        if e.offset >= file_len {
            return Err(ScanError::Mismatch {
                index: index_url.to_string(),
                line: e.line,
                url: src.url.clone(),
                reason: format!(
                    "offset {} is beyond the end of the file ({file_len} bytes)",
                    e.offset
                ),
            });
        }
    }
    // Batches of header reads: one blocking task per batch locally, concurrent requests remotely.
    let batch = if src.url.contains("://") { 16 } else { 512 };
    let jobs = checked.chunks(batch).map(|chunk| {
        let src = src.clone();
        let chunk = chunk.to_vec();
        async move {
            let ranges = chunk.iter().map(|e| {
                let limit = e
                    .length
                    .unwrap_or_else(|| file_len.saturating_sub(e.offset));
                e.offset..e.offset + HEADER_GUESS.min(limit)
            });
            let prefixes = src.read_batch(ranges.collect()).await?;
            let mut out = Vec::with_capacity(chunk.len());
            for (e, prefix) in chunk.into_iter().zip(prefixes) {
                let limit = e
                    .length
                    .unwrap_or_else(|| file_len.saturating_sub(e.offset));
                let mismatch = |source: gik_core::Error| ScanError::Mismatch {
                    index: index_url.to_string(),
                    line: e.line,
                    url: src.url.clone(),
                    reason: format!("no valid GRIB2 message at offset {}: {source}", e.offset),
                };
                let res = match scan_headers(&prefix, e.offset).map_err(mismatch)? {
                    HeaderScan::Found { length, fields } => {
                        let metas = fields
                            .iter()
                            .map(|f| f.meta())
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(mismatch)?;
                        (length, metas)
                    }
                    // A header longer than the first read: fetch what it needs.
                    HeaderScan::NeedMore { .. } => {
                        read_message_headers(&src, e.offset, HEADER_GUESS * 4, limit)
                            .await
                            .map_err(|err| match err {
                                ScanError::Grib { source, .. } => mismatch(source),
                                other => other,
                            })?
                    }
                };
                bar.inc(e.length.unwrap_or(res.0));
                out.push((e, res));
            }
            Ok::<_, ScanError>(out)
        }
    });
    let in_flight = (concurrency.max(1) / batch).max(2);
    let verified: Vec<(IndexEntry, (u64, Vec<FieldMeta>))> = stream::iter(jobs)
        .buffered(in_flight)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    let mut templates: HashMap<String, FieldMeta> = HashMap::new();
    let mut by_line: HashMap<usize, (u64, Vec<FieldMeta>)> = HashMap::new();
    for (e, (length, metas)) in verified {
        for m in &metas {
            check_entry(index_url, &src.url, &e, kind, length, m)?;
        }
        if let Some(m) = metas.first() {
            templates.entry(group_key(&e)).or_insert_with(|| m.clone());
        }
        by_line.insert(e.line, (length, metas));
    }
    bar.inc(
        file_len.saturating_sub(
            entries
                .iter()
                .zip(&read)
                .filter(|(_, r)| **r)
                .map(|(e, _)| e.length.unwrap_or(0))
                .sum(),
        ),
    );
    let mut out = Vec::with_capacity(entries.len());
    for e in &entries {
        if let Some((length, metas)) = by_line.remove(&e.line) {
            for meta in metas {
                out.push(Scanned {
                    url: src.url.clone(),
                    offset: e.offset,
                    length,
                    meta,
                });
            }
        } else if let Some(t) = templates.get(&group_key(e)) {
            let length = e
                .length
                .unwrap_or_else(|| file_len.saturating_sub(e.offset));
            out.push(Scanned {
                url: src.url.clone(),
                offset: e.offset,
                length,
                meta: from_template(t, e),
            });
        }
    }
    Ok(out)
}

/// How much to read after a message of `length` bytes: large messages get
/// just enough for `7777` and the next header, small ones several per read.
fn read_ahead(length: u64) -> u64 {
    if length > READ_AHEAD {
        SMALL_READ
    } else {
        READ_AHEAD
    }
}

/// The 4 bytes where a message's `7777` must be.
fn check_end(tail: &[u8], msg_start: u64) -> Result<(), gik_core::Error> {
    if tail == b"7777" {
        Ok(())
    } else {
        Err(gik_core::Error::InvalidSection {
            offset: msg_start,
            section: 8,
            reason: "the message does not end with `7777`".into(),
        })
    }
}

/// Scans one file by hopping from header to header. Each read also takes the
/// 4 bytes before the next message, so its `7777` is checked for free.
pub async fn scan_headers_only(src: &Source, bar: &ProgressBar) -> Result<Vec<Scanned>, ScanError> {
    let mut size_src = src.clone();
    let file_len = size_src.len().await?;
    bar.inc_length(file_len);
    let grib = |source| ScanError::Grib {
        url: src.url.clone(),
        source,
    };
    let mut out = Vec::new();
    let mut pos = 0u64; // where to look for the next message
    let mut buf = bytes::Bytes::new();
    let mut buf_start = 0u64;
    let mut last_len = 0u64;
    while pos + 16 <= file_len {
        // Make sure the buffer covers pos..pos+16 at least.
        if pos < buf_start || pos + 16 > buf_start + buf.len() as u64 {
            // Large messages: read just enough for a header; small ones: several per read.
            let end = (pos + read_ahead(last_len)).min(file_len);
            buf = src.read(pos..end).await?;
            buf_start = pos;
        }
        let local = (pos - buf_start) as usize;
        // Skip bytes before the next `GRIB` (WMO headers, padding).
        let Some(found) = buf[local..].windows(4).position(|w| w == b"GRIB") else {
            pos = buf_start + buf.len() as u64 - 3;
            if buf_start + buf.len() as u64 >= file_len {
                break;
            }
            continue;
        };
        let msg_start = buf_start + (local + found) as u64;
        let mut view = buf.slice(local + found..);
        let (length, fields) = loop {
            match scan_headers(&view, msg_start).map_err(grib)? {
                HeaderScan::Found { length, fields } => {
                    let metas = fields
                        .iter()
                        .map(|f| f.meta())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(grib)?;
                    break (length, metas);
                }
                HeaderScan::NeedMore { needed } => {
                    if needed > MAX_HEADER || msg_start + needed > file_len {
                        return Err(grib(gik_core::Error::Truncated {
                            offset: msg_start,
                            what: "the message headers",
                            needed,
                            available: file_len - msg_start,
                        }));
                    }
                    view = src
                        .read(msg_start..msg_start + needed.max(4096).min(file_len - msg_start))
                        .await?;
                }
            }
        };
        let end = msg_start + length;
        last_len = length;
        if end > file_len {
            return Err(grib(gik_core::Error::Truncated {
                offset: msg_start,
                what: "the message (section 0 total length)",
                needed: length,
                available: file_len - msg_start,
            }));
        }
        // Check `7777`: from the current buffer if it holds it, else with the next read.
        let tail_at = end - 4;
        if tail_at >= buf_start && end <= buf_start + buf.len() as u64 {
            let t = (tail_at - buf_start) as usize;
            check_end(&buf[t..t + 4], msg_start).map_err(grib)?;
        } else {
            let read_end = (tail_at + read_ahead(length)).min(file_len);
            buf = src.read(tail_at..read_end).await?;
            buf_start = tail_at;
            check_end(buf.get(..4).unwrap_or_default(), msg_start).map_err(grib)?;
        }
        for meta in fields {
            out.push(Scanned {
                url: src.url.clone(),
                offset: msg_start,
                length,
                meta,
            });
        }
        bar.inc(end - pos);
        pos = end;
    }
    if out.is_empty() {
        return Err(ScanError::Empty {
            url: src.url.clone(),
        });
    }
    Ok(out)
}

/// Scans many locations concurrently (files in parallel, entries in parallel within each).
pub async fn scan_all(
    stores: Arc<Stores>,
    locations: &[String],
    mode: Mode,
    verify: Verify,
    concurrency: usize,
    bar: &ProgressBar,
) -> Result<Vec<Scanned>, ScanError> {
    let per_file = (concurrency / locations.len().max(1)).max(8);
    let jobs = locations.iter().map(|loc| {
        let stores = stores.clone();
        async move {
            let src = stores.open(loc).await?;
            let index = if mode == Mode::Headers {
                None
            } else {
                find_index(&stores, loc).await?
            };
            match (index, mode) {
                (Some((iurl, text)), _) => {
                    scan_with_index(&src, &iurl, &text, verify, per_file, bar).await
                }
                (None, Mode::Index) => Err(ScanError::NoIndex {
                    url: loc.clone(),
                    tried: index_candidates(loc).join(", "),
                }),
                (None, _) => scan_headers_only(&src, bar).await,
            }
        }
    });
    let results: Vec<Vec<Scanned>> = stream::iter(jobs).buffered(4).try_collect().await?;
    Ok(results.into_iter().flatten().collect())
}
