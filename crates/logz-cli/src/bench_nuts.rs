//! `logz bench nuts`: the reference sampler on a real posterior — Bayesian logistic regression
//! on the Wisconsin breast cancer data (569 rows, 30 strongly correlated features, prior
//! N(0, 10²) on the standardised coefficients). NUTS against the long NumPyro NUTS run committed
//! beside the data (crates/logz/tests/data/breast_cancer/reference_numpyro.py): wall time,
//! worst R̂, smallest bulk ESS, divergences, and the worst mean and sd errors in units of the
//! reference sd; then today's `hmc` and the approximations on the same posterior — full-rank
//! ADVI against the best full-rank Gaussian (the ELBO of a long decayed-step run and of the
//! Laplace + natural-gradient fit, by common random numbers), OPVI and SVGD against the NUTS
//! means — each line of the goals printed as PASS or FAIL. Everything in the model's
//! standardised coordinates.
//!
//! Times: wall seconds, and the process's CPU seconds (user + system, all threads) for each
//! row; "2-core" is CPU / 2, the wall time the row would take on two otherwise idle cores
//! when its work parallelises (a lower bound otherwise) — the figure to read on a loaded
//! machine.

use crate::bench_critical::{cpu_seconds, load_average};
use crate::outln;
use anyhow::{anyhow, Result};
use logz::bayes::data::{stream_csv_reader, Dataset};
use logz::bayes::hmc::{hmc, HmcOptions};
use logz::bayes::linear::PRIOR_SCALE;
use logz::bayes::models::{Batch, Logistic};
use logz::bayes::nuts::{nuts, NutsOptions};
use logz::runner::Runner;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use std::time::Instant;

const WDBC: &str = include_str!("../../logz/tests/data/breast_cancer/wdbc.csv");
const REFERENCE: &str = include_str!("../../logz/tests/data/breast_cancer/reference.csv");

/// The data set and its standardised design (intercept column first).
fn data() -> Result<(Dataset, Vec<f64>)> {
    let cols: Vec<String> = WDBC
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(String::from)
        .collect();
    let (xs, y) = cols.split_at(cols.len() - 1);
    let p = xs.len();
    let (mut x, mut yv) = (Vec::new(), Vec::new());
    stream_csv_reader("wdbc.csv", WDBC.as_bytes(), xs, &y[0], 1024, |cx, cy| {
        x.extend_from_slice(cx);
        yv.extend_from_slice(cy);
        Ok(())
    })?;
    debug_assert_eq!(x.len(), p * yv.len());
    let d = Dataset {
        x_names: xs.to_vec(),
        y_name: y[0].clone(),
        x,
        y: yv,
    };
    let s = d.stats().scaling(&d.x_names, &d.y_name)?;
    let (design, _) = s.design(&d);
    Ok((d, design))
}

/// Reference (name, mean, sd).
fn reference() -> Vec<(String, f64, f64)> {
    REFERENCE
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].into(), f[1].parse().ok()?, f[2].parse().ok()?))
        })
        .collect()
}

/// Worst |Δmean|/sd_ref and worst |sd/sd_ref − 1| against the reference.
fn errors(mean: &[f64], sd: &[f64], r: &[(String, f64, f64)]) -> (f64, f64) {
    let mut dm: f64 = 0.0;
    let mut ds: f64 = 0.0;
    for (j, (_, m, s)) in r.iter().enumerate() {
        dm = dm.max((mean[j] - m).abs() / s);
        ds = ds.max((sd[j] / s - 1.0).abs());
    }
    (dm, ds)
}

pub fn run(threads: usize, seed: u64) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow!("thread pool: {e}"))?;
    pool.install(|| run_in_pool(threads, seed))
}

/// Wall and CPU seconds of one row.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }
    /// (wall, CPU) seconds since the start; CPU is NaN where /proc is missing.
    fn read(&self) -> (f64, f64) {
        let cpu = match (self.cpu, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        };
        (self.wall.elapsed().as_secs_f64(), cpu)
    }
}

/// Lower Cholesky factor of a symmetric positive definite d × d matrix (row-major).
fn cholesky(c: &[f64], d: usize) -> Result<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = c[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return Err(anyhow!("a covariance is not positive definite"));
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Ok(l)
}

