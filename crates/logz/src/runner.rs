//! The one run loop every method reports to: budgets, observers, and why a run stopped.
//!
//! In the spirit of argmin's `Executor`, a [`Runner`] owns what is common to every iterative
//! method — mean field, TAP, BP, TRW, factorised BBVI, ADVI and the other posterior fits, VAN
//! training, TI, AIS and the samplers:
//!
//! - an **iteration budget** (a cap on top of the method's own) and a **time budget**;
//! - **observers**: the progress bar (through [`Progress`]), logging, and any user callback,
//!   each of which may stop the run;
//! - the **termination reason** ([`Termination`]) that the [`Estimate`] carries and the CLI prints.
//!
//! A method keeps its own update rule and calls [`Runner::iterate`] once per iteration (a sweep,
//! a gradient step, a window of steps) with what it knows — the objective, the change, the
//! current parameters. When the answer is `Some(reason)` the method stops and returns the *best
//! answer so far with its honest kind*: a mean-field ELBO at any magnetisation is still a lower
//! bound; TRW messages before convergence give no bound, so TRW falls back to its
//! spanning-forest mixture bound (still an upper bound); a VAN stopped early is evaluated at the
//! target β (still a stochastic lower bound); a sampler, TI or AIS stopped early reports the
//! samples it has with their error bars.
//! Parallel workers (chains, annealing runs, TI ladders) poll [`Runner::interrupted`] instead,
//! which is cheap and never calls observers.
//!
//! ```
//! use logz::prelude::*;
//! use logz::runner::{Control, Iteration, Runner, Termination};
//!
//! # fn main() -> Result<(), Error> {
//! let p = Params { coupling: 1.0, field: 0.0, beta: 0.3, seed: 0 };
//! let m = builders::square(8, 8, true, &p)?;
//! // A user callback that stops mean field after its second sweep.
//! let runner = Runner::new().observe(|it: &Iteration| {
//!     if it.iteration >= 2 { Control::Stop } else { Control::Continue }
//! });
//! let e = runner.run(&MeanField::default(), &m)?;
//! assert_eq!(e.diagnostics.termination, Termination::Stopped);
//! assert_eq!(e.kind, EstimateKind::LowerBound); // still a bound, however early it stopped
//! # Ok(())
//! # }
//! ```

use crate::error::Result;
use crate::estimate::{Estimate, NoProgress, Progress, Solver};
use crate::model::Model;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// The method's convergence test passed.
    Converged,
    /// The planned work was done: a direct (exact) computation, or a fixed number of sweeps,
    /// steps or annealing runs with no convergence test of its own.
    #[default]
    Completed,
    /// The iteration budget (the method's own cap, or the runner's) ran out before convergence.
    MaxIterations,
    /// The time budget ran out; the answer is the best so far.
    Timeout,
    /// The iteration produced non-finite values.
    Diverged,
    /// An observer (a user callback) asked the run to stop.
    Stopped,
}

impl Termination {
    /// The name used in tables and JSON ("converged", "max_iterations", …).
    pub fn label(&self) -> &'static str {
        match self {
            Termination::Converged => "converged",
            Termination::Completed => "completed",
            Termination::MaxIterations => "max_iterations",
            Termination::Timeout => "timeout",
            Termination::Diverged => "diverged",
            Termination::Stopped => "stopped",
        }
    }

    /// Whether the run was cut short from outside the method (time budget or an observer):
    /// its answer is the best so far, not the method's final one.
    pub fn interrupted(&self) -> bool {
        matches!(self, Termination::Timeout | Termination::Stopped)
    }

    fn code(self) -> u8 {
        match self {
            Termination::Converged => 1,
            Termination::Completed => 2,
            Termination::MaxIterations => 3,
            Termination::Timeout => 4,
            Termination::Diverged => 5,
            Termination::Stopped => 6,
        }
    }

    fn from_code(c: u8) -> Option<Termination> {
        Some(match c {
            1 => Termination::Converged,
            2 => Termination::Completed,
            3 => Termination::MaxIterations,
            4 => Termination::Timeout,
            5 => Termination::Diverged,
            6 => Termination::Stopped,
            _ => return None,
        })
    }
}

/// What a method tells its observers after one iteration.
#[derive(Debug, Clone, Copy)]
pub struct Iteration<'a> {
    /// The method (its short name: "mf", "advi", …).
    pub method: &'a str,
    /// Iterations done so far in the current loop (1-based).
    pub iteration: usize,
    /// The method's objective, where it has one (an ELBO, a free energy, a running ln Z).
    pub objective: Option<f64>,
    /// The convergence measure the method tests (largest change of a parameter, …).
    pub change: Option<f64>,
    /// The current parameters, in the method's own layout (magnetisations, variational means
    /// and scales, …); empty where copying them out would cost more than the iteration.
    pub params: &'a [f64],
    /// Wall-clock time since the runner started.
    pub elapsed: Duration,
}

