//! Finding and validating GRIB2 messages in a buffer.
//!
//! A message is section 0 (`GRIB`, discipline, edition, total length),
//! sections 1–7 and the end marker `7777`. One message may hold several
//! fields: after section 7 the sequence may go back to section 2, 3 or 4.
//! Bytes before and between messages (WMO bulletin headers, padding) are
//! skipped. Every length read from a header is checked against the buffer
//! before it is used.

use super::section::Section;
use crate::{Error, Result};

/// The sections that make up one field of a message.
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    /// Identification section.
    pub s1: Section<'a>,
    /// Local use section (ECMWF puts `stream`, `type`, `class` here), if any.
    pub s2: Option<Section<'a>>,
    /// Grid definition section.
    pub s3: Section<'a>,
    /// Product definition section.
    pub s4: Section<'a>,
    /// Data representation section.
    pub s5: Section<'a>,
    /// Bitmap section, already resolved when it says "reuse the previous bitmap" (254).
    pub s6: Option<Section<'a>>,
    /// Data section.
    pub s7: Section<'a>,
}

/// One GRIB2 message: where it is and the fields it holds.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Byte offset of `GRIB` in the buffer.
    pub offset: u64,
    /// The whole message, `GRIB` to `7777`.
    pub bytes: &'a [u8],
    /// Discipline (octet 7 of section 0).
    pub discipline: u8,
    /// The fields (one per section 7).
    pub fields: Vec<Sections<'a>>,
}

/// One field: the sections needed to describe and decode it.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Byte offset of the message holding this field.
    pub msg_offset: u64,
    /// Total length of that message.
    pub msg_length: u64,
    /// Index of this field within its message (0 for single-field messages).
    pub index_in_message: usize,
    /// Discipline (section 0).
    pub discipline: u8,
    /// The field's sections.
    pub sections: Sections<'a>,
}

/// Iterates over the GRIB2 messages of a buffer. See [`messages`].
#[derive(Debug, Clone)]
pub struct MessageIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Iterates over every GRIB2 message in `buf`.
///
/// Each item is a validated [`Message`] or the error found at that position;
/// after an error the iterator resynchronises on the next `GRIB` marker, so
/// one bad message does not hide the rest. GRIB edition 1 messages yield
/// [`Error::UnsupportedEdition`].
#[must_use]
pub fn messages(buf: &[u8]) -> MessageIter<'_> {
    MessageIter { buf, pos: 0 }
}

/// Iterates over every field of every GRIB2 message in `buf`.
pub fn fields(buf: &[u8]) -> impl Iterator<Item = Result<Field<'_>>> {
    messages(buf).flat_map(|m| -> Vec<Result<Field<'_>>> {
        match m {
            Err(e) => vec![Err(e)],
            Ok(m) => m
                .fields
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    Ok(Field {
                        msg_offset: m.offset,
                        msg_length: m.bytes.len() as u64,
                        index_in_message: i,
                        discipline: m.discipline,
                        sections: *s,
                    })
                })
                .collect(),
        }
    })
}

/// The first field of the GRIB2 message `buf` starts with: what a chunk
/// of references (one message each) or a message handed over alone holds.
///
/// # Errors
/// [`Error::NotGrib`] when `buf` does not start with `GRIB`, or the
/// message's framing error.
pub fn first_field(buf: &[u8]) -> Result<Field<'_>> {
    if !buf.starts_with(b"GRIB") {
        return Err(Error::NotGrib {
            offset: 0,
            reason: "the bytes do not start with `GRIB`",
        });
    }
    fields(buf).next().unwrap_or(Err(Error::NotGrib {
        offset: 0,
        reason: "no message in the bytes",
    }))
}

fn find_marker(buf: &[u8], from: usize) -> Option<usize> {
    let hay = buf.get(from..)?;
    hay.windows(4).position(|w| w == b"GRIB").map(|p| p + from)
}

impl<'a> Iterator for MessageIter<'a> {
    type Item = Result<Message<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = find_marker(self.buf, self.pos)?;
        match parse_message(self.buf, start) {
            Ok(m) => {
                self.pos = start + m.bytes.len();
                Some(Ok(m))
            }
            Err((e, skip)) => {
                // Always move forward, at least past this marker.
                self.pos = start + skip.max(4);
                Some(Err(e))
            }
        }
    }
}

