//! `logz bench`: throughput of the Monte Carlo fast path, printed beside the reference figures
//! measured on this kind of machine (../shared/reference/README.md) as ratios.
//!
//! Criterion-style statistics live in `cargo bench -p logz` (divan); this command answers the
//! question a user asks — "how many spin flips per nanosecond on my machine, on 1 and 2 cores?" —
//! on the lattice sizes, which are too large for a statistical benchmark harness.

use crate::outln;
use anyhow::{anyhow, Result};
use clap::Args;
use logz::mc::multispin::LatticeRule;
use logz::mc::throughput::{flips_per_ns, Torus};

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
    /// Inverse Ising: learn SK couplings back from Gibbs samples (mf, plm) beside the
    /// scikit-learn peer; with --curve, ε_J against M for every learner (SVG, CSV)
    Learn,
    /// ln Z/N error against time for every method family at β_c on the 16×16 torus (Kaufman)
    /// and the infinite lattice (Onsager); --quick, --markdown, --json, --csv
    Critical,
    /// NUTS on the breast-cancer logistic posterior against the NumPyro reference, beside
    /// hmc, full-rank ADVI and SVGD (uses the last of --threads)
    Nuts,
    /// Coverage of the evidence bracket: [ELBO, CUBO] against the exact ln p(y) of Bayesian
    /// linear regression over --seeds data sets of --rows rows (default 10⁴)
    Bracket,
    /// Tensor RG on the infinite square lattice at β_c: plain and bond-weighted TRG over --chi
    /// and --threads, side by side with the numpy peer (--python, --peer) as a speed ratio
    Trg,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(value_enum, default_value = "mc")]
    pub what: BenchWhat,
    /// blr: rows of age → income data held in memory [default: 10⁷]; bracket: rows of each
    /// data set [default: 10⁴]
    #[arg(long)]
    pub rows: Option<usize>,
    /// bracket: data sets (seeds 1..=N)
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Square-lattice sides to time (comma-separated); empty to skip
    #[arg(long, default_value = "1024,8192", value_parser = side_list)]
    pub sizes: Sides,
    /// Cubic-lattice sides to time (at the cubic β_c ≈ 0.22165); empty to skip
    #[arg(long, default_value = "128,512", value_parser = side_list)]
    pub cubic: Sides,
    /// Thread counts to time
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Seconds of sweeping per case (after one warm-up sweep)
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// learn: spins of the SK model (default 64; 16 with --curve)
    #[arg(long)]
    pub spins: Option<usize>,
    /// learn: samples
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    /// learn: inverse temperatures (comma-separated; default 1.0,1.6, or 0.5,1.0,1.6 with --curve)
    #[arg(long, value_delimiter = ',')]
    pub betas: Vec<f64>,
    /// learn: the ε_J-against-M figure (exact samples) instead of the timing table
    #[arg(long)]
    pub curve: bool,
    /// learn --curve: output folder
    #[arg(long, default_value = "logz-out/learn")]
    pub out: std::path::PathBuf,
    /// learn: seed of the instance and the samples; nuts: seed of the samplers
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// learn: instead of SK, a random-coupling L × L torus, learned by plm and by
    /// boltzmann/pcd (the lattice goal: pcd's ε_J within 10% of plm's)
    #[arg(long)]
    pub lattice: Option<usize>,
    /// trg: bond dimensions χ (comma-separated)
    #[arg(long, value_delimiter = ',', default_value = "8,16,24,32")]
    pub chi: Vec<usize>,
    /// trg: a Python interpreter with numpy and scipy, to run the peer side by side
    #[arg(long)]
    pub python: Option<std::path::PathBuf>,
    /// trg: the peer script [default: ../shared/reference/trg_numpy.py, if found]
    #[arg(long)]
    pub peer: Option<std::path::PathBuf>,
    /// critical: small settings (a smoke test, seconds), not the README table
    #[arg(long)]
    pub quick: bool,
    /// critical: the table as JSON
    #[arg(long, conflicts_with_all = ["csv", "markdown"])]
    pub json: bool,
    /// critical: the table as CSV
    #[arg(long, conflicts_with = "markdown")]
    pub csv: bool,
    /// critical: the table as Markdown (paste-ready for the README)
    #[arg(long)]
    pub markdown: bool,
}

/// Most threads a case may ask for (a pool of millions of threads would exhaust the system).
const MAX_THREADS: usize = 1024;

/// A comma-separated list of lattice sides, possibly empty. (An alias rather than `Vec<usize>`,
/// so that clap parses the whole argument with [`side_list`] instead of splitting it into values,
/// each of which would have to be a number — an empty argument would then be an error.)
pub type Sides = Vec<usize>;

/// Parse "1024,8192" (or "" for none) into lattice sides.
fn side_list(s: &str) -> std::result::Result<Sides, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{t}' is not a lattice side (a whole number)"))
        })
        .collect()
}

