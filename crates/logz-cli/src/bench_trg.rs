//! `logz bench trg`: tensor RG on the infinite square lattice at β_c, side by side with the numpy
//! peer (../shared/reference/trg_numpy.py, Levin–Nave TRG), at equal χ and thread count.
//!
//! For each χ and thread count it runs plain TRG (bond-weight exponent k = 0, the peer's
//! algorithm) and bond-weighted TRG (k = −½, logz's default) and, when a Python with numpy is
//! given or found, the peer with its BLAS limited to the same number of threads. It prints the
//! relative error against Onsager, wall and CPU seconds, and the speed ratio peer / plain TRG.
//! One untimed warm-up run comes first. Nothing here is a test: the figures depend on the machine
//! and its load, which is printed.

use crate::bench_critical::{cpu_seconds, load_average};
use crate::outln;
use anyhow::{anyhow, Result};
use logz::exact::closed::{onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::rg::trg::{infinite_ln_z, LatticeKind, TrgParams};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Coarse-graining steps of the peer (its default); logz stops by itself at the fixed point.
const PEER_STEPS: usize = 40;

/// Where to find the peer and how to run it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// A Python interpreter with numpy and scipy.
    pub python: PathBuf,
    /// trg_numpy.py.
    pub script: PathBuf,
}

/// One logz run: relative error, steps, wall and CPU seconds.
struct Run {
    rel_err: f64,
    steps: usize,
    wall: f64,
    cpu: Option<f64>,
}

fn run_logz(chi: usize, k: f64, threads: usize, exact: f64) -> Result<Run> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow!("thread pool: {e}"))?;
    let p = TrgParams {
        chi,
        k,
        ..TrgParams::default()
    };
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let r = pool.install(|| infinite_ln_z(LatticeKind::Square, SQUARE_BETA_C, 0.0, &p))?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    Ok(Run {
        rel_err: (r.ln_z - exact).abs() / exact,
        steps: r.steps,
        wall,
        cpu,
    })
}

/// What the peer printed: its relative error and its own time (the script times the TRG loop
/// alone, without interpreter start-up or the Onsager quadrature).
struct PeerRun {
    rel_err: f64,
    seconds: f64,
}

fn run_peer(peer: &Peer, chi: usize, threads: usize) -> std::result::Result<PeerRun, String> {
    let t = threads.to_string();
    let out = Command::new(&peer.python)
        .arg(&peer.script)
        .arg(format!("{SQUARE_BETA_C}"))
        .arg(chi.to_string())
        .arg(PEER_STEPS.to_string())
        .env("OMP_NUM_THREADS", &t)
        .env("OPENBLAS_NUM_THREADS", &t)
        .env("MKL_NUM_THREADS", &t)
        .output()
        .map_err(|e| format!("could not start {}: {e}", peer.python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("no output").to_string();
        return Err(format!("the peer failed: {last}"));
    }
    let field = |key: &str| -> Option<f64> {
        let at = text.find(key)? + key.len();
        text[at..].split_whitespace().next()?.parse().ok()
    };
    match (field("rel.err="), field("time=")) {
        (Some(rel_err), Some(seconds)) => Ok(PeerRun { rel_err, seconds }),
        _ => Err(format!("unexpected peer output: {}", text.trim())),
    }
}

/// The peer found next to the repository (../shared/reference/trg_numpy.py from the working
/// directory or from the executable's repository), if any.
pub fn default_script() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("../shared/reference/trg_numpy.py")];
    if let Ok(exe) = std::env::current_exe() {
        // target/release/logz → the repository is three levels up; shared/ sits beside it.
        if let Some(repo) = exe.ancestors().nth(3) {
            candidates.push(repo.join("../shared/reference/trg_numpy.py"));
        }
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Run the comparison for every χ in `chis` and thread count in `threads`.
pub fn run(chis: &[usize], threads: &[usize], peer: Option<&Peer>) -> Result<()> {
    if chis.is_empty() || chis.iter().any(|&c| !(2..=64).contains(&c)) {
        return Err(anyhow!("bench trg: --chi takes bond dimensions in 2..=64"));
    }
    let exact = onsager_ln_z_per_spin(SQUARE_BETA_C);
    // One untimed run first, at every thread count: the first run in a process pays for
    // first-touch memory and lazy initialisation (the peer's timer likewise starts after its
    // imports), which would otherwise land on whichever row comes first.
    for &t in threads {
        run_logz(chis[0], 0.0, t, exact)?;
    }
    outln!(
        "Tensor RG, infinite square lattice at β_c (Onsager ln Z/N = {exact:.13}); load {}",
        load_average().map_or("unknown".to_string(), |l| format!("{l:.2}"))
    );
    match peer {
        Some(p) => outln!(
            "peer: {} {} (Levin–Nave TRG, numpy, {PEER_STEPS} steps, BLAS threads = ours)",
            p.python.display(),
            p.script.display()
        ),
        None => outln!("peer: not run (give --python with numpy and scipy, and --peer)"),
    }
    outln!(
        "{:>3} {:>7} | {:>9} {:>5} {:>7} {:>7} | {:>9} {:>7} | {:>9} {:>7} | {:>7}",
        "χ",
        "threads",
        "TRG err",
        "steps",
        "wall s",
        "cpu s",
        "BTRG err",
        "wall s",
        "peer err",
        "wall s",
        "speed-up"
    );
    for &chi in chis {
        for &t in threads {
            let plain = run_logz(chi, 0.0, t, exact)?;
            let bond = run_logz(chi, -0.5, t, exact)?;
            let (peer_err, peer_s, ratio) = match peer.map(|p| run_peer(p, chi, t)) {
                Some(Ok(pr)) => (
                    format!("{:.2e}", pr.rel_err),
                    format!("{:.3}", pr.seconds),
                    format!("{:.1}×", pr.seconds / plain.wall),
                ),
                Some(Err(e)) => {
                    outln!("peer at χ = {chi}: {e}");
                    ("–".into(), "–".into(), "–".into())
                }
                None => ("–".into(), "–".into(), "–".into()),
            };
            outln!(
                "{chi:>3} {t:>7} | {:>9.2e} {:>5} {:>7.3} {:>7} | {:>9.2e} {:>7.3} | {peer_err:>9} {peer_s:>7} | {ratio:>7}",
                plain.rel_err,
                plain.steps,
                plain.wall,
                plain.cpu.map_or("–".to_string(), |c| format!("{c:.2}")),
                bond.rel_err,
                bond.wall,
            );
        }
    }
    Ok(())
}

/// Resolve the peer from the command line: both paths given, or the script found by
/// [`default_script`] with the given interpreter.
pub fn peer_from(python: Option<&Path>, script: Option<&Path>) -> Option<Peer> {
    let python = python?.to_path_buf();
    let script = script.map(Path::to_path_buf).or_else(default_script)?;
    Some(Peer { python, script })
}
