//! Kerchunk JSON references, versions 0 and 1.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use serde_json::Value;

use super::store::{RefStore, RefValue};
use super::template::{render, TValue};
use super::{decode_base64, encode_inline_text, RefsError, Result};

/// Which kerchunk JSON layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonVersion {
    /// `{"version": 1, "refs": {…}}` (what kerchunk writes today).
    #[default]
    V1,
    /// The flat map of version 0.
    V0,
}

/// Largest number of references a `gen` entry may expand to.
const MAX_GEN: u64 = 50_000_000;

/// Reads kerchunk JSON references: version 1 (`{"version": 1, "refs": …}`
/// with optional `templates` and `gen`) or version 0 (a flat map).
///
/// Values may be a string (`base64:…` inline bytes, otherwise the raw
/// text's UTF-8 bytes, as fsspec reads them), `[url]`, `[url, offset,
/// length]` (urls may use `{{template}}`s), or a JSON object (metadata some
/// writers embed unserialised).
///
/// # Errors
/// Malformed JSON, values of the wrong shape, bad base64, unknown templates.
pub fn read_json(bytes: &[u8]) -> Result<RefStore> {
    let what = "kerchunk JSON";
    let doc: Value = serde_json::from_slice(bytes).map_err(|source| RefsError::Json {
        what: what.to_string(),
        source,
    })?;
    let Value::Object(mut top) = doc else {
        return Err(RefsError::Format {
            what: what.to_string(),
            reason: "the document is not a JSON object".to_string(),
        });
    };
    let is_v1 = match top.get("version") {
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(Value::String(s)) => s == "1",
        _ => false,
    };
    if !is_v1 {
        // version 0 has no templates: urls are taken as they are (as fsspec does)
        let mut store = RefStore::new();
        for (k, v) in top {
            if k == ".zmetadata" {
                continue; // derived from the other keys (see `write_json`)
            }
            let rv = parse_value(&k, v, None)?;
            store.insert(k, rv);
        }
        return Ok(store);
    }
    let mut vars: BTreeMap<String, TValue> = BTreeMap::new();
    if let Some(t) = top.remove("templates") {
        match t {
            Value::Object(m) => {
                for (k, v) in m {
                    let s = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    vars.insert(k, TValue::Str(s));
                }
            }
            Value::Null => {}
            _ => {
                return Err(RefsError::Format {
                    what: what.to_string(),
                    reason: "`templates` is not an object".to_string(),
                })
            }
        }
    }
    let mut store = RefStore::new();
    match top.remove("refs") {
        Some(Value::Object(refs)) => {
            for (k, v) in refs {
                if k == ".zmetadata" {
                    continue; // derived from the other keys (see `write_json`)
                }
                let rv = parse_value(&k, v, Some(&vars))?;
                store.insert(k, rv);
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(RefsError::Format {
                what: what.to_string(),
                reason: "`refs` is not an object".to_string(),
            })
        }
    }
    if let Some(gen) = top.remove("gen") {
        expand_gen(&mut store, gen, &vars)?;
    }
    Ok(store)
}

fn parse_value(key: &str, v: Value, vars: Option<&BTreeMap<String, TValue>>) -> Result<RefValue> {
    let bad = |reason: &str| RefsError::Format {
        what: format!("reference {key}"),
        reason: reason.to_string(),
    };
    match v {
        Value::String(s) => Ok(RefValue::Inline(match s.strip_prefix("base64:") {
            Some(b64) => decode_base64(key, b64.as_bytes())?,
            None => s.into_bytes(),
        })),
        Value::Array(a) => {
            let url = match a.first() {
                Some(Value::String(u)) => match vars {
                    Some(vars) => render(u, vars).map_err(|reason| RefsError::Template {
                        what: format!("reference {key}"),
                        reason,
                    })?,
                    None => u.clone(),
                },
                _ => return Err(bad("a reference list must start with a url string")),
            };
            let url: Arc<str> = Arc::from(url);
            match a.len() {
                1 => Ok(RefValue::Whole { url }),
                3 => {
                    let int = |x: &Value| {
                        x.as_u64()
                            .ok_or_else(|| bad("offset and length must be non-negative integers"))
                    };
                    Ok(RefValue::Range {
                        url,
                        offset: int(&a[1])?,
                        length: int(&a[2])?,
                    })
                }
                _ => Err(bad(
                    "a reference list must be [url] or [url, offset, length]",
                )),
            }
        }
        Value::Object(_) => Ok(RefValue::Inline(super::zarr::to_ascii_json(&v))),
        _ => Err(bad("a reference must be a string, a list or an object")),
    }
}

/// Expands kerchunk's `gen` entries: `{"key", "url", "offset"?, "length"?,
/// "dimensions": {name: {"start"?, "stop", "step"?} | [values]}}`.
fn expand_gen(
    store: &mut RefStore,
    gen: Value,
    templates: &BTreeMap<String, TValue>,
) -> Result<()> {
    let Value::Array(entries) = gen else {
        return Err(RefsError::Format {
            what: "kerchunk JSON".to_string(),
            reason: "`gen` is not a list".to_string(),
        });
    };
    for (n, e) in entries.into_iter().enumerate() {
        let what = format!("gen[{n}]");
        let Value::Object(e) = e else {
            return Err(gen_error(&what, "not an object".to_string()));
        };
        let entry = GenEntry::read(&what, &e)?;
        let (dims, total) = gen_dimensions(&what, &e)?;
        if total > u128::from(MAX_GEN) {
            return Err(RefsError::TooLarge {
                what,
                count: total,
                limit: MAX_GEN,
            });
        }
        entry.expand(store, templates, &dims, total, &what)?;
    }
    Ok(())
}

/// The template error of `gen` entry `what`.
fn gen_error(what: &str, reason: String) -> RefsError {
    RefsError::Template {
        what: what.to_string(),
        reason,
    }
}

/// The templates of one `gen` entry.
struct GenEntry {
    key: String,
    url: String,
    offset: Option<String>,
    length: Option<String>,
}

impl GenEntry {
    /// Reads the `key`, `url`, `offset` and `length` templates of entry `what`.
    fn read(what: &str, e: &serde_json::Map<String, Value>) -> Result<Self> {
        let bad = |reason: String| gen_error(what, reason);
        let text = |name: &str| -> Result<Option<String>> {
            match e.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(x)) => Ok(Some(x.to_string())),
                Some(_) => Err(bad(format!("`{name}` must be a string"))),
            }
        };
        let key = text("key")?.ok_or_else(|| bad("`key` missing".to_string()))?;
        let url = text("url")?.ok_or_else(|| bad("`url` missing".to_string()))?;
        Ok(Self {
            key,
            url,
            offset: text("offset")?,
            length: text("length")?,
        })
    }

    /// Inserts the entry's `total` references, one for each combination of
    /// `dims`' values (the cartesian product, last dimension fastest).
    fn expand(
        &self,
        store: &mut RefStore,
        templates: &BTreeMap<String, TValue>,
        dims: &[(String, Vec<TValue>)],
        total: u128,
        what: &str,
    ) -> Result<()> {
        let bad = |reason: String| gen_error(what, reason);
        let mut idx = vec![0usize; dims.len()];
        for _ in 0..total {
            let mut vars = templates.clone();
            for ((name, values), &i) in dims.iter().zip(&idx) {
                vars.insert(name.clone(), values[i].clone());
            }
            let key = render(&self.key, &vars).map_err(bad)?;
            let url: Arc<str> = Arc::from(render(&self.url, &vars).map_err(bad)?);
            let num = |t: &Option<String>| -> Result<Option<u64>> {
                match t {
                    None => Ok(None),
                    Some(t) => {
                        let s = render(t, &vars).map_err(bad)?;
                        s.trim()
                            .parse::<u64>()
                            .map(Some)
                            .map_err(|_| bad(format!("{s:?} is not a byte count")))
                    }
                }
            };
            let value = match (num(&self.offset)?, num(&self.length)?) {
                (Some(offset), Some(length)) => RefValue::Range {
                    url,
                    offset,
                    length,
                },
                _ => RefValue::Whole { url },
            };
            store.insert(key, value);
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < dims[d].1.len() {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(())
    }
}

/// A `gen` entry's dimensions, each name with its values.
type GenDims = Vec<(String, Vec<TValue>)>;

/// The `dimensions` of `gen` entry `what`, with the number of their
/// combinations (saturating; the caller bounds it).
fn gen_dimensions(what: &str, e: &serde_json::Map<String, Value>) -> Result<(GenDims, u128)> {
    let mut dims: GenDims = Vec::new();
    let mut total: u128 = 1;
    if let Some(Value::Object(d)) = e.get("dimensions") {
        for (name, spec) in d {
            let values = gen_dimension(what, name, spec)?;
            total = total.saturating_mul(values.len() as u128);
            dims.push((name.clone(), values));
        }
    }
    Ok((dims, total))
}

/// The values of dimension `name` of `gen` entry `what`: a list, or a
/// `{"start"?, "stop", "step"?}` range of at most [`MAX_GEN`] values.
fn gen_dimension(what: &str, name: &str, spec: &Value) -> Result<Vec<TValue>> {
    let bad = |reason: String| gen_error(what, reason);
    Ok(match spec {
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::Number(n) => n
                    .as_i64()
                    .map(TValue::Int)
                    .ok_or_else(|| bad(format!("dimension {name}: not an integer"))),
                Value::String(s) => Ok(TValue::Str(s.clone())),
                _ => Err(bad(format!("dimension {name}: unsupported value"))),
            })
            .collect::<Result<_>>()?,
        Value::Object(r) => {
            let get = |k: &str, default: Option<i64>| -> Result<i64> {
                match r.get(k) {
                    Some(v) => v
                        .as_i64()
                        .ok_or_else(|| bad(format!("dimension {name}: `{k}` is not an integer"))),
                    None => default.ok_or_else(|| bad(format!("dimension {name}: `{k}` missing"))),
                }
            };
            let (start, stop, step) = (
                get("start", Some(0))?,
                get("stop", None)?,
                get("step", Some(1))?,
            );
            if step <= 0 {
                return Err(bad(format!("dimension {name}: step must be positive")));
            }
            let count = if stop > start {
                ((stop - start) as u128).div_ceil(step as u128)
            } else {
                0
            };
            if count > u128::from(MAX_GEN) {
                return Err(RefsError::TooLarge {
                    what: what.to_string(),
                    count,
                    limit: MAX_GEN,
                });
            }
            (0..count as i64)
                .map(|i| TValue::Int(start + i * step))
                .collect()
        }
        _ => {
            return Err(bad(format!(
                "dimension {name}: must be a range object or a list"
            )))
        }
    })
}

