//! The UAI reader and exact solvers on the UAI 2014 benchmark instances (log10 Z from `.PR`).
#![allow(clippy::needless_range_loop)]

mod common;
use common::{assert_sigma, assert_within};
use logz::exact::{Elimination, Exact};
use logz::io::{self, uai};
use logz::Solver;
use std::path::PathBuf;

fn bench_dir() -> PathBuf {
    if let Ok(d) = std::env::var("LOGZ_UAI_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/uai")
}

/// (log10 Z, tolerance): half a unit of the last printed digit plus 1e-4, as the README says.
fn read_pr(name: &str) -> (f64, f64) {
    let text =
        std::fs::read_to_string(bench_dir().join(format!("{name}.uai.PR"))).unwrap_or_else(|e| {
            panic!("{name}.uai.PR: {e} (set LOGZ_UAI_DIR to the benchmark folder)")
        });
    let v = text.lines().nth(1).expect("second line").trim();
    let decimals = v.split_once('.').map(|(_, d)| d.len()).unwrap_or(0) as i32;
    (
        v.parse().expect("number"),
        0.5 * 10f64.powi(-decimals) + 1e-4,
    )
}

const BINARY_PAIRWISE: &[&str] = &[
    "foo",
    "grid2x2",
    "grid3x3",
    "grid4x4",
    "grid10x10.f10",
    "Grids_11",
    "Grids_12",
    "Grids_13",
    "Grids_14",
    "Grids_15",
    "Grids_16",
    "Grids_17",
    "Grids_18",
    "DBN_11",
    "DBN_12",
    "DBN_13",
    "DBN_14",
    "DBN_15",
    "DBN_16",
    "Segmentation_11",
    "Segmentation_12",
    "Segmentation_13",
    "Segmentation_14",
    "Segmentation_15",
    "Segmentation_16",
];

#[test]
fn every_binary_pairwise_benchmark_is_solved_exactly() {
    let solver = Elimination {
        marginals: false,
        ..Default::default()
    };
    for name in BINARY_PAIRWISE {
        let lm = io::load(&bench_dir().join(format!("{name}.uai")), None).unwrap();
        let (want, tol) = read_pr(name);
        let got = solver.solve(&lm.model).unwrap().ln_z / std::f64::consts::LN_10;
        assert!(
            (got - want).abs() <= tol,
            "{name}: log10 Z {got} vs {want} (tol {tol})"
        );
    }
}

#[test]
fn small_benchmarks_agree_across_exact_methods() {
    // foo has asymmetric tables: a row/column-major mix-up changes its Z.
    for name in ["foo", "grid2x2", "grid3x3", "grid4x4"] {
        let lm = io::load(&bench_dir().join(format!("{name}.uai")), None).unwrap();
        let (want, tol) = read_pr(name);
        let e = Exact.solve(&lm.model).unwrap();
        assert!(
            (e.ln_z / std::f64::consts::LN_10 - want).abs() <= tol,
            "{name}"
        );
        let el = Elimination::default().solve(&lm.model).unwrap();
        assert!((e.ln_z - el.ln_z).abs() < 1e-10);
        for (a, b) in e.magnetization.iter().zip(&el.magnetization) {
            assert!((a - b).abs() < 1e-10);
        }
    }
}

#[test]
fn table_order_is_row_major_with_the_last_variable_fastest() {
    // One asymmetric pairwise table over (0, 1): T[x0, x1] = [[1, 2], [3, 4]].
    let text = "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2 3 4\n";
    let m = uai::parse("t.uai", text, &[]).unwrap().model;
    // Z = 10; P(x1 = 1) = (2 + 4)/10 → ⟨s_1⟩ = 0.2; P(x0 = 1) = 7/10 → ⟨s_0⟩ = 0.4.
    let e = logz::exact::Enumerate::default().solve(&m).unwrap();
    assert!((e.ln_z - 10f64.ln()).abs() < 1e-14);
    assert!((e.magnetization[0] - 0.4).abs() < 1e-14);
    assert!((e.magnetization[1] - 0.2).abs() < 1e-14);
    // The reversed scope reads the same numbers transposed.
    let text = "MARKOV\n2\n2 2\n1\n2 1 0\n4\n1 2 3 4\n";
    let m = uai::parse("t.uai", text, &[]).unwrap().model;
    let e = logz::exact::Enumerate::default().solve(&m).unwrap();
    assert!((e.magnetization[1] - 0.4).abs() < 1e-14);
    assert!((e.magnetization[0] - 0.2).abs() < 1e-14);
}

