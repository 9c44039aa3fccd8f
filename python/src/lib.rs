//! `gik._gik`: the native part of the `gik` Python package. Bindings only:
//! every call converts Python values, calls gik-core (reads through
//! gik-store's object_store reader on a tokio runtime of its own), and
//! converts back, with the GIL released while reading and decoding. The
//! Python package (`python/gik/`) adds the typed wrappers, the exceptions
//! and the Zarr codecs.

mod dataset;
mod decode;
mod error;
mod extract;
mod refs;
mod request;
mod runtime;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _gik(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<refs::References>()?;
    m.add_function(wrap_pyfunction!(decode::decode, m)?)?;
    m.add_function(wrap_pyfunction!(refs::open_references, m)?)?;
    m.add_function(wrap_pyfunction!(refs::scan, m)?)?;
    m.add_function(wrap_pyfunction!(extract::extract_state, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::store_layout, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::read_coordinate, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::read_chunks, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::references_from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(request::resolve_request, m)?)?;
    m.add_function(wrap_pyfunction!(request::scan_request, m)?)?;
    Ok(())
}
