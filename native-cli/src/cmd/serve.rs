//! `gik serve`: one command for the browser side, safe to leave running.
//! It serves
//!
//! - the page and the wasm package it loads (built into the binary with the
//!   cargo feature `embed-web`, else `web/` of the checkout, or `--web DIR`),
//! - local files below `--root` at `/files/<absolute path>`, with HTTP
//!   Range, so references written by `gik scan` for local files work as
//!   they are (nothing at all without `--root`),
//! - a range proxy at `/proxy?url=<url>` for remote objects on an
//!   allow-list (ECMWF's open-data mirrors by default): their servers do
//!   not promise CORS, so a page cannot always read them directly,
//! - `/gik-config.json`, which tells the page about the two routes above.
//!
//! Who may use it (see [`guard`]): `Host` must name this server; the data
//! routes answer only the page's own origin (and `--allow-origin`s) and
//! only requests carrying the token printed in the url; the proxy reads
//! only allow-listed hosts, never link-local or metadata addresses,
//! anonymously unless `--proxy-credentials`.

mod assets;
mod guard;

use crate::{CliError, Result};
use assets::{Asset, Assets};
use bytes::Bytes;
use gik_store::{StoreError, Stores};
use guard::{Allow, OriginCheck};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Body = BoxBody<Bytes, std::io::Error>;

/// The dotfiles `/files` serves: zarr's metadata, which reference
/// directories (fsspec parquet, zarr) are made of.
const ZARR_METADATA: [&str; 4] = [".zmetadata", ".zarray", ".zattrs", ".zgroup"];

/// Bytes read from a local file per body chunk.
const CHUNK: u64 = 1 << 20;

/// Arguments of `gik serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on (0: any free port; the url is printed).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Directory of the page (default: the page built into this binary, or
    /// `web/` of the gik checkout).
    #[arg(long)]
    pub web: Option<PathBuf>,
    /// Serve the local files below this directory at `/files/<absolute path>`
    /// (no dotfiles, no symlinks out of it). Without it no local file is served.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Do not proxy remote urls.
    #[arg(long)]
    pub no_proxy: bool,
    /// Also proxy this host name (any http(s) url on it) or url prefix
    /// (`s3://bucket`, `https://host/path/`); ECMWF's open-data mirrors are
    /// always on the list. Repeatable.
    #[arg(long = "allow-host", value_name = "HOST|URL")]
    pub allow_host: Vec<String>,
    /// Let the proxy sign requests with the credentials in the environment
    /// (AWS_*, GOOGLE_*, AZURE_*). Without it every proxied request is anonymous.
    #[arg(long)]
    pub proxy_credentials: bool,
    /// Let the proxy read hosts that resolve to loopback or private-network
    /// addresses (an internal mirror). Link-local and cloud-metadata addresses
    /// are refused regardless.
    #[arg(long)]
    pub proxy_allow_private: bool,
    /// Largest proxied response, in MiB.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub proxy_max_mib: u64,
    /// Also answer pages of this origin (`https://dashboard.example`) on
    /// `/files`, `/proxy` and `/gik-config.json`, with CORS headers; they
    /// must still send the token (`Authorization: token …`). Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Also accept this name in the `Host` header (a machine name, when
    /// listening beyond loopback). IP literals and `localhost` always work.
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_name: Vec<String>,
    /// The token for everything but the page (default: a fresh random one,
    /// printed in the url).
    #[arg(long)]
    pub token: Option<String>,
    /// Print one line per request.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// What the proxy may read, and how.
struct Proxy {
    stores: Stores,
    allow: Vec<Allow>,
    allow_private: bool,
    max_bytes: u64,
}

struct State {
    assets: Assets,
    /// `--root`, canonical (symlinks resolved).
    root: Option<PathBuf>,
    /// `--root` made absolute, as given (references name files through it).
    root_given: PathBuf,
    proxy: Option<Proxy>,
    verbose: bool,
    /// `None` only in tests of the readers against a real HTTP server.
    token: Option<String>,
    port: u16,
    server_names: Vec<String>,
    origins: Vec<String>,
}

