//! HOTRG (higher-order tensor RG) against closed forms and series: Onsager on the square
//! lattice, the exact triangular free energy, and the high- and low-temperature series of the
//! simple cubic lattice. (The contraction itself is checked exactly, without truncation, on
//! the 4 × 4 and 2 × 2 × 2 tori by the unit tests in `rg::hotrg`.)

use logz::exact::closed::{onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::model::builders::{self, Params};
use logz::rg::closed::triangular_ln_z_per_spin;
use logz::rg::hotrg::infinite_ln_z;
use logz::rg::trg::LatticeKind;
use logz::rg::{Hotrg, InfiniteLattice};
use logz::{Error, EstimateKind, Solver};

/// The simple cubic lattice's bulk critical point (Monte Carlo, Ferrenberg, Xu & Landau 2018).
const CUBIC_BETA_C: f64 = 0.221_654_6;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn ln_z(lattice: LatticeKind, beta: f64, h: f64, chi: usize) -> f64 {
    infinite_ln_z(lattice, beta, h, chi, 120).unwrap().ln_z
}

#[test]
fn square_infinite_matches_onsager() {
    // Measured (χ = 10): 2.6e-9 (β = 0.3), 4.2e-9 (β = 0.6).
    for beta in [0.3, 0.6] {
        let e = rel(
            ln_z(LatticeKind::Square, beta, 0.0, 10),
            onsager_ln_z_per_spin(beta),
        );
        assert!(e < 3e-8, "β = {beta}: {e:e}");
    }
    // At β_c the error is algebraic in χ. Measured: 1.4e-5 (χ = 8), 1.7e-6 (χ = 12).
    let exact = onsager_ln_z_per_spin(SQUARE_BETA_C);
    let e8 = rel(ln_z(LatticeKind::Square, SQUARE_BETA_C, 0.0, 8), exact);
    let e12 = rel(ln_z(LatticeKind::Square, SQUARE_BETA_C, 0.0, 12), exact);
    assert!(
        e12 < 5e-6 && e12 < e8 / 4.0,
        "χ = 8: {e8:e}, χ = 12: {e12:e}"
    );
}

#[test]
fn triangular_infinite_matches_the_closed_form_away_from_criticality() {
    // The routed triangular tensor has legs of dimension 4 (16 after a merge). Measured
    // (χ = 12): 2.6e-7 (β = 0.15), 1.2e-8 (β = 0.5).
    for beta in [0.15, 0.5] {
        let e = rel(
            ln_z(LatticeKind::Triangular, beta, 0.0, 12),
            triangular_ln_z_per_spin(beta),
        );
        assert!(e < 1e-6, "β = {beta}: {e:e}");
    }
}

#[test]
fn the_solver_reports_an_approximation_whose_error_estimate_covers_the_error() {
    let lat = InfiniteLattice::new(LatticeKind::Square, 1.0, 0.0, SQUARE_BETA_C).unwrap();
    let out = Hotrg {
        chi: 12,
        ..Hotrg::default()
    }
    .solve_infinite(&lat)
    .unwrap();
    assert_eq!(out.estimate.kind, EstimateKind::Approximation);
    assert_eq!(out.chi_reference, Some(9));
    let actual = (out.estimate.ln_z - onsager_ln_z_per_spin(SQUARE_BETA_C)).abs();
    let est = out.error_estimate.unwrap();
    assert!(
        actual < est && est < 100.0 * actual,
        "{actual:e} vs {est:e}"
    );
    // The largest discarded eigenvalue weight of one step (measured 0.056 at χ = 12).
    assert!(out.truncation > 0.0 && out.truncation < 0.2);
}

/// ln 2 + 3 ln cosh β + 3 v⁴ + 22 v⁶ (v = tanh β): the high-temperature series of the simple
/// cubic lattice (3 plaquettes and 22 six-bond polygons per site; disconnected pairs enter
/// at v⁸), accurate to ~200 v⁸.
fn high_t(beta: f64) -> f64 {
    let v = beta.tanh();
    2f64.ln() + 3.0 * beta.cosh().ln() + 3.0 * v.powi(4) + 22.0 * v.powi(6)
}

#[test]
fn cubic_infinite_matches_the_high_and_low_temperature_series() {
    // β = 0.05: series exact to ~1e-8; measured HOTRG errors 9.7e-6 (χ = 2), 4.0e-6 (χ = 4).
    // HOTRG needs χ ≥ 4 to carry the plaquette loops (3 v⁴ = 1.9e-5) at all.
    let (e2, e4) = (
        (ln_z(LatticeKind::Cubic, 0.05, 0.0, 2) - high_t(0.05)).abs(),
        (ln_z(LatticeKind::Cubic, 0.05, 0.0, 4) - high_t(0.05)).abs(),
    );
    assert!(e4 < 6e-6 && e4 < e2 / 2.0, "χ = 2: {e2:e}, χ = 4: {e4:e}");
    // β = 1: ln Z/N = 3β + e^{−12β} + 3 e^{−20β} + O(e^{−24β}) (one flipped spin breaks 6
    // bonds, a flipped pair 10). Measured: 1.3e-9 at χ = 4.
    let low_t = 3.0 + (-12f64).exp() + 3.0 * (-20f64).exp();
    let e = (ln_z(LatticeKind::Cubic, 1.0, 0.0, 4) - low_t).abs();
    assert!(e < 1e-8, "{e:e}");
}

#[test]
fn cubic_successive_chi_disagree_most_near_the_critical_point() {
    // Qualitative: truncation matters where correlations are long, near β_c ≈ 0.2217.
    // Measured |ln Z(χ=4) − ln Z(χ=2)|: 5.7e-6 (β = 0.05), 1.3e-3 (β_c), 1.2e-5 (β = 1).
    let d = |beta: f64| {
        (ln_z(LatticeKind::Cubic, beta, 0.0, 4) - ln_z(LatticeKind::Cubic, beta, 0.0, 2)).abs()
    };
    let at_c = d(CUBIC_BETA_C);
    for beta in [0.05, 1.0] {
        assert!(at_c > 10.0 * d(beta), "β = {beta}");
    }
}

#[test]
fn bad_input_is_refused() {
    let cubic = InfiniteLattice::new(LatticeKind::Cubic, 1.0, 0.0, 0.2).unwrap();
    let with = |chi| Hotrg {
        chi,
        ..Hotrg::default()
    };
    let e = with(1).solve_infinite(&cubic).unwrap_err();
    assert!(e.to_string().contains("--chi must be at least 2"), "{e}");
    // χ = 64 in 3D would hold ~64^8 numbers: refused before allocating.
    let e = with(64).solve_infinite(&cubic).unwrap_err();
    assert!(matches!(e, Error::OverBudget { .. }), "{e}");
    assert!(e.to_string().contains("memory limit"), "{e}");
    // Finite models are not hotrg's.
    let m = builders::from_spec("square:16", &Params::default()).unwrap();
    let e = with(8).solve(&m).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotApplicable {
                method: "hotrg",
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.to_string().contains('\n'));
}
