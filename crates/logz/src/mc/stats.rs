//! Error bars for correlated Monte Carlo time series.
//!
//! Successive sweeps of a Markov chain are correlated, so the naive error σ/√n is too small by a
//! factor √(2τ_int). We estimate the integrated autocorrelation time
//! τ_int = ½ + Σ_{t≥1} ρ(t) with Sokal's automatic window (the smallest W with W ≥ c·τ_int(W)),
//! cross-check the resulting error with Flyvbjerg–Petersen blocking (the error of block means
//! as blocks double in length plateaus at the true error), and compare independent chains with
//! the Gelman–Rubin potential scale reduction R̂. Functions of means (susceptibility, specific
//! heat, Binder cumulant) get jackknife errors over blocks much longer than τ_int.

use serde::Serialize;

/// Sokal's window constant: W ≥ C·τ_int. 6 is the usual compromise between bias and noise.
const SOKAL_C: f64 = 6.0;

/// Everything we know about one scalar time series.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SeriesStats {
    pub n: usize,
    pub mean: f64,
    /// Standard error of the mean, accounting for autocorrelation (from τ_int).
    pub std_err: f64,
    /// Integrated autocorrelation time in units of the series step (½ for independent samples).
    pub tau_int: f64,
    /// Effective sample size n / (2 τ_int).
    pub ess: f64,
    /// Standard error from blocking (largest over levels with ≥ 32 blocks): a cross-check.
    pub blocking_err: f64,
    /// False if the window hit n/4 before satisfying W ≥ c·τ: the chain is too short to trust τ.
    pub reliable: bool,
}

/// Mean and (population) variance.
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var)
}

/// τ_int with Sokal's automatic window; returns (τ_int, reliable).
pub fn tau_int(x: &[f64]) -> (f64, bool) {
    let n = x.len();
    let (mean, var) = mean_var(x);
    if n < 4 || var <= 0.0 || !var.is_finite() {
        // A constant series has no fluctuations to be correlated; report independence.
        return (0.5, n >= 4);
    }
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0 = var * n as f64;
    let max_w = n / 4;
    let mut tau = 0.5;
    for w in 1..=max_w {
        let c: f64 = d[..n - w].iter().zip(&d[w..]).map(|(a, b)| a * b).sum();
        tau += c / c0;
        if w as f64 >= SOKAL_C * tau {
            return (tau.max(0.5), true);
        }
    }
    (tau.max(0.5), false)
}

/// Standard error of the mean by blocking: the largest estimate over the levels that still
/// have at least 32 blocks (conservative: the plateau value or above).
pub fn blocking_err(x: &[f64]) -> f64 {
    let mut level: Vec<f64> = x.to_vec();
    let mut best = 0.0f64;
    while level.len() >= 32 {
        let (_, var) = mean_var(&level);
        let m = level.len() as f64;
        best = best.max((var / (m - 1.0)).sqrt());
        level = level.chunks_exact(2).map(|p| 0.5 * (p[0] + p[1])).collect();
    }
    best
}

/// Analyse one series.
pub fn analyze(x: &[f64]) -> SeriesStats {
    let n = x.len();
    let (mean, var) = mean_var(x);
    let (tau, reliable) = tau_int(x);
    let std_err = if n > 1 {
        (var * 2.0 * tau / n as f64).sqrt()
    } else {
        f64::NAN
    };
    SeriesStats {
        n,
        mean,
        std_err,
        tau_int: tau,
        ess: n as f64 / (2.0 * tau),
        blocking_err: blocking_err(x),
        reliable,
    }
}

/// Pool the analyses of independent chains of one observable: mean of the chain means, error
/// combined in quadrature, τ_int averaged, ESS summed.
pub fn pool(chains: &[SeriesStats]) -> SeriesStats {
    let k = chains.len() as f64;
    let mean = chains.iter().map(|s| s.mean).sum::<f64>() / k;
    let var_sum: f64 = chains.iter().map(|s| s.std_err * s.std_err).sum();
    let block_sum: f64 = chains.iter().map(|s| s.blocking_err * s.blocking_err).sum();
    SeriesStats {
        n: chains.iter().map(|s| s.n).sum(),
        mean,
        std_err: var_sum.sqrt() / k,
        tau_int: chains.iter().map(|s| s.tau_int).sum::<f64>() / k,
        ess: chains.iter().map(|s| s.ess).sum(),
        blocking_err: block_sum.sqrt() / k,
        reliable: chains.iter().all(|s| s.reliable),
    }
}

