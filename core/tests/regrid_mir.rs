//! The 0.25° → N320 operator against ECMWF MIR's "linear" matrix.
//!
//! Reference: `shared/data/regrid/mir_linear_0p25_to_N320_sample_rows.json`
//! (`GIK_SHARED`, or `../shared` beside the workspace): 10,812 rows of MIR
//! 1.30.2's matrix (source numbered lat 90 → −90, lon 0 → 359.75), including
//! the pole and equator rows, and the checksum of the whole matrix applied to
//! an analytic field. The whole matrix is compared by
//! `scripts/regrid_compare_mir.py`.
//!
//! Checked here: every sampled row has MIR's columns and weights within
//! 1e-10; the analytic checksum agrees to 1e-9 relative; the real ECMWF t500
//! field (open-data order, decoded by gik) regridded in f64 equals MIR's rows
//! × field to 1e-12 relative, and the f32 results are identical at
//! ≥ 99.99 % of the sampled points.
#![allow(clippy::unwrap_used, clippy::panic)]

use gik_core::regrid::{
    self, N320Operator, RegridError, SourceLayout, N320_POINTS, SOURCE_NI, SOURCE_POINTS,
};
mod common;

use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

fn shared_dir() -> PathBuf {
    common::shared_dir("data/regrid")
}

struct MirRow {
    row: usize,
    cols: Vec<usize>,
    w: Vec<f64>,
}

struct Sample {
    rows: Vec<MirRow>,
    nnz: usize,
    analytic_sum: f64,
    analytic_first5: Vec<f64>,
    analytic_min_max: Vec<f64>,
}

fn sample() -> &'static Sample {
    static S: OnceLock<Sample> = OnceLock::new();
    S.get_or_init(|| {
        let path = shared_dir().join("data/regrid/mir_linear_0p25_to_N320_sample_rows.json");
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let nums = |v: &Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let rows = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| MirRow {
                row: r["row"].as_u64().unwrap() as usize,
                cols: r["cols"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap() as usize)
                    .collect(),
                w: nums(&r["w"]),
            })
            .collect();
        assert_eq!(v["shape"][0].as_u64(), Some(N320_POINTS as u64));
        assert_eq!(v["shape"][1].as_u64(), Some(SOURCE_POINTS as u64));
        Sample {
            rows,
            nnz: v["nnz"].as_u64().unwrap() as usize,
            analytic_sum: v["analytic_result_sum"].as_f64().unwrap(),
            analytic_first5: nums(&v["analytic_result_first5"]),
            analytic_min_max: nums(&v["analytic_result_min_max"]),
        }
    })
}

fn op(layout: SourceLayout) -> &'static N320Operator {
    static GREENWICH: OnceLock<N320Operator> = OnceLock::new();
    static OPEN_DATA: OnceLock<N320Operator> = OnceLock::new();
    match layout {
        SourceLayout::Greenwich => GREENWICH.get_or_init(|| N320Operator::build_for(layout)),
        _ => OPEN_DATA.get_or_init(N320Operator::build),
    }
}

/// Open-data index of the MIR (Greenwich) index `c`.
fn open_data_index(c: usize) -> usize {
    let (j, i) = (c / SOURCE_NI, c % SOURCE_NI);
    j * SOURCE_NI + (i + SOURCE_NI / 2) % SOURCE_NI
}

/// `(cols, weights)` sorted by column.
fn sorted(cols: impl IntoIterator<Item = usize>, w: &[f64]) -> Vec<(usize, f64)> {
    let mut v: Vec<_> = cols.into_iter().zip(w.iter().copied()).collect();
    v.sort_by_key(|e| e.0);
    v
}

#[test]
fn n320_pl_matches_eccodes() {
    let dir = shared_dir();
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.join("data/regrid/n320_pl.json")).unwrap())
            .unwrap();
    let expect: Vec<usize> = v["pl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(regrid::n320_pl(), expect);
    assert_eq!(expect.iter().sum::<usize>(), N320_POINTS);
    assert_eq!(regrid::n320_latitudes().len(), N320_POINTS);
    assert_eq!(regrid::n320_longitudes().len(), N320_POINTS);
}

#[test]
fn structure_matches_mir() {
    let op = op(SourceLayout::Greenwich);
    assert_eq!(op.target_len(), N320_POINTS);
    assert_eq!(op.source_len(), SOURCE_POINTS);
    assert_eq!(op.nnz(), 1_505_824);
    assert_eq!(op.nnz(), sample().nnz);
    let (mut two, mut three) = (0, 0);
    for (c, w) in op.rows() {
        match c.len() {
            2 => two += 1,
            3 => three += 1,
            n => panic!("row with {n} weights"),
        }
        let sum: f64 = w.iter().sum();
        assert!((sum - 1.0).abs() < 1e-14, "weights sum to {sum}");
        assert!(w.iter().all(|&x| x >= 1e-10), "{w:?}");
    }
    assert_eq!((three, two), (421_664, 120_416));
}

