//! Kerchunk references: build them from scanned GRIB2 fields, read and
//! write them in the three formats users have, and look up chunks.
//!
//! # The reference model
//!
//! A [`RefStore`] is what kerchunk calls a reference set: a map from zarr v2
//! keys (`t/instant/isobaricInhPa/t/.zarray`, `…/t/0.1.0.2.0.0`) to a
//! [`RefValue`]: inline bytes (zarr metadata JSON, coordinate values, small
//! GRIB messages), a byte range `[url, offset, length]` of a GRIB file, or a
//! whole file `[url]`.
//!
//! [`build`] lays the fields out in the hierarchy kerchunk's `grib_tree`
//! produces, `{cfVarName}/{stepType}/{typeOfLevel}/{cfVarName}`, with the
//! dimensions cfgrib names (`time`, `step`, the level, `number`, `latitude`,
//! `longitude`) and the ensemble `number` as a real dimension:
//!
//! ```text
//! t2m/instant/heightAboveGround/t2m   dims (time, step, number, latitude, longitude)
//! t/instant/isobaricInhPa/t           dims (time, step, isobaricInhPa, number, latitude, longitude)
//! ```
//!
//! Each data chunk is one GRIB message, decoded in Python by kerchunk's
//! `grib` codec (`filters: [{"id": "grib", "var": …, "dtype": "float64"}]`),
//! so `xr.open_dataset("reference://t/instant/isobaricInhPa", engine="zarr", …)`
//! opens it unchanged.
//! [`build_with`] and [`Codec::Gik`] name gik's own codec instead
//! (`{"id": "gik", …}`, from gik's Python package: no ecCodes, Zarr v2 and
//! v3); `grib` stays the default so that references open wherever kerchunk
//! is installed.
//!
//! ## Ensemble members and the 50r1 control
//!
//! `number` comes from each field's [`FieldMeta::number`](crate::grib::FieldMeta).
//! When any field of the set carries a `number`, the set is an ensemble and a
//! field **without** one counts as member 0: since IFS cycle 50r1 the control
//! forecast is published in the `oper-fc` files with product template 4.0,
//! which has no `number`, while members 1–50 stay in `enfo-ef`. So scanning
//! `enfo-ef` and `oper-fc` together gives one ensemble with the control at
//! `number = 0`, exactly as the pre-50r1 `enfo-ef` files (control `type=cf`,
//! `number=0`) do. Two fields landing on the same chunk (e.g. the pre-50r1
//! deterministic `oper-fc`, which is *not* the control, scanned together with
//! a pre-50r1 `enfo-ef`) are an error ([`RefsError::DuplicateField`]), never a
//! silent overwrite. When no field has a `number`, no `number` coordinate is
//! written (as kerchunk does for deterministic files).
//!
//! ```
//! use gik_core::grib::FieldMeta;
//! use gik_core::refs::{self, JsonVersion, RefValue, ScannedField};
//!
//! // Normally from `gik_core::grib::fields(&bytes)` and `field.meta()`.
//! let mut meta = FieldMeta::default();
//! (meta.short_name, meta.cf_var_name, meta.name) = ("2t".into(), "t2m".into(), "2 metre temperature".into());
//! (meta.type_of_level, meta.level, meta.step_type) = ("heightAboveGround".into(), 2, "instant".into());
//! meta.reference_time.year = 2026;
//! meta.reference_time.month = 5;
//! meta.reference_time.day = 12;
//! meta.grid.grid_type = "regular_ll".into();
//! (meta.grid.ni, meta.grid.nj) = (Some(1440), Some(721));
//! let fields: Vec<ScannedField> = (1..=50)
//!     .map(|n| {
//!         let mut meta = meta.clone();
//!         meta.number = Some(n);
//!         ScannedField { url: "s3://bucket/enfo-ef.grib2".into(), offset: n as u64 * 1000, length: 1000, meta }
//!     })
//!     .chain(std::iter::once(ScannedField {
//!         url: "s3://bucket/oper-fc.grib2".into(), offset: 0, length: 1000, meta: meta.clone(), // number: None
//!     }))
//!     .collect();
//! let store = refs::build(&fields)?.store;
//! let json = refs::write_json(&store, JsonVersion::V1);
//! let store = refs::read_json(&json)?;
//!
//! let t2m = store.variable("t2m/instant/heightAboveGround/t2m")?;
//! assert_eq!(t2m.dims, ["time", "step", "number", "latitude", "longitude"]);
//! let axes = store.axes(&t2m)?;
//! assert_eq!(axes.number, (0..=50).collect::<Vec<i64>>()); // the control is member 0
//! let control = store.chunk(&t2m.path, &[0, 0, 0, 0, 0])?;
//! assert!(matches!(control, Some(RefValue::Range { url, .. }) if url.as_ref() == "s3://bucket/oper-fc.grib2"));
//! # Ok::<(), gik_core::refs::RefsError>(())
//! ```
//!
//! # Formats
//!
//! | format | read | write |
//! |---|---|---|
//! | kerchunk JSON version 1 (`{"version": 1, "refs": …}`, `templates`, `gen`) | [`read_json`] | [`write_json`] |
//! | kerchunk JSON version 0 (flat map) | [`read_json`] | [`write_json`] with [`JsonVersion::V0`] |
//! | two-column parquet of the original pipeline (`key`, `value`), per-member split | [`read_seed_parquet`] | [`write_seed_parquet`], [`write_seed_layout`] |
//! | fsspec parquet reference directory (`.zmetadata`, `{var}/refs.{n}.parq`) | [`read_parquet_dir`] | [`write_parquet_dir`] |
//! | a Zarr v3 hierarchy of virtual chunks (what an Icechunk repository holds) | [`from_zarr3`] | [`to_zarr3`] |
//!
//! [`concat()`] joins two reference sets along `time`, `step`, the level and
//! `number` (a new run, new steps), as kerchunk's `MultiZarrToZarr` does.
//!
//! Everything is sans-IO: readers take bytes (or a [`FileMap`] of a
//! directory's files keyed by relative path) and writers return them.
//! kerchunk's `MultiZarrToZarr` inlines messages shorter than 500 bytes
//! (e.g. an all-zero `tp` at step 0); to do the same, fetch
//! [`RefStore::small_ranges`] and put them in with [`RefStore::set_inline`].
//!
//! # Where gik differs from kerchunk and the Python pipeline
//!
//! Same hierarchy, dimension order (`time, step, level, number, latitude,
//! longitude`), keys and chunk references as `peer_scan.py`'s ensemble tree,
//! except:
//!
//! - data variables have `fill_value: "NaN"`, not `null`: zarr-python 3
//!   reads a missing chunk of a `null`-filled array as 0.0, so a member
//!   without a field would show 0 K;
//! - coordinate chunks are always written; `MultiZarrToZarr` leaves out an
//!   all-zero one (zarr's `write_empty_chunks`), e.g. `step/0` when the only
//!   step is 0, which zarr then reads as 0;
//! - `GRIB_subCentre`, `GRIB_totalNumber`, `GRIB_NV` and
//!   `GRIB_uvRelativeToGrid` are not written (`FieldMeta` does not carry
//!   them); `GRIB_cfName`/`standard_name` come from a small table of common
//!   parameters, `unknown` otherwise;
//! - latitude/longitude are written for `regular_ll` grids only;
//! - metadata JSON is compact (kerchunk indents some documents);
//! - the fsspec directory is snappy-compressed and the last file of an array
//!   is not padded to `record_size` rows. Like kerchunk's own
//!   `refs_to_dataframe` output for a nested tree, it opens with
//!   `storage_options={"fo": dir, "remote_protocol": "file"}` (or `"s3"`…):
//!   fsspec cannot guess the protocol of a directory holding groups.
//!
//! Parquet pages compressed with zstd (what fsspec's `LazyReferenceMapper`
//! writes) cannot be read here: zstd needs a C library and `gik-core` links no
//! C. Such files give [`RefsError::UnsupportedCompression`]; gik writes its
//! own parquet with snappy.

