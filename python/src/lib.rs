//! `logz._logz`: the compiled core of the Python package — thin PyO3 wrappers over the `logz`
//! library, numpy arrays in and out.
//!
//! Like the CLI, this module holds no algorithm: it converts Python values into library objects
//! (checking them first, so that bad input is a `ValueError` with logz's one-line message and
//! never a panic), calls the same library entry points the CLI calls (`methods::configured`,
//! `sweep::run`, `mc::sample_saving`, `bayes::fit::fit`, `learn::learn`,
//! `free_energy::homogeneous::roots`), and presents the results. The public, documented API is
//! the pure-Python layer in `python-source/logz/__init__.py`.
//!
//! Long calls release the GIL and run on a worker thread while the calling thread waits, wakes
//! every 50 ms to check for signals (Ctrl-C → `KeyboardInterrupt`) and to call the optional
//! progress callback with the GIL held; stopping goes through the runner's observer, so an
//! interrupted method stops at its next iteration. Tiny deterministic solves (≤ 20 spins, a
//! method without options) run inline to keep the per-call overhead at a few microseconds.

mod convert;
mod run;
mod van;

use convert::{err, opt_size, seed as seed_of, size, value_error, Int};
use logz::estimate::Estimate as LzEstimate;
use logz::methods::{self, MethodOptions};
use logz::model::builders::{self, Params};
use logz::Model as LzModel;
use numpy::ndarray::{Array2, Array3};
use numpy::{
    AllowTypeChange, IntoPyArray, PyArray1, PyArray2, PyArrayLike1, PyArrayLikeDyn,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use run::{run_long, run_long_curve, Inline};
use std::path::PathBuf;

/// The square lattice's critical β, the default β of the built-in models (as in the CLI).
const DEFAULT_BETA: f64 = logz::exact::closed::SQUARE_BETA_C;

/// An Ising model: N spins, edges with couplings J, fields h and the inverse temperature β.
#[pyclass(frozen, module = "logz")]
pub struct Model {
    pub(crate) inner: LzModel,
    /// For a file with evidence: the file's variable count and the spins kept (to report
    /// magnetisations per file variable, as the CLI does).
    pub(crate) loaded: Option<logz::io::LoadedModel>,
    /// How the model was made, as the CLI would name it (a spec such as `square:4`, or the file
    /// path): the label a saved VAN network records. None for a model from arrays.
    pub(crate) spec: Option<String>,
}

impl Model {
    fn plain(inner: LzModel) -> Model {
        Model {
            inner,
            loaded: None,
            spec: None,
        }
    }
    fn from_spec_params(
        spec: &str,
        coupling: f64,
        field: f64,
        beta: f64,
        seed: u64,
    ) -> PyResult<Model> {
        for (name, v) in [("coupling", coupling), ("field", field)] {
            if !v.is_finite() {
                return Err(value_error(format!(
                    "{name} must be a finite number, got {v}"
                )));
            }
        }
        if !beta.is_finite() || beta < 0.0 {
            return Err(value_error(format!(
                "beta must be a finite number ≥ 0, got {beta}"
            )));
        }
        let p = Params {
            coupling,
            field,
            beta,
            seed,
        };
        let mut m = builders::from_spec(spec, &p)
            .map(Model::plain)
            .map_err(err)?;
        m.spec = Some(spec.to_string());
        Ok(m)
    }
}

#[pymethods]
impl Model {
    /// Model(n, edges, couplings, fields=None, beta=1.0): from arrays (see the stub).
    #[new]
    #[pyo3(signature = (n, edges, couplings, fields=None, beta=1.0))]
    fn new(
        n: Int,
        edges: PyArrayLikeDyn<'_, i64, AllowTypeChange>,
        couplings: PyArrayLike1<'_, f64, AllowTypeChange>,
        fields: Option<PyArrayLike1<'_, f64, AllowTypeChange>>,
        beta: f64,
    ) -> PyResult<Model> {
        let n = size(n, "n")?;
        let shape = edges.shape().to_vec();
        let e = match shape.as_slice() {
            [_, 2] => shape[0],
            [0] => 0,
            _ => {
                return Err(value_error(format!(
                    "edges must be an integer array of shape (E, 2), got shape {shape:?}"
                )))
            }
        };
        let view = edges.as_array();
        let flat: Vec<i64> = view.iter().copied().collect();
        let mut pairs = Vec::with_capacity(e);
        for (k, ab) in flat.chunks_exact(2).enumerate() {
            if ab[0] < 0 || ab[1] < 0 {
                return Err(value_error(format!(
                    "invalid model: edge {k} = ({}, {}) has a negative spin index",
                    ab[0], ab[1]
                )));
            }
            pairs.push((ab[0] as usize, ab[1] as usize));
        }
        let j = couplings.as_array().to_vec();
        let h = match fields {
            Some(f) => f.as_array().to_vec(),
            None => vec![0.0; n],
        };
        LzModel::new(n, &pairs, &j, h, beta)
            .map(Model::plain)
            .map_err(err)
    }

    /// A built-in model from the CLI's spec language (`square:16x8:open`, `sk:64`, `er:100:0.05`).
    #[staticmethod]
    #[pyo3(signature = (spec, coupling=1.0, field=0.0, beta=DEFAULT_BETA, seed=Int(0)),
        text_signature = "(spec, coupling=1.0, field=0.0, beta=..., seed=0)")]
    fn from_spec(spec: &str, coupling: f64, field: f64, beta: f64, seed: Int) -> PyResult<Model> {
        Model::from_spec_params(spec, coupling, field, beta, seed_of(seed, "seed")?)
    }

    /// An L×W square lattice (W = L unless given; a torus unless periodic=False).
    #[staticmethod]
    #[pyo3(signature = (L, coupling=1.0, field=0.0, beta=DEFAULT_BETA, periodic=true, W=None))]
    #[allow(non_snake_case)]
    fn square(
        L: Int,
        coupling: f64,
        field: f64,
        beta: f64,
        periodic: bool,
        W: Option<Int>,
    ) -> PyResult<Model> {
        let l = size(L, "L")?;
        let w = opt_size(W, "W")?.unwrap_or(l);
        let spec = format!("square:{l}x{w}{}", if periodic { "" } else { ":open" });
        Model::from_spec_params(&spec, coupling, field, beta, 0)
    }

    /// A chain of N spins (a ring unless periodic=False).
    #[staticmethod]
    #[pyo3(signature = (N, coupling=1.0, field=0.0, beta=DEFAULT_BETA, periodic=true))]
    #[allow(non_snake_case)]
    fn chain(N: Int, coupling: f64, field: f64, beta: f64, periodic: bool) -> PyResult<Model> {
        let n = size(N, "N")?;
        let spec = format!("chain:{n}{}", if periodic { "" } else { ":open" });
        Model::from_spec_params(&spec, coupling, field, beta, 0)
    }

    /// An L×L triangular lattice (a torus unless periodic=False).
    #[staticmethod]
    #[pyo3(signature = (L, coupling=1.0, field=0.0, beta=DEFAULT_BETA, periodic=true))]
    #[allow(non_snake_case)]
    fn triangular(L: Int, coupling: f64, field: f64, beta: f64, periodic: bool) -> PyResult<Model> {
        let l = size(L, "L")?;
        let spec = format!("triangular:{l}{}", if periodic { "" } else { ":open" });
        Model::from_spec_params(&spec, coupling, field, beta, 0)
    }

    /// An L×L×L simple cubic torus.
    #[staticmethod]
    #[pyo3(signature = (L, coupling=1.0, field=0.0, beta=DEFAULT_BETA))]
    #[allow(non_snake_case)]
    fn cubic(L: Int, coupling: f64, field: f64, beta: f64) -> PyResult<Model> {
        let l = size(L, "L")?;
        Model::from_spec_params(&format!("cubic:{l}"), coupling, field, beta, 0)
    }

    /// The complete graph (Curie–Weiss): J/N on every pair.
    #[staticmethod]
    #[pyo3(signature = (N, coupling=1.0, field=0.0, beta=DEFAULT_BETA))]
    #[allow(non_snake_case)]
    fn complete(N: Int, coupling: f64, field: f64, beta: f64) -> PyResult<Model> {
        let n = size(N, "N")?;
        Model::from_spec_params(&format!("complete:{n}"), coupling, field, beta, 0)
    }

    /// Sherrington–Kirkpatrick: J_ij ~ N(0, J²/N) on the complete graph, seeded.
    #[staticmethod]
    #[pyo3(signature = (N, coupling=1.0, field=0.0, beta=DEFAULT_BETA, seed=Int(0)),
        text_signature = "(N, coupling=1.0, field=0.0, beta=..., seed=0)")]
    #[allow(non_snake_case)]
    fn sk(N: Int, coupling: f64, field: f64, beta: f64, seed: Int) -> PyResult<Model> {
        let n = size(N, "N")?;
        Model::from_spec_params(
            &format!("sk:{n}"),
            coupling,
            field,
            beta,
            seed_of(seed, "seed")?,
        )
    }

    /// Erdős–Rényi G(N, q) with constant, Gaussian ("gauss") or ±J ("pm") couplings, seeded.
    #[staticmethod]
    #[pyo3(signature = (N, q, couplings="constant", coupling=1.0, field=0.0, beta=DEFAULT_BETA, seed=Int(0)),
        text_signature = "(N, q, couplings=\"constant\", coupling=1.0, field=0.0, beta=..., seed=0)")]
    #[allow(non_snake_case)]
    fn er(
        N: Int,
        q: f64,
        couplings: &str,
        coupling: f64,
        field: f64,
        beta: f64,
        seed: Int,
    ) -> PyResult<Model> {
        let n = size(N, "N")?;
        if !(0.0..=1.0).contains(&q) {
            return Err(value_error(format!(
                "edge probability q = {q} is not in [0, 1]"
            )));
        }
        let tail = match couplings {
            "constant" => "",
            "gauss" => ":gauss",
            "pm" => ":pm",
            other => {
                return Err(value_error(format!(
                    "couplings '{other}': use 'constant', 'gauss' or 'pm'"
                )))
            }
        };
        let seed = seed_of(seed, "seed")?;
        Model::from_spec_params(&format!("er:{n}:{q:?}{tail}"), coupling, field, beta, seed)
    }

    /// A model from a .uai or .json file (β rescales UAI tables when given).
    #[staticmethod]
    #[pyo3(signature = (path, beta=None, evid=None))]
    fn from_file(
        py: Python<'_>,
        path: PathBuf,
        beta: Option<f64>,
        evid: Option<PathBuf>,
    ) -> PyResult<Model> {
        if let Some(b) = beta {
            if !b.is_finite() || b < 0.0 {
                return Err(value_error(format!(
                    "beta must be a finite number ≥ 0, got {b}"
                )));
            }
        }
        let lm = py
            .detach(|| {
                let mut lm = logz::io::load(&path, evid.as_deref())?;
                if let Some(b) = beta {
                    lm.model = lm.model.with_beta(b)?;
                }
                Ok::<_, logz::Error>(lm)
            })
            .map_err(err)?;
        Ok(Model {
            inner: lm.model.clone(),
            loaded: Some(lm),
            spec: Some(path.display().to_string()),
        })
    }

    /// Write the model to a .uai or .json file (chosen by the extension).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let lower = path.to_string_lossy().to_ascii_lowercase();
        let text = if lower.ends_with(".uai") {
            logz::io::uai::write(&self.inner)
        } else if lower.ends_with(".json") {
            logz::io::json::write(&self.inner)
        } else {
            return Err(value_error(format!(
                "{}: the file name must end in .uai or .json",
                path.display()
            )));
        };
        py.detach(|| std::fs::write(&path, text))
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", path.display())))
    }

    /// The same model at another inverse temperature.
    fn with_beta(&self, beta: f64) -> PyResult<Model> {
        let inner = self.inner.with_beta(beta).map_err(err)?;
        // A model read with evidence keeps its map back to the file's variables.
        let loaded = self.loaded.as_ref().map(|lm| logz::io::LoadedModel {
            model: inner.clone(),
            ..lm.clone()
        });
        Ok(Model {
            inner,
            loaded,
            spec: self.spec.clone(),
        })
    }

    /// Number of spins N.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }
    /// Number of edges E.
    #[getter]
    fn num_edges(&self) -> usize {
        self.inner.num_edges()
    }
    /// Inverse temperature β.
    #[getter]
    fn beta(&self) -> f64 {
        self.inner.beta()
    }
    /// The edges, an int64 array of shape (E, 2) with i < j.
    #[getter]
    fn edges<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<i64>> {
        let e = self.inner.edges();
        let flat: Vec<i64> = e.iter().flat_map(|&(a, b)| [a as i64, b as i64]).collect();
        Array2::from_shape_vec((e.len(), 2), flat)
            .expect("E × 2 entries")
            .into_pyarray(py)
    }
    /// The couplings J, one per edge (float64).
    #[getter]
    fn couplings<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.couplings().to_vec().into_pyarray(py)
    }
    /// The fields h, one per spin (float64).
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.inner.fields().to_vec().into_pyarray(py)
    }
    /// The energy E(s) of a configuration of ±1 spins.
    fn energy(&self, s: PyArrayLike1<'_, i64, AllowTypeChange>) -> PyResult<f64> {
        let v = s.as_array();
        if v.len() != self.inner.n() {
            return Err(value_error(format!(
                "a configuration of {} spins for a model of {}",
                v.len(),
                self.inner.n()
            )));
        }
        let mut spins = Vec::with_capacity(v.len());
        for (i, &x) in v.iter().enumerate() {
            match x {
                1 => spins.push(1i8),
                -1 => spins.push(-1i8),
                _ => return Err(value_error(format!("spin {i} is {x}, must be -1 or +1"))),
            }
        }
        Ok(self.inner.energy(&spins))
    }
    fn __repr__(&self) -> String {
        format!(
            "Model(n={}, edges={}, beta={})",
            self.inner.n(),
            self.inner.num_edges(),
            self.inner.beta()
        )
    }
}

