//! Thermodynamic integration samples ⟨B⟩ on a uniform λ grid (replica exchange between
//! neighbouring rungs keeps frustrated models mixing) and integrates with Simpson's rule.
//! The statistical error comes from τ_int of the *per-sweep integral* Σ_k w_k B_k(t), which
//! includes the correlations between rungs that replica exchange creates; the quadrature error
//! is estimated by Richardson extrapolation against Simpson on every other rung, and both are
//! added in quadrature into the reported standard error.
//!
//! The path and its λ = 0 end are in [`super::path`].

use super::cluster::SwendsenWang;
use super::local::{Local, Rule, Scan};
use super::path::{bond_sum, check, ln_z0, residual, sample_fields};
use crate::distributed::{self, agree, Wire};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::rng::stream_seed;
use crate::runner::{Iteration, Runner, Termination};
use crate::stats;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Thermodynamic integration over the coupling strength with replica exchange.
#[derive(Debug, Clone)]
pub struct ThermodynamicIntegration {
    /// Number of λ rungs; must be 4k + 1 (Simpson on the grid and on every other rung).
    pub rungs: usize,
    /// Measured sweeps per rung in each ladder.
    pub sweeps: usize,
    /// Discarded sweeps per rung before measuring.
    pub burn_in: usize,
    /// Independent replica-exchange ladders; their spread is a check on mixing.
    pub chains: usize,
    /// Rungs are doubled (up to this many) while a short pilot run shows a neighbouring pair
    /// swapping less than 20% of the time: a sharp rise of ⟨B⟩ along λ makes both the swaps and
    /// Simpson's rule fail there. Set equal to `rungs` to fix the grid.
    pub max_rungs: usize,
    /// Times the run may be doubled (measuring only the second half) while the measured window
    /// drifts or the ladders disagree: up to 2^extensions × (burn_in + sweeps) sweeps.
    pub extensions: usize,
    /// Seed of the random streams (every ladder derives its own).
    pub seed: u64,
    /// Save the run to this file after every complete measurement round, and resume from it
    /// if it exists (a run stopped by its time limit continues from its last complete round;
    /// the continuation is bit-identical to a run that was never stopped).
    pub checkpoint: Option<std::path::PathBuf>,
}

impl Default for ThermodynamicIntegration {
    fn default() -> Self {
        ThermodynamicIntegration {
            rungs: 33,
            sweeps: 1500,
            burn_in: 300,
            chains: 4,
            max_rungs: 257,
            extensions: 4,
            seed: 1,
            checkpoint: None,
        }
    }
}

impl ThermodynamicIntegration {
    /// Check `rungs` rungs against the memory and time budgets ([`crate::limits`]) before the
    /// ladders are built. Memory: per chain and rung a state, a generator and (with cluster
    /// moves) Swendsen–Wang's bond probabilities and union-find arrays (8 B per edge, 13 per
    /// spin); per chain the integrand of every sweep the run may reach (all extensions) and
    /// sums over spins and edges. Time: the run without pilots or extensions, a lower bound.
    fn check_budget(&self, m: &Model, rungs: usize, cluster: bool) -> Result<()> {
        let limits = crate::limits::Limits::current();
        let (n, e) = (m.n() as f64, m.num_edges() as f64);
        let (chains, k) = (self.chains as f64, rungs as f64);
        let sweeps = self.burn_in as f64 + self.sweeps as f64;
        let longest = sweeps * (self.extensions.min(60) as f64).exp2();
        let slot = n + 64.0 + if cluster { 8.0 * e + 13.0 * n } else { 0.0 };
        let bytes = chains * (k * slot + 16.0 * longest + 8.0 * (n + e));
        let what = format!(
            "{} ladders × {rungs} rungs × ({} + {} burn-in) sweeps of {} spins",
            self.chains,
            self.sweeps,
            self.burn_in,
            m.n()
        );
        limits.check_memory("ti", &format!("a run of {what}"), bytes)?;
        // Per sweep and rung: one update per spin and the bond sum B(s) over the edges.
        let per_sweep = n * crate::limits::spin_update_ops(2.0 * e / n.max(1.0)) + e;
        limits.check_work("ti", &what, chains * k * sweeps * per_sweep)
    }

