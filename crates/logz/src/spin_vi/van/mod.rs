//! Variational autoregressive networks for spins (Wu, Wang & Zhang, PRL 122, 080602, 2019).
//!
//! q(s) = Π_j q(s_j | s_<j) with q(s_j | s_<j) = e^{s_j a_j}/(2cosh a_j), where the logits a_j
//! come from a masked dense network (MADE): `depth` hidden tanh layers of `width` units. Unit k
//! has a degree d_k ∈ {0, …, N−2}, assigned in ascending order, and may see inputs s_0..s_{d_k};
//! a deeper unit sees units of degree ≤ its own; output j sees last-layer units of degree < j.
//! Because degrees ascend with the unit index, every mask is a *prefix* of the previous layer,
//! so masked products are plain loops over prefixes — no multiplications by zero.
//!
//! Exact sampling visits the sites in order and computes each hidden unit exactly once, as soon
//! as the inputs it may see have been drawn, so a sample costs one forward pass,
//! O(N·width + depth·width²). log q(s) is exact. Training minimises F_q = E_q[βE(s) + log q(s)]
//! = −ELBO with the REINFORCE gradient E_q[(f − b)∇ log q] (f = βE + log q, leave-one-out
//! baseline b), hand-derived backpropagation through the prefix-masked layers, and Adam: the full
//! step for the first half of the run, then a cosine decay to 5% of it over the second half
//! (with a constant step the network jitters around the optimum at a distance set by the gradient
//! noise, which is what limited the final ELBO). β is annealed as β(1 − e^{−t/τ}) with
//! τ = min(500, steps/4) (Wu et al.'s 0.998^t for long runs). With `z2` (no fields) the family is
//! symmetrised: q₂(s) = ½[q(s) + q(−s)].
//!
//! Speed: samples are drawn and backpropagated in fixed chunks of 32, evaluated in parallel
//! (each chunk with its own random stream, so results do not depend on the thread count). Within
//! a chunk the work is unit-major — for each weight row, all 32 samples — so a row of the
//! parameters and of the gradient is loaded once per chunk instead of once per sample (the
//! gradient is a megabyte at N = width = 256 and would not stay in cache), and the prefix dot
//! products and updates run on FMA vectors when the CPU has them ([`crate::numeric::dot`]).
//!
//! Why hand-written backpropagation rather than an autodiff crate: the network is three loops
//! over prefixes, its gradient is three more, and the per-sample work is tiny; a tape-based
//! autodiff (or candle, whose build alone takes minutes here) would spend more time building
//! graphs than computing, and could not exploit the prefix masks.
//!
//! Results: the ELBO E_q[−βE − log q] ± its standard error (a stochastic lower bound on ln Z), and
//! the importance-weighted estimate ln Z ≈ ln mean e^{−βE(s) − log q(s)}, bias-corrected by a
//! delete-a-group jackknife whose spread is also its error bar (the larger of that and the
//! delta-method error), with the effective sample size of the weights. When the ESS is a few
//! percent of the samples the weights are heavy-tailed and no finite-sample error bar is
//! trustworthy: the estimate is then marked not converged.

pub mod checkpoint;
mod network;

pub use network::Made;
use network::{Act, Grad};

use crate::distributed::{self, agree};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::numeric::log_add;
use crate::rng::stream_seed;
use crate::runner::{Iteration, Runner, Termination};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Training settings.
#[derive(Debug, Clone)]
pub struct Van {
    /// Hidden units per layer (None: N clamped to 16..=512).
    pub width: Option<usize>,
    /// Number of hidden layers.
    pub depth: usize,
    /// Training steps (Adam updates).
    pub steps: usize,
    /// Samples of q per step.
    pub batch: usize,
    /// Adam's step size (full for the first half, then cosine-decayed to 5%).
    pub lr: f64,
    /// Anneal β from 0 to the model's β during training (ignored when starting from `init`).
    pub anneal: bool,
    /// Symmetrise q under s → −s (default: when every field is zero).
    pub z2: Option<bool>,
    /// Fresh samples for the final ELBO and importance-weighted estimates.
    pub eval_samples: usize,
    /// Seed from which every random stream is derived.
    pub seed: u64,
    /// Report the importance-weighted estimate instead of the ELBO.
    pub importance_weighted: bool,
    /// Start from (and return) a trained network.
    pub init: Option<Made>,
}

