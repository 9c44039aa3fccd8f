//! Writing references atomically: one file (JSON, two-column parquet) or a
//! directory (fsspec parquet directory, the per-member layout) appears whole
//! or not at all.

use crate::cmd::scan::Format;
use crate::output::AtomicFile;
use crate::{CliError, Result};
use gik_core::refs::{self, FileMap, JsonVersion, RefStore, ScannedField};
use std::io::Write;
use std::path::{Path, PathBuf};

fn refs_err(location: &Path) -> impl FnOnce(refs::RefsError) -> CliError + '_ {
    move |source| CliError::Refs {
        location: location.display().to_string(),
        source,
    }
}

/// Whether `out` means standard output (`-`).
pub fn is_stdout(out: &Path) -> bool {
    out.as_os_str() == "-"
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if is_stdout(path) {
        let mut o = std::io::stdout().lock();
        return match o.write_all(bytes).and_then(|()| o.flush()) {
            // the reader stopped early (`| head`): not an error of ours
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(CliError::io("standard output")),
        };
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(CliError::io(path))?;
    f.commit()
}

/// Writes `files` under `dir` through a temporary sibling directory, then
/// moves each top-level entry into place (replacing what was there).
pub fn write_tree(dir: &Path, files: &FileMap) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.gik-tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let _ = std::fs::remove_dir_all(&tmp);
        for (rel, bytes) in files {
            if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                return Err(CliError::Usage(format!(
                    "refusing to write unsafe path {rel}"
                )));
            }
            let p = tmp.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(CliError::io(d))?;
            }
            std::fs::write(&p, bytes).map_err(CliError::io(&p))?;
        }
        std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
        for entry in std::fs::read_dir(&tmp).map_err(CliError::io(&tmp))? {
            let entry = entry.map_err(CliError::io(&tmp))?;
            let target = dir.join(entry.file_name());
            if target.is_dir() {
                std::fs::remove_dir_all(&target).map_err(CliError::io(&target))?;
            }
            std::fs::rename(entry.path(), &target).map_err(CliError::io(&target))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Builds references from scanned fields and writes them in `format`;
/// with `split`, also the original per-member layout beside `out`.
pub fn write(
    fields: &[ScannedField],
    out: &Path,
    format: Format,
    split: bool,
    options: &refs::BuildOptions,
) -> Result<RefStore> {
    if is_stdout(out) && (format == Format::ParquetDir || split) {
        return Err(CliError::Usage(
            "--out - (standard output) takes one file: --format json or parquet, without --split-members".into(),
        ));
    }
    let built = refs::build_with(fields, options).map_err(refs_err(out))?;
    for s in &built.skipped {
        eprintln!(
            "gik: warning: {} at byte {} left out: {}",
            s.url, s.offset, s.reason
        );
    }
    let store = built.store;
    match format {
        Format::Json => write_file(out, &refs::write_json(&store, JsonVersion::V1))?,
        Format::Parquet => write_file(
            out,
            &refs::write_seed_parquet(&store).map_err(refs_err(out))?,
        )?,
        Format::ParquetDir => {
            if out.is_file() {
                return Err(CliError::Usage(format!(
                    "{}: is a file; the parquet directory format needs a directory",
                    out.display()
                )));
            }
            let files = refs::write_parquet_dir(&store, refs::DEFAULT_RECORD_SIZE)
                .map_err(refs_err(out))?;
            write_tree(out, &files)?;
        }
        Format::Icechunk => {
            return Err(CliError::Usage(
                "an Icechunk repository is written by `gik scan --out x.icechunk`".into(),
            ))
        }
    }
    if split {
        let base = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = if format == Format::ParquetDir {
            out.to_path_buf()
        } else {
            base
        };
        let files = refs::write_seed_layout(&store, None).map_err(refs_err(out))?;
        write_tree(&base, &files)?;
    }
    Ok(store)
}

/// Builds references from scanned fields and writes them to the Icechunk
/// repository `out` (a new one, or with `append` one commit on its `main`).
pub fn write_icechunk(
    fields: &[ScannedField],
    out: &Path,
    append: bool,
    options: &refs::BuildOptions,
    quiet: bool,
    t0: std::time::Instant,
) -> Result<()> {
    let built = refs::build_with(fields, options).map_err(refs_err(out))?;
    for s in &built.skipped {
        eprintln!(
            "gik: warning: {} at byte {} left out: {}",
            s.url, s.offset, s.reason
        );
    }
    let location = out.to_string_lossy();
    let repo = gik_icechunk::Repo::new(&location).map_err(|e| CliError::Icechunk(Box::new(e)))?;
    let rt = crate::pipeline::runtime(None, None)?;
    let written = rt
        .block_on(repo.write(&built.store, append))
        .map_err(|e| CliError::Icechunk(Box::new(e)))?;
    match written {
        gik_icechunk::Written::Committed {
            snapshot,
            message,
            chunks,
        } => {
            if !quiet {
                eprintln!(
                    "gik: {} messages in {:.2} s → {location}: snapshot {snapshot} ({chunks} chunk references): {message}",
                    fields.len(),
                    t0.elapsed().as_secs_f64()
                );
            }
        }
        gik_icechunk::Written::Unchanged { snapshot, runs } => {
            eprintln!(
                "gik: {location} already holds {} (snapshot {snapshot}): nothing to add, no commit",
                runs.join(", ")
            );
        }
    }
    Ok(())
}
