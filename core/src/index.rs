//! Index files published next to GRIB files: ECMWF's `.index` (JSON lines
//! with `_offset`/`_length` and MARS keys) and NOAA's wgrib2 `.idx`
//! (`n:offset:d=YYYYMMDDHH:VAR:level:forecast:`), and checking them against
//! the GRIB headers they describe ([`IndexCheck`]). Sans-IO: text and header
//! bytes in, entries and scanned fields out.

use crate::grib::{FieldMeta, HeaderRead, MessageHeaders};
use crate::refs::ScannedField;
use std::collections::{BTreeMap, HashMap};

/// One message listed by an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Line number in the index (1-based), for error messages.
    pub line: usize,
    /// Byte offset of the message in the GRIB file.
    pub offset: u64,
    /// Length of the message; `None` for the last line of a NOAA `.idx`
    /// (its end is the end of the file).
    pub length: Option<u64>,
    /// The keys of the line: ECMWF MARS keys (`param`, `levtype`, `levelist`,
    /// `step`, `number`, `type`, `stream`, `date`, `time`, …) or, for NOAA,
    /// `var`, `level`, `forecast`, `d`.
    pub keys: BTreeMap<String, String>,
}

impl IndexEntry {
    /// A key's value, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }
}

/// Which kind of index a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// ECMWF `.index`: one JSON object per line.
    Ecmwf,
    /// NOAA wgrib2 `.idx`: colon-separated inventory lines.
    Noaa,
}

/// A malformed index line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The line is not what the index format requires.
    #[error("index line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    /// No entries at all.
    #[error("the index has no entries")]
    Empty,
}

/// Parses an ECMWF `.index` or a NOAA `.idx` text, detecting which.
///
/// # Errors
/// [`IndexError::BadLine`] naming the first bad line; [`IndexError::Empty`].
pub fn parse(text: &str) -> Result<(IndexKind, Vec<IndexEntry>), IndexError> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with('{') {
        parse_ecmwf(text).map(|e| (IndexKind::Ecmwf, e))
    } else {
        parse_noaa(text).map(|e| (IndexKind::Noaa, e))
    }
}

/// Parses an ECMWF `.index` (JSON lines).
///
/// # Errors
/// A line that is not a JSON object with integer `_offset` and `_length`.
pub fn parse_ecmwf(text: &str) -> Result<Vec<IndexEntry>, IndexError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| IndexError::BadLine { line, reason };
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(raw).map_err(|e| bad(format!("not a JSON object: {e}")))?;
        let int = |k: &str| {
            obj.get(k)
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .ok_or_else(|| bad(format!("missing or non-integer `{k}`")))
        };
        let offset = int("_offset")?;
        let length = int("_length")?;
        if length == 0 {
            return Err(bad("`_length` is 0".into()));
        }
        let keys = obj
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        out.push(IndexEntry {
            line,
            offset,
            length: Some(length),
            keys,
        });
    }
    if out.is_empty() {
        return Err(IndexError::Empty);
    }
    Ok(out)
}

/// Parses a NOAA wgrib2 `.idx`. Lengths come from the next line's offset;
/// the last entry's length is `None`. Sub-messages (`3.1:`, `3.2:`) sharing
/// one GRIB message keep that message's offset.
///
/// # Errors
/// A line without a numeric offset, or offsets that go backwards.
pub fn parse_noaa(text: &str) -> Result<Vec<IndexEntry>, IndexError> {
    let mut out: Vec<IndexEntry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| IndexError::BadLine { line, reason };
        let parts: Vec<&str> = raw.split(':').collect();
        if parts.len() < 4 {
            return Err(bad("expected `n:offset:d=date:var:level:forecast:`".into()));
        }
        let offset: u64 = parts[1]
            .trim()
            .parse()
            .map_err(|_| bad(format!("offset `{}` is not a number", parts[1])))?;
        let mut keys = BTreeMap::new();
        keys.insert("n".to_string(), parts[0].to_string());
        keys.insert(
            "d".to_string(),
            parts[2].trim_start_matches("d=").to_string(),
        );
        keys.insert("var".to_string(), parts[3].to_string());
        if let Some(l) = parts.get(4) {
            keys.insert("level".to_string(), (*l).to_string());
        }
        if let Some(f) = parts.get(5) {
            keys.insert("forecast".to_string(), (*f).to_string());
        }
        if let Some(prev) = out.last() {
            if offset < prev.offset {
                return Err(bad(format!(
                    "offset {offset} is before the previous line's {}",
                    prev.offset
                )));
            }
        }
        out.push(IndexEntry {
            line,
            offset,
            length: None,
            keys,
        });
    }
    if out.is_empty() {
        return Err(IndexError::Empty);
    }
    // Lengths: up to the next different offset (offsets never go back, so
    // one pass from the end finds it: linear even when thousands of lines
    // share an offset).
    let mut next: Option<u64> = None;
    for i in (0..out.len()).rev() {
        let o = out[i].offset;
        if i + 1 < out.len() && out[i + 1].offset > o {
            next = Some(out[i + 1].offset);
        }
        out[i].length = next.map(|n| n - o);
    }
    Ok(out)
}

