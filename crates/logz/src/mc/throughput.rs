//! Throughput of the multi-spin kernel: spin-flip attempts per nanosecond on a square or cubic
//! torus at its critical coupling (J = 1, h = 0), the figure `logz bench` reports.
//!
//! At β_c the acceptance is neither ~1 nor ~0, so the measurement exercises the random-number
//! and acceptance path as a real simulation near the transition does.

use super::multispin::{DefaultLattice, LatticeRule};
use crate::error::Result;
use crate::exact::closed::SQUARE_BETA_C;

/// The simple cubic lattice's critical coupling (Monte Carlo estimate, Ferrenberg, Xu & Landau
/// 2018: β_c = 0.221654626(5)).
pub const CUBIC_BETA_C: f64 = 0.221_654_626;

/// The lattice of a throughput measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Torus {
    /// An l × l square torus, at β_c = ln(1 + √2)/2.
    Square(usize),
    /// An l × l × l cubic torus, at [`CUBIC_BETA_C`].
    Cubic(usize),
}

/// Check the lattice's sides and memory without building it.
pub fn check(lattice: Torus) -> Result<()> {
    match lattice {
        Torus::Cubic(l) => DefaultLattice::check_size([l, l, l]),
        Torus::Square(l) => DefaultLattice::check_size([1, l, l]),
    }
}

/// Sweep a critical torus with `rule` for at least `seconds` of wall-clock time (after one
/// warm-up sweep; at least one timed sweep) and return spin-flip attempts per nanosecond. Runs on
/// the current rayon pool: install a pool to choose the thread count. `seed` seeds the lattice's
/// random streams.
pub fn flips_per_ns(lattice: Torus, rule: LatticeRule, seconds: f64, seed: u64) -> Result<f64> {
    let mut lat = match lattice {
        Torus::Cubic(l) => DefaultLattice::cubic(l, 1.0, 0.0, CUBIC_BETA_C, rule, seed)?,
        Torus::Square(l) => DefaultLattice::torus(l, l, 1.0, 0.0, SQUARE_BETA_C, rule, seed)?,
    };
    let n = lat.n();
    lat.sweep();
    let t0 = std::time::Instant::now();
    let mut sweeps = 0usize;
    while sweeps == 0 || t0.elapsed().as_secs_f64() < seconds {
        lat.sweep();
        sweeps += 1;
    }
    Ok((n * sweeps) as f64 / t0.elapsed().as_secs_f64() / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_positive_and_bad_lattices_are_errors() {
        for t in [Torus::Square(8), Torus::Cubic(4)] {
            for rule in [LatticeRule::Metropolis, LatticeRule::HeatBath] {
                let r = flips_per_ns(t, rule, 1e-3, 1).unwrap();
                assert!(r.is_finite() && r > 0.0, "{t:?} {rule:?}: {r}");
            }
        }
        // The checkerboard needs even sides.
        assert!(flips_per_ns(Torus::Square(5), LatticeRule::Metropolis, 1e-3, 1).is_err());
    }
}
