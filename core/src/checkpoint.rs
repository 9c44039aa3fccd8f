//! What an anemoi model needs as input, read from its own checkpoint.
//!
//! An anemoi checkpoint (`.ckpt`) is a zip archive (PyTorch's format, one
//! top-level folder) in which anemoi-utils stores the model's metadata as
//! `<folder>/anemoi-metadata/anemoi.json` (`ai-models.json` in older
//! checkpoints): the training dataset's variables and what each is
//! (prognostic, forcing, diagnostic, computed by the runner, constant in
//! time), the grid, the time step and how many input times the model reads
//! (`multistep_input`). [`ModelSpec`] is what gik takes from it; [`read_metadata`]
//! fetches it through any [`RangeReader`] without downloading the weights:
//!
//! 1. the last [`TAIL`] bytes: the end-of-central-directory record (zip64
//!    too) and, for a checkpoint's few hundred entries, the whole central
//!    directory;
//! 2. the central directory, only when it did not fit in the tail;
//! 3. the metadata entry (its local header and data, stored or deflated).
//!
//! Three requests at most (a fourth only for a zip64 record away from the
//! end, or a local header with more than 1 KiB of extra fields, which
//! neither PyTorch nor Python's `zipfile` writes). [`read_model`] also reads
//! the `latitudes` and `longitudes` supporting arrays the metadata names
//! (raw NumPy bytes that anemoi-utils writes next to each other after the
//! metadata), in one request more: three in all when the metadata entry is
//! not in the tail, as it is not when the arrays follow it. Every length and
//! count read from the archive is checked before it indexes or allocates.
//!
//! Which variables the user supplies follows anemoi-inference's default
//! runner input (`Variables.default_runner_input_variables_include_exclude`):
//! prognostic or forcing variables, minus those the runner computes
//! (`computed_forcing`: `cos_latitude`, `insolation`, …) and diagnostic ones.

use crate::io::RangeReader;
use serde_json::Value;
use std::ops::Range;

/// Bytes read from the end of an archive first (the end-of-central-directory
/// record with the longest comment is 65,557 bytes; the rest usually holds
/// the whole central directory of a checkpoint).
pub const TAIL: u64 = 128 * 1024;

/// Largest metadata entry accepted (the AIFS metadata is ~100 kB).
pub const MAX_METADATA: u64 = 64 << 20;

/// Extra bytes read after a local file header's name, for its extra field
/// (PyTorch pads entries to 64-byte alignment with one).
const LOCAL_SLACK: u64 = 1024;

const EOCD: [u8; 4] = *b"PK\x05\x06";
const ZIP64_LOCATOR: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EOCD: [u8; 4] = *b"PK\x06\x06";
const CENTRAL: [u8; 4] = *b"PK\x01\x02";
const LOCAL: [u8; 4] = *b"PK\x03\x04";

/// Basenames of the metadata entry, newest first (anemoi-utils' `DEFAULT_NAME`
/// and `DEPRECATED_NAME`).
pub const METADATA_NAMES: [&str; 2] = ["anemoi.json", "ai-models.json"];

/// What can go wrong reading a checkpoint or its metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The bytes are not a zip archive (or are cut short).
    #[error("not a zip archive (an anemoi checkpoint is one): {reason}")]
    NotZip { reason: String },
    /// The archive's structures contradict each other or the file size.
    #[error("corrupt zip archive: {reason}")]
    Corrupt { reason: String },
    /// No `anemoi.json` / `ai-models.json` entry, or several.
    #[error("{found} anemoi metadata entries (*/anemoi-metadata/anemoi.json or ai-models.json) among the archive's {entries} entries; expected one")]
    NoMetadata { entries: usize, found: usize },
    /// An entry gik cannot extract.
    #[error("entry {entry}: {reason}")]
    Entry { entry: String, reason: String },
    /// The metadata is not JSON.
    #[error("the metadata is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The metadata lacks something gik needs, or holds it in a shape gik does not know.
    #[error("the metadata {0}")]
    Metadata(String),
    /// The model reads its inputs on a grid gik cannot produce.
    #[error("the model reads its inputs on {}{}; gik regrids to reduced Gaussian grids only (classic N<n> of ecCodes' samples, octahedral O<n>){}",
        .grid.as_deref().map_or_else(|| "an undeclared grid".to_string(), |g| format!("grid {g}")),
        .points.map_or_else(String::new, |p| format!(" ({p} points)")),
        .reason.as_deref().map_or_else(String::new, |r| format!(": {r}")))]
    Grid {
        grid: Option<String>,
        points: Option<u64>,
        reason: Option<String>,
    },
    /// The model's own latitudes and longitudes are not the points of the
    /// grid gik produces.
    #[error("its latitudes/longitudes are not the points of the grid gik regrids to: {0}")]
    Coordinates(#[from] crate::regrid::CoordinateMismatch),
}

/// Result alias for this module.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// A failed [`read_metadata`]: the reader's error, or a problem with the archive.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError<E: std::error::Error + 'static> {
    /// The reader failed (its error names the location).
    #[error("reading the checkpoint: {source}")]
    Read {
        location: String,
        #[source]
        source: E,
    },
    /// The archive or its metadata is unusable.
    #[error("{location}: {source}")]
    Checkpoint {
        location: String,
        #[source]
        source: CheckpointError,
    },
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 2)
        .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

fn corrupt(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Corrupt {
        reason: reason.into(),
    }
}

/// Where the central directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    /// Byte offset of the central directory.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Number of entries.
    pub entries: u64,
}

impl Directory {
    /// Its byte range in the archive.
    #[must_use]
    pub fn range(&self) -> Range<u64> {
        self.offset..self.offset + self.size
    }
}

/// What the end of an archive says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// The central directory.
    Directory(Directory),
    /// A zip64 archive whose zip64 end record (56 bytes) lies at this
    /// offset, outside the bytes given: read them and call [`zip64_record`].
    Zip64At(u64),
}

/// Finds the end-of-central-directory record in the last bytes of an
/// archive of `size` bytes (`tail` = bytes `size - tail.len()..size`).
///
/// # Errors
/// [`CheckpointError::NotZip`] without such a record,
/// [`CheckpointError::Corrupt`] when it points outside the archive.
pub fn locate(tail: &[u8], size: u64) -> Result<Located> {
    let tail_start = size
        .checked_sub(tail.len() as u64)
        .ok_or_else(|| corrupt("more tail bytes than the archive has"))?;
    if tail.len() < 22 {
        return Err(CheckpointError::NotZip {
            reason: format!("{size} bytes, shorter than an end-of-central-directory record"),
        });
    }
    // The record is 22 bytes plus a comment of up to 65,535: the last
    // signature whose comment reaches exactly to the end is the one.
    let last = tail.len() - 22;
    let first = last.saturating_sub(65_535);
    let pos = (first..=last)
        .rev()
        .find(|&p| {
            tail[p..p + 4] == EOCD && u16_at(tail, p + 20) == Some((tail.len() - p - 22) as u64)
        })
        .ok_or_else(|| CheckpointError::NotZip {
            reason: "no end-of-central-directory record in the last bytes".into(),
        })?;
    let field = |at: usize| u16_at(tail, pos + at).unwrap_or(0);
    let field32 = |at: usize| u32_at(tail, pos + at).unwrap_or(0);
    let (entries, cd_size, cd_offset) = (field(10), field32(12), field32(16));
    if field(4) != field(6) || (field(4) != 0 && field(4) != 0xFFFF) {
        return Err(corrupt(
            "archives split over several disks are not supported",
        ));
    }
    // A zip64 locator sits right before the record.
    if pos >= 20 && tail[pos - 20..pos - 16] == ZIP64_LOCATOR {
        let record = u64_at(tail, pos - 20 + 8).unwrap_or(u64::MAX);
        if record >= tail_start && record - tail_start + 56 <= tail.len() as u64 {
            let at = (record - tail_start) as usize;
            return zip64_record(&tail[at..at + 56], size).map(Located::Directory);
        }
        if record.checked_add(56).is_none_or(|e| e > size) {
            return Err(corrupt(format!(
                "zip64 end record at byte {record} lies outside the archive ({size} bytes)"
            )));
        }
        return Ok(Located::Zip64At(record));
    }
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        return Err(corrupt(
            "zip64 values without a zip64 end-of-central-directory locator",
        ));
    }
    checked(
        Directory {
            offset: cd_offset,
            size: cd_size,
            entries,
        },
        tail_start + pos as u64,
    )
    .map(Located::Directory)
}

