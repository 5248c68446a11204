//! Rényi-α variational inference (Li & Turner 2016): the variational Rényi (VR) bound
//!
//! L_α(q) = 1/(1−α) ln E_q[w^{1−α}],   w = p(x, z)/q(z),
//!
//! equals ln p(x) − D_α(q ‖ p(z|x)) with D_α the Rényi divergence of order α. It is continuous
//! and non-increasing in α:
//!
//! * α → 1 gives the ELBO E_q[ln w] (KL(q ‖ p), mode-seeking);
//! * α = ½ is (minus twice the log of) the Bhattacharyya/Hellinger affinity;
//! * α = 0 gives ln E_q\[w\] = ln p(x) for every q; its S-draw estimate is the importance-weighted
//!   (IWAE) bound, which is why the α = 0 fit still learns something;
//! * α < 0 gives an *upper* bound on ln p(x); α = −1 is the CUBO₂ of χ² VI (Dieng et al. 2017).
//!
//! Smaller α covers more mass: on a correlated Gaussian posterior a mean-field q's standard
//! deviations grow from 1/√Λ_ii (α = 1, the KL answer) towards and past the marginal √Σ_ii.
//!
//! **Estimator.** With S draws z_k = μ + Lε_k and log-weights l_k = ln w(z_k), the bound is
//! estimated by L̂_α = 1/(1−α) ln (1/S) Σ_k e^{(1−α) l_k} (biased low by O(1/S) in the log), and
//! its reparameterisation gradient is the self-normalised
//!
//! ∇_λ L̂_α = Σ_k ŵ_k ∇_λ l_k,   ŵ = softmax((1−α) l),   ∇_λ l_k = (∂z/∂λ)ᵀ∇_z ln p + ∇_λ ln|L|,
//!
//! since ln q(μ + Lε) = −½|ε|² − ln|L| − (d/2) ln 2π at fixed ε. At α = 1 the weights are 1/S
//! and this is exactly the ADVI gradient. For α ∈ [0, 2] the bound is maximised.
//!
//! **Why fits stop at α = 0.** For α < 0 the bound is an upper bound and would have to be
//! *minimised* (as χ² VI minimises the CUBO). Its self-normalised gradient averages over the
//! tilted density p^{1−α}q^{α}, which for α < 0 lies *beyond* the posterior mode as seen from
//! q — in q's tails, where S draws rarely go. The estimate of that tilt is biased back towards
//! q, so descending it pushes q's mean *away* from the mode: on a 30-row regression (2 slopes,
//! correlation 0.95) α = −1 diverged from every start tried (including an α = 0 fit widened
//! twofold, and ε drawn from a defensive N(0, 1.5²I) with the exact density ratio). So q is
//! fitted for α ∈ [0, 2], and the upper side is *evaluated*: [`vr_bound`] takes any α, and
//! L_{−1} of a fitted q is its CUBO₂ ([`super::importance`]).
//!
//! **Range.** Fits take α from [`ALPHA_MIN`] = 0 to [`ALPHA_MAX`] = 2: above 2 the gradient rests
//! on the single worst draw of each step.

use super::{log_joint, Batch, LogJoint, Q};
use crate::error::{Error, Result};
use crate::numeric::log_sum_exp;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Smallest α a fit accepts (see the module docs for why not below 0).
pub const ALPHA_MIN: f64 = 0.0;
/// Largest accepted α.
pub const ALPHA_MAX: f64 = 2.0;

/// |1 − α| below which the bound is evaluated as its α → 1 limit, the ELBO (mean log-weight).
const KL_LIMIT: f64 = 1e-9;

