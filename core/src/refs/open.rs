//! Opening references in any of the three formats, local or remote, through
//! a [`RangeReader`]: the one place that tells the formats apart.
//!
//! | location | read as |
//! |---|---|
//! | ends in `/` or `/.zmetadata` | fsspec parquet reference directory |
//! | ends in `.json`, `.parquet` | one file: two-column parquet when it starts with `PAR1`, kerchunk JSON otherwise |
//! | anything else (e.g. `refs.parq`, kerchunk's name for the directory `refs_to_dataframe` writes) | a directory when `{location}/.zmetadata` can be read, else one file |
//!
//! A directory is read as fsspec reads it: `.zmetadata` names the arrays and
//! their chunk counts, hence which `{array}/refs.{n}.parq` files exist; a file
//! that is missing ([`ReadErrorKind::NotFound`]) belongs to an array whose
//! chunks are all inline, and is skipped.

use futures::stream::{self, StreamExt, TryStreamExt};

use super::{FileMap, RefStore, RefsError};
use crate::io::{RangeReader, ReadError, ReadErrorKind};

/// Files of a directory read at once.
const DIR_READS_AT_ONCE: usize = 8;

/// Why references could not be opened. `E` is the reader's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError<E: std::error::Error + 'static> {
    /// A read failed (the references, or a file of their directory, are
    /// missing or unreadable).
    #[error(transparent)]
    Read(E),
    /// What was read is not references in any format gik knows.
    #[error("{location}: {source}")]
    Refs {
        location: String,
        #[source]
        source: RefsError,
    },
}

fn has_file_extension(location: &str) -> bool {
    let last = location.rsplit('/').next().unwrap_or("");
    [".json", ".parquet"].iter().any(|e| last.ends_with(e))
}

/// Parses the bytes of one reference file: two-column parquet when they
/// start with `PAR1`, kerchunk JSON (version 0 or 1) otherwise.
///
/// # Errors
/// Bytes that are neither format, or a malformed file of one of them.
pub fn parse_file(bytes: &[u8]) -> super::Result<RefStore> {
    if bytes.starts_with(b"PAR1") {
        super::read_seed_parquet(bytes)
    } else {
        super::read_json(bytes)
    }
}

/// Opens the references at `location` (a path or URL as `reader` reads
/// them), whatever their format (see the module documentation).
///
/// # Errors
/// [`OpenError::Read`] when the references (or the `.zmetadata` of a
/// directory) cannot be read, [`OpenError::Refs`] when they are malformed.
pub async fn open<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
) -> Result<RefStore, OpenError<R::Error>> {
    if location.ends_with('/') || location.ends_with("/.zmetadata") {
        let base = location
            .trim_end_matches(".zmetadata")
            .trim_end_matches('/');
        let zmeta = reader
            .read_all(&format!("{base}/.zmetadata"))
            .await
            .map_err(OpenError::Read)?;
        return open_dir(reader, base, &zmeta).await;
    }
    if !has_file_extension(location) {
        // A directory named without its `/`, e.g. `refs.dir`; a file without
        // an extension otherwise (probing it fails: not found, not a directory).
        if let Ok(zmeta) = reader.read_all(&format!("{location}/.zmetadata")).await {
            return open_dir(reader, location, &zmeta).await;
        }
    }
    let bytes = reader.read_all(location).await.map_err(OpenError::Read)?;
    parse_file(&bytes).map_err(|source| OpenError::Refs {
        location: location.to_string(),
        source,
    })
}

