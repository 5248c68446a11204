//! `logz.train_van`: train a variational autoregressive network from Python, as `logz
//! train-van` does, keep (and optionally save) the network.
//!
//! The training runs through `Runner::run` like every `solve`, so the estimate is exactly the
//! one `solve(model, "van")` returns for the same options and seed; a small [`Solver`] adapter
//! keeps the trained network and its report, which `Solver::solve_with` would drop. A saved
//! network is the CLI's checkpoint file: `logz solve --method van --net FILE` and
//! `logz.solve(model, "van", net=FILE)` evaluate it (`steps=0`) or continue training it.

use crate::convert::{err, opt_size, seed as seed_of, value_error, Int};
use crate::run::{run_long, Inline};
use crate::{method_options, Estimate, Model};
use logz::estimate::Estimate as LzEstimate;
use logz::methods::{self, Opt};
use logz::runner::Runner;
use logz::spin_vi::van::checkpoint::Checkpoint;
use logz::spin_vi::van::{Made, Van, VanReport};
use logz::Solver;
use numpy::ndarray::Array2;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Mutex;

/// A VAN solver that keeps what it trained.
struct Keep<'a> {
    van: &'a Van,
    kept: Mutex<Option<(Made, VanReport)>>,
}

impl Solver for Keep<'_> {
    fn name(&self) -> &'static str {
        self.van.name()
    }
    fn solve_with(&self, m: &logz::Model, runner: &Runner) -> logz::Result<LzEstimate> {
        let (net, report, e) = self.van.train_estimate(m, runner)?;
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some((net, report));
        Ok(e)
    }
}

/// train_van(model, seed, options, save, importance_weighted, progress, threads)
/// -> (Estimate, dict) (see logz.train_van).
#[pyfunction]
#[pyo3(signature = (model, seed=Int(0), options=None, save=None, importance_weighted=false,
                    progress=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn train_van<'py>(
    py: Python<'py>,
    model: &Model,
    seed: Int,
    options: Option<&Bound<'py, PyDict>>,
    save: Option<PathBuf>,
    importance_weighted: bool,
    progress: Option<Bound<'py, PyAny>>,
    threads: Option<Int>,
) -> PyResult<(Estimate, Bound<'py, PyDict>)> {
    let name = if importance_weighted { "van-iw" } else { "van" };
    let o = method_options(seed_of(seed, "seed")?, options)?;
    // As the CLI: only the options VAN takes (a network to continue from is `net`).
    let mut given = o.given();
    if o.net.is_some() && !given.contains(&Opt::Net) {
        given.push(Opt::Net);
    }
    methods::check(&[name], &given).map_err(err)?;
    if let Some(p) = &save {
        // Refuse an unwritable destination before training, not after.
        if p.is_dir() {
            return Err(value_error(format!("save: {} is a directory", p.display())));
        }
    }
    let threads = opt_size(threads, "threads")?;
    let van = methods::van_options(&o, importance_weighted);
    let keep = Keep {
        van: &van,
        kept: Mutex::new(None),
    };
    let m = &model.inner;
    let (est, exact) = run_long(py, progress.as_ref(), Inline::No, threads, |runner| {
        let e = runner.run(&keep, m)?;
        Ok((e, logz::exact::reference::exact_ln_z(m)))
    })?;
    let (net, report) = keep
        .kept
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .ok_or_else(|| value_error("van: training returned no network"))?;
    if let Some(p) = &save {
        let ck = Checkpoint {
            model: model
                .spec
                .clone()
                .unwrap_or_else(|| format!("python Model(n={}, edges={})", m.n(), m.num_edges())),
            beta: m.beta(),
            network: net.clone(),
            report: report.clone(),
            exact_ln_z: exact,
        };
        let text = ck.to_json();
        py.detach(|| std::fs::write(p, text))
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", p.display())))?;
    }
    let d = report_dict(py, &report, exact, save.as_ref())?;
    d.set_item("width", net.width)?;
    d.set_item("depth", net.depth)?;
    d.set_item("z2", net.z2)?;
    let (n, magnetization) = match &model.loaded {
        Some(lm) => (lm.n_original, lm.expand_magnetization(&est.magnetization)),
        None => (m.n(), est.magnetization.clone()),
    };
    Ok((
        Estimate {
            method: name.to_string(),
            n,
            beta: m.beta(),
            inner: est,
            magnetization,
        },
        d,
    ))
}

/// The training report as a dict: the keys of `logz train-van --json` plus the other bound
/// (CUBO), the PSIS diagnostics and the ELBO trace.
fn report_dict<'py>(
    py: Python<'py>,
    r: &VanReport,
    exact: Option<f64>,
    out: Option<&PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("elbo", r.elbo)?;
    d.set_item("elbo_std_err", r.elbo_std_err)?;
    d.set_item("iw_ln_z", r.iw_ln_z)?;
    d.set_item("iw_std_err", r.iw_std_err)?;
    d.set_item("ess", r.ess)?;
    d.set_item("samples", r.samples)?;
    d.set_item("cubo", r.cubo)?;
    d.set_item("cubo_std_err", r.cubo_std_err)?;
    d.set_item("khat", r.khat)?;
    d.set_item("psis_ln_z", r.psis_ln_z)?;
    d.set_item("exact_ln_z", exact)?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("steps", r.steps)?;
    d.set_item("termination", r.termination.label())?;
    d.set_item("out", out.map(|p| p.display().to_string()))?;
    // (step, ELBO at the target β, seconds) every 10 steps.
    let flat: Vec<f64> = r
        .trace
        .iter()
        .flat_map(|&(s, e, t)| [s as f64, e, t])
        .collect();
    d.set_item(
        "trace",
        Array2::from_shape_vec((r.trace.len(), 3), flat)
            .map_err(|e| value_error(e.to_string()))?
            .into_pyarray(py),
    )?;
    Ok(d)
}
