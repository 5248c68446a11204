//! Learning a model from data: the inverse Ising problem and Boltzmann-machine training.
//!
//! Given M configurations s^μ ∈ {−1, 1}^N, estimate fields h and couplings J (β folded in, so
//! the learned model has β = 1) of p(s) ∝ e^{Σ h_i s_i + Σ J_ij s_i s_j}. The gradient of the
//! log-likelihood is ⟨·⟩_data − ⟨·⟩_model = ⟨·⟩_data − ∇ ln Z, so every method approximates the
//! derivative of ln Z in its own way:
//!
//! | method | idea | module |
//! |---|---|---|
//! | `mf` | naive mean-field inversion J = −C⁻¹ | [`invert`] |
//! | `tap` | TAP inversion (Onsager reaction term) | [`invert`] |
//! | `bethe` | Bethe / small-correlation inversion, exact on trees | [`invert`] |
//! | `plm` | pseudo-likelihood, one logistic regression per spin | [`plm`] |
//! | `boltzmann` | maximum likelihood with exact, Monte Carlo (PCD) or mean-field moments | [`boltzmann`] |
//!
//! [`evaluate`] judges a model: ε_J against a truth, moment residuals, and the held-out
//! log-likelihood with ln Z's kind (exact, or bracketed by mean field and TRW).

pub mod boltzmann;
pub mod data;
pub mod evaluate;
pub mod invert;
pub mod lbfgs;
pub mod plm;
pub mod synthetic;

pub use boltzmann::Expectations;
pub use data::{write_csv, Moments, Samples};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::runner::{Runner, Termination};
use nalgebra::DMatrix;

/// The learning methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Naive mean-field inversion.
    MeanField,
    /// TAP inversion.
    Tap,
    /// Bethe inversion.
    Bethe,
    /// Pseudo-likelihood.
    Plm,
    /// Maximum likelihood with the given model expectations.
    Boltzmann(Expectations),
}

impl Method {
    /// The method names [`Method::parse`] accepts.
    pub const NAMES: &'static [&'static str] = &["mf", "tap", "bethe", "plm", "boltzmann"];

    /// Parse a method name; `boltzmann` takes its expectations from `expectations`.
    pub fn parse(s: &str, expectations: Expectations) -> Result<Method> {
        Ok(match s {
            "mf" => Method::MeanField,
            "tap" => Method::Tap,
            "bethe" => Method::Bethe,
            "plm" => Method::Plm,
            "boltzmann" => Method::Boltzmann(expectations),
            _ => {
                return Err(Error::arg(format!(
                    "unknown learning method '{s}' (one of: {})",
                    Method::NAMES.join(", ")
                )))
            }
        })
    }
    /// The name, with the expectations of `boltzmann` (e.g. `boltzmann/exact`).
    pub fn name(&self) -> String {
        match self {
            Method::MeanField => "mf".into(),
            Method::Tap => "tap".into(),
            Method::Bethe => "bethe".into(),
            Method::Plm => "plm".into(),
            Method::Boltzmann(e) => format!("boltzmann/{}", e.name()),
        }
    }
}

/// Which couplings may be nonzero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Graph {
    /// Every pair.
    Complete,
    /// Only these pairs (each i ≠ j, in either order).
    Edges(Vec<(usize, usize)>),
}

impl Graph {
    /// The graph of a model's edges.
    pub fn of(m: &Model) -> Graph {
        Graph::Edges(
            m.edges()
                .iter()
                .map(|&(a, b)| (a as usize, b as usize))
                .collect(),
        )
    }
}

