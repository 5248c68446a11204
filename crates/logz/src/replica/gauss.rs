//! Gaussian averages E[f(z)], z ~ N(0, 1), for the replica formulas.
//!
//! Two tools:
//! - [`Hermite`]: Gauss–Hermite quadrature rescaled to the standard normal, z_i = √2 x_i and
//!   w_i = ω_i/√π, where (x_i, ω_i) are the nodes and weights for the weight e^{−x²} computed by
//!   Golub–Welsch (the `gauss-quad` crate: eigenvalues of the Jacobi matrix of the Hermite
//!   recurrence). Exact for polynomials of degree < 2n; spectrally accurate for integrands
//!   analytic in a wide strip around the real axis.
//! - [`expect_ln2cosh`] and friends: E[g(a + b z)] for g ∈ {ln 2cosh, tanh, sech², sech⁴}, robust
//!   for any a, b. When b is small the integrand is smooth on the scale of z and Gauss–Hermite
//!   converges fast; when b is large (low temperature) g varies on the scale 1/b in z, so the
//!   integral is done in x = a + b z instead: g is split into a part with a closed-form Gaussian
//!   average (|x| for ln 2cosh, sign x for tanh, 0 for sech^p) plus a remainder that decays like
//!   e^{−2|x|}, integrated by Gauss–Legendre panels on [−40, 40] (split at the kink x = 0).

use gauss_quad::{GaussHermite, GaussLegendre};
use std::f64::consts::{FRAC_1_SQRT_2, PI, SQRT_2};
use std::num::NonZeroUsize;
use std::sync::OnceLock;

/// 1/√(2π).
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Gauss–Hermite rule for the standard normal: E[f(z)] ≈ Σ_i w_i f(z_i), Σ w_i = 1.
#[derive(Debug, Clone)]
pub struct Hermite {
    /// Nodes z_i (ascending).
    pub nodes: Vec<f64>,
    /// Weights w_i (summing to 1).
    pub weights: Vec<f64>,
}

impl Hermite {
    /// The n-point rule (n ≥ 1).
    pub fn new(n: usize) -> Self {
        let rule = GaussHermite::new(NonZeroUsize::new(n.max(1)).expect("n ≥ 1"));
        let (nodes, weights) = rule
            .as_node_weight_pairs()
            .iter()
            .map(|&(x, w)| (SQRT_2 * x, w / PI.sqrt()))
            .unzip();
        Hermite { nodes, weights }
    }

    /// E[f(z)] for z ~ N(0, 1).
    pub fn expect(&self, mut f: impl FnMut(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(&z, &w)| w * f(z))
            .sum()
    }
}

/// The shared 200-point rule (built once).
pub fn hermite200() -> &'static Hermite {
    static H: OnceLock<Hermite> = OnceLock::new();
    H.get_or_init(|| Hermite::new(200))
}

/// 16-point Gauss–Legendre nodes and weights on [−1, 1] (built once).
fn legendre16() -> &'static [(f64, f64)] {
    static L: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    L.get_or_init(|| {
        GaussLegendre::new(NonZeroUsize::new(16).expect("16 > 0"))
            .as_node_weight_pairs()
            .to_vec()
    })
}

/// Φ(x), the standard normal distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x * FRAC_1_SQRT_2)
}

/// ln Φ(x), accurate also far in the lower tail (where Φ underflows).
pub fn ln_normal_cdf(x: f64) -> f64 {
    if x > -30.0 {
        normal_cdf(x).ln()
    } else {
        // Mills-ratio series: Φ(x) = φ(x)/|x| · (1 − 1/x² + 3/x⁴ − 15/x⁶ + …).
        let y = 1.0 / (x * x);
        -0.5 * x * x - (-x).ln() - 0.5 * (2.0 * PI).ln()
            + (1.0 - y + 3.0 * y * y - 15.0 * y * y * y).ln()
    }
}

/// erf(x), through erfc away from 0 (statrs' erf is ~1e-12 off near |x| ≈ 1.4; erfc is
/// accurate to its relative precision).
pub fn erf(x: f64) -> f64 {
    if x.abs() < 0.5 {
        statrs::function::erf::erf(x)
    } else {
        x.signum() * (1.0 - statrs::function::erf::erfc(x.abs()))
    }
}

/// E|a + b z| = b√(2/π) e^{−a²/2b²} + a erf(a/(b√2)) (b ≥ 0).
pub fn expect_abs(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        return a.abs();
    }
    let r = a / b;
    2.0 * b * INV_SQRT_2PI * (-0.5 * r * r).exp() + a * erf(r * FRAC_1_SQRT_2)
}

/// E[sign(a + b z)] = erf(a/(b√2)) (b ≥ 0).
pub fn expect_sign(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        return if a > 0.0 {
            1.0
        } else if a < 0.0 {
            -1.0
        } else {
            0.0
        };
    }
    erf(a / b * FRAC_1_SQRT_2)
}