/// Reads a zip64 end-of-central-directory record (its first 56 bytes).
///
/// # Errors
/// [`CheckpointError::Corrupt`] for a bad signature or a directory outside the archive.
pub fn zip64_record(b: &[u8], size: u64) -> Result<Directory> {
    if b.get(0..4) != Some(&ZIP64_EOCD[..]) {
        return Err(corrupt(
            "no zip64 end-of-central-directory record where its locator points",
        ));
    }
    let v = |at| u64_at(b, at).ok_or_else(|| corrupt("zip64 end record cut short"));
    checked(
        Directory {
            entries: v(32)?,
            size: v(40)?,
            offset: v(48)?,
        },
        size,
    )
}

fn checked(d: Directory, end: u64) -> Result<Directory> {
    if d.offset.checked_add(d.size).is_none_or(|e| e > end) {
        return Err(corrupt(format!(
            "central directory at bytes {}+{} reaches past its end record at byte {end}",
            d.offset, d.size
        )));
    }
    // every central header is at least 46 bytes: a count beyond that is a lie
    if d.entries > d.size / 46 {
        return Err(corrupt(format!(
            "{} entries cannot fit in a central directory of {} bytes",
            d.entries, d.size
        )));
    }
    Ok(d)
}

/// One file in the archive, as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path in the archive.
    pub name: String,
    /// 0 stored, 8 deflate.
    pub method: u16,
    /// General-purpose flags (bit 0: encrypted).
    pub flags: u16,
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// Bytes as stored.
    pub compressed_size: u64,
    /// Bytes once extracted.
    pub size: u64,
    /// Offset of its local file header.
    pub offset: u64,
}

/// Parses the central directory (`cd` = its `dir.size` bytes).
///
/// # Errors
/// [`CheckpointError::Corrupt`] for anything that does not add up.
pub fn entries(cd: &[u8], dir: &Directory) -> Result<Vec<Entry>> {
    if cd.len() as u64 != dir.size {
        return Err(corrupt(format!(
            "central directory of {} bytes, {} given",
            dir.size,
            cd.len()
        )));
    }
    // (dir.entries ≤ size / 46, checked when it was located)
    let mut out = Vec::with_capacity(dir.entries as usize);
    let mut at = 0usize;
    for i in 0..dir.entries {
        let short = || corrupt(format!("central directory entry {i} cut short"));
        if cd.get(at..at + 4) != Some(&CENTRAL[..]) {
            return Err(corrupt(format!(
                "central directory entry {i} at byte {} has no signature",
                dir.offset + at as u64
            )));
        }
        let f16 = |o: usize| u16_at(cd, at + o).ok_or_else(short);
        let f32 = |o: usize| u32_at(cd, at + o).ok_or_else(short);
        let (flags, method) = (f16(8)? as u16, f16(10)? as u16);
        let crc32 = f32(16)? as u32;
        let (mut csize, mut size) = (f32(20)?, f32(24)?);
        let (nlen, xlen, clen) = (f16(28)? as usize, f16(30)? as usize, f16(32)? as usize);
        let mut offset = f32(42)?;
        let name_at = at + 46;
        let name = cd.get(name_at..name_at + nlen).ok_or_else(short)?;
        let extra = cd
            .get(name_at + nlen..name_at + nlen + xlen)
            .ok_or_else(short)?;
        // zip64 extended information (0x0001): only the fields set to all ones, in order
        let mut x = 0usize;
        while x + 4 <= extra.len() {
            let id = u16_at(extra, x).unwrap_or(0);
            let len = u16_at(extra, x + 2).unwrap_or(0) as usize;
            let body = extra.get(x + 4..x + 4 + len).ok_or_else(short)?;
            if id == 1 {
                let mut p = 0usize;
                let mut next = |v: &mut u64| -> Result<()> {
                    if *v == 0xFFFF_FFFF {
                        *v = u64_at(body, p).ok_or_else(short)?;
                        p += 8;
                    }
                    Ok(())
                };
                next(&mut size)?;
                next(&mut csize)?;
                next(&mut offset)?;
            }
            x += 4 + len;
        }
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            flags,
            crc32,
            compressed_size: csize,
            size,
            offset,
        });
        at = name_at + nlen + xlen + clen;
    }
    Ok(out)
}

/// The metadata entry: the one whose basename is `anemoi.json`, else `ai-models.json`.
///
/// # Errors
/// [`CheckpointError::NoMetadata`] when there is none, or several.
pub fn metadata_entry(entries: &[Entry]) -> Result<&Entry> {
    for name in METADATA_NAMES {
        let found: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.name.rsplit('/').next() == Some(name))
            .collect();
        match found.as_slice() {
            [] => {}
            [one] => return Ok(one),
            many => {
                return Err(CheckpointError::NoMetadata {
                    entries: entries.len(),
                    found: many.len(),
                })
            }
        }
    }
    Err(CheckpointError::NoMetadata {
        entries: entries.len(),
        found: 0,
    })
}

/// The bytes to read for `entry`: its local header, name, up to
/// 1 KiB of extra field and its data, ending no later than
/// `end` (the central directory's offset: entries come before it).
#[must_use]
pub fn entry_span(entry: &Entry, end: u64) -> Range<u64> {
    let want = 30 + entry.name.len() as u64 + LOCAL_SLACK + entry.compressed_size;
    let stop = entry.offset.saturating_add(want).min(end.max(entry.offset));
    entry.offset..stop
}

/// What the bytes of an entry's local header give.
#[derive(Debug, PartialEq, Eq)]
pub enum Extracted {
    /// The entry's uncompressed bytes.
    Data(Vec<u8>),
    /// More bytes are needed: this many from the entry's offset.
    Need(u64),
}

/// Extracts `entry` from `bytes`, which start at its local header.
///
/// # Errors
/// [`CheckpointError::Entry`] for an encrypted entry, an unknown
/// compression method, a size over `max`, corrupt deflate data or a CRC
/// mismatch; [`CheckpointError::Corrupt`] for a bad local header.
pub fn extract(bytes: &[u8], entry: &Entry, max: u64) -> Result<Extracted> {
    let bad = |reason: String| CheckpointError::Entry {
        entry: entry.name.clone(),
        reason,
    };
    if entry.flags & 1 != 0 {
        return Err(bad("is encrypted".into()));
    }
    if entry.size > max || entry.compressed_size > max {
        return Err(bad(format!(
            "{} bytes exceed the limit of {max}",
            entry.size.max(entry.compressed_size)
        )));
    }
    if bytes.len() < 30 {
        return Ok(Extracted::Need(30));
    }
    if bytes[..4] != LOCAL {
        return Err(corrupt(format!(
            "no local file header at byte {} for {}",
            entry.offset, entry.name
        )));
    }
    let nlen = u16_at(bytes, 26).unwrap_or(0);
    let xlen = u16_at(bytes, 28).unwrap_or(0);
    let start = 30 + nlen + xlen;
    let end = start + entry.compressed_size;
    if (bytes.len() as u64) < end {
        return Ok(Extracted::Need(end));
    }
    let data = &bytes[start as usize..end as usize];
    let out = match entry.method {
        0 => {
            if entry.compressed_size != entry.size {
                return Err(bad(format!(
                    "stored with {} bytes but says it has {}",
                    entry.compressed_size, entry.size
                )));
            }
            data.to_vec()
        }
        8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, entry.size as usize)
            .map_err(|e| bad(format!("corrupt deflate data ({:?})", e.status)))?,
        m => {
            return Err(bad(format!(
                "compression method {m} is not supported (stored and deflate are)"
            )))
        }
    };
    if out.len() as u64 != entry.size {
        return Err(bad(format!(
            "{} bytes extracted, the directory says {}",
            out.len(),
            entry.size
        )));
    }
    let crc = crc32fast::hash(&out);
    if crc != entry.crc32 {
        return Err(bad(format!(
            "CRC-32 {crc:08x}, the directory says {:08x}",
            entry.crc32
        )));
    }
    Ok(Extracted::Data(out))
}

