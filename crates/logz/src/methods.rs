//! Every solver by name: the registry that `logz solve --method` and `logz compare` use.

use crate::estimate::Solver;
use crate::{exact, free_energy, mc, rg, spin_vi, Error, Result};

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
    (
        "trg",
        "approximation: bond-weighted tensor RG (uniform 2^k tori, square:inf, triangular:inf)",
    ),
    (
        "hotrg",
        "approximation: higher-order tensor RG (square:inf, triangular:inf, cubic:inf)",
    ),
    (
        "planar",
        "exact: Kac–Ward determinant for zero-field open square grids (any couplings)",
    ),
    (
        "tn",
        "approximation (exact without truncation): boundary-MPS contraction of square grids, any couplings and fields",
    ),
];

/// How much work the stochastic methods do where their options are unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Budget {
    /// One run (`logz solve`): each method's `Default`.
    #[default]
    Single,
    /// One point of a β sweep (`logz compare` runs every method at every β): the smaller
    /// `sweep_point()` budgets of TI, AIS and BBVI — wider error bars, the same checks.
    SweepPoint,
}

/// One tunable option of a method (a field of [`MethodOptions`], a flag of the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    /// TI: measured sweeps per rung.
    Sweeps,
    /// TI: discarded sweeps per rung.
    BurnIn,
    /// TI: number of coupling rungs.
    Rungs,
    /// TI: independent replica-exchange ladders.
    Chains,
    /// AIS: annealing steps per run; BBVI, VAN: optimisation steps.
    Steps,
    /// AIS: independent annealing runs.
    Runs,
    /// VAN: hidden units per layer.
    Width,
    /// VAN: hidden layers.
    Depth,
    /// BBVI, VAN: samples per step.
    Batch,
    /// BBVI: initial natural-gradient step; VAN: Adam learning rate.
    Lr,
    /// VAN: a trained network to start from.
    Net,
    /// The random seed of a stochastic method.
    Seed,
    /// TRG: bond dimension χ.
    Chi,
    /// TI: save after every measurement round and resume from this file.
    Checkpoint,
}

impl Opt {
    /// The option as the CLI spells it (`--burn-in`).
    pub fn flag(self) -> &'static str {
        match self {
            Opt::Sweeps => "--sweeps",
            Opt::BurnIn => "--burn-in",
            Opt::Rungs => "--rungs",
            Opt::Chains => "--chains",
            Opt::Steps => "--steps",
            Opt::Runs => "--runs",
            Opt::Width => "--width",
            Opt::Depth => "--depth",
            Opt::Batch => "--batch",
            Opt::Lr => "--lr",
            Opt::Net => "--net",
            Opt::Seed => "--seed",
            Opt::Chi => "--chi",
            Opt::Checkpoint => "--checkpoint",
        }
    }
}

/// Which options each method takes; methods not listed take none (their configuration is
/// fixed: the solver struct's `Default`).
pub const TAKES: &[(&str, &[Opt])] = &[
    (
        "ti",
        &[
            Opt::Sweeps,
            Opt::BurnIn,
            Opt::Rungs,
            Opt::Chains,
            Opt::Checkpoint,
            Opt::Seed,
        ],
    ),
    ("ais", &[Opt::Steps, Opt::Runs, Opt::Seed]),
    ("bbvi", &[Opt::Steps, Opt::Batch, Opt::Lr, Opt::Seed]),
    (
        "van",
        &[
            Opt::Width,
            Opt::Depth,
            Opt::Steps,
            Opt::Batch,
            Opt::Lr,
            Opt::Net,
            Opt::Seed,
        ],
    ),
    (
        "van-iw",
        &[
            Opt::Width,
            Opt::Depth,
            Opt::Steps,
            Opt::Batch,
            Opt::Lr,
            Opt::Net,
            Opt::Seed,
        ],
    ),
    ("trg", &[Opt::Chi]),
    ("hotrg", &[Opt::Chi]),
    ("tn", &[Opt::Chi]),
];

/// The error for a name that is not in [`METHODS`]; it lists the valid names.
fn unknown(name: &str) -> Error {
    let names: Vec<&str> = METHODS.iter().map(|m| m.0).collect();
    Error::arg(format!(
        "unknown method '{name}'; choose one of: {}",
        names.join(", ")
    ))
}

/// The options method `name` takes (empty for methods without options), or an error listing
/// the valid names.
pub fn takes(name: &str) -> Result<&'static [Opt]> {
    if !METHODS.iter().any(|m| m.0 == name) {
        return Err(unknown(name));
    }
    Ok(TAKES
        .iter()
        .find(|t| t.0 == name)
        .map(|t| t.1)
        .unwrap_or(&[]))
}

