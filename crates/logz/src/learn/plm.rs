//! Pseudo-likelihood maximisation (Besag 1975; for the inverse Ising problem Ravikumar et al.
//! 2010, Aurell & Ekeberg 2012).
//!
//! Spin r given the others is a logistic regression: p(s_r | s_\r) = σ(2 s_r f_r) with the
//! local field f_r = h_r + Σ_{j≠r} J_rj s_j, so each spin has its own convex objective
//!
//!   L_r(h_r, J_r·) = (1/M) Σ_μ ln(1 + e^{−2 s_r^μ f_r^μ}) + λ Σ_j J_rj²,
//!
//! with ∂L_r/∂f_r^μ = −2 s_r^μ σ(−2 s_r^μ f_r^μ) / M =: D_μr, ∂L_r/∂h_r = Σ_μ D_μr and
//! ∂L_r/∂J_rj = Σ_μ D_μr s_j^μ + 2λ J_rj. The N minimisations are independent (asymmetric PLM);
//! the symmetric estimate is J_ij = (J_ij^(i) + J_ji^(j))/2.
//!
//! Speed: every spin runs its own L-BFGS ([`super::lbfgs`]), all in lock step, so one
//! evaluation of every spin's trial point is two matrix products over the data, F = S W and
//! G = Sᵀ D (faer's single-precision kernels, AVX-512 where the CPU has it; summed over chunks
//! of rows in double), one worker per thread taking chunks of a few MiB in turn. The samples
//! stay one byte per spin; only one chunk of rows per thread is ever held in floating point,
//! so the working memory is bounded by threads × chunk, not by M. Spins that have converged
//! drop out of the products. On large data a solve on a subsample first (the warm start in
//! [`fit_with`]) does most of the descent at a fraction of the cost.

use super::data::Samples;
use super::lbfgs::{Lbfgs, Status};
use crate::error::Result;
use crate::estimate::Progress;
use crate::runner::{Iteration, Runner, Termination};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// Settings of [`fit`].
#[derive(Debug, Clone)]
pub struct PlmOptions {
    /// L2 penalty λ on the couplings (per spin, per sample: the objective is a mean).
    pub l2: f64,
    /// L1 penalty λ Σ_j |J_rj| on the couplings (not the field), per spin and per sample;
    /// minimised by OWL-QN, which sets couplings exactly to zero.
    pub l1: f64,
    /// Stop a spin when ‖∇L_r‖_∞ ≤ this.
    pub tol: f64,
    /// Most L-BFGS steps per spin.
    pub max_iter: usize,
    /// On data of at least [`WARM_MIN_ROWS`] rows, first solve on every [`WARM_STRIDE`]-th
    /// row and start the full solve from there (same stopping rule, same optimum).
    pub warm_start: bool,
}

impl Default for PlmOptions {
    fn default() -> Self {
        PlmOptions {
            l2: 1e-5,
            l1: 0.0,
            tol: 1e-4,
            max_iter: 500,
            warm_start: true,
        }
    }
}

/// Parameters of spin r: entry r is h_r, entry j ≠ r is J_rj.
type SpinParams = Vec<f64>;

/// Softplus ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}) and the logistic σ(z), from one
/// exponential. ln(1 + e) rather than ln_1p(e): with e ∈ (0, 1] the absolute error is below
/// 1e-16 (what a sum of losses cares about), and `ln` is several times faster than `ln_1p`.
#[inline]
fn softplus_sigmoid(z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    let sp = z.max(0.0) + (1.0 + e).ln();
    let sig = if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (sp, sig)
}

/// e^x for x ≤ 0 in single precision without a library call (so that loops over it
/// vectorise): 2^(x log₂e) split into 2^n (built in the exponent bits) times 2^f, f ∈ [0, 1), by
/// a degree-6 polynomial (relative error < 2e-7). Below −87 it returns 0.
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    let t = (x * std::f32::consts::LOG2_E).max(-126.0);
    // floor(t) for t ≤ 0 by truncation (a conversion that vectorises, unlike `floor`).
    let ti = t as i32 as f32;
    let n = if ti > t { ti - 1.0 } else { ti };
    let f = t - n;
    // Taylor coefficients of 2^f = e^{f ln 2}: (ln 2)^k / k!.
    let p = 1.0
        + f * (std::f32::consts::LN_2
            + f * (0.240_226_5
                + f * (0.055_504_11
                    + f * (0.009_618_129 + f * (0.001_333_355_8 + f * 0.000_154_035_3)))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < -87.0 {
        0.0
    } else {
        p * scale
    }
}

/// ln(1 + e) for e ∈ [0, 1] without a library call: with y = e/(2 + e) ∈ [0, 1/3],
/// ln(1 + e) = 2 atanh y = 2y (1 + y²/3 + y⁴/5 + … + y¹²/13) (truncation < 1e-8 relative).
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let y = e / (2.0 + e);
    let y2 = y * y;
    let s = 1.0
        + y2 * (1.0 / 3.0
            + y2 * (1.0 / 5.0
                + y2 * (1.0 / 7.0 + y2 * (1.0 / 9.0 + y2 * (1.0 / 11.0 + y2 * (1.0 / 13.0))))));
    2.0 * y * s
}

