//! The No-U-Turn Sampler: the reference posterior sampler (what Stan and NumPyro run by default).
//!
//! Hamiltonian dynamics for H(z, p) = −log p(x, z) + ½ pᵀ M⁻¹ p, integrated by leapfrog with
//! step size ε; what is tuned and how:
//!
//! - **Trajectory length** (Hoffman & Gelman 2014; Betancourt 2017, "A Conceptual Introduction
//!   to Hamiltonian Monte Carlo", §A.4): the trajectory doubles, forwards or backwards in time
//!   at random, until it makes a U-turn or reaches 2^max_depth leapfrog steps. The U-turn test
//!   is the *generalised* criterion in the metric: with ρ the sum of the momenta over a
//!   (sub)trajectory and p♯ = M⁻¹p the velocities at its ends, continue while p♯₋·ρ > 0 and
//!   p♯₊·ρ > 0. It is checked on every subtree of the binary tree and, as in Stan since 2.21,
//!   also across each merge (each half extended by the first point of the other), which stops
//!   trajectories that would otherwise run twice too long.
//! - **Which point of the trajectory** (multinomial sampling): every state has weight e^{−H};
//!   inside a subtree the new half is taken with probability w_new/(w_old + w_new); at the top
//!   level the new subtree is preferred ("biased progressive sampling": min(1, w_new/w_old)),
//!   which keeps the posterior invariant and moves further on average.
//! - **Divergences**: a leapfrog step whose energy error H − H₀ exceeds 1000 ends the trajectory
//!   (the integrator left the typical set: a region of high curvature the step size cannot
//!   resolve). They are counted; draws near them are suspect.
//! - **Step size** by dual averaging (Nesterov 2009; Hoffman & Gelman 2014, §3.2) towards a
//!   mean acceptance statistic δ (the average over the trajectory of min(1, e^{H₀−H})), with
//!   Stan's constants γ = 0.05, t₀ = 10, κ = 0.75, μ = ln(10 ε₀). After warm-up ε is frozen at
//!   the averaged iterate.
//! - **Dense metric** M⁻¹ = the posterior covariance, estimated in Stan's windowed warm-up: a
//!   fast initial buffer (75 iterations: step size only), then slow windows of 25, 50, 100, …
//!   iterations whose draws give a regularised sample covariance (n/(n+5)) Σ̂ + 10⁻³ (5/(n+5)) I
//!   (Welford accumulation), the last window stretched to the final fast buffer (50 iterations).
//!   After each window the step size heuristic restarts (double/halve ε until a single leapfrog
//!   step's acceptance crosses 0.8) and dual averaging starts afresh. With a dense metric the
//!   sampler is invariant to linear reparameterisation: correlated posteriors cost no more than
//!   isotropic ones. Momenta p ~ N(0, M) are drawn as L⁻ᵀξ with M⁻¹ = LLᵀ.
//!
//! Several chains run in parallel (rayon), chain c on random stream (seed, c): the draws do not
//! depend on the thread count. Chains start at uniform(−2, 2) in every coordinate (Stan's
//! default), so that R̂ can see chains that have not forgotten their start. Diagnostics per
//! coordinate: the rank-normalised split R̂ and the bulk ESS of [`super::convergence`].

use super::convergence;
use super::models::{Batch, LogJoint};
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::rng::{stream, uniform, Generator};
use crate::runner::Runner;
use crate::stats;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

/// Largest tree depth accepted (2^15 leapfrog steps a draw).
pub const MAX_TREE_DEPTH: usize = 15;
/// Energy error beyond which a leapfrog step counts as divergent (Stan's value).
pub const MAX_DELTA_H: f64 = 1000.0;

/// Options of [`nuts`].
#[derive(Debug, Clone)]
pub struct NutsOptions {
    /// Warm-up iterations per chain (step size and metric adaptation; not kept).
    pub warmup: usize,
    /// Draws kept per chain after warm-up (at least 10).
    pub samples: usize,
    /// Number of chains, run in parallel.
    pub chains: usize,
    /// Largest tree depth: at most 2^max_depth leapfrog steps per draw (1..=15).
    pub max_depth: usize,
    /// Target mean acceptance statistic of the step-size adaptation, in (0, 1).
    pub target_accept: f64,
    /// Initial step size ε₀ (> 0); refined by the step-size heuristic before warm-up.
    pub step_size: f64,
    /// Adapt a dense metric (full covariance); false: a diagonal one (variances only).
    pub dense: bool,
    /// Base seed; chain c uses stream (seed, c).
    pub seed: u64,
}

