//! `gik inspect <file>`: one line per field.

use crate::{CliError, Result};
use gik_core::grib::FieldMeta;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `gik inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A GRIB2 file, references (kerchunk JSON, two-column parquet, fsspec parquet directory;
    /// local or remote; an Icechunk repository `x.icechunk`, or one snapshot of it
    /// `x.icechunk@<snapshot|branch|tag>`), or an anemoi model: its checkpoint (.ckpt, local or a URL; only the
    /// metadata is read) or its metadata JSON.
    pub file: PathBuf,
    /// Print JSON (one object per field, in an array) instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn level_text(m: &FieldMeta) -> String {
    format!("{}={}", m.type_of_level, m.level)
}

fn grid_text(m: &FieldMeta) -> String {
    match (m.grid.ni, m.grid.nj) {
        (Some(ni), Some(nj)) => format!("{} {ni}x{nj}", m.grid.grid_type),
        _ => format!("{} {}pts", m.grid.grid_type, m.grid.number_of_data_points),
    }
}

fn field_json(i: usize, offset: u64, length: u64, m: &FieldMeta) -> serde_json::Value {
    json!({
        "index": i,
        "offset": offset,
        "length": length,
        "shortName": m.short_name,
        "cfVarName": m.cf_var_name,
        "name": m.name,
        "units": m.units,
        "paramId": m.param_id,
        "typeOfLevel": m.type_of_level,
        "level": m.level,
        "stepType": m.step_type,
        "stepRange": m.step_range,
        "number": m.number,
        "stream": m.stream,
        "type": m.data_type,
        "dataDate": m.data_date,
        "dataTime": m.data_time,
        "validityDate": m.validity_date,
        "validityTime": m.validity_time,
        "gridType": m.grid.grid_type,
        "Ni": m.grid.ni,
        "Nj": m.grid.nj,
        "numberOfDataPoints": m.grid.number_of_data_points,
        "packingType": m.packing_type,
        "bitsPerValue": m.bits_per_value,
        "bitmapPresent": m.bitmap_present,
    })
}

fn is_references(path: &std::path::Path) -> bool {
    let s = path.to_string_lossy();
    if crate::refs_in::icechunk_location(&s).is_some() {
        return true;
    }
    if gik_store::is_url(&s) || path.is_dir() {
        return true;
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head[..n].starts_with(b"PAR1") || head[..n].first() == Some(&b'{')
}

fn inspect_refs(args: &Args) -> Result<()> {
    let location = args.file.to_string_lossy().into_owned();
    let rt = crate::pipeline::runtime(Some(1), None)?;
    let store = rt.block_on(crate::refs_in::load(&location))?;
    let vars = store.variables().map_err(|source| CliError::Refs {
        location: location.clone(),
        source,
    })?;
    let mut rows = Vec::new();
    for v in &vars {
        let axes = store.axes(v).map_err(|source| CliError::Refs {
            location: location.clone(),
            source,
        })?;
        let total: u64 = v
            .shape
            .iter()
            .zip(&v.chunks)
            .map(|(s, c)| s.div_ceil((*c).max(1)))
            .product();
        rows.push(json!({
            "path": v.path,
            "shortName": v.attrs.get("GRIB_shortName"),
            "units": v.attrs.get("units").or_else(|| v.attrs.get("GRIB_units")),
            "dims": v.dims,
            "shape": v.shape,
            "level": axes.level.as_ref().map(|(n, vals)| json!({"name": n, "values": vals})),
            "members": axes.number,
            "steps": axes.step,
            "times": axes.time,
            "grid": v.attrs.get("GRIB_gridType"),
            "chunks_referenced": v.chunks_present,
            "chunks_total": total,
        }));
    }
    if args.json {
        let text = serde_json::to_string_pretty(
            &json!({"references": store.len(), "urls": store.urls().len(), "variables": rows}),
        )
        .map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{location}: {} references, {} variables, {} GRIB files",
        store.len(),
        vars.len(),
        store.urls().len()
    );
    println!(
        "{:<44} {:<34} {:<22} {:>8} {:>10} {:>11}",
        "variable", "dims", "levels", "members", "steps", "chunks"
    );
    for (v, r) in vars.iter().zip(&rows) {
        let levels = r["level"]["values"]
            .as_array()
            .map_or_else(String::new, |a| {
                let vals: Vec<String> = a.iter().map(|x| x.to_string()).collect();
                if vals.len() > 4 {
                    format!("{}…{} ({})", vals[0], vals[vals.len() - 1], vals.len())
                } else {
                    vals.join(",")
                }
            });
        let members = r["members"].as_array().map_or(0, Vec::len);
        let steps: Vec<String> = r["steps"]
            .as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        println!(
            "{:<44} {:<34} {:<22} {:>8} {:>10} {:>5}/{:<5}",
            v.path,
            v.dims.join(","),
            levels,
            members,
            steps.join(","),
            v.chunks_present,
            r["chunks_total"]
        );
    }
    Ok(())
}

/// `gik inspect model.ckpt`: what the model needs as input.
fn inspect_model(args: &Args, location: &str) -> Result<()> {
    let model = if crate::model::is_checkpoint(location) {
        let rt = crate::pipeline::runtime(Some(1), None)?;
        rt.block_on(crate::model::from_checkpoint(
            &gik_store::Sources::default(),
            location,
        ))?
    } else {
        crate::model::from_metadata_file(location)?
    };
    let s = &model.spec;
    let times: Vec<String> = s
        .lagged_hours()
        .iter()
        .map(|h| match h {
            0 => "date".to_string(),
            h => format!("date − {} h", -h),
        })
        .collect();
    let target = s.target_grid();
    let grid_ok = target.is_ok();
    // the checkpoint's own latitudes/longitudes against the grid gik produces
    let coordinates = match (&model.coordinates, &target) {
        (None, _) => None,
        (Some((lat, _)), Err(_)) => Some(format!("{} points stored", lat.len())),
        (Some((lat, lon)), Ok(g)) => {
            Some(match gik_core::regrid::compare_coordinates(*g, lat, lon) {
                Ok(()) => format!("{} points stored, equal to gik's {g} points", lat.len()),
                Err(e) => format!("{} points stored, NOT gik's: {e}", lat.len()),
            })
        }
    };
    if args.json {
        let inputs: Vec<_> = s
            .inputs
            .iter()
            .map(|i| {
                json!({"name": i.name, "constant": i.constant, "param": i.param,
                       "levtype": i.levtype, "level": i.level})
            })
            .collect();
        let text = serde_json::to_string_pretty(&json!({
            "location": location,
            "inputs": inputs,
            "computed_forcings": s.computed,
            "grid": s.grid,
            "points": s.points,
            "timestep_hours": s.timestep_hours,
            "multistep_input": s.multistep_input,
            "input_times_hours": s.lagged_hours(),
            "gik_can_produce_grid": grid_ok,
            "coordinates": coordinates,
        }))
        .map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let constant: Vec<&str> = s
        .inputs
        .iter()
        .filter(|i| i.constant)
        .map(|i| i.name.as_str())
        .collect();
    println!("{location}: an anemoi model");
    println!(
        "grid:        {}{}{}",
        s.grid.as_deref().unwrap_or("(not declared)"),
        s.points
            .map_or_else(String::new, |p| format!(", {p} points")),
        match &target {
            Ok(g) => format!(" (gik regrids 0.25° to it: {g})"),
            Err(e) => format!(" (gik cannot produce it: {e})"),
        }
    );
    if let Some(c) = &coordinates {
        println!("coordinates: {c}");
    }
    println!("time step:   {} h", s.timestep_hours);
    println!("input times: {} ({})", s.multistep_input, times.join(", "));
    println!(
        "inputs:      {} from the user ({} constant in time: {})",
        s.inputs.len(),
        constant.len(),
        constant.join(" ")
    );
    for line in model.input_names().chunks(16) {
        println!("             {}", line.join(" "));
    }
    println!(
        "computed:    {} by the runner: {}",
        s.computed.len(),
        s.computed.join(" ")
    );
    Ok(())
}

/// `gik inspect x.icechunk`: runs, snapshots and branches, then the variables.
fn inspect_icechunk(args: &Args, repo: &str) -> Result<()> {
    let rt = crate::pipeline::runtime(Some(1), None)?;
    let ic = |e| CliError::Icechunk(Box::new(e));
    let info = rt
        .block_on(gik_icechunk::Repo::new(repo).map_err(ic)?.inspect())
        .map_err(ic)?;
    if args.json {
        let snapshots: Vec<_> = info
            .snapshots
            .iter()
            .map(
                |s| json!({"id": s.id, "written": s.written, "message": s.message, "runs": s.runs}),
            )
            .collect();
        let text = serde_json::to_string_pretty(&json!({
            "runs": info.runs,
            "snapshots": snapshots,
            "branches": info.branches.iter().map(|(b, id)| json!({"name": b, "snapshot": id})).collect::<Vec<_>>(),
            "virtual_chunk_containers": info.containers,
        }))
        .map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!("{repo}: an Icechunk repository");
    println!("runs ({}):   {}", info.runs.len(), info.runs.join(", "));
    for (b, id) in &info.branches {
        println!("branch:     {b} at {id}");
    }
    println!("containers: {}", info.containers.join(", "));
    println!("snapshots ({}, newest first):", info.snapshots.len());
    for s in &info.snapshots {
        println!("  {}  {}  {}", s.id, s.written, s.message);
    }
    println!();
    inspect_refs(args)
}

/// Runs `gik inspect`.
pub fn run(args: &Args) -> Result<()> {
    let location = args.file.to_string_lossy().into_owned();
    if let Some((repo, None)) = crate::refs_in::icechunk_location(&location) {
        return inspect_icechunk(args, repo);
    }
    if crate::model::is_checkpoint(&location) || crate::model::is_metadata_json(&location) {
        return inspect_model(args, &location);
    }
    if is_references(&args.file) {
        return inspect_refs(args);
    }
    // Headers only: a 5 GB file is listed by reading a few hundred bytes per message.
    let path = args.file.display().to_string();
    let rt = crate::pipeline::runtime(Some(1), None)?;
    let url = gik_store::reference_url(&path).map_err(CliError::store)?;
    let sources = gik_store::Sources::default();
    let scanned = rt.block_on(crate::pipeline::headers(&sources, &url))?;
    let mut rows = Vec::new();
    if !args.json {
        println!(
            "{:>5} {:>12} {:>10} {:<10} {:<24} {:>7} {:>6} {:<22} {:<34}",
            "#", "offset", "length", "shortName", "level", "step", "member", "grid", "packing"
        );
    }
    for (i, f) in scanned.iter().enumerate() {
        let meta = &f.meta;
        if args.json {
            rows.push(field_json(i, f.offset, f.length, meta));
        } else {
            println!(
                "{:>5} {:>12} {:>10} {:<10} {:<24} {:>7} {:>6} {:<22} {:<34}",
                i,
                f.offset,
                f.length,
                meta.short_name,
                level_text(meta),
                meta.step_range,
                meta.number
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                grid_text(meta),
                format!(
                    "{} (5.{})",
                    meta.packing_type, meta.data_representation_template
                ),
            );
        }
    }
    if args.json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
    }
    Ok(())
}
