//! Annealed importance sampling (Neal 2001) runs R independent annealing runs over λ_0 < … <
//! λ_T = 1, accumulating log w = Σ_t β(λ_t − λ_{t−1}) B(s_{t−1}) with one Metropolis sweep at
//! each λ_t. E\[w\] = Z/Z_0 exactly; ln of the mean is biased low by about Var(w)/(2R·E\[w\]²),
//! which the delta-method standard error σ_w/(√R·w̄) also measures. The weights' effective
//! sample size is reported.
//!
//! The path and its λ = 0 end are in [`super::path`].

use super::cluster::SwendsenWang;
use super::local::{Local, Rule, Scan};
use super::path::{bond_sum, check, ln_z0, residual, sample_fields};
use crate::distributed::{self, agree};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::rng::stream_seed;
use crate::runner::{Iteration, Runner, Termination};
use crate::stats;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Annealed importance sampling from the fields-only model to the full model.
#[derive(Debug, Clone)]
pub struct Ais {
    /// Number of intermediate distributions (one Metropolis sweep each).
    pub steps: usize,
    /// Number of independent annealing runs.
    pub runs: usize,
    /// How many times the schedule may be doubled while the estimate still moves.
    pub doublings: usize,
    /// Seed of the random streams (every run derives its own).
    pub seed: u64,
}

impl Default for Ais {
    fn default() -> Self {
        Ais {
            steps: 1000,
            runs: 64,
            doublings: 5,
            seed: 1,
        }
    }
}

impl Ais {
    /// The budget for one point of a β sweep (`logz compare`): a quarter of the steps and half
    /// the runs of [`Default`], for error bars about three times wider. The schedule still
    /// doubles until two passes agree, which decides `converged`.
    pub fn sweep_point() -> Self {
        Ais {
            steps: 250,
            runs: 32,
            doublings: 4,
            seed: 1,
        }
    }

    /// The log importance weight of one annealing run.
    fn run(&self, m: &Model, r: usize, cluster: bool) -> Result<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(self.seed, r as u64));
        let mut s = sample_fields(m, &mut rng);
        let b = m.beta();
        let mut log_w = 0.0;
        let mut sw = if cluster {
            Some(SwendsenWang::with_scale(m, 0.0)?)
        } else {
            None
        };
        for t in 1..=self.steps {
            let (prev, next) = (
                (t - 1) as f64 / self.steps as f64,
                t as f64 / self.steps as f64,
            );
            log_w += b * (next - prev) * bond_sum(m, &s);
            // Any transition that leaves p_λ invariant is valid; cluster moves (when the
            // couplings allow them) keep the walker near equilibrium through sharp transitions.
            if let Some(sw) = &mut sw {
                sw.set_scale(next);
                sw.sweep(&mut s, &mut rng);
            }
            Local::with_scale(m, Rule::Metropolis, Scan::Sequential, next).sweep(&mut s, &mut rng);
        }
        Ok(log_w)
    }
}

/// One AIS pass: (ln Ẑ, its delta-method standard error, weight ESS).
struct AisPass {
    ln_z: f64,
    std_err: f64,
    ess: f64,
    /// Runs finished (fewer than planned when the runner stopped the pass).
    runs: usize,
    /// PSIS k̂ of the annealing weights (NaN with fewer than 10 runs or tied weights).
    khat: f64,
}

impl Ais {
    fn pass(&self, m: &Model, steps: usize, cluster: bool, runner: &Runner) -> Result<AisPass> {
        let at = Ais {
            steps,
            ..self.clone()
        };
        // Runs not yet started when the runner stops are skipped: each finished run's weight is
        // still an unbiased estimate of Z/Z_0.
        // In a distributed run the runs are spread over the ranks and their weights gathered
        // in run order (crate::distributed), so every rank computes the same estimate.
        let log_w: Vec<Option<f64>> = distributed::map(self.runs, |r| {
            if runner.interrupted().is_some() {
                return Ok(None);
            }
            let w = at.run(m, r, cluster);
            runner.advance(steps as u64);
            w.map(Some)
        })?;
        let log_w: Vec<f64> = log_w.into_iter().flatten().collect();
        if log_w.len() < 2 {
            return Err(Error::OverBudget {
                what: "ais".into(),
                reason: format!(
                    "the run was stopped after {} of {} annealing runs of {steps} steps; at least \
                     2 are needed; allow more time or fewer --steps",
                    log_w.len(),
                    self.runs
                ),
            });
        }
        let r = log_w.len() as f64;
        let max = log_w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = log_w.iter().map(|x| (x - max).exp()).collect();
        let (mean, var) = stats::mean_var(&w);
        let sd = (var * r / (r - 1.0)).sqrt();
        let ess = w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>();
        // Runs are independent, so contiguous groups of them are too: the jackknife corrects
        // the ln-of-a-mean bias, and when a few runs carry the weight (ESS < 10% of the runs,
        // where the delta method's error cannot exceed about one nat) its spread is the error.
        let (ln_mean, jack_se) = stats::log_mean_exp_jackknife(&log_w, 16);
        let delta = sd / (r.sqrt() * mean);
        Ok(AisPass {
            khat: crate::psis::psis(&log_w).khat,
            runs: log_w.len(),
            ln_z: ln_z0(m) + ln_mean,
            std_err: if ess < 0.1 * r {
                delta.max(jack_se)
            } else {
                delta
            },
            ess,
        })
    }
}

