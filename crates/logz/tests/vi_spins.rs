//! Machine learning back into physics: black-box VI and variational autoregressive networks on
//! spin models, judged against coordinate-ascent mean field and exact ln Z.

mod common;
use common::{assert_sigma, assert_within};
use logz::exact::Exact;
use logz::free_energy::MeanField;
use logz::model::builders::{random_model, sherrington_kirkpatrick, square, triangular, Params};
use logz::runner::Runner;
use logz::spin_vi::van::Van;
use logz::spin_vi::FactorizedVi;
use logz::{EstimateKind, Solver};

#[test]
fn score_function_bbvi_recovers_coordinate_ascent_mean_field() {
    for seed in 0..4 {
        let m = random_model(12, 0.4, 0.6, 0.4, 0.8, 40 + seed).unwrap();
        let ca = MeanField::default().solve(&m).unwrap().ln_z;
        let bb = FactorizedVi {
            seed,
            ..FactorizedVi::default()
        }
        .solve(&m)
        .unwrap();
        let exact = Exact.solve(&m).unwrap().ln_z;
        assert_eq!(bb.kind, EstimateKind::LowerBound);
        assert!(
            bb.ln_z <= exact + 1e-9,
            "bbvi {} above exact {exact}",
            bb.ln_z
        );
        // The stochastic optimiser reaches the coordinate-ascent optimum (both are exact ELBOs
        // of factorised q's; the tolerance is what 3000 noisy steps leave).
        assert!(
            (ca - bb.ln_z).abs() < 2e-3 * ca.abs(),
            "seed {seed}: bbvi {} vs CA {ca}",
            bb.ln_z
        );
    }
}

/// The VAN ELBO is a Monte Carlo estimate that may lie above ln Z: it is labelled as such, not as
/// a rigorous `lower_bound`, whichever way the method is built.
#[test]
fn van_elbo_is_labelled_a_stochastic_lower_bound() {
    let m = square(3, 3, true, &Params::default()).unwrap();
    let o = logz::methods::MethodOptions {
        steps: Some(20),
        ..Default::default()
    };
    for e in [
        logz::methods::configured("van", &o)
            .unwrap()
            .solve(&m)
            .unwrap(),
        Van {
            steps: 20,
            ..Van::default()
        }
        .solve(&m)
        .unwrap(),
    ] {
        assert_eq!(e.kind.label(), "stochastic_lower_bound");
        assert!(e.kind.std_err().is_some_and(|s| s.is_finite() && s > 0.0));
    }
}

/// The complaint: BBVI fell far below mean field in the ordered phase (16×16 torus at
/// β = 0.6: 1.0768 per spin against 1.2085). On a ferromagnet below T_c, a frustrated SK sample
/// and a triangular lattice in a field, BBVI must reach the coordinate-ascent bound (within
/// 1e-3·|ln Z|, for each of several seeds) and stay a rigorous lower bound (its ELBO is exact,
/// so ≤ ln Z with no allowance for noise).
#[test]
fn bbvi_reaches_mean_field_on_lattices_and_sk() {
    let models = [
        (
            "16×16 torus, β = 0.6",
            square(
                16,
                16,
                true,
                &Params {
                    beta: 0.6,
                    ..Params::default()
                },
            )
            .unwrap(),
        ),
        (
            "SK N = 20, β = 1.5",
            sherrington_kirkpatrick(
                20,
                &Params {
                    beta: 1.5,
                    ..Params::default()
                },
            )
            .unwrap(),
        ),
        (
            "8×8 triangular torus, β = 0.4, h = 0.1",
            triangular(
                8,
                8,
                true,
                &Params {
                    beta: 0.4,
                    field: 0.1,
                    ..Params::default()
                },
            )
            .unwrap(),
        ),
    ];
    for (name, m) in &models {
        let exact = Exact.solve(m).unwrap().ln_z;
        let mf = MeanField::default().solve(m).unwrap().ln_z;
        for seed in 0..3 {
            let bb = FactorizedVi {
                seed,
                ..FactorizedVi::default()
            }
            .solve(m)
            .unwrap();
            assert_eq!(bb.kind, EstimateKind::LowerBound);
            assert!(
                bb.ln_z <= exact,
                "{name}, seed {seed}: bbvi {} above exact {exact}",
                bb.ln_z
            );
            assert!(
                bb.ln_z >= mf - 1e-3 * exact.abs(),
                "{name}, seed {seed}: bbvi {} below mean field {mf}",
                bb.ln_z
            );
            assert!(
                bb.diagnostics.converged,
                "{name}, seed {seed}: not converged"
            );
        }
    }
}