impl Default for NutsOptions {
    fn default() -> Self {
        NutsOptions {
            warmup: 1000,
            samples: 1000,
            chains: 4,
            max_depth: 10,
            target_accept: 0.85,
            step_size: 0.1,
            dense: true,
            seed: 1,
        }
    }
}

impl NutsOptions {
    /// Refuse options the sampler cannot run with, with a one-line reason.
    pub fn check(&self) -> Result<()> {
        if self.samples < 10 {
            return Err(Error::arg(format!(
                "NUTS needs at least 10 draws per chain, got {}",
                self.samples
            )));
        }
        if self.chains == 0 {
            return Err(Error::arg("NUTS needs at least 1 chain"));
        }
        if self.chains > 1024 {
            return Err(Error::arg(format!(
                "NUTS runs at most 1024 chains, got {}",
                self.chains
            )));
        }
        if self.max_depth == 0 || self.max_depth > MAX_TREE_DEPTH {
            return Err(Error::arg(format!(
                "NUTS tree depth must be 1 to {MAX_TREE_DEPTH}, got {}",
                self.max_depth
            )));
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return Err(Error::arg(format!(
                "NUTS target acceptance must be in (0, 1), got {}",
                self.target_accept
            )));
        }
        if !(self.step_size.is_finite() && self.step_size > 0.0) {
            return Err(Error::arg(format!(
                "NUTS step size must be a finite number > 0, got {}",
                self.step_size
            )));
        }
        Ok(())
    }
}

/// Posterior summary and diagnostics from NUTS.
#[derive(Debug, Clone, Serialize)]
pub struct NutsResult {
    /// Posterior means of z (the model's own coordinates), all chains' draws pooled.
    pub mean: Vec<f64>,
    /// Posterior standard deviations of z.
    pub sd: Vec<f64>,
    /// Monte Carlo standard error of each mean: sd / √ESS (ESS of the raw draws).
    pub mcse: Vec<f64>,
    /// Rank-normalised split R̂ per coordinate ([`convergence::rank_r_hat`]).
    pub r_hat: Vec<f64>,
    /// Bulk effective sample size per coordinate, over all chains ([`convergence::ess_bulk`]).
    pub ess_bulk: Vec<f64>,
    /// Divergent transitions after warm-up, over all chains.
    pub divergences: usize,
    /// Draws after warm-up that hit the largest tree depth, over all chains.
    pub max_depth_hits: usize,
    /// Mean acceptance statistic after warm-up, averaged over chains.
    pub accept_stat: f64,
    /// Mean acceptance statistic over the warm-up's terminal window (the last run of dual
    /// averaging, whose iterates it drives to the target), averaged over chains. The
    /// acceptance after warm-up, at the averaged step size, is typically a little higher.
    pub adapt_accept_stat: f64,
    /// Adapted step size of each chain.
    pub step_size: Vec<f64>,
    /// Mean leapfrog steps per draw after warm-up, over all chains.
    pub mean_leapfrog: f64,
    /// Gradient evaluations of the whole run (warm-up included), over all chains.
    pub gradients: u64,
    /// The adapted inverse metric M⁻¹ of chain 0 (row-major d × d; diagonal when not dense).
    #[serde(skip)]
    pub inv_metric: Vec<f64>,
    /// Draws per chain after warm-up (all chains were trimmed to the same length).
    pub draws_per_chain: usize,
    /// Draws, chain-major (`chains × draws_per_chain` vectors of length d).
    #[serde(skip)]
    pub draws: Vec<Vec<f64>>,
}

/// A point of phase space with its log density and gradient.
#[derive(Clone)]
struct Point {
    q: Vec<f64>,
    p: Vec<f64>,
    g: Vec<f64>,
    lp: f64,
}

/// The metric: M⁻¹ (dense or diagonal) and its Cholesky factor L (M⁻¹ = LLᵀ).
struct Metric {
    d: usize,
    dense: bool,
    inv: Vec<f64>,
    chol: Vec<f64>,
}

