//! Index files published next to GRIB files: ECMWF's `.index` (JSON lines
//! with `_offset`/`_length` and MARS keys) and NOAA's wgrib2 `.idx`
//! (`n:offset:d=YYYYMMDDHH:VAR:level:forecast:`). Sans-IO: text in, entries out.

use std::collections::BTreeMap;

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

#[cfg(test)]
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
}