/// The ELBO integrand ln p(y, μ + Lε_k) + H[q] of q = N(mean, cov) at each fixed ε_k (common
/// random numbers: the same ε for every q, so ELBO differences have a small error bar).
fn elbo_terms(
    model: &Logistic,
    batch: Batch,
    mean: &[f64],
    cov: &[f64],
    eps: &[Vec<f64>],
) -> Result<Vec<f64>> {
    let d = mean.len();
    let l = cholesky(cov, d)?;
    let entropy = (0..d).map(|i| l[i * d + i].ln()).sum::<f64>()
        + 0.5 * d as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln();
    Ok(eps
        .par_iter()
        .map(|e| {
            let z: Vec<f64> = (0..d)
                .map(|i| mean[i] + (0..=i).map(|j| l[i * d + j] * e[j]).sum::<f64>())
                .collect();
            let mut g = vec![0.0; d];
            logz::advi::log_joint(model, &z, batch, 1.0, &mut g) + entropy
        })
        .collect())
}

/// Mean and standard error of the mean.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn sds(cov: &[f64], d: usize) -> Vec<f64> {
    (0..d).map(|j| cov[j * d + j].sqrt()).collect()
}

/// Worst |Δmean| in units of the target's sd.
fn mean_err(mean: &[f64], target: &[f64], sd: &[f64]) -> f64 {
    mean.iter()
        .zip(target)
        .zip(sd)
        .map(|((a, b), s)| (a - b).abs() / s)
        .fold(0.0, f64::max)
}

/// Draws ε for the ELBO comparison.
const ELBO_DRAWS: usize = 4_000;
/// Steps of the long decayed-step Adam run (its convergence test may not stop it earlier;
/// the last 2000-step window's average is reported).
const LONG_STEPS: usize = 40_000;
/// Steps of the long natural-gradient run.
const NEWTON_LONG_STEPS: usize = 5_000;
/// OPVI's fixed draw set and its L-BFGS step cap here: `fit -m opvi`'s settings (each step
/// one score and one Hessian–vector product of ln p per draw).
const OPVI_DRAWS: usize = logz::bayes::fit::OPVI_DRAWS;
const OPVI_STEPS: usize = logz::bayes::fit::OPVI_MAX_STEPS;