impl Metric {
    fn identity(d: usize, dense: bool) -> Metric {
        let mut inv = vec![0.0; d * d];
        for i in 0..d {
            inv[i * d + i] = 1.0;
        }
        Metric {
            d,
            dense,
            chol: inv.clone(),
            inv,
        }
    }
    /// A metric from a covariance estimate; the diagonal of it when not dense or when the
    /// Cholesky factorisation fails.
    fn from_cov(cov: Vec<f64>, d: usize, dense: bool) -> Metric {
        if dense {
            if let Some(chol) = cholesky(&cov, d) {
                return Metric {
                    d,
                    dense,
                    inv: cov,
                    chol,
                };
            }
        }
        let mut m = Metric::identity(d, false);
        for i in 0..d {
            m.inv[i * d + i] = cov[i * d + i].max(1e-12);
            m.chol[i * d + i] = m.inv[i * d + i].sqrt();
        }
        m.dense = dense;
        m
    }
    /// v = M⁻¹ p.
    fn velocity(&self, p: &[f64], v: &mut [f64]) {
        let d = self.d;
        for i in 0..d {
            v[i] = self.inv[i * d..(i + 1) * d]
                .iter()
                .zip(p)
                .map(|(a, b)| a * b)
                .sum();
        }
    }
    /// ½ pᵀ M⁻¹ p.
    fn kinetic(&self, p: &[f64], scratch: &mut [f64]) -> f64 {
        self.velocity(p, scratch);
        0.5 * p
            .iter()
            .zip(scratch.iter())
            .map(|(a, b)| a * b)
            .sum::<f64>()
    }
    /// p ~ N(0, M): solve Lᵀ p = ξ.
    fn sample_p(&self, rng: &mut Generator, p: &mut [f64]) {
        let d = self.d;
        for v in p.iter_mut() {
            *v = StandardNormal.sample(rng);
        }
        for i in (0..d).rev() {
            let mut s = p[i];
            for k in i + 1..d {
                s -= self.chol[k * d + i] * p[k];
            }
            p[i] = s / self.chol[i * d + i];
        }
    }
}

