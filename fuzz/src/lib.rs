//! What the fuzz targets share: splitting one input into several files,
//! running futures that never wait, a reader that lies, and the properties
//! every reference set must keep whichever format it came from.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use gik_core::io::{BoxFuture, RangeReader};
use gik_core::refs::{self, JsonVersion, RefStore, RefValue, RefsError};

/// Separates the files of one fuzz input (`.zmetadata`, then parquet files;
/// references, then objects). Seeds are written with it
/// (`fuzz/seeds/make_seeds.py`).
pub const SEP: &[u8] = b"\n--gik-fuzz-part--\n";

/// The parts of `data` between [`SEP`]s.
pub fn parts(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEP.len()).position(|w| w == SEP) {
        out.push(&rest[..i]);
        rest = &rest[i + SEP.len()..];
    }
    out.push(rest);
    out
}

/// The references (kerchunk JSON), the hostile server's script and the
/// objects (one per distinct url of the references, in order) of a
/// `reader` or `coalescing` input; `None` when the references do not parse.
pub fn refs_and_objects(data: &[u8]) -> Option<(RefStore, &[u8], BTreeMap<String, Bytes>)> {
    let parts = parts(data);
    let store = refs::read_json(parts[0]).ok()?;
    let script = parts.get(1).copied().unwrap_or_default();
    let objects = store
        .urls()
        .iter()
        .zip(parts.iter().skip(2))
        .map(|(url, bytes)| (url.to_string(), Bytes::copy_from_slice(bytes)))
        .collect();
    Some((store, script, objects))
}

/// Runs a future whose reads are all in memory: it must finish on its
/// first poll (a future that waits here would hang a real caller).
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a future over in-memory readers waited"),
    }
}

/// The properties of a reference set any reader produced:
/// - it round-trips through kerchunk JSON v1, and v0 (except a `version`
///   key holding `1`, which v0 cannot tell from the v1 marker);
/// - its data variables, axes and coordinates are read without panicking;
/// - `chunk` accepts every index inside the chunk grid (first and last) and
///   refuses the first one outside.
pub fn check_store(store: &RefStore) {
    let v0_marker =
        matches!(store.get("version"), Some(RefValue::Inline(b)) if b.as_slice() == b"1");
    for version in [JsonVersion::V1, JsonVersion::V0] {
        if version == JsonVersion::V0 && v0_marker {
            continue;
        }
        match refs::read_json(&refs::write_json(store, version)) {
            Ok(back) => assert!(
                back == *store,
                "kerchunk JSON {version:?} round trip changed the references"
            ),
            Err(e) => panic!("gik cannot read its own kerchunk JSON {version:?}: {e}"),
        }
    }
    // and through the two-column parquet (which has no `version` key)
    let mut unversioned = store.clone();
    unversioned.remove("version");
    match refs::write_seed_parquet(&unversioned).map(|b| refs::read_seed_parquet(&b)) {
        Ok(Ok(back)) => assert!(
            back == unversioned,
            "two-column parquet round trip changed the references"
        ),
        Ok(Err(e)) => panic!("gik cannot read its own two-column parquet: {e}"),
        Err(e) => panic!("gik cannot write references as two-column parquet: {e}"),
    }
    let _ = store.small_ranges(500);
    let _ = store.urls();
    let arrays: Vec<String> = store.arrays().map(str::to_string).collect();
    for path in arrays.iter().take(64) {
        let (group, name) = path.rsplit_once('/').unwrap_or(("", path));
        let _ = store.coordinate(group, name);
        let _ = store.attrs(path);
        let Ok(meta) = store.array_meta(path) else {
            continue;
        };
        let grid = meta.chunk_grid();
        if meta.shape.is_empty() {
            assert!(
                store.chunk(path, &[]).is_ok(),
                "0-d array {path}: chunk [] refused"
            );
            continue;
        }
        if grid.iter().all(|&g| g > 0) {
            let first = vec![0; grid.len()];
            let last: Vec<u64> = grid.iter().map(|g| g - 1).collect();
            for idx in [first, last] {
                assert!(
                    store.chunk(path, &idx).is_ok(),
                    "{path}: chunk {idx:?} inside the grid {grid:?} refused"
                );
            }
        }
        let mut outside = vec![0; grid.len()];
        outside[0] = grid[0];
        assert!(
            matches!(
                store.chunk(path, &outside),
                Err(RefsError::ChunkOutOfRange { .. })
            ),
            "{path}: chunk {outside:?} outside the grid {grid:?} accepted"
        );
    }
    if let Ok(vars) = store.variables() {
        for v in vars.iter().take(16) {
            let _ = store.axes(v);
        }
    }
}

/// A failed read from [`Hostile`].
#[derive(Debug, Clone)]
pub struct HostileError(pub String);

impl std::fmt::Display for HostileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostileError {}

