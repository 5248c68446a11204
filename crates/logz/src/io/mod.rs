//! Model files: the UAI competition format and logz's own JSON format.
//!
//! Readers never trust a number from a file to size an allocation before checking it (against
//! the memory budget of [`crate::limits`]), and every error names the file and the line (or
//! token) where the problem is. UAI files are streamed; JSON files are read whole.

pub mod json;
pub mod uai;

use crate::error::{Error, Result};
use crate::model::Model;
use std::path::Path;

/// A model read from a file, with the bookkeeping needed to report results per original variable.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The model, with evidence clamped and folded into the fields.
    pub model: Model,
    /// Number of variables in the file (before clamping evidence).
    pub n_original: usize,
    /// For each model spin, the file variable it came from.
    pub kept: Vec<usize>,
    /// Clamped file variables and their spins (from `.evid`).
    pub clamped: Vec<(usize, i8)>,
}

impl LoadedModel {
    /// A model with no file behind it: every variable kept, none clamped.
    pub fn plain(model: Model) -> Self {
        let n = model.n();
        LoadedModel {
            model,
            n_original: n,
            kept: (0..n).collect(),
            clamped: vec![],
        }
    }
    /// Expand per-spin magnetisations of the (reduced) model to the file's variables. A method
    /// that computes none returns an empty vector, which stays empty — unless evidence clamped
    /// every variable, when the clamped values are the whole answer (the model has no spins, so
    /// its empty vector is complete). A vector of any other wrong length gives an empty one
    /// rather than an index out of bounds.
    pub fn expand_magnetization(&self, m: &[f64]) -> Vec<f64> {
        if m.len() != self.kept.len() {
            return vec![];
        }
        let mut out = vec![0.0; self.n_original];
        for (k, &v) in self.kept.iter().enumerate() {
            out[v] = m[k];
        }
        for &(v, s) in &self.clamped {
            out[v] = s as f64;
        }
        out
    }
}

/// Memory per byte of a text model file while it is read and parsed whole.
const TEXT_BYTES_PER_BYTE: f64 = 6.0;

/// A whole text file, refused if it is larger than 4 GiB or if its text and what is parsed from
/// it would not fit the memory budget.
pub fn read_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if meta.is_dir() {
        return Err(Error::Io {
            path: path.display().to_string(),
            reason: "is a directory".into(),
        });
    }
    const MAX: u64 = 4 << 30;
    if meta.len() > MAX {
        return Err(Error::Io {
            path: path.display().to_string(),
            reason: format!(
                "file of {} bytes is larger than the 4 GiB limit",
                meta.len()
            ),
        });
    }
    // The text, and the lists a JSON parser builds from it (an edge "[0,1]," of 6 bytes becomes
    // 16 B of pair plus its copy, a coupling of 2 bytes 8 B), take up to ~6 bytes per byte.
    crate::limits::check_memory(
        "io",
        &format!(
            "{}: reading and parsing a file of {} bytes",
            path.display(),
            meta.len()
        ),
        TEXT_BYTES_PER_BYTE * meta.len() as f64,
    )?;
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| Error::Parse {
        place: path.display().to_string(),
        reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Load a model file by extension (`.uai` with an optional `.evid` beside it, or `.json`).
pub fn load(path: &Path, evid: Option<&Path>) -> Result<LoadedModel> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".uai") {
        uai::read_file(path, evid)
    } else if name.ends_with(".json") {
        Ok(LoadedModel::plain(json::read_file(path)?))
    } else {
        Err(Error::Io {
            path: path.display().to_string(),
            reason: "unknown model file type (expected .uai or .json)".into(),
        })
    }
}
