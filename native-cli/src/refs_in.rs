//! Opening references for `extract` and `inspect`: the core's
//! [`gik_core::refs::open`] (every format, local or remote) over the CLI's
//! reader, with its errors in the CLI's terms.

use crate::{CliError, Result};
use gik_core::refs::{self, OpenError, RefStore};
use gik_store::{is_url, Sources};
use std::path::Path;

/// An Icechunk repository and the version asked for: `repo.icechunk` (the
/// tip of `main`) or `repo.icechunk@<branch|tag|snapshot id>`.
pub fn icechunk_location(location: &str) -> Option<(&str, Option<&str>)> {
    if let Some((repo, version)) = location.rsplit_once('@') {
        if gik_icechunk::is_icechunk(repo) && !version.contains('/') {
            return Some((repo, Some(version)));
        }
    }
    gik_icechunk::is_icechunk(location).then_some((location, None))
}

/// Reads references from `location` (a file, a directory, a URL, or an
/// Icechunk repository with an optional `@version`).
pub async fn load(location: &str) -> Result<RefStore> {
    if let Some((repo, version)) = icechunk_location(location) {
        let repo = gik_icechunk::Repo::new(repo).map_err(|e| CliError::Icechunk(Box::new(e)))?;
        return repo
            .read(version)
            .await
            .map_err(|e| CliError::Icechunk(Box::new(e)));
    }
    let dir = Path::new(location);
    if !is_url(location) && dir.is_dir() && !dir.join(".zmetadata").is_file() {
        return Err(CliError::Usage(format!(
            "{location}: a directory of references must be an fsspec parquet reference directory (with .zmetadata)"
        )));
    }
    refs::open(&Sources::default(), location)
        .await
        .map_err(|e| match e {
            OpenError::Read(e) => CliError::store(e),
            OpenError::Refs { location, source } => CliError::Refs { location, source },
            // (non-exhaustive: a future kind of failure, as text)
            other => CliError::Usage(other.to_string()),
        })
}