    /// The budget for one point of a β sweep (`logz compare`, every method at every β): half the
    /// rungs (pilot runs still double them where neighbours rarely swap), two ladders and a
    /// quarter of the sweeps — about a tenth of the work of [`Default`], for error bars about
    /// three times wider. The checks that extend the run and set `converged` are unchanged.
    pub fn sweep_point() -> Self {
        ThermodynamicIntegration {
            rungs: 17,
            sweeps: 400,
            burn_in: 100,
            chains: 2,
            max_rungs: 129,
            extensions: 3,
            seed: 1,
            checkpoint: None,
        }
    }
}

/// Composite Simpson weights on a uniform grid of `k` (odd) points over [0, 1].
fn simpson_weights(k: usize) -> Vec<f64> {
    let h = 1.0 / (k - 1) as f64;
    (0..k)
        .map(|i| {
            let w = if i == 0 || i == k - 1 {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            w * h / 3.0
        })
        .collect()
}

/// A low-energy state of the full model (λ = 1) from a short simulated anneal (β from 0.1β to
/// 4β) followed by a zero-temperature quench. Half of the ladders start there ("cold") and half
/// from the λ = 0 distribution ("hot"): if the sampler cannot equilibrate, the two groups end up
/// disagreeing, and the spread between ladders — which enters the error bar — shows it.
fn cold_state(m: &Model, seed: u64) -> Result<Vec<i8>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut s = sample_fields(m, &mut rng);
    let steps = 400;
    for t in 0..steps {
        let b = m.beta() * 0.1 * 40f64.powf(t as f64 / (steps - 1) as f64);
        let mt = m.with_beta(b)?;
        Local::new(&mt, Rule::Metropolis, Scan::Sequential).sweep(&mut s, &mut rng);
    }
    // Quench: flip any spin that lowers the energy until none does.
    loop {
        let mut changed = false;
        for i in 0..m.n() {
            if m.flip_delta(&s, i) < 0.0 {
                s[i] = -s[i];
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Ok(s)
}

/// One rung slot: its λ, random stream, current state and (for unfrustrated couplings) its
/// Swendsen–Wang sampler. States move between slots on swaps; streams and samplers stay.
struct Slot<'a> {
    lambda: f64,
    rng: Xoshiro256PlusPlus,
    state: Vec<i8>,
    cluster: Option<SwendsenWang<'a>>,
    bonds: f64,
}

/// One replica-exchange ladder that can be run on: its rung slots, swap statistics, the
/// per-sweep integrand over every sweep so far, and observables at λ = 1 summed over the
/// current measurement window.
struct Ladder<'a> {
    slots: Vec<Slot<'a>>,
    swap_rng: Xoshiro256PlusPlus,
    /// Index of the ladder (the first one reports to the runner's observers).
    chain: usize,
    swaps: Vec<usize>,
    tries: Vec<usize>,
    /// Sweeps done so far.
    t: usize,
    /// Per sweep (from the first): β Σ_k w_k B_k with Simpson weights on all rungs and on
    /// every other rung.
    fine: Vec<f64>,
    coarse: Vec<f64>,
    /// Sums over the measurement window at λ = 1.
    spin: Vec<f64>,
    edge: Vec<f64>,
    energy: f64,
    abs_m: f64,
}

impl ThermodynamicIntegration {
    fn ladder<'a>(&self, m: &'a Model, chain: usize, cluster: bool) -> Result<Ladder<'a>> {
        let k = self.rungs;
        let seed = stream_seed(self.seed, chain as u64);
        let cold = if chain % 2 == 1 {
            Some(cold_state(m, stream_seed(seed, u64::MAX - 1))?)
        } else {
            None
        };
        let slots: Vec<Slot> = (0..k)
            .map(|r| {
                let lambda = r as f64 / (k - 1) as f64;
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, r as u64));
                let state = match &cold {
                    Some(c) => c.clone(),
                    None => sample_fields(m, &mut rng),
                };
                let cluster = if cluster {
                    Some(SwendsenWang::with_scale(m, lambda)?)
                } else {
                    None
                };
                Ok(Slot {
                    lambda,
                    rng,
                    state,
                    cluster,
                    bonds: 0.0,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Ladder {
            slots,
            swap_rng: Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, u64::MAX)),
            chain,
            swaps: vec![0; k - 1],
            tries: vec![0; k - 1],
            t: 0,
            fine: Vec::new(),
            coarse: Vec::new(),
            spin: vec![0.0; m.n()],
            edge: vec![0.0; m.num_edges()],
            energy: 0.0,
            abs_m: 0.0,
        })
    }
}