fn se(k: &EstimateKind) -> f64 {
    k.std_err()
        .expect("stochastic kinds carry a standard error")
}

#[test]
fn van_beats_mean_field_and_brackets_exact() {
    let p = Params {
        beta: 0.6,
        seed: 3,
        ..Params::default()
    };
    let models = [
        (
            "4×4 torus at β_c",
            square(
                4,
                4,
                true,
                &Params {
                    beta: logz::exact::closed::SQUARE_BETA_C,
                    ..Params::default()
                },
            )
            .unwrap(),
        ),
        ("SK N=12", sherrington_kirkpatrick(12, &p).unwrap()),
        (
            "random with fields",
            random_model(10, 0.5, 1.0, 0.5, 0.7, 5).unwrap(),
        ),
    ];
    for (name, m) in &models {
        let exact = Exact.solve(m).unwrap().ln_z;
        let mf = MeanField::default().solve(m).unwrap().ln_z;
        let van = Van {
            steps: 600,
            ..Van::default()
        };
        let elbo = van.solve(m).unwrap();
        let iw = Van {
            importance_weighted: true,
            ..van
        }
        .solve(m)
        .unwrap();
        assert!(matches!(
            elbo.kind,
            EstimateKind::StochasticLowerBound { .. }
        ));
        assert_eq!(elbo.kind.label(), "stochastic_lower_bound");
        assert!(matches!(iw.kind, EstimateKind::Stochastic { .. }));
        let (e, s) = (elbo.ln_z, se(&elbo.kind));
        assert!(e > mf, "{name}: VAN ELBO {e} not above mean field {mf}");
        // Measured σ: ELBO 9.0e-4 to 3.2e-3, importance-weighted 8.9e-4 to 2.4e-3.
        assert_sigma(&format!("{name} ELBO"), s, 1e-2);
        assert!(
            e <= exact + 3.0 * s,
            "{name}: ELBO {e} ± {s} above exact {exact}"
        );
        let (z, s) = (iw.ln_z, se(&iw.kind));
        assert_within(
            &format!("{name} importance-weighted"),
            z,
            s.max(1e-4),
            exact,
            3.0,
            1e-2,
        );
    }
}

#[test]
fn van_checkpoint_continues_where_it_stopped() {
    let m = square(
        4,
        4,
        true,
        &Params {
            beta: 0.3,
            ..Params::default()
        },
    )
    .unwrap();
    let (net, first) = Van {
        steps: 200,
        ..Van::default()
    }
    .train(&m, &logz::runner::Runner::new())
    .unwrap();
    let text = serde_json::to_string(&net).unwrap();
    let back: logz::spin_vi::van::Made = serde_json::from_str(&text).unwrap();
    // Evaluation only (no steps) of the reloaded network gives the same ELBO up to sampling.
    let (_, again) = Van {
        steps: 0,
        init: Some(back),
        ..Van::default()
    }
    .train(&m, &logz::runner::Runner::new())
    .unwrap();
    let s = (first.elbo_std_err.powi(2) + again.elbo_std_err.powi(2)).sqrt();
    // Measured σ = 8.7e-3.
    assert_sigma("ELBO before and after reloading", s, 3e-2);
    assert!(
        (first.elbo - again.elbo).abs() < 4.0 * s,
        "{} vs {}",
        first.elbo,
        again.elbo
    );
}

