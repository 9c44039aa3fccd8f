//! A fast HTTP/1.1 file server on loopback with Range support and fault
//! injection, for gik's remote-read tests and benchmarks (the Python
//! `tests/helpers/range_server.py` has the same interface but spends ~1 ms of
//! CPU per request, which dominates benchmarks of thousands of requests).
//!
//! `cargo run --release -p gik-cli --example range_server -- ROOT [--port 0]
//! [--delay-ms 30] [--fail-rate 0.1] [--truncate-rate 0] [--seed 1] [--cors]`
//!
//! Prints `PORT <n>` once listening; `GET /__requests` answers how many
//! requests it has served. Every request waits --delay-ms first;
//! --fail-rate of requests get 503; --truncate-rate of ranged responses send
//! half their announced body and close the connection.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Opts {
    root: PathBuf,
    delay: Duration,
    fail_rate: f64,
    truncate_rate: f64,
    cors: bool,
    rng: AtomicU64,
    /// Requests answered (but `GET /__requests`, which returns this count).
    served: AtomicU64,
}

impl Opts {
    /// splitmix64: deterministic for a seed, shared by all connections.
    fn random(&self) -> f64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn reply(status: StatusCode, body: Bytes, opts: &Opts) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    if opts.cors {
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
    }
    r
}

async fn handle(
    req: Request<Incoming>,
    opts: Arc<Opts>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/__requests" {
        let n = opts.served.load(Ordering::Relaxed);
        return Ok(reply(StatusCode::OK, Bytes::from(n.to_string()), &opts));
    }
    opts.served.fetch_add(1, Ordering::Relaxed);
    if !opts.delay.is_zero() {
        tokio::time::sleep(opts.delay).await;
    }
    if opts.random() < opts.fail_rate {
        return Ok(reply(StatusCode::SERVICE_UNAVAILABLE, Bytes::new(), &opts));
    }
    let truncate = opts.random() < opts.truncate_rate;
    let rel = req.uri().path().trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Ok(reply(StatusCode::FORBIDDEN, Bytes::new(), &opts));
    }
    let path = opts.root.join(rel);
    let Ok(file) = std::fs::File::open(&path) else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::new(), &opts));
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (mut start, mut end, mut status) = (0, size.saturating_sub(1), StatusCode::OK);
    if let Some(r) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        let spec = r.trim().strip_prefix("bytes=").unwrap_or("");
        let (a, b) = spec.split_once('-').unwrap_or(("", ""));
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) => (start, end) = (a, b.min(size.saturating_sub(1))),
            (Ok(a), Err(_)) => start = a,
            (Err(_), Ok(b)) => start = size.saturating_sub(b),
            _ => {
                return Ok(reply(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    Bytes::new(),
                    &opts,
                ))
            }
        }
        if start >= size || start > end {
            return Ok(reply(
                StatusCode::RANGE_NOT_SATISFIABLE,
                Bytes::new(),
                &opts,
            ));
        }
        status = StatusCode::PARTIAL_CONTENT;
    }
    let len = if size == 0 { 0 } else { end - start + 1 };
    let head = req.method() == Method::HEAD;
    let mut body = vec![
        0u8;
        if head {
            0
        } else {
            usize::try_from(len).unwrap_or(0)
        }
    ];
    if file.read_exact_at(&mut body, start).is_err() {
        return Ok(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::new(),
            &opts,
        ));
    }
    if truncate && status == StatusCode::PARTIAL_CONTENT && body.len() > 1 {
        // Announce the full length, send half: the client sees a cut body.
        body.truncate(body.len() / 2);
    }
    let mut r = reply(status, Bytes::from(body), &opts);
    let h = r.headers_mut();
    h.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    h.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = header::HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(r)
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: range_server ROOT [--port N] [--delay-ms MS] [--fail-rate F] [--truncate-rate F] [--seed N] [--cors]");
        std::process::exit(2);
    };
    let opts = Arc::new(Opts {
        root: PathBuf::from(root),
        delay: Duration::from_secs_f64(arg(&args, "--delay-ms", 0.0) / 1000.0),
        fail_rate: arg(&args, "--fail-rate", 0.0),
        truncate_rate: arg(&args, "--truncate-rate", 0.0),
        cors: args.iter().any(|a| a == "--cors"),
        rng: AtomicU64::new(arg(&args, "--seed", 1u64)),
        served: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", arg(&args, "--port", 0u16))).await?;
    println!("PORT {}", listener.local_addr()?.port());
    loop {
        let (stream, _) = listener.accept().await?;
        let opts = opts.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, opts.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