/// Parses the message whose `GRIB` marker is at `start`. On error, also
/// returns how many bytes to skip before looking for the next marker.
fn parse_message(buf: &[u8], start: usize) -> std::result::Result<Message<'_>, (Error, usize)> {
    let offset = start as u64;
    let rest = &buf[start..];
    if rest.len() < 16 {
        return Err((
            Error::Truncated {
                offset,
                what: "section 0",
                needed: 16,
                available: rest.len() as u64,
            },
            4,
        ));
    }
    let edition = rest[7];
    if edition == 1 {
        let len = u32::from_be_bytes([0, rest[4], rest[5], rest[6]]) as usize;
        let skip = if len >= 8 && len <= rest.len() {
            len
        } else {
            4
        };
        return Err((Error::UnsupportedEdition { offset, edition }, skip));
    }
    if edition != 2 {
        return Err((
            Error::NotGrib {
                offset,
                reason: "`GRIB` is not followed by edition 1 or 2",
            },
            4,
        ));
    }
    let discipline = rest[6];
    let total = u64::from_be_bytes(rest[8..16].try_into().unwrap_or([0; 8]));
    if total < 16 + 4 {
        return Err((
            Error::InvalidSection {
                offset,
                section: 0,
                reason: format!("total length {total} is too small"),
            },
            4,
        ));
    }
    if total > rest.len() as u64 {
        return Err((
            Error::Truncated {
                offset,
                what: "the message (section 0 total length)",
                needed: total,
                available: rest.len() as u64,
            },
            4,
        ));
    }
    let total = total as usize;
    let bytes = &rest[..total];
    let end_ok = &bytes[total - 4..] == b"7777";
    match parse_sections(bytes, offset) {
        Ok(fields) if end_ok => Ok(Message {
            offset,
            bytes,
            discipline,
            fields,
        }),
        Ok(_) => Err((
            Error::InvalidSection {
                offset,
                section: 8,
                reason: "the message does not end with `7777`".into(),
            },
            4,
        )),
        // A well-delimited message with a bad section: skip the whole message.
        Err(e) => Err((e, if end_ok { total } else { 4 })),
    }
}

/// The outcome of walking a message's sections.
enum Walk<'a> {
    /// Every field, complete (or, in header mode, with sections 6–7 possibly cut short).
    Done(Vec<Sections<'a>>),
    /// Header mode: the first `needed` bytes of the message are required to go on.
    NeedMore(usize),
}

fn parse_sections(bytes: &[u8], offset: u64) -> Result<Vec<Sections<'_>>> {
    match walk_sections(bytes, bytes.len(), offset, false)? {
        Walk::Done(fields) => Ok(fields),
        // Unreachable in full mode (every length was checked), but never panic.
        Walk::NeedMore(needed) => Err(Error::Truncated {
            offset,
            what: "the message",
            needed: needed as u64,
            available: bytes.len() as u64,
        }),
    }
}

/// Walks the sections of the message starting at `bytes[0]` whose section 0
/// says it is `total` bytes long. In full mode `bytes` is the whole message.
/// In header mode `bytes` may be a prefix: sections 1–5 must be complete, but
/// of sections 6 and 7 only the first octets are needed (the bitmap indicator),
/// so a scan never reads data sections.
fn walk_sections(bytes: &[u8], total: usize, offset: u64, header_mode: bool) -> Result<Walk<'_>> {
    let end = total - 4;
    let mut pos = 16;
    let mut fields = Vec::new();
    let mut pending = PendingField::default();
    let mut after: u8 = 0; // number of the last section read
    let invalid = |section: u8, reason: String| invalid_section(offset, section, reason);
    while pos < end {
        if end - pos < 5 {
            return Err(invalid(
                after,
                format!("{} stray bytes before `7777`", end - pos),
            ));
        }
        if bytes.len() < pos + 5 {
            return Ok(Walk::NeedMore(pos + 5));
        }
        let len = u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let num = bytes[pos + 4];
        if len < 5 {
            return Err(invalid(num, format!("length {len} is less than 5")));
        }
        if len > end - pos {
            return Err(Error::Truncated {
                offset,
                what: "a section (its length runs past `7777`)",
                needed: (pos + len) as u64,
                available: end as u64,
            });
        }
        if !may_follow(after, num) {
            return Err(invalid(
                num,
                format!("section {num} cannot follow section {after}"),
            ));
        }
        // Header mode needs sections 6 and 7 only up to the bitmap indicator.
        let needed_now = match num {
            6 if header_mode => len.min(6),
            7 if header_mode => 5,
            _ => len,
        };
        if bytes.len() < pos + needed_now {
            return Ok(Walk::NeedMore(pos + needed_now));
        }
        let available = bytes.len().min(pos + len);
        let sec = Section::new(&bytes[pos..available], offset);
        if num == 7 {
            fields.push(pending.complete(sec, offset)?);
        } else {
            pending.record(num, sec, offset)?;
        }
        after = num;
        pos += len;
    }
    if after != 7 {
        return Err(invalid(
            after,
            "the message ends before a complete field (sections 3–7)".into(),
        ));
    }
    Ok(Walk::Done(fields))
}

