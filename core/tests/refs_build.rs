//! `refs::build` on hand-made ensemble metadata: the `grib_tree` hierarchy,
//! the `number` dimension in both ECMWF layouts (pre-50r1 `cf`+`pf` in
//! `enfo-ef`; 50r1 control without `number` in `oper-fc`), the reader API,
//! the per-member split and every format's round trip.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use gik_core::grib::FieldMeta;
use gik_core::refs::{self, JsonVersion, RefStore, RefValue, RefsError, ScannedField};
use serde_json::Value;

const ENFO0: &str = "/data/20250101000000-0h-enfo-ef.grib2";
const ENFO6: &str = "/data/20250101000000-6h-enfo-ef.grib2";
const OPER0: &str = "/data/20250101000000-0h-oper-fc.grib2";
const OPER6: &str = "/data/20250101000000-6h-oper-fc.grib2";

/// Metadata of one field of the 5° test grid (37 × 72), as ecCodes reports it.
fn meta(short: &str, step: i64, level: i64, number: Option<i64>, data_type: &str) -> FieldMeta {
    let mut m = FieldMeta::default();
    let (cf, name, units, pid, tol, step_type) = match short {
        "2t" => (
            "t2m",
            "2 metre temperature",
            "K",
            167,
            "heightAboveGround",
            "instant",
        ),
        "t" => ("t", "Temperature", "K", 130, "isobaricInhPa", "instant"),
        "sot" => (
            "sot",
            "Soil temperature",
            "K",
            260_360,
            "soilLayer",
            "instant",
        ),
        "tp" => ("tp", "Total precipitation", "m", 228, "surface", "accum"),
        "lsm" => ("lsm", "Land-sea mask", "(0 - 1)", 172, "surface", "instant"),
        _ => unreachable!(),
    };
    m.centre = "ecmf".into();
    m.short_name = short.into();
    m.cf_var_name = cf.into();
    m.name = name.into();
    m.units = units.into();
    m.param_id = pid;
    m.type_of_level = tol.into();
    m.step_type = step_type.into();
    m.level = level;
    m.end_step = step;
    m.start_step = if step_type == "accum" { 0 } else { step };
    m.number = number;
    m.data_type = Some(data_type.into());
    m.reference_time.year = 2025;
    m.reference_time.month = 1;
    m.reference_time.day = 1;
    m.validity_time_full = m.reference_time;
    m.validity_time_full.hour = step as u8;
    let g = &mut m.grid;
    g.grid_type = "regular_ll".into();
    g.template = 0;
    g.number_of_data_points = 37 * 72;
    g.ni = Some(72);
    g.nj = Some(37);
    g.lat_first = Some(90.0);
    g.lat_last = Some(-90.0);
    g.lon_first = Some(180.0);
    g.lon_last = Some(175.0);
    g.di = Some(5.0);
    g.dj = Some(5.0);
    m
}

/// Fields like make_ensemble.py writes them: params 2t, lsm (step 0), tp,
/// sot (layers 1, 2), t (850, 500); members 0..3; steps 0 and 6.
/// `cycle50`: the control comes from oper-fc without `number`.
fn ensemble(cycle50: bool) -> Vec<ScannedField> {
    let mut out = Vec::new();
    let mut offsets = std::collections::HashMap::new();
    for step in [0, 6] {
        for (short, levels) in [
            ("2t", vec![2]),
            ("lsm", vec![0]),
            ("tp", vec![0]),
            ("sot", vec![1, 2]),
            ("t", vec![850, 500]),
        ] {
            if short == "lsm" && step != 0 {
                continue;
            }
            for level in levels {
                for number in 0..3i64 {
                    let control = number == 0;
                    if cycle50 && short == "lsm" && !control {
                        continue; // static fields only in oper-fc since 50r1
                    }
                    let (url, num, dt) = match (cycle50 && control, step) {
                        (true, 0) => (OPER0, None, "fc"),
                        (true, _) => (OPER6, None, "fc"),
                        (false, 0) => (ENFO0, Some(number), if control { "cf" } else { "pf" }),
                        (false, _) => (ENFO6, Some(number), if control { "cf" } else { "pf" }),
                    };
                    let off = offsets.entry(url).or_insert(0u64);
                    out.push(ScannedField {
                        url: url.into(),
                        offset: *off,
                        length: 4000,
                        meta: meta(short, step, level, num, dt),
                    });
                    *off += 4000;
                }
            }
        }
    }
    out
}

fn json_of(store: &RefStore, key: &str) -> Value {
    serde_json::from_slice(store.get(key).and_then(RefValue::as_inline).unwrap()).unwrap()
}

