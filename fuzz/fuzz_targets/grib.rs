//! Framing + metadata + decoding of arbitrary bytes: must never panic, hang
//! or allocate without bound.
#![no_main]

use gik_core::grib::{fields, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // 4 Mi points × 8 bytes keeps each decode well under libFuzzer's RSS limit.
    let opts = DecodeOptions {
        max_points: 1 << 22,
    };
    for field in fields(data).take(64) {
        let Ok(field) = field else { continue };
        let _ = field.meta();
        let _ = field.decode_f64_with(&opts);
    }
});
