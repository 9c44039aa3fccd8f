//! The parameter tables the package leaves out of its `.wasm`: only ECMWF's
//! open-data parameters are built in (the rest of ecCodes' tables would
//! triple the download). `gik_tables.bin`, next to the `.wasm`, holds all of
//! them (raw DEFLATE); they load on the first message that needs them.

use std::future::Future;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result};
use crate::fetch::{FetchOptions, Fetcher};

#[wasm_bindgen(
    inline_js = "export function tables_url() { return new URL('../../gik_tables.bin', import.meta.url).href; }"
)]
extern "C" {
    /// `gik_tables.bin` beside `gik_wasm.js` (this snippet sits in `snippets/<crate>/`).
    fn tables_url() -> String;
}

/// Loads all of ecCodes' parameter tables (GRIB parameters outside ECMWF's
/// open data): from `source` (a url, or the bytes of `gik_tables.bin`), by
/// default from `gik_tables.bin` next to the package's `.wasm`. `scan` and
/// `memberPickle` do it themselves when a message needs it; `decodeGrib`
/// (synchronous) fails with kind "parameterTables" until it is done.
/// Resolves to false when they were already loaded.
///
/// # Errors
/// A failed fetch, or bytes that are not the tables of this version.
#[wasm_bindgen(js_name = loadParameterTables)]
pub async fn load_parameter_tables(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | undefined")] source: JsValue,
) -> Result<bool, JsValue> {
    Ok(load(source).await?)
}

async fn load(source: JsValue) -> Result<bool> {
    if gik_core::grib::parameter_tables_complete() {
        return Ok(false);
    }
    let bytes = if source.is_instance_of::<Uint8Array>() {
        Uint8Array::from(source).to_vec()
    } else {
        let url = source.as_string().unwrap_or_else(tables_url);
        Fetcher::new(FetchOptions::default())
            .get(&url, None)
            .await?
    };
    gik_core::grib::load_parameter_tables(&bytes)
        .map_err(|e| Error::Options(format!("loadParameterTables: {e}")))?;
    Ok(true)
}

/// Runs `op`; when a message needed the whole parameter tables, loads them
/// (once) and runs it again.
pub(crate) async fn retry<T, F, Fut>(op: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    match op().await {
        Err(e) if e.needs_parameter_tables() && !gik_core::grib::parameter_tables_complete() => {
            load(JsValue::UNDEFINED).await?;
            op().await
        }
        other => other,
    }
}