/// Reads the metadata JSON of the checkpoint at `location` through
/// `reader`: the archive's end and central directory, then the metadata
/// entry alone (see the module docs for the requests).
///
/// # Errors
/// [`ReadError::Read`] when a read fails, [`ReadError::Checkpoint`] when
/// the bytes are not an anemoi checkpoint.
pub async fn read_metadata<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
) -> Result<Vec<u8>, ReadError<R::Error>> {
    Ok(Archive::open(reader, location).await?.metadata)
}

/// An archive's central directory and its metadata JSON, as read.
struct Archive {
    entries: Vec<Entry>,
    /// The central directory's offset: entries end before it.
    end: u64,
    size: u64,
    metadata: Vec<u8>,
}

fn read_error<E: std::error::Error + 'static>(location: &str) -> impl Fn(E) -> ReadError<E> + '_ {
    move |source| ReadError::Read {
        location: location.to_string(),
        source,
    }
}

fn ckpt_error<E: std::error::Error + 'static>(
    location: &str,
) -> impl Fn(CheckpointError) -> ReadError<E> + '_ {
    move |source| ReadError::Checkpoint {
        location: location.to_string(),
        source,
    }
}

impl Archive {
    async fn open<R: RangeReader + ?Sized>(
        reader: &R,
        location: &str,
    ) -> Result<Self, ReadError<R::Error>> {
        let read_err = read_error::<R::Error>(location);
        let ckpt = ckpt_error::<R::Error>(location);
        let (tail, size) = reader
            .read_suffix(location, TAIL)
            .await
            .map_err(&read_err)?;
        let tail_start = size.saturating_sub(tail.len() as u64);
        let dir = match locate(&tail, size).map_err(&ckpt)? {
            Located::Directory(d) => d,
            Located::Zip64At(at) => {
                let b = reader
                    .read_range(location, at..at + 56)
                    .await
                    .map_err(&read_err)?;
                zip64_record(&b, size).map_err(&ckpt)?
            }
        };
        let cd = if dir.offset >= tail_start {
            let a = (dir.offset - tail_start) as usize;
            tail.slice(a..a + dir.size as usize)
        } else {
            reader
                .read_range(location, dir.range())
                .await
                .map_err(&read_err)?
        };
        let list = entries(&cd, &dir).map_err(&ckpt)?;
        let entry = metadata_entry(&list).map_err(&ckpt)?.clone();
        let span = entry_span(&entry, dir.offset);
        let bytes = if span.start >= tail_start && span.end <= size {
            tail.slice((span.start - tail_start) as usize..(span.end - tail_start) as usize)
        } else {
            reader.read_range(location, span).await.map_err(&read_err)?
        };
        let metadata = extract_read(reader, location, &entry, bytes, size, MAX_METADATA).await?;
        Ok(Self {
            entries: list,
            end: dir.offset,
            size,
            metadata,
        })
    }
}

/// Extracts `entry` from `bytes` (read from its offset), reading more when
/// its local header is longer than [`entry_span`] allowed for.
async fn extract_read<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
    entry: &Entry,
    mut bytes: bytes::Bytes,
    size: u64,
    max: u64,
) -> Result<Vec<u8>, ReadError<R::Error>> {
    let ckpt = ckpt_error::<R::Error>(location);
    // (a local header longer than its slack costs one read more; a third
    // pass cannot need more bytes than the second read gave)
    for _ in 0..3 {
        match extract(&bytes, entry, max).map_err(&ckpt)? {
            Extracted::Data(d) => return Ok(d),
            Extracted::Need(n) if n > bytes.len() as u64 => {
                let end = entry.offset.saturating_add(n);
                if end > size {
                    return Err(ckpt(corrupt(format!(
                        "entry {} reaches past the end of the archive ({size} bytes)",
                        entry.name
                    ))));
                }
                bytes = reader
                    .read_range(location, entry.offset..end)
                    .await
                    .map_err(read_error::<R::Error>(location))?;
            }
            Extracted::Need(_) => break,
        }
    }
    Err(ckpt(corrupt(format!("entry {} is cut short", entry.name))))
}

/// A model as gik needs it: what its metadata declares and, when the
/// checkpoint stores them, the latitudes and longitudes of its grid's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// What the metadata declares.
    pub spec: ModelSpec,
    /// Its `latitudes` and `longitudes` supporting arrays, when the
    /// checkpoint has them (not from metadata JSON alone).
    pub coordinates: Option<(Vec<f64>, Vec<f64>)>,
}

/// Largest supporting array read, in bytes (`float64` × [`crate::regrid::MAX_POINTS`]).
pub const MAX_ARRAY: u64 = 8 * crate::regrid::MAX_POINTS as u64;

impl Model {
    /// A model from its metadata JSON alone (no coordinates).
    ///
    /// # Errors
    /// As [`ModelSpec::from_json`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            spec: ModelSpec::from_json(bytes)?,
            coordinates: None,
        })
    }

    /// The operator that regrids 0.25° fields to the model's grid, its
    /// target points carrying the model's own coordinates when it has them
    /// (after checking they are the grid's points).
    ///
    /// # Errors
    /// [`CheckpointError::Grid`] for a grid gik cannot produce,
    /// [`CheckpointError::Coordinates`] for coordinates that are not its points.
    pub fn operator(&self, layout: crate::regrid::SourceLayout) -> Result<crate::regrid::Operator> {
        let grid = self.spec.target_grid()?;
        let op = crate::regrid::Operator::build_grid(grid, layout).map_err(|e| {
            CheckpointError::Grid {
                grid: self.spec.grid.clone(),
                points: self.spec.points,
                reason: Some(e.to_string()),
            }
        })?;
        self.with_coordinates(op)
    }

    /// `op` (built for the model's grid), its target points carrying the
    /// model's own coordinates when it has them.
    ///
    /// # Errors
    /// [`CheckpointError::Coordinates`] for coordinates that are not the grid's points.
    pub fn with_coordinates(&self, op: crate::regrid::Operator) -> Result<crate::regrid::Operator> {
        match &self.coordinates {
            Some((lat, lon)) => Ok(op.with_coordinates(lat.clone(), lon.clone())?),
            None => Ok(op),
        }
    }
}

/// What states for a model are made of, decided once for every front end
/// (CLI, npm package, Python): [`Model::states`].
#[derive(Debug, Clone)]
pub struct ModelStates {
    /// The inputs the model takes from the user (its variables minus the
    /// forcings its runner computes).
    pub inputs: Vec<crate::plan::Input>,
    /// Its input times (`multistep_input`, spaced by its time step).
    pub times: crate::plan::InputTimes,
    /// The grid the states are regridded to; `None` keeps the references' grid.
    pub grid: Option<crate::regrid::ReducedGaussian>,
    /// The model's own latitudes/longitudes for the target points: when it
    /// stores them and `grid` is its grid (checked to be that grid's points).
    pub coordinates: Option<(Vec<f64>, Vec<f64>)>,
    /// `grid` is not the model's declared grid (the caller asked for
    /// another): the model will not read such states as they are.
    pub off_grid: bool,
}

