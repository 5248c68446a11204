//! The renormalisation group as an algorithm.
//!
//! Coarse-graining a tensor network is real-space RG done numerically: each step of [`trg`]
//! replaces the lattice by one with half as many sites and a renormalised tensor, and the
//! normalisation factors it divides out add up to ln Z. It reaches the thermodynamic limit
//! directly, so this module also owns the representation of an *infinite* uniform lattice,
//! [`InfiniteLattice`] (the specs `square:inf`, `triangular:inf`, `cubic:inf`): not a [`Model`] (it has no
//! finite list of spins), and accepted only by the RG methods — every other method is refused
//! with one line by [`crate::model::builders::from_spec`].
//!
//! - [`Trg`]: ln Z per spin of the infinite square / triangular lattice (uniform J and h), and
//!   ln Z of 2^k × 2^k tori; kind `approximation` with an error estimate from a second, smaller χ.
//! - [`Hotrg`]: higher-order TRG (Xie et al. 2012), ln Z per spin of the infinite square,
//!   triangular and simple cubic lattices (uniform J and h); the only 3D method here.
//! - [`realspace`]: decimation of the chain and Migdal–Kadanoff bond moving (`logz rg`).
//! - [`Planar`]: exact ln Z of zero-field open square grids with any couplings (Kac–Ward).
//! - [`Tn`]: ln Z of any square-grid model (any couplings and fields, open or periodic) by
//!   boundary-MPS contraction; at χ ≥ the full Schmidt rank a dense, all-positive contraction
//!   of the untruncated boundary state, exact to a counted rounding bound.

pub mod closed;
pub mod hotrg;
pub mod planar;
pub mod realspace;
pub mod tn;
pub mod trg;

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Solver};
use crate::model::builders::Params;
use crate::model::{Geometry, Model};
use crate::runner::Runner;
pub use hotrg::Hotrg;
pub use planar::Planar;
pub use tn::Tn;
pub use trg::{LatticeKind, TrgParams, TrgRun};

/// A uniform lattice in the thermodynamic limit: every bond J, every site h, at β.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InfiniteLattice {
    /// Which lattice.
    pub lattice: LatticeKind,
    /// The coupling J of every bond.
    pub coupling: f64,
    /// The field h on every site.
    pub field: f64,
    /// Inverse temperature β ≥ 0.
    pub beta: f64,
}

/// Whether `spec` names an infinite lattice (`kind:inf`, any case): such a spec is solved only
/// by [`InfiniteLattice::from_spec`] and the RG methods.
pub fn is_infinite_spec(spec: &str) -> bool {
    let mut parts = spec.split(':');
    parts.next();
    matches!(parts.next(), Some(s) if s.trim().eq_ignore_ascii_case("inf"))
}

impl InfiniteLattice {
    /// The infinite lattice of a `square:inf` / `triangular:inf` spec with the uniform
    /// parameters `p`; `None` when `spec` is not an infinite-lattice spec at all.
    ///
    /// ```
    /// use logz::model::builders::Params;
    /// use logz::rg::{InfiniteLattice, LatticeKind};
    /// let lat = InfiniteLattice::from_spec("square:inf", &Params::default()).unwrap()?;
    /// assert_eq!(lat.lattice, LatticeKind::Square);
    /// assert!(InfiniteLattice::from_spec("square:16", &Params::default()).is_none());
    /// assert!(InfiniteLattice::from_spec("chain:inf", &Params::default()).unwrap().is_err());
    /// # Ok::<(), logz::Error>(())
    /// ```
    pub fn from_spec(spec: &str, p: &Params) -> Option<Result<InfiniteLattice>> {
        if !is_infinite_spec(spec) {
            return None;
        }
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 2 {
            return Some(Err(Error::arg(format!(
                "model spec '{spec}': an infinite lattice takes no options"
            ))));
        }
        let lattice = match parts[0].trim().to_ascii_lowercase().as_str() {
            "square" => LatticeKind::Square,
            "triangular" => LatticeKind::Triangular,
            "cubic" => LatticeKind::Cubic,
            other => {
                return Some(Err(Error::arg(format!(
                    "model spec '{spec}': no infinite '{other}' lattice (square:inf, \
                     triangular:inf and cubic:inf are available)"
                ))))
            }
        };
        Some(InfiniteLattice::new(lattice, p.coupling, p.field, p.beta))
    }

