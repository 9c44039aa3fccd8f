//! `gik serve` as a user starts it, probed with raw HTTP on loopback: who
//! may use it (Host, Origin, token), what `/files` serves, and what the
//! proxy refuses or forwards. Every request goes to 127.0.0.1; addresses
//! the proxy must refuse beyond loopback are unit-tested in
//! `cmd/serve/guard.rs`, never contacted.

// (helpers outside #[test] functions may fail loudly too)
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running `gik serve`, stopped on drop.
struct Server {
    child: Child,
    port: u16,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], env: &[(&str, &str)]) -> Server {
    let web = tempdir("web");
    std::fs::write(web.join("index.html"), "<!doctype html><title>gik</title>").unwrap();
    std::fs::write(web.join(".hidden"), "no").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gik"));
    cmd.args(["serve", "--port", "0", "--web"])
        .arg(&web)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // http://127.0.0.1:PORT/?token=TOKEN
    let rest = line
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| {
            panic!("gik serve printed {line:?}");
        });
    let (port, token) = rest.split_once("/?token=").unwrap();
    Server {
        child,
        port: port.parse().unwrap(),
        token: token.to_string(),
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("gik-serve-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.canonicalize().unwrap()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with exactly these headers
/// (`Host` included, so tests can send a foreign one).
fn request(port: u16, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn get(srv: &Server, target: &str, extra: &[(&str, &str)]) -> Reply {
    let host = format!("127.0.0.1:{}", srv.port);
    let mut h = vec![("Host", host.as_str())];
    h.extend_from_slice(extra);
    request(srv.port, "GET", target, &h)
}

fn with_token(srv: &Server, target: &str) -> String {
    let sep = if target.contains('?') { '&' } else { '?' };
    format!("{target}{sep}token={}", srv.token)
}

fn encode(url: &str) -> String {
    url.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_foreign_host_header_is_refused_everywhere() {
    let srv = serve(&[], &[]);
    let port = srv.port;
    for target in ["/", "/gik-config.json"] {
        for host in [
            "evil.example".to_string(),
            format!("evil.example:{port}"),
            format!("127.0.0.1.nip.io:{port}"),
            format!("127.0.0.1:{}", port.wrapping_add(1)),
        ] {
            let r = request(port, "GET", &with_token(&srv, target), &[("Host", &host)]);
            assert_eq!(r.status, 403, "{target} with Host {host}: {}", r.text());
            assert!(
                r.text().contains("does not name this server"),
                "{}",
                r.text()
            );
        }
    }
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let r = request(port, "GET", "/", &[("Host", &host)]);
        assert_eq!(r.status, 200, "Host {host}");
    }
    let r = request(port, "GET", "/", &[]);
    assert_eq!(r.status, 403, "no Host at all");
}

#[test]
fn data_routes_need_the_token_and_the_pages_own_origin() {
    let srv = serve(&["--allow-origin", "https://dash.example"], &[]);
    let own = format!("http://127.0.0.1:{}", srv.port);

    // The page itself needs no token; with a valid one it gets the cookie.
    let page = get(&srv, "/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.header("set-cookie").is_none());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let page = get(&srv, &with_token(&srv, "/"), &[]);
    let cookie = page.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert!(get(&srv, "/?token=wrong", &[])
        .header("set-cookie")
        .is_none());
    assert_eq!(get(&srv, "/.hidden", &[]).status, 404);

    let cfg = get(&srv, "/gik-config.json", &[]);
    assert_eq!(cfg.status, 403);
    assert!(cfg.text().contains("token"), "{}", cfg.text());
    assert_eq!(get(&srv, "/gik-config.json?token=wrong", &[]).status, 403);
    for r in [
        get(&srv, &with_token(&srv, "/gik-config.json"), &[]),
        get(&srv, "/gik-config.json", &[("Cookie", &cookie)]),
        get(
            &srv,
            "/gik-config.json",
            &[("Authorization", &format!("token {}", srv.token))],
        ),
        get(
            &srv,
            "/gik-config.json",
            &[
                ("Cookie", &cookie),
                ("Origin", &own),
                ("Sec-Fetch-Site", "same-origin"),
            ],
        ),
    ] {
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("access-control-allow-origin").is_none());
        assert_eq!(
            r.header("cross-origin-resource-policy"),
            Some("same-origin")
        );
        // no --root: the page is told there are no local files
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["files"], serde_json::Value::Null);
        assert_eq!(v["proxy"], "/proxy?url=");
    }

    // Another origin — another loopback port too — is refused even with the token.
    for (origin, site) in [
        (
            format!("http://127.0.0.1:{}", srv.port.wrapping_add(1)),
            "same-site",
        ),
        ("https://evil.example".to_string(), "cross-site"),
        ("null".to_string(), "cross-site"),
    ] {
        let r = get(
            &srv,
            &with_token(&srv, "/gik-config.json"),
            &[("Origin", &origin), ("Sec-Fetch-Site", site)],
        );
        assert_eq!(r.status, 403, "{origin}");
        assert!(r.header("access-control-allow-origin").is_none());
    }
    // An <img>/<script> load from another site (no Origin) is refused too.
    let r = get(
        &srv,
        "/gik-config.json",
        &[("Cookie", &cookie), ("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(r.status, 403);

    // An allowed origin gets CORS headers, and still needs the token.
    let dash = [
        ("Origin", "https://dash.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    let r = get(&srv, "/gik-config.json", &dash);
    assert_eq!(r.status, 403);
    let auth = format!("token {}", srv.token);
    let r = get(
        &srv,
        "/gik-config.json",
        &[dash[0], dash[1], ("Authorization", &auth)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    let host = format!("127.0.0.1:{}", srv.port);
    let pre = request(
        srv.port,
        "OPTIONS",
        "/proxy",
        &[
            ("Host", &host),
            dash[0],
            ("Access-Control-Request-Headers", "authorization,range"),
        ],
    );
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://dash.example")
    );
    let pre = request(
        srv.port,
        "OPTIONS",
        "/proxy",
        &[("Host", &host), ("Origin", "https://evil.example")],
    );
    assert_eq!(pre.status, 403);
    assert!(pre.header("access-control-allow-origin").is_none());
}

#[test]
fn files_are_served_only_below_root_without_dotfiles_or_symlink_escapes() {
    let root = tempdir("root");
    std::fs::write(root.join("refs.json"), "{}").unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/a.grib2"), "GRIB-ish").unwrap();
    std::fs::write(root.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir(root.join("refs-dir")).unwrap();
    std::fs::write(root.join("refs-dir/.zmetadata"), "{}").unwrap();
    std::fs::create_dir(root.join(".git")).unwrap();
    std::fs::write(root.join(".git/config"), "[core]").unwrap();
    let outside = tempdir("outside");
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape-dir")).unwrap();
    std::os::unix::fs::symlink(root.join(".env"), root.join("env-link")).unwrap();
    std::os::unix::fs::symlink(root.join("sub/a.grib2"), root.join("inside-link")).unwrap();

    let none = serve(&[], &[]);
    let r = get(
        &none,
        &with_token(&none, &format!("/files{}/refs.json", root.display())),
        &[],
    );
    assert_eq!(r.status, 403, "no --root, no files");
    assert!(r.text().contains("--root"), "{}", r.text());
    drop(none);

    let srv = serve(&["--root", root.to_str().unwrap()], &[]);
    let f = |p: &str| with_token(&srv, &format!("/files{}{p}", root.display()));
    let ok = get(&srv, &f("/sub/a.grib2"), &[("Range", "bytes=0-3")]);
    assert_eq!((ok.status, ok.text().as_str()), (206, "GRIB"));
    assert_eq!(get(&srv, &f("/inside-link"), &[]).status, 200);
    // zarr's metadata files are the one kind of dotfile served
    assert_eq!(get(&srv, &f("/refs-dir/.zmetadata"), &[]).status, 200);
    assert_eq!(get(&srv, &f("/nope"), &[]).status, 404);
    assert_eq!(
        get(&srv, "/files/etc/hostname", &[]).status,
        403,
        "no token"
    );
    for (p, why) in [
        ("/../outside/secret.txt", "`..`"),
        ("/sub/%2e%2e/%2e%2e/outside/secret.txt", "`..`"),
        ("/.env", "dotfiles"),
        ("/%2eenv", "dotfiles"),
        ("/.git/config", "dotfiles"),
        ("/escape.txt", "outside"),
        ("/escape-dir/secret.txt", "outside"),
        ("/env-link", "outside"),
    ] {
        let r = get(&srv, &f(p), &[]);
        assert_eq!(r.status, 403, "{p}: {}", r.text());
        assert!(r.text().contains(why), "{p}: {}", r.text());
    }
    let r = get(&srv, &with_token(&srv, "/files/etc/passwd"), &[]);
    assert_eq!(r.status, 403);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&outside);
}

#[test]
fn the_proxy_refuses_unlisted_hosts_loopback_and_requests_without_a_range() {
    let srv = serve(
        &["--allow-host", "127.0.0.1", "--allow-host", "localhost"],
        &[],
    );
    let p = |url: &str| with_token(&srv, &format!("/proxy?url={}", encode(url)));
    let range = [("Range", "bytes=0-9")];
    for (url, status, why) in [
        (
            "https://data.example.invalid/x.grib2",
            403,
            "not on the proxy's allow-list",
        ),
        (
            "s3://someone-elses-bucket/x",
            403,
            "not on the proxy's allow-list",
        ),
        ("file:///etc/passwd", 403, "reads https"),
        (
            "http://127.0.0.1:1/x",
            403,
            "resolves to 127.0.0.1, a loopback",
        ),
        ("http://localhost:1/x", 403, "a loopback"),
    ] {
        let r = get(&srv, &p(url), &range);
        assert_eq!(r.status, status, "{url}: {}", r.text());
        assert!(r.text().contains(why), "{url}: {}", r.text());
    }
    let r = get(&srv, &p("http://127.0.0.1:1/x"), &[]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("Range"), "{}", r.text());
    let r = get(
        &srv,
        &p("http://127.0.0.1:1/x"),
        &[("Range", "bytes=0-1,5-6")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let host = format!("127.0.0.1:{}", srv.port);
    let r = request(
        srv.port,
        "POST",
        &p("http://127.0.0.1:1/x"),
        &[("Host", &host)],
    );
    assert_eq!(r.status, 405);
}

/// A stand-in object server on loopback that answers every GET with the
/// asked range of `OBJECT` and records the requests' headers.
fn recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    const OBJECT: &[u8] = b"GRIB0123456789abcdef";
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                head.push_str(&l);
            }
            let range = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("range: bytes=")
                    .map(str::to_string)
            });
            let (a, b) = range
                .and_then(|r| {
                    let (a, b) = r.trim().split_once('-')?;
                    Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
                })
                .unwrap_or((0, OBJECT.len() - 1));
            let b = b.min(OBJECT.len() - 1);
            log.lock().unwrap().push(head);
            let body = &OBJECT[a..=b];
            let reply = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\n\
                 ETag: \"1\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\nConnection: close\r\n\r\n",
                body.len(),
                OBJECT.len()
            );
            let _ = s.write_all(reply.as_bytes());
            let _ = s.write_all(body);
        }
    });
    (port, seen)
}

#[test]
fn the_proxy_reads_an_allowed_internal_mirror_anonymously_unless_asked() {
    let (port, seen) = recorder();
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDGIKTEST"),
        ("AWS_SECRET_ACCESS_KEY", "gik-test-secret"),
        ("AWS_REGION", "us-east-1"),
    ];
    let common = [
        "--allow-host",
        "s3://test-bucket",
        "--allow-host",
        "127.0.0.1",
        "--proxy-allow-private",
    ];
    let authorization = |head: &str| {
        head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("authorization:")
                .map(|v| v.trim().to_string())
        })
    };
    let s3 = format!("/proxy?url={}", encode("s3://test-bucket/20260601/x.grib2"));
    let http = format!("/proxy?url={}", encode(&format!("{endpoint}/x.grib2")));

    let srv = serve(&common, &env);
    for target in [&s3, &http] {
        let r = get(&srv, &with_token(&srv, target), &[("Range", "bytes=0-3")]);
        assert_eq!((r.status, r.text().as_str()), (206, "GRIB"), "{target}");
        assert_eq!(r.header("content-range"), Some("bytes 0-3/*"));
    }
    // a suffix range: the size comes first
    let r = get(&srv, &with_token(&srv, &http), &[("Range", "bytes=-4")]);
    assert_eq!((r.status, r.text().as_str()), (206, "cdef"), "{}", r.text());
    let heads = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        heads
            .iter()
            .any(|h| h.contains("/test-bucket/20260601/x.grib2")),
        "{heads:?}"
    );
    for h in &heads {
        assert_eq!(authorization(h), None, "anonymous by default: {h}");
        assert!(!h.contains("AKIDGIKTEST"), "{h}");
    }
    drop(srv);

    let mut with = common.to_vec();
    with.push("--proxy-credentials");
    let srv = serve(&with, &env);
    let r = get(&srv, &with_token(&srv, &s3), &[("Range", "bytes=4-7")]);
    assert_eq!((r.status, r.text().as_str()), (206, "0123"));
    let heads = std::mem::take(&mut *seen.lock().unwrap());
    let auth = heads
        .iter()
        .find_map(|h| authorization(h))
        .unwrap_or_default();
    assert!(
        auth.starts_with("aws4-hmac-sha256") && auth.contains("akidgiktest"),
        "{heads:?}"
    );
    drop(srv);

    // Bounded: more than --proxy-max-mib is refused before anything is read.
    let mut small = common.to_vec();
    small.extend(["--proxy-max-mib", "0"]);
    let srv = serve(&small, &env);
    let r = get(&srv, &with_token(&srv, &s3), &[("Range", "bytes=0-3")]);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn bad_settings_are_usage_errors() {
    for args in [
        &["--allow-host", "a/b"][..],
        &["--allow-origin", "dash.example"],
        &["--token", "short"],
        &["--root", "/nonexistent/gik-root"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gik"))
            .args(["serve", "--port", "0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty(), "{args:?}");
    }
}
