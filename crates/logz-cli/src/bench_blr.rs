//! `logz bench blr`: Bayesian linear regression on N rows of age → income data in memory —
//! the time each method needs until every posterior mean is within 1% and every posterior
//! standard deviation within 10% of the exact posterior (raw units), start-up included, beside
//! NumPyro's figures measured on this machine (../shared/reference/blr_numpyro.py).

use crate::outln;
use anyhow::Result;
use logz::bayes::data::{self, Dataset, Scaling, SuffStats};
use logz::bayes::linear::{self, Noise, PRIOR_SCALE};
use logz::bayes::models::{Batch, LinearKnownNoise};
use logz::mc::local::index;
use logz::vi::{self, natural::NaturalSvi, Estimator, Family, Optimizer, ViOptions};
use rand::SeedableRng;
use rayon::prelude::*;
use std::time::Instant;

/// NumPyro SVI figures (seconds): full batch, subsampling plate, hand-written minibatch
/// (+ 1.5 s JIT compile).
const NUMPYRO: &[(&str, f64)] = &[
    ("NumPyro SVI, full batch", 22.9),
    ("NumPyro SVI, subsample plate", 10.6),
    ("NumPyro SVI, hand minibatch (incl. 1.5 s JIT)", 0.085 + 1.5),
];
const SIGMA: f64 = data::AGE_INCOME.2;

fn parallel_stats(d: &Dataset) -> SuffStats {
    let p = d.p();
    d.y.par_chunks(1 << 16)
        .zip(d.x.par_chunks(p << 16))
        .map(|(y, x)| {
            let mut s = SuffStats::new(p);
            for (r, v) in x.chunks_exact(p).zip(y) {
                s.push(r, *v);
            }
            s
        })
        .reduce(
            || SuffStats::new(p),
            |mut a, b| {
                a.merge(&b);
                a
            },
        )
}

/// Scaling constants from a random subsample: a fixed affine reparameterisation, so the
/// stochastic methods need no pass over the data before their first step.
fn subsample_scaling(d: &Dataset, rows: usize) -> Result<Scaling> {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(99);
    let mut s = SuffStats::new(d.p());
    for _ in 0..rows {
        let i = index(&mut rng, d.n());
        s.push(&d.x[i * d.p()..(i + 1) * d.p()], d.y[i]);
    }
    Ok(s.scaling(&d.x_names, &d.y_name)?)
}

fn close(m: &[f64], s: &[f64], tm: &[f64], ts: &[f64]) -> bool {
    m.iter()
        .zip(tm)
        .all(|(a, b)| (a - b).abs() <= 0.01 * b.abs())
        && s.iter().zip(ts).all(|(a, b)| (a - b).abs() <= 0.10 * b)
}

