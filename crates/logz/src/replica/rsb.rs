//! k-step replica-symmetry breaking: minimising Parisi's functional ([`super::parisi`]) over the
//! overlaps q and breakpoints m, and full RSB as the limit of many steps.
//!
//! The constraints 0 ≤ q₀ ≤ … ≤ q_k ≤ 1 and 0 ≤ m₁ ≤ … ≤ m_k ≤ 1 are built into the
//! parametrisation: the increments of q (and the remainder 1 − q_k) are a_j²/Σa², those of m
//! likewise b_j²/Σb² (at T = 0, μ_l = Σ_{j≤l} b_j² with no upper bound and q_k = 1). A parameter
//! that wants to sit on a constraint (q₀ = 0 at h = 0 near T_c) is then a smooth interior point
//! a_j = 0 of an unconstrained problem, which BFGS with central-difference gradients (evaluated
//! in parallel) solves. The reported residual is the projected gradient of P in the natural
//! parameters (q_l, m_l): |∂P/∂p| for a free parameter, the outward part for one on a bound.

use super::parisi::{functional, Grid, Temperature, Trial};
use rayon::prelude::*;

/// A stationary point of the k-step functional.
#[derive(Debug, Clone)]
pub struct KSolution {
    /// The minimising trial.
    pub trial: Trial,
    /// P at the minimum: −βf at finite β, −e₀ at T = 0.
    pub value: f64,
    /// Projected gradient of P in (q, m) (max norm).
    pub residual: f64,
    /// BFGS iterations used.
    pub iterations: usize,
    /// The grid spacing used.
    pub dx: f64,
}

/// θ → trial.
fn to_trial(t: Temperature, k: usize, th: &[f64]) -> Trial {
    let zero = matches!(t, Temperature::Zero);
    let na = if zero { k + 1 } else { k + 2 };
    let (a, b) = th.split_at(na);
    let sa: f64 = a.iter().map(|x| x * x).sum::<f64>().max(1e-300);
    let mut q = Vec::with_capacity(k + 1);
    let mut acc = 0.0;
    for x in &a[..na - 1] {
        acc += x * x / sa;
        q.push(acc.min(1.0));
    }
    if zero {
        q.push(1.0);
    }
    let mut m = Vec::with_capacity(k);
    let mut acc = 0.0;
    if zero {
        for x in b {
            acc += x * x;
            m.push(acc);
        }
    } else {
        let sb: f64 = b.iter().map(|x| x * x).sum::<f64>().max(1e-300);
        for x in &b[..k] {
            acc += x * x / sb;
            m.push(acc.min(1.0));
        }
    }
    Trial { q, m }
}

/// Trial → θ (increments floored so that every direction can move).
fn to_theta(t: Temperature, trial: &Trial) -> Vec<f64> {
    let k = trial.steps();
    let zero = matches!(t, Temperature::Zero);
    let floor = 1e-4;
    let mut th = Vec::new();
    let mut prev = 0.0;
    let nq = if zero { k } else { k + 1 };
    for &q in &trial.q[..nq] {
        th.push((q - prev).max(floor).sqrt());
        prev = q;
    }
    th.push((1.0 - prev).max(floor).sqrt());
    let mut prev = 0.0;
    for &m in &trial.m {
        th.push((m - prev).max(floor).sqrt());
        prev = m;
    }
    if !zero {
        th.push((1.0 - prev).max(floor).sqrt());
    }
    th
}

/// The objective in θ: P plus terms fixing the scale of the normalised blocks.
fn objective(t: Temperature, k: usize, grid: &Grid, th: &[f64]) -> f64 {
    let zero = matches!(t, Temperature::Zero);
    let na = if zero { k + 1 } else { k + 2 };
    let sa: f64 = th[..na].iter().map(|x| x * x).sum();
    let mut pen = (sa - 1.0).powi(2);
    if !zero {
        let sb: f64 = th[na..].iter().map(|x| x * x).sum();
        pen += (sb - 1.0).powi(2);
    }
    functional(t, &to_trial(t, k, th), grid) + pen
}

