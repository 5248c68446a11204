//! Pareto-smoothed importance sampling (PSIS; Vehtari, Simpson, Gelman, Yao & Gabry 2024) and
//! its k̂ diagnostic (Yao, Vehtari, Simpson & Gelman 2018): does an approximation q cover its
//! target well enough for importance weights w = p/q to be trusted?
//!
//! The largest M = min(S/5, 3√S) weights of S draws are fitted with a generalised Pareto
//! distribution (the limit law of tails above a threshold u), by the profile-likelihood
//! posterior mean of Zhang & Stephens (2009), with the weakly informative shrinkage of the shape
//! towards ½ that PSIS uses (k ← (M·k + 5)/(M + 10)). The fitted shape k̂ is the tail index of
//! the weights: their variance is finite for k < ½ and their mean for k < 1. Thresholds, as
//! PSIS recommends: k̂ < 0.5 good; up to min(1 − 1/log₁₀ S, 0.7) usable (the estimate's error
//! falls more slowly than 1/√S); beyond that the importance estimates — and the ELBO's claim
//! that q is close to p — should not be trusted. The tail weights are then replaced by the
//! fitted quantiles (capped at the largest raw weight), which lowers the variance of the
//! smoothed estimate of ln E_q\[w\].
//!
//! Weights of a discrete target tie (a spin configuration drawn twice has one weight). When
//! fewer than half of the tail's values are distinct there is no continuous tail to fit, and
//! k̂ is reported as unknown (NaN) rather than as an artefact of the ties.
//!
//! A leaf module: plain slices of log weights in, numbers out.

use crate::numeric::log_sum_exp;

/// The PSIS summary of S log importance weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Psis {
    /// The Pareto shape of the weights' upper tail (NaN when there are fewer than 10 draws or
    /// the tail is flat).
    pub khat: f64,
    /// ln of the mean of the smoothed weights: the PSIS estimate of ln E_q\[w\] (for w = p(x,z)/q(z),
    /// the log evidence; for spins, ln Z).
    pub ln_mean: f64,
    /// The k̂ threshold below which the estimate is usable with S draws:
    /// min(1 − 1/log₁₀ S, 0.7).
    pub threshold: f64,
    /// Number of draws.
    pub draws: usize,
}

impl Psis {
    /// "good" (k̂ < 0.5), "ok" (below [`Psis::threshold`]), "bad", or "unknown" (too few
    /// draws to fit a tail).
    pub fn verdict(&self) -> &'static str {
        verdict(self.khat, self.draws)
    }
}

/// The verdict on a k̂ from `draws` draws: "good" below 0.5, "ok" below
/// min(1 − 1/log₁₀ S, 0.7), "bad" above, "unknown" for NaN.
pub fn verdict(khat: f64, draws: usize) -> &'static str {
    let threshold = if draws > 1 {
        (1.0 - 1.0 / (draws as f64).log10()).min(0.7)
    } else {
        0.0
    };
    if khat.is_nan() {
        "unknown"
    } else if khat < 0.5 {
        "good"
    } else if khat < threshold {
        "ok"
    } else {
        "bad"
    }
}

