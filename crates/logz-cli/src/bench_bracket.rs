//! `logz bench bracket`: does `logz fit`'s evidence bracket hold? Bayesian linear regression
//! (known noise) on 10⁴ rows of age → income data, one data set and one fit per seed: the share
//! of seeds whose interval [ELBO, CUBO] contains the exact ln p(y) (issue 16's goal: ≥ 95% of
//! 100 seeds), with the mean bracket width and the PSIS k̂ range, for full-rank ADVI (`fit`'s
//! settings) and the Laplace + natural-gradient fit (advi-newton).
//!
//! The ELBO and the CUBO are Monte Carlo estimates: a bound can land on the wrong side of
//! ln p(y) by its own noise, which is what the coverage counts. The CUBO's estimate is biased
//! low for finite draws (ln of a mean), so the count is a real test of it.

use crate::outln;
use anyhow::{anyhow, Result};
use logz::bayes::data;
use logz::bayes::fit::{fit, FitOptions, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::runner::Runner;
use std::time::Instant;

pub fn run(rows: usize, seeds: u64) -> Result<()> {
    if rows < 10 {
        return Err(anyhow!("bench bracket needs --rows ≥ 10"));
    }
    if seeds == 0 {
        return Err(anyhow!("bench bracket needs --seeds ≥ 1"));
    }
    let sigma = data::AGE_INCOME.2;
    let kind = ModelKind::Linear(Noise::Known(sigma));
    outln!(
        "Bayesian linear regression, income ~ age, known σ = {sigma}: {rows} rows, seeds 1..={seeds} \
         (a new data set and a new fit for each)"
    );
    outln!(
        "{:<16} {:>10} {:>12} {:>14} {:>14} {:>16} {:>9}",
        "method",
        "contained",
        "share",
        "ELBO below",
        "CUBO above",
        "mean width nats",
        "max k̂"
    );
    for (method, name) in [
        (Method::AdviFullRank, "advi-fullrank"),
        (Method::AdviNewton, "advi-newton"),
    ] {
        let t0 = Instant::now();
        let (mut inside, mut elbo_ok, mut cubo_ok) = (0u64, 0u64, 0u64);
        let (mut width, mut khat) = (0.0, 0.0f64);
        for seed in 1..=seeds {
            let d = data::age_income(rows, seed);
            let o = FitOptions {
                method,
                seed,
                ..FitOptions::default()
            };
            let r = fit(&d, kind, &o, &Runner::new())?;
            let (Some(elbo), Some(cubo), Some(exact)) = (r.elbo, r.cubo, r.ln_evidence) else {
                return Err(anyhow!("{name} reported no ELBO, CUBO or exact evidence"));
            };
            elbo_ok += u64::from(elbo <= exact);
            cubo_ok += u64::from(cubo >= exact);
            inside += u64::from(elbo <= exact && exact <= cubo);
            width += (cubo - elbo) / seeds as f64;
            khat = khat.max(r.khat.unwrap_or(f64::NAN));
        }
        outln!(
            "{name:<16} {:>10} {:>11.0}% {:>14} {:>14} {width:>16.4} {khat:>9.3}   ({:.1} s)",
            format!("{inside}/{seeds}"),
            100.0 * inside as f64 / seeds as f64,
            format!("{elbo_ok}/{seeds}"),
            format!("{cubo_ok}/{seeds}"),
            t0.elapsed().as_secs_f64()
        );
        outln!(
            "  goal: [ELBO, CUBO] contains the exact ln p(y) in ≥ 95% of seeds: {}",
            if inside as f64 >= 0.95 * seeds as f64 {
                "PASS"
            } else {
                "FAIL"
            }
        );
    }
    outln!("(ELBO, CUBO: stochastic bounds from 200 and 2000 draws of q; ln p(y): exact)");
    Ok(())
}
