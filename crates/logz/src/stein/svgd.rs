//! Stein variational gradient descent (Liu & Wang 2016).
//!
//! n particles z_1..z_n move along
//!
//! φ(z_i) = (1/n) Σ_j [k(z_j, z_i) ∇ln p(x, z_j) + ∇_{z_j} k(z_j, z_i)],
//!
//! the direction in the unit ball of the kernel's Hilbert space that most decreases
//! KL(q ‖ p) of the particles' distribution. The first term drives the particles up the
//! posterior, kernel-smoothed; the second repels them from each other. The answer is the
//! flow's fixed point, φ(z_i) = 0 for every i; with one particle the repulsion vanishes and
//! that is the mode (MAP).
//!
//! * Preconditioning (on by default): the particles move in coordinates u with z = ẑ + Au, ẑ
//!   the MAP (Newton's method with a finite-difference Hessian H of −ln p) and A = L⁻ᵀ for
//!   H = LLᵀ, where the Laplace approximation is N(0, I); the score is s_u = Aᵀs_z. This is
//!   SVGD with a constant matrix-valued kernel (Wang, Tang, Bajaj & Liu 2019): the same fixed
//!   points, reached without the isotropic kernel's trouble on correlated posteriors.
//!   Particles start from N(0, I) in these coordinates (the Laplace approximation), one seeded
//!   stream.
//!
//! # Default: the linear kernel, solved to its fixed point
//!
//! The kernel is the centred linear kernel k(x, y) = 1 + (x − z̄)ᵀ(y − z̄) (Liu & Wang 2018,
//! "Stein variational gradient descent as moment matching"; z̄ the particles' mean), whose
//! direction is
//!
//! φ_i = s̄ + (Ŝ + I)(z_i − z̄),  s̄ = (1/n) Σ_j s_j,  Ŝ = (1/n) Σ_j s_j (z_j − z̄)ᵀ.
//!
//! Its fixed points satisfy the Gaussian Stein equations mean s = 0 and mean s(z − z̄)ᵀ = −I:
//! on a Gaussian posterior the particles' mean and covariance are then *exact* for any n > d
//! (s = −P(z − μ) gives z̄ = μ and P·Cov = I; tested on conjugate BLR).
//!
//! **Why not the RBF kernel** (still available, [`SvgdOptions::rbf_kernel`]): on the
//! breast-cancer logistic posterior (31 correlated coefficients) no RBF configuration both
//! converged and landed near the posterior. With the median heuristic h = med²/ln(n + 1) the
//! kernel is nearly diagonal in 31 dimensions (k ≈ 1/(n + 1) off the diagonal), and with
//! per-particle step control the particles collapse: sds 0.33–0.6 of NUTS's, means 0.8–0.9
//! sd off (near the MAP). With Gretton's h = 2 med², or added to the linear kernel, 100–400
//! particles drift outward for thousands of steps (sds 1.1–1.6× NUTS's and still growing; with
//! 100 particles the means end 0.10–0.19 sd off), and neither explicit steps, Anderson
//! acceleration nor Newton–Krylov on φ = 0 brought the RMS velocity below 10⁻³.
//!
//! **Why this solver.** The linear-kernel direction is affine in z_i, so the flow keeps the
//! particles affine images of their start: z_i = m + Bη_i, with η_i the coordinates of
//! z_i(0) − z̄(0) in an orthonormal basis of their span (B is d × r, r = rank ≤ min(n − 1, d)).
//! The flow is a preconditioned gradient ascent of the particle ELBO
//!
//! F(m, B) = (1/n) Σ_i ln p(m + Bη_i) + ½ ln det BᵀB
//!
//! (the particles' mean log joint plus the entropy of a Gaussian with their covariance, up to
//! a constant): ∇_m F = s̄ and ∇_B F = (Ŝ + I)B(BᵀB)⁻¹, so φ_i = ∇_m F + ∇_B F BᵀB η_i, and
//! along φ F rises at the rate |s̄|² + ‖(Ŝ + I)P‖²_F ≥ 0 (P = B(BᵀB)⁻¹Bᵀ, the projector on
//! the particles' span; P = I once n > d), zero exactly at the fixed points.
//! F is thus a merit function for the flow, and the fixed point is reached by L-BFGS on −F
//! with backtracking (Armijo) line searches — not by explicit Euler steps, which on the
//! breast-cancer posterior are stiff: a particle j in a region of large curvature H_j and far
//! from z̄ moves the others with weight ∝ H_j |z_j − z̄|²/n, so a stable step (≈ 0.05 in
//! whitened units there) crawls along the slow directions (RMS velocity still 7·10⁻³ after
//! 3000 steps with 400 particles). The stopping test is the flow's own: the RMS of φ_i over
//! particles and coordinates, in the (whitened) coordinates, below `tol`.
//!
//! The fixed point is Gaussian VI with the expectation over q replaced by the n fixed draws
//! η_i (sample-average approximation): as n grows it tends to the best full-rank Gaussian
//! (0.07–0.08 sd from the NUTS means on the breast-cancer posterior, `logz bench nuts`), with
//! Monte Carlo error ∝ 1/√n from the draws; its sds are the Gaussian fit's. The particles are
//! an affine image of n Gaussian draws, so their kernel Stein discrepancy has the floor of n
//! draws (∝ 1/√n), unlike the RBF kernel's evenly spread particles. Measured there (seeds
//! 1–3, converged to RMS velocity 10⁻⁴): 100 particles 0.09–0.135 sd from the NUTS means, 200
//! particles 0.054–0.063, 400 particles 0.034–0.047. Hence 200 particles by default. With n ≤ d particles the covariance is only
//! matched on the particles' span; one particle (r = 0) is the MAP.
//!
//! # The RBF kernel (optional)
//!
//! With [`SvgdOptions::rbf_kernel`] the kernel is k(x, y) = exp(−|x − y|²/h) with the median
//! heuristic h = med²/ln(n + 1) (med: the median pairwise distance, recomputed every step),
//! plus the linear kernel if [`SvgdOptions::linear_kernel`] is on too. Those flows have no
//! merit function, so they take explicit steps z ← z + εφ with ε = ½/λ̂, λ̂ the largest
//! curvature of −ln p seen so far (power iteration on score differences at the particles'
//! mean every 50 steps); the linear part's step is min(ε, ½) (its covariance mode relaxes at
//! rate 2); each particle's RMS step is capped at 0.1 stiffest length scales (a positive
//! per-particle factor keeps the fixed points). Converged when the RMS step falls below `tol`
//! times 1/√λ̂ while no particle is capped.

