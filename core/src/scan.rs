//! Scanning GRIB2 objects into the fields references are built from: the one
//! asynchronous driver, over any [`RangeReader`].
//!
//! For each object it reads the `.index` / `.idx` next to it and checks its
//! lines against the GRIB headers ([`IndexCheck`]), or hops from header to
//! header ([`HeaderWalker`]). Data sections are never read. The parsing is
//! sans-IO; this module only moves bytes between the reader and the parsers,
//! with two hooks: [`Progress`] (bytes to do, bytes done) and an
//! [`Executor`] that runs the parsing of batches of index-checked headers
//! (natively `spawn_blocking`, inline in WebAssembly).
//!
//! ```
//! use gik_core::io::MemoryReader;
//! use gik_core::scan::{scan, Inline, ScanOptions};
//! let mut reader = MemoryReader::new();
//! reader.insert("a.grib2", std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2")).unwrap());
//! let fields = futures::executor::block_on(scan(&reader, &["a.grib2".to_string()], &ScanOptions::default(), &(), &Inline)).unwrap();
//! assert_eq!(fields.len(), 5); // no index next to it: from the headers
//! ```

use crate::grib::{HeaderStep, HeaderWalker, MessageHeaders, Walk};
use crate::index::{self, IndexCheck, IndexError, Mismatch, Verify};
use crate::io::{BoxFuture, MaybeSend, MaybeSync, RangeReader, ReadError, ReadErrorKind};
use crate::refs::ScannedField;
use crate::request::Selection;
use futures::stream::{self, StreamExt, TryStreamExt};

/// How to find the messages of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The index when one exists next to the object, otherwise headers.
    #[default]
    Auto,
    /// Require an index (`.index` or `.idx`).
    Index,
    /// Hop from header to header, ignoring any index.
    Headers,
}

/// How a scan reads.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Index or headers.
    pub mode: Mode,
    /// How much of an index to check against the headers.
    pub verify: Verify,
    /// Header reads in flight at once, over all objects (at least 8 per object).
    pub concurrency: usize,
    /// Objects scanned at once.
    pub objects_at_once: usize,
    /// Header reads per [`RangeReader::read_ranges`] call for a location
    /// (a local file reads a batch in one blocking task; a remote one sends
    /// a batch's requests at once).
    pub batch: fn(&str) -> usize,
    /// Only the fields this selection keeps (by their index lines, or their
    /// headers without an index): `param`, `levelist`, `number` of an
    /// open-data request. `None` keeps every field.
    pub select: Option<std::sync::Arc<Selection>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Auto,
            verify: Verify::All,
            concurrency: 64,
            objects_at_once: 4,
            batch: |_| 16,
            select: None,
        }
    }
}

/// Where a scan tells how far it has got, in bytes of the objects scanned.
pub trait Progress: MaybeSync {
    /// `bytes` more to scan (an object's length, once it is known).
    fn add_total(&self, bytes: u64) {
        let _ = bytes;
    }
    /// `bytes` more scanned.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
}

/// No progress reported.
impl Progress for () {}

/// A task that did not finish (it panicked or its runtime shut down).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a background task failed: {0}")]
pub struct TaskError(pub String);

/// Where CPU work (parsing headers, decoding) runs: a blocking thread pool
/// natively, inline in WebAssembly.
pub trait Executor: MaybeSync {
    /// Runs `work` and resolves to what it returns.
    fn run<T: MaybeSend + 'static>(
        &self,
        work: impl FnOnce() -> T + MaybeSend + 'static,
    ) -> BoxFuture<'static, Result<T, TaskError>>;
}

/// Runs work at once, on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl Executor for Inline {
    fn run<T: MaybeSend + 'static>(
        &self,
        work: impl FnOnce() -> T + MaybeSend + 'static,
    ) -> BoxFuture<'static, Result<T, TaskError>> {
        let done = work();
        Box::pin(std::future::ready(Ok(done)))
    }
}

