//! Range reads with `fetch`: the browser's (and Node's) reader of GRIB
//! messages. Several reads run at once simply by awaiting several of these
//! futures together; the browser schedules the connections.
//!
//! Where a reference points:
//!
//! | url in the references | fetched from |
//! |---|---|
//! | `https://…`, `http://…` | itself; through the proxy if the server refuses CORS |
//! | `s3://bucket/key` | `https://bucket.s3.amazonaws.com/key`; the proxy gets the `s3://` url |
//! | `gs://bucket/key` | `https://storage.googleapis.com/bucket/key`; likewise |
//! | `az://…`, `abfs://…` | the proxy only |
//! | `/abs/path`, `file:///abs/path` | `{files}/abs/path` (`gik serve` serves local files there) |
//! | `relative/path` | resolved against the url of the references |

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::Range;
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, RequestMode, Response};

use crate::error::{Error, Result};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` of windows, workers and Node 18+.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(input: &Request) -> Promise;

    /// `performance.now()`, milliseconds.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn now_ms() -> f64;
}

/// When to use the CORS range proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// Directly first; through the proxy when the direct request is refused.
    #[default]
    Fallback,
    /// Every remote url through the proxy.
    Always,
    /// Never.
    Never,
}

/// How urls are resolved and fetched.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Absolute url relative references resolve against (the references' own url).
    pub base: Option<String>,
    /// Proxy prefix; the url-encoded target is appended (`/proxy?url=`).
    pub proxy: Option<String>,
    /// When to use the proxy.
    pub proxy_mode: ProxyMode,
    /// Prefix under which absolute local paths are served (`/files`).
    pub files: Option<String>,
}

/// A `fetch`-based range reader. Clones share what they learnt about which
/// origins need the proxy.
#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    opts: FetchOptions,
    needs_proxy: Rc<RefCell<HashSet<String>>>,
}

/// Where a reference url is fetched from.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// Fetched directly, if it can be.
    direct: Option<String>,
    /// The url handed to the proxy, if it can go through one.
    remote: Option<String>,
}

fn origin_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest);
    url.split_once("://")
        .map_or_else(String::new, |(s, _)| format!("{s}://{host}"))
}

/// The inclusive `bytes=a-b` header of a half-open range (the only place
/// where the conversion happens).
fn range_header(r: &Range<u64>) -> String {
    format!("bytes={}-{}", r.start, r.end.saturating_sub(1))
}

/// Percent-encodes a url for a query string (RFC 3986 unreserved kept).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Fetcher {
    /// A reader with these options.
    #[must_use]
    pub fn new(opts: FetchOptions) -> Self {
        Self {
            opts,
            needs_proxy: Rc::default(),
        }
    }

    /// The options it was made with.
    #[must_use]
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    /// The same reader resolving relative urls against `base`.
    #[must_use]
    pub fn with_base(&self, base: String) -> Self {
        let mut f = self.clone();
        f.opts.base = Some(base);
        f
    }

    fn resolve(&self, url: &str) -> Result<Target> {
        let unreachable = |reason: &str| Error::Unreachable {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(path) = url
            .strip_prefix("file://")
            .or_else(|| url.starts_with('/').then_some(url))
        {
            let Some(files) = &self.opts.files else {
                return Err(unreachable(
                    "a local file: a page can read it only when `gik serve` serves the page (its /files route)",
                ));
            };
            let files = self.absolute(files)?;
            return Ok(Target {
                direct: Some(format!("{}{path}", files.trim_end_matches('/'))),
                remote: None,
            });
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            let base = self
                .opts
                .base
                .clone()
                .or_else(page_location)
                .ok_or_else(|| {
                    unreachable("a relative url, and no `baseUrl` (or page) to resolve it against")
                })?;
            let joined = web_sys::Url::new_with_base(url, &base)
                .map_err(|_| unreachable(&format!("cannot be resolved against {base}")))?
                .href();
            return self.resolve(&joined);
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let direct = match scheme {
            "http" | "https" => Some(url.to_string()),
            "s3" | "s3a" => Some(format!("https://{bucket}.s3.amazonaws.com/{key}")),
            "gs" | "gcs" => Some(format!("https://storage.googleapis.com/{bucket}/{key}")),
            "az" | "abfs" | "abfss" | "adl" => None,
            _ => return Err(unreachable(&format!("unsupported scheme `{scheme}://`"))),
        };
        if direct.is_none() && self.opts.proxy.is_none() {
            return Err(unreachable(
                "az:// urls cannot be read by a page: give the https://ACCOUNT.blob.core.windows.net/CONTAINER/… url",
            ));
        }
        Ok(Target {
            direct,
            remote: Some(url.to_string()),
        })
    }

    /// `url` made absolute against the base (proxy and files prefixes may be
    /// relative to the page).
    fn absolute(&self, url: &str) -> Result<String> {
        if url.contains("://") {
            return Ok(url.to_string());
        }
        let base = self
            .opts
            .base
            .clone()
            .or_else(page_location)
            .ok_or_else(|| Error::Unreachable {
                url: url.to_string(),
                reason: "relative, and there is no page location or `baseUrl` to resolve it".into(),
            })?;
        web_sys::Url::new_with_base(url, &base)
            .map(|u| u.href())
            .map_err(|_| Error::Unreachable {
                url: url.to_string(),
                reason: format!("cannot be resolved against {base}"),
            })
    }

    /// Reads `range` of `url` (the whole object when `None`).
    ///
    /// # Errors
    /// A refused request, an HTTP error, or fewer bytes than the range.
    pub async fn get(&self, url: &str, range: Option<Range<u64>>) -> Result<Vec<u8>> {
        if range.as_ref().is_some_and(|r| r.start >= r.end) {
            // (no request: an HTTP range cannot be empty)
            return Ok(Vec::new());
        }
        match self.send(url, Ask::Bytes(range)).await? {
            Answer::Bytes(b) => Ok(b),
            Answer::Length(_) => Err(Error::Unreachable {
                url: url.to_string(),
                reason: "a GET answered as a HEAD".into(),
            }),
        }
    }

    /// The size of the object at `url` (a `HEAD` request's `Content-Length`).
    ///
    /// # Errors
    /// A refused request, an HTTP error, or no `Content-Length`.
    pub async fn size(&self, url: &str) -> Result<u64> {
        match self.send(url, Ask::Length).await? {
            Answer::Length(n) => Ok(n),
            Answer::Bytes(b) => Ok(b.len() as u64),
        }
    }

    /// One request, directly or through the proxy as the options say.
    async fn send(&self, url: &str, ask: Ask) -> Result<Answer> {
        let target = self.resolve(url)?;
        let proxied = self
            .opts
            .proxy
            .as_ref()
            .zip(target.remote.as_ref())
            .map(|(prefix, remote)| format!("{prefix}{}", encode_component(remote)));
        let origin = target.direct.as_deref().map(origin_of);
        let use_proxy_first = match self.opts.proxy_mode {
            ProxyMode::Always => proxied.is_some(),
            ProxyMode::Never => false,
            ProxyMode::Fallback => {
                target.direct.is_none()
                    || origin
                        .as_ref()
                        .is_some_and(|o| self.needs_proxy.borrow().contains(o))
            }
        };
        if let (true, Some(p)) = (use_proxy_first, &proxied) {
            let p = self.absolute(p)?;
            return fetch_one(&p, url, ask, true).await;
        }
        let Some(direct) = target.direct else {
            return Err(Error::Unreachable {
                url: url.to_string(),
                reason: "needs the proxy of `gik serve`".into(),
            });
        };
        match fetch_one(&direct, url, ask.clone(), false).await {
            Err(Error::Network { .. })
                if self.opts.proxy_mode == ProxyMode::Fallback && proxied.is_some() =>
            {
                if let Some(o) = origin {
                    self.needs_proxy.borrow_mut().insert(o);
                }
                let p = self.absolute(proxied.as_deref().unwrap_or_default())?;
                fetch_one(&p, url, ask, true).await
            }
            other => other,
        }
    }
}