/// How much of an index to check against the GRIB headers it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verify {
    /// Read the header of every message the index lists.
    #[default]
    All,
    /// Read one header per parameter/level type and every 16th entry.
    Sample,
    /// Trust the index; read only one header per parameter/level type (for
    /// the grid and the names).
    None,
}

/// Candidate index locations for a GRIB location, in the order to try them:
/// ECMWF's `name.index` (extension replaced), `name.grib2.index`, NOAA's
/// `name.grib2.idx`.
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

/// An index line that disagrees with the GRIB file it describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct Mismatch {
    /// The line of the index (1-based).
    pub line: usize,
    /// What disagrees.
    pub reason: String,
}

/// Bytes read first per message to check an index line: sections 0–5 of
/// ECMWF messages take ~250 bytes; more is read when a header is longer.
pub const HEADER_GUESS: u64 = 2048;

/// Checking an index against the GRIB file it describes, without I/O: which
/// headers to read ([`IndexCheck::header_reads`]), then, given them, the
/// fields of the file ([`IndexCheck::finish`]). Entries whose header is not
/// read take the metadata of the first read entry of their group (same
/// parameter, level type, stream and type) with the line's level and member.
#[derive(Debug, Clone)]
pub struct IndexCheck {
    kind: IndexKind,
    entries: Vec<IndexEntry>,
    /// Whether each entry's header is read.
    read: Vec<bool>,
    file_len: u64,
}

