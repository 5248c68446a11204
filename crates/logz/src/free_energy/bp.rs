//! Loopy belief propagation (Bethe) and tree-reweighted BP (TRW), one engine.
//!
//! For ±1 spins a message is a cavity field: u_{t→s} is the field that t induces on s. With edge
//! weights ρ_st (ρ ≡ 1 is ordinary BP; ρ in the spanning-tree polytope is TRW),
//!   g_{t\s} = θ_t + Σ_{v∈N(t)} ρ_vt u_{v→t} − u_{s→t}          (cavity field of t without s)
//!   u_{t→s} = atanh(tanh(θ_st/ρ_st) tanh(g_{t\s}))
//!           = ½[ln 2cosh(θ_st/ρ_st + g) − ln 2cosh(θ_st/ρ_st − g)]   (stable for any size).
//! Beliefs: b_s ∝ exp(G_s s), G_s = θ_s + Σ_v ρ_vs u_{v→s};
//! b_st ∝ exp(θ_st/ρ_st s t + g_{s\t} s + g_{t\s} t). The free energy evaluated at the beliefs,
//!   Φ = Σ_s θ_s⟨s⟩ + Σ_st θ_st⟨st⟩ + Σ_s H(b_s) − Σ_st ρ_st I(b_st),
//! is the Bethe approximation of ln Z for ρ ≡ 1 (kind = approximation), and for TRW, at a
//! converged fixed point (the maximum of a concave function), a rigorous upper bound on ln Z.
//!
//! Convergence is judged on the *undamped* residual max |u_new − u_old| / max(1, |u_new|), so damping does not make
//! an unconverged run look converged.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::{Geometry, Model};
use crate::numeric::{ln_2cosh, log_sum_exp, spin_entropy};
use crate::runner::{Iteration, Runner, Termination};
use rand::SeedableRng;
use rand_distr::{Distribution, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Message-update schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Schedule {
    /// Node by node, in place (Gauss–Seidel).
    Sequential,
    /// All messages from the previous iteration (Jacobi), with damping.
    Parallel,
}

/// Settings of the message-passing engine shared by Bethe and TRW.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop when the undamped message residual falls below this.
    pub tol: f64,
    /// Most iterations (passes over all messages) per start.
    pub max_iter: usize,
    /// Weight of the old message in each update, in [0, 1).
    pub damping: f64,
    /// Sequential (in place) or parallel (Jacobi) updates.
    pub schedule: Schedule,
}

/// Per directed CSR slot of node t: incoming message index (s→t), outgoing (t→s), θ/ρ, ρ.
struct Slots {
    start: Vec<usize>,
    inc: Vec<u32>,
    out: Vec<u32>,
    a: Vec<f64>,
    rho: Vec<f64>,
}

fn slots(m: &Model, rho: &[f64]) -> Slots {
    let b = m.beta();
    let mut s = Slots {
        start: vec![0],
        inc: vec![],
        out: vec![],
        a: vec![],
        rho: vec![],
    };
    for t in 0..m.n() {
        for &(_, e) in m.neighbors(t) {
            let e = e as usize;
            let (lo, _) = m.edges()[e];
            // u[2e] is lo→hi, u[2e+1] is hi→lo
            let (inc, out) = if lo as usize == t {
                (2 * e + 1, 2 * e)
            } else {
                (2 * e, 2 * e + 1)
            };
            s.inc.push(inc as u32);
            s.out.push(out as u32);
            s.a.push(b * m.couplings()[e] / rho[e]);
            s.rho.push(rho[e]);
        }
        s.start.push(s.inc.len());
    }
    s
}

/// atanh(tanh(a) tanh(g)), stably.
#[inline]
fn message(a: f64, g: f64) -> f64 {
    0.5 * (ln_2cosh(a + g) - ln_2cosh(a - g))
}