/// Settings of [`learn`].
#[derive(Debug, Clone)]
pub struct LearnOptions {
    /// The method.
    pub method: Method,
    /// L2 penalty (ridge on C for the inversions; λΣJ² for plm and boltzmann). `None`: the
    /// method's default (0, plm 1e-5).
    pub l2: Option<f64>,
    /// L1 penalty λ Σ|J| (plm only, by OWL-QN; refused for the other methods when nonzero).
    pub l1: f64,
    /// Which couplings may be nonzero.
    pub graph: Graph,
    /// boltzmann settings (expectations are taken from the method).
    pub boltzmann: boltzmann::BoltzmannOptions,
    /// plm settings (l2 is taken from `l2` when given).
    pub plm: plm::PlmOptions,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            method: Method::Plm,
            l2: None,
            l1: 0.0,
            graph: Graph::Complete,
            boltzmann: boltzmann::BoltzmannOptions::default(),
            plm: plm::PlmOptions::default(),
        }
    }
}

/// A learned model and how learning went.
#[derive(Debug, Clone)]
pub struct Learned {
    /// The model (β = 1; edges: every allowed pair).
    pub model: Model,
    /// Dense couplings (symmetric, zero diagonal).
    pub j: DMatrix<f64>,
    /// Fields.
    pub h: Vec<f64>,
    /// Iterations (L-BFGS steps, batched evaluations or parameter steps).
    pub iterations: usize,
    /// Whether the method's stopping rule was met.
    pub converged: bool,
    /// boltzmann: max |⟨·⟩_data − ⟨·⟩_model| at the end, and the part expected from sampling
    /// noise.
    pub residual: Option<(f64, f64)>,
    /// Remarks (data notes, stalls, clamped columns).
    pub notes: Vec<String>,
    /// Why the learner stopped (converged, completed its steps, out of time, stopped).
    pub termination: Termination,
}

/// Which pairs may couple: the graph, minus the constant columns.
fn allowed(n: usize, graph: &Graph, fixed: &[(usize, f64)]) -> Result<DMatrix<bool>> {
    let mut a = match graph {
        Graph::Complete => DMatrix::from_fn(n, n, |i, j| i != j),
        Graph::Edges(e) => {
            let mut a = DMatrix::from_element(n, n, false);
            for &(i, j) in e {
                if i >= n || j >= n || i == j {
                    return Err(Error::arg(format!(
                        "graph edge ({i}, {j}) does not join two distinct spins of {n}"
                    )));
                }
                a[(i, j)] = true;
                a[(j, i)] = true;
            }
            a
        }
    };
    for &(i, _) in fixed {
        for j in 0..n {
            a[(i, j)] = false;
            a[(j, i)] = false;
        }
    }
    Ok(a)
}

/// Learn a model from samples.
pub fn learn(data: &Samples, o: &LearnOptions) -> Result<Learned> {
    learn_with(data, o, &Runner::new())
}

