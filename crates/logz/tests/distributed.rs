//! Distributed runs give bit-identical answers on any number of ranks.
//!
//! The ranks here are threads of one process (`distributed::threads`), which run the very same
//! code paths as MPI ranks — the gathers, the shares, the agreed stops — without MPI installed.
//! The same comparisons under `mpirun` are in `crates/logz-cli/tests/mpi.rs` (feature `mpi`).

use logz::disorder::{self, Config};
use logz::distributed::threads;
use logz::methods::MethodOptions;
use logz::model::builders::{self, Params};
use logz::runner::Runner;
use logz::spin_vi::van::Van;
use logz::{Ais, Solver, ThermodynamicIntegration};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn model(spec: &str, beta: f64) -> logz::Model {
    let p = Params {
        coupling: 1.0,
        field: 0.05,
        beta,
        seed: 4,
    };
    builders::from_spec(spec, &p).unwrap()
}

#[test]
fn disorder_means_are_identical_on_1_2_and_3_ranks() {
    let c = Config {
        spec: "sk:10".into(),
        coupling: 1.0,
        field: 0.0,
        instances: 7,
        betas: vec![0.5, 1.5],
        methods: vec!["exact".into(), "ais".into()],
        seed: 11,
        options: MethodOptions {
            steps: Some(50),
            runs: Some(8),
            ..Default::default()
        },
    };
    let one = disorder::average(&c, &Runner::new()).unwrap();
    for k in [2, 3] {
        for rows in threads::run(k, |_| disorder::average(&c, &Runner::new()).unwrap()) {
            assert_eq!(rows.len(), one.len());
            for (a, b) in one.iter().zip(&rows) {
                assert_eq!(
                    a.mean_ln_z_per_spin.to_bits(),
                    b.mean_ln_z_per_spin.to_bits()
                );
                assert_eq!(a.std_err.map(f64::to_bits), b.std_err.map(f64::to_bits));
            }
        }
    }
}

#[test]
fn ti_and_ais_estimates_are_identical_on_1_2_and_3_ranks() {
    let m = model("square:6", 0.35);
    let ti = ThermodynamicIntegration {
        sweeps: 400,
        burn_in: 100,
        rungs: 9,
        max_rungs: 9,
        chains: 3,
        seed: 5,
        ..Default::default()
    };
    let ais = Ais {
        steps: 100,
        runs: 10,
        doublings: 1,
        seed: 5,
    };
    let one_ti = ti.solve_with(&m, &Runner::new()).unwrap();
    let one_ais = ais.solve_with(&m, &Runner::new()).unwrap();
    for k in [2, 3] {
        let out = threads::run(k, |_| {
            (
                ti.solve_with(&m, &Runner::new()).unwrap(),
                ais.solve_with(&m, &Runner::new()).unwrap(),
            )
        });
        for (t, a) in out {
            assert_eq!(t.ln_z.to_bits(), one_ti.ln_z.to_bits());
            assert_eq!(
                t.kind.std_err().map(f64::to_bits),
                one_ti.kind.std_err().map(f64::to_bits)
            );
            assert_eq!(bits(&t.magnetization), bits(&one_ti.magnetization));
            assert_eq!(t.diagnostics.notes, one_ti.diagnostics.notes);
            assert_eq!(a.ln_z.to_bits(), one_ais.ln_z.to_bits());
            assert_eq!(a.diagnostics.notes, one_ais.diagnostics.notes);
        }
    }
    // And the answer is still right: within 4σ of the exact ln Z, σ small.
    let exact = logz::Exact.solve(&m).unwrap().ln_z;
    let se = one_ti.kind.std_err().unwrap();
    assert!(
        se < 0.05 && (one_ti.ln_z - exact).abs() < 4.0 * se,
        "{} ± {se} vs {exact}",
        one_ti.ln_z
    );
}

#[test]
fn van_training_gives_identical_parameters_on_1_2_and_3_ranks() {
    let m = model("square:4", 0.3);
    let van = Van {
        width: Some(8),
        steps: 20,
        // 3 chunks of 32 and a partial one: ranks own unequal shares.
        batch: 100,
        eval_samples: 70,
        seed: 2,
        ..Default::default()
    };
    let (net, rep) = van.train(&m, &Runner::new()).unwrap();
    for k in [2, 3] {
        for (n2, r2) in threads::run(k, |_| van.train(&m, &Runner::new()).unwrap()) {
            assert_eq!(bits(&n2.params), bits(&net.params));
            assert_eq!(r2.elbo.to_bits(), rep.elbo.to_bits());
            assert_eq!(r2.iw_ln_z.to_bits(), rep.iw_ln_z.to_bits());
            let tr = |r: &logz::spin_vi::van::VanReport| -> Vec<u64> {
                r.trace.iter().map(|x| x.1.to_bits()).collect()
            };
            assert_eq!(tr(&r2), tr(&rep));
        }
    }
}
