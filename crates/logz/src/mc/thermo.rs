//! ln Z from samples: thermodynamic integration and annealed importance sampling.
//!
//! Both follow the path E_λ(s) = E₀ − λ B(s) − Σ_i h_i s_i with B(s) = Σ_(ij) J_ij s_i s_j, from
//! λ = 0 (independent spins in their fields) to λ = 1 (the model). At λ = 0 the sum factorises:
//!   ln Z_0 = −βE₀ + Σ_i ln Σ_{s=±1} e^{βh_i s} = −βE₀ + Σ_i ln 2cosh(βh_i),
//! which is N ln 2 when there is no field. Along the path d ln Z_λ / dλ = β ⟨B⟩_λ, so
//!   ln Z = ln Z_0 + β ∫₀¹ ⟨B⟩_λ dλ.
//! Starting from the fields rather than from β = 0 keeps strong fields exact instead of
//! integrating them numerically.
//!
//! - Thermodynamic integration samples ⟨B⟩ on a uniform λ grid (replica exchange between
//!   neighbouring rungs keeps frustrated models mixing) and integrates with Simpson's rule.
//!   The statistical error comes from τ_int of the *per-sweep integral* Σ_k w_k B_k(t), which
//!   includes the correlations between rungs that replica exchange creates; the quadrature error
//!   is estimated by Richardson extrapolation against Simpson on every other rung, and both are
//!   added in quadrature into the reported standard error.
//! - Annealed importance sampling (Neal 2001) runs R independent annealing runs over λ_0 < … <
//!   λ_T = 1, accumulating log w = Σ_t β(λ_t − λ_{t−1}) B(s_{t−1}) with one Metropolis sweep at
//!   each λ_t. E[w] = Z/Z_0 exactly; ln of the mean is biased low by about Var(w)/(2R·E[w]²),
//!   which the delta-method standard error σ_w/(√R·w̄) also measures. The weights' effective
//!   sample size is reported.

use super::local::{Local, Rule, Scan};
use super::stats;
use super::stream_seed;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Kind, Progress, Solver};
use crate::model::Model;
use crate::numeric::{ln_2cosh, log_sum_exp};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// ln Z at λ = 0: independent spins in their fields.
pub fn ln_z0(m: &Model) -> f64 {
    let b = m.beta();
    -b * m.energy_offset() + m.fields().iter().map(|&h| ln_2cosh(b * h)).sum::<f64>()
}

/// B(s) = Σ_(ij) J_ij s_i s_j.
fn bond_sum(m: &Model, s: &[i8]) -> f64 {
    m.edges()
        .iter()
        .zip(m.couplings())
        .map(|(&(i, j), &c)| c * (s[i as usize] * s[j as usize]) as f64)
        .sum()
}

/// A sample from the λ = 0 distribution: P(s_i = +1) = 1/(1 + e^{−2βh_i}).
fn sample_fields<R: Rng>(m: &Model, rng: &mut R) -> Vec<i8> {
    let b = m.beta();
    m.fields()
        .iter()
        .map(|&h| {
            let p_up = 1.0 / (1.0 + (-2.0 * b * h).exp());
            if super::local::uniform(rng) < p_up {
                1
            } else {
                -1
            }
        })
        .collect()
}

fn check(m: &Model, method: &'static str) -> Result<()> {
    if m.n() == 0 {
        return Err(Error::NotApplicable {
            method,
            reason: "the model has no spins".into(),
        });
    }
    Ok(())
}

/// Thermodynamic integration over the coupling strength with replica exchange.
#[derive(Debug, Clone)]
pub struct ThermodynamicIntegration {
    /// Number of λ rungs; must be 4k + 1 (Simpson on the grid and on every other rung).
    pub rungs: usize,
    pub sweeps: usize,
    pub burn_in: usize,
    pub seed: u64,
}

impl Default for ThermodynamicIntegration {
    fn default() -> Self {
        ThermodynamicIntegration {
            rungs: 33,
            sweeps: 4000,
            burn_in: 500,
            seed: 1,
        }
    }
}

