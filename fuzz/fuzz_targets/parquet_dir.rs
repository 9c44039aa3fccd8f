//! The fsspec parquet reference directory: `.zmetadata`, then the parquet
//! files it names (`parquet_dir_files`, in order), separated by
//! `gik_fuzz::SEP`. An error, or references that round-trip through the
//! same format (when they can be written: metadata must be JSON) and
//! kerchunk JSON.
#![no_main]

use gik_core::refs::{parquet_dir_files, read_parquet_dir, write_parquet_dir, FileMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = gik_fuzz::parts(data);
    let mut files = FileMap::new();
    files.insert(".zmetadata".to_string(), parts[0].to_vec());
    let names = parquet_dir_files(parts[0]).unwrap_or_default();
    for (name, bytes) in names.into_iter().zip(parts.iter().skip(1)) {
        // an empty part: that file is absent
        if !bytes.is_empty() {
            files.insert(name, bytes.to_vec());
        }
    }
    let Ok(store) = read_parquet_dir(&files) else {
        return;
    };
    gik_fuzz::check_store(&store);
    // any record size must give back the same references
    let record_size = 1 + (data.len() as u64 % 5);
    if let Ok(written) = write_parquet_dir(&store, record_size) {
        match read_parquet_dir(&written) {
            Ok(back) => assert!(
                back == store,
                "parquet directory round trip changed the references"
            ),
            Err(e) => panic!("cannot read its own parquet directory: {e}"),
        }
    }
});
