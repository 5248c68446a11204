//! Long calls from Python: the GIL released, Ctrl-C and a progress callback served from the
//! calling thread, and no Rust panic ever reaching Python.
//!
//! The work runs on a scoped worker thread under a logz [`Runner`] whose observer does two
//! things at every iteration a method reports: it records the latest [`Iteration`] (when a
//! progress callback is wanted) and returns [`Control::Stop`] once the calling thread has set
//! the cancel flag. The calling thread waits with the GIL released and wakes every
//! [`POLL`]: it checks for signals (`Python::check_signals`, which only the main thread can
//! serve — that is why the work is not run on it) and calls the progress callback with the GIL
//! held. Ctrl-C (or an exception from the callback) sets the cancel flag; the method stops at
//! its next iteration with its best answer so far, and the pending exception is raised.
//!
//! Spawning a thread costs ~10–20 µs, so tiny deterministic solves run inline instead
//! ([`Inline::Yes`]): still without the GIL, but without the signal watch (they take
//! microseconds to milliseconds).

use crate::convert::err;
use logz::runner::{Control, Iteration, Runner};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

/// How often the waiting thread checks for signals and calls the progress callback.
pub const POLL: Duration = Duration::from_millis(50);

/// Whether a call runs on the calling thread (tiny work) or on a watched worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inline {
    /// On the calling thread, GIL released, no signal watch.
    Yes,
    /// On a worker thread; the calling thread serves signals and progress.
    No,
}

/// What the observer last saw, for the progress callback.
#[derive(Debug, Clone)]
struct Latest {
    seq: u64,
    method: String,
    iteration: usize,
    objective: Option<f64>,
    change: Option<f64>,
    elapsed: f64,
}

/// Shared between the worker's observer and the waiting thread.
struct Watch {
    cancel: AtomicBool,
    want_latest: bool,
    latest: Mutex<Option<Latest>>,
    /// When recording: every reported (iteration, objective), the learning curve.
    curve: Option<Mutex<Vec<(usize, f64)>>>,
}

/// The runner every call runs under: the process time budget (as in the CLI) and the observer.
fn runner(w: &Watch) -> Runner<'_> {
    Runner::new()
        .with_time_limit(logz::limits::time_limit())
        .observe(move |it: &Iteration| {
            if w.want_latest {
                let mut l = w.latest.lock().unwrap_or_else(|e| e.into_inner());
                let seq = l.as_ref().map_or(0, |x| x.seq) + 1;
                *l = Some(Latest {
                    seq,
                    method: it.method.to_string(),
                    iteration: it.iteration,
                    objective: it.objective,
                    change: it.change,
                    elapsed: it.elapsed.as_secs_f64(),
                });
            }
            if let (Some(c), Some(y)) = (&w.curve, it.objective) {
                c.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((it.iteration, y));
            }
            if w.cancel.load(Ordering::Relaxed) {
                Control::Stop
            } else {
                Control::Continue
            }
        })
}

/// The message of a panic payload.
fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Run `work` under a runner with the GIL released (see the module docs), on a rayon pool of
/// `threads` threads when given. Library errors become Python exceptions ([`err`]); a panic
/// becomes a `RuntimeError` that says it is a bug; Ctrl-C raises `KeyboardInterrupt` after the
/// method stopped.
pub fn run_long<T, F>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    inline: Inline,
    threads: Option<usize>,
    work: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Runner) -> logz::Result<T> + Send,
{
    run_long_curve(py, progress, inline, threads, false, work).map(|(t, _)| t)
}

/// [`run_long`] that also returns, when `record` is set, every (iteration, objective) the
/// method reported: its learning curve.
pub fn run_long_curve<T, F>(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    inline: Inline,
    threads: Option<usize>,
    record: bool,
    work: F,
) -> PyResult<(T, Vec<(usize, f64)>)>
where
    T: Send,
    F: FnOnce(&Runner) -> logz::Result<T> + Send,
{
    let watch = Watch {
        cancel: AtomicBool::new(false),
        want_latest: progress.is_some(),
        latest: Mutex::new(None),
        curve: record.then(|| Mutex::new(Vec::new())),
    };
    // The whole job: build the runner, run (on a pool of `threads` if asked), catch panics.
    let job = |w: &Watch| {
        catch_unwind(AssertUnwindSafe(|| match threads {
            Some(n) => logz::parallel::with_threads(n, || work(&runner(w))).and_then(|r| r),
            None => work(&runner(w)),
        }))
    };
    let outcome = if inline == Inline::Yes {
        py.detach(|| job(&watch))
    } else {
        let (tx, rx) = sync_channel(1);
        let rx = Mutex::new(rx);
        let mut pending: Option<PyErr> = None;
        let got = std::thread::scope(|s| {
            let w = &watch;
            s.spawn(move || {
                let _ = tx.send(job(w));
            });
            let mut seen = 0u64;
            loop {
                let r = py.detach(|| {
                    rx.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .recv_timeout(POLL)
                });
                match r {
                    Ok(outcome) => break Some(outcome),
                    Err(RecvTimeoutError::Disconnected) => break None,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                if pending.is_some() {
                    continue; // stopping: wait for the method's best answer so far
                }
                if let Err(e) = py.check_signals() {
                    watch.cancel.store(true, Ordering::Relaxed);
                    pending = Some(e);
                    continue;
                }
                let Some(cb) = progress else { continue };
                let latest = watch
                    .latest
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let Some(l) = latest.filter(|l| l.seq > seen) else {
                    continue;
                };
                seen = l.seq;
                match call_progress(py, cb, &l) {
                    Ok(true) => {}
                    Ok(false) => watch.cancel.store(true, Ordering::Relaxed),
                    Err(e) => {
                        watch.cancel.store(true, Ordering::Relaxed);
                        pending = Some(e);
                    }
                }
            }
        });
        if let Some(e) = pending {
            return Err(e);
        }
        match got {
            Some(o) => o,
            None => {
                return Err(PyRuntimeError::new_err(
                    "internal error in logz: the worker thread ended without an answer",
                ))
            }
        }
    };
    let curve = watch
        .curve
        .map(|c| c.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_default();
    match outcome {
        Ok(r) => r.map(|t| (t, curve)).map_err(err),
        Err(p) => Err(PyRuntimeError::new_err(format!(
            "internal error in logz (a bug, please report it): {}",
            panic_message(p)
        ))),
    }
}

/// Call the progress callback with one dict; `Ok(false)` when it returned `False` (stop).
fn call_progress(py: Python<'_>, cb: &Bound<'_, PyAny>, l: &Latest) -> PyResult<bool> {
    let d = PyDict::new(py);
    d.set_item("method", &l.method)?;
    d.set_item("iteration", l.iteration)?;
    d.set_item("objective", l.objective)?;
    d.set_item("change", l.change)?;
    d.set_item("elapsed", l.elapsed)?;
    let v = cb.call1((d,))?;
    Ok(!v.is_instance_of::<PyBool>() || v.is_truthy()?)
}
