//! Writing references to disk atomically (filled in when the core's refs module lands).
use crate::cmd::scan::Format;
use crate::scan_engine::Scanned;
use crate::{CliError, Result};
use std::path::Path;

pub fn write(_fields: &[Scanned], _out: &Path, _format: Format, _split: bool) -> Result<()> {
    Err(CliError::Usage("reference output is not wired yet".into()))
}
