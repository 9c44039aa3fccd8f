//! Range responses: references (kerchunk JSON), a script of how a hostile
//! server answers, then the objects the references point into (one per
//! distinct url, in order), separated by `gik_fuzz::SEP`.
//!
//! Through `MemoryReader`, every chunk read gives exactly the referenced
//! bytes or an error; a reference never yields bytes outside its object.
//! Through the hostile reader (short bodies, long ones, wrong offsets, a
//! whole object for a range, empty bodies, failures) and the coalescing
//! reader above it: errors or bytes, never a panic or a wait.
#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use gik_core::io::{read_part, CoalescingReader, MemoryReader};
use gik_core::refs::{read_json, RefValue};
use gik_fuzz::{ready, Hostile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = gik_fuzz::parts(data);
    let Ok(store) = read_json(parts[0]) else {
        return;
    };
    let script = parts.get(1).copied().unwrap_or_default();
    let mut objects = BTreeMap::new();
    let mut mem = MemoryReader::new();
    for (url, bytes) in store.urls().iter().zip(parts.iter().skip(2)) {
        objects.insert(url.to_string(), Bytes::copy_from_slice(bytes));
        mem.insert(url.to_string(), Bytes::copy_from_slice(bytes));
    }
    let values: Vec<RefValue> = store.iter().map(|(_, v)| v.clone()).take(256).collect();
    for v in &values {
        let got = ready(read_part(&mem, v));
        match (v, got) {
            (RefValue::Inline(b), got) => assert!(got.ok().as_deref() == Some(b.as_slice())),
            (
                RefValue::Range {
                    url,
                    offset,
                    length,
                },
                Ok(b),
            ) => {
                let obj = &objects[url.as_ref()];
                let end = offset
                    .checked_add(*length)
                    .expect("a range past u64 was served");
                assert!(
                    end <= obj.len() as u64,
                    "{url}: bytes {offset}..{end} outside its {} bytes",
                    obj.len()
                );
                assert!(b.as_ref() == &obj[*offset as usize..end as usize]);
            }
            (
                RefValue::Range {
                    url,
                    offset,
                    length,
                },
                Err(_),
            ) => {
                if let Some(obj) = objects.get(url.as_ref()) {
                    assert!(
                        offset.saturating_add(*length) > obj.len() as u64,
                        "{url}: a range inside the object failed"
                    );
                }
            }
            (RefValue::Whole { url }, got) => {
                assert!(
                    got.ok() == objects.get(url.as_ref()).cloned(),
                    "{url}: whole object"
                );
            }
        }
    }
    let hostile = Hostile::new(objects, script);
    let fields: Vec<&[RefValue]> = values.chunks(2).collect();
    let window = 1 + script.first().map_or(0, |&b| usize::from(b % 8));
    let gap = script.get(1).map_or(0, |&b| u64::from(b) * 64);
    let coalescing =
        CoalescingReader::new(hostile, fields.iter().copied(), window, |_| gap, 1 << 20);
    for (f, parts) in fields.iter().enumerate() {
        for (p, v) in parts.iter().enumerate() {
            let _ = ready(coalescing.read_part(f, p, v));
        }
    }
});