impl Default for Van {
    fn default() -> Self {
        Van {
            width: None,
            depth: 1,
            steps: 1000,
            batch: 256,
            lr: 2e-3,
            anneal: true,
            z2: None,
            eval_samples: 10_000,
            seed: 1,
            importance_weighted: false,
            init: None,
        }
    }
}

/// What a training run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VanReport {
    /// ELBO E_q\[−βE − log q\] from the evaluation samples (a stochastic lower bound on ln Z).
    pub elbo: f64,
    /// Standard error of `elbo`.
    #[serde(with = "crate::estimate::error_bar")]
    pub elbo_std_err: f64,
    /// Importance-weighted ln Z ≈ ln mean e^{−βE(s) − log q(s)}, jackknife bias-corrected.
    pub iw_ln_z: f64,
    /// +∞ when one sample carries all the weight (written as "inf" in JSON).
    #[serde(with = "crate::estimate::error_bar")]
    pub iw_std_err: f64,
    /// Effective sample size (Σw)²/Σw² of the importance weights.
    pub ess: f64,
    /// Number of evaluation samples.
    pub samples: usize,
    /// ELBO (batch mean at the target β) every 10 steps, with the seconds elapsed.
    pub trace: Vec<(usize, f64, f64)>,
    /// Wall-clock seconds from the start of training to the end of evaluation.
    pub seconds: f64,
    /// Training steps taken (fewer than planned when the runner stopped training).
    #[serde(default)]
    pub steps: usize,
    /// CUBO₂ = ½ ln mean(w²) of the importance weights w = e^{−βE}/q: a stochastic upper
    /// bound on ln Z (the log of a sample mean is biased low by O(1/S)).
    #[serde(default, deserialize_with = "nan_if_null")]
    pub cubo: f64,
    /// Jackknife standard error of `cubo`.
    #[serde(default, with = "crate::estimate::error_bar")]
    pub cubo_std_err: f64,
    /// PSIS k̂ of the importance weights (< 0.5: q covers the Boltzmann distribution well;
    /// > 0.7: the importance-weighted ln Z is not to be trusted). NaN when not computed.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub khat: f64,
    /// PSIS estimate of ln Z.
    #[serde(default, deserialize_with = "nan_if_null")]
    pub psis_ln_z: f64,
    /// Why training stopped: `completed` (all planned steps), `timeout` or `stopped`.
    #[serde(default)]
    pub termination: Termination,
}

const CHUNK: usize = 32;

/// Serde default of fields absent from older checkpoints.
fn nan() -> f64 {
    f64::NAN
}

/// JSON writes a NaN as `null` (e.g. k̂ when the weights tie); read it back as NaN, so that
/// every checkpoint `train-van` writes can be read by `--net`.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The mirrored state −s of a z2 draw with its activations, and π = q(s)/(q(s) + q(−s)).
struct Mirror {
    act: Act,
    pi: f64,
}

/// One draw with everything its gradient needs: the raw sample and its activations, the mirrored
/// state's activations (z2), the returned state's energy and log q.
struct Draw {
    raw: Act,
    mirror: Option<Mirror>,
    energy: f64,
    log_q: f64,
}

impl Draw {
    /// `count` draws of q (symmetrised when z2: each raw draw negated with probability ½).
    fn batch<R: rand::Rng>(net: &Made, m: &Model, rng: &mut R, count: usize) -> Vec<Draw> {
        let raws = net.sample_batch(rng, count);
        let mirrors: Vec<Option<Act>> = if net.z2 {
            let neg = raws
                .iter()
                .map(|x| x.s.iter().map(|v| -v).collect())
                .collect();
            net.forward_batch(neg).into_iter().map(Some).collect()
        } else {
            (0..count).map(|_| None).collect()
        };
        raws.into_iter()
            .zip(mirrors)
            .map(|(raw, mirror)| {
                let lq_raw = raw.log_q();
                let (mirror, log_q, flip) = match mirror {
                    Some(act) => {
                        let lq_neg = act.log_q();
                        let both = log_add(lq_raw, lq_neg);
                        let pi = (lq_raw - both).exp();
                        let flip = rng.next_u64() >> 63 == 1;
                        (
                            Some(Mirror { act, pi }),
                            both - std::f64::consts::LN_2,
                            flip,
                        )
                    }
                    None => (None, lq_raw, false),
                };
                let si: Vec<i8> = raw
                    .s
                    .iter()
                    .map(|&x| if flip { -x as i8 } else { x as i8 })
                    .collect();
                Draw {
                    energy: m.energy(&si),
                    raw,
                    mirror,
                    log_q,
                }
            })
            .collect()
    }