/// A TI run saved after a complete measurement round: everything needed to continue exactly
/// where it left off (states, generator states, traces and sums of every ladder).
#[derive(Serialize, Deserialize)]
struct Saved {
    /// The model and settings the run belongs to (see [`fingerprint`]).
    fingerprint: String,
    rungs: usize,
    from: usize,
    until: usize,
    extended: Vec<String>,
    history: Vec<f64>,
    pilots: Vec<String>,
    ladders: Vec<SavedLadder>,
}

#[derive(Serialize, Deserialize)]
struct SavedLadder {
    /// Per rung: λ, generator, spins, B(s).
    slots: Vec<(f64, Xoshiro256PlusPlus, Vec<i8>, f64)>,
    swap_rng: Xoshiro256PlusPlus,
    swaps: Vec<usize>,
    tries: Vec<usize>,
    t: usize,
    fine: Vec<f64>,
    coarse: Vec<f64>,
    spin: Vec<f64>,
    edge: Vec<f64>,
    energy: f64,
    abs_m: f64,
}

/// What a checkpoint must match: the model (size, β, a hash of edges, couplings and fields) and
/// every setting that changes the random streams or the schedule.
fn fingerprint(m: &Model, o: &ThermodynamicIntegration) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3);
    };
    for &(i, j) in m.edges() {
        eat(((i as u64) << 32) | j as u64);
    }
    m.couplings()
        .iter()
        .chain(m.fields())
        .for_each(|x| eat(x.to_bits()));
    format!(
        "ti/1 n={} edges={} beta={:e} hash={h:016x} chains={} sweeps={} burn_in={} extensions={} \
         max_rungs={} seed={}",
        m.n(),
        m.num_edges(),
        m.beta(),
        o.chains,
        o.sweeps,
        o.burn_in,
        o.extensions,
        o.max_rungs,
        o.seed
    )
}

fn save(path: &Path, saved: &Saved) -> Result<()> {
    let text = serde_json::to_string(saved).map_err(|e| Error::Numerical(e.to_string()))?;
    // Write beside the target and rename: a run killed mid-write leaves the old checkpoint.
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn load(path: &Path, fingerprint: &str) -> Result<Saved> {
    let text = crate::io::read_text(path)?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| Error::Parse {
        place: format!("{}:{}", path.display(), e.line()),
        reason: format!("not a TI checkpoint: {e}"),
    })?;
    if saved.fingerprint != fingerprint {
        return Err(Error::InvalidArgument(format!(
            "{}: the checkpoint belongs to another run (model or settings differ); delete it or \
             choose another --checkpoint file",
            path.display()
        )));
    }
    Ok(saved)
}

impl Ladder<'_> {
    fn save(&self) -> SavedLadder {
        SavedLadder {
            slots: self
                .slots
                .iter()
                .map(|s| (s.lambda, s.rng.clone(), s.state.clone(), s.bonds))
                .collect(),
            swap_rng: self.swap_rng.clone(),
            swaps: self.swaps.clone(),
            tries: self.tries.clone(),
            t: self.t,
            fine: self.fine.clone(),
            coarse: self.coarse.clone(),
            spin: self.spin.clone(),
            edge: self.edge.clone(),
            energy: self.energy,
            abs_m: self.abs_m,
        }
    }

    /// Put a saved ladder's state into this freshly built one (same model and rungs); an error
    /// if the shapes do not match (a damaged file).
    fn restore(&mut self, s: SavedLadder, path: &Path) -> Result<()> {
        let n = self.spin.len();
        let ok = s.slots.len() == self.slots.len()
            && s.slots
                .iter()
                .all(|x| x.2.len() == n && x.2.iter().all(|&v| v == 1 || v == -1))
            && s.spin.len() == n
            && s.edge.len() == self.edge.len()
            && s.swaps.len() == self.swaps.len()
            && s.tries.len() == self.tries.len()
            && s.fine.len() == s.t
            && s.coarse.len() == s.t;
        if !ok {
            return Err(Error::InvalidArgument(format!(
                "{}: the checkpoint's ladders do not fit this model (damaged file?)",
                path.display()
            )));
        }
        for (slot, (lambda, rng, state, bonds)) in self.slots.iter_mut().zip(s.slots) {
            (slot.lambda, slot.rng, slot.state, slot.bonds) = (lambda, rng, state, bonds);
        }
        self.swap_rng = s.swap_rng;
        (self.swaps, self.tries, self.t) = (s.swaps, s.tries, s.t);
        (self.fine, self.coarse) = (s.fine, s.coarse);
        (self.spin, self.edge, self.energy, self.abs_m) = (s.spin, s.edge, s.energy, s.abs_m);
        Ok(())
    }
}

