//! Exact ln Z and marginals by variable elimination on a junction tree.
//!
//! The elimination order (see [`super::ordering`]) defines cliques C_k = {v_k} ∪ S_k. The upward
//! pass is bucket elimination: the table T_k = ψ_k · Π_children m_c over C_k is summed over v_k to
//! give the message m_k(S_k). ψ_k holds exactly the terms of v_k that are still alive:
//! exp(θ_v s_v + Σ_{u ∈ S_k} θ_vu s_v s_u). The product of the roots' scalars is Z.
//!
//! The optional downward pass (Hugin style) gives every clique's belief b_k ∝ T_k · δ_k with
//! δ_k = (b_parent ↓ S_k) / m_k; ⟨s_v⟩ and ⟨s_v s_u⟩ come from the clique of the first-eliminated
//! end of each edge.
//!
//! Tables are stored in linear space, each with a log-scale, normalised to max 1 after every step:
//! this keeps the inner loops free of exp/log (ψ is built from per-byte lookup tables of
//! exponentials) while ln Z is accumulated exactly in log space (Grids_18 has ln Z ≈ 4500).
//! That is exact only while no entry underflows: an entry that flushes to zero is *not*
//! necessarily negligible, because the rest of the model can later reweight two separator states
//! by up to e^{2 Σ|θ|} of the bonds still to come (frustrated models at large β do this). Every
//! factor of a clique table (ψ, the child messages) is ≤ 1 after normalisation, so a product
//! entry can only shrink: if every clique table's smallest entry is still a normal f64, no
//! step lost precision and the linear answer is exact to rounding. If one is not (huge β, J or
//! h), the same passes rerun on logarithms of the entries ([`LogDomain`]): slower (a log-add per
//! entry), never wrong.

use super::ordering::{best_tree, EliminationTree};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::runner::Runner;
use rayon::prelude::*;

/// Variable elimination / junction-tree solver.
#[derive(Debug, Clone)]
pub struct Elimination {
    /// Refuse if the best ordering has a clique larger than this + 1 variables.
    pub max_width: usize,
    /// Memory budget (bytes) for the stored messages of the marginal pass; above it logz returns
    /// ln Z only, with a note.
    pub marginal_memory: f64,
    /// Compute marginals (downward pass).
    pub marginals: bool,
}

impl Default for Elimination {
    /// Cliques of up to 29 variables (tables of 4 GiB), fewer when the memory budget is smaller
    /// (see [`Elimination::width_for_memory`]).
    fn default() -> Self {
        Elimination {
            max_width: Elimination::width_for_memory(crate::limits::memory_limit() as f64).min(28),
            marginal_memory: 3.0 * (1u64 << 30) as f64,
            marginals: true,
        }
    }
}

const PAR_CHUNK: usize = 1 << 14;

/// The arithmetic of a table entry: linear values (× and +) or their logarithms (+ and log-add).
trait Domain: Copy + Send + Sync + 'static {
    const NAME: &'static str;
    /// The representation of e^l.
    fn from_log(l: f64) -> f64;
    /// ln of an entry.
    fn to_log(x: f64) -> f64;
    /// The product of two entries.
    fn mul(a: f64, b: f64) -> f64;
    /// The sum of two entries.
    fn add(a: f64, b: f64) -> f64;
    /// The quotient of two entries.
    fn div(a: f64, b: f64) -> f64;
    /// The representation of 0.
    const ZERO: f64;
    /// Whether an entry has lost precision to underflow (a subnormal or zero value).
    fn flushed(x: f64) -> bool;
}

/// Plain values, rescaled to max 1 after every step.
#[derive(Clone, Copy)]
struct Linear;
impl Domain for Linear {
    const NAME: &'static str = "linear";
    #[inline]
    fn from_log(l: f64) -> f64 {
        l.exp()
    }
    #[inline]
    fn to_log(x: f64) -> f64 {
        x.ln()
    }
    #[inline]
    fn mul(a: f64, b: f64) -> f64 {
        a * b
    }
    #[inline]
    fn add(a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline]
    fn div(a: f64, b: f64) -> f64 {
        a / b
    }
    const ZERO: f64 = 0.0;
    #[inline]
    fn flushed(x: f64) -> bool {
        x < f64::MIN_POSITIVE
    }
}