/// Above this width b of the Gaussian (in units of the scale of g) the panel method is used.
const PANEL_ABOVE: f64 = 1.0;

/// E[r(a + b z)] for a remainder r localised around x = 0 (|r(x)| ≲ e^{−2|x|}): Gauss–Legendre
/// panels of width 0.5 on [−40, 40] of r(x) times the normal density of x.
fn panel_expect(a: f64, b: f64, r: impl Fn(f64) -> f64) -> f64 {
    let gl = legendre16();
    let (h, half) = (0.5, 0.25);
    let mut s = 0.0;
    for p in -80..80 {
        let mid = (p as f64 + 0.5) * h;
        for &(t, w) in gl {
            let x = mid + half * t;
            let d = (x - a) / b;
            s += w * half * r(x) * (-0.5 * d * d).exp();
        }
    }
    s * INV_SQRT_2PI / b
}

/// ln 2cosh(x) = |x| + ln(1 + e^{−2|x|}), without overflow.
pub fn ln2cosh(x: f64) -> f64 {
    x.abs() + (-2.0 * x.abs()).exp().ln_1p()
}

/// sech²(x), without overflow.
pub fn sech2(x: f64) -> f64 {
    let e = (-2.0 * x.abs()).exp();
    4.0 * e / ((1.0 + e) * (1.0 + e))
}

/// E[ln 2cosh(a + b z)].
pub fn expect_ln2cosh(a: f64, b: f64) -> f64 {
    if b <= PANEL_ABOVE {
        hermite200().expect(|z| ln2cosh(a + b * z))
    } else {
        expect_abs(a, b) + panel_expect(a, b, |x| (-2.0 * x.abs()).exp().ln_1p())
    }
}

/// E[tanh(a + b z)].
pub fn expect_tanh(a: f64, b: f64) -> f64 {
    if b <= PANEL_ABOVE {
        hermite200().expect(|z| (a + b * z).tanh())
    } else {
        // tanh x − sign x = −sign(x)·2e^{−2|x|}/(1 + e^{−2|x|}).
        expect_sign(a, b)
            + panel_expect(a, b, |x| {
                let e = (-2.0 * x.abs()).exp();
                -x.signum() * 2.0 * e / (1.0 + e)
            })
    }
}

/// E[sech^p(a + b z)] for p = 2 or 4.
pub fn expect_sech_pow(a: f64, b: f64, p: i32) -> f64 {
    let f = |x: f64| sech2(x).powi(p / 2);
    if b <= PANEL_ABOVE {
        hermite200().expect(|z| f(a + b * z))
    } else {
        panel_expect(a, b, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermite_integrates_gaussian_moments() {
        let h = Hermite::new(20);
        assert!((h.expect(|_| 1.0) - 1.0).abs() < 1e-14);
        assert!((h.expect(|z| z * z) - 1.0).abs() < 1e-13);
        assert!((h.expect(|z| z.powi(4)) - 3.0).abs() < 1e-12);
        assert!((h.expect(|z| (0.3 * z).cos()) - (-0.045f64).exp()).abs() < 1e-14);
    }

    #[test]
    fn both_branches_agree_where_they_meet() {
        // Just below and just above the switch the two methods must give the same numbers.
        for a in [0.0, 0.7, -2.0] {
            let (lo, hi) = (PANEL_ABOVE * (1.0 - 1e-12), PANEL_ABOVE * (1.0 + 1e-12));
            let g = |b: f64| hermite200().expect(|z| ln2cosh(a + b * z));
            let p =
                |b: f64| expect_abs(a, b) + panel_expect(a, b, |x| (-2.0 * x.abs()).exp().ln_1p());
            assert!((g(lo) - p(hi)).abs() < 1e-11, "{a}: {} {}", g(lo), p(hi));
            let t = hermite200().expect(|z| sech2(a + hi * z).powi(2));
            assert!((t - expect_sech_pow(a, hi, 4)).abs() < 1e-12);
        }
    }

    #[test]
    fn ln2cosh_average_matches_a_30_digit_reference() {
        // mpmath quad at 30 digits: E ln 2cosh(bz) for b = 1 and 1.5.
        for (b, want) in [
            (1.0, 1.067_714_388_051_383_3),
            (1.5, 1.394_078_043_158_599_6),
        ] {
            for bb in [b * (1.0 - 1e-12), b * (1.0 + 1e-12)] {
                let got = expect_ln2cosh(0.0, bb);
                assert!((got - want).abs() < 2e-12, "b={bb}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn ln_normal_cdf_is_continuous_at_the_switch() {
        let (a, b) = (ln_normal_cdf(-30.0 + 1e-9), ln_normal_cdf(-30.0 - 1e-9));
        assert!((a - b).abs() < 1e-6 * a.abs(), "{a} {b}");
    }
}
