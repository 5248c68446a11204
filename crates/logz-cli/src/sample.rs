//! `logz sample`: run a Markov chain sampler, print observables with autocorrelation-aware
//! error bars (value ± error, τ_int, ESS, R̂) beside the exact value where one is cheap, and
//! optionally write the trace (CSV) and a snapshot of the lattice (PNG).

use crate::progress::Bar;
use crate::{load_model, out, outln, ModelArgs};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use logz::estimate::ErrorBar;
use logz::exact::reference::exact_observables;
use logz::mc::{sample, sample_saving, Algorithm, KernelChoice, SampleOptions, SampleRun, Summary};
use logz::{Geometry, Model};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct SampleArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// metropolis, metropolis-random, heatbath, wolff, sw or pt
    #[arg(long, short, default_value = "metropolis")]
    pub algorithm: String,
    /// Measured sweeps per chain
    #[arg(long, default_value_t = 10_000)]
    pub sweeps: usize,
    /// Discarded sweeps per chain
    #[arg(long, default_value_t = 1_000)]
    pub burn_in: usize,
    /// Independent chains (run in parallel; R̂ compares them)
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// auto (multi-spin kernel when the model is a uniform square or cubic torus), generic or multispin
    #[arg(long, default_value = "auto")]
    pub kernel: String,
    /// Parallel tempering: replicas and lowest β as a fraction of β
    #[arg(long, default_value_t = 16)]
    pub replicas: usize,
    #[arg(long, default_value_t = 0.2)]
    pub beta_min: f64,
    /// Parallel tempering: sweeps between exchange attempts (under mpirun: fewer, cheaper
    /// synchronisations between ranks)
    #[arg(long, default_value_t = 1)]
    pub exchange_every: usize,
    /// Start from all spins up instead of a random state
    #[arg(long)]
    pub cold: bool,
    /// Write the energy and magnetisation per spin after every sweep (CSV)
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Draw the final state of chain 0 (square lattices, PNG)
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Write configurations (CSV: header s0,…,s{N-1}, one sample of −1/1 per line), every
    /// `--every`-th measured sweep of every chain, for `logz learn`
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Thinning of --save: keep one configuration every K measured sweeps
    #[arg(long, default_value_t = 1, requires = "save")]
    pub every: usize,
    #[arg(long)]
    pub json: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(a: &SampleArgs) -> Result<()> {
    let algorithm = Algorithm::parse(&a.algorithm)?;
    let kernel = match a.kernel.as_str() {
        "auto" => KernelChoice::Auto,
        "generic" => KernelChoice::Generic,
        "multispin" => KernelChoice::MultiSpin,
        k => return Err(anyhow!("--kernel '{k}': use auto, generic or multispin")),
    };
    if a.snapshot.is_some() && !matches!(load_geometry(&a.model)?, Geometry::Square { .. }) {
        return Err(anyhow!("--snapshot draws square lattices only"));
    }
    let lm = load_model(&a.model)?;
    let m = &lm.model;
    let o = SampleOptions {
        algorithm,
        sweeps: a.sweeps,
        burn_in: a.burn_in,
        chains: a.chains,
        seed: a.model.seed,
        kernel,
        replicas: a.replicas,
        beta_min_fraction: a.beta_min,
        cold_start: a.cold,
        correlations: false,
        exchange_every: a.exchange_every,
    };
    let bar = Bar::new(a.quiet || a.json);
    let t0 = std::time::Instant::now();
    let run = match a.save {
        Some(_) => sample_saving(m, &o, a.every, &crate::runner(&bar))?,
        None => sample(m, &o, &crate::runner(&bar))?,
    };
    let seconds = t0.elapsed().as_secs_f64();
    bar.clear();
    let summary = run.summary();
    let reference = exact_observables(m);
    let (exact_e, exact_abs, exact_lnz) = (
        reference.energy,
        reference.abs_magnetization,
        reference.ln_z,
    );
    // What ran: after a time limit the chains are trimmed to the sweeps all of them measured.
    let (chains, sweeps) = (run.chains.len(), run.chains[0].energy.len());
    let attempts =
        (sweeps as f64 + a.burn_in as f64) * chains as f64 * m.n() as f64 * run.ladder.len() as f64;
    let rate = attempts / seconds / 1e9;
    // Under mpirun every rank holds the same run; rank 0 writes the files.
    let root = crate::dist::is_root();
    if let (Some(p), true) = (&a.trace, root) {
        write_trace(p, &run)?;
    }
    if let (Some(p), true) = (&a.save, root) {
        let file = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        logz::learn::write_csv(std::io::BufWriter::new(file), m.n(), run.configurations())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let (Some(p), true) = (&a.snapshot, root) {
        write_snapshot(p, m, &run.chains[0].final_spins)?;
    }
    if a.json {
        let obs: Vec<serde_json::Value> = summary
            .observables
            .iter()
            .map(|o| {
                json!({"name": o.name, "value": o.value, "std_err": ErrorBar(o.std_err), "tau_int": o.tau_int,
                       "ess": o.ess, "blocking_err": o.blocking_err, "r_hat": o.r_hat})
            })
            .collect();
        let v = json!({
            "algorithm": algorithm.name(), "kernel": run.kernel, "model": a.model.model,
            "n": m.n(), "beta": m.beta(), "chains": chains, "sweeps": sweeps,
            "termination": run.termination.label(),
            "burn_in": a.burn_in, "seconds": seconds, "flip_attempts_per_ns": rate,
            "observables": obs, "notes": summary.notes,
            "swap_rates": run.chains[0].swap_rates,
            "exact": {"energy": exact_e, "abs_magnetization": exact_abs, "ln_z": exact_lnz},
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print_table(a, &run, &summary, seconds, rate, exact_e, exact_abs);
    Ok(())
}

fn load_geometry(a: &ModelArgs) -> Result<Geometry> {
    Ok(load_model(a)?.model.geometry().clone())
}

fn print_table(
    a: &SampleArgs,
    run: &SampleRun,
    s: &Summary,
    seconds: f64,
    rate: f64,
    exact_e: Option<f64>,
    exact_abs: Option<f64>,
) {
    outln!(
        "{} on {} ({} spins, β = {}), {} kernel: {} chains × {} sweeps after {} burn-in, {:.2} s ({:.3} flip attempts/ns)",
        run.algorithm.name(),
        a.model.model,
        run.n,
        run.beta,
        run.kernel,
        run.chains.len(),
        run.chains[0].energy.len(),
        a.burn_in,
        seconds,
        rate
    );
    if run.termination.interrupted() {
        outln!(
            "stopped: {} — the chains are trimmed to the sweeps every one of them measured",
            run.termination.label()
        );
    }
    outln!(
        "{:<16} {:>14} {:>11} {:>9} {:>10} {:>7} {:>14} {:>7}",
        "observable",
        "value",
        "± error",
        "τ_int",
        "ESS",
        "R-hat",
        "exact",
        "z"
    );
    for o in &s.observables {
        let exact = match o.name {
            "energy" => exact_e,
            "|m|" => exact_abs,
            _ => None,
        };
        let fmt_opt = |x: Option<f64>, p: usize| x.map_or("-".to_string(), |v| format!("{v:.p$}"));
        let z = exact.map(|x| (o.value - x) / o.std_err);
        outln!(
            "{:<16} {:>14.8} {:>11.2e} {:>9} {:>10} {:>7} {:>14} {:>7}",
            if o.name == "energy" {
                "energy/N"
            } else {
                o.name
            },
            o.value,
            o.std_err,
            fmt_opt(o.tau_int, 1),
            fmt_opt(o.ess, 0),
            fmt_opt(o.r_hat, 3),
            fmt_opt(exact, 8),
            fmt_opt(z, 1)
        );
    }
    if let Some(rates) = run.chains.first().map(|c| &c.swap_rates) {
        if !rates.is_empty() {
            let r: Vec<String> = rates.iter().map(|x| format!("{x:.2}")).collect();
            outln!("swap rates along the β ladder: {}", r.join(" "));
        }
    }
    for n in &s.notes {
        outln!("note: {n}");
    }
    out!("");
}

fn write_trace(path: &Path, run: &SampleRun) -> Result<()> {
    let n = run.n as f64;
    let mut text = String::from("chain,sweep,energy_per_spin,magnetization_per_spin\n");
    for (c, ch) in run.chains.iter().enumerate() {
        for (t, (e, m)) in ch.energy.iter().zip(&ch.magnetization).enumerate() {
            text.push_str(&format!("{c},{t},{},{}\n", e / n, m / n));
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The lattice as a black (−1) and white (+1) picture, each spin a square of pixels.
fn write_snapshot(path: &Path, m: &Model, spins: &[i8]) -> Result<()> {
    let (rows, cols) = match *m.geometry() {
        Geometry::Square { rows, cols, .. } => (rows, cols),
        _ => return Err(anyhow!("--snapshot draws square lattices only")),
    };
    let scale = (512 / rows.max(cols)).max(1);
    let (w, h) = (cols * scale, rows * scale);
    let mut pixels = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            if spins[(y / scale) * cols + x / scale] > 0 {
                pixels[y * w + x] = 255;
            }
        }
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(())
}