/// What one solver returned: ln Z with what kind of number it is, marginals and diagnostics.
#[pyclass(frozen, module = "logz")]
pub struct Estimate {
    method: String,
    n: usize,
    beta: f64,
    inner: LzEstimate,
    /// Magnetisation per file variable (evidence included) or per spin.
    magnetization: Vec<f64>,
}

#[pymethods]
impl Estimate {
    /// The method name.
    #[getter]
    fn method(&self) -> &str {
        &self.method
    }
    /// Natural log of Z.
    #[getter]
    fn ln_z(&self) -> f64 {
        self.inner.ln_z
    }
    /// log10 Z.
    #[getter]
    fn log10_z(&self) -> f64 {
        self.inner.ln_z / std::f64::consts::LN_10
    }
    /// "exact", "lower_bound", "upper_bound", "stochastic", "stochastic_lower_bound" or
    /// "approximation".
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.label()
    }
    /// One standard error of ln Z (stochastic kinds; inf when it could not be estimated), else None.
    #[getter]
    fn std_err(&self) -> Option<f64> {
        self.inner.kind.std_err()
    }
    /// Number of spins (of the file's variables for a model read with evidence).
    #[getter]
    fn n(&self) -> usize {
        self.n
    }
    /// Inverse temperature β.
    #[getter]
    fn beta(&self) -> f64 {
        self.beta
    }
    /// −ln Z / (βN), or None at β = 0.
    #[getter]
    fn free_energy_per_spin(&self) -> Option<f64> {
        (self.beta > 0.0 && self.n > 0).then(|| -self.inner.ln_z / (self.beta * self.n as f64))
    }
    /// ⟨s_i⟩ per spin (float64, empty if the method gives none).
    #[getter]
    fn magnetization<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.magnetization.clone().into_pyarray(py)
    }
    /// Mean of ⟨s_i⟩ over spins, or None without magnetisations.
    #[getter]
    fn mean_magnetization(&self) -> Option<f64> {
        let m = &self.magnetization;
        (!m.is_empty()).then(|| m.iter().sum::<f64>() / m.len() as f64)
    }
    /// ⟨s_i s_j⟩ per edge in the model's edge order (float64), or None.
    #[getter]
    fn edge_correlation<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.inner
            .edge_correlation
            .as_ref()
            .map(|c| c.clone().into_pyarray(py))
    }
    /// ⟨|Σ s_i|⟩/N where the method computes it.
    #[getter]
    fn abs_magnetization(&self) -> Option<f64> {
        self.inner.abs_magnetization
    }
    /// Mean energy ⟨E⟩ where the method computes it.
    #[getter]
    fn energy(&self) -> Option<f64> {
        self.inner.energy
    }
    /// Iterations actually run.
    #[getter]
    fn iterations(&self) -> usize {
        self.inner.diagnostics.iterations
    }
    /// Whether the method met its convergence criterion.
    #[getter]
    fn converged(&self) -> bool {
        self.inner.diagnostics.converged
    }
    /// Why the run stopped: converged, completed, max_iterations, timeout, diverged, stopped.
    #[getter]
    fn termination(&self) -> &'static str {
        self.inner.diagnostics.termination.label()
    }
    /// Wall-clock seconds of the solve.
    #[getter]
    fn seconds(&self) -> f64 {
        self.inner.diagnostics.seconds
    }
    /// The concrete algorithm behind the method name.
    #[getter]
    fn algorithm(&self) -> &str {
        &self.inner.diagnostics.algorithm
    }
    /// Notes: warnings and validity conditions.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.inner.diagnostics.notes.clone()
    }
    /// The estimate as a dict with the keys and values of `logz solve --json` (numbers as
    /// Python floats, magnetisations as lists; a standard error that could not be estimated is
    /// `inf`, where the JSON writes the string "inf").
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = &self.inner;
        let d = PyDict::new(py);
        let finite = |x: f64| x.is_finite().then_some(x);
        d.set_item("method", &self.method)?;
        d.set_item("algorithm", &e.diagnostics.algorithm)?;
        d.set_item("n", self.n)?;
        d.set_item("beta", self.beta)?;
        d.set_item("ln_z", finite(e.ln_z))?;
        d.set_item("log10_z", finite(e.ln_z / std::f64::consts::LN_10))?;
        d.set_item("kind", e.kind.label())?;
        d.set_item("std_err", e.kind.std_err())?;
        d.set_item(
            "free_energy_per_spin",
            self.free_energy_per_spin().and_then(finite),
        )?;
        d.set_item("magnetization", self.magnetization.clone())?;
        d.set_item("mean_magnetization", self.mean_magnetization())?;
        d.set_item("abs_magnetization", e.abs_magnetization)?;
        d.set_item("energy", e.energy)?;
        d.set_item("edge_correlation", e.edge_correlation.clone())?;
        d.set_item("iterations", e.diagnostics.iterations)?;
        d.set_item("converged", e.diagnostics.converged)?;
        d.set_item("termination", e.diagnostics.termination.label())?;
        d.set_item("seconds", e.diagnostics.seconds)?;
        d.set_item("notes", e.diagnostics.notes.clone())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        let err = match self.inner.kind.std_err() {
            Some(s) => format!(" ± {s:.3e}"),
            None => String::new(),
        };
        format!(
            "Estimate(method='{}', ln_z={}{err}, kind='{}', termination='{}')",
            self.method,
            self.inner.ln_z,
            self.inner.kind.label(),
            self.inner.diagnostics.termination.label()
        )
    }
}