/// Pareto-smooth the log weights `log_w` (any finite values; non-finite ones are treated as
/// zero weight) and summarise them.
pub fn psis(log_w: &[f64]) -> Psis {
    let s = log_w.len();
    let threshold = if s > 1 {
        (1.0 - 1.0 / (s as f64).log10()).min(0.7)
    } else {
        0.0
    };
    let finite: Vec<f64> = log_w.iter().copied().filter(|x| x.is_finite()).collect();
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if s == 0 || !max.is_finite() {
        return Psis {
            khat: f64::NAN,
            ln_mean: f64::NEG_INFINITY,
            threshold,
            draws: s,
        };
    }
    // Relative weights in (0, 1], the largest exactly 1: no overflow whatever the scale.
    let mut rel: Vec<f64> = log_w
        .iter()
        .map(|&x| if x.is_finite() { (x - max).exp() } else { 0.0 })
        .collect();
    let m = ((s as f64 / 5.0).min(3.0 * (s as f64).sqrt())).ceil() as usize;
    let mut khat = f64::NAN;
    if s >= 10 && m >= 5 && m < s {
        let mut order: Vec<usize> = (0..s).collect();
        order.sort_by(|&a, &b| rel[a].total_cmp(&rel[b]));
        let tail = &order[s - m..];
        let u = rel[order[s - m - 1]];
        let excess: Vec<f64> = tail.iter().map(|&i| rel[i] - u).collect();
        // Weights of a discrete target (spin configurations drawn many times) tie; a tail made
        // mostly of ties has no Pareto shape to fit: k̂ stays NaN ("unknown"), no smoothing.
        let mut distinct = excess.clone();
        distinct.dedup();
        if distinct.len() >= m / 2 && excess.iter().any(|&x| x > 0.0) {
            let (k, sigma) = gpd_fit(&excess);
            // Shrink towards ½ as PSIS does (a weakly informative prior worth 10 draws).
            let k = (m as f64 * k + 10.0 * 0.5) / (m as f64 + 10.0);
            khat = k;
            if k.is_finite() && sigma.is_finite() && sigma > 0.0 {
                for (j, &i) in tail.iter().enumerate() {
                    let p = (j as f64 + 0.5) / m as f64;
                    rel[i] = (u + gpd_quantile(p, k, sigma)).min(1.0);
                }
            }
        }
    }
    let ln_mean = rel.iter().sum::<f64>().ln() + max - (s as f64).ln();
    Psis {
        khat,
        ln_mean,
        threshold,
        draws: s,
    }
}

/// The generalised Pareto quantile: u such that P(X ≤ u) = p, for shape k and scale σ.
fn gpd_quantile(p: f64, k: f64, sigma: f64) -> f64 {
    if k.abs() < 1e-12 {
        -sigma * (-p).ln_1p()
    } else {
        sigma * ((-k * (-p).ln_1p()).exp_m1()) / k
    }
}

