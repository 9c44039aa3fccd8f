//! `gik-store`: where bytes come from natively. Local files (positional
//! reads) and object stores (S3, GCS, Azure, HTTP via `object_store`),
//! behind one small type with `len`, `read` (a byte range), `read_batch` and
//! `read_all`, and [`Sources`], the native [`RangeReader`] shared by the
//! command line (`gik-cli`) and the Python package (`gik-python`).
//!
//! Reads are async on tokio: the caller owns the runtime (the CLI's
//! `#[tokio::main]`, the Python extension's own runtime). Local reads run on
//! tokio's blocking pool. The reader contract test (`check_reader` over a
//! local path, `file://` and HTTP on loopback) runs in `gik-cli`, whose
//! `gik serve` file handler is the HTTP server.
//!
//! S3 is anonymous unless credentials are in the environment
//! (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, …), and the bucket's region
//! is found automatically when `AWS_REGION` is not set. `AWS_ENDPOINT_URL`
//! points at another S3 server (MinIO, moto). Retries with exponential
//! backoff on 5xx and timeouts come from `object_store`'s retry policy.

use bytes::Bytes;
use gik_core::io::{BoxFuture, RangeReader, ReadError, ReadErrorKind};
use gik_core::scan::{Executor, TaskError};
use object_store::path::Path as ObjPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A failed read, naming what and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The location is not a path or a supported URL.
    #[error("{location}: {reason}")]
    BadLocation { location: String, reason: String },
    /// The object or file does not exist.
    #[error("{location}: not found")]
    NotFound { location: String },
    /// A local file could not be read.
    #[error("{location}: {source}")]
    Io {
        location: String,
        #[source]
        source: std::io::Error,
    },
    /// An object store request failed (after retries).
    #[error("{location}: bytes {}-{}: {source}", range.start, range.end)]
    Fetch {
        location: String,
        range: Range<u64>,
        #[source]
        source: object_store::Error,
    },
    /// Fewer bytes came back than were asked for.
    #[error("{location}: asked for bytes {}-{}, got {got}", range.start, range.end)]
    Short {
        location: String,
        range: Range<u64>,
        got: u64,
    },
}

enum Inner {
    Local(Arc<std::fs::File>),
    Object {
        store: Arc<dyn ObjectStore>,
        path: ObjPath,
    },
}

/// One readable object: a local file or a remote object.
#[derive(Clone)]
pub struct Source {
    /// The location as it goes into references (absolute path or URL).
    pub url: String,
    inner: Arc<Inner>,
    size: Option<u64>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("url", &self.url).finish()
    }
}

/// Opens stores once per bucket/origin and reuses them.
#[derive(Default)]
pub struct Stores {
    cache: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    /// Never sign requests, whatever credentials the environment holds
    /// (`gik serve`'s proxy without `--proxy-credentials`).
    anonymous: bool,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

/// rustls' cryptography (ring) for every HTTPS client, installed once
/// before the first store is built (see the workspace Cargo.toml for why
/// ring and not aws-lc-rs).
fn install_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_timeout(Duration::from_secs(60))
        .with_connect_timeout(Duration::from_secs(10))
}

fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 8,
        retry_timeout: Duration::from_secs(120),
        ..RetryConfig::default()
    }
}

fn env_has(key: &str) -> bool {
    std::env::var_os(key).is_some_and(|v| !v.is_empty())
}

fn env_true(key: &str) -> bool {
    std::env::var(key)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The environment's `PREFIX_*` settings applied (again) over a builder
/// made `from_env` and given gik's client defaults (timeouts), so that what
/// the user set wins: `with_client_options` replaces the whole client
/// configuration `from_env` read (`AZURE_ALLOW_HTTP`, `GOOGLE_ALLOW_HTTP`,
/// `*_TIMEOUT`, proxies), which made any `http://` endpoint fail with "URL
/// scheme is not allowed".
fn env_over<B, K: std::str::FromStr>(prefix: &str, mut b: B, set: impl Fn(B, K, String) -> B) -> B {
    // (`vars_os`: `vars` panics on a variable that is not UTF-8; such a
    // one is skipped, as `from_env` skips it)
    for (key, value) in std::env::vars_os() {
        let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
            continue;
        };
        if key.starts_with(prefix) {
            if let Ok(k) = key.to_ascii_lowercase().parse::<K>() {
                b = set(b, k, value.to_string());
            }
        }
    }
    b
}

