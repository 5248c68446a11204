//! Convergence diagnostics of several Markov chains, as in Stan and ArviZ (Vehtari, Gelman,
//! Simpson, Carpenter & Bürkner 2021, "Rank-normalization, folding, and localization: an
//! improved R̂ for assessing convergence of MCMC"):
//!
//! - [`rank_r_hat`]: the rank-normalised split R̂ — the larger of the split R̂ of the
//!   rank-normalised draws (bulk: location) and of the rank-normalised |x − median| (tail:
//!   scale). Ranks make it work for heavy tails, where the classical R̂ is blind.
//! - [`ess`]: the effective sample size of split chains from the multi-chain autocorrelation,
//!   truncated by Geyer's initial monotone sequence (Stan's estimator).
//! - [`ess_bulk`]: [`ess`] of the rank-normalised draws (the bulk ESS Stan reports).
//!
//! Rank normalisation: with r the average rank of a draw among all S draws, z = Φ⁻¹((r − 3/8) /
//! (S + 1/4)) (Blom's plotting position).

use crate::stats;
use statrs::distribution::{ContinuousCDF, Normal};

/// The rank-normalised values of all draws of all chains (chains kept in shape).
pub fn rank_normalize(chains: &[&[f64]]) -> Vec<Vec<f64>> {
    let mut all: Vec<(f64, usize, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, x)| x.iter().enumerate().map(move |(i, &v)| (v, c, i)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s = all.len() as f64;
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let mut out: Vec<Vec<f64>> = chains.iter().map(|x| vec![0.0; x.len()]).collect();
    let mut k = 0;
    while k < all.len() {
        // Ties share their average (1-based) rank.
        let mut e = k;
        while e + 1 < all.len() && all[e + 1].0 == all[k].0 {
            e += 1;
        }
        let r = (k + e) as f64 / 2.0 + 1.0;
        let z = normal.inverse_cdf((r - 0.375) / (s + 0.25));
        for &(_, c, i) in &all[k..=e] {
            out[c][i] = z;
        }
        k = e + 1;
    }
    out
}

fn refs(x: &[Vec<f64>]) -> Vec<&[f64]> {
    x.iter().map(|v| v.as_slice()).collect()
}

/// Each chain cut into its two halves (an odd draw in the middle is dropped).
fn split(chains: &[&[f64]]) -> Vec<Vec<f64>> {
    chains
        .iter()
        .flat_map(|c| {
            let h = c.len() / 2;
            [c[..h].to_vec(), c[c.len() - h..].to_vec()]
        })
        .collect()
}

/// The rank-normalised split R̂: max(bulk, tail); ≈ 1 when the chains agree, > 1.01 a warning.
/// NaN with fewer than 4 draws per chain.
pub fn rank_r_hat(chains: &[&[f64]]) -> f64 {
    let n = chains.iter().map(|c| c.len()).min().unwrap_or(0);
    if n < 4 {
        return f64::NAN;
    }
    let bulk = stats::r_hat(&refs(&rank_normalize(chains)));
    let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let m = all.len();
    let median = if m % 2 == 1 {
        all[m / 2]
    } else {
        0.5 * (all[m / 2 - 1] + all[m / 2])
    };
    let folded: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| c.iter().map(|v| (v - median).abs()).collect())
        .collect();
    let tail = stats::r_hat(&refs(&rank_normalize(&refs(&folded))));
    bulk.max(tail)
}

/// The bulk effective sample size: [`ess`] of the rank-normalised draws.
pub fn ess_bulk(chains: &[&[f64]]) -> f64 {
    ess(&refs(&rank_normalize(chains)))
}

