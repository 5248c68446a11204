//! End-to-end tests of the `logz` binary: the JSON contract and one-line errors on bad input.

mod common;
use common::{fails_with, json_of, logz};
use std::io::Write;

/// |est − exact| < kσ with σ finite, positive and at most `sigma_cap`: a coverage check alone
/// passes for any error bar (σ = ∞ covers everything). Caps are a few times the measured σ.
#[track_caller]
fn assert_within(what: &str, est: f64, sigma: f64, exact: f64, k: f64, sigma_cap: f64) {
    assert_sigma(what, sigma, sigma_cap);
    assert!(
        (est - exact).abs() < k * sigma,
        "{what}: {est} ± {sigma:.3e} is {:.2} σ from {exact} (allowed {k} σ)",
        (est - exact) / sigma
    );
}

/// The cap alone, for one-sided checks.
#[track_caller]
fn assert_sigma(what: &str, sigma: f64, sigma_cap: f64) {
    eprintln!(
        "{what}: σ = {sigma:.3e} ({:.3} of its cap)",
        sigma / sigma_cap
    );
    assert!(
        sigma.is_finite() && sigma > 0.0 && sigma <= sigma_cap,
        "{what}: error bar {sigma:.3e} is not in (0, {sigma_cap:.3e}]"
    );
}

#[test]
fn solve_json_follows_the_contract() {
    let v = json_of(&["solve", "square:4", "--method", "exact", "--json"]);
    for key in [
        "method",
        "n",
        "ln_z",
        "log10_z",
        "kind",
        "std_err",
        "free_energy_per_spin",
        "magnetization",
        "mean_magnetization",
        "iterations",
        "converged",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["kind"], "exact");
    assert_eq!(v["n"], 16);
    assert!((v["ln_z"].as_f64().unwrap() - 15.521915458755283).abs() < 1e-11);
    let l10 = v["log10_z"].as_f64().unwrap();
    assert!((l10 - 15.521915458755283 / std::f64::consts::LN_10).abs() < 1e-11);
}

#[test]
fn uai_file_with_beta_rescales_tables() {
    let mut f = tempfile::Builder::new().suffix(".uai").tempfile().unwrap();
    write!(f, "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2 3 4\n").unwrap();
    let p = f.path().to_str().unwrap();
    let v = json_of(&["solve", p, "--json"]);
    assert!((v["ln_z"].as_f64().unwrap() - 10f64.ln()).abs() < 1e-12);
    // β = 2 squares every table entry: Z = 1 + 4 + 9 + 16.
    let v = json_of(&["solve", p, "--json", "--beta", "2"]);
    assert!((v["ln_z"].as_f64().unwrap() - 30f64.ln()).abs() < 1e-12);
}

