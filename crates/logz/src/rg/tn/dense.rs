//! The untruncated boundary state of `tn`, stored as a dense vector and contracted with
//! positive arithmetic only.
//!
//! # Why
//! Once χ reaches the boundary state's full Schmidt rank (2^⌊W/2⌋ for a row of W spins, squared
//! for the double layer of periodic rows) the MPS truncates nothing, yet it still loses
//! accuracy at strong couplings: its QR and SVD sweeps round every entry of ψ *relative to the
//! largest one*, so a boundary configuration e^{−2β|J|} below the largest is lost although later
//! rows may make it dominant (see the parent module). Stored densely, ψ needs no
//! factorisation: every entry is a sum of products of positive weights, and positive sums and
//! products have a small *relative* error on every entry, however small the entry.
//!
//! # The sweep
//! ψ_r(t) over the 2^W configurations of row r (bit c of the index is spin t_c, 1 ↔ +1) is
//! advanced to the next row one column at a time: the pass for column c replaces the old spin
//! t_c by the new spin t'_c,
//!
//!   ψ'(…, t'_c, …) = F_c(t'_{c−1}, t'_0, t'_c) · Σ_{t_c} e^{K^v_c t_c t'_c − |K^v_c|} ψ(…, t_c, …),
//!
//! where F_c = e^{h_c t'_c − |h_c|} · e^{K^h_{c−1} t'_{c−1} t'_c − |K^h_{c−1}|} (columns c ≥ 1)
//! · e^{K^h_{W−1} t'_{W−1} t'_0 − |K^h_{W−1}|} (the wrap-around bond, last column of periodic
//! rows of columns). Columns left of c already hold new spins, so the horizontal bonds are
//! diagonal. Every weight is e^{|x|} · (1 or e^{−2|x|}); the factors e^{|x|} are summed (with
//! compensation) into S and the entries are rescaled after each pass by a power of two, which
//! is exact; the exponents are summed as integers. The first row starts from ψ = 1 (no old
//! row: the passes apply F only), and Z = e^S 2^E Σ_t ψ_last(t).
//!
//! Periodic rows make Z = Tr T^H a trace: the sweep runs once for every configuration f of
//! the first row (starting from ψ = δ_f), closes with Σ_t ψ(t) Π_c e^{K^v_{H−1,c} t_c f_c}, and
//! the 2^W results are added (in parallel over f; the sum is taken in a fixed order, so the
//! answer does not depend on the thread count). Memory is 2^W numbers per thread; when only
//! one direction is periodic the grid is turned so that the cheaper sweep runs.
//!
//! # How exact?
//! With unit roundoff u, a computed sum or product of positive numbers carrying relative
//! errors ≤ γ_a and ≤ γ_b has relative error ≤ γ_{max(a,b)+1}, γ_k = ku/(1 − ku). Counting
//! the roundings along every path — per pass, ≤ 9 (four weights from `exp`, two products
//! forming F, a·x, the sum, F times the sum; rescaling by 2^{−e} is exact), taken as 12; per
//! column of the closing fold 4; the sum over first rows ⌈log₂ 2^W⌉ levels of pairwise
//! addition — bounds the relative error of Z by γ_k with k = 12·H·W + 4W + W + 1. On top of
//! that: a new entry below 2^{−1022} (the pass's largest input being ≥ 1) is set to zero
//! rather than made subnormal (slow, and without a relative error), and the passes that did
//! so add their effect on Z, bounded by the count times 2^{−1022} times how much the pass's own
//! weights and the bonds leaving the boundary can favour one configuration over another (see
//! [`sweep`]; nothing is zeroed on the UAI grids); S carries the error of a compensated sum
//! (≤ 3uS); and the final ln Z = S + E ln 2 + ln Σ is assembled with a few roundings of each
//! term. The sum of all these is the reported bound on |δ ln Z|
//! (6e-13 to 5e-12 on the UAI grids), which is what makes the kind `exact` honest.

use super::Lattice;
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::limits::Limits;
use crate::model::grid::GridShape;
use crate::model::Model;
use crate::runner::{Iteration, Runner};
use rayon::prelude::*;