/// Composite Simpson weights on a uniform grid of `k` (odd) points over [0, 1].
fn simpson_weights(k: usize) -> Vec<f64> {
    let h = 1.0 / (k - 1) as f64;
    (0..k)
        .map(|i| {
            let w = if i == 0 || i == k - 1 {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            w * h / 3.0
        })
        .collect()
}

impl Solver for ThermodynamicIntegration {
    fn name(&self) -> &'static str {
        "ti"
    }

    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
        check(m, "ti")?;
        let k = self.rungs;
        if k < 5 || !(k - 1).is_multiple_of(4) {
            return Err(Error::InvalidArgument(format!(
                "ti needs 4k + 1 rungs (5, 9, 17, 33, 65, …), got {k}"
            )));
        }
        if self.sweeps < 100 {
            return Err(Error::InvalidArgument("ti needs at least 100 sweeps".into()));
        }
        let beta = m.beta();
        let lambda: Vec<f64> = (0..k).map(|i| i as f64 / (k - 1) as f64).collect();
        let fine = simpson_weights(k);
        let coarse_w = simpson_weights((k - 1) / 2 + 1);
        let mut coarse = vec![0.0; k];
        for (i, w) in coarse_w.iter().enumerate() {
            coarse[2 * i] = *w;
        }
        // Each rung slot owns its random stream; states move between slots on swaps.
        let mut slots: Vec<(Vec<i8>, Xoshiro256PlusPlus)> = (0..k)
            .map(|r| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(self.seed, r as u64));
                (sample_fields(m, &mut rng), rng)
            })
            .collect();
        let mut swap_rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(self.seed, u64::MAX));
        let mut bonds = vec![0.0; k];
        let (mut fine_trace, mut coarse_trace) = (Vec::new(), Vec::new());
        let mut top_spin = vec![0.0; m.n()];
        let mut top_edge = vec![0.0; m.num_edges()];
        let mut top_energy = 0.0;
        let mut top_abs = 0.0;
        let (mut swaps, mut tries) = (vec![0usize; k - 1], vec![0usize; k - 1]);
        let total = self.burn_in + self.sweeps;
        progress.start(total as u64, "sweeps");
        for t in 0..total {
            slots
                .par_iter_mut()
                .zip(bonds.par_iter_mut())
                .enumerate()
                .for_each(|(r, ((s, rng), b))| {
                    Local::with_scale(m, Rule::Metropolis, Scan::Sequential, lambda[r]).sweep(s, rng);
                    *b = bond_sum(m, s);
                });
            for r in (t % 2..k - 1).step_by(2) {
                tries[r] += 1;
                let x = beta * (lambda[r + 1] - lambda[r]) * (bonds[r] - bonds[r + 1]);
                if x >= 0.0 || super::local::uniform(&mut swap_rng) < x.exp() {
                    slots.swap(r, r + 1);
                    bonds.swap(r, r + 1);
                    swaps[r] += 1;
                }
            }
            if t >= self.burn_in {
                let f: f64 = fine.iter().zip(&bonds).map(|(w, b)| w * b).sum();
                let c: f64 = coarse.iter().zip(&bonds).map(|(w, b)| w * b).sum();
                fine_trace.push(beta * f);
                coarse_trace.push(beta * c);
                let s = &slots[k - 1].0;
                top_energy += m.energy(s);
                top_abs += (s.iter().map(|&x| x as f64).sum::<f64>() / m.n() as f64).abs();
                for (a, &x) in top_spin.iter_mut().zip(s) {
                    *a += x as f64;
                }
                for (a, &(i, j)) in top_edge.iter_mut().zip(m.edges()) {
                    *a += (s[i as usize] * s[j as usize]) as f64;
                }
            }
            progress.advance(1);
        }
        progress.finish();
        let fs = stats::analyze(&fine_trace);
        let diff: Vec<f64> = fine_trace.iter().zip(&coarse_trace).map(|(a, b)| a - b).collect();
        let ds = stats::analyze(&diff);
        // Richardson: Simpson's error is O(h⁴), so I − I_h ≈ (I_h − I_2h)/15.
        let quad = ds.mean.abs() / 15.0;
        let std_err = (fs.std_err * fs.std_err + quad * quad).sqrt();
        let ns = self.sweeps as f64;
        let mut e = Estimate::new(ln_z0(m) + fs.mean, Kind::Stochastic { std_err }, "ti");
        e.magnetization = top_spin.iter().map(|x| x / ns).collect();
        e.edge_correlation = Some(top_edge.iter().map(|x| x / ns).collect());
        e.energy = Some(top_energy / ns);
        e.abs_magnetization = Some(top_abs / ns);
        e.diagnostics.iterations = total;
        e.diagnostics.converged = fs.reliable;
        let min_swap = swaps
            .iter()
            .zip(&tries)
            .map(|(&a, &n)| a as f64 / n.max(1) as f64)
            .fold(1.0, f64::min);
        e.diagnostics.notes.push(format!(
            "{k} λ-rungs × {} sweeps (replica exchange, lowest swap rate {min_swap:.2}); \
             statistical error {:.3e} (τ_int = {:.1} sweeps), quadrature error {quad:.3e}",
            self.sweeps, fs.std_err, fs.tau_int
        ));
        if !fs.reliable {
            e.diagnostics
                .notes
                .push("the run is too short for a reliable τ_int: increase --sweeps".into());
        }
        if min_swap < 0.05 {
            e.diagnostics
                .notes
                .push("some neighbouring rungs rarely swap: increase --rungs".into());
        }
        Ok(e)
    }
}

