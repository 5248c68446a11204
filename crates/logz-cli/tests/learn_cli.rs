//! `logz sample --save`, `logz learn` and `logz evaluate` end to end.

mod common;
use common::{fails_with, json_of, logz};

#[test]
fn sample_save_round_trips_into_learn_and_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let (csv, truth, model) = (p("s.csv"), p("truth.json"), p("model.json"));
    // A ferromagnetic 3×3 torus at β = 0.3 (β folded into the truth's couplings below).
    logz()
        .args(["convert", "square:3", "--beta", "0.3", "--out", &truth])
        .assert()
        .success();
    logz()
        .args([
            "sample",
            &truth,
            "-a",
            "heatbath",
            "--sweeps",
            "20000",
            "--burn-in",
            "200",
            "--chains",
            "2",
            "--save",
            &csv,
            "--every",
            "4",
            "--json",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "s0,s1,s2,s3,s4,s5,s6,s7,s8");
    let rows: Vec<&str> = lines.collect();
    // 2 chains × 20000 sweeps / 4.
    assert_eq!(rows.len(), 10000);
    assert!(rows
        .iter()
        .all(|r| r.split(',').all(|v| v == "1" || v == "-1")));
    let v = json_of(&[
        "learn", &csv, "--method", "plm", "--graph", &truth, "--out", &model, "--truth", &truth,
        "--json",
    ]);
    let eps = v["reconstruction"]["coupling_error"].as_f64().unwrap();
    assert!(eps < 0.1, "{v}");
    assert_eq!(v["termination"], "converged", "{v}");
    // Figures: the learning curve and learned against true couplings.
    let figs = p("figs");
    logz()
        .args([
            "learn",
            &csv,
            "--method",
            "boltzmann",
            "--expectations",
            "pcd",
            "--steps",
            "200",
            "--truth",
            &truth,
            "--plot",
            &figs,
            "--quiet",
        ])
        .assert()
        .success();
    for f in ["learning-curve.svg", "couplings.svg"] {
        let svg = std::fs::read_to_string(dir.path().join("figs").join(f)).unwrap();
        assert!(svg.contains("<svg") && svg.len() > 2000, "{f}");
    }
    // A time budget stops PCD with the parameters it has, and says so.
    let v = json_of(&[
        "--time-limit",
        "1",
        "learn",
        &csv,
        "-m",
        "boltzmann",
        "--expectations",
        "pcd",
        "--steps",
        "100000000",
        "--json",
    ]);
    assert_eq!(v["termination"], "timeout", "{v}");
    let e = json_of(&[
        "evaluate",
        &model,
        &csv,
        "--truth",
        &truth,
        "--json",
        "--bracket",
    ]);
    let ll = &e["log_likelihood"];
    let exact = ll["exact"].as_f64().unwrap();
    assert!(
        ll["lower"][0].as_f64().unwrap() <= exact && exact <= ll["upper"][0].as_f64().unwrap(),
        "{e}"
    );
    assert!(
        e["moment_residuals"]["correlation"].as_f64().unwrap() < 0.02,
        "{e}"
    );
}

#[test]
fn learn_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    std::fs::write(&f, "s0,s1\n1,-1\n1,x\n").unwrap();
    let path = f.to_str().unwrap();
    fails_with(&["learn", path], &format!("{path}:3"));
    std::fs::write(&f, "").unwrap();
    fails_with(&["learn", path], "empty file");
    std::fs::write(&f, "s0,s1\n1,-1\n-1,1\n1,1\n").unwrap();
    fails_with(
        &["learn", path, "--method", "nope"],
        "unknown learning method",
    );
    fails_with(
        &["learn", path, "--l1", "0.1", "-m", "mf"],
        "--l1 applies to plm only",
    );
    fails_with(&["learn", path, "--l1", "-1"], "L1 penalty");
    fails_with(&["learn", path, "--l2", "-1"], "L2 penalty");
    fails_with(
        &["sample", "chain:4", "--every", "0", "--save", path],
        "thinning",
    );
}