/// Lanes of the vectorised loss loop.
const LANES: usize = 16;

/// One spin's column of a chunk: on entry `v` holds the fields Σ_j J_rj s_j (without h_r), on
/// exit ∂L_r/∂f = −(2/M) s_r σ(−2 s_r f); returns the summed losses ln(1 + e^{−2 s_r f}) and
/// the summed derivatives (the gradient in h_r). Single precision per element, summed in
/// 16 double-precision lanes (so the loop vectorises).
fn loss_column(v: &mut [f32], s: &[f32], bias: f32, scale: f32) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { loss_column_avx2(v, s, bias, scale) };
    }
    loss_column_generic(v, s, bias, scale)
}

/// [`loss_column_generic`] compiled for AVX2 + FMA (8 lanes instead of SSE2's 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn loss_column_avx2(v: &mut [f32], s: &[f32], bias: f32, scale: f32) -> (f64, f64) {
    loss_column_generic(v, s, bias, scale)
}

#[inline(always)]
fn loss_column_generic(v: &mut [f32], s: &[f32], bias: f32, scale: f32) -> (f64, f64) {
    #[inline(always)]
    fn one(v: &mut f32, sr: f32, bias: f32, scale: f32) -> (f32, f32) {
        let z = -2.0 * sr * (*v + bias);
        let e = exp_neg(-z.abs());
        let sp = z.max(0.0) + ln_1p_unit(e);
        let inv = 1.0 / (1.0 + e);
        let sig = if z >= 0.0 { inv } else { e * inv };
        let d = -scale * sr * sig;
        *v = d;
        (sp, d)
    }
    // Double-precision lanes: the line search compares losses that differ by ~1e-8 relative
    // near the optimum, below what single-precision sums resolve.
    let mut loss = [0.0f64; LANES];
    let mut grad = [0.0f64; LANES];
    let mut vc = v.chunks_exact_mut(LANES);
    let mut sc = s.chunks_exact(LANES);
    for (vb, sb) in (&mut vc).zip(&mut sc) {
        for l in 0..LANES {
            let (sp, d) = one(&mut vb[l], sb[l], bias, scale);
            loss[l] += sp as f64;
            grad[l] += d as f64;
        }
    }
    let (mut lsum, mut gsum): (f64, f64) = (loss.iter().sum(), grad.iter().sum());
    for (x, &sr) in vc.into_remainder().iter_mut().zip(sc.remainder()) {
        let (sp, d) = one(x, sr, bias, scale);
        lsum += sp as f64;
        gsum += d as f64;
    }
    (lsum, gsum)
}

/// L_r and ∇L_r (entry r: ∂/∂h_r) of one spin, plainly in double precision: the reference the
/// batched evaluation is tested against.
pub fn spin_objective(data: &Samples, r: usize, p: &[f64], l2: f64) -> (f64, Vec<f64>) {
    let n = data.n();
    let m = data.len() as f64;
    let mut f = 0.0;
    let mut g = vec![0.0; n];
    for row in data.rows() {
        let mut field = p[r];
        for j in 0..n {
            if j != r {
                field += p[j] * row[j] as f64;
            }
        }
        let sr = row[r] as f64;
        let (sp, sig) = softplus_sigmoid(-2.0 * sr * field);
        f += sp / m;
        let d = -2.0 * sr * sig / m;
        for j in 0..n {
            g[j] += d * if j == r { 1.0 } else { row[j] as f64 };
        }
    }
    for j in 0..n {
        if j != r {
            f += l2 * p[j] * p[j];
            g[j] += 2.0 * l2 * p[j];
        }
    }
    (f, g)
}

