//! Maximum likelihood for the Boltzmann machine p(s) = e^{Σ h_i s_i + Σ_(ij) J_ij s_i s_j}/Z.
//!
//! The average log-likelihood ℓ(θ) = Σ_i h_i ⟨s_i⟩_data + Σ_(ij) J_ij ⟨s_i s_j⟩_data − ln Z(θ) is
//! concave, and its gradient is the moment mismatch ⟨·⟩_data − ⟨·⟩_model, since ∇ ln Z = ⟨·⟩_model:
//! learning needs the derivative of ln Z, so every learner here is an approximation of Z's
//! gradient by one of logz's methods.
//!
//! - `exact`: ln Z and the model moments from logz's exact methods (enumeration, elimination);
//!   the objective −ℓ + λΣJ² is minimised by L-BFGS to moment matching at rounding level — the
//!   true maximum-likelihood estimate.
//! - `pcd`: persistent contrastive divergence (Younes 1989; Tieleman 2008): the model moments
//!   come from persistent heat-bath chains (logz's single-spin sampler) that move a few sweeps
//!   after every parameter step; stochastic gradient ascent with a decaying rate, averaged
//!   over the second half of the run (Polyak–Ruppert). When the chains freeze — a model with
//!   several deep wells, where a heat-bath chain never crosses between them and the wells'
//!   populations stay what the start made them — `replicas > 1` turns every persistent chain
//!   into a parallel-tempering ladder (Swendsen & Wang 1986; Geyer 1991; for learning, Desjardins
//!   et al. 2010): copies at θ scaled by β_k ∈ [β_min, 1] that swap states, so the β = 1 copy,
//!   which alone is measured, receives states that crossed the barriers at high temperature.
//! - `mf`: Peterson & Anderson (1987): magnetisations from logz's naive mean field and
//!   correlations by linear response, ⟨s_i s_j⟩ − m_i m_j = [(diag(1/(1−m²)) − J)⁻¹]_ij; its
//!   fixed point matches the off-diagonal correlations (close to the naive mean-field
//!   inversion, which matches the diagonal of C⁻¹ too).

use super::data::Moments;
use super::lbfgs::{Lbfgs, Status};
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::estimate::Solver;
use crate::exact::Exact;
use crate::free_energy::MeanField;
use crate::mc::local::{Local, Rule, Scan};
use crate::model::Model;
use crate::rng::stream_seed;
use crate::runner::{ended, Iteration, Runner, Termination};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Where the model expectations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectations {
    /// logz's exact methods: the true maximum-likelihood estimate.
    Exact,
    /// Persistent Markov chains.
    Pcd,
    /// Naive mean field with linear-response correlations.
    MeanField,
}

impl Expectations {
    /// Parse `exact`, `pcd` or `mf`.
    pub fn parse(s: &str) -> Result<Expectations> {
        Ok(match s {
            "exact" => Expectations::Exact,
            "pcd" => Expectations::Pcd,
            "mf" => Expectations::MeanField,
            _ => {
                return Err(Error::arg(format!(
                    "unknown expectations '{s}' (one of: exact, pcd, mf)"
                )))
            }
        })
    }
    /// The name [`Expectations::parse`] accepts.
    pub fn name(&self) -> &'static str {
        match self {
            Expectations::Exact => "exact",
            Expectations::Pcd => "pcd",
            Expectations::MeanField => "mf",
        }
    }
}

/// Settings of [`fit`].
#[derive(Debug, Clone)]
pub struct BoltzmannOptions {
    /// Source of the model expectations.
    pub expectations: Expectations,
    /// L2 penalty λ on the couplings.
    pub l2: f64,
    /// exact: stop when max |⟨·⟩_data − ⟨·⟩_model| (plus the penalty's gradient) ≤ this.
    pub tol: f64,
    /// exact: most L-BFGS steps; pcd / mf: parameter steps.
    pub steps: usize,
    /// pcd: persistent chains.
    pub chains: usize,
    /// pcd: heat-bath sweeps of every chain per parameter step.
    pub sweeps: usize,
    /// pcd / mf: initial learning rate.
    pub lr: f64,
    /// pcd: seed of the chains.
    pub seed: u64,
    /// pcd: copies per persistent chain at geometrically spaced β_k from 1 down to `beta_min`,
    /// exchanging states (parallel tempering); 1 = plain persistent chains.
    pub replicas: usize,
    /// pcd with replicas > 1: the hottest copy's β, in (0, 1).
    pub beta_min: f64,
}