impl Model {
    /// The states for this model: its inputs and input times, on `grid` —
    /// `None` for the model's own grid, `Some(None)` for the references'
    /// grid, `Some(Some(g))` for grid `g` — with the model's coordinates when
    /// the states are on its grid.
    ///
    /// # Errors
    /// [`CheckpointError::Grid`] when the model's own grid is asked for and
    /// gik cannot produce it; [`CheckpointError::Coordinates`] when the
    /// model's coordinates are not its grid's points.
    pub fn states(
        &self,
        grid: Option<Option<crate::regrid::ReducedGaussian>>,
        source: crate::plan::InputSource,
    ) -> Result<ModelStates> {
        let grid = match grid {
            None => Some(self.spec.target_grid()?),
            Some(g) => g,
        };
        let on_models_grid = grid.is_some() && grid == self.spec.target_grid().ok();
        let coordinates = match (&grid, &self.coordinates) {
            (Some(g), Some((lat, lon))) if on_models_grid => {
                crate::regrid::compare_coordinates(*g, lat, lon)?;
                Some((lat.clone(), lon.clone()))
            }
            _ => None,
        };
        Ok(ModelStates {
            inputs: crate::plan::model_inputs(&self.spec),
            times: self.spec.input_times(source),
            grid,
            coordinates,
            off_grid: !on_models_grid,
        })
    }
}

/// Reads a model from its checkpoint through `reader`: the metadata as
/// [`read_metadata`] does, then, when the metadata names `latitudes` and
/// `longitudes` supporting arrays, both in one more request (they are
/// written next to each other after the metadata). Three requests for a
/// checkpoint whose central directory fits in the tail.
///
/// # Errors
/// As [`read_metadata`]; [`CheckpointError::Metadata`] for metadata gik
/// cannot use, [`CheckpointError::Entry`] for arrays that are missing or
/// not the declared size.
pub async fn read_model<R: RangeReader + ?Sized>(
    reader: &R,
    location: &str,
) -> Result<Model, ReadError<R::Error>> {
    let ckpt = ckpt_error::<R::Error>(location);
    let archive = Archive::open(reader, location).await?;
    let spec = ModelSpec::from_json(&archive.metadata).map_err(&ckpt)?;
    let Some((lat, lon)) = spec.coordinates.clone() else {
        return Ok(Model {
            spec,
            coordinates: None,
        });
    };
    let find = |a: &SupportingArray| {
        archive
            .entries
            .iter()
            .find(|e| e.name == a.path)
            .cloned()
            .ok_or_else(|| CheckpointError::Entry {
                entry: a.path.clone(),
                reason: "is named by the metadata's supporting_arrays_paths but not in the archive"
                    .into(),
            })
    };
    let (lat_entry, lon_entry) = (find(&lat).map_err(&ckpt)?, find(&lon).map_err(&ckpt)?);
    for (a, e) in [(&lat, &lat_entry), (&lon, &lon_entry)] {
        if e.size > MAX_ARRAY || a.byte_len().is_none_or(|n| n != e.size) {
            return Err(ckpt(CheckpointError::Entry {
                entry: e.name.clone(),
                reason: format!(
                    "holds {} bytes; the metadata declares {} {} values (at most {MAX_ARRAY} bytes)",
                    e.size, a.len, a.dtype
                ),
            }));
        }
    }
    // one read over both entries (adjacent in anemoi-utils' checkpoints)
    let spans = [
        entry_span(&lat_entry, archive.end),
        entry_span(&lon_entry, archive.end),
    ];
    let start = spans[0].start.min(spans[1].start);
    let stop = spans[0].end.max(spans[1].end);
    let together = stop - start <= 2 * MAX_ARRAY + 4 * LOCAL_SLACK;
    let mut arrays = Vec::with_capacity(2);
    let joint = if together {
        Some(
            reader
                .read_range(location, start..stop)
                .await
                .map_err(read_error::<R::Error>(location))?,
        )
    } else {
        None
    };
    for ((a, e), span) in [(&lat, &lat_entry), (&lon, &lon_entry)]
        .into_iter()
        .zip(spans)
    {
        let bytes = match &joint {
            Some(b) => b.slice((span.start - start) as usize..(span.end - start) as usize),
            None => reader
                .read_range(location, span)
                .await
                .map_err(read_error::<R::Error>(location))?,
        };
        let raw = extract_read(reader, location, e, bytes, archive.size, MAX_ARRAY).await?;
        arrays.push(a.decode(&raw).map_err(&ckpt)?);
    }
    let lon_values = arrays.pop().unwrap_or_default();
    let lat_values = arrays.pop().unwrap_or_default();
    Ok(Model {
        spec,
        coordinates: Some((lat_values, lon_values)),
    })
}

/// A supporting array the metadata names (`supporting_arrays_paths`):
/// anemoi-utils writes it as the raw bytes of the NumPy array
/// (`ndarray.tobytes()`, little-endian on the machines that train models).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportingArray {
    /// Path in the archive (`…/anemoi-metadata/latitudes.numpy`).
    pub path: String,
    /// NumPy dtype (`float64`, `float32`, `<f8`).
    pub dtype: String,
    /// Number of values (its shape's product).
    pub len: u64,
}

impl SupportingArray {
    /// Bytes per value, for the dtypes gik reads (`float64`, `float32`).
    fn item_size(&self) -> Option<u64> {
        match self.dtype.as_str() {
            "float64" | "<f8" | "f8" | "double" => Some(8),
            "float32" | "<f4" | "f4" | "single" => Some(4),
            _ => None,
        }
    }

    fn byte_len(&self) -> Option<u64> {
        self.item_size().and_then(|s| s.checked_mul(self.len))
    }

    /// Its values from the entry's bytes.
    ///
    /// # Errors
    /// [`CheckpointError::Entry`] for another dtype or size.
    pub fn decode(&self, raw: &[u8]) -> Result<Vec<f64>> {
        let bad = |reason: String| CheckpointError::Entry {
            entry: self.path.clone(),
            reason,
        };
        let size = self.item_size().ok_or_else(|| {
            bad(format!(
                "has dtype {}; gik reads float64 and float32 coordinates",
                self.dtype
            ))
        })?;
        if Some(raw.len() as u64) != self.byte_len() {
            return Err(bad(format!(
                "holds {} bytes, not {} {} values",
                raw.len(),
                self.len,
                self.dtype
            )));
        }
        Ok(match size {
            8 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            _ => raw
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        })
    }
}

/// One input the user supplies, as the checkpoint names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// Name in the state (`2t`, `t_850`, `z_500`, `stl1`).
    pub name: String,
    /// Constant in time (`lsm`, `z`, `slor`, `sdor`).
    pub constant: bool,
    /// MARS `param` (`2t`, `t`, `z`, `stl1`), when the metadata has it.
    pub param: Option<String>,
    /// MARS `levtype` (`sfc`, `pl`, `sol`).
    pub levtype: Option<String>,
    /// MARS `levelist` (850, 1 …).
    pub level: Option<f64>,
}

/// A grid gik can put a model's inputs on: a reduced Gaussian grid,
/// regridded from 0.25° with MIR's "linear".
pub type TargetGrid = crate::regrid::ReducedGaussian;

