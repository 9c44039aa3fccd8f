//! ECMWF open-data requests as users, scripts and pages give them
//! (`key=value` lines through `Request::from_pairs`, ecmwf-opendata's
//! keywords), resolved to the objects of candidate runs on a mirror, and
//! the object paths a mirror lists (`parse_path`, `listing`: `gik ls` reads
//! them from a server). Input: the request lines, then the mirror, then
//! listed paths, separated by `gik_fuzz::SEP`.
#![no_main]

use gik_core::request::{listing, parse_path, Mirror, Request};
use libfuzzer_sys::fuzz_target;

/// 2026-05-31 12:00 UTC: a fixed "now", so a run is reproducible.
const NOW: i64 = 1_780_228_800;

fuzz_target!(|data: &[u8]| {
    let parts = gik_fuzz::parts(data);
    let text = String::from_utf8_lossy(parts[0]);
    let pairs: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let mirror_name = parts.get(1).map_or_else(
        || "aws".to_string(),
        |m| String::from_utf8_lossy(m).into_owned(),
    );
    if let (Ok(req), Ok(mirror)) = (Request::from_pairs(pairs), Mirror::parse(&mirror_name)) {
        let _ = req.stream();
        for run in req
            .candidate_runs(NOW, mirror.latest_window_days())
            .iter()
            .take(4)
        {
            let Ok(objects) = req.objects(&mirror, *run) else {
                continue;
            };
            for o in &objects {
                // every object is below the mirror's root, its index beside it
                assert!(
                    o.url.starts_with(mirror.root()),
                    "{} is not below {}",
                    o.url,
                    mirror.root()
                );
                let stem = o.url.rsplit_once('.').map_or(o.url.as_str(), |(s, _)| s);
                assert_eq!(o.index, format!("{stem}.index"), "{}", o.url);
                assert_eq!(o.run, *run);
            }
        }
    }
    if let Some(listed) = parts.get(2) {
        let text = String::from_utf8_lossy(listed);
        for line in text.lines() {
            let _ = parse_path(line);
        }
        let _ = listing(text.lines());
    }
});
