//! The coalescing reader over a hostile server: references (kerchunk JSON),
//! the server's script (its first two bytes also set the window and the gap
//! that coalesces), then the objects (one per distinct url, in order),
//! separated by `gik_fuzz::SEP`. Every part read gives an error or bytes,
//! never a panic or a wait, whatever the server answers (short bodies, long
//! ones, wrong offsets, a whole object for a range, empty bodies, failures).
#![no_main]

use gik_core::io::CoalescingReader;
use gik_core::refs::RefValue;
use gik_fuzz::{ready, Hostile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((store, script, objects)) = gik_fuzz::refs_and_objects(data) else {
        return;
    };
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
