//! `gik extract --var <array path>`: one variable as one n-d array with its
//! coordinates (the original pipeline's per-variable pickle), or `.npy`.
//! Chunks are fetched and decoded concurrently and written in C order as
//! they arrive, so the array is never held in memory whole; chunks without a
//! reference (a member that lacks the field) are NaN.

use super::extract::{Args, DtypeArg};
use crate::output::AtomicFile;
use crate::store::Sources;
use crate::{CliError, Result};
use futures::stream::{self, StreamExt};
use gik_core::assemble;
use gik_core::npy::{self, Dtype};
use gik_core::pickle::{write_f64s, StateWriter};
use gik_core::plan::FieldPlan;
use gik_core::refs::{CoordValues, RefStore, Variable};
use std::io::Write;
use std::sync::Arc;

/// Output formats of `--var`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VarFormat {
    /// `{"date", "fields": {name: array}, <coordinate>: array…}`.
    Pickle,
    /// The array alone.
    Npy,
}

fn all_indices(grid: &[u64]) -> Vec<Vec<u64>> {
    let mut out = vec![Vec::new()];
    for &n in grid {
        out = out
            .into_iter()
            .flat_map(|p| (0..n).map(move |i| [p.clone(), vec![i]].concat()))
            .collect();
    }
    out
}

fn coords(store: &RefStore, var: &Variable) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    for name in &var.coords {
        if let Ok(c) = store.coordinate(&var.group, name) {
            let v = match c.filled() {
                CoordValues::Int(v) => v.into_iter().map(|x| x.unwrap_or(0) as f64).collect(),
                CoordValues::Float(v) => v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
            };
            out.push((name.clone(), v));
        }
    }
    out
}

/// Runs `gik extract --var`.
pub async fn run(
    args: &Args,
    store: &RefStore,
    path: &str,
    format: VarFormat,
) -> Result<std::path::PathBuf> {
    let loc = |source| CliError::Refs {
        location: args.refs.clone(),
        source,
    };
    let var = store.variable(path).map_err(loc)?;
    let meta = store.array_meta(path).map_err(loc)?;
    let n = var.shape.len();
    if n < 2 || var.chunks[n - 2..] != var.shape[n - 2..] {
        return Err(CliError::Usage(format!(
            "{path}: expected one GRIB field per chunk (chunks {:?}, shape {:?})",
            var.chunks, var.shape
        )));
    }
    let grid = (var.shape[n - 2] as usize, var.shape[n - 1] as usize);
    let outer = all_indices(&meta.chunk_grid()[..n - 2]);
    let dtype = if args.dtype == DtypeArg::Float32 {
        Dtype::F32
    } else {
        Dtype::F64
    };
    let shape: Vec<usize> = var.shape.iter().map(|&s| s as usize).collect();
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
    let sources = Arc::new(Sources::default());
    let field_bytes = grid.0 * grid.1 * dtype.size();
    let jobs = outer.into_iter().map(|idx| {
        let sources = sources.clone();
        let key = [idx.clone(), vec![0, 0]].concat();
        let chunk = store.chunk(path, &key).map(|c| c.cloned());
        let name = var.name.clone();
        async move {
            let Some(part) = chunk.map_err(|source| CliError::Refs {
                location: path.to_string(),
                source,
            })?
            else {
                // No reference: zarr's fill value (NaN).
                let nan: Vec<u8> = match dtype {
                    Dtype::F32 => f32::NAN.to_le_bytes().repeat(field_bytes / 4),
                    Dtype::F64 => f64::NAN.to_le_bytes().repeat(field_bytes / 8),
                };
                return Ok(nan);
            };
            let bytes = super::extract::fetch(&sources, &part).await?;
            let field = FieldPlan {
                name: name.clone(),
                parts: vec![part.clone()],
                grid,
                scale: None,
                source: path.to_string(),
            };
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                assemble::decode_part(&bytes, &part, &field, dtype, &mut out).map(|()| out)
            })
            .await
            .map_err(|e| CliError::Io {
                path: "decode task".into(),
                source: std::io::Error::other(e),
            })?
            .map_err(|e| CliError::Chunk {
                variable: name.clone(),
                chunk: format!("{idx:?}"),
                source: Box::new(e),
            })
        }
    });
    let mut chunks = stream::iter(jobs).buffered(args.concurrency.max(1));
    let mut out = AtomicFile::create(&file)?;
    match format {
        VarFormat::Npy => {
            out.write_all(&npy::header(dtype, &shape))
                .map_err(CliError::io(&file))?;
            while let Some(b) = chunks.next().await {
                out.write_all(&b?).map_err(CliError::io(&file))?;
            }
            out.commit_with(args.sync)?;
        }
        VarFormat::Pickle => {
            let times = store.axes(&var).map(|a| a.time).unwrap_or_default();
            let date = assemble::date_of(times.first().copied().unwrap_or(0));
            let coordinates = coords(store, &var);
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(args.concurrency.max(1));
            let (name, file2, sync) = (var.name.clone(), file.clone(), args.sync);
            // The pickle is written on a blocking thread that pulls decoded
            // chunks in order: streamed, never the whole array in memory.
            let writer = tokio::task::spawn_blocking(move || -> Result<()> {
                let io = CliError::io(&file2);
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
                w.finish().map_err(io)?.commit_with(sync)
            });
            let mut failed = None;
            while let Some(b) = chunks.next().await {
                match b {
                    Ok(b) => {
                        if tx.send(b).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
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