/// Seconds since 1970 now (UTC): the clock an open-data request's `latest`
/// is given (the core has none).
#[must_use]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A request's mirror as references name its objects: a local root (a
/// path or `file://`) made absolute; named mirrors and URLs as they are.
///
/// # Errors
/// A path whose absolute form cannot be found.
pub fn absolute_mirror(
    mirror: gik_core::request::Mirror,
) -> Result<gik_core::request::Mirror, StoreError> {
    use gik_core::request::Mirror;
    match mirror {
        Mirror::Root(root) if !is_url(&root) || root.starts_with("file://") => Ok(Mirror::Root(
            reference_url(&root)?.trim_end_matches('/').to_string(),
        )),
        m => Ok(m),
    }
}

/// Is `location` a URL with a scheme we read (rather than a local path)?
#[must_use]
pub fn is_url(location: &str) -> bool {
    [
        "s3://", "gs://", "az://", "abfs://", "abfss://", "http://", "https://", "file://",
    ]
    .iter()
    .any(|p| location.starts_with(p))
}

/// The location as references name it: an absolute path for a local path
/// or `file://` url, the url itself otherwise.
///
/// # Errors
/// A local path whose absolute form cannot be found.
pub fn reference_url(location: &str) -> Result<String, StoreError> {
    if is_url(location) && !location.starts_with("file://") {
        return Ok(location.to_string());
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    std::path::absolute(PathBuf::from(path))
        .map(|abs| abs.to_string_lossy().into_owned())
        .map_err(|source| StoreError::Io {
            location: location.to_string(),
            source,
        })
}

impl ReadError for StoreError {
    fn kind(&self) -> ReadErrorKind {
        match self {
            Self::NotFound { .. } => ReadErrorKind::NotFound,
            Self::Fetch {
                source: object_store::Error::PermissionDenied { .. },
                ..
            } => ReadErrorKind::Denied,
            _ => ReadErrorKind::Other,
        }
    }
}

impl Stores {
    /// Stores that never use the environment's credentials: every request
    /// is anonymous.
    #[must_use]
    pub fn anonymous() -> Self {
        Self {
            anonymous: true,
            ..Self::default()
        }
    }

    /// Should requests go unsigned: asked for, or no credentials given in
    /// `keys` (and the user did not set `skip` either way).
    fn unsigned(&self, keys: &[&str], skip: &str) -> bool {
        self.anonymous || (!env_has(skip) && !keys.iter().any(|k| env_has(k)))
    }

    async fn store_for(&self, url: &url::Url) -> Result<Arc<dyn ObjectStore>, StoreError> {
        install_tls();
        let key = format!("{}://{}", url.scheme(), url.authority());
        if let Some(s) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(s);
        }
        let bad = |reason: String| StoreError::BadLocation {
            location: url.to_string(),
            reason,
        };
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "s3" => {
                let bucket = url.host_str().ok_or_else(|| bad("no bucket".into()))?;
                // (the bucket named by the url wins over `AWS_BUCKET`)
                let mut b = env_over(
                    "AWS_",
                    object_store::aws::AmazonS3Builder::from_env()
                        .with_client_options(client_options())
                        .with_retry(retry()),
                    |b, k: object_store::aws::AmazonS3ConfigKey, v| b.with_config(k, v),
                )
                .with_bucket_name(bucket);
                if self.unsigned(&["AWS_ACCESS_KEY_ID"], "AWS_SKIP_SIGNATURE") {
                    b = b.with_skip_signature(true);
                }
                let endpoint = std::env::var("AWS_ENDPOINT_URL")
                    .or_else(|_| std::env::var("AWS_ENDPOINT"))
                    .ok();
                if let Some(ep) = &endpoint {
                    b = b
                        .with_endpoint(ep)
                        .with_allow_http(ep.starts_with("http://"));
                }
                if !env_has("AWS_REGION") && !env_has("AWS_DEFAULT_REGION") && endpoint.is_none() {
                    if let Ok(region) =
                        object_store::aws::resolve_bucket_region(bucket, &client_options()).await
                    {
                        b = b.with_region(region);
                    }
                }
                Arc::new(b.build().map_err(|e| bad(e.to_string()))?)
            }
            "gs" => {
                let bucket = url.host_str().ok_or_else(|| bad("no bucket".into()))?;
                // (the bucket named by the url wins over `GOOGLE_BUCKET`)
                let mut b = env_over(
                    "GOOGLE_",
                    object_store::gcp::GoogleCloudStorageBuilder::from_env()
                        .with_client_options(client_options())
                        .with_retry(retry()),
                    |b, k: object_store::gcp::GoogleConfigKey, v| b.with_config(k, v),
                )
                .with_bucket_name(bucket);
                if self.unsigned(
                    &[
                        "GOOGLE_APPLICATION_CREDENTIALS",
                        "GOOGLE_SERVICE_ACCOUNT",
                        "GOOGLE_SERVICE_ACCOUNT_PATH",
                        "GOOGLE_SERVICE_ACCOUNT_KEY",
                        "GOOGLE_BEARER_TOKEN",
                        "SERVICE_ACCOUNT",
                    ],
                    "GOOGLE_SKIP_SIGNATURE",
                ) {
                    b = b.with_skip_signature(true);
                }
                Arc::new(b.build().map_err(|e| bad(e.to_string()))?)
            }
            "az" | "abfs" | "abfss" => {
                // (what the url names, container and account, wins over the environment)
                let mut b = env_over(
                    "AZURE_",
                    object_store::azure::MicrosoftAzureBuilder::from_env()
                        .with_client_options(client_options())
                        .with_retry(retry()),
                    |b, k: object_store::azure::AzureConfigKey, v| b.with_config(k, v),
                )
                .with_url(url.as_str());
                // (the emulator signs with its well-known key unless told not to)
                if self.unsigned(
                    &[
                        "AZURE_STORAGE_ACCOUNT_KEY",
                        "AZURE_STORAGE_ACCESS_KEY",
                        "AZURE_STORAGE_MASTER_KEY",
                        "AZURE_STORAGE_SAS_KEY",
                        "AZURE_STORAGE_SAS_TOKEN",
                        "AZURE_STORAGE_TOKEN",
                        "AZURE_CLIENT_SECRET",
                        "AZURE_FEDERATED_TOKEN_FILE",
                    ],
                    "AZURE_SKIP_SIGNATURE",
                ) && !env_true("AZURE_STORAGE_USE_EMULATOR")
                {
                    b = b.with_skip_signature(true);
                }
                Arc::new(b.build().map_err(|e| bad(e.to_string()))?)
            }
            "http" | "https" => {
                let origin = format!("{}://{}", url.scheme(), url.authority());
                let mut opts = client_options();
                if url.scheme() == "http" {
                    opts = opts.with_allow_http(true);
                }
                Arc::new(
                    object_store::http::HttpBuilder::new()
                        .with_url(origin)
                        .with_client_options(opts)
                        .with_retry(retry())
                        .build()
                        .map_err(|e| bad(e.to_string()))?,
                )
            }
            other => return Err(bad(format!("unsupported scheme `{other}://`"))),
        };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, store.clone());
        }
        Ok(store)
    }

    /// The objects below `prefix` (an `s3://`, `gs://` or `az://` url), as
    /// paths relative to it; `None` for a store that cannot list (HTTP).
    ///
    /// # Errors
    /// A listing request that fails.
    pub async fn list(&self, prefix: &str) -> Result<Option<Vec<String>>, StoreError> {
        use futures::TryStreamExt;
        let url = url::Url::parse(prefix).map_err(|e| StoreError::BadLocation {
            location: prefix.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "s3" | "gs" | "az" | "abfs" | "abfss") {
            return Ok(None);
        }
        let store = self.store_for(&url).await?;
        let path = ObjPath::from_url_path(url.path()).map_err(|e| StoreError::BadLocation {
            location: prefix.to_string(),
            reason: e.to_string(),
        })?;
        let metas: Vec<object_store::ObjectMeta> = store
            .list(Some(&path))
            .try_collect()
            .await
            .map_err(|source| StoreError::Fetch {
                location: prefix.to_string(),
                range: 0..0,
                source,
            })?;
        let base = path.as_ref().to_string();
        Ok(Some(
            metas
                .into_iter()
                .filter_map(|m| {
                    let p = m.location.as_ref();
                    p.strip_prefix(&base)
                        .map(|r| r.trim_start_matches('/').to_string())
                })
                .collect(),
        ))
    }

    /// Opens a location: a local path, `file://`, `s3://`, `gs://`, `az://` or `http(s)://`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a missing local file,
    /// [`StoreError::BadLocation`] for a directory, an unparsable url or an
    /// unsupported scheme, [`StoreError::Io`] when a file cannot be opened.
    pub async fn open(&self, location: &str) -> Result<Source, StoreError> {
        if !is_url(location) || location.starts_with("file://") {
            let abs = PathBuf::from(reference_url(location)?);
            let file = std::fs::File::open(&abs).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    StoreError::NotFound {
                        location: location.to_string(),
                    }
                } else {
                    StoreError::Io {
                        location: location.to_string(),
                        source,
                    }
                }
            })?;
            let meta = file.metadata().map_err(|source| StoreError::Io {
                location: location.to_string(),
                source,
            })?;
            if meta.is_dir() {
                return Err(StoreError::BadLocation {
                    location: location.to_string(),
                    reason: "is a directory".into(),
                });
            }
            return Ok(Source {
                url: abs.to_string_lossy().into_owned(),
                inner: Arc::new(Inner::Local(Arc::new(file))),
                size: Some(meta.len()),
            });
        }
        let url = url::Url::parse(location).map_err(|e| StoreError::BadLocation {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        let store = self.store_for(&url).await?;
        let path = match url.scheme() {
            // Azure URLs carry the container in the authority or the path; let object_store decide.
            "az" | "abfs" | "abfss" => object_store::path::Path::from_url_path(url.path())
                .map_err(|e| StoreError::BadLocation {
                    location: location.to_string(),
                    reason: e.to_string(),
                })?,
            _ => ObjPath::from_url_path(url.path()).map_err(|e| StoreError::BadLocation {
                location: location.to_string(),
                reason: e.to_string(),
            })?,
        };
        Ok(Source {
            url: location.to_string(),
            inner: Arc::new(Inner::Object { store, path }),
            size: None,
        })
    }
}

