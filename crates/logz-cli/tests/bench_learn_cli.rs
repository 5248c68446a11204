//! `logz bench learn`: the timing table and the ε_J-against-M figure run end to end.

mod common;
use common::{fails_with, logz};

#[test]
fn bench_learn_prints_both_learners_and_refuses_bad_input() {
    let out = logz()
        .args([
            "bench",
            "learn",
            "--spins",
            "12",
            "--samples",
            "2000",
            "--betas",
            "0.8",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for method in ["mf", "plm"] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(method))
            .unwrap_or_else(|| panic!("no {method} row in\n{text}"));
        // ε_J is a finite, sensible reconstruction error at M = 2000.
        let eps: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(eps > 0.0 && eps < 0.6, "{line}");
    }
    fails_with(&["bench", "learn", "--spins", "1"], "≥ 2 spins");
    fails_with(&["bench", "learn", "--betas", "0"], "finite β > 0");
}