#[test]
fn grib_tree_hierarchy_with_number_dimension() {
    let store = refs::build(&ensemble(false)).unwrap().store;
    let z = json_of(&store, "t/instant/isobaricInhPa/t/.zarray");
    assert_eq!(z["shape"], serde_json::json!([1, 2, 2, 3, 37, 72]));
    assert_eq!(z["chunks"], serde_json::json!([1, 1, 1, 1, 37, 72]));
    assert_eq!(
        z["filters"],
        serde_json::json!([{"id": "grib", "var": "t", "dtype": "float64"}])
    );
    let a = json_of(&store, "t/instant/isobaricInhPa/t/.zattrs");
    assert_eq!(
        a["_ARRAY_DIMENSIONS"],
        serde_json::json!([
            "time",
            "step",
            "isobaricInhPa",
            "number",
            "latitude",
            "longitude"
        ])
    );
    assert_eq!(
        json_of(&store, "t/.zattrs"),
        serde_json::json!({"name": "Temperature"})
    );
    assert_eq!(
        json_of(&store, "t/instant/.zattrs"),
        serde_json::json!({"stepType": "instant"})
    );
    assert_eq!(
        json_of(&store, "t/instant/isobaricInhPa/.zattrs")["coordinates"],
        "isobaricInhPa latitude longitude number step time valid_time"
    );
    // Levels ascending (500 first), member 2 of 850 hPa at step 6.
    assert_eq!(
        store
            .get("t/instant/isobaricInhPa/t/0.1.1.2.0.0")
            .and_then(RefValue::url),
        Some(ENFO6)
    );
    // Inline coordinates as kerchunk writes them.
    let step0 = store
        .get("t2m/instant/heightAboveGround/step/0")
        .and_then(RefValue::as_inline)
        .unwrap();
    assert_eq!(step0, [0i64.to_le_bytes(), 6i64.to_le_bytes()].concat());
    let lon = store
        .coordinate("t/instant/isobaricInhPa", "longitude")
        .unwrap()
        .values
        .floats();
    assert_eq!((lon[0], lon[1], lon[71]), (-180.0, -175.0, 175.0));
    let lat = store
        .coordinate("t/instant/isobaricInhPa", "latitude")
        .unwrap()
        .values
        .floats();
    assert_eq!((lat[0], lat[36]), (90.0, -90.0));
    // Reader API.
    let vars = store.variables().unwrap();
    let names: Vec<&str> = vars.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "lsm/instant/surface/lsm",
            "sot/instant/soilLayer/sot",
            "t/instant/isobaricInhPa/t",
            "t2m/instant/heightAboveGround/t2m",
            "tp/accum/surface/tp"
        ]
    );
    let t = store.variable("t/instant/isobaricInhPa/t").unwrap();
    assert_eq!(t.chunks_present, 12);
    let axes = store.axes(&t).unwrap();
    assert_eq!(axes.number, [0, 1, 2]);
    assert_eq!(axes.step, [0, 6]);
    assert_eq!(axes.time, [1_735_689_600]);
    assert_eq!(
        axes.level,
        Some(("isobaricInhPa".to_string(), vec![500.0, 850.0]))
    );
    assert!(axes.number_is_dim && axes.level_is_dim);
    let c = store.chunk(&t.path, &[0, 1, 1, 2, 0, 0]).unwrap().unwrap();
    assert!(matches!(c, RefValue::Range { url, .. } if url.as_ref() == ENFO6));
    assert!(matches!(
        store.chunk(&t.path, &[0, 2, 0, 0, 0, 0]),
        Err(RefsError::ChunkOutOfRange { .. })
    ));
    let t2m = store.variable("t2m/instant/heightAboveGround/t2m").unwrap();
    let axes = store.axes(&t2m).unwrap();
    assert_eq!(
        axes.level,
        Some(("heightAboveGround".to_string(), vec![2.0]))
    );
    assert!(!axes.level_is_dim);
    // valid_time varies along the concatenated dimensions, one chunk per field.
    let vt = store
        .coordinate("t/instant/isobaricInhPa", "valid_time")
        .unwrap();
    assert_eq!(vt.dims, ["time", "step", "isobaricInhPa", "number"]);
    assert_eq!(vt.values.ints()[11], 1_735_689_600 + 6 * 3600);
}