/// Group of an entry for templates: same parameter, level type, stream and type.
fn group_key(e: &IndexEntry) -> String {
    ["param", "levtype", "stream", "type", "var", "level"]
        .iter()
        .map(|k| e.get(k).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("|")
}

impl IndexCheck {
    /// Plans the check of `entries` (from [`parse`]) against a GRIB file of
    /// `file_len` bytes.
    ///
    /// # Errors
    /// A line whose message starts beyond the end of the file (a stale
    /// index).
    pub fn new(
        kind: IndexKind,
        entries: Vec<IndexEntry>,
        verify: Verify,
        file_len: u64,
    ) -> Result<Self, Mismatch> {
        let mut first_of_group: HashMap<String, usize> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            first_of_group.entry(group_key(e)).or_insert(i);
        }
        let read: Vec<bool> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let first = first_of_group.get(&group_key(e)) == Some(&i);
                match verify {
                    Verify::All => true,
                    Verify::Sample => i % 16 == 0 || first,
                    Verify::None => first,
                }
            })
            .collect();
        for e in &entries {
            if e.offset >= file_len {
                return Err(Mismatch {
                    line: e.line,
                    reason: format!(
                        "offset {} is beyond the end of the file ({file_len} bytes)",
                        e.offset
                    ),
                });
            }
        }
        Ok(Self {
            kind,
            entries,
            read,
            file_len,
        })
    }

    /// The index's entries, in order.
    #[must_use]
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// The headers to read: (entry number, the read of its header), in
    /// order. Each read stays within the entry's message and the file.
    #[must_use]
    pub fn header_reads(&self) -> Vec<(usize, HeaderRead)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, _)| self.read[*i])
            .map(|(i, e)| {
                // `new` checked that the message starts within the file
                let rest = self.file_len - e.offset;
                let limit = e.length.map_or(rest, |l| l.min(rest));
                (i, HeaderRead::new(e.offset, limit, HEADER_GUESS))
            })
            .collect()
    }

    /// Bytes of the file in messages whose header is not read (for progress).
    #[must_use]
    pub fn unread_bytes(&self) -> u64 {
        let read: u64 = self
            .entries
            .iter()
            .zip(&self.read)
            .filter(|(_, r)| **r)
            .map(|(e, _)| e.length.unwrap_or(0))
            .sum();
        self.file_len.saturating_sub(read)
    }

    /// The mismatch of entry `i` whose header could not be read.
    #[must_use]
    pub fn unreadable(&self, i: usize, source: &crate::Error) -> Mismatch {
        let (line, offset) = self.entries.get(i).map_or((0, 0), |e| (e.line, e.offset));
        Mismatch {
            line,
            reason: format!("no valid GRIB2 message at offset {offset}: {source}"),
        }
    }

    /// The fields of the file at `url`, given the headers read (entry
    /// number, headers), in index order.
    ///
    /// # Errors
    /// The first line that disagrees with the header read for it (length,
    /// parameter, level, member, step) or whose message reaches beyond the
    /// end of the file.
    pub fn finish(
        &self,
        url: &str,
        verified: Vec<(usize, MessageHeaders)>,
    ) -> Result<Vec<ScannedField>, Mismatch> {
        let mut templates: HashMap<String, FieldMeta> = HashMap::new();
        let mut by_entry: HashMap<usize, MessageHeaders> = HashMap::new();
        for (i, m) in verified {
            if let Some(e) = self.entries.get(i) {
                if let Some(meta) = m.fields.first() {
                    templates
                        .entry(group_key(e))
                        .or_insert_with(|| meta.clone());
                }
                by_entry.insert(i, m);
            }
        }
        // in line order: the first line that is wrong is the one named
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(l) = e.length {
                if l > self.file_len - e.offset {
                    return Err(Mismatch {
                        line: e.line,
                        reason: format!(
                            "its message (offset {}, {l} bytes) reaches beyond the end of the file ({} bytes)",
                            e.offset, self.file_len
                        ),
                    });
                }
            }
            if let Some(m) = by_entry.get(&i) {
                for meta in &m.fields {
                    check_entry(e, self.kind, m.length, meta)?;
                }
            }
        }
        let mut out = Vec::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(m) = by_entry.remove(&i) {
                for meta in m.fields {
                    out.push(ScannedField {
                        url: url.to_string(),
                        offset: e.offset,
                        length: m.length,
                        meta,
                    });
                }
            } else if let Some(t) = templates.get(&group_key(e)) {
                out.push(ScannedField {
                    url: url.to_string(),
                    offset: e.offset,
                    length: e.length.unwrap_or(self.file_len - e.offset),
                    meta: from_template(t, e),
                });
            }
        }
        Ok(out)
    }
}