/// What a model declares about its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Inputs the user supplies (its variables minus computed forcings and
    /// diagnostics), in the order of the training dataset.
    pub inputs: Vec<ModelInput>,
    /// Forcings the runner computes itself (`cos_latitude`, `insolation`, …).
    pub computed: Vec<String>,
    /// The grid it was trained on (`n320`, `o96`), when the metadata says.
    pub grid: Option<String>,
    /// Points of that grid, when the metadata says.
    pub points: Option<u64>,
    /// The model's time step in hours.
    pub timestep_hours: i64,
    /// How many input times it reads (`multistep_input`).
    pub multistep_input: usize,
    /// Its `latitudes` and `longitudes` supporting arrays, if the checkpoint has them.
    pub coordinates: Option<(SupportingArray, SupportingArray)>,
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `6h`, `1d`, `30m`, `21600s` or a number of hours → hours.
fn hours(v: &Value) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().ok()?;
    let h = match unit {
        "" | "h" | "H" => n,
        "d" | "D" => n * 24,
        "m" | "min" if n % 60 == 0 => n / 60,
        "s" if n % 3600 == 0 => n / 3600,
        _ => return None,
    };
    (h > 0).then_some(h)
}

/// Names the training dataset's runner computes in checkpoints without
/// `variables_metadata` (anemoi-inference's legacy defaults).
const LEGACY_COMPUTED: [&str; 9] = [
    "cos_latitude",
    "sin_latitude",
    "cos_longitude",
    "sin_longitude",
    "cos_julian_day",
    "sin_julian_day",
    "cos_local_time",
    "sin_local_time",
    "insolation",
];

/// The metadata error for a checkpoint that lacks `what`.
fn missing(what: &str) -> CheckpointError {
    CheckpointError::Metadata(format!("lacks {what}"))
}

/// The dataset a checkpoint's inputs come from: its `dataset` entry, its
/// `metadata_inference` entry (multi-dataset checkpoints) and its name there.
fn select_dataset(m: &Value) -> Result<(&Value, Option<&Value>, Option<String>)> {
    let multi = get(m, &["metadata_inference", "dataset_names"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect::<Vec<_>>()
        });
    Ok(match &multi {
        Some(names) if !names.is_empty() => {
            let ds = if names.iter().any(|n| n == "data") {
                "data".to_string()
            } else if let [one] = names.as_slice() {
                one.clone()
            } else {
                return Err(CheckpointError::Metadata(format!(
                    "holds several datasets ({}) and none named `data`",
                    names.join(", ")
                )));
            };
            let dataset =
                get(m, &["dataset", &ds]).ok_or_else(|| missing(&format!("dataset.{ds}")))?;
            (dataset, get(m, &["metadata_inference", &ds]), Some(ds))
        }
        _ => (
            m.get("dataset").ok_or_else(|| missing("`dataset`"))?,
            None,
            None,
        ),
    })
}

/// Which variables are forcings, prognostic and diagnostic, with the time
/// step and input count where the same metadata says them.
struct VariableRoles {
    forcing: Vec<String>,
    prognostic: Vec<String>,
    diagnostic: Vec<String>,
    timestep: Option<i64>,
    multistep: Option<usize>,
}

/// Reads the variables' roles from `metadata_inference` (multi-dataset) or
/// from `config.data` and `data_indices` (single-dataset).
fn variable_roles(
    m: &Value,
    inference: Option<&Value>,
    ds_name: Option<&str>,
    variables: &[String],
) -> VariableRoles {
    let by_index = |key: &[&str]| -> Vec<String> {
        get(m, key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .filter_map(|i| variables.get(i as usize).cloned())
                    .collect()
            })
            .unwrap_or_default()
    };
    match (inference, ds_name) {
        (Some(inf), Some(_)) => {
            let types = inf.get("variable_types");
            let t = |k: &str| names(types.and_then(|t| t.get(k)));
            let multistep = get(inf, &["timesteps", "input_relative_date_indices"])
                .and_then(Value::as_array)
                .map(Vec::len);
            VariableRoles {
                forcing: t("forcing"),
                prognostic: t("prognostic"),
                diagnostic: t("diagnostic"),
                timestep: get(inf, &["timesteps", "timestep"]).and_then(hours),
                multistep,
            }
        }
        _ => {
            let forcing = names(get(m, &["config", "data", "forcing"]));
            let diagnostic = by_index(&["data_indices", "data", "input", "diagnostic"]);
            let mut prognostic = by_index(&["data_indices", "data", "input", "prognostic"]);
            if prognostic.is_empty() {
                let full = by_index(&["data_indices", "data", "input", "full"]);
                prognostic = full
                    .into_iter()
                    .filter(|n| !forcing.contains(n) && !diagnostic.contains(n))
                    .collect();
            }
            VariableRoles {
                forcing,
                prognostic,
                diagnostic,
                timestep: get(m, &["config", "data", "timestep"]).and_then(hours),
                multistep: get(m, &["config", "training", "multistep_input"])
                    .and_then(Value::as_u64)
                    .map(|n| n as usize),
            }
        }
    }
}

/// The boolean `key` of variable `n`'s entry in `variables_metadata` (false when absent).
fn meta_flag(vmeta: Option<&Value>, n: &str, key: &str) -> bool {
    vmeta
        .and_then(|v| v.get(n))
        .and_then(|v| v.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Splits the dataset's variables into the inputs the user supplies and the
/// forcings the runner computes (diagnostics and unused variables left out).
fn split_inputs(
    variables: &[String],
    roles: &VariableRoles,
    vmeta: Option<&Value>,
) -> (Vec<ModelInput>, Vec<String>) {
    let computed_flag = |n: &str| {
        if vmeta.is_some() {
            meta_flag(vmeta, n, "computed_forcing")
        } else {
            LEGACY_COMPUTED.contains(&n)
        }
    };
    let mut inputs = Vec::new();
    let mut computed = Vec::new();
    for n in variables {
        let wanted = roles.prognostic.contains(n) || roles.forcing.contains(n);
        if !wanted || roles.diagnostic.contains(n) {
            continue;
        }
        if computed_flag(n) {
            computed.push(n.clone());
            continue;
        }
        let mars = vmeta.and_then(|v| v.get(n)).and_then(|v| v.get("mars"));
        let text = |k: &str| {
            mars.and_then(|v| v.get(k)).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(x) => Some(x.to_string()),
                _ => None,
            })
        };
        let level = mars.and_then(|v| v.get("levelist")).and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        inputs.push(ModelInput {
            name: n.clone(),
            constant: meta_flag(vmeta, n, "constant_in_time")
                || (vmeta.is_none() && crate::plan::CONSTANT_FIELDS.contains(&n.as_str())),
            param: text("param"),
            levtype: text("levtype"),
            level,
        });
    }
    (inputs, computed)
}