// `len` is a (possibly remote) request, not a container's size: an
// `is_empty` would only invite a wasted HEAD.
#[allow(clippy::len_without_is_empty)]
impl Source {
    /// The object's size in bytes.
    ///
    /// # Errors
    /// The file's metadata or the object's HEAD request failed.
    pub async fn len(&mut self) -> Result<u64, StoreError> {
        if let Some(s) = self.size {
            return Ok(s);
        }
        let size = match &*self.inner {
            Inner::Local(f) => f
                .metadata()
                .map_err(|source| StoreError::Io {
                    location: self.url.clone(),
                    source,
                })?
                .len(),
            Inner::Object { store, path } => {
                store
                    .head(path)
                    .await
                    .map_err(|e| self.object_error(e, 0..0))?
                    .size
            }
        };
        self.size = Some(size);
        Ok(size)
    }

    fn object_error(&self, e: object_store::Error, range: Range<u64>) -> StoreError {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound {
                location: self.url.clone(),
            },
            source => StoreError::Fetch {
                location: self.url.clone(),
                range,
                source,
            },
        }
    }

    /// Reads `range` exactly (an error if fewer bytes exist).
    ///
    /// # Errors
    /// [`StoreError::Short`] past the end, [`StoreError::NotFound`],
    /// [`StoreError::Fetch`] or [`StoreError::Io`] when the read fails.
    pub async fn read(&self, range: Range<u64>) -> Result<Bytes, StoreError> {
        let want = range.end.saturating_sub(range.start);
        if want == 0 {
            // (no request: an HTTP range cannot be empty)
            return Ok(Bytes::new());
        }
        let bytes = match &*self.inner {
            Inner::Local(f) => {
                let f = f.clone();
                let r = range.clone();
                let location = self.url.clone();
                tokio::task::spawn_blocking(move || read_at(&f, r, &location))
                    .await
                    .map_err(|e| StoreError::Io {
                        location: self.url.clone(),
                        source: std::io::Error::other(e),
                    })??
            }
            Inner::Object { store, path } => store
                .get_range(path, range.clone())
                .await
                .map_err(|e| self.object_error(e, range.clone()))?,
        };
        if (bytes.len() as u64) < want {
            return Err(StoreError::Short {
                location: self.url.clone(),
                range,
                got: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// The last `n` bytes (all of a shorter object) and the object's size:
    /// one request (`Range: bytes=-n`) for a remote object.
    ///
    /// # Errors
    /// As [`Source::read`].
    pub async fn read_suffix(&self, n: u64) -> Result<(Bytes, u64), StoreError> {
        match &*self.inner {
            Inner::Local(_) => {
                let size = self.clone().len().await?;
                let start = size.saturating_sub(n);
                Ok((self.read(start..size).await?, size))
            }
            Inner::Object { store, path } => {
                let opts = object_store::GetOptions {
                    range: Some(object_store::GetRange::Suffix(n)),
                    ..Default::default()
                };
                let r = store
                    .get_opts(path, opts)
                    .await
                    .map_err(|e| self.object_error(e, 0..n))?;
                let (size, range) = (r.meta.size, r.range.clone());
                let bytes = r
                    .bytes()
                    .await
                    .map_err(|e| self.object_error(e, range.clone()))?;
                if bytes.len() as u64 != range.end - range.start || range.end != size {
                    return Err(StoreError::Short {
                        location: self.url.clone(),
                        range,
                        got: bytes.len() as u64,
                    });
                }
                Ok((bytes, size))
            }
        }
    }

    /// Reads several ranges exactly (an error if one reaches past the end):
    /// for a local file in one blocking task (no per-read task overhead),
    /// for an object store concurrently.
    ///
    /// # Errors
    /// The first failed read, as [`Source::read`].
    pub async fn read_batch(&self, ranges: Vec<Range<u64>>) -> Result<Vec<Bytes>, StoreError> {
        match &*self.inner {
            Inner::Local(f) => {
                let f = f.clone();
                let location = self.url.clone();
                tokio::task::spawn_blocking(move || {
                    ranges
                        .into_iter()
                        .map(|r| {
                            let b = read_at(&f, r.clone(), &location)?;
                            let want = r.end.saturating_sub(r.start);
                            if (b.len() as u64) < want {
                                return Err(StoreError::Short {
                                    location: location.clone(),
                                    range: r,
                                    got: b.len() as u64,
                                });
                            }
                            Ok(b)
                        })
                        .collect()
                })
                .await
                .map_err(|e| StoreError::Io {
                    location: self.url.clone(),
                    source: std::io::Error::other(e),
                })?
            }
            Inner::Object { .. } => {
                futures::future::try_join_all(ranges.into_iter().map(|r| self.read(r))).await
            }
        }
    }

    /// Reads the whole object.
    ///
    /// # Errors
    /// As [`Source::read`].
    pub async fn read_all(&mut self) -> Result<Bytes, StoreError> {
        match &*self.inner {
            Inner::Local(_) => {
                let n = self.len().await?;
                self.read(0..n).await
            }
            Inner::Object { store, path } => {
                let r = store
                    .get(path)
                    .await
                    .map_err(|e| self.object_error(e, 0..0))?;
                r.bytes().await.map_err(|e| self.object_error(e, 0..0))
            }
        }
    }
}

/// Local files [`Sources`] keeps open at once. Each holds a file
/// descriptor, and a scan of thousands of files (a week of ensemble runs)
/// would otherwise stop at the process's limit (often 1024) with "Too many
/// open files"; the least recently opened is closed first (once the reads
/// in flight on it end) and opened again if read again.
pub const OPEN_FILES: usize = 128;

/// Sources opened once per location and shared by concurrent reads: the
/// native [`RangeReader`] (local files, `file://`, `s3://`, `gs://`, `az://`,
/// `http(s)://`). At most [`OPEN_FILES`] local files stay open.
#[derive(Debug, Default)]
pub struct Sources {
    stores: Stores,
    open: Mutex<Opened>,
}

/// The sources opened so far, and the order the local files among them were opened in.
#[derive(Debug, Default)]
struct Opened {
    by_location: HashMap<String, Source>,
    local: VecDeque<String>,
}

impl Sources {
    /// The objects below `prefix`, where its store can list ([`Stores::list`]).
    ///
    /// # Errors
    /// A listing request that fails.
    pub async fn list(&self, prefix: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.stores.list(prefix).await
    }

    /// The source at `location`, opened on first use.
    ///
    /// # Errors
    /// As [`Stores::open`].
    pub async fn get(&self, location: &str) -> Result<Source, StoreError> {
        if let Some(s) = self
            .open
            .lock()
            .ok()
            .and_then(|m| m.by_location.get(location).cloned())
        {
            return Ok(s);
        }
        let s = self.stores.open(location).await?;
        if let Ok(mut m) = self.open.lock() {
            let local = matches!(*s.inner, Inner::Local(_));
            if m.by_location
                .insert(location.to_string(), s.clone())
                .is_none()
                && local
            {
                m.local.push_back(location.to_string());
                while m.local.len() > OPEN_FILES {
                    if let Some(oldest) = m.local.pop_front() {
                        m.by_location.remove(&oldest);
                    }
                }
            }
        }
        Ok(s)
    }
}

impl RangeReader for Sources {
    type Error = StoreError;

    fn read_range<'a>(
        &'a self,
        location: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move { self.get(location).await?.read(range).await })
    }

    fn read_ranges<'a>(
        &'a self,
        location: &'a str,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'a, Result<Vec<Bytes>, StoreError>> {
        Box::pin(async move { self.get(location).await?.read_batch(ranges).await })
    }

    fn read_all<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move { self.get(location).await?.read_all().await })
    }

    fn read_suffix<'a>(
        &'a self,
        location: &'a str,
        n: u64,
    ) -> BoxFuture<'a, Result<(Bytes, u64), StoreError>> {
        Box::pin(async move { self.get(location).await?.read_suffix(n).await })
    }

    fn len<'a>(&'a self, location: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move { self.get(location).await?.len().await })
    }
}

