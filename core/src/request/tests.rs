//! The tests of `request.rs`, compiled only under `#[cfg(test)]` (see its `mod tests`).

use super::*;
use crate::io::MemoryReader;

fn req(s: &str) -> Request {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn run(y: i64, m: i64, d: i64, h: u8) -> Run {
    Run::new(y, m, d, h).unwrap()
}

/// The objects' paths below the root.
fn names(r: &Request, root: &str, at: Run) -> Vec<String> {
    r.objects(&Mirror::parse(root).unwrap(), at)
        .unwrap()
        .iter()
        .map(|o| o.url.strip_prefix(root).unwrap().to_string())
        .collect()
}

#[test]
fn keywords_parse_as_ecmwf_opendata_takes_them() {
    let r = req("step=0/to/12/by/6,date=2026-06-01,time=1200");
    assert_eq!(r.steps, [0, 6, 12]);
    assert_eq!(r.date, DateSpec::Day(run(2026, 6, 1, 0).day));
    assert_eq!(r.time, Some(12));
    assert_eq!(req("step=0/6/24").steps, [0, 6, 24]);
    assert_eq!(req("step=3/to/6").steps, [3, 4, 5, 6]);
    assert_eq!(req("date=20260601").date, req("date=2026-06-01").date);
    // the hour in a date, overridden by `time`
    assert_eq!(req("date=2026-06-01 18:00:00").time, Some(18));
    assert_eq!(req("date=2026-06-01T06").time, Some(6));
    assert_eq!(req("date=2026-06-01 18:00,time=0").time, Some(0));
    assert_eq!(req("date=-1").date, DateSpec::Relative(-1));
    assert_eq!(req("date=0").date, DateSpec::Relative(0));
    assert_eq!(req("date=latest").date, DateSpec::Latest);
    assert_eq!(Request::default().date, DateSpec::Latest);
    assert_eq!(req("time=06").time, Some(6));
    // defaults: oper fc; ensemble types imply enfo; aifs-ens is enfo
    let d = req("");
    assert_eq!(
        (d.stream(), d.types.clone()),
        (Stream::Oper, vec!["fc".to_string()])
    );
    assert_eq!(req("type=pf").stream(), Stream::Enfo);
    assert_eq!(req("stream=enfo").types, ["cf", "pf"]);
    assert_eq!(req("model=aifs-ens").stream(), Stream::Enfo);
    assert_eq!(req("stream=scda").stream(), Stream::Oper);
    let s = req("param=2t/t,levelist=850/500,number=1/to/3");
    assert_eq!(s.select.param, ["2t", "t"]);
    assert_eq!(s.select.levelist, ["850", "500"]);
    assert_eq!(s.select.number, [1, 2, 3]);
    for (bad, says) in [
        ("time=3", "0, 6, 12 and 18"),
        ("date=2026-02-30", "no such day"),
        ("date=tomorrow", "expected YYYYMMDD"),
        ("step=12/to/6", "positive step"),
        ("step=0/to/12/by/0", "positive step"),
        ("step=x", "not a step"),
        ("model=gfs", "ifs, aifs-single or aifs-ens"),
        ("stream=mmsf", "expected oper"),
        ("type=xx", "unknown type"),
        ("number=-2", "not a member"),
        ("area=europe", "unknown keyword"),
        ("type=fc/pf", "cannot be mixed"),
        ("model=aifs-single,stream=enfo", "aifs-single"),
        ("stream", "keyword=value"),
    ] {
        let e = bad.parse::<Request>().unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn ifs_ensembles_resolve_to_enfo_ef_and_since_50r1_also_oper_fc() {
    let ens = req("stream=enfo,step=0/6");
    assert_eq!(
        names(&ens, "/m", run(2026, 6, 1, 0)),
        [
            "/20260601/00z/ifs/0p25/enfo/20260601000000-0h-enfo-ef.grib2",
            "/20260601/00z/ifs/0p25/oper/20260601000000-0h-oper-fc.grib2",
            "/20260601/00z/ifs/0p25/enfo/20260601000000-6h-enfo-ef.grib2",
            "/20260601/00z/ifs/0p25/oper/20260601000000-6h-oper-fc.grib2",
        ]
    );
    // since 50r1 the 06 UTC control is in oper too (no scda)
    assert_eq!(
        names(&ens, "/m", run(2026, 6, 1, 6))[1],
        "/20260601/06z/ifs/0p25/oper/20260601060000-0h-oper-fc.grib2"
    );
    // before 50r1: enfo-ef alone, at 06 UTC as well (ENS has no scda)
    for h in [0, 6] {
        assert_eq!(
            names(&ens, "/m", run(2026, 5, 11, h)),
            [
                format!("/20260511/{h:02}z/ifs/0p25/enfo/20260511{h:02}0000-0h-enfo-ef.grib2"),
                format!("/20260511/{h:02}z/ifs/0p25/enfo/20260511{h:02}0000-6h-enfo-ef.grib2"),
            ]
        );
    }
    // the boundary: the 00 UTC run of 2026-05-12 is still 49r1, 06 UTC is 50r1
    assert_eq!(run(2026, 5, 12, 0).cycle(), Cycle::C49r1);
    assert_eq!(run(2026, 5, 12, 6).cycle(), Cycle::C50r1);
    // members only, or the control only
    let pf = req("type=pf,step=6");
    assert_eq!(
        names(&pf, "/m", run(2026, 6, 1, 0)),
        ["/20260601/00z/ifs/0p25/enfo/20260601000000-6h-enfo-ef.grib2"]
    );
    let cf = req("stream=enfo,number=0,step=6");
    assert_eq!(
        names(&cf, "/m", run(2026, 6, 1, 0)),
        ["/20260601/00z/ifs/0p25/oper/20260601000000-6h-oper-fc.grib2"]
    );
    assert_eq!(
        names(&cf, "/m", run(2026, 5, 1, 0)),
        ["/20260501/00z/ifs/0p25/enfo/20260501000000-6h-enfo-ef.grib2"]
    );
    let e = req("type=pf,number=0")
        .objects(&Mirror::Aws, run(2026, 6, 1, 0))
        .unwrap_err();
    assert!(e.to_string().contains("selects no member"), "{e}");
    // type=cf keeps member 0 only, type=pf members ≥ 1
    assert!(req("type=cf").select.control && !req("type=cf").select.perturbed);
    assert!(!pf.select.control && pf.select.perturbed);
}

#[test]
fn deterministic_and_other_models_follow_ecmwf_naming() {
    let oper = req("step=12");
    assert_eq!(
        names(&oper, "/m", run(2026, 5, 11, 18)),
        ["/20260511/18z/ifs/0p25/scda/20260511180000-12h-scda-fc.grib2"]
    );
    assert_eq!(
        names(&oper, "/m", run(2026, 5, 11, 12)),
        ["/20260511/12z/ifs/0p25/oper/20260511120000-12h-oper-fc.grib2"]
    );
    assert_eq!(
        names(&oper, "/m", run(2026, 6, 1, 18)),
        ["/20260601/18z/ifs/0p25/oper/20260601180000-12h-oper-fc.grib2"]
    );
    let wave = req("stream=wave,step=12");
    assert_eq!(
        names(&wave, "/m", run(2026, 5, 11, 6)),
        ["/20260511/06z/ifs/0p25/scwv/20260511060000-12h-scwv-fc.grib2"]
    );
    // waves: the control moved to wave-fc too (enfo:cf and waef:cf stopped)
    let waef = req("stream=waef,step=12");
    assert_eq!(
        names(&waef, "/m", run(2026, 6, 1, 0)),
        [
            "/20260601/00z/ifs/0p25/waef/20260601000000-12h-waef-ef.grib2",
            "/20260601/00z/ifs/0p25/wave/20260601000000-12h-wave-fc.grib2"
        ]
    );
    // probabilities: the 240 h or 360 h file (ecmwf-opendata's rule)
    let ep = req("type=ep,step=24/300");
    assert_eq!(
        names(&ep, "/m", run(2026, 6, 1, 0)),
        [
            "/20260601/00z/ifs/0p25/enfo/20260601000000-240h-enfo-ep.grib2",
            "/20260601/00z/ifs/0p25/enfo/20260601000000-360h-enfo-ep.grib2"
        ]
    );
    // AIFS: control and members in their own files in both cycles, no scda
    let aifs = req("model=aifs-ens,step=6");
    for at in [run(2026, 5, 11, 6), run(2026, 6, 1, 6)] {
        let ymd = at.yyyymmdd();
        assert_eq!(
            names(&aifs, "/m", at),
            [
                format!("/{ymd}/06z/aifs-ens/0p25/enfo/{ymd}060000-6h-enfo-cf.grib2"),
                format!("/{ymd}/06z/aifs-ens/0p25/enfo/{ymd}060000-6h-enfo-pf.grib2"),
            ]
        );
    }
    assert_eq!(
        names(
            &req("model=aifs-ens,type=pf,step=6"),
            "/m",
            run(2026, 6, 1, 0)
        )
        .len(),
        1
    );
    let single = req("model=aifs-single,step=6");
    assert_eq!(
        names(&single, "/m", run(2026, 5, 11, 6)),
        ["/20260511/06z/aifs-single/0p25/oper/20260511060000-6h-oper-fc.grib2"]
    );
    // mirrors and indexes
    let o = &req("step=6")
        .objects(&Mirror::Google, run(2026, 6, 1, 0))
        .unwrap()[0];
    assert_eq!(
        o.url,
        "gs://ecmwf-open-data/20260601/00z/ifs/0p25/oper/20260601000000-6h-oper-fc.grib2"
    );
    assert_eq!(
        o.index,
        "gs://ecmwf-open-data/20260601/00z/ifs/0p25/oper/20260601000000-6h-oper-fc.index"
    );
    assert_eq!(Mirror::Ecmwf.root(), "https://data.ecmwf.int/forecasts");
    assert_eq!(Mirror::Aws.root(), "s3://ecmwf-forecasts");
    assert_eq!(
        Mirror::Azure.root(),
        "https://ai4edataeuwest.blob.core.windows.net/ecmwf"
    );
    assert_eq!(
        Mirror::parse("http://127.0.0.1:9/f/").unwrap().root(),
        "http://127.0.0.1:9/f"
    );
}

/// A mirror in memory with the `.index` of every object of `r` for `runs`
/// but those named in `drop`.
fn mirror_with(r: &Request, runs: &[Run], drop: &[&str]) -> MemoryReader {
    let mut m = MemoryReader::new();
    for &at in runs {
        for o in r.objects(&Mirror::parse("mem://m").unwrap(), at).unwrap() {
            if !drop.iter().any(|d| o.index.ends_with(d)) {
                m.insert(o.index.clone(), "{}\n");
            }
        }
    }
    m
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn latest_is_the_newest_complete_run() {
    let mirror = Mirror::parse("mem://m").unwrap();
    let r = req("stream=enfo,step=0/6,date=latest");
    let now = run(2026, 6, 2, 6).epoch() + 3 * 3600; // 09 UTC
    let runs = [
        run(2026, 6, 1, 12),
        run(2026, 6, 1, 18),
        run(2026, 6, 2, 0),
        run(2026, 6, 2, 6),
    ];
    // 06 UTC lacks its last step's control, 00 UTC its first step's members
    let m = mirror_with(
        &r,
        &runs,
        &[
            "20260602060000-6h-oper-fc.index",
            "20260602000000-0h-enfo-ef.index",
        ],
    );
    let found = block_on(locate(&m, &r, &mirror, now)).unwrap();
    assert_eq!(found.run, run(2026, 6, 1, 18));
    assert_eq!(found.objects.len(), 4);
    // with a time, day by day
    let r12 = req("stream=enfo,step=0/6,time=12");
    let found = block_on(locate(&m, &r12, &mirror, now)).unwrap();
    assert_eq!(found.run, run(2026, 6, 1, 12));
    // a run from the future is never tried
    let found = block_on(locate(&m, &r, &mirror, run(2026, 6, 1, 18).epoch() + 60)).unwrap();
    assert_eq!(found.run, run(2026, 6, 1, 18));
    // a run asked for by date names its first missing object (the last step first)
    let at = req("stream=enfo,step=0/6,date=2026-06-02,time=6");
    let e = block_on(locate(&m, &at, &mirror, now)).unwrap_err();
    assert!(
        matches!(&e, LocateError::Missing { missing, present: 3, total: 4, .. } if missing == "mem://m/20260602/06z/ifs/0p25/oper/20260602060000-6h-oper-fc.index"),
        "{e}"
    );
    // relative dates count from today
    let rel = req("stream=enfo,step=0/6,date=-1,time=18");
    assert_eq!(
        block_on(locate(&m, &rel, &mirror, now)).unwrap().run,
        run(2026, 6, 1, 18)
    );
    // nothing complete in the window: says where it looked and what the newest lacks
    let later = run(2026, 6, 20, 0).epoch();
    let e = block_on(locate(&m, &r, &mirror, later)).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, LocateError::NoneComplete { tried: 16, .. }),
        "{text}"
    );
    assert!(
        text.contains("2026-06-20 00z") && text.contains("20260620000000-6h-"),
        "{text}"
    );
    // ECMWF's own server: at most its retention
    assert_eq!(Mirror::Ecmwf.latest_window_days(), 4);
}

#[test]
fn latest_crosses_the_50r1_boundary() {
    // 2026-05-12: 00 UTC is 49r1 (enfo-ef holds the control), 06 UTC is 50r1
    let mirror = Mirror::parse("mem://m").unwrap();
    let r = req("stream=enfo,step=0/6");
    let runs = [run(2026, 5, 12, 0), run(2026, 5, 12, 6)];
    let m = mirror_with(&r, &runs, &["20260512060000-6h-enfo-ef.index"]);
    let found = block_on(locate(&m, &r, &mirror, run(2026, 5, 12, 6).epoch() + 7200)).unwrap();
    assert_eq!(found.run, run(2026, 5, 12, 0));
    assert!(
        found.objects.iter().all(|o| o.kind == "ef"),
        "{:?}",
        found.objects
    );
}

#[test]
fn selections_keep_the_index_lines_asked_for() {
    let line = |text: &str| crate::index::parse_ecmwf(text).unwrap().remove(0);
    let t850 = line(
        r#"{"param": "t", "levtype": "pl", "levelist": "850", "type": "pf", "number": "3", "_offset": 0, "_length": 9}"#,
    );
    let t2m_cf =
        line(r#"{"param": "2t", "levtype": "sfc", "type": "cf", "_offset": 0, "_length": 9}"#);
    let sel = |s: &str| req(s).select;
    assert!(Selection::default().keeps_entry(&t850) && Selection::default().is_all());
    assert!(sel("param=t/2t").keeps_entry(&t850));
    assert!(!sel("param=q").keeps_entry(&t850));
    assert!(sel("levelist=850").keeps_entry(&t850));
    assert!(!sel("levelist=500").keeps_entry(&t850));
    // fields without a level are kept whatever the levelist
    assert!(sel("levelist=500").keeps_entry(&t2m_cf));
    // a line without `number` is the control
    assert!(sel("number=0").keeps_entry(&t2m_cf));
    assert!(!sel("number=1/to/3").keeps_entry(&t2m_cf));
    assert!(sel("number=1/to/3").keeps_entry(&t850));
    assert!(!sel("type=cf").keeps_entry(&t850));
    assert!(!sel("type=pf").keeps_entry(&t2m_cf));
    // NOAA lines have none of these keys
    let noaa = crate::index::parse_noaa("1:0:d=2023082318:TMP:surface:anl:\n")
        .unwrap()
        .remove(0);
    assert!(sel("param=2t").keeps_entry(&noaa));
}

#[test]
fn listings_from_paths_and_from_probing() {
    let paths = [
        "20260601/00z/ifs/0p25/enfo/20260601000000-0h-enfo-ef.index",
        "20260601/00z/ifs/0p25/enfo/20260601000000-0h-enfo-ef.grib2",
        "20260601/00z/ifs/0p25/enfo/20260601000000-6h-enfo-ef.index",
        "20260601/00z/ifs/0p25/enfo/20260601000000-12h-enfo-ef.index",
        "20260601/06z/ifs/0p25/oper/20260601060000-3h-oper-fc.index",
        "20260601/06z/ifs/0p25/oper/README.txt",
        "20260601/06z/ifs/0p25/oper/20260601000000-3h-oper-fc.index", // wrong stamp
    ];
    let l = listing(paths);
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].run, l[0].stream.as_str(), l[0].kind.as_str()),
        (run(2026, 6, 1, 0), "enfo", "ef")
    );
    assert_eq!(l[0].steps, [0, 6, 12]);
    assert_eq!(l[1].steps, [3]);
    assert_eq!(format_steps(&l[0].steps), "0/to/12/by/6");
    assert_eq!(
        format_steps(&schedule(Model::Ifs)),
        "0/to/144/by/3, 150/to/360/by/6"
    );
    assert_eq!(format_steps(&[0, 6, 7]), "0, 6, 7");
    assert_eq!(format_steps(&[]), "");
    // probing an HTTP-like root with the same objects
    let mut m = MemoryReader::new();
    for p in paths {
        m.insert(format!("mem://m/{p}"), "{}\n");
    }
    let mirror = Mirror::parse("mem://m").unwrap();
    let probed = block_on(probe(
        &m,
        &mirror,
        run(2026, 6, 1, 0).day,
        &[Model::Ifs],
        "0p25",
    ))
    .unwrap();
    assert_eq!(probed.len(), 1, "{probed:?}"); // 06z oper has no step 0: not found by probing
    assert_eq!(probed[0].steps, [0, 6, 12]);
}

