//! Stochastic variational inference on any [`LogJoint`]: the ELBO
//! E_q[log p(x, z)] + H\[q\] ≤ ln p(x), maximised over a Gaussian family by stochastic gradients.
//!
//! * Families (on unconstrained z, as in ADVI): mean-field N(μ, diag e^{2ω}) and full-rank
//!   N(μ, LLᵀ) with L lower triangular and its diagonal stored as logs. H\[q\] = Σ ln L_ii + d/2·ln 2πe.
//! * Gradient estimators, both unbiased, so their variances can be compared on one model:
//!   - reparameterisation (ADVI): z = μ + Lε, ∇_μ = ∇_z log p, ∇_{L_ij} = (∇_z log p)_i ε_j,
//!     plus the entropy's 1 on each log-diagonal entry;
//!   - score function (black-box VI): E_q[(log p(z) − log q(z)) ∇_λ log q(z)] over S draws with a
//!     leave-one-out mean as control variate, using ∇_μ log q = L⁻ᵀε, ∇_{L_ij} log q = (L⁻ᵀε)_i ε_j
//!     and ∇_{ln L_ii} log q = (L⁻ᵀε)_i ε_i L_ii − 1.
//! * Optimisers: Adam (optionally with step decay) and a Robbins–Monro schedule a(t + t₀)^{−κ}.
//! * Minibatches: B rows drawn with replacement, the data term scaled by N/B; the batch gradient
//!   is computed in parallel chunks when B is large.
//! * Convergence as ADVI does it: the mean ELBO over consecutive windows of steps changes by less
//!   than a relative tolerance (or the step cap is reached, reported as not converged).
//! * The q reported is not the last iterate but a polynomial-decay average of all of them
//!   (weights ∝ t^η, η = [`POLY_AVG`]): iterate averaging removes the stationary jitter of a
//!   stochastic step, which on 31 correlated coefficients costs a tenth of a nat or more.
//!
//! The final ELBO is estimated with fresh draws z ~ q, each with its own random batch, so its
//! standard error includes the subsampling noise.

pub mod importance;
pub mod newton;
pub mod opvi;
pub mod renyi;
pub mod target;

use crate::optim::Adam;
pub use crate::runner::{ended, Iteration, Runner, Termination};
pub use target::{Batch, LogJoint};

use crate::error::{Error, Result};
use crate::estimate::Progress;
use crate::rng::{index, stream_seed};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

/// The power η of the polynomial-decay iterate average that a stochastic-gradient fit reports
/// (iterate t weighs ∝ t^η after T steps). On the breast-cancer posterior (31 coefficients,
/// `logz bench nuts`) `fit`'s full-rank ADVI ended 0.19–0.22 nats of ELBO below the best
/// Gaussian with the last 200-step window's average, 0.11–0.13 with η = 3, 0.07–0.08 with η = 8
/// or 16 and 0.08–0.09 with η = 32 (seeds 1–3, 20 000 steps).
pub const POLY_AVG: f64 = 8.0;

/// The variational family q, a Gaussian on the unconstrained parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Mean field: N(μ, diag e^{2ω}), independent coordinates.
    MeanField,
    /// Full rank: N(μ, LLᵀ) with L lower triangular (log-diagonal stored).
    FullRank,
}

/// The stochastic estimator of the ELBO's gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// Reparameterisation (ADVI): z = μ + Lε, differentiated through log p.
    Reparameterization,
    /// Score function (black-box VI) with a leave-one-out control variate.
    ScoreFunction,
}

/// The objective maximised (or, for an upper bound, minimised) over q.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// The ELBO E_q[ln p(x, z) − ln q(z)]: KL(q ‖ p) is minimised.
    Elbo,
    /// The Rényi variational bound L_α = 1/(1−α) ln E_q[(p/q)^{1−α}] (Li & Turner 2016, see
    /// [`renyi`]), maximised; α ∈ [0, 2]. Needs the reparameterisation estimator and ≥ 2
    /// draws per step.
    Renyi {
        /// The order α, from [`renyi::ALPHA_MIN`] to [`renyi::ALPHA_MAX`].
        alpha: f64,
    },
    /// The operator-VI objective with the Langevin–Stein operator ([`opvi`]), minimised over a
    /// full-rank Gaussian by L-BFGS on a fixed set of `samples` draws.
    Operator,
}

