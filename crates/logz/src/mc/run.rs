//! The chain driver: runs any sampler for burn-in + measured sweeps on several independent
//! chains (in parallel), records the energy and magnetisation after every sweep, and turns the
//! traces into observables with autocorrelation-aware error bars.
//!
//! Parallel tempering runs K replicas on a geometric β ladder β_min … β (the model's β) with
//! Metropolis sweeps (on the multi-spin kernel when the model allows it) and, after every sweep, replica-exchange attempts between neighbouring
//! temperatures with probability min(1, e^{(β_k − β_{k+1})(E_k − E_{k+1})}), alternating even
//! and odd pairs. Measurements are taken at the target β. Its replicas each have their own
//! stream and may run on different threads and ranks (the `tempering` module).

use super::cluster::{SwendsenWang, Wolff};
use super::local::{Local, Rule, Scan};
use super::multispin::{self, DefaultLattice, LatticeRule};
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::model::Model;
use crate::rng::stream_seed;
use crate::runner::{Iteration, Runner, Termination};
use crate::stats::{self, SeriesStats};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

/// Which Markov chain to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// Metropolis, sequential scan (checkerboard order on the multi-spin kernel).
    Metropolis,
    /// Metropolis, random scan.
    MetropolisRandom,
    /// Heat-bath (Gibbs), sequential scan.
    HeatBath,
    /// Wolff single-cluster updates (a sweep is as many cluster flips as add up to about N spins).
    Wolff,
    /// Swendsen–Wang: every sweep decomposes the whole lattice into clusters and flips each with
    /// probability ½.
    SwendsenWang,
    /// Parallel tempering with Metropolis replicas (on the multi-spin kernel when the model is
    /// a uniform square or cubic torus, as for `Metropolis`).
    Tempering,
}

impl Algorithm {
    /// The names [`Algorithm::parse`] accepts (its canonical spelling of each algorithm).
    pub const NAMES: &'static [&'static str] = &[
        "metropolis",
        "metropolis-random",
        "heatbath",
        "wolff",
        "sw",
        "pt",
    ];

    /// The algorithm with this name; aliases "heat-bath", "gibbs", "swendsen-wang" and
    /// "tempering" are accepted too. An error for an unknown name.
    pub fn parse(s: &str) -> Result<Algorithm> {
        Ok(match s {
            "metropolis" => Algorithm::Metropolis,
            "metropolis-random" => Algorithm::MetropolisRandom,
            "heatbath" | "heat-bath" | "gibbs" => Algorithm::HeatBath,
            "wolff" => Algorithm::Wolff,
            "sw" | "swendsen-wang" => Algorithm::SwendsenWang,
            "pt" | "tempering" => Algorithm::Tempering,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "unknown algorithm '{s}' (one of: {})",
                    Algorithm::NAMES.join(", ")
                )))
            }
        })
    }
    /// The canonical name, as listed in [`Algorithm::NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Metropolis => "metropolis",
            Algorithm::MetropolisRandom => "metropolis-random",
            Algorithm::HeatBath => "heatbath",
            Algorithm::Wolff => "wolff",
            Algorithm::SwendsenWang => "sw",
            Algorithm::Tempering => "pt",
        }
    }
}

/// Whether to use the multi-spin square-lattice kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelChoice {
    /// The multi-spin kernel when the model allows it (Metropolis / heat-bath / parallel
    /// tempering on a uniform square or cubic torus with even sides), the generic sampler
    /// otherwise.
    Auto,
    /// Always the generic single-spin or cluster sampler.
    Generic,
    /// The multi-spin kernel or an error.
    MultiSpin,
}

