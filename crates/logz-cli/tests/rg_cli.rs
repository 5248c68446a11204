//! `logz solve … --method trg|planar` (the infinite lattice reported per spin) and `logz rg`.

mod common;
use common::{fails_with, json_of, logz};

const ONSAGER_BETA_C: f64 = 0.929695398342; // −βf(β_c) = ln2/2 + 2G/π

#[test]
fn the_infinite_square_lattice_is_solved_per_spin_by_trg() {
    let v = json_of(&[
        "solve",
        "square:inf",
        "--method",
        "trg",
        "--chi",
        "12",
        "--json",
    ]);
    assert!(v["n"].is_null(), "{v}");
    assert_eq!(v["per_spin"], true);
    assert_eq!(v["kind"], "approximation");
    assert_eq!(v["chi"], 12);
    let l = v["ln_z"].as_f64().unwrap();
    assert!((l - ONSAGER_BETA_C).abs() < 1e-5, "{l}");
    let beta = v["beta"].as_f64().unwrap();
    let f = v["free_energy_per_spin"].as_f64().unwrap();
    assert!((f + l / beta).abs() < 1e-12);
    let est = v["error_estimate"].as_f64().unwrap();
    assert!(est > 0.0 && est < 1e-4, "{est}");
    assert!(v["notes"].to_string().contains("not a bound"), "{v}");
    // The table says per spin.
    let out = logz()
        .args(["solve", "square:inf", "--method", "trg", "--chi", "8"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("ln Z / N") && text.contains("per spin"),
        "{text}"
    );
    // Triangular, with a field (no closed form: only sanity here, accuracy is a library test).
    let v = json_of(&[
        "solve",
        "triangular:inf",
        "--method",
        "trg",
        "--chi",
        "8",
        "--beta",
        "0.2",
        "--field",
        "0.1",
        "--json",
    ]);
    assert!(v["ln_z"].as_f64().unwrap() > 2f64.ln());
}

#[test]
fn trg_on_a_torus_matches_kaufman_and_planar_is_exact() {
    let v = json_of(&[
        "solve",
        "square:16",
        "--method",
        "trg",
        "--chi",
        "12",
        "--json",
    ]);
    assert_eq!(v["n"], 256);
    let per_spin = v["ln_z"].as_f64().unwrap() / 256.0;
    assert!((per_spin - 0.932196314981).abs() < 1e-4, "{per_spin}");
    let p = json_of(&["solve", "square:6x5:open", "--method", "planar", "--json"]);
    let e = json_of(&["solve", "square:6x5:open", "--method", "exact", "--json"]);
    assert_eq!(p["kind"], "exact");
    let (a, b) = (p["ln_z"].as_f64().unwrap(), e["ln_z"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-10 * b, "{a} vs {b}");
}

#[test]
fn hotrg_solves_the_infinite_square_and_cubic_lattices_per_spin() {
    let v = json_of(&[
        "solve",
        "square:inf",
        "--method",
        "hotrg",
        "--chi",
        "10",
        "--json",
    ]);
    assert!(v["n"].is_null(), "{v}");
    assert_eq!(
        (v["method"].as_str(), v["kind"].as_str()),
        (Some("hotrg"), Some("approximation"))
    );
    assert_eq!(
        (v["chi"].as_u64(), v["chi_reference"].as_u64()),
        (Some(10), Some(7))
    );
    let l = v["ln_z"].as_f64().unwrap();
    assert!((l - ONSAGER_BETA_C).abs() < 1e-4, "{l}");
    // The cubic lattice at β = 0.05: ln 2 + 3 ln cosh β + 3 v⁴ + 22 v⁶ (v = tanh β), to ~1e-8.
    let v = json_of(&[
        "solve",
        "cubic:inf",
        "--method",
        "hotrg",
        "--chi",
        "4",
        "--beta",
        "0.05",
        "--json",
    ]);
    assert!(v["n"].is_null() && v["per_spin"] == true, "{v}");
    let t = 0.05f64.tanh();
    let series = 2f64.ln() + 3.0 * 0.05f64.cosh().ln() + 3.0 * t.powi(4) + 22.0 * t.powi(6);
    let l = v["ln_z"].as_f64().unwrap();
    assert!((l - series).abs() < 1e-5, "{l} vs {series}");
}

#[test]
fn bad_rg_input_is_refused_in_one_line() {
    fails_with(
        &["solve", "square:inf", "--method", "mf"],
        "only `--method trg`",
    );
    fails_with(
        &["solve", "square:inf", "--method", "trg", "--chi", "1"],
        "--chi must be at least 2",
    );
    fails_with(
        &["solve", "square:inf", "--method", "trg", "--chi", "100000"],
        "memory limit",
    );
    fails_with(
        &["solve", "cubic:inf", "--method", "trg"],
        "needs --method hotrg",
    );
    fails_with(
        &["solve", "chain:inf", "--method", "hotrg"],
        "no infinite 'chain' lattice",
    );
    fails_with(
        &["solve", "cubic:inf", "--method", "hotrg", "--chi", "1"],
        "--chi must be at least 2",
    );
    fails_with(
        &["solve", "cubic:inf", "--method", "hotrg", "--chi", "200"],
        "memory limit",
    );
    fails_with(
        &["solve", "square:16", "--method", "hotrg"],
        "hotrg solves uniform infinite lattices only",
    );
    fails_with(
        &["solve", "sk:8", "--method", "trg"],
        "method 'trg' does not apply",
    );
    fails_with(&["solve", "square:12", "--method", "trg"], "L = 2^k");
    fails_with(
        &["solve", "square:8", "--method", "mf", "--chi", "4"],
        "--chi does not apply",
    );
    fails_with(
        &[
            "solve",
            "square:4:open",
            "--method",
            "planar",
            "--field",
            "0.1",
        ],
        "needs zero field",
    );
    fails_with(
        &["rg", "decimate", "--steps", "0"],
        "--steps must be 1 to 1000",
    );
    fails_with(
        &["rg", "mk", "--lattice", "hex"],
        "--lattice must be square or cubic",
    );
}

#[test]
fn rg_decimate_and_mk_report_the_flow_and_write_plots() {
    let v = json_of(&["rg", "decimate", "--k", "0.8", "--steps", "5", "--json"]);
    let flow: Vec<f64> = v["flow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(flow.len(), 6);
    assert!((flow[1] - (0.8f64.tanh().powi(2)).atanh()).abs() < 1e-14);
    let exact = (2.0 * 0.8f64.cosh()).ln();
    assert!((v["ln_z_per_spin"].as_f64().unwrap() - exact).abs() < 1e-13);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let v = json_of(&["rg", "mk", "-o", out, "--json"]);
    assert!(
        (v["fixed_point"].as_f64().unwrap() - 0.3047).abs() < 1e-4,
        "{v}"
    );
    assert!((v["nu"].as_f64().unwrap() - 1.338).abs() < 1e-3, "{v}");
    for f in ["mk-flow-square.svg", "mk-free-energy-square.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Migdal"), "{f}");
    }
}

#[test]
fn tn_contracts_grids_with_fields_and_refuses_what_it_cannot() {
    // A 9 × 9 open grid with a field: nothing truncated at χ = 64 (the Schmidt rank is at most
    // 2^4), so exact, and equal to
    // elimination.
    let spec = "square:9x9:open";
    let exact = json_of(&["solve", spec, "--field", "0.3", "-m", "exact", "--json"]);
    let tn = json_of(&[
        "solve", spec, "--field", "0.3", "-m", "tn", "--chi", "64", "--json",
    ]);
    assert_eq!(tn["kind"], "exact", "{tn}");
    let (a, b) = (
        tn["ln_z"].as_f64().unwrap(),
        exact["ln_z"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-9 * b.abs(), "{a} vs {b}");
    // χ = 4 truncates: an approximation with an error estimate (from χ = 2).
    let small = json_of(&[
        "solve", spec, "--field", "0.3", "-m", "tn", "--chi", "4", "--json",
    ]);
    assert_eq!(small["kind"], "approximation", "{small}");
    assert!(
        small["notes"].to_string().contains("error estimate"),
        "{small}"
    );
    fails_with(
        &["solve", "sk:8", "--method", "tn"],
        "method 'tn' does not apply",
    );
    fails_with(
        &["solve", "square:4", "--method", "tn", "--chi", "1"],
        "--chi must be between 2",
    );
}
