//! One entry point from a data set to a posterior report, for every method: exact (conjugate),
//! ADVI (mean-field / full-rank, reparameterisation), black-box VI (score function), natural-
//! gradient SVI (conjugate linear model) and HMC (reference for logistic regression).
//! All numbers are reported in raw units; ELBOs and evidences are for the raw y, so that
//! ln p(y) − ELBO = KL(q ‖ p(·|y)).

use super::data::{self, Dataset, Scaling, SuffStats};
use super::hmc::{hmc, HmcOptions};
use super::linear::{self, Noise, PRIOR_SCALE};
use super::models::{Batch, LinearKnownNoise, LinearNig, LogJoint, Logistic};
use super::natural;
use super::nuts::{nuts, NutsOptions};
use crate::advi::importance::{log_weights, Importance};
use crate::advi::{self, Estimator, Family, Objective, Optimizer, ViOptions};
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::runner::{Iteration, Runner, Termination};
use serde::Serialize;
use std::path::Path;

/// Which model to fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelKind {
    /// Bayesian linear regression with the given noise model (exact posterior available).
    Linear(Noise),
    /// Logistic regression, y ∈ {0, 1}, w ~ N(0, τ²I) on standardised x (no closed form).
    Logistic,
}

/// The inference method; serialised as its name in [`Method::NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Closed-form conjugate posterior and evidence (linear models only).
    Exact,
    /// Mean-field Gaussian ADVI with reparameterisation gradients and Adam.
    Advi,
    /// Full-rank Gaussian ADVI with reparameterisation gradients and Adam.
    AdviFullRank,
    /// Black-box VI: full-rank Gaussian, score-function gradients (at least 16 samples a step).
    ScoreFunction,
    /// Natural-gradient SVI (the conjugate known-noise linear model only).
    Natural,
    /// Hamiltonian Monte Carlo, the reference where no closed form exists.
    Hmc,
    /// Rényi-α VI (Li & Turner 2016), mean-field Gaussian: the VR bound L_α with
    /// reparameterisation gradients ([`crate::advi::renyi`]); α from [`FitOptions::alpha`].
    Renyi,
    /// Rényi-α VI with a full-rank Gaussian.
    RenyiFullRank,
    /// Stein variational gradient descent (Liu & Wang 2016): [`FitOptions::particles`]
    /// particles, centred linear kernel, solved to the flow's fixed point
    /// ([`mod@crate::stein::svgd`]).
    Svgd,
    /// The No-U-Turn Sampler with adapted step size and dense metric
    /// ([`super::nuts`]): the reference posterior where no closed form exists.
    Nuts,
    /// Full-rank Gaussian VI by a Laplace warm start and natural-gradient steps with iterate
    /// averaging and control-variate minibatches ([`crate::advi::newton`]): converges on big data.
    AdviNewton,
    /// Operator VI (Langevin–Stein operator, [`crate::advi::opvi`]), full-rank Gaussian.
    Opvi,
}

impl Method {
    /// The command-line names of the methods, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "exact",
        "advi",
        "advi-fullrank",
        "bbvi",
        "natural",
        "hmc",
        "renyi",
        "renyi-fullrank",
        "svgd",
        "nuts",
        "advi-newton",
        "opvi",
    ];
    /// The method named `s` (one of [`Method::NAMES`], or "svi" for [`Method::Natural`]);
    /// an error listing the names otherwise.
    pub fn parse(s: &str) -> Result<Method> {
        Ok(match s {
            "exact" => Method::Exact,
            "advi" => Method::Advi,
            "advi-fullrank" => Method::AdviFullRank,
            "bbvi" => Method::ScoreFunction,
            "natural" | "svi" => Method::Natural,
            "hmc" => Method::Hmc,
            "renyi" => Method::Renyi,
            "renyi-fullrank" => Method::RenyiFullRank,
            "svgd" => Method::Svgd,
            "nuts" => Method::Nuts,
            "advi-newton" => Method::AdviNewton,
            "opvi" => Method::Opvi,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown method '{s}' (one of: {})",
                    Method::NAMES.join(", ")
                )))
            }
        })
    }
    /// The method's name, as in [`Method::NAMES`].
    pub fn name(&self) -> &'static str {
        Method::NAMES[*self as usize]
    }
}

/// Options of [`fit`]; each method reads only the fields it uses.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// The inference method.
    pub method: Method,
    /// Minibatch rows (None: full data).
    pub batch: Option<usize>,
    /// Most optimisation steps of the VI methods (natural-gradient SVI: at most 1000).
    pub max_steps: usize,
    /// Adam learning rate of ADVI and BBVI.
    pub lr: f64,
    /// Monte Carlo draws of q per gradient step (BBVI uses at least 16).
    pub samples: usize,
    /// Seed of the stochastic methods' random numbers (HMC uses `hmc.seed`).
    pub seed: u64,
    /// Prior standard deviation τ of every standardised coefficient.
    pub tau: f64,
    /// Options of [`Method::Hmc`].
    pub hmc: HmcOptions,
    /// Order α of the Rényi methods, in [−1, 2] (1: KL/ADVI, 0: ln p(y), < 0: upper bound).
    pub alpha: f64,
    /// Particles of [`Method::Svgd`] (1: the MAP).
    pub particles: usize,
    /// Kernel of [`Method::Svgd`].
    pub kernel: crate::stein::SvgdKernel,
    /// Options of [`Method::Nuts`].
    pub nuts: NutsOptions,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            method: Method::Exact,
            batch: None,
            max_steps: 20_000,
            lr: 0.05,
            samples: 4,
            seed: 1,
            tau: PRIOR_SCALE,
            hmc: HmcOptions::default(),
            alpha: 0.5,
            particles: 200,
            kernel: crate::stein::SvgdKernel::Linear,
            nuts: NutsOptions::default(),
        }
    }
}

