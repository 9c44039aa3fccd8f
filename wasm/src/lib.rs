//! WebAssembly bindings over `gik-core`: thin conversions only, no parsing here.
use wasm_bindgen::prelude::*;

/// Decode every field of a GRIB2 buffer; returns the values of the first field.
///
/// # Errors
/// Any framing or decoding error of the core, as a JS `Error`.
#[wasm_bindgen(js_name = decodeGrib)]
pub fn decode_grib(bytes: &[u8]) -> Result<Vec<f32>, JsError> {
    let mut fields = gik_core::grib::fields(bytes);
    let field = fields.next().ok_or_else(|| JsError::new("no GRIB2 message in the buffer"))??;
    Ok(field.decode_f32()?)
}