impl Solver for Ais {
    fn name(&self) -> &'static str {
        "ais"
    }

    /// AIS's bias shrinks as the annealing gets slower, so the schedule is doubled until two
    /// successive estimates agree within their errors (at most `doublings` times). The last
    /// estimate is reported with the difference to the previous one added to its error in
    /// quadrature — the residual bias of a schedule half as long is about that difference —
    /// or, if they never agreed, the projected rest of the approach (`residual`).
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        check(m, "ais")?;
        if self.steps == 0 || self.runs < 2 {
            return Err(Error::InvalidArgument(
                "ais needs ≥ 1 step and ≥ 2 runs".into(),
            ));
        }
        let cluster = super::cluster::check_unfrustrated(m, "ais").is_ok();
        // Budgets (crate::limits) before anything runs. Memory: every run's log-weight, its
        // weight and the jackknife's copies (~32 B), and per worker thread a state and the
        // Swendsen–Wang arrays. Time: the first pass, a lower bound (each doubling doubles it).
        let limits = crate::limits::Limits::current();
        let (n, e) = (m.n() as f64, m.num_edges() as f64);
        let (runs, steps) = (self.runs as f64, self.steps as f64);
        let threads = rayon::current_num_threads() as f64;
        let worker = n + if cluster { 8.0 * e + 13.0 * n } else { 0.0 };
        let what = format!(
            "{} runs × {} annealing steps on {} spins",
            self.runs,
            self.steps,
            m.n()
        );
        limits.check_memory("ais", &what, 32.0 * runs + threads * worker)?;
        let per_step = n * crate::limits::spin_update_ops(2.0 * e / n.max(1.0))
            + e * if cluster { 3.0 } else { 1.0 };
        limits.check_work("ais", &what, runs * steps * per_step)?;
        // Σ_k steps·2^k over the doublings, saturating (only a progress count).
        let total = (0..=self.doublings.min(63))
            .map(|k| self.steps.saturating_mul(1usize << k))
            .fold(0usize, usize::saturating_add);
        runner.start(total.saturating_mul(self.runs) as u64, "annealing sweeps");
        let mut steps = self.steps;
        let mut prev = self.pass(m, steps, cluster, runner)?;
        let mut history = vec![prev.ln_z];
        let mut agreed = self.doublings == 0;
        let mut diff = 0.0;
        let mut last = None;
        // Every stop decision is agreed between the ranks of a distributed run (`agree`: the
        // identity on one rank), so that all of them leave the loop at the same pass.
        for _ in 0..self.doublings {
            if agree(runner.interrupted()).is_some() {
                break;
            }
            let next = self.pass(m, 2 * steps, cluster, runner);
            if agree(runner.stopped()).is_some() {
                // A doubled schedule cut short: the last complete pass stands.
                break;
            }
            let next = next?;
            steps *= 2;
            if let Some(why) =
                agree(runner.iterate(Iteration::new("ais", steps).objective(next.ln_z)))
            {
                if why.interrupted() {
                    prev = next;
                    history.push(prev.ln_z);
                    break;
                }
            }
            history.push(next.ln_z);
            diff = next.ln_z - prev.ln_z;
            let tol = 2.0 * (next.std_err.powi(2) + prev.std_err.powi(2)).sqrt();
            // Agreement means little while a few runs carry all the weight (wide error bars
            // agree easily): the weights must also be spread over ≥ 10% of the runs.
            let spread = next.ess >= 0.1 * next.runs as f64;
            prev = next;
            if diff.abs() <= tol && spread {
                agreed = true;
                last = Some(steps);
                break;
            }
        }
        runner.finish();
        // Still moving after the last doubling: the projected rest of the approach, not just
        // the last change, is what the schedule leaves out.
        let left = if agreed {
            diff.abs()
        } else {
            residual(&history)
        };
        let std_err = (prev.std_err.powi(2) + left * left).sqrt();
        let mut e = Estimate::new(prev.ln_z, EstimateKind::Stochastic { std_err }, "ais");
        e.diagnostics.iterations = steps * prev.runs;
        let r = prev.runs as f64;
        e.diagnostics.converged = agreed && prev.ess >= 0.1 * r;
        e.diagnostics.termination = match agree(runner.stopped()) {
            Some(why) => why,
            None if e.diagnostics.converged => Termination::Converged,
            None => Termination::MaxIterations,
        };
        if prev.runs < self.runs {
            e.diagnostics.notes.push(format!(
                "stopped early: {} of {} annealing runs finished",
                prev.runs, self.runs
            ));
        }
        e.diagnostics.notes.push(format!(
            "{} runs × {steps} annealing steps ({}Metropolis); weight ESS {:.1} of {}; PSIS k̂ of \
             the weights {:.2} ({}); change from half the steps {diff:.3e}",
            prev.runs,
            if cluster { "Swendsen–Wang + " } else { "" },
            prev.ess,
            prev.runs,
            prev.khat,
            crate::psis::verdict(prev.khat, prev.runs)
        ));
        if last.is_none() && self.doublings > 0 {
            e.diagnostics.notes.push(format!(
                "the estimate still moves as the schedule doubles (up to {steps} steps): the \
                 annealing is too fast for this model; the projected remaining change {left:.3e} \
                 is in the error"
            ));
        }
        if prev.ess < 0.1 * r {
            e.diagnostics.notes.push(
                "few runs carry the weight: the error bar is unreliable; increase --steps".into(),
            );
        }
        e.mark_undefined_error();
        Ok(e)
    }
}