fn temp_with(suffix: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn bad_input_gets_one_line_and_nonzero_exit() {
    let trunc = temp_with(".uai", "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2\n");
    fails_with(
        &["solve", trunc.path().to_str().unwrap()],
        ":7: unexpected end of file",
    );
    let arity = temp_with(".uai", "MARKOV\n3\n2 2 2\n1\n3 0 1 2\n8\n1 1 1 1 1 1 1 1\n");
    fails_with(
        &["solve", arity.path().to_str().unwrap(), "--json"],
        "factor 0 has arity 3",
    );
    let zero = temp_with(".uai", "MARKOV\n1\n2\n1\n1 0\n2\n0 1\n");
    fails_with(
        &["solve", zero.path().to_str().unwrap()],
        "strictly positive",
    );
    let huge = temp_with(".uai", "MARKOV\n1000000000000\n");
    fails_with(
        &["solve", huge.path().to_str().unwrap()],
        "exceeds the limit",
    );
    let json = temp_with(
        ".json",
        "{\"n\": 2, \"edges\": [[0, 0]], \"couplings\": [1.0]}",
    );
    fails_with(&["solve", json.path().to_str().unwrap()], "self-loop");
    let json = temp_with(
        ".json",
        "{\"n\": 2, \"edges\": [[0, 1]],\n \"couplings\": [1.0, 2.0]}",
    );
    fails_with(
        &["solve", json.path().to_str().unwrap()],
        "1 edges but 2 couplings",
    );
    let json = temp_with(".json", "{\"n\": 2,\n \"edges\": oops}");
    fails_with(
        &["solve", json.path().to_str().unwrap()],
        ":2: invalid model JSON",
    );
    fails_with(
        &["solve", "/nonexistent/model.uai"],
        "/nonexistent/model.uai",
    );
    fails_with(
        &["solve", "square:4", "--method", "nope"],
        "unknown method 'nope'",
    );
    fails_with(&["solve", "square:-4"], "not a valid number");
    fails_with(&["solve", "square:0"], "must be at least 1");
    fails_with(&["solve", "hexagon:4"], "unknown model 'hexagon:4'");
    fails_with(
        &["solve", "square:4", "--beta", "-1"],
        "--beta must be a finite number",
    );
    fails_with(
        &["solve", "square:4", "--beta", "NaN"],
        "--beta must be a finite number",
    );
    fails_with(
        &["solve", "square:4", "--field", "inf"],
        "--field must be a finite number",
    );
    fails_with(
        &["solve", "chain:60", "--method", "enumerate"],
        "2^60 states",
    );
    fails_with(
        &["solve", "sk:300", "--method", "exact"],
        "no exact method applies",
    );
    fails_with(&["compare", "square:4", "--betas", "1:0:0.1"], "--betas");
}

#[test]
fn meanfield_prints_roots_and_writes_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args(["meanfield", "--temperature", "2:6:2", "--json", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // T = 2 < T_c = 4: three roots, best ±0.9575; T = 6: only m = 0.
    assert_eq!(v[0]["roots"].as_array().unwrap().len(), 3);
    assert!((v[0]["best"]["m"].as_f64().unwrap() - 0.957504024077269).abs() < 1e-12);
    assert_eq!(v[2]["roots"].as_array().unwrap().len(), 1);
    for f in ["graphical-solution.svg", "magnetization-vs-temperature.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(
            svg.starts_with("<svg") && (svg.contains("<path") || svg.contains("<polyline")),
            "{f}"
        );
    }
}

#[test]
fn compare_brackets_exact_between_mean_field_and_trw() {
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args(["compare", "square:6", "--betas", "0.1:0.9:0.2", "-q", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let get = |beta: f64, m: &str| {
        rows.iter()
            .find(|r| (r["beta"].as_f64().unwrap() - beta).abs() < 1e-9 && r["method"] == m)
            .unwrap_or_else(|| panic!("{m} at {beta}"))
            .clone()
    };
    for k in 0..5 {
        let b = 0.1 + 0.2 * k as f64;
        let ex = get(b, "exact")["ln_z"].as_f64().unwrap();
        let mf = get(b, "mf");
        let trw = get(b, "trw");
        assert_eq!(mf["kind"], "lower_bound");
        assert_eq!(trw["kind"], "upper_bound");
        assert!(mf["ln_z"].as_f64().unwrap() <= ex && ex <= trw["ln_z"].as_f64().unwrap());
    }
    assert!(dir.path().join("compare.svg").exists() && dir.path().join("results.csv").exists());
}

#[test]
fn sample_reports_error_bars_against_exact_and_writes_files() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    let snap = dir.path().join("lattice.png");
    let v = json_of(&[
        "sample",
        "square:16",
        "--algorithm",
        "sw",
        "--sweeps",
        "4000",
        "--burn-in",
        "500",
        "--chains",
        "2",
        "--seed",
        "3",
        "--trace",
        trace.to_str().unwrap(),
        "--snapshot",
        snap.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["algorithm"], "sw");
    let obs = v["observables"].as_array().unwrap();
    let energy = obs.iter().find(|o| o["name"] == "energy").unwrap();
    let exact = v["exact"]["energy"].as_f64().unwrap();
    let (e, se) = (
        energy["value"].as_f64().unwrap(),
        energy["std_err"].as_f64().unwrap(),
    );
    // Measured σ = 5.1e-3.
    assert_within("sw energy/N", e, se, exact, 4.0, 1.5e-2);
    for key in ["tau_int", "ess", "r_hat", "blocking_err"] {
        assert!(energy[key].as_f64().is_some(), "missing {key}");
    }
    let csv = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 4000);
    let png = std::fs::read(&snap).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // The multi-spin kernel is chosen automatically on a torus; the table shows the exact value.
    let out = logz()
        .args(["sample", "square:32", "--sweeps", "2000", "--quiet"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("multispin kernel"), "{text}");
    assert!(
        text.contains("energy/N") && text.contains("R-hat"),
        "{text}"
    );
}

/// Parallel tempering says which kernel its replicas ran, in the JSON and in the table: the
/// multi-spin kernel on a uniform torus unless `--kernel generic`, the generic one elsewhere;
/// both sample the same energy (6×6 torus against Kaufman's exact value).
#[test]
fn parallel_tempering_reports_its_kernel() {
    let args = |model: &'static str, kernel: &'static str| {
        vec![
            "sample",
            model,
            "-a",
            "pt",
            "--beta",
            "0.44",
            "--replicas",
            "6",
            "--sweeps",
            "4000",
            "--burn-in",
            "200",
            "--kernel",
            kernel,
            "--json",
        ]
    };
    for (model, kernel, used) in [
        ("square:6", "auto", "multispin"),
        ("square:6", "generic", "generic"),
        ("sk:10", "auto", "generic"),
    ] {
        let v = json_of(&args(model, kernel));
        assert_eq!(v["algorithm"], "pt");
        assert_eq!(v["kernel"], used, "{model} --kernel {kernel}");
        if model == "square:6" {
            let e = &v["observables"][0];
            assert_eq!(e["name"], "energy");
            // The exact finite-torus value (Kaufman) the command prints beside its estimate.
            let exact_e = v["exact"]["energy"].as_f64().unwrap();
            // Measured σ: 5.2e-3 (multispin), 5.4e-3 (generic).
            assert_within(
                &format!("pt {used} energy/N"),
                e["value"].as_f64().unwrap(),
                e["std_err"].as_f64().unwrap(),
                exact_e,
                4.0,
                1.5e-2,
            );
        }
    }
    let out = logz()
        .args([
            "sample", "cubic:4", "-a", "pt", "--sweeps", "200", "--quiet",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pt on cubic:4") && text.contains("multispin kernel"),
        "{text}"
    );
    fails_with(
        &["sample", "sk:10", "-a", "pt", "--kernel", "multispin"],
        "periodic square or cubic lattice",
    );
}

#[test]
fn sample_and_stochastic_solvers_reject_bad_input() {
    fails_with(&["sample", "sk:16", "-a", "wolff"], "frustrated");
    fails_with(
        &["sample", "square:8", "-a", "nope"],
        "unknown algorithm 'nope'",
    );
    fails_with(
        &["sample", "sk:16", "--kernel", "multispin"],
        "periodic square or cubic lattice",
    );
    fails_with(
        &["sample", "square:8", "--sweeps", "1"],
        "at least 2 measured sweeps",
    );
    fails_with(
        &["sample", "chain:8", "--snapshot", "x.png"],
        "square lattices only",
    );
    fails_with(
        &["sample", "square:8", "-a", "pt", "--replicas", "1"],
        "replicas",
    );
    fails_with(
        &["solve", "square:4", "-m", "ti", "--rungs", "6"],
        "4k + 1 rungs",
    );
    fails_with(
        &["solve", "square:4", "-m", "ais", "--runs", "1"],
        "≥ 2 runs",
    );
}

#[test]
fn ti_and_ais_solve_within_their_error_bars() {
    let exact = json_of(&["solve", "square:4", "--json"])["ln_z"]
        .as_f64()
        .unwrap();
    // Measured σ (ln Z = 15.52): TI 9.6e-3, AIS 1.7e-2.
    for (m, cap) in [("ti", 3e-2), ("ais", 5e-2)] {
        let v = json_of(&["solve", "square:4", "-m", m, "--seed", "2", "--json"]);
        assert_eq!(v["kind"], "stochastic");
        let (z, se) = (v["ln_z"].as_f64().unwrap(), v["std_err"].as_f64().unwrap());
        assert_within(m, z, se, exact, 4.0, cap);
    }
}

#[test]
fn van_elbo_is_a_stochastic_lower_bound_everywhere() {
    let v = json_of(&["solve", "square:3", "-m", "van", "--steps", "20", "--json"]);
    assert_eq!(v["kind"], "stochastic_lower_bound");
    assert!(v["std_err"].as_f64().is_some_and(|s| s > 0.0), "{v}");
    // The text output, the compare table, its JSON, CSV and plot legend say so too.
    let out = logz()
        .args(["solve", "square:3", "-m", "van", "--steps", "20"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("[stochastic_lower_bound (±"));
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args([
            "compare",
            "square:3",
            "--betas",
            "0.3",
            "--methods",
            "exact,mf,van",
            "--steps",
            "20",
            "-q",
            "-o",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("van = stochastic_lower_bound"));
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let van = rows.iter().find(|r| r["method"] == "van").unwrap();
    assert_eq!(van["kind"], "stochastic_lower_bound");
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert!(csv
        .lines()
        .any(|l| l.starts_with("0.3,van,") && l.contains(",stochastic_lower_bound,")));
    let svg = std::fs::read_to_string(dir.path().join("compare.svg")).unwrap();
    assert!(svg.contains("van (stochastic_lower_bound)"));
}

/// An error bar the run could not estimate is "inf" with converged = false and a note — never a
/// silent `null`. An untrained VAN at β = 3 on the 4×4 torus: one of 10⁴ samples (the ground
/// state) carries all the importance weight.
#[test]
fn an_undefined_error_bar_is_reported_as_such() {
    let v = json_of(&[
        "solve", "square:4", "--beta", "3", "-m", "van-iw", "--steps", "0", "--json",
    ]);
    assert_eq!(v["kind"], "stochastic");
    assert_eq!(v["std_err"], "inf", "{v}");
    assert_eq!(v["converged"], false);
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("error bar undefined")),
        "{v}"
    );
    // Too few sweeps for even two jackknife blocks: the derived observables say "inf" too.
    let v = json_of(&[
        "sample",
        "square:4",
        "--sweeps",
        "3",
        "--burn-in",
        "0",
        "--chains",
        "1",
        "--json",
    ]);
    for o in v["observables"].as_array().unwrap() {
        assert!(!o["std_err"].is_null(), "{o}");
    }
    let chi = v["observables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "susceptibility")
        .unwrap();
    assert_eq!(chi["std_err"], "inf");
}

#[test]
fn bench_prints_ratios_against_the_references() {
    let out = logz()
        .args([
            "bench",
            "--sizes",
            "64",
            "--cubic",
            "8",
            "--threads",
            "1",
            "--seconds",
            "0.05",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("flips/ns") && text.contains("numpy checkerboard") && text.contains("8³"),
        "{text}"
    );
}

#[test]
fn data_and_fit_follow_the_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ai.csv");
    let out = logz()
        .args([
            "data",
            "age-income",
            "--rows",
            "5000",
            "--seed",
            "2",
            "--out",
            csv.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let f = csv.to_str().unwrap();
    let ex = json_of(&["fit", "blr", f, "--x", "age", "--y", "income", "--json"]);
    for key in [
        "method",
        "names",
        "mean",
        "sd",
        "elbo",
        "elbo_std_err",
        "ln_evidence",
    ] {
        assert!(ex.get(key).is_some(), "missing {key}");
    }
    assert_eq!(ex["names"][1], "age");
    assert!(ex["elbo"].is_null() && ex["ln_evidence"].as_f64().is_some());
    // Full-rank ADVI beside the exact posterior: ELBO below the evidence within its error.
    let vi = json_of(&[
        "fit",
        "blr",
        f,
        "--x",
        "age",
        "--y",
        "income",
        "-m",
        "advi-fullrank",
        "--json",
    ]);
    let (elbo, se, lnp) = (
        vi["elbo"].as_f64().unwrap(),
        vi["elbo_std_err"].as_f64().unwrap(),
        vi["ln_evidence"].as_f64().unwrap(),
    );
    // Measured σ = 0.087.
    assert_sigma("advi-fullrank ELBO", se, 0.3);
    assert!(elbo <= lnp + 3.0 * se, "{elbo} ± {se} vs {lnp}");
    for j in 0..3 {
        let (m, e) = (
            vi["mean"][j].as_f64().unwrap(),
            ex["mean"][j].as_f64().unwrap(),
        );
        let s = ex["sd"][j].as_f64().unwrap();
        assert!((m - e).abs() < 0.2 * s, "{j}: {m} vs {e} ± {s}");
    }
    // Streaming natural-gradient SVI with equal chunks reproduces the exact posterior.
    let st = json_of(&[
        "fit", "blr", f, "--x", "age", "--y", "income", "-m", "natural", "--sigma", "15000",
        "--stream", "--batch", "500", "--json",
    ]);
    let kl = st["kl_gap"].as_f64().unwrap();
    assert!((0.0..1e-6).contains(&kl), "KL gap {kl}");
    // Logistic: no closed form, so ln_evidence is null.
    let lg = dir.path().join("lg.csv");
    std::fs::write(&lg, "x,y\n1,0\n2,0\n3,1\n4,0\n5,1\n6,1\n7,1\n0,0\n").unwrap();
    let v = json_of(&[
        "fit",
        "logistic",
        lg.to_str().unwrap(),
        "--x",
        "x",
        "--y",
        "y",
        "-m",
        "advi-fullrank",
        "--json",
    ]);
    assert!(v["ln_evidence"].is_null());
    assert!(v["mean"][1].as_f64().unwrap() > 0.0);
}

#[test]
fn fit_rejects_bad_data_with_the_line() {
    let bad = temp_with(".csv", "age,income\n30,100\n31,abc\n");
    fails_with(
        &[
            "fit",
            "blr",
            bad.path().to_str().unwrap(),
            "--x",
            "age",
            "--y",
            "income",
        ],
        ":3: column 'income': 'abc'",
    );
    let bad = temp_with(".csv", "age,income\n30,100\n");
    fails_with(
        &[
            "fit",
            "blr",
            bad.path().to_str().unwrap(),
            "--x",
            "years",
            "--y",
            "income",
        ],
        "no column 'years'",
    );
    let empty = temp_with(".csv", "");
    fails_with(
        &[
            "fit",
            "blr",
            empty.path().to_str().unwrap(),
            "--x",
            "age",
            "--y",
            "income",
        ],
        "empty",
    );
    let nan = temp_with(".csv", "age,income\n30,nan\n");
    fails_with(
        &[
            "fit",
            "blr",
            nan.path().to_str().unwrap(),
            "--x",
            "age",
            "--y",
            "income",
        ],
        ":2: column 'income' is NaN",
    );
    let ok = temp_with(".csv", "age,income\n30,100\n40,200\n50,260\n");
    let p = ok.path().to_str().unwrap();
    fails_with(
        &[
            "fit", "blr", p, "--x", "age", "--y", "income", "-m", "natural",
        ],
        "known-noise",
    );
    fails_with(
        &[
            "fit", "blr", p, "--x", "age", "--y", "income", "--sigma", "-1",
        ],
        "--sigma must be > 0",
    );
    fails_with(
        &[
            "fit", "logistic", p, "--x", "age", "--y", "income", "-m", "advi",
        ],
        "needs y in {0, 1}",
    );
    fails_with(
        &[
            "fit", "blr", p, "--x", "age", "--y", "income", "-m", "magic",
        ],
        "unknown method 'magic'",
    );
    fails_with(
        &[
            "fit", "blr", p, "--x", "age", "--y", "income", "--lr", "nan",
        ],
        "--lr must be a finite number",
    );
    fails_with(
        &[
            "fit", "blr", p, "--x", "age", "--y", "income", "--batch", "0",
        ],
        "--batch must be at least 1",
    );
    fails_with(
        &[
            "fit",
            "blr",
            "/nonexistent.csv",
            "--x",
            "age",
            "--y",
            "income",
        ],
        "/nonexistent.csv",
    );
}

#[test]
fn train_van_saves_a_network_that_solve_can_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.json");
    let v = json_of(&[
        "train-van",
        "square:4",
        "--beta",
        "0.3",
        "--steps",
        "300",
        "--out",
        net.to_str().unwrap(),
        "--json",
    ]);
    let exact = v["exact_ln_z"].as_f64().unwrap();
    let (iw, se) = (
        v["iw_ln_z"].as_f64().unwrap(),
        v["iw_std_err"].as_f64().unwrap(),
    );
    // Measured σ = 4.2e-3.
    assert_within(
        "train-van importance-weighted",
        iw,
        se.max(1e-4),
        exact,
        4.0,
        1.5e-2,
    );
    let s = json_of(&[
        "solve",
        "square:4",
        "--beta",
        "0.3",
        "-m",
        "van",
        "--net",
        net.to_str().unwrap(),
        "--steps",
        "0",
        "--json",
    ]);
    assert_eq!(s["kind"], "stochastic_lower_bound");
    // Measured σ = 3.9e-3.
    assert_sigma("reloaded VAN ELBO", s["std_err"].as_f64().unwrap(), 1.5e-2);
    assert!(s["ln_z"].as_f64().unwrap() <= exact + 4.0 * s["std_err"].as_f64().unwrap());
    fails_with(
        &[
            "solve",
            "square:5",
            "-m",
            "van",
            "--net",
            net.to_str().unwrap(),
        ],
        "trained for 16 spins",
    );
    let junk = temp_with(".json", "{\"not\": \"a net\"}");
    fails_with(
        &[
            "solve",
            "square:4",
            "-m",
            "van",
            "--net",
            junk.path().to_str().unwrap(),
        ],
        "not a logz VAN checkpoint",
    );
}
