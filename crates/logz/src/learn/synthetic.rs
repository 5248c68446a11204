//! Samples of a known model, for measuring how well the learners recover it.
//!
//! Two sources, as the inverse-Ising literature uses them:
//! - [`exact_samples`]: independent draws from p(s) ∝ e^{−βE(s)} by enumerating all 2^N states
//!   (N ≤ [`EXACT_MAX_SPINS`]): no sampling bias at all, so the reconstruction error is the
//!   learner's alone;
//! - [`gibbs_samples`]: the last state of M independent heat-bath chains after a fixed number
//!   of sweeps from random starts — what `../shared/reference/inverse_ising_sklearn.py` does, so
//!   that `logz bench learn` compares learners on the same kind of data.
//!
//! Every chain or draw has its own random stream derived from the seed and its index, so the
//! samples do not depend on the thread count.

use super::data::Samples;
use crate::error::{Error, Result};
use crate::mc::local::{Local, Rule, Scan};
use crate::model::Model;
use crate::numeric::log_sum_exp;
use crate::rng::{stream_seed, uniform};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// The most spins [`exact_samples`] enumerates (2^20 states: 8 MB of weights).
pub const EXACT_MAX_SPINS: usize = 20;

/// Independent exact draws from the Boltzmann distribution of `m` (N ≤ [`EXACT_MAX_SPINS`]),
/// by inverse-CDF sampling over the enumerated states.
pub fn exact_samples(m: &Model, count: usize, seed: u64) -> Result<Samples> {
    let n = m.n();
    if n == 0 || n > EXACT_MAX_SPINS {
        return Err(Error::arg(format!(
            "exact samples need 1 to {EXACT_MAX_SPINS} spins (they enumerate 2^N states), got {n}"
        )));
    }
    if count == 0 {
        return Err(Error::arg("the sample count must be ≥ 1"));
    }
    crate::limits::check_memory(
        "exact samples",
        &format!("{count} samples of {n} spins and 2^{n} weights"),
        count as f64 * n as f64 + 8.0 * (1u64 << n) as f64,
    )?;
    let state = |k: usize| -> Vec<i8> {
        (0..n)
            .map(|i| if k >> i & 1 == 1 { 1 } else { -1 })
            .collect()
    };
    let logw: Vec<f64> = (0..1usize << n)
        .into_par_iter()
        .map(|k| -m.beta() * m.energy(&state(k)))
        .collect();
    let ln_z = log_sum_exp(&logw);
    let mut cdf = Vec::with_capacity(logw.len());
    let mut acc = 0.0;
    for l in &logw {
        acc += (l - ln_z).exp();
        cdf.push(acc);
    }
    let states: Vec<Vec<i8>> = (0..count)
        .into_par_iter()
        .map(|c| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, c as u64));
            let u = uniform(&mut rng) * acc;
            state(cdf.partition_point(|&x| x < u).min(cdf.len() - 1))
        })
        .collect();
    Samples::from_rows(n, states.iter().map(|s| s.as_slice()))
}

/// The final states of `count` independent heat-bath chains of `m`, each started from a
/// uniformly random state and run for `sweeps` sequential sweeps.
pub fn gibbs_samples(m: &Model, count: usize, sweeps: usize, seed: u64) -> Result<Samples> {
    let n = m.n();
    if count == 0 || sweeps == 0 || n == 0 {
        return Err(Error::arg(
            "Gibbs samples need ≥ 1 spin, ≥ 1 chain and ≥ 1 sweep",
        ));
    }
    crate::limits::check_memory(
        "Gibbs samples",
        &format!("{count} chains of {n} spins"),
        count as f64 * (n as f64 + 64.0),
    )?;
    crate::limits::check_work(
        "Gibbs samples",
        &format!("{count} chains × {sweeps} sweeps × {n} spins"),
        count as f64 * sweeps as f64 * n as f64 * m.degree_stats().1.max(1.0),
    )?;
    let sampler = Local::new(m, Rule::HeatBath, Scan::Sequential);
    let states: Vec<Vec<i8>> = (0..count)
        .into_par_iter()
        .map(|c| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, c as u64));
            let mut s: Vec<i8> = (0..n)
                .map(|_| if uniform(&mut rng) < 0.5 { 1 } else { -1 })
                .collect();
            for _ in 0..sweeps {
                sampler.sweep(&mut s, &mut rng);
            }
            s
        })
        .collect();
    Samples::from_rows(n, states.iter().map(|s| s.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Solver;
    use crate::exact::Exact;
    use crate::model::builders::random_model;

    /// Sample magnetisations and correlations within 5σ of the exact ones, σ capped.
    fn check_moments(m: &Model, s: &Samples) {
        let exact = Exact.solve(m).unwrap();
        let mo = s.moments();
        let count = s.len() as f64;
        for (i, &mi) in exact.magnetization.iter().enumerate() {
            let sd = ((1.0 - mi * mi) / count).sqrt();
            assert!(sd < 0.02);
            assert!((mo.mean[i] - mi).abs() < 5.0 * sd + 1e-12, "m_{i}");
        }
        let cor = exact.edge_correlation.unwrap();
        for (&(a, b), &c) in m.edges().iter().zip(&cor) {
            let sd = ((1.0 - c * c) / count).sqrt();
            let got = mo.second[(a as usize, b as usize)];
            assert!((got - c).abs() < 5.0 * sd + 1e-12, "c_{a}{b}: {got} vs {c}");
        }
    }

    #[test]
    fn exact_and_gibbs_samples_have_the_exact_moments() {
        let m = random_model(8, 0.6, 0.8, 0.3, 1.0, 4).unwrap();
        check_moments(&m, &exact_samples(&m, 20000, 1).unwrap());
        check_moments(&m, &gibbs_samples(&m, 20000, 50, 2).unwrap());
        // Reproducible from the seed.
        let a = exact_samples(&m, 100, 9).unwrap();
        let b = exact_samples(&m, 100, 9).unwrap();
        assert!(a.rows().zip(b.rows()).all(|(x, y)| x == y));
    }

    #[test]
    fn bad_requests_are_refused() {
        let m = random_model(8, 0.6, 0.8, 0.3, 1.0, 4).unwrap();
        assert!(exact_samples(&m, 0, 1).is_err());
        assert!(gibbs_samples(&m, 10, 0, 1).is_err());
        let big = random_model(21, 0.2, 0.8, 0.3, 1.0, 4).unwrap();
        assert!(exact_samples(&big, 10, 1).is_err());
    }
}
