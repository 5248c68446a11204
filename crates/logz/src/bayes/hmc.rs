//! Hamiltonian Monte Carlo on any [`LogJoint`], for reference posteriors without a closed form
//! (logistic regression).
//!
//! Leapfrog integration of H(z, p) = −log p(x, z) + |p|²/2 with a unit mass matrix (the data are
//! standardised), a random number of steps in 1..=L per iteration (which avoids periodic
//! trajectories), and a Metropolis correction so the chain targets the exact posterior. During
//! warm-up the step size is adapted on the log scale towards an acceptance rate of 0.8
//! (Robbins–Monro), then frozen. Several chains run in parallel; R̂ and ESS per parameter come
//! from [`crate::stats`].

use super::models::{Batch, LogJoint};
use crate::error::{Error, Result};
use crate::rng::{stream_seed, uniform};
use crate::runner::Runner;
use crate::stats;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

/// Options of [`hmc`].
#[derive(Debug, Clone)]
pub struct HmcOptions {
    /// Warm-up iterations per chain (step-size adaptation; their draws are discarded).
    pub warmup: usize,
    /// Draws kept per chain after warm-up (at least 10).
    pub samples: usize,
    /// Number of chains, run in parallel.
    pub chains: usize,
    /// L: each iteration takes a uniformly random number of leapfrog steps in 1..=L.
    pub max_leapfrog: usize,
    /// Base seed; chain c uses its own stream derived from (seed, c).
    pub seed: u64,
}

impl Default for HmcOptions {
    fn default() -> Self {
        HmcOptions {
            warmup: 1000,
            samples: 2000,
            chains: 4,
            max_leapfrog: 20,
            seed: 1,
        }
    }
}

/// Posterior summary from HMC.
#[derive(Debug, Clone, Serialize)]
pub struct HmcResult {
    /// Posterior means of the model's latent parameters z (its own, standardised coordinates).
    pub mean: Vec<f64>,
    /// Posterior standard deviations of z, from all chains' draws pooled.
    pub sd: Vec<f64>,
    /// Monte Carlo standard error of each mean.
    pub mcse: Vec<f64>,
    /// Potential scale reduction R̂ per parameter (near 1 when the chains agree).
    pub r_hat: Vec<f64>,
    /// Effective sample size per parameter, over all chains.
    pub ess: Vec<f64>,
    /// Mean Metropolis acceptance probability after warm-up, averaged over chains.
    pub accept_rate: f64,
    /// Leapfrog step size ε after warm-up adaptation, averaged over chains.
    pub step_size: f64,
    /// Draws (chain-major, each `dim` long), for covariances.
    #[serde(skip)]
    pub draws: Vec<Vec<f64>>,
}

fn log_joint(m: &dyn LogJoint, data: Batch, z: &[f64], g: &mut [f64]) -> f64 {
    g.iter_mut().for_each(|x| *x = 0.0);
    m.log_prior(z, g) + m.log_lik(z, data, g)
}