/// Whether index entry `e` describes the message of `length` bytes whose
/// (one) field is `meta`.
fn check_entry(
    e: &IndexEntry,
    kind: IndexKind,
    length: u64,
    meta: &FieldMeta,
) -> Result<(), Mismatch> {
    let mismatch = |reason: String| Mismatch {
        line: e.line,
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

/// A template's metadata with what an unread index line says.
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ecmwf_lines_with_string_numbers_and_varying_key_order() {
        let text = r#"{"domain": "g", "type": "pf", "number": "4", "step": "0", "param": "tp", "_offset": 0, "_length": 243}
{"param": "2t", "_length": 1000, "levtype": "sfc", "_offset": 243}
"#;
        let (kind, e) = parse(text).unwrap();
        assert_eq!(kind, IndexKind::Ecmwf);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].get("number"), Some("4"));
        assert_eq!((e[1].offset, e[1].length), (243, Some(1000)));
        assert_eq!(e[1].line, 2);
    }

    #[test]
    fn noaa_lengths_from_next_offsets() {
        let text = "1:0:d=2023082318:WIND:surface:1 hour fcst:\n2:41723:d=2023082318:WDIR:surface:1 hour fcst:\n3:100527:d=2023082318:UGRD:surface:1 hour fcst:\n";
        let (kind, e) = parse(text).unwrap();
        assert_eq!(kind, IndexKind::Noaa);
        assert_eq!(e[0].length, Some(41723));
        assert_eq!(e[1].length, Some(100527 - 41723));
        assert_eq!(e[2].length, None);
        assert_eq!(e[1].get("var"), Some("WDIR"));
    }

    #[test]
    fn noaa_sub_messages_share_the_length_of_their_message() {
        // 3.1 and 3.2 are sub-messages of one GRIB message (same offset);
        // many such lines once took time quadratic in their number
        let mut text = String::from("1:0:d=2023082318:HGT:surface:anl:\n");
        for n in 0..20_000 {
            text.push_str(&format!(
                "3.{n}:500:d=2023082318:UGRD:10 m above ground:anl:\n"
            ));
        }
        text.push_str("4:900:d=2023082318:TMP:surface:anl:\n");
        let (_, e) = parse(&text).unwrap();
        assert_eq!(e.len(), 20_002);
        assert_eq!(e[0].length, Some(500));
        assert!(e[1..20_001].iter().all(|x| x.length == Some(400)));
        assert_eq!(e[20_001].length, None);
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse("{\"_offset\": 0, \"_length\": 5}\n{\"_offset\": \"x\"}\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(matches!(parse(""), Err(IndexError::Empty)));
        assert!(parse("1:abc:d=1:X:y:z:").is_err());
    }
    fn headers(offset: u64, length: u64, short_name: &str, number: Option<i64>) -> MessageHeaders {
        let meta = FieldMeta {
            short_name: short_name.into(),
            number,
            end_step: 6,
            step_range: "6".into(),
            ..FieldMeta::default()
        };
        MessageHeaders {
            offset,
            length,
            fields: vec![meta],
        }
    }

    /// Without I/O: which headers are read, and what unread lines become.
    #[test]
    fn an_index_check_reads_one_header_per_group_and_fills_the_rest() {
        let text = r#"{"param": "2t", "levtype": "sfc", "number": "1", "step": "6", "_offset": 0, "_length": 100}
{"param": "2t", "levtype": "sfc", "number": "2", "step": "6", "_offset": 100, "_length": 120}
{"param": "tp", "levtype": "sfc", "number": "1", "step": "6", "_offset": 220, "_length": 80}
"#;
        let (kind, entries) = parse(text).unwrap();
        let check = IndexCheck::new(kind, entries.clone(), Verify::None, 300).unwrap();
        let reads: Vec<(usize, std::ops::Range<u64>)> = check
            .header_reads()
            .iter()
            .map(|(i, h)| (*i, h.need()))
            .collect();
        // the first of each group, each read within its message
        assert_eq!(reads, vec![(0, 0..100), (2, 220..300)]);
        assert_eq!(check.unread_bytes(), 120);
        let fields = check
            .finish(
                "f",
                vec![
                    (0, headers(0, 100, "2t", Some(1))),
                    (2, headers(220, 80, "tp", Some(1))),
                ],
            )
            .unwrap();
        let got: Vec<(u64, u64, &str, Option<i64>)> = fields
            .iter()
            .map(|f| {
                (
                    f.offset,
                    f.length,
                    f.meta.short_name.as_str(),
                    f.meta.number,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 100, "2t", Some(1)),
                (100, 120, "2t", Some(2)),
                (220, 80, "tp", Some(1))
            ]
        );
        // a header that disagrees with its line names the line
        let e = check
            .finish("f", vec![(0, headers(0, 100, "2t", Some(7)))])
            .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.contains("number 1"), "{e}");
        // a file shorter than the index says: a line starting beyond its end
        // is stale before any read, one ending beyond it once the headers are in
        let e = IndexCheck::new(kind, entries.clone(), Verify::All, 220).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("offset 220 is beyond the end"), "{e}");
        let short = IndexCheck::new(kind, entries, Verify::None, 299).unwrap();
        assert_eq!(
            short.header_reads()[1].1.need(),
            220..299,
            "reads stay within the file"
        );
        let e = short
            .finish("f", vec![(0, headers(0, 100, "2t", Some(1)))])
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("reaches beyond the end"), "{e}");
    }

    #[test]
    fn index_candidates_follow_ecmwf_then_noaa_naming() {
        assert_eq!(
            index_candidates("s3://b/x-6h-enfo-ef.grib2"),
            [
                "s3://b/x-6h-enfo-ef.index",
                "s3://b/x-6h-enfo-ef.grib2.index",
                "s3://b/x-6h-enfo-ef.grib2.idx"
            ]
        );
        assert_eq!(index_candidates("/d/f"), ["/d/f.index", "/d/f.idx"]);
    }
}
