//! `gik inspect <file>`: one line per field.

use crate::{CliError, Result};
use gik_core::grib::{self, Field, FieldMeta};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `gik inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GRIB2 file to list.
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

fn field_json(i: usize, f: &Field<'_>, m: &FieldMeta) -> serde_json::Value {
    json!({
        "index": i,
        "offset": f.msg_offset,
        "length": f.msg_length,
        "field_in_message": f.index_in_message,
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

/// Runs `gik inspect`.
pub fn run(args: &Args) -> Result<()> {
    let bytes = std::fs::read(&args.file).map_err(CliError::io(&args.file))?;
    let path = args.file.display().to_string();
    let mut rows = Vec::new();
    let mut first_error = None;
    let mut count = 0usize;
    if !args.json {
        println!(
            "{:>5} {:>12} {:>10} {:<10} {:<24} {:>7} {:>6} {:<22} {:<34}",
            "#", "offset", "length", "shortName", "level", "step", "member", "grid", "packing"
        );
    }
    for (i, field) in grib::fields(&bytes).enumerate() {
        let field = match field {
            Ok(f) => f,
            Err(e) => {
                eprintln!("gik: {path}: {e}");
                first_error.get_or_insert(e);
                continue;
            }
        };
        let meta = match field.meta() {
            Ok(m) => m,
            Err(e) => {
                eprintln!("gik: {path}: field {i}: {e}");
                first_error.get_or_insert(e);
                continue;
            }
        };
        count += 1;
        if args.json {
            rows.push(field_json(i, &field, &meta));
        } else {
            println!(
                "{:>5} {:>12} {:>10} {:<10} {:<24} {:>7} {:>6} {:<22} {:<34}",
                i,
                field.msg_offset,
                field.msg_length,
                meta.short_name,
                level_text(&meta),
                meta.step_range,
                meta.number
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                grid_text(&meta),
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
    match first_error {
        Some(e) if count == 0 => Err(CliError::grib(&path)(e)),
        Some(e) => Err(CliError::grib(&path)(e)),
        None if count == 0 => Err(CliError::Grib {
            path,
            source: gik_core::Error::NotGrib {
                offset: 0,
                reason: "no GRIB message in the file",
            },
        }),
        None => Ok(()),
    }
}
