//! Replica theory of the Sherrington–Kirkpatrick model, beside the numbers.
//!
//! The SK model (the `sk:N` built-in) has couplings J_ij ~ N(0, J²/N) on all pairs; here J = 1
//! (β and h are then in units of J). Its quenched free energy is
//! E ln Z = lim_{n→0} (E Z^n − 1)/n, the "insane formula" of the replica trick. This module
//! computes both sides:
//!
//! - [`moments`]: the integer moments E[Z^n] (n = 1, 2, 3, …) at finite N exactly, by counting
//!   replica configurations by their overlaps (polynomial in N for fixed n);
//! - [`rs`]: the replica-symmetric solution (q, −βf, energy, entropy, λ_AT);
//! - [`parisi`] and [`rsb`]: Parisi's functional for k-step RSB and its minimisation; full RSB
//!   as k-step RSB with many steps (continuation k → k + 1 until the free energy settles), the
//!   zero-temperature limit through the Auffinger–Chen form of the functional.
//!
//! - [`population`]: the RS cavity method on sparse random graphs (random-regular and
//!   Erdős–Rényi / Viana–Bray) by population dynamics, the ensemble version of BP.
//!
//! [`solve`] is the entry point of `logz replica sk`.

pub mod gauss;
pub mod moments;
pub mod parisi;
pub mod population;
pub mod rs;
pub mod rsb;

pub use parisi::{Temperature, Trial};

use crate::{Error, Result};

/// Level of replica-symmetry breaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Replica symmetry (k = 0).
    Rs,
    /// k-step RSB, k ≥ 1.
    Steps(usize),
    /// Full RSB, approximated by k-step RSB with k increased (each step started from the
    /// previous solution) until the free energy changes by < 1e-7 or k = [`FULL_STEPS`].
    Full,
}

/// The most steps a k-RSB request may ask for (and the cap of the full-RSB continuation).
pub const MAX_STEPS: usize = 6;

/// The most steps of the full-RSB continuation (at T = 0 the energy of 4 steps is within
/// 6e-5 of Parisi's e₀ = −0.76317; each further step costs several times the previous one).
pub const FULL_STEPS: usize = 4;

/// The largest β the finite-temperature RSB solver accepts (its grid spacing is ∝ 1/β); use
/// the ground state for lower temperatures.
pub const MAX_RSB_BETA: f64 = 40.0;

impl Level {
    /// Parse `0`/`rs`, `1`, `2`, … (k steps), `full`.
    pub fn parse(s: &str) -> Result<Level> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "rs" | "0" => Ok(Level::Rs),
            "full" | "frsb" => Ok(Level::Full),
            _ => match t.parse::<i64>() {
                Ok(k) if (1..=MAX_STEPS as i64).contains(&k) => Ok(Level::Steps(k as usize)),
                _ => Err(Error::arg(format!(
                    "--rsb must be 0 (rs), 1 … {MAX_STEPS} or full, got '{s}'"
                ))),
            },
        }
    }

    /// `rs`, `1rsb`, `2rsb`, …, `full`.
    pub fn label(&self) -> String {
        match self {
            Level::Rs => "rs".into(),
            Level::Steps(k) => format!("{k}rsb"),
            Level::Full => "full".into(),
        }
    }
}

/// A replica solution of the SK model (per spin, J = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// `rs`, `1rsb`, `2rsb`, … or `full`.
    pub level: String,
    /// β (None for the ground state, T = 0).
    pub beta: Option<f64>,
    /// Uniform field h.
    pub field: f64,
    /// Overlaps q₀ ≤ … ≤ q_k (one for RS; q_k = 1 at T = 0).
    pub q: Vec<f64>,
    /// Parisi breakpoints m₁ ≤ … ≤ m_k (empty for RS). At T = 0 these are μ_l = lim β m_l.
    pub m: Vec<f64>,
    /// −βf (None at T = 0, where it diverges).
    pub ln_z_per_spin: Option<f64>,
    /// f = −(−βf)/β; at T = 0 the ground-state energy e₀.
    pub free_energy_per_spin: f64,
    /// Mean energy per spin u (= e₀ at T = 0).
    pub energy_per_spin: f64,
    /// Entropy per spin s = −βf + βu (0 at T = 0; negative for RS at low T).
    pub entropy_per_spin: f64,
    /// λ_AT = β² E sech⁴ (RS only; RS is stable iff λ_AT ≤ 1).
    pub at_lambda: Option<f64>,
    /// Stationarity residual (projected gradient of the functional; fixed-point residual for RS).
    pub residual: f64,
    /// For full RSB: the value reached at each number of steps k = 1, 2, … (−βf, or e₀ at T = 0).
    pub sequence: Vec<(usize, f64)>,
}

fn check(t: Temperature, h: f64, level: Level) -> Result<()> {
    if !h.is_finite() || h.abs() > 50.0 {
        return Err(Error::arg(format!(
            "the field must be a finite number with |h| ≤ 50, got {h}"
        )));
    }
    if let Temperature::Beta(b) = t {
        if !b.is_finite() || b <= 0.0 {
            return Err(Error::arg(format!(
                "β must be a finite number > 0 (T > 0), got {b}; use the ground state for T = 0"
            )));
        }
        if level != Level::Rs && b > MAX_RSB_BETA {
            return Err(Error::arg(format!(
                "RSB at β = {b} is beyond the solver's range β ≤ {MAX_RSB_BETA}; use the ground state (T = 0) instead"
            )));
        }
        if b > 1e6 {
            return Err(Error::arg(format!(
                "β = {b} is above 1e6; use the ground state"
            )));
        }
    }
    if let Level::Steps(k) = level {
        if k == 0 || k > MAX_STEPS {
            return Err(Error::arg(format!("k must be in 1 … {MAX_STEPS}, got {k}")));
        }
    }
    Ok(())
}

