//! Python values ↔ library objects: checked sizes, errors as exceptions, results as dicts of
//! numpy arrays.

use logz::bayes::data::Dataset;
use logz::bayes::fit::FitReport;
use logz::estimate::Estimate;
use logz::learn::Samples;
use logz::mc::SampleRun;
use logz::Error;
use numpy::ndarray::Array2;
use numpy::{AllowTypeChange, IntoPyArray, PyArrayLike1, PyArrayLikeDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOSError, PyOverflowError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A library error as a Python exception: `OSError` for a file that cannot be read or
/// written, `ValueError` (with logz's one-line message) for everything else.
pub fn err(e: Error) -> PyErr {
    match e {
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A `ValueError` with this message.
pub fn value_error(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// A Python integer of any size (a Python `int`, a numpy integer, anything with `__index__`).
///
/// Every integer argument of the module (sizes, counts, seeds) is taken as an `Int` and then
/// checked by name ([`size`], [`seed`]): a negative or huge value is a `ValueError` with a
/// one-line message naming the argument. Extracting straight into `u64`/`usize` would raise
/// `OverflowError` instead (pyo3's conversion error), which is what this type exists to avoid.
/// Values outside i128 saturate to `i128::MIN`/`i128::MAX` (both out of every accepted range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i128);

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Int> {
        match obj.extract::<i128>() {
            Ok(v) => Ok(Int(v)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                let negative = obj.lt(0i64)?;
                Ok(Int(if negative { i128::MIN } else { i128::MAX }))
            }
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            i128::MAX => write!(f, "a number above 2^127"),
            i128::MIN => write!(f, "a number below -2^127"),
            v => write!(f, "{v}"),
        }
    }
}

/// A size or count from Python: negative or larger than the platform's `usize` is a
/// `ValueError` naming the argument (not an OverflowError).
pub fn size(x: Int, name: &str) -> PyResult<usize> {
    if x.0 < 0 {
        return Err(value_error(format!("{name} must be ≥ 0, got {x}")));
    }
    usize::try_from(x.0).map_err(|_| value_error(format!("{name} = {x} is too large")))
}

/// An optional size.
pub fn opt_size(x: Option<Int>, name: &str) -> PyResult<Option<usize>> {
    x.map(|v| size(v, name)).transpose()
}

/// A seed from Python: an integer in [0, 2^64), else a `ValueError` naming the argument.
pub fn seed(x: Int, name: &str) -> PyResult<u64> {
    u64::try_from(x.0)
        .map_err(|_| value_error(format!("{name} must be an integer in [0, 2^64), got {x}")))
}

/// NaN where there is no number (numpy's "missing").
fn or_nan(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// A (rows, cols) float64 array from row-major values.
fn matrix<'py>(
    py: Python<'py>,
    rows: usize,
    cols: usize,
    v: Vec<f64>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    Array2::from_shape_vec((rows, cols), v)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| value_error(e.to_string()))
}

/// `logz compare`'s table as arrays: one row per β, one column per method that ran at every β
/// (methods that do not apply or are too large are listed under `skipped`, as in the CLI).
pub fn compare_dict<'py>(
    py: Python<'py>,
    betas: &[f64],
    names: &[&str],
    n: usize,
    grid: Vec<Vec<logz::Result<Estimate>>>,
) -> PyResult<Bound<'py, PyDict>> {
    let skipped = PyDict::new(py);
    let mut skip = vec![false; names.len()];
    for (b, row) in grid.iter().enumerate() {
        for (k, r) in row.iter().enumerate() {
            match r {
                Ok(_) => {}
                Err(e @ (Error::NotApplicable { .. } | Error::TooLarge { .. })) => {
                    if !skip[k] {
                        skipped.set_item(names[k], e.to_string())?;
                    }
                    skip[k] = true;
                }
                Err(e) => {
                    return Err(err(Error::arg(format!(
                        "{} at β = {}: {e}",
                        names[k], betas[b]
                    ))))
                }
            }
        }
    }
    let shown: Vec<usize> = (0..names.len()).filter(|&k| !skip[k]).collect();
    let (rows, cols) = (betas.len(), shown.len());
    let nf = n.max(1) as f64;
    let at = |b: usize, k: usize| grid[b][k].as_ref().ok();
    let table = |f: &dyn Fn(&Estimate) -> f64| -> Vec<f64> {
        (0..rows)
            .flat_map(|b| shown.iter().map(move |&k| (b, k)))
            .map(|(b, k)| at(b, k).map_or(f64::NAN, f))
            .collect()
    };
    // The exact value at each β, where an exact method ran.
    let exact: Vec<Option<f64>> = (0..rows)
        .map(|b| {
            shown
                .iter()
                .filter_map(|&k| at(b, k))
                .find(|e| e.kind == logz::EstimateKind::Exact)
                .map(|e| e.ln_z)
        })
        .collect();
    let d = PyDict::new(py);
    d.set_item("betas", betas.to_vec().into_pyarray(py))?;
    d.set_item(
        "methods",
        shown.iter().map(|&k| names[k]).collect::<Vec<_>>(),
    )?;
    d.set_item("ln_z", matrix(py, rows, cols, table(&|e| e.ln_z))?)?;
    d.set_item(
        "ln_z_per_spin",
        matrix(py, rows, cols, table(&|e| e.ln_z / nf))?,
    )?;
    d.set_item(
        "std_err",
        matrix(py, rows, cols, table(&|e| or_nan(e.kind.std_err())))?,
    )?;
    let err_per_spin: Vec<f64> = (0..rows)
        .flat_map(|b| shown.iter().map(move |&k| (b, k)))
        .map(|(b, k)| match (at(b, k), exact[b]) {
            (Some(e), Some(x)) => (e.ln_z - x) / nf,
            _ => f64::NAN,
        })
        .collect();
    d.set_item("error_per_spin", matrix(py, rows, cols, err_per_spin)?)?;
    d.set_item(
        "abs_magnetization",
        matrix(
            py,
            rows,
            cols,
            table(&|e| or_nan(logz::sweep::abs_magnetization(e))),
        )?,
    )?;
    d.set_item(
        "seconds",
        matrix(py, rows, cols, table(&|e| e.diagnostics.seconds))?,
    )?;
    let strings = |f: &dyn Fn(&Estimate) -> String| -> Vec<Vec<String>> {
        (0..rows)
            .map(|b| {
                shown
                    .iter()
                    .map(|&k| at(b, k).map_or(String::new(), f))
                    .collect()
            })
            .collect()
    };
    d.set_item("kind", strings(&|e| e.kind.label().to_string()))?;
    d.set_item("algorithm", strings(&|e| e.diagnostics.algorithm.clone()))?;
    let converged: Vec<Vec<bool>> = (0..rows)
        .map(|b| {
            shown
                .iter()
                .map(|&k| at(b, k).is_some_and(|e| e.diagnostics.converged))
                .collect()
        })
        .collect();
    d.set_item("converged", converged)?;
    d.set_item("skipped", skipped)?;
    d.set_item("n", n)?;
    Ok(d)
}

