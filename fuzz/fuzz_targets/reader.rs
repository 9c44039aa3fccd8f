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

use gik_core::io::{read_part, MemoryReader};
use gik_core::refs::RefValue;
use gik_fuzz::{ready, Hostile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((store, script, objects)) = gik_fuzz::refs_and_objects(data) else {
        return;
    };
    let mut mem = MemoryReader::new();
    for (url, bytes) in &objects {
        mem.insert(url.clone(), bytes.clone());
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
