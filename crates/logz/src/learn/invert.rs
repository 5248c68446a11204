//! Closed-form inversions of the moments: from the magnetisations m_i and the connected
//! correlations C_ij to couplings and fields, through the inverse correlation matrix C⁻¹
//! (linear response: C⁻¹ = −∂²Γ/∂m∂m of the approximate Gibbs free energy Γ(m)).
//!
//! - naive mean field (Kappen & Rodríguez 1998): (C⁻¹)_ij = −J_ij, so J_ij = −(C⁻¹)_ij and
//!   h_i = atanh m_i − Σ_j J_ij m_j;
//! - TAP (Tanaka 1998): (C⁻¹)_ij = −J_ij − 2 J_ij² m_i m_j, solved for the root that tends to
//!   the mean-field one, J_ij = [√(1 − 8 m_i m_j (C⁻¹)_ij) − 1] / (4 m_i m_j); fields
//!   h_i = atanh m_i − Σ_j J_ij m_j + m_i Σ_j J_ij² (1 − m_j²) (the Onsager reaction term);
//! - Bethe / small-correlation (Ricci-Tersenghi 2012; Nguyen & Berg 2012): the linear response
//!   of the Bethe free energy, exact on trees, with L_i = 1 − m_i² and c = (C⁻¹)_ij,
//!   J_ij = −atanh( √(1 + 4L_iL_j c²)/(2c) − m_i m_j − √((√(1+4L_iL_j c²) − 2m_i m_j c)² − 4c²)/(2c) );
//!   fields from belief propagation's fixed point, h_i = atanh m_i − Σ_j atanh(t_ij μ_j\i) with
//!   t = tanh J_ij and the cavity magnetisation μ_j\i of j without i recovered from the pair
//!   (m_i, m_j, t) (see [`cavity`]).
//!
//! `--l2 λ` adds λ to the diagonal of C before inverting (ridge), which also makes a singular
//! C (M ≤ N, or collinear columns) invertible.

use super::data::Moments;
use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// Which closed-form inversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inversion {
    /// Naive mean field.
    MeanField,
    /// Thouless–Anderson–Palmer.
    Tap,
    /// Bethe (small-correlation expansion resummed on trees).
    Bethe,
}

/// C⁻¹ of the (ridge-regularised) connected correlation matrix.
pub fn inverse_covariance(mo: &Moments, l2: f64) -> Result<DMatrix<f64>> {
    let mut c = mo.covariance();
    for i in 0..c.nrows() {
        c[(i, i)] += l2;
    }
    let n = c.nrows();
    c.cholesky().map(|ch| ch.inverse()).ok_or_else(|| {
        Error::Numerical(format!(
            "the {n}×{n} correlation matrix of {} samples is singular (fewer samples than spins, \
             or a column that is a copy of another); regularise with --l2",
            mo.samples
        ))
    })
}

/// Cavity magnetisation of j in the absence of i: in the pair distribution
/// p(s_i, s_j) ∝ (1 + A s_i)(1 + B s_j)(1 + t s_i s_j) the moments are
/// m_i = (A + Bt)/D, m_j = (B + At)/D with D = 1 + ABt, so B = (m_j − t m_i) D / (1 − t²) and
/// D solves k D² − D + 1 = 0 with k = t (m_i − t m_j)(m_j − t m_i) / (1 − t²)²
/// (the root D → 1 as k → 0).
pub fn cavity(mi: f64, mj: f64, t: f64) -> f64 {
    let w = 1.0 - t * t;
    let k = t * (mi - t * mj) * (mj - t * mi) / (w * w);
    let disc = (1.0 - 4.0 * k).max(0.0);
    // D = (1 − √(1 − 4k)) / (2k) = 2 / (1 + √(1 − 4k)), stable as k → 0.
    let d = 2.0 / (1.0 + disc.sqrt());
    ((mj - t * mi) * d / w).clamp(-1.0, 1.0)
}

/// Couplings (symmetric, zero diagonal, zero where `allowed` is false) and fields.
pub fn invert(
    mo: &Moments,
    how: Inversion,
    l2: f64,
    allowed: &DMatrix<bool>,
) -> Result<(DMatrix<f64>, Vec<f64>)> {
    let ci = inverse_covariance(mo, l2)?;
    let m = mo.clamped_mean();
    let n = m.len();
    let mut j = DMatrix::<f64>::zeros(n, n);
    for a in 0..n {
        for b in 0..n {
            if a == b || !allowed[(a, b)] {
                continue;
            }
            let c = 0.5 * (ci[(a, b)] + ci[(b, a)]);
            let mm = m[a] * m[b];
            j[(a, b)] = match how {
                Inversion::MeanField => -c,
                Inversion::Tap => {
                    let disc = 1.0 - 8.0 * mm * c;
                    if mm.abs() < 1e-12 || disc < 0.0 {
                        // Second order in m_i m_j: J ≈ −c − 2c² m_i m_j; no real root → MF.
                        if disc < 0.0 {
                            -c
                        } else {
                            -c - 2.0 * c * c * mm
                        }
                    } else {
                        (disc.sqrt() - 1.0) / (4.0 * mm)
                    }
                }
                Inversion::Bethe => {
                    if c.abs() < 1e-300 {
                        0.0
                    } else {
                        let (la, lb) = (1.0 - m[a] * m[a], 1.0 - m[b] * m[b]);
                        let r = (1.0 + 4.0 * la * lb * c * c).sqrt();
                        let inner = ((r - 2.0 * mm * c).powi(2) - 4.0 * c * c).max(0.0);
                        let x = r / (2.0 * c) - mm - inner.sqrt() / (2.0 * c);
                        -(x.clamp(-1.0 + 1e-15, 1.0 - 1e-15)).atanh()
                    }
                }
            };
        }
    }
    let mut h = vec![0.0; n];
    for a in 0..n {
        let mut s = m[a].atanh();
        for b in 0..n {
            let jab = j[(a, b)];
            if jab == 0.0 {
                continue;
            }
            s -= match how {
                Inversion::MeanField => jab * m[b],
                Inversion::Tap => jab * m[b] - m[a] * jab * jab * (1.0 - m[b] * m[b]),
                Inversion::Bethe => {
                    let t = jab.tanh();
                    (t * cavity(m[a], m[b], t)).atanh()
                }
            };
        }
        h[a] = s;
    }
    Ok((j, h))
}