/// The stochastic optimiser and its step schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Optimizer {
    /// Adam with learning rate lr·(1 + t/decay)^{−½} (decay = ∞ keeps it constant).
    Adam {
        /// Base learning rate.
        lr: f64,
        /// Decay scale in steps (∞: constant rate).
        decay: f64,
    },
    /// Plain gradient ascent with step a(t + t0)^{−κ}, ½ < κ ≤ 1.
    RobbinsMonro {
        /// Scale a of the step.
        a: f64,
        /// Offset t0 of the step count.
        t0: f64,
        /// Decay exponent κ, ½ < κ ≤ 1.
        kappa: f64,
    },
    /// Natural-gradient (variational online Newton) steps with iterate averaging from a
    /// Laplace warm start, with control-variate minibatch gradients ([`newton`]): full-rank
    /// ELBO with the reparameterisation estimator only.
    Newton,
}

/// Settings of a stochastic VI fit.
#[derive(Debug, Clone)]
pub struct ViOptions {
    /// The variational family.
    pub family: Family,
    /// The gradient estimator.
    pub estimator: Estimator,
    /// The objective (ELBO or a Rényi bound).
    pub objective: Objective,
    /// The optimiser and its step schedule.
    pub optimizer: Optimizer,
    /// Rows per step (None: all rows, no subsampling).
    pub batch: Option<usize>,
    /// Draws of z per step.
    pub samples: usize,
    /// Cap on optimisation steps; reaching it is reported as not converged.
    pub max_steps: usize,
    /// Convergence window: steps over which the ELBO is averaged before comparing.
    pub window: usize,
    /// Relative tolerance on the change of the windowed mean ELBO (convergence test).
    pub tol: f64,
    /// Steps before the convergence test may stop the fit (0: from the first window; a long
    /// reference run sets it to `max_steps`).
    pub min_steps: usize,
    /// Draws z ~ q for the final ELBO estimate (at least 2 are used).
    pub eval_draws: usize,
    /// Rows of data per draw of the final ELBO estimate.
    pub eval_batch: usize,
    /// Seed from which every random stream (draws, batches) is derived.
    pub seed: u64,
}

impl Default for ViOptions {
    fn default() -> Self {
        ViOptions {
            family: Family::FullRank,
            estimator: Estimator::Reparameterization,
            objective: Objective::Elbo,
            optimizer: Optimizer::Adam {
                lr: 0.05,
                decay: 200.0,
            },
            batch: None,
            samples: 1,
            max_steps: 20_000,
            window: 200,
            tol: 1e-5,
            min_steps: 0,
            eval_draws: 200,
            eval_batch: 100_000,
            seed: 1,
        }
    }
}

/// The fitted Gaussian q and its ELBO.
#[derive(Debug, Clone, Serialize)]
pub struct ViResult {
    /// Mean μ of q (d values, unconstrained parameters).
    pub mean: Vec<f64>,
    /// Covariance of q (d × d, row-major).
    pub cov: Vec<f64>,
    /// The ELBO of q, estimated from fresh draws (nats, a stochastic lower bound on ln p(x)).
    pub elbo: f64,
    /// Standard error of `elbo` (including the minibatch noise).
    pub elbo_std_err: f64,
    /// Per-step estimates of the objective (noisy): the ELBO, or the Rényi bound L̂_α.
    pub trace: Vec<f64>,
    /// Optimisation steps taken.
    pub steps: usize,
    /// Whether the windowed ELBO converged before the step cap.
    pub converged: bool,
    /// Why the optimisation stopped.
    pub termination: Termination,
}

/// Gaussian q: μ, and L (full rank: packed lower triangle row by row; mean field: diagonal),
/// with log-diagonals.
#[derive(Debug, Clone)]
struct Q {
    d: usize,
    family: Family,
    /// μ then the L entries.
    theta: Vec<f64>,
}

