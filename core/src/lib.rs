//! `gik-core`: the sans-IO heart of gik.
//!
//! It frames GRIB2 messages in a byte buffer, reads their metadata with the
//! names ecCodes and kerchunk users know (`shortName`, `cfVarName`,
//! `typeOfLevel`, …) and decodes their values bit-identically to ecCodes, in
//! pure Rust (no C), natively and in WebAssembly.
//!
//! ```no_run
//! let bytes = std::fs::read("sample.grib2").unwrap();
//! for field in gik_core::grib::fields(&bytes) {
//!     let field = field?;
//!     let meta = field.meta()?;
//!     let values = field.decode_f32()?; // NaN where the bitmap marks a point missing
//!     println!("{} {} {} {}", meta.short_name, meta.level, meta.step_range, values.len());
//! }
//! # Ok::<(), gik_core::Error>(())
//! ```
//!
//! # Untrusted input
//!
//! Every length or count read from a header is checked before it indexes or
//! allocates; bad bytes give an [`Error`], never a panic. Library code holds
//! no `unwrap`, `expect` or `panic!`: the workspace's clippy lints
//! (`unwrap_used`, `expect_used`, `panic`, run with `-D warnings` by
//! `scripts/test.sh`) refuse them outside tests, and fuzz targets
//! (`fuzz/`, one per parser of untrusted bytes) keep the rest honest.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | (none yet) | | the defaults build for `wasm32-unknown-unknown` |

pub mod assemble;
pub mod checkpoint;
pub mod extract;
pub mod grib;
pub mod index;
pub mod io;
pub mod npy;
pub mod pickle;
pub mod plan;
pub mod refs;
pub mod regrid;
pub mod request;
pub mod scan;
pub mod stats;
pub mod time;

mod error;

pub use error::{Error, Result, UnpackError};
