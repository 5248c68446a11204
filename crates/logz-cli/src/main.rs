//! The `logz` command line: a thin front end over the `logz` library.
//!
//! Every error ends the process with a non-zero exit code and one line on stderr; results go to
//! stdout (a table, or one JSON object with `--json`).

mod alpha_sweep;
mod bench;
mod bench_blr;
mod bench_bracket;
mod bench_critical;
mod bench_learn;
mod bench_nuts;
mod bench_trg;
mod compare;
mod dist;
mod essay;
mod fit;
mod learn;
mod meanfield;
mod plot;
mod progress;
mod range;
mod replica;
mod report;
mod rg;
mod sample;
mod van;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};
use logz::io::LoadedModel;
use logz::model::builders::{self, Params};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "logz",
    version,
    about = "Partition functions, free energies and their bounds for Ising models"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Memory budget: sizes are checked against it before anything is allocated (e.g. 8GiB,
    /// 500MB, 25%; default: LOGZ_MEMORY_LIMIT, else half the physical RAM)
    #[arg(long, global = true, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Time budget: requests whose work could not finish within it even at 10¹⁰ operations/s are
    /// refused; iterative methods still running when it runs out stop and report their best
    /// answer so far, marked `timeout` (e.g. 600, 30m, 2h, 3d, none; default: LOGZ_TIME_LIMIT,
    /// else 1 day)
    #[arg(long, global = true, value_name = "DURATION")]
    time_limit: Option<String>,
    /// Worker threads for the whole command (1 to 1024; default: one per core), given before
    /// the command: `logz --threads 2 solve …`. Results do not depend on it. (Not a global
    /// flag: `bench --threads 1,2` is the list of thread counts the benchmark times.)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// How to obtain a model: a file or a built-in spec, with parameters for built-ins.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// A .uai or .json file, or a built-in: square:L[xW][:open], chain:N[:open], triangular:L,
    /// cubic:L, complete:N, sk:N, er:N:q[:gauss|:pm]
    pub model: String,
    /// Inverse temperature (built-ins; for files it rescales the log-tables, default 1)
    #[arg(long, allow_hyphen_values = true)]
    pub beta: Option<f64>,
    /// Coupling J for built-ins (complete: J/N per pair; sk: standard deviation √N·σ)
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub coupling: f64,
    /// Uniform field H for built-ins
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub field: f64,
    /// Seed for random built-ins (sk, er) and for stochastic methods
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Evidence file for a .uai model (default: MODEL.evid beside it, if present)
    #[arg(long)]
    pub evid: Option<PathBuf>,
}