/// Unit roundoff of f64.
const UNIT: f64 = f64::EPSILON / 2.0;
/// Roundings per entry per column pass (9 counted, see the module docs; with margin).
const OPS_PER_SITE: f64 = 12.0;
/// Roundings per entry per column of the closing fold (exp, two products, a sum).
const OPS_PER_CLOSING_COLUMN: f64 = 4.0;
/// New entries below this (the pass's largest input is ≥ 1) are set to zero instead of
/// becoming subnormal (slow, and without a relative error bound).
const TINY: f64 = f64::MIN_POSITIVE;
/// Vectors at least this long are swept in parallel.
const PAR_MIN_ENTRIES: usize = 1 << 14;
/// Pairs per parallel task inside one block of a pass.
const CHUNK: usize = 1 << 12;
/// Widths beyond this are refused before any size is computed in integers (2^W would be
/// far beyond any memory budget anyway).
const MAX_WIDTH: usize = 40;

/// What a dense contraction did.
#[derive(Debug, Clone, Copy)]
pub(super) struct DenseRun {
    /// ln Z of the lattice (without the model's constant offset).
    pub ln_z: f64,
    /// Bound on |δ ln Z| from rounding (see the module docs); ∞ when a weight underflows.
    pub bound: f64,
    /// The part of `bound` due to entries set to zero instead of becoming subnormal.
    pub zeroed: f64,
    /// Columns W of the dense state (2^W entries).
    pub width: usize,
    /// Rows H swept.
    pub height: usize,
    /// Sweeps run: 1, or 2^W with periodic rows.
    pub starts: usize,
}

/// The dense sweep's cost in one orientation: (bytes, elementary operations).
fn cost(l: &Lattice) -> (f64, f64) {
    let n = 2f64.powi(l.w.min(1000) as i32);
    let starts = if l.periodic_rows { n } else { 1.0 };
    let threads = if l.periodic_rows {
        rayon::current_num_threads() as f64
    } else {
        1.0
    };
    // A vector per worker and, with periodic rows, one result per first row.
    let bytes = 8.0 * n * threads + 16.0 * starts;
    // ≈ 8 flops per entry per pass, H·W passes and the closing fold.
    let ops = starts * n * 8.0 * ((l.h * l.w) as f64 + 1.0);
    (bytes, ops)
}

/// The orientation in which the dense sweep is cheaper (rows of width W, sweeping down).
pub(super) fn orient(m: &Model, g: GridShape) -> Lattice {
    let a = Lattice::oriented(m, g, false);
    let b = Lattice::oriented(m, g, true);
    if cost(&b).1 < cost(&a).1 {
        b
    } else {
        a
    }
}

/// Refuse, before allocating, a dense sweep beyond the memory or time budget.
pub(super) fn check(l: &Lattice, limits: &Limits, chi: usize, full_rank: f64) -> Result<()> {
    let what = "tn";
    let detail = format!(
        "χ = {chi} reaches the full Schmidt rank {full_rank:.0}, so the boundary state is \
         stored densely over 2^{} configurations{}; this",
        l.w,
        if l.periodic_rows {
            format!(" for each of the 2^{} first rows", l.w)
        } else {
            String::new()
        }
    );
    if l.w > MAX_WIDTH {
        return Err(Error::OverBudget {
            what: what.to_string(),
            reason: format!(
                "{detail} is far too large (width {} > {MAX_WIDTH}); use χ < {full_rank:.0} \
                 for the truncated boundary MPS",
                l.w
            ),
        });
    }
    let (bytes, ops) = cost(l);
    let hint = format!(" (χ < {full_rank:.0} contracts a truncated boundary MPS instead)");
    limits
        .check_memory(what, &detail, bytes)
        .and_then(|()| limits.check_work(what, &format!("{detail} sweep"), ops))
        .map_err(|e| match e {
            Error::OverBudget { what, reason } => Error::OverBudget {
                what,
                reason: reason + &hint,
            },
            e => e,
        })
}

/// Whether a dense sweep of this lattice fits the budgets.
pub(super) fn fits(l: &Lattice, limits: &Limits) -> bool {
    l.w <= MAX_WIDTH && check(l, limits, 0, 0.0).is_ok()
}