/// Reads the parquet files of the directory at `base` that its `.zmetadata`
/// (`zmeta`) names, and the directory from them.
async fn open_dir<R: RangeReader + ?Sized>(
    reader: &R,
    base: &str,
    zmeta: &[u8],
) -> Result<RefStore, OpenError<R::Error>> {
    let wanted = super::parquet_dir_files(zmeta).map_err(|source| OpenError::Refs {
        location: format!("{base}/.zmetadata"),
        source,
    })?;
    let fetched: Vec<(String, Option<bytes::Bytes>)> =
        stream::iter(wanted.into_iter().map(|rel| async move {
            match reader.read_all(&format!("{base}/{rel}")).await {
                Ok(b) => Ok((rel, Some(b))),
                // Arrays whose chunks are all inline (coordinates) have no file.
                Err(e) if e.kind() == ReadErrorKind::NotFound => Ok((rel, None)),
                Err(e) => Err(OpenError::Read(e)),
            }
        }))
        .buffered(DIR_READS_AT_ONCE)
        .try_collect()
        .await?;
    let mut files = FileMap::new();
    files.insert(".zmetadata".into(), zmeta.to_vec());
    for (rel, bytes) in fetched {
        if let Some(b) = bytes {
            files.insert(rel, b.to_vec());
        }
    }
    super::read_parquet_dir(&files).map_err(|source| OpenError::Refs {
        location: base.to_string(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::grib::FieldMeta;
    use crate::io::MemoryReader;
    use crate::refs::{
        write_json, write_parquet_dir, write_seed_parquet, JsonVersion, ScannedField,
    };

    /// Two members of `2t` on a small grid, as `refs::build` lays them out.
    fn built() -> RefStore {
        let mut meta = FieldMeta::default();
        (meta.short_name, meta.cf_var_name) = ("2t".into(), "t2m".into());
        (meta.type_of_level, meta.level, meta.step_type) =
            ("heightAboveGround".into(), 2, "instant".into());
        meta.reference_time.year = 2025;
        meta.reference_time.month = 1;
        meta.reference_time.day = 1;
        meta.grid.grid_type = "regular_ll".into();
        (meta.grid.ni, meta.grid.nj) = (Some(4), Some(3));
        let fields: Vec<ScannedField> = (1..=2)
            .map(|n| {
                let mut meta = meta.clone();
                meta.number = Some(n);
                ScannedField {
                    url: "s3://b/enfo-ef.grib2".into(),
                    offset: n as u64 * 1000,
                    length: 1000,
                    meta,
                }
            })
            .collect();
        crate::refs::build(&fields).expect("build").store
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn every_format_opens_to_the_same_references() {
        let built = built();
        let json = write_json(&built, JsonVersion::V1);
        let pq = write_seed_parquet(&built).expect("parquet");
        let dir = write_parquet_dir(&built, crate::refs::DEFAULT_RECORD_SIZE).expect("dir");
        let mut r = MemoryReader::new();
        r.insert("s3://b/refs.json", json.clone());
        r.insert("s3://b/noext", json);
        r.insert("s3://b/refs.parquet", pq);
        for (rel, bytes) in dir {
            r.insert(format!("s3://b/refs.dir/{rel}"), bytes);
        }
        let want = write_json(&built, JsonVersion::V1);
        for loc in [
            "s3://b/refs.json",
            "s3://b/noext",
            "s3://b/refs.parquet",
            "s3://b/refs.dir",
            "s3://b/refs.dir/",
            "s3://b/refs.dir/.zmetadata",
        ] {
            let got = block_on(open(&r, loc)).unwrap_or_else(|e| panic!("{loc}: {e}"));
            assert_eq!(write_json(&got, JsonVersion::V1), want, "{loc}");
        }
    }

    #[test]
    fn missing_and_malformed_references_are_told_apart() {
        let mut r = MemoryReader::new();
        r.insert("bad.json", b"{nope".to_vec());
        let e = block_on(open(&r, "missing.json")).unwrap_err();
        assert!(
            matches!(&e, OpenError::Read(e) if e.kind() == ReadErrorKind::NotFound),
            "{e}"
        );
        let e = block_on(open(&r, "missing/")).unwrap_err();
        assert!(
            matches!(&e, OpenError::Read(e) if e.kind() == ReadErrorKind::NotFound),
            "{e}"
        );
        let e = block_on(open(&r, "bad.json")).unwrap_err();
        assert!(
            matches!(&e, OpenError::Refs { location, .. } if location == "bad.json"),
            "{e}"
        );
    }
}
