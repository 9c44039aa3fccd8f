//! The error type of GRIB reading (`grib`), re-exported as `gik_core::Error`.

/// Result alias for `gik-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading a GRIB message: framing, metadata and
/// unpacking. Every variant names the byte offset of the message it
/// concerns. The other modules have their own error types (`refs::RefsError`,
/// `plan::PlanError`, `assemble::AssembleError`, `checkpoint::CheckpointError`,
/// `scan::ScanError`, `index::IndexError`, `regrid::RegridError`), each saying where it went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `GRIB` marker where a message was expected.
    #[error("no GRIB message at byte {offset}: {reason}")]
    NotGrib { offset: u64, reason: &'static str },

    /// A GRIB message of an edition other than 2 (edition 1 is recognised and refused).
    #[error("GRIB edition {edition} message at byte {offset} is not supported: gik reads GRIB edition 2 (convert with `grib_set -s edition=2`)")]
    UnsupportedEdition { offset: u64, edition: u8 },

    /// The buffer ends before something a header promised.
    #[error("message at byte {offset} is truncated: {what} needs {needed} bytes but only {available} are there")]
    Truncated {
        offset: u64,
        what: &'static str,
        needed: u64,
        available: u64,
    },

    /// A section is malformed (bad length, wrong number, missing `7777`, …).
    #[error("message at byte {offset}: section {section}: {reason}")]
    InvalidSection {
        offset: u64,
        section: u8,
        reason: String,
    },

    /// A grid (3.x), product (4.x) or bitmap (6) template gik cannot read.
    #[error("message at byte {offset}: unsupported template {section}.{template}")]
    UnsupportedTemplate {
        offset: u64,
        section: u8,
        template: u16,
    },

    /// A data representation template (5.x) gik cannot decode.
    #[error("message at byte {offset}: unsupported packing 5.{template} ({name})")]
    UnsupportedPacking {
        offset: u64,
        template: u16,
        name: &'static str,
    },

    /// The data section could not be unpacked.
    #[error("message at byte {offset}: cannot unpack {packing} data: {source}")]
    Unpack {
        offset: u64,
        packing: &'static str,
        #[source]
        source: UnpackError,
    },

    /// A packing this build of gik-core leaves out (cargo features `jpeg2000`
    /// and `png`, on by default; the npm package's lite module has neither).
    #[error("message at byte {offset}: {what} is not built into this gik (cargo feature `{feature}` of gik-core; in the npm package, the full module has it)")]
    NotBuiltIn {
        offset: u64,
        what: &'static str,
        feature: &'static str,
    },

    /// A parameter outside the built-in open-data tables of a build without
    /// the cargo feature `full-tables`, before the whole tables were loaded.
    #[error("message at byte {offset}: parameter {discipline}.{category}.{number} (discipline.category.number) is not in the built-in open-data parameter tables: load the whole tables first (gik_core::grib::load_parameter_tables; in gik-wasm, loadParameterTables())")]
    ParameterTables {
        offset: u64,
        discipline: u8,
        category: u8,
        number: u8,
    },

    /// A field larger than the configured limit (protects against hostile headers).
    #[error("message at byte {offset}: {points} points exceed the limit of {limit} (DecodeOptions::max_points)")]
    TooLarge {
        offset: u64,
        points: u64,
        limit: u64,
    },
}

/// What went wrong inside a packing decoder (wrapped in [`Error::Unpack`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// The packed data ends before all values were read.
    #[error("data section too short: needs {needed} bits, has {available}")]
    ShortData { needed: u64, available: u64 },
    /// A packing parameter is out of range.
    #[error("invalid parameter {name} = {value}")]
    BadParameter { name: &'static str, value: i64 },
    /// The compressed stream is corrupt.
    #[error("corrupt stream: {0}")]
    Corrupt(String),
    /// The number of decoded values disagrees with the headers.
    #[error("expected {expected} values, decoded {found}")]
    CountMismatch { expected: u64, found: u64 },
    /// The embedded PNG image could not be decoded.
    #[error("PNG: {0}")]
    Png(String),
}