impl Q {
    fn new(d: usize, family: Family) -> Self {
        let nl = match family {
            Family::MeanField => d,
            Family::FullRank => d * (d + 1) / 2,
        };
        // Start at μ = 0, L = 0.1·I (log 0.1 on the diagonal).
        let mut theta = vec![0.0; d + nl];
        for i in 0..d {
            let k = Self::diag_index(d, family, i);
            theta[k] = 0.1f64.ln();
        }
        Q { d, family, theta }
    }
    fn diag_index(d: usize, family: Family, i: usize) -> usize {
        match family {
            Family::MeanField => d + i,
            Family::FullRank => d + i * (i + 1) / 2 + i,
        }
    }
    /// L as a dense lower-triangular matrix (row-major).
    fn l(&self) -> Vec<f64> {
        let d = self.d;
        let mut l = vec![0.0; d * d];
        match self.family {
            Family::MeanField => {
                for i in 0..d {
                    l[i * d + i] = self.theta[d + i].exp();
                }
            }
            Family::FullRank => {
                let mut k = d;
                for i in 0..d {
                    for j in 0..=i {
                        l[i * d + j] = if i == j {
                            self.theta[k].exp()
                        } else {
                            self.theta[k]
                        };
                        k += 1;
                    }
                }
            }
        }
        l
    }
    fn entropy(&self) -> f64 {
        let d = self.d;
        let logdiag: f64 = (0..d)
            .map(|i| self.theta[Self::diag_index(d, self.family, i)])
            .sum();
        logdiag + 0.5 * d as f64 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln()
    }
    /// z = μ + Lε.
    fn draw(&self, l: &[f64], eps: &[f64], z: &mut [f64]) {
        let d = self.d;
        for i in 0..d {
            z[i] = self.theta[i] + (0..=i).map(|j| l[i * d + j] * eps[j]).sum::<f64>();
        }
    }
    /// log q(z) for z = μ + Lε: −Σ ln L_ii − |ε|²/2 − (d/2) ln 2π.
    fn log_q(&self, eps: &[f64]) -> f64 {
        let d = self.d;
        let logdiag: f64 = (0..d)
            .map(|i| self.theta[Self::diag_index(d, self.family, i)])
            .sum();
        -logdiag
            - 0.5 * eps.iter().map(|e| e * e).sum::<f64>()
            - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
    }
    /// Accumulate into `out` the gradient w.r.t. θ of  Σ_i a_i z_i(θ, ε)  (chain rule through
    /// z = μ + Lε) — used with a = ∇_z log p (reparameterisation) and a = L⁻ᵀε (score).
    fn push_back(&self, l: &[f64], a: &[f64], eps: &[f64], scale: f64, out: &mut [f64]) {
        let d = self.d;
        for i in 0..d {
            out[i] += scale * a[i];
        }
        match self.family {
            Family::MeanField => {
                for i in 0..d {
                    out[d + i] += scale * a[i] * eps[i] * l[i * d + i];
                }
            }
            Family::FullRank => {
                let mut k = d;
                for i in 0..d {
                    for j in 0..=i {
                        let dz = if i == j {
                            eps[j] * l[i * d + i]
                        } else {
                            eps[j]
                        };
                        out[k] += scale * a[i] * dz;
                        k += 1;
                    }
                }
            }
        }
    }
    /// Add `scale` to every log-diagonal entry (the entropy gradient, or −1 of ∇ log q).
    fn add_diag(&self, scale: f64, out: &mut [f64]) {
        for i in 0..self.d {
            out[Self::diag_index(self.d, self.family, i)] += scale;
        }
    }
    fn cov(&self) -> Vec<f64> {
        let d = self.d;
        let l = self.l();
        let mut c = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] = (0..d).map(|k| l[i * d + k] * l[j * d + k]).sum();
            }
        }
        c
    }
}