impl<'a> Iteration<'a> {
    /// An iteration report with only the method and count set.
    pub fn new(method: &'a str, iteration: usize) -> Self {
        Iteration {
            method,
            iteration,
            objective: None,
            change: None,
            params: &[],
            elapsed: Duration::ZERO,
        }
    }
    /// With the objective.
    pub fn objective(mut self, x: f64) -> Self {
        self.objective = Some(x);
        self
    }
    /// With the convergence measure.
    pub fn change(mut self, x: f64) -> Self {
        self.change = Some(x);
        self
    }
    /// With the current parameters.
    pub fn params(mut self, p: &'a [f64]) -> Self {
        self.params = p;
        self
    }
}

/// An observer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop the run now (it ends with [`Termination::Stopped`]).
    Stop,
}

/// Anything that watches a run: a logger, a plotter, a user's stopping rule. Closures
/// `FnMut(&Iteration) -> Control` are observers.
pub trait Observer: Send {
    /// Called after every iteration a method reports.
    fn observe(&mut self, it: &Iteration) -> Control;
}

impl<F: FnMut(&Iteration) -> Control + Send> Observer for F {
    fn observe(&mut self, it: &Iteration) -> Control {
        self(it)
    }
}

/// The run loop's context, handed to every [`Solver`]: budgets, observers, progress, and the
/// reason the run stopped. Shared by reference across the method's worker threads.
pub struct Runner<'a> {
    progress: &'a dyn Progress,
    time_limit: Option<Duration>,
    max_iterations: Option<usize>,
    started: Instant,
    observers: Mutex<Vec<Box<dyn Observer + 'a>>>,
    stop: AtomicU8,
}

impl Default for Runner<'_> {
    fn default() -> Self {
        Runner::new()
    }
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("time_limit", &self.time_limit)
            .field("max_iterations", &self.max_iterations)
            .field("elapsed", &self.started.elapsed())
            .field("stopped", &self.stopped())
            .finish()
    }
}

impl<'a> Runner<'a> {
    /// No budgets beyond the methods' own, no observers, no progress display.
    pub fn new() -> Runner<'a> {
        Runner {
            progress: &NoProgress,
            time_limit: None,
            max_iterations: None,
            started: Instant::now(),
            observers: Mutex::new(Vec::new()),
            stop: AtomicU8::new(0),
        }
    }

    /// Report progress to `p` (a progress bar).
    pub fn with_progress(mut self, p: &'a dyn Progress) -> Self {
        self.progress = p;
        self
    }

    /// Stop iterating after `seconds` of wall-clock time and return the best answer so far
    /// ([`Termination::Timeout`]). Infinite or non-positive values mean no limit.
    pub fn with_time_limit(mut self, seconds: f64) -> Self {
        self.time_limit =
            (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds));
        self
    }

    /// Stop every reported loop after `n` iterations ([`Termination::MaxIterations`]), on top
    /// of the method's own cap.
    pub fn with_max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = Some(n);
        self
    }

    /// Add an observer (a closure `|it: &Iteration| -> Control` or any [`Observer`]).
    pub fn observe(self, o: impl Observer + 'a) -> Self {
        self.observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(o));
        self
    }

    /// A runner for a sub-computation (a warm-up run, a reference value): the same deadline and
    /// stop state at the time of the call, no observers, no progress display.
    pub fn child(&self) -> Runner<'static> {
        Runner {
            progress: &NoProgress,
            time_limit: self
                .time_limit
                .map(|t| t.saturating_sub(self.started.elapsed())),
            max_iterations: self.max_iterations,
            started: Instant::now(),
            observers: Mutex::new(Vec::new()),
            stop: AtomicU8::new(self.stop.load(Ordering::Relaxed)),
        }
    }

    /// Time since the runner was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The time budget, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.time_limit
    }

    /// Why the run was stopped from outside, once it was (time budget, observer, or a method
    /// that gave up on divergence).
    pub fn stopped(&self) -> Option<Termination> {
        Termination::from_code(self.stop.load(Ordering::Relaxed))
    }

    fn set_stop(&self, t: Termination) -> Termination {
        // The first reason wins.
        match self
            .stop
            .compare_exchange(0, t.code(), Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => t,
            Err(code) => Termination::from_code(code).unwrap_or(t),
        }
    }

    /// The cheap check for inner loops and parallel workers: `Some` once the run was stopped or
    /// its time is up. Never calls observers.
    pub fn interrupted(&self) -> Option<Termination> {
        if let Some(t) = self.stopped() {
            return Some(t);
        }
        match self.time_limit {
            Some(limit) if self.started.elapsed() >= limit => {
                Some(self.set_stop(Termination::Timeout))
            }
            _ => None,
        }
    }

    /// Report one iteration: observers see it, then the budgets are checked. `Some(reason)`
    /// means stop now and return the best answer so far.
    pub fn iterate(&self, mut it: Iteration) -> Option<Termination> {
        it.elapsed = self.started.elapsed();
        {
            let mut obs = self.observers.lock().unwrap_or_else(|e| e.into_inner());
            let mut stop = false;
            for o in obs.iter_mut() {
                stop |= o.observe(&it) == Control::Stop;
            }
            if stop {
                return Some(self.set_stop(Termination::Stopped));
            }
        }
        if let Some(t) = self.interrupted() {
            return Some(t);
        }
        match self.max_iterations {
            Some(n) if it.iteration >= n => Some(Termination::MaxIterations),
            _ => None,
        }
    }

    /// Whether any observer is attached (methods skip copying parameters out when none is).
    pub fn has_observers(&self) -> bool {
        !self
            .observers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Run `solver` on `m` under this runner: the one entry point of every front end. Checks
    /// the answer (a NaN or infinite ln Z is an error), marks an undefined error bar, records
    /// the wall-clock time and the termination reason, and notes an interrupted run.
    pub fn run<S: Solver + ?Sized>(&self, solver: &S, m: &Model) -> Result<Estimate> {
        let t0 = Instant::now();
        let mut e = solver.solve_with(m, self)?.checked(solver.name())?;
        e.mark_undefined_error();
        e.diagnostics.seconds = t0.elapsed().as_secs_f64();
        // The method records how its run ended; one that was cut short gets the note (an exact
        // method that never looks at the runner stays `completed`).
        if e.diagnostics.termination.interrupted() {
            let t = e.diagnostics.termination;
            e.interrupted_by(t);
        }
        Ok(e)
    }
}

