//! Anemoi checkpoints (zip archives, zip64 too) read for their metadata
//! (and their latitude/longitude supporting arrays),
//! through `MemoryReader` and through a hostile reader (short, long or
//! shifted bodies, a lying size), and the metadata JSON itself. Input: the
//! archive, then the hostile reader's script, separated by
//! `gik_fuzz::SEP`; the archive is also tried as metadata JSON.
#![no_main]

use std::collections::BTreeMap;

use bytes::Bytes;
use gik_core::checkpoint::{
    entries, entry_span, locate, metadata_entry, read_metadata, read_model, Located, ModelSpec,
    MAX_ARRAY, MAX_METADATA,
};
use gik_core::io::MemoryReader;
use gik_fuzz::{ready, Hostile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = gik_fuzz::parts(data);
    let archive = parts[0];
    let size = archive.len() as u64;
    if let Ok(spec) = ModelSpec::from_json(archive) {
        let _ = spec.target_grid();
        let _ = spec.lagged_hours();
    }
    // the sans-IO steps: whatever they locate lies inside the archive
    if let Ok(Located::Directory(dir)) = locate(archive, size) {
        let r = dir.range();
        assert!(
            r.start <= r.end && r.end <= size,
            "directory {r:?} outside {size} bytes"
        );
        if let Ok(list) = entries(&archive[r.start as usize..r.end as usize], &dir) {
            if let Ok(e) = metadata_entry(&list) {
                let span = entry_span(e, dir.offset);
                assert!(span.start <= span.end, "entry span {span:?} backwards");
            }
        }
    }
    let mut mem = MemoryReader::new();
    mem.insert("m.ckpt", Bytes::copy_from_slice(archive));
    if let Ok(json) = ready(read_metadata(&mem, "m.ckpt")) {
        assert!(json.len() as u64 <= MAX_METADATA);
        let _ = ModelSpec::from_json(&json);
    }
    // with the supporting arrays: what it gives has the declared sizes
    if let Ok(m) = ready(read_model(&mem, "m.ckpt")) {
        if let (Some((lat, lon)), Some((a, b))) = (&m.coordinates, &m.spec.coordinates) {
            assert_eq!((lat.len() as u64, lon.len() as u64), (a.len, b.len));
            assert!(lat.len() as u64 * 4 <= MAX_ARRAY);
        }
        let _ = m.spec.target_grid();
    }
    let script = parts.get(1).copied().unwrap_or(&[1, 2, 3, 4, 5, 6, 7]);
    let mut objects = BTreeMap::new();
    objects.insert("m.ckpt".to_string(), Bytes::copy_from_slice(archive));
    let hostile = Hostile::new(objects, script);
    let _ = ready(read_metadata(&hostile, "m.ckpt"));
    let hostile = Hostile::new(
        BTreeMap::from([("m.ckpt".to_string(), Bytes::copy_from_slice(archive))]),
        script,
    );
    let _ = ready(read_model(&hostile, "m.ckpt"));
});
