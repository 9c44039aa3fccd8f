//! ECMWF `.index` / NOAA `.idx` text: parse errors or entries whose byte
//! ranges are well formed (a non-empty length, no overflow, NOAA offsets in
//! file order).
#![no_main]

use gik_core::index::{parse, IndexKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok((kind, entries)) = parse(&text) else {
        return;
    };
    assert!(!entries.is_empty(), "an index without entries parsed");
    let mut prev = 0u64;
    for (i, e) in entries.iter().enumerate() {
        match e.length {
            Some(len) => {
                assert!(len > 0, "line {}: empty message", e.line);
                assert!(
                    e.offset.checked_add(len).is_some(),
                    "line {}: offset {} + length {len} overflows",
                    e.line,
                    e.offset
                );
            }
            None => assert!(
                kind == IndexKind::Noaa,
                "line {}: an ECMWF entry without a length",
                e.line
            ),
        }
        if kind == IndexKind::Noaa {
            assert!(e.offset >= prev, "line {}: offsets go backwards", e.line);
            prev = e.offset;
            if e.length.is_none() {
                // only entries sharing the last offset have no length
                assert!(
                    entries[i..].iter().all(|x| x.offset == e.offset),
                    "line {}: no length but a later message",
                    e.line
                );
            }
        }
    }
});
