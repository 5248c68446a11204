//! Exact reference values for Monte Carlo output, where they are cheap.
//!
//! A sampler's estimates of the energy per spin and |m| are judged against exact values when one
//! of two routes is cheap:
//!
//! * Kaufman's closed form on a uniform ferromagnetic square torus without field (any size):
//!   ln Z exactly, and ⟨E⟩ = −∂ ln Z/∂β by a central difference ([`kaufman_energy`]). |m| has no
//!   closed form on a finite torus, so it is left out.
//! * Enumeration of all 2^N states up to [`MAX_ENUMERATED`] spins: energy, |m| and ln Z.

use super::closed::{kaufman_energy, kaufman_ln_z};
use super::Exact;
use crate::estimate::Solver;
use crate::model::{Geometry, Model};
use serde::Serialize;

/// Largest model whose reference values are computed by exact enumeration (2²⁴ states).
pub const MAX_ENUMERATED: usize = 24;

/// Exact observables of a model; `None` where no cheap exact value exists.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Reference {
    /// ⟨E⟩/N, the energy offset included.
    pub energy: Option<f64>,
    /// ⟨|Σ s|⟩/N.
    pub abs_magnetization: Option<f64>,
    /// ln Z.
    pub ln_z: Option<f64>,
}

/// Exact ln Z of `m` if an exact algorithm applies to it ([`Exact::best`]) and succeeds within
/// the budgets; `None` otherwise (a reference to judge an approximation by, where there is one).
pub fn exact_ln_z(m: &Model) -> Option<f64> {
    Exact::best(m)?;
    Exact.solve(m).ok().map(|e| e.ln_z)
}

/// Exact per-spin energy, |m| and ln Z of `m` where they are cheap (see the module docs); all
/// `None` otherwise.
pub fn exact_observables(m: &Model) -> Reference {
    let n = m.n() as f64;
    if let Geometry::Square {
        rows,
        cols,
        periodic: true,
    } = *m.geometry()
    {
        if let (Some(j), Some(0.0)) = (m.uniform_coupling(), m.uniform_field()) {
            // Every torus bond present once (a side of 2 would double bonds).
            if j > 0.0 && m.beta() > 0.0 && m.num_edges() == 2 * rows * cols {
                let e = kaufman_energy(rows, cols, m.beta(), j) / n + m.energy_offset() / n;
                // Z carries the constant e^{−βE₀} of the offset.
                let ln_z = kaufman_ln_z(rows, cols, m.beta() * j) - m.beta() * m.energy_offset();
                return Reference {
                    energy: Some(e),
                    abs_magnetization: None,
                    ln_z: Some(ln_z),
                };
            }
        }
    }
    if m.n() <= MAX_ENUMERATED {
        if let Ok(e) = Exact.solve(m) {
            return Reference {
                energy: e.energy.map(|x| x / n),
                abs_magnetization: e.abs_magnetization,
                ln_z: Some(e.ln_z),
            };
        }
    }
    Reference::default()
}