/// The wasm implementation of the core's one I/O seam: every read of
/// references and GRIB messages in the browser goes through it. (Only on
/// wasm32: natively the core asks for `Send` futures, which JavaScript
/// promises are not, and `fetch` does not exist there anyway.)
#[cfg(target_arch = "wasm32")]
impl gik_core::io::RangeReader for Fetcher {
    type Error = Error;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        Box::pin(async move {
            self.get(location, Some(range))
                .await
                .map(bytes::Bytes::from)
        })
    }

    fn read_all<'a>(
        &'a self,
        location: &'a str,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        Box::pin(async move { self.get(location, None).await.map(bytes::Bytes::from) })
    }

    fn len<'a>(&'a self, location: &'a str) -> gik_core::io::BoxFuture<'a, Result<u64>> {
        Box::pin(self.size(location))
    }
}

/// The page's (or worker's) own url, if there is one (not in Node).
pub fn page_location() -> Option<String> {
    let loc = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    if loc.is_undefined() || loc.is_null() {
        return None;
    }
    js_sys::Reflect::get(&loc, &"href".into()).ok()?.as_string()
}

/// What a request asks for.
#[derive(Debug, Clone)]
enum Ask {
    /// `GET`, of a range or (`None`) the whole object.
    Bytes(Option<Range<u64>>),
    /// `HEAD`: the object's length.
    Length,
}

/// What came back.
#[derive(Debug)]
enum Answer {
    Bytes(Vec<u8>),
    Length(u64),
}

