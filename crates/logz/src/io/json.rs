//! logz's JSON model format.
//!
//! ```json
//! {"n": 3, "beta": 0.5, "edges": [[0, 1], [1, 2]], "couplings": [1.0, -0.5],
//!  "fields": [0.0, 0.1, 0.0], "energy_offset": 0.0}
//! ```
//! `fields` defaults to zeros, `beta` to 1, `energy_offset` to 0. Couplings follow the edge order.
//!
//! A model built on a lattice also records it, e.g. `"geometry": {"kind": "square", "rows": 16,
//! "cols": 16, "periodic": true}` (kinds `chain` {n, periodic}, `square` and `triangular`
//! {rows, cols, periodic}, `cubic` {l}, `complete` {n}), so a model written by logz solves by the
//! same lattice methods (Kaufman, transfer matrix, multi-spin kernels) after the round trip.
//! On reading, the edges are checked against the declared lattice.

use super::read_text;
use crate::error::{Error, Result};
use crate::model::{Geometry, Model};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonModel {
    n: usize,
    #[serde(default = "one")]
    beta: f64,
    edges: Vec<[usize; 2]>,
    couplings: Vec<f64>,
    #[serde(default)]
    fields: Option<Vec<f64>>,
    #[serde(default)]
    energy_offset: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    geometry: Option<Geometry>,
}

fn one() -> f64 {
    1.0
}

/// Parse JSON text; `file` names the source in errors.
pub fn parse(file: &str, text: &str) -> Result<Model> {
    let jm: JsonModel = serde_json::from_str(text).map_err(|e| Error::Parse {
        place: format!("{file}:{}", e.line()),
        reason: format!("invalid model JSON: {e}"),
    })?;
    if jm.n > 100_000_000 {
        return Err(Error::Parse {
            place: file.into(),
            reason: format!("n = {} is too large", jm.n),
        });
    }
    // Before the fields (n of them) and the model are allocated.
    Model::check_size(jm.n as f64, jm.edges.len() as f64).map_err(|e| match e {
        Error::InvalidModel(reason) => Error::Parse {
            place: file.into(),
            reason,
        },
        e => e,
    })?;
    let edges: Vec<(usize, usize)> = jm.edges.iter().map(|e| (e[0], e[1])).collect();
    let fields = jm.fields.unwrap_or_else(|| vec![0.0; jm.n]);
    let geometry = jm.geometry.unwrap_or(Geometry::General);
    let m = Model::new(jm.n, &edges, &jm.couplings, fields, jm.beta)
        .and_then(|m| m.with_energy_offset(jm.energy_offset))
        .and_then(|m| m.with_checked_geometry(geometry))
        .map_err(|e| Error::Parse {
            place: file.into(),
            reason: e.to_string(),
        })?;
    Ok(m)
}

/// Read a model from a JSON file (see [`parse`] for the format); errors name the file.
pub fn read_file(path: &Path) -> Result<Model> {
    parse(&path.display().to_string(), &read_text(path)?)
}

/// Serialise a model (round-trips exactly through [`parse`]).
pub fn write(m: &Model) -> String {
    let jm = JsonModel {
        n: m.n(),
        beta: m.beta(),
        edges: m
            .edges()
            .iter()
            .map(|&(a, b)| [a as usize, b as usize])
            .collect(),
        couplings: m.couplings().to_vec(),
        fields: Some(m.fields().to_vec()),
        energy_offset: m.energy_offset(),
        geometry: (*m.geometry() != Geometry::General).then(|| m.geometry().clone()),
    };
    serde_json::to_string_pretty(&jm).unwrap_or_default()
}