use super::scores;
use crate::advi::{log_joint, Batch, LogJoint};
use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::rng::stream;
use crate::runner::{ended, Iteration, Runner, Termination};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

/// A kernel choice for [`svgd`], by name (`fit --kernel`): `linear` (the default), `rbf`, or
/// `rbf+linear` (their sum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SvgdKernel {
    /// The centred linear kernel alone.
    #[default]
    Linear,
    /// The RBF kernel with the median heuristic alone.
    Rbf,
    /// The sum of the two.
    RbfLinear,
}

impl SvgdKernel {
    /// Parse `linear`, `rbf` or `rbf+linear`.
    pub fn parse(name: &str) -> Result<SvgdKernel> {
        match name {
            "linear" => Ok(SvgdKernel::Linear),
            "rbf" => Ok(SvgdKernel::Rbf),
            "rbf+linear" | "linear+rbf" => Ok(SvgdKernel::RbfLinear),
            _ => Err(Error::arg(format!(
                "unknown SVGD kernel {name:?}: use linear, rbf or rbf+linear"
            ))),
        }
    }
    /// `(linear_kernel, rbf_kernel)` of [`SvgdOptions`].
    pub fn flags(self) -> (bool, bool) {
        match self {
            SvgdKernel::Linear => (true, false),
            SvgdKernel::Rbf => (false, true),
            SvgdKernel::RbfLinear => (true, true),
        }
    }
}