/// Lower Cholesky factor of a symmetric d × d matrix; None unless positive definite.
fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = a[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

fn log_sum_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// The generalised no-U-turn criterion: continue while both end velocities point along ρ.
fn criterion(p_sharp_minus: &[f64], p_sharp_plus: &[f64], rho: &[f64]) -> bool {
    let dot = |a: &[f64]| a.iter().zip(rho).map(|(x, y)| x * y).sum::<f64>();
    dot(p_sharp_plus) > 0.0 && dot(p_sharp_minus) > 0.0
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Dual averaging of log ε (Hoffman & Gelman 2014, Algorithm 5; Stan's constants).
struct DualAveraging {
    mu: f64,
    s_bar: f64,
    x_bar: f64,
    counter: f64,
    delta: f64,
}

impl DualAveraging {
    fn new(eps: f64, delta: f64) -> Self {
        DualAveraging {
            mu: (10.0 * eps).ln(),
            s_bar: 0.0,
            x_bar: 0.0,
            counter: 0.0,
            delta,
        }
    }
    fn restart(&mut self, eps: f64) {
        *self = DualAveraging::new(eps, self.delta);
    }
    /// One update with acceptance statistic a; returns the next ε.
    fn learn(&mut self, a: f64) -> f64 {
        const GAMMA: f64 = 0.05;
        const T0: f64 = 10.0;
        const KAPPA: f64 = 0.75;
        self.counter += 1.0;
        let a = if a.is_finite() { a.min(1.0) } else { 0.0 };
        let eta = 1.0 / (self.counter + T0);
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.delta - a);
        let x = self.mu - self.s_bar * self.counter.sqrt() / GAMMA;
        let w = self.counter.powf(-KAPPA);
        self.x_bar = (1.0 - w) * self.x_bar + w * x;
        x.exp()
    }
    /// The averaged step size, used after warm-up.
    fn final_eps(&self) -> f64 {
        self.x_bar.exp()
    }
}

/// Stan's warm-up schedule: which iterations feed the covariance estimate and where the slow
/// windows end.
struct Windows {
    warmup: usize,
    init_buffer: usize,
    term_buffer: usize,
    window: usize,
    next_end: usize,
}

impl Windows {
    fn new(warmup: usize) -> Self {
        let (mut init, mut term, mut base) = (75, 50, 25);
        if init + base + term > warmup {
            // Short warm-up: 15% / 75% / 10%, as Stan does.
            init = (0.15 * warmup as f64) as usize;
            term = (0.1 * warmup as f64) as usize;
            base = warmup - init - term;
        }
        Windows {
            warmup,
            init_buffer: init,
            term_buffer: term,
            window: base,
            next_end: (init + base).saturating_sub(1),
        }
    }
    /// The last slow window runs up to the terminal buffer.
    fn stretch(&mut self) {
        let last = self.warmup - self.term_buffer - 1;
        if self.next_end != last
            && self.next_end + 2 * self.window >= self.warmup - self.term_buffer
        {
            self.next_end = last;
        }
    }
    fn collecting(&self, it: usize) -> bool {
        it >= self.init_buffer && it < self.warmup - self.term_buffer && self.window > 0
    }
    fn window_ends(&self, it: usize) -> bool {
        self.window > 0 && it == self.next_end
    }
    fn advance(&mut self, it: usize) {
        if self.next_end == self.warmup - self.term_buffer - 1 {
            return;
        }
        self.window *= 2;
        self.next_end = it + self.window;
        self.stretch();
    }
}

/// Welford accumulation of mean and covariance.
struct Welford {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Welford {
    fn new(d: usize) -> Self {
        Welford {
            n: 0.0,
            mean: vec![0.0; d],
            m2: vec![0.0; d * d],
        }
    }
    fn push(&mut self, x: &[f64]) {
        let d = self.mean.len();
        self.n += 1.0;
        let delta: Vec<f64> = x.iter().zip(&self.mean).map(|(a, b)| a - b).collect();
        for i in 0..d {
            self.mean[i] += delta[i] / self.n;
        }
        for i in 0..d {
            let di = x[i] - self.mean[i];
            for j in 0..d {
                self.m2[i * d + j] += di * delta[j];
            }
        }
    }
    /// The regularised covariance (n/(n+5)) Σ̂ + 10⁻³ (5/(n+5)) I (Stan's shrinkage).
    fn regularised(&self) -> Vec<f64> {
        let d = self.mean.len();
        let n = self.n;
        let mut c: Vec<f64> = self.m2.iter().map(|v| v / (n - 1.0).max(1.0)).collect();
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] *= n / (n + 5.0);
            }
            c[i * d + i] += 1e-3 * 5.0 / (n + 5.0);
        }
        c
    }
}

/// One chain's sampler state.
struct Chain<'a> {
    m: &'a dyn LogJoint,
    data: Batch<'a>,
    metric: Metric,
    eps: f64,
    max_depth: usize,
    rng: Generator,
    /// The moving end of the trajectory the integrator advances.
    z: Point,
    scratch: Vec<f64>,
    n_leapfrog: u64,
    sum_metro: f64,
    divergent: bool,
    gradients: u64,
}

/// What one transition reports.
struct Transition {
    accept: f64,
    depth: usize,
    leapfrog: u64,
    divergent: bool,
}

impl<'a> Chain<'a> {
    fn log_density(&mut self, q: &[f64], g: &mut [f64]) -> f64 {
        self.gradients += 1;
        g.iter_mut().for_each(|x| *x = 0.0);
        let lp = self.m.log_prior(q, g) + self.m.log_lik(q, self.data, g);
        if lp.is_finite() && g.iter().all(|v| v.is_finite()) {
            lp
        } else {
            f64::NEG_INFINITY
        }
    }

    fn hamiltonian(&mut self) -> f64 {
        let h = -self.z.lp + self.metric.kinetic(&self.z.p, &mut self.scratch);
        if h.is_nan() {
            f64::INFINITY
        } else {
            h
        }
    }

    /// One leapfrog step of the moving end with signed step e.
    fn leapfrog(&mut self, e: f64) {
        let d = self.z.q.len();
        for j in 0..d {
            self.z.p[j] += 0.5 * e * self.z.g[j];
        }
        self.metric.velocity(&self.z.p, &mut self.scratch);
        for j in 0..d {
            self.z.q[j] += e * self.scratch[j];
        }
        let q = std::mem::take(&mut self.z.q);
        let mut g = std::mem::take(&mut self.z.g);
        self.z.lp = self.log_density(&q, &mut g);
        self.z.q = q;
        self.z.g = g;
        if self.z.lp.is_finite() {
            for j in 0..d {
                self.z.p[j] += 0.5 * e * self.z.g[j];
            }
        }
    }

