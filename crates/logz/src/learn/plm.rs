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
//! G = Sᵀ D (single precision, accumulated per chunk of rows in double), computed chunk by
//! chunk in parallel. The samples stay one byte per spin; only a chunk of rows is ever held
//! in floating point. Spins that have converged drop out of the products.

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
}

impl Default for PlmOptions {
    fn default() -> Self {
        PlmOptions {
            l2: 1e-5,
            l1: 0.0,
            tol: 1e-4,
            max_iter: 500,
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

/// Rows per chunk: about 256 KiB of single-precision data.
fn chunk_rows(n: usize) -> usize {
    ((1 << 16) / n.max(1)).clamp(64, 4096)
}

/// Accumulators of one batched evaluation.
struct Acc {
    loss: Vec<f64>,
    bias: Vec<f64>,
    grad: DMatrix<f64>,
}

/// L_r and ∇L_r of the spins `active` at their parameters `p` (one vector each), by two
/// matrix products per chunk of rows.
pub fn batch_objective(
    data: &Samples,
    active: &[usize],
    p: &[&[f64]],
    l2: f64,
) -> Vec<(f64, Vec<f64>)> {
    let n = data.n();
    let a = active.len();
    let m = data.len() as f64;
    let w = DMatrix::<f32>::from_fn(
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
    let bias: Vec<f64> = (0..a).map(|k| p[k][active[k]]).collect();
    let rows = chunk_rows(n);
    let zero = || Acc {
        loss: vec![0.0; a],
        bias: vec![0.0; a],
        grad: DMatrix::zeros(n, a),
    };
    let acc = data
        .raw()
        .par_chunks(rows * n)
        .fold(zero, |mut acc, chunk| {
            let b = chunk.len() / n;
            // The chunk is row-major B × N, i.e. Xᵀ in nalgebra's column-major order.
            let xt = DMatrix::<f32>::from_vec(n, b, chunk.iter().map(|&v| v as f32).collect());
            let x = xt.transpose();
            let mut fld = DMatrix::<f32>::zeros(b, a);
            fld.gemm(1.0, &x, &w, 0.0);
            let scale = (2.0 / m) as f32;
            for k in 0..a {
                let r = active[k];
                let (loss, bsum) = loss_column(
                    fld.column_mut(k).as_mut_slice(),
                    x.column(r).as_slice(),
                    bias[k] as f32,
                    scale,
                );
                acc.loss[k] += loss / m;
                acc.bias[k] += bsum;
            }
            let mut g = DMatrix::<f32>::zeros(n, a);
            g.gemm(1.0, &xt, &fld, 0.0);
            for (t, s) in acc.grad.iter_mut().zip(g.iter()) {
                *t += *s as f64;
            }
            acc
        })
        .reduce(zero, |mut x, y| {
            for k in 0..a {
                x.loss[k] += y.loss[k];
                x.bias[k] += y.bias[k];
            }
            x.grad += y.grad;
            x
        });
    (0..a)
        .map(|k| {
            let r = active[k];
            let mut f = acc.loss[k];
            let mut g: Vec<f64> = acc.grad.column(k).iter().copied().collect();
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
    // Warm start on a subsample: every WARM_STRIDE-th row. Its optimum is within O(1/√(M/k))
    // of the full data's, where L-BFGS on all rows then needs only a few steps; most of the
    // descent from zero is paid at 1/k of the cost of a full evaluation.
    if data.len() >= WARM_MIN_ROWS {
        let sub = Samples::from_rows(n, data.rows().step_by(WARM_STRIDE))?;
        let warm = solve_spins(&sub, o, allowed, &is_fixed, params, runner, "plm warm-up")?;
        params = warm.params;
        evaluations += warm.evaluations.div_ceil(WARM_STRIDE);
        if let Some(t) = warm.stopped {
            return Ok(finish(params, fixed, evaluations, warm.stalled, Some(t)));
        }
    }
    let run = solve_spins(data, o, allowed, &is_fixed, params, runner, "plm spins")?;
    evaluations += run.evaluations;
    Ok(finish(
        run.params,
        fixed,
        evaluations,
        run.stalled,
        run.stopped,
    ))
}

/// Rows from which [`fit_with`] first fits a subsample.
const WARM_MIN_ROWS: usize = 40_000;
/// Every how many rows the warm-start subsample takes one.
const WARM_STRIDE: usize = 8;

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
    evaluations: usize,
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
        termination: stopped.unwrap_or(Termination::Converged),
    }
}