/// Why a scan failed. `E` is the reader's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError<E: std::error::Error + 'static> {
    /// A read failed.
    #[error(transparent)]
    Read(E),
    /// The GRIB data at `url` is malformed.
    #[error("{url}: {source}")]
    Grib {
        url: String,
        #[source]
        source: crate::Error,
    },
    /// The index is malformed.
    #[error("{index}: {source}")]
    Index {
        index: String,
        #[source]
        source: IndexError,
    },
    /// An index line disagrees with the GRIB file.
    #[error("{index} line {line} disagrees with the GRIB file {url}: {reason}")]
    Mismatch {
        index: String,
        line: usize,
        url: String,
        reason: String,
    },
    /// [`Mode::Index`] and no index next to the object.
    #[error("{url}: no index found (tried {tried})")]
    NoIndex { url: String, tried: String },
    /// No GRIB2 message in the object.
    #[error("{url}: no GRIB2 message found")]
    Empty { url: String },
    /// The executor lost a task.
    #[error(transparent)]
    Task(#[from] TaskError),
}

type Scanned<E> = Result<Vec<ScannedField>, ScanError<E>>;

/// Scans `urls` (as references will name them), several objects at once and
/// several reads at once within each, into their fields in order.
///
/// # Errors
/// The first failure: a read, malformed GRIB, a malformed or stale index, no
/// index with [`Mode::Index`], an object without messages.
pub async fn scan<R, P, X>(
    reader: &R,
    urls: &[String],
    opts: &ScanOptions,
    progress: &P,
    exec: &X,
) -> Scanned<R::Error>
where
    R: RangeReader + ?Sized,
    P: Progress + ?Sized,
    X: Executor + ?Sized,
{
    let per_object = (opts.concurrency / urls.len().max(1)).max(8);
    let select = opts.select.as_deref().filter(|s| !s.is_all());
    let jobs = urls.iter().map(|url| async move {
        let index = if opts.mode == Mode::Headers {
            None
        } else {
            find_index(reader, url).await?
        };
        match (index, opts.mode) {
            (Some((index_url, text)), _) => {
                let batch = (opts.batch)(url).max(1);
                let c = IndexScan {
                    url,
                    index: &index_url,
                    in_flight: (per_object / batch).max(2),
                    batch,
                };
                c.run(reader, &text, opts.verify, select, progress, exec)
                    .await
            }
            (None, Mode::Index) => Err(ScanError::NoIndex {
                url: url.clone(),
                tried: index::index_candidates(url).join(", "),
            }),
            (None, _) => {
                let mut fields = scan_headers(reader, url, progress).await?;
                if let Some(sel) = select {
                    fields.retain(|f| sel.keeps_field(&f.meta));
                }
                Ok(fields)
            }
        }
    });
    let results: Vec<Vec<ScannedField>> = stream::iter(jobs)
        .buffered(opts.objects_at_once.max(1))
        .try_collect()
        .await?;
    Ok(results.into_iter().flatten().collect())
}

/// The index next to `url` and its text, if there is one.
async fn find_index<R: RangeReader + ?Sized>(
    reader: &R,
    url: &str,
) -> Result<Option<(String, String)>, ScanError<R::Error>> {
    for candidate in index::index_candidates(url) {
        match reader.read_all(&candidate).await {
            Ok(b) => return Ok(Some((candidate, String::from_utf8_lossy(&b).into_owned()))),
            // (S3 answers 403, not 404, for a missing key when listing is not allowed)
            Err(e) if matches!(e.kind(), ReadErrorKind::NotFound | ReadErrorKind::Denied) => {}
            Err(e) => return Err(ScanError::Read(e)),
        }
    }
    Ok(None)
}