#[test]
fn cycle_50r1_control_without_number_is_member_0() {
    let old = refs::build(&ensemble(false)).unwrap().store;
    let new = refs::build(&ensemble(true)).unwrap().store;
    for var in [
        "t/instant/isobaricInhPa/t",
        "tp/accum/surface/tp",
        "sot/instant/soilLayer/sot",
    ] {
        let v = new.variable(var).unwrap();
        assert_eq!(new.axes(&v).unwrap().number, [0, 1, 2], "{var}");
        assert_eq!(v.shape, old.variable(var).unwrap().shape);
    }
    // The control's chunk points into oper-fc, the members' into enfo-ef.
    assert_eq!(
        new.get("t/instant/isobaricInhPa/t/0.1.1.0.0.0")
            .and_then(RefValue::url),
        Some(OPER6)
    );
    assert_eq!(
        new.get("t/instant/isobaricInhPa/t/0.1.1.1.0.0")
            .and_then(RefValue::url),
        Some(ENFO6)
    );
    // lsm exists for the control only: `number` is a coordinate, not a dimension.
    let lsm = new.variable("lsm/instant/surface/lsm").unwrap();
    assert_eq!(lsm.dims, ["time", "step", "latitude", "longitude"]);
    assert_eq!(new.axes(&lsm).unwrap().number, [0]);
    // Attributes come from the control (the first member).
    assert_eq!(
        json_of(&new, "t/instant/isobaricInhPa/t/.zattrs")["GRIB_dataType"],
        "fc"
    );
}

#[test]
fn duplicates_and_inconsistent_grids_are_errors() {
    // A deterministic oper-fc (no number) scanned with a pre-50r1 enfo-ef:
    // both claim member 0.
    let mut fields = ensemble(false);
    let mut hres = fields[0].clone();
    hres.url = OPER0.into();
    hres.meta.number = None;
    fields.push(hres);
    match refs::build(&fields) {
        Err(RefsError::DuplicateField { key, first, second }) => {
            assert_eq!(key, "t2m/instant/heightAboveGround/t2m/0.0.0.0.0");
            assert!(
                first.starts_with(ENFO0) && second.starts_with(OPER0),
                "{first} {second}"
            );
        }
        other => panic!("expected DuplicateField, got {other:?}"),
    }
    let mut fields = ensemble(false);
    fields[1].meta.grid.ni = Some(73);
    assert!(matches!(
        refs::build(&fields),
        Err(RefsError::Inconsistent { .. })
    ));
}

#[test]
fn deterministic_fields_have_no_number() {
    let fields: Vec<ScannedField> = [0, 6]
        .iter()
        .map(|&s| ScannedField {
            url: OPER0.into(),
            offset: s as u64 * 100,
            length: 100,
            meta: meta("2t", s, 2, None, "fc"),
        })
        .collect();
    let store = refs::build(&fields).unwrap().store;
    assert!(!store.contains_key("t2m/instant/heightAboveGround/number/.zarray"));
    let a = json_of(&store, "t2m/instant/heightAboveGround/t2m/.zattrs");
    assert_eq!(
        a["_ARRAY_DIMENSIONS"],
        serde_json::json!(["time", "step", "latitude", "longitude"])
    );
    // One member with a number (e.g. a control alone): number varies along
    // time and step, as kerchunk's grib_tree writes it.
    let fields: Vec<ScannedField> = fields
        .into_iter()
        .map(|mut f| {
            f.meta.number = Some(0);
            f
        })
        .collect();
    let store = refs::build(&fields).unwrap().store;
    let a = json_of(&store, "t2m/instant/heightAboveGround/number/.zattrs");
    assert_eq!(a["_ARRAY_DIMENSIONS"], serde_json::json!(["time", "step"]));
    assert!(store.contains_key("t2m/instant/heightAboveGround/number/0.1"));
}

#[test]
fn unknown_variables_are_skipped() {
    let mut fields = ensemble(false);
    fields[0].meta.cf_var_name = "unknown".into();
    fields[0].meta.short_name = "unknown".into();
    let built = refs::build(&fields).unwrap();
    assert_eq!(built.skipped.len(), 1);
    assert_eq!(built.skipped[0].offset, fields[0].offset);
}