impl Default for BoltzmannOptions {
    fn default() -> Self {
        BoltzmannOptions {
            expectations: Expectations::Exact,
            l2: 0.0,
            tol: 1e-10,
            steps: 2000,
            chains: 256,
            sweeps: 2,
            lr: 0.1,
            seed: 1,
            replicas: 1,
            beta_min: 0.3,
        }
    }
}

/// What [`fit`] returns.
#[derive(Debug, Clone)]
pub struct BoltzmannFit {
    /// Couplings (symmetric, zero diagonal).
    pub j: DMatrix<f64>,
    /// Fields.
    pub h: Vec<f64>,
    /// max |⟨s_i⟩_data − ⟨s_i⟩_model| and |⟨s_i s_j⟩_data − ⟨s_i s_j⟩_model| over the fitted
    /// statistics at the end (for pcd: the chains' estimate over the tail of the run, after its first quarter).
    pub residual: f64,
    /// pcd: the largest standard error of the chains' window averages (from the spread of
    /// independent chain groups), else 0.
    pub residual_noise: f64,
    /// Steps taken.
    pub steps: usize,
    /// exact / mf: whether the tolerance was reached; pcd: whether the moments matched the
    /// data within sampling noise.
    pub converged: bool,
    /// Why the run ended.
    pub termination: Termination,
    /// pcd with replicas > 1: the lowest acceptance rate of exchanges between neighbouring
    /// temperatures (the ladder's bottleneck), else `None`.
    pub swap_acceptance: Option<f64>,
}

/// The fitted statistics: every field and every coupling in `edges`.
struct Layout<'a> {
    n: usize,
    edges: &'a [(usize, usize)],
}

