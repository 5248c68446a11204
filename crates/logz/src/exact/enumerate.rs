//! Exact enumeration of all 2^N states along a Gray code.
//!
//! Consecutive Gray-code states differ by one spin, so each step costs O(degree): the energy
//! changes by ΔE = 2 s_k f_k and the neighbours' local fields by 2 J_kj s_k'. The 2^N states are
//! split into 2^p chunks by fixing the top p spins; chunks run in parallel and are combined in
//! index order, so the answer does not depend on the thread count.
//!
//! Observables without per-state O(N) work: spin i is constant between its flips, so
//! Σ_states w·s_i is accumulated as s_i·(W_now − W_at_last_flip) when i flips (likewise for edges
//! when either end flips). Weights are kept relative to a running shift (log-space scaling), so
//! nothing overflows even at large β. Energies and fields are re-synchronised from scratch every
//! 2^14 steps to stop round-off drift.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::Model;
use crate::runner::Runner;
use rayon::prelude::*;

/// Largest N enumeration accepts by default (2^36 states is minutes of work).
pub const DEFAULT_MAX_SPINS: usize = 36;

/// Exact enumeration solver.
#[derive(Debug, Clone)]
pub struct Enumerate {
    /// Refuse models with more spins than this.
    pub max_spins: usize,
    /// Also compute ⟨s_i s_j⟩ for every edge (costs O(degree) more per step).
    pub correlations: bool,
}

impl Default for Enumerate {
    fn default() -> Self {
        Enumerate {
            max_spins: DEFAULT_MAX_SPINS,
            correlations: true,
        }
    }
}

struct Chunk {
    shift: f64,
    w: f64,
    m: Vec<f64>,
    c: Vec<f64>,
    e: f64,
    hist: Vec<f64>,
}

struct Flat {
    start: Vec<usize>,
    nbr: Vec<u32>,
    j: Vec<f64>,
    edge: Vec<u32>,
}

fn flatten(m: &Model) -> Flat {
    let n = m.n();
    let mut start = vec![0usize; n + 1];
    let mut nbr = Vec::new();
    let mut j = Vec::new();
    let mut edge = Vec::new();
    for i in 0..n {
        for &(k, e) in m.neighbors(i) {
            nbr.push(k);
            j.push(m.couplings()[e as usize]);
            edge.push(e);
        }
        start[i + 1] = nbr.len();
    }
    Flat {
        start,
        nbr,
        j,
        edge,
    }
}

fn run_chunk(m: &Model, g: &Flat, low: usize, high_bits: u64, correlations: bool) -> Chunk {
    let n = m.n();
    let beta = m.beta();
    let ne = if correlations { m.num_edges() } else { 0 };
    // Initial state: low spins all −1, high spins from the chunk index.
    let mut s: Vec<i8> = (0..n)
        .map(|i| {
            if i < low {
                -1
            } else if (high_bits >> (i - low)) & 1 == 1 {
                1
            } else {
                -1
            }
        })
        .collect();
    let mut f: Vec<f64> = (0..n).map(|i| m.local_field(&s, i)).collect();
    let mut energy = m.energy(&s);
    let mut mag: i64 = s.iter().map(|&x| x as i64).sum();
    let mut shift = -beta * energy + 50.0;
    let mut w = 0.0f64;
    let mut acc_m = vec![0.0; n];
    let mut last_m = vec![0.0; n];
    let mut acc_c = vec![0.0; ne];
    let mut last_c = vec![0.0; ne];
    let mut acc_e = 0.0;
    let mut hist = vec![0.0; n + 1];
    let steps: u64 = 1u64 << low;
    let mut t: u64 = 0;
    loop {
        // Add the current state.
        let x = -beta * energy;
        if x > shift {
            let new_shift = x + 50.0;
            let r = (shift - new_shift).exp();
            w *= r;
            acc_e *= r;
            for v in acc_m.iter_mut().chain(last_m.iter_mut()) {
                *v *= r;
            }
            for v in acc_c.iter_mut().chain(last_c.iter_mut()) {
                *v *= r;
            }
            for v in hist.iter_mut() {
                *v *= r;
            }
            shift = new_shift;
        }
        let wt = (x - shift).exp();
        w += wt;
        acc_e += wt * energy;
        hist[((mag + n as i64) / 2) as usize] += wt;
        t += 1;
        if t == steps {
            break;
        }
        let k = t.trailing_zeros() as usize;
        // Flush spin k and its edges: their values were constant since their last flush.
        let sk = s[k] as f64;
        acc_m[k] += sk * (w - last_m[k]);
        last_m[k] = w;
        let (a, b) = (g.start[k], g.start[k + 1]);
        if correlations {
            for idx in a..b {
                let e = g.edge[idx] as usize;
                let sj = s[g.nbr[idx] as usize] as f64;
                acc_c[e] += sk * sj * (w - last_c[e]);
                last_c[e] = w;
            }
        }
        // Flip k: ΔE = 2 s_k f_k; neighbours' fields change by 2 J s_k(new).
        energy += 2.0 * sk * f[k];
        s[k] = -s[k];
        mag -= 2 * sk as i64;
        let two_snew = -2.0 * sk;
        for idx in a..b {
            f[g.nbr[idx] as usize] += g.j[idx] * two_snew;
        }
        if t & 0x3fff == 0 {
            energy = m.energy(&s);
            for (i, fi) in f.iter_mut().enumerate() {
                *fi = m.local_field(&s, i);
            }
        }
    }
    for i in 0..n {
        acc_m[i] += s[i] as f64 * (w - last_m[i]);
    }
    for (e, &(a, b)) in m.edges().iter().enumerate().take(ne) {
        acc_c[e] += (s[a as usize] * s[b as usize]) as f64 * (w - last_c[e]);
    }
    Chunk {
        shift,
        w,
        m: acc_m,
        c: acc_c,
        e: acc_e,
        hist,
    }
}

