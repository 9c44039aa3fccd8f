//! Field metadata against ecCodes 2.50, for every message of every GRIB file
//! in `shared/data/grib` (`GIK_SHARED`, or `../shared` beside the workspace).
//!
//! Each message's keys (`shortName`, `cfVarName`, `typeOfLevel`, `level`,
//! `stepRange`, grid, packing, …) must equal those in
//! `eccodes_expected/<file>.json`. ecCodes reads a multi-field message as one
//! entry (the first field), so only the first field of each message is
//! compared. GRIB1 messages must be refused with `UnsupportedEdition`.
//!
//! How values map: ecCodes reports a key that is defined but missing with a
//! sentinel (`Ni` = 2147483647, increments = -1e100); gik reports `None`,
//! as it does for keys the template does not define. `startStep`/`endStep`
//! are integers in ecCodes when the step unit is the hour and strings with a
//! unit suffix (`"10m"`) otherwise; gik gives both forms.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use gik_core::grib::{fields, FieldMeta};
use gik_core::Error;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn shared_dir() -> PathBuf {
    common::shared_dir("data/grib/eccodes_expected")
}

const MISSING_LONG: i64 = 2_147_483_647;
const MISSING_DOUBLE: f64 = -1e100;

/// A comparable value.
#[derive(Debug, Clone, PartialEq)]
enum V {
    None,
    I(i64),
    F(f64),
    S(String),
}

fn from_json(v: Option<&Value>) -> V {
    match v {
        None | Some(Value::Null) => V::None,
        Some(Value::String(s)) => V::S(s.clone()),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(MISSING_LONG) => V::None,
            Some(i) => V::I(i),
            None => match n.as_f64() {
                Some(f) if f == MISSING_DOUBLE => V::None,
                Some(f) => V::F(f),
                None => V::None,
            },
        },
        Some(other) => V::S(other.to_string()),
    }
}

fn s(v: &str) -> V {
    V::S(v.to_string())
}

fn opt_s(v: Option<&String>) -> V {
    v.map_or(V::None, |x| V::S(x.clone()))
}

fn opt_f(v: Option<f64>) -> V {
    v.map_or(V::None, V::F)
}

fn i<T: Into<i64>>(v: T) -> V {
    V::I(v.into())
}

/// gik's value for an ecCodes key; `want` decides the form of steps.
fn ours(m: &FieldMeta, key: &str, want: &V) -> V {
    let g = &m.grid;
    let step = |v: i64, text: String| match want {
        V::I(_) if m.steps_in_hours() => V::I(v),
        _ => V::S(text),
    };
    match key {
        "centre" => s(&m.centre),
        "stream" => opt_s(m.stream.as_ref()),
        "type" => opt_s(m.data_type.as_ref()),
        "number" => m.number.map_or(V::None, V::I),
        "shortName" => s(&m.short_name),
        "cfVarName" => s(&m.cf_var_name),
        "name" => s(&m.name),
        "units" => s(&m.units),
        "paramId" => i(m.param_id),
        "discipline" => i(m.discipline),
        "parameterCategory" => i(m.parameter_category),
        "parameterNumber" => i(m.parameter_number),
        "typeOfLevel" => s(&m.type_of_level),
        "level" => V::I(m.level),
        "stepType" => s(&m.step_type),
        "stepRange" => s(&m.step_range),
        "startStep" => step(m.start_step, m.start_step_str()),
        "endStep" => step(m.end_step, m.end_step_str()),
        "dataDate" => i(m.data_date),
        "dataTime" => i(m.data_time),
        "validityDate" => i(m.validity_date),
        "validityTime" => i(m.validity_time),
        "packingType" => s(&m.packing_type),
        "dataRepresentationTemplateNumber" => i(m.data_representation_template),
        "productDefinitionTemplateNumber" => i(m.product_definition_template),
        "gridDefinitionTemplateNumber" => i(g.template),
        "gridType" => s(&g.grid_type),
        "Ni" => g.ni.map_or(V::None, i),
        "Nj" => g.nj.map_or(V::None, i),
        "latitudeOfFirstGridPointInDegrees" => opt_f(g.lat_first),
        "longitudeOfFirstGridPointInDegrees" => opt_f(g.lon_first),
        "latitudeOfLastGridPointInDegrees" => opt_f(g.lat_last),
        "longitudeOfLastGridPointInDegrees" => opt_f(g.lon_last),
        "iDirectionIncrementInDegrees" => opt_f(g.di),
        "jDirectionIncrementInDegrees" => opt_f(g.dj),
        "scanningMode" => g.scanning_mode_key().map_or(V::None, i),
        "numberOfDataPoints" => V::I(g.number_of_data_points as i64),
        "numberOfValues" => V::I(m.number_of_values as i64),
        "bitmapPresent" => i(m.bitmap_present),
        "bitsPerValue" => i(m.bits_per_value),
        "referenceValue" => V::F(m.reference_value),
        "binaryScaleFactor" => i(m.binary_scale_factor),
        "decimalScaleFactor" => i(m.decimal_scale_factor),
        "ccsdsFlags" => m.ccsds_flags.map_or(V::None, i),
        "ccsdsBlockSize" => m.ccsds_block_size.map_or(V::None, i),
        "ccsdsRsi" => m.ccsds_rsi.map_or(V::None, i),
        _ => unreachable!("{key}"),
    }
}