pub fn run(rows: usize) -> Result<()> {
    if rows < 1000 {
        anyhow::bail!("--rows must be at least 1000");
    }
    // The data (x, y: 16 B a row), the design matrix with its intercept (16) and the
    // standardised copies the stochastic methods make (16).
    logz::limits::check_memory(
        "bench blr",
        &format!("{rows} rows in memory"),
        48.0 * rows as f64,
    )?;
    outln!("Bayesian linear regression, income ~ age, {rows} rows in memory, known σ = {SIGMA}");
    let d = data::age_income(rows, 1);
    // Exact: one parallel pass for the sufficient statistics, then a d × d solve.
    let t0 = Instant::now();
    let stats = parallel_stats(&d);
    let scaling = stats.scaling(&d.x_names, &d.y_name)?;
    let ex = linear::exact(
        &stats,
        &scaling,
        &d.x_names,
        Noise::Known(SIGMA),
        PRIOR_SCALE,
    )?;
    let t_exact = t0.elapsed().as_secs_f64();
    outln!("exact posterior mean {:?}, sd {:?}", ex.mean, ex.sd);
    outln!(
        "{:<48} {:>10} {:>8} {:>12}",
        "method",
        "seconds",
        "steps",
        "reached"
    );
    outln!(
        "{:<48} {:>10.4} {:>8} {:>12}",
        "exact (one parallel pass)",
        t_exact,
        1,
        "exact"
    );

    // Natural-gradient SVI, minibatches of 1024 drawn with replacement.
    let t0 = Instant::now();
    let sc = subsample_scaling(&d, 10_000)?;
    let target = linear::exact(&stats, &sc, &d.x_names, Noise::Known(SIGMA), PRIOR_SCALE)?;
    let mut svi = NaturalSvi::new(2, rows as f64, SIGMA / sc.sd_y, PRIOR_SCALE);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let b = 1024;
    let (mut bx, mut by) = (Vec::with_capacity(2 * b), Vec::with_capacity(b));
    let mut reached = false;
    while svi.steps < 100_000 {
        bx.clear();
        by.clear();
        for _ in 0..b {
            let i = index(&mut rng, rows);
            bx.push(1.0);
            bx.push((d.x[i] - sc.mean_x[0]) / sc.sd_x[0]);
            by.push((d.y[i] - sc.mean_y) / sc.sd_y);
        }
        svi.step(Batch {
            x: &bx,
            y: &by,
            d: 2,
        })?;
        if svi.steps.is_multiple_of(5) {
            let (m, c) = svi.moments()?;
            let (rm, rs) = linear::raw_moments(&sc, &m, &c);
            if close(&rm, &rs, &target.mean, &target.sd) {
                reached = true;
                break;
            }
        }
    }
    let t_nat = t0.elapsed().as_secs_f64();
    outln!(
        "{:<48} {:>10.4} {:>8} {:>12}",
        "natural-gradient SVI, batch 1024",
        t_nat,
        svi.steps,
        if reached { "yes" } else { "no" }
    );

    // Full-rank ADVI, Adam, minibatch 1024 (the design is standardised first: part of the time).
    let t0 = Instant::now();
    let mut xs = Vec::with_capacity(2 * rows);
    for &a in &d.x {
        xs.push(1.0);
        xs.push((a - sc.mean_x[0]) / sc.sd_x[0]);
    }
    let ys: Vec<f64> = d.y.iter().map(|y| (y - sc.mean_y) / sc.sd_y).collect();
    let model = LinearKnownNoise {
        d: 2,
        sigma: SIGMA / sc.sd_y,
        tau: PRIOR_SCALE,
        names: vec!["intercept".into(), "age".into()],
    };
    let o = ViOptions {
        family: Family::FullRank,
        estimator: Estimator::Reparameterization,
        optimizer: Optimizer::Adam {
            lr: 0.05,
            decay: 200.0,
        },
        batch: Some(1024),
        samples: 1,
        max_steps: 20_000,
        eval_draws: 2,
        eval_batch: 1024,
        tol: 0.0,
        ..ViOptions::default()
    };
    let mut hit = None;
    let mut last_sd_ratio = 0.0;
    vi::fit_monitored(
        &model,
        Batch {
            x: &xs,
            y: &ys,
            d: 2,
        },
        &o,
        &logz::NoProgress,
        &mut |t, m, c| {
            let (rm, rs) = linear::raw_moments(&sc, m, c);
            last_sd_ratio = rs
                .iter()
                .zip(&target.sd)
                .map(|(a, b)| a / b)
                .fold(0.0, f64::max);
            if close(&rm, &rs, &target.mean, &target.sd) {
                hit = Some(t);
                return true;
            }
            false
        },
    )?;
    let t_advi = t0.elapsed().as_secs_f64();
    outln!(
        "{:<48} {:>10.4} {:>8} {:>12}",
        "full-rank ADVI, Adam, batch 1024",
        t_advi,
        hit.map_or("20000".into(), |t| t.to_string()),
        if hit.is_some() {
            "yes".to_string()
        } else {
            format!("no (sd ×{last_sd_ratio:.1})")
        }
    );
    let best = if reached { t_nat } else { t_exact };
    outln!("\nagainst NumPyro on the same task (10⁷ rows, measured on this machine):");
    for (name, s) in NUMPYRO {
        outln!(
            "  {name:<46} {s:>7.3} s   logz {:>7.0}× faster",
            s / best.max(1e-9)
        );
    }
    Ok(())
}