/// Options of a sampling run.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// The Markov chain to run.
    pub algorithm: Algorithm,
    /// Measured sweeps per chain.
    pub sweeps: usize,
    /// Discarded sweeps per chain before measuring.
    pub burn_in: usize,
    /// Independent chains (run in parallel, each with its own random stream).
    pub chains: usize,
    /// Seed from which every chain's random stream is derived.
    pub seed: u64,
    /// Multi-spin kernel or generic sampler.
    pub kernel: KernelChoice,
    /// Parallel tempering: number of replicas (rungs of the β ladder, at least 2).
    pub replicas: usize,
    /// Parallel tempering: the lowest β of the ladder as a fraction of the model's β (0 gives a
    /// linear ladder starting at β = 0).
    pub beta_min_fraction: f64,
    /// Start every chain from all spins up instead of a random state.
    pub cold_start: bool,
    /// Parallel tempering: sweeps between replica-exchange attempts (≥ 1; default 1). Longer
    /// blocks mean fewer synchronisations between the ranks of a distributed run.
    pub exchange_every: usize,
    /// Accumulate ⟨s_i⟩ and ⟨s_i s_j⟩ (generic samplers only).
    pub correlations: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            algorithm: Algorithm::Metropolis,
            sweeps: 10_000,
            burn_in: 1_000,
            chains: 4,
            seed: 1,
            kernel: KernelChoice::Auto,
            replicas: 16,
            beta_min_fraction: 0.2,
            cold_start: false,
            exchange_every: 1,
            correlations: true,
        }
    }
}

/// What one chain produced.
#[derive(Debug, Clone, Serialize)]
pub struct ChainResult {
    /// E(s) after every measured sweep.
    pub energy: Vec<f64>,
    /// Σ_i s_i after every measured sweep.
    pub magnetization: Vec<f64>,
    /// Σ_sweeps s_i for every spin over the measured sweeps (when recorded).
    #[serde(skip)]
    pub spin_sum: Option<Vec<f64>>,
    /// Σ_sweeps s_i s_j for every edge, in the model's edge order (when recorded).
    #[serde(skip)]
    pub edge_sum: Option<Vec<f64>>,
    /// The spin configuration after the last sweep (at the target β for parallel tempering).
    #[serde(skip)]
    pub final_spins: Vec<i8>,
    /// Parallel tempering: acceptance rate of swaps between rungs k and k+1.
    pub swap_rates: Vec<f64>,
    /// Mean number of clusters per sweep (cluster algorithms) or fraction of accepted flips (0 on
    /// the multi-spin kernel, which does not count its flips).
    pub moves_per_sweep: f64,
    /// Saved configurations (see [`sample_saving`]): every K-th measured sweep's state, N spins
    /// (±1) per configuration, concatenated; empty unless asked for.
    #[serde(skip)]
    pub saved: Vec<i8>,
}

/// A finished sampling run.
#[derive(Debug, Clone)]
pub struct SampleRun {
    /// `completed`, or `timeout` / `stopped` when the runner cut the run short (the chains
    /// are then trimmed to the sweeps all of them measured).
    pub termination: Termination,
    /// The Markov chain that was run.
    pub algorithm: Algorithm,
    /// "multispin" or "generic".
    pub kernel: &'static str,
    /// Number of spins N.
    pub n: usize,
    /// Inverse temperature β of the model (the target rung for parallel tempering).
    pub beta: f64,
    /// Number of edges (couplings) of the model.
    pub num_edges: usize,
    /// One result per independent chain.
    pub chains: Vec<ChainResult>,
    /// Parallel tempering: the β of every rung, ascending to the model's β (empty otherwise).
    pub ladder: Vec<f64>,
}

/// Which concrete kernel a chain runs.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    Lattice(LatticeRule),
    Local(Rule, Scan),
    Wolff,
    Sw,
    /// Parallel tempering; its replicas on the multi-spin kernel with this rule, or on the
    /// generic Metropolis sampler (None).
    Tempering(Option<LatticeRule>),
}