impl Ladder<'_> {
    /// Run on to `until` sweeps in all; observables at λ = 1 are summed from sweep `measure_from`
    /// on (earlier sums are discarded).
    fn run(&mut self, m: &Model, until: usize, measure_from: usize, runner: &Runner) {
        let k = self.slots.len();
        let beta = m.beta();
        let fine_w = simpson_weights(k);
        let mut coarse_w = vec![0.0; k];
        for (i, w) in simpson_weights((k - 1) / 2 + 1).into_iter().enumerate() {
            coarse_w[2 * i] = w;
        }
        self.spin.iter_mut().for_each(|x| *x = 0.0);
        self.edge.iter_mut().for_each(|x| *x = 0.0);
        (self.energy, self.abs_m) = (0.0, 0.0);
        while self.t < until {
            // Ladder 0 reports every 64 sweeps (its running integral as the objective); the
            // others only poll the budget.
            let stop = if self.chain == 0 && self.t > 0 && self.t.is_multiple_of(64) {
                let it = Iteration::new("ti", self.t).objective(self.fine[self.t - 1]);
                runner.iterate(it).is_some_and(|t| t.interrupted())
            } else {
                runner.interrupted().is_some()
            };
            if stop {
                // Out of time or told to stop: `solve_with` trims the ladders to a common
                // length and reports what was measured.
                break;
            }
            let t = self.t;
            let slots = &mut self.slots;
            slots.par_iter_mut().for_each(|slot| {
                if let Some(sw) = &mut slot.cluster {
                    sw.sweep(&mut slot.state, &mut slot.rng);
                }
                Local::with_scale(m, Rule::Metropolis, Scan::Sequential, slot.lambda)
                    .sweep(&mut slot.state, &mut slot.rng);
                slot.bonds = bond_sum(m, &slot.state);
            });
            // Replica exchange between neighbouring rungs (alternating even and odd pairs):
            // swapping states x (at λ_r) and y (at λ_{r+1}) is accepted with probability
            // min(1, exp(β(λ_{r+1} − λ_r)(B(x) − B(y)))).
            for r in (t % 2..k - 1).step_by(2) {
                self.tries[r] += 1;
                let x = beta
                    * (slots[r + 1].lambda - slots[r].lambda)
                    * (slots[r].bonds - slots[r + 1].bonds);
                if x >= 0.0 || crate::rng::uniform(&mut self.swap_rng) < x.exp() {
                    let (a, b) = slots.split_at_mut(r + 1);
                    std::mem::swap(&mut a[r].state, &mut b[0].state);
                    std::mem::swap(&mut a[r].bonds, &mut b[0].bonds);
                    self.swaps[r] += 1;
                }
            }
            let weighted = |w: &[f64]| {
                beta * w
                    .iter()
                    .zip(slots.iter())
                    .map(|(w, s)| w * s.bonds)
                    .sum::<f64>()
            };
            self.fine.push(weighted(&fine_w));
            self.coarse.push(weighted(&coarse_w));
            if t >= measure_from {
                let s = &slots[k - 1].state;
                self.energy += m.energy(s);
                self.abs_m += (s.iter().map(|&x| x as f64).sum::<f64>() / m.n() as f64).abs();
                for (a, &x) in self.spin.iter_mut().zip(s) {
                    *a += x as f64;
                }
                for (a, &(i, j)) in self.edge.iter_mut().zip(m.edges()) {
                    *a += (s[i as usize] * s[j as usize]) as f64;
                }
            }
            self.t += 1;
            runner.advance(1);
        }
    }

    fn min_swap(&self) -> f64 {
        self.swaps
            .iter()
            .zip(&self.tries)
            .map(|(&a, &n)| a as f64 / n.max(1) as f64)
            .fold(1.0, f64::min)
    }
}

/// How the ladders' measurement window looks: pooled integral, its errors, and the checks that
/// decide whether to run on.
struct Window {
    pooled: stats::SeriesStats,
    se_between: f64,
    /// Geweke-style drift of the integrand inside the window, pooled over ladders (a z-score).
    drift_z: f64,
    quad: f64,
}

