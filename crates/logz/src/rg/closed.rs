//! Closed forms the RG methods are checked against (beyond Onsager and Kaufman in
//! [`crate::exact::closed`]).

use crate::exact::closed::gauss_legendre;

/// β_c of the triangular lattice at J = 1: ln 3 / 4 (sinh 2K_c = 1/√3).
pub const TRIANGULAR_BETA_C: f64 = 0.274_653_072_167_027_1;

/// ln Z per spin of the infinite ferromagnetic triangular lattice at K = βJ ≥ 0, h = 0
/// (Houtappel 1950):
///
/// −βf = ln 2 + (1/8π²) ∫∫_{\[0,2π\]²} ln[c³ + s³ − s(cos ω₁ + cos ω₂ + cos(ω₁ + ω₂))] dω₁dω₂,
/// c = cosh 2K, s = sinh 2K. With cos ω₂ + cos(ω₁ + ω₂) = 2cos(ω₁/2) cos(ω₂ + ω₁/2) the inner
/// integral is ∫_0^{2π} ln(A − B cos φ) dφ = 2π ln[(A + √(A² − B²))/2], leaving
/// −βf = ln 2 + (1/2π) ∫_0^π ln[(A + √(A² − B²))/2] dω₁, A = c³ + s³ − s cos ω₁,
/// B = 2s cos(ω₁/2). At K_c the integrand has a kink at ω₁ = 0, an endpoint: Gauss–Legendre
/// on pieces that shrink towards it keeps full accuracy.
pub fn triangular_ln_z_per_spin(k: f64) -> f64 {
    let (c, s) = ((2.0 * k).cosh(), (2.0 * k).sinh());
    let f = |w: f64| {
        let a = c * c * c + s * s * s - s * w.cos();
        let b = 2.0 * s * (0.5 * w).cos();
        // A² − B² in a cancellation-free form is not needed away from ω₁ = 0; clamp rounding.
        ((a + (a * a - b * b).max(0.0).sqrt()) / 2.0).ln()
    };
    let q = gauss_legendre(100);
    // Pieces [π 2^{−j−1}, π 2^{−j}] for j = 0..40, then [0, π 2^{−41}].
    let mut integral = 0.0;
    let mut hi = std::f64::consts::PI;
    for _ in 0..40 {
        let lo = hi / 2.0;
        integral += q.integrate(lo, hi, f);
        hi = lo;
    }
    integral += q.integrate(0.0, hi, f);
    std::f64::consts::LN_2 + integral / (2.0 * std::f64::consts::PI)
}
