//! Shared assertions for tests of stochastic methods.
//!
//! A coverage check |estimate − exact| < kσ alone passes for any error bar — σ = ∞ covers
//! everything — so every such check here also caps σ. Each cap is set a few times above the σ
//! that a correct run was measured to give (the measurements are stated beside each call), so a
//! run that meets it has done its job with room, and a run whose error bar blows up fails.
#![allow(dead_code)]

use logz::bayes::data::{read_csv, Dataset};
use std::path::PathBuf;

/// Assert that `est ± sigma` covers `exact` within `k` standard errors and that `sigma` is a
/// finite, positive number no larger than `sigma_cap`.
#[track_caller]
pub fn assert_within(what: &str, est: f64, sigma: f64, exact: f64, k: f64, sigma_cap: f64) {
    eprintln!(
        "{what}: {est} ± {sigma:.3e} vs exact {exact} (z = {:+.2}; σ = {:.3} of its cap, σ/|exact| = {:.2e})",
        (est - exact) / sigma,
        sigma / sigma_cap,
        sigma / exact.abs()
    );
    check_sigma(what, sigma, sigma_cap);
    assert!(
        (est - exact).abs() < k * sigma,
        "{what}: {est} ± {sigma:.3e} is {:.2} σ from exact {exact} (allowed {k} σ)",
        (est - exact) / sigma
    );
}

/// Assert that an error bar is finite, positive and at most `sigma_cap` (for one-sided and
/// two-sample checks, where the coverage assertion is written out at the call site).
#[track_caller]
pub fn assert_sigma(what: &str, sigma: f64, sigma_cap: f64) {
    eprintln!(
        "{what}: σ = {sigma:.3e} ({:.3} of its cap)",
        sigma / sigma_cap
    );
    check_sigma(what, sigma, sigma_cap);
}

#[track_caller]
fn check_sigma(what: &str, sigma: f64, sigma_cap: f64) {
    assert!(
        sigma.is_finite() && sigma > 0.0,
        "{what}: error bar {sigma} is not a finite positive number"
    );
    assert!(
        sigma <= sigma_cap,
        "{what}: error bar {sigma:.3e} exceeds its cap {sigma_cap:.3e}: the check would pass for \
         almost any estimate"
    );
}

/// A file of the breast-cancer fixture (tests/data/breast_cancer).
pub fn breast_cancer_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/breast_cancer")
        .join(name)
}

/// The Wisconsin breast cancer data with the standardised design `logz fit logistic` uses.
pub fn breast_cancer() -> (Dataset, Vec<f64>) {
    let header = std::fs::read_to_string(breast_cancer_fixture("wdbc.csv")).unwrap();
    let cols: Vec<String> = header
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    let (xs, y) = cols.split_at(cols.len() - 1);
    let d = read_csv(&breast_cancer_fixture("wdbc.csv"), xs, &y[0]).unwrap();
    let s = d.stats().scaling(&d.x_names, &d.y_name).unwrap();
    let (x, _) = s.design(&d);
    (d, x)
}

/// (name, mean, sd, mcse) of the NumPyro reference (reference_numpyro.py).
pub fn breast_cancer_reference() -> Vec<(String, f64, f64, f64)> {
    std::fs::read_to_string(breast_cancer_fixture("reference.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}