/// Method options from a dict of Python values (the CLI's flags without dashes).
pub(crate) fn method_options(
    seed: u64,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<MethodOptions> {
    let mut o = MethodOptions {
        seed,
        ..Default::default()
    };
    let Some(d) = options else { return Ok(o) };
    let mut net: Option<PathBuf> = None;
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let count = |v: &Bound<'_, PyAny>| -> PyResult<usize> {
            let x: Int = v
                .extract()
                .map_err(|_| value_error(format!("option {key} must be an integer")))?;
            size(x, &key)
        };
        match key.as_str() {
            "sweeps" => o.sweeps = Some(count(&v)?),
            "burn_in" => o.burn_in = Some(count(&v)?),
            "rungs" => o.rungs = Some(count(&v)?),
            "chains" => o.chains = Some(count(&v)?),
            "steps" => o.steps = Some(count(&v)?),
            "runs" => o.runs = Some(count(&v)?),
            "width" => o.width = Some(count(&v)?),
            "depth" => o.depth = Some(count(&v)?),
            "batch" => o.batch = Some(count(&v)?),
            "chi" => o.chi = Some(count(&v)?),
            "lr" => {
                let lr: f64 = v
                    .extract()
                    .map_err(|_| value_error("option lr must be a number"))?;
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(value_error(format!(
                        "lr must be a finite number > 0, got {lr}"
                    )));
                }
                o.lr = Some(lr);
            }
            "checkpoint" => o.checkpoint = Some(v.extract()?),
            "net" => net = Some(v.extract()?),
            other => {
                let names = [
                    "sweeps",
                    "burn_in",
                    "rungs",
                    "chains",
                    "steps",
                    "runs",
                    "width",
                    "depth",
                    "batch",
                    "lr",
                    "chi",
                    "checkpoint",
                    "net",
                ];
                return Err(value_error(format!(
                    "unknown option '{other}'; the options are: seed, threads, {}",
                    names.join(", ")
                )));
            }
        }
    }
    if let Some(p) = net {
        o.net = Some(
            logz::spin_vi::van::checkpoint::Checkpoint::read_file(&p)
                .map_err(err)?
                .network,
        );
    }
    Ok(o)
}