/// Annealed importance sampling from the fields-only model to the full model.
#[derive(Debug, Clone)]
pub struct Ais {
    /// Number of intermediate distributions (one Metropolis sweep each).
    pub steps: usize,
    /// Number of independent annealing runs.
    pub runs: usize,
    pub seed: u64,
}

impl Default for Ais {
    fn default() -> Self {
        Ais {
            steps: 2000,
            runs: 64,
            seed: 1,
        }
    }
}

impl Ais {
    /// The log importance weight of one annealing run.
    fn run(&self, m: &Model, r: usize) -> f64 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(self.seed, r as u64));
        let mut s = sample_fields(m, &mut rng);
        let b = m.beta();
        let mut log_w = 0.0;
        for t in 1..=self.steps {
            let (prev, next) = (
                (t - 1) as f64 / self.steps as f64,
                t as f64 / self.steps as f64,
            );
            log_w += b * (next - prev) * bond_sum(m, &s);
            Local::with_scale(m, Rule::Metropolis, Scan::Sequential, next).sweep(&mut s, &mut rng);
        }
        log_w
    }
}

impl Solver for Ais {
    fn name(&self) -> &'static str {
        "ais"
    }

    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
        check(m, "ais")?;
        if self.steps == 0 || self.runs < 2 {
            return Err(Error::InvalidArgument(
                "ais needs ≥ 1 step and ≥ 2 runs".into(),
            ));
        }
        progress.start((self.steps * self.runs) as u64, "annealing sweeps");
        let log_w: Vec<f64> = (0..self.runs)
            .into_par_iter()
            .map(|r| {
                let w = self.run(m, r);
                progress.advance(self.steps as u64);
                w
            })
            .collect();
        progress.finish();
        let r = self.runs as f64;
        let lse = log_sum_exp(&log_w);
        let max = log_w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = log_w.iter().map(|x| (x - max).exp()).collect();
        let (mean, var) = stats::mean_var(&w);
        let sd = (var * r / (r - 1.0)).sqrt();
        let std_err = sd / (r.sqrt() * mean);
        let ess = w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>();
        let mut e = Estimate::new(
            ln_z0(m) + lse - r.ln(),
            Kind::Stochastic { std_err },
            "ais",
        );
        e.diagnostics.iterations = self.steps * self.runs;
        e.diagnostics.converged = ess >= 0.1 * r;
        e.diagnostics.notes.push(format!(
            "{} runs × {} annealing steps; weight ESS {ess:.1} of {}",
            self.runs, self.steps, self.runs
        ));
        if ess < 0.1 * r {
            e.diagnostics.notes.push(
                "few runs carry the weight: the error bar is unreliable; increase --steps".into(),
            );
        }
        Ok(e)
    }
}