/// What the metadata says of the grid: its name, its number of points and
/// the archive paths of its latitude and longitude arrays.
fn grid_of(
    m: &Value,
    dataset: &Value,
    ds_name: Option<&str>,
) -> (
    Option<String>,
    Option<u64>,
    Option<(SupportingArray, SupportingArray)>,
) {
    let grid = dataset
        .get("data_request")
        .and_then(|r| r.get("grid"))
        .and_then(|g| match g {
            Value::String(s) => Some(s.to_ascii_lowercase()),
            _ => None,
        });
    let arrays = match ds_name {
        Some(ds) => get(m, &["supporting_arrays_paths", ds]),
        None => m.get("supporting_arrays_paths"),
    };
    let array = |k: &str| arrays.and_then(|a| a.get(k));
    let supporting = |k: &str| {
        let a = array(k)?;
        let len = a
            .get("shape")
            .and_then(Value::as_array)?
            .iter()
            .try_fold(1u64, |n, d| d.as_u64().and_then(|d| n.checked_mul(d)))?;
        Some(SupportingArray {
            path: a.get("path").and_then(Value::as_str)?.to_string(),
            dtype: a.get("dtype").and_then(Value::as_str)?.to_string(),
            len,
        })
    };
    let coordinates = supporting("latitudes").zip(supporting("longitudes"));
    let points = array("latitudes")
        .and_then(|a| get(a, &["shape"]))
        .and_then(|s| s.get(0))
        .and_then(Value::as_u64)
        .or_else(|| {
            dataset
                .get("shape")
                .and_then(Value::as_array)
                .and_then(|s| s.last())
                .and_then(Value::as_u64)
        });
    (grid, points, coordinates)
}
impl ModelSpec {
    /// Reads what the model needs from its metadata JSON (the
    /// `ai-models.json` of a checkpoint, or anemoi-inference's test
    /// metadata): single-dataset checkpoints (`dataset.variables`,
    /// `data_indices.data.input`, `config.training.multistep_input`) and
    /// multi-dataset ones (`metadata_inference.<dataset>`), dataset `data`.
    ///
    /// # Errors
    /// [`CheckpointError::Json`] for bytes that are not JSON,
    /// [`CheckpointError::Metadata`] naming what is missing.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let m: Value = serde_json::from_slice(bytes)?;
        let (dataset, inference, ds_name) = select_dataset(&m)?;
        let variables = names(dataset.get("variables"));
        if variables.is_empty() {
            return Err(missing("the dataset's `variables`"));
        }
        let vmeta = dataset.get("variables_metadata");
        let roles = variable_roles(&m, inference, ds_name.as_deref(), &variables);
        if roles.forcing.is_empty() && roles.prognostic.is_empty() {
            return Err(missing(
                "which variables are prognostic and forcing (data_indices / variable_types)",
            ));
        }
        let timestep_hours = roles
            .timestep
            .or_else(|| get(&m, &["config", "data", "timestep"]).and_then(hours))
            .or_else(|| dataset.get("frequency").and_then(hours))
            .ok_or_else(|| missing("the time step (config.data.timestep)"))?;
        let multistep_input = roles
            .multistep
            .or_else(|| {
                get(&m, &["config", "training", "multistep_input"])
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .filter(|n| (1..=64).contains(n))
            .ok_or_else(|| missing("`config.training.multistep_input` (1 to 64)"))?;
        let (inputs, computed) = split_inputs(&variables, &roles, vmeta);
        let (grid, points, coordinates) = grid_of(&m, dataset, ds_name.as_deref());
        Ok(Self {
            inputs,
            computed,
            grid,
            points,
            timestep_hours,
            multistep_input,
            coordinates,
        })
    }

    /// The grid gik puts the inputs on: the one the model declares, by name
    /// (`n320`, `o96`; its number of points must agree when the metadata
    /// gives both) or, without a name, the one reduced Gaussian grid gik
    /// knows with its number of points (542,080: N320; 10,944: O48).
    ///
    /// # Errors
    /// [`CheckpointError::Grid`] for a grid gik cannot produce (not a
    /// reduced Gaussian grid it knows, or one whose number of points
    /// contradicts the metadata's).
    pub fn target_grid(&self) -> Result<TargetGrid> {
        use crate::regrid::ReducedGaussian;
        let err = |reason: Option<String>| CheckpointError::Grid {
            grid: self.grid.clone(),
            points: self.points,
            reason,
        };
        let grid = match self.grid.as_deref() {
            Some(name) => ReducedGaussian::parse(name).map_err(|e| err(Some(e.to_string())))?,
            None => self
                .points
                .and_then(ReducedGaussian::from_points)
                .ok_or_else(|| err(None))?,
        };
        match self.points {
            Some(p) if p != grid.points() as u64 => {
                Err(err(Some(format!("{grid} has {} points", grid.points()))))
            }
            _ => Ok(grid),
        }
    }

    /// The input times of its states, from one forecast run or from
    /// consecutive runs' step 0.
    #[must_use]
    pub fn input_times(&self, source: crate::plan::InputSource) -> crate::plan::InputTimes {
        crate::plan::InputTimes {
            lagged: self.lagged_hours(),
            source,
        }
    }

    /// The input times relative to the state's date, in hours, oldest first
    /// (anemoi-inference's `lagged`): `[-6, 0]` for two inputs 6 h apart.
    #[must_use]
    pub fn lagged_hours(&self) -> Vec<i64> {
        (0..self.multistep_input as i64)
            .rev()
            .map(|k| -k * self.timestep_hours)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::io::testing::{ready, Counting};
    use crate::io::MemoryReader;

    /// A tiny zip writer: stored or deflated entries, optionally zip64
    /// (every size and offset in the zip64 extra field, with zip64 end records).
    struct Zip {
        out: Vec<u8>,
        central: Vec<u8>,
        count: u64,
        zip64: bool,
    }

    impl Zip {
        fn new(zip64: bool) -> Self {
            Self {
                out: Vec::new(),
                central: Vec::new(),
                count: 0,
                zip64,
            }
        }

        fn add(&mut self, name: &str, data: &[u8], deflate: bool) {
            let stored;
            let body: &[u8] = if deflate {
                stored = miniz_oxide::deflate::compress_to_vec(data, 6);
                &stored
            } else {
                data
            };
            let method: u16 = if deflate { 8 } else { 0 };
            let crc = crc32fast::hash(data);
            let offset = self.out.len() as u64;
            let (c32, s32, o32) = if self.zip64 {
                (0xFFFF_FFFFu32, 0xFFFF_FFFFu32, 0xFFFF_FFFFu32)
            } else {
                (body.len() as u32, data.len() as u32, offset as u32)
            };
            let mut extra = Vec::new();
            if self.zip64 {
                extra.extend_from_slice(&1u16.to_le_bytes());
                extra.extend_from_slice(&24u16.to_le_bytes());
                extra.extend_from_slice(&(data.len() as u64).to_le_bytes());
                extra.extend_from_slice(&(body.len() as u64).to_le_bytes());
                extra.extend_from_slice(&offset.to_le_bytes());
            }
            // local header, with a 64-byte-aligning padding extra as PyTorch writes
            let pad = vec![0u8; 40];
            let o = &mut self.out;
            o.extend_from_slice(&LOCAL);
            o.extend_from_slice(&[20, 0, 0, 0]);
            o.extend_from_slice(&method.to_le_bytes());
            o.extend_from_slice(&[0, 0, 0, 0]);
            o.extend_from_slice(&crc.to_le_bytes());
            o.extend_from_slice(&(body.len() as u32).to_le_bytes());
            o.extend_from_slice(&(data.len() as u32).to_le_bytes());
            o.extend_from_slice(&(name.len() as u16).to_le_bytes());
            o.extend_from_slice(&(pad.len() as u16 + 4).to_le_bytes());
            o.extend_from_slice(name.as_bytes());
            o.extend_from_slice(&0x4246u16.to_le_bytes()); // "FB", PyTorch's padding id
            o.extend_from_slice(&(pad.len() as u16).to_le_bytes());
            o.extend_from_slice(&pad);
            o.extend_from_slice(body);
            let c = &mut self.central;
            c.extend_from_slice(&CENTRAL);
            c.extend_from_slice(&[45, 3, 45, 0, 0, 0]);
            c.extend_from_slice(&method.to_le_bytes());
            c.extend_from_slice(&[0, 0, 0, 0]);
            c.extend_from_slice(&crc.to_le_bytes());
            c.extend_from_slice(&c32.to_le_bytes());
            c.extend_from_slice(&s32.to_le_bytes());
            c.extend_from_slice(&(name.len() as u16).to_le_bytes());
            c.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0u8; 10]); // comment length, disk, attributes
            c.extend_from_slice(&o32.to_le_bytes());
            c.extend_from_slice(name.as_bytes());
            c.extend_from_slice(&extra);
            self.count += 1;
        }

        fn finish(mut self, comment: &[u8]) -> Vec<u8> {
            let cd_offset = self.out.len() as u64;
            let cd_size = self.central.len() as u64;
            self.out.extend_from_slice(&self.central);
            let o = &mut self.out;
            if self.zip64 {
                let record = o.len() as u64;
                o.extend_from_slice(&ZIP64_EOCD);
                o.extend_from_slice(&44u64.to_le_bytes());
                o.extend_from_slice(&[45, 3, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                o.extend_from_slice(&self.count.to_le_bytes());
                o.extend_from_slice(&self.count.to_le_bytes());
                o.extend_from_slice(&cd_size.to_le_bytes());
                o.extend_from_slice(&cd_offset.to_le_bytes());
                o.extend_from_slice(&ZIP64_LOCATOR);
                o.extend_from_slice(&0u32.to_le_bytes());
                o.extend_from_slice(&record.to_le_bytes());
                o.extend_from_slice(&1u32.to_le_bytes());
            }
            let (n16, s32, o32) = if self.zip64 {
                (0xFFFFu16, 0xFFFF_FFFFu32, 0xFFFF_FFFFu32)
            } else {
                (self.count as u16, cd_size as u32, cd_offset as u32)
            };
            o.extend_from_slice(&EOCD);
            o.extend_from_slice(&[0, 0, 0, 0]);
            o.extend_from_slice(&n16.to_le_bytes());
            o.extend_from_slice(&n16.to_le_bytes());
            o.extend_from_slice(&s32.to_le_bytes());
            o.extend_from_slice(&o32.to_le_bytes());
            o.extend_from_slice(&(comment.len() as u16).to_le_bytes());
            o.extend_from_slice(comment);
            self.out
        }
    }

    const META: &[u8] = br#"{"config": {"data": {"forcing": ["lsm", "cos_latitude"], "timestep": "6h"},
        "training": {"multistep_input": 2}},
        "dataset": {"variables": ["2t", "cos_latitude", "lsm", "t_850", "tp"],
                    "data_request": {"grid": "N320"}, "shape": [10, 5, 1, 542080],
                    "variables_metadata": {
                        "2t": {"mars": {"param": "2t", "levtype": "sfc"}},
                        "cos_latitude": {"computed_forcing": true, "constant_in_time": true},
                        "lsm": {"constant_in_time": true, "mars": {"param": "lsm", "levtype": "sfc"}},
                        "t_850": {"mars": {"param": "t", "levtype": "pl", "levelist": 850}},
                        "tp": {"mars": {"param": "tp", "levtype": "sfc"}}}},
        "data_indices": {"data": {"input": {"prognostic": [0, 3], "diagnostic": [4]}}}}"#;