/// Iterate `step(damping) → residual` until the residual falls below opt.tol or opt.max_iter.
/// Damping starts at opt.damping and is raised (1 − d halves) whenever the residual has not
/// fallen by 10× over a window of 500 iterations: oscillating messages then settle.
/// Every iteration is reported to `runner`, which may stop the loop.
fn drive(
    opt: &Options,
    runner: &Runner,
    name: &str,
    mut step: impl FnMut(f64) -> f64,
) -> (usize, Termination, f64) {
    let mut d = opt.damping;
    let mut window_best = f64::INFINITY;
    let mut resid = f64::INFINITY;
    for it in 1..=opt.max_iter {
        if it % 500 == 0 {
            if resid > 0.1 * window_best && d < 0.99 {
                d = 1.0 - 0.5 * (1.0 - d);
            }
            window_best = resid;
        }
        resid = step(d);
        if !resid.is_finite() {
            return (it, Termination::Diverged, resid);
        }
        if resid < opt.tol {
            return (it, Termination::Converged, resid);
        }
        if let Some(t) = runner.iterate(Iteration::new(name, it).change(resid)) {
            return (it, t, resid);
        }
    }
    (opt.max_iter, Termination::MaxIterations, resid)
}

/// Run reweighted BP from initial messages `u`; returns (iterations, converged, final residual).
/// With the sequential schedule on a uniform square torus (uniform ρ) the vectorised red–black
/// kernel of [`super::lattice`] runs: the same equations in another sequential order.
pub fn propagate(m: &Model, rho: &[f64], opt: &Options, u: &mut [f64]) -> (usize, bool, f64) {
    let (it, t, resid) = propagate_with(m, rho, opt, u, &Runner::new(), "bp");
    (it, t == Termination::Converged, resid)
}

/// [`propagate`] under a runner, reporting each iteration as method `name`; returns
/// (iterations, termination, final residual).
pub fn propagate_with(
    m: &Model,
    rho: &[f64],
    opt: &Options,
    u: &mut [f64],
    runner: &Runner,
    name: &str,
) -> (usize, Termination, f64) {
    if opt.schedule == Schedule::Sequential {
        if let Some(mut lat) = super::lattice::LatticeBp::new(m, rho, u) {
            let out = drive(opt, runner, name, |d| lat.iterate(d));
            lat.store(u);
            return out;
        }
    }
    let sl = slots(m, rho);
    let theta: Vec<f64> = m.fields().iter().map(|h| m.beta() * h).collect();
    let mut newu = u.to_vec();
    drive(opt, runner, name, |d| {
        let mut resid: f64 = 0.0;
        // Parallel: read from a frozen copy of the previous iteration. Sequential: read u in
        // place, which is sound because node t reads only messages into t and writes messages
        // out of t.
        let frozen = opt.schedule == Schedule::Parallel;
        if frozen {
            newu.copy_from_slice(u);
        }
        for t in 0..m.n() {
            let (lo, hi) = (sl.start[t], sl.start[t + 1]);
            let mut g = theta[t];
            for k in lo..hi {
                let i = sl.inc[k] as usize;
                g += sl.rho[k] * if frozen { newu[i] } else { u[i] };
            }
            for k in lo..hi {
                let i = sl.inc[k] as usize;
                let cav = g - if frozen { newu[i] } else { u[i] };
                let o = sl.out[k] as usize;
                let new = message(sl.a[k], cav);
                let old = u[o];
                // Relative for large messages: hard constraints drive cavity fields to O(θ/ρ).
                resid = resid.max((new - old).abs() / new.abs().max(1.0));
                u[o] = d * old + (1.0 - d) * new;
            }
        }
        resid
    })
}