/// A path below `base` for the url path `rel`, or `None` when it would leave `base`.
fn below(base: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = base.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Percent-decodes a url path or query value (`+` stays `+`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a `Range` header asks of an object of `size` bytes (`None`: unknown).
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// Parses a single `bytes=` range; anything else (several ranges, other
/// units) is answered with the whole object, as RFC 9110 allows.
fn parse_range(header: Option<&str>, size: Option<u64>) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok(), size) {
        // bytes=-n: the last n bytes.
        (None, Some(n), Some(size)) if a.is_empty() => {
            if n == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(size.saturating_sub(n)..size)
            }
        }
        (Some(start), end, size) => {
            let end = end.map(|e| e.saturating_add(1));
            match (end, size) {
                (_, Some(size)) if start >= size => Wanted::Unsatisfiable,
                (Some(e), _) if e <= start => Wanted::Unsatisfiable,
                (Some(e), Some(size)) => Wanted::Part(start..e.min(size)),
                (None, Some(size)) => Wanted::Part(start..size),
                (Some(e), None) => Wanted::Part(start..e),
                (None, None) => Wanted::Whole,
            }
        }
        _ => Wanted::Whole,
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ts" | "md" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(full(msg.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Streams `range` of a local file in chunks.
fn file_body(file: Arc<std::fs::File>, range: Range<u64>) -> Body {
    let stream = futures::stream::unfold((file, range.start), move |(file, pos)| {
        let end = range.end;
        async move {
            if pos >= end {
                return None;
            }
            let len = (end - pos).min(CHUNK);
            let f = file.clone();
            let read = tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; len as usize];
                f.read_exact_at(&mut buf, pos).map(|()| buf)
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
            match read {
                Ok(buf) => Some((Ok(Frame::data(Bytes::from(buf))), (file, pos + len))),
                Err(e) => Some((Err(e), (file, end))),
            }
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}

/// The status and byte range to answer for an object of `size` bytes, or
/// the 416 response.
fn answer_range(
    req: &Request<Incoming>,
    size: u64,
) -> Result<(StatusCode, Range<u64>), Box<Response<Body>>> {
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    match parse_range(range_header, Some(size)) {
        Wanted::Whole => Ok((StatusCode::OK, 0..size)),
        Wanted::Part(r) => Ok((StatusCode::PARTIAL_CONTENT, r)),
        Wanted::Unsatisfiable => {
            let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            Err(Box::new(r))
        }
    }
}

/// A 200/206 response with the headers of a ranged read of `size` bytes.
fn ranged(
    body: Body,
    status: StatusCode,
    range: &Range<u64>,
    size: u64,
    ctype: &'static str,
) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_LENGTH,
        header_value(&(range.end - range.start).to_string()),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{}/{size}", range.start, range.end - 1)),
        );
    }
    r
}

/// Answers GET/HEAD of a local file, honouring `Range`.
async fn serve_file(path: &Path, req: &Request<Incoming>) -> Response<Body> {
    let p = path.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&p)?;
        let m = f.metadata()?;
        Ok::<_, std::io::Error>((f, m))
    })
    .await;
    let (file, meta) = match opened {
        Ok(Ok((f, m))) if m.is_file() => (f, m),
        Ok(Ok(_)) => return text(StatusCode::NOT_FOUND, "not a file"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return text(
                StatusCode::NOT_FOUND,
                format!("{}: not found", path.display()),
            )
        }
        Ok(Err(e)) => return text(StatusCode::FORBIDDEN, format!("{}: {e}", path.display())),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    respond(req, meta.len(), path, |range| {
        file_body(Arc::new(file), range)
    })
}

/// The response to GET/HEAD of `size` bytes named `path`, honouring `Range`:
/// `body` makes the body of the range answered.
fn respond(
    req: &Request<Incoming>,
    size: u64,
    path: &Path,
    body: impl FnOnce(Range<u64>) -> Body,
) -> Response<Body> {
    let (status, range) = match answer_range(req, size) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let b = if req.method() == Method::HEAD {
        full(Bytes::new())
    } else {
        body(range.clone())
    };
    ranged(b, status, &range, size, content_type(path))
}

/// Answers GET/HEAD of a file of the page built into the binary.
fn serve_bytes(bytes: &'static [u8], path: &Path, req: &Request<Incoming>) -> Response<Body> {
    respond(req, bytes.len() as u64, path, |r| {
        full(Bytes::from_static(&bytes[r.start as usize..r.end as usize]))
    })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

/// The host and port the proxy's client will connect to for `url`.
fn contacted(url: &url::Url) -> Option<(String, u16)> {
    match url.scheme() {
        "s3" => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL")
                .or_else(|_| std::env::var("AWS_ENDPOINT"))
                .ok()
                .filter(|e| !e.is_empty());
            match endpoint {
                Some(e) => {
                    let e = url::Url::parse(&e).ok()?;
                    Some((e.host_str()?.to_string(), e.port_or_known_default()?))
                }
                None => Some((format!("{}.s3.amazonaws.com", url.host_str()?), 443)),
            }
        }
        "gs" => Some(("storage.googleapis.com".into(), 443)),
        _ => Some((url.host_str()?.to_string(), url.port_or_known_default()?)),
    }
}