/// Found by the `request` fuzz target: `step=0/to/4802` took over 10 s
/// under the fuzzer, each object's url compared with every earlier one
/// (quadratic). Objects are now kept unique by a set; this checks the
/// result of the largest list a request may hold is still right (the
/// time is measured by the fuzzer, not asserted here).
#[test]
fn the_largest_step_list_resolves_to_unique_objects_in_order() {
    let r = req("stream=enfo,step=0/to/10000");
    let all = names(&r, "/m", run(2026, 6, 1, 0));
    assert_eq!(all.len(), 2 * 10_001);
    assert_eq!(
        all.iter().collect::<std::collections::BTreeSet<_>>().len(),
        all.len()
    );
    assert_eq!(
        all[2 * 10_000 + 1],
        "/20260601/00z/ifs/0p25/oper/20260601000000-10000h-oper-fc.grib2"
    );
    // probabilities: every step up to 240 h shares the 240 h file
    let ep = req("stream=enfo,type=ep,step=0/to/360");
    assert_eq!(
        names(&ep, "/m", run(2026, 6, 1, 0))
            .iter()
            .map(|n| n.rsplit('/').next().unwrap_or_default().to_string())
            .collect::<Vec<_>>(),
        [
            "20260601000000-240h-enfo-ep.grib2",
            "20260601000000-360h-enfo-ep.grib2"
        ]
    );
}
