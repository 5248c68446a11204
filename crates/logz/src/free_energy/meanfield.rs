//! Naive mean field: q(s) = Π_i q_i(s_i) with means m_i.
//!
//! The ELBO of this family, E_q\[−βE(s)\] + H\[q\]
//!   = β(Σ_(ij) J_ij m_i m_j + Σ_i h_i m_i − E₀) + Σ_i H(m_i),
//! is exactly the Gibbs–Bogoliubov–Feynman bound ln Z ≥ ln Z_MF − β⟨E − E_MF⟩_MF for the trial
//! Hamiltonian E_MF = −Σ_i λ_i s_i with m_i = tanh(βλ_i) ([`gbf_bound`] computes it in the
//! physicist's form; the tests check they agree to rounding). Maximising over λ gives
//! λ_i = h_i + Σ_j J_ij m_j: the mean-field equations.
//!
//! Coordinate ascent sets m_i to its exact maximiser tanh(β f_i) one spin at a time, so the
//! ELBO never decreases (with damping the step is a convex combination towards that maximiser,
//! which also cannot decrease a function concave in m_i). The reported ln Z is the ELBO at the
//! returned q, so it is a rigorous lower bound whatever the convergence state.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::numeric::{ln_2cosh, spin_entropy};
use crate::runner::{Iteration, Runner, Termination};
use rand::SeedableRng;
use rand_distr::{Distribution, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Naive mean-field solver.
#[derive(Debug, Clone)]
pub struct MeanField {
    /// Stop when no magnetisation moves by more than this in a sweep.
    pub tol: f64,
    /// Most sweeps per start.
    pub max_sweeps: usize,
    /// Weight of the old value in each update (0 = plain coordinate ascent).
    pub damping: f64,
    /// Number of random starts in addition to paramagnetic, all-up and all-down.
    pub random_starts: usize,
    /// Seed of the random starts.
    pub seed: u64,
}

impl Default for MeanField {
    fn default() -> Self {
        MeanField {
            tol: 1e-12,
            max_sweeps: 20_000,
            damping: 0.0,
            random_starts: 2,
            seed: 0,
        }
    }
}

/// The ELBO E_q\[−βE\] + H\[q\] of the factorised family with means `m`.
pub fn elbo(model: &Model, m: &[f64]) -> f64 {
    let b = model.beta();
    let mut energy = model.energy_offset();
    for (k, &(i, j)) in model.edges().iter().enumerate() {
        energy -= model.couplings()[k] * m[i as usize] * m[j as usize];
    }
    for (i, &h) in model.fields().iter().enumerate() {
        energy -= h * m[i];
    }
    -b * energy + m.iter().map(|&x| spin_entropy(x)).sum::<f64>()
}

/// The Gibbs–Bogoliubov–Feynman bound for the trial Hamiltonian E_MF = −Σ λ_i s_i:
/// ln Z_MF − β⟨E − E_MF⟩_MF with ln Z_MF = Σ ln 2cosh(βλ_i) and ⟨s_i⟩_MF = tanh(βλ_i).
pub fn gbf_bound(model: &Model, lambda: &[f64]) -> f64 {
    let b = model.beta();
    let m: Vec<f64> = lambda.iter().map(|l| (b * l).tanh()).collect();
    let ln_z_mf: f64 = lambda.iter().map(|l| ln_2cosh(b * l)).sum();
    let mut e = model.energy_offset(); // ⟨E⟩_MF
    for (k, &(i, j)) in model.edges().iter().enumerate() {
        e -= model.couplings()[k] * m[i as usize] * m[j as usize];
    }
    for (i, &h) in model.fields().iter().enumerate() {
        e -= h * m[i];
    }
    let e_mf: f64 = -lambda.iter().zip(&m).map(|(l, mi)| l * mi).sum::<f64>();
    ln_z_mf - b * (e - e_mf)
}

impl MeanField {
    fn validate(&self) -> Result<()> {
        if self.tol.is_nan() || self.tol <= 0.0 || !(0.0..1.0).contains(&self.damping) {
            return Err(Error::arg("mean field needs tol > 0 and 0 ≤ damping < 1"));
        }
        Ok(())
    }

    /// Coordinate ascent from `m`; returns (sweeps, converged). On a uniform square torus the
    /// vectorised red–black kernel of [`super::lattice`] runs instead (also coordinate ascent).
    pub fn ascend(&self, model: &Model, m: &mut [f64]) -> (usize, bool) {
        let (sweeps, t) = self.ascend_with(model, m, &Runner::new());
        (sweeps, t == Termination::Converged)
    }

    /// [`MeanField::ascend`] under a runner: every sweep is reported (with the largest change
    /// of a magnetisation) and the runner may stop the ascent; `m` is then the last iterate,
    /// whose ELBO is still a lower bound on ln Z.
    pub fn ascend_with(
        &self,
        model: &Model,
        m: &mut [f64],
        runner: &Runner,
    ) -> (usize, Termination) {
        let report =
            |sweep: usize, delta: f64| runner.iterate(Iteration::new("mf", sweep).change(delta));
        if let Some(mut lat) = super::lattice::LatticeMf::new(model, m) {
            for sweep in 1..=self.max_sweeps {
                let delta = lat.sweep(self.damping);
                if delta < self.tol {
                    m.copy_from_slice(&lat.magnetization());
                    return (sweep, Termination::Converged);
                }
                if let Some(t) = report(sweep, delta) {
                    m.copy_from_slice(&lat.magnetization());
                    return (sweep, t);
                }
            }
            m.copy_from_slice(&lat.magnetization());
            return (self.max_sweeps, Termination::MaxIterations);
        }
        let b = model.beta();
        for sweep in 1..=self.max_sweeps {
            let mut delta: f64 = 0.0;
            for i in 0..model.n() {
                let target = (b * model.local_field_mean(m, i)).tanh();
                let new = self.damping * m[i] + (1.0 - self.damping) * target;
                delta = delta.max((target - m[i]).abs());
                m[i] = new;
            }
            if delta < self.tol {
                return (sweep, Termination::Converged);
            }
            if let Some(t) = report(sweep, delta) {
                return (sweep, t);
            }
        }
        (self.max_sweeps, Termination::MaxIterations)
    }

    /// All starts; returns the best (ELBO, m, sweeps, converged).
    pub fn run(&self, model: &Model, runner: &Runner) -> Result<Estimate> {
        self.validate()?;
        let n = model.n();
        let mut starts: Vec<(&str, Vec<f64>)> = vec![
            ("paramagnetic", vec![0.0; n]),
            ("all up", vec![1.0; n]),
            ("all down", vec![-1.0; n]),
        ];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let u = Uniform::new(-1.0f64, 1.0).map_err(|e| Error::arg(e.to_string()))?;
        for _ in 0..self.random_starts {
            starts.push(("random", (0..n).map(|_| u.sample(&mut rng)).collect()));
        }
        runner.start(starts.len() as u64, "mean field");
        let mut best: Option<(f64, Vec<f64>, Termination, &str)> = None;
        let mut total_sweeps = 0;
        for (name, mut m) in starts {
            let (sweeps, t) = self.ascend_with(model, &mut m, runner);
            total_sweeps += sweeps;
            let l = elbo(model, &m);
            if best.as_ref().is_none_or(|b| l > b.0) {
                best = Some((l, m, t, name));
            }
            runner.advance(1);
            if t.interrupted() {
                // Out of time (or told to stop): the best start so far is the answer.
                break;
            }
        }
        let (l, m, termination, name) = best.expect("at least one start");
        let conv = termination == Termination::Converged;
        let mut est = Estimate::new(
            l,
            EstimateKind::LowerBound,
            "naive mean field (coordinate ascent)",
        );
        est.edge_correlation = Some(
            model
                .edges()
                .iter()
                .map(|&(i, j)| m[i as usize] * m[j as usize])
                .collect(),
        );
        est.energy = Some(model.mean_energy(&m, est.edge_correlation.as_deref().unwrap_or(&[])));
        est.magnetization = m;
        est.diagnostics.iterations = total_sweeps;
        est.diagnostics.converged = conv;
        est.diagnostics.termination = runner.stopped().unwrap_or(termination);
        est.diagnostics
            .notes
            .push(format!("best of the starts: {name}"));
        if !conv {
            est.diagnostics
                .notes
                .push("not converged: the bound holds but may be loose".into());
        }
        Ok(est)
    }
}

impl Solver for MeanField {
    fn name(&self) -> &'static str {
        "mf"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        self.run(m, runner)
    }
}