    /// A checked infinite lattice (finite J and h, finite β ≥ 0).
    pub fn new(lattice: LatticeKind, coupling: f64, field: f64, beta: f64) -> Result<Self> {
        for (what, x) in [("coupling", coupling), ("field", field), ("beta", beta)] {
            if !x.is_finite() {
                return Err(Error::invalid(format!("{what} is {x}, must be finite")));
            }
        }
        if beta < 0.0 {
            return Err(Error::invalid(format!("beta = {beta} is negative")));
        }
        Ok(InfiniteLattice {
            lattice,
            coupling,
            field,
            beta,
        })
    }

    /// The spec (`square:inf`).
    pub fn spec(&self) -> String {
        format!("{}:inf", self.lattice.name())
    }
}

/// The refusal of every non-RG method for an infinite-lattice spec (one line).
pub fn infinite_refusal(spec: &str) -> Error {
    Error::arg(format!(
        "model spec '{spec}' is the infinite lattice (the thermodynamic limit), which only \
         `--method trg` (or `hotrg`) solves; give a size (e.g. square:64) for other methods"
    ))
}

/// Tensor renormalisation group (bond-weighted TRG, see [`trg`]) for uniform square and
/// triangular lattices with a field: ln Z per spin of the infinite lattice
/// ([`Trg::solve_infinite`]) and ln Z of an L × L torus with L = 2^k ≥ 4 (the [`Solver`]).
///
/// The result is an approximation (truncation to χ). Its error is estimated by a second run at
/// χ' = ⌊3χ/4⌋ (≥ 2): |ln Z(χ) − ln Z(χ')|, which over-estimates the error at χ as long as the
/// error decreases with χ — an estimate, not a bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Trg {
    /// Bond dimension χ ≥ 2.
    pub chi: usize,
    /// Bond-weight exponent (0: Levin–Nave TRG; −½: bond-weighted TRG).
    pub k: f64,
    /// Power iterations of the randomised SVD (0: exact SVD).
    pub power: usize,
    /// Most coarse-graining steps on the infinite lattice.
    pub max_steps: usize,
    /// Whether to run the second, smaller χ for the error estimate.
    pub error_estimate: bool,
}

impl Default for Trg {
    fn default() -> Self {
        Trg {
            chi: 24,
            k: -0.5,
            power: 1,
            max_steps: 60,
            error_estimate: true,
        }
    }
}

/// A TRG result with its error estimate.
#[derive(Debug, Clone)]
pub struct TrgOutcome {
    /// ln Z (per spin for the infinite lattice), kind `approximation`, notes filled in.
    pub estimate: Estimate,
    /// |ln Z(χ) − ln Z(χ')| (per spin for the infinite lattice), if the second run was made.
    pub error_estimate: Option<f64>,
    /// χ' of the second run.
    pub chi_reference: Option<usize>,
    /// The largest discarded SVD weight Σ_{a>χ} s_a² / Σ s_a² of the main run.
    pub truncation: f64,
}

impl Trg {
    fn params(&self, chi: usize) -> TrgParams {
        TrgParams {
            chi,
            k: self.k,
            max_steps: self.max_steps,
            power: self.power,
            ..TrgParams::default()
        }
    }

    /// The smaller χ of the error estimate, if there is one.
    fn chi_reference(&self) -> Option<usize> {
        let c = (3 * self.chi / 4).max(2);
        (self.error_estimate && c < self.chi).then_some(c)
    }

    fn check(&self) -> Result<()> {
        if self.chi < 2 {
            return Err(Error::arg(format!(
                "--chi must be at least 2 (the bond dimension of the Ising tensor), got {}",
                self.chi
            )));
        }
        if !self.k.is_finite() {
            return Err(Error::arg("trg: the bond-weight exponent must be finite"));
        }
        Ok(())
    }