/// Writes kerchunk JSON: inline values as text when they are ASCII, else
/// `base64:…` (as kerchunk does); ranges as `[url, offset, length]`.
///
/// In version 1 a url holding `{{` would be read as a template, so such
/// urls are written as templates of themselves (`"templates":
/// {"gik_url_0": url}`, reference `["{{gik_url_0}}", …]`), which fsspec and
/// gik both render back to the url.
///
/// The zarr metadata is also written consolidated, as `.zmetadata`
/// (`{"zarr_consolidated_format": 1, "metadata": {…}}`), so that zarr opens
/// the whole hierarchy at once (`xr.open_datatree("reference://", engine="zarr", …)`):
/// zarr-python 3 finds nothing in a reference filesystem without it. It is
/// derived from the other keys (rewritten, never copied), and [`read_json`]
/// leaves it out.
#[must_use]
pub fn write_json(store: &RefStore, version: JsonVersion) -> Vec<u8> {
    let consolidated = with_consolidated(store);
    let store = consolidated.as_ref().unwrap_or(store);
    let mut out: Vec<u8> = Vec::with_capacity(store.len() * 96 + 32);
    let mut literal: BTreeMap<&str, String> = BTreeMap::new();
    if version == JsonVersion::V1 {
        for (_, v) in store.iter() {
            if let Some(u) = v.url().filter(|u| u.contains("{{")) {
                let n = literal.len();
                literal.entry(u).or_insert_with(|| format!("gik_url_{n}"));
            }
        }
        out.extend_from_slice(b"{\"version\":1,");
        if !literal.is_empty() {
            out.extend_from_slice(b"\"templates\":{");
            for (i, (url, name)) in literal.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(&mut out, name);
                out.push(b':');
                write_str(&mut out, url);
            }
            out.extend_from_slice(b"},");
        }
        out.extend_from_slice(b"\"refs\":{");
    } else {
        out.push(b'{');
    }
    let url_text = |url: &str| -> String {
        match literal.get(url) {
            Some(name) => format!("{{{{{name}}}}}"),
            None => url.to_string(),
        }
    };
    for (i, (k, v)) in store.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, k);
        out.push(b':');
        match v {
            RefValue::Inline(b) => write_str(&mut out, &encode_inline_text(b)),
            RefValue::Range {
                url,
                offset,
                length,
            } => {
                out.push(b'[');
                write_str(&mut out, &url_text(url));
                let _ = write!(out, ",{offset},{length}]");
            }
            RefValue::Whole { url } => {
                out.push(b'[');
                write_str(&mut out, &url_text(url));
                out.push(b']');
            }
        }
    }
    if version == JsonVersion::V1 {
        out.extend_from_slice(b"}}");
    } else {
        out.push(b'}');
    }
    out
}