fn gradient(f: &(dyn Fn(&[f64]) -> f64 + Sync), x: &[f64], step: f64) -> Vec<f64> {
    (0..x.len())
        .into_par_iter()
        .map(|i| {
            let mut y = x.to_vec();
            y[i] = x[i] + step;
            let fp = f(&y);
            y[i] = x[i] - step;
            let fm = f(&y);
            (fp - fm) / (2.0 * step)
        })
        .collect()
}

/// Minimise by BFGS with Armijo backtracking; returns (x, f, iterations).
fn bfgs(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    x0: Vec<f64>,
    max_iter: usize,
) -> (Vec<f64>, f64, usize) {
    let n = x0.len();
    let step = 1e-5;
    let mut x = x0;
    let mut fx = f(&x);
    let mut g = gradient(f, &x, step);
    let mut hinv = nalgebra::DMatrix::<f64>::identity(n, n);
    let mut it = 0;
    while it < max_iter {
        it += 1;
        let gn = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if gn < 1e-9 {
            break;
        }
        let gv = nalgebra::DVector::from_vec(g.clone());
        let mut p = -(&hinv * &gv);
        let mut slope = p.dot(&gv);
        if slope >= 0.0 {
            hinv = nalgebra::DMatrix::identity(n, n);
            p = -gv.clone();
            slope = p.dot(&gv);
        }
        let mut alpha = 1.0;
        let mut accepted = None;
        for _ in 0..50 {
            let xn: Vec<f64> = x.iter().zip(p.iter()).map(|(a, b)| a + alpha * b).collect();
            let fxn = f(&xn);
            if fxn <= fx + 1e-4 * alpha * slope {
                accepted = Some((xn, fxn));
                break;
            }
            alpha *= 0.5;
        }
        let Some((xn, fxn)) = accepted else {
            if hinv != nalgebra::DMatrix::identity(n, n) {
                hinv = nalgebra::DMatrix::identity(n, n);
                continue;
            }
            break;
        };
        let gnew = gradient(f, &xn, step);
        let s = nalgebra::DVector::from_iterator(n, xn.iter().zip(&x).map(|(a, b)| a - b));
        let y = nalgebra::DVector::from_iterator(n, gnew.iter().zip(&g).map(|(a, b)| a - b));
        let sy = s.dot(&y);
        let done = (fx - fxn).abs() < 1e-15 * fx.abs().max(1.0) && s.amax() < 1e-10;
        x = xn;
        fx = fxn;
        g = gnew;
        if sy > 1e-18 {
            let rho = 1.0 / sy;
            let i = nalgebra::DMatrix::<f64>::identity(n, n);
            let a = &i - rho * &s * y.transpose();
            let b = &i - rho * &y * s.transpose();
            hinv = &a * &hinv * &b + rho * &s * s.transpose();
        }
        if done {
            break;
        }
    }
    (x, fx, it)
}

