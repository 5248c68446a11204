//! Exact methods: the ground truth every approximation is judged against.
//!
//! `Exact` picks the best applicable method for a model: closed forms where the model has one
//! (chain, Curie–Weiss, Kaufman's torus), enumeration for small N, variable elimination when the
//! treewidth allows, and the transfer matrix for square strips.

pub mod closed;
pub mod elimination;
pub mod enumerate;
pub mod ordering;
pub mod reference;
pub mod transfer;

use crate::error::{Error, Result};
use crate::estimate::{Estimate, Solver};
use crate::model::{Geometry, Model};
use crate::runner::Runner;

pub use closed::{Chain, CurieWeiss, Kaufman, Onsager};
pub use elimination::Elimination;
pub use enumerate::Enumerate;
pub use transfer::TransferMatrix;

/// The `exact` method: dispatches to the best applicable exact algorithm and says which one.
#[derive(Debug, Clone, Default)]
pub struct Exact;

impl Exact {
    /// Names of the exact algorithms that apply to `m`, best first.
    pub fn applicable(m: &Model) -> Vec<&'static str> {
        Self::candidates(m)
            .into_iter()
            .filter(|(_, applies)| applies())
            .map(|(name, _)| name)
            .collect()
    }

    /// The best applicable exact algorithm, deciding lazily: a closed form answers without
    /// ever building an elimination ordering (which on a 16384² torus would take minutes).
    pub fn best(m: &Model) -> Option<&'static str> {
        Self::candidates(m)
            .into_iter()
            .find(|(_, applies)| applies())
            .map(|(name, _)| name)
    }

    /// Every exact algorithm in order of preference, with a (possibly costly) applicability test.
    #[allow(clippy::type_complexity)]
    fn candidates(m: &Model) -> Vec<(&'static str, Box<dyn Fn() -> bool + '_>)> {
        let uniform_j = m.uniform_coupling();
        let h0 = m.uniform_field() == Some(0.0);
        let closed: Option<&'static str> = match *m.geometry() {
            Geometry::Chain { .. } if m.uniform_field().is_some() => Some("chain"),
            Geometry::Complete { .. } if m.uniform_field().is_some() => Some("curie-weiss"),
            Geometry::Square {
                rows,
                cols,
                periodic: true,
            } if rows >= 3 && cols >= 3 && h0 && uniform_j.is_some_and(|j| j > 0.0) => {
                Some("kaufman")
            }
            _ => None,
        };
        let max_width = Elimination::default().max_width;
        let elimination = move || {
            treewidth_lower_bound(m) <= max_width && ordering::best_tree(m, max_width).is_some()
        };
        let transfer = move || match *m.geometry() {
            Geometry::Square {
                rows,
                cols,
                periodic,
            } => {
                let tm = TransferMatrix::default();
                rows.min(cols)
                    <= if periodic {
                        tm.max_torus_width
                    } else {
                        tm.max_width
                    }
            }
            _ => false,
        };
        let mut out: Vec<(&'static str, Box<dyn Fn() -> bool + '_>)> = Vec::new();
        if let Some(name) = closed {
            out.push((name, Box::new(|| true)));
        }
        if m.n() <= 20 {
            out.push(("enumerate", Box::new(|| true)));
        }
        out.push(("elimination", Box::new(elimination)));
        if m.n() > 20 && m.n() <= enumerate::DEFAULT_MAX_SPINS {
            out.push(("enumerate", Box::new(|| true)));
        }
        out.push(("transfer", Box::new(transfer)));
        out
    }
}

/// A cheap lower bound on the treewidth from the lattice geometry (0 when unknown), so that
/// the elimination planner is never run on a lattice that is certainly too wide.
pub fn treewidth_lower_bound(m: &Model) -> usize {
    match *m.geometry() {
        Geometry::Square { rows, cols, .. } | Geometry::Triangular { rows, cols, .. } => {
            // An r×c grid has treewidth min(r, c); the triangular lattice and periodic
            // boundaries add edges, which can only raise it.
            rows.min(cols)
        }
        // The L×L×L cube contains the L×L grid.
        Geometry::Cubic { l } => l,
        Geometry::Complete { n } => n.saturating_sub(1),
        Geometry::Chain { .. } | Geometry::General | Geometry::Plane { .. } => 0,
    }
}

/// Look up an exact solver by name.
pub fn by_name(name: &str) -> Option<Box<dyn Solver + Send + Sync>> {
    Some(match name {
        "enumerate" => Box::new(Enumerate::default()),
        "elimination" => Box::new(Elimination::default()),
        "transfer" => Box::new(TransferMatrix::default()),
        "chain" => Box::new(Chain),
        "curie-weiss" => Box::new(CurieWeiss),
        "kaufman" => Box::new(Kaufman),
        _ => return None,
    })
}

impl Solver for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        let first = Exact::best(m).ok_or_else(|| Error::TooLarge {
            method: "exact",
            reason: format!(
                "no exact method applies: {} spins is beyond enumeration and no elimination \
                 ordering keeps tables under 2^{} entries; use an approximate method",
                m.n(),
                Elimination::default().max_width + 1
            ),
        })?;
        let solver = by_name(first).expect("known exact method");
        let mut est = solver.solve_with(m, runner)?;
        let alg = est.diagnostics.algorithm.clone();
        est.diagnostics.algorithm = format!("exact via {alg}");
        Ok(est)
    }
}
