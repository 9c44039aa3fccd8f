//! The one asynchronous seam of the core: reading byte ranges of objects.
//!
//! Everything else in `gik-core` is sans-IO: it takes bytes and returns
//! values or the byte ranges it still needs. Fetching those ranges is the
//! caller's business, behind [`RangeReader`]: `gik-cli` implements it with
//! positional reads and `object_store` (S3, GCS, Azure, HTTP), `gik-wasm` with
//! the browser's `fetch`, and [`MemoryReader`] serves tests. Every
//! implementation is held to the same contract by [`check_reader`], which each
//! crate runs against its own reader.
//!
//! Futures are `Send` natively (readers are shared across tokio's threads)
//! and not on wasm32, where JavaScript promises are not `Send`.

use crate::refs::RefValue;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

/// A boxed future: `Send` natively, not on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A boxed future: `Send` natively, not on wasm32.
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What kind of failure a read was, for the pipeline to act on without
/// parsing messages: a missing object is skipped where it may be missing (an
/// index next to a GRIB file), anything else stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The object does not exist (HTTP 404, no such file or key).
    NotFound,
    /// The server refused to say (HTTP 403): S3 answers this, not 404, for a
    /// missing key of a bucket whose listing is not public.
    Denied,
    /// Anything else: a range past the end, a network or server failure.
    Other,
}

/// The error of a [`RangeReader`]: it names the location (and range), and
/// says which [`ReadErrorKind`] it is.
pub trait ReadError: std::error::Error + MaybeSend + 'static {
    /// What kind of failure this is.
    fn kind(&self) -> ReadErrorKind;
}

/// `Send` natively (readers and work are shared across threads), nothing on
/// wasm32 (JavaScript values are not `Send`).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}
/// `Send` natively (readers and work are shared across threads), nothing on
/// wasm32 (JavaScript values are not `Send`).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// `Sync` natively (one reader serves concurrent reads on tokio's threads),
/// nothing on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSync: Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Sync + ?Sized> MaybeSync for T {}
/// `Sync` natively (one reader serves concurrent reads on tokio's threads),
/// nothing on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSync for T {}

/// Reads bytes of objects named by a location (a path or URL, as references
/// hold them).
///
/// The contract ([`check_reader`] tests it):
/// - `read_range(loc, a..b)` returns exactly `b - a` bytes, those of the
///   object at offsets `a..b`; an empty range returns no bytes;
/// - a range reaching past the end of the object is an error (a stale
///   reference), never a shorter result;
/// - `read_ranges(loc, ranges)` returns what `read_range` would for each
///   range, in order, or the first error;
/// - `read_all(loc)` returns the whole object, `len(loc)` its size;
/// - a location that does not exist is an error of kind
///   [`ReadErrorKind::NotFound`], from each of them.
pub trait RangeReader: MaybeSync {
    /// What went wrong, naming the location (and range).
    type Error: ReadError;

    /// The bytes at `range` of `location` (half-open: `start..end`).
    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<Bytes, Self::Error>>;

    /// The bytes of several ranges of `location`, in order. The default
    /// awaits [`RangeReader::read_range`] for all of them at once; a reader
    /// with a cheaper batch (one blocking task for a local file) overrides it.
    fn read_ranges<'a>(
        &'a self,
        location: &'a str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'a, Result<Vec<Bytes>, Self::Error>> {
        Box::pin(futures::future::try_join_all(
            ranges
                .into_iter()
                .map(move |r| self.read_range(location, r)),
        ))
    }

    /// The whole object at `location`.
    fn read_all<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<Bytes, Self::Error>>;

    /// The size of the object at `location` in bytes.
    fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, Self::Error>>;

    /// The last `n` bytes of `location` (all of it when it is shorter) and
    /// the object's size: how the end of a zip archive is found without
    /// knowing its length (one `Range: bytes=-n` request over HTTP).
    ///
    /// The provided implementation asks for the length, then reads the
    /// tail; readers that can ask for a suffix in one request override it.
    fn read_suffix<'a>(
        &'a self,
        location: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(Bytes, u64), Self::Error>> {
        Box::pin(async move {
            let size = self.len(location).await?;
            let tail = self
                .read_range(location, size.saturating_sub(n)..size)
                .await?;
            Ok((tail, size))
        })
    }
}