/// Rows per chunk: about 8 MiB of single-precision data (2048 rows at N = 1024). Each worker
/// holds one chunk, its fields (rows × active spins) and a gradient block (N × active spins),
/// so memory is a few tens of MiB per thread whatever M; chunks this tall keep the per-chunk
/// overhead (converting, adding the block into the double-precision sum) small next to the
/// two products.
fn chunk_rows(n: usize) -> usize {
    ((1 << 21) / n.max(1)).clamp(256, 8192)
}

/// A chunk of `b` rows, row-major ±1 bytes, into single precision column-major (`x[j·b + μ]`),
/// so that a spin's column is contiguous for the loss. Blocks of 32 rows keep the reads within
/// a few cache lines per column.
fn to_columns(chunk: &[i8], n: usize, b: usize, x: &mut [f32]) {
    const BLOCK: usize = 32;
    for r0 in (0..b).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(b);
        for j in 0..n {
            let col = &mut x[j * b + r0..j * b + r1];
            for (t, mu) in col.iter_mut().zip(r0..r1) {
                *t = chunk[mu * n + j] as f32;
            }
        }
    }
}

/// One worker's sums of a batched evaluation.
struct Acc {
    loss: Vec<f64>,
    bias: Vec<f64>,
    /// Column-major N × active.
    grad: Vec<f64>,
}

/// L_r and ∇L_r of the spins `active` at their parameters `p` (one vector each), by two
/// matrix products (faer's, single precision) per chunk of rows. One worker per thread takes
/// chunks from a shared counter, so the load balances and the memory is bounded by the number
/// of threads; the per-chunk sums are added in double precision.
pub fn batch_objective(
    data: &Samples,
    active: &[usize],
    p: &[&[f64]],
    l2: f64,
) -> Vec<(f64, Vec<f64>)> {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, MatMut, MatRef, Par};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = data.n();
    let a = active.len();
    let m = data.len();
    let mf = m as f64;
    let w = faer::Mat::<f32>::from_fn(
        n,
        a,
        |j, k| {
            if j == active[k] {
                0.0
            } else {
                p[k][j] as f32
            }
        },
    );
    let bias: Vec<f32> = (0..a).map(|k| p[k][active[k]] as f32).collect();
    // At least four chunks per thread when M allows (not below 256 rows): with one or two
    // big chunks a small data set would leave a thread idle or the last chunk alone.
    let threads = rayon::current_num_threads().max(1);
    let rows = chunk_rows(n)
        .min(m.div_ceil(4 * threads).max(256))
        .min(m.max(1));
    let chunks = m.div_ceil(rows);
    let workers = rayon::current_num_threads().clamp(1, chunks.max(1));
    let next = AtomicUsize::new(0);
    let scale = (2.0 / mf) as f32;
    let raw = data.raw();
    let parts: Vec<Acc> = (0..workers)
        .into_par_iter()
        .map(|_| {
            let mut acc = Acc {
                loss: vec![0.0; a],
                bias: vec![0.0; a],
                grad: vec![0.0; n * a],
            };
            let mut x = vec![0.0f32; rows * n];
            let mut fld = vec![0.0f32; rows * a];
            let mut g = vec![0.0f32; n * a];
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let lo = c * rows;
                let b = rows.min(m - lo);
                to_columns(&raw[lo * n..(lo + b) * n], n, b, &mut x[..b * n]);
                let xm = MatRef::from_column_major_slice(&x[..b * n], b, n);
                // F = X W: every active spin's field (without h_r) on every row.
                matmul(
                    MatMut::from_column_major_slice_mut(&mut fld[..b * a], b, a),
                    Accum::Replace,
                    xm,
                    w.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for k in 0..a {
                    let r = active[k];
                    let (loss, bsum) = loss_column(
                        &mut fld[k * b..(k + 1) * b],
                        &x[r * b..(r + 1) * b],
                        bias[k],
                        scale,
                    );
                    acc.loss[k] += loss / mf;
                    acc.bias[k] += bsum;
                }
                // G = Xᵀ D: the coupling gradients of this chunk.
                matmul(
                    MatMut::from_column_major_slice_mut(g.as_mut_slice(), n, a),
                    Accum::Replace,
                    xm.transpose(),
                    MatRef::from_column_major_slice(&fld[..b * a], b, a),
                    1.0,
                    Par::Seq,
                );
                for (t, s) in acc.grad.iter_mut().zip(&g) {
                    *t += *s as f64;
                }
            }
            acc
        })
        .collect();
    let mut acc = Acc {
        loss: vec![0.0; a],
        bias: vec![0.0; a],
        grad: vec![0.0; n * a],
    };
    for part in &parts {
        for k in 0..a {
            acc.loss[k] += part.loss[k];
            acc.bias[k] += part.bias[k];
        }
        for (t, s) in acc.grad.iter_mut().zip(&part.grad) {
            *t += s;
        }
    }
    drop(parts);
    (0..a)
        .map(|k| {
            let r = active[k];
            let mut f = acc.loss[k];
            let mut g = acc.grad[k * n..(k + 1) * n].to_vec();
            for j in 0..n {
                if j == r {
                    g[j] = acc.bias[k];
                } else {
                    f += l2 * p[k][j] * p[k][j];
                    g[j] += 2.0 * l2 * p[k][j];
                }
            }
            (f, g)
        })
        .collect()
}

