//! Atomic output files: written to a temporary file beside the target,
//! renamed into place only when complete. A failed or interrupted run
//! leaves no half-written file.

use crate::{CliError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; becomes visible at its final path on [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `target` (its directory must exist).
    pub fn create(target: &Path) -> Result<Self> {
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
        let file = File::create(&tmp).map_err(CliError::io(&tmp))?;
        Ok(Self {
            tmp,
            target: target.to_path_buf(),
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
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
            let file = w.into_inner().map_err(|e| CliError::Io {
                path: self.tmp.clone(),
                source: e.into_error(),
            })?;
            if sync {
                file.sync_all().map_err(CliError::io(&self.tmp))?;
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
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.writer {
            Some(w) => w.write_all(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
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