/// Effective sample size of the draws of several chains of equal length (split in halves
/// first, as Stan does): S / τ̂ with τ̂ = −1 + 2 Σ ρ̂_t summed over Geyer's initial positive,
/// monotone sequence of paired autocorrelations, ρ̂_t = 1 − (W − mean acov_t) / var⁺. Capped at
/// S log10 S (antithetic chains). NaN with fewer than 4 draws per half-chain.
pub fn ess(chains: &[&[f64]]) -> f64 {
    let halves = split(chains);
    let m = halves.len();
    let n = halves.iter().map(|c| c.len()).min().unwrap_or(0);
    if m == 0 || n < 4 {
        return f64::NAN;
    }
    let centred: Vec<Vec<f64>> = halves
        .iter()
        .map(|c| {
            let (mu, _) = stats::mean_var(&c[..n]);
            c[..n].iter().map(|v| v - mu).collect()
        })
        .collect();
    let means: Vec<f64> = halves.iter().map(|c| stats::mean_var(&c[..n]).0).collect();
    // Mean over chains of the biased autocovariance at lag t (divides by n).
    let acov = |t: usize| -> f64 {
        centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let acov0 = acov(0);
    let mean_var = acov0 * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        let (_, v) = stats::mean_var(&means);
        var_plus += v * m as f64 / (m as f64 - 1.0);
    }
    if !(var_plus > 0.0) {
        // Constant draws: every draw is as good as independent.
        return (m * n) as f64;
    }
    let rho = |t: usize| 1.0 - (mean_var - acov(t)) / var_plus;
    let mut rho_hat = vec![0.0; n + 2];
    let mut even = 1.0;
    let mut odd = rho(1);
    rho_hat[0] = even;
    rho_hat[1] = odd;
    let mut s = 1;
    while s + 4 < n && even + odd > 0.0 {
        even = rho(s + 1);
        odd = rho(s + 2);
        if even + odd >= 0.0 {
            rho_hat[s + 1] = even;
            rho_hat[s + 2] = odd;
        }
        s += 2;
    }
    let max_s = s;
    if even > 0.0 {
        rho_hat[max_s + 1] = even;
    }
    // Initial monotone sequence: paired sums may not increase.
    let mut t = 1;
    while t + 3 <= max_s {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let total = (m * n) as f64;
    let tau = -1.0 + 2.0 * rho_hat[..max_s].iter().sum::<f64>() + rho_hat[max_s + 1];
    (total / tau).min(total * total.log10())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use rand_distr::{Distribution, StandardNormal};

    fn ar1(phi: f64, n: usize, seed: u64, shift: f64) -> Vec<f64> {
        let mut r = stream(seed, 0);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                let e: f64 = StandardNormal.sample(&mut r);
                x = phi * x + (1.0 - phi * phi).sqrt() * e;
                x + shift
            })
            .collect()
    }

    #[test]
    fn ess_of_ar1_matches_its_integrated_time() {
        // AR(1) with φ: τ = (1 + φ)/(1 − φ) = 3 for φ = 0.5.
        let c: Vec<Vec<f64>> = (0..4).map(|s| ar1(0.5, 5000, s, 0.0)).collect();
        let e = ess(&refs(&c));
        assert!((e / (20_000.0 / 3.0) - 1.0).abs() < 0.1, "ESS {e}");
        let eb = ess_bulk(&refs(&c));
        assert!((eb / (20_000.0 / 3.0) - 1.0).abs() < 0.1, "bulk ESS {eb}");
    }

    #[test]
    fn r_hat_sees_a_shifted_chain_and_a_wider_one() {
        let good: Vec<Vec<f64>> = (0..4).map(|s| ar1(0.3, 1000, s, 0.0)).collect();
        assert!(rank_r_hat(&refs(&good)) < 1.01);
        let mut shifted = good.clone();
        shifted[3] = ar1(0.3, 1000, 9, 0.5);
        assert!(rank_r_hat(&refs(&shifted)) > 1.02);
        // Same location, 3× the scale: the bulk R̂ barely moves, the folded (tail) one does.
        let mut wide = good.clone();
        wide[3] = ar1(0.3, 1000, 9, 0.0).iter().map(|v| 3.0 * v).collect();
        assert!(rank_r_hat(&refs(&wide)) > 1.05);
    }
}
