//! Decoded values against ecCodes 2.50, for every message of every GRIB file
//! in `shared/data/grib` (`GIK_SHARED`, or `../shared` beside the workspace).
//!
//! For each message: the sha256 of all values as float32 little-endian must
//! equal ecCodes' `sha256_float32_le` (NaN written as ecCodes'
//! `missingValue`), and `decode_f64` must equal ecCodes' `sample_values`
//! exactly. GRIB1 messages must be refused with `UnsupportedEdition`.
//! Every packing the README lists as supported must decode: there is no
//! allowance for refusing one.
#![allow(clippy::unwrap_used, clippy::panic)]

use gik_core::grib::fields;
use gik_core::Error;
use serde_json::Value;
mod common;

use sha2::{Digest, Sha256};

#[derive(Default)]
struct Tally {
    messages: usize,
    ok: usize,
    /// GRIB1 messages refused with `UnsupportedEdition`, as expected.
    grib1: usize,
    mismatched: usize,
    /// Fields after the first of a multi-field message.
    extra: usize,
    notes: Vec<String>,
}

fn hash_f32(values: &[f32], missing: f32) -> String {
    let mut h = Sha256::new();
    for v in values {
        let v = if v.is_nan() { missing } else { *v };
        h.update(v.to_le_bytes());
    }
    format!("{:x}", h.finalize())
}

/// Checks one message; returns Err(reason) on a mismatch or a refusal.
fn check(field: &gik_core::grib::Field<'_>, want: &Value) -> Result<(), String> {
    let missing = want["missingValue"].as_f64().unwrap_or(9999.0);
    let f32s = field.decode_f32().map_err(|e| format!("decode_f32: {e}"))?;
    let n = want["n_values"].as_u64().unwrap_or(0) as usize;
    if f32s.len() != n {
        return Err(format!("{} values, ecCodes has {n}", f32s.len()));
    }
    let got = hash_f32(&f32s, missing as f32);
    if Some(got.as_str()) != want["sha256_float32_le"].as_str() {
        let nan = f32s.iter().filter(|v| v.is_nan()).count();
        return Err(format!("sha256 of float32 differs ({nan} NaN)"));
    }
    let f64s = field.decode_f64().map_err(|e| format!("decode_f64: {e}"))?;
    // the byte forms hold exactly the same values (NaN bit patterns included)
    let le32: Vec<u8> = f32s.iter().flat_map(|v| v.to_le_bytes()).collect();
    if field
        .decode_f32_le()
        .map_err(|e| format!("decode_f32_le: {e}"))?
        != le32
    {
        return Err("decode_f32_le differs from decode_f32".into());
    }
    let le64: Vec<u8> = f64s.iter().flat_map(|v| v.to_le_bytes()).collect();
    if field
        .decode_f64_le()
        .map_err(|e| format!("decode_f64_le: {e}"))?
        != le64
    {
        return Err("decode_f64_le differs from decode_f64".into());
    }
    if let Some(samples) = want["sample_values"].as_object() {
        for (k, v) in samples {
            let i: usize = k.parse().unwrap();
            let want_v = v.as_f64().unwrap();
            let got_v = f64s[i];
            let same = got_v == want_v || (got_v.is_nan() && want_v == missing);
            if !same {
                return Err(format!("value [{i}] = {got_v:?}, ecCodes {want_v:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn values_match_eccodes() {
    let shared = common::shared_dir("data/grib/eccodes_expected");
    let expected_dir = shared.join("data/grib/eccodes_expected");
    let mut jsons: Vec<_> = std::fs::read_dir(&expected_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    jsons.sort();
    assert!(!jsons.is_empty());

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for json in &jsons {
        let expected: Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
        let name = expected["file"].as_str().unwrap().to_string();
        let bytes = std::fs::read(shared.join("data/grib").join(&name)).unwrap();
        let want = expected["messages"].as_array().unwrap();
        let mut t = Tally::default();
        // ecCodes (without multi-field support) reads the first field of each
        // message; further fields of a message are decoded but not compared.
        let mut got = Vec::new();
        for field in fields(&bytes) {
            match field {
                Ok(f) if f.index_in_message > 0 => match f.decode_f32() {
                    Ok(_) => t.extra += 1,
                    Err(e) => failures.push(format!(
                        "{name}: field {} of message at {}: {e}",
                        f.index_in_message, f.msg_offset
                    )),
                },
                other => got.push(other),
            }
        }
        if t.extra > 0 {
            t.notes.push(format!(
                "{} further fields of multi-field messages decoded, not compared",
                t.extra
            ));
        }
        if got.len() != want.len() {
            t.notes.push(format!(
                "{} fields, ecCodes has {} messages",
                got.len(),
                want.len()
            ));
            t.mismatched += 1;
        }
        for (i, (field, w)) in got.iter().zip(want).enumerate() {
            t.messages += 1;
            let outcome = match field {
                Err(Error::UnsupportedEdition { edition: 1, .. }) if w["edition"] == 1 => {
                    t.grib1 += 1;
                    continue;
                }
                Err(e) => Err(format!("framing: {e}")),
                Ok(f) => check(f, w),
            };
            match outcome {
                Ok(()) => t.ok += 1,
                Err(why) => {
                    t.mismatched += 1;
                    failures.push(format!(
                        "{name} #{i} ({}): {why}",
                        w["packingType"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
        rows.push((name, t));
    }

    println!(
        "\n{:<64} {:>8} {:>6} {:>12} {:>10}",
        "file", "messages", "ok", "GRIB1 (ref.)", "mismatched"
    );
    let (mut tm, mut to, mut t1, mut tx) = (0, 0, 0, 0);
    for (name, t) in &rows {
        println!(
            "{name:<64} {:>8} {:>6} {:>12} {:>10}",
            t.messages, t.ok, t.grib1, t.mismatched
        );
        tm += t.messages;
        to += t.ok;
        t1 += t.grib1;
        tx += t.mismatched;
    }
    println!("{:<64} {tm:>8} {to:>6} {t1:>12} {tx:>10}", "TOTAL");
    for (n, t) in &rows {
        if t.extra > 0 {
            println!("{n}: {} further fields of multi-field messages decoded (ecCodes reads only the first)", t.extra);
        }
    }
    for (name, t) in &rows {
        for note in t.notes.iter().filter(|n| !n.ends_with("not compared")) {
            failures.push(format!("{name}: {note}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