impl Window {
    fn of(ladders: &[Ladder], from: usize) -> Window {
        let per: Vec<stats::SeriesStats> = ladders
            .iter()
            .map(|l| stats::analyze(&l.fine[from..]))
            .collect();
        let pooled = stats::pool(&per);
        let c = ladders.len() as f64;
        // Between-ladder spread: if the ladders disagree beyond their own error bars, the chains
        // do not mix and the spread is the honest error.
        let means: Vec<f64> = per.iter().map(|s| s.mean).collect();
        let (_, var_between) = stats::mean_var(&means);
        let se_between = (var_between * c / (c - 1.0) / c).sqrt();
        // Independent ladders: their drift z-scores add up to √c times a standard normal.
        let drift_z = ladders
            .iter()
            .map(|l| stats::burn_in_z(&l.fine[from..]))
            .sum::<f64>()
            / c.sqrt();
        let diff: Vec<f64> = ladders
            .iter()
            .flat_map(|l| {
                l.fine[from..]
                    .iter()
                    .zip(&l.coarse[from..])
                    .map(|(a, b)| a - b)
            })
            .collect();
        // Richardson: Simpson's error is O(h⁴), so I − I_h ≈ (I_h − I_2h)/15.
        let quad = stats::mean_var(&diff).0.abs() / 15.0;
        Window {
            pooled,
            se_between,
            drift_z,
            quad,
        }
    }

    fn disagree(&self) -> bool {
        self.se_between > 2.0 * self.pooled.std_err
    }

    /// Equilibrated as far as the run can tell: no drift, ladders agree, τ_int reliable.
    fn settled(&self) -> bool {
        self.pooled.reliable && !self.disagree() && self.drift_z.abs() < 3.0
    }
}

impl Ladder<'_> {
    /// Take over a ladder computed by another rank: its traces, sums and counters, and — when
    /// `states` were sent (for a checkpoint) — its states and generators.
    fn adopt(&mut self, s: SavedLadder) {
        if s.slots.len() == self.slots.len() {
            for (slot, (lambda, rng, state, bonds)) in self.slots.iter_mut().zip(s.slots) {
                (slot.lambda, slot.rng, slot.state, slot.bonds) = (lambda, rng, state, bonds);
            }
            self.swap_rng = s.swap_rng;
        }
        (self.swaps, self.tries, self.t) = (s.swaps, s.tries, s.t);
        (self.fine, self.coarse) = (s.fine, s.coarse);
        (self.spin, self.edge, self.energy, self.abs_m) = (s.spin, s.edge, s.energy, s.abs_m);
    }
}

/// A ladder on the wire: the numbers bit for bit, the states and generators (only sent for a
/// checkpoint) as JSON.
impl Wire for SavedLadder {
    fn put(&self, out: &mut Vec<u64>) {
        let states = (!self.slots.is_empty())
            .then(|| serde_json::to_string(&(&self.slots, &self.swap_rng)).unwrap_or_default());
        states.put(out);
        (self.t, (self.swaps.clone(), self.tries.clone())).put(out);
        (self.fine.clone(), self.coarse.clone()).put(out);
        (self.spin.clone(), self.edge.clone()).put(out);
        (self.energy, self.abs_m).put(out);
    }
    fn take(rd: &mut distributed::wire::Reader) -> Result<Self> {
        let states = <Option<String> as Wire>::take(rd)?;
        let (t, (swaps, tries)) = <(usize, (Vec<usize>, Vec<usize>))>::take(rd)?;
        let (fine, coarse) = <(Vec<f64>, Vec<f64>)>::take(rd)?;
        let (spin, edge) = <(Vec<f64>, Vec<f64>)>::take(rd)?;
        let (energy, abs_m) = <(f64, f64)>::take(rd)?;
        type States = (
            Vec<(f64, Xoshiro256PlusPlus, Vec<i8>, f64)>,
            Xoshiro256PlusPlus,
        );
        let (slots, swap_rng): States = match states {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Error::Numerical(format!("ti: a ladder from another rank: {e}")))?,
            None => (Vec::new(), Xoshiro256PlusPlus::seed_from_u64(0)),
        };
        Ok(SavedLadder {
            slots,
            swap_rng,
            swaps,
            tries,
            t,
            fine,
            coarse,
            spin,
            edge,
            energy,
            abs_m,
        })
    }
}