mod build;
mod cf;
mod concat;
mod fsspec;
mod json;
mod open;
mod pq;
mod seed;
mod store;
mod template;
#[cfg(feature = "parquet")]
mod thrift;
mod zarr;
mod zarr3;

use std::collections::BTreeMap;

pub use build::{build, build_with, BuildOptions, Built, Codec, ScannedField, Skipped};
pub use concat::concat;
pub use fsspec::{parquet_dir_files, read_parquet_dir, write_parquet_dir, DEFAULT_RECORD_SIZE};
pub use json::{read_json, write_json, JsonVersion};
pub use open::{open, parse_file, OpenError};
pub use seed::{
    member_name, members, read_seed_parquet, split_member, strip_data_chunks, write_seed_layout,
    write_seed_parquet,
};
pub use store::{Axes, CoordValues, Coordinate, RefStore, RefValue, Variable};
pub use zarr::ArrayMeta;
pub use zarr3::{from_zarr3, to_zarr3, Zarr3Node, GIK_CODEC};

/// The files of a directory layout, keyed by their path relative to the
/// directory root, with `/` separators (`.zmetadata`, `t/instant/isobaricInhPa/t/refs.0.parq`).
pub type FileMap = BTreeMap<String, Vec<u8>>;

/// Result alias for the reference module.
pub type Result<T, E = RefsError> = std::result::Result<T, E>;

