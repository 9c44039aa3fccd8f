//! The sans-IO GRIB header walker and the scan driver: a script of how a
//! hostile server answers, then one or more GRIB objects, separated by
//! `gik_fuzz::SEP`.
//!
//! - `HeaderWalker` fed the true bytes of each object: it asks only for
//!   ranges inside the object, ends within a bounded number of steps, and
//!   every message it gives follows the previous one, lies inside the
//!   object, starts with `GRIB` and ends with `7777`.
//! - `scan_headers` through `MemoryReader`: the same messages and fields as
//!   that walk, or an error where the walk failed or found no message.
//! - `scan` (headers mode) through the hostile reader (short, long and
//!   shifted bodies, a whole object for a range, empty bodies, failures,
//!   lies about the length): an error, or fields whose messages lie inside
//!   their objects as long as the server said they are (a server that
//!   overstates the length and pads a body can place a message past the
//!   true end: no client can tell); never a panic or a wait.
#![no_main]

use bytes::Bytes;
use gik_core::grib::{HeaderWalker, MessageHeaders, Walk};
use gik_core::io::MemoryReader;
use gik_core::scan::{scan, scan_headers, Inline, Mode, ScanOptions};
use gik_fuzz::{parts, ready, Hostile};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

/// Walks `obj` with honest reads: its messages, or the error that ended
/// the walk (after the messages before it).
fn walk(obj: &Bytes) -> (Vec<MessageHeaders>, bool) {
    let len = obj.len() as u64;
    let mut walker = HeaderWalker::new(len);
    let mut messages: Vec<MessageHeaders> = Vec::new();
    // every step reads at least a few bytes forward or gives a message
    let max_steps = 64 + 4 * len;
    for _ in 0..max_steps {
        match walker.walk() {
            Ok(Walk::Need(r)) => {
                assert!(
                    r.start < r.end && r.end <= len,
                    "asked for {r:?} of an object of {len} bytes"
                );
                walker.feed(obj.slice(r.start as usize..r.end as usize));
            }
            Ok(Walk::Message(m)) => {
                let end = m.offset.checked_add(m.length).expect("a message past u64");
                assert!(
                    end <= len,
                    "message {}..{end} outside {len} bytes",
                    m.offset
                );
                let (start, end) = (m.offset as usize, end as usize);
                assert!(&obj[start..start + 4] == b"GRIB", "no GRIB at {start}");
                assert!(&obj[end - 4..end] == b"7777", "no 7777 before {end}");
                if let Some(prev) = messages.last() {
                    assert!(
                        m.offset >= prev.offset + prev.length,
                        "message at {} overlaps the one before",
                        m.offset
                    );
                }
                assert!(walker.position() == m.offset + m.length);
                messages.push(m);
            }
            Ok(Walk::End) => {
                // and it stays ended
                assert!(matches!(walker.walk(), Ok(Walk::End)));
                return (messages, false);
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                // a failed walk stops
                assert!(matches!(walker.walk(), Ok(Walk::End)));
                return (messages, true);
            }
        }
    }
    panic!("the walk of {len} bytes did not end in {max_steps} steps");
}

fuzz_target!(|data: &[u8]| {
    let parts = parts(data);
    let script = parts[0];
    let objects: BTreeMap<String, Bytes> = parts[1..]
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, b)| (format!("o{i}.grib2"), Bytes::copy_from_slice(b)))
        .collect();
    if objects.is_empty() {
        return;
    }
    let mut mem = MemoryReader::new();
    for (url, obj) in &objects {
        mem.insert(url.clone(), obj.clone());
        let (messages, failed) = walk(obj);
        // metadata compared by its printed form: a field may hold NaN (a
        // reference value of all-ones bits), which is never `==` itself
        let expected: Vec<(u64, u64, String)> = messages
            .iter()
            .flat_map(|m| {
                m.fields
                    .iter()
                    .map(|f| (m.offset, m.length, format!("{f:?}")))
            })
            .collect();
        match ready(scan_headers(&mem, url, &())) {
            Ok(fields) => {
                assert!(!failed, "{url}: the scan passed where the walk failed");
                let got: Vec<_> = fields
                    .into_iter()
                    .map(|f| {
                        assert!(f.url == *url);
                        (f.offset, f.length, format!("{:?}", f.meta))
                    })
                    .collect();
                assert!(got == expected, "{url}: the scan and the walk disagree");
            }
            Err(e) => {
                assert!(
                    failed || expected.is_empty(),
                    "{url}: the scan failed where the walk did not: {e}"
                );
                assert!(!e.to_string().is_empty());
            }
        }
    }
    // and a hostile server: errors, or fields inside their objects
    let urls: Vec<String> = objects.keys().cloned().collect();
    let hostile = Hostile::new(objects.clone(), script);
    let opts = ScanOptions {
        mode: Mode::Headers,
        ..ScanOptions::default()
    };
    match ready(scan(&hostile, &urls, &opts, &(), &Inline)) {
        Ok(fields) => {
            for f in fields {
                // inside the object as long as the server said it is
                let len = hostile
                    .reported_len(&f.url)
                    .expect("a field of an unknown url");
                let end = f.offset.checked_add(f.length).expect("a message past u64");
                assert!(
                    end <= len,
                    "{}: message {}..{end} outside the {len} bytes the server reported",
                    f.url,
                    f.offset,
                );
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
