//! Loading references in any format users have, local or remote:
//! kerchunk JSON (v0/v1), the original pipeline's two-column parquet, and
//! fsspec's parquet reference directory.

use crate::store::{is_url, StoreError, Stores};
use crate::{CliError, Result};
use gik_core::refs::{self, FileMap, RefStore};
use std::path::Path;

fn refs_err(location: &str) -> impl FnOnce(refs::RefsError) -> CliError + '_ {
    move |source| CliError::Refs {
        location: location.to_string(),
        source,
    }
}

fn store_err(e: StoreError) -> CliError {
    CliError::store(e)
}

fn looks_like_parquet(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PAR1")
}

/// Reads references from `location` (a file, a directory or a URL).
pub async fn load(stores: &Stores, location: &str) -> Result<RefStore> {
    let local_dir = !is_url(location) && Path::new(location).is_dir();
    if local_dir {
        return load_local_dir(location);
    }
    let trimmed = location.trim_end_matches('/');
    if location.ends_with('/') || (is_url(location) && !has_file_extension(trimmed)) {
        return load_remote_dir(stores, trimmed).await;
    }
    let mut src = stores.open(location).await.map_err(store_err)?;
    let bytes = src.read_all().await.map_err(store_err)?;
    if looks_like_parquet(&bytes) {
        refs::read_seed_parquet(&bytes).map_err(refs_err(location))
    } else {
        refs::read_json(&bytes).map_err(refs_err(location))
    }
}

fn has_file_extension(loc: &str) -> bool {
    let last = loc.rsplit('/').next().unwrap_or("");
    [".json", ".parquet", ".parq"]
        .iter()
        .any(|e| last.ends_with(e))
}

fn load_local_dir(dir: &str) -> Result<RefStore> {
    let root = Path::new(dir);
    if !root.join(".zmetadata").is_file() {
        return Err(CliError::Usage(format!(
            "{dir}: a directory of references must be an fsspec parquet reference directory (with .zmetadata)"
        )));
    }
    let mut files = FileMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(CliError::io(&d))? {
            let entry = entry.map_err(CliError::io(&d))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n == ".zmetadata" || n.to_string_lossy().ends_with(".parq"))
            {
                let rel = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&p).map_err(CliError::io(&p))?);
            }
        }
    }
    refs::read_parquet_dir(&files).map_err(refs_err(dir))
}

/// A remote fsspec directory: `.zmetadata` says which arrays exist and how
/// many chunks each has, hence which `refs.{n}.parq` files to fetch.
async fn load_remote_dir(stores: &Stores, base: &str) -> Result<RefStore> {
    let zmeta_loc = format!("{base}/.zmetadata");
    let mut src = stores.open(&zmeta_loc).await.map_err(store_err)?;
    let zmeta = src.read_all().await.map_err(store_err)?;
    let wanted = refs::parquet_dir_files(&zmeta).map_err(refs_err(&zmeta_loc))?;
    let mut files = FileMap::new();
    files.insert(".zmetadata".into(), zmeta.to_vec());
    for rel in wanted {
        match stores.open(&format!("{base}/{rel}")).await {
            Ok(mut s) => match s.read_all().await {
                Ok(b) => {
                    files.insert(rel, b.to_vec());
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(store_err(e)),
            },
            // Arrays whose chunks are all inline (coordinates) have no file.
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(store_err(e)),
        }
    }
    refs::read_parquet_dir(&files).map_err(refs_err(base))
}