/// Settings of [`svgd`].
#[derive(Debug, Clone)]
pub struct SvgdOptions {
    /// Number of particles (≥ 1; one particle gives the MAP).
    pub particles: usize,
    /// Most steps.
    pub steps: usize,
    /// Convergence tolerance on the flow's velocity: the RMS of φ_i over particles and
    /// coordinates in the (preconditioned) coordinates (linear kernel), or the RMS step in units
    /// of the stiffest length scale 1/√λ̂ (with the RBF kernel).
    pub tol: f64,
    /// Seed of the initial particles.
    pub seed: u64,
    /// Move the particles in the Laplace approximation's whitened coordinates (see the module
    /// docs); off: plain SVGD in the model's coordinates.
    pub precondition: bool,
    /// Use the centred linear kernel 1 + (x − z̄)ᵀ(y − z̄) (see the module docs): the
    /// particles' mean and covariance then satisfy the Gaussian Stein equations, which the
    /// RBF kernel alone cannot enforce in many dimensions.
    pub linear_kernel: bool,
    /// Use the RBF kernel (median heuristic). With `linear_kernel` as well, the kernel is the
    /// sum of the two. At least one of the two must be on.
    pub rbf_kernel: bool,
}

impl Default for SvgdOptions {
    fn default() -> Self {
        SvgdOptions {
            particles: 200,
            steps: 2_000,
            tol: 1e-4,
            seed: 1,
            precondition: true,
            linear_kernel: true,
            rbf_kernel: false,
        }
    }
}

/// Largest RMS step of one particle, in units of the stiffest length scale 1/√λ̂.
const STEP_CAP: f64 = 0.1;

/// Most particles [`svgd`] accepts (each step costs particles² · d for the kernel).
pub const MAX_PARTICLES: usize = 5_000;

/// The particles and their moments.
#[derive(Debug, Clone, Serialize)]
pub struct SvgdResult {
    /// The particles (each of the model's dimension).
    pub particles: Vec<Vec<f64>>,
    /// Their mean.
    pub mean: Vec<f64>,
    /// Their covariance (d × d row-major, divisor n; zero for one particle).
    pub cov: Vec<f64>,
    /// Steps taken.
    pub steps: usize,
    /// Whether the flow reached its fixed point within `tol`.
    pub converged: bool,
    /// The last value compared with `tol`: the flow's RMS velocity (linear kernel, whitened
    /// units) or the RMS step in stiffest length scales (RBF flow).
    pub final_velocity: f64,
    /// Why it stopped.
    pub termination: Termination,
}