/// Methods that take no options: fixed, deterministic configurations.
fn takes_no_options(method: &str) -> bool {
    methods::takes(method)
        .map(|t| t.is_empty())
        .unwrap_or(false)
}

/// solve(model, method, seed, options, progress, threads) -> Estimate (see logz.solve).
#[pyfunction]
#[pyo3(signature = (model, method="mf", seed=Int(0), options=None, progress=None, threads=None))]
fn solve(
    py: Python<'_>,
    model: &Model,
    method: &str,
    seed: Int,
    options: Option<&Bound<'_, PyDict>>,
    progress: Option<Bound<'_, PyAny>>,
    threads: Option<Int>,
) -> PyResult<Estimate> {
    let o = method_options(seed_of(seed, "seed")?, options)?;
    let solver = methods::configured(method, &o).map_err(err)?;
    let threads = opt_size(threads, "threads")?;
    let m = &model.inner;
    let inline =
        if progress.is_none() && threads.is_none() && m.n() <= 20 && takes_no_options(method) {
            Inline::Yes
        } else {
            Inline::No
        };
    let est = run_long(py, progress.as_ref(), inline, threads, |runner| {
        runner.run(solver.as_ref(), m)
    })?;
    let (n, magnetization) = match &model.loaded {
        Some(lm) => (lm.n_original, lm.expand_magnetization(&est.magnetization)),
        None => (m.n(), est.magnetization.clone()),
    };
    Ok(Estimate {
        method: method.to_string(),
        n,
        beta: m.beta(),
        inner: est,
        magnetization,
    })
}

