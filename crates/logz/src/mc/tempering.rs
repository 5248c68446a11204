//! Parallel tempering whose replicas may live on different ranks: temperature labels move, the
//! configurations stay where they are.
//!
//! Each of the C independent chains is a ladder of R replicas on the β ladder β_0 < … < β_{R−1}
//! (the model's β). Replica (c, r) is item g = c·R + r: it owns its configuration and its own
//! random stream `stream(stream_seed(seed, c), r)`, and sits at one rung `rung[g]`. One round:
//!
//! 1. every replica does a Metropolis sweep at its rung's β (each rank its share of the C·R
//!    replicas, [`crate::distributed::share`], in parallel on its threads), and measures
//!    E(s) and M(s) = Σ s_i;
//! 2. the (E, M) pairs are gathered to every rank (two numbers per replica: with the labels
//!    exchanged instead of the N spins, a round costs one small gather however large the lattice);
//! 3. every rank replays the same exchanges: chain c's own swap stream `stream(stream_seed(seed,
//!    c), u64::MAX)` decides, for the even or odd neighbouring pairs (alternating), whether the
//!    replicas at rungs k and k+1 trade places, with probability
//!    min(1, e^{(β_k − β_{k+1})(E_k − E_{k+1})});
//! 4. the replica now at the target rung is measured: its E and M (known everywhere) go into the
//!    chain's traces; the rank holding it adds its spins and bonds to the per-spin and per-edge
//!    sums and keeps its configuration when asked to save.
//!
//! With `exchange_every` = b > 1, steps 1–2 cover b sweeps at fixed rungs (the (E, M) of every
//! sweep gathered at once, 2b numbers per replica) before one exchange: b times fewer
//! synchronisations, the same equilibrium distribution (each block of sweeps leaves every rung's
//! Boltzmann distribution invariant, as does the exchange). b = 1 is the classic schedule.
//!
//! Kernels. On a uniform square or cubic torus each replica is a multi-spin checkerboard lattice
//! ([`super::multispin`], 64 spins per word) with its own row streams seeded from the
//! replica's stream; the acceptance tables of every rung's β are built once, and a sweep uses
//! the tables of the replica's current rung — an exchange moves a label, and with it which
//! table the replica reads, never a configuration or a table. E and M then come from popcounts.
//! Any other model runs the generic single-spin Metropolis sampler on a copy of the model per
//! rung. The per-spin and per-edge sums (`correlations`) are kept on the generic kernel only,
//! as for [`super::run::sample`]'s own multi-spin path.
//!
//! Those sums are sums of ±1, exact in f64 in any order, and everything else is decided from
//! gathered numbers in the same order everywhere — so the result is bit-identical for any number
//! of ranks and threads. The run stops (time limit, observer) at a point all ranks agree on.

use super::local::{Local, Rule, Scan};
use super::multispin::{Lattice, LatticeRule, Tables};
use super::run::{initial_state, ChainResult, SampleOptions};
use crate::distributed::{self, agree};
use crate::error::Result;
use crate::estimate::Progress;
use crate::model::Model;
use crate::rng::{stream, stream_seed, uniform, Generator};
use crate::runner::{Iteration, Runner};
use rand::Rng;
use rayon::prelude::*;

/// Check the run's budget every this many rounds (and agree on stopping).
const TICK: usize = 16;

/// A replica's configuration, in the form its kernel works on.
enum Spins {
    /// ±1 per spin, for the generic single-spin sampler.
    Plain(Vec<i8>),
    /// Bit-packed for the multi-spin kernel (which holds its own random streams).
    Packed(Box<Lattice>),
}

impl Spins {
    fn to_vec(&self) -> Vec<i8> {
        match self {
            Spins::Plain(s) => s.clone(),
            Spins::Packed(l) => l.spins(),
        }
    }
}

