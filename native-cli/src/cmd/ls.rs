//! `gik ls --source <mirror> --date <day>`: the runs, streams, types and
//! steps a mirror has for a day, from a listing where the store can list
//! (a local copy, S3, GCS, Azure) or, for an HTTP root, by asking for the
//! `.index` of every name ECMWF publishes.

use crate::{CliError, Result};
use gik_core::request::{self, DateSpec, Listed, Mirror, Model};
use gik_store::{self as store, Sources};

/// Arguments of `gik ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where: ecmwf, aws, azure, google, or a root laid out like ECMWF's (a URL or a local path).
    #[arg(long, default_value = "ecmwf")]
    pub source: String,
    /// The day: YYYYMMDD, YYYY-MM-DD, 0 (today), -1 (yesterday), ….
    #[arg(long)]
    pub date: String,
    /// Only this model (ifs, aifs-single, aifs-ens) [default: all].
    #[arg(long)]
    pub model: Option<String>,
    /// Resolution folder (probing an HTTP root) [default: 0p25].
    #[arg(long, default_value = "0p25")]
    pub resol: String,
    /// One JSON object per line (run, model, resol, stream, type, steps).
    #[arg(long)]
    pub json: bool,
}

/// The paths below `dir`, relative to it (a local mirror's listing).
fn walk(dir: &std::path::Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CliError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(CliError::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        if entry.file_type().map_err(CliError::io(dir))?.is_dir() {
            walk(&entry.path(), &path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

async fn list(
    sources: &Sources,
    mirror: &Mirror,
    day: i64,
    models: &[Model],
    resol: &str,
) -> Result<Vec<Listed>> {
    let ymd = request::Run { day, hour: 0 }.yyyymmdd();
    let root = mirror.root();
    if !store::is_url(root) {
        let mut paths = Vec::new();
        walk(&std::path::Path::new(root).join(&ymd), &ymd, &mut paths)?;
        return Ok(request::listing(paths));
    }
    let prefix = format!("{root}/{ymd}");
    if let Some(paths) = sources.list(&prefix).await.map_err(CliError::store)? {
        return Ok(request::listing(paths.iter().map(|p| format!("{ymd}/{p}"))));
    }
    request::probe(sources, mirror, day, models, resol)
        .await
        .map_err(CliError::store)
}

/// Runs `gik ls`.
pub fn run(args: &Args) -> Result<()> {
    let req = gik_core::request::Request::from_pairs([("date", args.date.as_str())])
        .map_err(CliError::request)?;
    let day = match req.date {
        DateSpec::Day(d) => d,
        DateSpec::Relative(n) => gik_store::now().div_euclid(86_400) + n,
        DateSpec::Latest => {
            return Err(CliError::Usage(
                "gik ls lists one day: give --date YYYYMMDD, YYYY-MM-DD, 0 or -N".into(),
            ))
        }
    };
    let models = match &args.model {
        Some(m) => vec![Model::parse(m).map_err(CliError::request)?],
        None => Model::ALL.to_vec(),
    };
    let mirror = crate::request::mirror(Some(&args.source))?;
    let rt = crate::pipeline::runtime(Some(2), None)?;
    let sources = Sources::default();
    let mut listed = rt.block_on(list(&sources, &mirror, day, &models, &args.resol))?;
    listed.retain(|l| models.iter().any(|m| m.as_str() == l.model) && !l.steps.is_empty());
    if listed.is_empty() {
        return Err(CliError::Usage(format!(
            "{} has no run of {} ({})",
            mirror,
            request::Run { day, hour: 0 }.yyyymmdd(),
            models
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for l in &listed {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "date": l.run.yyyymmdd(), "time": l.run.hour, "model": l.model,
                    "resol": l.resol, "stream": l.stream, "type": l.kind, "steps": l.steps,
                })
            );
        } else {
            println!(
                "{}  {:<11} {:<5} {:<4} {:<2}  {} ({} steps)",
                l.run,
                l.model,
                l.resol,
                l.stream,
                l.kind,
                request::format_steps(&l.steps),
                l.steps.len()
            );
        }
    }
    Ok(())
}