    fn velocity_of(&mut self, p: &[f64]) -> Vec<f64> {
        let mut v = vec![0.0; p.len()];
        self.metric.velocity(p, &mut v);
        v
    }

    /// Build a subtree of 2^depth leapfrog steps from the moving end in direction `sign`
    /// (Stan's recursion). Returns false if it diverged or made a U-turn inside.
    #[allow(clippy::too_many_arguments)]
    fn build_tree(
        &mut self,
        depth: usize,
        z_propose: &mut Point,
        p_sharp_beg: &mut Vec<f64>,
        p_sharp_end: &mut Vec<f64>,
        rho: &mut Vec<f64>,
        p_beg: &mut Vec<f64>,
        p_end: &mut Vec<f64>,
        h0: f64,
        sign: f64,
        log_sum_weight: &mut f64,
    ) -> bool {
        if depth == 0 {
            self.leapfrog(sign * self.eps);
            self.n_leapfrog += 1;
            let h = self.hamiltonian();
            if h - h0 > MAX_DELTA_H {
                self.divergent = true;
            }
            *log_sum_weight = log_sum_exp(*log_sum_weight, h0 - h);
            self.sum_metro += if h0 - h > 0.0 { 1.0 } else { (h0 - h).exp() };
            *z_propose = self.z.clone();
            let p = self.z.p.clone();
            *p_sharp_beg = self.velocity_of(&p);
            p_sharp_end.clone_from(p_sharp_beg);
            for (r, v) in rho.iter_mut().zip(&p) {
                *r += v;
            }
            p_beg.clone_from(&p);
            *p_end = p;
            return !self.divergent;
        }
        let d = self.z.q.len();
        // The first half.
        let mut lsw_init = f64::NEG_INFINITY;
        let mut p_init_end = vec![0.0; d];
        let mut p_sharp_init_end = vec![0.0; d];
        let mut rho_init = vec![0.0; d];
        if !self.build_tree(
            depth - 1,
            z_propose,
            p_sharp_beg,
            &mut p_sharp_init_end,
            &mut rho_init,
            p_beg,
            &mut p_init_end,
            h0,
            sign,
            &mut lsw_init,
        ) {
            return false;
        }
        // The second half.
        let mut z_final = self.z.clone();
        let mut lsw_final = f64::NEG_INFINITY;
        let mut p_final_beg = vec![0.0; d];
        let mut p_sharp_final_beg = vec![0.0; d];
        let mut rho_final = vec![0.0; d];
        if !self.build_tree(
            depth - 1,
            &mut z_final,
            &mut p_sharp_final_beg,
            p_sharp_end,
            &mut rho_final,
            &mut p_final_beg,
            p_end,
            h0,
            sign,
            &mut lsw_final,
        ) {
            return false;
        }
        // Multinomial choice between the halves.
        let lsw_sub = log_sum_exp(lsw_init, lsw_final);
        *log_sum_weight = log_sum_exp(*log_sum_weight, lsw_sub);
        if lsw_final > lsw_sub || uniform(&mut self.rng) < (lsw_final - lsw_sub).exp() {
            *z_propose = z_final;
        }
        let rho_sub = add(&rho_init, &rho_final);
        for (r, v) in rho.iter_mut().zip(&rho_sub) {
            *r += v;
        }
        // U-turn over the subtree, and across the merge.
        criterion(p_sharp_beg, p_sharp_end, &rho_sub)
            && criterion(
                p_sharp_beg,
                &p_sharp_final_beg,
                &add(&rho_init, &p_final_beg),
            )
            && criterion(
                &p_sharp_init_end,
                p_sharp_end,
                &add(&rho_final, &p_init_end),
            )
    }

