//! The cost model of distributed runs, measured on this machine (feature `mpi`):
//!
//! ```text
//! cargo build --release --features mpi -p logz --example mpi_cost
//! mpirun -np 2 target/release/examples/mpi_cost                       # shared memory
//! mpirun -np 2 --mca btl tcp,self target/release/examples/mpi_cost    # TCP (a network's floor)
//! ```
//!
//! It measures (1) the compute of one Metropolis sweep of one replica (square L×L, one thread),
//! (2) the round trip of a one-word ping-pong between ranks 0 and 1 and (3) the time of the
//! gathers the distributed methods make (`Communicator::all_gather`, 2 words per replica for
//! parallel tempering), then predicts the efficiency at 16–1024 ranks:
//!
//! * parallel tempering, r replicas per rank, labels exchanged after every b sweeps:
//!   E(P) = r·b·t_sweep / (r·b·t_sweep + t_gather(P)), t_gather(P) ≈ α·⌈log₂ P⌉ + 16 B·r·b·P / B_w
//!   with b = `--exchange-every` (recursive doubling: log₂ P latency steps, and every rank
//!   receives all 2·r·b·P words);
//! * independent items (disorder instances, AIS runs), K items of t_item each, one final gather:
//!   E(P) = (K/P)·t_item / (⌈K/P⌉·t_item + α·⌈log₂ P⌉ + bytes·P / B_w).
//!
//! α (latency) and B_w (bandwidth) are the measured ones, or given as `ALPHA_US=… BW_GBS=…` to
//! plan for another network.

use logz::distributed::mpi::{init, World};
use logz::distributed::Communicator;
use logz::mc::local::{Local, Rule, Scan};
use logz::model::builders::{self, Params};
use mpi::topology::Communicator as _;
use mpi::traits::{Destination, Source};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per Metropolis sweep of one replica of an L×L torus at β_c (median of 5 blocks).
fn sweep_seconds(l: usize) -> f64 {
    let p = Params {
        coupling: 1.0,
        field: 0.0,
        beta: 0.4407,
        seed: 1,
    };
    let m = builders::square(l, l, true, &p).expect("lattice");
    let mut rng = logz::rng::stream(1, 0);
    let mut s: Vec<i8> = (0..m.n())
        .map(|i| if i % 3 == 0 { 1 } else { -1 })
        .collect();
    let sweeps = (2_000_000 / m.n()).max(20);
    let blocks = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..sweeps {
                Local::new(&m, Rule::Metropolis, Scan::Sequential).sweep(&mut s, &mut rng);
                std::hint::black_box(m.energy(&s));
            }
            t.elapsed().as_secs_f64() / sweeps as f64
        })
        .collect();
    median(blocks)
}

fn main() {
    let _universe = init().expect("MPI");
    let world = World::new();
    let raw = mpi::topology::SimpleCommunicator::world();
    let (rank, size) = (world.rank(), world.size());
    assert!(size >= 2, "run under mpirun -np 2 (or more)");
    // (2) One-word ping-pong between ranks 0 and 1: half the round trip is the latency α.
    let reps = 20_000;
    let mut rtts = Vec::new();
    for round in 0..5 {
        world.barrier();
        let t = Instant::now();
        for i in 0..reps {
            let x = (i + round) as f64;
            if rank == 0 {
                raw.process_at_rank(1).send(&x);
                let (_y, _): (f64, _) = raw.process_at_rank(1).receive();
            } else if rank == 1 {
                let (y, _): (f64, _) = raw.process_at_rank(0).receive();
                raw.process_at_rank(0).send(&y);
            }
        }
        rtts.push(t.elapsed().as_secs_f64() / reps as f64);
    }
    let rtt = median(rtts);
    // (3) The gathers: 2 words per replica (PT with r = 1, 8, 64 replicas per rank) and a
    // 100 000-word gradient-sized message for the bandwidth.
    let mut gather = Vec::new();
    for words in [2usize, 16, 128, 100_000] {
        let buf = vec![7u64; words];
        let n = if words > 1000 { 200 } else { 20_000 };
        let mut ts = Vec::new();
        for _ in 0..5 {
            world.barrier();
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(world.all_gather(&buf));
            }
            ts.push(t.elapsed().as_secs_f64() / n as f64);
        }
        gather.push((words, median(ts)));
    }
    // (1) Compute per sweep (each rank measures; rank 0 reports its own).
    let sweeps: Vec<(usize, f64)> = [16usize, 32, 64]
        .iter()
        .map(|&l| (l, sweep_seconds(l)))
        .collect();
    if rank != 0 {
        return;
    }
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let alpha = env("ALPHA_US").map_or(rtt / 2.0, |a| a * 1e-6);
    let (w_big, t_big) = gather[3];
    let measured_bw = (8.0 * w_big as f64 * (size - 1) as f64) / (t_big - gather[0].1).max(1e-9);
    let bw = env("BW_GBS").map_or(measured_bw, |b| b * 1e9);
    println!(
        "ranks {size}; ping-pong round trip {:.2} µs → α = {:.2} µs",
        rtt * 1e6,
        rtt * 0.5e6
    );
    for (w, t) in &gather {
        println!(
            "all_gather of {w:>6} words per rank on {size} ranks: {:.2} µs",
            t * 1e6
        );
    }
    println!(
        "bandwidth (from the 100 000-word gather): {:.2} GB/s",
        measured_bw / 1e9
    );
    for (l, t) in &sweeps {
        println!(
            "Metropolis sweep of one {l}×{l} replica (one thread): {:.2} µs",
            t * 1e6
        );
    }
    println!(
        "\nmodel with α = {:.2} µs, B_w = {:.2} GB/s{}",
        alpha * 1e6,
        bw / 1e9,
        if env("ALPHA_US").is_some() {
            " (given)"
        } else {
            " (measured)"
        }
    );
    let t_gather = |p: f64, words: f64| alpha * p.log2().ceil() + 8.0 * words * p / bw;
    println!("parallel tempering, r replicas per rank, an exchange every b sweeps: efficiency");
    println!(
        "{:>4} {:>3} {:>4} {:>7} {:>7} {:>7} {:>7}",
        "L", "r", "b", "P=16", "P=64", "P=256", "P=1024"
    );
    for &(l, ts) in &sweeps {
        for (r, b) in [(1.0, 1.0), (8.0, 1.0), (1.0, 10.0), (8.0, 10.0)] {
            let e: Vec<String> = [16.0, 64.0, 256.0, 1024.0]
                .iter()
                .map(|&p| {
                    let work = r * b * ts;
                    format!("{:.2}", work / (work + t_gather(p, 2.0 * r * b)))
                })
                .collect();
            println!(
                "{l:>4} {r:>3} {b:>4} {:>7} {:>7} {:>7} {:>7}",
                e[0], e[1], e[2], e[3]
            );
        }
    }
    // Disorder: 10 000 instances of sk:20 exact (≈ 2^19 states × 20 → ~5 ms each), 3 numbers.
    let t_item = 5e-3;
    let k = 10_000.0f64;
    println!(
        "disorder average, {k} instances of {:.0} ms, one gather: efficiency",
        t_item * 1e3
    );
    let e: Vec<String> = [16.0, 64.0, 256.0, 1024.0]
        .iter()
        .map(|&p: &f64| {
            let per = (k / p).ceil();
            format!(
                "{:.3}",
                (k / p) * t_item / (per * t_item + t_gather(p, 3.0 * per))
            )
        })
        .collect();
    println!(
        "P=16 {}  P=64 {}  P=256 {}  P=1024 {}",
        e[0], e[1], e[2], e[3]
    );
}