fn choose_kernel(m: &Model, o: &SampleOptions) -> Result<Kernel> {
    let lattice_rule = match o.algorithm {
        Algorithm::Metropolis | Algorithm::Tempering => Some(LatticeRule::Metropolis),
        Algorithm::HeatBath => Some(LatticeRule::HeatBath),
        _ => None,
    };
    let fits = multispin::shape(m);
    let kernel = match (o.kernel, lattice_rule) {
        (KernelChoice::MultiSpin, None) => {
            return Err(Error::InvalidArgument(format!(
                "the multi-spin kernel runs metropolis, heatbath or pt, not {}",
                o.algorithm.name()
            )))
        }
        (KernelChoice::MultiSpin, Some(rule)) => match fits {
            Ok(_) => Kernel::Lattice(rule),
            Err(reason) => {
                return Err(Error::NotApplicable {
                    method: "multi-spin kernel",
                    reason,
                })
            }
        },
        (KernelChoice::Auto, Some(rule)) if fits.is_ok() && m.energy_offset() == 0.0 => {
            Kernel::Lattice(rule)
        }
        _ => match o.algorithm {
            Algorithm::Metropolis => Kernel::Local(Rule::Metropolis, Scan::Sequential),
            Algorithm::MetropolisRandom => Kernel::Local(Rule::Metropolis, Scan::Random),
            Algorithm::HeatBath => Kernel::Local(Rule::HeatBath, Scan::Sequential),
            Algorithm::Wolff => Kernel::Wolff,
            Algorithm::SwendsenWang => Kernel::Sw,
            Algorithm::Tempering => Kernel::Tempering(None),
        },
    };
    // Tempering's replicas run whichever kernel was chosen for its Metropolis sweeps.
    Ok(match (o.algorithm, kernel) {
        (Algorithm::Tempering, Kernel::Lattice(rule)) => Kernel::Tempering(Some(rule)),
        (_, k) => k,
    })
}

/// The β ladder of parallel tempering (geometric, ending at the model's β).
pub fn ladder(beta: f64, replicas: usize, fraction: f64) -> Vec<f64> {
    let k = replicas.max(2);
    let lo = beta * fraction;
    (0..k)
        .map(|i| {
            if lo <= 0.0 {
                beta * i as f64 / (k - 1) as f64
            } else {
                lo * (beta / lo).powf(i as f64 / (k - 1) as f64)
            }
        })
        .collect()
}

/// Collects measurements of one chain.
struct Recorder {
    energy: Vec<f64>,
    magnetization: Vec<f64>,
    spin_sum: Option<Vec<f64>>,
    edge_sum: Option<Vec<f64>>,
}

impl Recorder {
    fn new(m: &Model, sweeps: usize, correlations: bool) -> Self {
        Recorder {
            energy: Vec::with_capacity(sweeps),
            magnetization: Vec::with_capacity(sweeps),
            spin_sum: correlations.then(|| vec![0.0; m.n()]),
            edge_sum: correlations.then(|| vec![0.0; m.num_edges()]),
        }
    }
    fn push_state(&mut self, m: &Model, s: &[i8]) {
        self.energy.push(m.energy(s));
        self.magnetization
            .push(s.iter().map(|&x| x as i64).sum::<i64>() as f64);
        if let Some(acc) = &mut self.spin_sum {
            for (a, &x) in acc.iter_mut().zip(s) {
                *a += x as f64;
            }
        }
        if let Some(acc) = &mut self.edge_sum {
            for (a, &(i, j)) in acc.iter_mut().zip(m.edges()) {
                *a += (s[i as usize] * s[j as usize]) as f64;
            }
        }
    }
}

pub(super) fn initial_state<R: Rng>(n: usize, cold: bool, rng: &mut R) -> Vec<i8> {
    if cold {
        vec![1; n]
    } else {
        (0..n)
            .map(|_| if rng.next_u64() >> 63 == 1 { 1 } else { -1 })
            .collect()
    }
}

/// Report progress in batches so that fast sweeps do not contend on the progress counter.
const PROGRESS_BATCH: usize = 16;

