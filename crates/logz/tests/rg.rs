//! The renormalisation-group methods against closed forms and exact contraction.

use logz::exact::closed::{kaufman_ln_z, onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::model::builders::{self, Params};
use logz::rg::closed::{triangular_ln_z_per_spin, TRIANGULAR_BETA_C};
use logz::rg::trg::{infinite_ln_z, torus_ln_z, LatticeKind, TrgParams};
use logz::rg::{InfiniteLattice, Trg};
use logz::{Error, EstimateKind, Exact, Solver};

fn params(chi: usize, k: f64) -> TrgParams {
    TrgParams {
        chi,
        k,
        ..TrgParams::default()
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn square_infinite_at_beta_c_matches_onsager_and_the_error_shrinks_with_chi() {
    let exact = onsager_ln_z_per_spin(SQUARE_BETA_C);
    let err = |chi: usize, k: f64| {
        let r = infinite_ln_z(LatticeKind::Square, SQUARE_BETA_C, 0.0, &params(chi, k)).unwrap();
        assert!(r.truncation > 0.0 && r.truncation < 0.1, "{r:?}");
        rel(r.ln_z, exact)
    };
    let (e8, e16) = (err(8, -0.5), err(16, -0.5));
    // Measured: 1.1e-5 (χ = 8) and 3.3e-7 (χ = 16).
    assert!(e8 < 3e-5, "χ = 8: {e8:e}");
    assert!(e16 < 1e-6, "χ = 16: {e16:e}");
    assert!(e16 < e8 / 10.0, "χ = 8: {e8:e}, χ = 16: {e16:e}");
    // Plain Levin–Nave TRG (k = 0) is an order of magnitude worse at the same χ (4.6e-6, as
    // the numpy reference measured); the bond weights are what buys the accuracy.
    let plain = err(16, 0.0);
    assert!(plain > 2e-6 && plain < 1e-5, "TRG χ = 16: {plain:e}");
    assert!(e16 < plain / 5.0);
}

#[test]
fn the_randomised_svd_changes_nothing_but_rounding_next_to_the_exact_one() {
    // The default splits use a randomised range finder (one power iteration; χ extra columns
    // on a dense unfolding, max(χ/4, 8) per Z2 block); the exact thin SVD (power = 0) is the
    // reference. At β_c, where singular values decay slowest, they agree far below the
    // truncation error itself (4.6e-6 at χ = 16): measured ≤ 5e-14 on the Z2 blocks at χ = 16
    // and 24; the dense unfolding (a field breaks the Z2 grading) is held to 1e-9.
    let cases = [
        (16, 0.0, 0.0, 1e-11),
        (16, -0.5, 0.0, 1e-11),
        (24, 0.0, 0.0, 1e-11),
        (16, 0.0, 0.05, 1e-9),
    ];
    for (chi, k, h, bound) in cases {
        let run = |power: usize| {
            let p = TrgParams {
                power,
                ..params(chi, k)
            };
            infinite_ln_z(LatticeKind::Square, SQUARE_BETA_C, h, &p)
                .unwrap()
                .ln_z
        };
        let (fast, exact_svd) = (run(TrgParams::default().power), run(0));
        assert!(
            rel(fast, exact_svd) < bound,
            "χ = {chi}, k = {k}, h = {h}: {fast} vs {exact_svd}"
        );
    }
}

#[test]
fn the_z2_blocks_change_nothing_but_rounding_next_to_the_dense_path() {
    use logz::rg::trg::initial_tensor;
    // Zero field: the tensors are Z2-even and graded; any field breaks the grading.
    for lat in [LatticeKind::Square, LatticeKind::Triangular] {
        assert!(initial_tensor(lat, 0.3, 0.0).unwrap().parity.is_some());
        assert!(initial_tensor(lat, -0.7, 0.0).unwrap().parity.is_some());
        assert!(initial_tensor(lat, 0.3, 1e-3).unwrap().parity.is_none());
        let with_field = infinite_ln_z(lat, 0.3, 0.1, &params(8, -0.5)).unwrap();
        assert!(!with_field.blocked);
    }
    // Block-by-block splits and contraction against the dense ones, exact SVDs on both sides
    // (power = 0) so that only the blocking differs: ferromagnets at and off criticality, an
    // antiferromagnet, plain and bond-weighted TRG, the infinite lattice and a 16 × 16 torus.
    let cases = [
        (LatticeKind::Square, SQUARE_BETA_C),
        (LatticeKind::Square, -0.3),
        (LatticeKind::Triangular, TRIANGULAR_BETA_C),
        (LatticeKind::Triangular, 0.15),
    ];
    for (lat, kk) in cases {
        for (chi, k) in [(8, 0.0), (12, -0.5)] {
            let p = |symmetric: bool| TrgParams {
                power: 0,
                symmetric,
                ..params(chi, k)
            };
            let inf = |s: bool| {
                let r = infinite_ln_z(lat, kk, 0.0, &p(s)).unwrap();
                assert_eq!(r.blocked, s);
                r.ln_z
            };
            let tor = |s: bool| {
                let r = torus_ln_z(lat, 16, kk, 0.0, &p(s)).unwrap();
                assert_eq!(r.blocked, s);
                r.ln_z
            };
            let (a, b) = (inf(true), inf(false));
            assert!(rel(a, b) < 1e-12, "{lat:?} K = {kk} χ = {chi}: {a} vs {b}");
            let (a, b) = (tor(true), tor(false));
            assert!(
                rel(a, b) < 1e-12,
                "torus {lat:?} K = {kk} χ = {chi}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn square_infinite_away_from_criticality_is_near_machine_precision() {
    for beta in [0.3, 0.6] {
        let r = infinite_ln_z(LatticeKind::Square, beta, 0.0, &params(16, -0.5)).unwrap();
        let e = rel(r.ln_z, onsager_ln_z_per_spin(beta));
        assert!(e < 1e-9, "β = {beta}: {e:e}");
    }
}

#[test]
fn the_error_estimate_from_successive_chi_covers_the_actual_error() {
    let lat = InfiniteLattice::new(LatticeKind::Square, 1.0, 0.0, SQUARE_BETA_C).unwrap();
    let trg = Trg {
        chi: 16,
        ..Trg::default()
    };
    let out = trg.solve_infinite(&lat).unwrap();
    let actual = (out.estimate.ln_z - onsager_ln_z_per_spin(SQUARE_BETA_C)).abs();
    let est = out.error_estimate.expect("χ' = 12 exists");
    assert_eq!(out.chi_reference, Some(12));
    assert_eq!(out.estimate.kind, EstimateKind::Approximation);
    // An estimate, not a bound — but a useful one: above the error, within two decades.
    assert!(
        est >= actual && est < 100.0 * actual,
        "{est:e} vs {actual:e}"
    );
    let notes = out.estimate.diagnostics.notes.join(" | ");
    assert!(
        notes.contains("error estimate") && notes.contains("not a bound"),
        "{notes}"
    );
    assert!(notes.contains("per spin"), "{notes}");
}

#[test]
fn triangular_infinite_matches_houtappel() {
    // Critical point: 1.1e-6 at χ = 16; away from it the truncation is negligible.
    let at = |beta: f64| {
        let r = infinite_ln_z(LatticeKind::Triangular, beta, 0.0, &params(16, -0.5)).unwrap();
        rel(r.ln_z, triangular_ln_z_per_spin(beta))
    };
    let ec = at(TRIANGULAR_BETA_C);
    assert!(ec < 3e-6, "β_c: {ec:e}");
    let e = at(0.5);
    assert!(e < 1e-10, "β = 0.5: {e:e}");
    // The closed form itself: high-temperature limit ln 2 + 3K²/2 + O(K³).
    let k = 1e-3;
    assert!((triangular_ln_z_per_spin(k) - (2f64.ln() + 1.5 * k * k)).abs() < 1e-8);
}

#[test]
fn square_tori_match_kaufman() {
    // 4×4 is contracted without truncation: exact to rounding.
    let r = torus_ln_z(
        LatticeKind::Square,
        4,
        SQUARE_BETA_C,
        0.0,
        &params(64, -0.5),
    )
    .unwrap();
    assert!((r.ln_z - 15.521915458755283).abs() < 1e-10, "{}", r.ln_z);
    for (l, chi, tol) in [(8, 24, 1e-6), (16, 16, 1e-5), (32, 16, 1e-5)] {
        let r = torus_ln_z(
            LatticeKind::Square,
            l,
            SQUARE_BETA_C,
            0.0,
            &params(chi, -0.5),
        )
        .unwrap();
        let e = rel(r.ln_z, kaufman_ln_z(l, l, SQUARE_BETA_C));
        assert!(e < tol, "L = {l}, χ = {chi}: {e:e}");
    }
}

#[test]
fn tori_with_field_antiferromagnets_and_triangles_match_exact_enumeration() {
    for (kind, j, h, beta) in [
        ("square", 1.0, 0.3, 0.5),
        ("square", -1.0, 0.7, 0.4),
        ("triangular", 1.0, 0.2, 0.3),
        ("triangular", -0.5, 0.4, 0.6),
    ] {
        let p = Params {
            coupling: j,
            field: h,
            beta,
            seed: 0,
        };
        let m = builders::from_spec(&format!("{kind}:4"), &p).unwrap();
        let exact = Exact.solve(&m).unwrap().ln_z;
        let trg = Trg {
            chi: 64,
            ..Trg::default()
        };
        let got = trg.solve(&m).unwrap();
        assert_eq!(got.kind, EstimateKind::Approximation);
        assert!(
            (got.ln_z - exact).abs() < 1e-9 * exact.abs(),
            "{kind} J = {j} h = {h}: {} vs {exact}",
            got.ln_z
        );
    }
}

#[test]
fn bad_input_is_refused_in_one_line() {
    let p = Params::default();
    let lat = InfiniteLattice::new(LatticeKind::Square, 1.0, 0.0, 0.4).unwrap();
    // χ < 2.
    let e = Trg {
        chi: 1,
        ..Trg::default()
    }
    .solve_infinite(&lat)
    .unwrap_err();
    assert!(e.to_string().contains("--chi must be at least 2"), "{e}");
    // χ beyond the memory budget: refused before anything is allocated.
    let e = Trg {
        chi: 100_000,
        ..Trg::default()
    }
    .solve_infinite(&lat)
    .unwrap_err();
    assert!(matches!(e, Error::OverBudget { .. }), "{e}");
    assert!(e.to_string().contains("memory limit"), "{e}");
    // Not a uniform 2^k torus.
    for spec in ["sk:8", "square:12", "square:8:open", "chain:16"] {
        let m = builders::from_spec(spec, &p).unwrap();
        let e = Trg::default().solve(&m).unwrap_err();
        assert!(
            matches!(e, Error::NotApplicable { method: "trg", .. }),
            "{spec}: {e}"
        );
        assert!(!e.to_string().contains('\n'));
    }
    // The infinite lattice is no finite model: every other method is refused by the builder.
    let e = builders::from_spec("square:inf", &p).unwrap_err();
    assert!(e.to_string().contains("only `--method trg`"), "{e}");
    let e = InfiniteLattice::from_spec("chain:inf", &p)
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("no infinite 'chain' lattice"), "{e}");
    // The cubic lattice is parsed (for hotrg), and trg refuses it in one line.
    let cubic = InfiniteLattice::from_spec("cubic:inf", &p)
        .unwrap()
        .unwrap();
    let e = Trg::default().solve_infinite(&cubic).unwrap_err();
    assert!(e.to_string().contains("--method hotrg"), "{e}");
    assert!(InfiniteLattice::from_spec("square:inf:open", &p)
        .unwrap()
        .is_err());
    assert!(InfiniteLattice::new(LatticeKind::Square, f64::NAN, 0.0, 1.0).is_err());
}

/// An open rows × cols grid with couplings drawn by `draw` and zero field.
fn grid(rows: usize, cols: usize, beta: f64, mut draw: impl FnMut() -> f64) -> logz::Model {
    let mut edges = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            if c + 1 < cols {
                edges.push((i, i + 1));
            }
            if r + 1 < rows {
                edges.push((i, i + cols));
            }
        }
    }
    let j: Vec<f64> = edges.iter().map(|_| draw()).collect();
    logz::Model::new(rows * cols, &edges, &j, vec![0.0; rows * cols], beta)
        .unwrap()
        .with_checked_geometry(logz::Geometry::Square {
            rows,
            cols,
            periodic: false,
        })
        .unwrap()
}

/// A tiny deterministic generator (xorshift), uniform in [0, 1).
fn rng(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn planar_matches_elimination_on_random_grids_with_strong_couplings() {
    let elimination = logz::methods::by_name("elimination").unwrap();
    let cases = [
        (3, 5, 1.0, "gauss"),
        (6, 6, 1.0, "gauss"),
        (10, 10, 0.5, "gauss"),
        (8, 9, 3.0, "pm"),
        (10, 10, 3.0, "pm"),
        (7, 10, 4.0, "gauss"),
        (1, 12, 2.0, "gauss"),
    ];
    for (seed, &(rows, cols, beta, dist)) in cases.iter().enumerate() {
        let mut u = rng(seed as u64 + 1);
        let m = grid(rows, cols, beta, || match dist {
            // ±J spin glass: β|J| = β.
            "pm" => {
                if u() < 0.5 {
                    -1.0
                } else {
                    1.0
                }
            }
            // Gaussian via Box–Muller, some couplings |βJ| well above 3 at β = 3, 4.
            _ => (-2.0 * (1.0 - u()).ln()).sqrt() * (std::f64::consts::TAU * u()).cos(),
        });
        let want = elimination.solve(&m).unwrap().ln_z;
        let got = logz::rg::Planar.solve(&m).unwrap();
        assert_eq!(got.kind, EstimateKind::Exact);
        assert!(
            (got.ln_z - want).abs() < 1e-10 * want.abs(),
            "{rows}×{cols} β = {beta} {dist}: {} vs {want} (Δ = {:e})",
            got.ln_z,
            got.ln_z - want
        );
    }
}

#[test]
fn planar_matches_enumeration_on_4x4_and_refuses_fields_and_tori() {
    let enumerate = logz::methods::by_name("enumerate").unwrap();
    let mut u = rng(99);
    for beta in [0.1, 0.44, 1.0, 3.0] {
        let m = grid(4, 4, beta, || 2.0 * u() - 1.0);
        let want = enumerate.solve(&m).unwrap().ln_z;
        let got = logz::rg::Planar.solve(&m).unwrap().ln_z;
        assert!(
            (got - want).abs() < 1e-12 * want.abs(),
            "β = {beta}: {got} vs {want}"
        );
    }
    let p = Params {
        field: 0.1,
        ..Params::default()
    };
    let e = logz::rg::Planar
        .solve(&builders::from_spec("square:4:open", &p).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("needs zero field"), "{e}");
    let e = logz::rg::Planar
        .solve(&builders::from_spec("square:4", &Params::default()).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("a torus is not planar"), "{e}");
    let e = logz::rg::Planar
        .solve(&builders::from_spec("sk:6", &Params::default()).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotApplicable {
                method: "planar",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn planar_sparse_and_dense_determinants_agree_and_match_the_open_strip() {
    // 20 × 20: 1520 directed edges, above the dense limit, so the sparse LU runs; the
    // uniform ferromagnet is checked against the transfer matrix.
    let m = builders::from_spec("square:20:open", &Params::default()).unwrap();
    let (got, how) = logz::rg::Planar::ln_z(&m).unwrap();
    assert_eq!(how, "sparse LU");
    let want = logz::methods::by_name("transfer")
        .unwrap()
        .solve(&m)
        .unwrap()
        .ln_z;
    assert!((got - want).abs() < 1e-10 * want, "{got} vs {want}");
}

#[test]
fn decimation_is_exact_for_the_chain_and_flows_to_zero() {
    use logz::rg::realspace::{chain_ln_z_per_spin, decimate, decimation_flow};
    for k in [0.1f64, 0.7, 2.0, -1.3, 30.0] {
        // K' = atanh(tanh² K), written stably.
        if k.abs() < 5.0 {
            assert!(
                (decimate(k) - (k.tanh().powi(2)).atanh()).abs() < 1e-13,
                "{k}"
            );
        }
        let exact = (2.0 * f64::cosh(k)).ln();
        assert!(
            (chain_ln_z_per_spin(k) - exact).abs() < 1e-13 * exact,
            "{k}"
        );
    }
    let flow = decimation_flow(2.0, 12);
    assert!(flow.windows(2).all(|w| w[1] <= w[0]));
    assert!(*flow.last().unwrap() < 1e-10);
}

#[test]
fn migdal_kadanoff_fixed_point_exponent_and_free_energy() {
    use logz::rg::realspace::MigdalKadanoff;
    let mk = MigdalKadanoff::new(2).unwrap();
    let ks = mk.fixed_point();
    assert!((ks - 0.3047).abs() < 5e-5, "K* = {ks}");
    assert!((mk.step(ks) - ks).abs() < 1e-12);
    // Linearised flow by a finite difference, and ν ≈ 1.34 (exact: 1).
    let h = 1e-6;
    let slope = (mk.step(ks + h) - mk.step(ks - h)) / (2.0 * h);
    assert!((slope - mk.slope(ks)).abs() < 1e-7);
    assert!((mk.nu() - 1.338).abs() < 2e-3, "ν = {}", mk.nu());
    // Flows away from K* on both sides.
    assert!(*mk.flow(0.9 * ks, 30).last().unwrap() < 1e-6);
    assert!(*mk.flow(1.1 * ks, 30).last().unwrap() > 10.0);
    // The free energy: ln 2 at K = 0 and 2K per spin at large K, as it must be; in between
    // bond moving overestimates ln Z (cosh 2K ≥ cosh² K: at high temperature MK gives
    // ln 2 + 2K² against the exact ln 2 + K²), 21 % above Onsager at K_c (measured).
    assert!((mk.ln_z_per_spin(0.0) - 2f64.ln()).abs() < 1e-15);
    let k = 1e-3;
    let c2 = (mk.ln_z_per_spin(k) - 2f64.ln()) / (k * k);
    assert!((c2 - 2.0).abs() < 1e-3, "{c2}");
    for k in [0.05, 0.2, 0.3047, 0.4407, 0.8, 1.5] {
        let (a, b) = (mk.ln_z_per_spin(k), onsager_ln_z_per_spin(k));
        assert!(a > b && (a - b) / b < 0.25, "K = {k}: {a} vs {b}");
    }
    assert!(MigdalKadanoff::new(1).is_err());
    assert!(MigdalKadanoff::new(3).unwrap().fixed_point() < ks);
}

/// A random planar graph with a straight-line drawing: the sites of a rows × cols triangular
/// lattice, moved by up to 0.2 of the spacing (which cannot make two of its edges cross), each
/// edge kept with probability `keep`, couplings Gaussian × `scale`.
fn random_plane(
    rows: usize,
    cols: usize,
    keep: f64,
    scale: f64,
    beta: f64,
    seed: u64,
) -> logz::Model {
    let mut u = rng(seed);
    let mut edges = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            for (dr, dc) in [(0, 1), (1, 0), (1, 1)] {
                if r + dr < rows && c + dc < cols && u() < keep {
                    edges.push((i, (r + dr) * cols + c + dc));
                }
            }
        }
    }
    let positions: Vec<[f64; 2]> = (0..rows * cols)
        .map(|i| {
            let (r, c) = ((i / cols) as f64, (i % cols) as f64);
            [c + 0.4 * (u() - 0.5), r + 0.4 * (u() - 0.5)]
        })
        .collect();
    let j: Vec<f64> = edges
        .iter()
        .map(|_| scale * (-2.0 * (1.0 - u()).ln()).sqrt() * (std::f64::consts::TAU * u()).cos())
        .collect();
    logz::Model::new(rows * cols, &edges, &j, vec![0.0; rows * cols], beta)
        .unwrap()
        .with_checked_geometry(logz::Geometry::Plane { positions })
        .unwrap()
}

#[test]
fn planar_is_exact_on_triangular_grids_and_any_drawn_planar_graph() {
    let elimination = logz::methods::by_name("elimination").unwrap();
    let check = |m: &logz::Model, what: &str| {
        let want = elimination.solve(m).unwrap().ln_z;
        let got = logz::rg::Planar.solve(m).unwrap();
        assert_eq!(got.kind, EstimateKind::Exact);
        assert!(
            (got.ln_z - want).abs() < 1e-10 * want.abs(),
            "{what}: {} vs {want} (Δ = {:e})",
            got.ln_z,
            got.ln_z - want
        );
    };
    // Open triangular grids (degree 6, turning angles of ±45°, ±90°, ±135°), strong couplings.
    for (seed, &(rows, cols, beta)) in [(5, 6, 1.0), (8, 8, 3.0), (9, 7, 0.5)].iter().enumerate() {
        let mut u = rng(seed as u64 + 40);
        let lattice = builders::triangular(rows, cols, false, &Params::default()).unwrap();
        let edges: Vec<(usize, usize)> = lattice
            .edges()
            .iter()
            .map(|&(a, b)| (a as usize, b as usize))
            .collect();
        let j: Vec<f64> = edges.iter().map(|_| 2.0 * u() - 1.0).collect();
        let m = logz::Model::new(rows * cols, &edges, &j, vec![0.0; rows * cols], beta)
            .unwrap()
            .with_checked_geometry(lattice.geometry().clone())
            .unwrap();
        check(&m, &format!("triangular {rows}×{cols} β = {beta}"));
    }
    // Random drawn planar graphs: irregular angles, isolated sites, degrees 0–6, β|J| up to ~10.
    for (seed, &(rows, cols, keep, beta)) in [
        (6, 7, 0.7, 1.0),
        (9, 9, 0.8, 3.0),
        (8, 10, 0.5, 0.7),
        (10, 10, 0.9, 4.0),
    ]
    .iter()
    .enumerate()
    {
        let m = random_plane(rows, cols, keep, 1.0, beta, seed as u64 + 7);
        check(&m, &format!("plane {rows}×{cols} keep {keep} β = {beta}"));
    }
    // A drawing with crossing edges is refused when the model is built.
    let square = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let k4 = [(0, 1), (1, 2), (2, 3), (0, 3), (0, 2), (1, 3)];
    let e = logz::Model::new(4, &k4, &[1.0; 6], vec![0.0; 4], 1.0)
        .unwrap()
        .with_checked_geometry(logz::Geometry::Plane { positions: square })
        .unwrap_err();
    assert!(e.to_string().contains("not planar"), "{e}");
}