/// Rows for a step: all of them, or B drawn with replacement (gathered into `buf`).
struct Sampler<'a> {
    data: Batch<'a>,
    bx: Vec<f64>,
    by: Vec<f64>,
}

impl<'a> Sampler<'a> {
    fn batch(&mut self, b: Option<usize>, rng: &mut Xoshiro256PlusPlus) -> (Batch<'_>, f64) {
        let n = self.data.len();
        match b {
            Some(b) if b < n => {
                let d = self.data.d;
                self.bx.clear();
                self.by.clear();
                for _ in 0..b {
                    let i = index(rng, n);
                    self.bx.extend_from_slice(&self.data.x[i * d..(i + 1) * d]);
                    self.by.push(self.data.y[i]);
                }
                (
                    Batch {
                        x: &self.bx,
                        y: &self.by,
                        d,
                    },
                    n as f64 / b as f64,
                )
            }
            _ => (self.data, 1.0),
        }
    }
}

/// log p(z) + scale·Σ_batch log p(x_i | z), gradient into `g` (zeroed first); the batch is split
/// into parallel chunks when large.
pub fn log_joint(m: &dyn LogJoint, z: &[f64], batch: Batch, scale: f64, g: &mut [f64]) -> f64 {
    g.iter_mut().for_each(|x| *x = 0.0);
    let lp = m.log_prior(z, g);
    const CHUNK: usize = 16_384;
    let ll = if batch.len() > 2 * CHUNK {
        let parts: Vec<(f64, Vec<f64>)> = (0..batch.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut gc = vec![0.0; z.len()];
                let hi = ((c + 1) * CHUNK).min(batch.len());
                let v = m.log_lik(z, batch.slice(c * CHUNK, hi), &mut gc);
                (v, gc)
            })
            .collect();
        let mut ll = 0.0;
        let mut gl = vec![0.0; z.len()];
        for (v, gc) in parts {
            ll += v;
            for (a, b) in gl.iter_mut().zip(gc) {
                *a += b;
            }
        }
        for (a, b) in g.iter_mut().zip(gl) {
            *a += scale * b;
        }
        ll
    } else {
        let mut gl = vec![0.0; z.len()];
        let ll = m.log_lik(z, batch, &mut gl);
        for (a, b) in g.iter_mut().zip(gl) {
            *a += scale * b;
        }
        ll
    };
    lp + scale * ll
}

/// (∇² [log p(z) + scale·Σ_batch log p(x_i | z)]) v into `out` (zeroed first): the
/// Hessian–vector product of [`log_joint`], the batch split into parallel chunks when large.
pub fn log_joint_hvp(
    m: &dyn LogJoint,
    z: &[f64],
    batch: Batch,
    scale: f64,
    v: &[f64],
    out: &mut [f64],
) {
    out.iter_mut().for_each(|x| *x = 0.0);
    m.log_prior_hvp(z, v, out);
    const CHUNK: usize = 16_384;
    let parts: Vec<Vec<f64>> = if batch.len() > 2 * CHUNK {
        (0..batch.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut hc = vec![0.0; z.len()];
                let hi = ((c + 1) * CHUNK).min(batch.len());
                m.log_lik_hvp(z, batch.slice(c * CHUNK, hi), v, &mut hc);
                hc
            })
            .collect()
    } else {
        let mut hl = vec![0.0; z.len()];
        m.log_lik_hvp(z, batch, v, &mut hl);
        vec![hl]
    };
    for hc in parts {
        for (a, b) in out.iter_mut().zip(hc) {
            *a += scale * b;
        }
    }
}

/// The reparameterised ELBO gradient of one step, averaged over `samples` draws z = μ + Lε
/// (added into `grad`); returns the step's ELBO estimate mean(ln p(x, z)) + H\[q\].
#[allow(clippy::too_many_arguments)]
fn elbo_gradient(
    q: &Q,
    m: &dyn LogJoint,
    batch: Batch,
    scale: f64,
    l: &[f64],
    samples: usize,
    rng: &mut Xoshiro256PlusPlus,
    grad: &mut [f64],
) -> f64 {
    let d = q.d;
    let (mut z, mut g, mut eps) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let h = q.entropy();
    let mut elbo = 0.0;
    for _ in 0..samples {
        for e in eps.iter_mut() {
            *e = StandardNormal.sample(rng);
        }
        q.draw(l, &eps, &mut z);
        let lp = log_joint(m, &z, batch, scale, &mut g);
        elbo += (lp + h) / samples as f64;
        q.push_back(l, &g, &eps, 1.0 / samples as f64, grad);
    }
    q.add_diag(1.0, grad);
    elbo
}

