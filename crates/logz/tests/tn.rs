//! Boundary-MPS contraction (`tn`) on the UAI 2014 grid benchmarks, against variable
//! elimination on the same models (the `.PR` files print only three decimals).

use logz::estimate::EstimateKind;
use logz::exact::Elimination;
use logz::io;
use logz::rg::Tn;
use logz::Solver;
use std::path::PathBuf;

fn bench_dir() -> PathBuf {
    if let Ok(d) = std::env::var("LOGZ_UAI_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/uai")
}

#[test]
fn grids_within_1e_6_of_elimination() {
    // Grids_11 is a 10 × 10 torus (double layer), Grids_12 an open 10 × 10 grid, Grids_15/16
    // open 20 × 20 grids; all with fields. Measured relative errors at χ = 64: 1.2e-9, 2e-11,
    // 3e-15, 2e-12.
    let elimination = Elimination {
        marginals: false,
        ..Default::default()
    };
    for name in ["Grids_11", "Grids_12", "Grids_15", "Grids_16"] {
        let lm = io::load(&bench_dir().join(format!("{name}.uai")), None).unwrap();
        let exact = elimination.solve(&lm.model).unwrap().ln_z;
        let est = Tn::default().solve(&lm.model).unwrap();
        let rel = (est.ln_z - exact).abs() / exact.abs();
        assert!(
            rel < 1e-6,
            "{name}: tn {} vs {exact} (rel {rel:e})",
            est.ln_z
        );
        // Grids_12 is 10 columns wide: χ = 64 ≥ its full Schmidt rank 2^5, so the dense
        // path runs and is exact. The others are truncated MPS contractions (and at strong
        // couplings the MPS has no a-priori bound), so never called exact.
        if name == "Grids_12" {
            assert_eq!(est.kind, EstimateKind::Exact, "{name}");
            assert_eq!(est.diagnostics.algorithm, "tn-dense");
        } else {
            assert_eq!(est.kind, EstimateKind::Approximation, "{name}");
        }
    }
}

#[test]
fn dense_path_is_exact_on_every_grid_benchmark() {
    // χ at the full Schmidt rank (4^5 for the 10 × 10 tori, 2^10 for the 20 × 20 open grids):
    // the dense boundary state, including Grids_13/14 (tori where the MPS floors at 1.6e-6 or
    // loses positivity) and Grids_17/18 (strong frustrated couplings).
    let elimination = Elimination {
        marginals: false,
        ..Default::default()
    };
    for name in [
        "Grids_11", "Grids_12", "Grids_13", "Grids_14", "Grids_15", "Grids_16", "Grids_17",
        "Grids_18",
    ] {
        let lm = io::load(&bench_dir().join(format!("{name}.uai")), None).unwrap();
        let exact = elimination.solve(&lm.model).unwrap().ln_z;
        let est = Tn {
            chi: 1024,
            error_estimate: false,
        }
        .solve(&lm.model)
        .unwrap();
        assert_eq!(est.diagnostics.algorithm, "tn-dense", "{name}");
        assert_eq!(est.kind, EstimateKind::Exact, "{name}");
        let rel = (est.ln_z - exact).abs() / exact.abs();
        assert!(
            rel < 1e-10,
            "{name}: tn {} vs {exact} (rel {rel:e})",
            est.ln_z
        );
    }
}

#[test]
fn a_grid_read_from_a_file_is_recognised_without_declared_geometry() {
    let lm = io::load(&bench_dir().join("Grids_12.uai"), None).unwrap();
    let g = logz::model::grid::grid_shape(&lm.model).expect("a grid");
    assert_eq!(
        (g.rows, g.cols, g.periodic_rows, g.periodic_cols),
        (10, 10, false, false)
    );
    let lm = io::load(&bench_dir().join("Grids_11.uai"), None).unwrap();
    let g = logz::model::grid::grid_shape(&lm.model).expect("a grid");
    assert_eq!(
        (g.rows, g.cols, g.periodic_rows, g.periodic_cols),
        (10, 10, true, true)
    );
}
