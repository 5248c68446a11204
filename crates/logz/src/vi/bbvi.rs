//! Black-box VI for spins: the fully factorised Bernoulli family trained by score-function
//! (REINFORCE) gradients — machine learning's route to physics' mean-field answer.
//!
//! q(s) = Π_i e^{φ_i s_i}/(2cosh φ_i), so ⟨s_i⟩_q = tanh φ_i and ∇_{φ_i} log q(s) = s_i − tanh φ_i.
//! The ELBO is E_q[−βE(s) − log q(s)]; its gradient E_q[(f(s) − b)∇ log q(s)] with
//! f = −βE − log q is estimated from S samples with a leave-one-out mean as the baseline b
//! (a control variate that keeps the estimator unbiased). Adam with a decaying step, and
//! Polyak averaging of φ over the last quarter of the steps. No derivative of the energy is ever
//! taken — that is the "black box". Because q factorises, the ELBO of the final q is evaluated
//! exactly (it is the GBF bound at m = tanh φ), so the answer is a rigorous lower bound; its
//! distance from the coordinate-ascent bound measures what the stochastic optimiser left.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, Kind, Progress, Solver};
use crate::mc::local::uniform;
use crate::model::Model;
use crate::variational::meanfield;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Debug, Clone)]
pub struct Bbvi {
    pub steps: usize,
    /// Samples per step.
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for Bbvi {
    fn default() -> Self {
        Bbvi {
            steps: 3000,
            batch: 64,
            lr: 0.05,
            seed: 1,
        }
    }
}

impl Solver for Bbvi {
    fn name(&self) -> &'static str {
        "bbvi"
    }

    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
        let n = m.n();
        if self.batch < 2 || self.steps == 0 || !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "bbvi needs batch ≥ 2, steps ≥ 1 and a finite lr > 0 (got batch {}, steps {}, \
                 lr {})",
                self.batch, self.steps, self.lr
            )));
        }
        check_budget(m, self.steps, self.batch)?;
        let beta = m.beta();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        // A small random start breaks the s → −s symmetry, as coordinate ascent's starts do.
        let mut phi: Vec<f64> = (0..n).map(|_| 0.1 * (uniform(&mut rng) - 0.5)).collect();
        let mut adam = super::Adam::new(n);
        let mut avg = vec![0.0; n];
        let tail = self.steps - self.steps / 4;
        let mut samples = vec![vec![0i8; n]; self.batch];
        let mut f = vec![0.0; self.batch];
        progress.start(self.steps as u64, "BBVI steps");
        for t in 1..=self.steps {
            let mag: Vec<f64> = phi.iter().map(|p| p.tanh()).collect();
            for (k, s) in samples.iter_mut().enumerate() {
                let mut log_q = 0.0;
                for i in 0..n {
                    let p_up = 0.5 * (1.0 + mag[i]);
                    s[i] = if uniform(&mut rng) < p_up { 1 } else { -1 };
                    log_q += s[i] as f64 * phi[i] - crate::numeric::ln_2cosh(phi[i]);
                }
                f[k] = -beta * m.energy(s) - log_q;
            }
            let total: f64 = f.iter().sum();
            let b = self.batch as f64;
            let mut grad = vec![0.0; n];
            for (k, s) in samples.iter().enumerate() {
                let w = (f[k] - (total - f[k]) / (b - 1.0)) / b;
                for i in 0..n {
                    grad[i] += w * (s[i] as f64 - mag[i]);
                }
            }
            adam.step(&mut phi, &grad, self.lr / (1.0 + t as f64 / 500.0).sqrt());
            // Keep the logits finite: |φ| ≤ 20 is |m| ≥ 1 − 10⁻¹⁷.
            phi.iter_mut().for_each(|p| *p = p.clamp(-20.0, 20.0));
            if t > tail {
                for i in 0..n {
                    avg[i] += phi[i] / (self.steps - tail) as f64;
                }
            }
            if t % 100 == 0 {
                progress.message(&format!("ELBO ≈ {:.4}", total / b));
                progress.advance(100);
            }
        }
        progress.finish();
        let mag: Vec<f64> = avg.iter().map(|p| p.tanh()).collect();
        let lnz = meanfield::elbo(m, &mag);
        let mut e = Estimate::new(lnz, Kind::LowerBound, "bbvi (score-function, factorised)");
        e.energy = Some({
            let corr: Vec<f64> = m
                .edges()
                .iter()
                .map(|&(i, j)| mag[i as usize] * mag[j as usize])
                .collect();
            m.mean_energy(&mag, &corr)
        });
        e.edge_correlation = Some(
            m.edges()
                .iter()
                .map(|&(i, j)| mag[i as usize] * mag[j as usize])
                .collect(),
        );
        e.magnetization = mag;
        e.diagnostics.iterations = self.steps;
        e.diagnostics.converged = true;
        e.diagnostics.notes.push(format!(
            "{} steps × {} samples, leave-one-out baseline, Adam; ELBO of the averaged q evaluated exactly",
            self.steps, self.batch
        ));
        Ok(e)
    }
}

/// Check a run against the memory and time budgets ([`crate::limits`]) before anything is
/// allocated: a batch of samples (n spins each, with its score) is held at once, and every step
/// draws and scores the batch (a random number and a log q term per spin, the energy per edge).
fn check_budget(m: &Model, steps: usize, batch: usize) -> Result<()> {
    let limits = crate::limits::Limits::current();
    let (n, e) = (m.n() as f64, m.num_edges() as f64);
    let what = format!("{steps} steps × {batch} samples of {} spins", m.n());
    limits.check_memory(
        "bbvi",
        &format!("a batch of {batch} samples of {} spins", m.n()),
        batch as f64 * (n + 40.0) + 64.0 * n,
    )?;
    limits.check_work("bbvi", &what, steps as f64 * batch as f64 * (12.0 * n + e))
}
