//! The path both ln Z-from-samples solvers ([`super::ti`], [`super::ais`]) follow.
//!
//! Both follow the path E_λ(s) = E₀ − λ B(s) − Σ_i h_i s_i with B(s) = Σ_(ij) J_ij s_i s_j, from
//! λ = 0 (independent spins in their fields) to λ = 1 (the model). At λ = 0 the sum factorises:
//!   ln Z_0 = −βE₀ + Σ_i ln Σ_{s=±1} e^{βh_i s} = −βE₀ + Σ_i ln 2cosh(βh_i),
//! which is N ln 2 when there is no field. Along the path d ln Z_λ / dλ = β ⟨B⟩_λ, so
//!   ln Z = ln Z_0 + β ∫₀¹ ⟨B⟩_λ dλ.
//! Starting from the fields rather than from β = 0 keeps strong fields exact instead of
//! integrating them numerically.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::numeric::ln_2cosh;
use rand::Rng;

/// ln Z at λ = 0: independent spins in their fields.
pub fn ln_z0(m: &Model) -> f64 {
    let b = m.beta();
    -b * m.energy_offset() + m.fields().iter().map(|&h| ln_2cosh(b * h)).sum::<f64>()
}

/// B(s) = Σ_(ij) J_ij s_i s_j.
pub(crate) fn bond_sum(m: &Model, s: &[i8]) -> f64 {
    m.edges()
        .iter()
        .zip(m.couplings())
        .map(|(&(i, j), &c)| c * (s[i as usize] * s[j as usize]) as f64)
        .sum()
}

/// A sample from the λ = 0 distribution: P(s_i = +1) = 1/(1 + e^{−2βh_i}).
pub(crate) fn sample_fields<R: Rng>(m: &Model, rng: &mut R) -> Vec<i8> {
    let b = m.beta();
    m.fields()
        .iter()
        .map(|&h| {
            let p_up = 1.0 / (1.0 + (-2.0 * b * h).exp());
            if crate::rng::uniform(rng) < p_up {
                1
            } else {
                -1
            }
        })
        .collect()
}

/// Refuses a model without spins.
pub(crate) fn check(m: &Model, method: &'static str) -> Result<()> {
    if m.n() == 0 {
        return Err(Error::NotApplicable {
            method,
            reason: "the model has no spins".into(),
        });
    }
    Ok(())
}

/// What is left of the approach of a sequence of estimates that converges as the run doubles.
/// With the last two changes d₀, d shrinking geometrically (r = d/d₀ ∈ (0, 1)), the rest of the
/// series is d·r/(1 − r); r is capped at 0.9, which is also used when the changes do not shrink;
/// with a sign change (noise dominates) or only two estimates, the last change |d| itself.
pub(crate) fn residual(history: &[f64]) -> f64 {
    let n = history.len();
    if n < 2 {
        return 0.0;
    }
    let d = history[n - 1] - history[n - 2];
    if n >= 3 {
        let d0 = history[n - 2] - history[n - 3];
        if d0 != 0.0 && d / d0 > 0.0 {
            let r = (d / d0).min(0.9);
            return (d * r / (1.0 - r)).abs().max(d.abs());
        }
    }
    d.abs()
}

#[cfg(test)]
mod tests {
    use super::residual;

    #[test]
    fn residual_projects_a_geometric_approach() {
        // 1 − 2^−k approaches 1 with r = ½: after 0.875 the rest is 0.125 = d·r/(1 − r).
        let h = [0.5, 0.75, 0.875];
        assert!((residual(&h) - 0.125).abs() < 1e-12);
        // Changes that do not shrink: capped at r = 0.9, i.e. nine times the last change.
        assert!((residual(&[0.0, 1.0, 2.0]) - 9.0).abs() < 1e-12);
        // A sign change is noise: the last change itself.
        assert!((residual(&[0.0, 1.0, 0.7]) - 0.3).abs() < 1e-12);
        assert_eq!(residual(&[3.0]), 0.0);
        assert!((residual(&[3.0, 2.5]) - 0.5).abs() < 1e-12);
    }
}
