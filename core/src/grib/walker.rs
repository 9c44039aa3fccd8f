//! Finding the messages of a GRIB2 object from their headers alone, without
//! I/O: the walkers say which byte range they need next and take the bytes
//! when the caller has them (the shape of async-tiff's metadata reader, with
//! the fetching left outside). Data sections are never asked for, so a 5 GB
//! ensemble file is listed by reading a few kilobytes per message.
//!
//! - [`HeaderRead`]: the headers of one message at a known offset (an index
//!   line to check), asking for more when a header is longer than the first
//!   read.
//! - [`HeaderWalker`]: every message of an object, hopping from header to
//!   header; each read also takes the 4 bytes before the next message, so its
//!   `7777` is checked for free.
//!
//! ```
//! use gik_core::grib::{HeaderWalker, Walk};
//! # fn read(_r: std::ops::Range<u64>) -> bytes::Bytes { bytes::Bytes::new() }
//! let mut walker = HeaderWalker::new(0); // the object's length
//! loop {
//!     match walker.walk()? {
//!         Walk::Need(range) => walker.feed(read(range)),
//!         Walk::Message(m) => println!("{} bytes at {}: {} fields", m.length, m.offset, m.fields.len()),
//!         Walk::End => break,
//!     }
//! }
//! # Ok::<(), gik_core::Error>(())
//! ```

use super::frame::{scan_headers, HeaderScan};
use super::meta::FieldMeta;
use crate::{Error, Result};
use bytes::Bytes;
use std::ops::Range;

/// Headers (sections 0–5) longer than this are refused as implausible.
pub const MAX_HEADER: u64 = 16 << 20;
/// Read-ahead when hopping between small messages (several per read).
const READ_AHEAD: u64 = 64 * 1024;
/// Read size after a large message: enough for its `7777` and the next header.
const SMALL_READ: u64 = 4096;

/// The headers of one message: where it is and what its fields are.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageHeaders {
    /// Byte offset of `GRIB` in the object.
    pub offset: u64,
    /// Total length of the message (section 0).
    pub length: u64,
    /// The metadata of each field of the message, in order.
    pub fields: Vec<FieldMeta>,
}

/// What a [`HeaderRead`] wants after being fed.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderStep {
    /// The message's first bytes, `range` of the object (from its offset),
    /// are needed: feed them.
    Need(Range<u64>),
    /// The headers are read.
    Found(MessageHeaders),
}

/// Reads the headers of the message at `offset`, of which at most `limit`
/// bytes exist (the rest of the object, or the length an index gives).
#[derive(Debug, Clone)]
pub struct HeaderRead {
    offset: u64,
    limit: u64,
    want: u64,
}

impl HeaderRead {
    /// Starts by asking for the first `first` bytes (at least 16, at most
    /// `limit`).
    #[must_use]
    pub fn new(offset: u64, limit: u64, first: u64) -> Self {
        Self {
            offset,
            limit,
            want: first.max(16).min(limit),
        }
    }

    /// The range of the object to feed next.
    #[must_use]
    pub fn need(&self) -> Range<u64> {
        self.offset..self.offset + self.want
    }

    /// Takes the bytes of [`HeaderRead::need`], which must be all of them
    /// (a reader that returns fewer is an error here, not a guess).
    ///
    /// # Errors
    /// Fewer or more bytes than asked for; then as [`HeaderRead::feed`].
    pub fn feed_read(&mut self, bytes: &[u8]) -> Result<HeaderStep> {
        let r = self.need();
        if bytes.len() as u64 != r.end - r.start {
            return Err(wrong_read(&r, bytes.len()));
        }
        self.feed(bytes)
    }

    /// Takes the message's first bytes (those of [`HeaderRead::need`], or
    /// any prefix already at hand) and reads its headers, or says what more
    /// it needs.
    ///
    /// # Errors
    /// Not a GRIB2 message at the offset, a malformed header, or headers
    /// longer than the `limit` bytes that exist (or than [`MAX_HEADER`]).
    pub fn feed(&mut self, prefix: &[u8]) -> Result<HeaderStep> {
        let prefix = &prefix[..prefix
            .len()
            .min(usize::try_from(self.limit).unwrap_or(usize::MAX))];
        let got = prefix.len() as u64;
        match scan_headers(prefix, self.offset)? {
            HeaderScan::Found { length, fields } => Ok(HeaderStep::Found(MessageHeaders {
                offset: self.offset,
                length,
                fields: fields
                    .iter()
                    .map(super::Field::meta)
                    .collect::<Result<Vec<_>>>()?,
            })),
            HeaderScan::NeedMore { needed } => {
                if needed > MAX_HEADER {
                    return Err(Error::InvalidSection {
                        offset: self.offset,
                        section: 0,
                        reason: format!(
                            "its headers would need {needed} bytes, more than the {MAX_HEADER} gik accepts"
                        ),
                    });
                }
                if needed > self.limit || needed <= got {
                    return Err(Error::Truncated {
                        offset: self.offset,
                        what: "the message headers",
                        needed,
                        available: if needed > self.limit { self.limit } else { got },
                    });
                }
                self.want = needed.max(got.saturating_mul(2)).min(self.limit);
                Ok(HeaderStep::Need(self.need()))
            }
        }
    }
}