/// `store` with a `.zmetadata` of its metadata keys; `None` when it has no
/// metadata (or metadata that is not inline JSON, which stays as it is).
fn with_consolidated(store: &RefStore) -> Option<RefStore> {
    let mut metadata = serde_json::Map::new();
    for (k, v) in store.iter() {
        if k == ".zmetadata" || !super::zarr::is_meta_key(k) {
            continue;
        }
        let doc: Value = serde_json::from_slice(v.as_inline()?).ok()?;
        metadata.insert(k.to_string(), doc);
    }
    if metadata.is_empty() {
        return None;
    }
    let mut out = store.clone();
    let doc =
        serde_json::json!({"zarr_consolidated_format": 1, "metadata": Value::Object(metadata)});
    out.insert(
        ".zmetadata",
        RefValue::Inline(super::zarr::to_ascii_json(&doc)),
    );
    Some(out)
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes quotes, backslashes and control characters.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_with_templates_and_gen() {
        let doc = br#"{"version":1,"templates":{"u":"s3://b/f.grib2"},
            "refs":{".zgroup":"{\"zarr_format\":2}","a/0":["{{u}}",10,20],"a/1":"base64:AAE=","a/2":["{{u}}"],
                    "a/.zattrs":{"x":1}},
            "gen":[{"key":"g/{{i}}","url":"{{u}}","offset":"{{i*100}}","length":"100","dimensions":{"i":{"stop":3}}}]}"#;
        let s = read_json(doc).expect("read");
        assert_eq!(
            s.get("a/0"),
            Some(&RefValue::range("s3://b/f.grib2", 10, 20))
        );
        assert_eq!(s.get("a/1"), Some(&RefValue::Inline(vec![0, 1])));
        assert_eq!(
            s.get("a/2"),
            Some(&RefValue::Whole {
                url: "s3://b/f.grib2".into()
            })
        );
        assert_eq!(
            s.get("a/.zattrs"),
            Some(&RefValue::Inline(br#"{"x":1}"#.to_vec()))
        );
        assert_eq!(
            s.get("g/2"),
            Some(&RefValue::range("s3://b/f.grib2", 200, 100))
        );
        assert_eq!(s.len(), 8);
        let back = read_json(&write_json(&s, JsonVersion::V1)).expect("round trip");
        assert_eq!(back, s);
        let back0 = read_json(&write_json(&s, JsonVersion::V0)).expect("round trip v0");
        assert_eq!(back0, s);
    }

    #[test]
    fn raw_text_and_binary_inline() {
        let mut s = RefStore::new();
        s.insert(
            "step/0",
            RefValue::Inline(vec![0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]),
        );
        s.insert(
            "time/0",
            RefValue::Inline(vec![0x80, 0x85, 0x74, 0x67, 0, 0, 0, 0]),
        );
        let text = String::from_utf8(write_json(&s, JsonVersion::V1)).expect("utf8");
        assert!(text.contains(r#""step/0":"\u0000"#), "{text}");
        assert!(text.contains(r#""time/0":"base64:gIV0ZwAAAAA=""#), "{text}");
        assert_eq!(read_json(text.as_bytes()).expect("read"), s);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        for doc in [
            &b"{"[..],
            b"[]",
            br#"{"version":1,"refs":[]}"#,
            br#"{"a":["u",1]}"#,
            br#"{"a":[1,2,3]}"#,
            br#"{"a":["u",-1,3]}"#,
            br#"{"a":"base64:@@@"}"#,
            br#"{"a":null}"#,
            br#"{"version":1,"refs":{"a":["{{v}}",1,2]}}"#,
            br#"{"version":1,"refs":{},"gen":[{"key":"k{{i}}","url":"u","dimensions":{"i":{"stop":100000000000}}}]}"#,
            br#"{"version":1,"refs":{},"gen":[{"key":"k{{i}}","url":"u","dimensions":{"i":{"stop":10000},"j":{"stop":100000}}}]}"#,
        ] {
            assert!(read_json(doc).is_err(), "{}", String::from_utf8_lossy(doc));
        }
    }
}
