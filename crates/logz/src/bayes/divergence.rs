//! Divergences between an approximate posterior and the exact one, and the α sweep of Rényi VI.
//!
//! * [`gaussian_kl`]: KL(q ‖ p) between two Gaussians in closed form,
//!   ½[tr(Σ_p⁻¹Σ_q) + (μ_p − μ_q)ᵀΣ_p⁻¹(μ_p − μ_q) − d + ln det Σ_p − ln det Σ_q].
//!   For Bayesian linear regression with known noise the exact posterior is Gaussian, so a
//!   Gaussian q's KL(q ‖ p) — the ELBO's gap, exactly, without Monte Carlo — and the
//!   mass-covering KL(p ‖ q) are both available. KL is invariant under the affine map from
//!   standardised to raw coefficients, so either parameterisation gives the same number.
//! * [`alpha_sweep`]: Rényi-α fits ([`crate::advi::renyi`]) of one data set at several α, with
//!   the same seed, to show how α trades the KL answer (α = 1) for mass covering (α ≤ 0).

use super::data::Dataset;
use super::fit::{fit, FitOptions, FitReport, Method, ModelKind};
use crate::error::{Error, Result};
use crate::runner::Runner;
use nalgebra::{DMatrix, DVector};

/// KL(q ‖ p) for q = N(mean_q, cov_q), p = N(mean_p, cov_p) (d × d row-major covariances).
/// Errors when the shapes disagree or a covariance is not positive definite.
pub fn gaussian_kl(mean_q: &[f64], cov_q: &[f64], mean_p: &[f64], cov_p: &[f64]) -> Result<f64> {
    let d = mean_q.len();
    if d == 0 || mean_p.len() != d || cov_q.len() != d * d || cov_p.len() != d * d {
        return Err(Error::arg(format!(
            "gaussian_kl: means of lengths {} and {} with covariances of {} and {} entries",
            d,
            mean_p.len(),
            cov_q.len(),
            cov_p.len()
        )));
    }
    let not_pd = |w: &str| Error::Numerical(format!("gaussian_kl: {w} is not positive definite"));
    let sq = DMatrix::from_row_slice(d, d, cov_q);
    let sp = DMatrix::from_row_slice(d, d, cov_p);
    let cq = sq.clone().cholesky().ok_or_else(|| not_pd("Σ_q"))?;
    let cp = sp.cholesky().ok_or_else(|| not_pd("Σ_p"))?;
    let log_det = |l: &DMatrix<f64>| 2.0 * (0..d).map(|i| l[(i, i)].ln()).sum::<f64>();
    let trace = cp.solve(&sq).trace();
    let dm = DVector::from_column_slice(mean_p) - DVector::from_column_slice(mean_q);
    let maha = dm.dot(&cp.solve(&dm));
    let kl = 0.5 * (trace + maha - d as f64 + log_det(&cp.l()) - log_det(&cq.l()));
    // Rounding can leave −1e−16 for identical Gaussians.
    Ok(kl.max(0.0))
}

/// Most α values of one sweep (each is a full fit).
pub const MAX_SWEEP: usize = 50;

/// Fit `kind` with the Rényi method of `o` (renyi or renyi-fullrank) at each α of `alphas`
/// (same seed, same options otherwise); one report per α, in order. Errors on an empty or too
/// long list, an α out of range (before any fit runs), or another method.
pub fn alpha_sweep(
    data: &Dataset,
    kind: ModelKind,
    o: &FitOptions,
    alphas: &[f64],
    runner: &Runner,
) -> Result<Vec<FitReport>> {
    if !matches!(o.method, Method::Renyi | Method::RenyiFullRank) {
        return Err(Error::arg(format!(
            "an α sweep needs the renyi or renyi-fullrank method, not {}",
            o.method.name()
        )));
    }
    if alphas.is_empty() || alphas.len() > MAX_SWEEP {
        return Err(Error::arg(format!(
            "an α sweep needs 1 to {MAX_SWEEP} values of α, got {}",
            alphas.len()
        )));
    }
    for &a in alphas {
        crate::advi::renyi::check_alpha(a)?;
    }
    alphas
        .iter()
        .map(|&alpha| {
            let oa = FitOptions { alpha, ..o.clone() };
            fit(data, kind, &oa, runner)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_kl_matches_the_one_dimensional_formula_and_is_asymmetric() {
        // KL(N(0, 1) ‖ N(1, 4)) = ln 2 + (1 + 1)/8 − ½.
        let kl = gaussian_kl(&[0.0], &[1.0], &[1.0], &[4.0]).unwrap();
        assert!((kl - (2f64.ln() + 0.25 - 0.5)).abs() < 1e-14, "{kl}");
        let rev = gaussian_kl(&[1.0], &[4.0], &[0.0], &[1.0]).unwrap();
        // KL(N(1, 4) ‖ N(0, 1)) = −ln 2 + (4 + 1)/2 − ½.
        assert!((rev - (-(2f64.ln()) + 2.5 - 0.5)).abs() < 1e-14, "{rev}");
        // Zero for identical 2-d Gaussians; positive for a mean-field q of a correlated p.
        let p = [1.0, 0.9, 0.9, 1.0];
        assert!(gaussian_kl(&[0.0, 0.0], &p, &[0.0, 0.0], &p).unwrap() < 1e-14);
        let q = [0.19, 0.0, 0.0, 0.19];
        let kl = gaussian_kl(&[0.0, 0.0], &q, &[0.0, 0.0], &p).unwrap();
        // ½[tr(Σ_p⁻¹Σ_q) − 2 + ln det Σ_p − ln det Σ_q] with det Σ_p = 0.19, tr = 2·0.19/0.19.
        let want = 0.5 * (2.0 - 2.0 + 0.19f64.ln() - (0.19f64 * 0.19).ln());
        assert!((kl - want).abs() < 1e-12, "{kl} vs {want}");
    }

    #[test]
    fn gaussian_kl_refuses_bad_shapes_and_singular_covariances() {
        let e = gaussian_kl(&[0.0], &[1.0], &[0.0, 0.0], &[1.0]).unwrap_err();
        assert!(e.to_string().contains("means of lengths 1 and 2"), "{e}");
        let e = gaussian_kl(&[0.0], &[-1.0], &[0.0], &[1.0]).unwrap_err();
        assert!(
            e.to_string().contains("Σ_q is not positive definite"),
            "{e}"
        );
    }
}