/// What a [`HeaderWalker`] has to say next.
#[derive(Debug, Clone, PartialEq)]
pub enum Walk {
    /// Feed these bytes of the object ([`HeaderWalker::feed`]), then ask again ([`HeaderWalker::walk`]).
    Need(Range<u64>),
    /// The next message (its `7777` checked).
    Message(MessageHeaders),
    /// No more messages.
    End,
}

#[derive(Debug)]
enum State {
    /// Looking for the next `GRIB` from `pos`.
    Seek,
    /// Reading a header longer than the buffer held.
    Header(HeaderRead),
    /// The headers are read; the `7777` at the message's end is next, in
    /// the bytes of this range.
    Tail(MessageHeaders, Range<u64>),
    Done,
}

/// Every message of an object of `len` bytes, from header to header. Bytes
/// before and between messages (WMO bulletin headers, padding) are skipped.
///
/// Large messages get reads just big enough for their `7777` and the next
/// header; small ones several messages per read.
#[derive(Debug)]
pub struct HeaderWalker {
    len: u64,
    /// Where the next message is looked for.
    pos: u64,
    buf: Bytes,
    buf_start: u64,
    /// Length of the last message (sizes the next read).
    last_len: u64,
    state: State,
    /// The range asked for and not yet fed.
    asked: Option<Range<u64>>,
    fed: Option<Bytes>,
}

fn read_ahead(length: u64) -> u64 {
    if length > READ_AHEAD {
        SMALL_READ
    } else {
        READ_AHEAD
    }
}

impl HeaderWalker {
    /// A walker over an object of `len` bytes.
    #[must_use]
    pub fn new(len: u64) -> Self {
        Self {
            len,
            pos: 0,
            buf: Bytes::new(),
            buf_start: 0,
            last_len: 0,
            state: State::Seek,
            asked: None,
            fed: None,
        }
    }

    /// How far the walk has got: the end of the last message (or of the
    /// bytes skipped).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Gives the bytes of the range the last [`Walk::Need`] asked for.
    pub fn feed(&mut self, bytes: Bytes) {
        self.fed = Some(bytes);
    }

    fn need(&mut self, range: Range<u64>) -> Walk {
        self.asked = Some(range.clone());
        Walk::Need(range)
    }

    /// The bytes fed for the range asked for, checked to be all of it.
    fn take_fed(&mut self) -> Result<Option<(u64, Bytes)>> {
        let Some(range) = self.asked.clone() else {
            return Ok(None);
        };
        let Some(bytes) = self.fed.take() else {
            return Ok(None);
        };
        self.asked = None;
        if bytes.len() as u64 != range.end - range.start {
            self.state = State::Done;
            return Err(wrong_read(&range, bytes.len()));
        }
        Ok(Some((range.start, bytes)))
    }

