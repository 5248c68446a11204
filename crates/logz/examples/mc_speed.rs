//! Spin-flip attempts per ns of the multi-spin kernel on an L×L torus at β_c.
//! Usage: cargo run --release --example mc_speed -- [L] [sweeps] [metropolis|heatbath]
use logz::mc::multispin::{DefaultLattice, LatticeRule};
use logz::model::builders::{square, Params};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let l: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let sweeps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let rule = match args.get(3).map(|s| s.as_str()) {
        Some("heatbath") => LatticeRule::HeatBath,
        _ => LatticeRule::Metropolis,
    };
    let p = Params {
        beta: logz::exact::closed::SQUARE_BETA_C,
        ..Params::default()
    };
    let m = square(l, l, true, &p).unwrap();
    let mut lat = DefaultLattice::new(&m, rule, &vec![1i8; l * l], 1).unwrap();
    lat.sweep();
    let t0 = std::time::Instant::now();
    for _ in 0..sweeps {
        lat.sweep();
    }
    let dt = t0.elapsed().as_secs_f64();
    let (_, mag) = lat.energy_magnetization();
    println!(
        "L={l} {rule:?}: {:.3} flips/ns on {} threads, |m| = {:.4}",
        (l * l * sweeps) as f64 / dt / 1e9,
        rayon::current_num_threads(),
        (mag / (l * l) as f64).abs()
    );
}