/// The methods with their one-line descriptions and the options they take.
#[pyfunction]
fn methods_table(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for (name, what) in methods::METHODS {
        let takes: Vec<String> = methods::takes(name)
            .map_err(err)?
            .iter()
            .map(|o| o.flag().trim_start_matches("--").replace('-', "_"))
            .collect();
        out.append((name, what, takes))?;
    }
    Ok(out)
}

/// The methods `compare` runs by default.
#[pyfunction]
fn compare_defaults() -> Vec<&'static str> {
    methods::COMPARE.to_vec()
}

/// compare(model, methods, betas, seed, options, progress, threads) -> dict (see logz.compare).
#[pyfunction]
#[pyo3(signature = (model, methods, betas, seed=Int(0), options=None, progress=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn compare<'py>(
    py: Python<'py>,
    model: &Model,
    methods: Vec<String>,
    betas: PyArrayLike1<'py, f64, AllowTypeChange>,
    seed: Int,
    options: Option<&Bound<'py, PyDict>>,
    progress: Option<Bound<'py, PyAny>>,
    threads: Option<Int>,
) -> PyResult<Bound<'py, PyDict>> {
    let betas: Vec<f64> = betas.as_array().to_vec();
    if betas.is_empty() {
        return Err(value_error("betas is empty"));
    }
    if let Some(b) = betas.iter().find(|b| !b.is_finite() || **b < 0.0) {
        return Err(value_error(format!(
            "every beta must be a finite number ≥ 0, got {b}"
        )));
    }
    if methods.is_empty() {
        return Err(value_error("methods is empty"));
    }
    let threads = opt_size(threads, "threads")?;
    let mut o = method_options(seed_of(seed, "seed")?, options)?;
    o.budget = logz::methods::Budget::SweepPoint;
    let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    let solvers = logz::methods::configured_all(&names, &o).map_err(err)?;
    let costs: Vec<u64> = names
        .iter()
        .map(|n| logz::sweep::relative_cost(n))
        .collect();
    let base = &model.inner;
    let grid = run_long(py, progress.as_ref(), Inline::No, threads, |runner| {
        let refs: Vec<&(dyn logz::Solver + Sync)> = solvers
            .iter()
            .map(|s| s.as_ref() as &(dyn logz::Solver + Sync))
            .collect();
        // Each finished (β, method) task is one iteration of the sweep: the observers see it
        // (progress), and once told to stop, the tasks that start after it start stopped (every
        // task runs under a child of this runner, which inherits its stop state).
        let done = std::sync::atomic::AtomicUsize::new(0);
        let report = |_cost: u64| {
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let _ = runner.iterate(logz::runner::Iteration::new("compare", k));
        };
        logz::sweep::run(base, &betas, &refs, &costs, &report, runner)
    })?;
    convert::compare_dict(py, &betas, &names, base.n(), grid)
}