    /// One NUTS transition from `state`; returns the new state.
    fn transition(&mut self, state: &Point) -> (Point, Transition) {
        let d = state.q.len();
        self.z = state.clone();
        let mut p = vec![0.0; d];
        self.metric.sample_p(&mut self.rng, &mut p);
        self.z.p = p.clone();
        self.n_leapfrog = 0;
        self.sum_metro = 0.0;
        self.divergent = false;
        let h0 = self.hamiltonian();
        let v0 = self.velocity_of(&p);
        let (mut z_fwd, mut z_bck) = (self.z.clone(), self.z.clone());
        let mut z_sample = self.z.clone();
        let mut z_propose = self.z.clone();
        // p_X_Y: momentum at the Y end of the X part of the trajectory (backward part, forward
        // part), and p♯ the velocities there.
        let (mut p_fwd_fwd, mut p_fwd_bck, mut p_bck_fwd, mut p_bck_bck) =
            (p.clone(), p.clone(), p.clone(), p.clone());
        let (mut s_fwd_fwd, mut s_fwd_bck, mut s_bck_fwd, mut s_bck_bck) =
            (v0.clone(), v0.clone(), v0.clone(), v0);
        let mut rho = p;
        let mut log_sum_weight = 0.0;
        let mut depth = 0;
        while depth < self.max_depth {
            let mut rho_fwd = vec![0.0; d];
            let mut rho_bck = vec![0.0; d];
            let mut lsw_sub = f64::NEG_INFINITY;
            let valid = if uniform(&mut self.rng) > 0.5 {
                // Extend forwards: the old trajectory is the backward part, its forward end
                // adjacent to the new subtree.
                self.z = z_fwd.clone();
                rho_bck.clone_from(&rho);
                p_bck_fwd.clone_from(&p_fwd_fwd);
                s_bck_fwd.clone_from(&s_fwd_fwd);
                let ok = self.build_tree(
                    depth,
                    &mut z_propose,
                    &mut s_fwd_bck,
                    &mut s_fwd_fwd,
                    &mut rho_fwd,
                    &mut p_fwd_bck,
                    &mut p_fwd_fwd,
                    h0,
                    1.0,
                    &mut lsw_sub,
                );
                z_fwd = self.z.clone();
                ok
            } else {
                self.z = z_bck.clone();
                rho_fwd.clone_from(&rho);
                p_fwd_bck.clone_from(&p_bck_bck);
                s_fwd_bck.clone_from(&s_bck_bck);
                let ok = self.build_tree(
                    depth,
                    &mut z_propose,
                    &mut s_bck_fwd,
                    &mut s_bck_bck,
                    &mut rho_bck,
                    &mut p_bck_fwd,
                    &mut p_bck_bck,
                    h0,
                    -1.0,
                    &mut lsw_sub,
                );
                z_bck = self.z.clone();
                ok
            };
            if !valid {
                break;
            }
            depth += 1;
            // Biased progressive sampling: prefer the new subtree.
            if lsw_sub > log_sum_weight || uniform(&mut self.rng) < (lsw_sub - log_sum_weight).exp()
            {
                z_sample = z_propose.clone();
            }
            log_sum_weight = log_sum_exp(log_sum_weight, lsw_sub);
            rho = add(&rho_bck, &rho_fwd);
            let persist = criterion(&s_bck_bck, &s_fwd_fwd, &rho)
                && criterion(&s_bck_bck, &s_fwd_bck, &add(&rho_bck, &p_fwd_bck))
                && criterion(&s_bck_fwd, &s_fwd_fwd, &add(&rho_fwd, &p_bck_fwd));
            if !persist {
                break;
            }
        }
        let t = Transition {
            accept: self.sum_metro / self.n_leapfrog.max(1) as f64,
            depth,
            leapfrog: self.n_leapfrog,
            divergent: self.divergent,
        };
        (z_sample, t)
    }

    /// Stan's step-size heuristic: double or halve ε until the acceptance of one leapfrog step
    /// from `state` crosses 0.8.
    fn init_step_size(&mut self, state: &Point) {
        let d = state.q.len();
        let mut p = vec![0.0; d];
        let mut direction = 0.0;
        for _ in 0..100 {
            self.z = state.clone();
            self.metric.sample_p(&mut self.rng, &mut p);
            self.z.p.clone_from(&p);
            let h0 = self.hamiltonian();
            self.leapfrog(self.eps);
            let dh = h0 - self.hamiltonian();
            let up = dh > 0.8f64.ln();
            if direction == 0.0 {
                direction = if up { 1.0 } else { -1.0 };
            } else if (direction > 0.0) != up {
                break;
            }
            let next = if direction > 0.0 {
                self.eps * 2.0
            } else {
                self.eps / 2.0
            };
            if !(next > 1e-10 && next < 1e7) {
                break;
            }
            self.eps = next;
        }
    }
}