    /// What comes next: a range to feed, a message, or the end.
    ///
    /// # Errors
    /// A malformed or truncated message, a missing `7777`, or bytes fed that
    /// are not the range asked for. The walk stops at the first error.
    pub fn walk(&mut self) -> Result<Walk> {
        let result = self.step_inner();
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn step_inner(&mut self) -> Result<Walk> {
        if let Some(range) = &self.asked {
            if self.fed.is_none() {
                return Ok(Walk::Need(range.clone()));
            }
        }
        let fed = self.take_fed()?;
        match std::mem::replace(&mut self.state, State::Seek) {
            State::Done => {
                self.state = State::Done;
                Ok(Walk::End)
            }
            State::Header(mut h) => {
                let Some((_, bytes)) = fed else {
                    let r = h.need();
                    self.state = State::Header(h);
                    return Ok(self.need(r));
                };
                match h.feed(&bytes)? {
                    HeaderStep::Found(m) => self.after_header(m),
                    HeaderStep::Need(r) => {
                        self.state = State::Header(h);
                        Ok(self.need(r))
                    }
                }
            }
            State::Tail(m, r) => {
                let Some((start, bytes)) = fed else {
                    self.state = State::Tail(m, r.clone());
                    return Ok(self.need(r));
                };
                self.buf = bytes;
                self.buf_start = start;
                check_end(self.buf.get(..4).unwrap_or_default(), m.offset)?;
                self.pos = m.offset + m.length;
                Ok(Walk::Message(m))
            }
            State::Seek => {
                if let Some((start, bytes)) = fed {
                    self.buf = bytes;
                    self.buf_start = start;
                }
                self.seek()
            }
        }
    }

    fn seek(&mut self) -> Result<Walk> {
        loop {
            if self.pos + 16 > self.len {
                self.state = State::Done;
                return Ok(Walk::End);
            }
            let buf_end = self.buf_start + self.buf.len() as u64;
            if self.pos < self.buf_start || self.pos + 16 > buf_end {
                let end = (self.pos + read_ahead(self.last_len)).min(self.len);
                return Ok(self.need(self.pos..end));
            }
            // within the buffer, which is at most one read long
            let local = (self.pos - self.buf_start) as usize;
            let Some(found) = self.buf[local..].windows(4).position(|w| w == b"GRIB") else {
                if buf_end >= self.len {
                    self.pos = buf_end;
                    self.state = State::Done;
                    return Ok(Walk::End);
                }
                // keep 3 bytes: a `GRIB` may straddle two reads
                self.pos = buf_end - 3;
                continue;
            };
            let start = self.buf_start + (local + found) as u64;
            let mut h = HeaderRead::new(start, self.len - start, READ_AHEAD);
            return match h.feed(&self.buf[local + found..])? {
                HeaderStep::Found(m) => self.after_header(m),
                HeaderStep::Need(r) => {
                    self.state = State::Header(h);
                    Ok(self.need(r))
                }
            };
        }
    }

    fn after_header(&mut self, m: MessageHeaders) -> Result<Walk> {
        let end = m.offset + m.length;
        self.last_len = m.length;
        if end > self.len {
            return Err(Error::Truncated {
                offset: m.offset,
                what: "the message (section 0 total length)",
                needed: m.length,
                available: self.len - m.offset,
            });
        }
        // the message's `7777`: from the buffer if it holds it, else with the next read
        let tail = end - 4;
        let buf_end = self.buf_start + self.buf.len() as u64;
        if tail >= self.buf_start && end <= buf_end {
            let t = (tail - self.buf_start) as usize;
            check_end(&self.buf[t..t + 4], m.offset)?;
            self.pos = end;
            self.state = State::Seek;
            return Ok(Walk::Message(m));
        }
        let range = tail..(tail + read_ahead(m.length)).min(self.len);
        self.state = State::Tail(m, range.clone());
        Ok(self.need(range))
    }
}

/// A read that did not return the range asked for (a reader breaking the
/// [`crate::io::RangeReader`] contract).
fn wrong_read(range: &Range<u64>, got: usize) -> Error {
    Error::Truncated {
        offset: range.start,
        what: "a read of the object (not the bytes asked for)",
        needed: range.end - range.start,
        available: got as u64,
    }
}

/// The 4 bytes where a message's `7777` must be.
fn check_end(tail: &[u8], offset: u64) -> Result<()> {
    if tail == b"7777" {
        Ok(())
    } else {
        Err(Error::InvalidSection {
            offset,
            section: 8,
            reason: "the message does not end with `7777`".into(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// A small valid message with a `number` (section 4 template 4.1 is not
    /// needed: framing and the keys the walker reads are enough).
    fn sample() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2"
        );
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (the bundled sample)"))
    }

    /// Walks `object` feeding each range asked for, through `read` (which may
    /// shorten it), counting reads.
    fn walk(
        object: &[u8],
        read: impl Fn(Range<u64>) -> Bytes,
    ) -> (Result<Vec<MessageHeaders>>, usize) {
        let mut w = HeaderWalker::new(object.len() as u64);
        let mut out = Vec::new();
        let mut reads = 0;
        loop {
            match w.walk() {
                Ok(Walk::Need(r)) => {
                    assert!(r.end <= object.len() as u64, "asked past the end: {r:?}");
                    assert!(r.start < r.end, "asked for nothing");
                    reads += 1;
                    assert!(reads < 10_000, "the walk does not end");
                    w.feed(read(r));
                }
                Ok(Walk::Message(m)) => out.push(m),
                Ok(Walk::End) => return (Ok(out), reads),
                Err(e) => return (Err(e), reads),
            }
        }
    }

    fn exact(object: &[u8]) -> impl Fn(Range<u64>) -> Bytes + '_ {
        |r| Bytes::copy_from_slice(&object[r.start as usize..r.end as usize])
    }

    /// The reference answer: framing the whole buffer.
    fn framed(object: &[u8]) -> Vec<(u64, u64, Vec<FieldMeta>)> {
        super::super::messages(object)
            .map(|m| {
                let m = m.unwrap();
                let metas = m
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        super::super::Field {
                            msg_offset: m.offset,
                            msg_length: m.bytes.len() as u64,
                            index_in_message: i,
                            discipline: m.discipline,
                            sections: *s,
                        }
                        .meta()
                        .unwrap()
                    })
                    .collect();
                (m.offset, m.bytes.len() as u64, metas)
            })
            .collect()
    }