fn time_case(
    l: usize,
    cubic: bool,
    threads: usize,
    rule: LatticeRule,
    seconds: f64,
) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow!("thread pool: {e}"))?;
    let lattice = if cubic {
        Torus::Cubic(l)
    } else {
        Torus::Square(l)
    };
    Ok(pool.install(|| flips_per_ns(lattice, rule, seconds, 1))?)
}

pub fn run(a: &BenchArgs) -> Result<()> {
    if a.what == BenchWhat::Blr {
        return crate::bench_blr::run(a.rows.unwrap_or(10_000_000));
    }
    if a.what == BenchWhat::Bracket {
        return crate::bench_bracket::run(a.rows.unwrap_or(10_000), a.seeds);
    }
    if a.what == BenchWhat::Trg {
        if a.threads.iter().any(|&t| t == 0 || t > MAX_THREADS) {
            return Err(anyhow!("threads must be in 1..={MAX_THREADS}"));
        }
        let peer = crate::bench_trg::peer_from(a.python.as_deref(), a.peer.as_deref());
        if a.python.is_some() && peer.is_none() {
            return Err(anyhow!(
                "bench trg: the peer script was not found; give its path with --peer"
            ));
        }
        return crate::bench_trg::run(&a.chi, &a.threads, peer.as_ref());
    }
    if a.what == BenchWhat::Critical {
        use crate::bench_critical::Format;
        let format = match (a.json, a.csv, a.markdown) {
            (true, _, _) => Format::Json,
            (_, true, _) => Format::Csv,
            (_, _, true) => Format::Markdown,
            _ => Format::Text,
        };
        return crate::bench_critical::run(a.quick, format);
    }
    if a.what == BenchWhat::Nuts {
        let threads = a.threads.last().copied().unwrap_or(2);
        if threads == 0 || threads > MAX_THREADS {
            return Err(anyhow!("threads must be in 1..={MAX_THREADS}"));
        }
        return crate::bench_nuts::run(threads, a.seed);
    }
    if a.what == BenchWhat::Learn {
        if let Some(side) = a.lattice {
            return crate::bench_learn::lattice(side, a.samples, a.seed);
        }
        return if a.curve {
            let betas = if a.betas.is_empty() {
                vec![0.5, 1.0, 1.6]
            } else {
                a.betas.clone()
            };
            crate::bench_learn::curve(a.spins.unwrap_or(16), &betas, a.seed, &a.out)
        } else {
            let betas = if a.betas.is_empty() {
                vec![1.0, 1.6]
            } else {
                a.betas.clone()
            };
            crate::bench_learn::run(a.spins.unwrap_or(64), a.samples, &betas, a.seed)
        };
    }
    let bad = |l: &usize| *l < 4 || !l.is_multiple_of(2);
    if a.sizes.iter().any(bad)
        || a.cubic.iter().any(bad)
        || a.threads.iter().any(|&t| t == 0 || t > MAX_THREADS)
        || !(a.seconds.is_finite() && a.seconds > 0.0)
    {
        return Err(anyhow!(
            "sizes must be even and ≥ 4, threads in 1..={MAX_THREADS}, seconds finite and > 0 \
             (got seconds = {})",
            a.seconds
        ));
    }
    // The whole run (two rules × every case × every thread count) must fit the time budget.
    let cases = (a.sizes.len() + a.cubic.len()) * a.threads.len() * 2;
    logz::limits::Limits::current().check_seconds(
        &format!("bench: {cases} cases × {} s", a.seconds),
        cases as f64 * a.seconds,
    )?;
    // Every lattice must fit before the table starts: an error never follows partial output.
    for &l in &a.sizes {
        logz::mc::throughput::check(Torus::Square(l))?;
    }
    for &l in &a.cubic {
        logz::mc::throughput::check(Torus::Cubic(l))?;
    }
    outln!("multi-spin checkerboard kernel, J = 1, h = 0, β = β_c, exact per-spin acceptance");
    outln!(
        "{:<11} {:>10} {:>8} {:>14} {:>10}",
        "rule",
        "lattice",
        "threads",
        "flips/ns",
        "per core"
    );
    let mut metro_1024_1 = None;
    let cases: Vec<(usize, bool)> = a
        .sizes
        .iter()
        .map(|&l| (l, false))
        .chain(a.cubic.iter().map(|&l| (l, true)))
        .collect();
    for rule in [LatticeRule::Metropolis, LatticeRule::HeatBath] {
        for &(l, cubic) in &cases {
            for &t in &a.threads {
                let r = time_case(l, cubic, t, rule, a.seconds)?;
                if rule == LatticeRule::Metropolis
                    && !cubic
                    && t == 1
                    && (l == 1024 || metro_1024_1.is_none())
                {
                    metro_1024_1 = Some(r);
                }
                outln!(
                    "{:<11} {:>10} {:>8} {:>14.3} {:>10.3}",
                    format!("{rule:?}").to_lowercase(),
                    if cubic {
                        format!("{l}³")
                    } else {
                        format!("{l}²")
                    },
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
