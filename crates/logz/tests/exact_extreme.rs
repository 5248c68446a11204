//! Every exact method at extreme β, J and h: the answer is finite and agrees with a brute-force
//! log-sum-exp over all states, or the method says it does not apply. Nothing labelled `exact`
//! may come back as NaN or ±∞ (that is what `logz solve` once printed as `ln_z: null`).

use logz::exact::{Chain, CurieWeiss, Elimination, Enumerate, Exact, Kaufman, TransferMatrix};
use logz::model::builders::{self, Params};
use logz::{Error, EstimateKind, Model, Solver};

/// ln Z straight from the definition: log-sum-exp of −βE over all 2^N states.
fn brute_ln_z(m: &Model) -> f64 {
    let n = m.n();
    let lw: Vec<f64> = (0u64..(1 << n))
        .map(|x| {
            let s: Vec<i8> = (0..n)
                .map(|i| if (x >> i) & 1 == 1 { 1 } else { -1 })
                .collect();
            m.log_weight(&s)
        })
        .collect();
    logz::numeric::log_sum_exp(&lw)
}

fn solvers() -> Vec<Box<dyn Solver>> {
    vec![
        Box::new(Exact),
        Box::new(Enumerate::default()),
        Box::new(Elimination::default()),
        Box::new(TransferMatrix::default()),
        Box::new(Chain),
        Box::new(CurieWeiss),
        Box::new(Kaufman),
    ]
}

fn models(j: f64, h: f64, beta: f64) -> Vec<(String, Model)> {
    let p = Params {
        coupling: j,
        field: h,
        beta,
        seed: 3,
    };
    let mut out = Vec::new();
    for (name, m) in [
        ("chain:3", builders::chain(3, true, &p)),
        ("chain:4", builders::chain(4, true, &p)),
        ("chain:7", builders::chain(7, true, &p)),
        ("chain:5:open", builders::chain(5, false, &p)),
        ("square:4", builders::square(4, 4, true, &p)),
        ("square:3x4", builders::square(3, 4, true, &p)),
        ("square:3x5:open", builders::square(3, 5, false, &p)),
        ("triangular:3", builders::triangular(3, 3, true, &p)),
        ("complete:9", builders::complete(9, &p)),
        ("sk:10", builders::sherrington_kirkpatrick(10, &p)),
    ] {
        out.push((name.to_string(), m.expect("valid model")));
    }
    out
}

