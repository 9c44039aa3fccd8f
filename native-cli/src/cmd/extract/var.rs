//! `gik extract --var <array path>`: one variable as one n-d array with its
//! coordinates (the original pipeline's per-variable pickle), or `.npy`.
//! The core plans it ([`gik_core::extract::plan_var`]) and its engine reads
//! and decodes the chunks concurrently; they are written in C order as they
//! arrive, so the array is never held in memory whole; chunks without a
//! reference (a member that lacks the field) are NaN.

use super::{dtype_of, extract_error, Args};
use crate::output::AtomicFile;
use crate::pipeline::Blocking;
use crate::{CliError, Result};
use futures::stream::StreamExt;
use gik_core::assemble;
use gik_core::extract::{self, Engine, Options, VarError};
use gik_core::npy::{self, Dtype};
use gik_core::pickle::{write_f64s, StateWriter};
use gik_core::refs::RefStore;
use gik_store::Sources;
use std::io::Write;

/// Output formats of `--var`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VarFormat {
    /// `{"date", "fields": {name: array}, <coordinate>: array…}`.
    Pickle,
    /// The array alone.
    Npy,
}

/// Runs `gik extract --var`.
pub async fn run(
    args: &Args,
    store: &RefStore,
    path: &str,
    format: VarFormat,
) -> Result<std::path::PathBuf> {
    let var = extract::plan_var(store, path).map_err(|e| match e {
        VarError::Refs(source) => CliError::Refs {
            location: super::refs_label(args),
            source,
        },
        other => CliError::Usage(other.to_string()),
    })?;
    let dtype = dtype_of(args.dtype);
    std::fs::create_dir_all(&args.out).map_err(CliError::io(&args.out))?;
    let file = args.out.join(format!(
        "{}.{}",
        var.name,
        if format == VarFormat::Npy {
            "npy"
        } else {
            "pkl"
        }
    ));
    let options = Options {
        dtype,
        concurrency: args.concurrency.max(1),
        decoders: args.concurrency.max(1),
        coalesce: extract::Coalesce::Off,
        ..Options::default()
    };
    let engine = Engine::var(Sources::default(), &var, &options);
    let mut chunks = std::pin::pin!(engine.fields(&Blocking));
    let mut out = AtomicFile::create(&file)?;
    match format {
        VarFormat::Npy => {
            out.write_all(&npy::header(dtype, &var.shape))
                .map_err(CliError::io(&file))?;
            while let Some(b) = chunks.next().await {
                let b = b.map_err(extract_error)?;
                out.write_all(&b.bytes).map_err(CliError::io(&file))?;
            }
            out.commit_with(args.sync)?;
        }
        VarFormat::Pickle => {
            let date = assemble::date_of(var.date);
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(args.concurrency.max(1));
            let (name, shape, coordinates) =
                (var.name.clone(), var.shape.clone(), var.coords.clone());
            let (file2, sync) = (file.clone(), args.sync);
            // The pickle is written on a blocking thread that pulls decoded
            // chunks in order: streamed, never the whole array in memory.
            let writer = tokio::task::spawn_blocking(move || -> Result<()> {
                let mut w = StateWriter::new(out, date).map_err(CliError::io(&file2))?;
                w.field(&name, dtype, &shape, |o| {
                    while let Some(b) = rx.blocking_recv() {
                        o.write_all(&b)?;
                    }
                    Ok(())
                })
                .map_err(CliError::io(&file2))?;
                for (cname, values) in &coordinates {
                    w.top_level_array(cname, Dtype::F64, &[values.len()], |o| {
                        write_f64s(o, values)
                    })
                    .map_err(CliError::io(&file2))?;
                }
                w.finish().map_err(CliError::io(&file2))?.commit_with(sync)
            });
            let mut failed = None;
            while let Some(b) = chunks.next().await {
                match b {
                    Ok(b) => {
                        if tx.send(b.bytes).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        failed = Some(extract_error(e));
                        break;
                    }
                }
            }
            drop(tx);
            let written = writer.await.map_err(|e| CliError::Usage(e.to_string()))?;
            if let Some(e) = failed {
                return Err(e);
            }
            written?;
        }
    }
    Ok(file)
}