/// Draws of q for the importance diagnostics (CUBO, PSIS k̂) after an ADVI-family fit.
pub const IMPORTANCE_DRAWS: usize = 2_000;
/// Draws of q for the kernel Stein discrepancy after a VI fit.
pub const KSD_DRAWS: usize = 500;
/// Most SVGD steps a fit takes (of [`FitOptions::max_steps`]).
pub const SVGD_MAX_STEPS: usize = 2_000;
/// The fixed draw set of [`Method::Opvi`] (antithetic, whitened).
pub const OPVI_DRAWS: usize = 200;
/// Most L-BFGS steps of [`Method::Opvi`] (of [`FitOptions::max_steps`]).
pub const OPVI_MAX_STEPS: usize = 2_000;
/// Rows (drawn at random) on which the stationarity check differences the gradient for the
/// Hessian; the gradient itself uses all rows.
pub const STATIONARITY_ROWS: usize = 100_000;
/// Largest draws × rows × parameters for which the diagnostics run (≈ a second).
pub const IMPORTANCE_WORK: f64 = 2e9;

/// The result every method reports.
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    /// The method's name, as in [`Method::NAMES`].
    pub method: String,
    /// A human-readable description of the model.
    pub model: String,
    /// Parameter names: "intercept", the x names, and "sigma" when the noise is unknown.
    pub names: Vec<String>,
    /// Posterior means in raw units, in the order of `names`.
    pub mean: Vec<f64>,
    /// Posterior standard deviations in raw units, in the order of `names`.
    pub sd: Vec<f64>,
    /// Posterior covariance of the regression coefficients (intercept and x, d = p + 1) in raw
    /// units, d × d row-major: its diagonal is the square of the first d entries of `sd`. The
    /// noise σ (unknown-noise model) is not included. Exact: the closed-form posterior's
    /// (the Student-t marginal's for unknown noise); VI methods: q's; HMC and SVGD: the draws'.
    pub cov: Vec<f64>,
    /// ELBO for the raw y (VI methods; `None` for exact and HMC).
    pub elbo: Option<f64>,
    /// Monte Carlo standard error of `elbo` (0 when it is evaluated in closed form).
    pub elbo_std_err: Option<f64>,
    /// Exact ln p(y) of the raw data (linear models; `None` for logistic regression).
    pub ln_evidence: Option<f64>,
    /// CUBO₂ = ½ ln E_q\[w²\], a stochastic upper bound on ln p(y) (ADVI-family fits; see
    /// [`crate::advi::importance`]).
    pub cubo: Option<f64>,
    /// Monte Carlo standard error of `cubo`.
    pub cubo_std_err: Option<f64>,
    /// PSIS k̂ of the importance weights p(y, z)/q(z): < 0.5 good, > 0.7 q misses mass of p.
    pub khat: Option<f64>,
    /// The PSIS estimate of ln p(y).
    pub psis_ln_evidence: Option<f64>,
    /// The Rényi order α of a Rényi fit.
    pub alpha: Option<f64>,
    /// The VR bound L_α of the fitted q on all rows (jackknife bias-corrected; a lower bound on
    /// ln p(y) for α > 0, ln p(y) itself at α = 0, an upper bound for α < 0).
    pub renyi_bound: Option<f64>,
    /// Monte Carlo standard error of `renyi_bound`.
    pub renyi_bound_std_err: Option<f64>,
    /// KL(q ‖ p(·|y)) in closed form, where the exact posterior is Gaussian (linear regression
    /// with known noise) and q is Gaussian ([`super::divergence::gaussian_kl`]).
    pub kl_q_p: Option<f64>,
    /// KL(p(·|y) ‖ q) in closed form (mass-covering direction), same conditions.
    pub kl_p_q: Option<f64>,
    /// Kernel Stein discrepancy (IMQ kernel, [`crate::stein::ksd`]) of q's draws (VI methods)
    /// or the particles (SVGD) in the model's standardised coordinates: 0 for the posterior.
    pub ksd: Option<f64>,
    /// ELBO trace (per step, noisy) for VI methods.
    pub trace: Vec<f64>,
    /// Optimisation steps taken, or warm-up + sampling iterations per HMC chain; 0 for exact.
    pub steps: usize,
    /// VI: whether the windowed ELBO settled; HMC: whether every R̂ < 1.01; exact: true.
    pub converged: bool,
    /// Why the fit stopped (ADVI-family fits; `completed` for the others).
    pub termination: Termination,
    /// Wall-clock time of the fit in seconds.
    pub seconds: f64,
    /// Human-readable remarks (diagnostics, warnings).
    pub notes: Vec<String>,
    /// R̂, ESS, divergences and step size of a sampler's fit (NUTS).
    pub mcmc: Option<McmcDiagnostics>,
    /// How far q is from the ELBO's stationarity conditions (ADVI / BBVI / advi-newton fits;
    /// [`crate::advi::newton::Stationarity`]).
    pub stationarity: Option<crate::advi::newton::Stationarity>,
}

