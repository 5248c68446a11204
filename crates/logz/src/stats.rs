//! Error bars for correlated Monte Carlo time series.
//!
//! Successive sweeps of a Markov chain are correlated, so the naive error σ/√n is too small by a
//! factor √(2τ_int). We estimate the integrated autocorrelation time
//! τ_int = ½ + Σ_{t≥1} ρ(t) with Sokal's automatic window (the smallest W with W ≥ c·τ_int(W)),
//! cross-check the resulting error with Flyvbjerg–Petersen blocking (the error of block means
//! as blocks double in length plateaus at the true error), and compare independent chains with
//! the Gelman–Rubin potential scale reduction R̂. Functions of means (susceptibility, specific
//! heat, Binder cumulant) get jackknife errors over blocks of at least 10 · 2τ_int samples that
//! never straddle two chains; with fewer than 10 such blocks the error is flagged unreliable, and
//! with fewer than 2 it is +∞ (undefined), never a made-up number.

use serde::Serialize;

/// Sokal's window constant: W ≥ C·τ_int. 6 is the usual compromise between bias and noise.
const SOKAL_C: f64 = 6.0;

/// Everything we know about one scalar time series.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SeriesStats {
    /// Length of the series.
    pub n: usize,
    /// Sample mean.
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

/// Fewest jackknife blocks whose error bar we call reliable: with G blocks the error of the
/// error is about 1/√(2(G − 1)), i.e. ~24% at G = 10.
pub const MIN_RELIABLE_BLOCKS: usize = 10;

/// Jackknife blocks span at least this many integrated autocorrelation times 2τ_int (the
/// factor by which correlation inflates the variance of a mean; 2τ_int = (1+ρ)/(1−ρ) for an
/// AR(1) process). Neighbouring block means are then nearly independent: for AR(1) the variance
/// of a block mean of length L falls short of its asymptotic value by ≈ τ_exp/L, here ≲ 5%.
pub const BLOCK_TAUS: f64 = 10.0;

/// A function of means with its delete-a-block jackknife error.
#[derive(Debug, Clone, Copy)]
pub struct Jackknife {
    /// f(means over all samples of all chains).
    pub value: f64,
    /// Jackknife standard error; +∞ when fewer than two blocks exist.
    pub std_err: f64,
    /// Number of blocks (over all chains) the error comes from.
    pub blocks: usize,
    /// Length of a block in samples (chains shorter than this form one block each).
    pub block_len: usize,
    /// False when fewer than [`MIN_RELIABLE_BLOCKS`] blocks were available: the error bar is
    /// then rough. (Whether τ_int itself could be trusted is [`SeriesStats::reliable`].)
    pub reliable: bool,
}

/// The jackknife block length for series with integrated autocorrelation time `tau_int`
/// (in the convention τ_int = ½ + Σ_{t≥1} ρ(t), ½ for independent samples).
pub fn block_length(tau_int: f64) -> usize {
    let l = (BLOCK_TAUS * 2.0 * tau_int.max(0.5)).ceil();
    if l.is_finite() && l >= 1.0 {
        l.min(usize::MAX as f64 / 2.0) as usize
    } else {
        usize::MAX / 2
    }
}

/// Jackknife error of f(⟨x_1⟩, …, ⟨x_k⟩) from several independent chains, each holding k
/// series measured together (`chains[c][j]` is series j of chain c), with blocks of at least
/// 10 · 2τ_int samples, where τ_int is the largest over the series (averaged over chains).
/// Blocks never straddle two chains; a chain shorter than one block is a block of its own
/// (chains are independent, so it is still an independent group).
pub fn jackknife_chains(chains: &[Vec<&[f64]>], f: impl Fn(&[f64]) -> f64) -> Jackknife {
    jackknife_blocks(chains, chains_block_length(chains), f)
}

/// The block length [`jackknife_chains`] uses: [`block_length`] of the largest τ_int over the
/// series, each averaged over the chains — or whole chains when the chains disagree (split-R̂
/// above [`R_HAT_MAX`] for any series). A slow mode that no chain explores, such as a
/// magnetisation that never flips, is invisible to τ_int measured within a chain; only the
/// spread between chains shows it.
pub fn chains_block_length(chains: &[Vec<&[f64]>]) -> usize {
    let k = chains.first().map_or(0, |c| c.len());
    let mut tau = 0.5f64;
    for j in 0..k {
        let sum: f64 = chains.iter().map(|c| tau_int(c[j]).0).sum();
        tau = tau.max(sum / chains.len() as f64);
        let series: Vec<&[f64]> = chains.iter().map(|c| c[j]).collect();
        if r_hat(&series) > R_HAT_MAX {
            return chains.iter().map(|c| c[j].len()).max().unwrap_or(1).max(1);
        }
    }
    block_length(tau)
}

/// Split-R̂ above this says the chains disagree.
pub const R_HAT_MAX: f64 = 1.05;

