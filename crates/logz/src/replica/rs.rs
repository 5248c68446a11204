//! The replica-symmetric (RS) solution of the SK model (J = 1).
//!
//! With one overlap q = ⟨s⟩² the replicated free energy is
//!
//! −βf_RS(q) = β²(1 − q)²/4 + E_z ln 2cosh(β(√q z + h)),
//!
//! stationary at the fixed point q = E_z tanh²(β(√q z + h)). Below the de Almeida–Thouless
//! line, λ_AT = β² E_z sech⁴(β(√q z + h)) > 1 and the RS saddle is unstable towards replica
//! symmetry breaking; its entropy even turns negative at low T (s(0) = −1/(2π)).
//!
//! The fixed point is solved as a root of G(q) = E sech²(β(√q z + h)) − (1 − q) by bisection
//! polished with secant steps: written with sech² instead of 1 − tanh², 1 − q keeps full relative
//! precision as q → 1 (low temperature), and the bracket [0, 1] keeps it robust as q → 0 (near
//! T = 1 at h = 0, where the slope of G vanishes). At h = 0 and β > 1, q = 0 is also a root
//! (the paramagnet, a local maximum of −βf_RS); the bracket starts just above 0 to find the
//! physical one.

use super::gauss::{expect_ln2cosh, expect_sech_pow, expect_tanh};

/// The RS solution at (β, h).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RsSolution {
    /// Inverse temperature.
    pub beta: f64,
    /// Uniform field.
    pub field: f64,
    /// The Edwards–Anderson overlap q.
    pub q: f64,
    /// −βf per spin (= lim ln Z / N in this approximation).
    pub ln_z_per_spin: f64,
    /// Mean energy per spin u = −β(1 − q²)/2 − h m.
    pub energy_per_spin: f64,
    /// Entropy per spin s = −βf + βu.
    pub entropy_per_spin: f64,
    /// Magnetisation m = E tanh(β(√q z + h)).
    pub magnetization: f64,
    /// λ_AT = β² E sech⁴(β(√q z + h)); RS is stable iff λ_AT ≤ 1.
    pub at_lambda: f64,
    /// |E tanh² − q|, the fixed-point residual.
    pub residual: f64,
}

/// G(q) = E sech²(β(√q z + h)) − (1 − q): zero at the RS fixed point.
fn g(beta: f64, h: f64, q: f64) -> f64 {
    expect_sech_pow(beta * h, beta * q.max(0.0).sqrt(), 2) - (1.0 - q)
}

/// The RS overlap at (β, h): the largest root of the fixed-point equation in [0, 1].
pub fn overlap(beta: f64, h: f64) -> f64 {
    if beta == 0.0 {
        return 0.0;
    }
    // G(0+) < 0 when a root q > 0 exists, and G(1) = E sech² > 0. At h = 0, G(q) ≈ q(1 − β²)
    // for small q: no root above 0 for β ≤ 1; for β > 1 start where that term is resolved.
    let mut lo = if h == 0.0 {
        if beta <= 1.0 {
            return 0.0;
        }
        (1e-3 * (beta * beta - 1.0) / beta.powi(4)).min(0.5)
    } else {
        1e-300
    };
    let mut flo = g(beta, h, lo);
    if flo >= 0.0 {
        // The root lies below the resolution of G (β within ~1e-10 of 1 at h = 0, or a field
        // below ~1e-8/β): q is then < ~1e-10 and q = lo is as good as any.
        return lo;
    }
    let mut hi = 1.0f64;
    let mut fhi = g(beta, h, hi);
    if fhi <= 0.0 {
        return 1.0;
    }
    // Bisection on a log scale while the bracket spans decades (q may be tiny near T = 1),
    // then secant-bisection (regula falsi with the Illinois fix) to machine precision.
    for _ in 0..200 {
        let mid = if hi / lo > 4.0 {
            (lo * hi).sqrt()
        } else {
            let s = hi - fhi * (hi - lo) / (fhi - flo);
            if s > lo && s < hi {
                s
            } else {
                0.5 * (lo + hi)
            }
        };
        let fm = g(beta, h, mid);
        if fm == 0.0 {
            return mid;
        }
        if fm < 0.0 {
            lo = mid;
            flo = fm;
            fhi *= 0.5;
        } else {
            hi = mid;
            fhi = fm;
            flo *= 0.5;
        }
        if hi - lo <= 4.0 * f64::EPSILON * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// −βf_RS(q) at any q (stationary at the fixed point).
pub fn functional(beta: f64, h: f64, q: f64) -> f64 {
    let q = q.clamp(0.0, 1.0);
    0.25 * beta * beta * (1.0 - q) * (1.0 - q) + expect_ln2cosh(beta * h, beta * q.sqrt())
}

/// The RS solution at inverse temperature β > 0 and field h.
pub fn solve(beta: f64, h: f64) -> RsSolution {
    let q = overlap(beta, h);
    let (a, b) = (beta * h, beta * q.sqrt());
    let ln_z = functional(beta, h, q);
    let m = expect_tanh(a, b);
    let energy = -0.5 * beta * (1.0 - q * q) - h * m;
    RsSolution {
        beta,
        field: h,
        q,
        ln_z_per_spin: ln_z,
        energy_per_spin: energy,
        entropy_per_spin: ln_z + beta * energy,
        magnetization: m,
        at_lambda: beta * beta * expect_sech_pow(a, b, 4),
        residual: g(beta, h, q).abs(),
    }
}

/// The RS ground-state energy per spin (T → 0, q → 1): e₀ = −E|h + z| (−√(2/π) at h = 0).
pub fn ground_state_energy(h: f64) -> f64 {
    -super::gauss::expect_abs(h, 1.0)
}

/// The de Almeida–Thouless temperature T_AT(h): where λ_AT = 1 on the RS solution (T = 1 at
/// h = 0). Below it RS is unstable. Found by bisection in T on (0, 1].
pub fn at_temperature(h: f64) -> f64 {
    if h == 0.0 {
        return 1.0;
    }
    let unstable = |t: f64| solve(1.0 / t, h).at_lambda > 1.0;
    let (mut lo, mut hi) = (1e-3, 1.0);
    if !unstable(lo) {
        return 0.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if unstable(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}
