//! `gik serve [--port N] [--open]`: one command for the browser side. It
//! serves
//!
//! - the page (`web/`) and the wasm package it loads (`web/pkg/`),
//! - local files below `--root` at `/files/<absolute path>`, with HTTP
//!   Range, so references written by `gik scan` for local files work as they are,
//! - a range proxy at `/proxy?url=<url>` for remote objects (`https://`,
//!   `s3://`, `gs://`, `az://`), read with the same object-store code as the
//!   other commands, answered with CORS headers: ECMWF's mirrors do not
//!   promise CORS, so a page cannot always read them directly,
//! - `/gik-config.json`, which tells the page about the two routes above.
//!
//! It listens on loopback by default; every answer carries
//! `Access-Control-Allow-Origin: *`.

use crate::store::{is_url, StoreError, Stores};
use crate::{CliError, Result};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

type Body = BoxBody<Bytes, std::io::Error>;

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
    /// Directory of the page (default: `web/` here or next to the gik sources).
    #[arg(long)]
    pub web: Option<PathBuf>,
    /// Local files below this directory are served at `/files/<absolute path>`.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Do not proxy remote urls.
    #[arg(long)]
    pub no_proxy: bool,
    /// Print one line per request.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

struct State {
    web: PathBuf,
    root: PathBuf,
    proxy: bool,
    verbose: bool,
    stores: Stores,
}