/// What a chain returns: draws after warm-up and its statistics.
struct ChainRun {
    draws: Vec<Vec<f64>>,
    accept: Vec<f64>,
    leapfrog: Vec<u64>,
    divergences: usize,
    depth_hits: usize,
    eps: f64,
    inv_metric: Vec<f64>,
    gradients: u64,
    /// Acceptance statistics since the last restart of dual averaging.
    adapt_accept: Vec<f64>,
}

fn run_chain(
    m: &dyn LogJoint,
    data: Batch,
    o: &NutsOptions,
    c: usize,
    runner: &Runner,
) -> ChainRun {
    let d = m.dim();
    let mut rng = stream(o.seed, c as u64);
    let q: Vec<f64> = (0..d).map(|_| 4.0 * uniform(&mut rng) - 2.0).collect();
    let mut ch = Chain {
        m,
        data,
        metric: Metric::identity(d, o.dense),
        eps: o.step_size,
        max_depth: o.max_depth,
        rng,
        z: Point {
            q: q.clone(),
            p: vec![0.0; d],
            g: vec![0.0; d],
            lp: 0.0,
        },
        scratch: vec![0.0; d],
        n_leapfrog: 0,
        sum_metro: 0.0,
        divergent: false,
        gradients: 0,
    };
    let mut g = vec![0.0; d];
    let lp = ch.log_density(&q, &mut g);
    let mut state = Point {
        q,
        p: vec![0.0; d],
        g,
        lp,
    };
    // A start where the density vanishes: retry a few uniform(−2, 2) points, then give up (the
    // chain's first transitions will then diverge and be reported).
    for _ in 0..100 {
        if state.lp.is_finite() {
            break;
        }
        state.q = (0..d).map(|_| 4.0 * uniform(&mut ch.rng) - 2.0).collect();
        state.lp = ch.log_density(&state.q.clone(), &mut state.g);
    }
    let adapt = o.warmup >= 20;
    if adapt {
        ch.init_step_size(&state);
    }
    let mut da = DualAveraging::new(ch.eps, o.target_accept);
    let mut windows = Windows::new(o.warmup.max(1));
    let mut cov = Welford::new(d);
    let mut run = ChainRun {
        draws: Vec::with_capacity(o.samples),
        accept: Vec::with_capacity(o.samples),
        leapfrog: Vec::with_capacity(o.samples),
        divergences: 0,
        depth_hits: 0,
        eps: ch.eps,
        inv_metric: Vec::new(),
        gradients: 0,
        adapt_accept: Vec::new(),
    };
    for it in 0..o.warmup + o.samples {
        if runner.interrupted().is_some() {
            break;
        }
        if it == o.warmup && adapt {
            ch.eps = da.final_eps();
        }
        let (next, t) = ch.transition(&state);
        state = next;
        runner.advance(1);
        if it < o.warmup {
            if !adapt {
                continue;
            }
            ch.eps = da.learn(t.accept);
            run.adapt_accept.push(t.accept);
            if windows.collecting(it) {
                cov.push(&state.q);
            }
            if windows.window_ends(it) {
                windows.advance(it);
                ch.metric = Metric::from_cov(cov.regularised(), d, o.dense);
                cov = Welford::new(d);
                ch.init_step_size(&state);
                da.restart(ch.eps);
                run.adapt_accept.clear();
            }
        } else {
            run.draws.push(state.q.clone());
            run.accept.push(t.accept);
            run.leapfrog.push(t.leapfrog);
            run.divergences += t.divergent as usize;
            run.depth_hits += (t.depth >= o.max_depth) as usize;
        }
    }
    run.eps = ch.eps;
    run.inv_metric = ch.metric.inv.clone();
    run.gradients = ch.gradients;
    run
}

