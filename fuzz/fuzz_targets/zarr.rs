//! Zarr v2 metadata: `.zarray`, `.zattrs` (of an array and its group) and
//! inline chunks, as references hold them, and `.zmetadata` as the fsspec
//! directory reader lists files from it. Input: `.zarray`, `.zattrs`,
//! group `.zattrs`, then chunks, separated by `gik_fuzz::SEP`.
#![no_main]

use gik_core::refs::{parquet_dir_files, ArrayMeta, RefStore, RefValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = gik_fuzz::parts(data);
    let _ = parquet_dir_files(parts[0]);
    let meta = ArrayMeta::parse("x/.zarray", parts[0]);
    let mut store = RefStore::new();
    store.insert(
        "g/.zgroup",
        RefValue::Inline(br#"{"zarr_format":2}"#.to_vec()),
    );
    if let Some(a) = parts.get(2) {
        store.insert("g/.zattrs", RefValue::Inline(a.to_vec()));
    }
    // the same array as a data variable and as the coordinates the axes read
    for name in ["x", "time", "step", "number", "isobaricInhPa"] {
        store.insert(
            format!("g/{name}/.zarray"),
            RefValue::Inline(parts[0].to_vec()),
        );
        if let Some(a) = parts.get(1) {
            store.insert(format!("g/{name}/.zattrs"), RefValue::Inline(a.to_vec()));
        }
        if let Ok(meta) = &meta {
            let grid = meta.chunk_grid();
            for (n, chunk) in parts.iter().skip(3).enumerate() {
                // chunk n in row-major order over the grid
                let mut idx = vec![0u64; grid.len()];
                let mut rest = n as u64;
                for d in (0..grid.len()).rev() {
                    let g = grid[d].max(1);
                    idx[d] = rest % g;
                    rest /= g;
                }
                let key = if meta.shape.is_empty() {
                    "0".to_string()
                } else {
                    meta.chunk_key(&idx)
                };
                store.insert(format!("g/{name}/{key}"), RefValue::Inline(chunk.to_vec()));
            }
        }
    }
    gik_fuzz::check_store(&store);
});