/// Refuse α below [`ALPHA_MIN`], above [`ALPHA_MAX`] or non-finite (for fitting q).
pub fn check_alpha(alpha: f64) -> Result<()> {
    if !(alpha.is_finite() && (ALPHA_MIN..=ALPHA_MAX).contains(&alpha)) {
        return Err(Error::arg(format!(
            "the Rényi order α of a fit must be in [{ALPHA_MIN}, {ALPHA_MAX}] (1 = KL/ELBO, \
             0 = importance-weighted ln p(x); the upper side α < 0 is evaluated, not fitted: \
             see the CUBO), got {alpha}"
        )));
    }
    Ok(())
}

/// L̂_α = 1/(1−α) ln mean e^{(1−α) l_k} from log-weights l (α = 1: mean l, the ELBO).
pub fn vr_bound(log_w: &[f64], alpha: f64) -> f64 {
    let s = log_w.len() as f64;
    if (1.0 - alpha).abs() < KL_LIMIT {
        return log_w.iter().sum::<f64>() / s;
    }
    let a = 1.0 - alpha;
    let x: Vec<f64> = log_w.iter().map(|l| a * l).collect();
    (log_sum_exp(&x) - s.ln()) / a
}

/// L̂_α with a delete-a-group jackknife (20 groups): bias-corrected estimate and standard error
/// (see [`crate::stats::log_mean_exp_jackknife`]); α = 1 gives the mean and its standard error.
pub fn vr_bound_jackknife(log_w: &[f64], alpha: f64) -> (f64, f64) {
    let n = log_w.len();
    if (1.0 - alpha).abs() < KL_LIMIT {
        let (m, v) = crate::stats::mean_var(log_w);
        return (m, (v / (n as f64 - 1.0).max(1.0)).sqrt());
    }
    let a = 1.0 - alpha;
    let x: Vec<f64> = log_w.iter().map(|l| a * l).collect();
    let (v, se) = crate::stats::log_mean_exp_jackknife(&x, 20.min(n));
    (v / a, se / a.abs())
}

/// The self-normalised gradient weights ŵ = softmax((1−α) l); they sum to 1 (uniform at α = 1).
pub fn vr_weights(log_w: &[f64], alpha: f64) -> Vec<f64> {
    let a = 1.0 - alpha;
    let x: Vec<f64> = log_w.iter().map(|l| a * l).collect();
    let lse = log_sum_exp(&x);
    x.iter().map(|v| (v - lse).exp()).collect()
}