/// Beliefs and the reweighted free energy Φ at messages u: (Φ − βE₀, m, edge correlations).
pub fn free_energy(m: &Model, rho: &[f64], u: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let b = m.beta();
    let n = m.n();
    let mut big_g: Vec<f64> = m.fields().iter().map(|h| b * h).collect();
    for (e, &(lo, hi)) in m.edges().iter().enumerate() {
        big_g[hi as usize] += rho[e] * u[2 * e];
        big_g[lo as usize] += rho[e] * u[2 * e + 1];
    }
    let mag: Vec<f64> = big_g.iter().map(|g| g.tanh()).collect();
    let mut phi = -b * m.energy_offset();
    for i in 0..n {
        phi += b * m.fields()[i] * mag[i] + spin_entropy(mag[i]);
    }
    let mut cor = vec![0.0; m.num_edges()];
    for (e, &(lo, hi)) in m.edges().iter().enumerate() {
        let (s, t) = (lo as usize, hi as usize);
        let gs = big_g[s] - u[2 * e + 1];
        let gt = big_g[t] - u[2 * e];
        let a = b * m.couplings()[e] / rho[e];
        // log-weights over (x_s, x_t) ∈ {(+,+), (+,−), (−,+), (−,−)}
        let w = [a + gs + gt, -a + gs - gt, -a - gs + gt, a - gs - gt];
        let lz = log_sum_exp(&w);
        let p: Vec<f64> = w.iter().map(|x| (x - lz).exp()).collect();
        let h_st: f64 = -p
            .iter()
            .zip(&w)
            .map(|(pi, wi)| if *pi > 0.0 { pi * (wi - lz) } else { 0.0 })
            .sum::<f64>();
        let ms = p[0] + p[1] - p[2] - p[3];
        let mt = p[0] - p[1] + p[2] - p[3];
        let c = p[0] - p[1] - p[2] + p[3];
        let mi = spin_entropy(ms) + spin_entropy(mt) - h_st;
        cor[e] = c.clamp(-1.0, 1.0);
        phi += b * m.couplings()[e] * c - rho[e] * mi;
    }
    (phi, mag, cor)
}

fn finish(
    m: &Model,
    rho: &[f64],
    u: &[f64],
    kind: EstimateKind,
    alg: &str,
    iters: usize,
    conv: bool,
) -> Estimate {
    let (phi, mag, cor) = free_energy(m, rho, u);
    let mut est = Estimate::new(phi, kind, alg);
    est.energy = Some(m.mean_energy(&mag, &cor));
    est.magnetization = mag;
    est.edge_correlation = Some(cor);
    est.diagnostics.iterations = iters;
    est.diagnostics.converged = conv;
    est
}

fn check(opt: &Options) -> Result<()> {
    if opt.tol.is_nan() || opt.tol <= 0.0 || !(0.0..1.0).contains(&opt.damping) || opt.max_iter == 0
    {
        return Err(Error::arg(
            "BP needs tol > 0, 0 ≤ damping < 1 and max_iter ≥ 1",
        ));
    }
    Ok(())
}

/// The Bethe approximation by loopy BP (several starts; the lowest Bethe free energy wins).
#[derive(Debug, Clone)]
pub struct Bethe {
    /// Message-passing settings.
    pub opt: Options,
}

impl Default for Bethe {
    fn default() -> Self {
        Bethe {
            opt: Options {
                tol: 1e-10,
                max_iter: 5_000,
                damping: 0.0,
                schedule: Schedule::Sequential,
            },
        }
    }
}