/// Check that every method name is known and that every option in `given` is taken by at least
/// one of `methods` (one method for `logz solve`, several for `logz compare`). The error is one
/// line: `--sweeps does not apply to method 'exact' (it takes: none)`.
///
/// The seed is never refused: front ends use one seed for random models (`sk:N`, `er:…`) and
/// stochastic methods alike, so it is meaningful even with a deterministic method.
pub fn check(methods: &[&str], given: &[Opt]) -> Result<()> {
    let mut taken: Vec<Opt> = Vec::new();
    for name in methods {
        for &o in takes(name)? {
            if !taken.contains(&o) {
                taken.push(o);
            }
        }
    }
    let Some(&bad) = given
        .iter()
        .find(|&&o| o != Opt::Seed && !taken.contains(&o))
    else {
        return Ok(());
    };
    let list = if taken.is_empty() {
        "none".to_string()
    } else {
        let flags: Vec<&str> = taken.iter().map(|o| o.flag()).collect();
        flags.join(", ")
    };
    let quoted: Vec<String> = methods.iter().map(|m| format!("'{m}'")).collect();
    Err(Error::arg(match methods {
        [one] => format!(
            "{} does not apply to method '{one}' (it takes: {list})",
            bad.flag()
        ),
        _ => format!(
            "{} does not apply to any of the methods {} (they take: {list})",
            bad.flag(),
            quoted.join(", ")
        ),
    }))
}

/// Settings of the stochastic methods (unset fields keep each method's default for `budget`).
#[derive(Debug, Clone, Default)]
pub struct MethodOptions {
    /// The seed of the stochastic methods (always applied; [`by_name`] keeps each method's own
    /// default seed instead).
    pub seed: u64,
    /// Which defaults unset fields take.
    pub budget: Budget,
    /// See [`Opt::Sweeps`].
    pub sweeps: Option<usize>,
    /// See [`Opt::BurnIn`].
    pub burn_in: Option<usize>,
    /// See [`Opt::Rungs`].
    pub rungs: Option<usize>,
    /// See [`Opt::Chains`].
    pub chains: Option<usize>,
    /// See [`Opt::Steps`].
    pub steps: Option<usize>,
    /// See [`Opt::Runs`].
    pub runs: Option<usize>,
    /// See [`Opt::Width`].
    pub width: Option<usize>,
    /// See [`Opt::Depth`].
    pub depth: Option<usize>,
    /// See [`Opt::Batch`].
    pub batch: Option<usize>,
    /// See [`Opt::Lr`].
    pub lr: Option<f64>,
    /// A trained VAN to start from.
    pub net: Option<spin_vi::van::Made>,
    /// See [`Opt::Chi`].
    pub chi: Option<usize>,
    /// See [`Opt::Checkpoint`].
    pub checkpoint: Option<std::path::PathBuf>,
}

impl MethodOptions {
    /// The options that are set (the seed, always set, is not listed).
    pub fn given(&self) -> Vec<Opt> {
        let set = [
            (self.sweeps.is_some(), Opt::Sweeps),
            (self.burn_in.is_some(), Opt::BurnIn),
            (self.rungs.is_some(), Opt::Rungs),
            (self.chains.is_some(), Opt::Chains),
            (self.steps.is_some(), Opt::Steps),
            (self.runs.is_some(), Opt::Runs),
            (self.width.is_some(), Opt::Width),
            (self.depth.is_some(), Opt::Depth),
            (self.batch.is_some(), Opt::Batch),
            (self.lr.is_some(), Opt::Lr),
            (self.net.is_some(), Opt::Net),
            (self.chi.is_some(), Opt::Chi),
            (self.checkpoint.is_some(), Opt::Checkpoint),
        ];
        set.iter().filter(|s| s.0).map(|s| s.1).collect()
    }
}