/// Zhang & Stephens (2009): the posterior mean of θ = −k/σ under the profile likelihood on a
/// grid, then k and σ at that θ. Returns (k, σ) in the usual parametrisation (heavy tail: k > 0).
fn gpd_fit(excess: &[f64]) -> (f64, f64) {
    let mut x: Vec<f64> = excess.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let grid = 30 + (n as f64).sqrt() as usize;
    let x_max = x[n - 1];
    // The grid's scale is the first quartile of the excesses. Weights of a discrete target (spin
    // configurations drawn many times) tie, and many excesses can be exactly 0: take the
    // quartile of the positive ones, and give up (NaN: "unknown") when there are too few.
    let positive: Vec<f64> = x.iter().copied().filter(|&v| v > 0.0).collect();
    if positive.len() < 5 {
        return (f64::NAN, f64::NAN);
    }
    let quartile = positive[((positive.len() as f64 / 4.0 + 0.5) as usize).saturating_sub(1)];
    // ξ(θ) = mean ln(1 − θx) (= −k(θ) of the paper), and the profile log-likelihood
    // ℓ(θ) = n(ln(−θ/ξ) − ξ − 1) (the paper's n(ln(θ/k) + k − 1) with k = −ξ).
    let xi = |theta: f64| x.iter().map(|&v| (-theta * v).ln_1p()).sum::<f64>() / n as f64;
    let thetas: Vec<f64> = (1..=grid)
        .map(|j| 1.0 / x_max + (1.0 - (grid as f64 / (j as f64 - 0.5)).sqrt()) / (3.0 * quartile))
        .collect();
    let ll: Vec<f64> = thetas
        .iter()
        .map(|&t| {
            let k = -xi(t);
            n as f64 * ((t / k).ln() + k - 1.0)
        })
        .collect();
    let norm = log_sum_exp(
        &ll.iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect::<Vec<_>>(),
    );
    let theta: f64 = thetas
        .iter()
        .zip(&ll)
        .filter(|(_, l)| l.is_finite())
        .map(|(t, l)| t * (l - norm).exp())
        .sum();
    // The paper's k = −mean ln(1 − θx) is the negative of the usual tail index; σ = k/θ.
    let k_paper = -xi(theta);
    (-k_paper, k_paper / theta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp1, StandardNormal};

    fn rng() -> rand_xoshiro::Xoshiro256PlusPlus {
        rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5)
    }

    #[test]
    fn the_tail_index_of_pareto_weights_is_recovered() {
        // w = U^{−k} is Pareto with tail index k. One fit from 4 000 draws (a tail of 190) has
        // a standard error near 0.1, so the mean of 20 independent fits is compared: within
        // 0.07 of k (the shrinkage towards ½ moves it by under 0.05).
        for k in [0.2, 0.5, 0.9] {
            let mean = (0..20u64)
                .map(|seed| {
                    let mut r = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
                    let lw: Vec<f64> = (0..4000)
                        .map(|_| {
                            let e: f64 = Exp1.sample(&mut r); // −ln U
                            k * e
                        })
                        .collect();
                    psis(&lw).khat
                })
                .sum::<f64>()
                / 20.0;
            assert!((mean - k).abs() < 0.07, "k = {k}: mean k̂ = {mean}");
        }
        // Heavier tails are flagged.
        let mut r = rng();
        let lw: Vec<f64> = (0..4000)
            .map(|_| {
                let e: f64 = Exp1.sample(&mut r);
                1.5 * e
            })
            .collect();
        assert_eq!(psis(&lw).verdict(), "bad");
    }

    #[test]
    fn light_tails_are_good_and_the_mean_is_unbiased() {
        // q = p: log weights all zero plus a little noise: k̂ well below ½, ln mean ≈ 0.
        let mut r = rng();
        let lw: Vec<f64> = (0..2000)
            .map(|_| 0.1 * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut r))
            .collect();
        let p = psis(&lw);
        assert!(p.khat < 0.5, "k̂ = {}", p.khat);
        assert_eq!(p.verdict(), "good");
        // E[e^{0.1 Z}] = e^{0.005}.
        assert!((p.ln_mean - 0.005).abs() < 0.01, "{}", p.ln_mean);
        // The scale of the weights does not matter.
        let shifted: Vec<f64> = lw.iter().map(|x| x + 800.0).collect();
        let q = psis(&shifted);
        assert!((q.khat - p.khat).abs() < 1e-9);
        assert!((q.ln_mean - p.ln_mean - 800.0).abs() < 1e-9);
    }

    #[test]
    fn tied_weights_give_a_sane_tail_index() {
        // A discrete target: 10 000 draws of 40 distinct log weights, so the tail is made of
        // ties and most excesses over the threshold are exactly 0. The weights are bounded:
        // k̂ is unknown or small (it was ~10² when the grid scale was a zero quartile).
        let mut r = rng();
        let levels: Vec<f64> = (0..40).map(|i| 0.01 * i as f64).collect();
        let lw: Vec<f64> = (0..10_000)
            .map(|_| levels[crate::rng::index(&mut r, levels.len())])
            .collect();
        let p = psis(&lw);
        assert!(p.khat.is_nan() || p.khat < 0.5, "k̂ = {}", p.khat);
        let direct = (lw.iter().map(|x| x.exp()).sum::<f64>() / lw.len() as f64).ln();
        assert!(
            (p.ln_mean - direct).abs() < 1e-3,
            "{} vs {direct}",
            p.ln_mean
        );
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        assert!(psis(&[]).khat.is_nan());
        assert!(psis(&[1.0, 2.0]).khat.is_nan());
        assert_eq!(psis(&[f64::NEG_INFINITY; 20]).ln_mean, f64::NEG_INFINITY);
        let p = psis(&[0.0; 50]);
        assert!((p.ln_mean).abs() < 1e-12);
        let mut with_nan = vec![0.0; 50];
        with_nan[3] = f64::NAN;
        assert!(psis(&with_nan).ln_mean.is_finite());
    }
}
