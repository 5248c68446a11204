//! `logz fit -m nuts`, `-m advi-newton` and `-m opvi` from the command line: they run on small
//! data sets, say the kind of what they print, agree with the exact posterior of Bayesian
//! linear regression within their error bars, NUTS reports R̂ and ESS, and bad options are
//! refused with one line.

mod common;
use common::{fails_with, json_of, logz};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::io::Write;
use std::path::Path;

/// Correlated Gaussian features (ρ ≈ 0.95) and a continuous response, from `logz data`.
fn correlated(dir: &Path, rows: usize) -> String {
    let csv = dir.join("corr.csv");
    let out = logz()
        .args(["data", "correlated", "--rows", &rows.to_string(), "--out"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    csv.to_str().unwrap().to_string()
}

/// Two features and a 0/1 response drawn from a logistic model (not separable).
fn logistic(dir: &Path, rows: usize) -> String {
    let csv = dir.join("logit.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "a,b,y").unwrap();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    for _ in 0..rows {
        let a: f64 = StandardNormal.sample(&mut rng);
        let e: f64 = StandardNormal.sample(&mut rng);
        let b = 0.6 * a + 0.8 * e;
        let p = 1.0 / (1.0 + (-(0.3 + 1.2 * a - 0.7 * b)).exp());
        let u: f64 = rand::RngExt::random(&mut rng);
        writeln!(f, "{a},{b},{}", u32::from(u < p)).unwrap();
    }
    csv.to_str().unwrap().to_string()
}

fn floats(v: &serde_json::Value, k: &str) -> Vec<f64> {
    v[k].as_array()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Largest |mean − exact| in exact sds, and largest |sd/exact − 1|.
fn errors(v: &serde_json::Value) -> (f64, f64) {
    let (m, s) = (floats(v, "mean"), floats(v, "sd"));
    let (em, es) = (floats(v, "exact_mean"), floats(v, "exact_sd"));
    let dm = (0..m.len())
        .map(|j| (m[j] - em[j]).abs() / es[j])
        .fold(0.0, f64::max);
    let ds = (0..m.len())
        .map(|j| (s[j] / es[j] - 1.0).abs())
        .fold(0.0, f64::max);
    (dm, ds)
}

fn blr<'a>(path: &'a str, method: &'a str) -> Vec<&'a str> {
    vec![
        "fit", "blr", path, "--x", "x1,x2", "--y", "y", "--sigma", "1", "-m", method, "--json",
    ]
}

#[test]
fn nuts_reports_r_hat_and_ess_and_matches_the_exact_posterior() {
    let dir = tempfile::tempdir().unwrap();
    let path = correlated(dir.path(), 200);
    let v = json_of(&blr(&path, "nuts"));
    assert!(v["kind"].as_str().unwrap().starts_with("stochastic"), "{v}");
    let (rhat, ess) = (floats(&v, "r_hat"), floats(&v, "ess_bulk"));
    assert_eq!(rhat.len(), 3, "{v}");
    // 4 chains × 1000 draws on a 3-d Gaussian posterior: well mixed.
    assert!(rhat.iter().all(|r| *r < 1.01), "{rhat:?}");
    assert!(ess.iter().all(|e| *e > 1000.0), "{ess:?}");
    assert_eq!(v["divergences"], 0, "{v}");
    // Monte Carlo error of a mean ≈ sd/√ESS < 0.032 sd: 0.15 sd is over 4.5 errors.
    let (dm, ds) = errors(&v);
    assert!(dm < 0.15 && ds < 0.1, "mean {dm} sd, sd {ds}: {v}");
    // The text output: the kind, then R-hat and ESS per coefficient.
    let mut args = blr(&path, "nuts");
    args.pop();
    let out = logz().args(&args).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kind         stochastic"), "{text}");
    assert!(
        text.contains("R-hat") && text.contains("bulk ESS"),
        "{text}"
    );
    assert!(text.contains("divergences 0"), "{text}");
}

#[test]
fn advi_newton_and_opvi_reach_the_exact_gaussian_posterior() {
    let dir = tempfile::tempdir().unwrap();
    let path = correlated(dir.path(), 500);
    // The posterior is Gaussian: the best full-rank q is exact, and so is OPVI's optimum.
    let v = json_of(&blr(&path, "advi-newton"));
    assert!(
        v["kind"].as_str().unwrap().starts_with("approximation"),
        "{v}"
    );
    assert_eq!(v["converged"], true, "{v}");
    let (dm, ds) = errors(&v);
    assert!(
        dm < 0.1 && ds < 0.05,
        "advi-newton: mean {dm} sd, sd {ds}: {v}"
    );
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!(
        f("elbo") <= f("ln_evidence") + 3.0 * f("elbo_std_err"),
        "{v}"
    );
    // q is the exact posterior here (KL ≈ 1e-15), so the importance weights are constant and
    // the CUBO equals ln p(y) up to rounding (≈ 1e-14 relative), which its error bar omits.
    let lnp = f("ln_evidence");
    assert!(
        f("cubo") >= lnp - 3.0 * f("cubo_std_err") - 1e-12 * lnp.abs(),
        "{v}"
    );
    let v = json_of(&blr(&path, "opvi"));
    assert!(
        v["kind"].as_str().unwrap().starts_with("approximation"),
        "{v}"
    );
    let (dm, ds) = errors(&v);
    assert!(dm < 0.15 && ds < 0.1, "opvi: mean {dm} sd, sd {ds}: {v}");
}

#[test]
fn the_three_methods_run_on_logistic_regression_and_say_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = logistic(dir.path(), 300);
    let fit = |m: &str| {
        json_of(&[
            "fit", "logistic", &path, "--x", "a,b", "--y", "y", "-m", m, "--json",
        ])
    };
    let nuts = fit("nuts");
    assert!(floats(&nuts, "r_hat").iter().all(|r| *r < 1.01), "{nuts}");
    assert!(
        floats(&nuts, "ess_bulk").iter().all(|e| *e > 1000.0),
        "{nuts}"
    );
    let (nm, ns) = (floats(&nuts, "mean"), floats(&nuts, "sd"));
    for m in ["advi-newton", "opvi"] {
        let v = fit(m);
        assert!(
            v["kind"].as_str().unwrap().starts_with("approximation"),
            "{v}"
        );
        // Near-Gaussian posterior (300 rows, 3 coefficients): a Gaussian q's means within
        // 0.2 posterior sd of NUTS's (whose own error is ≈ 0.03 sd).
        let mean = floats(&v, "mean");
        for j in 0..3 {
            assert!(
                (mean[j] - nm[j]).abs() < 0.2 * ns[j],
                "{m} {j}: {} vs NUTS {} ± {}",
                mean[j],
                nm[j],
                ns[j]
            );
        }
    }
    let out = logz()
        .args([
            "fit", "logistic", &path, "--x", "a,b", "--y", "y", "-m", "opvi",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kind         approximation"), "{text}");
}

#[test]
fn bad_options_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = correlated(dir.path(), 50);
    let base = [
        "fit", "blr", &path, "--x", "x1,x2", "--y", "y", "--sigma", "1",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let check = |extra: &[&str], want: &str| {
        let a = with(extra);
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        fails_with(&a, want);
    };
    check(&["-m", "nuts", "--chains", "0"], "at least 1 chain");
    check(&["-m", "nuts", "--draws", "5"], "at least 10 draws");
    check(&["-m", "nuts", "--max-depth", "0"], "tree depth");
    check(&["-m", "nuts", "--max-depth", "16"], "tree depth");
    check(
        &["-m", "nuts", "--target-accept", "1.5"],
        "target acceptance",
    );
    check(&["-m", "nuts", "--step-size", "-1"], "step size");
    check(
        &["-m", "advi-newton", "--warmup", "10"],
        "--method nuts only",
    );
    check(&["-m", "opvi", "--chains", "2"], "--method nuts only");
    check(&["-m", "opvi", "--particles", "3"], "--method svgd only");
    check(&["-m", "advi-newton", "--batch", "0"], "--batch");
    check(&["-m", "advi-newton", "--alpha", "0.5"], "renyi");
    check(&["-m", "nuts-x"], "nuts");
}