/// What [`fit`] returns.
#[derive(Debug, Clone)]
pub struct PlmFit {
    /// Every spin's regression (row r: J_r· with h_r on the diagonal), before symmetrising.
    pub asymmetric: DMatrix<f64>,
    /// Symmetric couplings (J^(i) + J^(i)ᵀ)/2 with zero diagonal.
    pub j: DMatrix<f64>,
    /// Fields h_r.
    pub h: Vec<f64>,
    /// Batched evaluations (each of every still-active spin), in units of a full-data pass:
    /// the warm-up's evaluations on a 1/8 subsample (data of ≥ 40 000 rows) count 1/8 each.
    pub evaluations: usize,
    /// Spins whose L-BFGS stopped before the tolerance (rounding or iteration cap).
    pub stalled: usize,
    /// Rows of the warm-start subsample, when one was solved first.
    pub warm_rows: Option<usize>,
    /// Converged (every spin at the tolerance or stalled), or why the run was cut short.
    pub termination: Termination,
}

/// Maximise every spin's pseudo-likelihood. `allowed[(i, j)]` says which couplings may be
/// nonzero; spins in `fixed` (columns that never change) are not regressed, keep the field
/// `fixed_h` and no couplings.
pub fn fit(
    data: &Samples,
    o: &PlmOptions,
    allowed: &DMatrix<bool>,
    fixed: &[(usize, f64)],
) -> Result<PlmFit> {
    fit_with(data, o, allowed, fixed, &Runner::new())
}

/// [`fit`] under a [`Runner`]: each batched evaluation is one iteration (objective: the mean
/// negative pseudo-log-likelihood per spin; change: the spins still running). A stopped run
/// keeps every spin's current parameters.
pub fn fit_with(
    data: &Samples,
    o: &PlmOptions,
    allowed: &DMatrix<bool>,
    fixed: &[(usize, f64)],
    runner: &Runner,
) -> Result<PlmFit> {
    if !(o.l1.is_finite() && o.l1 >= 0.0 && o.l2.is_finite() && o.l2 >= 0.0) {
        return Err(crate::error::Error::arg(format!(
            "plm: the penalties must be finite and ≥ 0 (l1 {}, l2 {})",
            o.l1, o.l2
        )));
    }
    let n = data.n();
    let is_fixed: Vec<bool> = (0..n).map(|i| fixed.iter().any(|f| f.0 == i)).collect();
    let mut params: Vec<SpinParams> = vec![vec![0.0; n]; n];
    let mut evaluations = 0;
    let mut warm_rows = None;
    // Warm start on a subsample: every WARM_STRIDE-th row. Its optimum is within O(1/√(M/k))
    // of the full data's, where L-BFGS on all rows then needs only a few steps; most of the
    // descent from zero is paid at 1/k of the cost of a full evaluation.
    if o.warm_start && data.len() >= WARM_MIN_ROWS {
        let sub = Samples::from_rows(n, data.rows().step_by(WARM_STRIDE))?;
        warm_rows = Some(sub.len());
        let warm = solve_spins(&sub, o, allowed, &is_fixed, params, runner, "plm warm-up")?;
        params = warm.params;
        evaluations += warm.evaluations.div_ceil(WARM_STRIDE);
        if let Some(t) = warm.stopped {
            return Ok(finish(
                params,
                fixed,
                (evaluations, warm_rows),
                warm.stalled,
                Some(t),
            ));
        }
    }
    let run = solve_spins(data, o, allowed, &is_fixed, params, runner, "plm spins")?;
    evaluations += run.evaluations;
    Ok(finish(
        run.params,
        fixed,
        (evaluations, warm_rows),
        run.stalled,
        run.stopped,
    ))
}

