//! The CLI tested as a user runs it, against ecCodes' answers for the same files.
// (helpers outside #[test] functions may fail loudly too)
#![allow(clippy::expect_used)]

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

mod common;
use common::{gik, root};

/// The shared reference data; a test that needs it fails when it is missing.
fn shared() -> PathBuf {
    let p = std::env::var_os("GIK_SHARED").map_or_else(|| root().join("../shared"), PathBuf::from);
    assert!(
        p.join("data/grib/eccodes_expected").is_dir(),
        "the shared reference data is missing: {} has no data/grib/eccodes_expected; set GIK_SHARED",
        p.display()
    );
    p
}

fn sample() -> PathBuf {
    root().join("data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2")
}

/// ecCodes' answers for the bundled sample (it is a copy of a shared file).
fn expected() -> serde_json::Value {
    let p =
        shared().join("data/grib/eccodes_expected/gribberish__ecmwf-ifs-oper-surface.grib2.json");
    serde_json::from_slice(&std::fs::read(p).expect("ecCodes' answers for the sample"))
        .expect("expected json")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gik-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn no_stray_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "files left behind in {}: {left:?}",
        dir.display()
    );
}

#[test]
fn inspect_lists_every_field_like_eccodes() {
    let exp = expected();
    let out = gik(&["inspect", "--json", sample().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let msgs = exp["messages"].as_array().unwrap();
    assert_eq!(rows.len(), msgs.len());
    let mut offset = 0u64;
    for (row, m) in rows.iter().zip(msgs) {
        assert_eq!(row["shortName"], m["shortName"]);
        assert_eq!(row["typeOfLevel"], m["typeOfLevel"]);
        assert_eq!(row["level"], m["level"]);
        assert_eq!(row["stepRange"], m["stepRange"]);
        assert_eq!(row["packingType"], m["packingType"]);
        assert_eq!(row["length"], m["totalLength"]);
        assert_eq!(row["offset"].as_u64().unwrap(), offset);
        offset += m["totalLength"].as_u64().unwrap();
    }
    let table = gik(&["inspect", sample().to_str().unwrap()]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    for m in msgs {
        assert!(text.contains(m["shortName"].as_str().unwrap()), "{text}");
    }
    assert_eq!(text.lines().count(), msgs.len() + 1, "{text}");
}

fn f32_sha(values: &[u8], missing: f64) -> String {
    let mut h = Sha256::new();
    for c in values.chunks_exact(4) {
        let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let v = if v.is_nan() { missing as f32 } else { v };
        h.update(v.to_le_bytes());
    }
    format!("{:x}", h.finalize())
}

#[test]
fn decode_writes_values_identical_to_eccodes() {
    let exp = expected();
    let msgs = exp["messages"].as_array().unwrap();
    let dir = tmpdir("decode");

    // One message as .npy.
    let npy = dir.join("tcc.npy");
    let out = gik(&[
        "decode",
        sample().to_str().unwrap(),
        "--message",
        "4",
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&npy).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"));
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = &bytes[10 + hlen..];
    assert_eq!(
        f32_sha(data, 9999.0),
        msgs[4]["sha256_float32_le"].as_str().unwrap()
    );

    // All messages as raw f32, like wgrib2 -bin.
    let raw = dir.join("all.f32");
    let out = gik(&[
        "decode",
        sample().to_str().unwrap(),
        "--all",
        "--out",
        raw.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&raw).unwrap();
    let mut at = 0;
    for m in msgs {
        let n = m["n_values"].as_u64().unwrap() as usize * 4;
        assert_eq!(
            f32_sha(&bytes[at..at + n], 9999.0),
            m["sha256_float32_le"].as_str().unwrap()
        );
        at += n;
    }
    assert_eq!(at, bytes.len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tmpdir("missing");
    let out_path = dir.join("x.f32");
    let out = gik(&[
        "decode",
        "/nonexistent/file.grib2",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/file.grib2"), "{err}");
    no_stray_files(&dir);
}

#[test]
fn grib_edition_1_is_refused_by_name() {
    let shared = shared();
    let out = gik(&[
        "inspect",
        shared
            .join("data/grib/earthkitdata__ens_50.grib")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("edition 1"), "{err}");
}

#[test]
fn not_grib_and_truncated_files_fail_without_output() {
    let dir = tmpdir("bad");
    let not_grib = dir.join("readme.grib2");
    std::fs::write(&not_grib, b"this is not a GRIB file\n").unwrap();
    let bytes = std::fs::read(sample()).unwrap();
    let truncated = dir.join("truncated.grib2");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let out_dir = tmpdir("bad-out");
    for input in [&not_grib, &truncated] {
        let target = out_dir.join("out.f32");
        let out = gik(&[
            "decode",
            input.to_str().unwrap(),
            "--all",
            "--out",
            target.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", input.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(input.to_str().unwrap()), "{err}");
        no_stray_files(&out_dir);
    }
    let out = gik(&["inspect", truncated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let out = gik(&[
        "decode",
        sample().to_str().unwrap(),
        "--out",
        "/nonexistent-dir/x.f32",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir"));
}

#[test]
fn asking_for_a_field_that_does_not_exist_is_a_usage_error() {
    let dir = tmpdir("range");
    let target = dir.join("x.f32");
    let out = gik(&[
        "decode",
        sample().to_str().unwrap(),
        "--message",
        "99",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no field 99"));
    no_stray_files(&dir);
}

#[test]
fn scan_to_standard_output_writes_the_same_json_as_to_a_file() {
    let dir = tmpdir("stdout");
    let file = dir.join("refs.json");
    let sample = sample();
    let to_file = gik(&[
        "scan",
        sample.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
        "-q",
    ]);
    assert!(to_file.status.success());
    let to_stdout = gik(&["scan", sample.to_str().unwrap(), "--out", "-", "-q"]);
    assert!(
        to_stdout.status.success(),
        "{}",
        String::from_utf8_lossy(&to_stdout.stderr)
    );
    assert_eq!(to_stdout.stdout, std::fs::read(&file).unwrap());
    // a directory format cannot go to standard output
    let dir_fmt = gik(&[
        "scan",
        sample.to_str().unwrap(),
        "--out",
        "-",
        "--format",
        "parquet-dir",
    ]);
    assert_eq!(dir_fmt.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dir_fmt.stderr).contains("standard output"));
    std::fs::remove_dir_all(&dir).ok();
}
