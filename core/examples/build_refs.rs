//! Builds kerchunk references for local GRIB2 files and writes them in every
//! format gik supports; reads any of them back. Used by the Python interop
//! test (`tests/python/test_refs_interop.py`).
//!
//! ```text
//! build_refs build --out DIR [--inline-threshold N] [--record-size N] FILE.grib2…
//!     DIR/refs.json          kerchunk JSON v1
//!     DIR/refs_v0.json       kerchunk JSON v0
//!     DIR/refs_parq/         fsspec parquet reference directory
//!     DIR/seed/              the original pipeline's layout (comprehensive + members)
//!     DIR/seed_all.parquet   every reference in the two-column format
//!     prints a JSON summary (variables, shapes, skipped fields)
//! build_refs read json|seed|dir PATH [--json-out FILE]
//!     reads references, prints a JSON summary, optionally re-writes them as JSON v1;
//!     on error prints `error: …` and exits with status 2
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gik_core::refs::{self, FileMap, RefStore, ScannedField};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => cmd_build(&args[1..]),
        Some("read") => cmd_read(&args[1..]),
        _ => Err(
            "usage: build_refs build --out DIR FILE… | build_refs read json|seed|dir PATH"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn cmd_build(args: &[String]) -> Result<(), String> {
    let mut out: Option<PathBuf> = None;
    let mut inline_threshold = 0u64;
    let mut record_size = refs::DEFAULT_RECORD_SIZE;
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().map(PathBuf::from),
            "--inline-threshold" => inline_threshold = num(it.next())?,
            "--record-size" => record_size = num(it.next())?,
            f => files.push(f.to_string()),
        }
    }
    let out = out.ok_or("--out is required")?;
    let mut scanned = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
        for field in gik_core::grib::fields(&bytes) {
            let field = field.map_err(|e| format!("{f}: {e}"))?;
            if field.index_in_message != 0 {
                continue; // one reference per message, as kerchunk
            }
            let meta = field.meta().map_err(|e| format!("{f}: {e}"))?;
            scanned.push(ScannedField {
                url: f.clone(),
                offset: field.msg_offset,
                length: field.msg_length,
                meta,
            });
        }
        contents.insert(f.clone(), bytes);
    }
    let built = refs::build(&scanned).map_err(|e| e.to_string())?;
    let mut store = built.store;
    if inline_threshold > 0 {
        for (key, url, offset, length) in store.small_ranges(inline_threshold) {
            let bytes = contents
                .get(url.as_ref())
                .and_then(|b| b.get(offset as usize..(offset + length) as usize))
                .ok_or_else(|| format!("{key}: range outside {url}"))?;
            store.set_inline(&key, bytes.to_vec());
        }
    }
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    write(
        &out.join("refs.json"),
        &refs::write_json(&store, refs::JsonVersion::V1),
    )?;
    write(
        &out.join("refs_v0.json"),
        &refs::write_json(&store, refs::JsonVersion::V0),
    )?;
    let dir = refs::write_parquet_dir(&store, record_size).map_err(|e| e.to_string())?;
    write_files(&out.join("refs_parq"), &dir)?;
    let seed = refs::write_seed_layout(&store, None).map_err(|e| e.to_string())?;
    write_files(&out.join("seed"), &seed)?;
    write(
        &out.join("seed_all.parquet"),
        &refs::write_seed_parquet(&store).map_err(|e| e.to_string())?,
    )?;
    let skipped: Vec<serde_json::Value> = built
        .skipped
        .iter()
        .map(|s| serde_json::json!({"url": s.url, "offset": s.offset, "reason": s.reason}))
        .collect();
    let mut summary = summarize(&store)?;
    summary["skipped"] = serde_json::Value::from(skipped);
    summary["messages"] = serde_json::Value::from(scanned.len());
    println!("{summary}");
    Ok(())
}

fn cmd_read(args: &[String]) -> Result<(), String> {
    let (format, path) = match args {
        [f, p, ..] => (f.as_str(), PathBuf::from(p)),
        _ => return Err("usage: build_refs read json|seed|dir PATH [--json-out FILE]".to_string()),
    };
    let json_out = args
        .iter()
        .position(|a| a == "--json-out")
        .and_then(|i| args.get(i + 1));
    let store = match format {
        "json" => refs::read_json(&read(&path)?).map_err(|e| e.to_string())?,
        "seed" => refs::read_seed_parquet(&read(&path)?).map_err(|e| e.to_string())?,
        "dir" => refs::read_parquet_dir(&read_dir(&path)?).map_err(|e| e.to_string())?,
        other => return Err(format!("unknown format {other}")),
    };
    if let Some(j) = json_out {
        write(
            Path::new(j),
            &refs::write_json(&store, refs::JsonVersion::V1),
        )?;
    }
    println!("{}", summarize(&store)?);
    Ok(())
}

fn summarize(store: &RefStore) -> Result<serde_json::Value, String> {
    let mut vars = serde_json::Map::new();
    for v in store.variables().map_err(|e| e.to_string())? {
        let axes = store.axes(&v).map_err(|e| e.to_string())?;
        vars.insert(
            v.path.clone(),
            serde_json::json!({
                "dims": v.dims, "shape": v.shape, "chunks_present": v.chunks_present,
                "number": axes.number, "step": axes.step, "time": axes.time,
                "level": axes.level,
            }),
        );
    }
    Ok(serde_json::json!({"refs": store.len(), "variables": vars}))
}

fn num(v: Option<&String>) -> Result<u64, String> {
    v.ok_or("missing value")?
        .parse()
        .map_err(|e| format!("{e}"))
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn write(p: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))
}

fn write_files(root: &Path, files: &FileMap) -> Result<(), String> {
    for (rel, bytes) in files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        write(&p, bytes)?;
    }
    Ok(())
}

fn read_dir(root: &Path) -> Result<FileMap, String> {
    let mut files = FileMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                files.insert(rel, read(&p)?);
            }
        }
    }
    Ok(files)
}