fn run_chain<R: Rng + SeedableRng + Send>(
    m: &Model,
    o: &SampleOptions,
    kernel: Kernel,
    chain: usize,
    ladder: &[f64],
    every: usize,
    runner: &Runner,
) -> Result<ChainResult> {
    let seed = stream_seed(o.seed, chain as u64);
    let mut rng = R::seed_from_u64(seed);
    let mut spins = initial_state(m.n(), o.cold_start, &mut rng);
    let total = o.burn_in + o.sweeps;
    let lattice = matches!(kernel, Kernel::Lattice(_));
    let mut rec = Recorder::new(m, o.sweeps, o.correlations && !lattice);
    let mut moves = 0usize;
    let swap_rates = Vec::new();
    // Sweeps actually run (fewer than planned when the runner stopped the chain).
    let mut ran = 0usize;
    let mut saved = Vec::new();
    // Keep the state after measured sweep t when (t − burn_in + 1) is a multiple of `every`.
    let keep = |t: usize| every > 0 && t >= o.burn_in && (t - o.burn_in + 1).is_multiple_of(every);
    // Progress and the run's budget, every PROGRESS_BATCH sweeps: true means stop now (the
    // samples so far are kept; `sample` trims the chains to a common length).
    // Chain 0 reports to the runner's observers; the others only poll the budget.
    let tick = |t: usize| {
        if (t + 1).is_multiple_of(PROGRESS_BATCH) || t + 1 == total {
            runner.advance(((t % PROGRESS_BATCH) + 1) as u64);
            return if chain == 0 {
                runner
                    .iterate(Iteration::new("sample", t + 1))
                    .is_some_and(|t| t.interrupted())
            } else {
                runner.interrupted().is_some()
            };
        }
        false
    };
    match kernel {
        Kernel::Lattice(rule) => {
            let mut lat = DefaultLattice::new(m, rule, &spins, seed)?;
            for t in 0..total {
                lat.sweep();
                if t >= o.burn_in {
                    let (e, mag) = lat.energy_magnetization();
                    rec.energy.push(e + m.energy_offset());
                    rec.magnetization.push(mag);
                }
                if keep(t) {
                    saved.extend_from_slice(&lat.spins());
                }
                ran = t + 1;
                if tick(t) {
                    break;
                }
            }
            spins = lat.spins();
        }
        Kernel::Local(rule, scan) => {
            let sampler = Local::new(m, rule, scan);
            for t in 0..total {
                moves += sampler.sweep(&mut spins, &mut rng);
                if t >= o.burn_in {
                    rec.push_state(m, &spins);
                }
                if keep(t) {
                    saved.extend_from_slice(&spins);
                }
                ran = t + 1;
                if tick(t) {
                    break;
                }
            }
        }
        Kernel::Wolff => {
            let mut w = Wolff::new(m)?;
            for t in 0..total {
                moves += w.sweep(&mut spins, &mut rng, t < o.burn_in);
                if t >= o.burn_in {
                    rec.push_state(m, &spins);
                }
                if keep(t) {
                    saved.extend_from_slice(&spins);
                }
                ran = t + 1;
                if tick(t) {
                    break;
                }
            }
        }
        Kernel::Sw => {
            let mut sw = SwendsenWang::new(m)?;
            for t in 0..total {
                moves += sw.sweep(&mut spins, &mut rng);
                if t >= o.burn_in {
                    rec.push_state(m, &spins);
                }
                if keep(t) {
                    saved.extend_from_slice(&spins);
                }
                ran = t + 1;
                if tick(t) {
                    break;
                }
            }
        }
        Kernel::Tempering(_) => {
            // Replicas are not independent chains: `sample_impl` runs them in `tempering`.
            return Err(Error::Numerical(
                "internal: parallel tempering runs in mc::tempering".into(),
            ));
        }
    }
    let norm = (ran.max(1) * m.n().max(1)) as f64;
    let moves_per_sweep = match kernel {
        Kernel::Wolff | Kernel::Sw => moves as f64 / ran.max(1) as f64,
        Kernel::Tempering(_) => moves as f64 / (norm * ladder.len() as f64),
        _ => moves as f64 / norm,
    };
    Ok(ChainResult {
        energy: rec.energy,
        magnetization: rec.magnetization,
        spin_sum: rec.spin_sum,
        edge_sum: rec.edge_sum,
        final_spins: spins,
        swap_rates,
        moves_per_sweep,
        saved,
    })
}