/// The error for an invalid section `section` of the message at `offset`.
fn invalid_section(offset: u64, section: u8, reason: String) -> Error {
    Error::InvalidSection {
        offset,
        section,
        reason,
    }
}

/// Whether section `num` may come right after section `after` (0: section 0;
/// after 7 a message may go back to section 2, 3 or 4 for its next field).
fn may_follow(after: u8, num: u8) -> bool {
    match after {
        0 => num == 1,
        1 => num == 2 || num == 3,
        2 => num == 3,
        3 => num == 4,
        4 => num == 5,
        5 => num == 6,
        6 => num == 7,
        7 => matches!(num, 2..=4),
        _ => false,
    }
}

/// The sections 1–6 read so far, which the next section 7 completes into a field.
#[derive(Default)]
struct PendingField<'a> {
    s1: Option<Section<'a>>,
    s2: Option<Section<'a>>,
    s3: Option<Section<'a>>,
    s4: Option<Section<'a>>,
    s5: Option<Section<'a>>,
    s6: Option<Option<Section<'a>>>,
    /// The last bitmap given in full, for indicator 254 (reuse the previous one).
    last_bitmap: Option<Section<'a>>,
}

impl<'a> PendingField<'a> {
    /// Records section `num` (1 to 6) of the message at `offset`, resolving a
    /// section 6's bitmap indicator.
    fn record(&mut self, num: u8, sec: Section<'a>, offset: u64) -> Result<()> {
        match num {
            1 => self.s1 = Some(sec),
            2 => self.s2 = Some(sec),
            3 => self.s3 = Some(sec),
            4 => self.s4 = Some(sec),
            5 => self.s5 = Some(sec),
            6 => {
                let indicator = sec.u8(6)?;
                self.s6 = Some(match indicator {
                    0 => {
                        self.last_bitmap = Some(sec);
                        Some(sec)
                    }
                    255 => None,
                    254 => Some(self.last_bitmap.ok_or_else(|| {
                        invalid_section(
                            offset,
                            6,
                            "bitmap indicator 254 (reuse previous) but no previous bitmap".into(),
                        )
                    })?),
                    other => {
                        // 1–253: a predefined bitmap; none is defined by WMO for general use.
                        return Err(Error::UnsupportedTemplate {
                            offset,
                            section: 6,
                            template: u16::from(other),
                        });
                    }
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The field that data section `s7` completes.
    fn complete(&self, s7: Section<'a>, offset: u64) -> Result<Sections<'a>> {
        let missing = |n: u8| invalid_section(offset, n, "missing before section 7".into());
        Ok(Sections {
            s1: self.s1.ok_or_else(|| missing(1))?,
            s2: self.s2,
            s3: self.s3.ok_or_else(|| missing(3))?,
            s4: self.s4.ok_or_else(|| missing(4))?,
            s5: self.s5.ok_or_else(|| missing(5))?,
            s6: self.s6.ok_or_else(|| missing(6))?,
            s7,
        })
    }
}

/// What [`scan_headers`] found at the start of a buffer.
#[derive(Debug)]
pub enum HeaderScan<'a> {
    /// The message's fields, described from their headers (sections 6 and 7
    /// hold only their first octets: enough for metadata, not for decoding).
    Found {
        /// Total length of the message (section 0).
        length: u64,
        /// One per field of the message.
        fields: Vec<Field<'a>>,
    },
    /// The first `needed` bytes of the message are required to go on.
    NeedMore {
        /// Bytes needed from the start of the message.
        needed: u64,
    },
}

/// Reads the headers of the message that starts at `prefix[0]` (found at byte
/// `offset` of its file) from a prefix of it: sections 0–5 and the first
/// octets of 6, never the data. Used to scan files or verify an index with a
/// few hundred bytes per message.
///
/// # Errors
/// Not a GRIB message at this offset, GRIB edition 1, or a malformed header.
pub fn scan_headers(prefix: &[u8], offset: u64) -> Result<HeaderScan<'_>> {
    if prefix.len() < 16 {
        return Ok(HeaderScan::NeedMore { needed: 16 });
    }
    if &prefix[..4] != b"GRIB" {
        return Err(Error::NotGrib {
            offset,
            reason: "expected `GRIB` at this offset",
        });
    }
    let edition = prefix[7];
    if edition != 2 {
        return Err(if edition == 1 {
            Error::UnsupportedEdition { offset, edition }
        } else {
            Error::NotGrib {
                offset,
                reason: "`GRIB` is not followed by edition 1 or 2",
            }
        });
    }
    let discipline = prefix[6];
    let total = u64::from_be_bytes(prefix[8..16].try_into().unwrap_or([0; 8]));
    if total < 20 || total > usize::MAX as u64 / 2 {
        return Err(Error::InvalidSection {
            offset,
            section: 0,
            reason: format!("total length {total} is implausible"),
        });
    }
    let bytes = &prefix[..prefix.len().min(total as usize)];
    match walk_sections(bytes, total as usize, offset, true)? {
        Walk::NeedMore(needed) => Ok(HeaderScan::NeedMore {
            needed: needed as u64,
        }),
        Walk::Done(secs) => Ok(HeaderScan::Found {
            length: total,
            fields: secs
                .into_iter()
                .enumerate()
                .map(|(i, sections)| Field {
                    msg_offset: offset,
                    msg_length: total,
                    index_in_message: i,
                    discipline,
                    sections,
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_message() -> Vec<u8> {
        // Section 0 + tiny sections 1,3,4,5,6,7 with valid framing only.
        let mut body = Vec::new();
        for (num, len) in [(1u8, 21usize), (3, 14), (4, 9), (5, 11), (6, 6), (7, 5)] {
            let mut s = vec![0u8; len];
            s[..4].copy_from_slice(&(len as u32).to_be_bytes());
            s[4] = num;
            if num == 6 {
                s[5] = 255;
            }
            body.extend(s);
        }
        let total = 16 + body.len() + 4;
        let mut m = b"GRIB\0\0\0\x02".to_vec();
        m.extend((total as u64).to_be_bytes());
        m.extend(body);
        m.extend(b"7777");
        m
    }

    #[test]
    fn frames_message_with_leading_and_trailing_junk() {
        let mut buf = b"TTAA00 ECMF 010000\r\r\n".to_vec();
        buf.extend(minimal_message());
        buf.extend(b"\n\n");
        buf.extend(minimal_message());
        let msgs: Vec<_> = messages(&buf).collect();
        assert_eq!(msgs.len(), 2);
        let m0 = msgs[0].as_ref().unwrap();
        assert_eq!(m0.offset, 21);
        assert_eq!(m0.fields.len(), 1);
    }

    #[test]
    fn grib1_is_refused_clearly() {
        let mut m = b"GRIB\0\0\x20\x01".to_vec();
        m.resize(32, 0);
        let e = messages(&m).next().unwrap().unwrap_err();
        assert!(
            matches!(
                e,
                Error::UnsupportedEdition {
                    edition: 1,
                    offset: 0
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn zero_section_length_is_an_error_not_a_hang() {
        let mut m = minimal_message();
        m[16..20].copy_from_slice(&0u32.to_be_bytes());
        let e = messages(&m).next().unwrap().unwrap_err();
        assert!(matches!(e, Error::InvalidSection { section: 1, .. }), "{e}");
    }

    #[test]
    fn truncated_message_is_reported() {
        let m = minimal_message();
        let e = messages(&m[..m.len() - 10]).next().unwrap().unwrap_err();
        assert!(matches!(e, Error::Truncated { .. }), "{e}");
    }

    #[test]
    fn repeated_fields_in_one_message() {
        let m = minimal_message();
        // Append sections 4,5,6,7 again before 7777.
        let tail: Vec<u8> = m[16 + 21 + 14..m.len() - 4].to_vec();
        let mut body = m[16..m.len() - 4].to_vec();
        body.extend(tail);
        let total = 16 + body.len() + 4;
        let mut two = b"GRIB\0\0\0\x02".to_vec();
        two.extend((total as u64).to_be_bytes());
        two.extend(body);
        two.extend(b"7777");
        let msg = messages(&two).next().unwrap().unwrap();
        assert_eq!(msg.fields.len(), 2);
    }

    #[test]
    fn header_scan_asks_for_more_then_finds_fields_without_data() {
        let m = minimal_message();
        // Up to the middle of section 5: more is needed.
        let cut = 16 + 21 + 14 + 9 + 8;
        match scan_headers(&m[..cut], 100).unwrap() {
            HeaderScan::NeedMore { needed } => assert_eq!(needed, (16 + 21 + 14 + 9 + 11) as u64),
            other => panic!("{other:?}"),
        }
        // Sections 0-5 plus the first 6 octets of section 6 are enough.
        let cut = 16 + 21 + 14 + 9 + 11 + 6 + 5;
        match scan_headers(&m[..cut], 100).unwrap() {
            HeaderScan::Found { length, fields } => {
                assert_eq!(length, m.len() as u64);
                assert_eq!(fields.len(), 1);
                assert_eq!(fields[0].msg_offset, 100);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            scan_headers(b"GRIX\0\0\0\x02\0\0\0\0\0\0\0\x40", 7),
            Err(Error::NotGrib { offset: 7, .. })
        ));
    }
}
