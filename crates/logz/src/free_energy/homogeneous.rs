//! The essay's homogeneous mean-field theory: m = tanh(β(H + zJm)).
//!
//! Every spin sees the field H plus the mean field zJm of its z neighbours. All roots are found
//! by bracketing sign changes of g(m) = tanh(β(H + zJm)) − m on a fine grid of [−1, 1] (plus
//! near-tangent minima of |g|, which catch the double root at T_c) and refining by bisection. A
//! root is stable when the slope βzJ(1 − m²) of the right-hand side is below 1. The physical root
//! maximises the per-spin bound ln Z/N ≥ β(zJm²/2 + Hm) + H(m), which equals minimising the
//! mean-field free energy. At H = 0 the non-zero roots appear below T_c = zJ (β_c = 1/(zJ)).

use crate::error::{Error, Result};
use crate::numeric::spin_entropy;

/// One root of the homogeneous mean-field equation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Root {
    /// The magnetisation m solving m = tanh(β(H + zJm)).
    pub m: f64,
    /// βzJ(1 − m²) < 1.
    pub stable: bool,
    /// The per-spin lower bound β(zJm²/2 + Hm) + H(m) at this m.
    pub bound_per_spin: f64,
}

/// The per-spin mean-field bound (ELBO per spin) at magnetisation m.
pub fn bound_per_spin(z: f64, j: f64, h: f64, beta: f64, m: f64) -> f64 {
    beta * (0.5 * z * j * m * m + h * m) + spin_entropy(m)
}

/// All roots of m = tanh(β(H + zJm)), sorted by m.
pub fn roots(z: f64, j: f64, h: f64, beta: f64) -> Result<Vec<Root>> {
    for (name, v) in [("z", z), ("J", j), ("H", h), ("beta", beta)] {
        if !v.is_finite() {
            return Err(Error::arg(format!("{name} must be finite")));
        }
    }
    if beta < 0.0 || z < 0.0 {
        return Err(Error::arg("beta and z must be ≥ 0"));
    }
    let g = |m: f64| (beta * (h + z * j * m)).tanh() - m;
    let refine = |mut a: f64, mut b: f64| -> f64 {
        let ga = g(a);
        for _ in 0..200 {
            let mid = 0.5 * (a + b);
            let gm = g(mid);
            if gm == 0.0 {
                return mid;
            }
            if (gm > 0.0) == (ga > 0.0) {
                a = mid;
            } else {
                b = mid;
            }
            if b - a < 1e-16 {
                break;
            }
        }
        0.5 * (a + b)
    };
    let n = 20_000;
    let xs: Vec<f64> = (0..=n).map(|k| -1.0 + 2.0 * k as f64 / n as f64).collect();
    let gs: Vec<f64> = xs.iter().map(|&x| g(x)).collect();
    let mut found: Vec<f64> = Vec::new();
    for k in 0..n {
        if gs[k] == 0.0 {
            found.push(xs[k]);
        } else if gs[k].signum() != gs[k + 1].signum() && gs[k + 1] != 0.0 {
            found.push(refine(xs[k], xs[k + 1]));
        }
    }
    if gs[n] == 0.0 {
        found.push(xs[n]);
    }
    // Tangent (double) roots: local minima of |g| that touch zero without a sign change.
    for k in 1..n {
        if gs[k].abs() < gs[k - 1].abs() && gs[k].abs() <= gs[k + 1].abs() && gs[k].abs() < 1e-6 {
            let x = xs[k];
            if found.iter().all(|&r| (r - x).abs() > 2.0 / n as f64) {
                found.push(x);
            }
        }
    }
    found.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    found.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    Ok(found
        .into_iter()
        .map(|m| Root {
            m,
            stable: beta * z * j * (1.0 - m * m) < 1.0,
            bound_per_spin: bound_per_spin(z, j, h, beta, m),
        })
        .collect())
}

/// The root that maximises the bound (the mean-field equilibrium magnetisation).
pub fn best_root(z: f64, j: f64, h: f64, beta: f64) -> Result<Root> {
    let rs = roots(z, j, h, beta)?;
    // Bounds equal to rounding (the ±m pair at H = 0) tie; the tie goes to the positive root.
    let top = rs
        .iter()
        .map(|r| r.bound_per_spin)
        .fold(f64::NEG_INFINITY, f64::max);
    rs.into_iter()
        .filter(|r| r.bound_per_spin >= top - 1e-12 * top.abs().max(1.0))
        .max_by(|a, b| a.m.partial_cmp(&b.m).unwrap_or(std::cmp::Ordering::Equal))
        .ok_or_else(|| Error::arg("no root found"))
}