/// Bytes per measured sweep of one chain: the energy and magnetisation traces (16) and, when the
/// run is summarised, the per-spin series, their concatenations and squares (~96).
const TRACE_BYTES_PER_SWEEP: f64 = 112.0;
/// Working memory of one chain per spin: the state, and the cluster algorithms' or the
/// multi-spin kernel's arrays (at most ~32 B per spin).
const CHAIN_BYTES_PER_SPIN: f64 = 32.0;

/// Check a run against the memory and time budgets ([`crate::limits`]) before anything is
/// allocated: every count is multiplied in floating point, so none can wrap around.
fn check_budget(m: &Model, o: &SampleOptions, kernel: Kernel, every: usize) -> Result<()> {
    let limits = crate::limits::Limits::current();
    let (n, e) = (m.n() as f64, m.num_edges() as f64);
    let chains = o.chains as f64;
    let measured = o.sweeps as f64;
    let total = o.burn_in as f64 + measured;
    let tempering = o.algorithm == Algorithm::Tempering;
    let replicas = if tempering {
        o.replicas.max(2) as f64
    } else {
        1.0
    };
    let mut bytes = chains * measured * TRACE_BYTES_PER_SWEEP;
    bytes += chains * replicas * n * CHAIN_BYTES_PER_SPIN;
    if o.correlations {
        bytes += chains * 8.0 * (n + e);
    }
    if every > 0 {
        // Saved configurations: one byte per spin, every `every`-th measured sweep.
        bytes += chains * (measured / every as f64).floor() * n;
    }
    if matches!(kernel, Kernel::Tempering(None)) {
        // Each chain holds a copy of the model per replica (32 B per edge, 20 B per spin).
        bytes += chains * replicas * (32.0 * e + 20.0 * n);
    }
    let what = if tempering {
        format!(
            "{} chains × {} replicas × ({} + {} burn-in) sweeps of {} spins",
            o.chains,
            o.replicas,
            o.sweeps,
            o.burn_in,
            m.n()
        )
    } else {
        format!(
            "{} chains × ({} + {} burn-in) sweeps of {} spins",
            o.chains,
            o.sweeps,
            o.burn_in,
            m.n()
        )
    };
    limits.check_memory("sample", &format!("a run of {what}"), bytes)?;
    // Per sweep: one update per spin and replica (an operation per spin on the multi-spin
    // kernel), plus the energy measured after it.
    let per_spin = match kernel {
        Kernel::Lattice(_) | Kernel::Tempering(Some(_)) => 1.0,
        _ => crate::limits::spin_update_ops(2.0 * e / n.max(1.0)),
    };
    limits.check_work(
        "sample",
        &what,
        chains * total * (replicas * n * per_spin + e),
    )
}

/// Run `o.chains` independent chains (in parallel) with xoshiro256++ streams.
pub fn sample(m: &Model, o: &SampleOptions, runner: &Runner) -> Result<SampleRun> {
    sample_with_rng::<Xoshiro256PlusPlus>(m, o, runner)
}

/// [`sample`] with any seedable generator for the generic samplers' streams.
pub fn sample_with_rng<R: Rng + SeedableRng + Send>(
    m: &Model,
    o: &SampleOptions,
    runner: &Runner,
) -> Result<SampleRun> {
    sample_impl::<R>(m, o, 0, runner)
}

/// [`sample`] that also keeps every `every`-th measured configuration of every chain (in
/// [`ChainResult::saved`]; [`SampleRun::configurations`] iterates over them), for learning a
/// model back from samples or for the user's own analyses. `every` must be ≥ 1.
pub fn sample_saving(
    m: &Model,
    o: &SampleOptions,
    every: usize,
    runner: &Runner,
) -> Result<SampleRun> {
    if every == 0 {
        return Err(Error::arg("the thinning interval must be at least 1 sweep"));
    }
    sample_impl::<Xoshiro256PlusPlus>(m, o, every, runner)
}