const KEYS: &[&str] = &[
    "centre",
    "stream",
    "type",
    "number",
    "shortName",
    "cfVarName",
    "name",
    "units",
    "paramId",
    "discipline",
    "parameterCategory",
    "parameterNumber",
    "typeOfLevel",
    "level",
    "stepType",
    "stepRange",
    "startStep",
    "endStep",
    "dataDate",
    "dataTime",
    "validityDate",
    "validityTime",
    "packingType",
    "dataRepresentationTemplateNumber",
    "productDefinitionTemplateNumber",
    "gridDefinitionTemplateNumber",
    "gridType",
    "Ni",
    "Nj",
    "latitudeOfFirstGridPointInDegrees",
    "longitudeOfFirstGridPointInDegrees",
    "latitudeOfLastGridPointInDegrees",
    "longitudeOfLastGridPointInDegrees",
    "iDirectionIncrementInDegrees",
    "jDirectionIncrementInDegrees",
    "scanningMode",
    "numberOfDataPoints",
    "numberOfValues",
    "bitmapPresent",
    "bitsPerValue",
    "referenceValue",
    "binaryScaleFactor",
    "decimalScaleFactor",
    "ccsdsFlags",
    "ccsdsBlockSize",
    "ccsdsRsi",
];

fn numbers_equal(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::I(x), V::F(y)) | (V::F(y), V::I(x)) => *x as f64 == *y,
        _ => a == b,
    }
}

/// Mismatches per key: (on ECMWF messages, on others, examples).
type ByKey = BTreeMap<&'static str, (usize, usize, Vec<String>)>;