impl Layout<'_> {
    fn model(&self, th: &[f64]) -> Result<Model> {
        Model::new(
            self.n,
            self.edges,
            &th[self.n..],
            th[..self.n].to_vec(),
            1.0,
        )
    }
    /// Data statistics in the same layout.
    fn data(&self, mo: &Moments) -> Vec<f64> {
        let mut t = mo.clamped_mean();
        t.extend(self.edges.iter().map(|&(i, j)| mo.second[(i, j)]));
        t
    }
    fn dense(&self, th: &[f64]) -> (DMatrix<f64>, Vec<f64>) {
        let mut j = DMatrix::zeros(self.n, self.n);
        for (k, &(a, b)) in self.edges.iter().enumerate() {
            j[(a, b)] = th[self.n + k];
            j[(b, a)] = th[self.n + k];
        }
        (j, th[..self.n].to_vec())
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Model statistics (⟨s_i⟩, ⟨s_i s_j⟩ on the edges) and ln Z by logz's exact methods.
fn exact_moments(model: &Model) -> Result<(f64, Vec<f64>)> {
    let est = Exact.solve(model)?;
    let mut t = est.magnetization.clone();
    let cor = est
        .edge_correlation
        .ok_or_else(|| Error::Numerical("the exact method returned no edge correlations".into()))?;
    t.extend(cor);
    Ok((est.ln_z, t))
}

/// Fit fields and the couplings on `edges` (pairs i < j) to the moments; spins in `fixed`
/// keep their field and no couplings (their edges must not be in `edges`).
pub fn fit(
    mo: &Moments,
    edges: &[(usize, usize)],
    fixed: &[(usize, f64)],
    o: &BoltzmannOptions,
    start: Option<(&DMatrix<f64>, &[f64])>,
) -> Result<BoltzmannFit> {
    fit_with(mo, edges, fixed, o, start, &Runner::new())
}

/// [`fit`] under a [`Runner`]: every step is reported (objective: the negative
/// log-likelihood per sample for `exact`, the moment residual for `pcd` and `mf`), and a
/// stopped run returns the parameters it has.
pub fn fit_with(
    mo: &Moments,
    edges: &[(usize, usize)],
    fixed: &[(usize, f64)],
    o: &BoltzmannOptions,
    start: Option<(&DMatrix<f64>, &[f64])>,
    runner: &Runner,
) -> Result<BoltzmannFit> {
    let n = mo.mean.len();
    let lay = Layout { n, edges };
    let data = lay.data(mo);
    let p = n + edges.len();
    let mut th = vec![0.0; p];
    if let Some((j0, h0)) = start {
        th[..n].copy_from_slice(h0);
        for (k, &(a, b)) in edges.iter().enumerate() {
            th[n + k] = j0[(a, b)];
        }
    }
    let mut frozen = vec![false; p];
    for &(i, h) in fixed {
        th[i] = h;
        frozen[i] = true;
    }
    let l2 = o.l2;
    match o.expectations {
        Expectations::Exact => {
            // ln Z(θ) − θ·data (+ penalty): the negative log-likelihood per sample, convex.
            let nll = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
                let model = lay.model(x)?;
                let (ln_z, t) = exact_moments(&model)?;
                let mut f = ln_z;
                let mut g = vec![0.0; p];
                for k in 0..p {
                    f -= x[k] * data[k];
                    g[k] = t[k] - data[k];
                    if k >= n {
                        f += l2 * x[k] * x[k];
                        g[k] += 2.0 * l2 * x[k];
                    }
                }
                Ok((f, g))
            };
            let (f0, g0) = nll(&th)?;
            let mut l = Lbfgs::new(th, f0, g0, frozen, o.tol, o.steps);
            let mut converged = l.done();
            let mut stopped = None;
            let mut evaluations = 0;
            runner.start(o.steps as u64, "boltzmann/exact");
            while !converged {
                let (f, g) = nll(l.trial())?;
                evaluations += 1;
                let status = l.tell(f, g);
                runner.advance(1);
                let it = Iteration::new("boltzmann/exact", evaluations).objective(l.f());
                if let Some(t) = runner.iterate(it) {
                    stopped = Some(t);
                    break;
                }
                match status {
                    Status::Continue => {}
                    Status::Converged => converged = true,
                    Status::Stalled => break,
                }
            }
            let (j, h) = lay.dense(l.x());
            let model = lay.model(l.x())?;
            let (_, t) = exact_moments(&model)?;
            Ok(BoltzmannFit {
                j,
                h,
                residual: max_abs_diff(&t, &data),
                residual_noise: 0.0,
                steps: l.iterations,
                converged,
                termination: ended(converged, stopped),
                swap_acceptance: None,
            })
        }
        Expectations::Pcd => pcd(&lay, mo, &data, th, &frozen, o, runner),
        Expectations::MeanField => mean_field(&lay, &data, th, &frozen, o, runner),
    }
}
/// Groups of chains whose spread gives the sampling error of the chains' averages.
const PCD_GROUPS: usize = 16;

