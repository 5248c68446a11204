//! The one result type and the one solver interface shared by every method.
//!
//! Every number logz reports says what kind of number it is: an exact value, a rigorous lower or
//! upper bound, a stochastic estimate with its standard error, or an uncontrolled approximation.
//! Front ends (`logz solve`, `logz compare`, the report) never need to know which method ran.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::runner::{Runner, Termination};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of number `Estimate::ln_z` is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub enum EstimateKind {
    /// Exact up to floating-point rounding.
    Exact,
    /// A rigorous lower bound on ln Z (e.g. mean field / the ELBO).
    LowerBound,
    /// A rigorous upper bound on ln Z (e.g. tree-reweighted BP).
    UpperBound,
    /// A Monte Carlo estimate with its standard error (+∞ when the run could not estimate it;
    /// see [`Estimate::mark_undefined_error`]).
    Stochastic {
        /// One standard error of ln Z.
        #[serde(with = "error_bar")]
        std_err: f64,
    },
    /// A stochastic lower bound (e.g. a Monte Carlo ELBO): below ln Z in expectation, ± std_err.
    /// Not a rigorous bound: one estimate may lie above ln Z by a few std_err.
    StochasticLowerBound {
        /// One standard error of the estimate.
        #[serde(with = "error_bar")]
        std_err: f64,
    },
    /// An approximation without a guaranteed direction (Bethe, TAP).
    Approximation,
}

impl EstimateKind {
    /// The machine-readable label used in JSON and CSV output.
    pub fn label(&self) -> &'static str {
        match self {
            EstimateKind::Exact => "exact",
            EstimateKind::LowerBound => "lower_bound",
            // Not a rigorous bound: a Monte Carlo ELBO is below ln Z only in expectation and a
            // single estimate may lie above it, so it never shares the `lower_bound` label.
            EstimateKind::StochasticLowerBound { .. } => "stochastic_lower_bound",
            EstimateKind::UpperBound => "upper_bound",
            EstimateKind::Stochastic { .. } => "stochastic",
            EstimateKind::Approximation => "approximation",
        }
    }
    /// The standard error, for stochastic kinds.
    pub fn std_err(&self) -> Option<f64> {
        match *self {
            EstimateKind::Stochastic { std_err }
            | EstimateKind::StochasticLowerBound { std_err } => Some(std_err),
            _ => None,
        }
    }
}

/// An error bar as JSON: a number when finite, the string `"inf"` when the run could not
/// estimate it. JSON has no infinity and serde_json would write NaN and ±∞ as `null`, which
/// reads as "no error bar" — the opposite of "an unbounded one". Reading accepts a number,
/// `"inf"` or `null` (older files), the last two as +∞.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorBar(pub f64);

impl Serialize for ErrorBar {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str("inf")
        }
    }
}

impl<'de> Deserialize<'de> for ErrorBar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
            Null(()),
        }
        match Repr::deserialize(d)? {
            Repr::Number(x) => Ok(ErrorBar(x)),
            Repr::Text(t) if t == "inf" => Ok(ErrorBar(f64::INFINITY)),
            Repr::Text(t) => Err(serde::de::Error::custom(format!(
                "error bar '{t}': expected a number or \"inf\""
            ))),
            Repr::Null(()) => Ok(ErrorBar(f64::INFINITY)),
        }
    }
}

/// `#[serde(with = "error_bar")]` for `f64` error-bar fields: see [`ErrorBar`].
pub mod error_bar {
    use super::ErrorBar;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Write `x` as a number, or `"inf"` when it is not finite.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
        ErrorBar(*x).serialize(s)
    }
    /// Read a number, `"inf"` or `null` (the last two as +∞).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
        Ok(ErrorBar::deserialize(d)?.0)
    }
}

/// How a solver got its answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnostics {
    /// Iterations (sweeps, message passes, optimiser steps) actually run.
    pub iterations: usize,
    /// Whether the method met its convergence criterion (always true for exact methods).
    pub converged: bool,
    /// Why the run stopped: converged, completed its planned work, out of iterations, out of
    /// time (the best answer so far), diverged, or stopped by an observer.
    pub termination: Termination,
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
    /// What kind of number `ln_z` is (exact, a bound, stochastic ± its error, an approximation).
    pub kind: EstimateKind,
    /// ⟨s_i⟩ for every spin (empty if the method cannot provide them).
    pub magnetization: Vec<f64>,
    /// ⟨s_i s_j⟩ for every edge, in the model's edge order.
    pub edge_correlation: Option<Vec<f64>>,
    /// ⟨|Σ_i s_i|⟩ / N where the method can provide it (finite-size order parameter at h = 0).
    pub abs_magnetization: Option<f64>,
    /// ⟨E⟩, the mean energy, where the method can provide it.
    pub energy: Option<f64>,
    /// How the solver got there: iterations, convergence, algorithm, notes.
    pub diagnostics: Diagnostics,
}