    /// A checkpoint-like archive: weights before the metadata, as anemoi-utils appends it.
    fn checkpoint(zip64: bool, deflate: bool, weights: usize, comment: &[u8]) -> Vec<u8> {
        let mut z = Zip::new(zip64);
        z.add("ckpt/data.pkl", b"\x80\x02}q\x00.", false);
        let w: Vec<u8> = (0..weights).map(|i| (i * 13 % 256) as u8).collect();
        z.add("ckpt/data/0", &w, false);
        z.add("ckpt/version", b"3\n", false);
        z.add("ckpt/anemoi-metadata/ai-models.json", META, deflate);
        z.finish(comment)
    }

    fn read_counted(bytes: Vec<u8>) -> (std::result::Result<Vec<u8>, String>, usize) {
        let mut m = MemoryReader::new();
        m.insert("m.ckpt", bytes);
        let r = Counting::new(m);
        let got = ready(read_metadata(&r, "m.ckpt")).map_err(|e| e.to_string());
        (got, r.requests())
    }

    #[test]
    fn metadata_is_read_in_at_most_three_requests() {
        for (zip64, deflate, weights, comment) in [
            (false, false, 10, &b""[..]),
            (false, true, 10, b"a comment"),
            (true, false, 10, b""),
            (true, true, 10, b""),
            // weights larger than the tail: central directory and entry apart
            (false, false, 300_000, b""),
            (true, true, 300_000, b"x"),
        ] {
            let (got, requests) = read_counted(checkpoint(zip64, deflate, weights, comment));
            assert_eq!(
                got.as_deref(),
                Ok(META),
                "zip64 {zip64} deflate {deflate} weights {weights}"
            );
            assert!(requests <= 3, "{requests} requests");
        }
        // a small archive is served by its tail alone
        assert_eq!(read_counted(checkpoint(false, true, 10, b"")).1, 1);
    }

    #[test]
    fn a_central_directory_beyond_the_tail_costs_one_request_more() {
        // many entries after the weights: the directory alone is larger than the tail
        let mut z = Zip::new(true);
        let w = vec![7u8; 200_000];
        z.add("ckpt/data/big", &w, false);
        z.add("ckpt/anemoi-metadata/anemoi.json", META, true);
        for i in 0..4000 {
            z.add(&format!("ckpt/data/{i:0>40}"), b"", false);
        }
        let (got, requests) = read_counted(z.finish(b""));
        assert_eq!(got.as_deref(), Ok(META));
        assert_eq!(requests, 3);
    }

    /// A checkpoint as anemoi-utils' save_metadata writes one: weights, the
    /// metadata naming its supporting arrays, then the arrays' raw bytes.
    fn with_arrays(lat: &[f64], lon: &[u8], lon_dtype: &str) -> Vec<u8> {
        let meta = String::from_utf8(META.to_vec()).unwrap().replacen(
            "\"config\"",
            &format!(
                "\"supporting_arrays_paths\": {{
                    \"latitudes\": {{\"path\": \"ckpt/anemoi-metadata/latitudes.numpy\", \"shape\": [{}], \"dtype\": \"float64\"}},
                    \"longitudes\": {{\"path\": \"ckpt/anemoi-metadata/longitudes.numpy\", \"shape\": [{}], \"dtype\": \"{lon_dtype}\"}}}},
                 \"config\"",
                lat.len(),
                lat.len()
            ),
            1,
        );
        let mut z = Zip::new(false);
        z.add("ckpt/data/0", &vec![3u8; 300_000], false);
        z.add(
            "ckpt/anemoi-metadata/ai-models.json",
            meta.as_bytes(),
            false,
        );
        let lat: Vec<u8> = lat.iter().flat_map(|x| x.to_le_bytes()).collect();
        z.add("ckpt/anemoi-metadata/latitudes.numpy", &lat, false);
        z.add("ckpt/anemoi-metadata/longitudes.numpy", lon, false);
        z.finish(b"")
    }