    /// The gradient terms of w·∇ log q(s) (q symmetrised when z2: π∇log q(raw) + (1 − π)∇log
    /// q(−raw), the same for either member of the pair).
    fn grad_terms<'a>(&'a self, w: f64, out: &mut Vec<Grad<'a>>) {
        let term = |x: &'a Act, weight: f64| Grad {
            s: &x.s,
            weight,
            h: &x.h,
            a: &x.a,
        };
        match &self.mirror {
            None => out.push(term(&self.raw, w)),
            Some(mi) => {
                out.push(term(&self.raw, w * mi.pi));
                out.push(term(&mi.act, w * (1.0 - mi.pi)));
            }
        }
    }
}

impl Van {
    /// Check a run against the memory and time budgets ([`crate::limits`]) before anything is
    /// allocated. Memory: the network with its gradient and Adam moments (4 copies of the
    /// parameters), every draw of a step with its activations (and its mirror's, z2), a gradient
    /// per chunk of 32 draws, and the evaluation draws. Time: a draw costs a forward pass and
    /// its gradient a backward one, each ~N·width + depth·width² multiply-adds (a lower bound).
    fn check_budget(&self, m: &Model) -> Result<()> {
        let limits = crate::limits::Limits::current();
        let n = m.n() as f64;
        let (w, d) = match &self.init {
            Some(net) => (net.width as f64, net.depth as f64),
            None => (
                self.width.unwrap_or(m.n().clamp(16, 512)) as f64,
                self.depth as f64,
            ),
        };
        let params = Made::param_count_f64(n, w, d);
        let draw = 2.0 * (16.0 * n + d * (24.0 + 8.0 * w) + 200.0) + m.n() as f64;
        let (batch, steps) = (self.batch as f64, self.steps as f64);
        let chunks = (batch / CHUNK as f64).ceil();
        let eval = self.eval_samples as f64;
        let bytes = 8.0 * params * (4.0 + chunks) + draw * batch.max(eval.min(CHUNK as f64));
        let bytes = bytes + 8.0 * eval;
        let what = format!(
            "{} steps × {} samples of a network of {} parameters",
            self.steps, self.batch, params
        );
        limits.check_memory("van", &format!("training {what}"), bytes)?;
        let pass = n * w + d * w * w + m.num_edges() as f64;
        limits.check_work("van", &what, 3.0 * pass * (steps * batch + eval))
    }