impl gik_core::io::ReadError for HostileError {
    fn kind(&self) -> gik_core::io::ReadErrorKind {
        gik_core::io::ReadErrorKind::Other
    }
}

/// A reader that breaks the `RangeReader` contract the ways servers do,
/// one answer per read, as its script says: a short body, a long one,
/// bytes from the wrong offset, the whole object where a range was asked
/// (a 200 for a 206), an empty body, an error, or the truth. It also lies
/// about an object's length (`len`, `read_suffix`); [`Hostile::reported_len`]
/// says the most it claimed.
#[derive(Debug)]
pub struct Hostile {
    objects: BTreeMap<String, Bytes>,
    script: Vec<u8>,
    calls: AtomicUsize,
    /// The largest length told per object.
    told: Mutex<BTreeMap<String, u64>>,
}

impl Hostile {
    /// A reader of `objects` answering as `script` says (cycled; empty is honest).
    pub fn new(objects: BTreeMap<String, Bytes>, script: &[u8]) -> Self {
        Self {
            objects,
            script: script.to_vec(),
            calls: AtomicUsize::new(0),
            told: Mutex::new(BTreeMap::new()),
        }
    }

    /// The length of `location` as far as a reader's user can know it: the
    /// largest this reader reported (by `len` or `read_suffix`), or its true
    /// length when larger. A server that overstates the length and pads a
    /// body to the length asked can place a message past the true end, and
    /// nothing but the length it reports can tell a client where the end is,
    /// so what a scan finds must lie inside this, not inside the true bytes.
    /// `None` for an object it does not hold.
    pub fn reported_len(&self, location: &str) -> Option<u64> {
        let real = self.objects.get(location)?.len() as u64;
        let told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        Some(told.get(location).map_or(real, |&t| t.max(real)))
    }

    /// Records `n` as a length told for `location`, and gives it back.
    fn tell(&self, location: &str, n: u64) -> u64 {
        let mut told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        let t = told.entry(location.to_string()).or_insert(0);
        *t = (*t).max(n);
        n
    }

    fn next(&self) -> u8 {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if self.script.is_empty() {
            0
        } else {
            self.script[n % self.script.len()]
        }
    }

    fn get(&self, location: &str) -> Result<&Bytes, HostileError> {
        self.objects
            .get(location)
            .ok_or_else(|| HostileError(format!("{location}: not found")))
    }

    fn answer(&self, location: &str, range: Range<u64>) -> Result<Bytes, HostileError> {
        let obj = self.get(location)?.clone();
        let size = obj.len() as u64;
        let s = self.next();
        let k = usize::from(s >> 3) + 1;
        let clip = |r: Range<u64>| {
            let a = r.start.min(size) as usize;
            let b = r.end.min(size).max(r.start.min(size)) as usize;
            obj.slice(a..b)
        };
        match s & 7 {
            0 => {
                if range.end > size || range.start > range.end {
                    return Err(HostileError(format!("{location}: {range:?} past {size}")));
                }
                Ok(clip(range))
            }
            1 => {
                let b = clip(range);
                Ok(b.slice(..b.len().saturating_sub(k)))
            }
            2 => {
                let mut v = clip(range).to_vec();
                v.resize(v.len() + k, 0x5a);
                Ok(Bytes::from(v))
            }
            3 => Ok(clip(
                range.start.saturating_add(k as u64)..range.end.saturating_add(k as u64),
            )),
            4 => Ok(obj),
            5 => Ok(Bytes::new()),
            _ => Err(HostileError(format!("{location}: the server failed"))),
        }
    }
}

impl RangeReader for Hostile {
    type Error = HostileError;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<Bytes, HostileError>> {
        Box::pin(async move { self.answer(location, range) })
    }

    fn read_all<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<Bytes, HostileError>> {
        Box::pin(async move {
            let size = self.get(location)?.len() as u64;
            self.answer(location, 0..size)
        })
    }

    fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, HostileError>> {
        Box::pin(async move {
            let size = self.get(location)?.len() as u64;
            // sometimes lie about it
            let told = match self.next() & 3 {
                0 | 1 => size,
                2 => size.saturating_add(7),
                _ => size.saturating_sub(7),
            };
            Ok(self.tell(location, told))
        })
    }

    fn read_suffix<'a>(
        &'a self,
        location: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(Bytes, u64), HostileError>> {
        Box::pin(async move {
            let size = self.get(location)?.len() as u64;
            let s = self.next();
            let tail = self.answer(location, size.saturating_sub(n)..size)?;
            // sometimes lie about the size too
            let told = match s & 3 {
                0 | 1 => size,
                2 => size.saturating_add(u64::from(s >> 2)),
                _ => size.saturating_sub(u64::from(s >> 2)),
            };
            Ok((tail, self.tell(location, told)))
        })
    }
}
