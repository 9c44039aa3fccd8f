//! Reading what real tools wrote: kerchunk 0.2.10 JSON (`scan_grib` with
//! templates, `grib_tree`) from `shared/data/grib/kerchunk_refs`, a
//! pandas-written two-column parquet (`key` as `large_string`), an
//! fsspec-written (zstd) parquet reference file, and non-reference parquet
//! files; bad input of every format gives a typed error. Then `refs::build`
//! from `Field::meta()` of the real ECMWF samples against kerchunk's
//! `grib_tree` of the same files.
//!
//! The two embedded parquet fixtures were made with pandas 3.1.1 / pyarrow
//! 26.0.1 / fastparquet 2026.9.0 / kerchunk 0.2.10 (see `make_fixtures` at
//! the end of this file for the script).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

mod common;

use base64::Engine as _;
use gik_core::refs::{self, FileMap, RefStore, RefValue, RefsError, ScannedField};
use serde_json::Value;

fn shared_dir() -> PathBuf {
    common::shared_dir("data/grib/kerchunk_refs")
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn kerchunk_refs_dir() -> PathBuf {
    shared_dir().join("data/grib/kerchunk_refs")
}

fn files_ending(dir: &PathBuf, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn json_value(store: &RefStore, key: &str) -> Value {
    serde_json::from_slice(
        store
            .get(key)
            .and_then(RefValue::as_inline)
            .unwrap_or(b"null"),
    )
    .unwrap()
}

/// Same references, metadata compared as parsed JSON.
fn assert_same_refs(a: &RefStore, b: &RefStore, what: &str) {
    let ka: Vec<&str> = a.keys().collect();
    let kb: Vec<&str> = b.keys().collect();
    assert_eq!(ka, kb, "{what}: keys differ");
    for (k, v) in a.iter() {
        if k.starts_with(".z") || k.contains("/.z") {
            assert_eq!(json_value(a, k), json_value(b, k), "{what}: {k}");
        } else {
            assert_eq!(Some(v), b.get(k), "{what}: {k}");
        }
    }
}

#[test]
fn reads_kerchunk_grib_tree_json() {
    let dir = kerchunk_refs_dir();
    let files = files_ending(&dir, ".grib_tree.json");
    assert!(files.len() >= 4);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let source = name.trim_end_matches(".grib_tree.json");
        let store = refs::read_json(&std::fs::read(&f).unwrap()).unwrap();
        let vars = store.variables().unwrap();
        assert!(!vars.is_empty(), "{name}");
        for v in &vars {
            let axes = store.axes(v).unwrap();
            assert_eq!(axes.time.len() as u64, v.shape[0], "{name} {}", v.path);
            assert_eq!(axes.step.len() as u64, v.shape[1], "{name} {}", v.path);
            assert!(v.chunks_present > 0, "{name} {}", v.path);
            let lat = store.coordinate(&v.group, "latitude").unwrap();
            assert_eq!(lat.shape[0], v.shape[v.shape.len() - 2]);
            let idx = vec![0; v.shape.len()];
            match store.chunk(&v.path, &idx).unwrap() {
                Some(RefValue::Range { url, .. }) => assert_eq!(url.as_ref(), source),
                Some(RefValue::Inline(b)) => assert!(b.starts_with(b"GRIB")),
                other => panic!("{name} {}: {other:?}", v.path),
            }
        }
        // Round trips through every format.
        let json = refs::read_json(&refs::write_json(&store, refs::JsonVersion::V1)).unwrap();
        assert_eq!(json, store, "{name}");
        let seed = refs::read_seed_parquet(&refs::write_seed_parquet(&store).unwrap()).unwrap();
        assert_eq!(seed, store, "{name}");
        let dir = refs::read_parquet_dir(&refs::write_parquet_dir(&store, 7).unwrap()).unwrap();
        assert_same_refs(&dir, &store, &name);
    }
    // Spot checks.
    let s = refs::read_json(
        &std::fs::read(dir.join("gribrs__20240101000000-0h-oper-fc.grib2.0-10.grib_tree.json"))
            .unwrap(),
    )
    .unwrap();
    let gh = s.variable("gh/instant/isobaricInhPa/gh").unwrap();
    let axes = s.axes(&gh).unwrap();
    assert_eq!(axes.level.as_ref().map(|l| l.1.len()), Some(5));
    assert!(axes.number.is_empty());
    let s = refs::read_json(
        &std::fs::read(dir.join("gribberish__aifs-ens-cf-t500.grib2.grib_tree.json")).unwrap(),
    )
    .unwrap();
    let t = s.variable("t/instant/isobaricInhPa/t").unwrap();
    let axes = s.axes(&t).unwrap();
    assert_eq!(axes.number, [0]);
    assert!(!axes.number_is_dim);
    assert_eq!(axes.level, Some(("isobaricInhPa".to_string(), vec![500.0])));
}

#[test]
fn reads_kerchunk_scan_grib_json_with_templates() {
    let dir = kerchunk_refs_dir();
    for f in files_ending(&dir, ".scan_grib.json") {
        let groups: Vec<Value> = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        assert!(!groups.is_empty());
        for g in groups {
            let url = g["templates"]["u"].as_str().unwrap().to_string();
            let store = refs::read_json(&serde_json::to_vec(&g).unwrap()).unwrap();
            let vars = store.variables().unwrap();
            assert_eq!(vars.len(), 1, "{}", f.display());
            let v = &vars[0];
            match store.chunk(&v.path, &vec![0; v.shape.len()]).unwrap() {
                Some(RefValue::Range { url: u, .. }) => assert_eq!(u.as_ref(), url),
                Some(RefValue::Inline(_)) => {}
                // kerchunk writes a small inlined 2-D field under `{var}/0`,
                // a key zarr never asks for (it reads `0.0`).
                None => assert!(
                    store.contains_key(&format!("{}/0", v.path)),
                    "{}",
                    f.display()
                ),
                other => panic!("{}: {other:?}", f.display()),
            }
            let lat = store.coordinate("", "latitude").unwrap();
            assert!(lat
                .values
                .floats()
                .iter()
                .all(|x| (-90.0..=90.0).contains(x)));
        }
    }
}

#[test]
fn reads_pandas_two_column_parquet_with_large_string_keys() {
    let store = refs::read_seed_parquet(&b64(PANDAS_SEED)).unwrap();
    assert_eq!(store.len(), 6);
    assert_eq!(
        store.get("a/0"),
        Some(&RefValue::range("/data/f.grib2", 0, 4048))
    );
    assert_eq!(
        store.get("a/1").and_then(RefValue::as_inline),
        Some(&b"GRIB\xff\xff\x00\x02"[..])
    );
    let step = store.coordinate("", "step");
    assert!(step.is_err()); // no step/.zarray in this fixture
    assert_eq!(
        store.get("step/0").and_then(RefValue::as_inline),
        Some(&[0i64.to_le_bytes(), 6i64.to_le_bytes()].concat()[..])
    );
    assert_eq!(
        json_value(&store, ".zgroup"),
        serde_json::json!({"zarr_format": 2})
    );
}

#[test]
fn fsspec_zstd_files_give_a_clear_error() {
    let mut dir = FileMap::new();
    dir.insert(
        ".zmetadata".into(),
        br#"{"metadata":{".zgroup":{"zarr_format":2},"a\/.zarray":{"shape":[2],"chunks":[1],"dtype":"<f8","fill_value":null,"order":"C","filters":null,"dimension_separator":".","compressor":null,"zarr_format":2},"a\/.zattrs":{"_ARRAY_DIMENSIONS":["x"]}},"record_size":4}"#.to_vec(),
    );
    dir.insert("a/refs.0.parq".into(), b64(FSSPEC_ZSTD));
    match refs::read_parquet_dir(&dir) {
        Err(e @ RefsError::UnsupportedCompression { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("zstd") && msg.contains("a/refs.0.parq") && msg.contains("gik"),
                "{msg}"
            );
        }
        other => panic!("expected UnsupportedCompression, got {other:?}"),
    }
    // The same directory without the chunk file reads (metadata only).
    dir.remove("a/refs.0.parq");
    let s = refs::read_parquet_dir(&dir).unwrap();
    assert_eq!(s.len(), 3);
}

#[test]
fn non_reference_parquet_is_a_schema_error() {
    let shared = shared_dir();
    let grib = shared.join("data/grib");
    let mut n = 0;
    for f in files_ending(&grib, ".parquet") {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            matches!(
                refs::read_seed_parquet(&bytes),
                Err(RefsError::ParquetSchema { .. })
            ),
            "{}",
            f.display()
        );
        let mut dir = FileMap::new();
        dir.insert(
            ".zmetadata".into(),
            br#"{"metadata":{"a/.zarray":{"shape":[2],"chunks":[1],"dtype":"<f8"}},"record_size":4}"#.to_vec(),
        );
        dir.insert("a/refs.0.parq".into(), bytes);
        assert!(matches!(
            refs::read_parquet_dir(&dir),
            Err(RefsError::ParquetSchema { .. })
        ));
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn bad_input_gives_typed_errors_never_panics() {
    let good = b64(PANDAS_SEED);
    assert!(matches!(
        refs::read_seed_parquet(b"not parquet at all"),
        Err(RefsError::Parquet { .. })
    ));
    assert!(refs::read_seed_parquet(&[]).is_err());
    // Every truncation and a sweep of corrupted bytes: errors or (for
    // corruptions the format cannot notice) a result, never a panic.
    for cut in 0..good.len() {
        let _ = refs::read_seed_parquet(&good[..cut]);
    }
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = refs::read_seed_parquet(&bad);
    }
    let ours = refs::write_seed_parquet(&refs::read_seed_parquet(&good).unwrap()).unwrap();
    for i in (0..ours.len()).step_by(5) {
        let mut bad = ours.clone();
        bad[i] = bad[i].wrapping_add(1);
        let _ = refs::read_seed_parquet(&bad);
    }
    for zm in [
        &b"{"[..],
        b"[]",
        br#"{"metadata":{}}"#,
        br#"{"metadata":[],"record_size":1}"#,
        br#"{"metadata":{},"record_size":0}"#,
        br#"{"metadata":{"a/.zarray":{"shape":[2]}},"record_size":1}"#,
        br#"{"metadata":{"a/.zarray":{"shape":[100000,100000,100000],"chunks":[1,1,1],"dtype":"<f8"}},"record_size":1}"#,
    ] {
        let mut dir = FileMap::new();
        dir.insert(".zmetadata".into(), zm.to_vec());
        assert!(refs::read_parquet_dir(&dir).is_err(), "{}", String::from_utf8_lossy(zm));
    }
    assert!(matches!(
        refs::read_parquet_dir(&FileMap::new()),
        Err(RefsError::MissingFile { .. })
    ));
    // A seed value that claims base64 but is not.
    let mut s = RefStore::new();
    s.insert("a/0", RefValue::Inline(b"x".to_vec()));
    let mut bytes = refs::write_seed_parquet(&s).unwrap();
    let _ = &mut bytes;
    assert!(matches!(
        refs::read_json(br#"{"a":"base64:%%%"}"#),
        Err(RefsError::Base64 { .. })
    ));
}

/// Scans a real GRIB file with `fields` + `meta()`, one reference per message.
fn scan(path: &std::path::Path, url: &str) -> Vec<ScannedField> {
    let bytes = std::fs::read(path).unwrap();
    gik_core::grib::fields(&bytes)
        .map(Result::unwrap)
        .filter(|f| f.index_in_message == 0)
        .map(|f| ScannedField {
            url: url.to_string(),
            offset: f.msg_offset,
            length: f.msg_length,
            meta: f.meta().unwrap(),
        })
        .collect()
}

#[test]
fn build_from_meta_matches_kerchunk_grib_tree() {
    let shared = shared_dir();
    let grib = shared.join("data/grib");
    let mut problems = Vec::new();
    for f in files_ending(&grib.join("kerchunk_refs"), ".grib_tree.json") {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let source = name.trim_end_matches(".grib_tree.json").to_string();
        let theirs = refs::read_json(&std::fs::read(&f).unwrap()).unwrap();
        let mut fields = scan(&grib.join(&source), &source);
        // kerchunk could not name some fields and dropped them; so do we.
        let built = refs::build(&fields).unwrap();
        let ours = built.store;
        fields.clear();
        let tv: Vec<String> = theirs
            .variables()
            .unwrap()
            .into_iter()
            .map(|v| v.path)
            .collect();
        let ov: Vec<String> = ours
            .variables()
            .unwrap()
            .into_iter()
            .map(|v| v.path)
            .collect();
        if tv != ov {
            problems.push(format!("{name}: variables ours {ov:?} kerchunk {tv:?}"));
            continue;
        }
        for var in theirs.variables().unwrap() {
            let o = ours.variable(&var.path).unwrap();
            let p = &var.path;
            if (o.dims.clone(), o.shape.clone(), o.chunks.clone())
                != (var.dims.clone(), var.shape.clone(), var.chunks.clone())
            {
                problems.push(format!(
                    "{name} {p}: dims/shape ours {:?} {:?} kerchunk {:?} {:?}",
                    o.dims, o.shape, var.dims, var.shape
                ));
                continue;
            }
            // Every data chunk reference.
            let prefix = format!("{p}/");
            for (k, v) in theirs
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix) && !k.contains("/.z"))
            {
                let mine = ours.get(k);
                let same = match (v, mine) {
                    (RefValue::Inline(b), Some(RefValue::Range { offset, length, .. })) => {
                        // kerchunk inlined a small message: compare its bytes.
                        let file = std::fs::read(grib.join(&source)).unwrap();
                        file.get(*offset as usize..(*offset + *length) as usize) == Some(&b[..])
                    }
                    (a, Some(b)) => a == b,
                    (_, None) => false,
                };
                if !same {
                    problems.push(format!("{name} {k}: ours {mine:?} kerchunk {v:?}"));
                }
            }
            // Coordinates, decoded.
            for c in [
                "latitude",
                "longitude",
                "time",
                "step",
                "valid_time",
                "number",
            ]
            .into_iter()
            .map(str::to_string)
            .chain(
                var.attrs
                    .get("GRIB_typeOfLevel")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ) {
                let a = theirs
                    .coordinate(&var.group, &c)
                    .ok()
                    .map(|x| (x.dims, x.values));
                let b = ours
                    .coordinate(&o.group, &c)
                    .ok()
                    .map(|x| (x.dims, x.values));
                // kerchunk's MultiZarrToZarr leaves out an all-zero chunk
                // (zarr's write_empty_chunks): read as 0 by zarr.
                let a = a.map(|(d, v)| (d, fill_zero(v)));
                if a != b {
                    problems.push(format!(
                        "{name} {p} coordinate {c}: ours {b:?} kerchunk {a:?}"
                    ));
                }
            }
            // Attributes kerchunk writes that we also write must agree.
            let ta = &var.attrs;
            for (k, v) in &o.attrs {
                if let Some(t) = ta.get(k) {
                    if t != v {
                        problems.push(format!("{name} {p} attr {k}: ours {v} kerchunk {t}"));
                    }
                }
            }
            let group_attrs = |s: &RefStore, g: &str| {
                let mut a = s.attrs(g).unwrap();
                a.retain(|k, _| {
                    matches!(
                        k.as_str(),
                        "name" | "stepType" | "typeOfLevel" | "coordinates"
                    )
                });
                a
            };
            let mut g = String::new();
            for part in var.group.split('/') {
                g = if g.is_empty() {
                    part.to_string()
                } else {
                    format!("{g}/{part}")
                };
                if group_attrs(&theirs, &g) != group_attrs(&ours, &g) {
                    problems.push(format!(
                        "{name} group {g}: ours {:?} kerchunk {:?}",
                        ours.attrs(&g),
                        theirs.attrs(&g)
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn fill_zero(v: refs::CoordValues) -> refs::CoordValues {
    match v {
        refs::CoordValues::Int(x) => {
            refs::CoordValues::Int(x.into_iter().map(|x| Some(x.unwrap_or(0))).collect())
        }
        refs::CoordValues::Float(x) => {
            refs::CoordValues::Float(x.into_iter().map(|x| Some(x.unwrap_or(0.0))).collect())
        }
    }
}

// make_fixtures (run with the project's Python venv):
//
//   import pandas as pd, base64, io
//   rows = [(".zgroup", b'{"zarr_format":2}'), ("a/.zarray", b'{"shape":[2],"chunks":[1],"dtype":"<f8",…}'),
//           ("a/.zattrs", b'{"_ARRAY_DIMENSIONS":["x"]}'), ("a/0", b'["/data/f.grib2", 0, 4048]'),
//           ("a/1", b'base64:R1JJQv//AAI='), ("step/0", (0).to_bytes(8, "little") + (6).to_bytes(8, "little"))]
//   buf = io.BytesIO(); pd.DataFrame(rows, columns=["key", "value"]).to_parquet(buf)   # PANDAS_SEED
//   from kerchunk.df import refs_to_dataframe
//   refs_to_dataframe({"version": 1, "refs": {…same, "a/0": ["/data/f.grib2", 0, 4048]}}, "dir", record_size=4)
//   base64 of dir/a/refs.0.parq                                                        # FSSPEC_ZSTD

const PANDAS_SEED: &str = concat!(
    "UEFSMRUEFXoVaEwVDBUAEgAAPVwHAAAALnpncm91cAkAAABhLy56YXJyYXkVDRB0dHJzAwUaADAJBygxBgAAAHN0ZXAvMBUA",
    "FRYVGiwVDBUQFQYVBhw2ACgGc3RlcC8wGAcuemdyb3VwEREAAAALKAIAAAAMAQMDiMYCFQQVpAQV8ANMFQwVABIAAJICVBEA",
    "AAB7InphcnJfZm9ybWF0IjoyfZEFFWxzaGFwZSI6WzJdLCJjaHVua3MiOlsxXSwiZHR5ARmIIjxmOCIsImZpbGxfdmFsdWUi",
    "Om51bGwsIm9yZGVyIjoiQyIFHgx0ZXJzERtEZGltZW5zaW9uX3NlcGFyYXRvASksLiIsImNvbXByZXNzAREJRzqVAAAbBZXw",
    "YV9BUlJBWV9ESU1FTlNJT05TIjpbIngiXX0aAAAAWyIvZGF0YS9mLmdyaWIyIiwgMCwgNDA0OF0TAAAAYmFzZTY0OlIxSkpR",
    "di8vQUFJPRAAAAAAAAAAAAAAAAYAAAAAAAAAFQAVFhUaLBUMFRAVBhUGHDYAKBF7InphcnJfZm9ybWF0IjoyfRgQAAAAAAAA",
    "AAAGAAAAAAAAABERAAAACygCAAAADAEDA4jGAhUEGTw1ABgGc2NoZW1hFQQAFQwlAhgDa2V5JQBMHAAAABUMJQIYBXZhbHVl",
    "ABYMGRwZLCYAHBUMGTUABhAZGANrZXkVAhYMFvwBFu4BJowBJggcNgAoBnN0ZXAvMBgHLnpncm91cBERABksFQQVABUCABUA",
    "FRAVAgA8FkoZBhkmAAwAAAAmABwVDBk1AAYQGRgFdmFsdWUVAhYMFtIFFqIFJoYGJvYBHDYAKBF7InphcnJfZm9ybWF0Ijoy",
    "fRgQAAAAAAAAAAAGAAAAAAAAABERABksFQQVABUCABUAFRAVAgA8FvQDGQYZJgAMAAAAFs4HFgwmCBaQBwAZLBgGcGFuZGFz",
    "GKQEeyJpbmRleF9jb2x1bW5zIjogW3sia2luZCI6ICJyYW5nZSIsICJuYW1lIjogbnVsbCwgInN0YXJ0IjogMCwgInN0b3Ai",
    "OiA2LCAic3RlcCI6IDF9XSwgImNvbHVtbl9pbmRleGVzIjogW3sibmFtZSI6IG51bGwsICJmaWVsZF9uYW1lIjogbnVsbCwg",
    "InBhbmRhc190eXBlIjogInVuaWNvZGUiLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAibWV0YWRhdGEiOiB7ImVuY29kaW5nIjog",
    "IlVURi04In19XSwgImNvbHVtbnMiOiBbeyJuYW1lIjogImtleSIsICJmaWVsZF9uYW1lIjogImtleSIsICJwYW5kYXNfdHlw",
    "ZSI6ICJvYmplY3QiLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAibWV0YWRhdGEiOiBudWxsfSwgeyJuYW1lIjogInZhbHVlIiwg",
    "ImZpZWxkX25hbWUiOiAidmFsdWUiLCAicGFuZGFzX3R5cGUiOiAiYnl0ZXMiLCAibnVtcHlfdHlwZSI6ICJvYmplY3QiLCAi",
    "bWV0YWRhdGEiOiBudWxsfV0sICJhdHRyaWJ1dGVzIjoge30sICJjcmVhdG9yIjogeyJsaWJyYXJ5IjogInB5YXJyb3ciLCAi",
    "dmVyc2lvbiI6ICIyNi4wLjEifSwgInBhbmRhc192ZXJzaW9uIjogIjMuMS4xIn0AGAxBUlJPVzpzY2hlbWEYgAgvLy8vLy9n",
    "Q0FBQVFBQUFBQUFBS0FBNEFCZ0FGQUFnQUNnQUFBQUFCQkFBUUFBQUFBQUFLQUF3QUFBQUVBQWdBQ2dBQUFGd0NBQUFFQUFB",
    "QUFRQUFBQXdBQUFBSUFBd0FCQUFJQUFnQUFBQTBBZ0FBQkFBQUFDUUNBQUI3SW1sdVpHVjRYMk52YkhWdGJuTWlPaUJiZXlK",
    "cmFXNWtJam9nSW5KaGJtZGxJaXdnSW01aGJXVWlPaUJ1ZFd4c0xDQWljM1JoY25RaU9pQXdMQ0FpYzNSdmNDSTZJRFlzSUNK",
    "emRHVndJam9nTVgxZExDQWlZMjlzZFcxdVgybHVaR1Y0WlhNaU9pQmJleUp1WVcxbElqb2diblZzYkN3Z0ltWnBaV3hrWDI1",
    "aGJXVWlPaUJ1ZFd4c0xDQWljR0Z1WkdGelgzUjVjR1VpT2lBaWRXNXBZMjlrWlNJc0lDSnVkVzF3ZVY5MGVYQmxJam9nSW5O",
    "MGNpSXNJQ0p0WlhSaFpHRjBZU0k2SUhzaVpXNWpiMlJwYm1jaU9pQWlWVlJHTFRnaWZYMWRMQ0FpWTI5c2RXMXVjeUk2SUZ0",
    "N0ltNWhiV1VpT2lBaWEyVjVJaXdnSW1acFpXeGtYMjVoYldVaU9pQWlhMlY1SWl3Z0luQmhibVJoYzE5MGVYQmxJam9nSW05",
    "aWFtVmpkQ0lzSUNKdWRXMXdlVjkwZVhCbElqb2dJbk4wY2lJc0lDSnRaWFJoWkdGMFlTSTZJRzUxYkd4OUxDQjdJbTVoYldV",
    "aU9pQWlkbUZzZFdVaUxDQWlabWxsYkdSZmJtRnRaU0k2SUNKMllXeDFaU0lzSUNKd1lXNWtZWE5mZEhsd1pTSTZJQ0ppZVhS",
    "bGN5SXNJQ0p1ZFcxd2VWOTBlWEJsSWpvZ0ltOWlhbVZqZENJc0lDSnRaWFJoWkdGMFlTSTZJRzUxYkd4OVhTd2dJbUYwZEhK",
    "cFluVjBaWE1pT2lCN2ZTd2dJbU55WldGMGIzSWlPaUI3SW14cFluSmhjbmtpT2lBaWNIbGhjbkp2ZHlJc0lDSjJaWEp6YVc5",
    "dUlqb2dJakkyTGpBdU1TSjlMQ0FpY0dGdVpHRnpYM1psY25OcGIyNGlPaUFpTXk0eExqRWlmUUFBQUFBR0FBQUFjR0Z1WkdG",
    "ekFBQUNBQUFBUUFBQUFBUUFBQURZLy8vL0FBQUJCQkFBQUFBWUFBQUFCQUFBQUFBQUFBQUZBQUFBZG1Gc2RXVUFBQURNLy8v",
    "L0VBQVVBQWdBQmdBSEFBd0FBQUFRQUJBQUFBQUFBQUVVRUFBQUFCZ0FBQUFFQUFBQUFBQUFBQU1BQUFCclpYa0FCQUFFQUFR",
    "QUFBQUFBQUFBABggcGFycXVldC1jcHAtYXJyb3cgdmVyc2lvbiAyNi4wLjEZLBwAABwAAABpBwAAUEFSMQ==",
);

const FSSPEC_ZSTD: &str = concat!(
    "UEFSMRUAFT4VUCwVCBUAFQYVCAAAKLUv/SAf+QAAAgAAAAMBDQAAAC9kYXRhL2YuZ3JpYjIAAAAAAAAAABUAFVAVIiwVCBUA",
    "FQYVCAAAKLUv/SAoRQAAEAAAAQAfgAUVABVQFSQsFQgVABUGFQgAACi1L/0gKE0AABjQDwABAB4wBBUAFTQVRiwVCBUAFQYV",
    "CAAAKLUv/SAa0QAAAgAAAAMCCAAAAEdSSUL//wACAAAAAAAAAAAVAhlcSAZzY2hlbWEVCAAVDCUCGARwYXRoJQAAFQQVgAEV",
    "ABgGb2Zmc2V0ABUEFYABFQAYBHNpemUAFQwlAhgDcmF3ABYIGRwZTCYIHBUMGRUAGRgEcGF0aBUMFggWYBZyGQAWCDw2BgAZ",
    "HBUAFQAVAgAAACZ6HBUEGRUAGRgGb2Zmc2V0FQwWCBZyFkQZABZ6PDYAABkcFQAVABUCAAAAJr4BHBUEGRUAGRgEc2l6ZRUM",
    "FggWchZGGQAWvgE8NgAAGRwVABUAFQIAAAAmhAIcFQwZFQAZGANyYXcVDBYIFlYWaBkAFoQCPDYGABkcFQAVABUCAAAAFpoD",
    "FggAGRwYBnBhbmRhcxi9BXsiY29sdW1uX2luZGV4ZXMiOiBbeyJmaWVsZF9uYW1lIjogbnVsbCwgIm1ldGFkYXRhIjogbnVs",
    "bCwgIm5hbWUiOiBudWxsLCAibnVtcHlfdHlwZSI6ICJzdHIiLCAicGFuZGFzX3R5cGUiOiAibWl4ZWQtaW50ZWdlciJ9XSwg",
    "ImNvbHVtbnMiOiBbeyJmaWVsZF9uYW1lIjogInBhdGgiLCAibWV0YWRhdGEiOiBudWxsLCAibmFtZSI6ICJwYXRoIiwgIm51",
    "bXB5X3R5cGUiOiAib2JqZWN0IiwgInBhbmRhc190eXBlIjogInVuaWNvZGUifSwgeyJmaWVsZF9uYW1lIjogIm9mZnNldCIs",
    "ICJtZXRhZGF0YSI6IG51bGwsICJuYW1lIjogIm9mZnNldCIsICJudW1weV90eXBlIjogImludDY0IiwgInBhbmRhc190eXBl",
    "IjogImludDY0In0sIHsiZmllbGRfbmFtZSI6ICJzaXplIiwgIm1ldGFkYXRhIjogbnVsbCwgIm5hbWUiOiAic2l6ZSIsICJu",
    "dW1weV90eXBlIjogImludDY0IiwgInBhbmRhc190eXBlIjogImludDY0In0sIHsiZmllbGRfbmFtZSI6ICJyYXciLCAibWV0",
    "YWRhdGEiOiBudWxsLCAibmFtZSI6ICJyYXciLCAibnVtcHlfdHlwZSI6ICJvYmplY3QiLCAicGFuZGFzX3R5cGUiOiAiYnl0",
    "ZXMifV0sICJjcmVhdG9yIjogeyJsaWJyYXJ5IjogImZhc3RwYXJxdWV0IiwgInZlcnNpb24iOiAiMjAyNi45LjAifSwgImlu",
    "ZGV4X2NvbHVtbnMiOiBbXSwgInBhbmRhc192ZXJzaW9uIjogIjMuMS4xIiwgInBhcnRpdGlvbl9jb2x1bW5zIjogW119ABgt",
    "ZmFzdHBhcnF1ZXQtcHl0aG9uIHZlcnNpb24gMjAyNi45LjAgKGJ1aWxkIDApAPgDAABQQVIx",
);