/// sample(model, ...) -> dict (see logz.sample).
#[pyfunction]
#[pyo3(signature = (model, algorithm="metropolis", sweeps=Int(10000), burn_in=Int(1000), chains=Int(4), seed=Int(0),
                    save_every=None, kernel="auto", replicas=Int(16), beta_min=0.2, cold=false,
                    progress=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn sample<'py>(
    py: Python<'py>,
    model: &Model,
    algorithm: &str,
    sweeps: Int,
    burn_in: Int,
    chains: Int,
    seed: Int,
    save_every: Option<Int>,
    kernel: &str,
    replicas: Int,
    beta_min: f64,
    cold: bool,
    progress: Option<Bound<'py, PyAny>>,
    threads: Option<Int>,
) -> PyResult<Bound<'py, PyDict>> {
    use logz::mc::{Algorithm, KernelChoice, SampleOptions};
    let algorithm = Algorithm::parse(algorithm).map_err(err)?;
    let kernel = match kernel {
        "auto" => KernelChoice::Auto,
        "generic" => KernelChoice::Generic,
        "multispin" => KernelChoice::MultiSpin,
        k => {
            return Err(value_error(format!(
                "kernel '{k}': use auto, generic or multispin"
            )))
        }
    };
    if !beta_min.is_finite() {
        return Err(value_error(format!(
            "beta_min must be finite, got {beta_min}"
        )));
    }
    let o = SampleOptions {
        algorithm,
        sweeps: size(sweeps, "sweeps")?,
        burn_in: size(burn_in, "burn_in")?,
        chains: size(chains, "chains")?,
        seed: seed_of(seed, "seed")?,
        kernel,
        replicas: size(replicas, "replicas")?,
        beta_min_fraction: beta_min,
        cold_start: cold,
        correlations: true,
        exchange_every: 1,
    };
    let every = opt_size(save_every, "save_every")?;
    let threads = opt_size(threads, "threads")?;
    let m = &model.inner;
    let run = run_long(
        py,
        progress.as_ref(),
        Inline::No,
        threads,
        |runner| match every {
            Some(k) => logz::mc::sample_saving(m, &o, k, runner),
            None => logz::mc::sample(m, &o, runner),
        },
    )?;
    convert::sample_dict(py, run, o.burn_in)
}

