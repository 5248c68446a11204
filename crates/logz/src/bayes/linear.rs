//! Bayesian linear regression with exact conjugate posteriors and evidence.
//!
//! In standardised units (see [`super::data`]) with design rows x̃ = (1, x̃_1, …, x̃_p):
//!
//! * known noise: ỹ = w·x̃ + σ̃ε, w ~ N(0, τ²I). Posterior N(m, Λ⁻¹) with Λ = I/τ² + X̃ᵀX̃/σ̃²,
//!   m = Λ⁻¹X̃ᵀỹ/σ̃², and ln p(ỹ) = −(n/2)ln(2πσ̃²) − ỹᵀỹ/(2σ̃²) + ½mᵀΛm − ½ln|Λ| − (d/2)ln τ².
//! * unknown noise, Normal–Inverse-Gamma: w | σ̃² ~ N(0, σ̃²τ²I), σ̃² ~ IG(a₀, b₀). Posterior
//!   Λ_n = I/τ² + X̃ᵀX̃, m_n = Λ_n⁻¹X̃ᵀỹ, a_n = a₀ + n/2, b_n = b₀ + ½(ỹᵀỹ − m_nᵀΛ_n m_n); the
//!   marginal of w is Student-t with 2a_n degrees of freedom, covariance b_n/(a_n − 1)·Λ_n⁻¹, and
//!   ln p(ỹ) = −(n/2)ln 2π − ½ln|Λ_n| − (d/2)ln τ² + a₀ln b₀ − a_n ln b_n + lnΓ(a_n) − lnΓ(a₀).
//!
//! Everything needs only n, X̃ᵀX̃, X̃ᵀỹ and ỹᵀỹ — one pass over the data (or a stream). The
//! evidence of the raw data is ln p(y) = ln p(ỹ) − n ln s_y (the Jacobian of the scaling, with the
//! scaling constants treated as fixed), and raw-unit coefficients are an affine map of w.

use super::data::{Scaling, SuffStats};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;
use statrs::function::gamma::ln_gamma;

/// The noise model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Known noise standard deviation σ in units of y.
    Known(f64),
    /// σ² ~ Inverse-Gamma(a₀, b₀) on the standardised scale.
    Unknown {
        /// Shape a₀ of the Inverse-Gamma prior.
        a0: f64,
        /// Scale b₀ of the Inverse-Gamma prior.
        b0: f64,
    },
}

/// Prior standard deviation τ of every standardised coefficient (intercept included).
pub const PRIOR_SCALE: f64 = 10.0;

/// An exact posterior, in standardised and raw units.
#[derive(Debug, Clone, Serialize)]
pub struct LinearPosterior {
    /// "intercept", the x names, and "sigma" when the noise is unknown.
    pub names: Vec<String>,
    /// Raw-unit posterior means, in the order of `names` (σ last when unknown).
    pub mean: Vec<f64>,
    /// Raw-unit posterior standard deviations, in the order of `names`.
    pub sd: Vec<f64>,
    /// ln p(y) of the raw data.
    pub ln_evidence: f64,
    /// Posterior mean of the standardised coefficients w (intercept first, d entries).
    pub mean_std: Vec<f64>,
    /// Posterior covariance of the standardised coefficients (d × d, row-major).
    pub cov_std: Vec<f64>,
}

/// The standardised Gram matrix X̃ᵀX̃, X̃ᵀỹ and ỹᵀỹ from the sufficient statistics.
pub fn gram(s: &SuffStats, k: &Scaling) -> (DMatrix<f64>, DVector<f64>, f64) {
    let p = s.p();
    let d = p + 1;
    let mut g = DMatrix::zeros(d, d);
    let mut c = DVector::zeros(d);
    // The standardised columns have mean δ_j = (x̄_j − m_j)/s_j, zero only when `k` is the data's
    // own scaling (a subsample's is not): Σ x̃_j x̃_l = (C_jl + n(x̄_j − m_j)(x̄_l − m_l))/(s_j s_l).
    let n = s.n;
    let dx: Vec<f64> = (0..p).map(|j| s.mean_x[j] - k.mean_x[j]).collect();
    let dy = s.mean_y - k.mean_y;
    g[(0, 0)] = n;
    c[0] = n * dy / k.sd_y;
    for j in 0..p {
        g[(0, j + 1)] = n * dx[j] / k.sd_x[j];
        g[(j + 1, 0)] = g[(0, j + 1)];
        for l in 0..p {
            g[(j + 1, l + 1)] = (s.cxx[j * p + l] + n * dx[j] * dx[l]) / (k.sd_x[j] * k.sd_x[l]);
        }
        c[j + 1] = (s.cxy[j] + n * dx[j] * dy) / (k.sd_x[j] * k.sd_y);
    }
    (g, c, (s.cyy + n * dy * dy) / (k.sd_y * k.sd_y))
}