/// One step's reparameterised gradient of L̂_α over `samples` draws (α ∈ [0, 2]; ascended),
/// added into `grad`. Returns the step's estimate L̂_α.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_gradient(
    q: &Q,
    m: &dyn LogJoint,
    batch: Batch,
    scale: f64,
    l: &[f64],
    alpha: f64,
    samples: usize,
    rng: &mut Xoshiro256PlusPlus,
    grad: &mut [f64],
) -> f64 {
    let d = q.d;
    let mut eps_all = Vec::with_capacity(samples);
    let mut g_all = Vec::with_capacity(samples);
    let mut log_w = Vec::with_capacity(samples);
    let mut z = vec![0.0; d];
    for _ in 0..samples {
        let eps: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
        q.draw(l, &eps, &mut z);
        let mut g = vec![0.0; d];
        let lp = log_joint(m, &z, batch, scale, &mut g);
        log_w.push(lp - q.log_q(&eps));
        eps_all.push(eps);
        g_all.push(g);
    }
    let w = vr_weights(&log_w, alpha);
    for k in 0..samples {
        q.push_back(l, &g_all[k], &eps_all[k], w[k], grad);
    }
    // ∇_λ(−ln q(μ + Lε)) = ∇_λ ln|L| = 1 on each log-diagonal; the weights sum to 1.
    q.add_diag(1.0, grad);
    vr_bound(&log_w, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advi::{elbo_gradient, Family};
    use crate::bayes::models::LinearKnownNoise;
    use rand::SeedableRng;

    fn toy() -> (LinearKnownNoise, Vec<f64>, Vec<f64>) {
        let m = LinearKnownNoise {
            d: 2,
            sigma: 0.7,
            tau: 2.0,
            names: vec!["a".into(), "b".into()],
        };
        let x = vec![1.0, 0.3, 1.0, -1.2, 1.0, 0.8, 1.0, 0.1];
        let y = vec![0.5, -1.0, 1.1, 0.2];
        (m, x, y)
    }

    #[test]
    fn bound_is_the_elbo_at_one_and_non_increasing_in_alpha() {
        let lw = [-3.0, -1.0, -2.5, 0.5, -0.2, -4.0];
        let mean = lw.iter().sum::<f64>() / 6.0;
        assert_eq!(vr_bound(&lw, 1.0), mean);
        // Continuity at α → 1 from both sides.
        for a in [1.0 - 1e-6, 1.0 + 1e-6] {
            assert!((vr_bound(&lw, a) - mean).abs() < 1e-5, "{a}");
        }
        let alphas = [-1.0, -0.5, 0.0, 0.5, 0.99, 1.0, 1.5, 2.0];
        for p in alphas.windows(2) {
            assert!(vr_bound(&lw, p[0]) >= vr_bound(&lw, p[1]) - 1e-12, "{p:?}");
        }
        // α = 0 is ln mean w; α = −1 is ½ ln mean w².
        let lme = |x: &[f64]| log_sum_exp(x) - (x.len() as f64).ln();
        assert!((vr_bound(&lw, 0.0) - lme(&lw)).abs() < 1e-12);
        let two: Vec<f64> = lw.iter().map(|v| 2.0 * v).collect();
        assert!((vr_bound(&lw, -1.0) - 0.5 * lme(&two)).abs() < 1e-12);
        let w = vr_weights(&lw, 0.3);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gradient_reduces_to_the_elbo_gradient_as_alpha_goes_to_one() {
        let (m, x, y) = toy();
        let batch = Batch { x: &x, y: &y, d: 2 };
        for family in [Family::MeanField, Family::FullRank] {
            let mut q = Q::new(2, family);
            // Move q away from its start so every parameter has a non-trivial gradient.
            for (k, t) in q.theta.iter_mut().enumerate() {
                *t += 0.1 * k as f64 - 0.2;
            }
            let l = q.l();
            let mut g_elbo = vec![0.0; q.theta.len()];
            let mut r1 = Xoshiro256PlusPlus::seed_from_u64(7);
            elbo_gradient(&q, &m, batch, 1.0, &l, 8, &mut r1, &mut g_elbo);
            for alpha in [1.0, 1.0 - 1e-7] {
                let mut g = vec![0.0; q.theta.len()];
                let mut r2 = Xoshiro256PlusPlus::seed_from_u64(7);
                step_gradient(&q, &m, batch, 1.0, &l, alpha, 8, &mut r2, &mut g);
                for (a, b) in g.iter().zip(&g_elbo) {
                    assert!(
                        (a - b).abs() < 1e-5 * (1.0 + b.abs()),
                        "{family:?} α={alpha}"
                    );
                }
            }
            // Away from 1 the weights differ and so does the gradient.
            let mut g = vec![0.0; q.theta.len()];
            let mut r3 = Xoshiro256PlusPlus::seed_from_u64(7);
            step_gradient(&q, &m, batch, 1.0, &l, 0.0, 8, &mut r3, &mut g);
            let diff: f64 = g.iter().zip(&g_elbo).map(|(a, b)| (a - b).abs()).sum();
            assert!(diff > 1e-3, "{family:?}: {diff}");
        }
    }

    #[test]
    fn bad_alpha_is_refused() {
        for a in [f64::NAN, f64::INFINITY, -1.0, -1e-9, 2.5] {
            let e = check_alpha(a).unwrap_err().to_string();
            assert!(
                e.contains("Rényi order α of a fit must be in [0, 2]"),
                "{e}"
            );
        }
        assert!(check_alpha(0.0).is_ok() && check_alpha(2.0).is_ok());
    }
}