/// Run SVGD on the posterior of `m` on `data` (all rows every step) under `runner`.
/// Errors on zero particles or steps, more than [`MAX_PARTICLES`], a non-positive tolerance,
/// work beyond [`crate::limits`], a non-finite ln p or score at the starting particles, or (RBF
/// flow) a score that becomes non-finite; the linear kernel's line search steps back from
/// non-finite values instead.
pub fn svgd(m: &dyn LogJoint, data: Batch, o: &SvgdOptions, runner: &Runner) -> Result<SvgdResult> {
    let d = m.dim();
    let n = o.particles;
    if n == 0 || n > MAX_PARTICLES {
        return Err(Error::arg(format!(
            "SVGD needs 1 to {MAX_PARTICLES} particles, got {n}"
        )));
    }
    if o.steps == 0 {
        return Err(Error::arg("SVGD needs at least 1 step"));
    }
    if !(o.tol.is_finite() && o.tol > 0.0) {
        return Err(Error::arg(format!(
            "the SVGD tolerance must be a finite number > 0, got {}",
            o.tol
        )));
    }
    if !(o.linear_kernel || o.rbf_kernel) {
        return Err(Error::arg(
            "SVGD needs a kernel: the linear kernel, the RBF kernel, or both",
        ));
    }
    crate::limits::check_work(
        "svgd",
        &format!("{} steps × {n} particles", o.steps),
        o.steps as f64 * n as f64 * (n as f64 * d as f64 + data.len() as f64 * 4.0 * d as f64),
    )?;
    // z = centre + A u; the flow runs on u with the score s_u = Aᵀ s_z.
    let (centre, a) = if o.precondition {
        laplace(m, data)?
    } else {
        (vec![0.0; d], DMatrix::identity(d, d))
    };
    let to_z = |u: &[f64]| -> Vec<f64> {
        (0..d)
            .map(|i| centre[i] + (0..d).map(|j| a[(i, j)] * u[j]).sum::<f64>())
            .collect()
    };
    let target = Whitened {
        m,
        to_z: &to_z,
        a: &a,
    };
    let m: &dyn LogJoint = &target;
    let mut rng = stream(o.seed, 0);
    let mut z: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..d).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    if !o.rbf_kernel {
        return linear_flow(m, data, z, o, runner, &to_z);
    }
    let mut lambda: f64 = 0.0;
    let mut converged = false;
    let mut stopped = None;
    let mut steps = 0;
    let mut last_ratio = f64::NAN;
    runner.start(o.steps as u64, "SVGD steps");
    for t in 1..=o.steps {
        steps = t;
        let s = scores(m, data, &z);
        if s.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!(
                "SVGD: the score became non-finite at step {t}"
            )));
        }
        if t == 1 || t % 50 == 0 {
            lambda = lambda.max(curvature(m, data, &mean_of(&z), t as u64 ^ o.seed));
        }
        let h = bandwidth(&z);
        let phi: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut f = vec![0.0; d];
                for j in 0..n {
                    let r2: f64 = (0..d).map(|k| (z[j][k] - z[i][k]).powi(2)).sum();
                    let kij = (-r2 / h).exp();
                    for k in 0..d {
                        // k ∇ln p(z_j) + ∇_{z_j} k(z_j, z_i) = k s_j − (2/h)(z_j − z_i) k.
                        f[k] += kij * (s[j][k] - 2.0 / h * (z[j][k] - z[i][k]));
                    }
                }
                f.iter_mut().for_each(|v| *v /= n as f64);
                f
            })
            .collect();
        let eps = 0.5 / lambda.max(1e-12);
        let mut phi: Vec<Vec<f64>> = phi
            .into_iter()
            .map(|f| f.into_iter().map(|v| eps * v).collect())
            .collect();
        if o.linear_kernel {
            // The centred linear kernel's direction s̄ + (Ŝ + I)(z_i − z̄), with step
            // min(ε, ½): its covariance mode relaxes at rate 2 per unit time whatever the
            // curvature (module docs), so its step is capped at ½ as well as by ε.
            let e_lin = eps.min(0.5);
            let zbar = mean_of(&z);
            let sbar = mean_of(&s);
            let mut sh = DMatrix::<f64>::identity(d, d);
            for (zj, sj) in z.iter().zip(&s) {
                for a in 0..d {
                    for b in 0..d {
                        sh[(a, b)] += sj[a] * (zj[b] - zbar[b]) / n as f64;
                    }
                }
            }
            for (zi, fi) in z.iter().zip(phi.iter_mut()) {
                let c: Vec<f64> = zi.iter().zip(&zbar).map(|(a, b)| a - b).collect();
                for a in 0..d {
                    let v = sbar[a] + (0..d).map(|b| sh[(a, b)] * c[b]).sum::<f64>();
                    fi[a] += e_lin * v;
                }
            }
        }
        // A trust region per particle: RMS step at most STEP_CAP stiffest length scales.
        // λ̂ is the curvature at the particles' mean; a particle in a stiffer region (a
        // logistic posterior's Hessian away from the MAP can be far larger than at it) would
        // otherwise overshoot. Scaling one particle's step by a positive factor leaves the
        // flow's fixed points (φ(z_i) = 0 for all i) unchanged.
        let cap = STEP_CAP / lambda.max(1e-300).sqrt();
        let mut capped = false;
        for fi in phi.iter_mut() {
            let r = (fi.iter().map(|x| x * x).sum::<f64>() / d as f64).sqrt();
            if r > cap {
                fi.iter_mut().for_each(|x| *x *= cap / r);
                capped = true;
            }
        }
        for (zi, fi) in z.iter_mut().zip(&phi) {
            for (a, b) in zi.iter_mut().zip(fi) {
                *a += b;
            }
        }
        // The RMS step in units of the posterior's stiffest length scale 1/√λ̂.
        let rms = (phi.iter().flatten().map(|x| x * x).sum::<f64>() / (n * d) as f64).sqrt();
        let ratio = rms * lambda.sqrt();
        last_ratio = ratio;
        runner.advance(1);
        if let Some(why) = runner.iterate(Iteration::new("svgd", t).objective(ratio)) {
            stopped = Some(why);
            break;
        }
        // A capped step is not the flow's velocity: the test needs every particle uncapped.
        if ratio < o.tol && !capped {
            converged = true;
            break;
        }
    }
    runner.finish();
    Ok(result(
        z.iter().map(|u| to_z(u)).collect(),
        steps,
        converged,
        last_ratio,
        stopped,
    ))
}