/// L⁻ᵀ ε by back substitution (L lower triangular).
fn l_inv_t(l: &[f64], eps: &[f64], d: usize) -> Vec<f64> {
    let mut u = vec![0.0; d];
    for i in (0..d).rev() {
        let s: f64 = ((i + 1)..d).map(|k| l[k * d + i] * u[k]).sum();
        u[i] = (eps[i] - s) / l[i * d + i];
    }
    u
}

/// Fit q by stochastic optimisation of the ELBO under `runner`: every 10 steps its observers
/// see the step, the latest ELBO estimate and the parameters of q — the mean (d values)
/// followed by the covariance (d × d, row-major) — and may stop the fit; its time budget stops
/// it too. The result is the q reached so far, with its ELBO estimated afresh.
pub fn fit(m: &dyn LogJoint, data: Batch, o: &ViOptions, runner: &Runner) -> Result<ViResult> {
    let d = m.dim();
    if data.is_empty() || d == 0 {
        return Err(Error::InvalidArgument("no data or no parameters".into()));
    }
    if o.samples == 0 || o.max_steps == 0 || o.window == 0 {
        return Err(Error::InvalidArgument(
            "samples, steps and window must be ≥ 1".into(),
        ));
    }
    if o.estimator == Estimator::ScoreFunction && o.samples < 2 {
        return Err(Error::InvalidArgument(
            "the score-function estimator needs ≥ 2 draws per step (for its control variate)"
                .into(),
        ));
    }
    if let Objective::Renyi { alpha } = o.objective {
        renyi::check_alpha(alpha)?;
        if o.estimator != Estimator::Reparameterization || o.samples < 2 {
            return Err(Error::InvalidArgument(
                "the Rényi bound needs the reparameterisation estimator and ≥ 2 draws per step"
                    .into(),
            ));
        }
    }
    if o.objective == Objective::Operator {
        if o.family != Family::FullRank {
            return Err(Error::InvalidArgument(
                "operator VI fits a full-rank Gaussian only".into(),
            ));
        }
        return opvi::fit(m, data, o, runner);
    }
    if o.optimizer == Optimizer::Newton {
        if o.family != Family::FullRank
            || o.objective != Objective::Elbo
            || o.estimator != Estimator::Reparameterization
        {
            return Err(Error::InvalidArgument(
                "the Newton optimiser fits the full-rank ELBO only".into(),
            ));
        }
        return newton::fit(m, data, o, runner);
    }
    let mut q = Q::new(d, o.family);
    let np = q.theta.len();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(o.seed);
    let mut sampler = Sampler {
        data,
        bx: Vec::new(),
        by: Vec::new(),
    };
    let mut adam = Adam::new(np);
    let mut trace = Vec::new();
    let (mut z, mut g, mut eps) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    let mut prev_window: Option<f64> = None;
    // Window averages of θ, for the convergence test.
    let mut theta_sum = vec![0.0; np];
    let mut theta_avg = q.theta.clone();
    // The reported q: a polynomial-decay average of the iterates (below).
    let mut theta_poly = q.theta.clone();
    let mut converged = false;
    let mut stopped = None;
    let mut stable = 0;
    let mut steps = 0;
    runner.start(o.max_steps as u64, "VI steps");
    for t in 1..=o.max_steps {
        steps = t;
        let l = q.l();
        let mut grad = vec![0.0; np];
        let (batch, scale) = sampler.batch(o.batch, &mut rng);
        // The step's estimate of the objective (ELBO, or the Rényi bound L̂_α).
        let elbo_t = match (o.estimator, o.objective) {
            (Estimator::Reparameterization, Objective::Renyi { alpha }) => renyi::step_gradient(
                &q, m, batch, scale, &l, alpha, o.samples, &mut rng, &mut grad,
            ),
            (Estimator::Reparameterization, Objective::Operator) => {
                unreachable!("dispatched to opvi::fit above")
            }
            (Estimator::Reparameterization, Objective::Elbo) => {
                elbo_gradient(&q, m, batch, scale, &l, o.samples, &mut rng, &mut grad)
            }
            (Estimator::ScoreFunction, _) => {
                let s = o.samples;
                let mut f = Vec::with_capacity(s);
                let mut es = Vec::with_capacity(s);
                for _ in 0..s {
                    for e in eps.iter_mut() {
                        *e = StandardNormal.sample(&mut rng);
                    }
                    q.draw(&l, &eps, &mut z);
                    let lp = log_joint(m, &z, batch, scale, &mut g);
                    f.push(lp - q.log_q(&eps));
                    es.push(eps.clone());
                }
                let total: f64 = f.iter().sum();
                for k in 0..s {
                    // Leave-one-out baseline keeps the estimator unbiased.
                    let w = (f[k] - (total - f[k]) / (s - 1) as f64) / s as f64;
                    let u = l_inv_t(&l, &es[k], d);
                    q.push_back(&l, &u, &es[k], w, &mut grad);
                    q.add_diag(-w, &mut grad);
                }
                total / s as f64
            }
        };
        trace.push(elbo_t);
        if !grad.iter().all(|x| x.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "the ELBO gradient became non-finite at step {t}: lower the learning rate"
            )));
        }
        match o.optimizer {
            Optimizer::Adam { lr, decay } => {
                adam.step(&mut q.theta, &grad, lr / (1.0 + t as f64 / decay).sqrt());
            }
            Optimizer::RobbinsMonro { a, t0, kappa } => {
                let rate = a * (t as f64 + t0).powf(-kappa);
                for k in 0..np {
                    q.theta[k] += rate * grad[k];
                }
            }
            Optimizer::Newton => unreachable!("dispatched to newton::fit above"),
        }
        for (a, b) in theta_sum.iter_mut().zip(&q.theta) {
            *a += b;
        }
        // θ̄_t = θ̄_{t−1} + (η + 1)/(t + η)·(θ_t − θ̄_{t−1}): after T steps iterate t weighs
        // ∝ t^η (Shamir & Zhang 2013), so θ̄ averages over the last ~T/(η + 1) steps — far more
        // than one window — while the transient from the start keeps a weight ~2^−(η+1) from
        // the first half of the run.
        let w = (POLY_AVG + 1.0) / (t as f64 + POLY_AVG);
        for (a, b) in theta_poly.iter_mut().zip(&q.theta) {
            *a += w * (b - *a);
        }
        if t % 10 == 0 {
            let mut params = Vec::new();
            if runner.has_observers() {
                params.extend_from_slice(&q.theta[..d]);
                params.extend(q.cov());
            }
            let it = Iteration::new("advi", t).objective(elbo_t).params(&params);
            if let Some(why) = runner.iterate(it) {
                stopped = Some(why);
                break;
            }
        }
        if t % o.window == 0 {
            let prev_avg = theta_avg.clone();
            for (a, b) in theta_avg.iter_mut().zip(theta_sum.iter_mut()) {
                *a = *b / o.window as f64;
                *b = 0.0;
            }
            let w = &trace[t - o.window..t];
            let mean = w.iter().sum::<f64>() / o.window as f64;
            // Converged when the windowed ELBO changes by < tol (relative, as ADVI does) *and*
            // the window-averaged parameters move by < 5% of q's own scale (μ in units of σ_q,
            // log-scales and Cholesky entries likewise) — the ELBO is flat to second order in
            // the scales, so its change alone stops before the variances settle.
            // "Changes by < tol" or "no change detectable above the window noise".
            let (_, var_w) = crate::stats::mean_var(w);
            let noise = 2.0 * (2.0 * var_w / o.window as f64).sqrt();
            let elbo_ok = prev_window
                .map(|p| (mean - p).abs() < (o.tol * mean.abs()).max(noise))
                .unwrap_or(false);
            let avg_q = Q {
                d,
                family: o.family,
                theta: theta_avg.clone(),
            };
            let la = avg_q.l();
            let scale: Vec<f64> = (0..d)
                .map(|i| {
                    (0..d)
                        .map(|k| la[i * d + k] * la[i * d + k])
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            let mut params_ok = t >= 2 * o.window;
            for i in 0..d {
                params_ok &= (theta_avg[i] - prev_avg[i]).abs() < 0.05 * scale[i];
            }
            for k in d..np {
                params_ok &= (theta_avg[k] - prev_avg[k]).abs() < 0.05;
            }
            stable = if elbo_ok && params_ok { stable + 1 } else { 0 };
            prev_window = Some(mean);
            runner.message(&format!("ELBO {mean:.4}"));
            runner.advance(o.window as u64);
            if stable >= 2 && t >= o.min_steps {
                converged = true;
                break;
            }
        }
    }
    runner.finish();
    q.theta = theta_poly;
    let mean = q.theta[..d].to_vec();
    let cov = q.cov();
    let (elbo, elbo_std_err) = eval_elbo(m, data, &mean, &cov, o)?;
    Ok(ViResult {
        mean,
        cov,
        elbo,
        elbo_std_err,
        trace,
        steps,
        converged,
        termination: ended(converged, stopped),
    })
}

