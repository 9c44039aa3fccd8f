//! gik's Icechunk front end: writes kerchunk-style references as an Icechunk
//! repository (a Zarr v3 hierarchy whose data chunks are virtual references
//! `[url, offset, length]` to GRIB messages, decoded by gik's Zarr v3 codec),
//! grows it run by run in one commit per run, and reads it back into
//! gik-core's reference model.
//!
//! The layout is gik-core's: [`gik_core::refs::to_zarr3`] turns the
//! references into `zarr.json` documents and chunks, [`gik_core::refs::concat`]
//! adds a run, [`gik_core::refs::from_zarr3`] reads a snapshot back. This crate
//! only moves them in and out of Icechunk: storage, virtual chunk
//! containers, sessions, commits and history.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path as StdPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt as _;
use gik_core::refs::{concat, from_zarr3, to_zarr3, RefStore, RefValue, Zarr3Node};
use icechunk::config::Credentials;
use icechunk::format::manifest::{ChunkPayload, VirtualChunkLocation, VirtualChunkRef};
use icechunk::format::snapshot::NodeData;
use icechunk::format::{ByteRange, Path};
use icechunk::repository::VersionInfo;
use icechunk::virtual_chunks::VirtualChunkContainer;
use icechunk::{ObjectStoreConfig, Repository, RepositoryConfig, Store};
use serde_json::{json, Value};
use tokio::sync::RwLock;

/// The branch gik writes.
pub const BRANCH: &str = "main";

/// What can go wrong with an Icechunk repository.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Icechunk itself failed (storage, format, session, commit).
    #[error("icechunk repository {repo}: {what}: {message}")]
    Icechunk {
        repo: String,
        what: String,
        message: String,
    },
    /// The references could not be converted.
    #[error("icechunk repository {repo}: {source}")]
    Refs {
        repo: String,
        #[source]
        source: gik_core::refs::RefsError,
    },
    /// Something the user asked for that cannot be done.
    #[error("icechunk repository {repo}: {reason}")]
    Usage { repo: String, reason: String },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An Icechunk repository gik reads or writes.
#[derive(Debug, Clone)]
pub struct Repo {
    location: String,
    kind: Kind,
}

/// Where a repository lives.
#[derive(Debug, Clone)]
enum Kind {
    Local(PathBuf),
    /// bucket, prefix
    S3(String, String),
    Gcs(String, String),
    /// container, prefix
    Azure(String, String),
}

/// What [`Repo::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A new snapshot.
    Committed {
        /// Its id.
        snapshot: String,
        /// The commit message.
        message: String,
        /// Chunk references set (new or moved).
        chunks: usize,
    },
    /// Everything was there already: no commit.
    Unchanged {
        /// The branch tip, unchanged.
        snapshot: String,
        /// The runs that were already there.
        runs: Vec<String>,
    },
}

/// One snapshot of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Its id.
    pub id: String,
    /// When it was written (RFC 3339).
    pub written: String,
    /// The commit message.
    pub message: String,
    /// The runs (forecast reference times) it added, from its properties.
    pub runs: Vec<String>,
}

/// What [`Repo::inspect`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Branches and their tip snapshots.
    pub branches: Vec<(String, String)>,
    /// The history of [`BRANCH`], newest first.
    pub snapshots: Vec<Snapshot>,
    /// Every run (forecast reference time) at the tip, oldest first.
    pub runs: Vec<String>,
    /// The virtual chunk containers (url prefixes) configured.
    pub containers: Vec<String>,
}

/// Whether `location` names an Icechunk repository by gik's convention: its
/// name ends in `.icechunk` (or it is a local directory holding Icechunk's
/// `repo` object).
#[must_use]
pub fn is_icechunk(location: &str) -> bool {
    let trimmed = location.trim_end_matches('/');
    trimmed.ends_with(".icechunk")
        || !trimmed.contains("://") && StdPath::new(trimmed).join("repo").is_file()
}