impl Solver for Bethe {
    fn name(&self) -> &'static str {
        "bethe"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        check(&self.opt)?;
        let rho = vec![1.0; m.num_edges()];
        let ne = 2 * m.num_edges();
        // Zero messages (the paramagnetic start) and symmetry-broken starts, like mean field.
        let starts = [0.0, 0.5, -0.5];
        runner.start(starts.len() as u64, "belief propagation");
        let mut best: Option<(f64, Vec<f64>, Termination, bool)> = None;
        let mut total = 0;
        for &s0 in &starts {
            let mut u = vec![s0; ne];
            let (it, term, _) = propagate_with(m, &rho, &self.opt, &mut u, runner, "bethe");
            let conv = term == Termination::Converged;
            total += it;
            let (phi, _, _) = free_energy(m, &rho, &u);
            let better = match &best {
                None => true,
                Some(b) => (conv && !b.3) || (conv == b.3 && phi > b.0 + 1e-12),
            };
            if phi.is_finite() && better {
                best = Some((phi, u, term, conv));
            }
            runner.advance(1);
            if term.interrupted() {
                break;
            }
        }
        let (_, u, termination, conv) = best.ok_or_else(|| Error::NotApplicable {
            method: "bethe",
            reason: "belief propagation diverged from every start".into(),
        })?;
        let alg = match self.opt.schedule {
            Schedule::Sequential => "loopy BP (sequential)",
            Schedule::Parallel => "loopy BP (parallel, damped)",
        };
        let mut est = finish(m, &rho, &u, EstimateKind::Approximation, alg, total, conv);
        est.diagnostics.termination = runner.stopped().unwrap_or(termination);
        if !conv {
            est.diagnostics
                .notes
                .push("BP did not converge: the Bethe value is at the last iterate".into());
        }
        Ok(est)
    }
}

fn edge_transitive(m: &Model) -> bool {
    match *m.geometry() {
        Geometry::Square {
            rows,
            cols,
            periodic: true,
        }
        | Geometry::Triangular {
            rows,
            cols,
            periodic: true,
        } => rows >= 3 && cols >= 3,
        Geometry::Cubic { l } => l >= 3,
        Geometry::Complete { n } => n >= 2,
        Geometry::Chain { n, periodic: true } => n >= 3,
        _ => false,
    }
}