/// Refuses a url whose host resolves to an address the proxy must not
/// read: the check is on the resolved addresses, not the name.
async fn check_addresses(url: &url::Url, allow_private: bool) -> Result<(), Response<Body>> {
    let Some((host, port)) = contacted(url) else {
        return Err(text(StatusCode::BAD_REQUEST, format!("{url}: no host")));
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let lookup = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await;
    let addrs: Vec<SocketAddr> = match lookup {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            return Err(text(
                StatusCode::BAD_GATEWAY,
                format!("{host}: cannot resolve ({e})"),
            ))
        }
        Err(_) => {
            return Err(text(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{host}: no answer from DNS in 10 s"),
            ))
        }
    };
    if addrs.is_empty() {
        return Err(text(StatusCode::BAD_GATEWAY, format!("{host}: no address")));
    }
    if let Some(bad) = addrs
        .iter()
        .find(|a| !guard::address_allowed(a.ip(), allow_private))
    {
        let what = match guard::classify(bad.ip()) {
            guard::AddrClass::Forbidden => "a link-local, metadata or unroutable address the proxy never reads",
            _ => "a loopback or private-network address (--proxy-allow-private reads an internal mirror)",
        };
        return Err(text(
            StatusCode::FORBIDDEN,
            format!("{host} resolves to {}, {what}", bad.ip()),
        ));
    }
    Ok(())
}

/// The range proxy: GET with one `Range`, to an allow-listed url whose
/// host resolves to an address it may read, bounded in size; read with
/// the object-store code of the other commands.
async fn proxy(proxy: &Proxy, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "the proxy answers GET only");
    }
    let Some(raw) = req.uri().query().and_then(|q| query_param(q, "url")) else {
        return text(
            StatusCode::BAD_REQUEST,
            "usage: /proxy?url=<url-encoded https://, s3:// or gs:// url>, with a Range header",
        );
    };
    let url = match guard::check_url(&raw, &proxy.allow) {
        Ok(u) => u,
        Err(e) => return text(StatusCode::FORBIDDEN, format!("{raw}: {e}")),
    };
    let Some(range_header) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return text(
            StatusCode::BAD_REQUEST,
            "the proxy answers Range requests only (Range: bytes=a-b)",
        );
    };
    let spec = range_header.trim().strip_prefix("bytes=").unwrap_or("");
    if spec.is_empty() || spec.contains(',') || !spec.contains('-') {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Range `{range_header}`: the proxy answers one byte range (bytes=a-b, bytes=a- or bytes=-n)"),
        );
    }
    if let Err(r) = check_addresses(&url, proxy.allow_private).await {
        return r;
    }
    let mut src = match proxy.stores.open(url.as_str()).await {
        Ok(s) => s,
        Err(e) => return store_error(&e),
    };
    // An open or suffix range needs the size first.
    let size = if spec.starts_with('-') || spec.ends_with('-') {
        match src.len().await {
            Ok(n) => Some(n),
            Err(e) => return store_error(&e),
        }
    } else {
        None
    };
    let range = match parse_range(Some(&range_header), size) {
        Wanted::Part(r) => r,
        Wanted::Whole | Wanted::Unsatisfiable => {
            return text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
        }
    };
    if range.end - range.start > proxy.max_bytes {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} bytes asked; the proxy answers at most {} MiB per request (--proxy-max-mib)",
                range.end - range.start,
                proxy.max_bytes >> 20
            ),
        );
    }
    // The whole object (`bytes=0-`, how the page asks for a references
    // file) is one plain GET: some servers ignore Range.
    let whole = size.is_some_and(|n| range == (0..n));
    let read = if whole {
        src.read_all().await
    } else {
        src.read(range.clone()).await
    };
    let bytes = match read {
        Ok(b) => b,
        Err(e) => return store_error(&e),
    };
    let len = bytes.len() as u64;
    let mut r = Response::new(full(bytes));
    *r.status_mut() = StatusCode::PARTIAL_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, header_value(&len.to_string()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let total = size.map_or_else(|| "*".to_string(), |s| s.to_string());
    h.insert(
        header::CONTENT_RANGE,
        header_value(&format!(
            "bytes {}-{}/{total}",
            range.start,
            (range.start + len).saturating_sub(1)
        )),
    );
    r
}