/// The ELBO of q = N(mean, cov) and its standard error from `o.eval_draws` (≥ 2) fresh draws,
/// each with its own batch of `o.eval_batch` rows (subsampling noise is in the error).
///
/// Each draw contributes its log importance weight ln p(x, z) − ln q(z), not ln p(x, z) + H\[q\]:
/// both average to the ELBO, but at z = μ + Lε the second differs from the first by
/// H\[q\] + ln q(z) = d/2 − |ε|²/2, noise of variance d/2 that has nothing to do with how good q is.
/// The weight form has zero variance when q is the posterior (ln w = ln p(x) at every draw), so
/// its standard error measures q's misfit instead of χ²_d noise — with the entropy form an exact
/// q's ELBO carried an error bar of ±0.07 nats from 200 draws in 2 dimensions.
fn eval_elbo(
    m: &dyn LogJoint,
    data: Batch,
    mean: &[f64],
    cov: &[f64],
    o: &ViOptions,
) -> Result<(f64, f64)> {
    let d = mean.len();
    let chol = nalgebra::DMatrix::from_row_slice(d, d, cov)
        .cholesky()
        .ok_or_else(|| Error::Numerical("q's covariance is not positive definite".into()))?;
    let l = chol.l();
    // −ln q(z) = Σ ln L_ii + |ε|²/2 + (d/2) ln 2π.
    let log_det = l.diagonal().iter().map(|x| x.ln()).sum::<f64>();
    let half_d_ln_2pi = 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
    let eval = o.eval_draws.max(2);
    let vals: Vec<f64> = (0..eval)
        .map(|k| {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(stream_seed(o.seed, k as u64 + 1));
            let mut s = Sampler {
                data,
                bx: Vec::new(),
                by: Vec::new(),
            };
            let (b, sc) = s.batch(Some(o.eval_batch), &mut r);
            let e: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
            let zz: Vec<f64> = (0..d)
                .map(|i| mean[i] + (0..=i).map(|j| l[(i, j)] * e[j]).sum::<f64>())
                .collect();
            let mut gg = vec![0.0; d];
            let neg_log_q = log_det + 0.5 * e.iter().map(|x| x * x).sum::<f64>() + half_d_ln_2pi;
            log_joint(m, &zz, b, sc, &mut gg) + neg_log_q
        })
        .collect();
    let (mean, var) = crate::stats::mean_var(&vals);
    Ok((mean, (var / (eval as f64 - 1.0)).sqrt()))
}