    /// Train (or continue training) a network on `m`; returns it with its evaluation.
    pub fn train(&self, m: &Model, runner: &Runner) -> Result<(Made, VanReport)> {
        let n = m.n();
        if self.batch < 2 || !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "van needs batch ≥ 2 and a finite lr > 0 (got batch {}, lr {})",
                self.batch, self.lr
            )));
        }
        if let Some(net) = &self.init {
            net.validate()?;
        }
        self.check_budget(m)?;
        let no_field = m.fields().iter().all(|&h| h == 0.0);
        let z2 = self.z2.unwrap_or(no_field);
        let mut net = match &self.init {
            Some(net) => {
                if net.n != n {
                    return Err(Error::InvalidArgument(format!(
                        "the network was trained for {} spins, the model has {n}",
                        net.n
                    )));
                }
                net.clone()
            }
            None => Made::new(
                n,
                self.width.unwrap_or(n.clamp(16, 512)),
                self.depth,
                z2,
                self.seed,
            )?,
        };
        let np = net.params.len();
        let comm = distributed::current();
        let (rank, size) = (comm.rank(), comm.size());
        let mut adam = crate::optim::Adam::new(np);
        let beta = m.beta();
        let t0 = std::time::Instant::now();
        let mut trace = Vec::new();
        runner.start(self.steps as u64, "VAN steps");
        let (mut done, mut stopped) = (0, None);
        for t in 1..=self.steps {
            done = t;
            let bt = if self.anneal && self.init.is_none() {
                // β_t = β(1 − e^{−t/τ}), τ = 500 steps (Wu et al.'s 0.998^t) or a tenth of a
                // shorter run, so that every run trains at the target β for most of its steps.
                let tau = (self.steps as f64 / 4.0).clamp(1.0, 500.0);
                beta * (1.0 - (-(t as f64) / tau).exp())
            } else {
                beta
            };
            let chunks = self.batch.div_ceil(CHUNK);
            // Each chunk: raw draws with their activations (and those of the mirrored state
            // for z2), f = β_t E + log q, then the gradient once the baseline is known.
            // Data-parallel over the ranks of a distributed run: each rank draws its share of
            // the chunks (chunk c's stream is the same on any rank), every rank receives every
            // draw's (E, log q) and every chunk's gradient, and sums them in chunk order.
            let mine = distributed::share(chunks, rank, size);
            let draws: Vec<Vec<Draw>> = mine
                .clone()
                .into_par_iter()
                .map(|c| {
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(
                        stream_seed(self.seed, t as u64),
                        c as u64,
                    ));
                    let cnt = CHUNK.min(self.batch - c * CHUNK);
                    Draw::batch(&net, m, &mut rng, cnt)
                })
                .collect();
            let all: Vec<&Draw> = draws.iter().flatten().collect();
            let (energy, log_q): (Vec<f64>, Vec<f64>) = if size == 1 {
                all.iter().map(|d| (d.energy, d.log_q)).unzip()
            } else {
                let local: Vec<(f64, f64)> = all.iter().map(|d| (d.energy, d.log_q)).collect();
                distributed::gather(comm.as_ref(), Ok(local))?
                    .into_iter()
                    .flatten()
                    .unzip()
            };
            let b = energy.len() as f64;
            let f: Vec<f64> = energy
                .iter()
                .zip(&log_q)
                .map(|(e, lq)| bt * e + lq)
                .collect();
            let total: f64 = f.iter().sum();
            // Index of this rank's first draw in the step's batch.
            let first = mine.start * CHUNK;
            // Gradient of F = E[f]: Σ_k w_k ∇ log q(s_k), w_k = (f_k − leave-one-out mean)/B.
            let grads: Vec<Vec<f64>> = all
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut g = vec![0.0; np];
                    let mut terms = Vec::with_capacity(2 * chunk.len());
                    for (i, d) in chunk.iter().enumerate() {
                        let k = first + c * CHUNK + i;
                        let w = (f[k] - (total - f[k]) / (b - 1.0)) / b;
                        d.grad_terms(w, &mut terms);
                    }
                    net.backward_batch(&terms, &mut g);
                    g
                })
                .collect();
            let grads = if size == 1 {
                grads
            } else {
                distributed::gather(comm.as_ref(), Ok(grads))?
                    .into_iter()
                    .flatten()
                    .collect()
            };
            let mut grad = vec![0.0; np];
            for g in &grads {
                for (x, y) in grad.iter_mut().zip(g) {
                    *x += y;
                }
            }
            // Descend F = −ELBO.
            grad.iter_mut().for_each(|g| *g = -*g);
            // Cosine decay of the step size to 5% of `lr`: a constant step leaves the network
            // jittering around the optimum at a distance set by the gradient noise, which is
            // what limits the final ELBO; decaying it lets the last steps settle.
            // The first half runs at the full step; the decay takes the second half.
            let frac = (2.0 * (t - 1) as f64 / self.steps.max(2) as f64 - 1.0).max(0.0);
            let rate = self.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
            adam.step(&mut net.params, &grad, rate);
            if t % 10 == 0 || t == self.steps {
                // ELBO at the target β from this batch (exact only once annealing is over).
                let elbo = -energy
                    .iter()
                    .zip(&log_q)
                    .map(|(e, lq)| beta * e + lq)
                    .sum::<f64>()
                    / b;
                trace.push((t, elbo, t0.elapsed().as_secs_f64()));
                runner.message(&format!("ELBO {elbo:.4}"));
                runner.advance(10.min(t as u64));
                // Stopping early is always honest here: the evaluation below samples the
                // network at the target β, so its ELBO is a stochastic lower bound whatever
                // the training reached.
                if let Some(why) = agree(runner.iterate(Iteration::new("van", t).objective(elbo))) {
                    stopped = Some(why);
                    break;
                }
            }
        }
        runner.finish();
        let mut report = evaluate(
            &net,
            m,
            self.eval_samples,
            stream_seed(self.seed, u64::MAX),
            trace,
            t0,
        )?;
        report.steps = done;
        report.termination = stopped.unwrap_or(Termination::Completed);
        Ok((net, report))
    }
}