#[test]
fn evidence_clamps_variables() {
    // Z(e) with x0 = 1 clamped: T[1, x1] = [3, 4] → Z = 7.
    let text = "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2 3 4\n";
    let lm = uai::parse("t.uai", text, &[(0, 1)]).unwrap();
    assert_eq!(lm.model.n(), 1);
    let e = Exact.solve(&lm.model).unwrap();
    assert!((e.ln_z - 7f64.ln()).abs() < 1e-14);
    let full = lm.expand_magnetization(&e.magnetization);
    assert_eq!(full[0], 1.0);
    assert!((full[1] - 1.0 / 7.0).abs() < 1e-14);
}

#[test]
fn writers_round_trip() {
    let m = logz::model::builders::random_model(9, 0.5, 1.0, 0.7, 0.8, 5)
        .unwrap()
        .with_energy_offset(-1.25)
        .unwrap();
    let z = Exact.solve(&m).unwrap().ln_z;
    let back = uai::parse("w.uai", &uai::write(&m), &[]).unwrap().model;
    let zb = Exact.solve(&back).unwrap().ln_z;
    assert!((zb - z).abs() < 1e-11, "uai round trip: {zb} vs {z}");
    let back = io::json::parse("w.json", &io::json::write(&m)).unwrap();
    assert_eq!(back.couplings(), m.couplings());
    assert!((Exact.solve(&back).unwrap().ln_z - z).abs() < 1e-13);
}

fn parse_err(text: &str) -> String {
    uai::parse("bad.uai", text, &[]).unwrap_err().to_string()
}

#[test]
fn malformed_uai_files_give_clear_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "bad.uai:1: unexpected end of file: expected the network type",
        ),
        ("FACTOR\n1\n2\n", "expected MARKOV or BAYES, found 'FACTOR'"),
        ("MARKOV\n-3\n", "the number of variables is negative"),
        ("MARKOV\n99999999999999\n", "exceeds the limit"),
        (
            "MARKOV\n2\n2 3\n",
            "bad.uai:3: variable 1 has domain size 3",
        ),
        ("MARKOV\n3\n2 2 2\n1\n3 0 1 2\n", "factor 0 has arity 3"),
        (
            "MARKOV\n2\n2 2\n1\n2 0 5\n",
            "factor 0 names variable 5, but there are only 2",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n3\n1 2 3\n",
            "needs 4 entries, not 3",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 0 3 4\n",
            "entry 1 of table 0 is 0",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 nan 3 4\n",
            "entry 1 of table 0 is NaN",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 -2 3 4\n",
            "strictly positive",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2\n",
            "bad.uai:7: unexpected end of file: expected entry 2 of table 0",
        ),
        (
            "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 x 3 4\n",
            "expected entry 1 of table 0, found 'x'",
        ),
        (
            "MARKOV\n1\n2\n1\n1 0\n2\n1 2\n7\n",
            "unexpected extra token '7'",
        ),
    ];
    for (text, want) in cases {
        let got = parse_err(text);
        assert!(
            got.contains(want),
            "input {text:?}: got '{got}', want '{want}'"
        );
    }
}