/// The replica solution at temperature `t` (finite β or the ground state), field `h`, `level`.
pub fn solve(t: Temperature, h: f64, level: Level) -> Result<Solution> {
    solve_with(t, h, level, &crate::runner::Runner::new())
}

/// [`solve`] reporting to `runner`: for full RSB one progress step per number of steps k of
/// the continuation (each costs several times the previous one), with the value reached as
/// the message.
pub fn solve_with(
    t: Temperature,
    h: f64,
    level: Level,
    runner: &crate::runner::Runner,
) -> Result<Solution> {
    use crate::estimate::Progress;
    check(t, h, level)?;
    let label = level.label();
    if level == Level::Rs {
        return Ok(match t {
            Temperature::Beta(beta) => {
                let s = rs::solve(beta, h);
                Solution {
                    level: label,
                    beta: Some(beta),
                    field: h,
                    q: vec![s.q],
                    m: vec![],
                    ln_z_per_spin: Some(s.ln_z_per_spin),
                    free_energy_per_spin: -s.ln_z_per_spin / beta,
                    energy_per_spin: s.energy_per_spin,
                    entropy_per_spin: s.entropy_per_spin,
                    at_lambda: Some(s.at_lambda),
                    residual: s.residual,
                    sequence: vec![],
                }
            }
            Temperature::Zero => {
                let e0 = rs::ground_state_energy(h);
                Solution {
                    level: label,
                    beta: None,
                    field: h,
                    q: vec![1.0],
                    m: vec![],
                    ln_z_per_spin: None,
                    free_energy_per_spin: e0,
                    energy_per_spin: e0,
                    entropy_per_spin: 0.0,
                    at_lambda: None,
                    residual: 0.0,
                    sequence: vec![],
                }
            }
        });
    }
    let q_rs = match t {
        Temperature::Beta(b) => rs::overlap(b, h),
        Temperature::Zero => 1.0,
    };
    // Above T = 1 at h = 0 the Parisi solution is the paramagnet q ≡ 0 (x(q) is then
    // irrelevant): −βf = ln 2 + β²/4, the annealed value.
    let paramagnet = matches!(t, Temperature::Beta(b) if b <= 1.0) && h == 0.0;
    let (sol, sequence) = match level {
        _ if paramagnet => {
            let k = match level {
                Level::Steps(k) => k,
                _ => 1,
            };
            let mut trial = rsb::initial(t, k, 0.0);
            trial.q.iter_mut().for_each(|q| *q = 0.0);
            let dx = parisi::Grid::default_dx(t);
            let grid = parisi::Grid::new(h, dx);
            let value = parisi::functional(t, &trial, &grid);
            let residual = rsb::residual(t, &trial, &grid);
            let s = rsb::KSolution {
                trial,
                value,
                residual,
                iterations: 0,
                dx,
            };
            (s, vec![])
        }
        Level::Steps(k) => (rsb::minimize(t, h, &rsb::initial(t, k, q_rs), 400), vec![]),
        _ => {
            runner.start(FULL_STEPS as u64, "full RSB: k = 1");
            let mut s = rsb::minimize(t, h, &rsb::initial(t, 1, q_rs), 400);
            let mut seq = vec![(1, s.value)];
            runner.advance(1);
            for k in 2..=FULL_STEPS {
                runner.message(&format!("full RSB: k = {k}"));
                let next = rsb::minimize(t, h, &rsb::refine(t, &s.trial), 400);
                let change = (next.value - s.value).abs();
                seq.push((k, next.value));
                s = next;
                runner.advance(1);
                if change < 1e-7 {
                    break;
                }
            }
            runner.finish();
            (s, seq)
        }
    };
    let sign = |v: f64| match t {
        Temperature::Beta(_) => v,
        Temperature::Zero => -v,
    };
    let sequence: Vec<(usize, f64)> = sequence.into_iter().map(|(k, v)| (k, sign(v))).collect();
    Ok(match t {
        Temperature::Beta(beta) => {
            // u = −∂(−βf)/∂β at the stationary point (the envelope theorem: q, m held fixed).
            let grid = parisi::Grid::new(h, sol.dx);
            let phi = |b: f64| parisi::functional(Temperature::Beta(b), &sol.trial, &grid);
            let d = 1e-3 * beta;
            let dphi = (-phi(beta + 2.0 * d) + 8.0 * phi(beta + d) - 8.0 * phi(beta - d)
                + phi(beta - 2.0 * d))
                / (12.0 * d);
            let u = -dphi;
            Solution {
                level: label,
                beta: Some(beta),
                field: h,
                q: sol.trial.q.clone(),
                m: sol.trial.m.clone(),
                ln_z_per_spin: Some(sol.value),
                free_energy_per_spin: -sol.value / beta,
                energy_per_spin: u,
                entropy_per_spin: sol.value + beta * u,
                at_lambda: None,
                residual: sol.residual,
                sequence,
            }
        }
        Temperature::Zero => Solution {
            level: label,
            beta: None,
            field: h,
            q: sol.trial.q.clone(),
            m: sol.trial.m.clone(),
            ln_z_per_spin: None,
            free_energy_per_spin: -sol.value,
            energy_per_spin: -sol.value,
            entropy_per_spin: 0.0,
            at_lambda: None,
            residual: sol.residual,
            sequence,
        },
    })
}