/// ELBO and importance-weighted ln Z from fresh samples of q.
pub fn evaluate(
    net: &Made,
    m: &Model,
    samples: usize,
    seed: u64,
    trace: Vec<(usize, f64, f64)>,
    t0: std::time::Instant,
) -> Result<VanReport> {
    if samples < 2 {
        return Err(Error::InvalidArgument("need ≥ 2 evaluation samples".into()));
    }
    let beta = m.beta();
    let chunks = samples.div_ceil(CHUNK);
    // Chunks over the ranks of a distributed run, gathered in chunk order.
    let vals: Vec<f64> = distributed::map(chunks, |c| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, c as u64));
        let cnt = CHUNK.min(samples - c * CHUNK);
        Ok(Draw::batch(net, m, &mut rng, cnt)
            .into_iter()
            .map(|d| -beta * d.energy - d.log_q)
            .collect::<Vec<_>>())
    })?
    .into_iter()
    .flatten()
    .collect();
    let k = vals.len() as f64;
    let (mean, var) = crate::stats::mean_var(&vals);
    let max = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = vals.iter().map(|v| (v - max).exp()).collect();
    // Bias-corrected ln mean of the weights with an error bar that sees the heavy tail.
    let (jack, jack_se) = crate::stats::log_mean_exp_jackknife(&vals, 20);
    let (wm, wv) = crate::stats::mean_var(&w);
    // The other side of the bracket and a verdict on q: CUBO₂ = ½ ln E_q[w²] ≥ ln Z (in
    // expectation of the mean inside the log), and the PSIS tail index of the weights.
    let twice: Vec<f64> = vals.iter().map(|v| 2.0 * v).collect();
    let (ln_m2, se_m2) = crate::stats::log_mean_exp_jackknife(&twice, 20);
    let p = crate::psis::psis(&vals);
    Ok(VanReport {
        cubo: 0.5 * ln_m2,
        cubo_std_err: 0.5 * se_m2,
        khat: p.khat,
        psis_ln_z: p.ln_mean,
        elbo: mean,
        elbo_std_err: (var / (k - 1.0)).sqrt(),
        iw_ln_z: jack,
        iw_std_err: jack_se.max((wv * k / (k - 1.0)).sqrt() / (k.sqrt() * wm)),
        ess: w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>(),
        samples,
        trace,
        seconds: t0.elapsed().as_secs_f64(),
        steps: 0,
        termination: Termination::Completed,
    })
}

impl Solver for Van {
    fn name(&self) -> &'static str {
        if self.importance_weighted {
            "van-iw"
        } else {
            "van"
        }
    }

    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        self.train_estimate(m, runner).map(|(_, _, e)| e)
    }
}

impl Van {
    /// Train (as [`Van::train`]) and return the network and its report together with the
    /// estimate `solve` gives (front ends that keep the network: `train-van`, Python).
    pub fn train_estimate(
        &self,
        m: &Model,
        runner: &Runner,
    ) -> Result<(Made, VanReport, Estimate)> {
        let (net, r) = self.train(m, runner)?;
        let e = self.estimate_of(&net, &r);
        Ok((net, r, e))
    }