/// A local path as the `file://` url Icechunk's virtual references need.
fn file_url(path: &str) -> Option<String> {
    if path.contains("://") {
        return None;
    }
    let p = StdPath::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    // Parsed again: `Url::parse` removes `.` and `..` segments, as Icechunk
    // does with a chunk's location, so the container prefix matches it.
    let url = url::Url::from_file_path(abs).ok()?;
    url::Url::parse(url.as_str()).ok().map(String::from)
}

/// The references with every local path as a `file://` url.
#[must_use]
pub fn with_file_urls(refs: &RefStore) -> RefStore {
    refs.iter()
        .map(|(k, v)| {
            let v = match v {
                RefValue::Range {
                    url,
                    offset,
                    length,
                } => match file_url(url) {
                    Some(u) => RefValue::range(u, *offset, *length),
                    None => v.clone(),
                },
                RefValue::Whole { url } => match file_url(url) {
                    Some(u) => RefValue::Whole { url: u.into() },
                    None => v.clone(),
                },
                RefValue::Inline(_) => v.clone(),
            };
            (k.to_string(), v)
        })
        .collect()
}

/// The virtual chunk container prefix of a url: the directory of a local
/// file, the bucket of an object store, the host of an HTTP server.
#[must_use]
pub fn container_prefix(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme == "file" {
        let dir = &rest[..rest.rfind('/')? + 1];
        return Some(format!("file://{dir}"));
    }
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}/"))
}

/// The local path of a `file://` url (or prefix).
fn file_path(url: &str) -> Option<PathBuf> {
    url::Url::parse(url).ok()?.to_file_path().ok()
}

fn container_store(prefix: &str) -> Option<ObjectStoreConfig> {
    let (scheme, _) = prefix.split_once("://")?;
    match scheme {
        "file" => Some(ObjectStoreConfig::LocalFileSystem(file_path(prefix)?)),
        "s3" => Some(ObjectStoreConfig::S3(s3_options())),
        "gs" | "gcs" => Some(ObjectStoreConfig::Gcs(HashMap::new())),
        "http" | "https" => Some(ObjectStoreConfig::Http(Default::default())),
        _ => None,
    }
}

/// S3 options from the environment (as gik reads S3): region, endpoint,
/// anonymous without credentials.
fn s3_options() -> icechunk::config::S3Options {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let mut o = icechunk::config::S3Options::default();
    o.region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok();
    o.allow_http = endpoint
        .as_deref()
        .is_some_and(|u| u.starts_with("http://"));
    o.force_path_style = endpoint.is_some();
    o.endpoint_url = endpoint;
    o.anonymous = std::env::var("AWS_ACCESS_KEY_ID").is_err();
    o
}

/// Seconds since 1970 as `2026-06-01T00:00Z`.
#[must_use]
pub fn run_name(t: i64) -> String {
    let (y, mo, d, h, mi, _) = gik_core::time::civil_of(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}Z")
}

/// The runs (values of `time`) and steps of a reference set.
fn runs_and_steps(refs: &RefStore) -> (BTreeSet<i64>, BTreeSet<i64>) {
    let (mut runs, mut steps) = (BTreeSet::new(), BTreeSet::new());
    if let Ok(vars) = refs.variables() {
        for v in vars {
            if let Ok(axes) = refs.axes(&v) {
                runs.extend(axes.time);
                steps.extend(axes.step);
            }
        }
    }
    (runs, steps)
}

/// `a, b, c` of displayable things.
fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The v3 chunk key of `idx` under array `path`.
fn chunk_key(path: &str, idx: &[u64]) -> String {
    let mut k = if path.is_empty() {
        "c".to_string()
    } else {
        format!("{path}/c")
    };
    for i in idx {
        k.push('/');
        k.push_str(&i.to_string());
    }
    k
}