fn find_web(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = arg {
        if dir.join("index.html").is_file() {
            return Ok(dir.to_path_buf());
        }
        return Err(CliError::Usage(format!(
            "--web {}: no index.html there",
            dir.display()
        )));
    }
    let candidates = [
        std::env::var_os("GIK_WEB").map(PathBuf::from),
        Some(PathBuf::from("web")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("index.html").is_file())
        .ok_or_else(|| {
            CliError::Usage(
                "cannot find the page (web/index.html); run from the gik checkout or pass --web DIR"
                    .into(),
            )
        })
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

fn with_cors(mut r: Response<Body>) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Range, Content-Length, Accept-Ranges"),
    );
    r
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
    let size = meta.len();
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (status, range) = match parse_range(range_header, Some(size)) {
        Wanted::Whole => (StatusCode::OK, 0..size),
        Wanted::Part(r) => (StatusCode::PARTIAL_CONTENT, r),
        Wanted::Unsatisfiable => {
            let mut r = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return r;
        }
    };
    let body = if req.method() == Method::HEAD {
        full(Bytes::new())
    } else {
        file_body(Arc::new(file), range.clone())
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
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

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

/// The range proxy: reads a remote object with the object-store code of
/// the other commands and answers with CORS headers.
async fn proxy(state: &State, req: &Request<Incoming>) -> Response<Body> {
    if !state.proxy {
        return text(StatusCode::FORBIDDEN, "the proxy is off (--no-proxy)");
    }
    let Some(url) = req.uri().query().and_then(|q| query_param(q, "url")) else {
        return text(
            StatusCode::BAD_REQUEST,
            "usage: /proxy?url=<url-encoded https://, s3://, gs:// or az:// url>",
        );
    };
    if !is_url(&url) || url.starts_with("file://") {
        return text(
            StatusCode::FORBIDDEN,
            format!("{url}: the proxy reads remote objects only (local files are under /files)"),
        );
    }
    let mut src = match state.stores.open(&url).await {
        Ok(s) => s,
        Err(e) => return store_error(&e),
    };
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A suffix range needs the size first.
    let size = if range_header.as_deref().is_some_and(|h| h.contains("=-")) {
        match src.len().await {
            Ok(n) => Some(n),
            Err(e) => return store_error(&e),
        }
    } else {
        None
    };
    let (status, read, range) = match parse_range(range_header.as_deref(), size) {
        Wanted::Whole => (StatusCode::OK, src.read_all().await, None),
        Wanted::Part(r) => (
            StatusCode::PARTIAL_CONTENT,
            src.read(r.clone()).await,
            Some(r),
        ),
        Wanted::Unsatisfiable => {
            return text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
        }
    };
    let bytes = match read {
        Ok(b) => b,
        Err(e) => return store_error(&e),
    };
    let len = bytes.len();
    let mut r = Response::new(if req.method() == Method::HEAD {
        full(Bytes::new())
    } else {
        full(bytes)
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, header_value(&len.to_string()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(r) = range {
        let total = size.map_or_else(|| "*".to_string(), |s| s.to_string());
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!(
                "bytes {}-{}/{total}",
                r.start,
                r.start + len as u64 - 1
            )),
        );
    }
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

async fn route(state: &State, req: &Request<Incoming>) -> Response<Body> {
    if req.method() == Method::OPTIONS {
        let mut r = text(StatusCode::NO_CONTENT, "");
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Range"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        return r;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET, HEAD or OPTIONS only");
    }
    let path = percent_decode(req.uri().path());
    if path == "/gik-config.json" {
        let cfg = serde_json::json!({
            "server": "gik serve",
            "version": env!("CARGO_PKG_VERSION"),
            "proxy": state.proxy.then_some("/proxy?url="),
            "files": "/files",
        });
        let mut r = text(StatusCode::OK, cfg.to_string());
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return r;
    }
    if path == "/proxy" {
        return proxy(state, req).await;
    }
    if let Some(abs) = path.strip_prefix("/files/") {
        let Some(p) = below(Path::new("/"), abs) else {
            return text(StatusCode::FORBIDDEN, "`..` is not allowed");
        };
        if !p.starts_with(&state.root) {
            return text(
                StatusCode::FORBIDDEN,
                format!(
                    "{} is outside the served directory {} (start gik serve with --root)",
                    p.display(),
                    state.root.display()
                ),
            );
        }
        return serve_file(&p, req).await;
    }
    let rel = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path
    };
    match below(&state.web, &rel) {
        Some(p) => serve_file(&p, req).await,
        None => text(StatusCode::FORBIDDEN, "`..` is not allowed"),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let r = with_cors(route(&state, &req).await);
    if state.verbose {
        eprintln!(
            "{} {} {} → {}",
            req.method(),
            req.uri(),
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

/// Runs `gik serve` until Ctrl-C.
pub fn run(args: &Args) -> Result<()> {
    let web = find_web(args.web.as_deref())?;
    let root = std::path::absolute(&args.root).map_err(CliError::io(&args.root))?;
    if !web.join("pkg/gik_wasm.js").is_file() {
        eprintln!(
            "gik: warning: {} has no wasm package yet; build it with scripts/build_wasm.sh",
            web.join("pkg").display()
        );
    }
    let state = Arc::new(State {
        web,
        root,
        proxy: !args.no_proxy,
        verbose: args.verbose,
        stores: Stores::default(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let addr = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}")))?;
        let host = if local.ip().is_loopback() || local.ip().is_unspecified() {
            format!("127.0.0.1:{}", local.port())
        } else {
            local.to_string()
        };
        let url = format!("http://{host}/");
        // The first line of stdout is the url (tests read it).
        println!("{url}");
        eprintln!(
            "gik: serving the page from {}, local files below {} at /files/…, {}; Ctrl-C stops",
            state.web.display(),
            state.root.display(),
            if state.proxy {
                "range proxy at /proxy?url=…"
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
/// path>` on a free loopback port, on the current tokio runtime (for tests of
/// the readers against a real HTTP server); returns the base url.
#[cfg(test)]
pub(crate) async fn serve_files(root: &Path) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let state = Arc::new(State {
        web: root.to_path_buf(),
        root: root.to_path_buf(),
        proxy: false,
        verbose: false,
        stores: Stores::default(),
    });
    tokio::spawn(accept_loop(listener, state));
    Ok(format!("http://127.0.0.1:{port}/files"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