async fn fetch_one(fetch_url: &str, name: &str, ask: Ask, proxied: bool) -> Result<Answer> {
    let js_err = |v: JsValue| Error::Network {
        url: name.to_string(),
        proxied,
        reason: v
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| v.as_string())
            .unwrap_or_else(|| format!("{v:?}")),
    };
    let init = RequestInit::new();
    let head = matches!(ask, Ask::Length);
    init.set_method(if head { "HEAD" } else { "GET" });
    let range = match ask {
        Ask::Bytes(range) => range,
        Ask::Length => None,
    };
    init.set_mode(RequestMode::Cors);
    // `gik serve`'s proxy answers Range requests only: a whole object
    // through it is asked for as `bytes=0-` (it checks the size first).
    let wanted = match &range {
        Some(r) => Some(range_header(r)),
        None if proxied => Some("bytes=0-".to_string()),
        None => None,
    };
    if let Some(r) = wanted {
        let headers = Headers::new().map_err(js_err)?;
        headers.set("Range", &r).map_err(js_err)?;
        init.set_headers(&headers);
    }
    let request =
        Request::new_with_str_and_init(fetch_url, &init).map_err(|e| Error::Unreachable {
            url: name.to_string(),
            reason: format!("not a valid request url {fetch_url}: {e:?}"),
        })?;
    let response: Response = JsFuture::from(fetch_with_request(&request))
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    let status = response.status();
    if status == 404 {
        return Err(Error::NotFound {
            url: name.to_string(),
        });
    }
    if !response.ok() {
        return Err(Error::Http {
            url: name.to_string(),
            status,
            status_text: response.status_text(),
            range,
        });
    }
    if head {
        let length = response
            .headers()
            .get("content-length")
            .map_err(js_err)?
            .and_then(|v| v.trim().parse::<u64>().ok());
        return length
            .map(Answer::Length)
            .ok_or_else(|| Error::Unreachable {
                url: name.to_string(),
                reason: "the server's answer to HEAD has no Content-Length".into(),
            });
    }
    let buf = JsFuture::from(response.array_buffer().map_err(js_err)?)
        .await
        .map_err(js_err)?;
    let mut bytes = Uint8Array::new(&buf).to_vec();
    if let Some(r) = range {
        let want = r.end.saturating_sub(r.start);
        if status == 200 && bytes.len() as u64 >= r.end {
            // The server ignored Range and sent the whole object.
            bytes = bytes[r.start as usize..r.end as usize].to_vec();
        }
        if (bytes.len() as u64) < want {
            return Err(Error::Short {
                url: name.to_string(),
                range: r,
                got: bytes.len() as u64,
            });
        }
        bytes.truncate(want as usize);
    }
    Ok(Answer::Bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_is_inclusive() {
        assert_eq!(range_header(&(0..100)), "bytes=0-99");
        assert_eq!(range_header(&(5..6)), "bytes=5-5");
    }

    #[test]
    fn urls_encode_for_a_query() {
        assert_eq!(
            encode_component("s3://b/k 1.grib2?x"),
            "s3%3A%2F%2Fb%2Fk%201.grib2%3Fx"
        );
        assert_eq!(origin_of("https://h.example/a/b"), "https://h.example");
    }

    #[test]
    fn object_store_urls_map_to_https_and_the_proxy() {
        let f = Fetcher::new(FetchOptions {
            proxy: Some("/proxy?url=".into()),
            ..FetchOptions::default()
        });
        let t = f.resolve("s3://ecmwf-forecasts/20260310/x.grib2").unwrap();
        assert_eq!(
            t.direct.as_deref(),
            Some("https://ecmwf-forecasts.s3.amazonaws.com/20260310/x.grib2")
        );
        assert_eq!(
            t.remote.as_deref(),
            Some("s3://ecmwf-forecasts/20260310/x.grib2")
        );
        assert!(f.resolve("ftp://x/y").is_err());
        // A local path needs gik serve's /files route.
        assert!(matches!(
            f.resolve("/data/x.grib2"),
            Err(Error::Unreachable { .. })
        ));
    }
}

/// The reader the bindings read with: `fetch` in WebAssembly.
#[cfg(target_arch = "wasm32")]
pub type Reader = Fetcher;

/// Natively (the crate's own unit tests, clippy) there is no `fetch`: every
/// read fails, saying so.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone)]
pub struct Reader;

#[cfg(not(target_arch = "wasm32"))]
impl From<Fetcher> for Reader {
    fn from(_: Fetcher) -> Self {
        Self
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl gik_core::io::RangeReader for Reader {
    type Error = Error;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        _range: Range<u64>,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        self.read_all(location)
    }

    fn read_all<'a>(
        &'a self,
        location: &'a str,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        Box::pin(std::future::ready(Err(Error::Unreachable {
            url: location.to_string(),
            reason: "reading needs WebAssembly's fetch".into(),
        })))
    }

    fn len<'a>(&'a self, location: &'a str) -> gik_core::io::BoxFuture<'a, Result<u64>> {
        Box::pin(std::future::ready(Err(Error::Unreachable {
            url: location.to_string(),
            reason: "reading needs WebAssembly's fetch".into(),
        })))
    }
}
