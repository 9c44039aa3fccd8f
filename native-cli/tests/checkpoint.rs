//! States for a model, as a user asks for them: `gik extract
//! --checkpoint-metadata` with anemoi-inference's own test metadata
//! (`../shared/data/anemoi`, AIFS-single 1.1 and a two-input multi-dataset
//! model) on the bundled demo ensemble. The expected inputs are those
//! anemoi-inference's default runner input selects (prognostic or forcing,
//! not computed, not diagnostic), counted from the metadata by this test;
//! the pickles are read back opcode by opcode.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{gik, root};

/// anemoi-inference's test metadata; missing shared data is a failure, not a skip.
fn metadata(name: &str) -> PathBuf {
    let shared =
        std::env::var_os("GIK_SHARED").map_or_else(|| root().join("../shared"), PathBuf::from);
    let p = shared.join("data/anemoi").join(name);
    assert!(
        p.is_file(),
        "{} is missing: these tests need the shared data (../shared or $GIK_SHARED)",
        p.display()
    );
    p
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gik-ckpt-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "gik failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// References to the demo ensemble (50r1 layout: control in oper-fc, static fields there).
fn demo_refs(dir: &Path, files: &[&str]) -> String {
    let refs = dir.join("refs.json");
    let mut args = vec!["scan".to_string()];
    for f in files {
        args.push(root().join("data/demo/50r1").join(f).display().to_string());
    }
    args.extend(["--out".into(), refs.display().to_string(), "-q".into()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = gik(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    refs.display().to_string()
}

const ALL: [&str; 4] = [
    "20250101000000-0h-enfo-ef.grib2",
    "20250101000000-6h-enfo-ef.grib2",
    "20250101000000-0h-oper-fc.grib2",
    "20250101000000-6h-oper-fc.grib2",
];

/// The inputs a user supplies, by anemoi-inference's rule, from the metadata.
fn declared_inputs(meta: &Value) -> (BTreeSet<String>, usize) {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ds, wanted, diagnostic, multistep) = match meta.get("metadata_inference") {
        Some(inf) => {
            let ds = &meta["dataset"]["data"];
            let types = &inf["data"]["variable_types"];
            let mut w = strs(&types["prognostic"]);
            w.extend(strs(&types["forcing"]));
            let n = inf["data"]["timesteps"]["input_relative_date_indices"]
                .as_array()
                .unwrap()
                .len();
            (ds, w, strs(&types["diagnostic"]), n)
        }
        None => {
            let ds = &meta["dataset"];
            let vars = strs(&ds["variables"]);
            let idx = |k: &str| -> Vec<String> {
                meta["data_indices"]["data"]["input"][k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| vars[i.as_u64().unwrap() as usize].clone())
                    .collect()
            };
            let mut w = idx("prognostic");
            w.extend(strs(&meta["config"]["data"]["forcing"]));
            let n = meta["config"]["training"]["multistep_input"]
                .as_u64()
                .unwrap() as usize;
            (ds, w, idx("diagnostic"), n)
        }
    };
    let computed = |n: &str| ds["variables_metadata"][n]["computed_forcing"] == Value::Bool(true);
    let set = wanted
        .into_iter()
        .filter(|n| !diagnostic.contains(n) && !computed(n))
        .collect();
    (set, multistep)
}

/// What a gik state pickle holds: each field's name, shape and data length,
/// and the extra top-level keys. A small pickle machine for the opcodes a
/// protocol-3 pickle of dicts, tuples, ints, strings, bytes and
/// `_reconstruct`/`BUILD` arrays uses; anything else fails the test.
#[derive(Debug, Clone)]
enum V {
    Mark,
    None,
    Bool,
    Int(i64),
    Str(String),
    Bytes(usize),
    Tuple(Vec<V>),
    Dict(Vec<(V, V)>),
    Global(String),
    Call(Box<V>),
    Built(Box<V>, Box<V>),
}

fn unpickle(b: &[u8]) -> V {
    let mut st: Vec<V> = Vec::new();
    let mut i = 0usize;
    let take = |i: &mut usize, n: usize| -> &[u8] {
        let s = &b[*i..*i + n];
        *i += n;
        s
    };
    let u32le = |s: &[u8]| u32::from_le_bytes(s.try_into().unwrap()) as usize;
    let since_mark = |st: &mut Vec<V>| -> Vec<V> {
        let m = st.iter().rposition(|v| matches!(v, V::Mark)).unwrap();
        let items = st.split_off(m + 1);
        st.pop();
        items
    };
    loop {
        let op = b[i];
        i += 1;
        match op {
            0x80 => i += 1,
            b'}' => st.push(V::Dict(vec![])),
            b'(' => st.push(V::Mark),
            b')' => st.push(V::Tuple(vec![])),
            b'N' => st.push(V::None),
            0x88 | 0x89 => st.push(V::Bool),
            b'K' => st.push(V::Int(i64::from(take(&mut i, 1)[0]))),
            b'M' => {
                let s = take(&mut i, 2);
                st.push(V::Int(i64::from(u16::from_le_bytes([s[0], s[1]]))));
            }
            b'J' => {
                let s = take(&mut i, 4);
                st.push(V::Int(i64::from(i32::from_le_bytes(s.try_into().unwrap()))));
            }
            b'X' => {
                let n = u32le(take(&mut i, 4));
                st.push(V::Str(String::from_utf8(take(&mut i, n).to_vec()).unwrap()));
            }
            b'B' => {
                let n = u32le(take(&mut i, 4));
                i += n;
                st.push(V::Bytes(n));
            }
            b'C' => {
                let n = usize::from(take(&mut i, 1)[0]);
                i += n;
                st.push(V::Bytes(n));
            }
            b'c' => {
                let end = |i: usize| i + b[i..].iter().position(|&c| c == b'\n').unwrap();
                let (a, e1) = (i, end(i));
                let e2 = end(e1 + 1);
                let name = format!(
                    "{}.{}",
                    String::from_utf8_lossy(&b[a..e1]),
                    String::from_utf8_lossy(&b[e1 + 1..e2])
                );
                i = e2 + 1;
                st.push(V::Global(name));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = st.split_off(st.len() - n);
                st.push(V::Tuple(items));
            }
            b't' => {
                let items = since_mark(&mut st);
                st.push(V::Tuple(items));
            }
            b'R' => {
                st.pop(); // the arguments
                let f = st.pop().unwrap();
                st.push(V::Call(Box::new(f)));
            }
            b'b' => {
                let state = st.pop().unwrap();
                let obj = st.pop().unwrap();
                st.push(V::Built(Box::new(obj), Box::new(state)));
            }
            b's' => {
                let v = st.pop().unwrap();
                let k = st.pop().unwrap();
                match st.last_mut() {
                    Some(V::Dict(d)) => d.push((k, v)),
                    other => panic!("SETITEM on {other:?}"),
                }
            }
            b'u' => {
                let items = since_mark(&mut st);
                let Some(V::Dict(d)) = st.last_mut() else {
                    panic!("SETITEMS without a dict")
                };
                for kv in items.chunks(2) {
                    d.push((kv[0].clone(), kv[1].clone()));
                }
            }
            b'.' => return st.pop().unwrap(),
            other => panic!("unexpected pickle opcode {other:#x} at byte {}", i - 1),
        }
    }
}

/// One field of a state: name, shape, bytes of data.
type Field = (String, Vec<i64>, usize);

/// A state's fields, and its top-level keys.
fn state_fields(path: &Path) -> (Vec<Field>, Vec<String>) {
    let V::Dict(top) = unpickle(&std::fs::read(path).unwrap()) else {
        panic!("not a dict")
    };
    let mut fields = Vec::new();
    let mut keys = Vec::new();
    for (k, v) in top {
        let V::Str(k) = k else { panic!("key {k:?}") };
        if k == "fields" {
            let V::Dict(fs) = v else { panic!("fields") };
            for (name, arr) in fs {
                let (V::Str(name), V::Built(obj, state)) = (name, arr) else {
                    panic!("field")
                };
                let V::Call(f) = *obj else { panic!("array") };
                assert!(
                    matches!(&*f, V::Global(g) if g.ends_with("multiarray._reconstruct")),
                    "{f:?}"
                );
                let V::Tuple(st) = *state else {
                    panic!("state")
                };
                let V::Tuple(shape) = &st[1] else {
                    panic!("shape")
                };
                let shape = shape
                    .iter()
                    .map(|d| match d {
                        V::Int(n) => *n,
                        other => panic!("{other:?}"),
                    })
                    .collect();
                let V::Bytes(n) = st[4] else { panic!("data") };
                fields.push((name, shape, n));
            }
        }
        keys.push(k);
    }
    (fields, keys)
}

#[test]
fn states_hold_exactly_the_inputs_the_metadata_declares() {
    let dir = tmpdir("exact");
    let refs = demo_refs(&dir, &ALL);
    let points = 37 * 72; // the demo's 5° grid, kept with --grid 0.25
    for (name, inputs) in [
        ("aifs-single-1.1-o48-test-metadata.json", 94),
        ("global-2in-2out-test-metadata.json", 32),
    ] {
        let meta = metadata(name);
        let json: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
        let (want, multistep) = declared_inputs(&json);
        // (counted with anemoi-inference's select_variables on the same files)
        assert_eq!(want.len(), inputs, "{name}");
        let out = dir.join(name);
        let stderr = ok(&gik(&[
            "extract",
            "--refs",
            &refs,
            "--checkpoint-metadata",
            &meta.display().to_string(),
            "--grid",
            "0.25",
            "--members",
            "0,2",
            "--out",
            &out.display().to_string(),
        ]));
        assert!(stderr.contains("declares grid"), "{stderr}");
        for member in ["000", "002"] {
            let (fields, keys) =
                state_fields(&out.join(format!("input_state_member_{member}.pkl")));
            let got: BTreeSet<String> = fields.iter().map(|f| f.0.clone()).collect();
            assert_eq!(got, want, "{name} member {member}");
            assert_eq!(fields.len(), want.len(), "no field twice");
            for (f, shape, bytes) in &fields {
                assert_eq!(shape, &[multistep as i64, points as i64], "{f}");
                assert_eq!(*bytes, multistep * points * 4, "{f}");
            }
            assert_eq!(keys, ["date", "fields"]);
        }
    }
}

#[test]
fn a_grid_gik_cannot_produce_is_a_clear_error() {
    let dir = tmpdir("grid");
    let refs = demo_refs(&dir, &ALL);
    // AIFS-single 1.1's test metadata on O48 (which gik produces), its grid
    // renamed to a classic N321 that does not exist
    let o48 = metadata("aifs-single-1.1-o48-test-metadata.json");
    let mut json: Value = serde_json::from_slice(&std::fs::read(&o48).unwrap()).unwrap();
    json["dataset"]["data_request"]["grid"] = Value::from("n321");
    let meta = dir.join("n321.json");
    std::fs::write(&meta, serde_json::to_vec(&json).unwrap()).unwrap();
    let m = meta.display().to_string();
    let out = dir.join("out");
    let o = gik(&[
        "extract",
        "--refs",
        &refs,
        "--checkpoint-metadata",
        &m,
        "--out",
        &out.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&m)
            && err.contains("grid n321 (10944 points)")
            && err.contains("N321 is unknown")
            && err.contains("O<n>"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn missing_inputs_are_listed_together_naming_the_checkpoint() {
    let dir = tmpdir("missing");
    // the ensemble files alone: the static fields are in oper-fc only since 50r1
    let refs = demo_refs(
        &dir,
        &[
            "20250101000000-0h-enfo-ef.grib2",
            "20250101000000-6h-enfo-ef.grib2",
        ],
    );
    let meta = metadata("global-2in-2out-test-metadata.json");
    let m = meta.display().to_string();
    let out = dir.join("out");
    let o = gik(&[
        "extract",
        "--refs",
        &refs,
        "--checkpoint-metadata",
        &m,
        "--grid",
        "0.25",
        "--out",
        &out.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!(
            "the references lack 4 input(s) the model {m} takes: lsm, sdor, slor, z"
        )),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&out).map_or(true, |d| d.count() == 0),
        "nothing written"
    );
}

#[test]
fn analyses_need_step_0_of_consecutive_runs() {
    let dir = tmpdir("analyses");
    let refs = demo_refs(&dir, &ALL);
    let meta = metadata("global-2in-2out-test-metadata.json");
    let o = gik(&[
        "extract",
        "--refs",
        &refs,
        "--checkpoint-metadata",
        &meta.display().to_string(),
        "--grid",
        "0.25",
        "--inputs",
        "analyses",
        "--out",
        &dir.join("out").display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("analyses input times need step 0 of the runs at -6 h, +0 h")
            && err.contains("run 2025-01-01T00 steps 0, 6"),
        "{err}"
    );
}

#[test]
fn inspect_prints_what_the_model_needs() {
    let meta = metadata("global-2in-2out-test-metadata.json");
    let o = gik(&["inspect", &meta.display().to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for want in [
        "grid:        (not declared), 10944 points (gik regrids 0.25° to it: O48)",
        "time step:   6 h",
        "input times: 2 (date − 6 h, date)",
        "inputs:      32 from the user (4 constant in time: lsm sdor slor z)",
        "computed:    9 by the runner",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    // an octahedral model: gik regrids to it
    let o48 = metadata("aifs-single-1.1-o48-test-metadata.json");
    let o = gik(&["inspect", &o48.display().to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("grid:        o48, 10944 points (gik regrids 0.25° to it: O48)"),
        "{text}"
    );
    // a checkpoint (zip written by Python's zipfile), as JSON
    let ckpt = root().join("core/tests/data/checkpoint/deflated-zip64.ckpt");
    let o = gik(&["inspect", &ckpt.display().to_string(), "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["multistep_input"], 2);
    assert_eq!(v["grid"], "n320");
    assert_eq!(v["inputs"].as_array().map(Vec::len), Some(2));
    // not a checkpoint: a clear error
    let bad = tmpdir("bad").join("model.ckpt");
    std::fs::write(&bad, b"this is not a zip").unwrap();
    let o = gik(&["inspect", &bad.display().to_string()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("not a zip archive"),
        "{err}"
    );
}