/// A shared reader reads as the reader does, so one reader (and its open
/// objects, its connections) can serve several engines or calls: the
/// Python package keeps one for the life of a `References`.
impl<R: RangeReader + ?Sized> RangeReader for &R {
    type Error = R::Error;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<Bytes, Self::Error>> {
        (**self).read_range(location, range)
    }

    fn read_ranges<'a>(
        &'a self,
        location: &'a str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'a, Result<Vec<Bytes>, Self::Error>> {
        (**self).read_ranges(location, ranges)
    }

    fn read_all<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<Bytes, Self::Error>> {
        (**self).read_all(location)
    }

    fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, Self::Error>> {
        (**self).len(location)
    }

    fn read_suffix<'a>(
        &'a self,
        location: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(Bytes, u64), Self::Error>> {
        (**self).read_suffix(location, n)
    }
}

/// The bytes of one reference: inline data as it is, a range or a whole
/// object through `reader`.
///
/// # Errors
/// The reader's error for a failed read.
pub async fn read_part<R: RangeReader + ?Sized>(
    reader: &R,
    part: &RefValue,
) -> Result<Bytes, R::Error> {
    match part {
        RefValue::Inline(b) => Ok(Bytes::copy_from_slice(b)),
        RefValue::Range {
            url,
            offset,
            length,
        } => {
            reader
                .read_range(url, *offset..offset.saturating_add(*length))
                .await
        }
        RefValue::Whole { url } => reader.read_all(url).await,
    }
}

/// Reads the parts of a sequence of fields (in the order a caller fetches
/// them) with neighbouring byte ranges coalesced: within each window of
/// `window` consecutive fields, parts that lie next to each other in one
/// object (at most `max_gap(location)` bytes apart, at most `max_len` bytes
/// in all) are served by one read, shared by whoever asks first, and
/// released when its last part has been taken.
///
/// Windows of consecutive fields keep memory bounded: a caller that has at
/// most `window` fields in flight (e.g. `buffered(window)`) holds at most
/// the bytes of those fields. Parts that coalesce with nothing are read as
/// they are. (ECMWF's ensemble files put members next to each other, so a
/// member's fields rarely coalesce; a control or deterministic forecast's
/// do: see BENCHMARKS.md.)
#[derive(Debug)]
pub struct CoalescingReader<R> {
    reader: R,
    groups: Vec<Group>,
    /// (field, part) → (group, bytes of the part within the group's read)
    index: std::collections::HashMap<(usize, usize), (usize, Range<usize>)>,
}

#[derive(Debug)]
struct Group {
    location: String,
    range: Range<u64>,
    /// Parts not yet taken; the read is dropped when this reaches zero.
    left: std::sync::atomic::AtomicUsize,
    bytes: futures::lock::Mutex<Option<Bytes>>,
}