    /// The estimate of a trained network from its report: the ELBO as a stochastic lower
    /// bound, or (`importance_weighted`) the importance-weighted ln Z, with the diagnostics.
    pub fn estimate_of(&self, net: &Made, r: &VanReport) -> Estimate {
        let mut e = if self.importance_weighted {
            Estimate::new(
                r.iw_ln_z,
                EstimateKind::Stochastic {
                    std_err: r.iw_std_err,
                },
                "van (importance-weighted)",
            )
        } else {
            Estimate::new(
                r.elbo,
                EstimateKind::StochasticLowerBound {
                    std_err: r.elbo_std_err,
                },
                "van (ELBO)",
            )
        };
        e.diagnostics.iterations = r.steps;
        e.diagnostics.termination = r.termination;
        e.diagnostics.converged = r.ess >= 0.05 * r.samples as f64;
        if !e.diagnostics.converged {
            e.diagnostics.notes.push(format!(
                "importance weights are heavy-tailed (ESS {:.0} of {}): the importance-weighted error bar may be too small; train longer or use a larger network",
                r.ess, r.samples
            ));
        }
        e.diagnostics.notes.push(format!(
            "CUBO₂ {:.6} ± {:.2e} (a stochastic upper bound on ln Z: ELBO ≤ ln Z ≤ CUBO); PSIS ln Z \
             {:.6}; PSIS k̂ {:.2} ({}: {})",
            r.cubo,
            r.cubo_std_err,
            r.psis_ln_z,
            r.khat,
            crate::psis::verdict(r.khat, r.samples),
            match crate::psis::verdict(r.khat, r.samples) {
                "good" | "ok" => "the importance-weighted ln Z is trustworthy",
                "bad" => "q misses mass of the Boltzmann distribution: distrust the importance-weighted ln Z",
                _ => "the weights tie (configurations drawn repeatedly) or are too few: no tail to judge",
            }
        ));
        e.diagnostics.notes.push(format!(
            "MADE depth {} width {}{}; {} steps × {} samples; ELBO {:.6} ± {:.2e}, importance-weighted ln Z {:.6} ± {:.2e} (ESS {:.0} of {})",
            net.depth,
            net.width,
            if net.z2 { ", Z2-symmetrised" } else { "" },
            r.steps,
            self.batch,
            r.elbo,
            r.elbo_std_err,
            r.iw_ln_z,
            r.iw_std_err,
            r.ess,
            r.samples
        ));
        e.mark_undefined_error();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ_s q(s) = 1 exactly (enumeration), and ∇ log q matches finite differences.
    #[test]
    fn the_network_is_normalised_and_its_gradient_is_right() {
        for (depth, z2) in [(1, false), (2, false), (2, true)] {
            let net = Made::new(6, 5, depth, z2, 3).unwrap();
            let mut total = 0.0;
            for x in 0..64u32 {
                let s: Vec<f64> = (0..6)
                    .map(|i| if (x >> i) & 1 == 1 { 1.0 } else { -1.0 })
                    .collect();
                total += net.log_q(&s).exp();
            }
            assert!(
                (total - 1.0).abs() < 1e-12,
                "depth {depth} z2 {z2}: Σq = {total}"
            );
        }
        let mut net = Made::new(5, 4, 2, false, 4).unwrap();
        let s = [1.0, -1.0, -1.0, 1.0, 1.0];
        let mut g = vec![0.0; net.params.len()];
        let mut h = vec![vec![0.0; 4]; 2];
        let mut a = vec![0.0; 5];
        net.backward(&s, 1.0, &mut h, &mut a, &mut g);
        for k in (0..net.params.len()).step_by(3) {
            let x = net.params[k];
            net.params[k] = x + 1e-6;
            let up = net.log_q(&s);
            net.params[k] = x - 1e-6;
            let dn = net.log_q(&s);
            net.params[k] = x;
            let fd = (up - dn) / 2e-6;
            assert!((fd - g[k]).abs() < 1e-6, "param {k}: {fd} vs {}", g[k]);
        }
    }

    /// Sampling follows q: empirical frequencies of 3-spin states against q.
    #[test]
    fn sampling_matches_log_q() {
        let net = Made::new(3, 4, 2, false, 5).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut counts = [0.0; 8];
        let mut h = vec![vec![0.0; 4]; 2];
        let mut a = vec![0.0; 3];
        let mut s = vec![0.0; 3];
        let draws = 200_000;
        for _ in 0..draws {
            net.sample(&mut rng, &mut s, &mut h, &mut a);
            let idx = (0..3).map(|i| ((s[i] > 0.0) as usize) << i).sum::<usize>();
            counts[idx] += 1.0;
        }
        for x in 0..8 {
            let st: Vec<f64> = (0..3)
                .map(|i| if (x >> i) & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            let p = net.log_q(&st).exp();
            let sd = (p * (1.0 - p) / draws as f64).sqrt();
            assert!((counts[x] / draws as f64 - p).abs() < 5.0 * sd, "state {x}");
        }
        // The activations left by sampling are those of a forward pass (the gradient reuses them).
        let net = Made::new(7, 6, 3, false, 6).unwrap();
        let (mut h1, mut a1) = (vec![vec![0.0; 6]; 3], vec![0.0; 7]);
        let (mut h2, mut a2) = (vec![vec![0.0; 6]; 3], vec![0.0; 7]);
        let mut s = vec![0.0; 7];
        net.sample_raw(&mut rng, &mut s, &mut h1, &mut a1);
        net.forward(&s, &mut h2, &mut a2);
        assert_eq!(a1, a2);
        for l in 0..3 {
            for k in 0..6 {
                if net.degree[k] < 6 {
                    assert_eq!(h1[l][k], h2[l][k]);
                }
            }
        }
    }
}
