//! `logz bench nuts`: the reference sampler on a real posterior — Bayesian logistic regression
//! on the Wisconsin breast cancer data (569 rows, 30 strongly correlated features, prior
//! N(0, 10²) on the standardised coefficients). NUTS against the long NumPyro NUTS run committed
//! beside the data (crates/logz/tests/data/breast_cancer/reference_numpyro.py): wall time,
//! worst R̂, smallest bulk ESS, divergences, and the worst mean and sd errors in units of the
//! reference sd; then today's `hmc` and, for comparison, full-rank ADVI and SVGD on the same
//! posterior. Everything in the model's standardised coordinates.

use crate::outln;
use anyhow::{anyhow, Result};
use logz::bayes::data::{stream_csv_reader, Dataset};
use logz::bayes::hmc::{hmc, HmcOptions};
use logz::bayes::linear::PRIOR_SCALE;
use logz::bayes::models::{Batch, Logistic};
use logz::bayes::nuts::{nuts, NutsOptions};
use logz::runner::Runner;
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
        "{:<34} {:>8} {:>9} {:>9} {:>6} {:>12} {:>11}",
        "method",
        "seconds",
        "max R-hat",
        "min ESS",
        "div.",
        "max |Δmean|/sd",
        "max |Δsd|/sd"
    );
    let runner = Runner::new();
    let t = Instant::now();
    let o = NutsOptions {
        seed,
        ..NutsOptions::default()
    };
    let n = nuts(&model, batch, &o, &runner)?;
    let secs = t.elapsed().as_secs_f64();
    let (dm, ds) = errors(&n.mean, &n.sd, &r);
    let rhat = n.r_hat.iter().cloned().fold(0.0, f64::max);
    let ess = n.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min);
    outln!(
        "{:<34} {secs:>8.2} {rhat:>9.4} {ess:>9.0} {:>6} {dm:>12.3} {ds:>11.3}",
        "nuts (4 × 1000 + 1000 warm-up)",
        n.divergences
    );
    outln!(
        "  goals: R-hat < 1.01 {}, ESS ≥ 1000 {}, means within 0.1 sd {}, sds within 10% {}, \
         ≤ 10 s {} ({:.1} leapfrog steps a draw, step size {:.3}, acceptance {:.3})",
        ok(rhat < 1.01),
        ok(ess >= 1000.0),
        ok(dm < 0.1),
        ok(ds < 0.1),
        ok(secs <= 10.0),
        n.mean_leapfrog,
        n.step_size.iter().sum::<f64>() / n.step_size.len() as f64,
        n.accept_stat
    );
    let t = Instant::now();
    let ho = HmcOptions {
        seed,
        ..HmcOptions::default()
    };
    let h = hmc(&model, batch, &ho, &runner)?;
    let secs = t.elapsed().as_secs_f64();
    let (dm, ds) = errors(&h.mean, &h.sd, &r);
    let rhat = h.r_hat.iter().cloned().fold(0.0, f64::max);
    let ess = h.ess.iter().cloned().fold(f64::INFINITY, f64::min);
    outln!(
        "{:<34} {secs:>8.2} {rhat:>9.4} {ess:>9.0} {:>6} {dm:>12.3} {ds:>11.3}",
        "hmc (unit metric, ≤ 20 steps)",
        "-"
    );
    // Full-rank ADVI with `fit`'s settings, and SVGD with its defaults.
    let t = Instant::now();
    let vo = logz::advi::ViOptions {
        samples: 4,
        seed,
        ..Default::default()
    };
    let v = logz::advi::fit(&model, batch, &vo, &runner)?;
    let secs = t.elapsed().as_secs_f64();
    let sd: Vec<f64> = (0..dim).map(|j| v.cov[j * dim + j].sqrt()).collect();
    let (dm, ds) = errors(&v.mean, &sd, &r);
    outln!(
        "{:<34} {secs:>8.2} {:>9} {:>9} {:>6} {dm:>12.3} {ds:>11.3}",
        format!("advi-fullrank ({} steps)", v.steps),
        "-",
        "-",
        "-"
    );
    let t = Instant::now();
    let so = logz::stein::SvgdOptions {
        seed,
        ..Default::default()
    };
    let s = logz::stein::svgd(&model, batch, &so, &runner)?;
    let secs = t.elapsed().as_secs_f64();
    let sd: Vec<f64> = (0..dim).map(|j| s.cov[j * dim + j].sqrt()).collect();
    let (dm, ds) = errors(&s.mean, &sd, &r);
    outln!(
        "{:<34} {secs:>8.2} {:>9} {:>9} {:>6} {dm:>12.3} {ds:>11.3}",
        format!("svgd ({} particles, {} steps)", so.particles, s.steps),
        "-",
        "-",
        "-"
    );
    Ok(())
}

fn ok(b: bool) -> &'static str {
    if b {
        "met"
    } else {
        "MISSED"
    }
}