/// Raw-unit moments of the σ coordinate of the NIG model: σ = s_y e^ρ with ρ ~ N(m, v) is
/// log-normal: mean s_y e^{m+v/2}, sd = mean·√(e^v − 1).
fn sigma_moments(sd_y: f64, m: f64, v: f64) -> (f64, f64) {
    let mean = sd_y * (m + 0.5 * v).exp();
    (mean, mean * v.exp_m1().max(0.0).sqrt())
}

/// Refuse step counts whose work could not finish within the time budget ([`crate::limits`]):
/// every step of the stochastic methods evaluates the log-likelihood and its gradient on a batch
/// (all rows by default) for each of its samples, ~4·d operations a row (HMC: per leapfrog step).
fn check_work(data: &Dataset, o: &FitOptions) -> Result<()> {
    let d = data.p() as f64 + 1.0;
    let rows = o.batch.map_or(data.n(), |b| b.min(data.n())) as f64;
    let (steps, evals) = match o.method {
        Method::Exact => return Ok(()),
        Method::Natural => (o.max_steps.min(1000) as f64, 1.0),
        // At least one leapfrog step per iteration, on every chain.
        Method::Hmc => (
            o.hmc.warmup as f64 + o.hmc.samples as f64,
            o.hmc.chains.max(1) as f64,
        ),
        // BBVI and the Rényi methods draw at least 16 samples a step.
        Method::ScoreFunction | Method::Renyi | Method::RenyiFullRank => {
            (o.max_steps as f64, o.samples.max(16) as f64)
        }
        Method::Svgd => (
            o.max_steps.min(SVGD_MAX_STEPS) as f64,
            o.particles.max(1) as f64,
        ),
        // At least one leapfrog step per iteration, on every chain.
        Method::Nuts => (
            o.nuts.warmup as f64 + o.nuts.samples as f64,
            o.nuts.chains.max(1) as f64,
        ),
        // Antithetic pair + 2d Hessian differences (+ the control variate) a step, after a
        // full-data Newton warm start.
        Method::AdviNewton => (o.max_steps as f64 + 50.0 * (2.0 * d + 1.0), 2.0 * d + 3.0),
        // Every L-BFGS step evaluates Ô and its exact gradient: a score and a Hessian–vector
        // product per draw (a third for the occasional line-search retry).
        Method::Opvi => (
            o.max_steps.min(OPVI_MAX_STEPS) as f64,
            OPVI_DRAWS as f64 * 3.0,
        ),
        _ => (o.max_steps as f64, o.samples.max(1) as f64),
    };
    crate::limits::check_work(
        "fit",
        &format!("{steps} steps × {rows} rows × {evals} evaluations"),
        steps * rows * evals * 4.0 * d,
    )
}