#[test]
fn sample_rows_match_mir() {
    let s = sample();
    assert_eq!(s.rows.len(), 10_812);
    let rows: Vec<_> = op(SourceLayout::Greenwich).rows().collect();
    let rows_od: Vec<_> = op(SourceLayout::OpenData).rows().collect();
    let mut max_diff = 0.0_f64;
    for r in &s.rows {
        let mir = sorted(r.cols.iter().copied(), &r.w);
        let (c, w) = rows[r.row];
        let ours = sorted(c.iter().map(|&x| x as usize), w);
        let mir_cols: Vec<_> = mir.iter().map(|e| e.0).collect();
        let our_cols: Vec<_> = ours.iter().map(|e| e.0).collect();
        assert_eq!(our_cols, mir_cols, "columns of row {}", r.row);
        for (a, b) in ours.iter().zip(&mir) {
            max_diff = max_diff.max((a.1 - b.1).abs());
        }
        // The open-data operator is the same matrix with its columns rolled.
        let (c_od, w_od) = rows_od[r.row];
        let mapped: Vec<_> = c.iter().map(|&x| open_data_index(x as usize)).collect();
        assert_eq!(c_od.iter().map(|&x| x as usize).collect::<Vec<_>>(), mapped);
        assert_eq!(w_od, w);
    }
    eprintln!(
        "{} sampled rows: same columns, max |weight diff| {max_diff:.3e}",
        s.rows.len()
    );
    assert!(max_diff <= 1e-10, "max weight difference {max_diff:e}");
}

/// `f(lat, lon) = 280 + 20 cos²(lat) + 5 sin(3 lon) cos³(lat) + 2 sin(2 lat) cos(lon)`
/// on the source nodes, MIR order (lon 0 → 359.75).
fn analytic_field() -> Vec<f64> {
    let mut f = Vec::with_capacity(SOURCE_POINTS);
    for j in 0..721 {
        let lat = (90.0 - 0.25 * j as f64).to_radians();
        for i in 0..SOURCE_NI {
            let lon = (0.25 * i as f64).to_radians();
            f.push(
                280.0
                    + 20.0 * lat.cos().powi(2)
                    + 5.0 * (3.0 * lon).sin() * lat.cos().powi(3)
                    + 2.0 * (2.0 * lat).sin() * lon.cos(),
            );
        }
    }
    f
}

#[test]
fn analytic_checksum_matches_mir() {
    let s = sample();
    let out = op(SourceLayout::Greenwich)
        .apply_f64(&analytic_field())
        .unwrap();
    let sum: f64 = out.iter().sum();
    let rel = (sum - s.analytic_sum).abs() / s.analytic_sum.abs();
    eprintln!(
        "analytic checksum {sum} vs MIR {} (rel {rel:.2e})",
        s.analytic_sum
    );
    assert!(rel <= 1e-9);
    for (a, b) in out.iter().zip(&s.analytic_first5) {
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
    }
    let min = out.iter().copied().fold(f64::INFINITY, f64::min);
    let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!((min - s.analytic_min_max[0]).abs() <= 1e-12 * min.abs());
    assert!((max - s.analytic_min_max[1]).abs() <= 1e-12 * max.abs());
}

#[test]
fn real_ecmwf_field_matches_mir() {
    let s = sample();
    let path = shared_dir().join("data/grib/gribberish__aifs-single-t500.grib2");
    let bytes = std::fs::read(path).unwrap();
    let field = gik_core::grib::fields(&bytes).next().unwrap().unwrap();
    let values = field.decode_f64().unwrap(); // open-data order, lon −180 → 179.75
    assert_eq!(values.len(), SOURCE_POINTS);

    let op = op(SourceLayout::OpenData);
    let ours = op.apply_f64(&values).unwrap();
    let ours32 = op.apply_f32(&values).unwrap();
    let mut max_rel = 0.0_f64;
    let mut same32 = 0usize;
    for r in &s.rows {
        // MIR's matrix × field, in MIR's column numbering and entry order.
        let mir: f64 = r
            .cols
            .iter()
            .zip(&r.w)
            .fold(0.0, |acc, (&c, &w)| acc + w * values[open_data_index(c)]);
        max_rel = max_rel.max((ours[r.row] - mir).abs() / mir.abs());
        same32 += usize::from(ours32[r.row] == mir as f32);
        assert_eq!(ours32[r.row], ours[r.row] as f32);
    }
    let frac = same32 as f64 / s.rows.len() as f64;
    eprintln!(
        "t500: max rel diff {max_rel:.2e}; f32 identical at {same32} of {} sampled points",
        s.rows.len()
    );
    assert!(max_rel <= 1e-12, "max relative difference {max_rel:e}");
    assert!(frac >= 0.9999, "f32 identical at {:.4} %", 100.0 * frac);

    // f32 input is accepted too (computed in f64).
    let values32 = field.decode_f32().unwrap();
    let from32 = op.apply_f32(&values32).unwrap();
    assert_eq!(from32.len(), N320_POINTS);
}

#[test]
fn wrong_lengths_are_errors() {
    let op = op(SourceLayout::OpenData);
    assert_eq!(
        op.apply_f64(&[0.0_f64; 10]),
        Err(RegridError::SourceLength {
            expected: SOURCE_POINTS,
            found: 10
        })
    );
    let src = vec![1.0_f32; SOURCE_POINTS];
    let mut out = vec![0.0_f32; 5];
    assert!(matches!(
        op.apply_f32_into(&src, &mut out),
        Err(RegridError::TargetLength { .. })
    ));
    // A constant field stays constant.
    let out = op.apply_f32(&src).unwrap();
    assert!(out.iter().all(|&x| x == 1.0));
}

#[test]
fn nan_stays_local() {
    let op = op(SourceLayout::OpenData);
    let mut src = vec![2.0_f64; SOURCE_POINTS];
    let hole = 360 * SOURCE_NI + 100; // equator, lon −155
    src[hole] = f64::NAN;
    let out = op.apply_f64(&src).unwrap();
    let touched = op
        .rows()
        .filter(|(c, _)| c.contains(&(hole as u32)))
        .count();
    let nans = out.iter().filter(|x| x.is_nan()).count();
    assert!(touched > 0);
    assert_eq!(nans, touched);
}