/// ln Z from samples on real benchmark models: thermodynamic integration (whose pilot runs must
/// refine the λ grid on DBN_16, where 33 rungs swap too rarely) and annealed importance sampling,
/// each within 4 of its own standard errors of the exact value.
#[test]
fn ti_and_ais_on_benchmarks_within_their_error_bars() {
    use logz::mc::{Ais, ThermodynamicIntegration};
    for name in ["Grids_11", "DBN_16", "Segmentation_12"] {
        let lm = io::load(&bench_dir().join(format!("{name}.uai")), None).unwrap();
        let exact = read_pr(name).0 * std::f64::consts::LN_10;
        let ti = ThermodynamicIntegration::default()
            .solve(&lm.model)
            .unwrap();
        let ais = Ais::default().solve(&lm.model).unwrap();
        // Measured σ: TI 0.041 to 0.076, AIS 0.098 to 0.64 (Grids_11).
        for (e, cap) in [(&ti, 0.25), (&ais, 2.0)] {
            let se = e.kind.std_err().unwrap();
            let what = format!("{name} {}", e.diagnostics.algorithm);
            assert_sigma(&what, se, cap);
            // The reference is printed to 3 decimals of log10 Z: 1e-3 nats of slack for that.
            assert!(
                (e.ln_z - exact).abs() < 4.0 * se + 1e-3,
                "{what}: {} ± {se} vs {exact}",
                e.ln_z
            );
        }
        if name == "DBN_16" {
            assert!(
                ti.diagnostics.notes.iter().any(|n| n.contains("65 rungs")),
                "{:?}",
                ti.diagnostics.notes
            );
        }
    }
}

/// Grids_12 is a frustrated strong-coupling grid on which the default run (300 + 1500 sweeps) is
/// not yet equilibrated: the integrand drifts inside the measured window, so TI must double the
/// run (measuring only the second half) and still land within 4 of its error bars.
#[test]
fn ti_runs_on_until_a_glassy_grid_stops_drifting() {
    use logz::mc::ThermodynamicIntegration;
    let lm = io::load(&bench_dir().join("Grids_12.uai"), None).unwrap();
    let exact = read_pr("Grids_12").0 * std::f64::consts::LN_10;
    let ti = ThermodynamicIntegration::default()
        .solve(&lm.model)
        .unwrap();
    let se = ti.kind.std_err().unwrap();
    // Measured σ = 0.13 (ln Z ≈ 698).
    assert_within("Grids_12 ti", ti.ln_z, se, exact, 4.0, 0.4);
    assert!(
        ti.diagnostics
            .notes
            .iter()
            .any(|n| n.contains("run doubled")),
        "{:?}",
        ti.diagnostics.notes
    );
    // Fixed at one run (no doubling), the same ladders are biased beyond their error bar.
    let short = ThermodynamicIntegration {
        extensions: 0,
        ..Default::default()
    }
    .solve(&lm.model)
    .unwrap();
    let se0 = short.kind.std_err().unwrap();
    assert!(
        (short.ln_z - exact).abs() > 4.0 * se0 || !short.diagnostics.converged,
        "{} ± {se0} vs {exact}",
        short.ln_z
    );
}

/// AIS annealed far too fast on a frustrated grid: a handful of runs carry all the weight. The
/// schedule must keep doubling instead of stopping at the first agreement, the error bar must
/// still cover the exact value, and the answer must say it is not converged.
#[test]
fn ais_with_degenerate_weights_has_an_honest_error_bar() {
    use logz::mc::Ais;
    let lm = io::load(&bench_dir().join("Grids_16.uai"), None).unwrap();
    let exact = read_pr("Grids_16").0 * std::f64::consts::LN_10;
    let e = Ais {
        steps: 100,
        doublings: 3,
        ..Default::default()
    }
    .solve(&lm.model)
    .unwrap();
    let se = e.kind.std_err().unwrap();
    assert!(!e.diagnostics.converged, "{:?}", e.diagnostics.notes);
    // Wide (the run is not converged) but finite and bounded: measured σ = 1.7 (ln Z ≈ 1531).
    assert_within("Grids_16 ais", e.ln_z, se, exact, 4.0, 5.0);
    // Successive estimates may agree within their (wide) errors, but while a few runs carry
    // the weight the schedule must keep doubling, to the last allowed (100 · 2³ steps).
    assert!(
        e.diagnostics.notes[0].contains("800 annealing steps"),
        "{:?}",
        e.diagnostics.notes
    );
}