fn run_in_pool(threads: usize, seed: u64) -> Result<()> {
    let (d, x) = data()?;
    let r = reference();
    if r.len() != d.p() + 1 {
        return Err(anyhow!("reference.csv does not match the data's columns"));
    }
    let dim = d.p() + 1;
    let model = Logistic {
        d: dim,
        tau: PRIOR_SCALE,
        names: r.iter().map(|v| v.0.clone()).collect(),
    };
    let batch = Batch {
        x: &x,
        y: &d.y,
        d: dim,
    };
    outln!(
        "Bayesian logistic regression, Wisconsin breast cancer: {} rows, {} coefficients, \
         prior N(0, {PRIOR_SCALE}²); {threads} thread(s); reference: NumPyro NUTS, 4 × 10 000 draws",
        d.n(),
        dim
    );
    outln!(
        "load average {} at the start ({} cores); 2-core = CPU s / 2",
        load_average().map_or("?".into(), |l| format!("{l:.2}")),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    outln!(
        "{:<38} {:>7} {:>7} {:>7} {:>9} {:>7} {:>5} {:>14} {:>12}",
        "method",
        "wall s",
        "CPU s",
        "2-core",
        "max R-hat",
        "min ESS",
        "div.",
        "max|Δmean|/sd",
        "max|Δsd|/sd"
    );
    let row = |name: &str,
               (wall, cpu): (f64, f64),
               mc: Option<(f64, f64, String)>,
               dm: f64,
               ds: f64| {
        let (rh, es, dv) = match mc {
            Some((a, b, c)) => (format!("{a:.4}"), format!("{b:.0}"), c),
            None => ("-".into(), "-".into(), "-".into()),
        };
        outln!(
            "{name:<38} {wall:>7.2} {cpu:>7.2} {:>7.2} {rh:>9} {es:>7} {dv:>5} {dm:>14.3} {ds:>12.3}",
            cpu / 2.0
        );
    };
    let runner = Runner::new();
    let mut checks: Vec<(String, String, bool)> = Vec::new();

    // NUTS with its defaults.
    let clock = Clock::start();
    let o = NutsOptions {
        seed,
        ..NutsOptions::default()
    };
    let n = nuts(&model, batch, &o, &runner)?;
    let (wall, cpu) = clock.read();
    let (dm, ds) = errors(&n.mean, &n.sd, &r);
    let rhat = n.r_hat.iter().cloned().fold(0.0, f64::max);
    let ess = n.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min);
    row(
        &format!("nuts ({} × {} + {} warm-up)", o.chains, o.samples, o.warmup),
        (wall, cpu),
        Some((rhat, ess, n.divergences.to_string())),
        dm,
        ds,
    );
    outln!(
        "  {:.1} leapfrog steps a draw, step size {:.3}, acceptance {:.3}, max-depth hits {}",
        n.mean_leapfrog,
        n.step_size.iter().sum::<f64>() / n.step_size.len() as f64,
        n.accept_stat,
        n.max_depth_hits
    );
    checks.push((
        "NUTS max R-hat < 1.01".into(),
        format!("{rhat:.4}"),
        rhat < 1.01,
    ));
    checks.push((
        "NUTS min bulk ESS ≥ 1000".into(),
        format!("{ess:.0}"),
        ess >= 1000.0,
    ));
    checks.push((
        "NUTS means within 0.1 sd of reference".into(),
        format!("{dm:.3} sd"),
        dm < 0.1,
    ));
    checks.push((
        "NUTS sds within 10% of reference".into(),
        format!("{:.1}%", 100.0 * ds),
        ds < 0.1,
    ));
    let two_core = if cpu.is_finite() { cpu / 2.0 } else { wall };
    checks.push((
        "NUTS ≤ 10 s on 2 cores (CPU s / 2)".into(),
        format!("{two_core:.2} s (wall {wall:.2} s)"),
        two_core <= 10.0,
    ));

    // Today's hmc.
    let clock = Clock::start();
    let ho = HmcOptions {
        seed,
        ..HmcOptions::default()
    };
    let h = hmc(&model, batch, &ho, &runner)?;
    let t = clock.read();
    let (dm, ds) = errors(&h.mean, &h.sd, &r);
    let rhat = h.r_hat.iter().cloned().fold(0.0, f64::max);
    let ess = h.ess.iter().cloned().fold(f64::INFINITY, f64::min);
    row(
        "hmc (unit metric, ≤ 20 steps)",
        t,
        Some((rhat, ess, "-".into())),
        dm,
        ds,
    );

    // Full-rank Gaussians: `fit -m advi-fullrank`'s settings, a long run with a slowly
    // decaying step (many draws a step), and the Laplace + natural-gradient fit.
    let fits: Vec<(String, logz::advi::ViOptions)> = vec![
        (
            "advi-fullrank (fit's settings)".into(),
            logz::advi::ViOptions {
                samples: 4,
                seed,
                ..Default::default()
            },
        ),
        (
            "advi-fullrank long (Adam, decayed)".into(),
            logz::advi::ViOptions {
                samples: 16,
                max_steps: LONG_STEPS,
                min_steps: LONG_STEPS,
                window: 2_000,
                optimizer: logz::advi::Optimizer::Adam {
                    lr: 0.02,
                    decay: 500.0,
                },
                seed: seed ^ 0x10,
                ..Default::default()
            },
        ),
        (
            "advi-newton (Laplace + natural grad.)".into(),
            logz::advi::ViOptions {
                optimizer: logz::advi::Optimizer::Newton,
                window: 50,
                seed,
                ..Default::default()
            },
        ),
        (
            "advi-newton long".into(),
            logz::advi::ViOptions {
                optimizer: logz::advi::Optimizer::Newton,
                max_steps: NEWTON_LONG_STEPS,
                min_steps: NEWTON_LONG_STEPS,
                window: 500,
                seed: seed ^ 0x20,
                ..Default::default()
            },
        ),
        (
            "opvi (Langevin–Stein, linear fields)".into(),
            logz::advi::ViOptions {
                objective: logz::advi::Objective::Operator,
                samples: OPVI_DRAWS,
                max_steps: OPVI_STEPS,
                seed,
                ..Default::default()
            },
        ),
    ];
    let mut gaussians = Vec::new();
    for (name, vo) in &fits {
        let clock = Clock::start();
        let v = logz::advi::fit(&model, batch, vo, &runner)?;
        let t = clock.read();
        let sd = sds(&v.cov, dim);
        let (dm, ds) = errors(&v.mean, &sd, &r);
        row(
            &format!("{name} {}{}", v.steps, if v.converged { "" } else { "*" }),
            t,
            None,
            dm,
            ds,
        );
        gaussians.push((name.clone(), v));
    }
    // OPVI with the linear + quadratic test fields (not the default: skewness equations; it
    // does not converge here, so it is capped at a quarter of the default's steps).
    let clock = Clock::start();
    let vo = logz::advi::ViOptions {
        objective: logz::advi::Objective::Operator,
        samples: OPVI_DRAWS,
        max_steps: OPVI_STEPS / 4,
        seed,
        ..Default::default()
    };
    let opvi_lin = logz::advi::opvi::fit_fields(
        &model,
        batch,
        &vo,
        &runner,
        logz::advi::opvi::TestFields::LinearQuadratic,
    )?;
    let t = clock.read();
    let sd = sds(&opvi_lin.cov, dim);
    let (dm, ds) = errors(&opvi_lin.mean, &sd, &r);
    row(
        &format!(
            "opvi, linear + quadratic fields {}{}",
            opvi_lin.steps,
            if opvi_lin.converged { "" } else { "*" }
        ),
        t,
        None,
        dm,
        ds,
    );
    let clock = Clock::start();
    let so = logz::stein::SvgdOptions {
        seed,
        ..Default::default()
    };
    let s = logz::stein::svgd(&model, batch, &so, &runner)?;
    let t = clock.read();
    let ssd = sds(&s.cov, dim);
    let (dm, ds) = errors(&s.mean, &ssd, &r);
    row(
        &format!("svgd ({} particles) {}", so.particles, s.steps),
        t,
        None,
        dm,
        ds,
    );
    outln!("  (after a VI name: its steps; * = its own convergence test did not pass)");

    // ELBOs by common random numbers: every q sees the same ε.
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xe1b0);
    let eps: Vec<Vec<f64>> = (0..ELBO_DRAWS)
        .map(|_| (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    let mut terms = Vec::new();
    for (name, v) in gaussians.iter().take(4) {
        terms.push((
            name.clone(),
            elbo_terms(&model, batch, &v.mean, &v.cov, &eps)?,
        ));
    }
    // The optimum: the best of the long runs and the natural-gradient fit.
    let best = (1..4)
        .max_by(|&a, &b| mean_se(&terms[a].1).0.total_cmp(&mean_se(&terms[b].1).0))
        .unwrap_or(1);
    outln!(
        "\nELBO of each full-rank Gaussian ({ELBO_DRAWS} common draws; stochastic ± 1 s.e.), \
         and its gap to the best ({}):",
        terms[best].0
    );
    for (name, t) in &terms {
        let (e, se) = mean_se(t);
        let diff: Vec<f64> = terms[best].1.iter().zip(t).map(|(a, b)| a - b).collect();
        let (g, gse) = mean_se(&diff);
        outln!("  {name:<40} ELBO {e:>12.4} ± {se:.4}   gap {g:>8.4} ± {gse:.4} nats");
    }
    let diff: Vec<f64> = terms[best]
        .1
        .iter()
        .zip(&terms[0].1)
        .map(|(a, b)| a - b)
        .collect();
    let (gap, gse) = mean_se(&diff);
    checks.push((
        "full-rank ADVI ELBO within 0.1 nats of the optimum".into(),
        format!("gap {gap:.4} ± {gse:.4} nats"),
        gap < 0.1,
    ));

    // OPVI and SVGD against the NUTS means, in NUTS sds.
    let opvi = &gaussians[4].1;
    let e = mean_err(&opvi.mean, &n.mean, &n.sd);
    checks.push((
        format!(
            "OPVI means within 0.15 sd of NUTS ({} L-BFGS steps{}; linear fields)",
            opvi.steps,
            if opvi.converged { "" } else { ", capped" }
        ),
        format!("{e:.3} sd"),
        e < 0.15,
    ));
    let e = mean_err(&opvi_lin.mean, &n.mean, &n.sd);
    checks.push((
        format!(
            "  OPVI with linear + quadratic fields{}",
            if opvi_lin.converged { "" } else { ", capped" }
        ),
        format!("{e:.3} sd"),
        e < 0.15,
    ));
    let e = mean_err(&s.mean, &n.mean, &n.sd);
    checks.push((
        "SVGD means within 0.15 sd of NUTS".into(),
        format!("{e:.3} sd"),
        e < 0.15,
    ));

    outln!(
        "\n{:<52} {:>30}  {}",
        "goal (issue 16)",
        "measured",
        "verdict"
    );
    for (goal, measured, pass) in &checks {
        outln!(
            "{goal:<52} {measured:>30}  {}",
            if *pass { "PASS" } else { "FAIL" }
        );
    }
    outln!(
        "load average {} at the end",
        load_average().map_or("?".into(), |l| format!("{l:.2}"))
    );
    Ok(())
}