#[test]
fn split_member_drops_the_number_dimension() {
    let store = refs::build(&ensemble(false)).unwrap().store;
    assert_eq!(refs::members(&store).unwrap(), [0, 1, 2]);
    let m1 = refs::split_member(&store, 1).unwrap();
    let z = json_of(&m1, "t/instant/isobaricInhPa/t/.zarray");
    assert_eq!(z["shape"], serde_json::json!([1, 2, 2, 37, 72]));
    let a = json_of(&m1, "t/instant/isobaricInhPa/t/.zattrs");
    assert_eq!(
        a["_ARRAY_DIMENSIONS"],
        serde_json::json!(["time", "step", "isobaricInhPa", "latitude", "longitude"])
    );
    assert_eq!(
        m1.get("t/instant/isobaricInhPa/t/0.1.1.0.0"),
        store.get("t/instant/isobaricInhPa/t/0.1.1.1.0.0")
    );
    assert!(!m1.contains_key("t/instant/isobaricInhPa/t/0.1.1.2.0.0"));
    let n = json_of(&m1, "t/instant/isobaricInhPa/number/.zarray");
    assert_eq!(n["shape"], serde_json::json!([]));
    assert_eq!(
        m1.get("t/instant/isobaricInhPa/number/0")
            .and_then(RefValue::as_inline),
        Some(&1i64.to_le_bytes()[..])
    );
    assert_eq!(json_of(&m1, ".zattrs")["extracted_ensemble_member"], 1);
    let t = m1.variable("t/instant/isobaricInhPa/t").unwrap();
    assert_eq!(t.chunks_present, 4);
    assert_eq!(m1.axes(&t).unwrap().number, [1]);
    // The pipeline's layout.
    let files = refs::write_seed_layout(&store, None).unwrap();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "comprehensive/ensemble_all.parquet",
            "members/control/control.parquet",
            "members/ens_01/ens_01.parquet",
            "members/ens_02/ens_02.parquet"
        ]
    );
    // The whole ensemble, not the metadata-only file of the original pipeline.
    let comp = refs::read_seed_parquet(&files["comprehensive/ensemble_all.parquet"]).unwrap();
    assert_eq!(comp, store);
    assert_eq!(
        refs::read_seed_parquet(&files["members/ens_01/ens_01.parquet"]).unwrap(),
        m1
    );
    assert_eq!(refs::member_name(12), "ens_12");
}

#[test]
fn every_format_round_trips() {
    let mut store = refs::build(&ensemble(true)).unwrap().store;
    // A small message inlined, as kerchunk's MultiZarrToZarr does under 500 bytes.
    store.set_inline(
        "tp/accum/surface/tp/0.0.0.0.0",
        b"GRIB\xff\xff\x00\x02 raw \x80 bytes 7777".to_vec(),
    );
    store.insert(
        "x/whole",
        RefValue::Whole {
            url: "s3://bucket/file.grib2".into(),
        },
    );
    let j1 = refs::read_json(&refs::write_json(&store, JsonVersion::V1)).unwrap();
    assert_eq!(j1, store);
    let j0 = refs::read_json(&refs::write_json(&store, JsonVersion::V0)).unwrap();
    assert_eq!(j0, store);
    let seed = refs::read_seed_parquet(&refs::write_seed_parquet(&store).unwrap()).unwrap();
    assert_eq!(seed, store);
    store.remove("x/whole");
    for record_size in [1, 3, 100_000] {
        let dir = refs::write_parquet_dir(&store, record_size).unwrap();
        assert!(dir.contains_key(".zmetadata"));
        let back = refs::read_parquet_dir(&dir).unwrap();
        // Metadata comes back re-serialised: compare parsed.
        assert_eq!(back.len(), store.len(), "record_size {record_size}");
        for (k, v) in store.iter() {
            let b = back.get(k).unwrap_or_else(|| panic!("{k} missing"));
            if k.contains("/.z") || k.starts_with(".z") {
                let (x, y): (Value, Value) = (
                    serde_json::from_slice(v.as_inline().unwrap()).unwrap(),
                    serde_json::from_slice(b.as_inline().unwrap()).unwrap(),
                );
                assert_eq!(x, y, "{k}");
            } else {
                assert_eq!(v, b, "{k}");
            }
        }
    }
    let dir = refs::write_parquet_dir(&store, 5).unwrap();
    assert!(dir.contains_key("t/instant/isobaricInhPa/t/refs.2.parq"));
    assert!(!dir.contains_key("t/instant/isobaricInhPa/t/refs.3.parq"));
}

/// `Codec::Gik` changes the data arrays' filter id and nothing else: every
/// other key and value is the one `build` writes.
#[test]
fn the_gik_codec_changes_only_the_filter_id() {
    let fields = ensemble(true);
    let grib = refs::build(&fields).unwrap().store;
    let gik = refs::build_with(&fields, &refs::BuildOptions::with_codec(refs::Codec::Gik))
        .unwrap()
        .store;
    assert_eq!(
        grib.keys().collect::<Vec<_>>(),
        gik.keys().collect::<Vec<_>>()
    );
    let mut data_arrays = 0;
    for (key, value) in grib.iter() {
        let other = gik.get(key).unwrap();
        if !key.ends_with("/.zarray") {
            assert_eq!(value, other, "{key}");
            continue;
        }
        let (a, mut b) = (json_of(&grib, key), json_of(&gik, key));
        if a["filters"].is_array() {
            data_arrays += 1;
            assert_eq!(a["filters"][0]["id"], "grib", "{key}");
            assert_eq!(b["filters"][0]["id"], "gik", "{key}");
            b["filters"][0]["id"] = "grib".into();
        }
        assert_eq!(a, b, "{key}");
    }
    assert_eq!(data_arrays, 5, "2t, lsm, tp, sot and t");
}