/// Persistent contrastive divergence: model moments from persistent heat-bath chains, a
/// decaying step size, parameters averaged (Polyak–Ruppert) over the tail of the run: every
/// window after the first quarter. At the end of every window the chains' averages over the
/// tail are compared with the data: the run stops once max_k |⟨·⟩_data − ⟨·⟩_model| / σ_k is
/// within what sampling noise alone gives for that many statistics (σ_k from the spread of
/// independent chain groups) *and* every σ_k is below the data's own standard error of that
/// statistic — matching within a large chain noise would not pin the parameters down.
fn pcd(
    lay: &Layout,
    mo: &Moments,
    data: &[f64],
    mut th: Vec<f64>,
    frozen: &[bool],
    o: &BoltzmannOptions,
    runner: &Runner,
) -> Result<BoltzmannFit> {
    if o.chains == 0 || o.steps < 10 || o.sweeps == 0 {
        return Err(Error::arg(
            "pcd needs ≥ 1 chain, ≥ 1 sweep per step and ≥ 10 steps",
        ));
    }
    if o.replicas == 0 || o.replicas > MAX_REPLICAS {
        return Err(Error::arg(format!(
            "pcd needs 1 to {MAX_REPLICAS} replicas per chain (got {})",
            o.replicas
        )));
    }
    if o.replicas > 1 && !(o.beta_min > 0.0 && o.beta_min < 1.0) {
        return Err(Error::arg(format!(
            "the hottest replica's β must lie in (0, 1) (got {})",
            o.beta_min
        )));
    }
    let betas: Vec<f64> = (0..o.replicas)
        .map(|k| {
            if o.replicas == 1 {
                1.0
            } else {
                o.beta_min.powf(k as f64 / (o.replicas - 1) as f64)
            }
        })
        .collect();
    let (n, p) = (lay.n, th.len());
    let groups = o.chains.clamp(1, PCD_GROUPS);
    crate::limits::check_memory(
        "learn",
        &format!(
            "{} persistent chains × {} replicas of {n} spins",
            o.chains, o.replicas
        ),
        o.chains as f64 * o.replicas as f64 * (n as f64 + 64.0)
            + 8.0 * (3 * groups + 6) as f64 * p as f64,
    )?;
    // Chains start from independent random states drawn with each spin's data magnetisation.
    let m0 = mo.clamped_mean();
    let mut chains: Vec<Chain> = (0..o.chains)
        .map(|c| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(o.seed, c as u64));
            let states = (0..o.replicas)
                .map(|_| {
                    (0..n)
                        .map(|i| {
                            if crate::rng::uniform(&mut rng) < 0.5 * (1.0 + m0[i]) {
                                1
                            } else {
                                -1
                            }
                        })
                        .collect()
                })
                .collect();
            Chain {
                states,
                rng,
                accepted: vec![0; o.replicas - 1],
                attempted: vec![0; o.replicas - 1],
            }
        })
        .collect();
    let per_group = o.chains.div_ceil(groups);
    let window = (o.steps / 20).max(5);
    let free: Vec<usize> = (0..p).filter(|&k| !frozen[k]).collect();
    // The largest |z| among `free.len()` standard normals is rarely above √(2 ln 2p) + 1.5.
    let z_max = (2.0 * (2.0 * free.len().max(1) as f64).ln()).sqrt() + 1.5;
    let mut win_sum = vec![vec![0.0; p]; groups];
    let mut win_counts = vec![0usize; groups];
    let mut win_theta = vec![0.0; p];
    let mut win_steps = 0usize;
    // The tail: every complete window after the first quarter of the run (the step size has
    // decayed by then). Its sums per group, and the sum of θ over its steps.
    let mut tail_sum = vec![vec![0.0; p]; groups];
    let mut tail_counts = vec![0usize; groups];
    let mut tail_theta = vec![0.0; p];
    let mut tail_steps = 0usize;
    // The data's own standard error of every statistic (a ±1 product has variance 1 − mean²):
    // the chains' noise must fall below it, or the learned parameters would carry more noise
    // from the chains than from the data.
    let data_se: Vec<f64> = data
        .iter()
        .map(|&d| ((1.0 - d * d).max(1.0 / mo.samples as f64) / mo.samples as f64).sqrt())
        .collect();
    // (residual, noise, matched) of the last judgement, and the last window's mean θ.
    let mut last: Option<(f64, f64, bool)> = None;
    let mut last_window_theta = th.clone();
    let mut stopped = None;
    let mut steps = 0;
    runner.start(o.steps as u64, "boltzmann/pcd");
    for t in 0..o.steps {
        let model = lay.model(&th)?;
        let ladder: Vec<Model> = betas
            .iter()
            .map(|&b| model.with_beta(b))
            .collect::<Result<_>>()?;
        // Sums of the statistics over each group's chains.
        let group_stats: Vec<(Vec<f64>, usize)> = chains
            .par_chunks_mut(per_group)
            .map(|chunk| {
                let samplers: Vec<Local> = ladder
                    .iter()
                    .map(|m| Local::new(m, Rule::HeatBath, Scan::Sequential))
                    .collect();
                let mut acc = vec![0.0; p];
                for chain in chunk.iter_mut() {
                    chain.advance(&samplers, &model, &betas, o.sweeps);
                    let s = &chain.states[0];
                    for (a, &x) in acc.iter_mut().zip(s.iter()) {
                        *a += x as f64;
                    }
                    for (a, &(i, j)) in acc[n..].iter_mut().zip(lay.edges) {
                        *a += (s[i] * s[j]) as f64;
                    }
                }
                (acc, chunk.len())
            })
            .collect();
        let mut model_t = vec![0.0; p];
        for (g, (acc, c)) in group_stats.iter().enumerate() {
            model_t.iter_mut().zip(acc).for_each(|(m, a)| *m += a);
            win_sum[g].iter_mut().zip(acc).for_each(|(w, a)| *w += a);
            win_counts[g] += c;
        }
        model_t.iter_mut().for_each(|m| *m /= o.chains as f64);
        // Decaying rate η_t = η₀ / (1 + t / (steps / 10)).
        let eta = o.lr / (1.0 + t as f64 / (o.steps as f64 / 10.0).max(1.0));
        for &k in &free {
            let mut g = data[k] - model_t[k];
            if k >= n {
                g -= 2.0 * o.l2 * th[k];
            }
            th[k] += eta * g;
        }
        win_theta.iter_mut().zip(&th).for_each(|(a, b)| *a += b);
        win_steps += 1;
        steps = t + 1;
        let step_residual = free
            .iter()
            .fold(0.0f64, |m, &k| m.max((data[k] - model_t[k]).abs()));
        if win_steps == window {
            let in_tail = t + 1 > o.steps / 4;
            if in_tail {
                for g in 0..groups {
                    tail_sum[g]
                        .iter_mut()
                        .zip(&win_sum[g])
                        .for_each(|(a, b)| *a += b);
                    tail_counts[g] += win_counts[g];
                }
                tail_theta
                    .iter_mut()
                    .zip(&win_theta)
                    .for_each(|(a, b)| *a += b);
                tail_steps += win_steps;
            }
            // Judge the tail (or, before it starts, this window): group means → mean and
            // standard error of every statistic. Groups are independent chains, so their
            // spread carries the chains' autocorrelation.
            let (sums, counts) = if in_tail {
                (&tail_sum, &tail_counts)
            } else {
                (&win_sum, &win_counts)
            };
            let (mut residual, mut noise, mut z) = (0.0f64, 0.0f64, 0.0f64);
            let mut noisier_than_data = false;
            for &k in &free {
                let means: Vec<f64> = (0..groups)
                    .map(|g| sums[g][k] / counts[g].max(1) as f64)
                    .collect();
                let total: f64 = (0..groups).map(|g| sums[g][k]).sum::<f64>()
                    / counts.iter().sum::<usize>().max(1) as f64;
                let var = if groups > 1 {
                    means.iter().map(|m| (m - total).powi(2)).sum::<f64>()
                        / ((groups - 1) * groups) as f64
                } else {
                    f64::INFINITY
                };
                let se = var.sqrt().max(1e-12);
                let d = (data[k] - total).abs();
                residual = residual.max(d);
                noise = noise.max(se);
                z = z.max(d / se);
                noisier_than_data |= se > data_se[k];
            }
            last_window_theta = (0..p)
                .map(|k| {
                    if frozen[k] {
                        th[k]
                    } else {
                        win_theta[k] / win_steps as f64
                    }
                })
                .collect();
            // Matched: only in the tail, within the chains' noise, and that noise below the
            // data's.
            let matched = groups > 1 && in_tail && z <= z_max && !noisier_than_data;
            last = Some((residual, noise, matched));
            win_sum
                .iter_mut()
                .for_each(|w| w.iter_mut().for_each(|x| *x = 0.0));
            win_counts.iter_mut().for_each(|c| *c = 0);
            win_theta.iter_mut().for_each(|x| *x = 0.0);
            win_steps = 0;
            if matched {
                break;
            }
        }
        runner.advance(1);
        let it = Iteration::new("boltzmann/pcd", t + 1).objective(step_residual);
        if let Some(reason) = runner.iterate(it) {
            stopped = Some(reason);
            break;
        }
    }
    // Parameters: averaged over the tail (Polyak–Ruppert: the chains' noise in θ falls like
    // 1/√(steps averaged)), else the last window's mean, else the current ones.
    let avg: Vec<f64> = if tail_steps > 0 {
        (0..p)
            .map(|k| {
                if frozen[k] {
                    th[k]
                } else {
                    tail_theta[k] / tail_steps as f64
                }
            })
            .collect()
    } else if last.is_some() {
        last_window_theta
    } else {
        th.clone()
    };
    let (residual, noise, matched) = last.unwrap_or((f64::NAN, f64::NAN, false));
    let (j, h) = lay.dense(&avg);
    Ok(BoltzmannFit {
        j,
        h,
        residual,
        residual_noise: noise,
        steps,
        converged: matched,
        termination: ended(matched, stopped),
        swap_acceptance: (o.replicas > 1).then(|| {
            (0..o.replicas - 1)
                .map(|k| {
                    let (acc, tries) = chains.iter().fold((0u64, 0u64), |(a, t), c| {
                        (a + c.accepted[k], t + c.attempted[k])
                    });
                    acc as f64 / tries.max(1) as f64
                })
                .fold(1.0, f64::min)
        }),
    })
}