/// Runs the core's CPU work (header parsing, decoding) with tokio's
/// `spawn_blocking`, off the async workers: the native [`Executor`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocking;

impl Executor for Blocking {
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> BoxFuture<'static, Result<T, TaskError>> {
        Box::pin(async move {
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| TaskError(e.to_string()))
        })
    }
}

/// Header reads per batch for a scan (`gik_core::scan::ScanOptions::batch`):
/// a local file reads a batch in one blocking task (512 keeps task overhead
/// negligible), a remote object sends a batch's requests at once (16 keeps
/// the scan's concurrency meaningful).
#[must_use]
pub fn header_batch(url: &str) -> usize {
    if url.contains("://") {
        16
    } else {
        512
    }
}

fn read_at(f: &std::fs::File, range: Range<u64>, location: &str) -> Result<Bytes, StoreError> {
    use std::os::unix::fs::FileExt;
    // Never allocate beyond the file, whatever range a (possibly stale) reference asks for.
    let size = f
        .metadata()
        .map_err(|source| StoreError::Io {
            location: location.to_string(),
            source,
        })?
        .len();
    let end = range.end.min(size);
    let len = usize::try_from(end.saturating_sub(range.start)).unwrap_or(0);
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        match f.read_at(&mut buf[done..], range.start + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(StoreError::Io {
                    location: location.to_string(),
                    source,
                })
            }
        }
    }
    buf.truncate(done);
    Ok(Bytes::from(buf))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// The kinds the core's scan acts on: a missing index is skipped, and
    /// so is S3's 403 for a missing key (listing not allowed); a read past
    /// the end is neither.
    #[test]
    fn store_errors_say_their_kind() {
        let not_found = StoreError::NotFound {
            location: "x".into(),
        };
        let denied = StoreError::Fetch {
            location: "s3://b/x.index".into(),
            range: 0..0,
            source: object_store::Error::PermissionDenied {
                path: "x.index".into(),
                source: "403 Forbidden".into(),
            },
        };
        let short = StoreError::Short {
            location: "x".into(),
            range: 0..10,
            got: 5,
        };
        assert_eq!(not_found.kind(), ReadErrorKind::NotFound);
        assert_eq!(denied.kind(), ReadErrorKind::Denied);
        assert_eq!(short.kind(), ReadErrorKind::Other);
    }
}