/// The weights of one column pass: `vert[t_old][t_new]` (None on the first row) and
/// `f[(t'_{c−1} << 2) | (t'_0 << 1) | t'_c]`, each with its largest value factored out.
#[derive(Debug, Clone, Copy)]
struct Pass {
    c: usize,
    vert: Option<[[f64; 2]; 2]>,
    f: [f64; 8],
    /// 2 × (the pass's own |h| and |K^h| + the |couplings| between the staircase boundary
    /// after the pass and the rest of the lattice): the ln of how much a zeroed entry can
    /// matter (see [`sweep`]).
    ln_weight: f64,
}

/// e^{k a b − |k|} for spins a, b ∈ {0 ↔ −1, 1 ↔ +1}: 1 or e^{−2|k|} (the argument is exact).
fn w2(k: f64, a: usize, b: usize) -> f64 {
    let s = if a == b { 1.0 } else { -1.0 };
    (k * s - k.abs()).exp()
}

/// Neumaier's compensated sum of the factored-out |x| (error ≤ 2u Σ|x| + O(n u²)).
#[derive(Default)]
struct Compensated {
    sum: f64,
    carry: f64,
}

impl Compensated {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.carry += (self.sum - t) + x;
        } else {
            self.carry += (x - t) + self.sum;
        }
        self.sum = t;
    }
    fn value(&self) -> f64 {
        self.sum + self.carry
    }
}

/// Every pass of the sweep, in order, and S = Σ|x| of the weights they factor out (without
/// the closing bonds).
fn passes(l: &Lattice, s: &mut Compensated) -> Vec<Pass> {
    let w = l.w;
    let mut out = Vec::with_capacity(l.h * w);
    for r in 0..l.h {
        for c in 0..w {
            let vert = (r > 0).then(|| {
                let k = l.kv[(r - 1) * w + c];
                s.add(k.abs());
                [[w2(k, 0, 0), w2(k, 0, 1)], [w2(k, 1, 0), w2(k, 1, 1)]]
            });
            let hf = l.field[r * w + c];
            s.add(hf.abs());
            let left = (c >= 1).then(|| l.kh[r * w + c - 1]);
            let wrap = (l.periodic_cols && w >= 2 && c == w - 1).then(|| l.kh[r * w + w - 1]);
            for k in left.iter().chain(wrap.iter()) {
                s.add(k.abs());
            }
            let mut f = [0.0; 8];
            for (idx, x) in f.iter_mut().enumerate() {
                let (lb, b0, t) = ((idx >> 2) & 1, (idx >> 1) & 1, idx & 1);
                // The field weight e^{h t − |h|}: w2 with the "other spin" fixed at +1.
                let mut v = w2(hf, t, 1);
                if let Some(k) = left {
                    v *= w2(k, lb, t);
                }
                if let Some(k) = wrap {
                    v *= w2(k, b0, t);
                }
                *x = v;
            }
            let local = hf.abs() + left.map_or(0.0, f64::abs) + wrap.map_or(0.0, f64::abs);
            out.push(Pass {
                c,
                vert,
                f,
                ln_weight: 2.0 * (local + crossing(l, r, c)),
            });
        }
    }
    out
}

/// Σ|K| over the bonds between the boundary after the pass (r, c) — new spins of row r in
/// columns 0..=c, old spins of row r − 1 in the others — and the rest of the lattice: the old
/// spins' bonds to the new row, the new spins' bonds to row r + 1 (the closing bonds to the
/// fixed first row when r is the last row), the chain bond c–(c+1) and the wrap-around bond.
fn crossing(l: &Lattice, r: usize, c: usize) -> f64 {
    let w = l.w;
    let mut k = 0.0;
    if r > 0 {
        k += (c + 1..w).map(|c| l.kv[(r - 1) * w + c].abs()).sum::<f64>();
    }
    // Row r's vertical bonds go to row r + 1, or close onto the first row (zero if open).
    k += (0..=c).map(|c| l.kv[r * w + c].abs()).sum::<f64>();
    if c + 1 < w {
        k += l.kh[r * w + c].abs();
        if l.periodic_cols && w >= 2 {
            k += l.kh[r * w + w - 1].abs();
        }
    }
    k
}