impl Repo {
    /// The repository at `location`: a local path (or `file://`), or
    /// `s3://bucket/prefix` (credentials, region and `AWS_ENDPOINT_URL` from
    /// the environment), `gs://bucket/prefix`, `az://container/prefix` (the
    /// account in `AZURE_STORAGE_ACCOUNT_NAME`).
    ///
    /// # Errors
    /// A url of another scheme, or an object store url without a bucket.
    pub fn new(location: &str) -> Result<Self> {
        let location = location.trim_end_matches('/');
        let kind = match location.split_once("://") {
            None => Kind::Local(PathBuf::from(location)),
            Some(("file", _)) => Kind::Local(file_path(location).ok_or_else(|| Error::Usage {
                repo: location.to_string(),
                reason: "not a local file url".into(),
            })?),
            Some((scheme @ ("s3" | "gs" | "az"), rest)) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() || prefix.is_empty() {
                    return Err(Error::Usage {
                        repo: location.to_string(),
                        reason: "give a bucket and a prefix (Icechunk creates no repository at a bucket's root)".into(),
                    });
                }
                let (b, p) = (bucket.to_string(), prefix.to_string());
                match scheme {
                    "s3" => Kind::S3(b, p),
                    "gs" => Kind::Gcs(b, p),
                    _ => Kind::Azure(b, p),
                }
            }
            Some((scheme, _)) => {
                return Err(Error::Usage {
                    repo: location.to_string(),
                    reason: format!("{scheme}:// is not a place gik writes Icechunk repositories (a local path, s3://, gs:// or az://)"),
                })
            }
        };
        Ok(Self {
            location: location.to_string(),
            kind,
        })
    }

    fn ic<E: std::fmt::Display>(&self, what: &str) -> impl FnOnce(E) -> Error + '_ {
        let what = what.to_string();
        move |e| Error::Icechunk {
            repo: self.location.clone(),
            what,
            message: e.to_string(),
        }
    }

    fn refs_err(&self) -> impl FnOnce(gik_core::refs::RefsError) -> Error + '_ {
        move |source| Error::Refs {
            repo: self.location.clone(),
            source,
        }
    }

    /// Whether a repository exists there.
    ///
    /// # Errors
    /// The storage cannot be reached.
    pub async fn exists(&self) -> Result<bool> {
        if let Kind::Local(p) = &self.kind {
            if !p.exists() {
                return Ok(false);
            }
        }
        Repository::exists(self.storage().await?, None)
            .await
            .map_err(self.ic("looking for a repository"))
    }

    async fn storage(&self) -> Result<Arc<dyn icechunk::Storage + Send + Sync>> {
        let env = |k: &str| std::env::var(k).ok();
        match &self.kind {
            Kind::Local(p) => icechunk::new_local_filesystem_storage(p).await,
            Kind::S3(bucket, prefix) => {
                let options = s3_options();
                let credentials = if options.anonymous {
                    icechunk::config::S3Credentials::Anonymous
                } else {
                    icechunk::config::S3Credentials::FromEnv
                };
                icechunk::storage::new_s3_object_store_storage(
                    options,
                    bucket.clone(),
                    Some(prefix.clone()),
                    Some(credentials),
                    vec![],
                    vec![],
                )
                .await
            }
            Kind::Gcs(bucket, prefix) => icechunk::storage::new_gcs_storage(
                bucket.clone(),
                Some(prefix.clone()),
                None,
                None,
                vec![],
                vec![],
            ),
            Kind::Azure(container, prefix) => {
                let Some(account) =
                    env("AZURE_STORAGE_ACCOUNT_NAME").or_else(|| env("AZURE_STORAGE_ACCOUNT"))
                else {
                    return Err(Error::Usage {
                        repo: self.location.clone(),
                        reason:
                            "set AZURE_STORAGE_ACCOUNT_NAME to the storage account of the container"
                                .into(),
                    });
                };
                icechunk::storage::new_azure_blob_storage(
                    account,
                    container.clone(),
                    Some(prefix.clone()),
                    None,
                    None,
                )
                .await
            }
        }
        .map_err(self.ic("opening storage"))
    }

    /// Opens the repository, authorising every virtual chunk container it
    /// configures (anonymous).
    async fn open(&self) -> Result<Repository> {
        let storage = self.storage().await?;
        let config = Repository::fetch_config(Arc::clone(&storage))
            .await
            .map_err(self.ic("reading the configuration"))?
            .map(|(c, _)| c)
            .unwrap_or_default();
        let auth: HashMap<String, Option<Credentials>> = config
            .virtual_chunk_containers()
            .map(|c| (c.url_prefix().to_string(), access(c.url_prefix())))
            .collect();
        Repository::open(storage)
            .authorize_virtual_chunk_access(auth)
            .execute()
            .await
            .map_err(self.ic("opening"))
    }

    /// Writes `refs` (local paths become `file://` urls): a new repository,
    /// or with `append` the run(s) added to the tip of [`BRANCH`] in one
    /// commit. Adding what is already there is a no-op; a different message
    /// for a chunk that is there is an error.
    ///
    /// # Errors
    /// The repository exists and `append` is false; references that do not
    /// fit those there; Icechunk failing.
    pub async fn write(&self, refs: &RefStore, append: bool) -> Result<Written> {
        let new = with_file_urls(refs);
        let exists = self.exists().await?;
        if exists && !append {
            return Err(Error::Usage {
                repo: self.location.clone(),
                reason: "exists already; give --append to add a run to it (or remove it first)"
                    .into(),
            });
        }
        if let (false, Kind::Local(path)) = (exists, &self.kind) {
            if std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()) {
                return Err(Error::Usage {
                    repo: self.location.clone(),
                    reason: "is a non-empty directory that is not an Icechunk repository".into(),
                });
            }
        }
        let prefixes: BTreeSet<String> = new
            .urls()
            .iter()
            .filter_map(|u| container_prefix(u))
            .collect();
        for p in &prefixes {
            if container_store(p).is_none() {
                return Err(Error::Usage {
                    repo: self.location.clone(),
                    reason: format!("no virtual chunk container for {p} in this build (local files, s3:// and http(s):// are supported)"),
                });
            }
        }
        // One session from reading what is there to the commit: the commit
        // lands on the snapshot the merge was computed from, or fails.
        let (repo, session) = if exists {
            let repo = self.open().await?;
            let session = repo
                .writable_session(BRANCH)
                .await
                .map_err(self.ic("starting a session"))?;
            (repo, session)
        } else {
            let mut config = RepositoryConfig::default();
            for p in &prefixes {
                set_container(&mut config, p).map_err(|reason| Error::Usage {
                    repo: self.location.clone(),
                    reason,
                })?;
            }
            let auth = prefixes.iter().map(|p| (p.clone(), access(p))).collect();
            let repo = Repository::create(self.storage().await?)
                .config(config)
                .authorize_virtual_chunk_access(auth)
                .execute()
                .await
                .map_err(self.ic("creating"))?;
            let session = repo
                .writable_session(BRANCH)
                .await
                .map_err(self.ic("starting a session"))?;
            (repo, session)
        };
        let store = Store::from_session(Arc::new(RwLock::new(session))).await;
        let old = if exists {
            Some(self.read_store(&store).await?)
        } else {
            None
        };
        let merged = match &old {
            Some(old) => concat(old, &new).map_err(self.refs_err())?,
            None => new.clone(),
        };
        let (new_runs, new_steps) = runs_and_steps(&new);
        let old_nodes = match &old {
            Some(o) => to_zarr3(o).map_err(self.refs_err())?,
            None => Vec::new(),
        };
        let new_nodes = to_zarr3(&merged).map_err(self.refs_err())?;
        if old.is_some() && old_nodes == new_nodes {
            return Ok(Written::Unchanged {
                snapshot: store.session().read().await.snapshot_id().to_string(),
                runs: new_runs.iter().map(|t| run_name(*t)).collect(),
            });
        }
        // Containers for new source prefixes go into the configuration only
        // once the references are known to fit.
        if exists {
            self.add_containers(repo, &prefixes).await?;
        }
        let chunks = self.apply(&store, &old_nodes, &new_nodes).await?;
        let old_runs = old
            .as_ref()
            .map(|o| runs_and_steps(o).0)
            .unwrap_or_default();
        let added: Vec<String> = new_runs
            .difference(&old_runs)
            .map(|t| run_name(*t))
            .collect();
        let runs: Vec<String> = new_runs.iter().map(|t| run_name(*t)).collect();
        let message = format!(
            "gik: {} run {} (steps {}; {} files)",
            if added.is_empty() {
                "add steps to"
            } else {
                "add"
            },
            list(&runs),
            list(&new_steps),
            new.urls().len()
        );
        let mut props = BTreeMap::new();
        props.insert("gik_runs".to_string(), json!(runs));
        props.insert("gik_steps".to_string(), json!(new_steps));
        let session = store.session();
        let mut session = session.write().await;
        let id = session
            .commit(message.clone())
            .properties(props)
            .execute()
            .await
            .map_err(self.ic("committing"))?;
        Ok(Written::Committed {
            snapshot: id.to_string(),
            message,
            chunks,
        })
    }

    /// Adds containers for `prefixes` the repository lacks, saving its
    /// configuration (the commit that follows may reference them).
    async fn add_containers(&self, repo: Repository, prefixes: &BTreeSet<String>) -> Result<()> {
        let mut config = repo.config().clone();
        let have: BTreeSet<String> = config
            .virtual_chunk_containers()
            .map(|c| c.url_prefix().to_string())
            .collect();
        let missing: Vec<&String> = prefixes.iter().filter(|p| !have.contains(*p)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        for p in &missing {
            set_container(&mut config, p).map_err(|reason| Error::Usage {
                repo: self.location.clone(),
                reason,
            })?;
        }
        let auth = config
            .virtual_chunk_containers()
            .map(|c| (c.url_prefix().to_string(), access(c.url_prefix())))
            .collect();
        let repo = repo
            .reopen(Some(config), Some(auth))
            .await
            .map_err(self.ic("configuring containers"))?;
        repo.save_config()
            .await
            .map_err(self.ic("saving the configuration"))?;
        Ok(())
    }

    /// Writes the difference between `old` and `new` into the session.
    async fn apply(&self, store: &Store, old: &[Zarr3Node], new: &[Zarr3Node]) -> Result<usize> {
        let old: HashMap<&str, &Zarr3Node> = old.iter().map(|n| (n.path.as_str(), n)).collect();
        let mut set = 0;
        for node in new {
            let prev = old.get(node.path.as_str());
            if prev.map(|p| &p.metadata) != Some(&node.metadata) {
                store
                    .set(&node.metadata_key(), Bytes::from(node.metadata.clone()))
                    .await
                    .map_err(self.ic(&format!("writing {}", node.metadata_key())))?;
            }
            let before: HashMap<&Vec<u64>, &RefValue> = prev
                .map(|p| p.chunks.iter().map(|(i, v)| (i, v)).collect())
                .unwrap_or_default();
            let now: BTreeSet<&Vec<u64>> = node.chunks.iter().map(|(i, _)| i).collect();
            for (idx, v) in &node.chunks {
                if before.get(idx) == Some(&v) {
                    continue;
                }
                let key = chunk_key(&node.path, idx);
                match v {
                    RefValue::Inline(b) => store.set(&key, Bytes::from(b.clone())).await.map_err(self.ic(&format!("writing {key}")))?,
                    RefValue::Range { url, offset, length } => {
                        let location = VirtualChunkLocation::from_url(url).map_err(self.ic(&format!("chunk {key}: url {url}")))?;
                        let r = VirtualChunkRef { location, offset: *offset, length: *length, checksum: None };
                        store.set_virtual_ref(&key, r, false).await.map_err(self.ic(&format!("chunk {key} ({url})")))?;
                    }
                    RefValue::Whole { url } => {
                        return Err(Error::Usage {
                            repo: self.location.clone(),
                            reason: format!("chunk {key} references the whole file {url}: Icechunk virtual references need a byte range"),
                        })
                    }
                }
                set += 1;
            }
            for (idx, _) in prev.map(|p| p.chunks.as_slice()).unwrap_or_default() {
                if !now.contains(idx) {
                    let key = chunk_key(&node.path, idx);
                    store
                        .delete(&key)
                        .await
                        .map_err(self.ic(&format!("deleting {key}")))?;
                }
            }
        }
        Ok(set)
    }

    /// Reads a session's hierarchy into gik-core's reference model.
    async fn read_session(&self, session: icechunk::session::Session) -> Result<RefStore> {
        let store = Store::from_session(Arc::new(RwLock::new(session))).await;
        self.read_store(&store).await
    }

    /// Reads the hierarchy of a store's session into gik-core's reference model.
    async fn read_store(&self, store: &Store) -> Result<RefStore> {
        let session = store.session();
        let session = session.read().await;
        let nodes: Vec<_> = session
            .list_nodes(&Path::root())
            .await
            .map_err(self.ic("listing nodes"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.ic("listing nodes"))?;
        let mut out = Vec::with_capacity(nodes.len());
        for node in &nodes {
            let path = node.path.to_string().trim_start_matches('/').to_string();
            let mkey = if path.is_empty() {
                "zarr.json".to_string()
            } else {
                format!("{path}/zarr.json")
            };
            let metadata = store
                .get(&mkey, &ByteRange::ALL)
                .await
                .map_err(self.ic(&format!("reading {mkey}")))?
                .to_vec();
            let mut chunks = Vec::new();
            if matches!(node.node_data, NodeData::Array { .. }) {
                let infos: Vec<_> = session
                    .all_node_chunks(node)
                    .await
                    .try_collect()
                    .await
                    .map_err(self.ic(&format!("listing the chunks of {path}")))?;
                for (_, info) in infos {
                    let idx: Vec<u64> = info.coord.0.iter().map(|&i| u64::from(i)).collect();
                    let v = match info.payload {
                        ChunkPayload::Virtual(r) => {
                            RefValue::range(r.location.url(), r.offset, r.length)
                        }
                        ChunkPayload::Inline(b) => RefValue::Inline(b.to_vec()),
                        // materialised chunks (coordinates), and any kind a newer format adds
                        _ => {
                            let key = chunk_key(&path, &idx);
                            RefValue::Inline(
                                store
                                    .get(&key, &ByteRange::ALL)
                                    .await
                                    .map_err(self.ic(&format!("reading {key}")))?
                                    .to_vec(),
                            )
                        }
                    };
                    chunks.push((idx, v));
                }
                chunks.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push(Zarr3Node {
                path,
                metadata,
                chunks,
            });
        }
        from_zarr3(&out).map_err(self.refs_err())
    }

    /// The references of a snapshot: `version` is a branch, a tag or a
    /// snapshot id (the tip of [`BRANCH`] when `None`).
    ///
    /// # Errors
    /// No repository, an unknown version, Icechunk failing.
    pub async fn read(&self, version: Option<&str>) -> Result<RefStore> {
        if !self.exists().await? {
            return Err(Error::Usage {
                repo: self.location.clone(),
                reason: "no Icechunk repository there".into(),
            });
        }
        let repo = self.open().await?;
        let v = self.version(&repo, version).await?;
        let session = repo
            .readonly_session(&v)
            .await
            .map_err(self.ic("opening the snapshot"))?;
        self.read_session(session).await
    }

    async fn version(&self, repo: &Repository, version: Option<&str>) -> Result<VersionInfo> {
        let Some(v) = version else {
            return Ok(VersionInfo::BranchTipRef(BRANCH.into()));
        };
        let branches = repo
            .list_branches()
            .await
            .map_err(self.ic("listing branches"))?;
        if branches.contains(v) {
            return Ok(VersionInfo::BranchTipRef(v.into()));
        }
        let tags = repo.list_tags().await.map_err(self.ic("listing tags"))?;
        if tags.contains(v) {
            return Ok(VersionInfo::TagRef(v.into()));
        }
        icechunk::format::SnapshotId::try_from(v)
            .map(VersionInfo::SnapshotId)
            .map_err(|_| Error::Usage {
                repo: self.location.clone(),
                reason: format!(
                    "`{v}` is neither a branch ({}), a tag nor a snapshot id",
                    list(&branches)
                ),
            })
    }

    /// Branches, the history of [`BRANCH`] and the runs at its tip.
    ///
    /// # Errors
    /// No repository, Icechunk failing.
    pub async fn inspect(&self) -> Result<Inspection> {
        if !self.exists().await? {
            return Err(Error::Usage {
                repo: self.location.clone(),
                reason: "no Icechunk repository there".into(),
            });
        }
        let repo = self.open().await?;
        let mut branches = Vec::new();
        for b in repo
            .list_branches()
            .await
            .map_err(self.ic("listing branches"))?
        {
            let id = repo
                .lookup_branch(&b)
                .await
                .map_err(self.ic("reading a branch"))?;
            branches.push((b, id.to_string()));
        }
        let snaps: Vec<_> = repo
            .ancestry(&VersionInfo::BranchTipRef(BRANCH.into()))
            .await
            .map_err(self.ic("reading the history"))?
            .try_collect()
            .await
            .map_err(self.ic("reading the history"))?;
        let snapshots = snaps
            .into_iter()
            .map(|s| Snapshot {
                id: s.id.to_string(),
                written: s.flushed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                message: s.message.clone(),
                runs: s
                    .metadata
                    .get("gik_runs")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let refs = self.read(None).await?;
        let runs = runs_and_steps(&refs).0.into_iter().map(run_name).collect();
        let containers = repo
            .config()
            .virtual_chunk_containers()
            .map(|c| c.url_prefix().to_string())
            .collect();
        Ok(Inspection {
            branches,
            snapshots,
            runs,
            containers,
        })
    }
}

/// How gik authorises a container it configured: local files and HTTP need
/// no credentials; object stores take them from the environment (anonymous
/// without).
fn access(prefix: &str) -> Option<Credentials> {
    match prefix.split_once("://").map(|(s, _)| s) {
        Some("file") => Some(Credentials::LocalFileSystemAccess),
        Some("http" | "https") => Some(Credentials::HttpAccess),
        Some("s3") => Some(Credentials::S3(if s3_options().anonymous {
            icechunk::config::S3Credentials::Anonymous
        } else {
            icechunk::config::S3Credentials::FromEnv
        })),
        _ => None,
    }
}

fn set_container(config: &mut RepositoryConfig, prefix: &str) -> std::result::Result<(), String> {
    let store = container_store(prefix)
        .ok_or_else(|| format!("no virtual chunk container for {prefix}"))?;
    let c = VirtualChunkContainer::new(prefix.to_string(), store)?;
    config.set_virtual_chunk_container(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_urls() {
        assert_eq!(
            container_prefix("file:///data/a%20b/x.grib2").as_deref(),
            Some("file:///data/a%20b/")
        );
        assert_eq!(
            container_prefix("s3://bucket/k/x.grib2").as_deref(),
            Some("s3://bucket/")
        );
        assert_eq!(
            file_url("/d/a b.grib2").as_deref(),
            Some("file:///d/a%20b.grib2")
        );
        assert_eq!(
            file_url("/d/x/../y/./a.grib2").as_deref(),
            Some("file:///d/y/a.grib2")
        );
        assert_eq!(
            file_path("file:///d/a%20b/"),
            Some(PathBuf::from("/d/a b/"))
        );
        assert_eq!(chunk_key("t/t", &[0, 1]), "t/t/c/0/1");
        assert_eq!(chunk_key("t/l", &[]), "t/l/c");
        assert_eq!(run_name(1_780_272_000), "2026-06-01T00:00Z");
    }
}
