//! Every solver by name: the registry that `logz solve --method` and `logz compare` use.

use crate::estimate::Solver;
use crate::{exact, mc, variational, vi};

/// All method names with a one-line description.
pub const METHODS: &[(&str, &str)] = &[
    (
        "exact",
        "best applicable exact method (closed form, enumeration, elimination, transfer)",
    ),
    (
        "enumerate",
        "exact: Gray-code enumeration of all 2^N states",
    ),
    ("elimination", "exact: variable elimination / junction tree"),
    (
        "transfer",
        "exact: transfer matrix for square-lattice strips",
    ),
    ("chain", "exact: closed form for a uniform chain"),
    (
        "curie-weiss",
        "exact: finite-N Curie–Weiss sum over magnetisation sectors",
    ),
    ("kaufman", "exact: Kaufman's finite square torus (h = 0)"),
    (
        "onsager",
        "approximation: Onsager's infinite-lattice free energy × N",
    ),
    (
        "mf",
        "lower bound: naive mean field (GBF bound = factorised ELBO)",
    ),
    ("tap", "approximation: TAP (second-order Plefka expansion)"),
    ("bethe", "approximation: Bethe free energy by loopy BP"),
    ("trw", "upper bound: tree-reweighted BP"),
    (
        "ti",
        "stochastic: thermodynamic integration over the couplings (replica exchange)",
    ),
    ("ais", "stochastic: annealed importance sampling"),
    (
        "bbvi",
        "lower bound: factorised q trained by score-function gradients (black-box VI)",
    ),
    (
        "van",
        "stochastic lower bound ± std_err: variational autoregressive network (MADE), Monte Carlo ELBO",
    ),
    (
        "van-iw",
        "stochastic: the same network's importance-weighted ln Z",
    ),
];

/// How much work the stochastic methods do where their options are unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Budget {
    /// One run (`logz solve`): each method's `Default`.
    #[default]
    Single,
    /// One point of a β sweep (`logz compare` runs every method at every β): the smaller
    /// `sweep_point()` budgets of TI, AIS and BBVI — wider error bars, the same checks.
    SweepPoint,
}

/// Settings of the stochastic methods (unset fields keep each method's default for `budget`).
#[derive(Debug, Clone, Default)]
pub struct MethodOptions {
    pub seed: u64,
    pub budget: Budget,
    pub sweeps: Option<usize>,
    pub burn_in: Option<usize>,
    pub rungs: Option<usize>,
    pub chains: Option<usize>,
    pub steps: Option<usize>,
    pub runs: Option<usize>,
    pub width: Option<usize>,
    pub depth: Option<usize>,
    pub batch: Option<usize>,
    pub lr: Option<f64>,
    /// A trained VAN to start from.
    pub net: Option<vi::van::Made>,
}

/// Look up a solver by name, configured with `o`.
pub fn configured(name: &str, o: &MethodOptions) -> Option<Box<dyn Solver + Send + Sync>> {
    match name {
        "ti" => {
            let d = match o.budget {
                Budget::Single => mc::ThermodynamicIntegration::default(),
                Budget::SweepPoint => mc::ThermodynamicIntegration::sweep_point(),
            };
            Some(Box::new(mc::ThermodynamicIntegration {
                rungs: o.rungs.unwrap_or(d.rungs),
                sweeps: o.sweeps.unwrap_or(d.sweeps),
                burn_in: o.burn_in.unwrap_or(d.burn_in),
                chains: o.chains.unwrap_or(d.chains),
                // An explicit --rungs fixes the grid; otherwise pilots may refine it.
                max_rungs: o.rungs.unwrap_or(d.max_rungs),
                extensions: d.extensions,
                seed: o.seed,
            }))
        }
        "ais" => {
            let d = match o.budget {
                Budget::Single => mc::Ais::default(),
                Budget::SweepPoint => mc::Ais::sweep_point(),
            };
            Some(Box::new(mc::Ais {
                steps: o.steps.unwrap_or(d.steps),
                runs: o.runs.unwrap_or(d.runs),
                doublings: d.doublings,
                seed: o.seed,
            }))
        }
        "bbvi" => {
            let d = match o.budget {
                Budget::Single => vi::bbvi::Bbvi::default(),
                Budget::SweepPoint => vi::bbvi::Bbvi::sweep_point(),
            };
            Some(Box::new(vi::bbvi::Bbvi {
                steps: o.steps.unwrap_or(d.steps),
                batch: o.batch.unwrap_or(d.batch),
                lr: o.lr.unwrap_or(d.lr),
                seed: o.seed,
                ..d
            }))
        }
        "van" | "van-iw" => Some(Box::new(van_options(o, name == "van-iw"))),
        _ => by_name(name),
    }
}

/// VAN settings from method options.
pub fn van_options(o: &MethodOptions, importance_weighted: bool) -> vi::van::Van {
    let d = vi::van::Van::default();
    vi::van::Van {
        width: o.width.or(d.width),
        depth: o.depth.unwrap_or(d.depth),
        steps: o.steps.unwrap_or(d.steps),
        batch: o.batch.unwrap_or(d.batch),
        lr: o.lr.unwrap_or(d.lr),
        seed: o.seed,
        importance_weighted,
        init: o.net.clone(),
        ..d
    }
}

/// Look up a solver by name.
pub fn by_name(name: &str) -> Option<Box<dyn Solver + Send + Sync>> {
    match name {
        "exact" => Some(Box::new(exact::Exact)),
        "onsager" => Some(Box::new(exact::Onsager)),
        "mf" => Some(Box::new(variational::MeanField::default())),
        "tap" => Some(Box::new(variational::Tap::default())),
        "bethe" => Some(Box::new(variational::Bethe::default())),
        "trw" => Some(Box::new(variational::Trw::default())),
        "ti" => Some(Box::new(mc::ThermodynamicIntegration::default())),
        "ais" => Some(Box::new(mc::Ais::default())),
        "bbvi" => Some(Box::new(vi::bbvi::Bbvi::default())),
        "van" => Some(Box::new(vi::van::Van::default())),
        "van-iw" => Some(Box::new(vi::van::Van {
            importance_weighted: true,
            ..Default::default()
        })),
        _ => exact::by_name(name),
    }
}

/// The methods `logz compare` runs by default (those that do not apply are skipped).
pub const COMPARE: &[&str] = &[
    "exact", "onsager", "mf", "tap", "bethe", "trw", "ti", "ais", "bbvi",
];
