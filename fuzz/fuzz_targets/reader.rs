//! Range responses: references (kerchunk JSON), a script of how a hostile
//! server answers, then the objects the references point into (one per
//! distinct url, in order), separated by `gik_fuzz::SEP`.
//!
//! Through `MemoryReader`, every chunk read gives exactly the referenced
//! bytes or an error; a reference never yields bytes outside its object.
//! Through the hostile reader (short bodies, long ones, wrong offsets, a
//! whole object for a range, empty bodies, failures): errors or bytes,
//! never a panic or a wait. (The `coalescing` target puts the coalescing
//! reader between them.)
#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use gik_core::io::{read_part, MemoryReader};
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
    // and a hostile server: errors or bytes, never a panic or a wait
    let hostile = Hostile::new(objects, script);
    for v in &values {
        let _ = ready(read_part(&hostile, v));
    }
});
