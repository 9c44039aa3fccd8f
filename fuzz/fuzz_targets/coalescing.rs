//! The coalescing reader over a hostile server: references (kerchunk JSON),
//! the server's script (its first two bytes also set the window and the gap
//! that coalesces), then the objects (one per distinct url, in order),
//! separated by `gik_fuzz::SEP`. Every part read gives an error or bytes,
//! never a panic or a wait, whatever the server answers (short bodies, long
//! ones, wrong offsets, a whole object for a range, empty bodies, failures).
#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use gik_core::io::CoalescingReader;
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
    for (url, bytes) in store.urls().iter().zip(parts.iter().skip(2)) {
        objects.insert(url.to_string(), Bytes::copy_from_slice(bytes));
    }
    let values: Vec<RefValue> = store.iter().map(|(_, v)| v.clone()).take(256).collect();
    let fields: Vec<&[RefValue]> = values.chunks(2).collect();
    let window = 1 + script.first().map_or(0, |&b| usize::from(b % 8));
    let gap = script.get(1).map_or(0, |&b| u64::from(b) * 64);
    let reader = CoalescingReader::new(
        Hostile::new(objects, script),
        fields.iter().copied(),
        window,
        |_| gap,
        1 << 20,
    );
    for (f, parts) in fields.iter().enumerate() {
        for (p, v) in parts.iter().enumerate() {
            let _ = ready(reader.read_part(f, p, v));
        }
    }
});
