//! The one result type and the one solver interface shared by every method.
//!
//! Every number logz reports says what kind of number it is: an exact value, a rigorous lower or
//! upper bound, a stochastic estimate with its standard error, or an uncontrolled approximation.
//! Front ends (`logz solve`, `logz compare`, the report) never need to know which method ran.

use crate::error::{Error, Result};
use crate::model::Model;
use serde::Serialize;

/// What kind of number `Estimate::ln_z` is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Kind {
    /// Exact up to floating-point rounding.
    Exact,
    /// A rigorous lower bound on ln Z (e.g. mean field / the ELBO).
    LowerBound,
    /// A rigorous upper bound on ln Z (e.g. tree-reweighted BP).
    UpperBound,
    /// A Monte Carlo estimate with its standard error.
    Stochastic { std_err: f64 },
    /// A stochastic lower bound (e.g. a Monte Carlo ELBO): below ln Z in expectation, ± std_err.
    StochasticLowerBound { std_err: f64 },
    /// An approximation without a guaranteed direction (Bethe, TAP).
    Approximation,
}

impl Kind {
    /// The machine-readable label used in JSON and CSV output.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::LowerBound | Kind::StochasticLowerBound { .. } => "lower_bound",
            Kind::UpperBound => "upper_bound",
            Kind::Stochastic { .. } => "stochastic",
            Kind::Approximation => "approximation",
        }
    }
    /// The standard error, for stochastic kinds.
    pub fn std_err(&self) -> Option<f64> {
        match *self {
            Kind::Stochastic { std_err } | Kind::StochasticLowerBound { std_err } => Some(std_err),
            _ => None,
        }
    }
}

/// How a solver got its answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnostics {
    /// Iterations (sweeps, message passes, optimiser steps) actually run.
    pub iterations: usize,
    /// Whether the method met its convergence criterion (always true for exact methods).
    pub converged: bool,
    /// Wall-clock seconds spent in `solve`.
    pub seconds: f64,
    /// The concrete algorithm behind a generic request (e.g. `exact` → `elimination`).
    pub algorithm: String,
    /// Human-readable notes: warnings, validity conditions, skipped outputs.
    pub notes: Vec<String>,
}

/// The result of every solver.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Natural log of Z (including β and any constant carried by the model).
    pub ln_z: f64,
    pub kind: Kind,
    /// ⟨s_i⟩ for every spin (empty if the method cannot provide them).
    pub magnetization: Vec<f64>,
    /// ⟨s_i s_j⟩ for every edge, in the model's edge order.
    pub edge_correlation: Option<Vec<f64>>,
    /// ⟨|Σ_i s_i|⟩ / N where the method can provide it (finite-size order parameter at h = 0).
    pub abs_magnetization: Option<f64>,
    /// ⟨E⟩, the mean energy, where the method can provide it.
    pub energy: Option<f64>,
    pub diagnostics: Diagnostics,
}

impl Estimate {
    /// A fresh estimate with empty observables.
    pub fn new(ln_z: f64, kind: Kind, algorithm: &str) -> Self {
        Estimate {
            ln_z,
            kind,
            magnetization: Vec::new(),
            edge_correlation: None,
            abs_magnetization: None,
            energy: None,
            diagnostics: Diagnostics {
                converged: true,
                algorithm: algorithm.to_string(),
                ..Default::default()
            },
        }
    }
    /// Mean of ⟨s_i⟩ over spins (0 for an empty model).
    pub fn mean_magnetization(&self) -> f64 {
        if self.magnetization.is_empty() {
            0.0
        } else {
            self.magnetization.iter().sum::<f64>() / self.magnetization.len() as f64
        }
    }
    /// The estimate if its ln Z is a finite number, else a [`Error::Numerical`] that says so:
    /// no front end ever prints a null/NaN ln Z under a label such as `exact`.
    pub fn checked(self, method: &str) -> Result<Self> {
        if self.ln_z.is_finite() {
            Ok(self)
        } else if self.ln_z.is_nan() {
            Err(Error::Numerical(format!(
                "{method}: ln Z came out NaN (the run diverged); try a smaller step size or \
                 more iterations"
            )))
        } else {
            Err(Error::Numerical(format!(
                "{method}: ln Z overflows f64 (ln Z = {}); reduce β or the couplings",
                self.ln_z
            )))
        }
    }
    /// Free energy per spin F/N = −ln Z / (βN).
    pub fn free_energy_per_spin(&self, m: &Model) -> f64 {
        -self.ln_z / (m.beta() * m.n().max(1) as f64)
    }
}

/// Receives progress from long computations; the library never prints.
pub trait Progress: Sync {
    /// Announce the total amount of work (in method-specific units).
    fn start(&self, _total: u64, _what: &str) {}
    /// Report `delta` more units done.
    fn advance(&self, _delta: u64) {}
    /// A short status shown beside the bar (e.g. the running ELBO).
    fn message(&self, _text: &str) {}
    fn finish(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One interface for every method on a spin model.
pub trait Solver {
    /// Short name used on the command line (`exact`, `mf`, `bethe`, …).
    fn name(&self) -> &'static str;
    /// Solve with progress reporting.
    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate>;
    /// Solve silently; a non-finite ln Z is an error (see [`Estimate::checked`]).
    fn solve(&self, m: &Model) -> Result<Estimate> {
        self.solve_with(m, &NoProgress)?.checked(self.name())
    }
}

/// Run a solver and fill in the wall-clock time; a non-finite ln Z is an error.
pub fn timed(solver: &dyn Solver, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
    let t0 = std::time::Instant::now();
    let mut e = solver.solve_with(m, progress)?.checked(solver.name())?;
    e.diagnostics.seconds = t0.elapsed().as_secs_f64();
    Ok(e)
}