/// Raw-unit means and standard deviations from standardised mean and covariance.
pub fn raw_moments(k: &Scaling, mean: &[f64], cov: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = mean.len();
    let (a, b) = k.to_raw();
    let a = DMatrix::from_row_slice(d, d, &a);
    let m = &a * DVector::from_column_slice(mean) + DVector::from_column_slice(&b);
    let c = &a * DMatrix::from_row_slice(d, d, cov) * a.transpose();
    (
        m.iter().copied().collect(),
        (0..d).map(|i| c[(i, i)].max(0.0).sqrt()).collect(),
    )
}

/// Raw-unit posterior covariance (d × d, row-major) from the standardised covariance: with
/// β_raw = A w + b ([`Scaling::to_raw`]), Cov(β_raw) = A Cov(w) Aᵀ. Its diagonal is the square
/// of [`raw_moments`]'s standard deviations.
pub fn raw_covariance(k: &Scaling, cov: &[f64]) -> Vec<f64> {
    let d = (cov.len() as f64).sqrt().round() as usize;
    let (a, _) = k.to_raw();
    let a = DMatrix::from_row_slice(d, d, &a);
    let c = &a * DMatrix::from_row_slice(d, d, cov) * a.transpose();
    (0..d * d).map(|i| c[(i / d, i % d)]).collect()
}

fn chol_logdet(m: &DMatrix<f64>) -> Result<(nalgebra::Cholesky<f64, nalgebra::Dyn>, f64)> {
    let ch = m
        .clone()
        .cholesky()
        .ok_or_else(|| Error::invalid("the posterior precision is not positive definite"))?;
    let ld = 2.0 * ch.l().diagonal().iter().map(|x| x.ln()).sum::<f64>();
    Ok((ch, ld))
}

/// The exact posterior and evidence.
pub fn exact(
    s: &SuffStats,
    k: &Scaling,
    x_names: &[String],
    noise: Noise,
    tau: f64,
) -> Result<LinearPosterior> {
    let d = s.p() + 1;
    let n = s.n;
    let (g, c, yy) = gram(s, k);
    let prior_prec = DMatrix::<f64>::identity(d, d) / (tau * tau);
    let mut names: Vec<String> = std::iter::once("intercept".to_string())
        .chain(x_names.iter().cloned())
        .collect();
    let two_pi = 2.0 * std::f64::consts::PI;
    let (mean_std, cov_std, ln_ev, sigma) = match noise {
        Noise::Known(sigma) => {
            if !(sigma > 0.0 && sigma.is_finite()) {
                return Err(Error::InvalidArgument(format!(
                    "noise σ = {sigma} must be > 0"
                )));
            }
            let st = sigma / k.sd_y;
            let lambda = &prior_prec + &g / (st * st);
            let (ch, ld) = chol_logdet(&lambda)?;
            let m = ch.solve(&(&c / (st * st)));
            let quad = m.dot(&(&lambda * &m));
            let ln_ev = -0.5 * n * (two_pi * st * st).ln() - yy / (2.0 * st * st) + 0.5 * quad
                - 0.5 * ld
                - 0.5 * d as f64 * (tau * tau).ln();
            (m, ch.inverse(), ln_ev, None)
        }
        Noise::Unknown { a0, b0 } => {
            if !(a0 > 0.0 && b0 > 0.0) {
                return Err(Error::InvalidArgument("a0 and b0 must be > 0".into()));
            }
            let lambda = &prior_prec + &g;
            let (ch, ld) = chol_logdet(&lambda)?;
            let m = ch.solve(&c);
            let an = a0 + 0.5 * n;
            let bn = b0 + 0.5 * (yy - m.dot(&(&lambda * &m)));
            let ln_ev = -0.5 * n * two_pi.ln() - 0.5 * ld - 0.5 * d as f64 * (tau * tau).ln()
                + a0 * b0.ln()
                - an * bn.ln()
                + ln_gamma(an)
                - ln_gamma(a0);
            let cov = ch.inverse() * (bn / (an - 1.0));
            // σ̃ = √σ̃²: E[σ̃] = √b_n Γ(a_n − ½)/Γ(a_n), E[σ̃²] = b_n/(a_n − 1).
            let e1 = bn.sqrt() * (ln_gamma(an - 0.5) - ln_gamma(an)).exp();
            let e2 = bn / (an - 1.0);
            (
                m,
                cov,
                ln_ev,
                Some((e1 * k.sd_y, (e2 - e1 * e1).max(0.0).sqrt() * k.sd_y)),
            )
        }
    };
    let mean_std: Vec<f64> = mean_std.iter().copied().collect();
    let cov_std: Vec<f64> = (0..d * d).map(|i| cov_std[(i / d, i % d)]).collect();
    let (mut mean, mut sd) = raw_moments(k, &mean_std, &cov_std);
    if let Some((m, s)) = sigma {
        names.push("sigma".into());
        mean.push(m);
        sd.push(s);
    }
    Ok(LinearPosterior {
        names,
        mean,
        sd,
        ln_evidence: ln_ev - n * k.sd_y.ln(),
        mean_std,
        cov_std,
    })
}
