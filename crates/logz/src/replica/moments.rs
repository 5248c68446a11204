//! Exact integer moments E[Z^n] of the Gaussian SK model at finite N.
//!
//! With J_ij ~ N(0, 1/N) on the N(N−1)/2 pairs and h = 0, averaging the product of n replicas
//! over the couplings gives
//!
//! E[Z^n] = Σ_{s¹…sⁿ} exp(β²/(2N) Σ_{i<j} (Σ_a s_i^a s_j^a)²)
//!        = Σ_{s¹…sⁿ} exp((β²/4) [n(N − n) + (2/N) Σ_{a<b} O_ab²]),
//!
//! with O_ab = Σ_i s_i^a s_i^b. The summand depends on the configuration only through the
//! overlaps, and the overlaps only through how many sites carry each replica column
//! (s_i^1, …, s_i^n) up to a global flip (which leaves every s_i^a s_i^b unchanged). With
//! T = 2^{n−1} column classes and c_t sites in class t, the multiplicity is 2^N N!/Π c_t!, so
//! the sum runs over the C(N + T − 1, T − 1) compositions of N: O(N^{T−1}) terms — polynomial
//! in N for fixed n (N for n = 2, N³ for n = 3). Everything is summed in the log domain.
//!
//! n = 1 gives the annealed free energy (1/N) ln E Z = ln 2 + β²(N − 1)/(4N).

use crate::{Error, Result};

/// The most overlap compositions [`ln_moment`] will sum (n = 3 reaches it near N = 800).
pub const MAX_TERMS: f64 = 1e8;

/// The largest N accepted.
pub const MAX_SPINS: usize = 1_000_000;

/// The number of compositions of N into T classes, C(N + T − 1, T − 1), as f64.
pub fn terms(n_spins: usize, replicas: usize) -> f64 {
    let t = 1usize << (replicas.saturating_sub(1)).min(60);
    let mut c = 1.0f64;
    for i in 1..t {
        c *= (n_spins + i) as f64 / i as f64;
    }
    c
}

/// (1/N) ln E[Z^n] for the SK model with N spins, n replicas, inverse temperature β (J = 1,
/// h = 0).
pub fn ln_moment_per_spin(n_spins: usize, replicas: usize, beta: f64) -> Result<f64> {
    Ok(ln_moment(n_spins, replicas, beta)? / n_spins as f64)
}

/// ln E[Z^n] (see the module docs).
pub fn ln_moment(n_spins: usize, replicas: usize, beta: f64) -> Result<f64> {
    if !beta.is_finite() || beta < 0.0 {
        return Err(Error::arg(format!(
            "β must be a finite number ≥ 0, got {beta}"
        )));
    }
    if n_spins == 0 || n_spins > MAX_SPINS {
        return Err(Error::arg(format!(
            "the number of spins must be in 1 … {MAX_SPINS}, got {n_spins}"
        )));
    }
    if replicas == 0 || replicas > 6 {
        return Err(Error::arg(format!(
            "the number of replicas must be in 1 … 6, got {replicas}"
        )));
    }
    let nf = n_spins as f64;
    if replicas == 1 {
        return Ok(nf * std::f64::consts::LN_2 + 0.25 * beta * beta * (nf - 1.0));
    }
    let count = terms(n_spins, replicas);
    if count > MAX_TERMS {
        return Err(Error::OverBudget {
            what: format!("E[Z^{replicas}] at N = {n_spins}"),
            reason: format!(
                "{count:.3e} overlap compositions is more than the limit {MAX_TERMS:.0e}; use fewer spins or replicas"
            ),
        });
    }
    let nrep = replicas;
    let classes = 1usize << (nrep - 1);
    // sign[t][p] = s^a s^b of class t for pair p = (a, b); class t has s^1 = +1 and bits of t
    // for replicas 2..n (bit set ↦ −1).
    let pairs: Vec<(usize, usize)> = (0..nrep)
        .flat_map(|a| (a + 1..nrep).map(move |b| (a, b)))
        .collect();
    let spin = |t: usize, a: usize| -> i64 {
        if a == 0 || (t >> (a - 1)) & 1 == 0 {
            1
        } else {
            -1
        }
    };
    let sign: Vec<Vec<i64>> = (0..classes)
        .map(|t| {
            pairs
                .iter()
                .map(|&(a, b)| spin(t, a) * spin(t, b))
                .collect()
        })
        .collect();
    // ln k! table.
    let mut lf = vec![0.0f64; n_spins + 1];
    for k in 1..=n_spins {
        lf[k] = lf[k - 1] + (k as f64).ln();
    }
    let b2 = beta * beta;
    let base =
        nf * std::f64::consts::LN_2 + lf[n_spins] + 0.25 * b2 * (nrep as f64) * (nf - nrep as f64);
    // Enumerate compositions c of N into `classes` parts, keeping the overlaps incrementally.
    let mut c = vec![0usize; classes];
    let mut o = vec![0i64; pairs.len()];
    fn rec(
        t: usize,
        left: usize,
        c: &mut [usize],
        o: &mut [i64],
        sign: &[Vec<i64>],
        out: &mut dyn FnMut(&[usize], &[i64]),
    ) {
        let classes = c.len();
        if t + 1 == classes {
            c[t] = left;
            for (p, op) in o.iter_mut().enumerate() {
                *op += sign[t][p] * left as i64;
            }
            out(c, o);
            for (p, op) in o.iter_mut().enumerate() {
                *op -= sign[t][p] * left as i64;
            }
            return;
        }
        for k in 0..=left {
            c[t] = k;
            for (p, op) in o.iter_mut().enumerate() {
                *op += sign[t][p] * k as i64;
            }
            rec(t + 1, left - k, c, o, sign, out);
            for (p, op) in o.iter_mut().enumerate() {
                *op -= sign[t][p] * k as i64;
            }
        }
    }
    // Streaming log-sum-exp: Σ = e^best · s.
    let (mut best, mut s) = (f64::NEG_INFINITY, 0.0f64);
    rec(0, n_spins, &mut c, &mut o, &sign, &mut |c, o| {
        let q2: f64 = o.iter().map(|&x| (x * x) as f64).sum();
        let v = 0.5 * b2 * q2 / nf - c.iter().map(|&k| lf[k]).sum::<f64>();
        if v > best {
            s = s * (best - v).exp() + 1.0;
            best = v;
        } else {
            s += (v - best).exp();
        }
    });
    Ok(base + best + s.ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compositions() {
        assert_eq!(terms(10, 2), 11.0);
        assert_eq!(terms(10, 3), 286.0);
    }
}