/// The 16×16 goal in miniature (the full run takes minutes): on the 8×8 torus at β_c,
/// 1500 steps must bring the ELBO within 2e-3 of exact ln Z (relative; measured 1e-3) — far
/// closer than Bethe (1.5e-2) — and keep it a lower bound within its error.
#[test]
fn van_on_a_critical_torus_beats_bethe_by_an_order_of_magnitude() {
    let m = square(
        8,
        8,
        true,
        &Params {
            beta: logz::exact::closed::SQUARE_BETA_C,
            ..Params::default()
        },
    )
    .unwrap();
    let exact = Exact.solve(&m).unwrap().ln_z;
    let bethe = logz::methods::by_name("bethe")
        .unwrap()
        .solve(&m)
        .unwrap()
        .ln_z;
    let van = Van {
        steps: 1500,
        ..Van::default()
    }
    .solve(&m)
    .unwrap();
    let s = se(&van.kind);
    // Measured σ = 4.2e-3 (ln Z ≈ 59).
    assert_sigma("8×8 ELBO", s, 1.5e-2);
    let rel = (exact - van.ln_z) / exact;
    let rel_bethe = (exact - bethe).abs() / exact;
    assert!(
        van.ln_z <= exact + 3.0 * s,
        "ELBO {} ± {s} above {exact}",
        van.ln_z
    );
    assert!(rel < 2e-3, "ELBO relative error {rel}");
    assert!(rel < rel_bethe / 5.0, "VAN {rel} vs Bethe {rel_bethe}");
}

#[test]
fn van_cubo_closes_the_bracket_and_khat_judges_the_network() {
    let m = square(
        4,
        4,
        true,
        &Params {
            beta: logz::exact::closed::SQUARE_BETA_C,
            ..Params::default()
        },
    )
    .unwrap();
    let exact = Exact.solve(&m).unwrap().ln_z;
    let (_, r) = Van {
        steps: 600,
        ..Van::default()
    }
    .train(&m, &Runner::new())
    .unwrap();
    // ELBO ≤ ln Z ≤ CUBO, each within 3σ, with σ capped; a trained network is a good proposal.
    assert_sigma("CUBO", r.cubo_std_err, 1e-2);
    assert!(
        r.elbo <= exact + 3.0 * r.elbo_std_err,
        "{} vs {exact}",
        r.elbo
    );
    assert!(
        r.cubo >= exact - 3.0 * r.cubo_std_err,
        "CUBO {} vs {exact}",
        r.cubo
    );
    assert!(r.cubo - exact < 0.05, "CUBO {} vs {exact}", r.cubo);
    // 4×4 spins: 10⁴ draws revisit the same configurations, the weights tie and k̂ is unknown
    // (NaN) rather than an artefact of the ties.
    assert!(r.khat.is_nan() || r.khat < 0.7, "k̂ = {}", r.khat);
    assert!(
        (r.psis_ln_z - exact).abs() < 0.02,
        "PSIS {} vs {exact}",
        r.psis_ln_z
    );
    // 8×8 spins: no ties. A barely trained network is a poor proposal at β_c and k̂ says so;
    // training lowers it.
    let m = square(
        8,
        8,
        true,
        &Params {
            beta: logz::exact::closed::SQUARE_BETA_C,
            ..Params::default()
        },
    )
    .unwrap();
    let khat = |steps| {
        Van {
            steps,
            ..Van::default()
        }
        .train(&m, &Runner::new())
        .unwrap()
        .1
        .khat
    };
    let (poor, better) = (khat(20), khat(600));
    assert!(poor > 0.7, "k̂ after 20 steps = {poor}");
    assert!(
        better < poor,
        "k̂ {better} after 600 steps vs {poor} after 20"
    );
}