/// Compares every message of every GRIB file in `grib_dir` that has an
/// `eccodes_expected/<file>.json`; prints a per-key summary.
fn compare_dir(grib_dir: &std::path::Path) -> (usize, ByKey) {
    let mut files: Vec<_> = std::fs::read_dir(grib_dir.join("eccodes_expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();

    let mut compared = 0usize;
    let mut ecmwf = 0usize;
    let mut grib1 = 0usize;
    let mut by_key = ByKey::new();
    let mut meta_time = std::time::Duration::ZERO;
    for json_path in &files {
        let want: Value = serde_json::from_slice(&std::fs::read(json_path).unwrap()).unwrap();
        let name = want["file"].as_str().unwrap().to_string();
        let Ok(bytes) = std::fs::read(grib_dir.join(&name)) else {
            panic!("{name}: listed in eccodes_expected but not readable");
        };
        let expected = want["messages"].as_array().unwrap();
        // One entry per message: the first field of each.
        let got: Vec<_> = fields(&bytes)
            .filter(|f| f.as_ref().map_or(true, |f| f.index_in_message == 0))
            .collect();
        assert_eq!(got.len(), expected.len(), "{name}: number of messages");
        for (idx, (field, exp)) in got.iter().zip(expected).enumerate() {
            if exp["edition"].as_i64() == Some(1) {
                assert!(
                    matches!(field, Err(Error::UnsupportedEdition { edition: 1, .. })),
                    "{name} #{idx}: GRIB1 must be refused, got {field:?}"
                );
                grib1 += 1;
                continue;
            }
            let field = field
                .as_ref()
                .unwrap_or_else(|e| panic!("{name} #{idx}: {e}"));
            let t = std::time::Instant::now();
            let meta = field
                .meta()
                .unwrap_or_else(|e| panic!("{name} #{idx}: meta: {e}"));
            meta_time += t.elapsed();
            compared += 1;
            let is_ecmwf = exp["centre"].as_str() == Some("ecmf");
            ecmwf += usize::from(is_ecmwf);
            for key in KEYS {
                let w = from_json(exp.get(*key));
                let o = ours(&meta, key, &w);
                if !numbers_equal(&o, &w) {
                    let e = by_key.entry(key).or_default();
                    if is_ecmwf {
                        e.0 += 1;
                    } else {
                        e.1 += 1;
                    }
                    if e.2.len()
                        < std::env::var("GIK_META_EXAMPLES")
                            .ok()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(6)
                    {
                        e.2.push(format!("{name} #{idx}: ecCodes {w:?}, gik {o:?}"));
                    }
                }
            }
        }
    }

    eprintln!(
        "{}: compared {compared} GRIB2 messages ({ecmwf} ECMWF) on {} keys; {grib1} GRIB1 messages refused; \
         meta() {:.1} µs per field",
        grib_dir.display(),
        KEYS.len(),
        meta_time.as_secs_f64() * 1e6 / compared.max(1) as f64
    );
    if by_key.is_empty() {
        eprintln!("all keys equal");
    }
    for (key, (ec, other, examples)) in &by_key {
        eprintln!("{key}: {ec} ECMWF + {other} other mismatches");
        for e in examples {
            eprintln!("    {e}");
        }
    }
    (compared, by_key)
}

#[test]
fn metadata_matches_eccodes() {
    let shared = shared_dir();
    let (compared, by_key) = compare_dir(&shared.join("data/grib"));
    assert!(compared > 0);
    // Every key equal for every message, ECMWF or not.
    let failing: Vec<_> = by_key.keys().collect();
    assert!(
        failing.is_empty(),
        "keys differing from ecCodes: {failing:?}"
    );
}

/// The wider check on messages written by ecCodes itself for every parameter
/// of its tables (see core/tables/synth_check.py); runs when
/// `GIK_META_SYNTH` names the directory that script wrote.
#[test]
#[ignore = "needs GIK_META_SYNTH: the messages core/tables/synth_check.py writes with ecCodes"]
fn synthetic_metadata_matches_eccodes() {
    let dir = std::env::var_os("GIK_META_SYNTH")
        .expect("GIK_META_SYNTH names the directory core/tables/synth_check.py wrote");
    let (compared, by_key) = compare_dir(std::path::Path::new(&dir));
    assert!(compared > 0);
    let failing: Vec<_> = by_key.keys().collect();
    assert!(
        failing.is_empty(),
        "keys differing from ecCodes: {failing:?}"
    );
}

/// Every field of a multi-field message has its own metadata; these values
/// are what ecCodes gives with multi-field support on
/// (`codes_grib_multi_support_on`) for JMA's 7-field nowcast message.
#[test]
fn multi_field_message_fields_have_their_own_steps() {
    let shared = shared_dir();
    let name = "gribrs__Z__C_RJTD_20160822020000_NOWC_GPV_Ggis10km_Pphw10_FH0000-0100_grib2.bin";
    let bytes = std::fs::read(shared.join("data/grib").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e} (the shared data is incomplete)"));
    let got: Vec<_> = fields(&bytes)
        .map(|f| {
            let m = f.unwrap().meta().unwrap();
            (m.step_range, m.validity_time, m.packing_type)
        })
        .collect();
    let want: Vec<_> = [
        ("0m", 200),
        ("10m", 210),
        ("20m", 220),
        ("30m", 230),
        ("40m", 240),
        ("50m", 250),
        ("1", 300),
    ]
    .iter()
    .map(|(s, t)| (s.to_string(), *t, "grid_run_length".to_string()))
    .collect();
    assert_eq!(got, want);
}

/// `meta()` never panics, whatever the bytes of sections 1–5 say.
#[test]
fn metadata_of_corrupted_headers_does_not_panic() {
    let shared = shared_dir();
    let grib_dir = shared.join("data/grib");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut tried = 0;
    for name in [
        "gribberish__ecmwf-ifs-oper-surface.grib2",
        "reformatters__s2s_control_2026-08-10T00Z.grib2",
        "earthkitdata__optical-cams.grib",
        "pygrib__ds.maxt.bin",
        "earthkitdata__ens_none.grib",
        "gribberish__s2s-pdt9-pdt10-pdt12.grib2",
        "earthkitdata__test_icon.grib",
    ] {
        let Ok(orig) = std::fs::read(grib_dir.join(name)) else {
            continue;
        };
        // Only mutate the headers (sections 1-5) of the first message.
        let Some(Ok(first)) = fields(&orig).next() else {
            continue;
        };
        let s = first.sections;
        let base = orig.as_ptr() as usize;
        let start = s.s1.bytes.as_ptr() as usize - base;
        let end = s.s5.bytes.as_ptr() as usize - base + s.s5.bytes.len();
        for _ in 0..400 {
            let mut buf = orig.clone();
            for _ in 0..1 + next() % 4 {
                let at = start + (next() as usize) % (end - start);
                // Keep section lengths/numbers intact so framing still succeeds.
                buf[at] = (next() >> 24) as u8;
            }
            for f in fields(&buf).flatten() {
                let _ = f.meta();
                tried += 1;
            }
        }
    }
    eprintln!("meta() on {tried} corrupted fields without panicking");
}