/// 2^e for −1022 ≤ e ≤ 1023, exactly.
fn pow2(e: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The binary exponent of a positive normal number (2^e ≤ x < 2^{e+1}).
fn exponent(x: f64) -> i64 {
    ((x.to_bits() >> 52) & 0x7ff) as i64 - 1023
}

/// The largest entry and the number of entries set to zero.
type Stat = (f64, usize);

fn merge(a: Stat, b: Stat) -> Stat {
    (a.0.max(b.0), a.1 + b.1)
}

/// Apply one pass to the pairs (lo[j], hi[j]) = ψ at index base + j with bit c = 0 / 1.
fn kernel(p: &Pass, f: &[f64; 8], base: usize, lo: &mut [f64], hi: &mut [f64]) -> Stat {
    let c = p.c;
    let mut m = 0.0f64;
    let mut zeroed = 0usize;
    for (j, (x0, x1)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
        let i = base + j;
        let lb = if c >= 1 { (i >> (c - 1)) & 1 } else { 0 };
        let k = (lb << 2) | ((i & 1) << 1);
        let (s0, s1) = match p.vert {
            Some(a) => (a[0][0] * *x0 + a[1][0] * *x1, a[0][1] * *x0 + a[1][1] * *x1),
            None => (*x0, *x1),
        };
        let mut n0 = f[k] * s0;
        let mut n1 = f[k | 1] * s1;
        // Zero entries start zero (a first row δ_f) and are not counted.
        if n0 < TINY && n0 > 0.0 {
            n0 = 0.0;
            zeroed += 1;
        }
        if n1 < TINY && n1 > 0.0 {
            n1 = 0.0;
            zeroed += 1;
        }
        m = m.max(n0).max(n1);
        *x0 = n0;
        *x1 = n1;
    }
    (m, zeroed)
}

/// The pass over `part` (whole blocks of 2^{c+1} entries starting at index `base`), one block
/// after another.
fn blocks(p: &Pass, f: &[f64; 8], base: usize, part: &mut [f64]) -> Stat {
    let half = 1usize << p.c;
    part.chunks_mut(2 * half)
        .enumerate()
        .map(|(b, block)| {
            let (lo, hi) = block.split_at_mut(half);
            kernel(p, f, base + b * 2 * half, lo, hi)
        })
        .fold((0.0, 0), merge)
}

/// One pass over the whole vector (in parallel when it is long). Each entry is computed the
/// same way whatever the split, and the maximum is exact, so the result does not depend on
/// the thread count.
fn apply(p: &Pass, scale: f64, psi: &mut [f64]) -> Stat {
    let mut f = p.f;
    f.iter_mut().for_each(|x| *x *= scale);
    let block = 2usize << p.c;
    if psi.len() < PAR_MIN_ENTRIES {
        blocks(p, &f, 0, psi)
    } else if block <= 2 * CHUNK {
        // Many small blocks: a task per run of 2·CHUNK entries (a multiple of the block).
        psi.par_chunks_mut(2 * CHUNK)
            .enumerate()
            .map(|(k, part)| blocks(p, &f, k * 2 * CHUNK, part))
            .reduce(|| (0.0, 0), merge)
    } else {
        // Few large blocks: split each block's two halves into matching runs.
        psi.par_chunks_mut(block)
            .enumerate()
            .map(|(b, blk)| {
                let (lo, hi) = blk.split_at_mut(block / 2);
                lo.par_chunks_mut(CHUNK)
                    .zip(hi.par_chunks_mut(CHUNK))
                    .enumerate()
                    .map(|(k, (lo, hi))| kernel(p, &f, b * block + k * CHUNK, lo, hi))
                    .reduce(|| (0.0, 0), merge)
            })
            .reduce(|| (0.0, 0), merge)
    }
}

/// The result of one sweep: Σ = v · 2^e with v ∈ [1, 2), and the ln of a bound on the
/// relative error of Σ from entries set to zero (−∞ if none was).
#[derive(Debug, Clone, Copy)]
struct Swept {
    v: f64,
    e: i64,
    ln_zeroed: f64,
}

/// One sweep from the initial vector `psi` through every pass and the closing fold with
/// weights `close[c][t]`.
///
/// An entry set to zero in a pass was below TINY while the pass's largest input was ≥ 1. The
/// pass's largest output ψ'_max is ≥ e^{−2·local} (the input's largest configuration with the
/// new spin equal to the old one keeps its vertical weight 1), and the weight E' of the rest
/// of the lattice differs between boundary configurations by at most e^{2·crossing}. Writing
/// Z = Σ ψ' E' ≥ ψ'_max min E', the zeroed entries change Z by at most
/// count · TINY · e^{2(local + crossing)} relative: the pass's `ln_weight`.
fn sweep(
    l: &Lattice,
    passes: &[Pass],
    close: &[[f64; 2]],
    psi: &mut [f64],
    runner: Option<&Runner>,
) -> Result<Swept> {
    let mut e_total: i64 = 0;
    let mut scale = 1.0;
    let mut ln_zeroed = f64::NEG_INFINITY;
    for (n, p) in passes.iter().enumerate() {
        let (m, zeroed) = apply(p, scale, psi);
        if !(m >= f64::MIN_POSITIVE && m.is_finite()) {
            return Err(Error::Numerical(format!(
                "tn: the dense boundary state became {m} (underflow or overflow)"
            )));
        }
        if zeroed > 0 {
            let term = (zeroed as f64).ln() + TINY.ln() + p.ln_weight;
            ln_zeroed = crate::numeric::log_add(ln_zeroed, term);
        }
        let e = exponent(m);
        e_total += e;
        scale = pow2(-e);
        if let Some(runner) = runner {
            if (n + 1) % l.w == 0 {
                let row = (n + 1) / l.w;
                let it =
                    Iteration::new("tn", row).objective(e_total as f64 * std::f64::consts::LN_2);
                if let Some(t) = runner.iterate(it) {
                    return Err(interrupted(t.label(), row, l.h));
                }
            }
        }
    }
    // Σ_t ψ(t) Π_c g_c(t_c): fold the highest bit first (pairwise, positive).
    let mut len = psi.len();
    for c in (0..l.w).rev() {
        let half = len / 2;
        let (g0, g1) = (close[c][0] * scale, close[c][1] * scale);
        scale = 1.0;
        let (lo, hi) = psi[..len].split_at_mut(half);
        for (x, y) in lo.iter_mut().zip(hi.iter()) {
            *x = g0 * *x + g1 * *y;
        }
        len = half;
    }
    let v = psi[0] * scale;
    if !(v >= f64::MIN_POSITIVE && v.is_finite()) {
        return Err(Error::Numerical(format!(
            "tn: the dense contraction became {v} (underflow or overflow)"
        )));
    }
    let e = exponent(v);
    Ok(Swept {
        v: v * pow2(-e),
        e: e_total + e,
        ln_zeroed,
    })
}

fn interrupted(label: &str, done: usize, of: usize) -> Error {
    Error::arg(format!(
        "tn: {label} after {done} of {of} rows; a partial contraction is no estimate of ln Z"
    ))
}

/// Pairwise sum (⌈log₂ n⌉ roundings on any path).
fn pairwise(x: &[f64]) -> f64 {
    match x.len() {
        0 => 0.0,
        1 => x[0],
        n => pairwise(&x[..n / 2]) + pairwise(&x[n / 2..]),
    }
}

/// Contract the lattice exactly (to rounding) with a dense boundary state. Call [`check`]
/// first: this allocates 2^W numbers per worker.
pub(super) fn contract(l: &Lattice, runner: &Runner) -> Result<DenseRun> {
    let (w, h) = (l.w, l.h);
    let n = 1usize << w;
    let mut s = Compensated::default();
    let passes = passes(l, &mut s);
    // The closing weights: with periodic rows e^{K t f − |K|} for each first row f (below),
    // otherwise 1 (a plain sum).
    let close_open = vec![[1.0, 1.0]; w];
    let closing_k: Vec<f64> = if l.periodic_rows {
        l.kv[(h - 1) * w..h * w].to_vec()
    } else {
        vec![0.0; w]
    };
    closing_k.iter().for_each(|k| s.add(k.abs()));

    let results: Vec<Swept> = if l.periodic_rows {
        runner.start(n as u64, "tn: first-row configurations");
        let r = (0..n)
            .into_par_iter()
            .map(|f| {
                if let Some(t) = runner.interrupted() {
                    return Err(interrupted(t.label(), 0, h));
                }
                let mut psi = vec![0.0; n];
                psi[f] = 1.0;
                let close: Vec<[f64; 2]> = (0..w)
                    .map(|c| {
                        let fc = (f >> c) & 1;
                        [w2(closing_k[c], 0, fc), w2(closing_k[c], 1, fc)]
                    })
                    .collect();
                let out = sweep(l, &passes, &close, &mut psi, None);
                runner.advance(1);
                out
            })
            .collect::<Result<Vec<_>>>();
        runner.finish();
        r?
    } else {
        let mut psi = vec![1.0; n];
        vec![sweep(l, &passes, &close_open, &mut psi, Some(runner))?]
    };
    if l.periodic_rows {
        if let Some(t) = runner.iterate(Iteration::new("tn", h)) {
            return Err(interrupted(t.label(), h, h));
        }
    }
    // Σ_f v_f 2^{e_f} = 2^{e_max} Σ_f v_f 2^{e_f − e_max}; terms below 2^{−1000} of the
    // largest (which is ≥ 1) are dropped.
    let e_max = results.iter().map(|r| r.e).max().unwrap_or(0);
    let terms: Vec<f64> = results
        .iter()
        .map(|r| {
            if r.e - e_max < -1000 {
                0.0
            } else {
                r.v * pow2(r.e - e_max)
            }
        })
        .collect();
    // Each Z_f has its own relative error from zeroed entries; the sum's is at most the largest.
    let ln_zeroed = results
        .iter()
        .map(|r| r.ln_zeroed)
        .fold(f64::NEG_INFINITY, f64::max);
    let sum = pairwise(&terms);
    let big_s = s.value();
    let ln2 = std::f64::consts::LN_2;
    let ln_z = big_s + e_max as f64 * ln2 + sum.ln();

    // The bound (module docs): roundings on every path, flushed entries, dropped terms, S and
    // the assembly of ln Z.
    let k = OPS_PER_SITE * (h * w) as f64
        + OPS_PER_CLOSING_COLUMN * w as f64
        + (results.len() as f64).log2().ceil()
        + 1.0;
    let gamma = k * UNIT / (1.0 - k * UNIT);
    let rounding = -(1.0 - gamma).ln();
    let dropped = results.len() as f64 * 2f64.powi(-999);
    let assembly = 3.0 * UNIT * (big_s.abs() + (e_max as f64 * ln2).abs() + sum.ln().abs())
        + UNIT * ln_z.abs()
        + 3.0 * UNIT * big_s.abs();
    // Subnormal partial sums in the closing fold: each of its 4W·2^W roundings is off by at
    // most 2^{−1075} absolutely, while the fold's result is ≥ e^{−2 Σ|K_close|} (the largest
    // entry is ≥ 1 and every closing weight ≥ e^{−2|K|}).
    let ln_fold = (4.0 * w as f64).ln() + w as f64 * ln2 - 1075.0 * ln2
        + 2.0 * closing_k.iter().map(|k| k.abs()).sum::<f64>();
    // A weight below the smallest normal double (|βJ| or |βh| > 354) has no relative error
    // bound at all.
    let tiny = |x: &f64| *x < f64::MIN_POSITIVE;
    let tiny_weight = passes
        .iter()
        .any(|p| p.f.iter().any(tiny) || p.vert.is_some_and(|a| a.iter().flatten().any(tiny)))
        || closing_k.iter().any(|k| tiny(&(-2.0 * k.abs()).exp()));
    let bound = if tiny_weight {
        f64::INFINITY
    } else {
        rounding + ln_zeroed.exp() + dropped + assembly + ln_fold.exp()
    };
    Ok(DenseRun {
        ln_z,
        bound,
        zeroed: ln_zeroed.exp(),
        width: w,
        height: h,
        starts: results.len(),
    })
}