fn sample_impl<R: Rng + SeedableRng + Send>(
    m: &Model,
    o: &SampleOptions,
    every: usize,
    runner: &Runner,
) -> Result<SampleRun> {
    if o.sweeps < 2 {
        return Err(Error::InvalidArgument(
            "need at least 2 measured sweeps".into(),
        ));
    }
    if o.chains == 0 {
        return Err(Error::InvalidArgument("need at least one chain".into()));
    }
    if m.n() == 0 {
        return Err(Error::invalid("the model has no spins to sample"));
    }
    if o.algorithm == Algorithm::Tempering
        && (o.replicas < 2 || !(0.0..1.0).contains(&o.beta_min_fraction) || o.exchange_every == 0)
    {
        return Err(Error::InvalidArgument(
            "parallel tempering needs ≥ 2 replicas, a β_min fraction in [0, 1) and an exchange \
             every ≥ 1 sweeps"
                .into(),
        ));
    }
    let kernel = choose_kernel(m, o)?;
    check_budget(m, o, kernel, every)?;
    let ladder = if o.algorithm == Algorithm::Tempering {
        ladder(m.beta(), o.replicas, o.beta_min_fraction)
    } else {
        vec![m.beta()]
    };
    runner.start(((o.burn_in + o.sweeps) * o.chains) as u64, "sweeps");
    let mut chains: Vec<ChainResult> = if let Kernel::Tempering(fast) = kernel {
        // Replicas spread over threads and ranks, labels exchanged (see `tempering`).
        super::tempering::run(m, o, &ladder, every, fast, runner)?
    } else {
        (0..o.chains)
            .into_par_iter()
            .map(|c| run_chain::<R>(m, o, kernel, c, &ladder, every, runner))
            .collect::<Result<_>>()?
    };
    runner.finish();
    // Agreed between the ranks of a distributed run (the identity on one).
    let termination = match crate::distributed::agree(runner.stopped()) {
        Some(why) => {
            trim_to_common_length(&mut chains, why, o.burn_in)?;
            why
        }
        None => Termination::Completed,
    };
    Ok(SampleRun {
        termination,
        algorithm: o.algorithm,
        kernel: if matches!(kernel, Kernel::Lattice(_) | Kernel::Tempering(Some(_))) {
            "multispin"
        } else {
            "generic"
        },
        n: m.n(),
        beta: m.beta(),
        num_edges: m.num_edges(),
        chains,
        ladder,
    })
}

/// After a run stopped early, chains have measured different numbers of sweeps (with fewer
/// threads than chains, the last chains may not have started): drop the chains that measured
/// fewer than 2 sweeps, keep the first L sweeps of every other trace (L the shortest), and
/// rescale the per-spin and per-edge sums to L sweeps, so every chain weighs the same and each
/// contributes its own mean.
fn trim_to_common_length(
    chains: &mut Vec<ChainResult>,
    why: Termination,
    burn_in: usize,
) -> Result<()> {
    chains.retain(|c| c.energy.len() >= 2);
    let Some(len) = chains.iter().map(|c| c.energy.len()).min() else {
        return Err(Error::OverBudget {
            what: "sample".into(),
            reason: format!(
                "the run was {} before 2 sweeps were measured (burn-in {burn_in} sweeps): \
                 nothing to report; allow more time or burn in less",
                match why {
                    Termination::Timeout => "out of time",
                    _ => "stopped",
                }
            ),
        });
    };
    for c in chains.iter_mut() {
        let own = c.energy.len() as f64;
        c.energy.truncate(len);
        c.magnetization.truncate(len);
        for sums in [&mut c.spin_sum, &mut c.edge_sum].into_iter().flatten() {
            sums.iter_mut().for_each(|x| *x *= len as f64 / own);
        }
    }
    Ok(())
}

/// Pair up two per-chain series: `[chain][series]`, as the jackknife takes them.
fn by_chain<'a>(a: &'a [Vec<f64>], b: &'a [Vec<f64>]) -> Vec<Vec<&'a [f64]>> {
    a.iter()
        .zip(b)
        .map(|(x, y)| vec![x.as_slice(), y.as_slice()])
        .collect()
}