    #[test]
    fn walks_every_message_as_framing_the_whole_buffer_does() {
        let data = sample();
        // with junk before, between and after messages
        let mut object = b"TTAA00 ECMF 010000\r\r\n".to_vec();
        let first = framed(&data);
        for (offset, length, _) in &first {
            object.extend_from_slice(&data[*offset as usize..(*offset + *length) as usize]);
            object.extend_from_slice(b"\n\n\0");
        }
        let (got, reads) = walk(&object, exact(&object));
        let got = got.unwrap();
        let want = framed(&object);
        assert_eq!(got.len(), 5);
        assert_eq!(
            got.iter()
                .map(|m| (m.offset, m.length, m.fields.clone()))
                .collect::<Vec<_>>(),
            want
        );
        assert_eq!(got[4].fields[0].short_name, "tcc");
        // a few kilobytes per message, never the data sections
        assert!(reads <= 2 * got.len() + 1, "{reads} reads");
    }

    #[test]
    fn a_truncated_object_is_an_error_naming_the_message() {
        let data = sample();
        let msgs = framed(&data);
        let (offset, length, _) = msgs[1];
        let cut = &data[..(offset + length - 10) as usize];
        let (got, _) = walk(cut, exact(cut));
        match got {
            Err(Error::Truncated {
                offset: o, needed, ..
            }) => {
                assert_eq!((o, needed), (offset, length));
            }
            other => panic!("{other:?}"),
        }
        // cut inside the headers of the second message
        let cut = &data[..(offset + 40) as usize];
        let (got, _) = walk(cut, exact(cut));
        assert!(
            matches!(got, Err(Error::Truncated { offset: o, .. }) if o == offset),
            "{got:?}"
        );
    }

    #[test]
    fn a_short_read_is_an_error_not_a_loop() {
        let data = sample();
        let (got, reads) = walk(&data, |r| {
            let end = (r.end - 1).max(r.start);
            Bytes::copy_from_slice(&data[r.start as usize..end as usize])
        });
        assert!(matches!(got, Err(Error::Truncated { .. })), "{got:?}");
        assert_eq!(reads, 1);
        // and an empty read too
        let (got, _) = walk(&data, |_| Bytes::new());
        assert!(matches!(got, Err(Error::Truncated { .. })), "{got:?}");
    }

    #[test]
    fn a_missing_end_marker_is_reported() {
        let mut data = sample();
        let (offset, length, _) = framed(&data)[2];
        let end = (offset + length) as usize;
        data[end - 2] = b'x';
        let (got, _) = walk(&data, exact(&data));
        assert!(
            matches!(got, Err(Error::InvalidSection { section: 8, offset: o, .. }) if o == offset),
            "{got:?}"
        );
    }

    #[test]
    fn no_message_and_tiny_objects_end_cleanly() {
        for object in [&b""[..], b"GRIB", &[0u8; 100_000][..]] {
            let (got, _) = walk(object, exact(object));
            assert_eq!(got.unwrap(), vec![]);
        }
        // hostile: a `GRIB` claiming a huge length at the end of an object
        let mut m = b"GRIB\0\0\0\x02".to_vec();
        m.extend(u64::MAX.to_be_bytes());
        let (got, _) = walk(&m, exact(&m));
        assert!(got.is_err());
    }

    #[test]
    fn a_header_read_asks_for_more_then_reads_the_message() {
        let data = sample();
        let (offset, length, metas) = framed(&data).remove(0);
        let mut h = HeaderRead::new(offset, length, 20);
        assert_eq!(h.need(), offset..offset + 20);
        let mut reads = 0;
        let found = loop {
            let r = h.need();
            reads += 1;
            match h.feed(&data[r.start as usize..r.end as usize]).unwrap() {
                HeaderStep::Need(next) => assert!(next.end > r.end),
                HeaderStep::Found(m) => break m,
            }
        };
        assert_eq!(
            (found.offset, found.length, found.fields),
            (offset, length, metas)
        );
        assert!(reads > 1);
        // a limit shorter than the headers: truncated, not a read past it
        let mut h = HeaderRead::new(offset, 40, 40);
        assert!(matches!(
            h.feed(&data[..40]),
            Err(Error::Truncated { available: 40, .. })
        ));
        // not GRIB at the offset
        let mut h = HeaderRead::new(1, 100, 100);
        assert!(matches!(h.feed(&data[1..101]), Err(Error::NotGrib { .. })));
    }
}
