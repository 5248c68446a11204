//! Speed benchmarks (divan): `cargo bench -p logz`. Not tests: they measure, they do not assert.
//!
//! * one naive mean-field sweep and one BP iteration on a 1024×1024 torus at β_c (per spin /
//!   per message figures: divide the time by 2^20 spins or 4·2^20 messages);
//! * exact ln Z of Grids_17 (400 spins) by elimination;
//! * enumeration of N = 24 and N = 30 (SK couplings, 2 threads);
//! * the multi-spin Metropolis sweep, the vectorised MF and BP lattice kernels, ten VAN steps.

use logz::exact::closed::SQUARE_BETA_C;
use logz::exact::{Elimination, Enumerate};
use logz::free_energy::bp::{self, Options, Schedule};
use logz::free_energy::MeanField;
use logz::model::builders::{self, Params};
use logz::Solver;

fn main() {
    divan::main();
}

fn torus(l: usize) -> logz::Model {
    builders::square(
        l,
        l,
        true,
        &Params {
            coupling: 1.0,
            field: 0.0,
            beta: SQUARE_BETA_C,
            seed: 0,
        },
    )
    .unwrap()
}

#[divan::bench(sample_count = 5)]
fn mean_field_sweep_1024(b: divan::Bencher) {
    let m = torus(1024);
    let one = MeanField {
        max_sweeps: 1,
        ..Default::default()
    };
    let mut x: Vec<f64> = (0..m.n())
        .map(|i| if i % 3 == 0 { 0.5 } else { -0.2 })
        .collect();
    b.bench_local(|| one.ascend(&m, &mut x));
}

#[divan::bench(sample_count = 5)]
fn bp_iteration_1024(b: divan::Bencher) {
    let m = torus(1024);
    let rho = vec![1.0; m.num_edges()];
    let opt = Options {
        tol: 0.0,
        max_iter: 1,
        damping: 0.0,
        // The generic (any-graph) code path: the parallel schedule.
        schedule: Schedule::Parallel,
    };
    let mut u = vec![0.1; 2 * m.num_edges()];
    b.counter(divan::counter::ItemsCount::new(2 * m.num_edges()))
        .bench_local(|| bp::propagate(&m, &rho, &opt, &mut u));
}

/// One BP iteration of the vectorised red–black square-torus kernel, 1024², h = 0.1 at β_c
/// (4·2^20 message updates).
#[divan::bench(sample_count = 10)]
fn bp_lattice_iteration_1024(b: divan::Bencher) {
    use logz::free_energy::lattice::LatticeBp;
    let m = builders::square(
        1024,
        1024,
        true,
        &Params {
            coupling: 1.0,
            field: 0.1,
            beta: SQUARE_BETA_C,
            seed: 0,
        },
    )
    .unwrap();
    let rho = vec![1.0; m.num_edges()];
    let u = vec![0.1; 2 * m.num_edges()];
    let mut lat = LatticeBp::new(&m, &rho, &u).unwrap();
    b.counter(divan::counter::ItemsCount::new(lat.messages()))
        .bench_local(|| lat.iterate(0.0));
}

#[divan::bench(sample_count = 3)]
fn elimination_grids_17(b: divan::Bencher) {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/uai");
    let lm = logz::io::load(&dir.join("Grids_17.uai"), None).unwrap();
    let s = Elimination {
        marginals: false,
        ..Default::default()
    };
    b.bench_local(|| s.solve(&lm.model).unwrap().ln_z);
}

#[divan::bench(args = [24, 30], sample_count = 1)]
fn enumerate_sk(b: divan::Bencher, n: usize) {
    let m = builders::sherrington_kirkpatrick(
        n,
        &Params {
            coupling: 1.0,
            field: 0.1,
            beta: 1.0,
            seed: 1,
        },
    )
    .unwrap();
    let s = Enumerate::default();
    b.bench_local(|| s.solve(&m).unwrap().ln_z);
}

/// One checkerboard Metropolis sweep of the multi-spin kernel on the 1024² torus at β_c
/// (2^20 flip attempts; `logz bench` prints the same as flips/ns with 1 and 2 threads).
#[divan::bench(sample_count = 10)]
fn multispin_metropolis_sweep_1024(b: divan::Bencher) {
    use logz::mc::multispin::{DefaultLattice, LatticeRule};
    let mut lat = DefaultLattice::torus(
        1024,
        1024,
        1.0,
        0.0,
        SQUARE_BETA_C,
        LatticeRule::Metropolis,
        1,
    )
    .unwrap();
    b.counter(divan::counter::ItemsCount::new(1usize << 20))
        .bench_local(|| lat.sweep());
}

/// One generic (any-graph) Metropolis sweep on a 128² torus, for comparison with the kernel.
#[divan::bench(sample_count = 10)]
fn generic_metropolis_sweep_128(b: divan::Bencher) {
    use logz::mc::local::{Local, Rule, Scan};
    use rand::SeedableRng;
    let m = torus(128);
    let mut s = vec![1i8; m.n()];
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let sampler = Local::new(&m, Rule::Metropolis, Scan::Sequential);
    b.counter(divan::counter::ItemsCount::new(m.n()))
        .bench_local(|| sampler.sweep(&mut s, &mut rng));
}

/// One Wolff sweep-equivalent (cluster flips totalling ~N spins) on a 128² torus at β_c.
#[divan::bench(sample_count = 10)]
fn wolff_sweep_128(b: divan::Bencher) {
    use logz::mc::cluster::Wolff;
    use rand::SeedableRng;
    let m = torus(128);
    let mut s = vec![1i8; m.n()];
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let mut w = Wolff::new(&m).unwrap();
    for _ in 0..50 {
        w.sweep(&mut s, &mut rng, true);
    }
    b.bench_local(|| w.sweep(&mut s, &mut rng, false));
}

/// One red–black mean-field sweep of the vectorised square-torus kernel, 1024² (2^20 updates).
#[divan::bench(sample_count = 10)]
fn mean_field_lattice_sweep_1024(b: divan::Bencher) {
    use logz::free_energy::lattice::LatticeMf;
    let m = torus(1024);
    let x: Vec<f64> = (0..m.n())
        .map(|i| if i % 3 == 0 { 0.5 } else { -0.2 })
        .collect();
    let mut lat = LatticeMf::new(&m, &x).unwrap();
    b.counter(divan::counter::ItemsCount::new(m.n()))
        .bench_local(|| lat.sweep(0.0));
}

/// Ten VAN training steps (batch 256, width 256, Z2) on the 16×16 torus at β_c — the unit of
/// the 15-minute training budget (evaluation reduced to two samples).
#[divan::bench(sample_count = 5)]
fn van_train_10_steps_16x16(b: divan::Bencher) {
    use logz::spin_vi::van::Van;
    let m = torus(16);
    let van = Van {
        steps: 10,
        eval_samples: 2,
        ..Van::default()
    };
    b.bench_local(|| van.train(&m, &logz::runner::Runner::new()).unwrap());
}
