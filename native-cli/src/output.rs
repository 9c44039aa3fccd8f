//! Atomic output files: written to a temporary file beside the target,
//! renamed into place only when complete. A failed or interrupted run
//! leaves no half-written file.
//!
//! Large outputs (AIFS states, hundreds of MB each, tens of GB per run) can be
//! written with direct I/O ([`AtomicFile::create_direct`]): the bytes go from
//! an aligned buffer to the disk without being copied into the page cache.
//! Measured on the 2-core VM of BENCHMARKS.md, `dd bs=8M` of 4.2 GB: 1.7–2.0
//! GB/s with `oflag=direct`, 0.4–1.0 GB/s buffered; and in `gik extract` the
//! kernel's copy into the page cache was a third of all CPU time. Direct I/O
//! also leaves the page cache to the GRIB input. Where the file system refuses
//! it (tmpfs on older kernels, some network mounts), writing falls back to
//! ordinary buffered writes, transparently.

use crate::{CliError, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written; becomes visible at its final path on [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    writer: Option<Sink>,
}

#[derive(Debug)]
enum Sink {
    Buffered(BufWriter<File>),
    Direct(DirectWriter),
}

impl AtomicFile {
    /// Starts writing `target` (its directory must exist).
    pub fn create(target: &Path) -> Result<Self> {
        Self::open(target, false)
    }

    /// Like [`AtomicFile::create`], with direct I/O where the file system
    /// allows it (see the module documentation).
    pub fn create_direct(target: &Path) -> Result<Self> {
        Self::open(target, true)
    }

    fn open(target: &Path, direct: bool) -> Result<Self> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| CliError::Usage(format!("{}: not a file path", target.display())))?;
        let tmp = dir.join(format!(
            ".{}.gik-tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let direct_file = if direct { open_direct(&tmp) } else { None };
        let writer = match direct_file {
            Some(file) => Sink::Direct(DirectWriter::new(file, tmp.clone())),
            None => {
                let file = File::create(&tmp).map_err(CliError::io(&tmp))?;
                Sink::Buffered(BufWriter::with_capacity(1 << 20, file))
            }
        };
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            writer: Some(writer),
        })
    }

    /// Flushes, syncs to disk and renames the file into place.
    pub fn commit(self) -> Result<()> {
        self.commit_with(true)
    }

    /// Flushes and renames the file into place; with `sync`, first waits until
    /// the bytes are on disk (survives power loss, costs disk bandwidth). Without
    /// it the rename is still atomic for every failure of the run itself.
    pub fn commit_with(mut self, sync: bool) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let flushed = match w {
                Sink::Buffered(w) => w.into_inner().map_err(std::io::IntoInnerError::into_error),
                Sink::Direct(w) => w.finish(),
            };
            let synced = flushed.and_then(|file| if sync { file.sync_all() } else { Ok(()) });
            if let Err(source) = synced {
                // (the writer is gone, so Drop would not remove it)
                let _ = std::fs::remove_file(&self.tmp);
                return Err(CliError::Io {
                    path: self.tmp.clone(),
                    source,
                });
            }
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| {
            let _ = std::fs::remove_file(&self.tmp);
            CliError::Io {
                path: self.target.clone(),
                source: e,
            }
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.writer {
            Some(Sink::Buffered(w)) => w.write(buf),
            Some(Sink::Direct(w)) => w.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.writer {
            Some(Sink::Buffered(w)) => w.write_all(buf),
            Some(Sink::Direct(w)) => w.write_all(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.writer {
            Some(Sink::Buffered(w)) => w.flush(),
            // direct blocks are written whole; the tail waits for `finish`
            Some(Sink::Direct(_)) | None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Opens `path` for writing with `O_DIRECT`, or `None` where that is refused.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

/// Alignment of memory, file offsets and lengths for direct I/O: 4096 covers
/// every logical block size Linux file systems use.
const ALIGN: usize = 4096;
/// Bytes per direct write.
const BLOCK: usize = 8 << 20;
/// Blocks in all: one being filled, the rest queued for or in the I/O thread.
const BLOCKS: usize = 4;

/// A `BLOCK`-byte buffer aligned to [`ALIGN`] in memory, without `unsafe`:
/// an offset into an over-allocated vector.
#[derive(Debug)]
struct Block {
    buf: Vec<u8>,
    start: usize,
    filled: usize,
}

impl Block {
    fn new() -> Self {
        let buf = vec![0u8; BLOCK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self {
            buf,
            start,
            filled: 0,
        }
    }
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.filled]
    }
}

/// Writes through aligned blocks with `O_DIRECT` on an I/O thread, so that
/// filling one block overlaps with the disk writing the previous ones
/// ([`BLOCKS`] in all: 4 × 8 MiB ran 51 members 8–10 % faster than 2, in three
/// alternating A/B pairs, as the queue absorbs uneven decoding). The last
/// partial block goes through the page cache
/// (direct writes need aligned lengths). If the kernel refuses a direct
/// write (`EINVAL`), the file is reopened without `O_DIRECT` at the same
/// position and writing goes on.
#[derive(Debug)]
struct DirectWriter {
    cur: Block,
    spare: Vec<Block>,
    to_io: Option<std::sync::mpsc::SyncSender<Block>>,
    from_io: std::sync::mpsc::Receiver<Block>,
    io: Option<std::thread::JoinHandle<std::io::Result<DirectFile>>>,
}

impl DirectWriter {
    fn new(file: File, path: PathBuf) -> Self {
        let (to_io, blocks) = std::sync::mpsc::sync_channel::<Block>(BLOCKS - 1);
        let (done, from_io) = std::sync::mpsc::sync_channel::<Block>(BLOCKS);
        let io = std::thread::spawn(move || {
            let mut out = DirectFile {
                file,
                path,
                direct: true,
            };
            for mut block in blocks {
                out.write_slice(block.bytes())?;
                block.filled = 0;
                // the writer may be gone (dropped): then nobody needs the block
                let _ = done.send(block);
            }
            Ok(out)
        });
        Self {
            cur: Block::new(),
            spare: (1..BLOCKS).map(|_| Block::new()).collect(),
            to_io: Some(to_io),
            from_io,
            io: Some(io),
        }
    }

    /// The I/O thread's error, once it has stopped.
    fn io_error(&mut self) -> std::io::Error {
        self.to_io = None;
        match self.io.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => std::io::Error::other("the output writer thread stopped"),
        }
    }

    /// Hands the full current block to the I/O thread and takes an empty one.
    fn send_block(&mut self) -> std::io::Result<()> {
        let next = match self.spare.pop() {
            Some(b) => b,
            None => match self.from_io.recv() {
                Ok(b) => b,
                Err(_) => return Err(self.io_error()),
            },
        };
        let full = std::mem::replace(&mut self.cur, next);
        let sent = self.to_io.as_ref().map(|tx| tx.send(full));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.io_error()),
        }
    }

    /// Writes what is left and returns the file.
    fn finish(mut self) -> std::io::Result<File> {
        let tail = std::mem::replace(&mut self.cur, Block::new());
        self.to_io = None;
        let joined = self.io.take().map(std::thread::JoinHandle::join);
        let mut out = match joined {
            Some(Ok(r)) => r?,
            _ => return Err(std::io::Error::other("the output writer thread failed")),
        };
        let data = tail.bytes();
        let whole = data.len() / ALIGN * ALIGN;
        out.write_slice(&data[..whole])?;
        if whole < data.len() {
            if out.direct {
                out.fall_back()?;
            }
            out.write_slice(&data[whole..])?;
        }
        Ok(out.file)
    }
}

impl Drop for DirectWriter {
    fn drop(&mut self) {
        // let the I/O thread end before the temporary file is removed
        self.to_io = None;
        if let Some(h) = self.io.take() {
            let _ = h.join();
        }
    }
}

impl Write for DirectWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let c = &mut self.cur;
        let n = data.len().min(BLOCK - c.filled);
        let at = c.start + c.filled;
        c.buf[at..at + n].copy_from_slice(&data[..n]);
        c.filled += n;
        if c.filled == BLOCK {
            self.send_block()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The file end of [`DirectWriter`].
struct DirectFile {
    file: File,
    path: PathBuf,
    direct: bool,
}

impl DirectFile {
    /// Writes `data` (aligned in memory and a multiple of [`ALIGN`] bytes
    /// long while direct).
    fn write_slice(&mut self, data: &[u8]) -> std::io::Result<()> {
        let mut off = 0;
        while off < data.len() {
            match self.file.write(&data[off..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if self.direct && is_einval(&e) => self.fall_back()?,
                Err(e) => return Err(e),
            }
            // a short direct write leaves an unaligned position: go on buffered
            if self.direct && off % ALIGN != 0 {
                self.fall_back()?;
            }
        }
        Ok(())
    }

    /// Reopens the file without `O_DIRECT`, at the current position.
    fn fall_back(&mut self) -> std::io::Result<()> {
        let pos = self.file.stream_position()?;
        let mut f = OpenOptions::new().write(true).open(&self.path)?;
        f.seek(SeekFrom::Start(pos))?;
        self.file = f;
        self.direct = false;
        Ok(())
    }
}

fn is_einval(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        e.raw_os_error() == Some(libc::EINVAL)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = e;
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// A pseudo-random byte pattern, so misplaced blocks show.
    fn pattern(n: usize) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Direct writes of every awkward size (empty, under one alignment unit,
    /// exactly one block, blocks plus a tail) give exactly the bytes written,
    /// in odd-sized pieces; and on file systems without O_DIRECT the fallback
    /// gives the same.
    #[test]
    fn direct_files_hold_exactly_what_was_written() {
        let dirs = [std::env::temp_dir(), PathBuf::from("/dev/shm")];
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let dir = dir.join(format!("gik-direct-test-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for size in [
                0,
                1,
                4095,
                4096,
                10_000,
                BLOCK,
                BLOCK + 1,
                2 * BLOCK + 12_345,
            ] {
                let data = pattern(size);
                let path = dir.join(format!("f{size}"));
                let mut f = AtomicFile::create_direct(&path).unwrap();
                for piece in data.chunks(1_000_003) {
                    f.write_all(piece).unwrap();
                }
                f.commit_with(false).unwrap();
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    data,
                    "{size} bytes in {dir:?}"
                );
            }
            let left: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().contains("gik-tmp"))
                .collect();
            assert!(left.is_empty(), "temporary files left: {left:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn dropped_direct_file_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("gik-direct-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.pkl");
        {
            let mut f = AtomicFile::create_direct(&path).unwrap();
            f.write_all(&pattern(BLOCK + 7)).unwrap();
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file system filling up while direct blocks are being written (on
    /// the I/O thread): a clear "No space left" error, no file left behind.
    /// Needs root to mount a small tmpfs; skipped (with a message) otherwise.
    #[test]
    fn disk_full_during_direct_writes_fails_cleanly() {
        let dir = std::env::temp_dir().join(format!("gik-direct-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=12m", "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here");
            let _ = std::fs::remove_dir(&dir);
            return;
        }
        let path = dir.join("state.pkl");
        let block = pattern(BLOCK);
        let result = (|| -> Result<()> {
            let mut f = AtomicFile::create_direct(&path)?;
            for _ in 0..4 {
                f.write_all(&block).map_err(CliError::io(&path))?;
            }
            f.commit_with(false)
        })();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        let _ = std::process::Command::new("umount").arg(&dir).status();
        let _ = std::fs::remove_dir(&dir);
        match result {
            Err(CliError::Io { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(28), "{source}");
            }
            other => panic!("expected a disk-full error, got {other:?}"),
        }
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