impl<R: RangeReader> CoalescingReader<R> {
    /// Plans the coalesced reads of `fields`, each given as its parts.
    pub fn new<'p>(
        reader: R,
        fields: impl IntoIterator<Item = &'p [RefValue]>,
        window: usize,
        max_gap: impl Fn(&str) -> u64,
        max_len: u64,
    ) -> Self {
        let window = window.max(1);
        let mut groups = Vec::new();
        let mut index = std::collections::HashMap::new();
        // (location, offset, length, field, part) of one window
        let mut pending: Vec<(&'p str, u64, u64, usize, usize)> = Vec::new();
        let mut flush = |pending: &mut Vec<(&'p str, u64, u64, usize, usize)>| {
            pending.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            let mut i = 0;
            while i < pending.len() {
                let (loc, start, len, ..) = pending[i];
                let mut end = start.saturating_add(len);
                let gap = max_gap(loc);
                let mut j = i + 1;
                while j < pending.len() {
                    let (l2, s2, n2, ..) = pending[j];
                    let e2 = s2.saturating_add(n2);
                    if l2 != loc || s2 > end.saturating_add(gap) || e2.max(end) - start > max_len {
                        break;
                    }
                    end = end.max(e2);
                    j += 1;
                }
                if j - i > 1 {
                    let g = groups.len();
                    for &(_, s, n, field, part) in &pending[i..j] {
                        // within a group of at most max_len bytes: fits usize
                        let at = (s - start) as usize;
                        index.insert((field, part), (g, at..at + n as usize));
                    }
                    groups.push(Group {
                        location: loc.to_string(),
                        range: start..end,
                        left: std::sync::atomic::AtomicUsize::new(j - i),
                        bytes: futures::lock::Mutex::new(None),
                    });
                }
                i = j;
            }
            pending.clear();
        };
        for (field, parts) in fields.into_iter().enumerate() {
            if field % window == 0 {
                flush(&mut pending);
            }
            for (part, p) in parts.iter().enumerate() {
                if let RefValue::Range {
                    url,
                    offset,
                    length,
                } = p
                {
                    if *length <= max_len {
                        pending.push((&**url, *offset, *length, field, part));
                    }
                }
            }
        }
        flush(&mut pending);
        Self {
            reader,
            groups,
            index,
        }
    }

    /// How many reads serve several parts, and how many parts they serve.
    #[must_use]
    pub fn coalesced(&self) -> (usize, usize) {
        (self.groups.len(), self.index.len())
    }

    /// The underlying reader.
    pub fn inner(&self) -> &R {
        &self.reader
    }

    /// The bytes of part `part` (`RefValue`) of field number `field` (in the
    /// order given to [`CoalescingReader::new`]). Each part is to be taken
    /// once: its share of a coalesced read is then released.
    ///
    /// # Errors
    /// The reader's error (every part of a failed coalesced read gets it,
    /// each retrying the read).
    pub async fn read_part(
        &self,
        field: usize,
        part: usize,
        value: &RefValue,
    ) -> Result<Bytes, R::Error> {
        let Some((g, within)) = self.index.get(&(field, part)) else {
            return read_part(&self.reader, value).await;
        };
        let group = &self.groups[*g];
        let mut slot = group.bytes.lock().await;
        let all = match slot.as_ref() {
            Some(b) => b.clone(),
            None => {
                let b = self
                    .reader
                    .read_range(&group.location, group.range.clone())
                    .await?;
                *slot = Some(b.clone());
                b
            }
        };
        if group.left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
            *slot = None;
        }
        drop(slot);
        // The group's read should return exactly its range (the RangeReader
        // contract), which contains `within`; a reader that breaks the
        // contract (a short body from a hostile server) gets the part read
        // on its own, whose error says what came back.
        if within.end > all.len() {
            return read_part(&self.reader, value).await;
        }
        Ok(all.slice(within.clone()))
    }
}

/// Objects held in memory, by location: a [`RangeReader`] for tests and for
/// bytes a caller already has.
#[derive(Debug, Clone, Default)]
pub struct MemoryReader {
    objects: BTreeMap<String, Bytes>,
}

/// A failed read from a [`MemoryReader`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryReadError {
    /// No object at the location.
    #[error("{location}: not found")]
    NotFound {
        /// The location asked for.
        location: String,
    },
    /// The range reaches past the end of the object.
    #[error("{location}: bytes {}-{} asked for, the object has {size}", range.start, range.end)]
    Short {
        /// The location asked for.
        location: String,
        /// The range asked for.
        range: Range<u64>,
        /// The object's size.
        size: u64,
    },
}

impl MemoryReader {
    /// An empty reader.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the object at `location`.
    pub fn insert(&mut self, location: impl Into<String>, bytes: impl Into<Bytes>) {
        self.objects.insert(location.into(), bytes.into());
    }

    fn get(&self, location: &str) -> Result<&Bytes, MemoryReadError> {
        self.objects
            .get(location)
            .ok_or_else(|| MemoryReadError::NotFound {
                location: location.to_string(),
            })
    }
}

impl RangeReader for MemoryReader {
    type Error = MemoryReadError;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
        Box::pin(async move {
            let obj = self.get(location)?;
            let size = obj.len() as u64;
            if range.end > size || range.start > range.end {
                return Err(MemoryReadError::Short {
                    location: location.to_string(),
                    range,
                    size,
                });
            }
            // both ends are ≤ size, which is a usize
            Ok(obj.slice(range.start as usize..range.end as usize))
        })
    }

    fn read_all<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
        Box::pin(async move { self.get(location).cloned() })
    }

    fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, MemoryReadError>> {
        Box::pin(async move { self.get(location).map(|b| b.len() as u64) })
    }
}