/// Gelman–Rubin R̂ over chains of equal length (split in halves, as in modern practice, so a
/// single drifting chain is caught too). Values above ~1.01–1.05 mean the chains disagree.
pub fn r_hat(chains: &[&[f64]]) -> f64 {
    let n = chains.iter().map(|c| c.len()).min().unwrap_or(0) / 2;
    if n < 2 {
        return f64::NAN;
    }
    let halves: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..n], &c[n..2 * n]])
        .collect();
    let m = halves.len() as f64;
    let stats: Vec<(f64, f64)> = halves
        .iter()
        .map(|h| {
            let (mu, v) = mean_var(h);
            (mu, v * n as f64 / (n as f64 - 1.0))
        })
        .collect();
    let grand = stats.iter().map(|s| s.0).sum::<f64>() / m;
    let b = n as f64 / (m - 1.0) * stats.iter().map(|s| (s.0 - grand).powi(2)).sum::<f64>();
    let w = stats.iter().map(|s| s.1).sum::<f64>() / m;
    if w <= 0.0 {
        return if b <= 0.0 { 1.0 } else { f64::INFINITY };
    }
    let var_plus = (n as f64 - 1.0) / n as f64 * w + b / n as f64;
    (var_plus / w).sqrt()
}

/// Burn-in check in the spirit of Geweke: compare the mean of the first 10% of the kept trace
/// with the mean of the last half; returns the z-score (|z| > 4 says the start was not yet in
/// equilibrium, i.e. the burn-in was too short). Under the null hypothesis (a stationary chain)
/// both segments share the variance and τ_int of the last half, which a transient cannot inflate.
pub fn burn_in_z(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 200 {
        return 0.0;
    }
    let (head, tail) = (&x[..n / 10], &x[n / 2..]);
    let b = analyze(tail);
    let (mean_a, _) = mean_var(head);
    let (_, var_b) = mean_var(tail);
    let per = var_b * 2.0 * b.tau_int;
    let se = (per / head.len() as f64 + per / tail.len() as f64).sqrt();
    if se > 0.0 {
        (mean_a - b.mean) / se
    } else if mean_a == b.mean {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Jackknife over `blocks` contiguous blocks of several series measured together: returns the
/// estimate f(means) and its error, for a function of means such as a variance.
pub fn jackknife(series: &[&[f64]], blocks: usize, f: impl Fn(&[f64]) -> f64) -> (f64, f64) {
    let n = series.iter().map(|s| s.len()).min().unwrap_or(0);
    let k = series.len();
    let full: Vec<f64> = series.iter().map(|s| s[..n].iter().sum::<f64>()).collect();
    let est = f(&full.iter().map(|t| t / n as f64).collect::<Vec<_>>());
    let blocks = blocks.min(n);
    if blocks < 2 {
        return (est, f64::NAN);
    }
    let len = n / blocks;
    let used = len * blocks;
    let totals: Vec<f64> = series
        .iter()
        .map(|s| s[..used].iter().sum::<f64>())
        .collect();
    let mut leave_out = Vec::with_capacity(blocks);
    let mut means = vec![0.0; k];
    for b in 0..blocks {
        for j in 0..k {
            let part: f64 = series[j][b * len..(b + 1) * len].iter().sum();
            means[j] = (totals[j] - part) / (used - len) as f64;
        }
        leave_out.push(f(&means));
    }
    let (mu, var) = mean_var(&leave_out);
    let _ = mu;
    let b = blocks as f64;
    (est, ((b - 1.0) * var).sqrt())
}

/// ln mean e^{x_k} with a delete-a-group jackknife over `groups` contiguous blocks: returns the
/// bias-corrected estimate and the jackknife standard error. ln of a mean of weights is biased
/// low by ~Var(w)/(2M·E[w]²), and when a few weights dominate the delta-method error (bounded by
/// about one nat) says nothing; leaving out the group that holds the largest weight shows how
/// much the estimate rests on it, in both the correction and the error. (Used for importance
/// weights: AIS and a VAN's importance-weighted ln Z.)
pub fn log_mean_exp_jackknife(x: &[f64], groups: usize) -> (f64, f64) {
    let g = groups.min(x.len()).max(2);
    let per = x.len() / g;
    if per == 0 {
        return (f64::NAN, f64::NAN);
    }
    let used = per * g;
    let total = crate::numeric::log_sum_exp(&x[..used]);
    let full = total - (used as f64).ln();
    let leave: Vec<f64> = (0..g)
        .map(|b| {
            let part = crate::numeric::log_sum_exp(&x[b * per..(b + 1) * per]);
            // ln(Σ_all − Σ_block) computed stably: total + ln(1 − e^{part − total}).
            let rest = total + (-(part - total).exp()).ln_1p();
            rest - ((used - per) as f64).ln()
        })
        .collect();
    let gf = g as f64;
    let lmean = leave.iter().sum::<f64>() / gf;
    let jack = gf * full - (gf - 1.0) * lmean;
    let se = ((gf - 1.0) / gf * leave.iter().map(|l| (l - lmean).powi(2)).sum::<f64>()).sqrt();
    if jack.is_finite() {
        (jack, se)
    } else {
        // One group holds all the weight (leaving it out gives −∞): no correction possible.
        (full, f64::INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// AR(1) process x_t = φ x_{t−1} + ε has τ_int = ½ (1+φ)/(1−φ) exactly.
    fn ar1(phi: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                let e: f64 = rng.random::<f64>() - 0.5;
                x = phi * x + e;
                x
            })
            .collect()
    }

    #[test]
    fn tau_of_ar1_matches_theory() {
        for &phi in &[0.0, 0.5, 0.9] {
            let x = ar1(phi, 400_000, 7);
            let want = 0.5 * (1.0 + phi) / (1.0 - phi);
            let (tau, ok) = tau_int(&x);
            assert!(ok);
            assert!(
                (tau - want).abs() < 0.08 * want + 0.02,
                "φ={phi} τ={tau} want {want}"
            );
            let s = analyze(&x);
            // Blocking and τ_int agree on the error within ~15%.
            let ratio = s.blocking_err / s.std_err;
            assert!((0.85..1.3).contains(&ratio), "φ={phi} ratio {ratio}");
        }
    }

    #[test]
    fn error_bars_cover_the_truth() {
        // 200 AR(1) chains with true mean 0: about 95% of the 2σ intervals must contain 0.
        let mut inside = 0;
        for seed in 0..200 {
            let s = analyze(&ar1(0.8, 20_000, seed));
            if s.mean.abs() < 2.0 * s.std_err {
                inside += 1;
            }
        }
        // Binomial(200, 0.954): mean 191, sd 3; accept 180..=200 (false alarm < 1e-3).
        assert!(inside >= 180, "coverage {inside}/200");
    }

    #[test]
    fn r_hat_detects_disagreeing_chains() {
        let a = ar1(0.5, 10_000, 1);
        let b = ar1(0.5, 10_000, 2);
        assert!(r_hat(&[&a, &b]) < 1.01);
        let shifted: Vec<f64> = b.iter().map(|v| v + 1.0).collect();
        assert!(r_hat(&[&a, &shifted]) > 1.1);
    }

    #[test]
    fn burn_in_z_flags_a_transient() {
        let mut x = ar1(0.5, 10_000, 3);
        assert!(burn_in_z(&x).abs() < 4.0);
        for (t, v) in x.iter_mut().enumerate().take(1000) {
            *v += 5.0 * (-(t as f64) / 200.0).exp();
        }
        assert!(burn_in_z(&x).abs() > 4.0);
    }

    #[test]
    fn jackknife_of_variance() {
        // Var of iid uniform(−½, ½) is 1/12.
        let x = ar1(0.0, 100_000, 5);
        let x2: Vec<f64> = x.iter().map(|v| v * v).collect();
        let (v, e) = jackknife(&[&x, &x2], 50, |m| m[1] - m[0] * m[0]);
        assert!((v - 1.0 / 12.0).abs() < 4.0 * e, "{v} ± {e}");
        assert!(e > 0.0 && e < 1e-3);
    }

    #[test]
    fn jackknife_log_mean_exp_corrects_the_bias_and_sees_heavy_tails() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        // Constant weights: no bias, no error.
        let (e, se) = log_mean_exp_jackknife(&[2.5; 64], 16);
        assert!((e - 2.5).abs() < 1e-12 && se < 1e-12);
        // One weight dominating: the error bar must say so (the delta method cannot exceed ~1).
        let mut x = vec![0.0; 64];
        x[5] = 12.0;
        assert!(log_mean_exp_jackknife(&x, 16).1 > 3.0);
        // Log-normal weights, σ = 1.5: ln E[w] = σ²/2. Over many sets of 64, the plain ln-mean
        // is biased low; the jackknife removes most of that bias.
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let (sigma, reps) = (1.5f64, 4000);
        let truth = sigma * sigma / 2.0;
        let (mut plain, mut jack) = (0.0, 0.0);
        for _ in 0..reps {
            let x: Vec<f64> = (0..64)
                .map(|_| {
                    let g: f64 = StandardNormal.sample(&mut rng);
                    sigma * g
                })
                .collect();
            plain += crate::numeric::log_sum_exp(&x) - 64f64.ln();
            jack += log_mean_exp_jackknife(&x, 16).0;
        }
        let (bias_plain, bias_jack) = (plain / reps as f64 - truth, jack / reps as f64 - truth);
        assert!(bias_plain < -0.03, "plain bias {bias_plain}");
        assert!(
            bias_jack.abs() < 0.5 * bias_plain.abs(),
            "{bias_jack} vs {bias_plain}"
        );
    }
}