/// A sampling run as a dict: observables with error bars, per-spin traces, and the saved
/// configurations as one int8 array (chains, samples, N) that numpy takes over without a copy
/// (with one chain the chain's own buffer; with several, one concatenation in Rust).
pub fn sample_dict(py: Python<'_>, run: SampleRun, burn_in: usize) -> PyResult<Bound<'_, PyDict>> {
    let summary = run.summary();
    let d = PyDict::new(py);
    let (n, chains) = (run.n, run.chains.len());
    // Every chain measured the same number of sweeps (a stopped run is trimmed to a common
    // length); the minimum keeps the traces rectangular whatever happens.
    let sweeps = run
        .chains
        .iter()
        .map(|c| c.energy.len().min(c.magnetization.len()))
        .min()
        .unwrap_or(0);
    d.set_item("algorithm", run.algorithm.name())?;
    d.set_item("kernel", run.kernel)?;
    d.set_item("n", n)?;
    d.set_item("beta", run.beta)?;
    d.set_item("chains", chains)?;
    d.set_item("sweeps", sweeps)?;
    d.set_item("burn_in", burn_in)?;
    d.set_item("termination", run.termination.label())?;
    d.set_item("notes", summary.notes.clone())?;
    let obs = PyDict::new(py);
    for o in &summary.observables {
        let x = PyDict::new(py);
        x.set_item("value", o.value)?;
        x.set_item("std_err", o.std_err)?;
        x.set_item("tau_int", o.tau_int)?;
        x.set_item("ess", o.ess)?;
        x.set_item("blocking_err", o.blocking_err)?;
        x.set_item("r_hat", o.r_hat)?;
        obs.set_item(o.name, x)?;
    }
    d.set_item("observables", obs)?;
    let nf = n.max(1) as f64;
    let trace = |f: &dyn Fn(&logz::mc::run::ChainResult) -> &Vec<f64>| -> Vec<f64> {
        run.chains
            .iter()
            .flat_map(|c| f(c)[..sweeps].iter().map(|x| x / nf))
            .collect()
    };
    d.set_item("energy", matrix(py, chains, sweeps, trace(&|c| &c.energy))?)?;
    d.set_item(
        "magnetization",
        matrix(py, chains, sweeps, trace(&|c| &c.magnetization))?,
    )?;
    d.set_item(
        "spin_magnetization",
        summary.magnetization.clone().map(|m| m.into_pyarray(py)),
    )?;
    d.set_item(
        "edge_correlation",
        summary.edge_correlation.clone().map(|m| m.into_pyarray(py)),
    )?;
    d.set_item(
        "swap_rates",
        run.chains.first().map(|c| c.swap_rates.clone()),
    )?;
    // Saved configurations: every chain keeps as many as the shortest one saved.
    let per_chain = run
        .chains
        .iter()
        .map(|c| c.saved.len() / n.max(1))
        .min()
        .unwrap_or(0);
    if per_chain > 0 {
        let mut chains_v = run.chains;
        let data = if chains_v.len() == 1 {
            let mut v = std::mem::take(&mut chains_v[0].saved);
            v.truncate(per_chain * n);
            v
        } else {
            let mut v = Vec::with_capacity(chains * per_chain * n);
            for c in &chains_v {
                v.extend_from_slice(&c.saved[..per_chain * n]);
            }
            v
        };
        d.set_item(
            "configurations",
            crate::int8_cube(py, data, (chains, per_chain, n))?,
        )?;
    } else {
        d.set_item("configurations", py.None())?;
    }
    Ok(d)
}

/// A regression data set from X (n × p, or n for one feature) and y (n).
pub fn dataset(
    x: PyArrayLikeDyn<'_, f64, AllowTypeChange>,
    y: PyArrayLike1<'_, f64, AllowTypeChange>,
    names: Option<Vec<String>>,
    y_name: &str,
) -> PyResult<Dataset> {
    let shape = x.shape().to_vec();
    let (rows, p) = match shape.as_slice() {
        [r] => (*r, 1),
        [r, c] => (*r, *c),
        _ => {
            return Err(value_error(format!(
                "X must have shape (n, p) or (n,), got {shape:?}"
            )))
        }
    };
    let yv = y.as_array().to_vec();
    if yv.len() != rows {
        return Err(value_error(format!(
            "X has {rows} rows but y has {} entries",
            yv.len()
        )));
    }
    let xv: Vec<f64> = x.as_array().iter().copied().collect();
    if let Some(k) = xv.iter().position(|v| !v.is_finite()) {
        return Err(value_error(format!(
            "X[{}, {}] is {}, must be finite",
            k / p.max(1),
            k % p.max(1),
            xv[k]
        )));
    }
    if let Some(k) = yv.iter().position(|v| !v.is_finite()) {
        return Err(value_error(format!("y[{k}] is {}, must be finite", yv[k])));
    }
    let x_names = match names {
        Some(v) if v.len() != p => {
            return Err(value_error(format!("{} x_names for {p} columns", v.len())))
        }
        Some(v) => v,
        None if p == 1 => vec!["x".to_string()],
        None => (0..p).map(|j| format!("x{j}")).collect(),
    };
    Ok(Dataset {
        x_names,
        y_name: y_name.to_string(),
        x: xv,
        y: yv,
    })
}

/// A posterior fit as a dict (the CLI's `fit --json` fields).
pub fn fit_dict(py: Python<'_>, r: FitReport) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let gap = match (r.elbo, r.ln_evidence) {
        (Some(e), Some(l)) => Some(l - e),
        _ => None,
    };
    d.set_item("method", &r.method)?;
    d.set_item("model", &r.model)?;
    d.set_item("names", r.names.clone())?;
    d.set_item("mean", r.mean.clone().into_pyarray(py))?;
    d.set_item("sd", r.sd.clone().into_pyarray(py))?;
    // The coefficients' covariance (intercept and x; d = p + 1), raw units.
    let k = (r.cov.len() as f64).sqrt().round() as usize;
    d.set_item("cov", matrix(py, k, k, r.cov.clone())?)?;
    d.set_item("elbo", r.elbo)?;
    d.set_item("elbo_std_err", r.elbo_std_err)?;
    d.set_item("ln_evidence", r.ln_evidence)?;
    d.set_item("kl_gap", gap)?;
    d.set_item("cubo", r.cubo)?;
    d.set_item("cubo_std_err", r.cubo_std_err)?;
    d.set_item("khat", r.khat)?;
    d.set_item("psis_ln_evidence", r.psis_ln_evidence)?;
    d.set_item("alpha", r.alpha)?;
    d.set_item("renyi_bound", r.renyi_bound)?;
    d.set_item("renyi_bound_std_err", r.renyi_bound_std_err)?;
    d.set_item("kl_q_p", r.kl_q_p)?;
    d.set_item("kl_p_q", r.kl_p_q)?;
    d.set_item("ksd", r.ksd)?;
    d.set_item("trace", r.trace.clone().into_pyarray(py))?;
    d.set_item("steps", r.steps)?;
    d.set_item("converged", r.converged)?;
    d.set_item("termination", r.termination.label())?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("notes", r.notes.clone())?;
    Ok(d)
}

/// Spin samples (S × N of ±1) for learning.
pub fn samples(a: PyArrayLikeDyn<'_, i64, AllowTypeChange>) -> PyResult<Samples> {
    let shape = a.shape().to_vec();
    let [s, n] = shape.as_slice() else {
        return Err(value_error(format!(
            "samples must have shape (S, N), got {shape:?}"
        )));
    };
    let (s, n) = (*s, *n);
    let mut spins: Vec<i8> = Vec::with_capacity(s * n);
    for (k, &x) in a.as_array().iter().enumerate() {
        match x {
            1 => spins.push(1),
            -1 => spins.push(-1),
            _ => {
                return Err(value_error(format!(
                    "samples[{}, {}] = {x}: spins must be -1 or +1",
                    k / n.max(1),
                    k % n.max(1)
                )))
            }
        }
    }
    Samples::from_rows(n, spins.chunks_exact(n.max(1))).map_err(err)
}
