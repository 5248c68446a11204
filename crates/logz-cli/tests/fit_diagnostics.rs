//! `logz fit` brackets the evidence (ELBO ≤ ln p(y) ≤ CUBO) and reports PSIS k̂.

mod common;
use common::{json_of, logz};

#[test]
fn fit_json_brackets_the_evidence_and_reports_khat() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ai.csv");
    let out = logz()
        .args(["data", "age-income", "--rows", "2000", "--out"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = csv.to_str().unwrap();
    let v = json_of(&[
        "fit",
        "blr",
        path,
        "--x",
        "age",
        "--y",
        "income",
        "-m",
        "advi-fullrank",
        "--json",
    ]);
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    let (elbo, se, lnp) = (f("elbo"), f("elbo_std_err"), f("ln_evidence"));
    let (cubo, cse) = (f("cubo"), f("cubo_std_err"));
    assert!(se < 0.3 && cse < 0.05, "{v}");
    assert!(elbo <= lnp + 3.0 * se, "{v}");
    assert!(cubo >= lnp - 3.0 * cse && cubo - lnp < 0.1, "{v}");
    assert!(f("khat") < 0.5, "{v}");
    assert!((f("psis_ln_evidence") - lnp).abs() < 0.05, "{v}");
    // The exact fit has nothing to diagnose: the fields are null.
    let v = json_of(&["fit", "blr", path, "--x", "age", "--y", "income", "--json"]);
    assert!(v["cubo"].is_null() && v["khat"].is_null(), "{v}");
}