    fn outcome(
        &self,
        run: TrgRun,
        reference: Option<(usize, TrgRun)>,
        per_spin: bool,
    ) -> TrgOutcome {
        let scheme = if self.k == 0.0 {
            "Levin–Nave TRG".to_string()
        } else {
            format!("bond-weighted TRG (k = {})", self.k)
        };
        let mut est = Estimate::new(run.ln_z, EstimateKind::Approximation, "trg");
        est.diagnostics.iterations = run.steps;
        let unit = if per_spin { " per spin" } else { "" };
        if per_spin {
            est.diagnostics
                .notes
                .push("infinite lattice: ln Z and F are per spin".to_string());
        }
        est.diagnostics.notes.push(format!(
            "{scheme}, χ = {} (largest bond reached {}), {} coarse-graining steps",
            self.chi, run.max_dim, run.steps
        ));
        est.diagnostics.notes.push(format!(
            "truncation: largest discarded SVD weight Σ_(a>χ) s_a² / Σ s_a² = {:.2e}",
            run.truncation
        ));
        let (error_estimate, chi_reference) = match reference {
            Some((c, r)) => {
                let d = (run.ln_z - r.ln_z).abs();
                est.diagnostics.notes.push(format!(
                    "error estimate |ln Z(χ={}) − ln Z(χ={c})| = {d:.2e}{unit} (relative {:.1e}; \
                     an estimate from successive χ, not a bound)",
                    self.chi,
                    d / run.ln_z.abs().max(f64::MIN_POSITIVE)
                ));
                (Some(d), Some(c))
            }
            None => {
                est.diagnostics
                    .notes
                    .push("no error estimate (no smaller χ to compare with)".to_string());
                (None, None)
            }
        };
        TrgOutcome {
            estimate: est,
            error_estimate,
            chi_reference,
            truncation: run.truncation,
        }
    }

    /// ln Z per spin of the infinite lattice, with the error estimate.
    pub fn solve_infinite(&self, lat: &InfiniteLattice) -> Result<TrgOutcome> {
        self.check()?;
        let t0 = std::time::Instant::now();
        let (kk, hh) = (lat.beta * lat.coupling, lat.beta * lat.field);
        let run = trg::infinite_ln_z(lat.lattice, kk, hh, &self.params(self.chi))?;
        let reference = match self.chi_reference() {
            Some(c) => Some((c, trg::infinite_ln_z(lat.lattice, kk, hh, &self.params(c))?)),
            None => None,
        };
        let mut out = self.outcome(run, reference, true);
        out.estimate.diagnostics.seconds = t0.elapsed().as_secs_f64();
        Ok(out)
    }

    /// ln Z of a finite model: a uniform L × L square or triangular torus, L = 2^k ≥ 4.
    pub fn solve_torus(&self, m: &Model) -> Result<TrgOutcome> {
        self.check()?;
        let not = |reason: String| Error::NotApplicable {
            method: "trg",
            reason,
        };
        let (lattice, l) =
            match *m.geometry() {
                Geometry::Square {
                    rows,
                    cols,
                    periodic: true,
                } if rows == cols => (LatticeKind::Square, rows),
                Geometry::Triangular {
                    rows,
                    cols,
                    periodic: true,
                } if rows == cols => (LatticeKind::Triangular, rows),
                _ => return Err(not(
                    "needs a uniform L × L square or triangular torus with L = 2^k ≥ 4 (or the \
                     infinite lattice square:inf)"
                        .to_string(),
                )),
            };
        if l < 4 || !l.is_power_of_two() {
            return Err(not(format!(
                "a torus must be L × L with L = 2^k ≥ 4, got L = {l}"
            )));
        }
        let j = m
            .uniform_coupling()
            .ok_or_else(|| not("needs one coupling J on every bond".to_string()))?;
        let h = m
            .uniform_field()
            .ok_or_else(|| not("needs one field h on every site".to_string()))?;
        let (kk, hh) = (m.beta() * j, m.beta() * h);
        let run = trg::torus_ln_z(lattice, l, kk, hh, &self.params(self.chi))?;
        let reference = match self.chi_reference() {
            Some(c) => Some((c, trg::torus_ln_z(lattice, l, kk, hh, &self.params(c))?)),
            None => None,
        };
        let offset = m.beta() * m.energy_offset();
        let mut out = self.outcome(run, reference, false);
        out.estimate.ln_z -= offset;
        Ok(out)
    }
}

impl Solver for Trg {
    fn name(&self) -> &'static str {
        "trg"
    }
    fn solve_with(&self, m: &Model, _runner: &Runner) -> Result<Estimate> {
        Ok(self.solve_torus(m)?.estimate)
    }
}