/// fit(X, y, model, method, ...) -> dict (see logz.fit).
#[pyfunction]
#[pyo3(signature = (x, y, model="blr", method="exact", sigma=None, a0=1.0, b0=1.0, batch=None,
                    steps=Int(20000), lr=0.05, seed=Int(1), x_names=None, y_name="y", progress=None,
                    alpha=None, particles=None, kernel=None))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    x: PyArrayLikeDyn<'py, f64, AllowTypeChange>,
    y: PyArrayLike1<'py, f64, AllowTypeChange>,
    model: &str,
    method: &str,
    sigma: Option<f64>,
    a0: f64,
    b0: f64,
    batch: Option<Int>,
    steps: Int,
    lr: f64,
    seed: Int,
    x_names: Option<Vec<String>>,
    y_name: &str,
    progress: Option<Bound<'py, PyAny>>,
    alpha: Option<f64>,
    particles: Option<Int>,
    kernel: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    use logz::bayes::fit::{FitOptions, Method, ModelKind};
    use logz::bayes::linear::Noise;
    let method = Method::parse(method).map_err(err)?;
    // As the CLI: alpha only for the Rényi methods, particles only for SVGD.
    if alpha.is_some() && !matches!(method, Method::Renyi | Method::RenyiFullRank) {
        return Err(value_error(
            "alpha applies to the renyi methods only (method='renyi' or 'renyi-fullrank')",
        ));
    }
    if let Some(a) = alpha {
        if !a.is_finite() {
            return Err(value_error(format!(
                "alpha must be a finite number, got {a}"
            )));
        }
    }
    let particles = opt_size(particles, "particles")?;
    if (particles.is_some() || kernel.is_some()) && method != Method::Svgd {
        return Err(value_error(
            "particles and kernel apply to method='svgd' only",
        ));
    }
    let kernel = match kernel {
        Some(k) => logz::stein::SvgdKernel::parse(k).map_err(err)?,
        None => logz::stein::SvgdKernel::Linear,
    };
    let kind = match model {
        "blr" => match sigma {
            Some(s) if !(s > 0.0 && s.is_finite()) => {
                return Err(value_error(format!("sigma must be > 0, got {s}")))
            }
            Some(s) => ModelKind::Linear(Noise::Known(s)),
            None => {
                for (name, v) in [("a0", a0), ("b0", b0)] {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(value_error(format!(
                            "{name} must be a finite number > 0, got {v}"
                        )));
                    }
                }
                ModelKind::Linear(Noise::Unknown { a0, b0 })
            }
        },
        "logistic" => {
            if sigma.is_some() {
                return Err(value_error("sigma applies to model='blr' only"));
            }
            ModelKind::Logistic
        }
        other => {
            return Err(value_error(format!(
                "model '{other}': use 'blr' or 'logistic'"
            )))
        }
    };
    if !(lr.is_finite() && lr > 0.0) {
        return Err(value_error(format!(
            "lr must be a finite number > 0, got {lr}"
        )));
    }
    let batch = opt_size(batch, "batch")?;
    if batch == Some(0) {
        return Err(value_error("batch must be at least 1"));
    }
    let data = convert::dataset(x, y, x_names, y_name)?;
    let o = FitOptions {
        method,
        batch,
        max_steps: size(steps, "steps")?,
        lr,
        seed: seed_of(seed, "seed")?,
        alpha: alpha.unwrap_or(0.5),
        particles: particles.unwrap_or(FitOptions::default().particles),
        kernel,
        ..FitOptions::default()
    };
    let report = run_long(py, progress.as_ref(), Inline::No, None, |runner| {
        logz::bayes::fit::fit(&data, kind, &o, runner)
    })?;
    convert::fit_dict(py, report)
}