/// Settings of the stochastic methods (each keeps its default when unset).
#[derive(Args, Clone, Debug, Default)]
pub struct MethodArgs {
    /// ti: measured sweeps per rung
    #[arg(long)]
    pub sweeps: Option<usize>,
    /// ti: discarded sweeps per rung
    #[arg(long)]
    pub burn_in: Option<usize>,
    /// ti: number of coupling rungs (4k + 1; default 33, doubled by pilot runs when needed)
    #[arg(long)]
    pub rungs: Option<usize>,
    /// ti: independent replica-exchange ladders
    #[arg(long)]
    pub chains: Option<usize>,
    /// ais: annealing steps per run; bbvi: optimisation steps per start; van: optimisation steps
    #[arg(long)]
    pub steps: Option<usize>,
    /// ais: independent annealing runs
    #[arg(long)]
    pub runs: Option<usize>,
    /// van: hidden units per layer
    #[arg(long)]
    pub width: Option<usize>,
    /// van: hidden layers
    #[arg(long)]
    pub depth: Option<usize>,
    /// bbvi / van: samples per step
    #[arg(long)]
    pub batch: Option<usize>,
    /// bbvi: initial natural-gradient step, in (0, 1]; van: Adam learning rate
    #[arg(long)]
    pub lr: Option<f64>,
    /// van: start from a trained network (from `logz train-van`)
    #[arg(long)]
    pub net: Option<PathBuf>,
    /// trg: bond dimension χ ≥ 2 (default 24)
    #[arg(long)]
    pub chi: Option<usize>,
    /// ti: save after every measurement round to this file and resume from it if it exists
    /// (a run stopped by --time-limit continues where it left off)
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

impl MethodArgs {
    /// The options for `methods`: refused first if one of them is unknown or an option is
    /// taken by none of them (before any --net file is read).
    pub fn options(&self, seed: u64, methods: &[&str]) -> Result<logz::methods::MethodOptions> {
        let mut o = logz::methods::MethodOptions {
            seed,
            sweeps: self.sweeps,
            burn_in: self.burn_in,
            rungs: self.rungs,
            chains: self.chains,
            steps: self.steps,
            runs: self.runs,
            width: self.width,
            depth: self.depth,
            batch: self.batch,
            lr: self.lr,
            chi: self.chi,
            checkpoint: self.checkpoint.clone(),
            ..Default::default()
        };
        // Refuse options none of the methods takes before reading a --net file.
        let mut given = o.given();
        if self.net.is_some() {
            given.push(logz::methods::Opt::Net);
        }
        logz::methods::check(methods, &given)?;
        if let Some(lr) = self.lr {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(anyhow!("--lr must be a finite number > 0, got {lr}"));
            }
        }
        if let Some(p) = &self.net {
            o.net = Some(logz::spin_vi::van::checkpoint::Checkpoint::read_file(p)?.network);
        }
        Ok(o)
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Compute ln Z (and magnetisations) of one model with one method
    Solve {
        #[command(flatten)]
        model: ModelArgs,
        /// Method name (see `logz methods`)
        #[arg(long, short, default_value = "exact")]
        method: String,
        #[command(flatten)]
        options: MethodArgs,
        /// Print one JSON object on stdout
        #[arg(long)]
        json: bool,
        /// No progress bars
        #[arg(long, short)]
        quiet: bool,
    },
    /// Size, degrees, estimated treewidth and the exact methods that apply
    Info {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        json: bool,
    },
    /// Every applicable method over a β sweep: table, CSV, JSON and SVG plots
    Compare(compare::CompareArgs),
    /// The essay's homogeneous mean-field theory: roots of m = tanh(β(H + zJm)) and its plots
    Meanfield(meanfield::MeanFieldArgs),
    /// Run a Markov chain sampler and report observables with error bars
    Sample(sample::SampleArgs),
    /// Learn a model from samples (inverse Ising): mf, tap, bethe, plm, boltzmann
    Learn(learn::LearnArgs),
    /// Judge a model on samples: errors against a truth, moment residuals, log-likelihood
    Evaluate(learn::EvaluateArgs),
    /// Write a synthetic data set (CSV)
    Data(fit::DataArgs),
    /// Posterior inference for a regression model on a CSV file: exact, ADVI, BBVI, SVI, HMC
    Fit(fit::FitArgs),
    /// Train a variational autoregressive network on a spin model and save it (JSON)
    TrainVan(van::TrainVanArgs),
    /// Throughput benchmarks with ratios against the reference figures measured on this machine
    Bench(bench::BenchArgs),
    /// Replica theory of the SK model: RS / RSB solutions, ground states, AT line, E[Z^n]
    Replica(replica::ReplicaArgs),
    /// Disorder averages of ln Z/N over random instances, per method and β
    Disorder(replica::DisorderArgs),
    /// Real-space renormalisation group: 1D decimation, Migdal–Kadanoff flow (SVG plots)
    Rg(rg::RgArgs),
    /// The essay computed: one self-contained interactive HTML page, figures (SVG, PNG), CSV
    Report(essay::ReportArgs),
    /// List the methods
    Methods,
    /// Write a model to a file (.uai or .json)
    Convert {
        #[command(flatten)]
        model: ModelArgs,
        /// Output file (.uai or .json)
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Write to stdout; a closed pipe (`logz … | head`) ends the process quietly instead of panicking.
pub fn write_stdout(s: &str) {
    use std::io::Write;
    // Under mpirun only rank 0 prints.
    if !dist::is_root() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("logz: error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

#[macro_export]
macro_rules! outln {
    () => { $crate::write_stdout("\n") };
    ($($t:tt)*) => { $crate::write_stdout(&format!("{}\n", format!($($t)*))) };
}

#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::write_stdout(&format!($($t)*)) };
}

pub const DEFAULT_BETA: f64 = logz::exact::closed::SQUARE_BETA_C;

fn is_file_spec(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.ends_with(".uai") || l.ends_with(".json") || Path::new(s).exists()
}

/// Load a model from the arguments.
pub fn load_model(a: &ModelArgs) -> Result<LoadedModel> {
    for (name, v) in [("--coupling", a.coupling), ("--field", a.field)] {
        if !v.is_finite() {
            return Err(anyhow!("{name} must be a finite number, got {v}"));
        }
    }
    if let Some(b) = a.beta {
        if !b.is_finite() || b < 0.0 {
            return Err(anyhow!("--beta must be a finite number ≥ 0, got {b}"));
        }
    }
    if is_file_spec(&a.model) {
        let mut lm = logz::io::load(Path::new(&a.model), a.evid.as_deref())?;
        if let Some(b) = a.beta {
            lm.model = lm.model.with_beta(b)?;
        }
        Ok(lm)
    } else {
        let p = Params {
            coupling: a.coupling,
            field: a.field,
            beta: a.beta.unwrap_or(DEFAULT_BETA),
            seed: a.seed,
        };
        Ok(LoadedModel::plain(builders::from_spec(&a.model, &p)?))
    }
}

/// `solve` with an exact method on a huge uniform chain or square torus: the closed form
/// answers from the spec without building the model (`solve square:16384` at once). Returns
/// whether it answered.
fn solve_lattice_lazily(a: &ModelArgs, method: &str, json: bool) -> Result<bool> {
    use logz::exact::closed::{uniform_lattice, LAZY_LATTICE_SPINS};
    use logz::model::Geometry;
    if is_file_spec(&a.model) || !matches!(method, "exact" | "kaufman" | "chain") {
        return Ok(false);
    }
    let Some(g) = builders::lattice_spec_geometry(&a.model) else {
        return Ok(false);
    };
    let (n, edges) = match g {
        Geometry::Chain { n, .. } => (n, n),
        Geometry::Square { rows, cols, .. } => {
            let n = rows.saturating_mul(cols);
            (n, n.saturating_mul(2))
        }
        _ => return Ok(false),
    };
    // `kaufman` asked for a chain, or `chain` for a torus: the normal path explains the refusal.
    let fits = match g {
        Geometry::Square { .. } => method != "chain",
        _ => method != "kaufman",
    };
    if n <= LAZY_LATTICE_SPINS || !fits {
        return Ok(false);
    }
    let p = Params {
        coupling: a.coupling,
        field: a.field,
        beta: a.beta.unwrap_or(DEFAULT_BETA),
        seed: a.seed,
    };
    let t0 = std::time::Instant::now();
    let Some(est) = uniform_lattice(&g, &p) else {
        return Ok(false);
    };
    let mut est = est.with_context(|| format!("{method} on {}", a.model))?;
    if method == "exact" {
        est.diagnostics.algorithm = format!("exact via {}", est.diagnostics.algorithm);
    }
    est.diagnostics.seconds = t0.elapsed().as_secs_f64();
    if json {
        outln!(
            "{}",
            report::estimate_json_parts(method, n, p.beta, Vec::new(), &est)
        );
    } else {
        out!(
            "{}",
            report::estimate_text_parts(method, n, edges, p.beta, &est)
        );
    }
    Ok(true)
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    if let Some(s) = &cli.memory_limit {
        let bytes = logz::limits::parse_bytes(s).context("--memory-limit")?;
        logz::limits::set_memory_limit(bytes);
    }
    if let Some(s) = &cli.time_limit {
        let secs = logz::limits::parse_duration(s).context("--time-limit")?;
        logz::limits::set_time_limit(secs)?;
    }
    // Under mpirun (feature `mpi`) the command runs with the world communicator installed.
    match cli.threads {
        Some(n) => logz::parallel::with_threads(n, || dist::within(|| run_cmd(cli.cmd)))
            .context("--threads")?,
        None => dist::within(|| run_cmd(cli.cmd)),
    }
}

/// The run loop of every command: the progress display and the `--time-limit` budget — when it
/// runs out, iterative methods stop and report the best answer so far with its honest kind.
pub fn runner(progress: &dyn logz::Progress) -> logz::runner::Runner<'_> {
    logz::runner::Runner::new()
        .with_progress(progress)
        .with_time_limit(logz::limits::time_limit())
}

/// Run one subcommand (on the pool of `--threads`, if given).
fn run_cmd(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Solve {
            model,
            method,
            options,
            json,
            quiet,
        } => {
            let o = options.options(model.seed, &[&method])?;
            let s = logz::methods::configured(&method, &o)?;
            if rg::solve_infinite(&model, &method, &o, json)? {
                return Ok(());
            }
            if solve_lattice_lazily(&model, &method, json)? {
                return Ok(());
            }
            let lm = load_model(&model)?;
            let bar = progress::Bar::new(quiet || json);
            let est = runner(&bar)
                .run(s.as_ref(), &lm.model)
                .with_context(|| format!("{method} on {}", model.model))?;
            bar.clear();
            if json {
                outln!("{}", report::estimate_json(&method, &lm, &est));
            } else {
                out!("{}", report::estimate_text(&method, &lm, &est));
            }
        }
        Cmd::Info { model, json } => {
            let lm = load_model(&model)?;
            let info = report::info(&lm);
            if json {
                outln!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                out!("{}", report::info_text(&info));
            }
        }
        Cmd::Compare(args) => compare::run(&args)?,
        Cmd::Meanfield(args) => meanfield::run(&args)?,
        Cmd::Sample(args) => sample::run(&args)?,
        Cmd::Bench(args) => bench::run(&args)?,
        Cmd::Learn(args) => learn::run_learn(&args)?,
        Cmd::Evaluate(args) => learn::run_evaluate(&args)?,
        Cmd::Data(args) => fit::run_data(&args)?,
        Cmd::TrainVan(args) => van::run(&args)?,
        Cmd::Fit(args) => fit::run_fit(&args)?,
        Cmd::Replica(args) => replica::run(&args)?,
        Cmd::Disorder(args) => replica::run_disorder(&args)?,
        Cmd::Rg(args) => rg::run(&args)?,
        Cmd::Report(args) => essay::run(&args)?,
        Cmd::Methods => {
            for (name, what) in logz::methods::METHODS {
                let takes = logz::methods::takes(name)?;
                if takes.is_empty() {
                    outln!("{name:<14} {what}");
                } else {
                    let flags: Vec<&str> = takes.iter().map(|o| o.flag()).collect();
                    outln!("{name:<14} {what}; takes {}", flags.join(", "));
                }
            }
        }
        Cmd::Convert { model, out } => {
            let lm = load_model(&model)?;
            let o = out.to_string_lossy().to_ascii_lowercase();
            let text = if o.ends_with(".uai") {
                logz::io::uai::write(&lm.model)
            } else if o.ends_with(".json") {
                logz::io::json::write(&lm.model)
            } else {
                return Err(anyhow!(
                    "{}: output must end in .uai or .json",
                    out.display()
                ));
            };
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
        }
    }
    Ok(())
}

fn main() {
    let session = match dist::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("logz: error: starting MPI: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run() {
        // One line: the context chain joined (in a multi-rank job, the job is aborted).
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        dist::fail(&msg.join(": "), session);
    }
    drop(session);
}
