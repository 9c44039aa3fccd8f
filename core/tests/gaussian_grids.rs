//! Reduced Gaussian grids (classic `N`, octahedral `O`) against ecCodes.
//!
//! Reference: `core/tests/data/grids/eccodes_grids.json`, written by
//! `make_grids.py reference` with ecCodes 2.50.0: for O48, O96, O320, O1280,
//! N80, N160, N320 and N1280, ecCodes' `pl` (classic: its samples;
//! octahedral: set to 20 + 4 i, which ecCodes must recognise as
//! `isOctahedral`), its number of points, and from its geoiterator the
//! latitude of every row and the first, second and last longitude of every
//! row, with the sums of all latitudes and longitudes.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use gik_core::regrid::{
    compare_coordinates, CoordinateMismatch, GridError, Operator, ReducedGaussian, SourceLayout,
};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/grids/eccodes_grids.json"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&bytes).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn grids_match_eccodes() {
    let r = reference();
    let grids = r["grids"].as_array().unwrap();
    assert_eq!(grids.len(), 8);
    for g in grids {
        let name = g["grid"].as_str().unwrap();
        let grid = ReducedGaussian::parse(name).unwrap();
        assert_eq!(grid.name(), name);
        assert_eq!(
            matches!(grid, ReducedGaussian::Octahedral(_)),
            g["isOctahedral"].as_i64() == Some(1),
            "{name}: ecCodes' isOctahedral"
        );
        let pl: Vec<usize> = g["pl"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(grid.pl(), pl, "{name}: pl");
        assert_eq!(
            grid.points() as u64,
            g["points"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            ReducedGaussian::from_points(grid.points() as u64),
            Some(grid),
            "{name}: the one grid of its number of points"
        );
        // row latitudes: ecCodes computes its own Gaussian latitudes
        let rows = grid.row_latitudes();
        let want = floats(&g["row_latitudes"]);
        assert_eq!(rows.len(), want.len());
        let worst = rows
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-10, "{name}: latitudes differ by {worst}");
        // longitudes of each row: 0, 360 / pl, …, 360 (pl − 1) / pl
        let (lats, lons) = (grid.latitudes(), grid.longitudes());
        assert_eq!(lats.len(), grid.points());
        let mut start = 0;
        for (r, &p) in pl.iter().enumerate() {
            for (k, key) in [(0, "row_lon0"), (1, "row_lon1"), (p - 1, "row_lon_last")] {
                let want = g[key][r].as_f64().unwrap();
                let got = lons[start + k];
                assert!(
                    (got - want).abs() < 1e-9,
                    "{name} row {r} {key}: {got} vs {want}"
                );
                assert_eq!(lats[start + k], rows[r]);
            }
            start += p;
        }
        let lat_sum: f64 = lats.iter().sum();
        let lon_sum: f64 = lons.iter().sum();
        let (want_lat, want_lon) = (
            g["lat_sum"].as_f64().unwrap(),
            g["lon_sum"].as_f64().unwrap(),
        );
        assert!(
            (lat_sum - want_lat).abs() < 1e-6,
            "{name}: {lat_sum} vs {want_lat}"
        );
        assert!(
            (lon_sum - want_lon).abs() < 1e-6 * want_lon.abs(),
            "{name}: {lon_sum} vs {want_lon}"
        );
    }
}

#[test]
fn grid_names_and_limits_are_clear_errors() {
    assert_eq!(
        ReducedGaussian::parse("n320").unwrap(),
        ReducedGaussian::N320
    );
    assert_eq!(
        ReducedGaussian::parse("o96").unwrap(),
        ReducedGaussian::Octahedral(96)
    );
    for bad in ["", "N", "320", "F320", "N-3", "O0", "N 320", "O96x", "Ø96"] {
        let e = ReducedGaussian::parse(bad).unwrap_err();
        assert!(matches!(e, GridError::Name(_)), "{bad}: {e}");
    }
    assert_eq!(ReducedGaussian::from_points(10_945), None);
    let e = ReducedGaussian::parse("N321").unwrap_err().to_string();
    assert!(
        e.contains("N321") && e.contains("N320") && e.contains("O<n>"),
        "{e}"
    );
    let e = ReducedGaussian::parse("N2000").unwrap_err().to_string();
    assert!(e.contains("20696844 points"), "{e}");
    let e = ReducedGaussian::parse("O99999999999")
        .unwrap_err()
        .to_string();
    assert!(e.contains("points"), "{e}");
    let e = Operator::build_grid(ReducedGaussian::Classic(33), SourceLayout::OpenData)
        .unwrap_err()
        .to_string();
    assert!(e.contains("N33"), "{e}");
}

#[test]
fn an_octahedral_operator_interpolates_and_carries_its_grid() {
    let grid = ReducedGaussian::Octahedral(48);
    let op = Operator::build_grid(grid, SourceLayout::Greenwich).unwrap();
    assert_eq!(op.grid(), grid);
    assert_eq!(op.target_len(), 10_944);
    // every point has two or three weights summing to 1
    for (cols, w) in op.rows() {
        assert!((2..=3).contains(&cols.len()) || cols.len() == 1);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // linear interpolation reproduces a field linear in z (= sin lat) closely
    let src: Vec<f64> = (0..721)
        .flat_map(|j| {
            let lat = 90.0 - 0.25 * j as f64;
            std::iter::repeat_n(lat.to_radians().sin(), 1440)
        })
        .collect();
    let out = op.apply_f64(&src).unwrap();
    for (v, lat) in out.iter().zip(grid.latitudes()) {
        assert!((v - lat.to_radians().sin()).abs() < 1e-5, "{v} at {lat}");
    }
    // the model's own coordinates replace the grid's when they agree
    let (mut lats, mut lons) = (grid.latitudes(), grid.longitudes());
    lons.iter_mut().for_each(|l| {
        if *l >= 180.0 {
            *l -= 360.0;
        }
    });
    lats[5] += 1e-9;
    let with = op.with_coordinates(lats.clone(), lons.clone()).unwrap();
    assert_eq!(with.latitudes(), lats);
    assert_eq!(with.longitudes(), lons);
    lats[7] += 0.01;
    lats[9] -= 0.01;
    let e = op.with_coordinates(lats.clone(), lons.clone()).unwrap_err();
    assert!(
        matches!(
            e,
            CoordinateMismatch::Point {
                index: 7,
                others: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = compare_coordinates(grid, &lats[1..], &lons)
        .unwrap_err()
        .to_string();
    assert!(e.contains("10943 latitudes") && e.contains("O48"), "{e}");
}