fn store_error(e: &StoreError) -> Response<Body> {
    let status = match e {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::BadLocation { .. } => StatusCode::BAD_REQUEST,
        StoreError::Short { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    text(status, e.to_string())
}

/// `/files/<absolute path>`: a regular file below `--root`, reached without
/// leaving it through `..` or a symlink, with no dotfile on the way.
async fn files(state: &State, abs: &str, req: &Request<Incoming>) -> Response<Body> {
    let Some(root) = &state.root else {
        return text(
            StatusCode::FORBIDDEN,
            "local files are not served: start gik serve with --root DIR",
        );
    };
    let Some(p) = below(Path::new("/"), abs) else {
        return text(StatusCode::FORBIDDEN, "`..` is not allowed");
    };
    let dotfile = |p: &Path| {
        p.components().any(|c| match c {
            Component::Normal(n) => {
                let n = n.to_string_lossy();
                n.starts_with('.') && !ZARR_METADATA.contains(&n.as_ref())
            }
            _ => false,
        })
    };
    // As asked (below the root as given or as resolved)…
    let asked = [&state.root_given, root]
        .iter()
        .find_map(|r| p.strip_prefix(r).ok());
    if asked.is_some_and(dotfile) {
        return text(StatusCode::FORBIDDEN, "dotfiles are not served");
    }
    let real = match tokio::fs::canonicalize(&p).await {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return text(StatusCode::NOT_FOUND, format!("{}: not found", p.display()))
        }
        Err(e) => return text(StatusCode::FORBIDDEN, format!("{}: {e}", p.display())),
    };
    // …and as found, with every symlink resolved.
    let inside = real.strip_prefix(root).ok();
    if inside.is_none_or(dotfile) {
        return text(
            StatusCode::FORBIDDEN,
            format!(
                "{} is outside the served directory {} (start gik serve with --root)",
                p.display(),
                root.display()
            ),
        );
    }
    serve_file(&real, req).await
}

fn config(state: &State) -> Response<Body> {
    let cfg = serde_json::json!({
        "server": "gik serve",
        "version": env!("CARGO_PKG_VERSION"),
        "proxy": state.proxy.as_ref().map(|_| "/proxy?url="),
        "files": state.root.as_ref().map(|_| "/files"),
    });
    let mut r = text(StatusCode::OK, cfg.to_string());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn get(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Is the request's token the server's?
fn has_token(state: &State, req: &Request<Incoming>) -> bool {
    let Some(expected) = &state.token else {
        return true;
    };
    let h = req.headers();
    guard::request_token(
        req.uri().query(),
        get(h, header::AUTHORIZATION),
        get(h, header::COOKIE),
        &guard::cookie_name(state.port),
    )
    .is_some_and(|t| guard::token_matches(&t, expected))
}

/// The data routes: `/files/…`, `/proxy`, `/gik-config.json`.
async fn data(state: &State, req: &Request<Incoming>, path: &str, host: &str) -> Response<Body> {
    let h = req.headers();
    let origin = guard::check_origin(
        get(h, header::ORIGIN),
        h.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        host,
        &state.origins,
    );
    let mut r = match &origin {
        OriginCheck::Refused(o) => text(
            StatusCode::FORBIDDEN,
            format!("{o} is another origin; gik serve answers its own page (or --allow-origin)"),
        ),
        _ if req.method() == Method::OPTIONS => {
            if matches!(origin, OriginCheck::Allowed(_)) {
                let mut r = text(StatusCode::NO_CONTENT, "");
                let h = r.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("Range, Authorization"),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("600"),
                );
                r
            } else {
                text(StatusCode::FORBIDDEN, "no cross-origin requests here")
            }
        }
        _ if !has_token(state, req) => text(
            StatusCode::FORBIDDEN,
            "this needs the token of gik serve: open the url it printed (…/?token=…), \
             or send `Authorization: token …`",
        ),
        _ if path == "/gik-config.json" => config(state),
        _ if path == "/proxy" => match &state.proxy {
            Some(p) => proxy(p, req).await,
            None => text(StatusCode::FORBIDDEN, "the proxy is off (--no-proxy)"),
        },
        _ => files(state, path.strip_prefix("/files/").unwrap_or(""), req).await,
    };
    let h = r.headers_mut();
    // No page of another origin may embed these (<img>, <script>) either.
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let OriginCheck::Allowed(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header_value(&o));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Content-Range, Content-Length, Accept-Ranges"),
        );
    }
    r
}