/// The particles `z` (model coordinates) with their mean and covariance (divisor n).
fn result(
    z: Vec<Vec<f64>>,
    steps: usize,
    converged: bool,
    final_velocity: f64,
    stopped: Option<Termination>,
) -> SvgdResult {
    let (n, d) = (z.len(), z[0].len());
    let mean = mean_of(&z);
    let mut cov = vec![0.0; d * d];
    for p in &z {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += (p[i] - mean[i]) * (p[j] - mean[j]) / n as f64;
            }
        }
    }
    SvgdResult {
        particles: z,
        mean,
        cov,
        steps,
        converged,
        final_velocity,
        termination: ended(converged, stopped),
    }
}

/// The linear-kernel flow's fixed point from the particles `z0` (module docs, "Default: the
/// linear kernel, solved to its fixed point"): the particles stay z_i = m + Bη_i, η_i the coordinates of z0_i − z̄0 in an
/// orthonormal basis of their span (r = rank ≤ min(n − 1, d)), and (m, B) is moved by L-BFGS
/// on −F, F(m, B) = (1/n) Σ_i ln p(m + Bη_i) + ½ ln det BᵀB, until the flow's velocity
/// φ_i = s̄ + (Ŝ + I)(z_i − z̄) has RMS below `o.tol`. The particles are mapped back to the
/// model's coordinates by `to_z`.
fn linear_flow(
    m: &dyn LogJoint,
    data: Batch,
    z0: Vec<Vec<f64>>,
    o: &SvgdOptions,
    runner: &Runner,
    to_z: &dyn Fn(&[f64]) -> Vec<f64>,
) -> Result<SvgdResult> {
    use crate::learn::lbfgs::{Lbfgs, Status};
    let (n, d) = (z0.len(), z0[0].len());
    let zbar = mean_of(&z0);
    // Orthonormal basis Q (d × r) of the span of the centred start, η_i = Qᵀ(z0_i − z̄0).
    let c0 = DMatrix::from_fn(d, n, |k, i| z0[i][k] - zbar[k]);
    let q = if n > 1 {
        let svd = c0.clone().svd(true, false);
        let u = svd.u.expect("SVD with U requested");
        let smax = svd.singular_values.iter().fold(0.0f64, |a, &b| a.max(b));
        let cols: Vec<usize> = (0..svd.singular_values.len())
            .filter(|&k| svd.singular_values[k] > 1e-9 * smax && smax > 0.0)
            .collect();
        DMatrix::from_fn(d, cols.len(), |i, k| u[(i, cols[k])])
    } else {
        DMatrix::zeros(d, 0)
    };
    let r = q.ncols();
    let eta = q.transpose() * &c0; // r × n
                                   // θ = (m, B column-major).
    let unpack = |th: &[f64]| -> (DVector<f64>, DMatrix<f64>) {
        (
            DVector::from_column_slice(&th[..d]),
            DMatrix::from_column_slice(d, r, &th[d..]),
        )
    };
    let particles = |mu: &DVector<f64>, b: &DMatrix<f64>| -> Vec<Vec<f64>> {
        let c = b * &eta;
        (0..n)
            .map(|i| (0..d).map(|k| mu[k] + c[(k, i)]).collect())
            .collect()
    };
    // −F and its gradient; +∞ where BᵀB is singular or ln p or its gradient is not finite
    // (the line search then shortens the step).
    let neg_f = |th: &[f64]| -> Result<(f64, Vec<f64>)> {
        let (mu, b) = unpack(th);
        let btb = b.transpose() * &b;
        let Some(ch) = btb.clone().cholesky() else {
            return Ok((f64::INFINITY, vec![0.0; th.len()]));
        };
        let z = particles(&mu, &b);
        let vg: Vec<(f64, Vec<f64>)> = z
            .par_iter()
            .map(|zi| {
                let mut g = vec![0.0; d];
                let v = log_joint(m, zi, data, 1.0, &mut g);
                (v, g)
            })
            .collect();
        let mut f = 0.0;
        let mut g_mu = DVector::<f64>::zeros(d);
        let mut g_b = DMatrix::<f64>::zeros(d, r);
        for (i, (v, g)) in vg.iter().enumerate() {
            if !v.is_finite() || g.iter().any(|x| !x.is_finite()) {
                return Ok((f64::INFINITY, vec![0.0; th.len()]));
            }
            f += v / n as f64;
            for k in 0..d {
                g_mu[k] += g[k] / n as f64;
                for a in 0..r {
                    g_b[(k, a)] += g[k] * eta[(a, i)] / n as f64;
                }
            }
        }
        // ½ ln det BᵀB = Σ ln diag(chol), its gradient B(BᵀB)⁻¹.
        f += ch.l().diagonal().iter().map(|x| x.ln()).sum::<f64>();
        g_b += ch.solve(&b.transpose()).transpose();
        let mut grad: Vec<f64> = g_mu.iter().map(|x| -x).collect();
        grad.extend(g_b.iter().map(|x| -x));
        Ok((-f, grad))
    };
    // The SVGD velocity from ∇F: s̄ = ∇_m F and (Ŝ + I)B = ∇_B F · BᵀB, so
    // φ_i = ∇_m F + ∇_B F BᵀB η_i; its RMS over particles and coordinates.
    let velocity = |th: &[f64], grad: &[f64]| -> f64 {
        let (_, b) = unpack(th);
        let gm = DVector::from_iterator(d, grad[..d].iter().map(|x| -x));
        let gb = DMatrix::from_iterator(d, r, grad[d..].iter().map(|x| -x));
        let v = gb * (b.transpose() * &b) * &eta;
        let ss: f64 = (0..n)
            .map(|i| (0..d).map(|k| (gm[k] + v[(k, i)]).powi(2)).sum::<f64>())
            .sum();
        (ss / (n * d) as f64).sqrt()
    };
    let mut th0: Vec<f64> = zbar.clone();
    th0.extend(q.iter().copied());
    let (f0, g0) = neg_f(&th0)?;
    if !f0.is_finite() {
        return Err(Error::Numerical(
            "SVGD: ln p or its gradient is not finite at the starting particles".into(),
        ));
    }
    let np = th0.len();
    let mut last_v = velocity(&th0, &g0);
    let mut converged = last_v < o.tol;
    // The L-BFGS gradient test is off (tolerance 0): the velocity test decides.
    let mut lb = Lbfgs::new(th0, f0, g0, vec![false; np], 0.0, o.steps);
    let mut stopped = None;
    let mut steps = 0;
    runner.start(o.steps as u64, "SVGD steps");
    while !converged && stopped.is_none() {
        let (f, g) = neg_f(lb.trial())?;
        let status = lb.tell(f, g);
        if lb.iterations > steps {
            steps = lb.iterations;
            last_v = velocity(lb.x(), lb.gradient());
            converged = last_v < o.tol;
            runner.advance(1);
            stopped = runner.iterate(Iteration::new("svgd", steps).objective(last_v));
        }
        if status == Status::Stalled {
            // The step cap, or a line search that cannot raise F beyond rounding: the latter
            // counts as converged only next to the fixed point (velocity within 100 tol).
            converged = converged || (steps < o.steps && last_v <= 100.0 * o.tol);
            break;
        }
        if status != Status::Continue {
            break;
        }
    }
    runner.finish();
    let (mu, b) = unpack(lb.x());
    let z: Vec<Vec<f64>> = particles(&mu, &b).iter().map(|u| to_z(u)).collect();
    Ok(result(z, steps, converged, last_v, stopped))
}