/// Natural logarithms of the values, shifted to max 0 after every step.
#[derive(Clone, Copy)]
pub struct LogDomain;
impl Domain for LogDomain {
    const NAME: &'static str = "log-domain";
    #[inline]
    fn from_log(l: f64) -> f64 {
        l
    }
    #[inline]
    fn to_log(x: f64) -> f64 {
        x
    }
    #[inline]
    fn mul(a: f64, b: f64) -> f64 {
        a + b
    }
    #[inline]
    fn add(a: f64, b: f64) -> f64 {
        crate::numeric::log_add(a, b)
    }
    #[inline]
    fn div(a: f64, b: f64) -> f64 {
        a - b
    }
    const ZERO: f64 = f64::NEG_INFINITY;
    #[inline]
    fn flushed(_: f64) -> bool {
        false
    }
}

/// Maps an index over a parent clique's variables to the index over a subset of them, using
/// per-byte lookup tables (a software "parallel bit extract"). `run_bits` low bits map straight
/// through, so inner loops run over contiguous slices of length 2^run_bits.
struct SubMap {
    lut: Vec<[u32; 256]>,
    run_bits: usize,
}

impl SubMap {
    fn new(parent: &[u32], child: &[u32]) -> SubMap {
        // rank[p] = position of parent[p] within child, if present
        let rank: Vec<Option<usize>> = parent
            .iter()
            .map(|v| child.iter().position(|c| c == v))
            .collect();
        let nchunks = parent.len().div_ceil(8).max(1);
        let mut lut = vec![[0u32; 256]; nchunks];
        for (k, table) in lut.iter_mut().enumerate() {
            for (byte, slot) in table.iter_mut().enumerate() {
                let mut v = 0u32;
                for b in 0..8 {
                    let p = 8 * k + b;
                    if p < parent.len() && (byte >> b) & 1 == 1 {
                        if let Some(r) = rank[p] {
                            v |= 1 << r;
                        }
                    }
                }
                *slot = v;
            }
        }
        let run_bits = rank
            .iter()
            .enumerate()
            .take_while(|(p, r)| **r == Some(*p))
            .count();
        SubMap { lut, run_bits }
    }
    #[inline]
    fn map(&self, idx: usize) -> usize {
        let mut s = 0u32;
        let mut x = idx;
        for t in &self.lut {
            s |= t[x & 255];
            x >>= 8;
        }
        s as usize
    }
}

/// t[idx] *= msg[sub(idx)] for every idx.
fn broadcast_mul<D: Domain>(t: &mut [f64], msg: &[f64], sm: &SubMap) {
    let run = 1usize << sm.run_bits;
    let chunk = run.max(PAR_CHUNK).min(t.len());
    let body = |(ci, sl): (usize, &mut [f64])| {
        let base0 = ci * chunk;
        for (bi, blk) in sl.chunks_mut(run).enumerate() {
            let sb = sm.map(base0 + bi * run);
            for (x, m) in blk.iter_mut().zip(&msg[sb..sb + run]) {
                *x = D::mul(*x, *m);
            }
        }
    };
    if t.len() >= 2 * PAR_CHUNK {
        t.par_chunks_mut(chunk).enumerate().for_each(body);
    } else {
        t.chunks_mut(chunk).enumerate().for_each(body);
    }
}

/// out[sub(idx)] += t[idx] (marginalise onto the subset).
fn marginalize<D: Domain>(t: &[f64], out: &mut [f64], sm: &SubMap) {
    let run = 1usize << sm.run_bits;
    for (bi, blk) in t.chunks(run).enumerate() {
        let sb = sm.map(bi * run);
        for (o, x) in out[sb..sb + run].iter_mut().zip(blk) {
            *o = D::add(*o, *x);
        }
    }
}

/// Divide by the maximum; returns ln(max) (−∞ if the table is all zeros).
fn normalize_max<D: Domain>(t: &mut [f64]) -> f64 {
    let mx = t.iter().cloned().fold(D::ZERO, f64::max);
    if mx > D::ZERO && mx.is_finite() {
        t.iter_mut().for_each(|x| *x = D::div(*x, mx));
        D::to_log(mx)
    } else {
        f64::NEG_INFINITY
    }
}

struct Ctx<'a, D> {
    m: &'a Model,
    tree: &'a EliminationTree,
    _domain: std::marker::PhantomData<D>,
}

