//! `logz data` and `logz fit`: the essay's last step on its running example — the ELBO as a
//! lower bound on the evidence ln p(y), used to learn the posterior of income given age.

use crate::plot::{self, Panel, Series};
use crate::progress::Bar;
use crate::{out, outln};
use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};
use logz::bayes::data;
use logz::bayes::fit::{fit, fit_streamed, FitOptions, FitReport, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::estimate::ErrorBar;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum DataKind {
    /// ages 18–80 (uniform), income = 12 000 + 950·age + N(0, 15 000²) dollars a year
    AgeIncome,
    /// x1, x2 standard normal with correlation 0.95, y = 1 + x1 − x2 + N(0, 1): a strongly
    /// correlated posterior (try --rows 30)
    Correlated,
}

#[derive(Args, Debug)]
pub struct DataArgs {
    pub kind: DataKind,
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, short)]
    pub out: PathBuf,
}

pub fn run_data(a: &DataArgs) -> Result<()> {
    if a.rows == 0 {
        return Err(anyhow!("--rows must be at least 1"));
    }
    match a.kind {
        DataKind::AgeIncome => data::write_age_income(&a.out, a.rows, a.seed)?,
        DataKind::Correlated => {
            logz::limits::check_memory("data", &format!("{} rows", a.rows), a.rows as f64 * 48.0)?;
            data::write_csv(&a.out, &data::correlated(a.rows, a.seed))?
        }
    }
    outln!("wrote {} rows to {}", a.rows, a.out.display());
    Ok(())
}

#[derive(Copy, Clone, Debug, PartialEq, ValueEnum)]
pub enum FitModel {
    /// Bayesian linear regression (known noise with --sigma, else Normal–Inverse-Gamma)
    Blr,
    /// Bayesian logistic regression (y in {0, 1})
    Logistic,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    pub model: FitModel,
    /// CSV file with a header line
    pub data: PathBuf,
    /// Feature column(s), comma-separated
    #[arg(long, value_delimiter = ',', required = true)]
    pub x: Vec<String>,
    /// Response column
    #[arg(long)]
    pub y: String,
    /// exact, advi, advi-fullrank, bbvi, natural (natural-gradient SVI), hmc, renyi or
    /// renyi-fullrank (Rényi-α VI), svgd (Stein variational gradient descent), nuts (No-U-Turn
    /// Sampler, the reference)
    #[arg(long, short, default_value = "exact")]
    pub method: String,
    /// Rényi order α of renyi / renyi-fullrank, in [−1, 2]: 1 = KL (ADVI), 0 = ln p(y)
    /// (importance-weighted), < 0 an upper bound (−1: χ² VI)
    /// [default: 0.5]
    #[arg(long, allow_hyphen_values = true)]
    pub alpha: Option<f64>,
    /// Fit renyi / renyi-fullrank at each of these α (comma-separated) and print (and with
    /// --plot draw) the posterior sds and the bound L_α against α
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub alpha_sweep: Vec<f64>,
    /// Particles of svgd (1 gives the MAP) [default: 200]
    #[arg(long)]
    pub particles: Option<usize>,
    /// Kernel of svgd: linear (its fixed point matches the Gaussian Stein equations; solved by
    /// L-BFGS), rbf (median heuristic) or rbf+linear [default: linear]
    #[arg(long)]
    pub kernel: Option<String>,
    /// nuts: warm-up iterations per chain (step size and dense metric adaptation) [default: 1000]
    #[arg(long)]
    pub warmup: Option<usize>,
    /// nuts: draws kept per chain [default: 1000]
    #[arg(long)]
    pub draws: Option<usize>,
    /// nuts: chains, run in parallel [default: 4]
    #[arg(long)]
    pub chains: Option<usize>,
    /// nuts: target acceptance of the step-size adaptation, in (0, 1) [default: 0.85]
    #[arg(long, allow_hyphen_values = true)]
    pub target_accept: Option<f64>,
    /// nuts: initial step size, > 0 (refined during warm-up) [default: 0.1]
    #[arg(long, allow_hyphen_values = true)]
    pub step_size: Option<f64>,
    /// nuts: largest tree depth (at most 2^depth leapfrog steps a draw) [default: 10]
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Known noise standard deviation in units of y (blr); without it σ gets an
    /// Inverse-Gamma prior
    #[arg(long, allow_hyphen_values = true)]
    pub sigma: Option<f64>,
    /// Inverse-Gamma prior shape a₀ of the standardised σ² (blr without --sigma)
    #[arg(long, default_value_t = 1.0)]
    pub a0: f64,
    /// Inverse-Gamma prior scale b₀ of the standardised σ² (blr without --sigma)
    #[arg(long, default_value_t = 1.0)]
    pub b0: f64,
    /// Minibatch rows (default: all rows; natural: 1024)
    #[arg(long)]
    pub batch: Option<usize>,
    /// Maximum optimisation steps
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    /// Adam learning rate
    #[arg(long, default_value_t = 0.05)]
    pub lr: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stream the file in bounded memory (exact and natural for blr)
    #[arg(long)]
    pub stream: bool,
    /// Write the ELBO trace and the posterior densities (SVG)
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

fn kind(a: &FitArgs) -> Result<ModelKind> {
    Ok(match a.model {
        FitModel::Blr => match a.sigma {
            Some(s) if !(s > 0.0 && s.is_finite()) => {
                return Err(anyhow!("--sigma must be > 0, got {s}"))
            }
            Some(s) => ModelKind::Linear(Noise::Known(s)),
            None => {
                for (name, v) in [("--a0", a.a0), ("--b0", a.b0)] {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(anyhow!("{name} must be a finite number > 0, got {v}"));
                    }
                }
                ModelKind::Linear(Noise::Unknown { a0: a.a0, b0: a.b0 })
            }
        },
        FitModel::Logistic => {
            if a.sigma.is_some() {
                return Err(anyhow!("--sigma applies to blr only"));
            }
            ModelKind::Logistic
        }
    })
}