/// Fit `kind` to an in-memory data set with the method of `o`: standardise, run the method,
/// and report the posterior in raw units (see the module docs). Errors when the method does
/// not apply to the model, the data are unusable, or the work exceeds [`crate::limits`].
/// `progress` follows the steps of the stochastic methods.
pub fn fit(data: &Dataset, kind: ModelKind, o: &FitOptions, runner: &Runner) -> Result<FitReport> {
    let t0 = std::time::Instant::now();
    check_work(data, o)?;
    let stats = data.stats();
    let mut scaling = stats.scaling(&data.x_names, &data.y_name)?;
    let (x, mut y) = scaling.design(data);
    let n = data.n() as f64;
    let d = data.p() + 1;
    let names: Vec<String> = std::iter::once("intercept".to_string())
        .chain(data.x_names.iter().cloned())
        .collect();
    let model_name = match kind {
        ModelKind::Linear(Noise::Known(_)) => "linear regression, known noise",
        ModelKind::Linear(Noise::Unknown { .. }) => "linear regression, Normal–Inverse-Gamma",
        ModelKind::Logistic => "logistic regression",
    };
    // Logistic regression keeps y ∈ {0, 1}; only x is standardised.
    if kind == ModelKind::Logistic {
        if let Some(bad) = data.y.iter().find(|&&v| v != 0.0 && v != 1.0) {
            return Err(Error::InvalidArgument(format!(
                "logistic regression needs y in {{0, 1}}, found {bad}"
            )));
        }
        y = data.y.clone();
        scaling = Scaling {
            mean_y: 0.0,
            sd_y: 1.0,
            ..scaling
        };
    }
    // ln p(y) = ln p(ỹ) − n ln s_y for the linear models.
    let jac = -n * scaling.sd_y.ln();
    let batch = Batch { x: &x, y: &y, d };
    let mut report = FitReport {
        method: o.method.name().into(),
        model: model_name.into(),
        names: names.clone(),
        mean: Vec::new(),
        sd: Vec::new(),
        cov: Vec::new(),
        elbo: None,
        elbo_std_err: None,
        ln_evidence: None,
        cubo: None,
        cubo_std_err: None,
        khat: None,
        psis_ln_evidence: None,
        alpha: None,
        renyi_bound: None,
        renyi_bound_std_err: None,
        kl_q_p: None,
        kl_p_q: None,
        ksd: None,
        trace: Vec::new(),
        steps: 0,
        converged: true,
        termination: Termination::Completed,
        seconds: 0.0,
        notes: Vec::new(),
        mcmc: None,
        stationarity: None,
    };
    let exact = match kind {
        ModelKind::Linear(noise) => Some(linear::exact(
            &stats,
            &scaling,
            &data.x_names,
            noise,
            o.tau,
        )?),
        ModelKind::Logistic => None,
    };
    report.ln_evidence = exact.as_ref().map(|e| e.ln_evidence);
    let sigma_std = |s: f64| s / scaling.sd_y;
    let model: Box<dyn LogJoint> = match kind {
        ModelKind::Linear(Noise::Known(s)) => Box::new(LinearKnownNoise {
            d,
            sigma: sigma_std(s),
            tau: o.tau,
            names: names.clone(),
        }),
        ModelKind::Linear(Noise::Unknown { a0, b0 }) => Box::new(LinearNig {
            d,
            tau: o.tau,
            a0,
            b0,
            names: names.clone(),
        }),
        ModelKind::Logistic => Box::new(Logistic {
            d,
            tau: o.tau,
            names: names.clone(),
        }),
    };
    match o.method {
        Method::Exact => {
            let e = exact.ok_or_else(|| Error::NotApplicable {
                method: "exact",
                reason: "logistic regression has no closed-form posterior; use nuts (reference) or a VI method".into(),
            })?;
            report.names = e.names;
            report.mean = e.mean;
            report.sd = e.sd;
            report.cov = linear::raw_covariance(&scaling, &e.cov_std);
        }
        Method::Advi
        | Method::AdviFullRank
        | Method::ScoreFunction
        | Method::Renyi
        | Method::RenyiFullRank
        | Method::AdviNewton
        | Method::Opvi => {
            let renyi = matches!(o.method, Method::Renyi | Method::RenyiFullRank);
            if renyi {
                crate::advi::renyi::check_alpha(o.alpha)?;
                report.alpha = Some(o.alpha);
            }
            let vo = ViOptions {
                family: if matches!(o.method, Method::Advi | Method::Renyi) {
                    Family::MeanField
                } else {
                    Family::FullRank
                },
                objective: if o.method == Method::Opvi {
                    Objective::Operator
                } else if renyi {
                    Objective::Renyi { alpha: o.alpha }
                } else {
                    Objective::Elbo
                },
                estimator: if o.method == Method::ScoreFunction {
                    Estimator::ScoreFunction
                } else {
                    Estimator::Reparameterization
                },
                optimizer: if o.method == Method::AdviNewton {
                    Optimizer::Newton
                } else {
                    Optimizer::Adam {
                        lr: o.lr,
                        decay: 200.0,
                    }
                },
                batch: o.batch,
                samples: if o.method == Method::Opvi {
                    OPVI_DRAWS
                } else if o.method == Method::ScoreFunction || renyi {
                    o.samples.max(16)
                } else {
                    o.samples
                },
                max_steps: if o.method == Method::Opvi {
                    o.max_steps.min(OPVI_MAX_STEPS)
                } else {
                    o.max_steps
                },
                seed: o.seed,
                ..ViOptions::default()
            };
            let r = advi::fit(model.as_ref(), batch, &vo, runner)?;
            let dm = model.dim();
            let block = sub_cov(&r.cov, dm, d);
            let (mean, sd) = linear::raw_moments(&scaling, &r.mean[..d], &block);
            report.mean = mean;
            report.sd = sd;
            report.cov = linear::raw_covariance(&scaling, &block);
            if let ModelKind::Linear(Noise::Unknown { .. }) = kind {
                let (m, s) = sigma_moments(scaling.sd_y, r.mean[d], r.cov[d * dm + d]);
                report.names.push("sigma".into());
                report.mean.push(m);
                report.sd.push(s);
            }
            if let (ModelKind::Linear(Noise::Known(_)), Some(e)) = (kind, exact.as_ref()) {
                use super::divergence::gaussian_kl;
                report.kl_q_p = Some(gaussian_kl(&r.mean, &r.cov, &e.mean_std, &e.cov_std)?);
                report.kl_p_q = Some(gaussian_kl(&e.mean_std, &e.cov_std, &r.mean, &r.cov)?);
            }
            let lin = matches!(kind, ModelKind::Linear(_));
            report.elbo = Some(r.elbo + if lin { jac } else { 0.0 });
            report.elbo_std_err = Some(r.elbo_std_err);
            // The trace is of the optimised objective (L̂_α for the Rényi methods).
            report.trace = r
                .trace
                .iter()
                .map(|v| v + if lin { jac } else { 0.0 })
                .collect();
            report.steps = r.steps;
            report.converged = r.converged;
            report.termination = r.termination;
            if (KSD_DRAWS * (data.n() + KSD_DRAWS) * dm) as f64 <= IMPORTANCE_WORK {
                let draws =
                    crate::stein::gaussian_draws(&r.mean, &r.cov, KSD_DRAWS, o.seed ^ 0x5d)?;
                report.ksd = Some(crate::stein::ksd(model.as_ref(), batch, &draws)?.ksd);
            }
            if !r.converged {
                report.notes.push(match o.method {
                    Method::AdviNewton => format!(
                        "NOT CONVERGED: the averaged iterate's Monte Carlo error was still above \
                         0.1 sd (means) or 2% (sds) after {} steps",
                        r.steps
                    ),
                    Method::Opvi => format!(
                        "NOT CONVERGED: the operator objective's gradient had not vanished after \
                         {} L-BFGS steps",
                        r.steps
                    ),
                    _ => format!("the windowed ELBO had not settled after {} steps", r.steps),
                });
            }
            // The ELBO's stationarity conditions, E_q∇ln p = 0 and Σ⁻¹ = −E_q∇²ln p (diagonal
            // for mean field), checked on all rows: they catch a q whose sds are off even where
            // the windowed ELBO looks flat (big data). Not for the Rényi / operator objectives,
            // whose optima differ from the ELBO's.
            if matches!(
                o.method,
                Method::Advi | Method::AdviFullRank | Method::ScoreFunction | Method::AdviNewton
            ) && (8 * (data.n() + 2 * dm * STATIONARITY_ROWS) * dm) as f64 <= IMPORTANCE_WORK
            {
                let st = crate::advi::newton::stationarity(
                    model.as_ref(),
                    batch,
                    &r.mean,
                    &r.cov,
                    o.method == Method::Advi,
                    4,
                    STATIONARITY_ROWS,
                    o.seed ^ 0x57,
                )?;
                if !st.ok {
                    report.converged = false;
                    report.notes.push(format!(
                        "NOT CONVERGED: q is not at the ELBO's optimum — its sds are {:.0}% off \
                         the stationary ones and its mean {:.2} sd off (Newton step); do not \
                         trust these sds (try -m advi-newton)",
                        100.0 * st.sd_rel,
                        st.mean_step_sd
                    ));
                }
                report.stationarity = Some(st);
            }
            // Importance diagnostics on all rows, when affordable (draws × rows × d).
            let draws = IMPORTANCE_DRAWS;
            if (draws * data.n() * dm) as f64 <= IMPORTANCE_WORK {
                let log_w =
                    log_weights(model.as_ref(), batch, &r.mean, &r.cov, draws, o.seed ^ 0x1d)?;
                let imp = Importance::from_log_weights(&log_w);
                let shift = if lin { jac } else { 0.0 };
                if renyi {
                    let (b, se) = crate::advi::renyi::vr_bound_jackknife(&log_w, o.alpha);
                    report.renyi_bound = Some(b + shift);
                    report.renyi_bound_std_err = Some(se);
                }
                // The bracket from one set of draws: the ELBO reported is mean(ln w) over the
                // same full-data weights as the CUBO (so ELBO ≤ CUBO, by Jensen), not the fit's
                // own 200-draw estimate. Each error bar also carries the floating-point error of
                // ln p(y, z), a sum over n rows: the standard bound for recursive summation,
                // n·ε·Σ|terms|, with |ln p| for Σ|terms| (√n·ε·|ln p|, the random-walk
                // estimate, was 4× too small against the exact evidence on 500 rows). When q is
                // the posterior to machine precision every weight is ln p(y), the Monte Carlo
                // errors vanish, and only rounding (~10⁻¹¹ nats) separates the bounds from the
                // exact ln p(y).
                let fp =
                    f64::EPSILON * data.n() as f64 * imp.elbo.abs().max((imp.elbo + shift).abs());
                report.elbo = Some(imp.elbo + shift);
                report.elbo_std_err = Some(imp.elbo_std_err.hypot(fp));
                report.cubo = Some(imp.cubo + shift);
                report.cubo_std_err = Some(imp.cubo_std_err.hypot(fp));
                report.khat = Some(imp.khat);
                report.psis_ln_evidence = Some(imp.psis_ln_evidence + shift);
                if imp.khat_verdict == "bad" {
                    report.notes.push(format!(
                        "PSIS k̂ = {:.2} > 0.7: q misses mass of the posterior; its sds and the \
                         ELBO's gap are not to be trusted",
                        imp.khat
                    ));
                }
            } else {
                report.notes.push(format!(
                    "importance diagnostics (CUBO, k̂) skipped: {draws} draws × {} rows is above \
                     the {IMPORTANCE_WORK:.0e}-operation budget",
                    data.n()
                ));
            }
        }
        Method::Svgd => {
            let (linear_kernel, rbf_kernel) = o.kernel.flags();
            let so = crate::stein::SvgdOptions {
                particles: o.particles,
                steps: o.max_steps.min(SVGD_MAX_STEPS),
                seed: o.seed,
                linear_kernel,
                rbf_kernel,
                ..Default::default()
            };
            let r = crate::stein::svgd(model.as_ref(), batch, &so, runner)?;
            let dm = model.dim();
            let block = sub_cov(&r.cov, dm, d);
            let (mean, sd) = linear::raw_moments(&scaling, &r.mean[..d], &block);
            report.mean = mean;
            report.sd = sd;
            report.cov = linear::raw_covariance(&scaling, &block);
            if let ModelKind::Linear(Noise::Unknown { .. }) = kind {
                let sig: Vec<f64> = r
                    .particles
                    .iter()
                    .map(|z| scaling.sd_y * z[d].exp())
                    .collect();
                let (m, v) = crate::stats::mean_var(&sig);
                report.names.push("sigma".into());
                report.mean.push(m);
                report.sd.push(v.sqrt());
            }
            report.steps = r.steps;
            report.converged = r.converged;
            report.termination = r.termination;
            if r.particles.len() >= crate::stein::KSD_MIN_DRAWS
                && (r.particles.len() * (data.n() + r.particles.len()) * dm) as f64
                    <= IMPORTANCE_WORK
            {
                report.ksd = Some(crate::stein::ksd(model.as_ref(), batch, &r.particles)?.ksd);
            }
            report.notes.push(format!(
                "SVGD: {} particles, {} steps{}",
                r.particles.len(),
                r.steps,
                if r.converged {
                    String::new()
                } else {
                    format!(
                        " (the particle flow had not settled: velocity {:.1e} at the end)",
                        r.final_velocity
                    )
                }
            ));
        }
        Method::Natural => {
            let ModelKind::Linear(Noise::Known(s)) = kind else {
                return Err(Error::NotApplicable {
                    method: "natural",
                    reason: "natural-gradient SVI is implemented for the conjugate known-noise linear model".into(),
                });
            };
            let b = o.batch.unwrap_or(1024).min(data.n());
            let mut svi = natural::NaturalSvi::new(d, n, sigma_std(s), o.tau);
            let mut rng =
                <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(o.seed);
            let (mut bx, mut by) = (Vec::with_capacity(b * d), Vec::with_capacity(b));
            let steps = o.max_steps.min(1000);
            runner.start(steps as u64, "SVI steps");
            let mut done = 0;
            for t in 1..=steps {
                bx.clear();
                by.clear();
                for _ in 0..b {
                    let i = crate::rng::index(&mut rng, data.n());
                    bx.extend_from_slice(&x[i * d..(i + 1) * d]);
                    by.push(y[i]);
                }
                svi.step(Batch { x: &bx, y: &by, d })?;
                runner.advance(1);
                done = t;
                if let Some(why) = runner.iterate(Iteration::new("natural", t)) {
                    report.termination = why;
                    break;
                }
            }
            runner.finish();
            let (m, c) = svi.moments()?;
            let (g, cc, yy) = linear::gram(&stats, &scaling);
            let elbo = natural::elbo_known(&g, &cc, yy, n, sigma_std(s), o.tau, &m, &c)?;
            let (mean, sd) = linear::raw_moments(&scaling, &m, &c);
            report.mean = mean;
            report.sd = sd;
            report.cov = linear::raw_covariance(&scaling, &c);
            report.elbo = Some(elbo + jac);
            report.elbo_std_err = Some(0.0);
            report.steps = done;
            report.notes.push(format!(
                "{done} steps of {b} rows; the ELBO of the Gaussian q is exact (closed form)"
            ));
        }
        Method::Hmc => {
            let r = hmc(model.as_ref(), batch, &o.hmc, runner)?;
            if let Some(why) = runner.stopped() {
                report.termination = why;
                report.notes.push(format!(
                    "stopped ({}): {} draws per chain after warm-up",
                    why.label(),
                    r.draws.len() / o.hmc.chains.max(1)
                ));
            }
            let dm = model.dim();
            let mut cov = vec![0.0; dm * dm];
            let nd = r.draws.len() as f64;
            for z in &r.draws {
                for i in 0..dm {
                    for j in 0..dm {
                        cov[i * dm + j] += (z[i] - r.mean[i]) * (z[j] - r.mean[j]) / nd;
                    }
                }
            }
            let block = sub_cov(&cov, dm, d);
            let (mean, sd) = linear::raw_moments(&scaling, &r.mean[..d], &block);
            report.mean = mean;
            report.sd = sd;
            report.cov = linear::raw_covariance(&scaling, &block);
            if let ModelKind::Linear(Noise::Unknown { .. }) = kind {
                let sig: Vec<f64> = r.draws.iter().map(|z| scaling.sd_y * z[d].exp()).collect();
                let (m, v) = crate::stats::mean_var(&sig);
                report.names.push("sigma".into());
                report.mean.push(m);
                report.sd.push(v.sqrt());
            }
            let worst = r.r_hat.iter().cloned().fold(0.0, f64::max);
            let min_ess = r.ess.iter().cloned().fold(f64::INFINITY, f64::min);
            report.converged = worst < 1.01;
            report.steps = o.hmc.warmup + o.hmc.samples;
            report.notes.push(format!(
                "HMC: {} chains × {} draws, acceptance {:.2}, step {:.3}, max R-hat {worst:.4}, min ESS {min_ess:.0}",
                o.hmc.chains, o.hmc.samples, r.accept_rate, r.step_size
            ));
            if worst >= 1.01 {
                report
                    .notes
                    .push("R-hat ≥ 1.01: the chains disagree; run longer".into());
            }
        }
        // ---- NUTS (issue 16: the reference sampler) ----
        Method::Nuts => {
            let r = nuts(model.as_ref(), batch, &o.nuts, runner)?;
            if let Some(why) = runner.stopped() {
                report.termination = why;
                report.notes.push(format!(
                    "stopped ({}): {} draws per chain after warm-up",
                    why.label(),
                    r.draws_per_chain
                ));
            }
            let dm = model.dim();
            let cov = draws_cov(&r.draws, &r.mean);
            let (mean, sd) = linear::raw_moments(&scaling, &r.mean[..d], &sub_cov(&cov, dm, d));
            report.mean = mean;
            report.sd = sd;
            if let ModelKind::Linear(Noise::Unknown { .. }) = kind {
                let sig: Vec<f64> = r.draws.iter().map(|z| scaling.sd_y * z[d].exp()).collect();
                let (m, v) = crate::stats::mean_var(&sig);
                report.names.push("sigma".into());
                report.mean.push(m);
                report.sd.push(v.sqrt());
            }
            let worst = r.r_hat.iter().cloned().fold(0.0, f64::max);
            let min_ess = r.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min);
            report.converged = worst < 1.01 && r.divergences == 0;
            report.steps = o.nuts.warmup + o.nuts.samples;
            let eps = r.step_size.iter().sum::<f64>() / r.step_size.len() as f64;
            report.notes.push(format!(
                "NUTS: {} chains × {} draws, acceptance {:.2}, step {eps:.3}, {:.1} leapfrog \
                 steps a draw, max R-hat {worst:.4} (rank-normalised), min bulk ESS {min_ess:.0}, \
                 {} divergences",
                o.nuts.chains, r.draws_per_chain, r.accept_stat, r.mean_leapfrog, r.divergences
            ));
            if worst >= 1.01 {
                report
                    .notes
                    .push("R-hat ≥ 1.01: the chains disagree; run longer".into());
            }
            if r.divergences > 0 {
                report.notes.push(format!(
                    "{} divergent transitions: the draws may be biased; raise the target \
                     acceptance",
                    r.divergences
                ));
            }
            if r.max_depth_hits > 0 {
                report.notes.push(format!(
                    "{} draws hit the tree depth {}: trajectories were cut short",
                    r.max_depth_hits, o.nuts.max_depth
                ));
            }
            report.mcmc = Some(McmcDiagnostics {
                r_hat: r.r_hat.clone(),
                ess_bulk: r.ess_bulk.clone(),
                divergences: r.divergences,
                step_size: eps,
                accept_stat: r.accept_stat,
                max_depth_hits: r.max_depth_hits,
            });
        } // ---- end NUTS ----
    }
    report.seconds = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Covariance (population) of draws around their mean, row-major.