/// A method's typed configuration: the solver struct itself. Its defaults live in one place,
/// the struct's `Default` (or `sweep_point()` for [`Budget::SweepPoint`]);
/// [`by_name`] and [`configured`] both start from [`Config::defaults`].
#[derive(Debug, Clone)]
pub enum Config {
    /// Thermodynamic integration.
    Ti(mc::ThermodynamicIntegration),
    /// Annealed importance sampling.
    Ais(mc::Ais),
    /// Black-box VI with a factorised q.
    FactorizedVi(spin_vi::FactorizedVi),
    /// Variational autoregressive network (`van` or, importance weighted, `van-iw`).
    Van(spin_vi::van::Van),
    /// Tensor renormalisation group.
    Trg(rg::Trg),
    /// Higher-order tensor renormalisation group.
    Hotrg(rg::Hotrg),
    /// Boundary-MPS contraction of grids.
    Tn(rg::Tn),
    /// A method without options (exact, mean field, TAP, BP, TRW…), by name.
    Fixed(&'static str),
}

impl Config {
    /// The default configuration of method `name` for `budget`, or an error listing the names.
    pub fn defaults(name: &str, budget: Budget) -> Result<Config> {
        let sweep = budget == Budget::SweepPoint;
        Ok(match name {
            "ti" if sweep => Config::Ti(mc::ThermodynamicIntegration::sweep_point()),
            "ti" => Config::Ti(mc::ThermodynamicIntegration::default()),
            "ais" if sweep => Config::Ais(mc::Ais::sweep_point()),
            "ais" => Config::Ais(mc::Ais::default()),
            "bbvi" if sweep => Config::FactorizedVi(spin_vi::FactorizedVi::sweep_point()),
            "bbvi" => Config::FactorizedVi(spin_vi::FactorizedVi::default()),
            "van" | "van-iw" => Config::Van(spin_vi::van::Van {
                importance_weighted: name == "van-iw",
                ..Default::default()
            }),
            "trg" => Config::Trg(rg::Trg::default()),
            "hotrg" => Config::Hotrg(rg::Hotrg::default()),
            "tn" => Config::Tn(rg::Tn::default()),
            _ => match METHODS.iter().find(|m| m.0 == name) {
                Some(m) => Config::Fixed(m.0),
                None => return Err(unknown(name)),
            },
        })
    }

    /// Apply the options this method takes (the others are left alone: see [`check`]).
    pub fn with(self, o: &MethodOptions) -> Config {
        match self {
            Config::Ti(d) => Config::Ti(mc::ThermodynamicIntegration {
                rungs: o.rungs.unwrap_or(d.rungs),
                sweeps: o.sweeps.unwrap_or(d.sweeps),
                burn_in: o.burn_in.unwrap_or(d.burn_in),
                chains: o.chains.unwrap_or(d.chains),
                // An explicit --rungs fixes the grid; otherwise pilots may refine it.
                max_rungs: o.rungs.unwrap_or(d.max_rungs),
                seed: o.seed,
                checkpoint: o.checkpoint.clone(),
                ..d
            }),
            Config::Ais(d) => Config::Ais(mc::Ais {
                steps: o.steps.unwrap_or(d.steps),
                runs: o.runs.unwrap_or(d.runs),
                seed: o.seed,
                ..d
            }),
            Config::FactorizedVi(d) => Config::FactorizedVi(spin_vi::FactorizedVi {
                steps: o.steps.unwrap_or(d.steps),
                batch: o.batch.unwrap_or(d.batch),
                lr: o.lr.unwrap_or(d.lr),
                seed: o.seed,
                ..d
            }),
            Config::Van(d) => Config::Van(spin_vi::van::Van {
                width: o.width.or(d.width),
                depth: o.depth.unwrap_or(d.depth),
                steps: o.steps.unwrap_or(d.steps),
                batch: o.batch.unwrap_or(d.batch),
                lr: o.lr.unwrap_or(d.lr),
                seed: o.seed,
                init: o.net.clone().or(d.init),
                ..d
            }),
            Config::Trg(d) => Config::Trg(rg::Trg {
                chi: o.chi.unwrap_or(d.chi),
                ..d
            }),
            Config::Hotrg(d) => Config::Hotrg(rg::Hotrg {
                chi: o.chi.unwrap_or(d.chi),
                ..d
            }),
            Config::Tn(d) => Config::Tn(rg::Tn {
                chi: o.chi.unwrap_or(d.chi),
                ..d
            }),
            fixed @ Config::Fixed(_) => fixed,
        }
    }

