//! Best-of-N decode time of every CCSDS (template 5.42) field of the given
//! GRIB2 files, through the public API. Used by `scripts/bench_decode.py`.
//!
//! `cargo run --release -p gik-core --example decode_timing -- [--iters N] FILE...`
//!
//! Each field is decoded once in each precision before timing.
//! Prints one tab-separated line per field: file, field index, message
//! offset, message length, shortName, bitsPerValue, points, best ms for
//! `decode_f32`, best ms for `decode_f64`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

fn best_ms<T>(iters: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..iters {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    best
}

fn main() {
    let mut iters = 30;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--iters" {
            iters = args.next().and_then(|s| s.parse().ok()).expect("--iters N");
        } else {
            files.push(a);
        }
    }
    for path in files {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (i, field) in gik_core::grib::fields(&bytes).enumerate() {
            let field = field.unwrap();
            let meta = field.meta().unwrap();
            if meta.data_representation_template != 42 {
                continue;
            }
            // warm up (also lets the allocator settle: glibc's first 4-8 MB
            // allocations are mmapped / trimmed, costing page faults every time)
            let n = field.decode_f32().unwrap().len();
            field.decode_f64().unwrap();
            let f32_ms = best_ms(iters, || field.decode_f32().unwrap());
            let f64_ms = best_ms(iters, || field.decode_f64().unwrap());
            println!(
                "{path}\t{i}\t{}\t{}\t{}\t{}\t{n}\t{f32_ms:.4}\t{f64_ms:.4}",
                field.msg_offset, field.msg_length, meta.short_name, meta.bits_per_value
            );
        }
    }
}
