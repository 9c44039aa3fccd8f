//! Helpers shared by the CLI's integration tests.
#![allow(dead_code, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `gik` binary under test.
pub fn gik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gik"))
        .args(args)
        .output()
        .expect("run gik")
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}
