//! Saved VAN networks: what `logz train-van` writes and `--net` reads back.
//!
//! A checkpoint is one JSON object: the model it was trained on (as given), β, the network
//! ([`Made`]), the evaluation report and the exact ln Z where one was cheap. Reading it checks
//! the file size against the memory budget ([`crate::limits`]) and the network's shape
//! ([`Made::validate`]) before anything uses it: a truncated or hand-edited file is an error,
//! never an index out of bounds later.

use super::{Made, VanReport};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `train-van` writes: the network, the training settings and the evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The model as given to `train-van` (its specification string).
    pub model: String,
    /// Inverse temperature β the network was trained at.
    pub beta: f64,
    /// The trained network.
    pub network: Made,
    /// The evaluation of the trained network (ELBO, importance-weighted ln Z, …).
    pub report: VanReport,
    /// Exact ln Z where one was cheap to compute.
    pub exact_ln_z: Option<f64>,
}

impl Checkpoint {
    /// Parse and validate checkpoint JSON; `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Checkpoint> {
        let ck: Checkpoint = serde_json::from_str(text).map_err(|e| Error::Parse {
            place: format!("{file}:{}", e.line()),
            reason: format!("not a logz VAN checkpoint: {e}"),
        })?;
        ck.network.validate().map_err(|e| Error::Parse {
            place: file.to_string(),
            reason: match e {
                Error::InvalidArgument(r) => r,
                e => e.to_string(),
            },
        })?;
        Ok(ck)
    }

    /// Read a checkpoint file.
    pub fn read_file(path: &Path) -> Result<Checkpoint> {
        Checkpoint::parse(&path.display().to_string(), &crate::io::read_text(path)?)
    }

    /// The checkpoint as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