/// [`jackknife_chains`] with a given block length: each chain of n samples is cut into
/// ⌊n / block_len⌋ (at least one) contiguous blocks of nearly equal length.
pub fn jackknife_blocks(
    chains: &[Vec<&[f64]>],
    block_len: usize,
    f: impl Fn(&[f64]) -> f64,
) -> Jackknife {
    let k = chains.first().map_or(0, |c| c.len());
    // Per chain, the common length of its series.
    let lens: Vec<usize> = chains
        .iter()
        .map(|c| c.iter().map(|s| s.len()).min().unwrap_or(0))
        .collect();
    let total_n: usize = lens.iter().sum();
    let mut totals = vec![0.0; k];
    for (c, &n) in chains.iter().zip(&lens) {
        for (t, s) in totals.iter_mut().zip(c) {
            *t += s[..n].iter().sum::<f64>();
        }
    }
    let value = f(&totals
        .iter()
        .map(|t| t / total_n as f64)
        .collect::<Vec<_>>());
    let block_len = block_len.max(1);
    // Leave out one block at a time: f of the means of everything else.
    let mut leave_out = Vec::new();
    let mut means = vec![0.0; k];
    for (c, &n) in chains.iter().zip(&lens) {
        if n == 0 {
            continue;
        }
        let nb = (n / block_len).max(1);
        for b in 0..nb {
            let (lo, hi) = (b * n / nb, (b + 1) * n / nb);
            if hi - lo == total_n {
                continue; // the only block there is: nothing would be left
            }
            for (j, mean) in means.iter_mut().enumerate() {
                let part: f64 = c[j][lo..hi].iter().sum();
                *mean = (totals[j] - part) / (total_n - (hi - lo)) as f64;
            }
            leave_out.push(f(&means));
        }
    }
    let g = leave_out.len();
    let std_err = if g >= 2 {
        let (_, var) = mean_var(&leave_out);
        let se = ((g as f64 - 1.0) * var).sqrt();
        if se.is_nan() {
            f64::INFINITY
        } else {
            se
        }
    } else {
        f64::INFINITY
    };
    Jackknife {
        value,
        std_err,
        blocks: g,
        block_len,
        reliable: g >= MIN_RELIABLE_BLOCKS && std_err.is_finite(),
    }
}