impl<D: Domain> Ctx<'_, D> {
    /// ψ_k over C_k, normalised; returns (table, log scale).
    fn psi(&self, k: usize) -> (Vec<f64>, f64) {
        let c = &self.tree.cliques[k];
        let v = c[0] as usize;
        let beta = self.m.beta();
        let th_v = beta * self.m.fields()[v];
        let rest = c.len() - 1;
        let mut th_u = vec![0.0; rest];
        for &(u, e) in self.m.neighbors(v) {
            if let Some(p) = c[1..].iter().position(|&x| x == u) {
                th_u[p] += beta * self.m.couplings()[e as usize];
            }
        }
        let nch = rest.div_ceil(8);
        let mut ep = vec![[0.0f64; 256]; nch];
        let mut em = vec![[0.0f64; 256]; nch];
        let (mut ap, mut am) = (0.0, 0.0);
        for k8 in 0..nch {
            let bits = (rest - 8 * k8).min(8);
            let mut l = [0.0f64; 256];
            for (byte, lv) in l.iter_mut().enumerate().take(1 << bits) {
                *lv = (0..bits)
                    .map(|b| th_u[8 * k8 + b] * if (byte >> b) & 1 == 1 { 1.0 } else { -1.0 })
                    .sum();
            }
            let lmax = l[..1 << bits]
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            let lmin = l[..1 << bits].iter().cloned().fold(f64::INFINITY, f64::min);
            for byte in 0..(1 << bits) {
                ep[k8][byte] = D::from_log(l[byte] - lmax);
                em[k8][byte] = D::from_log(-l[byte] + lmin);
            }
            ap += lmax;
            am += -lmin;
        }
        let sigma = (th_v + ap).max(-th_v + am);
        let p0 = D::from_log(th_v + ap - sigma);
        let m0 = D::from_log(-th_v + am - sigma);
        let half = 1usize << rest;
        let mut t = vec![D::ZERO; 2 * half];
        let body = |(ci, sl): (usize, &mut [f64])| {
            let s0 = ci * PAR_CHUNK / 2;
            for (j, pair) in sl.chunks_mut(2).enumerate() {
                let mut x = s0 + j;
                let (mut p, mut q) = (p0, m0);
                for k8 in 0..nch {
                    p = D::mul(p, ep[k8][x & 255]);
                    q = D::mul(q, em[k8][x & 255]);
                    x >>= 8;
                }
                pair[0] = q;
                pair[1] = p;
            }
        };
        if t.len() >= 2 * PAR_CHUNK {
            t.par_chunks_mut(PAR_CHUNK).enumerate().for_each(body);
        } else {
            t.chunks_mut(PAR_CHUNK).enumerate().for_each(body);
        }
        (t, sigma)
    }

    /// T_k = ψ_k · Π children messages; returns (table, log scale of the product), or `None`
    /// when an entry underflowed (linear domain only: the caller then switches to logarithms).
    fn clique_table(&self, k: usize, msgs: &[Vec<f64>], lam: &[f64]) -> Option<(Vec<f64>, f64)> {
        let (mut t, mut scale) = self.psi(k);
        for &ch in &self.tree.children[k] {
            let sm = SubMap::new(&self.tree.cliques[k], &self.tree.cliques[ch][1..]);
            broadcast_mul::<D>(&mut t, &msgs[ch], &sm);
            scale += lam[ch];
        }
        // Every factor is ≤ 1, so the smallest entry bounds every intermediate product.
        if t.iter().any(|&x| D::flushed(x)) {
            return None;
        }
        scale += normalize_max::<D>(&mut t);
        Some((t, scale))
    }
}

/// Sum out bit 0 (the eliminated variable).
fn sum_out_first<D: Domain>(t: &[f64]) -> Vec<f64> {
    let half = t.len() / 2;
    let mut out = vec![D::ZERO; half];
    let body = |(ci, sl): (usize, &mut [f64])| {
        let o0 = ci * PAR_CHUNK;
        for (j, x) in sl.iter_mut().enumerate() {
            let i = 2 * (o0 + j);
            *x = D::add(t[i], t[i + 1]);
        }
    };
    if half >= 2 * PAR_CHUNK {
        out.par_chunks_mut(PAR_CHUNK).enumerate().for_each(body);
    } else {
        out.chunks_mut(PAR_CHUNK).enumerate().for_each(body);
    }
    out
}

/// Peak bytes of the upward pass over `tree`, simulated step by step: the messages alive, plus the
/// clique table T_k and the message summed out of it (half its size). With `keep`, messages are
/// kept for the downward pass; without, each is freed once its parent has absorbed it.
pub fn upward_peak_bytes(tree: &EliminationTree, keep: bool) -> f64 {
    let bytes = |c: &Vec<u32>| (c.len() as f64).exp2() * 8.0;
    let (mut live, mut peak) = (0.0f64, 0.0f64);
    for (k, c) in tree.cliques.iter().enumerate() {
        let t = bytes(c);
        peak = peak.max(live + t);
        if !keep {
            for &ch in &tree.children[k] {
                live -= bytes(&tree.cliques[ch]) / 2.0;
            }
        }
        peak = peak.max(live + 1.5 * t);
        live += t / 2.0;
    }
    peak
}

