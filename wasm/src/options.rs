//! JS option objects → the core's types (the TypeScript shapes are in
//! `types.d.ts`). Translation only: every default and rule is the core's
//! or `gik extract`'s.

use std::collections::BTreeSet;

use gik_core::assemble::{self, FieldAt};
use gik_core::npy::Dtype;
use gik_core::plan::{Layout, Selection};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};
use crate::fetch::{FetchOptions, ProxyMode};
use crate::js;

/// One of `choices` (the first is the default) for the string option `key`.
fn choice<T: Copy>(opts: &JsValue, key: &str, choices: &[(&str, T)]) -> Result<T> {
    let got = js::get_str(opts, key)?;
    let Some(got) = got else {
        return Ok(choices[0].1);
    };
    choices
        .iter()
        .find(|(name, _)| *name == got)
        .map(|c| c.1)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            Error::Options(format!(
                "{key} must be {}, got \"{got}\"",
                names.join(" or ")
            ))
        })
}

/// `OpenOptions`: how urls are fetched, and requests in flight (default 8).
pub fn open(opts: &JsValue) -> Result<(FetchOptions, usize)> {
    let proxy_mode = choice(
        opts,
        "proxyMode",
        &[
            ("fallback", ProxyMode::Fallback),
            ("always", ProxyMode::Always),
            ("never", ProxyMode::Never),
        ],
    )?;
    let concurrency = js::get_i64(opts, "concurrency")?.unwrap_or(8).clamp(1, 64) as usize;
    Ok((
        FetchOptions {
            base: js::get_str(opts, "baseUrl")?,
            proxy: js::get_str(opts, "proxy")?,
            proxy_mode,
            files: js::get_str(opts, "files")?,
        },
        concurrency,
    ))
}

/// `ScanOptions` beyond the fetch options.
#[cfg(target_arch = "wasm32")]
pub fn scan(opts: &JsValue) -> Result<gik_core::scan::ScanOptions> {
    use gik_core::{index::Verify, scan::Mode};
    let mode = choice(
        opts,
        "mode",
        &[
            ("auto", Mode::Auto),
            ("index", Mode::Index),
            ("headers", Mode::Headers),
        ],
    )?;
    let verify = choice(
        opts,
        "verify",
        &[
            ("all", Verify::All),
            ("sample", Verify::Sample),
            ("none", Verify::None),
        ],
    )?;
    Ok(gik_core::scan::ScanOptions {
        mode,
        verify,
        concurrency: js::get_i64(opts, "concurrency")?.map_or(64, |c| c.clamp(1, 1024) as usize),
        ..gik_core::scan::ScanOptions::default()
    })
}

/// `FieldSelection`: the variable's name and where the field sits.
pub fn field_at(sel: &JsValue) -> Result<(String, FieldAt)> {
    let variable = js::get_str(sel, "variable")?
        .ok_or_else(|| Error::Options("readField needs `variable`".into()))?;
    Ok((
        variable,
        FieldAt {
            time: js::get_i64(sel, "time")?,
            step: js::get_i64(sel, "step")?,
            level: js::get_f64(sel, "level")?,
            member: js::get_i64(sel, "member")?,
        },
    ))
}

/// `MemberPickleOptions`, as `gik extract` takes the same choices.
pub struct MemberPickle {
    pub params: String,
    pub selection: Selection,
    /// Whether the options named a member (else: the first there is).
    pub member_given: bool,
    pub dtype: Dtype,
    pub n320: bool,
    pub concurrency: Option<usize>,
    /// Where the input times come from (`inputs`: "forecast" or "analyses").
    pub source: gik_core::plan::InputSource,
}

/// Parses `MemberPickleOptions`.
pub fn member_pickle(opts: &JsValue) -> Result<MemberPickle> {
    let date = match js::get(opts, "date") {
        None => None,
        Some(d) => match (d.as_f64(), d.as_string()) {
            (Some(secs), _) => Some(secs as i64),
            (_, Some(s)) => Some(assemble::parse_date(&s).ok_or_else(|| {
                Error::Options(format!(
                    "date `{s}`: expected e.g. 2025-01-01T06 or 2025010106"
                ))
            })?),
            _ => return Err(Error::Options("date must be a string or a number".into())),
        },
    };
    let layout = choice(
        opts,
        "layout",
        &[("grid", Layout::Grid), ("aifs", Layout::Aifs)],
    )?;
    let dtype = choice(
        opts,
        "dtype",
        &[("float32", Dtype::F32), ("float64", Dtype::F64)],
    )?;
    let n320 = match js::get_str(opts, "grid")?.as_deref() {
        None | Some("0.25" | "source") => false,
        Some("n320" | "N320") => true,
        Some(o) => {
            return Err(Error::Options(format!(
                "grid must be \"0.25\" or \"n320\", got \"{o}\""
            )))
        }
    };
    let source = choice(
        opts,
        "inputs",
        &[
            ("forecast", gik_core::plan::InputSource::Forecast),
            ("analyses", gik_core::plan::InputSource::Analyses),
        ],
    )?;
    let member = js::get_i64(opts, "member")?;
    Ok(MemberPickle {
        params: js::get_str(opts, "params")?.unwrap_or_else(|| "aifs-ens".into()),
        selection: Selection {
            members: Some(BTreeSet::from([member.unwrap_or(0)])),
            date,
            steps: js::get_i64s(opts, "step")?.or(js::get_i64s(opts, "steps")?),
            layout,
            allow_missing: js::get_bool(opts, "allowMissing")?.unwrap_or(false),
        },
        member_given: member.is_some(),
        dtype,
        n320,
        concurrency: js::get_i64(opts, "concurrency")?.map(|c| c.clamp(1, 64) as usize),
        source,
    })
}

/// A model's metadata from `checkpoint`: a url of its `.ckpt` (read by
/// range), the checkpoint's bytes, or its metadata JSON's bytes.
pub async fn model<R: gik_core::io::RangeReader<Error = Error>>(
    reader: &R,
    checkpoint: JsValue,
) -> Result<gik_core::checkpoint::ModelSpec> {
    let model =
        |e: gik_core::checkpoint::CheckpointError| Error::Options(format!("checkpoint: {e}"));
    let json = if let Some(url) = checkpoint.as_string() {
        gik_core::checkpoint::read_metadata(reader, &url)
            .await
            .map_err(|e| Error::Options(format!("{url}: {e}")))?
    } else if let Some(bytes) = checkpoint.dyn_ref::<js_sys::Uint8Array>() {
        let bytes = bytes.to_vec();
        if bytes.starts_with(b"PK") {
            let mut r = gik_core::io::MemoryReader::new();
            r.insert("checkpoint", bytes);
            gik_core::checkpoint::read_metadata(&r, "checkpoint")
                .await
                .map_err(|e| Error::Options(format!("checkpoint: {e}")))?
        } else {
            bytes
        }
    } else {
        return Err(Error::Options(
            "checkpoint must be a url or the bytes of a .ckpt or its metadata JSON".into(),
        ));
    };
    gik_core::checkpoint::ModelSpec::from_json(&json).map_err(model)
}
