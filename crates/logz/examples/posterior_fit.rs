//! Bayesian linear regression: the exact conjugate posterior and evidence ln p(y) against
//! ADVI (mean-field and full-rank Gaussian q) and natural-gradient stochastic VI on minibatches.
//! The ELBO of every VI fit is a lower bound on ln p(y) — the evidence is the Z of the posterior.
//!
//! Run: `cargo run --release -p logz --example posterior_fit`

use logz::bayes::data::{age_income, AGE_INCOME};
use logz::bayes::fit::{fit, FitOptions, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::prelude::*;
use logz::runner::Runner;

fn main() -> Result<(), Error> {
    // income = 12 000 + 950·age + ε, ε ~ N(0, 15 000²), for 20 000 people.
    let data = age_income(20_000, 3);
    let kind = ModelKind::Linear(Noise::Known(AGE_INCOME.2));
    let run = |method, batch| {
        let o = FitOptions {
            method,
            batch,
            seed: 11,
            ..FitOptions::default()
        };
        fit(&data, kind, &o, &Runner::new())
    };
    let exact = run(Method::Exact, None)?;
    let ln_p = exact
        .ln_evidence
        .expect("the conjugate posterior has a closed-form evidence");
    println!("{} rows, truth: income = 12000 + 950·age", data.n());
    println!("exact: ln p(y) = {ln_p:.3}");
    for j in 0..exact.names.len() {
        println!(
            "  {:<9} {:>10.2} ± {:>7.2}",
            exact.names[j], exact.mean[j], exact.sd[j]
        );
    }
    for (method, batch) in [
        (Method::Advi, None),
        (Method::AdviFullRank, None),
        (Method::Natural, Some(1000)),
    ] {
        let r = run(method, batch)?;
        let (elbo, se) = (r.elbo.unwrap_or(f64::NAN), r.elbo_std_err.unwrap_or(0.0));
        println!(
            "{:<13} ELBO = {elbo:.3} ± {se:.3} (ln p(y) − ELBO = {:.3}), {} steps, converged {}",
            method.name(),
            ln_p - elbo,
            r.steps,
            r.converged
        );
        for j in 0..r.names.len() {
            let z = (r.mean[j] - exact.mean[j]) / exact.sd[j];
            println!(
                "  {:<9} {:>10.2} ± {:>7.2}  (mean off by {z:+.2} posterior sd)",
                r.names[j], r.mean[j], r.sd[j]
            );
        }
    }
    Ok(())
}