impl Elimination {
    /// The largest width whose tables fit `bytes`: the peak of a pass is about twice its largest
    /// table (the table, the message summed out of it and the messages it absorbs), so cliques
    /// of c variables need ~2 · 8 · 2^c bytes.
    pub fn width_for_memory(bytes: f64) -> usize {
        let c = (bytes / 16.0).log2().floor();
        if c.is_nan() || c < 2.0 {
            1
        } else {
            (c as usize).min(62) - 1
        }
    }

    /// Plan: the elimination tree, or a clear error if it is too wide.
    pub fn plan(&self, m: &Model) -> Result<EliminationTree> {
        best_tree(m, self.max_width).ok_or_else(|| {
            let budget = crate::limits::memory_limit() as f64;
            let allowed = Elimination::width_for_memory(budget);
            let why = if allowed <= self.max_width {
                format!(
                    "; the memory limit of {} allows no wider tables (raise it with \
                     --memory-limit or {})",
                    crate::limits::format_bytes(budget),
                    crate::limits::MEMORY_ENV
                )
            } else {
                "; the treewidth is too large for exact inference".to_string()
            };
            Error::TooLarge {
                method: "elimination",
                reason: format!(
                    "no elimination ordering found with cliques of at most {} variables \
                     (tables of 2^{} entries){why}",
                    self.max_width + 1,
                    self.max_width + 1
                ),
            }
        })
    }

    /// Plan an ordering, then eliminate in linear arithmetic, falling back to the log domain
    /// when the tables over- or underflow.
    pub fn run(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        let tree = self.plan(m)?;
        match self.run_in::<Linear>(m, &tree, runner)? {
            Some(est) => Ok(est),
            None => Ok(self
                .run_in::<LogDomain>(m, &tree, runner)?
                .expect("log-domain tables never flush")),
        }
    }

    fn run_in<D: Domain>(
        &self,
        m: &Model,
        tree: &EliminationTree,
        runner: &Runner,
    ) -> Result<Option<Estimate>> {
        let ctx = Ctx::<D> {
            m,
            tree,
            _domain: std::marker::PhantomData,
        };
        let n = m.n();
        let msg_bytes: f64 = tree
            .cliques
            .iter()
            .map(|c| ((c.len() - 1) as f64).exp2() * 8.0)
            .sum::<f64>();
        // The memory budget (crate::limits) bounds the upward pass, which must run, and decides
        // whether the downward pass (all messages kept, plus as many δ's and a belief table)
        // may.
        let limits = crate::limits::Limits::current();
        let budget = limits.memory as f64;
        let up = upward_peak_bytes(tree, false);
        limits
            .check_memory(
                "elimination",
                &format!(
                    "an elimination with tables of up to 2^{} entries",
                    tree.width() + 1
                ),
                up,
            )
            .map_err(|e| Error::TooLarge {
                method: "elimination",
                reason: e.to_string(),
            })?;
        let marg_bytes = upward_peak_bytes(tree, true) + msg_bytes + tree.largest_table_bytes();
        let want_marg =
            self.marginals && 2.0 * msg_bytes <= self.marginal_memory && marg_bytes <= budget;
        let cost: f64 = tree.total_cost() * if want_marg { 2.0 } else { 1.0 };
        let unit = (cost / 1000.0).max(1.0);
        runner.start((cost / unit).ceil() as u64, "eliminating");
        let mut msgs: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut lam = vec![0.0; n];
        let mut ln_z = -m.beta() * m.energy_offset();
        for k in 0..n {
            let Some((t, scale)) = ctx.clique_table(k, &msgs, &lam) else {
                return Ok(None);
            };
            if !want_marg {
                for &ch in &tree.children[k] {
                    msgs[ch] = Vec::new();
                }
            }
            let mut mk = sum_out_first::<D>(&t);
            let mu = normalize_max::<D>(&mut mk);
            if !mu.is_finite() {
                return Err(Error::NotApplicable {
                    method: "elimination",
                    reason: "numerical underflow: the model's weights span more than 10^308".into(),
                });
            }
            lam[k] = scale + mu;
            if tree.parent[k].is_none() {
                ln_z += lam[k];
            }
            msgs[k] = mk;
            runner.advance(((t.len() as f64) / unit) as u64);
        }
        let mut est = Estimate::new(ln_z, EstimateKind::Exact, "elimination");
        est.diagnostics.notes.push(format!(
            "ordering: {}, width {}, largest table 2^{} entries, {} tables",
            tree.heuristic,
            tree.width(),
            tree.width() + 1,
            D::NAME
        ));
        if want_marg {
            if !self.downward(&ctx, &mut msgs, &lam, &mut est, runner, unit)? {
                return Ok(None);
            }
        } else if self.marginals {
            est.diagnostics.notes.push(format!(
                "marginals skipped: the downward pass would keep {} of messages ({} in all; \
                 memory limit {})",
                crate::limits::format_bytes(2.0 * msg_bytes),
                crate::limits::format_bytes(marg_bytes),
                crate::limits::format_bytes(budget)
            ));
        }
        runner.finish();
        Ok(Some(est))
    }