/// One replica held by this rank.
struct Replica {
    /// Global index c·R + r.
    item: usize,
    /// The replica's stream (the generic sampler's moves; it seeds the packed kernel's rows).
    rng: Generator,
    state: Spins,
    /// Accepted flips so far.
    moves: usize,
    /// (E, M) after every sweep of the current block.
    trace: Vec<(f64, f64)>,
    /// Σ s_i and Σ s_i s_j over the measured rounds this replica spent at the target rung.
    spin_sum: Vec<f64>,
    edge_sum: Vec<f64>,
    /// (round, configuration) of every saved round this replica was at the target rung.
    saved: Vec<(usize, Vec<i8>)>,
}

impl Replica {
    /// Add this replica's current state to its target-rung sums, and keep it when `saved` gives
    /// the sweep it belongs to.
    fn measure(&mut self, m: &Model, correlations: bool, saved: Option<usize>) {
        if !correlations && saved.is_none() {
            return;
        }
        let unpacked;
        let s: &[i8] = match &self.state {
            Spins::Plain(s) => s,
            Spins::Packed(l) => {
                unpacked = l.spins();
                &unpacked
            }
        };
        if correlations {
            for (a, &x) in self.spin_sum.iter_mut().zip(s) {
                *a += x as f64;
            }
            for (a, &(i, j)) in self.edge_sum.iter_mut().zip(m.edges()) {
                *a += (s[i as usize] * s[j as usize]) as f64;
            }
        }
        if let Some(u) = saved {
            self.saved.push((u, s.to_vec()));
        }
    }
}

/// What a rank sends at the end: per local replica its moves, sums and saved configurations,
/// and its final state.
type Final = (
    usize,
    (Vec<f64>, (Vec<f64>, (Vec<(usize, Vec<i8>)>, Vec<i8>))),
);