/// Most replicas per persistent chain.
const MAX_REPLICAS: usize = 64;

/// One persistent chain: `states[k]` is the copy at β_k (`states[0]` at β = 1, the one
/// measured), with the exchange counts of every neighbouring pair.
struct Chain {
    states: Vec<Vec<i8>>,
    rng: Xoshiro256PlusPlus,
    accepted: Vec<u64>,
    attempted: Vec<u64>,
}

impl Chain {
    /// `sweeps` heat-bath sweeps of every copy at its own β, then (with several copies) one
    /// exchange attempt between every neighbouring pair, from the cold end up. Swapping the
    /// states of copies k and k+1 is accepted with min(1, e^{(β_k − β_{k+1})(E_k − E_{k+1})}),
    /// E the energy at β = 1: detailed balance in the product of the copies' distributions.
    fn advance(&mut self, samplers: &[Local], model: &Model, betas: &[f64], sweeps: usize) {
        for (s, sampler) in self.states.iter_mut().zip(samplers) {
            for _ in 0..sweeps {
                sampler.sweep(s, &mut self.rng);
            }
        }
        for k in 0..self.states.len().saturating_sub(1) {
            let (ek, ek1) = (
                model.energy(&self.states[k]),
                model.energy(&self.states[k + 1]),
            );
            let log_a = (betas[k] - betas[k + 1]) * (ek - ek1);
            self.attempted[k] += 1;
            if log_a >= 0.0 || crate::rng::uniform(&mut self.rng) < log_a.exp() {
                self.states.swap(k, k + 1);
                self.accepted[k] += 1;
            }
        }
    }
}