/// Scans one object by hopping from header to header.
///
/// # Errors
/// A failed read, a malformed or truncated message, no message at all.
pub async fn scan_headers<R, P>(reader: &R, url: &str, progress: &P) -> Scanned<R::Error>
where
    R: RangeReader + ?Sized,
    P: Progress + ?Sized,
{
    let len = reader.len(url).await.map_err(ScanError::Read)?;
    progress.add_total(len);
    let mut walker = HeaderWalker::new(len);
    let mut out = Vec::new();
    let mut done = 0;
    let grib = |source| ScanError::Grib {
        url: url.to_string(),
        source,
    };
    // The walk runs inline between reads: its steps are one message's
    // headers (microseconds), and handing each to a thread pool cost 4× the
    // system time of the whole scan (51 members, 4,641 messages: sys 0.25 s
    // against 0.06 s inline).
    loop {
        match walker.walk().map_err(grib)? {
            Walk::Message(m) => {
                let end = m.offset + m.length;
                progress.advance(end.saturating_sub(done));
                done = end;
                push_fields(&mut out, url, m);
            }
            Walk::Need(range) => walker.feed(
                reader
                    .read_range(url, range)
                    .await
                    .map_err(ScanError::Read)?,
            ),
            Walk::End => break,
        }
    }
    if out.is_empty() {
        return Err(ScanError::Empty {
            url: url.to_string(),
        });
    }
    Ok(out)
}

fn push_fields(out: &mut Vec<ScannedField>, url: &str, m: MessageHeaders) {
    for meta in m.fields {
        out.push(ScannedField {
            url: url.to_string(),
            offset: m.offset,
            length: m.length,
            meta,
        });
    }
}

/// One object scanned through its index.
struct IndexScan<'a> {
    url: &'a str,
    index: &'a str,
    /// Batches of header reads in flight.
    in_flight: usize,
    /// Header reads per batch.
    batch: usize,
}

