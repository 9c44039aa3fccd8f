//! Zarr v3 hierarchies as an Icechunk repository gives them back to gik
//! (`refs::from_zarr3`: each node's `zarr.json` and its chunks, inline or
//! virtual references to GRIB messages). Input: nodes separated by
//! `gik_fuzz::SEP`, each its path, a newline, then its `zarr.json`; an
//! array node gets a chunk per following `@`-part, along its last dimension (`@<offset>,<length>`
//! makes a virtual reference, anything else inline bytes).
//! Properties: what reads back keeps every reference-set property
//! (`check_store`), and writing it as Zarr v3 again reads back the same
//! (plus any parent group the hierarchy left out).
#![no_main]

use gik_core::refs::{from_zarr3, to_zarr3, CoordValues, RefValue, Zarr3Node};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut nodes: Vec<Zarr3Node> = Vec::new();
    for part in gik_fuzz::parts(data) {
        if let Some(chunk) = part.strip_prefix(b"@") {
            let Some(node) = nodes.last_mut() else {
                continue;
            };
            // the next chunk along the last of the array's dimensions
            let dims = serde_json::from_slice::<serde_json::Value>(&node.metadata)
                .ok()
                .and_then(|v| v.get("shape").and_then(|s| s.as_array()).map(Vec::len))
                .unwrap_or(1)
                .clamp(1, 8);
            let mut index = vec![0u64; dims];
            index[dims - 1] = node.chunks.len() as u64;
            let value = std::str::from_utf8(chunk)
                .ok()
                .and_then(|s| s.split_once(','))
                .and_then(|(o, l)| Some((o.trim().parse().ok()?, l.trim().parse().ok()?)))
                .map_or_else(
                    || RefValue::Inline(chunk.to_vec()),
                    |(offset, length)| RefValue::Range {
                        url: "file:///data/f.grib2".into(),
                        offset,
                        length,
                    },
                );
            node.chunks.push((index, value));
            continue;
        }
        let (path, metadata) = match part.iter().position(|&b| b == b'\n') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (&b""[..], part),
        };
        nodes.push(Zarr3Node {
            path: String::from_utf8_lossy(path).into_owned(),
            metadata: metadata.to_vec(),
            chunks: Vec::new(),
        });
    }
    let Ok(store) = from_zarr3(&nodes) else {
        return;
    };
    gik_fuzz::check_store(&store);
    // Writing it as Zarr v3 again keeps every virtual reference and every
    // coordinate's values (their bytes are written afresh; parent groups a
    // hierarchy left out are added), and from there the round trip is exact.
    let Ok(again) = to_zarr3(&store) else {
        return;
    };
    let back = match from_zarr3(&again) {
        Ok(back) => back,
        Err(e) => panic!("gik cannot read the Zarr v3 it wrote: {e}"),
    };
    for (k, v) in store.iter() {
        if matches!(v, RefValue::Range { .. } | RefValue::Whole { .. }) {
            assert!(
                back.get(k) == Some(v),
                "Zarr v3 round trip changed or lost {k}"
            );
        }
    }
    let arrays: Vec<String> = store.arrays().map(str::to_string).collect();
    for path in &arrays {
        let (group, name) = path.rsplit_once('/').unwrap_or(("", path));
        if let (Ok(c), Ok(b)) = (store.coordinate(group, name), back.coordinate(group, name)) {
            // a value with no chunk is written as the fill value
            let same = match (&c.values, &b.values) {
                (CoordValues::Int(x), CoordValues::Int(y)) => {
                    x.len() == y.len()
                        && x.iter()
                            .zip(y)
                            .all(|(x, y)| Some(x.unwrap_or(c.fill as i64)) == *y)
                }
                (CoordValues::Float(x), CoordValues::Float(y)) => {
                    x.len() == y.len()
                        && x.iter().zip(y).all(|(x, y)| {
                            Some(x.unwrap_or(c.fill).to_bits()) == y.map(f64::to_bits)
                        })
                }
                _ => false,
            };
            assert!(
                same,
                "Zarr v3 round trip changed the values of {path}: {:?} → {:?}",
                c.values, b.values
            );
        }
    }
    match to_zarr3(&back).map(|n| from_zarr3(&n)) {
        Ok(Ok(twice)) => assert!(
            twice == back,
            "a second Zarr v3 round trip changed the references"
        ),
        Ok(Err(e)) => panic!("gik cannot read the Zarr v3 it wrote: {e}"),
        Err(e) => panic!("gik cannot write the references it read from Zarr v3: {e}"),
    }
});