fn mean_of(z: &[Vec<f64>]) -> Vec<f64> {
    let d = z[0].len();
    (0..d)
        .map(|k| z.iter().map(|p| p[k]).sum::<f64>() / z.len() as f64)
        .collect()
}

/// The median heuristic h = med²/ln(n + 1) over pairwise distances (1 for a single particle or
/// coincident particles).
fn bandwidth(z: &[Vec<f64>]) -> f64 {
    let n = z.len();
    if n < 2 {
        return 1.0;
    }
    let mut d2: Vec<f64> = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            d2.push(z[i].iter().zip(&z[j]).map(|(a, b)| (a - b).powi(2)).sum());
        }
    }
    let mid = d2.len() / 2;
    let med2 = *d2.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1;
    if med2 > 0.0 {
        med2 / ((n + 1) as f64).ln()
    } else {
        1.0
    }
}

/// The largest eigenvalue of −∇²ln p at `x` by 30 rounds of power iteration on score
/// differences (H v ≈ (s(x + δv) − s(x))/δ).
fn curvature(m: &dyn LogJoint, data: Batch, x: &[f64], seed: u64) -> f64 {
    let d = x.len();
    let mut rng = stream(seed, 1);
    let mut v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nv = norm(&v);
    v.iter_mut().for_each(|a| *a /= nv);
    let mut g0 = vec![0.0; d];
    log_joint(m, x, data, 1.0, &mut g0);
    let delta = 1e-5 * (1.0 + norm(x));
    let mut lam = 0.0;
    let mut g = vec![0.0; d];
    for _ in 0..30 {
        let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + delta * b).collect();
        log_joint(m, &xp, data, 1.0, &mut g);
        let hv: Vec<f64> = g.iter().zip(&g0).map(|(a, b)| (b - a) / delta).collect();
        let nh = norm(&hv);
        if !(nh.is_finite() && nh > 0.0) {
            break;
        }
        lam = nh;
        v = hv.iter().map(|a| a / nh).collect();
    }
    lam
}