/// One observable with its error bar.
#[derive(Debug, Clone, Serialize)]
pub struct Observable {
    /// Observable name: `"energy"` (per spin), `"m"`, `"|m|"`, `"m^2"`, `"m^4"`, `"susceptibility"`,
    /// `"specific_heat"` or `"binder"`.
    pub name: &'static str,
    /// The estimate (pooled over all chains).
    pub value: f64,
    /// +∞ (written "inf" in JSON) when the run is too short to estimate it.
    #[serde(with = "crate::estimate::error_bar")]
    pub std_err: f64,
    /// Integrated autocorrelation time τ_int in sweeps (plain means only).
    pub tau_int: Option<f64>,
    /// Effective sample size n / (2τ_int) over all chains (plain means only).
    pub ess: Option<f64>,
    /// Standard error from Flyvbjerg–Petersen blocking, a cross-check (plain means only).
    pub blocking_err: Option<f64>,
    /// Split Gelman–Rubin R̂ over the chains' halves (plain means only).
    pub r_hat: Option<f64>,
}

/// Observables of a run, with warnings.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Every observable, in a fixed order.
    pub observables: Vec<Observable>,
    /// Warnings about the run (short chains, unreliable errors, poor mixing, …).
    pub notes: Vec<String>,
    /// ⟨s_i⟩ for every spin (generic samplers).
    #[serde(skip)]
    pub magnetization: Option<Vec<f64>>,
    /// ⟨s_i s_j⟩ for every edge in the model's edge order (generic samplers).
    #[serde(skip)]
    pub edge_correlation: Option<Vec<f64>>,
}

impl Summary {
    /// The observable with this name, if the summary has one.
    pub fn get(&self, name: &str) -> Option<&Observable> {
        self.observables.iter().find(|o| o.name == name)
    }
}

