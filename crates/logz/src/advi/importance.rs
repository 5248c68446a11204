//! How good is a fitted Gaussian q? Importance weights w(z) = p(x, z)/q(z) at draws z ~ q give
//! three answers beside the ELBO:
//!
//! - the **CUBO** (χ upper bound, Dieng et al. 2017): CUBO₂ = ½ ln E_q\[w²\] ≥ ln p(x). With the
//!   ELBO = E_q[ln w] ≤ ln p(x) it *brackets* the evidence — the same bracket logz gives for ln Z
//!   (mean field below, TRW above). Estimated by ½ ln mean(w²) over S draws: the logarithm of a
//!   mean is biased low by O(1/S), so with few draws or heavy-tailed weights the estimate can fall
//!   below ln p(x); its jackknife error bar says how far to trust it.
//! - **PSIS k̂** ([`crate::psis`]): the tail index of the weights; k̂ < 0.5 means q covers p well
//!   enough for importance sampling, k̂ > 0.7 means the ELBO's q misses mass of p.
//! - the **PSIS evidence**: ln of the mean Pareto-smoothed weight, an estimate of ln p(x) that is
//!   consistent whatever q is, and accurate when k̂ is small.
//!
//! The log joint is evaluated on *all* rows (no minibatch noise: a subsampled ln p(x, z) would
//! make the weights noisier than q's error), so the cost is draws × rows × d; callers size it.

use super::{Batch, LogJoint};
use crate::error::{Error, Result};
use crate::psis::{psis, Psis};
use crate::rng::stream;
use nalgebra::DMatrix;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

/// Importance diagnostics of q = N(mean, cov) for the log joint of a model on its data.
#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    /// ½ ln mean(w²): a stochastic upper bound on ln p(x) (see the module docs).
    pub cubo: f64,
    /// Jackknife standard error of `cubo`.
    #[serde(with = "crate::estimate::error_bar")]
    pub cubo_std_err: f64,
    /// PSIS tail index of the weights.
    pub khat: f64,
    /// "good", "ok" or "bad" (see [`Psis::verdict`]).
    pub khat_verdict: &'static str,
    /// PSIS estimate of ln p(x).
    pub psis_ln_evidence: f64,
    /// mean(ln w) over the same draws: an ELBO estimate on the full data (≤ `cubo` on any one
    /// set of draws, by Jensen's inequality).
    pub elbo: f64,
    /// Standard error of `elbo`: sd(ln w)/√draws — zero when q is the posterior.
    #[serde(with = "crate::estimate::error_bar")]
    pub elbo_std_err: f64,
    /// Number of draws.
    pub draws: usize,
}

/// Draw `draws` z ~ N(mean, cov) (seeded streams, one per draw) and summarise the weights
/// p(x, z)/q(z). Errors when `cov` is not positive definite or there are fewer than 10 draws.
pub fn importance(
    m: &dyn LogJoint,
    data: Batch,
    mean: &[f64],
    cov: &[f64],
    draws: usize,
    seed: u64,
) -> Result<Importance> {
    Ok(Importance::from_log_weights(&log_weights(
        m, data, mean, cov, draws, seed,
    )?))
}

/// The log importance weights ln p(x, z_k) − ln q(z_k) at `draws` draws z_k ~ N(mean, cov), draw k
/// from its own seeded stream (the same draws whatever the thread count). Errors when `cov` is
/// not positive definite or there are fewer than 10 draws.
pub fn log_weights(
    m: &dyn LogJoint,
    data: Batch,
    mean: &[f64],
    cov: &[f64],
    draws: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let d = mean.len();
    if cov.len() != d * d || draws < 10 {
        return Err(Error::InvalidArgument(format!(
            "importance diagnostics need a {d}×{d} covariance and ≥ 10 draws"
        )));
    }
    let chol = DMatrix::from_row_slice(d, d, cov)
        .cholesky()
        .ok_or_else(|| Error::Numerical("q's covariance is not positive definite".into()))?;
    let l = chol.l();
    // ln q(z) = −½|ε|² − Σ ln L_ii − (d/2) ln 2π for z = μ + Lε.
    let log_det: f64 = (0..d).map(|i| l[(i, i)].ln()).sum();
    let half_d_ln_2pi = 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
    Ok((0..draws)
        .into_par_iter()
        .map(|k| {
            let mut rng = stream(seed, k as u64);
            let eps: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let z: Vec<f64> = (0..d)
                .map(|i| mean[i] + (0..=i).map(|j| l[(i, j)] * eps[j]).sum::<f64>())
                .collect();
            let mut g = vec![0.0; d];
            let lp = m.log_prior(&z, &mut g) + m.log_lik(&z, data, &mut g);
            let lq = -0.5 * eps.iter().map(|e| e * e).sum::<f64>() - log_det - half_d_ln_2pi;
            lp - lq
        })
        .collect())
}

impl Importance {
    /// The CUBO₂, PSIS k̂, PSIS evidence and ELBO of a set of log importance weights.
    pub fn from_log_weights(log_w: &[f64]) -> Importance {
        let draws = log_w.len();
        let (elbo, var) = crate::stats::mean_var(log_w);
        let elbo_std_err = (var / (draws as f64 - 1.0).max(1.0)).sqrt();
        let twice: Vec<f64> = log_w.iter().map(|x| 2.0 * x).collect();
        let (ln_m2, se_m2) = crate::stats::log_mean_exp_jackknife(&twice, 20.min(draws));
        let p: Psis = psis(log_w);
        Importance {
            cubo: 0.5 * ln_m2,
            cubo_std_err: 0.5 * se_m2,
            khat: p.khat,
            khat_verdict: p.verdict(),
            psis_ln_evidence: p.ln_mean,
            elbo,
            elbo_std_err,
            draws,
        }
    }
}