impl Estimate {
    /// A fresh estimate with empty observables.
    pub fn new(ln_z: f64, kind: EstimateKind, algorithm: &str) -> Self {
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
    /// Make an undefined error bar explicit. A stochastic estimate whose standard error could
    /// not be estimated — NaN (e.g. 0/0 from too few samples or blocks) or +∞ (e.g. one sample
    /// carrying all the importance weight) — reports `std_err = +∞`, `converged = false` and a
    /// note saying so, instead of a number nobody can use or a silent `null` in JSON. Every
    /// stochastic solver calls this before returning; calling it again changes nothing.
    pub fn mark_undefined_error(&mut self) {
        let se = match &mut self.kind {
            EstimateKind::Stochastic { std_err }
            | EstimateKind::StochasticLowerBound { std_err } => std_err,
            _ => return,
        };
        // `!(x >= 0)` also catches NaN; a finite non-negative error is fine.
        if *se >= 0.0 && se.is_finite() {
            return;
        }
        *se = f64::INFINITY;
        self.diagnostics.converged = false;
        const NOTE: &str = "error bar undefined (std_err = inf): the run could not estimate the \
                            uncertainty of ln Z (too few samples, or a few samples carry all the \
                            weight); treat the value as unreliable and run longer";
        if !self.diagnostics.notes.iter().any(|n| n == NOTE) {
            self.diagnostics.notes.push(NOTE.to_string());
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
    /// The work is done (or abandoned).
    fn finish(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One interface for every method on a spin model.
pub trait Solver {
    /// Short name used on the command line (`exact`, `mf`, `bethe`, …).
    fn name(&self) -> &'static str;
    /// Solve under `runner`: report every iteration to it ([`Runner::iterate`]) and stop
    /// with the best answer so far when it says so. Front ends call [`Runner::run`], which
    /// also checks the answer; this is the method's side of the run loop.
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate>;
    /// Solve silently, without budgets; a non-finite ln Z is an error (see
    /// [`Estimate::checked`]).
    fn solve(&self, m: &Model) -> Result<Estimate> {
        Runner::new().run(self, m)
    }
}

/// Run a solver with a progress display and fill in the wall-clock time; a non-finite ln Z is
/// an error. Shorthand for `Runner::new().with_progress(progress).run(solver, m)`.
pub fn timed(solver: &dyn Solver, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
    Runner::new().with_progress(progress).run(solver, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_label() {
        let kinds = [
            (EstimateKind::Exact, "exact"),
            (EstimateKind::LowerBound, "lower_bound"),
            (EstimateKind::UpperBound, "upper_bound"),
            (EstimateKind::Stochastic { std_err: 0.1 }, "stochastic"),
            (
                EstimateKind::StochasticLowerBound { std_err: 0.1 },
                "stochastic_lower_bound",
            ),
            (EstimateKind::Approximation, "approximation"),
        ];
        for (k, want) in kinds {
            assert_eq!(k.label(), want);
        }
    }

    #[test]
    fn an_undefined_error_bar_is_reported_not_hidden() {
        for (bad, kind) in [
            (f64::NAN, EstimateKind::Stochastic { std_err: f64::NAN }),
            (
                f64::INFINITY,
                EstimateKind::StochasticLowerBound {
                    std_err: f64::INFINITY,
                },
            ),
            (-1.0, EstimateKind::Stochastic { std_err: -1.0 }),
        ] {
            let mut e = Estimate::new(1.0, kind, "test");
            e.mark_undefined_error();
            e.mark_undefined_error();
            assert_eq!(e.kind.std_err(), Some(f64::INFINITY), "{bad}");
            assert!(!e.diagnostics.converged);
            assert_eq!(
                e.diagnostics.notes.len(),
                1,
                "one note, however often marked"
            );
            assert!(e.diagnostics.notes[0].contains("error bar undefined"));
            // JSON shows the infinity as "inf", never as null, and reads it back.
            let v = serde_json::to_value(e.kind).unwrap();
            let inner = v.as_object().unwrap().values().next().unwrap();
            assert_eq!(inner["std_err"], "inf");
            assert_eq!(
                serde_json::to_string(&ErrorBar(f64::NAN)).unwrap(),
                "\"inf\""
            );
        }
        // A finite error bar and a non-stochastic kind are left alone.
        let mut e = Estimate::new(1.0, EstimateKind::Stochastic { std_err: 0.25 }, "test");
        e.mark_undefined_error();
        assert!(e.diagnostics.converged && e.diagnostics.notes.is_empty());
        assert_eq!(serde_json::to_string(&ErrorBar(0.25)).unwrap(), "0.25");
        let mut e = Estimate::new(1.0, EstimateKind::LowerBound, "test");
        e.mark_undefined_error();
        assert!(e.diagnostics.converged);
        for (text, want) in [
            ("0.5", 0.5),
            ("\"inf\"", f64::INFINITY),
            ("null", f64::INFINITY),
        ] {
            let ErrorBar(x) = serde_json::from_str(text).unwrap();
            assert_eq!(x, want, "{text}");
        }
        assert!(serde_json::from_str::<ErrorBar>("\"big\"").is_err());
    }
}