/// Rows from which [`fit_with`] first fits a subsample.
pub const WARM_MIN_ROWS: usize = 40_000;
/// Every how many rows the warm-start subsample takes one.
pub const WARM_STRIDE: usize = 8;

/// What one stage of [`fit_with`] ends with.
struct Stage {
    params: Vec<SpinParams>,
    evaluations: usize,
    stalled: usize,
    stopped: Option<Termination>,
}

/// Every non-fixed spin's L-BFGS (OWL-QN with an L1 penalty) from `params`, in lock step.
fn solve_spins(
    data: &Samples,
    o: &PlmOptions,
    allowed: &DMatrix<bool>,
    is_fixed: &[bool],
    mut params: Vec<SpinParams>,
    runner: &Runner,
    label: &str,
) -> Result<Stage> {
    let n = data.n();
    let mut solvers: Vec<Option<Lbfgs>> = vec![None; n];
    let frozen = |r: usize| -> Vec<bool> {
        (0..n)
            .map(|j| j != r && (!allowed[(r, j)] || is_fixed[j]))
            .collect()
    };
    let mut active: Vec<usize> = (0..n).filter(|&r| !is_fixed[r]).collect();
    runner.start(active.len() as u64, label);
    let mut evaluations = 0;
    let mut stalled = 0;
    let mut stopped = None;
    // First evaluation at the start.
    {
        let refs: Vec<&[f64]> = active.iter().map(|&r| params[r].as_slice()).collect();
        let res = batch_objective(data, &active, &refs, o.l2);
        evaluations += 1;
        for (&r, (f, g)) in active.iter().zip(res) {
            let l1 = if o.l1 > 0.0 {
                (0..n).map(|j| if j == r { 0.0 } else { o.l1 }).collect()
            } else {
                Vec::new()
            };
            let l = Lbfgs::with_l1(params[r].clone(), f, g, frozen(r), l1, o.tol, o.max_iter);
            solvers[r] = Some(l);
        }
        let before = active.len();
        active.retain(|&r| !solvers[r].as_ref().is_some_and(|l| l.done()));
        runner.advance((before - active.len()) as u64);
    }
    while !active.is_empty() {
        let trials: Vec<Vec<f64>> = active
            .iter()
            .map(|&r| {
                solvers[r]
                    .as_ref()
                    .map(|l| l.trial().to_vec())
                    .unwrap_or_default()
            })
            .collect();
        let refs: Vec<&[f64]> = trials.iter().map(|t| t.as_slice()).collect();
        let res = batch_objective(data, &active, &refs, o.l2);
        evaluations += 1;
        let mut still = Vec::with_capacity(active.len());
        for (&r, (f, g)) in active.iter().zip(res) {
            let Some(l) = solvers[r].as_mut() else {
                continue;
            };
            match l.tell(f, g) {
                Status::Continue => still.push(r),
                Status::Converged => {}
                Status::Stalled => stalled += 1,
            }
        }
        runner.advance((active.len() - still.len()) as u64);
        active = still;
        let objective = solvers.iter().flatten().map(|l| l.f()).sum::<f64>() / n.max(1) as f64;
        let it = Iteration::new("plm", evaluations)
            .objective(objective)
            .change(active.len() as f64);
        if let Some(t) = runner.iterate(it) {
            stopped = Some(t);
            break;
        }
    }
    for r in 0..n {
        if let Some(l) = &solvers[r] {
            params[r] = l.x().to_vec();
        }
    }
    Ok(Stage {
        params,
        evaluations,
        stalled,
        stopped,
    })
}

/// The fit from every spin's parameters: fixed spins set, the symmetric couplings.
fn finish(
    mut params: Vec<SpinParams>,
    fixed: &[(usize, f64)],
    (evaluations, warm_rows): (usize, Option<usize>),
    stalled: usize,
    stopped: Option<Termination>,
) -> PlmFit {
    let n = params.len();
    for &(i, h) in fixed {
        params[i] = vec![0.0; n];
        params[i][i] = h;
    }
    let asymmetric = DMatrix::from_fn(n, n, |i, j| params[i][j]);
    let j = DMatrix::from_fn(n, n, |a, b| {
        if a == b {
            0.0
        } else {
            0.5 * (params[a][b] + params[b][a])
        }
    });
    let h = (0..n).map(|i| params[i][i]).collect();
    PlmFit {
        asymmetric,
        j,
        h,
        evaluations,
        stalled,
        warm_rows,
        termination: stopped.unwrap_or(Termination::Converged),
    }
}
