//! Writes gik's 0.25° → N320 operator as a CSR matrix, for comparing it with
//! MIR's (`scripts/regrid_compare_mir.py`).
//!
//! ```text
//! cargo run --release -p gik-core --example export_n320 -- OUT.csr [greenwich|opendata] [GRID]
//! cargo run --release -p gik-core --example export_n320 -- --grid OUT.f64
//! ```
//!
//! Layout `greenwich` (default) numbers the source as MIR does (lon 0 → 359.75);
//! `opendata` as ECMWF open data (lon −180 → 179.75). `GRID` is the target
//! reduced Gaussian grid (`N320` by default; `O96`, `N160`, …).
//!
//! File format (little-endian): the 8 bytes `GIKCSR1\0`, then `u64` rows,
//! `u64` columns, `u64` nnz, then `indptr` (`u64` × rows + 1), `indices`
//! (`u32` × nnz), `data` (`f64` × nnz).
//!
//! `--grid` writes the N320 latitudes then longitudes (`f64` × 542,080 each,
//! little-endian), to compare the grid itself with MIR's.
#![allow(clippy::unwrap_used, clippy::panic)]

use gik_core::regrid::{Operator, ReducedGaussian, SourceLayout};
use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: export_n320 OUT.csr [greenwich|opendata]");
        std::process::exit(2);
    };
    if out == "--grid" {
        let Some(path) = args.get(1) else {
            eprintln!("usage: export_n320 --grid OUT.f64");
            std::process::exit(2);
        };
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        for x in gik_core::regrid::n320_latitudes()
            .into_iter()
            .chain(gik_core::regrid::n320_longitudes())
        {
            w.write_all(&x.to_le_bytes())?;
        }
        return w.flush();
    }
    let layout = match args.get(1).map(String::as_str) {
        None | Some("greenwich") => SourceLayout::Greenwich,
        Some("opendata") => SourceLayout::OpenData,
        Some(other) => {
            eprintln!("unknown layout {other:?}: greenwich or opendata");
            std::process::exit(2);
        }
    };
    let grid = match args.get(2).map(|g| ReducedGaussian::parse(g)) {
        None => ReducedGaussian::N320,
        Some(Ok(g)) => g,
        Some(Err(e)) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let t = std::time::Instant::now();
    let op = Operator::build_grid(grid, layout).unwrap();
    let built = t.elapsed();
    let csr = op.to_csr();

    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    w.write_all(b"GIKCSR1\0")?;
    for n in [csr.shape.0, csr.shape.1, csr.data.len()] {
        w.write_all(&(n as u64).to_le_bytes())?;
    }
    for x in &csr.indptr {
        w.write_all(&x.to_le_bytes())?;
    }
    for x in &csr.indices {
        w.write_all(&x.to_le_bytes())?;
    }
    for x in &csr.data {
        w.write_all(&x.to_le_bytes())?;
    }
    w.flush()?;
    eprintln!(
        "built {grid} {layout:?} operator ({} x {}, nnz {}) in {:.1} ms -> {out}",
        csr.shape.0,
        csr.shape.1,
        csr.data.len(),
        built.as_secs_f64() * 1e3
    );
    Ok(())
}