    #[test]
    fn the_coordinates_come_in_the_same_three_requests() {
        let grid = crate::regrid::ReducedGaussian::Octahedral(48);
        let (lat, lon) = (grid.latitudes(), grid.longitudes());
        let lon32: Vec<u8> = lon.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
        let bytes = with_arrays(&lat, &lon32, "float32");
        let mut m = MemoryReader::new();
        m.insert("m.ckpt", bytes);
        let r = Counting::new(m);
        let model = ready(read_model(&r, "m.ckpt")).unwrap();
        assert_eq!(r.requests(), 3);
        let (got_lat, got_lon) = model.coordinates.clone().unwrap();
        assert_eq!(got_lat, lat);
        let want_lon: Vec<f64> = lon.iter().map(|x| f64::from(*x as f32)).collect();
        assert_eq!(got_lon, want_lon);
        // N320 metadata, O48 arrays: the grid's point count differs
        let e = model
            .operator(crate::regrid::SourceLayout::OpenData)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("grid n320 (10944 points)") && e.contains("N320 has 542080 points"),
            "{e}"
        );
        // arrays of another size than declared, and a missing array
        let short = with_arrays(&lat, &lon32[8..], "float32");
        let (got, _) = read_counted_model(short);
        assert!(got.unwrap_err().contains("longitudes.numpy"));
        let odd = with_arrays(&lat, &lon32, "int16");
        let (got, _) = read_counted_model(odd);
        let e = got.unwrap_err();
        assert!(e.contains("longitudes.numpy") && e.contains("int16"), "{e}");
    }

    fn read_counted_model(bytes: Vec<u8>) -> (std::result::Result<Model, String>, usize) {
        let mut m = MemoryReader::new();
        m.insert("m.ckpt", bytes);
        let r = Counting::new(m);
        let got = ready(read_model(&r, "m.ckpt")).map_err(|e| e.to_string());
        (got, r.requests())
    }

    #[test]
    fn truncated_and_garbage_archives_are_clear_errors() {
        let good = checkpoint(true, true, 1000, b"");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "not a zip"),
            (b"PK".to_vec(), "not a zip"),
            (vec![0u8; 5000], "no end-of-central-directory"),
            (good[..good.len() - 10].to_vec(), "not a zip"),
            (good[..good.len() / 2].to_vec(), "not a zip"),
            (good[good.len() / 2..].to_vec(), "outside the archive"),
        ];
        for (bytes, want) in cases {
            let (got, _) = read_counted(bytes);
            let e = got.expect_err("must fail");
            assert!(e.contains("m.ckpt") && e.contains(want), "{e}");
        }
        // lies about sizes and counts never allocate what they claim (EOCD
        // at n - 22: total entries at +10, directory size at +12)
        let plain = checkpoint(false, false, 10, b"");
        let n = plain.len();
        for (at, value, want) in [
            (n - 12, &u16::MAX.to_le_bytes()[..], "zip64 values"),
            (n - 12, &60_000u16.to_le_bytes()[..], "cannot fit"),
            (n - 10, &u32::MAX.to_le_bytes()[..], "zip64 values"),
            (n - 10, &1_000_000u32.to_le_bytes()[..], "reaches past"),
        ] {
            let mut lie = plain.clone();
            lie[at..at + value.len()].copy_from_slice(value);
            let e = read_counted(lie).0.expect_err("must fail");
            assert!(e.contains("corrupt") && e.contains(want), "{e}");
        }
        // damaged deflate data of the metadata (just before the directory)
        let mut bad = checkpoint(false, true, 10, b"");
        let n = bad.len();
        let cd = u32::from_le_bytes(bad[n - 6..n - 2].try_into().unwrap()) as usize;
        bad[cd - 30..cd - 2].fill(0xAA);
        let e = read_counted(bad).0.expect_err("must fail");
        assert!(
            e.contains("entry ckpt/anemoi-metadata/ai-models.json"),
            "{e}"
        );
        // an archive without metadata
        let mut z = Zip::new(false);
        z.add("ckpt/data.pkl", b"x", false);
        let e = read_counted(z.finish(b"")).0.expect_err("must fail");
        assert!(e.contains("0 anemoi metadata entries"), "{e}");
    }

    /// Archives written by Python's `zipfile` (core/tests/data/checkpoint/make_fixtures.py).
    #[test]
    fn archives_written_by_python_zipfile_are_read() {
        let want = include_bytes!("../tests/data/checkpoint/metadata.json");
        for bytes in [
            &include_bytes!("../tests/data/checkpoint/stored.ckpt")[..],
            include_bytes!("../tests/data/checkpoint/deflated-zip64.ckpt"),
        ] {
            let (got, requests) = read_counted(bytes.to_vec());
            assert_eq!(got.as_deref(), Ok(&want[..]));
            assert_eq!(requests, 1);
            let spec = ModelSpec::from_json(want).unwrap();
            assert_eq!(spec.inputs.len(), 2);
        }
    }

    #[test]
    fn every_cut_of_an_archive_fails_without_panicking() {
        let good = checkpoint(true, true, 100, b"");
        for cut in 0..good.len() {
            let _ = read_counted(good[..cut].to_vec());
            let _ = read_counted(good[cut..].to_vec());
        }
    }

    #[test]
    fn a_models_states_are_on_its_grid_with_its_coordinates_unless_asked_otherwise() {
        use crate::plan::InputSource;
        use crate::regrid::{Operator, ReducedGaussian, SourceLayout};
        let spec = ModelSpec {
            grid: Some("o48".into()),
            points: Some(10_944),
            ..ModelSpec::from_json(META).unwrap()
        };
        let op =
            Operator::build_grid(ReducedGaussian::Octahedral(48), SourceLayout::OpenData).unwrap();
        let model = Model {
            spec: spec.clone(),
            coordinates: Some((op.latitudes(), op.longitudes())),
        };
        let s = model.states(None, InputSource::Analyses).unwrap();
        let names: Vec<_> = s.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["2t", "lsm", "t_850"]);
        assert_eq!(s.times.lagged, [-6, 0]);
        assert_eq!(s.times.source, InputSource::Analyses);
        assert_eq!(s.grid, Some(ReducedGaussian::Octahedral(48)));
        assert_eq!(s.coordinates, model.coordinates);
        assert!(!s.off_grid);
        // another grid, or the references' own: no model coordinates, said
        let n320 = model
            .states(Some(Some(ReducedGaussian::N320)), InputSource::Forecast)
            .unwrap();
        assert_eq!(
            (n320.grid, n320.coordinates, n320.off_grid),
            (Some(ReducedGaussian::N320), None, true)
        );
        let source = model.states(Some(None), InputSource::Forecast).unwrap();
        assert_eq!((source.grid, source.off_grid), (None, true));
        // coordinates that are not the grid's points
        let mut moved = model.clone();
        if let Some((lat, _)) = &mut moved.coordinates {
            lat[77] += 0.5;
        }
        let e = moved.states(None, InputSource::Forecast).unwrap_err();
        assert!(matches!(e, CheckpointError::Coordinates(_)), "{e}");
        // a grid gik cannot produce: an error unless another grid is asked for
        let odd = Model {
            spec: ModelSpec {
                grid: Some("n321".into()),
                ..spec
            },
            coordinates: None,
        };
        let e = odd.states(None, InputSource::Forecast).unwrap_err();
        assert!(matches!(e, CheckpointError::Grid { .. }), "{e}");
        assert!(odd.states(Some(None), InputSource::Forecast).is_ok());
    }

    #[test]
    fn the_spec_holds_inputs_minus_computed_forcings_and_diagnostics() {
        let s = ModelSpec::from_json(META).unwrap();
        let names: Vec<_> = s.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["2t", "lsm", "t_850"]);
        assert_eq!(s.computed, ["cos_latitude"]);
        assert!(s.inputs[1].constant && !s.inputs[0].constant);
        assert_eq!(s.inputs[2].level, Some(850.0));
        assert_eq!(s.grid.as_deref(), Some("n320"));
        assert_eq!(s.points, Some(542_080));
        assert_eq!((s.timestep_hours, s.multistep_input), (6, 2));
        assert_eq!(s.lagged_hours(), [-6, 0]);
        assert_eq!(s.target_grid().unwrap(), TargetGrid::N320);
        let o48 = ModelSpec {
            grid: Some("o48".into()),
            points: Some(10_944),
            ..s.clone()
        };
        assert_eq!(o48.target_grid().unwrap(), TargetGrid::Octahedral(48));
        for (grid, points, want) in [
            ("o48", Some(10_000), "O48 has 10944 points"),
            ("n321", None, "N321 is unknown"),
            ("0.25/0.25", Some(1_038_240), "not a reduced Gaussian grid"),
        ] {
            let bad = ModelSpec {
                grid: Some(grid.into()),
                points,
                ..s.clone()
            };
            let e = bad.target_grid().unwrap_err().to_string();
            assert!(
                e.contains(&format!("grid {grid}")) && e.contains(want),
                "{e}"
            );
        }
        for bad in [&b"{"[..], b"[]", b"{\"dataset\": {}}"] {
            assert!(ModelSpec::from_json(bad).is_err());
        }
        assert_eq!(hours(&Value::from("1d")), Some(24));
        assert_eq!(hours(&Value::from("360m")), Some(6));
        assert_eq!(hours(&Value::from("6x")), None);
    }
}