impl Enumerate {
    /// Run enumeration; errors if N exceeds `max_spins`.
    pub fn run(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        let n = m.n();
        if n > self.max_spins {
            return Err(Error::TooLarge {
                method: "enumerate",
                reason: format!(
                    "{n} spins means 2^{n} states; enumeration is limited to {} spins \
                     (use --method elimination or an approximate method)",
                    self.max_spins
                ),
            });
        }
        let p = n.saturating_sub(10).min(8); // up to 256 chunks of ≥ 1024 states
        let low = n - p;
        let g = flatten(m);
        runner.start(1u64 << p, "enumerating");
        let chunks: Vec<Chunk> = (0..(1u64 << p))
            .into_par_iter()
            .map(|hb| {
                let c = run_chunk(m, &g, low, hb, self.correlations);
                runner.advance(1);
                c
            })
            .collect();
        runner.finish();
        let shift = chunks
            .iter()
            .map(|c| c.shift)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut w = 0.0;
        let mut mag = vec![0.0; n];
        let mut cor = vec![0.0; if self.correlations { m.num_edges() } else { 0 }];
        let mut en = 0.0;
        let mut hist = vec![0.0; n + 1];
        for c in &chunks {
            let r = (c.shift - shift).exp();
            w += r * c.w;
            en += r * c.e;
            for (a, b) in mag.iter_mut().zip(&c.m) {
                *a += r * b;
            }
            for (a, b) in cor.iter_mut().zip(&c.c) {
                *a += r * b;
            }
            for (a, b) in hist.iter_mut().zip(&c.hist) {
                *a += r * b;
            }
        }
        let mut est = Estimate::new(shift + w.ln(), EstimateKind::Exact, "enumerate");
        est.magnetization = mag.iter().map(|x| (x / w).clamp(-1.0, 1.0)).collect();
        if self.correlations {
            est.edge_correlation = Some(cor.iter().map(|x| (x / w).clamp(-1.0, 1.0)).collect());
        }
        est.energy = Some(en / w);
        if n > 0 {
            let abs_m: f64 = hist
                .iter()
                .enumerate()
                .map(|(k, h)| h * ((2 * k) as f64 - n as f64).abs())
                .sum::<f64>();
            est.abs_magnetization = Some(abs_m / (w * n as f64));
        }
        est.diagnostics.iterations = 1usize << n.min(62);
        Ok(est)
    }
}

impl Solver for Enumerate {
    fn name(&self) -> &'static str {
        "enumerate"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        self.run(m, runner)
    }
}
