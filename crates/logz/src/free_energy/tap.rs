//! TAP: the second-order Plefka (high-temperature) expansion of the Gibbs free energy.
//!
//! −βF_TAP(m) = Σ_i H(m_i) + β(Σ_i h_i m_i + Σ_(ij) J_ij m_i m_j − E₀)
//!              + (β²/2) Σ_(ij) J_ij² (1 − m_i²)(1 − m_j²),
//! whose stationarity conditions are the TAP equations
//!   m_i = tanh(β h_i + β Σ_j J_ij m_j − β² m_i Σ_j J_ij² (1 − m_j²))
//! with the Onsager reaction term. Truncating the expansion makes the result an uncontrolled
//! approximation (kind = approximation). The expansion is trusted while Plefka's condition
//! β² max_i Σ_j J_ij²(1 − m_i²)(1 − m_j²) < 1 holds; otherwise a warning is attached.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::numeric::spin_entropy;
use crate::runner::{Iteration, Runner, Termination};

/// The TAP solver: the TAP equations of the module docs, iterated with damping.
#[derive(Debug, Clone)]
pub struct Tap {
    /// Stop when no magnetisation moves by more than this in a sweep.
    pub tol: f64,
    /// Most sweeps.
    pub max_sweeps: usize,
    /// Weight of the old value in each update, in [0, 1).
    pub damping: f64,
}

impl Default for Tap {
    fn default() -> Self {
        Tap {
            tol: 1e-11,
            max_sweeps: 20_000,
            damping: 0.5,
        }
    }
}

/// −βF_TAP at magnetisations m (the TAP estimate of ln Z).
pub fn tap_ln_z(model: &Model, m: &[f64]) -> f64 {
    let b = model.beta();
    let mut s = -b * model.energy_offset();
    for (k, &(i, j)) in model.edges().iter().enumerate() {
        let (mi, mj) = (m[i as usize], m[j as usize]);
        let jj = model.couplings()[k];
        s += b * jj * mi * mj + 0.5 * b * b * jj * jj * (1.0 - mi * mi) * (1.0 - mj * mj);
    }
    for (i, &h) in model.fields().iter().enumerate() {
        s += b * h * m[i] + spin_entropy(m[i]);
    }
    s
}

impl Tap {
    fn ascend(&self, model: &Model, m: &mut [f64], runner: &Runner) -> (usize, Termination) {
        let b = model.beta();
        for sweep in 1..=self.max_sweeps {
            let mut delta: f64 = 0.0;
            for i in 0..model.n() {
                let mut f = model.fields()[i];
                let mut react = 0.0;
                for &(j, e) in model.neighbors(i) {
                    let jj = model.couplings()[e as usize];
                    let mj = m[j as usize];
                    f += jj * mj;
                    react += jj * jj * (1.0 - mj * mj);
                }
                let target = (b * f - b * b * m[i] * react).tanh();
                delta = delta.max((target - m[i]).abs());
                m[i] = self.damping * m[i] + (1.0 - self.damping) * target;
            }
            if !delta.is_finite() {
                return (sweep, Termination::Diverged);
            }
            if delta < self.tol {
                return (sweep, Termination::Converged);
            }
            if let Some(t) = runner.iterate(Iteration::new("tap", sweep).change(delta)) {
                return (sweep, t);
            }
        }
        (self.max_sweeps, Termination::MaxIterations)
    }
}

impl Solver for Tap {
    fn name(&self) -> &'static str {
        "tap"
    }
    fn solve_with(&self, model: &Model, runner: &Runner) -> Result<Estimate> {
        if self.tol.is_nan() || self.tol <= 0.0 || !(0.0..1.0).contains(&self.damping) {
            return Err(Error::arg("TAP needs tol > 0 and 0 ≤ damping < 1"));
        }
        let n = model.n();
        // Start from the mean-field solution (all up / all down / paramagnetic) and keep the
        // converged fixed point with the largest −βF (the lowest TAP free energy).
        let starts = [vec![0.0; n], vec![1.0; n], vec![-1.0; n]];
        runner.start(starts.len() as u64, "TAP");
        let mut best: Option<(f64, Vec<f64>, Termination, bool)> = None;
        let mut total = 0;
        for s0 in starts {
            let mut m = s0;
            let (sw, term) = self.ascend(model, &mut m, runner);
            let conv = term == Termination::Converged;
            total += sw;
            let l = tap_ln_z(model, &m);
            let better = match &best {
                None => true,
                Some(b) => (conv && !b.3) || (conv == b.3 && l > b.0),
            };
            if l.is_finite() && better {
                best = Some((l, m, term, conv));
            }
            runner.advance(1);
            if term.interrupted() {
                break;
            }
        }
        let (l, m, termination, conv) = best.ok_or_else(|| Error::NotApplicable {
            method: "tap",
            reason: "the TAP iteration diverged from every start".into(),
        })?;
        let b = model.beta();
        let mut plefka: f64 = 0.0;
        for i in 0..n {
            let s: f64 = model
                .neighbors(i)
                .iter()
                .map(|&(j, e)| {
                    model.couplings()[e as usize].powi(2) * (1.0 - m[j as usize].powi(2))
                })
                .sum();
            plefka = plefka.max(b * b * (1.0 - m[i] * m[i]) * s);
        }
        let mut est = Estimate::new(l, EstimateKind::Approximation, "TAP (second-order Plefka)");
        est.diagnostics.iterations = total;
        est.diagnostics.converged = conv;
        est.diagnostics.termination = runner.stopped().unwrap_or(termination);
        if plefka >= 1.0 {
            est.diagnostics.notes.push(format!(
                "warning: Plefka's validity condition fails (β² max_i Σ_j J_ij²(1−m_i²)(1−m_j²) = {plefka:.3} ≥ 1); \
                 the expansion is not trustworthy here"
            ));
        }
        if !conv {
            est.diagnostics
                .notes
                .push("TAP equations did not converge".into());
        }
        est.magnetization = m;
        Ok(est)
    }
}