/// Run `o.chains` tempering chains on `ladder` (ascending to the model's β); `every` > 0 keeps
/// every `every`-th measured configuration at the target β. `fast`: run the replicas on the
/// multi-spin kernel with this rule (the model must fit it), else on the generic sampler. Same
/// results on any number of ranks.
pub(super) fn run(
    m: &Model,
    o: &SampleOptions,
    ladder: &[f64],
    every: usize,
    fast: Option<LatticeRule>,
    runner: &Runner,
) -> Result<Vec<ChainResult>> {
    let comm = distributed::current();
    let (rank, size) = (comm.rank(), comm.size());
    let (chains, k, n) = (o.chains, ladder.len(), m.n());
    // The generic sampler reads β from a model: one per rung.
    let models: Vec<Model> = match fast {
        Some(_) => Vec::new(),
        None => ladder
            .iter()
            .map(|&b| m.with_beta(b))
            .collect::<Result<_>>()?,
    };
    let correlations = o.correlations && fast.is_none();
    let offset = m.energy_offset();
    let mine = distributed::share(chains * k, rank, size);
    let mut local: Vec<Replica> = mine
        .clone()
        .map(|g| {
            let (c, r) = (g / k, g % k);
            let mut rng = stream(stream_seed(o.seed, c as u64), r as u64);
            let spins = initial_state(n, o.cold_start, &mut rng);
            let state = match fast {
                // The rows' streams are seeded from the replica's own stream, so they too
                // belong to the replica, not to the rank.
                Some(rule) => {
                    Spins::Packed(Box::new(Lattice::new(m, rule, &spins, rng.next_u64())?))
                }
                None => Spins::Plain(spins),
            };
            Ok(Replica {
                item: g,
                rng,
                state,
                moves: 0,
                trace: Vec::new(),
                spin_sum: if correlations {
                    vec![0.0; n]
                } else {
                    Vec::new()
                },
                edge_sum: if correlations {
                    vec![0.0; m.num_edges()]
                } else {
                    Vec::new()
                },
                saved: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    // The multi-spin kernel's acceptance tables of every rung, built once (from any replica's
    // lattice: they depend on J, h, the rule and the coordination, which all replicas share).
    let tables: Vec<Tables> = match local.first().map(|r| &r.state) {
        Some(Spins::Packed(l)) => ladder
            .iter()
            .map(|&b| l.tables_at(b))
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    let mut swap_rng: Vec<Generator> = (0..chains)
        .map(|c| stream(stream_seed(o.seed, c as u64), u64::MAX))
        .collect();
    // at[c][j]: the replica r of chain c sitting at rung j; rung_of[g]: the inverse.
    let mut at: Vec<Vec<usize>> = (0..chains).map(|_| (0..k).collect()).collect();
    let mut rung_of: Vec<usize> = (0..chains * k).map(|g| g % k).collect();
    let mut accepted = vec![vec![0usize; k - 1]; chains];
    let mut attempted = vec![vec![0usize; k - 1]; chains];
    let mut energy = vec![Vec::with_capacity(o.sweeps); chains];
    let mut magnetization = vec![Vec::with_capacity(o.sweeps); chains];
    let total = o.burn_in + o.sweeps;
    let keep = |t: usize| every > 0 && t >= o.burn_in && (t - o.burn_in + 1).is_multiple_of(every);
    let block = o.exchange_every.max(1);
    let mut ran = 0;
    // E and M of every replica after every sweep of the current block, [item][sweep].
    let mut e_all = vec![vec![0.0f64; block]; chains * k];
    let mut m_all = vec![vec![0.0f64; block]; chains * k];
    let mut exchanges = 0usize;
    let mut t = 0;
    while t < total {
        // Sweeps t..end at fixed rungs, then one exchange attempt (every sweep by default).
        let end = (t + block).min(total);
        let len = end - t;
        // 1. Sweep this rank's replicas at their current rungs; the replica at the target rung
        //    is measured after every sweep but the block's last (that one follows the exchange).
        local.par_iter_mut().for_each(|rep| {
            let rung = rung_of[rep.item];
            let top = rung == k - 1;
            rep.trace.clear();
            for u in t..end {
                let (e, mag) = match &mut rep.state {
                    Spins::Plain(s) => {
                        rep.moves += Local::new(&models[rung], Rule::Metropolis, Scan::Sequential)
                            .sweep(s, &mut rep.rng);
                        (m.energy(s), s.iter().map(|&x| x as i64).sum::<i64>() as f64)
                    }
                    Spins::Packed(l) => {
                        // The tables of the rung the replica sits at now.
                        l.sweep_with(&tables[rung]);
                        let (e, mag) = l.energy_magnetization();
                        (e + offset, mag)
                    }
                };
                rep.trace.push((e, mag));
                if top && u + 1 < end && u >= o.burn_in {
                    rep.measure(m, correlations, keep(u).then_some(u));
                }
            }
        });
        // 2. Every replica's (E, M) after every sweep of the block, on every rank.
        if size == 1 {
            for rep in &local {
                for (j, &(e, mag)) in rep.trace.iter().enumerate() {
                    (e_all[rep.item][j], m_all[rep.item][j]) = (e, mag);
                }
            }
        } else {
            let words: Vec<u64> = local
                .iter()
                .flat_map(|r| {
                    r.trace
                        .iter()
                        .flat_map(|&(e, mag)| [e.to_bits(), mag.to_bits()])
                })
                .collect();
            for (r, buf) in comm.all_gather(&words).iter().enumerate() {
                let per = 2 * len;
                for (g, w) in distributed::share(chains * k, r, size).zip(buf.chunks(per)) {
                    for (j, pair) in w.chunks(2).enumerate() {
                        e_all[g][j] = f64::from_bits(pair[0]);
                        m_all[g][j] = f64::from_bits(pair[1]);
                    }
                }
            }
        }
        // 3. The target rung's traces for the block's sweeps before the exchange.
        for c in 0..chains {
            let g = c * k + at[c][k - 1];
            for u in t.max(o.burn_in)..end - 1 {
                energy[c].push(e_all[g][u - t]);
                magnetization[c].push(m_all[g][u - t]);
            }
        }
        // 4. The same exchanges on every rank, chain by chain (even and odd pairs alternating
        //    from one exchange to the next), on the energies after the block's last sweep.
        let last = len - 1;
        for c in 0..chains {
            let (at, rng) = (&mut at[c], &mut swap_rng[c]);
            for j in (exchanges % 2..k - 1).step_by(2) {
                attempted[c][j] += 1;
                let (a, b) = (c * k + at[j], c * k + at[j + 1]);
                let x = (ladder[j] - ladder[j + 1]) * (e_all[a][last] - e_all[b][last]);
                if x >= 0.0 || uniform(rng) < x.exp() {
                    at.swap(j, j + 1);
                    rung_of[a] = j + 1;
                    rung_of[b] = j;
                    accepted[c][j] += 1;
                }
            }
        }
        exchanges += 1;
        // 5. Measure the replica now at the target rung after the block's last sweep.
        let u = end - 1;
        if u >= o.burn_in {
            for c in 0..chains {
                let g = c * k + at[c][k - 1];
                energy[c].push(e_all[g][last]);
                magnetization[c].push(m_all[g][last]);
            }
            let kept = keep(u).then_some(u);
            local.par_iter_mut().for_each(|rep| {
                if rung_of[rep.item] == k - 1 {
                    rep.measure(m, correlations, kept);
                }
            });
        }
        ran = end;
        // The budget, whenever a multiple of TICK sweeps is passed: progress, observers, and a
        // stop all ranks agree on.
        if end / TICK > t / TICK || end == total {
            runner.advance((len * chains) as u64);
            let why = runner
                .iterate(Iteration::new("sample", end))
                .filter(|w| w.interrupted())
                .or(runner.interrupted());
            if agree(why).is_some() {
                break;
            }
        } else {
            runner.advance((len * chains) as u64);
        }
        t = end;
    }
    // Gather what the replicas hold: moves, sums, saved configurations, final states.
    let finals: Vec<(usize, Final)> = local
        .into_iter()
        .map(|r| {
            (
                r.item,
                (
                    r.moves,
                    (r.spin_sum, (r.edge_sum, (r.saved, r.state.to_vec()))),
                ),
            )
        })
        .collect();
    let all: Vec<(usize, Final)> = distributed::gather(comm.as_ref(), Ok(finals))?
        .into_iter()
        .flatten()
        .collect();
    let norm = (ran.max(1) * n.max(1)) as f64;
    let mut out = Vec::with_capacity(chains);
    let mut all = all.into_iter();
    for c in 0..chains {
        let reps: Vec<(usize, Final)> = all.by_ref().take(k).collect();
        let mut moves = 0;
        let (mut spin_sum, mut edge_sum) = (None::<Vec<f64>>, None::<Vec<f64>>);
        let mut saved_at: Vec<(usize, Vec<i8>)> = Vec::new();
        let mut final_spins = Vec::new();
        for (g, (mv, (ss, (es, (saved, state))))) in reps {
            moves += mv;
            if correlations {
                // Sums of ±1: exact in f64, whatever the order.
                for (acc, v) in [(&mut spin_sum, ss), (&mut edge_sum, es)] {
                    match acc {
                        Some(a) => a.iter_mut().zip(&v).for_each(|(a, x)| *a += x),
                        None => *acc = Some(v),
                    }
                }
            }
            saved_at.extend(saved);
            if g == c * k + at[c][k - 1] {
                final_spins = state;
            }
        }
        saved_at.sort_by_key(|(t, _)| *t);
        out.push(ChainResult {
            energy: std::mem::take(&mut energy[c]),
            magnetization: std::mem::take(&mut magnetization[c]),
            spin_sum,
            edge_sum,
            final_spins,
            swap_rates: accepted[c]
                .iter()
                .zip(&attempted[c])
                .map(|(&a, &n)| a as f64 / n.max(1) as f64)
                .collect(),
            moves_per_sweep: moves as f64 / (norm * k as f64),
            saved: saved_at.into_iter().flat_map(|(_, s)| s).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::threads;
    use crate::mc::run::{sample_saving, Algorithm, KernelChoice};
    use crate::model::builders::{self, Params};

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn same_chains_on_one_two_and_three_ranks() {
        let p = Params {
            coupling: 1.0,
            field: 0.1,
            beta: 0.5,
            seed: 3,
        };
        // A random graph (generic kernel), a square and a cubic torus (multi-spin kernel).
        for (spec, kernel) in [
            ("er:20:0.3:pm", "generic"),
            ("square:8", "multispin"),
            ("cubic:4", "multispin"),
        ] {
            let m = builders::from_spec(spec, &p).unwrap();
            same_chains_on_any_number_of_ranks(&m, kernel);
        }
    }

    fn same_chains_on_any_number_of_ranks(m: &Model, kernel: &str) {
        let o = SampleOptions {
            algorithm: Algorithm::Tempering,
            sweeps: 200,
            burn_in: 20,
            chains: 2,
            replicas: 5,
            seed: 9,
            ..Default::default()
        };
        for b in [1, 3] {
            let o = SampleOptions {
                exchange_every: b,
                ..o.clone()
            };
            let go = || sample_saving(m, &o, 7, &Runner::new()).unwrap();
            let one = go();
            assert_eq!(one.kernel, kernel);
            for k in [2, 3] {
                for run in threads::run(k, |_| go()) {
                    for (a, b) in one.chains.iter().zip(&run.chains) {
                        assert_eq!(bits(&a.energy), bits(&b.energy));
                        assert_eq!(bits(&a.magnetization), bits(&b.magnetization));
                        assert_eq!(a.spin_sum, b.spin_sum);
                        assert_eq!(a.edge_sum, b.edge_sum);
                        assert_eq!(a.final_spins, b.final_spins);
                        assert_eq!(a.saved, b.saved);
                        assert_eq!(bits(&a.swap_rates), bits(&b.swap_rates));
                        assert_eq!(a.moves_per_sweep.to_bits(), b.moves_per_sweep.to_bits());
                    }
                }
            }
            // The saved configurations are the target replica's, whose energy was recorded.
            let c = &one.chains[0];
            assert_eq!(c.energy.len(), 200);
            assert_eq!(c.saved.len(), (200 / 7) * m.n());
            for (i, s) in c.saved.chunks(m.n()).enumerate() {
                let magnetization = s.iter().map(|&x| x as f64).sum::<f64>();
                let e = c.energy[7 * i + 6];
                if kernel == "generic" {
                    assert_eq!(m.energy(s).to_bits(), e.to_bits());
                } else {
                    // The multi-spin kernel's E comes from popcounts: equal up to rounding.
                    assert!(
                        (m.energy(s) - e).abs() <= 1e-12 * e.abs().max(1.0),
                        "{kernel}"
                    );
                }
                assert_eq!(magnetization, c.magnetization[7 * i + 6]);
            }
            // The configurations moved (a frozen kernel would pass the checks above).
            assert!(c.energy.iter().any(|&e| e != c.energy[0]), "{kernel}");
        }
    }

    #[test]
    fn blocks_of_sweeps_between_exchanges_sample_the_right_energy() {
        let p = Params {
            coupling: 1.0,
            field: 0.0,
            beta: 0.44,
            seed: 1,
        };
        let m = builders::square(4, 4, true, &p).unwrap();
        // Exact ⟨E⟩/N by enumerating the 2^16 states.
        let (mut z, mut ez) = (0.0, 0.0);
        for bits in 0u32..1 << 16 {
            let s: Vec<i8> = (0..16)
                .map(|i| if bits >> i & 1 == 1 { 1 } else { -1 })
                .collect();
            let e = m.energy(&s);
            let w = (-0.44 * e).exp();
            z += w;
            ez += e * w;
        }
        let exact = ez / z / 16.0;
        for (kernel, name) in [
            (KernelChoice::Generic, "generic"),
            (KernelChoice::Auto, "multispin"),
        ] {
            let o = SampleOptions {
                algorithm: Algorithm::Tempering,
                sweeps: 4000,
                burn_in: 200,
                chains: 4,
                replicas: 6,
                exchange_every: 5,
                seed: 4,
                kernel,
                ..Default::default()
            };
            let run = crate::mc::run::sample(&m, &o, &Runner::new()).unwrap();
            assert_eq!(run.kernel, name);
            let e = run.summary();
            let e = e.get("energy").unwrap();
            let se = e.std_err;
            assert!(se < 0.02, "{name}: σ = {se}");
            assert!(
                (e.value - exact).abs() < 4.0 * se,
                "{name}: {} ± {se} vs {exact}",
                e.value
            );
            assert!(
                run.chains[0].swap_rates.iter().all(|&r| r > 0.1),
                "{name}: {:?}",
                run.chains[0].swap_rates
            );
        }
    }
}