fn mean_field(
    lay: &Layout,
    data: &[f64],
    mut th: Vec<f64>,
    frozen: &[bool],
    o: &BoltzmannOptions,
    runner: &Runner,
) -> Result<BoltzmannFit> {
    let (n, p) = (lay.n, th.len());
    let mut residual = f64::INFINITY;
    let mut steps = 0;
    let mut stopped = None;
    runner.start(o.steps as u64, "boltzmann/mf");
    for _ in 0..o.steps {
        runner.advance(1);
        let model = lay.model(&th)?;
        let est = MeanField::default().solve(&model)?;
        let m = est.magnetization;
        let (j, _) = lay.dense(&th);
        let mut a = -j;
        for i in 0..n {
            a[(i, i)] = 1.0 / (1.0 - m[i] * m[i]).max(1e-12);
        }
        let chi = a.try_inverse().ok_or_else(|| {
            Error::Numerical("mean-field linear response: singular matrix".into())
        })?;
        let mut t = m.clone();
        t.extend(lay.edges.iter().map(|&(x, y)| chi[(x, y)] + m[x] * m[y]));
        residual = max_abs_diff(&t, data);
        steps += 1;
        if residual <= o.tol {
            break;
        }
        if let Some(reason) =
            runner.iterate(Iteration::new("boltzmann/mf", steps).objective(residual))
        {
            stopped = Some(reason);
            break;
        }
        for k in 0..p {
            if frozen[k] {
                continue;
            }
            let mut g = data[k] - t[k];
            if k >= n {
                g -= 2.0 * o.l2 * th[k];
            }
            th[k] += o.lr * g;
        }
    }
    let (j, h) = lay.dense(&th);
    let converged = residual <= o.tol;
    Ok(BoltzmannFit {
        j,
        h,
        residual,
        residual_noise: 0.0,
        steps,
        converged,
        termination: ended(converged, stopped),
        swap_acceptance: None,
    })
}
