//! Decode benchmarks (criterion): CCSDS (template 5.42) fields through the
//! public API, `grib::fields(..)` then `decode_f32()`.
//!
//! Inputs:
//! - the real 0.25° ECMWF fields in `shared/data/grib` (`GIK_SHARED`, or
//!   `../shared` beside the workspace): `gribberish__aifs-single-t500.grib2`
//!   (12 bits) and the 16-bit fields of `gribberish__ecmwf-ifs-oper-surface.grib2`;
//! - generated 0.25° fields at 12, 16 and 24 bits in `target/bench-data`
//!   (`.venv/bin/python tests/ccsds/gen_grib_ccsds.py --bench target/bench-data`).
//!
//! Missing inputs are skipped with a message. Throughput is the message size.
//! Run: `cargo bench -p gik-core --bench decode [-- FILTER]`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;

fn shared_grib_dir() -> PathBuf {
    match std::env::var_os("GIK_SHARED") {
        Some(d) => PathBuf::from(d).join("data/grib"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/grib"),
    }
}

fn bench_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data")
}

/// (label, path, only these bitsPerValue (empty: all))
fn inputs() -> Vec<(String, PathBuf, Vec<u8>)> {
    let shared = shared_grib_dir();
    let gen = bench_data_dir();
    let mut v = vec![
        (
            "ecmwf-t500".to_string(),
            shared.join("gribberish__aifs-single-t500.grib2"),
            vec![],
        ),
        (
            "ecmwf-surface".to_string(),
            shared.join("gribberish__ecmwf-ifs-oper-surface.grib2"),
            vec![16],
        ),
    ];
    for bits in [12, 16, 24] {
        v.push((
            format!("gen-0p25-{bits}bit"),
            gen.join(format!("ccsds_0p25_{bits}bit.grib2")),
            vec![],
        ));
    }
    v
}

fn ccsds(c: &mut Criterion) {
    let mut group = c.benchmark_group("ccsds_decode_f32");
    group.sample_size(20);
    for (label, path, only_bits) in inputs() {
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!(
                "skipping {label}: {} not found (see core/benches/decode.rs)",
                path.display()
            );
            continue;
        };
        for (i, field) in gik_core::grib::fields(&bytes).enumerate() {
            let field = field.unwrap();
            let meta = field.meta().unwrap();
            if meta.data_representation_template != 42
                || (!only_bits.is_empty() && !only_bits.contains(&meta.bits_per_value))
            {
                continue;
            }
            // one f64 decode first: glibc then keeps 4-8 MB blocks on the heap
            // instead of mmapping / trimming them (page faults) every iteration
            field.decode_f64().unwrap();
            let id = format!("{label}/{i}-{}-{}bit", meta.short_name, meta.bits_per_value);
            group.throughput(Throughput::Bytes(field.msg_length));
            group.bench_with_input(BenchmarkId::from_parameter(id), &field, |b, f| {
                b.iter(|| f.decode_f32().unwrap());
            });
        }
    }
    group.finish();
}

criterion_group!(benches, ccsds);
criterion_main!(benches);