impl SampleRun {
    /// The saved configurations of every chain, chain by chain, each N spins of ±1 (empty
    /// unless the run came from [`sample_saving`]).
    pub fn configurations(&self) -> impl Iterator<Item = &[i8]> + '_ {
        let n = self.n.max(1);
        self.chains
            .iter()
            .flat_map(move |c| c.saved.chunks_exact(n))
    }

    /// Per-spin series of every chain: e = E/N, m = M/N, |m|, m², m⁴.
    fn series(&self) -> Vec<(&'static str, Vec<Vec<f64>>)> {
        let n = self.n as f64;
        let per = |f: &dyn Fn(&ChainResult) -> Vec<f64>| -> Vec<Vec<f64>> {
            self.chains.iter().map(f).collect()
        };
        vec![
            ("energy", per(&|c| c.energy.iter().map(|e| e / n).collect())),
            (
                "m",
                per(&|c| c.magnetization.iter().map(|x| x / n).collect()),
            ),
            (
                "|m|",
                per(&|c| c.magnetization.iter().map(|x| (x / n).abs()).collect()),
            ),
            (
                "m^2",
                per(&|c| c.magnetization.iter().map(|x| (x / n).powi(2)).collect()),
            ),
            (
                "m^4",
                per(&|c| c.magnetization.iter().map(|x| (x / n).powi(4)).collect()),
            ),
        ]
    }

    /// Means with τ_int-based errors, and jackknife errors for the susceptibility
    /// χ = βN(⟨m²⟩ − ⟨m⟩²), the specific heat per spin c = β²N(⟨e²⟩ − ⟨e⟩²) and the Binder
    /// cumulant U₄ = 1 − ⟨m⁴⟩ / (3⟨m²⟩²).
    pub fn summary(&self) -> Summary {
        let mut observables = Vec::new();
        let mut notes = Vec::new();
        let series = self.series();
        for (name, chains) in &series {
            let per: Vec<SeriesStats> = chains.iter().map(|c| stats::analyze(c)).collect();
            let pooled = stats::pool(&per);
            let refs: Vec<&[f64]> = chains.iter().map(|c| c.as_slice()).collect();
            let r_hat = stats::r_hat(&refs);
            if !pooled.reliable {
                // Sokal's window needs W ≥ 6τ within n/4 sweeps, i.e. chains of ≥ 24τ.
                notes.push(format!(
                    "{name}: chains shorter than ~24 τ_int; τ_int and its error bar are underestimates"
                ));
            }
            if r_hat > stats::R_HAT_MAX {
                notes.push(format!(
                    "{name}: R-hat = {r_hat:.3} > 1.05, the chains disagree (not converged or not ergodic)"
                ));
            }
            observables.push(Observable {
                name,
                value: pooled.mean,
                std_err: pooled.std_err,
                tau_int: Some(pooled.tau_int),
                ess: Some(pooled.ess),
                blocking_err: Some(pooled.blocking_err),
                r_hat: Some(r_hat),
            });
        }
        for (c, chain) in self.chains.iter().enumerate() {
            let z = stats::burn_in_z(&chain.energy);
            if z.abs() > 4.0 {
                notes.push(format!(
                    "chain {c}: the energy still drifts at the start of the kept trace (z = {z:.1}); increase --burn-in"
                ));
            }
        }
        // Functions of means: jackknife over blocks of ≥ 10·2τ_int sweeps (τ_int of the
        // slowest series involved) that never straddle two chains — whole chains when the
        // chains disagree (R̂), since τ_int within a chain cannot see a mode no chain explores.
        let sq = |k: usize| -> Vec<Vec<f64>> {
            series[k]
                .1
                .iter()
                .map(|c| c.iter().map(|x| x * x).collect())
                .collect()
        };
        let e2 = sq(0);
        let (e, m, m2, m4) = (&series[0].1, &series[1].1, &series[3].1, &series[4].1);
        let (n, b) = (self.n as f64, self.beta);
        let chi = stats::jackknife_chains(&by_chain(m, m2), |v| b * n * (v[1] - v[0] * v[0]));
        let c = stats::jackknife_chains(&by_chain(e, &e2), |v| b * b * n * (v[1] - v[0] * v[0]));
        let u4 = stats::jackknife_chains(&by_chain(m2, m4), |v| 1.0 - v[1] / (3.0 * v[0] * v[0]));
        for (name, j) in [
            ("susceptibility", chi),
            ("specific_heat", c),
            ("binder", u4),
        ] {
            if !j.reliable {
                notes.push(format!(
                    "{name}: only {} jackknife block(s) of {} sweeps (≥ 10·2τ_int, or whole \
                     chains where the chains disagree) — fewer than {}; its error bar is \
                     unreliable, run longer or more chains",
                    j.blocks,
                    j.block_len,
                    stats::MIN_RELIABLE_BLOCKS
                ));
            }
            observables.push(Observable {
                name,
                value: j.value,
                std_err: j.std_err,
                tau_int: None,
                ess: None,
                blocking_err: None,
                r_hat: None,
            });
        }
        if let Some(rates) = self.chains.first().map(|c| &c.swap_rates) {
            if let Some(min) = rates.iter().cloned().reduce(f64::min) {
                if min < 0.05 {
                    notes.push(format!(
                        "parallel tempering: the lowest swap rate is {min:.3}; add replicas"
                    ));
                }
            }
        }
        let count = (self.chains.len() * self.chains[0].energy.len()) as f64;
        let average = |get: &dyn Fn(&ChainResult) -> Option<&Vec<f64>>| -> Option<Vec<f64>> {
            let first = get(&self.chains[0])?;
            let mut acc = vec![0.0; first.len()];
            for ch in &self.chains {
                for (a, x) in acc.iter_mut().zip(get(ch)?) {
                    *a += x / count;
                }
            }
            Some(acc)
        };
        Summary {
            observables,
            notes,
            magnetization: average(&|c| c.spin_sum.as_ref()),
            edge_correlation: average(&|c| c.edge_sum.as_ref()),
        }
    }
}