/// After a round of a distributed run, give every rank every ladder's traces and sums (and,
/// for a checkpoint, states) from the rank that ran it. Nothing to do on one rank.
fn sync_ladders(ladders: &mut [Ladder], states: bool) -> Result<()> {
    let comm = distributed::current();
    if comm.size() == 1 {
        return Ok(());
    }
    let n = ladders.len();
    let (rank, size) = (comm.rank(), comm.size());
    let local: Vec<SavedLadder> = ladders[distributed::share(n, rank, size)]
        .iter()
        .map(|l| {
            let mut s = l.save();
            if !states {
                s.slots.clear();
            }
            s
        })
        .collect();
    let all = distributed::gather(comm.as_ref(), Ok(local))?;
    for (r, sent) in all.into_iter().enumerate() {
        if r != rank {
            for (i, s) in distributed::share(n, r, size).zip(sent) {
                ladders[i].adopt(s);
            }
        }
    }
    Ok(())
}

/// A ladder's λ = 1 sums: per spin, per edge, energy and |m|.
type Sums = (Vec<f64>, Vec<f64>, f64, f64);

/// After a run stopped early the ladders have swept different numbers of times (with fewer
/// threads than ladders, the last may not have started): drop those with fewer than 20 measured
/// sweeps, keep the sweeps all the others did (the integrand traces are cut, the λ = 1 sums
/// rescaled to that many measured sweeps); returns the common sweep count. Fewer than 2 such
/// ladders is an error: their spread is part of the error bar.
fn trim_ladders(ladders: &mut Vec<Ladder>, from: usize, why: Termination) -> Result<usize> {
    ladders.retain(|l| l.t >= from + 20);
    if ladders.len() < 2 {
        return Err(Error::OverBudget {
            what: "ti".into(),
            reason: format!(
                "the run was {} before two ladders measured 20 sweeps past the burn-in ({from}); \
                 allow more time or lower --burn-in",
                if why == Termination::Timeout {
                    "out of time"
                } else {
                    "stopped"
                }
            ),
        });
    }
    let t = ladders.iter().map(|l| l.t).min().unwrap_or(0);
    for l in ladders.iter_mut() {
        let scale = (t - from) as f64 / (l.t - from) as f64;
        l.fine.truncate(t);
        l.coarse.truncate(t);
        l.t = t;
        l.spin
            .iter_mut()
            .chain(l.edge.iter_mut())
            .for_each(|x| *x *= scale);
        l.energy *= scale;
        l.abs_m *= scale;
    }
    Ok(t)
}