/// What can go wrong reading, writing or building references. Every variant
/// names the file or key it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefsError {
    /// A format this build of gik-core leaves out (cargo feature `parquet`,
    /// on by default; the npm package's lite module has none).
    #[error("{what} are not built into this gik (cargo feature `{feature}` of gik-core; in the npm package, the full module has them)")]
    NotBuiltIn { what: String, feature: &'static str },

    /// Text that should be JSON is not.
    #[error("{what}: invalid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// The structure of a reference file is not what the format says.
    #[error("{what}: {reason}")]
    Format { what: String, reason: String },

    /// An inline `base64:` value does not decode.
    #[error("reference {key}: invalid base64: {source}")]
    Base64 {
        key: String,
        #[source]
        source: base64::DecodeError,
    },

    /// A `{{template}}` or `gen` entry cannot be expanded.
    #[error("{what}: {reason}")]
    Template { what: String, reason: String },

    /// The parquet library failed reading or writing a file.
    #[cfg(feature = "parquet")]
    #[error("parquet file {file}: {source}")]
    Parquet {
        file: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A parquet file without the columns of the format being read.
    #[error("parquet file {file}: {reason}")]
    ParquetSchema { file: String, reason: String },

    /// A parquet file compressed with a codec gik-core cannot decode (zstd
    /// needs C, which the core does not link).
    #[error("parquet file {file} is compressed with {codec}, which gik-core cannot read (it links no C library); rewrite the references with gik (`gik scan … --format parquet-dir`, snappy) or re-save the file with snappy")]
    UnsupportedCompression { file: String, codec: String },

    /// A file the layout needs is missing from the file map.
    #[error("missing file {file}")]
    MissingFile { file: String },

    /// Zarr metadata (`.zarray`, `.zattrs`) missing or malformed.
    #[error("zarr metadata {key}: {reason}")]
    Metadata { key: String, reason: String },

    /// A coordinate chunk is a byte range, not inline: it cannot be decoded
    /// without fetching it.
    #[error("coordinate chunk {key} is not inline (it points into {url}); fetch it to decode it")]
    NotInline { key: String, url: String },

    /// No array at that path.
    #[error("no array {path} in the references")]
    UnknownArray { path: String },

    /// No variable has that path, name or short name.
    #[error("no variable `{name}` in the references (they hold {available})")]
    UnknownVariable { name: String, available: String },

    /// Several variables have that name or short name.
    #[error("`{name}` is ambiguous: {candidates}; give the path")]
    AmbiguousVariable { name: String, candidates: String },

    /// Two scanned fields map to the same chunk.
    #[error("two fields map to chunk {key}: {first} and {second} (same variable, time, step, level and member; for the 50r1 layout scan the control's oper-fc with its own enfo-ef, not a deterministic oper-fc of an older cycle)")]
    DuplicateField {
        key: String,
        first: String,
        second: String,
    },

    /// Fields of one variable disagree on something that must be shared (the grid).
    #[error("variable {path}: {reason}")]
    Inconsistent { path: String, reason: String },

    /// A chunk index outside the array's chunk grid.
    #[error("chunk {key} is outside the chunk grid {grid:?} of its array")]
    ChunkOutOfRange { key: String, grid: Vec<u64> },

    /// A reference set too large to expand (a `gen` product or a chunk grid
    /// beyond the limits that protect against hostile input).
    #[error("{what}: {count} entries exceed the limit of {limit}")]
    TooLarge {
        what: String,
        count: u128,
        limit: u64,
    },
}

/// Inline bytes as kerchunk writes them in text formats: the bytes
/// themselves when they are ASCII, otherwise `base64:` and their base64.
/// ASCII that itself starts with `base64:` is base64-encoded too: written
/// raw, every reader (fsspec's and gik's) would decode it.
pub(crate) fn encode_inline_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    use base64::Engine as _;
    match std::str::from_utf8(bytes) {
        Ok(s) if bytes.is_ascii() && !bytes.starts_with(b"base64:") => {
            std::borrow::Cow::Borrowed(s)
        }
        _ => std::borrow::Cow::Owned(format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
    }
}

/// Decodes a `base64:…` inline value (the prefix already removed).
pub(crate) fn decode_base64(key: &str, b64: &[u8]) -> Result<Vec<u8>> {
    use base64::Engine as _;
    // Python's b64decode accepts missing padding; so do we.
    let trimmed: Vec<u8> = b64
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(&trimmed).map_err(|source| RefsError::Base64 {
        key: key.to_string(),
        source,
    })
}