    /// The solver.
    pub fn solver(self) -> Box<dyn Solver + Send + Sync> {
        match self {
            Config::Ti(s) => Box::new(s),
            Config::Ais(s) => Box::new(s),
            Config::FactorizedVi(s) => Box::new(s),
            Config::Van(s) => Box::new(s),
            Config::Trg(s) => Box::new(s),
            Config::Hotrg(s) => Box::new(s),
            Config::Tn(s) => Box::new(s),
            Config::Fixed(name) => fixed_solver(name),
        }
    }
}

/// The solvers without options, each in its `Default` configuration.
fn fixed_solver(name: &'static str) -> Box<dyn Solver + Send + Sync> {
    match name {
        "exact" => Box::new(exact::Exact),
        "onsager" => Box::new(exact::Onsager),
        "mf" => Box::new(free_energy::MeanField::default()),
        "tap" => Box::new(free_energy::Tap::default()),
        "bethe" => Box::new(free_energy::Bethe::default()),
        "trw" => Box::new(free_energy::Trw::default()),
        "planar" => Box::new(rg::Planar),
        _ => exact::by_name(name).expect("every name in METHODS has a solver"),
    }
}

/// Method `name` configured with `o`; an option it does not take, or an unknown name, is an
/// [`Error::InvalidArgument`].
pub fn configured(name: &str, o: &MethodOptions) -> Result<Box<dyn Solver + Send + Sync>> {
    check(&[name], &o.given())?;
    Ok(Config::defaults(name, o.budget)?.with(o).solver())
}

/// Several methods sharing one set of options (`logz compare`): each option must be taken by at
/// least one of them, and each method uses those it takes.
pub fn configured_all(
    names: &[&str],
    o: &MethodOptions,
) -> Result<Vec<Box<dyn Solver + Send + Sync>>> {
    check(names, &o.given())?;
    names
        .iter()
        .map(|name| Ok(Config::defaults(name, o.budget)?.with(o).solver()))
        .collect()
}

/// VAN settings from method options.
pub fn van_options(o: &MethodOptions, importance_weighted: bool) -> spin_vi::van::Van {
    let name = if importance_weighted { "van-iw" } else { "van" };
    match Config::defaults(name, o.budget).map(|c| c.with(o)) {
        Ok(Config::Van(v)) => v,
        _ => unreachable!("van is a Config::Van"),
    }
}

/// Method `name` in its default configuration (each struct's `Default`, its own default seed
/// included), or an [`Error::InvalidArgument`] listing the valid names.
pub fn by_name(name: &str) -> Result<Box<dyn Solver + Send + Sync>> {
    Ok(Config::defaults(name, Budget::Single)?.solver())
}

/// The methods `logz compare` runs by default (those that do not apply are skipped).
pub const COMPARE: &[&str] = &[
    "exact", "onsager", "mf", "tap", "bethe", "trw", "ti", "ais", "bbvi",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_method_resolves_and_an_unknown_name_lists_them_all() {
        for (name, _) in METHODS {
            assert!(by_name(name).is_ok(), "{name}");
            assert!(takes(name).is_ok(), "{name}");
        }
        let Err(e) = by_name("nope") else {
            panic!("'nope' resolved")
        };
        let msg = e.to_string();
        assert!(msg.contains("unknown method 'nope'"), "{msg}");
        for (name, _) in METHODS {
            assert!(msg.contains(name), "{name} missing from: {msg}");
        }
        assert!(configured("nope", &MethodOptions::default()).is_err());
        assert!(check(&["nope"], &[]).is_err());
    }

    #[test]
    fn options_table_names_real_methods() {
        for (name, _) in TAKES {
            assert!(METHODS.iter().any(|m| m.0 == *name), "{name}");
        }
    }

    #[test]
    fn an_option_no_method_takes_is_refused_in_one_line() {
        let o = MethodOptions {
            sweeps: Some(10),
            ..Default::default()
        };
        let msg = configured("exact", &o).err().unwrap().to_string();
        assert!(
            msg.contains("--sweeps does not apply to method 'exact' (it takes: none)"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        let msg = configured("bbvi", &o).err().unwrap().to_string();
        assert!(
            msg.contains("(it takes: --steps, --batch, --lr, --seed)"),
            "{msg}"
        );
        // Several methods: accepted if one of them takes it, each uses what it takes.
        assert_eq!(configured_all(&["exact", "ti"], &o).unwrap().len(), 2);
        let msg = configured_all(&["exact", "mf"], &o)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("does not apply to any of the methods 'exact', 'mf'"),
            "{msg}"
        );
        // The seed is never refused (it also seeds random models).
        assert!(check(&["mf"], &[Opt::Seed]).is_ok());
    }

    #[test]
    fn options_override_the_struct_defaults_and_nothing_else() {
        let o = MethodOptions {
            seed: 7,
            steps: Some(3),
            ..Default::default()
        };
        let Config::Ais(a) = Config::defaults("ais", Budget::Single).unwrap().with(&o) else {
            panic!("ais is Config::Ais")
        };
        let d = mc::Ais::default();
        assert_eq!(
            (a.steps, a.runs, a.doublings, a.seed),
            (3, d.runs, d.doublings, 7)
        );
        let Config::Ti(t) = Config::defaults("ti", Budget::SweepPoint).unwrap() else {
            panic!("ti is Config::Ti")
        };
        assert_eq!(t.sweeps, mc::ThermodynamicIntegration::sweep_point().sweeps);
        let v = van_options(&o, true);
        assert!(v.importance_weighted);
        assert_eq!((v.steps, v.seed), (3, 7));
    }
}
