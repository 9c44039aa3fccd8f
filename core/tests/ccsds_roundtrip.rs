//! CCSDS (template 5.42) messages written by ecCodes 2.50 for every
//! bitsPerValue 1..=32 and a spread of block sizes, RSIs and ccsdsFlags
//! (see `tests/ccsds/gen_grib_ccsds.py`), decoded through the public API and
//! compared bit for bit with ecCodes' own values: `decode_f64` against
//! ecCodes' doubles, `decode_f32` against those doubles cast to f32 (both as
//! sha256 of the little-endian bytes, with the first values for diagnosis).
#![allow(clippy::unwrap_used, clippy::panic)]

use gik_core::grib::fields;
use serde_json::Value;
use sha2::{Digest, Sha256};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ccsds/grib");

fn sha<const N: usize>(bytes: impl Iterator<Item = [u8; N]>) -> String {
    let mut h = Sha256::new();
    for b in bytes {
        h.update(b);
    }
    format!("{:x}", h.finalize())
}

#[test]
fn eccodes_ccsds_messages_decode_bit_identically() {
    let grib =
        std::fs::read(format!("{DIR}/ccsds_all.grib2")).expect("run tests/ccsds/gen_grib_ccsds.py");
    let meta: Vec<Value> =
        serde_json::from_slice(&std::fs::read(format!("{DIR}/ccsds_all.json")).unwrap()).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    let mut bits_ok = [false; 33];
    for (i, field) in fields(&grib).enumerate() {
        let field = field.unwrap_or_else(|e| panic!("message {i}: {e}"));
        let m = meta
            .get(i)
            .unwrap_or_else(|| panic!("message {i} not in ccsds_all.json"));
        let name = format!(
            "message {i} (bits {} flags {} block {} rsi {} points {} {})",
            m["bits"], m["flags"], m["block_size"], m["rsi"], m["points"], m["pattern"]
        );
        n += 1;
        let points = m["points"].as_u64().unwrap() as usize;
        let first: Vec<f64> = m["first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        match field.decode_f64() {
            Ok(v) => {
                if v.len() != points {
                    failures.push(format!("{name}: {} values, want {points}", v.len()));
                    continue;
                }
                if sha(v.iter().map(|x| x.to_le_bytes())) != m["sha256_f64"].as_str().unwrap() {
                    failures.push(format!(
                        "{name}: f64 values differ; first {:?} want {first:?}",
                        &v[..first.len()]
                    ));
                    continue;
                }
            }
            Err(e) => {
                failures.push(format!("{name}: decode_f64: {e}"));
                continue;
            }
        }
        match field.decode_f32() {
            Ok(v)
                if sha(v.iter().map(|x| x.to_le_bytes())) == m["sha256_f32"].as_str().unwrap() => {}
            Ok(v) => failures.push(format!(
                "{name}: f32 values differ; first {:?}",
                &v[..v.len().min(6)]
            )),
            Err(e) => failures.push(format!("{name}: decode_f32: {e}")),
        }
        bits_ok[m["bits"].as_u64().unwrap() as usize] = true;
    }
    assert_eq!(
        n,
        meta.len(),
        "messages in ccsds_all.grib2 vs ccsds_all.json"
    );
    assert!(
        failures.is_empty(),
        "{} of {n} messages failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        bits_ok[1..].iter().all(|&b| b),
        "not every bitsPerValue 1..=32 decoded"
    );
    eprintln!("{n} ecCodes CCSDS messages decoded bit-identically");
}