fn draws_cov(draws: &[Vec<f64>], mean: &[f64]) -> Vec<f64> {
    let dm = mean.len();
    let mut cov = vec![0.0; dm * dm];
    let nd = draws.len() as f64;
    for z in draws {
        for i in 0..dm {
            for j in 0..dm {
                cov[i * dm + j] += (z[i] - mean[i]) * (z[j] - mean[j]) / nd;
            }
        }
    }
    cov
}

/// Markov chain diagnostics of a sampler's fit (per coordinate in the model's own,
/// standardised coordinates, in the order of the report's names).
#[derive(Debug, Clone, Serialize)]
pub struct McmcDiagnostics {
    /// Rank-normalised split R̂ per coordinate.
    pub r_hat: Vec<f64>,
    /// Bulk effective sample size per coordinate.
    pub ess_bulk: Vec<f64>,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Adapted step size (mean over chains).
    pub step_size: f64,
    /// Mean acceptance statistic after warm-up.
    pub accept_stat: f64,
    /// Draws that hit the largest tree depth.
    pub max_depth_hits: usize,
}

/// The leading d × d block of a dm × dm matrix.
fn sub_cov(c: &[f64], dm: usize, d: usize) -> Vec<f64> {
    (0..d * d).map(|k| c[(k / d) * dm + k % d]).collect()
}