/// Random spanning forests (Kruskal with random weights, not-yet-covered edges first, until
/// every edge is covered): returns the forests as edge lists and ρ_e = fraction containing e,
/// a point of the spanning-tree polytope.
pub fn spanning_forests(m: &Model, trees: usize, seed: u64) -> (Vec<f64>, Vec<Vec<usize>>) {
    let ne = m.num_edges();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let unif = Uniform::new(0.0f64, 1.0).expect("valid range");
    let mut count = vec![0usize; ne];
    let mut forests = Vec::new();
    while ne > 0
        && (forests.len() < trees || (count.contains(&0) && forests.len() < trees + 64 * ne))
    {
        let mut order: Vec<(f64, usize)> = (0..ne)
            .map(|e| {
                (
                    if count[e] == 0 { -1.0 } else { 0.0 } + unif.sample(&mut rng),
                    e,
                )
            })
            .collect();
        order.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let mut parent: Vec<usize> = (0..m.n()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut forest = Vec::new();
        for (_, e) in order {
            let (a, b) = m.edges()[e];
            let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
            if ra != rb {
                parent[ra] = rb;
                count[e] += 1;
                forest.push(e);
            }
        }
        forests.push(forest);
    }
    let k = forests.len().max(1) as f64;
    (count.iter().map(|&c| c as f64 / k).collect(), forests)
}

/// Edge appearance probabilities: uniform (N−1)/|E| on connected edge-transitive lattices, else
/// the average of random spanning forests ([`spanning_forests`]).
pub fn edge_appearance(m: &Model, trees: usize, seed: u64) -> Vec<f64> {
    let ne = m.num_edges();
    if ne == 0 {
        return vec![];
    }
    if edge_transitive(m) {
        return vec![(m.n() - 1) as f64 / ne as f64; ne];
    }
    spanning_forests(m, trees, seed).0
}

/// A rigorous upper bound that needs no convergence: by convexity of ln Z in θ,
/// ln Z(θ) ≤ Σ_k w_k ln Z(θ^k) for any split θ = Σ_k w_k θ^k. With forests T_k (weights 1/K)
/// and θ^k_e = θ_e/ρ_e on the edges of T_k, θ^k_i = θ_i, each term is a forest, solved exactly
/// by BP. Used when TRW-BP does not converge.
pub fn forest_mixture_bound(m: &Model, rho: &[f64], forests: &[Vec<usize>]) -> Result<f64> {
    let seq = Options {
        tol: 1e-13,
        max_iter: m.n() + 10,
        damping: 0.0,
        schedule: Schedule::Sequential,
    };
    let mut total = 0.0;
    for f in forests {
        let edges: Vec<(usize, usize)> = f
            .iter()
            .map(|&e| (m.edges()[e].0 as usize, m.edges()[e].1 as usize))
            .collect();
        let js: Vec<f64> = f.iter().map(|&e| m.couplings()[e] / rho[e]).collect();
        let t = Model::new(m.n(), &edges, &js, m.fields().to_vec(), m.beta())?
            .with_energy_offset(m.energy_offset())?;
        let ones = vec![1.0; t.num_edges()];
        let mut u = vec![0.0; 2 * t.num_edges()];
        let (_, conv, _) = propagate(&t, &ones, &seq, &mut u);
        if !conv {
            return Err(Error::NotApplicable {
                method: "trw",
                reason: "BP did not converge on a spanning forest".into(),
            });
        }
        total += free_energy(&t, &ones, &u).0;
    }
    Ok(total / forests.len().max(1) as f64)
}

/// Tree-reweighted BP: an upper bound on ln Z when it converges.
#[derive(Debug, Clone)]
pub struct Trw {
    /// Message-passing settings.
    pub opt: Options,
    /// Random spanning forests for non-lattice graphs.
    pub trees: usize,
    /// Seed of the random spanning forests.
    pub seed: u64,
}

impl Default for Trw {
    fn default() -> Self {
        Trw {
            opt: Options {
                tol: 1e-10,
                max_iter: 20_000,
                damping: 0.5,
                schedule: Schedule::Sequential,
            },
            trees: 200,
            seed: 0,
        }
    }
}

impl Solver for Trw {
    fn name(&self) -> &'static str {
        "trw"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        check(&self.opt)?;
        runner.start(1, "tree-reweighted BP");
        let (rho, forests) = if edge_transitive(m) || m.num_edges() == 0 {
            (edge_appearance(m, self.trees, self.seed), Vec::new())
        } else {
            spanning_forests(m, self.trees, self.seed)
        };
        if rho.iter().any(|&r| r <= 0.0) {
            return Err(Error::NotApplicable {
                method: "trw",
                reason: "an edge is in no spanning tree".into(),
            });
        }
        let mut u = vec![0.0; 2 * m.num_edges()];
        let (it, termination, resid) = propagate_with(m, &rho, &self.opt, &mut u, runner, "trw");
        let conv = termination == Termination::Converged;
        runner.advance(1);
        let mut est = finish(
            m,
            &rho,
            &u,
            EstimateKind::UpperBound,
            "tree-reweighted BP",
            it,
            conv,
        );
        est.diagnostics.termination = runner.stopped().unwrap_or(termination);
        if !conv {
            // The value at unconverged messages need not bound ln Z; fall back to the forest
            // mixture bound, which holds for any split (it is looser than the TRW optimum).
            let forests = if forests.is_empty() {
                spanning_forests(m, self.trees, self.seed).1
            } else {
                forests
            };
            let rho_f = {
                let mut c = vec![0.0; m.num_edges()];
                for f in &forests {
                    for &e in f {
                        c[e] += 1.0 / forests.len() as f64;
                    }
                }
                c
            };
            est.ln_z = forest_mixture_bound(m, &rho_f, &forests)?;
            est.diagnostics.algorithm = "spanning-forest mixture bound (TRW fallback)".into();
            est.diagnostics.notes.push(format!(
                "TRW-BP did not converge (residual {resid:.2e}); ln Z is the convexity bound of {} \
                 spanning forests instead: rigorous, but looser than the TRW optimum; marginals are \
                 from the last TRW iterate",
                forests.len()
            ));
        }
        Ok(est)
    }
}