/// The page: no token needed; a valid `?token=` is kept in a cookie for
/// the page's own requests.
async fn page(state: &State, req: &Request<Incoming>, path: &str) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only");
    }
    let mut r = match state.assets.get(path) {
        None => text(StatusCode::NOT_FOUND, format!("{path}: not found")),
        Some(Asset::File(p)) => serve_file(&p, req).await,
        Some(Asset::Bytes(name, b)) => serve_bytes(b, Path::new(name), req),
    };
    let h = r.headers_mut();
    // The url carries the token: never send it on as a referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(token) = &state.token {
        let given = req.uri().query().and_then(|q| {
            guard::request_token(Some(q), None, None, "").map(std::borrow::Cow::into_owned)
        });
        if given.is_some_and(|t| guard::token_matches(&t, token)) {
            h.insert(
                header::SET_COOKIE,
                header_value(&format!(
                    "{}={token}; Path=/; HttpOnly; SameSite=Strict",
                    guard::cookie_name(state.port)
                )),
            );
        }
    }
    r
}

async fn route(state: &State, req: &Request<Incoming>) -> Response<Body> {
    let host = get(req.headers(), header::HOST).unwrap_or("");
    if !guard::host_allowed(host, state.port, &state.server_names) {
        return text(
            StatusCode::FORBIDDEN,
            format!(
                "Host `{host}` does not name this server; open it by address \
                 (http://127.0.0.1:{}/) or add the name with --server-name",
                state.port
            ),
        );
    }
    let path = percent_decode(req.uri().path());
    let mut r = if path == "/gik-config.json" || path == "/proxy" || path.starts_with("/files/") {
        data(state, req, &path, host).await
    } else {
        page(state, req, &path).await
    };
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let r = route(&state, &req).await;
    if state.verbose {
        eprintln!(
            "{} {} {} → {}",
            req.method(),
            req.uri().path(),
            req.headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            r.status().as_u16()
        );
    }
    Ok(r)
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(cmd)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("gik: cannot open a browser ({cmd}: {e}); open {url} yourself");
    }
}

/// The proxy's settings from the command line.
fn proxy_settings(args: &Args) -> Result<Option<Proxy>> {
    if args.no_proxy {
        return Ok(None);
    }
    let mut allow = guard::default_allow_list();
    for h in &args.allow_host {
        allow.push(Allow::parse(h).map_err(|e| CliError::Usage(format!("--allow-host {e}")))?);
    }
    Ok(Some(Proxy {
        stores: if args.proxy_credentials {
            Stores::default()
        } else {
            Stores::anonymous()
        },
        allow,
        allow_private: args.proxy_allow_private,
        max_bytes: args.proxy_max_mib.saturating_mul(1 << 20),
    }))
}