#[test]
fn every_exact_method_is_finite_and_right_at_extreme_parameters() {
    let mut checked = 0;
    for &beta in &[0.0, 1e-9, 0.44, 15.0, 20.0, 360.0, 1e3, 1e4] {
        for &j in &[1.0, -1.0, 3.0, -7.5] {
            for &h in &[0.0, 0.25, -2.0, 40.0] {
                for (name, m) in models(j, h, beta) {
                    let truth = brute_ln_z(&m);
                    assert!(truth.is_finite());
                    for s in solvers() {
                        match s.solve(&m) {
                            Ok(e) => {
                                assert_eq!(e.kind, EstimateKind::Exact);
                                // Rounding of −βE itself is ~1e-16·|βE| per state.
                                let tol = 1e-12 * truth.abs().max(1.0);
                                assert!(
                                    (e.ln_z - truth).abs() <= tol,
                                    "{} on {name} (β={beta}, J={j}, h={h}): {} vs brute force {truth}",
                                    s.name(),
                                    e.ln_z
                                );
                                let observables = e
                                    .magnetization
                                    .iter()
                                    .chain(e.edge_correlation.iter().flatten());
                                for &x in observables {
                                    assert!(
                                        x.is_finite() && x.abs() <= 1.0 + 1e-12,
                                        "{} on {name} (β={beta}, J={j}, h={h}): observable {x}",
                                        s.name()
                                    );
                                }
                                checked += 1;
                            }
                            Err(Error::NotApplicable { .. }) => {}
                            Err(err) => {
                                panic!("{} on {name} (β={beta}, J={j}, h={h}): {err}", s.name())
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} (method, model) pairs ran");
}

/// The cases from the issue, with their true values.
#[test]
fn odd_antiferromagnetic_ring_and_kaufman_at_large_beta() {
    let p = |j: f64, beta: f64| Params {
        coupling: j,
        field: 0.0,
        beta,
        seed: 0,
    };
    // Three frustrated spins: 6 ground states at βE = −β, so ln Z = β + ln 6 (+ e^{−4β} terms).
    for &beta in &[15.0, 20.0, 1e3] {
        let m = builders::chain(3, true, &p(-1.0, beta)).unwrap();
        let e = Chain.solve(&m).unwrap();
        let want = beta + 6f64.ln() + (2.0 / 6.0 * (-4.0 * beta).exp()).ln_1p();
        assert!(
            (e.ln_z - want).abs() <= 2e-16 * want,
            "β={beta}: {} vs {want}",
            e.ln_z
        );
    }
    // Kaufman deep in the ordered phase: two ground states, ln Z = 2N·K + ln 2 + O(e^{−8K}).
    for &beta in &[360.0, 1e3, 1e4] {
        let m = builders::square(4, 4, true, &p(1.0, beta)).unwrap();
        let e = Kaufman.solve(&m).unwrap();
        let want = 32.0 * beta + std::f64::consts::LN_2;
        assert!(
            (e.ln_z - want).abs() <= 1e-13 * want,
            "β={beta}: {} vs {want}",
            e.ln_z
        );
    }
}

#[test]
fn non_finite_results_and_unrepresentable_models_are_errors() {
    use logz::estimate::Estimate;
    let inf = Estimate::new(f64::INFINITY, EstimateKind::Exact, "x").checked("x");
    assert!(matches!(&inf, Err(Error::Numerical(msg)) if msg.contains("ln Z overflows")));
    let nan = Estimate::new(f64::NAN, EstimateKind::LowerBound, "x").checked("x");
    assert!(matches!(&nan, Err(Error::Numerical(msg)) if msg.contains("NaN")));
    assert!(Estimate::new(1.5, EstimateKind::Exact, "x")
        .checked("x")
        .is_ok());
    // β·J beyond f64: refused when the model is built, and when β is changed later.
    let p = |j: f64, beta: f64| Params {
        coupling: j,
        field: 0.0,
        beta,
        seed: 0,
    };
    let err = builders::chain(3, true, &p(1e300, 1e300)).unwrap_err();
    assert!(
        matches!(&err, Error::Numerical(msg) if msg.contains("ln Z overflows")),
        "{err}"
    );
    let m = builders::square(4, 4, true, &p(1e290, 1.0)).unwrap();
    assert!(matches!(m.with_beta(1e10), Err(Error::Numerical(_))));
    // Two huge couplings on the same pair merge into an infinite one.
    let dup = Model::new(2, &[(0, 1), (1, 0)], &[1.5e308, 1.5e308], vec![0.0; 2], 1.0);
    assert!(dup.is_err());
}

/// The closed forms answered from a spec (no model built) equal the same closed forms on the
/// built model, and apply only where those do.
#[test]
fn closed_forms_from_a_spec_match_the_built_model() {
    use logz::exact::closed::uniform_lattice;
    use logz::model::builders::{from_spec, lattice_spec_geometry};
    for (spec, j, h, beta) in [
        ("square:16", 1.0, 0.0, 0.44),
        ("square:5x7", 0.3, 0.0, 2.0),
        ("square:4", 1.0, 0.0, 360.0),
        ("chain:101", -1.0, 0.3, 7.0),
        ("chain:3", -1.0, 0.0, 20.0),
    ] {
        let p = Params {
            coupling: j,
            field: h,
            beta,
            seed: 0,
        };
        let g = lattice_spec_geometry(spec).unwrap();
        let lazy = uniform_lattice(&g, &p).unwrap().unwrap();
        let built = Exact.solve(&from_spec(spec, &p).unwrap()).unwrap();
        assert_eq!(lazy.kind, EstimateKind::Exact);
        assert!(
            (lazy.ln_z - built.ln_z).abs() <= 1e-13 * built.ln_z.abs().max(1.0),
            "{spec}: {} vs {}",
            lazy.ln_z,
            built.ln_z
        );
    }
    let p = Params::default();
    // No closed form: open boundaries, a field on the torus, an antiferromagnetic torus.
    for (spec, j, h) in [
        ("square:16:open", 1.0, 0.0),
        ("square:16", 1.0, 0.1),
        ("square:16", -1.0, 0.0),
        ("chain:9:open", 1.0, 0.0),
    ] {
        let g = lattice_spec_geometry(spec).unwrap();
        let q = Params {
            coupling: j,
            field: h,
            ..p
        };
        assert!(uniform_lattice(&g, &q).is_none(), "{spec}");
    }
    assert!(lattice_spec_geometry("sk:16").is_none());
    assert!(lattice_spec_geometry("square:0").is_none());
    assert!(lattice_spec_geometry("square:4:bogus").is_none());
}
