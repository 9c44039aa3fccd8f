//! The two-column (`key`, `value`) reference parquet: an error (never a
//! panic inside the parquet crate), or references that round-trip through
//! the same format and kerchunk JSON.
#![no_main]

use gik_core::refs::{read_seed_parquet, write_seed_parquet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(store) = read_seed_parquet(data) else {
        return;
    };
    gik_fuzz::check_store(&store);
    let bytes = match write_seed_parquet(&store) {
        Ok(b) => b,
        Err(e) => panic!("cannot write what was read: {e}"),
    };
    match read_seed_parquet(&bytes) {
        Ok(back) => assert!(
            back == store,
            "two-column parquet round trip changed the references"
        ),
        Err(e) => panic!("cannot read its own two-column parquet: {e}"),
    }
});