pub fn run_fit(a: &FitArgs) -> Result<()> {
    let method = Method::parse(&a.method)?;
    let kind = kind(a)?;
    if a.batch == Some(0) {
        return Err(anyhow!("--batch must be at least 1"));
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        return Err(anyhow!("--lr must be a finite number > 0, got {}", a.lr));
    }
    if !a.alpha_sweep.is_empty() {
        return crate::alpha_sweep::run(a, method, kind);
    }
    if !matches!(method, Method::Renyi | Method::RenyiFullRank) && a.alpha.is_some() {
        return Err(anyhow!(
            "--alpha applies to the renyi methods only (--method renyi or renyi-fullrank)"
        ));
    }
    if method != Method::Svgd && (a.particles.is_some() || a.kernel.is_some()) {
        return Err(anyhow!(
            "--particles and --kernel apply to --method svgd only"
        ));
    }
    let kernel = match &a.kernel {
        Some(k) => logz::stein::SvgdKernel::parse(k)?,
        None => logz::stein::SvgdKernel::Linear,
    };
    let nuts = nuts_options(a, method)?;
    let bar = Bar::new(a.quiet || a.json);
    let (report, exact, rows) = if a.stream {
        stream_fit(a, method, kind, &bar)?
    } else {
        let d = data::read_csv(&a.data, &a.x, &a.y)?;
        let o = FitOptions {
            method,
            batch: a.batch,
            max_steps: a.steps,
            lr: a.lr,
            seed: a.seed,
            alpha: a.alpha.unwrap_or(0.5),
            particles: a.particles.unwrap_or(200),
            kernel,
            nuts,
            ..FitOptions::default()
        };
        let r = fit(&d, kind, &o, &crate::runner(&bar))?;
        // The exact posterior beside any approximation, where it exists.
        let ex = match kind {
            ModelKind::Linear(_) if method != Method::Exact => {
                let eo = FitOptions {
                    method: Method::Exact,
                    ..FitOptions::default()
                };
                Some(fit(&d, kind, &eo, &crate::runner(&logz::NoProgress))?)
            }
            _ => None,
        };
        (r, ex.map(|e| (e.mean, e.sd)), d.n())
    };
    bar.clear();
    if let Some(p) = &a.plot {
        write_plot(p, &report, exact.as_ref())?;
    }
    let gap = match (report.elbo, report.ln_evidence) {
        (Some(e), Some(l)) => Some(l - e),
        _ => None,
    };
    if a.json {
        // The coefficients' posterior covariance as rows (d × d, d = p + 1).
        let d = (report.cov.len() as f64).sqrt().round() as usize;
        let cov: Vec<&[f64]> = report.cov.chunks(d.max(1)).collect();
        let v = json!({
            "method": report.method, "model": report.model, "rows": rows,
            "names": report.names, "mean": report.mean, "sd": report.sd, "cov": cov,
            "elbo": report.elbo, "elbo_std_err": report.elbo_std_err.map(ErrorBar),
            "ln_evidence": report.ln_evidence, "kl_gap": gap,
            "cubo": report.cubo, "cubo_std_err": report.cubo_std_err.map(ErrorBar),
            "khat": report.khat, "psis_ln_evidence": report.psis_ln_evidence,
            "alpha": report.alpha, "renyi_bound": report.renyi_bound,
            "renyi_bound_std_err": report.renyi_bound_std_err.map(ErrorBar),
            "kl_q_p": report.kl_q_p, "kl_p_q": report.kl_p_q, "ksd": report.ksd,
            "exact_mean": exact.as_ref().map(|e| e.0.clone()),
            "exact_sd": exact.as_ref().map(|e| e.1.clone()),
            "steps": report.steps, "converged": report.converged,
            "termination": report.termination.label(),
            "seconds": report.seconds, "notes": report.notes,
            "kind": moments_kind(method),
            "r_hat": report.mcmc.as_ref().map(|m| m.r_hat.clone()),
            "ess_bulk": report.mcmc.as_ref().map(|m| m.ess_bulk.clone()),
            "divergences": report.mcmc.as_ref().map(|m| m.divergences),
            "step_size": report.mcmc.as_ref().map(|m| m.step_size),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!(
        "{} — {} on {} rows of {} ({:.3} s)",
        report.method,
        report.model,
        rows,
        a.data.display(),
        report.seconds
    );
    outln!("kind         {}", moments_kind(method));
    outln!(
        "{:<12} {:>16} {:>14} {:>16} {:>14}",
        "parameter",
        "posterior mean",
        "sd",
        "exact mean",
        "exact sd"
    );
    if let Some(m) = &report.mcmc {
        print_mcmc(&report.names, m);
    }
    for (j, name) in report.names.iter().enumerate() {
        let (em, es) = match &exact {
            Some((m, s)) if j < m.len() => (format!("{:.6}", m[j]), format!("{:.6}", s[j])),
            _ => ("-".into(), "-".into()),
        };
        outln!(
            "{:<12} {:>16.6} {:>14.6} {:>16} {:>14}",
            name,
            report.mean[j],
            report.sd[j],
            em,
            es
        );
    }
    if let Some(e) = report.elbo {
        outln!(
            "ELBO         {e:.6} ± {:.2e} (lower bound on ln p(y))",
            report.elbo_std_err.unwrap_or(0.0)
        );
    }
    if let Some(l) = report.ln_evidence {
        outln!("ln p(y)      {l:.6} (exact evidence)");
    }
    if let Some(g) = gap {
        outln!("gap          {g:.6} = KL(q ‖ posterior)");
    }
    if let (Some(a), Some(b)) = (report.kl_q_p, report.kl_p_q) {
        outln!("KL(q ‖ p)    {a:.6} (closed form, to the exact posterior)");
        outln!("KL(p ‖ q)    {b:.6} (closed form, mass-covering direction)");
    }
    if let Some(k) = report.ksd {
        outln!("KSD          {k:.4} (kernel Stein discrepancy of the draws, IMQ kernel; 0 = posterior)");
    }
    if let Some(c) = report.cubo {
        outln!(
            "CUBO         {c:.6} ± {:.2e} (stochastic upper bound on ln p(y): ELBO ≤ ln p(y) ≤ CUBO)",
            report.cubo_std_err.unwrap_or(0.0)
        );
        if let Some(l) = report.ln_evidence {
            outln!("upper gap    {:.6} = CUBO − ln p(y)", c - l);
        }
    }
    if let (Some(al), Some(b)) = (report.alpha, report.renyi_bound) {
        let side = if al > 0.0 {
            "lower bound on ln p(y)"
        } else if al == 0.0 {
            "estimates ln p(y)"
        } else {
            "upper bound on ln p(y)"
        };
        outln!(
            "Rényi L_α    {b:.6} ± {:.2e} (α = {al}: {side})",
            report.renyi_bound_std_err.unwrap_or(0.0)
        );
    }
    if let Some(p) = report.psis_ln_evidence {
        outln!("PSIS ln p(y) {p:.6} (stochastic estimate, Pareto-smoothed importance sampling)");
    }
    if let Some(k) = report.khat {
        let verdict = match logz::psis::verdict(k, logz::bayes::fit::IMPORTANCE_DRAWS) {
            "bad" => "bad: q misses posterior mass",
            v => v,
        };
        outln!("PSIS k̂       {k:.3} ({verdict})");
    }
    if report.steps > 0 {
        outln!(
            "steps        {}   converged {}",
            report.steps,
            report.converged
        );
        if report.termination.interrupted() {
            outln!("stopped      {}", report.termination.label());
        }
    }
    for n in &report.notes {
        outln!("note         {n}");
    }
    out!("");
    Ok(())
}

/// The kind of the posterior means and sds a method prints.
fn moments_kind(method: Method) -> &'static str {
    match method {
        Method::Exact => "exact (conjugate posterior)",
        Method::Nuts | Method::Hmc => {
            "stochastic (MCMC draws; their convergence in the R-hat / ESS table)"
        }
        _ => "approximation (moments of the fitted q or particles, not of the posterior)",
    }
}

/// NUTS options from the command line; an error when one is given to another method or is
/// out of range (the library checks the ranges: [`logz::bayes::nuts::NutsOptions::check`]).
fn nuts_options(a: &FitArgs, method: Method) -> Result<logz::bayes::nuts::NutsOptions> {
    let given = a.warmup.is_some()
        || a.draws.is_some()
        || a.chains.is_some()
        || a.target_accept.is_some()
        || a.step_size.is_some()
        || a.max_depth.is_some();
    if method != Method::Nuts && given {
        return Err(anyhow!(
            "--warmup, --draws, --chains, --target-accept, --step-size and --max-depth apply to \
             --method nuts only"
        ));
    }
    let d = logz::bayes::nuts::NutsOptions::default();
    let o = logz::bayes::nuts::NutsOptions {
        warmup: a.warmup.unwrap_or(d.warmup),
        samples: a.draws.unwrap_or(d.samples),
        chains: a.chains.unwrap_or(d.chains),
        target_accept: a.target_accept.unwrap_or(d.target_accept),
        step_size: a.step_size.unwrap_or(d.step_size),
        max_depth: a.max_depth.unwrap_or(d.max_depth),
        seed: a.seed,
        ..d
    };
    if method == Method::Nuts {
        o.check().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(o)
}

/// R̂ and bulk ESS per coordinate (standardised coordinates), then the sampler's summary.
fn print_mcmc(names: &[String], m: &logz::bayes::fit::McmcDiagnostics) {
    outln!(
        "{:<24} {:>10} {:>10}   (standardised coordinates)",
        "parameter",
        "R-hat",
        "bulk ESS"
    );
    for (j, (r, e)) in m.r_hat.iter().zip(&m.ess_bulk).enumerate() {
        let name = names.get(j).map_or("log_sigma", |s| s.as_str());
        outln!("{name:<24} {r:>10.4} {e:>10.0}");
    }
    outln!(
        "divergences {}   step size {:.4}   acceptance {:.3}   max-depth hits {}",
        m.divergences,
        m.step_size,
        m.accept_stat,
        m.max_depth_hits
    );
}

/// Posterior means and standard deviations.
pub type Moments = (Vec<f64>, Vec<f64>);

/// Exact posterior and natural-gradient SVI straight from the file in bounded memory
/// ([`logz::bayes::fit::fit_streamed`]).
fn stream_fit(
    a: &FitArgs,
    method: Method,
    kind: ModelKind,
    bar: &Bar,
) -> Result<(FitReport, Option<Moments>, usize)> {
    if !matches!(kind, ModelKind::Linear(_)) {
        return Err(anyhow!("--stream supports blr (exact or natural)"));
    }
    if !matches!(method, Method::Exact | Method::Natural) {
        return Err(anyhow!("--stream supports the exact and natural methods"));
    }
    if method == Method::Natural && !matches!(kind, ModelKind::Linear(Noise::Known(_))) {
        return Err(anyhow!(
            "natural-gradient SVI needs the known-noise model (--sigma)"
        ));
    }
    let o = FitOptions {
        method,
        batch: a.batch,
        ..FitOptions::default()
    };
    let r = fit_streamed(&a.data, &a.x, &a.y, kind, &o, &crate::runner(bar))?;
    Ok((r.report, r.exact, r.rows))
}

/// ELBO trace (smoothed over windows) and, per parameter, the Gaussian q density beside the
/// exact posterior's.
fn write_plot(path: &Path, r: &FitReport, exact: Option<&(Vec<f64>, Vec<f64>)>) -> Result<()> {
    let mut panels = Vec::new();
    if !r.trace.is_empty() {
        // Skip the first 2% of steps so the approach to the optimum is visible.
        let skip = r.trace.len() / 50;
        let w = ((r.trace.len() - skip) / 200).max(1);
        let pts: Vec<(f64, f64)> = r.trace[skip..]
            .chunks(w)
            .enumerate()
            .map(|(k, c)| {
                (
                    (skip + (k + 1) * w) as f64,
                    c.iter().sum::<f64>() / c.len() as f64,
                )
            })
            .collect();
        // Exact values in slot 0 (black, solid), the method's own curves in slot 1.
        let mut series = Vec::new();
        if let Some(l) = r.ln_evidence {
            series.push(Series {
                label: "ln p(y)".into(),
                points: vec![(0.0, l), (r.trace.len() as f64, l)],
                color: 0,
            });
        }
        series.push(Series {
            label: "ELBO (window mean)".into(),
            points: pts,
            color: 1,
        });
        panels.push(Panel {
            title: "ELBO during optimisation".into(),
            x_label: "step".into(),
            y_label: "ELBO".into(),
            series,
            vlines: Vec::new(),
            marks: Vec::new(),
        });
    }
    // 401 points over ±4σ: smooth at any zoom the figure is shown at.
    let gauss = |m: f64, s: f64| -> Vec<(f64, f64)> {
        (0..=400)
            .map(|k| {
                let x = m - 4.0 * s + 8.0 * s * k as f64 / 400.0;
                (
                    x,
                    (-0.5 * ((x - m) / s).powi(2)).exp()
                        / (s * (2.0 * std::f64::consts::PI).sqrt()),
                )
            })
            .collect()
    };
    for (j, name) in r.names.iter().enumerate() {
        if r.sd[j].is_nan() || r.sd[j] <= 0.0 {
            continue;
        }
        let mut series = Vec::new();
        if let Some((m, s)) = exact {
            if j < m.len() && s[j] > 0.0 {
                series.push(Series {
                    label: "exact".into(),
                    points: gauss(m[j], s[j]),
                    color: 0,
                });
            }
        }
        series.push(Series {
            label: format!("{} (Gaussian summary)", r.method),
            points: gauss(r.mean[j], r.sd[j]),
            color: 1,
        });
        panels.push(Panel {
            title: format!("posterior of {name}"),
            x_label: name.clone(),
            y_label: "density".into(),
            series,
            vlines: Vec::new(),
            marks: Vec::new(),
        });
    }
    plot::draw(path, &panels, 2).with_context(|| format!("writing {}", path.display()))
}