impl IndexScan<'_> {
    fn mismatch<E: std::error::Error + 'static>(&self, m: Mismatch) -> ScanError<E> {
        ScanError::Mismatch {
            index: self.index.to_string(),
            line: m.line,
            url: self.url.to_string(),
            reason: m.reason,
        }
    }

    async fn run<R, P, X>(
        &self,
        reader: &R,
        text: &str,
        verify: Verify,
        select: Option<&Selection>,
        progress: &P,
        exec: &X,
    ) -> Scanned<R::Error>
    where
        R: RangeReader + ?Sized,
        P: Progress + ?Sized,
        X: Executor + ?Sized,
    {
        let (kind, mut entries) = index::parse(text).map_err(|source| ScanError::Index {
            index: self.index.to_string(),
            source,
        })?;
        if let Some(sel) = select {
            entries.retain(|e| sel.keeps_entry(e));
            if entries.is_empty() {
                // nothing of this object is asked for: its bytes are not read
                return Ok(Vec::new());
            }
        }
        let file_len = reader.len(self.url).await.map_err(ScanError::Read)?;
        let check =
            IndexCheck::new(kind, entries, verify, file_len).map_err(|m| self.mismatch(m))?;
        progress.add_total(file_len);
        let reads = check.header_reads();
        let check = &check;
        let jobs = reads.chunks(self.batch).map(|chunk| {
            let chunk = chunk.to_vec();
            async move {
                let ranges = chunk.iter().map(|(_, h)| h.need()).collect();
                let prefixes = reader
                    .read_ranges(self.url, ranges)
                    .await
                    .map_err(ScanError::Read)?;
                let parsed = exec
                    .run(move || {
                        chunk
                            .into_iter()
                            .zip(prefixes)
                            .map(|((i, mut h), prefix)| {
                                let step = h.feed_read(&prefix);
                                (i, h, step)
                            })
                            .collect::<Vec<_>>()
                    })
                    .await?;
                let mut out = Vec::with_capacity(parsed.len());
                for (i, mut h, step) in parsed {
                    let unreadable = |e: crate::Error| self.mismatch(check.unreadable(i, &e));
                    let mut step = step.map_err(unreadable)?;
                    // a header longer than the first read: read what it needs
                    let m = loop {
                        match step {
                            HeaderStep::Found(m) => break m,
                            HeaderStep::Need(r) => {
                                let bytes = reader
                                    .read_range(self.url, r)
                                    .await
                                    .map_err(ScanError::Read)?;
                                step = h.feed_read(&bytes).map_err(unreadable)?;
                            }
                        }
                    };
                    let entry_len = check.entries().get(i).and_then(|e| e.length);
                    progress.advance(entry_len.unwrap_or(m.length));
                    out.push((i, m));
                }
                Ok::<_, ScanError<R::Error>>(out)
            }
        });
        let verified: Vec<(usize, MessageHeaders)> = stream::iter(jobs)
            .buffered(self.in_flight)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
        let fields = check
            .finish(self.url, verified)
            .map_err(|m| self.mismatch(m))?;
        progress.advance(check.unread_bytes());
        Ok(fields)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::io::MemoryReader;

    fn demo(cycle: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/../data/demo/{cycle}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (the bundled demo data)"))
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    const ENS: &str = "20250101000000-6h-enfo-ef";

    fn reader_with(index: Option<&str>) -> MemoryReader {
        let mut r = MemoryReader::new();
        r.insert(
            format!("mem://d/{ENS}.grib2"),
            demo("49r1", &format!("{ENS}.grib2")),
        );
        if let Some(text) = index {
            r.insert(format!("mem://d/{ENS}.index"), text.to_string());
        }
        r
    }

    fn url() -> Vec<String> {
        vec![format!("mem://d/{ENS}.grib2")]
    }

    fn index_text() -> String {
        String::from_utf8(demo("49r1", &format!("{ENS}.index"))).unwrap()
    }

    fn run<R: RangeReader>(r: &R, mode: Mode, verify: Verify) -> Scanned<R::Error> {
        block_on(scan(r, &url(), &opts(mode, verify), &(), &Inline))
    }

    fn assert_truncated<E: std::error::Error>(e: &ScanError<E>) {
        assert!(
            matches!(
                e,
                ScanError::Grib {
                    source: crate::Error::Truncated { .. },
                    ..
                }
            ),
            "{e}"
        );
    }

    fn opts(mode: Mode, verify: Verify) -> ScanOptions {
        ScanOptions {
            mode,
            verify,
            ..ScanOptions::default()
        }
    }

    #[test]
    fn index_and_headers_find_the_same_fields() {
        let r = reader_with(Some(&index_text()));
        let headers = run(&r, Mode::Headers, Verify::All).unwrap();
        // the demo's 49r1 step-6 file: 4 members × (9 surface + 2×2 soil + 6×13 levels)
        assert_eq!(headers.len(), 4 * (9 + 4 + 78));
        let indexed = run(&r, Mode::Index, Verify::All).unwrap();
        assert!(
            indexed == headers,
            "index mode --verify all differs from headers"
        );
        // unread lines take their group's first header, with their own level
        // and member: the same references (packing details aside)
        let keys = |v: &[ScannedField]| {
            v.iter()
                .map(|f| {
                    (
                        f.offset,
                        f.length,
                        f.meta.short_name.clone(),
                        f.meta.level,
                        f.meta.number,
                        f.meta.grid.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        for verify in [Verify::Sample, Verify::None] {
            let indexed = run(&r, Mode::Index, verify).unwrap();
            assert!(keys(&indexed) == keys(&headers), "{verify:?}");
        }
        // no index: auto falls back to headers, index mode refuses
        let r = reader_with(None);
        let auto = block_on(scan(&r, &url(), &ScanOptions::default(), &(), &Inline)).unwrap();
        assert!(
            auto == headers,
            "auto without an index differs from headers"
        );
        let e = run(&r, Mode::Index, Verify::All).unwrap_err();
        assert!(matches!(e, ScanError::NoIndex { .. }), "{e}");
    }

    #[test]
    fn a_selection_keeps_the_same_fields_from_the_index_and_the_headers() {
        let r = reader_with(Some(&index_text()));
        let all = run(&r, Mode::Headers, Verify::All).unwrap();
        let select = |s: &str| {
            let req: crate::request::Request = s.parse().unwrap();
            Some(std::sync::Arc::new(req.select))
        };
        for (request, n) in [
            // t at 2 of 13 levels × 4 members
            ("param=t,levelist=850/500", 8),
            // levelist keeps the fields without a level: 2t × members 1, 2
            ("param=2t/t,levelist=850,number=1/2", 4),
            // the control (type=cf, no `number` in the index)
            ("param=sot,number=0", 2),
            ("stream=enfo,type=pf,param=msl", 3),
        ] {
            let mut fields = Vec::new();
            for mode in [Mode::Index, Mode::Headers, Mode::Auto] {
                let o = ScanOptions {
                    select: select(request),
                    ..opts(mode, Verify::Sample)
                };
                let got = block_on(scan(&r, &url(), &o, &(), &Inline)).unwrap();
                assert_eq!(got.len(), n, "{request} {mode:?}");
                let sel = o.select.as_deref().unwrap();
                let expected: Vec<&ScannedField> =
                    all.iter().filter(|f| sel.keeps_field(&f.meta)).collect();
                let keys = |v: &[&ScannedField]| {
                    v.iter()
                        .map(|f| {
                            (
                                f.offset,
                                f.length,
                                f.meta.short_name.clone(),
                                f.meta.level,
                                f.meta.number,
                            )
                        })
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    keys(&got.iter().collect::<Vec<_>>()),
                    keys(&expected),
                    "{request} {mode:?}"
                );
                fields = got;
            }
            assert!(o_unmatched(request, &fields).is_empty(), "{request}");
        }
        // nothing of the object asked for: no fields, and no error from the scan
        let o = ScanOptions {
            select: select("param=zz"),
            ..opts(Mode::Index, Verify::All)
        };
        let got = block_on(scan(&r, &url(), &o, &(), &Inline)).unwrap();
        assert!(got.is_empty());
        assert_eq!(
            o_unmatched("param=zz/t,levelist=3", &all),
            ["param=zz", "levelist=3"]
        );
    }

    fn o_unmatched(request: &str, fields: &[ScannedField]) -> Vec<String> {
        let req: crate::request::Request = request.parse().unwrap();
        req.select.unmatched(fields)
    }

    #[test]
    fn progress_adds_up_to_the_object() {
        #[derive(Default)]
        struct Count(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64);
        impl Progress for Count {
            fn add_total(&self, b: u64) {
                self.0.fetch_add(b, std::sync::atomic::Ordering::Relaxed);
            }
            fn advance(&self, b: u64) {
                self.1.fetch_add(b, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let r = reader_with(Some(&index_text()));
        let len = demo("49r1", &format!("{ENS}.grib2")).len() as u64;
        for mode in [Mode::Index, Mode::Headers] {
            let c = Count::default();
            block_on(scan(&r, &url(), &opts(mode, Verify::Sample), &c, &Inline)).unwrap();
            let (total, done) = (c.0.into_inner(), c.1.into_inner());
            assert_eq!((total, done), (len, len), "{mode:?}");
        }
    }

    /// The index with `key` of its first perturbed pressure-level line
    /// changed by `change`: the scan must fail with a mismatch naming that
    /// line and saying `says`.
    fn stale(key: &str, change: impl Fn(&serde_json::Value) -> serde_json::Value, says: &str) {
        let text = index_text();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let n = lines
            .iter()
            .position(|l| l.contains("\"levtype\": \"pl\"") && l.contains("\"type\": \"pf\""))
            .unwrap();
        let mut line: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&lines[n]).unwrap();
        let old = line
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {}", lines[n]));
        let new = change(old);
        line.insert(key.to_string(), new);
        lines[n] = serde_json::Value::Object(line).to_string();
        let r = reader_with(Some(&lines.join("\n")));
        let e = run(&r, Mode::Index, Verify::All).unwrap_err();
        assert!(
            matches!(&e, ScanError::Mismatch { line, reason, .. } if *line == n + 1 && reason.contains(says)),
            "{key}: {e}"
        );
    }

    #[test]
    fn a_stale_index_line_is_a_mismatch_naming_the_line() {
        let plus_one = |v: &serde_json::Value| serde_json::json!(v.as_u64().unwrap() + 1);
        stale("param", |_| "zz".into(), "param `zz`");
        stale("number", |_| "99".into(), "number 99");
        stale("levelist", |_| "1".into(), "levelist 1");
        stale("step", |_| "12".into(), "step 12");
        stale("_length", plus_one, "bytes at offset");
        // an offset off by one: not a GRIB message there
        stale("_offset", plus_one, "no valid GRIB2 message");
    }

    #[test]
    fn a_truncated_object_is_an_error_in_both_modes() {
        let full = demo("49r1", &format!("{ENS}.grib2"));
        let mut r = reader_with(Some(&index_text()));
        r.insert(url()[0].clone(), full[..full.len() - 1000].to_vec());
        let e = run(&r, Mode::Headers, Verify::All).unwrap_err();
        assert_truncated(&e);
        // the index describes bytes that are not there: a mismatch, not a read past the end
        for verify in [Verify::All, Verify::None] {
            let e = run(&r, Mode::Index, verify).unwrap_err();
            assert!(
                matches!(&e, ScanError::Mismatch { reason, .. } if reason.contains("beyond the end")),
                "{e}"
            );
        }
    }

    /// A reader whose reads of one location come back a byte short.
    struct Short(MemoryReader);
    impl RangeReader for Short {
        type Error = crate::io::MemoryReadError;
        fn read_range<'a>(
            &'a self,
            location: &'a str,
            range: std::ops::Range<u64>,
        ) -> BoxFuture<'a, Result<bytes::Bytes, Self::Error>> {
            Box::pin(async move {
                let b = self.0.read_range(location, range).await?;
                Ok(b.slice(..b.len().saturating_sub(1)))
            })
        }
        fn read_all<'a>(
            &'a self,
            location: &'a str,
        ) -> BoxFuture<'a, Result<bytes::Bytes, Self::Error>> {
            self.0.read_all(location)
        }
        fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, Self::Error>> {
            self.0.len(location)
        }
    }

    #[test]
    fn short_reads_are_errors_not_wrong_references() {
        let r = Short(reader_with(Some(&index_text())));
        let e = run(&r, Mode::Headers, Verify::All).unwrap_err();
        assert_truncated(&e);
        // index mode: a prefix one byte short would still hold the headers,
        // but a reader that breaks its contract is not trusted
        let e = run(&r, Mode::Index, Verify::All).unwrap_err();
        assert!(
            matches!(&e, ScanError::Mismatch { reason, .. } if reason.contains("not the bytes asked for")),
            "{e}"
        );
    }

    #[test]
    fn missing_objects_and_bad_indexes_say_so() {
        let scan_one = |r: &MemoryReader, url: &str| {
            block_on(scan(
                r,
                &[url.to_string()],
                &ScanOptions::default(),
                &(),
                &Inline,
            ))
        };
        let e = scan_one(&reader_with(None), "mem://nope.grib2").unwrap_err();
        assert!(
            matches!(&e, ScanError::Read(err) if err.kind() == ReadErrorKind::NotFound),
            "{e}"
        );
        let r = reader_with(Some("{\"_offset\": \"x\"}\n"));
        let e = scan_one(&r, &url()[0]).unwrap_err();
        assert!(matches!(e, ScanError::Index { .. }), "{e}");
        let mut r = MemoryReader::new();
        r.insert("mem://junk.bin", vec![7u8; 5000]);
        let e = scan_one(&r, "mem://junk.bin").unwrap_err();
        assert!(matches!(e, ScanError::Empty { .. }), "{e}");
    }
}