/// learn(samples, method, ...) -> (Model, dict) (see logz.learn).
#[pyfunction]
#[pyo3(signature = (samples, method="plm", expectations="exact", l2=None, l1=None, seed=Int(1),
                    steps=None, chains=None, sweeps=None, lr=None, graph=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn learn<'py>(
    py: Python<'py>,
    samples: PyArrayLikeDyn<'py, i64, AllowTypeChange>,
    method: &str,
    expectations: &str,
    l2: Option<f64>,
    l1: Option<f64>,
    seed: Int,
    steps: Option<Int>,
    chains: Option<Int>,
    sweeps: Option<Int>,
    lr: Option<f64>,
    graph: Option<PyRef<'py, Model>>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(Model, Bound<'py, PyDict>)> {
    use logz::learn::{Expectations, Graph, LearnOptions, Method};
    let data = convert::samples(samples)?;
    let method =
        Method::parse(method, Expectations::parse(expectations).map_err(err)?).map_err(err)?;
    let mut o = LearnOptions {
        method,
        ..Default::default()
    };
    if let Some(g) = &graph {
        o.graph = Graph::of(&g.inner);
    }
    for (name, v) in [("l2", l2), ("l1", l1)] {
        if let Some(x) = v {
            if !(x.is_finite() && x >= 0.0) {
                return Err(value_error(format!(
                    "{name} must be a finite number ≥ 0, got {x}"
                )));
            }
        }
    }
    o.l2 = l2;
    if let Some(x) = l1 {
        o.l1 = x;
    }
    let b = &mut o.boltzmann;
    b.seed = seed_of(seed, "seed")?;
    if let Some(s) = opt_size(steps, "steps")? {
        b.steps = s;
    }
    if let Some(c) = opt_size(chains, "chains")? {
        b.chains = c;
    }
    if let Some(s) = opt_size(sweeps, "sweeps")? {
        b.sweeps = s;
    }
    if let Some(x) = lr {
        if !(x.is_finite() && x > 0.0) {
            return Err(value_error(format!(
                "lr must be a finite number > 0, got {x}"
            )));
        }
        b.lr = x;
    }
    // The same entry point as `logz learn`: under the runner, so Ctrl-C and the progress
    // callback reach the iterative learners, and the objective per iteration is recorded.
    let (learned, curve) = run_long_curve(py, progress.as_ref(), Inline::No, None, true, |r| {
        logz::learn::learn_with(&data, &o, r)
    })?;
    let d = PyDict::new(py);
    d.set_item("iterations", learned.iterations)?;
    d.set_item("converged", learned.converged)?;
    d.set_item("termination", learned.termination.label())?;
    d.set_item("residual", learned.residual)?;
    d.set_item("notes", learned.notes.clone())?;
    d.set_item("fields", learned.h.clone().into_pyarray(py))?;
    let n = learned.j.nrows();
    let j: Vec<f64> = (0..n * n).map(|k| learned.j[(k / n, k % n)]).collect();
    d.set_item(
        "couplings_matrix",
        Array2::from_shape_vec((n, n), j)
            .expect("n × n")
            .into_pyarray(py),
    )?;
    let flat: Vec<f64> = curve.iter().flat_map(|&(i, y)| [i as f64, y]).collect();
    d.set_item(
        "curve",
        Array2::from_shape_vec((curve.len(), 2), flat)
            .expect("K × 2")
            .into_pyarray(py),
    )?;
    Ok((Model::plain(learned.model), d))
}

/// meanfield_roots(z, J, h, beta) -> list of (m, stable, bound_per_spin) (see logz.meanfield).
#[pyfunction]
#[pyo3(signature = (z, coupling=1.0, field=0.0, beta=DEFAULT_BETA))]
fn meanfield_roots(
    z: f64,
    coupling: f64,
    field: f64,
    beta: f64,
) -> PyResult<Vec<(f64, bool, f64)>> {
    let rs = logz::free_energy::homogeneous::roots(z, coupling, field, beta).map_err(err)?;
    Ok(rs
        .iter()
        .map(|r| (r.m, r.stable, r.bound_per_spin))
        .collect())
}

/// A (chains, samples, N) int8 array that takes over `data` without copying (test helper and
/// the path `sample` uses).
pub(crate) fn int8_cube(
    py: Python<'_>,
    data: Vec<i8>,
    shape: (usize, usize, usize),
) -> PyResult<Bound<'_, numpy::PyArray3<i8>>> {
    Array3::from_shape_vec(shape, data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| PyValueError::new_err(format!("configuration array: {e}")))
}

/// The compiled core of logz.
#[pymodule]
fn _logz(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Estimate>()?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(methods_table, m)?)?;
    m.add_function(wrap_pyfunction!(compare_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(learn, m)?)?;
    m.add_function(wrap_pyfunction!(meanfield_roots, m)?)?;
    m.add_function(wrap_pyfunction!(van::train_van, m)?)?;
    m.add("DEFAULT_BETA", DEFAULT_BETA)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