/// The target seen in whitened coordinates u (z = centre + Au): ln p(z(u)) with score Aᵀs_z.
/// (ln |A| is a constant and omitted.)
struct Whitened<'a> {
    m: &'a dyn LogJoint,
    to_z: &'a (dyn Fn(&[f64]) -> Vec<f64> + Sync),
    a: &'a DMatrix<f64>,
}

impl Whitened<'_> {
    /// A v.
    fn push(&self, v: &[f64]) -> Vec<f64> {
        let d = v.len();
        (0..d)
            .map(|i| (0..d).map(|j| self.a[(i, j)] * v[j]).sum())
            .collect()
    }
    fn pull_back(&self, gz: &[f64], grad: &mut [f64]) {
        let d = gz.len();
        for (j, g) in grad.iter_mut().enumerate() {
            *g += (0..d).map(|i| self.a[(i, j)] * gz[i]).sum::<f64>();
        }
    }
}

impl LogJoint for Whitened<'_> {
    fn dim(&self) -> usize {
        self.m.dim()
    }
    fn names(&self) -> Vec<String> {
        self.m.names()
    }
    fn log_prior(&self, u: &[f64], grad: &mut [f64]) -> f64 {
        let mut gz = vec![0.0; u.len()];
        let v = self.m.log_prior(&(self.to_z)(u), &mut gz);
        self.pull_back(&gz, grad);
        v
    }
    fn log_lik(&self, u: &[f64], b: Batch, grad: &mut [f64]) -> f64 {
        let mut gz = vec![0.0; u.len()];
        let v = self.m.log_lik(&(self.to_z)(u), b, &mut gz);
        self.pull_back(&gz, grad);
        v
    }
    /// ∇²_u = Aᵀ ∇²_z A: push v forward to Av, pull the product back with Aᵀ.
    fn log_prior_hvp(&self, u: &[f64], v: &[f64], out: &mut [f64]) {
        let mut hz = vec![0.0; u.len()];
        self.m
            .log_prior_hvp(&(self.to_z)(u), &self.push(v), &mut hz);
        self.pull_back(&hz, out);
    }
    fn log_lik_hvp(&self, u: &[f64], b: Batch, v: &[f64], out: &mut [f64]) {
        let mut hz = vec![0.0; u.len()];
        self.m
            .log_lik_hvp(&(self.to_z)(u), b, &self.push(v), &mut hz);
        self.pull_back(&hz, out);
    }
}