/// Runs `gik serve` until Ctrl-C.
pub fn run(args: &Args) -> Result<()> {
    let assets = Assets::find(args.web.as_deref())?;
    let root = match &args.root {
        Some(r) => Some(std::fs::canonicalize(r).map_err(CliError::io(r))?),
        None => None,
    };
    let root_given = match &args.root {
        Some(r) => std::path::absolute(r).map_err(CliError::io(r))?,
        None => PathBuf::new(),
    };
    for o in &args.allow_origin {
        if url::Url::parse(o)
            .map(|u| u.origin().ascii_serialization() != *o.trim_end_matches('/'))
            .unwrap_or(true)
        {
            return Err(CliError::Usage(format!(
                "--allow-origin {o}: give an origin, scheme://host[:port], as browsers send it"
            )));
        }
    }
    let token = match &args.token {
        Some(t)
            if t.len() < 16
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            return Err(CliError::Usage(
                "--token: at least 16 characters of [A-Za-z0-9_-]".into(),
            ))
        }
        Some(t) => t.clone(),
        None => {
            guard::new_token().map_err(|e| CliError::Usage(format!("cannot make a token: {e}")))?
        }
    };
    let proxy = proxy_settings(args)?;
    let rt = crate::pipeline::runtime(None, None)?;
    rt.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| CliError::Listen { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| CliError::Listen { addr, source })?;
        let host = if local.ip().is_loopback() || local.ip().is_unspecified() {
            format!("127.0.0.1:{}", local.port())
        } else {
            local.to_string()
        };
        let state = Arc::new(State {
            assets,
            root,
            root_given,
            proxy,
            verbose: args.verbose,
            token: Some(token.clone()),
            port: local.port(),
            server_names: args.server_name.clone(),
            origins: args
                .allow_origin
                .iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
        });
        let url = format!("http://{host}/?token={token}");
        // The first line of stdout is the url (tests read it).
        println!("{url}");
        eprintln!(
            "gik: serving the page from {}; {}; {}; Ctrl-C stops",
            state.assets.describe(),
            state.root.as_ref().map_or_else(
                || "no local files (--root DIR serves them)".to_string(),
                |r| format!("local files below {} at /files/…", r.display())
            ),
            if state.proxy.is_some() {
                "range proxy at /proxy?url=… (ECMWF's mirrors; --allow-host adds more)"
            } else {
                "no proxy"
            }
        );
        if args.open {
            open_browser(&url);
        }
        tokio::select! {
            () = accept_loop(listener, state) => Ok(()),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// Serves connections on `listener` until the task is dropped.
async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Serves the local files below `root` at `http://127.0.0.1:PORT/files/<absolute
/// path>` on a free loopback port, without a token, on the current tokio
/// runtime (for tests of the readers against a real HTTP server); returns
/// the base url.
#[cfg(test)]
pub(crate) async fn serve_files(root: &Path) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let state = Arc::new(State {
        assets: Assets::Dir(root.to_path_buf()),
        root: Some(root.canonicalize()?),
        root_given: std::path::absolute(root)?,
        proxy: None,
        verbose: false,
        token: None,
        port,
        server_names: Vec::new(),
        origins: Vec::new(),
    });
    tokio::spawn(accept_loop(listener, state));
    Ok(format!("http://127.0.0.1:{port}/files"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The native reader (gik-store's `Sources`) keeps the core's
    /// `RangeReader` contract for a local path, a `file://` url and a real
    /// HTTP server on loopback (this file handler, through object_store's
    /// HTTP client).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::unwrap_used, clippy::panic)]
    async fn sources_keep_the_range_reader_contract() {
        let dir = std::env::temp_dir().join(format!("gik-reader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 253) as u8).collect();
        let file = dir.join("object.bin");
        std::fs::write(&file, &data).unwrap();
        let path = file.to_string_lossy().into_owned();
        let missing = dir.join("missing.bin").to_string_lossy().into_owned();
        let base = serve_files(&dir).await.unwrap();
        let sources = gik_store::Sources::default();
        let cases = [
            (path.clone(), missing.clone()),
            (format!("file://{path}"), format!("file://{missing}")),
            (format!("{base}{path}"), format!("{base}{missing}")),
        ];
        for (location, missing) in &cases {
            gik_core::io::check_reader(&sources, location, &data, missing)
                .await
                .unwrap_or_else(|e| panic!("{location}: {e}"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(parse_range(None, Some(10)), Wanted::Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), Some(10)), Wanted::Part(0..4));
        assert_eq!(parse_range(Some("bytes=5-"), Some(10)), Wanted::Part(5..10));
        assert_eq!(parse_range(Some("bytes=-3"), Some(10)), Wanted::Part(7..10));
        assert_eq!(
            parse_range(Some("bytes=8-100"), Some(10)),
            Wanted::Part(8..10)
        );
        assert_eq!(
            parse_range(Some("bytes=10-12"), Some(10)),
            Wanted::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), Some(10)), Wanted::Whole);
        assert_eq!(parse_range(Some("bytes=2-5"), None), Wanted::Part(2..6));
    }

    #[test]
    fn paths_never_leave_their_base() {
        assert_eq!(
            below(Path::new("/srv/web"), "/pkg/gik_wasm.js"),
            Some(PathBuf::from("/srv/web/pkg/gik_wasm.js"))
        );
        assert_eq!(below(Path::new("/srv/web"), "/../etc/passwd"), None);
        assert_eq!(percent_decode("/a%20b%2Fc"), "/a b/c");
        assert_eq!(
            query_param("x=1&url=s3%3A%2F%2Fb%2Fk", "url").as_deref(),
            Some("s3://b/k")
        );
    }
}