impl ReadError for MemoryReadError {
    fn kind(&self) -> ReadErrorKind {
        match self {
            Self::NotFound { .. } => ReadErrorKind::NotFound,
            Self::Short { .. } => ReadErrorKind::Other,
        }
    }
}

/// Checks that `reader` keeps the [`RangeReader`] contract: `location` must
/// hold exactly `expected` (at least 2 bytes; the checks read ranges at its
/// start, middle and end, empty and single-byte ranges, a batch of them, the
/// whole object, its length, and ranges past the end), and `missing` must not
/// exist (every kind of read of it fails with [`ReadErrorKind::NotFound`]).
///
/// Each implementation's tests call this with its own reader (a local file,
/// a loopback HTTP server, `fetch` in Node), so they all behave alike.
///
/// # Errors
/// A description of the first broken promise.
pub async fn check_reader<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
    expected: &[u8],
    missing: &str,
) -> Result<(), String> {
    let n = expected.len() as u64;
    if n < 2 {
        return Err("check_reader needs an object of at least 2 bytes".into());
    }
    check_inside(reader, location, expected).await?;
    check_past_end(reader, location, n).await?;
    check_missing(reader, missing).await?;
    check_suffix(reader, location, expected).await?;
    expect_not_found(
        format!("read_suffix({missing})"),
        reader.read_suffix(missing, 1).await.err(),
    )
}

/// [`check_reader`]: ranges inside the object, one at a time and as one
/// batch, then the whole object and its length.
async fn check_inside<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
    expected: &[u8],
) -> Result<(), String> {
    let n = expected.len() as u64;
    let mid = n / 2;
    let ranges = [
        0..n,
        0..1,
        n - 1..n,
        mid..mid,
        0..0,
        n..n,
        1..n - 1,
        mid..n,
        0..mid,
    ];
    for r in ranges.clone() {
        let got = reader
            .read_range(location, r.clone())
            .await
            .map_err(|e| format!("read_range({location}, {r:?}) failed: {e}"))?;
        let want = &expected[r.start as usize..r.end as usize];
        if got.as_ref() != want {
            return Err(format!(
                "read_range({location}, {r:?}) returned {} bytes that differ from the object's {}",
                got.len(),
                want.len()
            ));
        }
    }
    let batch = reader
        .read_ranges(location, ranges.to_vec())
        .await
        .map_err(|e| format!("read_ranges({location}, {ranges:?}) failed: {e}"))?;
    if batch.len() != ranges.len() {
        return Err(format!(
            "read_ranges({location}) of {} ranges returned {} results",
            ranges.len(),
            batch.len()
        ));
    }
    for (r, got) in ranges.iter().zip(&batch) {
        if got.as_ref() != &expected[r.start as usize..r.end as usize] {
            return Err(format!(
                "read_ranges({location}): range {r:?} returned {} bytes that differ from the object's",
                got.len()
            ));
        }
    }
    let all = reader
        .read_all(location)
        .await
        .map_err(|e| format!("read_all({location}) failed: {e}"))?;
    if all.as_ref() != expected {
        return Err(format!(
            "read_all({location}) returned {} bytes, not the object's {n}",
            all.len()
        ));
    }
    match reader.len(location).await {
        Ok(len) if len == n => Ok(()),
        Ok(len) => Err(format!(
            "len({location}) is {len}, the object has {n} bytes"
        )),
        Err(e) => Err(format!("len({location}) failed: {e}")),
    }
}

/// [`check_reader`]: ranges past the end of an `n`-byte object fail, and not as NotFound.
async fn check_past_end<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
    n: u64,
) -> Result<(), String> {
    let mid = n / 2;
    for r in [n - 1..n + 1, mid..n + 100, n + 10..n + 20] {
        match reader.read_range(location, r.clone()).await {
            Ok(b) => {
                return Err(format!(
                    "read_range({location}, {r:?}) past the end ({n} bytes) returned {} bytes instead of an error",
                    b.len()
                ))
            }
            Err(e) if e.kind() == ReadErrorKind::NotFound => {
                return Err(format!(
                    "read_range({location}, {r:?}) past the end says the object is missing: {e}"
                ))
            }
            Err(_) => {}
        }
    }
    if let Ok(b) = reader.read_ranges(location, vec![0..1, mid..n + 1]).await {
        return Err(format!(
            "read_ranges({location}) with a range past the end returned {} results instead of an error",
            b.len()
        ));
    }
    Ok(())
}

