//! `logz bench`: throughput of the Monte Carlo fast path, printed beside the reference figures
//! measured on this kind of machine (../shared/reference/README.md) as ratios.
//!
//! Criterion-style statistics live in `cargo bench -p logz` (divan); this command answers the
//! question a user asks — "how many spin flips per nanosecond on my machine, on 1 and 2 cores?" —
//! on the lattice sizes, which are too large for a statistical benchmark harness.

use crate::outln;
use anyhow::{anyhow, Result};
use clap::Args;
use logz::exact::closed::SQUARE_BETA_C;
use logz::mc::multispin::{DefaultLattice, LatticeRule};

/// Reference figures for Metropolis on the 1024² torus at β_c (flip attempts per ns).
const REFERENCES: &[(&str, f64)] = &[
    ("numpy checkerboard", 0.05),
    ("naive scalar C loop", 0.15),
    ("plain Rust checkerboard", 0.18),
];

#[derive(Copy, Clone, Debug, PartialEq, clap::ValueEnum)]
pub enum BenchWhat {
    /// Monte Carlo: flips/ns of the multi-spin kernel
    Mc,
    /// Bayesian linear regression: time to the exact posterior (mean 1%, sd 10%)
    Blr,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(value_enum, default_value = "mc")]
    pub what: BenchWhat,
    /// blr: rows of age → income data held in memory
    #[arg(long, default_value_t = 10_000_000)]
    pub rows: usize,
    /// Lattice sides to time
    #[arg(long, value_delimiter = ',', default_value = "1024,8192")]
    pub sizes: Vec<usize>,
    /// Thread counts to time
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Seconds of sweeping per case (after one warm-up sweep)
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
}

fn time_case(l: usize, threads: usize, rule: LatticeRule, seconds: f64) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow!("thread pool: {e}"))?;
    pool.install(|| {
        let mut lat = DefaultLattice::torus(l, l, 1.0, 0.0, SQUARE_BETA_C, rule, 1)?;
        lat.sweep();
        let t0 = std::time::Instant::now();
        let mut sweeps = 0usize;
        while sweeps == 0 || t0.elapsed().as_secs_f64() < seconds {
            lat.sweep();
            sweeps += 1;
        }
        Ok((l * l * sweeps) as f64 / t0.elapsed().as_secs_f64() / 1e9)
    })
}

pub fn run(a: &BenchArgs) -> Result<()> {
    if a.what == BenchWhat::Blr {
        return crate::bench_blr::run(a.rows);
    }
    if a.sizes.iter().any(|&l| l < 4 || l % 2 != 0) || a.threads.contains(&0) || a.seconds <= 0.0 {
        return Err(anyhow!(
            "sizes must be even and ≥ 4, threads ≥ 1, seconds > 0"
        ));
    }
    outln!("multi-spin checkerboard kernel, J = 1, h = 0, β = β_c, exact per-spin acceptance");
    outln!(
        "{:<11} {:>7} {:>8} {:>14} {:>10}",
        "rule",
        "L",
        "threads",
        "flips/ns",
        "per core"
    );
    let mut metro_1024_1 = None;
    for rule in [LatticeRule::Metropolis, LatticeRule::HeatBath] {
        for &l in &a.sizes {
            for &t in &a.threads {
                let r = time_case(l, t, rule, a.seconds)?;
                if rule == LatticeRule::Metropolis
                    && t == 1
                    && (l == 1024 || metro_1024_1.is_none())
                {
                    metro_1024_1 = Some(r);
                }
                outln!(
                    "{:<11} {:>7} {:>8} {:>14.3} {:>10.3}",
                    format!("{rule:?}").to_lowercase(),
                    l,
                    t,
                    r,
                    r / t as f64
                );
            }
        }
    }
    if let Some(r) = metro_1024_1 {
        outln!(
            "\nMetropolis on one core against the reference peers (measured on the 1024² torus):"
        );
        for (name, x) in REFERENCES {
            outln!(
                "  {name:<26} {x:>6.2} flips/ns   logz is {:>6.1}× faster",
                r / x
            );
        }
    }
    Ok(())
}