fn chain(
    m: &dyn LogJoint,
    data: Batch,
    o: &HmcOptions,
    c: usize,
    runner: &Runner,
) -> (Vec<Vec<f64>>, f64, f64) {
    let d = m.dim();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(o.seed, c as u64));
    let mut z: Vec<f64> = (0..d)
        .map(|_| {
            let e: f64 = StandardNormal.sample(&mut rng);
            0.1 * e
        })
        .collect();
    let mut g = vec![0.0; d];
    let mut lp = log_joint(m, data, &z, &mut g);
    let mut log_eps = (0.1f64).ln();
    let mut draws = Vec::with_capacity(o.samples);
    let mut accepted = 0.0;
    let (mut zn, mut gn, mut p) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    for it in 0..o.warmup + o.samples {
        if runner.interrupted().is_some() {
            // Out of time or stopped: `hmc` trims the chains to the draws all of them made.
            break;
        }
        let eps = log_eps.exp();
        for v in p.iter_mut() {
            *v = StandardNormal.sample(&mut rng);
        }
        let h0 = -lp + 0.5 * p.iter().map(|v| v * v).sum::<f64>();
        zn.copy_from_slice(&z);
        gn.copy_from_slice(&g);
        let steps = 1 + (uniform(&mut rng) * o.max_leapfrog as f64) as usize;
        let mut lpn = lp;
        for _ in 0..steps {
            for j in 0..d {
                p[j] += 0.5 * eps * gn[j];
                zn[j] += eps * p[j];
            }
            lpn = log_joint(m, data, &zn, &mut gn);
            for j in 0..d {
                p[j] += 0.5 * eps * gn[j];
            }
        }
        let h1 = -lpn + 0.5 * p.iter().map(|v| v * v).sum::<f64>();
        let a = if h1.is_finite() {
            (h0 - h1).exp().min(1.0)
        } else {
            0.0
        };
        if uniform(&mut rng) < a {
            z.copy_from_slice(&zn);
            g.copy_from_slice(&gn);
            lp = lpn;
        }
        if it < o.warmup {
            // Robbins–Monro on log ε towards acceptance 0.8.
            log_eps += (a - 0.8) / (1.0 + it as f64).powf(0.6);
        } else {
            accepted += a;
            draws.push(z.clone());
        }
    }
    let kept = draws.len().max(1) as f64;
    (draws, accepted / kept, log_eps.exp())
}

/// Run HMC chains in parallel on the full data.
/// Under `runner`: when it stops the run, the chains keep the draws all of them made (at
/// least 10 after warm-up, else an error).
pub fn hmc(m: &dyn LogJoint, data: Batch, o: &HmcOptions, runner: &Runner) -> Result<HmcResult> {
    if o.samples < 10 || o.chains == 0 || o.max_leapfrog == 0 {
        return Err(Error::InvalidArgument(
            "hmc needs ≥ 10 samples, ≥ 1 chain and ≥ 1 leapfrog step".into(),
        ));
    }
    let mut runs: Vec<_> = (0..o.chains)
        .into_par_iter()
        .map(|c| chain(m, data, o, c, runner))
        .collect();
    let kept = runs.iter().map(|x| x.0.len()).min().unwrap_or(0);
    if kept < 10 {
        return Err(Error::OverBudget {
            what: "hmc".into(),
            reason: format!(
                "stopped after {kept} draws past the warm-up ({} iterations); at least 10 are \
                 needed: allow more time or a shorter --warmup",
                o.warmup
            ),
        });
    }
    runs.iter_mut().for_each(|x| x.0.truncate(kept));
    let d = m.dim();
    let mut r = HmcResult {
        mean: vec![0.0; d],
        sd: vec![0.0; d],
        mcse: vec![0.0; d],
        r_hat: vec![0.0; d],
        ess: vec![0.0; d],
        accept_rate: runs.iter().map(|x| x.1).sum::<f64>() / o.chains as f64,
        step_size: runs.iter().map(|x| x.2).sum::<f64>() / o.chains as f64,
        draws: runs.iter().flat_map(|x| x.0.iter().cloned()).collect(),
    };
    for j in 0..d {
        let series: Vec<Vec<f64>> = runs
            .iter()
            .map(|x| x.0.iter().map(|z| z[j]).collect())
            .collect();
        let per: Vec<_> = series.iter().map(|s| stats::analyze(s)).collect();
        let pooled = stats::pool(&per);
        let all: Vec<f64> = series.concat();
        let (mean, var) = stats::mean_var(&all);
        r.mean[j] = mean;
        r.sd[j] = var.sqrt();
        r.mcse[j] = pooled.std_err;
        r.ess[j] = pooled.ess;
        let refs: Vec<&[f64]> = series.iter().map(|s| s.as_slice()).collect();
        r.r_hat[j] = stats::r_hat(&refs);
    }
    Ok(r)
}