impl Solver for ThermodynamicIntegration {
    fn name(&self) -> &'static str {
        "ti"
    }

    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        check(m, "ti")?;
        let k = self.rungs;
        if k < 5 || !(k - 1).is_multiple_of(4) {
            return Err(Error::InvalidArgument(format!(
                "ti needs 4k + 1 rungs (5, 9, 17, 33, 65, …), got {k}"
            )));
        }
        if self.sweeps < 100 || self.chains < 2 {
            return Err(Error::InvalidArgument(
                "ti needs at least 100 sweeps and 2 chains".into(),
            ));
        }
        // Cluster moves wherever they are valid: they carry ferromagnets with fields through
        // the (near-)first-order jumps along λ that single-spin moves cannot cross.
        let cluster = super::cluster::check_unfrustrated(m, "ti").is_ok();
        self.check_budget(m, k, cluster)?;
        // A checkpoint of this very run, if one exists, replaces the pilots and the rounds it
        // already measured.
        let fp = fingerprint(m, self);
        let saved = match &self.checkpoint {
            Some(p) if p.exists() => Some(load(p, &fp)?),
            _ => None,
        };
        // Pilot runs choose the number of rungs.
        let mut run = self.clone();
        let mut pilots = Vec::new();
        if let Some(s) = &saved {
            run.rungs = s.rungs;
            pilots = s.pilots.clone();
        }
        while saved.is_none() && run.rungs < self.max_rungs {
            // Every rank runs the pilots (they are short and sequential); stops are agreed.
            if agree(runner.interrupted()).is_some() {
                // No time to choose: keep the rungs so far (the main run reports the timeout).
                break;
            }
            let pilot = ThermodynamicIntegration {
                sweeps: 200,
                burn_in: 50,
                ..run.clone()
            };
            let mut l = pilot.ladder(m, 0, cluster)?;
            l.run(m, pilot.burn_in + pilot.sweeps, 0, &runner.child());
            if agree(runner.interrupted()).is_some() {
                // A pilot cut short measures nothing reliable.
                break;
            }
            let min_swap = l.min_swap();
            pilots.push(format!(
                "{} rungs: lowest swap rate {min_swap:.2}",
                run.rungs
            ));
            if min_swap >= 0.2 {
                break;
            }
            run.rungs = 2 * (run.rungs - 1) + 1;
        }
        let k = run.rungs;
        if k != self.rungs {
            run.check_budget(m, k, cluster)?;
        }
        let mut ladders: Vec<Ladder> = (0..run.chains)
            .map(|c| run.ladder(m, c, cluster))
            .collect::<Result<_>>()?;
        let resumed_at = saved.as_ref().map(|s| s.until);
        // Run, and while the measurement window drifts (the start was not yet equilibrated),
        // the ladders disagree or τ_int is unreliable, double the run and measure only its
        // second half — the burn-in grows with the run, as a glassy model needs.
        let (mut from, mut until) = (run.burn_in, run.burn_in + run.sweeps);
        let mut extended = Vec::new();
        let mut history = Vec::new();
        let mut stopped = None;
        // The previous complete measurement window and each ladder's λ = 1 sums over it: the
        // fallback when a doubling round is cut short.
        let mut previous: Option<(usize, usize, Vec<Sums>)> = None;
        // Sweeps behind the λ = 1 sums (the measurement window unless a fallback was taken).
        let mut obs_sweeps = None;
        // Resuming: the saved round is complete; the loop goes on from its window.
        let mut resume = false;
        if let (Some(s), Some(path)) = (saved, &self.checkpoint) {
            if s.ladders.len() != ladders.len() {
                return Err(Error::InvalidArgument(format!(
                    "{}: the checkpoint has {} ladders, the run {}",
                    path.display(),
                    s.ladders.len(),
                    ladders.len()
                )));
            }
            for (l, sl) in ladders.iter_mut().zip(s.ladders) {
                l.restore(sl, path)?;
            }
            (from, until, extended, history) = (s.from, s.until, s.extended, s.history);
            resume = true;
        }
        let window = loop {
            if !resume {
                // In a distributed run each rank advances its share of the ladders, then every
                // rank receives the others' (`sync_ladders`); the window below is the same on all.
                let (rank, size) = (distributed::rank(), distributed::size());
                let mine = distributed::share(ladders.len(), rank, size);
                runner.start(((until - ladders[0].t) * mine.len()) as u64, "sweeps");
                ladders[mine]
                    .par_iter_mut()
                    .for_each(|l| l.run(m, until, from, runner));
                runner.finish();
                sync_ladders(&mut ladders, self.checkpoint.is_some())?;
            }
            if let Some(why) = agree(runner.stopped()) {
                stopped = Some(why);
                match previous.take() {
                    None => {
                        until = trim_ladders(&mut ladders, from, why)?;
                        break Window::of(&ladders, from);
                    }
                    Some((prev_from, prev_until, sums)) => {
                        // A doubling round cut short: every ladder finished the previous round,
                        // so the integral uses [prev_from, t) with t the sweeps all ladders did,
                        // and the observables the previous window's sums.
                        let t = ladders.iter().map(|l| l.t).min().unwrap_or(prev_until);
                        for (l, s) in ladders.iter_mut().zip(sums) {
                            l.fine.truncate(t);
                            l.coarse.truncate(t);
                            l.t = t;
                            (l.spin, l.edge, l.energy, l.abs_m) = s;
                        }
                        obs_sweeps = Some(prev_until - prev_from);
                        (from, until) = (prev_from, t);
                        break Window::of(&ladders, from);
                    }
                }
            }
            // Rank 0 writes the checkpoint (it holds every ladder after `sync_ladders`).
            if let (Some(path), false, 0) = (&self.checkpoint, resume, distributed::rank()) {
                save(
                    path,
                    &Saved {
                        fingerprint: fp.clone(),
                        rungs: run.rungs,
                        from,
                        until,
                        extended: extended.clone(),
                        history: history.clone(),
                        pilots: pilots.clone(),
                        ladders: ladders.iter().map(|l| l.save()).collect(),
                    },
                )?;
            }
            resume = false;
            let w = Window::of(&ladders, from);
            if w.settled() || extended.len() >= run.extensions {
                break w;
            }
            extended.push(format!(
                "{} sweeps (ln Z {:.3}, drift z = {:.1}, ladders {})",
                until,
                ln_z0(m) + w.pooled.mean,
                w.drift_z,
                if w.disagree() { "disagree" } else { "agree" }
            ));
            history.push(w.pooled.mean);
            previous = Some((
                from,
                until,
                ladders
                    .iter()
                    .map(|l| (l.spin.clone(), l.edge.clone(), l.energy, l.abs_m))
                    .collect(),
            ));
            (from, until) = (until, 2 * until);
        };
        let Window {
            pooled,
            se_between,
            drift_z,
            quad,
        } = window;
        // τ_int's window can miss a slow mode of small amplitude; blocking (conservative) and
        // the spread between independent ladders catch it, so the largest of the three counts.
        let stat = pooled.std_err.max(pooled.blocking_err).max(se_between);
        let disagree = se_between > 2.0 * pooled.std_err;
        let drifting = drift_z.abs() >= 3.0;
        let settled = pooled.reliable && !disagree && !drifting;
        // Not equilibrated even after the last doubling: the estimate is still moving, and what
        // is left of its approach (see `residual`) joins the error.
        history.push(pooled.mean);
        let moving = if settled { 0.0 } else { residual(&history) };
        let std_err = (stat * stat + quad * quad + moving * moving).sqrt();
        let measured = until - from;
        let ns = (obs_sweeps.unwrap_or(measured) * ladders.len()) as f64;
        let sum = |f: &dyn for<'x> Fn(&'x Ladder<'_>) -> &'x Vec<f64>| -> Vec<f64> {
            let mut acc = vec![0.0; f(&ladders[0]).len()];
            for l in &ladders {
                for (a, x) in acc.iter_mut().zip(f(l)) {
                    *a += x / ns;
                }
            }
            acc
        };
        let mut e = Estimate::new(
            ln_z0(m) + pooled.mean,
            EstimateKind::Stochastic { std_err },
            "ti",
        );
        e.magnetization = sum(&|l| &l.spin);
        e.edge_correlation = Some(sum(&|l| &l.edge));
        e.energy = Some(ladders.iter().map(|l| l.energy).sum::<f64>() / ns);
        e.abs_magnetization = Some(ladders.iter().map(|l| l.abs_m).sum::<f64>() / ns);
        e.diagnostics.iterations = until * ladders.len();
        let min_swap = ladders.iter().map(|l| l.min_swap()).fold(1.0, f64::min);
        e.diagnostics.converged = settled;
        e.diagnostics.termination = match stopped {
            Some(why) => why,
            None if settled => Termination::Converged,
            None => Termination::MaxIterations,
        };
        e.diagnostics.notes.push(format!(
            "{} ladders × {k} λ-rungs × {measured} measured sweeps after {from} ({}replica exchange, lowest swap rate {min_swap:.2}); \
             statistical error {:.3e} (τ_int = {:.1} sweeps; between ladders {se_between:.3e}), quadrature error {quad:.3e}",
            ladders.len(),
            if cluster { "Swendsen–Wang + Metropolis, " } else { "Metropolis, " },
            pooled.std_err,
            pooled.tau_int,
        ));
        if let (Some(t), Some(p)) = (resumed_at, &self.checkpoint) {
            e.diagnostics.notes.push(format!(
                "resumed from {} after {t} sweeps per ladder",
                p.display()
            ));
        }
        if !pilots.is_empty() {
            e.diagnostics
                .notes
                .push(format!("pilot runs: {}", pilots.join("; ")));
        }
        if !extended.is_empty() {
            e.diagnostics
                .notes
                .push(format!("run doubled after {}", extended.join("; ")));
        }
        if moving > 0.0 {
            e.diagnostics.notes.push(format!(
                "not equilibrated after {} doublings: the estimate is still moving (by {:.3e} over \
                 the last doubling); its projected remaining change {moving:.3e} is added to the error",
                extended.len(),
                history[history.len() - 1] - history[history.len() - 2]
            ));
        }
        if drifting {
            e.diagnostics.notes.push(format!(
                "the integrand still drifts in the measured window (z = {drift_z:.1}): not equilibrated; increase --burn-in and --sweeps"
            ));
        }
        if disagree {
            e.diagnostics.notes.push(
                "the ladders disagree beyond their error bars (poor mixing): the reported error is \
                 their spread; increase --sweeps or --rungs"
                    .into(),
            );
        }
        if !pooled.reliable {
            e.diagnostics
                .notes
                .push("the run is too short for a reliable τ_int: increase --sweeps".into());
        }
        if min_swap < 0.05 {
            e.diagnostics
                .notes
                .push("some neighbouring rungs rarely swap: increase --rungs".into());
        }
        e.mark_undefined_error();
        Ok(e)
    }
}