impl Estimate {
    /// Record that the run was cut short by `t` (time budget or observer): not converged, with
    /// a note; a kind that only holds at convergence must already have been downgraded by the
    /// method.
    pub fn interrupted_by(&mut self, t: Termination) {
        self.diagnostics.termination = t;
        self.diagnostics.converged = false;
        let why = match t {
            Termination::Timeout => "the time limit",
            Termination::Stopped => "an observer",
            _ => return,
        };
        let note = format!(
            "stopped by {why}: the best answer so far ({} still holds)",
            self.kind.label()
        );
        if !self.diagnostics.notes.contains(&note) {
            self.diagnostics.notes.push(note);
        }
    }
}

impl Progress for Runner<'_> {
    fn start(&self, total: u64, what: &str) {
        self.progress.start(total, what)
    }
    fn advance(&self, delta: u64) {
        self.progress.advance(delta)
    }
    fn message(&self, text: &str) {
        self.progress.message(text)
    }
    fn finish(&self) {
        self.progress.finish()
    }
}

/// The termination of a loop that ran `done` of at most `cap` iterations and tests convergence:
/// converged, out of iterations, or the reason the runner gave.
pub fn ended(converged: bool, stopped: Option<Termination>) -> Termination {
    match (converged, stopped) {
        (true, _) => Termination::Converged,
        (false, Some(t)) => t,
        (false, None) => Termination::MaxIterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_stop_the_run_and_the_first_reason_wins() {
        let r = Runner::new().observe(|it: &Iteration| {
            if it.iteration == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        });
        assert_eq!(r.iterate(Iteration::new("t", 1)), None);
        assert_eq!(
            r.iterate(Iteration::new("t", 2)),
            Some(Termination::Stopped)
        );
        // Later checks keep reporting the first reason.
        assert_eq!(r.interrupted(), Some(Termination::Stopped));
        assert_eq!(r.stopped(), Some(Termination::Stopped));
    }

    #[test]
    fn time_and_iteration_budgets() {
        let r = Runner::new().with_time_limit(1e-9);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(r.interrupted(), Some(Termination::Timeout));
        let r = Runner::new().with_max_iterations(3);
        assert_eq!(r.iterate(Iteration::new("t", 2)), None);
        assert_eq!(
            r.iterate(Iteration::new("t", 3)),
            Some(Termination::MaxIterations)
        );
        // An iteration cap is per loop, not a stop of the whole run.
        assert_eq!(r.stopped(), None);
        // No limit: infinite or non-positive time limits are ignored.
        assert!(Runner::new()
            .with_time_limit(f64::INFINITY)
            .time_limit()
            .is_none());
        assert!(Runner::new().with_time_limit(0.0).time_limit().is_none());
    }

    #[test]
    fn termination_labels_round_trip_through_json() {
        for t in [
            Termination::Converged,
            Termination::Completed,
            Termination::MaxIterations,
            Termination::Timeout,
            Termination::Diverged,
            Termination::Stopped,
        ] {
            let v = serde_json::to_value(t).unwrap();
            assert_eq!(v, serde_json::Value::String(t.label().into()));
            assert_eq!(serde_json::from_value::<Termination>(v).unwrap(), t);
            assert_eq!(Termination::from_code(t.code()), Some(t));
        }
    }
}
