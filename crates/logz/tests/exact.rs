//! Exact methods cross-checked against each other and against published reference values.
#![allow(clippy::needless_range_loop)]

use logz::exact::closed::{kaufman_ln_z, onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::exact::{Chain, CurieWeiss, Elimination, Enumerate, Exact, Kaufman, TransferMatrix};
use logz::model::builders::{self, random_model, Params};
use logz::{EstimateKind, Model, Solver};
use proptest::prelude::*;

fn params(j: f64, h: f64, beta: f64) -> Params {
    Params {
        coupling: j,
        field: h,
        beta,
        seed: 1,
    }
}

/// Brute force over all states directly from the definition (no Gray code, no tricks).
fn brute(m: &Model) -> (f64, Vec<f64>) {
    let n = m.n();
    let mut lw = Vec::with_capacity(1 << n);
    let mut states = Vec::with_capacity(1 << n);
    for x in 0u64..(1 << n) {
        let s: Vec<i8> = (0..n)
            .map(|i| if (x >> i) & 1 == 1 { 1 } else { -1 })
            .collect();
        lw.push(m.log_weight(&s));
        states.push(s);
    }
    let lz = logz::numeric::log_sum_exp(&lw);
    let mut mag = vec![0.0; n];
    for (s, l) in states.iter().zip(&lw) {
        let p = (l - lz).exp();
        for i in 0..n {
            mag[i] += p * s[i] as f64;
        }
    }
    (lz, mag)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn kaufman_matches_reference_values() {
    let p = params(1.0, 0.0, 0.2);
    assert!(close(kaufman_ln_z(4, 4, 0.2), 11.771470358541581, 1e-13));
    assert!(close(
        kaufman_ln_z(4, 4, SQUARE_BETA_C),
        15.521915458755283,
        1e-13
    ));
    assert!(close(
        kaufman_ln_z(16, 16, SQUARE_BETA_C) / 256.0,
        0.932196314981,
        1e-11
    ));
    let m = builders::square(4, 4, true, &p).unwrap();
    let e = Kaufman.solve(&m).unwrap();
    assert_eq!(e.kind, EstimateKind::Exact);
    assert!(close(e.ln_z, 11.771470358541581, 1e-13));
}

#[test]
fn kaufman_agrees_with_enumeration_below_and_above_tc() {
    // Below T_c γ_0 < 0: the sign matters (|γ_0| is a known bug that this catches).
    for &beta in &[0.1, 0.3, SQUARE_BETA_C, 0.6, 1.5] {
        for &(r, c) in &[(3, 3), (4, 5), (3, 6)] {
            let m = builders::square(r, c, true, &params(1.0, 0.0, beta)).unwrap();
            let k = Kaufman.solve(&m).unwrap().ln_z;
            let e = Enumerate::default().solve(&m).unwrap().ln_z;
            assert!(close(k, e, 1e-12), "{r}x{c} β={beta}: kaufman {k} enum {e}");
        }
    }
}

#[test]
fn transfer_matrix_agrees_with_kaufman_on_tori() {
    for &beta in &[0.2, SQUARE_BETA_C, 0.7] {
        for &(r, c) in &[(4, 4), (6, 10), (16, 5), (8, 8)] {
            let m = builders::square(r, c, true, &params(1.0, 0.0, beta)).unwrap();
            let t = TransferMatrix::default().solve(&m).unwrap().ln_z;
            let k = Kaufman.solve(&m).unwrap().ln_z;
            assert!(
                close(t, k, 1e-12),
                "{r}x{c} β={beta}: transfer {t} kaufman {k}"
            );
        }
    }
}

#[test]
fn transfer_matrix_and_elimination_agree_on_16x16_open_lattice_with_field() {
    let m = builders::square(16, 16, false, &params(1.0, 0.05, SQUARE_BETA_C)).unwrap();
    let t = TransferMatrix::default().solve(&m).unwrap().ln_z;
    let e = Elimination::default().solve(&m).unwrap().ln_z;
    assert!(close(t, e, 1e-12), "transfer {t} elimination {e}");
    // Cylinder (periodic columns, open rows) as well.
    let mut p = params(0.8, -0.1, 0.5);
    p.seed = 3;
    let m = builders::square(7, 9, false, &p).unwrap();
    let t = TransferMatrix::default().solve(&m).unwrap().ln_z;
    let e = Enumerate::default().solve(&m);
    assert!(e.is_err(), "63 spins is beyond enumeration");
    let el = Elimination::default().solve(&m).unwrap().ln_z;
    assert!(close(t, el, 1e-12));
}

#[test]
fn kaufman_on_large_torus_approaches_onsager() {
    for &beta in &[0.3, SQUARE_BETA_C, 0.6] {
        // Below T_c the torus has two ordered states: ln Z carries an extra ln 2 (exponentially small
        // corrections otherwise); above T_c the corrections are exponentially small in L; at T_c
        // they are O(1/L²).
        let two_phases = if beta > SQUARE_BETA_C { 2f64.ln() } else { 0.0 };
        let k = (kaufman_ln_z(256, 256, beta) - two_phases) / 65536.0;
        let o = onsager_ln_z_per_spin(beta);
        let tol = if beta == SQUARE_BETA_C { 1e-5 } else { 1e-12 };
        assert!((k - o).abs() < tol, "β={beta}: kaufman/N {k} onsager {o}");
    }
    assert!((onsager_ln_z_per_spin(SQUARE_BETA_C) - 0.929695398342).abs() < 1e-11);
}

#[test]
fn closed_forms_agree_with_enumeration() {
    for &(j, h, beta) in &[
        (1.0, 0.0, 0.5),
        (1.0, 0.3, 1.2),
        (-0.7, 0.2, 0.9),
        (2.0, -1.0, 3.0),
    ] {
        for &periodic in &[true, false] {
            let m = builders::chain(11, periodic, &params(j, h, beta)).unwrap();
            let c = Chain.solve(&m).unwrap();
            let e = Enumerate::default().solve(&m).unwrap();
            assert!(
                close(c.ln_z, e.ln_z, 1e-12),
                "chain {j} {h} {beta} {periodic}"
            );
            if periodic {
                for (a, b) in c.magnetization.iter().zip(&e.magnetization) {
                    assert!((a - b).abs() < 1e-10);
                }
                let (cc, ec) = (c.edge_correlation.unwrap(), e.edge_correlation.unwrap());
                assert!((cc[0] - ec[0]).abs() < 1e-10);
            }
        }
        let m = builders::complete(13, &params(j, h, beta)).unwrap();
        let c = CurieWeiss.solve(&m).unwrap();
        let e = Enumerate::default().solve(&m).unwrap();
        assert!(close(c.ln_z, e.ln_z, 1e-12));
        assert!((c.magnetization[0] - e.magnetization[0]).abs() < 1e-10);
        assert!((c.abs_magnetization.unwrap() - e.abs_magnetization.unwrap()).abs() < 1e-10);
        assert!((c.energy.unwrap() - e.energy.unwrap()).abs() < 1e-9);
        let (cc, ec) = (c.edge_correlation.unwrap(), e.edge_correlation.unwrap());
        assert!((cc[0] - ec[5]).abs() < 1e-10);
    }
}

#[test]
fn exact_dispatch_names_the_algorithm() {
    let m = builders::square(32, 32, true, &params(1.0, 0.0, 0.4)).unwrap();
    let e = Exact.solve(&m).unwrap();
    assert_eq!(e.diagnostics.algorithm, "exact via kaufman");
    let m = builders::square(12, 12, false, &params(1.0, 0.1, 0.4)).unwrap();
    let e = Exact.solve(&m).unwrap();
    assert_eq!(e.diagnostics.algorithm, "exact via elimination");
    let m = builders::sherrington_kirkpatrick(200, &params(1.0, 0.0, 1.0)).unwrap();
    let err = Exact.solve(&m).unwrap_err().to_string();
    assert!(err.contains("no exact method applies"), "{err}");
}

#[test]
fn enumeration_refuses_large_models_clearly() {
    let m = builders::chain(50, true, &Params::default()).unwrap();
    let err = Enumerate::default().solve(&m).unwrap_err().to_string();
    assert!(err.contains("2^50 states"), "{err}");
}

#[test]
fn extreme_beta_and_fields_stay_finite() {
    // ln Z ≈ −βE_min at large β: a ferromagnetic 4x4 torus has E_min = −32 → ln Z ≈ 32β + ln 2.
    let m = builders::square(4, 4, true, &params(1.0, 0.0, 200.0)).unwrap();
    for s in [
        &Enumerate::default() as &dyn Solver,
        &Elimination::default(),
        &TransferMatrix::default(),
        &Kaufman,
    ] {
        let lz = s.solve(&m).unwrap().ln_z;
        assert!(
            close(lz, 200.0 * 32.0 + 2f64.ln(), 1e-12),
            "{}: {lz}",
            s.name()
        );
    }
    // Strong fields with isolated spins.
    let m = Model::new(3, &[(0, 1)], &[5.0], vec![300.0, -300.0, 0.0], 2.0).unwrap();
    let (b, mag) = brute(&m);
    for s in [
        &Enumerate::default() as &dyn Solver,
        &Elimination::default(),
    ] {
        let e = s.solve(&m).unwrap();
        assert!(close(e.ln_z, b, 1e-13));
        for i in 0..3 {
            assert!((e.magnetization[i] - mag[i]).abs() < 1e-12);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn enumeration_and_elimination_match_brute_force(
        n in 1usize..11, q in 0.0f64..1.0, j in 0.1f64..2.0, h in 0.0f64..1.5,
        beta in 0.05f64..3.0, seed in 0u64..1000,
    ) {
        let m = random_model(n, q, j, h, beta, seed).unwrap().with_energy_offset(0.37).unwrap();
        let (lz, mag) = brute(&m);
        for s in [&Enumerate::default() as &dyn Solver, &Elimination::default()] {
            let e = s.solve(&m).unwrap();
            prop_assert!(close(e.ln_z, lz, 1e-12), "{}: {} vs {}", s.name(), e.ln_z, lz);
            for i in 0..n {
                prop_assert!((e.magnetization[i] - mag[i]).abs() < 1e-10);
            }
        }
        // Edge correlations agree between the two exact methods.
        let (ea, eb) = (Enumerate::default().solve(&m).unwrap(), Elimination::default().solve(&m).unwrap());
        // ⟨E⟩ from the Gray-code accumulator and from the junction-tree marginals.
        prop_assert!((ea.energy.unwrap() - eb.energy.unwrap()).abs() < 1e-9 * ea.energy.unwrap().abs().max(1.0));
        let a = ea.edge_correlation.unwrap();
        let b = eb.edge_correlation.unwrap();
        for (x, y) in a.iter().zip(&b) {
            prop_assert!((x - y).abs() < 1e-10);
        }
    }

    #[test]
    fn mean_parameters_are_the_gradient_of_ln_z(
        n in 2usize..9, seed in 0u64..1000, beta in 0.1f64..1.5,
    ) {
        // ∂ ln Z / ∂θ_i = ⟨s_i⟩ and ∂ ln Z / ∂θ_ij = ⟨s_i s_j⟩, by central differences.
        let m = random_model(n, 0.6, 1.0, 0.5, beta, seed).unwrap();
        let e = Enumerate::default().solve(&m).unwrap();
        let th = m.theta();
        let eps = 1e-5;
        for i in 0..n {
            let mut tp = th.clone();
            tp.unary[i] += eps;
            let mut tm = th.clone();
            tm.unary[i] -= eps;
            let lp = Enumerate::default().solve(&m.from_theta(&tp, beta).unwrap()).unwrap().ln_z;
            let lm = Enumerate::default().solve(&m.from_theta(&tm, beta).unwrap()).unwrap().ln_z;
            prop_assert!(((lp - lm) / (2.0 * eps) - e.magnetization[i]).abs() < 1e-6);
        }
        let corr = e.edge_correlation.clone().unwrap();
        for k in 0..m.num_edges() {
            let mut tp = th.clone();
            tp.pairwise[k] += eps;
            let mut tm = th.clone();
            tm.pairwise[k] -= eps;
            let lp = Enumerate::default().solve(&m.from_theta(&tp, beta).unwrap()).unwrap().ln_z;
            let lm = Enumerate::default().solve(&m.from_theta(&tm, beta).unwrap()).unwrap().ln_z;
            prop_assert!(((lp - lm) / (2.0 * eps) - corr[k]).abs() < 1e-6);
        }
    }
}