/// [`check_reader`]: `e`, the error of the read `what` of a missing object, is NotFound.
fn expect_not_found<E: ReadError>(what: String, e: Option<E>) -> Result<(), String> {
    match e {
        None => Err(format!("{what} of a missing object succeeded")),
        Some(e) if e.kind() != ReadErrorKind::NotFound => Err(format!(
            "{what} of a missing object failed with {:?}, not NotFound: {e}",
            e.kind()
        )),
        Some(_) => Ok(()),
    }
}

/// [`check_reader`]: range, batch, whole and length reads of `missing` fail with NotFound.
async fn check_missing<R: RangeReader + ?Sized>(reader: &R, missing: &str) -> Result<(), String> {
    expect_not_found(
        format!("read_range({missing})"),
        reader.read_range(missing, 0..1).await.err(),
    )?;
    expect_not_found(
        format!("read_ranges({missing})"),
        reader.read_ranges(missing, vec![0..1, 0..0]).await.err(),
    )?;
    expect_not_found(
        format!("read_all({missing})"),
        reader.read_all(missing).await.err(),
    )?;
    expect_not_found(format!("len({missing})"), reader.len(missing).await.err())
}

/// [`check_reader`]: suffixes of the object, shorter, as long and longer.
async fn check_suffix<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
    expected: &[u8],
) -> Result<(), String> {
    let n = expected.len() as u64;
    for k in [1, n / 2, n, n + 10] {
        let (tail, size) = reader
            .read_suffix(location, k)
            .await
            .map_err(|e| format!("read_suffix({location}, {k}) failed: {e}"))?;
        let want = &expected[n.saturating_sub(k) as usize..];
        if size != n || tail.as_ref() != want {
            return Err(format!(
                "read_suffix({location}, {k}) returned {} bytes and size {size}, not the last {} of {n}",
                tail.len(),
                want.len()
            ));
        }
    }
    Ok(())
}