/// ln mean e^{x_k} with a delete-a-group jackknife over `groups` contiguous blocks: returns the
/// bias-corrected estimate and the jackknife standard error. ln of a mean of weights is biased
/// low by ~Var(w)/(2M·E\[w\]²), and when a few weights dominate the delta-method error (bounded by
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
        let j = jackknife_chains(&[vec![&x, &x2]], |m| m[1] - m[0] * m[0]);
        assert!((j.value - 1.0 / 12.0).abs() < 4.0 * j.std_err, "{j:?}");
        assert!(j.std_err > 0.0 && j.std_err < 1e-3 && j.reliable, "{j:?}");
        // Independent samples (τ_int ≈ ½): blocks of about 10 samples.
        assert!((10..=12).contains(&j.block_len), "{j:?}");
    }

    /// Unit-variance AR(1): x_t = ρ x_{t−1} + √(1−ρ²) ε_t with Gaussian ε, started in
    /// equilibrium; τ_int = ½ (1+ρ)/(1−ρ) in our convention.
    fn gaussian_ar1(rho: f64, n: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
        use rand_distr::{Distribution, StandardNormal};
        let mut x: f64 = StandardNormal.sample(rng);
        let s = (1.0 - rho * rho).sqrt();
        (0..n)
            .map(|_| {
                let e: f64 = StandardNormal.sample(rng);
                x = rho * x + s * e;
                x
            })
            .collect()
    }

    /// Over `runs` independent sets of `chains` chains of length `n`, the ratio of the
    /// root-mean-square jackknife error to the actual spread of the estimates, for the sample
    /// variance ⟨x²⟩ − ⟨x⟩² and for the mean ⟨x⟩; blocks of `block_len` or, if `None`, the
    /// automatic choice. Also returns the mean number of blocks and the fraction of reliable runs.
    fn jackknife_calibration(
        rho: f64,
        chains: usize,
        n: usize,
        block_len: Option<usize>,
    ) -> ([f64; 2], f64, f64) {
        let runs = 200;
        let fs: [fn(&[f64]) -> f64; 2] = [|m| m[1] - m[0] * m[0], |m| m[0]];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let (mut est, mut err2) = ([vec![], vec![]], [0.0; 2]);
        let (mut blocks, mut reliable) = (0.0, 0.0);
        for _ in 0..runs {
            let xs: Vec<Vec<f64>> = (0..chains)
                .map(|_| gaussian_ar1(rho, n, &mut rng))
                .collect();
            let x2s: Vec<Vec<f64>> = xs
                .iter()
                .map(|x| x.iter().map(|v| v * v).collect())
                .collect();
            let groups: Vec<Vec<&[f64]>> = xs
                .iter()
                .zip(&x2s)
                .map(|(x, x2)| vec![x.as_slice(), x2.as_slice()])
                .collect();
            let len = block_len.unwrap_or_else(|| chains_block_length(&groups));
            for (i, f) in fs.iter().enumerate() {
                let j = jackknife_blocks(&groups, len, f);
                est[i].push(j.value);
                err2[i] += j.std_err * j.std_err;
                if i == 0 {
                    blocks += j.blocks as f64;
                    reliable += j.reliable as u8 as f64;
                }
            }
        }
        let r = runs as f64;
        let ratio = |i: usize| {
            let spread = (mean_var(&est[i]).1 * r / (r - 1.0)).sqrt();
            (err2[i] / r).sqrt() / spread
        };
        ([ratio(0), ratio(1)], blocks / r, reliable / r)
    }

    #[test]
    fn jackknife_blocks_cover_the_autocorrelation() {
        // ρ = 0.99: τ_int = 99.5 sweeps (2τ_int = 199), and 16 chains of 2500 sweeps (25 τ_exp
        // each) are short. Over 200 runs the spread is known to ~5%. Measured: rms error /
        // spread = 1.01 (variance) and 0.95 (mean) with 18.4 blocks of ≥ 10·2τ_int on average;
        // the old fixed 32 blocks per chain (78 sweeps each) gave 0.71 and 0.55.
        let (rho, chains, n) = (0.99, 16, 2500);
        let (ratio, blocks, reliable) = jackknife_calibration(rho, chains, n, None);
        for (what, r) in ["variance", "mean"].iter().zip(ratio) {
            assert!(
                (0.8..1.2).contains(&r),
                "{what}: jackknife error / true spread = {r:.3} ({blocks:.1} blocks)"
            );
        }
        // Chains shorter than a block of ≥ 2000 sweeps are one block each (never straddled).
        assert!((16.0..=32.0).contains(&blocks), "{blocks} blocks");
        assert!(reliable > 0.95, "{reliable}");
        // The old scheme underestimates by more than the tolerance: this test fails on it.
        let (old, _, _) = jackknife_calibration(rho, chains, n, Some(n / 32));
        assert!(
            old[0] < 0.8 && old[1] < 0.8,
            "fixed 32 blocks per chain: ratios {old:?}"
        );
        // With only 2 chains (2–3 blocks) the error is marked unreliable.
        let (_, blocks, reliable) = jackknife_calibration(rho, 2, n, None);
        assert!(blocks < MIN_RELIABLE_BLOCKS as f64 && reliable == 0.0);
    }

    /// Chains stuck in different states (as magnetised chains below T_c that never flip): τ_int
    /// within each chain is short, but the blocks must be whole chains, so the error is the
    /// spread between chains — and with few chains, flagged unreliable.
    #[test]
    fn chains_that_disagree_are_blocked_whole() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let xs: Vec<Vec<f64>> = [1.0, -1.0, 1.0, 1.0]
            .iter()
            .map(|&s| {
                gaussian_ar1(0.5, 4000, &mut rng)
                    .iter()
                    .map(|x| s + 0.1 * x)
                    .collect()
            })
            .collect();
        let groups: Vec<Vec<&[f64]>> = xs.iter().map(|x| vec![x.as_slice()]).collect();
        let j = jackknife_chains(&groups, |m| m[0]);
        assert_eq!((j.blocks, j.block_len), (4, 4000));
        assert!(!j.reliable);
        // Leave-one-chain-out means: 1/3 (three times) and 1; the jackknife error is ½.
        assert!(
            (j.value - 0.5).abs() < 0.01 && (j.std_err - 0.5).abs() < 0.01,
            "{j:?}"
        );
        // Agreeing chains are cut into blocks of ≥ 10·2τ_int ≈ 30.
        let groups: Vec<Vec<&[f64]>> = xs[2..].iter().map(|x| vec![x.as_slice()]).collect();
        let j = jackknife_chains(&groups, |m| m[0]);
        assert!(j.block_len < 100 && j.blocks > 50, "{j:?}");
    }

    #[test]
    fn jackknife_with_one_block_has_an_infinite_error() {
        let x = [1.0, 2.0, 3.0];
        let j = jackknife_blocks(&[vec![&x]], 10, |m| m[0]);
        assert_eq!(j.value, 2.0);
        assert!(j.std_err.is_infinite() && !j.reliable && j.blocks == 0);
        // Two chains each shorter than a block: one block each, blocks never straddle chains.
        let (a, b) = ([1.0, 1.0, 1.0], [3.0, 3.0, 3.0]);
        let j = jackknife_blocks(&[vec![&a], vec![&b]], 10, |m| m[0]);
        assert_eq!((j.value, j.blocks), (2.0, 2));
        // Leave-one-out means 3 and 1: (G−1)/G Σ (θ_g − θ̄)² = ½ · 2 = 1.
        assert!((j.std_err - 1.0).abs() < 1e-12);
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
