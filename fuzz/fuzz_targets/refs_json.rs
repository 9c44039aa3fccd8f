//! Kerchunk JSON (v0, v1, templates, `gen`): an error, or references that
//! round-trip and answer every query (see `gik_fuzz::check_store`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = gik_core::refs::read_json(data) {
        gik_fuzz::check_store(&store);
    }
});