/// Helpers of the core's reader tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{BoxFuture, MemoryReadError, MemoryReader, RangeReader};
    use bytes::Bytes;
    use std::future::Future;
    use std::ops::Range;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    /// Runs a future that never waits (every MemoryReader future is ready).
    pub(crate) fn ready<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => unreachable!("a MemoryReader future waited"),
        }
    }

    /// A MemoryReader that counts its requests.
    pub(crate) struct Counting(pub MemoryReader, pub AtomicUsize);

    impl Counting {
        pub(crate) fn new(m: MemoryReader) -> Self {
            Self(m, AtomicUsize::new(0))
        }

        pub(crate) fn requests(&self) -> usize {
            self.1.load(Ordering::Relaxed)
        }
    }

    impl RangeReader for Counting {
        type Error = MemoryReadError;
        fn read_range<'a>(
            &'a self,
            location: &'a str,
            range: Range<u64>,
        ) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.read_range(location, range)
        }
        fn read_all<'a>(
            &'a self,
            location: &'a str,
        ) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.read_all(location)
        }
        fn read_suffix<'a>(
            &'a self,
            location: &'a str,
            n: u64,
        ) -> BoxFuture<'a, Result<(Bytes, u64), MemoryReadError>> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.read_suffix(location, n)
        }
        fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, MemoryReadError>> {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.len(location)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::testing::{ready, Counting};
    use super::*;

    #[test]
    fn memory_reader_keeps_the_contract() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = MemoryReader::new();
        r.insert("mem://a.grib2", data.clone());
        ready(check_reader(&r, "mem://a.grib2", &data, "mem://missing")).unwrap();
        // a borrowed reader keeps it too (every method forwards)
        ready(check_reader(&&r, "mem://a.grib2", &data, "mem://missing")).unwrap();
    }

    /// A reader that pads short reads would pass a naive test; this one must fail.
    #[test]
    fn check_reader_catches_a_reader_that_ignores_the_end() {
        struct Lenient(MemoryReader);
        impl RangeReader for Lenient {
            type Error = MemoryReadError;
            fn read_range<'a>(
                &'a self,
                location: &'a str,
                range: Range<u64>,
            ) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
                Box::pin(async move {
                    let all = self.0.read_all(location).await?;
                    let end = (range.end as usize).min(all.len());
                    let start = (range.start as usize).min(end);
                    Ok(all.slice(start..end))
                })
            }
            fn read_all<'a>(
                &'a self,
                location: &'a str,
            ) -> BoxFuture<'a, Result<Bytes, MemoryReadError>> {
                self.0.read_all(location)
            }
            fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, MemoryReadError>> {
                self.0.len(location)
            }
        }
        let mut m = MemoryReader::new();
        m.insert("x", vec![1u8, 2, 3, 4]);
        let err = ready(check_reader(&Lenient(m), "x", &[1, 2, 3, 4], "y")).unwrap_err();
        assert!(err.contains("past the end"), "{err}");
    }

    fn range(url: &str, offset: u64, length: u64) -> RefValue {
        RefValue::Range {
            url: url.into(),
            offset,
            length,
        }
    }

    #[test]
    fn coalesced_reads_give_the_same_bytes_with_fewer_reads() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut m = MemoryReader::new();
        m.insert("a", data.clone());
        m.insert("b", data.clone());
        // fields in fetch order: adjacent parts of "a" out of order, a gap of
        // 100 bytes, another object, inline bytes, and a part too far away
        let fields: Vec<Vec<RefValue>> = vec![
            vec![range("a", 100, 50)],
            vec![range("a", 0, 100), range("b", 0, 10)],
            vec![range("a", 250, 50)],
            vec![RefValue::Inline(vec![1, 2, 3])],
            vec![range("a", 9_000, 10), range("b", 10, 20)],
        ];
        let r = CoalescingReader::new(
            Counting::new(m),
            fields.iter().map(Vec::as_slice),
            8,
            |_| 100,
            1 << 20,
        );
        // a: 0..150 and 250..300 within the gap, 9000.. beyond; b: 0..30
        assert_eq!(r.coalesced(), (2, 5));
        for (i, parts) in fields.iter().enumerate() {
            for (j, p) in parts.iter().enumerate() {
                let got = ready(r.read_part(i, j, p)).unwrap();
                let want = ready(read_part(&r.inner().0, p)).unwrap();
                assert_eq!(got, want, "field {i} part {j}");
            }
        }
        // 2 coalesced reads + "a" 9000.. alone (inline needs none)
        assert_eq!(r.inner().requests(), 3);
        // every coalesced read was released after its last part
        for g in &r.groups {
            assert!(ready(g.bytes.lock()).is_none());
        }
    }

    #[test]
    fn windows_and_length_caps_bound_what_coalesces() {
        let fields: Vec<Vec<RefValue>> = (0..6).map(|i| vec![range("a", i * 100, 100)]).collect();
        let plan = |window, max_len| {
            CoalescingReader::new(
                MemoryReader::new(),
                fields.iter().map(Vec::as_slice),
                window,
                |_| 0,
                max_len,
            )
            .coalesced()
        };
        assert_eq!(plan(6, 1 << 20), (1, 6));
        assert_eq!(plan(3, 1 << 20), (2, 6)); // windows 0..3 and 3..6
        assert_eq!(plan(6, 250), (3, 6)); // at most two 100-byte parts per read
        assert_eq!(plan(1, 1 << 20), (0, 0));
    }

    #[test]
    fn parts_read_inline_ranges_and_whole_objects() {
        let mut m = MemoryReader::new();
        m.insert("f", b"GRIB....7777".to_vec());
        let range = RefValue::Range {
            url: "f".into(),
            offset: 4,
            length: 4,
        };
        assert_eq!(ready(read_part(&m, &range)).unwrap().as_ref(), b"....");
        let whole = RefValue::Whole { url: "f".into() };
        assert_eq!(ready(read_part(&m, &whole)).unwrap().len(), 12);
        let inline = RefValue::Inline(vec![9, 9]);
        assert_eq!(ready(read_part(&m, &inline)).unwrap().as_ref(), &[9, 9]);
        let stale = RefValue::Range {
            url: "f".into(),
            offset: 10,
            length: 4,
        };
        assert!(matches!(
            ready(read_part(&m, &stale)),
            Err(MemoryReadError::Short { size: 12, .. })
        ));
    }
}
