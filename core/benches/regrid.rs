//! Regridding benchmarks (criterion): building the 0.25° → N320 operator,
//! and applying it to one field (f64 → f64, f64 → f32, f32 → f32).
//!
//! Throughput is the source field's size in f64 (1,038,240 × 8 bytes).
//! `scripts/bench_regrid_scipy.py` times scipy's CSR × vector for the same
//! matrix and prints the ratio against `regrid/apply_f64` from this run.
//! Run: `cargo bench -p gik-core --bench regrid`.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gik_core::regrid::{N320Operator, SOURCE_NI, SOURCE_POINTS};
use std::hint::black_box;

/// A smooth field with some structure, open-data order.
fn field() -> Vec<f64> {
    (0..SOURCE_POINTS)
        .map(|k| {
            let (j, i) = ((k / SOURCE_NI) as f64, (k % SOURCE_NI) as f64);
            250.0 + 30.0 * (j * 0.004).cos() + 5.0 * (i * 0.013).sin()
        })
        .collect()
}

fn regrid(c: &mut Criterion) {
    let mut group = c.benchmark_group("regrid");
    group.sample_size(10);
    group.bench_function("build", |b| b.iter(|| black_box(N320Operator::build())));

    let op = N320Operator::build();
    let src = field();
    let src32: Vec<f32> = src.iter().map(|&x| x as f32).collect();
    let mut out64 = vec![0.0_f64; op.target_len()];
    let mut out32 = vec![0.0_f32; op.target_len()];
    group.sample_size(50);
    group.throughput(Throughput::Bytes((SOURCE_POINTS * 8) as u64));
    group.bench_function("apply_f64", |b| {
        b.iter(|| op.apply_f64_into(black_box(&src), &mut out64).unwrap())
    });
    group.bench_function("apply_f32", |b| {
        b.iter(|| op.apply_f32_into(black_box(&src), &mut out32).unwrap())
    });
    group.bench_function("apply_f32_from_f32", |b| {
        b.iter(|| op.apply_f32_into(black_box(&src32), &mut out32).unwrap())
    });
    group.finish();
}

criterion_group!(benches, regrid);
criterion_main!(benches);
