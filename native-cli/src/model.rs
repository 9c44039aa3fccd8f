//! The model a state is for: what `--checkpoint` (an anemoi `.ckpt`, local
//! or remote, read by range: its end, central directory and metadata entry)
//! or `--checkpoint-metadata` (the metadata JSON alone) declares.

use crate::{CliError, Result};
use gik_core::checkpoint::{self, ModelSpec};
use gik_store::Sources;

/// A model's declared inputs and where they were read.
#[derive(Debug)]
pub struct Model {
    /// The checkpoint or metadata file, as given.
    pub location: String,
    /// What it declares.
    pub spec: ModelSpec,
    /// Its own latitudes and longitudes (a checkpoint's supporting arrays).
    pub coordinates: Option<(Vec<f64>, Vec<f64>)>,
}

/// Whether `location` names a checkpoint (by its extension or its first bytes).
pub fn is_checkpoint(location: &str) -> bool {
    let lower = location.to_ascii_lowercase();
    if [".ckpt", ".pt", ".pth"].iter().any(|e| lower.ends_with(e)) {
        return true;
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(location)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head[..n] == *b"PK\x03\x04"
}

/// Whether the local JSON file at `location` is a model's metadata (not references).
pub fn is_metadata_json(location: &str) -> bool {
    let Ok(bytes) = std::fs::read(location) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| {
        v.get("data_indices").is_some()
            || v.get("metadata_inference").is_some()
            || (v.get("dataset").is_some() && v.get("config").is_some())
    })
}

/// Reads the model from a checkpoint through `sources`: its metadata and
/// its `latitudes`/`longitudes` supporting arrays (three requests at most).
pub async fn from_checkpoint(sources: &Sources, location: &str) -> Result<Model> {
    let m = checkpoint::read_model(sources, location)
        .await
        .map_err(|e| CliError::Checkpoint(Box::new(e)))?;
    Ok(Model {
        location: location.to_string(),
        spec: m.spec,
        coordinates: m.coordinates,
    })
}

/// Reads the model from its metadata JSON file.
pub fn from_metadata_file(location: &str) -> Result<Model> {
    let json = std::fs::read(location).map_err(CliError::io(location))?;
    parse(location, &json)
}

fn parse(location: &str, json: &[u8]) -> Result<Model> {
    let spec = ModelSpec::from_json(json).map_err(|source| CliError::Model {
        location: location.to_string(),
        source,
    })?;
    Ok(Model {
        location: location.to_string(),
        spec,
        coordinates: None,
    })
}

impl Model {
    /// The model in the core's terms (what [`checkpoint::Model::states`] decides on).
    pub fn core(&self) -> checkpoint::Model {
        checkpoint::Model {
            spec: self.spec.clone(),
            coordinates: self.coordinates.clone(),
        }
    }

    /// The names of the user-supplied inputs.
    pub fn input_names(&self) -> Vec<&str> {
        self.spec.inputs.iter().map(|i| i.name.as_str()).collect()
    }
}