/// [`learn`] under a [`Runner`]: the iterative learners (pseudo-likelihood's batched L-BFGS,
/// Boltzmann learning) report every step to its observers and progress display, and honour
/// its budgets — a stopped run returns the parameters it has, with the reason in
/// [`Learned::termination`].
pub fn learn_with(data: &Samples, o: &LearnOptions, runner: &Runner) -> Result<Learned> {
    if !(o.l1.is_finite() && o.l1 >= 0.0) {
        return Err(Error::arg(format!(
            "the L1 penalty must be a finite number ≥ 0, got {}",
            o.l1
        )));
    }
    if o.l1 > 0.0 && o.method != Method::Plm {
        return Err(Error::arg(format!(
            "--l1 applies to plm only (method {}); use --l2 (ridge) regularisation",
            o.method.name()
        )));
    }
    if let Some(l2) = o.l2 {
        if !(l2.is_finite() && l2 >= 0.0) {
            return Err(Error::arg(format!(
                "the L2 penalty must be a finite number ≥ 0, got {l2}"
            )));
        }
    }
    let n = data.n();
    // Working memory: dense N × N matrices (a few, in double precision).
    crate::limits::check_memory(
        "learn",
        &format!("learning {n} spins (dense {n}×{n} matrices)"),
        8.0 * 8.0 * (n as f64).powi(2),
    )?;
    // A column that never changes is its first value throughout.
    let clamp = 1.0 - 1.0 / data.len().max(2) as f64;
    let fixed: Vec<(usize, f64)> = data
        .constant_columns()
        .into_iter()
        .map(|i| (i, (data.row(0)[i] as f64 * clamp).atanh()))
        .collect();
    // Pseudo-likelihood works on the samples themselves; the others on their moments.
    let moments = || data.moments();
    let allowed = allowed(n, &o.graph, &fixed)?;
    let mut notes = data.notes.clone();
    let l2 = |default: f64| o.l2.unwrap_or(default);
    let (j, h, iterations, converged, residual, termination) = match o.method {
        Method::MeanField | Method::Tap | Method::Bethe => {
            let how = match o.method {
                Method::MeanField => invert::Inversion::MeanField,
                Method::Tap => invert::Inversion::Tap,
                _ => invert::Inversion::Bethe,
            };
            let (j, mut h) = invert::invert(&moments(), how, l2(0.0), &allowed)?;
            for &(i, hi) in &fixed {
                h[i] = hi;
            }
            (j, h, 1, true, None, Termination::Converged)
        }
        Method::Plm => {
            let po = plm::PlmOptions {
                l2: l2(o.plm.l2),
                l1: o.l1,
                ..o.plm.clone()
            };
            let f = plm::fit_with(data, &po, &allowed, &fixed, runner)?;
            if f.stalled > 0 {
                notes.push(format!(
                    "plm: {} spin(s) stopped before ‖∇‖ ≤ {:.0e} (rounding or the step cap)",
                    f.stalled, po.tol
                ));
            }
            let converged = f.stalled == 0 && f.termination == Termination::Converged;
            (f.j, f.h, f.evaluations, converged, None, f.termination)
        }
        Method::Boltzmann(e) => {
            let edges: Vec<(usize, usize)> = (0..n)
                .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
                .filter(|&(a, b)| allowed[(a, b)])
                .collect();
            let bo = boltzmann::BoltzmannOptions {
                expectations: e,
                l2: l2(o.boltzmann.l2),
                ..o.boltzmann.clone()
            };
            let f = boltzmann::fit_with(&moments(), &edges, &fixed, &bo, None, runner)?;
            if let Some(acc) = f.swap_acceptance {
                notes.push(format!(
                    "boltzmann/pcd: parallel tempering, {} copies per chain (β from 1 down to \
                     {}); lowest exchange acceptance {acc:.2}{}",
                    bo.replicas,
                    bo.beta_min,
                    if acc < 0.1 {
                        " — too low for the copies to mix: add replicas or raise --beta-min"
                    } else {
                        ""
                    }
                ));
            }
            if !f.converged {
                let (r, target) = if e == Expectations::Pcd {
                    (
                        f.residual,
                        format!("the chains' sampling error {:.1e}", f.residual_noise),
                    )
                } else {
                    (f.residual, format!("{:.0e}", bo.tol))
                };
                notes.push(format!(
                    "boltzmann/{}: {} after {} steps with moment residual {r:.2e}, not within {target}",
                    e.name(),
                    f.termination.label(),
                    f.steps,
                ));
            }
            (
                f.j,
                f.h,
                f.steps,
                f.converged,
                Some((f.residual, f.residual_noise)),
                f.termination,
            )
        }
    };
    if j.iter().chain(&h).any(|x| !x.is_finite()) {
        return Err(Error::Numerical(format!(
            "{}: a learned parameter is not finite (too few samples or too strong \
             correlations); regularise with --l2",
            o.method.name()
        )));
    }
    let model = to_model(&j, &h, &allowed)?;
    Ok(Learned {
        model,
        j,
        h,
        iterations,
        converged,
        residual,
        notes,
        termination,
    })
}

/// A model (β = 1) with every pair the graph allows as an edge.
fn to_model(j: &DMatrix<f64>, h: &[f64], allowed: &DMatrix<bool>) -> Result<Model> {
    let n = h.len();
    let mut edges = Vec::new();
    let mut couplings = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            if allowed[(a, b)] {
                edges.push((a, b));
                couplings.push(j[(a, b)]);
            }
        }
    }
    Model::new(n, &edges, &couplings, h.to_vec(), 1.0)
}