/// Rows per chunk of a streamed fit when [`FitOptions::batch`] is not set.
pub const STREAM_CHUNK: usize = 65_536;

/// A streamed fit: the report, the exact posterior's raw-unit means and standard deviations
/// beside an approximation (`None` when the report is the exact posterior itself), and the
/// number of data rows read.
#[derive(Debug, Clone)]
pub struct StreamedFit {
    /// The fit's report.
    pub report: FitReport,
    /// The exact posterior's raw-unit (means, standard deviations) when the report is an
    /// approximation; `None` for [`Method::Exact`].
    pub exact: Option<(Vec<f64>, Vec<f64>)>,
    /// Data rows read from the file.
    pub rows: usize,
}

/// Bayesian linear regression straight from a CSV file in bounded memory, for data larger than
/// memory. Pass 1 accumulates the sufficient statistics chunk by chunk (Chan's pairwise merge):
/// they alone give the exact conjugate posterior and evidence. For [`Method::Natural`] (known
/// noise only) pass 2 feeds each standardised chunk to natural-gradient SVI as one minibatch, and
/// the ELBO of the final Gaussian q is evaluated in closed form from the same statistics.
///
/// The chunk size is `o.batch` (default [`STREAM_CHUNK`] rows); the other step options do not
/// apply (one SVI step per chunk). `progress` gets a message and the rows of pass 1.
pub fn fit_streamed(
    path: &Path,
    xs: &[String],
    y: &str,
    kind: ModelKind,
    o: &FitOptions,
    runner: &Runner,
) -> Result<StreamedFit> {
    let ModelKind::Linear(noise) = kind else {
        return Err(Error::NotApplicable {
            method: "streamed fit",
            reason: "streaming supports linear regression (exact or natural)".into(),
        });
    };
    if !matches!(o.method, Method::Exact | Method::Natural) {
        return Err(Error::NotApplicable {
            method: o.method.name(),
            reason: "streaming supports the exact and natural methods".into(),
        });
    }
    let t0 = std::time::Instant::now();
    let chunk = o.batch.unwrap_or(STREAM_CHUNK);
    let p = xs.len();
    let mut stats = SuffStats::new(p);
    runner.message("pass over the data");
    let rows = data::stream_csv(path, xs, y, chunk, |x, yv| {
        let mut s = SuffStats::new(p);
        for (r, v) in x.chunks(p).zip(yv) {
            s.push(r, *v);
        }
        stats.merge(&s);
        runner.advance(yv.len() as u64);
        Ok(())
    })?;
    let scaling = stats.scaling(xs, y)?;
    let ex = linear::exact(&stats, &scaling, xs, noise, o.tau)?;
    let mut report = FitReport {
        method: o.method.name().into(),
        model: "linear regression (streamed)".into(),
        names: ex.names.clone(),
        mean: ex.mean.clone(),
        sd: ex.sd.clone(),
        cov: linear::raw_covariance(&scaling, &ex.cov_std),
        elbo: None,
        elbo_std_err: None,
        ln_evidence: Some(ex.ln_evidence),
        cubo: None,
        cubo_std_err: None,
        khat: None,
        psis_ln_evidence: None,
        alpha: None,
        renyi_bound: None,
        renyi_bound_std_err: None,
        kl_q_p: None,
        kl_p_q: None,
        ksd: None,
        trace: Vec::new(),
        steps: 0,
        converged: true,
        termination: Termination::Completed,
        seconds: 0.0,
        notes: vec![format!("streamed in chunks of {chunk} rows")],
        mcmc: None,
        stationarity: None,
    };
    if o.method == Method::Natural {
        let Noise::Known(sigma) = noise else {
            return Err(Error::NotApplicable {
                method: "natural",
                reason: "natural-gradient SVI needs the known-noise model".into(),
            });
        };
        let d = p + 1;
        let st = sigma / scaling.sd_y;
        let mut svi = natural::NaturalSvi::new(d, stats.n, st, o.tau);
        let (mut bx, mut by) = (Vec::new(), Vec::new());
        data::stream_csv(path, xs, y, chunk, |x, yv| {
            bx.clear();
            by.clear();
            for (r, v) in x.chunks(p).zip(yv) {
                bx.push(1.0);
                for ((v, m), s) in r.iter().zip(&scaling.mean_x).zip(&scaling.sd_x) {
                    bx.push((v - m) / s);
                }
                by.push((v - scaling.mean_y) / scaling.sd_y);
            }
            svi.step(Batch { x: &bx, y: &by, d })?;
            Ok(())
        })?;
        let (m, c) = svi.moments()?;
        let (g, cc, yy) = linear::gram(&stats, &scaling);
        // ln p(y) = ln p(ỹ) − n ln s_y: the same Jacobian for the ELBO of the raw data.
        let elbo = natural::elbo_known(&g, &cc, yy, stats.n, st, o.tau, &m, &c)?
            - stats.n * scaling.sd_y.ln();
        let (mean, sd) = linear::raw_moments(&scaling, &m, &c);
        report.mean = mean;
        report.sd = sd;
        report.cov = linear::raw_covariance(&scaling, &c);
        report.elbo = Some(elbo);
        report.elbo_std_err = Some(0.0);
        report.steps = svi.steps;
    }
    report.seconds = t0.elapsed().as_secs_f64();
    let exact = (o.method != Method::Exact).then_some((ex.mean, ex.sd));
    Ok(StreamedFit {
        report,
        exact,
        rows,
    })
}
