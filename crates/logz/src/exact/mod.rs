//! Exact methods: the ground truth every approximation is judged against.
//!
//! `Exact` picks the best applicable method for a model: closed forms where the model has one
//! (chain, Curie–Weiss, Kaufman's torus), enumeration for small N, variable elimination when the
//! treewidth allows, and the transfer matrix for square strips.

pub mod closed;
pub mod elimination;
pub mod enumerate;
pub mod ordering;
pub mod transfer;

use crate::error::{Error, Result};
use crate::estimate::{Estimate, Progress, Solver};
use crate::model::{Geometry, Model};

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
        let mut out = Vec::new();
        let uniform_j = m.uniform_coupling();
        let h0 = m.uniform_field() == Some(0.0);
        match *m.geometry() {
            Geometry::Chain { .. } if m.uniform_field().is_some() => out.push("chain"),
            Geometry::Complete { .. } if m.uniform_field().is_some() => out.push("curie-weiss"),
            Geometry::Square {
                rows,
                cols,
                periodic: true,
            } if rows >= 3 && cols >= 3 && h0 && uniform_j.is_some_and(|j| j > 0.0) => {
                out.push("kaufman")
            }
            _ => {}
        }
        if m.n() <= 20 {
            out.push("enumerate");
        }
        if ordering::best_tree(m, Elimination::default().max_width).is_some() {
            out.push("elimination");
        }
        if m.n() <= enumerate::DEFAULT_MAX_SPINS && !out.contains(&"enumerate") {
            out.push("enumerate");
        }
        if let Geometry::Square {
            rows,
            cols,
            periodic,
        } = *m.geometry()
        {
            let w = rows.min(cols);
            let tm = TransferMatrix::default();
            if w <= if periodic {
                tm.max_torus_width
            } else {
                tm.max_width
            } {
                out.push("transfer");
            }
        }
        out
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
    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
        let cands = Exact::applicable(m);
        let first = cands.first().ok_or_else(|| Error::TooLarge {
            method: "exact",
            reason: format!(
                "no exact method applies: {} spins is beyond enumeration and no elimination \
                 ordering keeps tables under 2^{} entries; use an approximate method",
                m.n(),
                Elimination::default().max_width + 1
            ),
        })?;
        let solver = by_name(first).expect("known exact method");
        let mut est = solver.solve_with(m, progress)?;
        let alg = est.diagnostics.algorithm.clone();
        est.diagnostics.algorithm = format!("exact via {alg}");
        Ok(est)
    }
}
