//! The one public error type of the `gik` command line.

use std::path::PathBuf;

/// Result alias for the CLI.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// What can stop a `gik` command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The GRIB data could not be read or decoded.
    #[error("{path}: {source}")]
    Grib {
        path: String,
        #[source]
        source: gik_core::Error,
    },
    /// Scanning GRIB files or their indexes failed.
    #[error(transparent)]
    Scan(Box<gik_core::scan::ScanError<gik_store::StoreError>>),
    /// Reading or writing references failed.
    #[error("{location}: {source}")]
    Refs {
        location: String,
        #[source]
        source: gik_core::refs::RefsError,
    },
    /// An Icechunk repository could not be read or written.
    #[error(transparent)]
    Icechunk(Box<gik_icechunk::Error>),
    /// A remote or local read failed.
    #[error(transparent)]
    Store(Box<gik_store::StoreError>),
    /// The selection cannot be planned (missing inputs, dates, members).
    #[error(transparent)]
    Plan(Box<gik_core::plan::PlanError>),
    /// A fetched chunk could not be decoded into its array (not GRIB at the
    /// referenced offset, a corrupt message, a shape that disagrees).
    #[error(transparent)]
    Assemble(Box<gik_core::assemble::AssembleError>),
    /// One field of one member could not be read or decoded.
    #[error("member {member}, field {field}: {source}")]
    Field {
        member: i64,
        field: String,
        #[source]
        source: Box<CliError>,
    },
    /// A model checkpoint could not be read.
    #[error(transparent)]
    Checkpoint(Box<gik_core::checkpoint::ReadError<gik_store::StoreError>>),
    /// A model's metadata (`--checkpoint-metadata`) is unusable.
    #[error("{location}: {source}")]
    Model {
        location: String,
        #[source]
        source: gik_core::checkpoint::CheckpointError,
    },
    /// The references lack inputs the model takes (all listed together).
    #[error("the references lack {} input(s) the model {checkpoint} takes: {}", .missing.len(), .missing.join(", "))]
    ModelInputs {
        checkpoint: String,
        missing: Vec<String>,
    },
    /// Ctrl-C: stopped, partial outputs removed.
    #[error("interrupted; no partial output was left")]
    Interrupted,
    /// A field could not be regridded (its grid is not the one the operator expects).
    #[error("{path}: field at byte {offset}: {source}")]
    Regrid {
        path: String,
        offset: u64,
        #[source]
        source: gik_core::regrid::RegridError,
    },
    /// A worker thread or task of gik itself failed (a bug: please report it).
    #[error("internal error: {0}")]
    Task(String),
    /// The async runtime could not start (the system refused its threads).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A server could not listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// An open-data request that names no objects.
    #[error(transparent)]
    Request(gik_core::request::RequestError),
    /// The objects of an open-data request are not (all) on the mirror.
    #[error(transparent)]
    Locate(Box<gik_core::request::LocateError<gik_store::StoreError>>),
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// Exit status: 2 for usage errors, 1 for everything else.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Request(_) => 2,
            Self::Interrupted => 130,
            _ => 1,
        }
    }

    pub(crate) fn scan(e: gik_core::scan::ScanError<gik_store::StoreError>) -> Self {
        Self::Scan(Box::new(e))
    }

    pub(crate) fn request(e: gik_core::request::RequestError) -> Self {
        Self::Request(e)
    }

    pub(crate) fn store(e: gik_store::StoreError) -> Self {
        Self::Store(Box::new(e))
    }

    pub(crate) fn plan(e: gik_core::plan::PlanError) -> Self {
        Self::Plan(Box::new(e))
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn assemble(e: gik_core::assemble::AssembleError) -> Self {
        Self::Assemble(Box::new(e))
    }

    pub(crate) fn grib(path: impl std::fmt::Display) -> impl FnOnce(gik_core::Error) -> Self {
        let path = path.to_string();
        move |source| Self::Grib { path, source }
    }
}
