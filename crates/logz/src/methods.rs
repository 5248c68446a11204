//! Every solver by name: the registry that `logz solve --method` and `logz compare` use.

use crate::estimate::Solver;
use crate::{exact, variational};

/// All method names with a one-line description.
pub const METHODS: &[(&str, &str)] = &[
    (
        "exact",
        "best applicable exact method (closed form, enumeration, elimination, transfer)",
    ),
    (
        "enumerate",
        "exact: Gray-code enumeration of all 2^N states",
    ),
    ("elimination", "exact: variable elimination / junction tree"),
    (
        "transfer",
        "exact: transfer matrix for square-lattice strips",
    ),
    ("chain", "exact: closed form for a uniform chain"),
    (
        "curie-weiss",
        "exact: finite-N Curie–Weiss sum over magnetisation sectors",
    ),
    ("kaufman", "exact: Kaufman's finite square torus (h = 0)"),
    (
        "onsager",
        "approximation: Onsager's infinite-lattice free energy × N",
    ),
];

/// Look up a solver by name.
pub fn by_name(name: &str) -> Option<Box<dyn Solver + Send + Sync>> {
    match name {
        "exact" => Some(Box::new(exact::Exact)),
        "onsager" => Some(Box::new(exact::Onsager)),
        "mf" => Some(Box::new(variational::MeanField::default())),
        "tap" => Some(Box::new(variational::Tap::default())),
        "bethe" => Some(Box::new(variational::Bethe::default())),
        "trw" => Some(Box::new(variational::Trw::default())),
        _ => exact::by_name(name),
    }
}

/// The methods `logz compare` runs by default (those that do not apply are skipped).
pub const COMPARE: &[&str] = &["exact", "onsager", "mf", "tap", "bethe", "trw"];