/// Most parameters for which [`laplace`] forms the Hessian (d + 1 score evaluations each).
pub const MAX_PRECONDITION_DIM: usize = 2_000;

/// The MAP ẑ (damped Newton steps with a finite-difference Hessian, from 0) and A = L⁻ᵀ with
/// H = LLᵀ the Hessian of −ln p at ẑ (jittered if not positive definite).
pub fn laplace(m: &dyn LogJoint, data: Batch) -> Result<(Vec<f64>, DMatrix<f64>)> {
    let d = m.dim();
    if d > MAX_PRECONDITION_DIM {
        return Err(Error::arg(format!(
            "SVGD preconditioning forms a {d}×{d} Hessian; at most {MAX_PRECONDITION_DIM} \
             parameters"
        )));
    }
    let value = |x: &[f64], g: &mut [f64]| log_joint(m, x, data, 1.0, g);
    let hessian = |x: &[f64]| -> DMatrix<f64> {
        let mut h = DMatrix::zeros(d, d);
        let (mut gp, mut gm) = (vec![0.0; d], vec![0.0; d]);
        for k in 0..d {
            let delta = 1e-5 * (1.0 + x[k].abs());
            let mut xp = x.to_vec();
            xp[k] += delta;
            value(&xp, &mut gp);
            xp[k] -= 2.0 * delta;
            value(&xp, &mut gm);
            for i in 0..d {
                h[(i, k)] = -(gp[i] - gm[i]) / (2.0 * delta);
            }
        }
        (&h + h.transpose()) * 0.5
    };
    let chol = |h: &DMatrix<f64>| {
        let scale = (0..d).map(|i| h[(i, i)].abs()).fold(1e-12, f64::max);
        [0.0, 1e-10, 1e-8, 1e-6, 1e-4]
            .iter()
            .find_map(|j| (h + DMatrix::identity(d, d) * (j * scale)).cholesky())
    };
    let mut x = vec![0.0; d];
    let mut g = vec![0.0; d];
    let mut f = value(&x, &mut g);
    for _ in 0..100 {
        let h = hessian(&x);
        let step = match chol(&h) {
            Some(c) => c.solve(&DVector::from_column_slice(&g)),
            None => DVector::from_column_slice(&g),
        };
        let decrement = step.dot(&DVector::from_column_slice(&g));
        if !(decrement.is_finite()) || decrement < 1e-12 {
            break;
        }
        let mut t = 1.0;
        let mut g_new = vec![0.0; d];
        loop {
            let xn: Vec<f64> = x.iter().zip(step.iter()).map(|(a, b)| a + t * b).collect();
            let fnew = value(&xn, &mut g_new);
            if fnew.is_finite() && fnew >= f - 1e-12 * f.abs() {
                x = xn;
                f = fnew;
                g.copy_from_slice(&g_new);
                break;
            }
            t *= 0.5;
            if t < 1e-10 {
                break;
            }
        }
        if t < 1e-10 {
            break;
        }
    }
    let l = chol(&hessian(&x))
        .ok_or_else(|| {
            Error::Numerical("SVGD: the Hessian at the MAP is not positive definite".into())
        })?
        .l();
    // A = L⁻ᵀ: solve Lᵀ A = I.
    let a = l
        .transpose()
        .solve_upper_triangular(&DMatrix::identity(d, d))
        .ok_or_else(|| Error::Numerical("SVGD: singular Hessian at the MAP".into()))?;
    Ok((x, a))
}
