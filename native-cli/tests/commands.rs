//! `gik demo`, `gik extract` and `gik regrid` run as a user runs them
//! (`assert_cmd`: the installed binary, its exit code, what it prints and
//! what it leaves on disk), each checked against another command's answer
//! for the same bytes: `gik decode` (itself checked against ecCodes in
//! `cli.rs`) and `gik scan`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

mod common;
use common::root;

fn gik() -> Command {
    Command::cargo_bin("gik").expect("the gik binary")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gik-commands-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn demo_files(cycle: &str) -> Vec<String> {
    let dir = root().join("data/demo").join(cycle);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the bundled demo data {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "grib2"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no GRIB files in {}", dir.display());
    v
}

fn scan(files: &[String], out: &Path) {
    gik()
        .arg("scan")
        .args(files)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .assert()
        .success();
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The data of a little-endian float32 `.npy` and its shape.
fn npy_f32(bytes: &[u8]) -> (Vec<usize>, &[u8]) {
    assert_eq!(&bytes[..6], b"\x93NUMPY", "not an .npy");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).expect("npy header");
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("shape");
    let shape = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("dimension"))
        .collect();
    (shape, &bytes[10 + hlen..])
}

/// `gik inspect --json`'s index of the message holding `short_name` at
/// `step` for `member`.
fn message_index(file: &str, short_name: &str, step: &str, member: i64) -> usize {
    let out = gik().args(["inspect", "--json", file]).output().unwrap();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .iter()
        .find(|r| {
            r["shortName"] == short_name
                && r["stepRange"] == step
                && r["number"].as_i64() == Some(member)
        })
        .unwrap_or_else(|| panic!("{file}: no {short_name} at step {step} for member {member}"));
    row["index"].as_u64().unwrap() as usize
}

#[test]
fn demo_runs_the_whole_job_outside_the_checkout() {
    let cwd = tmpdir("demo-cwd");
    let out = cwd.join("out");
    gik()
        .current_dir(&cwd)
        .args(["demo", "--data"])
        .arg(root().join("data"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("import pickle"))
        .stdout(predicate::str::contains("© ECMWF"));
    for cycle in ["49r1", "50r1"] {
        // the demo's references are what `gik scan` writes for the same files
        let mine = cwd.join(format!("scan-{cycle}.json"));
        scan(&demo_files(cycle), &mine);
        assert!(
            std::fs::read(out.join(format!("refs-{cycle}.json"))).unwrap()
                == std::fs::read(&mine).unwrap(),
            "{cycle}: demo references differ from gik scan's"
        );
        let states = files_in(&out.join(format!("states-{cycle}")));
        assert_eq!(
            states,
            (0..4)
                .map(|m| format!("input_state_member_{m:03}.pkl"))
                .collect::<Vec<_>>(),
            "{cycle}"
        );
    }
    for dir in ["states-49r1", "states-50r1", "states-50r1-aifs"] {
        for f in files_in(&out.join(dir)) {
            let b = std::fs::read(out.join(dir).join(&f)).unwrap();
            assert!(
                b.starts_with(b"\x80\x03") && b.ends_with(b"."),
                "{dir}/{f} is not a protocol-3 pickle"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn demo_without_its_data_is_a_usage_error() {
    let cwd = tmpdir("demo-nodata");
    gik()
        .current_dir(&cwd)
        .env_remove("GIK_DATA")
        .args(["demo", "--data", "/nonexistent/gik-data", "--out"])
        .arg(cwd.join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bundled data not found"));
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn extract_writes_the_values_decode_gives_for_each_member() {
    let dir = tmpdir("extract");
    let refs = dir.join("refs.json");
    let files = demo_files("49r1");
    scan(&files, &refs);
    let states = dir.join("var");
    std::fs::create_dir_all(&states).unwrap();
    gik()
        .args(["extract", "--refs"])
        .arg(&refs)
        .arg("--out")
        .arg(&states)
        .args([
            "--var",
            "t2m/instant/heightAboveGround/t2m",
            "--format",
            "npy",
        ])
        .arg("-q")
        .assert()
        .success();
    let outputs = files_in(&states);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    let bytes = std::fs::read(states.join(&outputs[0])).unwrap();
    let (shape, data) = npy_f32(&bytes);
    // (time, step, number, latitude, longitude) with the singleton time kept or dropped
    let points: usize = shape[shape.len() - 2..].iter().product();
    let steps = ["0", "6"];
    let members = 4;
    assert_eq!(data.len(), steps.len() * members * points * 4, "{shape:?}");
    for (s, step) in steps.iter().enumerate() {
        let file = &files[s];
        for member in 0..members {
            let m = message_index(file, "2t", step, member as i64);
            let decoded = dir.join(format!("decode-{step}-{member}.f32"));
            gik()
                .args(["decode", file, "--message", &m.to_string(), "--out"])
                .arg(&decoded)
                .assert()
                .success();
            let want = std::fs::read(&decoded).unwrap();
            let at = (s * members + member) * points * 4;
            assert!(
                data[at..at + points * 4] == want[..],
                "step {step}, member {member}: extract and decode disagree"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn extract_of_a_member_the_references_lack_writes_nothing() {
    let dir = tmpdir("extract-missing");
    let refs = dir.join("refs.json");
    scan(&demo_files("50r1"), &refs);
    let states = dir.join("states");
    gik()
        .args(["extract", "--refs"])
        .arg(&refs)
        .arg("--out")
        .arg(&states)
        .args(["--members", "0,42", "-q"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("42"));
    assert!(
        files_in(&states).is_empty(),
        "files left behind: {:?}",
        files_in(&states)
    );
    // --resume skips what exists and writes the rest, complete
    gik()
        .args(["extract", "--refs"])
        .arg(&refs)
        .arg("--out")
        .arg(&states)
        .args(["--members", "1", "-q"])
        .assert()
        .success();
    let first = std::fs::read(states.join("input_state_member_001.pkl")).unwrap();
    gik()
        .args(["extract", "--refs"])
        .arg(&refs)
        .arg("--out")
        .arg(&states)
        .args(["--members", "0-1", "--resume", "-q"])
        .assert()
        .success();
    assert_eq!(
        files_in(&states),
        ["input_state_member_000.pkl", "input_state_member_001.pkl"]
    );
    assert_eq!(
        std::fs::read(states.join("input_state_member_001.pkl")).unwrap(),
        first
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn regrid_one_field_equals_that_row_of_all_fields() {
    let dir = tmpdir("regrid");
    let sample = root().join("data/samples/ecmwf-ifs-oper-20260310-00z-0h-surface.grib2");
    let one = dir.join("one.npy");
    let all = dir.join("all.npy");
    gik()
        .arg("regrid")
        .arg(&sample)
        .args(["--to", "n320", "--message", "3", "--out"])
        .arg(&one)
        .assert()
        .success()
        .stderr(predicate::str::contains("regridded 1 field(s) to N320"));
    gik()
        .arg("regrid")
        .arg(&sample)
        .args(["--all", "--out"])
        .arg(&all)
        .assert()
        .success();
    let one = std::fs::read(&one).unwrap();
    let all = std::fs::read(&all).unwrap();
    let (shape1, d1) = npy_f32(&one);
    let (shape_all, d_all) = npy_f32(&all);
    assert_eq!(shape1, [542_080]);
    assert_eq!(shape_all[1], 542_080);
    assert!(shape_all[0] > 3, "{shape_all:?}");
    let row = 542_080 * 4;
    assert!(
        d_all[3 * row..4 * row] == d1[..],
        "row 3 of --all differs from --message 3"
    );
    // a field that does not exist: a usage error, and no file
    let none = dir.join("none.npy");
    gik()
        .arg("regrid")
        .arg(&sample)
        .args(["--message", "100000", "--out"])
        .arg(&none)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no field 100000"));
    assert!(!none.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `gik scan --codec gik` writes the references `gik scan` writes, with the
/// data arrays' filter naming gik's codec instead of kerchunk's `grib`.
#[test]
fn scan_with_the_gik_codec_names_it_in_every_data_array() {
    let dir = tmpdir("codec");
    let files = demo_files("50r1");
    scan(&files, &dir.join("grib.json"));
    gik()
        .arg("scan")
        .args(&files)
        .args(["--codec", "gik", "-q", "--out"])
        .arg(dir.join("gik.json"))
        .assert()
        .success();
    let read = |name: &str| -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let (grib, gik_refs) = (read("grib.json"), read("gik.json"));
    // (inline metadata is JSON text inside the JSON: quotes are escaped)
    let filter = |id: &str| format!(r#"\"dtype\":\"float64\",\"id\":\"{id}\","#);
    let n = grib.matches(&filter("grib")).count();
    assert!(n >= 10, "{n} data arrays with the grib filter");
    assert_eq!(gik_refs.matches(&filter("gik")).count(), n);
    assert_eq!(gik_refs.matches(&filter("grib")).count(), 0);
    assert_eq!(gik_refs.replace(&filter("gik"), &filter("grib")), grib);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_that_cannot_listen_says_where_and_exits() {
    // a port already taken on loopback: gik serve must say so and stop, not hang
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = taken.local_addr().unwrap().port().to_string();
    gik()
        .args(["serve", "--port", &port])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "cannot listen on 127.0.0.1:{port}"
        )));
    // an address of no interface here (TEST-NET-1, RFC 5737): nothing is sent, bind fails
    gik()
        .args(["serve", "--bind", "192.0.2.1", "--port", "0"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot listen on 192.0.2.1"));
}