    fn downward<D: Domain>(
        &self,
        ctx: &Ctx<D>,
        msgs: &mut [Vec<f64>],
        lam: &[f64],
        est: &mut Estimate,
        runner: &Runner,
        unit: f64,
    ) -> Result<bool> {
        let m = ctx.m;
        let tree = ctx.tree;
        let n = m.n();
        let mut delta: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut mag = vec![0.0; n];
        let mut cor = vec![0.0; m.num_edges()];
        for k in (0..n).rev() {
            // Returns false (switch to logarithms) when an entry underflows.
            let Some((mut b, _)) = ctx.clique_table(k, msgs, lam) else {
                return Ok(false);
            };
            if tree.parent[k].is_some() {
                let d = std::mem::take(&mut delta[k]);
                // S_k occupies bits 1.. of C_k: δ index = idx >> 1.
                for (i, x) in b.iter_mut().enumerate() {
                    *x = D::mul(*x, d[i >> 1]);
                }
            }
            // T_k and δ_k have max 1 each; if their product's largest entry lost its precision,
            // the belief is no longer resolved in linear arithmetic.
            if D::flushed(b.iter().cloned().fold(D::ZERO, f64::max) * 1e16) {
                return Ok(false);
            }
            let total = b.iter().fold(D::ZERO, |a, &x| D::add(a, x));
            if total.is_nan() || total <= D::ZERO || total.is_infinite() {
                return Err(Error::NotApplicable {
                    method: "elimination",
                    reason: "numerical underflow in the marginal pass".into(),
                });
            }
            // b as domain entries normalised to total 1 (kept for the children's δ), and as
            // plain probabilities for the observables.
            b.iter_mut().for_each(|x| *x = D::div(*x, total));
            let probs: Vec<f64> = b.iter().map(|&x| D::to_log(x).exp()).collect();
            let c = &tree.cliques[k];
            let v = c[0] as usize;
            // ⟨s_v⟩: bit 0.
            let up: f64 = probs.iter().skip(1).step_by(2).sum();
            mag[v] = (2.0 * up - 1.0).clamp(-1.0, 1.0);
            for &(u, e) in m.neighbors(v) {
                if let Some(p) = c.iter().position(|&x| x == u) {
                    // ⟨s_v s_u⟩ = P(equal) − P(different); bits 0 and p.
                    let mut same = 0.0;
                    for (i, x) in probs.iter().enumerate() {
                        if (i ^ (i >> p)) & 1 == 0 {
                            same += x;
                        }
                    }
                    cor[e as usize] = (2.0 * same - 1.0).clamp(-1.0, 1.0);
                }
            }
            for &ch in &tree.children[k] {
                let cc = &tree.cliques[ch];
                let sm = SubMap::new(c, &cc[1..]);
                let mut d = vec![D::ZERO; 1usize << (cc.len() - 1)];
                marginalize::<D>(&b, &mut d, &sm);
                for (x, mm) in d.iter_mut().zip(&msgs[ch]) {
                    *x = if *mm > D::ZERO {
                        D::div(*x, *mm)
                    } else {
                        D::ZERO
                    };
                }
                normalize_max::<D>(&mut d);
                delta[ch] = d;
                msgs[ch] = Vec::new();
            }
            runner.advance(((b.len() as f64) / unit) as u64);
        }
        let energy = m.mean_energy(&mag, &cor);
        est.magnetization = mag;
        est.edge_correlation = Some(cor);
        est.energy = Some(energy);
        Ok(true)
    }
}

impl Solver for Elimination {
    fn name(&self) -> &'static str {
        "elimination"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        self.run(m, runner)
    }
}