/// Run NUTS chains in parallel on the full data (see the module docs). Under `runner`: when it
/// stops the run (time budget, Ctrl-C), the chains keep the draws all of them made past the
/// warm-up — at least 10, else an error.
pub fn nuts(m: &dyn LogJoint, data: Batch, o: &NutsOptions, runner: &Runner) -> Result<NutsResult> {
    o.check()?;
    let d = m.dim();
    if d == 0 {
        return Err(Error::arg("NUTS needs a model with at least one parameter"));
    }
    runner.start(
        ((o.warmup + o.samples) * o.chains) as u64,
        "NUTS iterations",
    );
    let mut runs: Vec<ChainRun> = (0..o.chains)
        .into_par_iter()
        .map(|c| run_chain(m, data, o, c, runner))
        .collect();
    runner.finish();
    let kept = runs.iter().map(|r| r.draws.len()).min().unwrap_or(0);
    if kept < 10 {
        return Err(Error::OverBudget {
            what: "nuts".into(),
            reason: format!(
                "stopped after {kept} draws past the warm-up ({} iterations); at least 10 are \
                 needed: allow more time or a shorter warm-up",
                o.warmup
            ),
        });
    }
    for r in runs.iter_mut() {
        r.draws.truncate(kept);
        r.accept.truncate(kept);
        r.leapfrog.truncate(kept);
    }
    let k = o.chains as f64;
    let mut res = NutsResult {
        mean: vec![0.0; d],
        sd: vec![0.0; d],
        mcse: vec![0.0; d],
        r_hat: vec![0.0; d],
        ess_bulk: vec![0.0; d],
        divergences: runs.iter().map(|r| r.divergences).sum(),
        max_depth_hits: runs.iter().map(|r| r.depth_hits).sum(),
        accept_stat: runs
            .iter()
            .map(|r| r.accept.iter().sum::<f64>() / kept as f64)
            .sum::<f64>()
            / k,
        adapt_accept_stat: runs
            .iter()
            .map(|r| r.adapt_accept.iter().sum::<f64>() / r.adapt_accept.len().max(1) as f64)
            .sum::<f64>()
            / k,
        step_size: runs.iter().map(|r| r.eps).collect(),
        mean_leapfrog: runs
            .iter()
            .map(|r| r.leapfrog.iter().sum::<u64>() as f64)
            .sum::<f64>()
            / (k * kept as f64),
        gradients: runs.iter().map(|r| r.gradients).sum(),
        inv_metric: runs[0].inv_metric.clone(),
        draws_per_chain: kept,
        draws: Vec::new(),
    };
    for j in 0..d {
        let series: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| r.draws.iter().map(|z| z[j]).collect())
            .collect();
        let refs: Vec<&[f64]> = series.iter().map(|s| s.as_slice()).collect();
        let all: Vec<f64> = series.concat();
        let (mean, var) = stats::mean_var(&all);
        res.mean[j] = mean;
        res.sd[j] = var.sqrt();
        let ess = convergence::ess(&refs);
        res.mcse[j] = res.sd[j] / ess.max(1.0).sqrt();
        res.r_hat[j] = convergence::rank_r_hat(&refs);
        res.ess_bulk[j] = convergence::ess_bulk(&refs);
    }
    res.draws = runs.into_iter().flat_map(|r| r.draws).collect();
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_stans_schedule() {
        // warm-up 1000: windows end at 99, 149, 249, 449, 949 (75 + 25, 50, 100, 200, 500).
        let mut w = Windows::new(1000);
        let mut ends = Vec::new();
        for it in 0..1000 {
            if w.window_ends(it) {
                ends.push(it);
                w.advance(it);
            }
        }
        assert_eq!(ends, vec![99, 149, 249, 449, 949]);
        assert!(!w.collecting(74) && w.collecting(75) && w.collecting(949));
        assert!(!w.collecting(950));
    }

    #[test]
    fn momenta_have_covariance_m() {
        // Σ = M⁻¹ = [[4, 1.8], [1.8, 1]]: Cov(p) must be M = Σ⁻¹.
        let cov = vec![4.0, 1.8, 1.8, 1.0];
        let m = Metric::from_cov(cov, 2, true);
        let mut rng = stream(3, 0);
        let n = 200_000;
        let mut acc = [0.0; 3];
        let mut p = [0.0; 2];
        for _ in 0..n {
            m.sample_p(&mut rng, &mut p);
            acc[0] += p[0] * p[0];
            acc[1] += p[0] * p[1];
            acc[2] += p[1] * p[1];
        }
        let det = 4.0 - 1.8 * 1.8;
        let want = [1.0 / det, -1.8 / det, 4.0 / det];
        for k in 0..3 {
            let got = acc[k] / n as f64;
            assert!(
                (got - want[k]).abs() < 0.03 * want[0].abs().max(want[2]),
                "{k}: {got} vs {}",
                want[k]
            );
        }
    }
}
