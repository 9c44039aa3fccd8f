//! Where the shared reference data is (`$GIK_SHARED`, or `shared/` beside
//! the workspace). A test that needs it fails, saying where it looked,
//! when it is missing: no test passes by skipping.

use std::path::PathBuf;

/// The shared directory, checked to hold `needed` (a path inside it).
///
/// # Panics
/// When `needed` is not there.
#[must_use]
pub fn shared_dir(needed: &str) -> PathBuf {
    let dir = std::env::var_os("GIK_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    assert!(
        dir.join(needed).exists(),
        "the shared reference data is missing: {} does not exist; set GIK_SHARED to the \
         shared/ directory (GRIB files with ecCodes' answers), or put it beside the workspace",
        dir.join(needed).display()
    );
    dir
}