/// The projected gradient of P in the natural parameters (q, m) at `trial`.
pub fn residual(t: Temperature, trial: &Trial, grid: &Grid) -> f64 {
    let k = trial.steps();
    let zero = matches!(t, Temperature::Zero);
    let nq = if zero { k } else { k + 1 };
    // (is q?, index, lower bound, upper bound)
    let mut params: Vec<(bool, usize, f64, f64)> = Vec::new();
    for l in 0..nq {
        let lo = if l == 0 { 0.0 } else { trial.q[l - 1] };
        let hi = trial.q.get(l + 1).copied().unwrap_or(1.0).min(1.0);
        params.push((true, l, lo, hi));
    }
    for l in 0..k {
        let lo = if l == 0 { 0.0 } else { trial.m[l - 1] };
        let hi = if l + 1 < k {
            trial.m[l + 1]
        } else if zero {
            f64::INFINITY
        } else {
            1.0
        };
        params.push((false, l, lo, hi));
    }
    let h = 1e-6f64;
    let tol = 1e-5;
    params
        .par_iter()
        .map(|&(is_q, l, lo, hi)| {
            let v = if is_q { trial.q[l] } else { trial.m[l] };
            let eval = |x: f64| {
                let mut tr = trial.clone();
                if is_q {
                    tr.q[l] = x;
                } else {
                    tr.m[l] = x;
                }
                functional(t, &tr, grid)
            };
            // Stay feasible: a parameter squeezed between close neighbours gets a smaller step,
            // and one pinned by both (an empty interval) has no free direction.
            let h = h.min(0.25 * (hi - lo));
            if h < 1e-12 {
                return 0.0;
            }
            let g = if v - h >= lo && v + h <= hi {
                (eval(v + h) - eval(v - h)) / (2.0 * h)
            } else if v + h <= hi {
                (eval(v + h) - eval(v)) / h
            } else {
                (eval(v) - eval(v - h)) / h
            };
            if v - lo < tol {
                (-g).max(0.0)
            } else if hi - v < tol {
                g.max(0.0)
            } else {
                g.abs()
            }
        })
        .reduce(|| 0.0, f64::max)
}

/// Minimise the k-step functional from `init` at temperature `t` and field `h`.
pub fn minimize(t: Temperature, h: f64, init: &Trial, max_iter: usize) -> KSolution {
    let k = init.steps();
    let dx = Grid::default_dx(t);
    let grid = Grid::new(h, dx);
    let f = |th: &[f64]| objective(t, k, &grid, th);
    let (th, _, iterations) = bfgs(&f, to_theta(t, init), max_iter);
    let trial = to_trial(t, k, &th);
    let value = functional(t, &trial, &grid);
    let residual = residual(t, &trial, &grid);
    KSolution {
        trial,
        value,
        residual,
        iterations,
        dx,
    }
}

/// A starting trial for k steps: overlaps spread below and above `q_rs` (finite T) or over
/// (0, 1) (T = 0), breakpoints spread over (0, 1) (or μ_l = 1.4 l at T = 0).
pub fn initial(t: Temperature, k: usize, q_rs: f64) -> Trial {
    match t {
        Temperature::Beta(_) => {
            let (lo, hi) = (0.4 * q_rs, (q_rs + 0.3 * (1.0 - q_rs)).min(0.999));
            let q = (0..=k)
                .map(|l| lo + (hi - lo) * l as f64 / k.max(1) as f64)
                .collect();
            let m = (1..=k).map(|l| l as f64 / (k + 1) as f64).collect();
            Trial { q, m }
        }
        Temperature::Zero => {
            let mut q: Vec<f64> = (0..k)
                .map(|l| (l as f64 + 0.5) / (k as f64 + 0.5))
                .collect();
            q.push(1.0);
            let m = (1..=k).map(|l| 1.4 * l as f64).collect();
            Trial { q, m }
        }
    }
}

/// One more step from a k-step solution: a new level inserted in the widest overlap gap, with
/// a breakpoint between its neighbours (continuation towards full RSB).
pub fn refine(t: Temperature, s: &Trial) -> Trial {
    let k = s.steps();
    let mut q = s.q.clone();
    let mut m = s.m.clone();
    // Gaps q_l − q_{l−1}, l = 1..k, each with its breakpoint m_l.
    let l = (1..=k)
        .max_by(|&a, &b| (q[a] - q[a - 1]).total_cmp(&(q[b] - q[b - 1])))
        .unwrap_or(1);
    let qm = 0.5 * (q[l] + q[l - 1]);
    let lo = if l >= 2 { m[l - 2] } else { 0.0 };
    let hi = m[l - 1];
    let mm = match t {
        Temperature::Zero if l == 1 => 0.5 * hi,
        _ => 0.5 * (lo + hi),
    };
    q.insert(l, qm);
    m.insert(l - 1, mm);
    Trial { q, m }
}
