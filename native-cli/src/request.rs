//! `gik scan`'s and `gik ls`'s side of the core's open-data requests:
//! the mirror named on the command line, the clock, and the run located
//! through the native reader.

use crate::{CliError, Result};
use gik_core::request::{self, Located, Mirror, Request};
use gik_store::{self as store, Sources};

/// The mirror `--source` names (default ECMWF's server); a local path or
/// `file://` root becomes the absolute path references name.
///
/// # Errors
/// A path whose absolute form cannot be found.
pub fn mirror(source: Option<&str>) -> Result<Mirror> {
    let m = Mirror::parse(source.unwrap_or("ecmwf")).map_err(CliError::request)?;
    store::absolute_mirror(m).map_err(CliError::store)
}

/// The request the flags give.
///
/// # Errors
/// A keyword's value the request cannot take.
pub fn parse(args: &crate::args::Request) -> Result<Request> {
    Request::from_pairs(args.pairs()).map_err(CliError::request)
}

/// The run of the request on the mirror whose objects all exist (the one
/// asked for, or the newest with `--date latest`).
///
/// # Errors
/// The first missing object, no complete run, a failed read.
pub async fn locate(sources: &Sources, req: &Request, mirror: &Mirror) -> Result<Located> {
    request::locate(sources, req, mirror, store::now())
        .await
        .map_err(|e| CliError::Locate(Box::new(e)))
}
