//! Time-to-accuracy runs of Bayesian linear regression (known noise), the work behind
//! `logz bench blr`: each stochastic method runs until its raw-unit posterior is within a
//! tolerance of the exact posterior. Timing is left to the caller (wrap the calls in a clock),
//! so everything here is deterministic for a seed.
//!
//! The stochastic methods standardise with constants from a random subsample
//! ([`super::data::Dataset::subsample_stats`]): a fixed affine reparameterisation that needs no
//! pass over the data before the first step. The target is the exact posterior in the same
//! coordinates, so a method is judged on the model it actually fits.

use super::data::{Dataset, Scaling};
use super::linear::{self, LinearPosterior, PRIOR_SCALE};
use super::models::{Batch, LinearKnownNoise};
use super::natural::NaturalSvi;
use crate::advi::{self, Estimator, Family, Optimizer, ViOptions};
use crate::error::{Error, Result};
use crate::runner::{Control, Iteration, Runner};
use rand::SeedableRng;

/// When a posterior counts as reached: every mean within `mean_rel` and every standard
/// deviation within `sd_rel` of the target's, relative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Largest relative error of a posterior mean, |m − m*| ≤ mean_rel·|m*|.
    pub mean_rel: f64,
    /// Largest relative error of a posterior standard deviation, |s − s*| ≤ sd_rel·s*.
    pub sd_rel: f64,
}

impl Default for Tolerance {
    /// Means within 1%, standard deviations within 10%.
    fn default() -> Self {
        Tolerance {
            mean_rel: 0.01,
            sd_rel: 0.10,
        }
    }
}

impl Tolerance {
    /// Whether raw-unit means `m` and standard deviations `s` are within tolerance of the
    /// target's `tm`, `ts`.
    pub fn reached(&self, m: &[f64], s: &[f64], tm: &[f64], ts: &[f64]) -> bool {
        m.iter()
            .zip(tm)
            .all(|(a, b)| (a - b).abs() <= self.mean_rel * b.abs())
            && s.iter()
                .zip(ts)
                .all(|(a, b)| (a - b).abs() <= self.sd_rel * b)
    }
}

/// The outcome of one run: the steps taken and whether the target was reached within them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Race {
    /// Steps taken: up to the one that reached the target, else the step limit.
    pub steps: usize,
    /// Whether the posterior came within tolerance of the target.
    pub reached: bool,
    /// Largest ratio of the method's posterior sd to the target's at the last check (how far
    /// off a run that did not reach the target was); 0 before the first check.
    pub sd_ratio: f64,
}

/// The outcome of a run that stops by its own convergence test (no look at the target).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfStopped {
    /// Steps taken.
    pub steps: usize,
    /// Whether the method's own convergence test passed.
    pub converged: bool,
    /// Whether the final posterior is within tolerance of the target.
    pub reached: bool,
    /// Largest relative error of a raw-unit posterior mean.
    pub mean_rel: f64,
    /// Largest ratio of the method's posterior sd to the target's.
    pub sd_ratio: f64,
}

/// Refuse an empty data set (there is nothing to draw minibatches from).
fn check_rows(d: &Dataset) -> Result<()> {
    if d.n() == 0 || d.p() == 0 {
        return Err(Error::InvalidArgument(
            "the benchmark needs at least one data row and one x column".into(),
        ));
    }
    Ok(())
}

fn largest_sd_ratio(s: &[f64], ts: &[f64]) -> f64 {
    s.iter().zip(ts).map(|(a, b)| a / b).fold(0.0, f64::max)
}

/// Natural-gradient SVI on minibatches of `batch` rows drawn with replacement (seeded), in the
/// coordinates of `sc`, checked against `target` every 5 steps, for at most `max_steps` steps.
/// `sigma` is the known noise in units of y.
#[allow(clippy::too_many_arguments)]
pub fn natural_svi(
    d: &Dataset,
    sc: &Scaling,
    sigma: f64,
    target: &LinearPosterior,
    tol: Tolerance,
    batch: usize,
    max_steps: usize,
    seed: u64,
) -> Result<Race> {
    check_rows(d)?;
    let (n, p) = (d.n(), d.p());
    let dim = p + 1;
    let mut svi = NaturalSvi::new(dim, n as f64, sigma / sc.sd_y, PRIOR_SCALE);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut bx, mut by) = (Vec::with_capacity(dim * batch), Vec::with_capacity(batch));
    let mut race = Race {
        steps: 0,
        reached: false,
        sd_ratio: 0.0,
    };
    while svi.steps < max_steps {
        bx.clear();
        by.clear();
        for _ in 0..batch {
            let i = crate::rng::index(&mut rng, n);
            bx.push(1.0);
            for j in 0..p {
                bx.push((d.x[i * p + j] - sc.mean_x[j]) / sc.sd_x[j]);
            }
            by.push((d.y[i] - sc.mean_y) / sc.sd_y);
        }
        svi.step(Batch {
            x: &bx,
            y: &by,
            d: dim,
        })?;
        if svi.steps.is_multiple_of(5) {
            let (m, c) = svi.moments()?;
            let (rm, rs) = linear::raw_moments(sc, &m, &c);
            race.sd_ratio = largest_sd_ratio(&rs, &target.sd);
            if tol.reached(&rm, &rs, &target.mean, &target.sd) {
                race.reached = true;
                break;
            }
        }
    }
    race.steps = svi.steps;
    Ok(race)
}

/// The benchmark's known-noise model in the standardised coordinates of `sc`: its dimension,
/// the standardised design and response, and the log joint the VI runs fit.
fn standardised(
    d: &Dataset,
    sc: &Scaling,
    sigma: f64,
) -> Result<(usize, Vec<f64>, Vec<f64>, LinearKnownNoise)> {
    let dim = d.p() + 1;
    check_rows(d)?;
    let (xs, ys) = sc.design(d);
    let model = LinearKnownNoise {
        d: dim,
        sigma: sigma / sc.sd_y,
        tau: PRIOR_SCALE,
        names: std::iter::once("intercept".to_string())
            .chain(d.x_names.iter().cloned())
            .collect(),
    };
    Ok((dim, xs, ys, model))
}

/// Full-rank ADVI (reparameterisation gradients, Adam with learning rate `lr`, minibatches of
/// `batch` rows, one sample a step) in the coordinates of `sc`, stopped as soon as the posterior
/// is within `tol` of `target`, for at most `max_steps` steps. Standardising the design is part
/// of the run (and of its time).
#[allow(clippy::too_many_arguments)]
pub fn full_rank_advi(
    d: &Dataset,
    sc: &Scaling,
    sigma: f64,
    target: &LinearPosterior,
    tol: Tolerance,
    batch: usize,
    lr: f64,
    max_steps: usize,
) -> Result<Race> {
    let (dim, xs, ys, model) = standardised(d, sc, sigma)?;
    let o = ViOptions {
        family: Family::FullRank,
        estimator: Estimator::Reparameterization,
        optimizer: Optimizer::Adam { lr, decay: 200.0 },
        batch: Some(batch),
        samples: 1,
        max_steps,
        eval_draws: 2,
        eval_batch: 1024,
        tol: 0.0,
        ..ViOptions::default()
    };
    let mut hit = None;
    let mut sd_ratio = 0.0;
    // An observer sees q every 10 steps (mean, then covariance) and stops the fit on target.
    let runner = Runner::new().observe(|it: &Iteration| {
        let (m, c) = it.params.split_at(dim);
        let (rm, rs) = linear::raw_moments(sc, m, c);
        sd_ratio = largest_sd_ratio(&rs, &target.sd);
        if tol.reached(&rm, &rs, &target.mean, &target.sd) {
            hit = Some(it.iteration);
            return Control::Stop;
        }
        Control::Continue
    });
    advi::fit(
        &model,
        Batch {
            x: &xs,
            y: &ys,
            d: dim,
        },
        &o,
        &runner,
    )?;
    drop(runner);
    Ok(Race {
        steps: hit.unwrap_or(max_steps),
        reached: hit.is_some(),
        sd_ratio,
    })
}

/// Full-rank Gaussian VI by a Laplace warm start and natural-gradient steps with iterate
/// averaging and control-variate minibatch gradients ([`crate::advi::newton`]), minibatches of
/// `batch` rows, at most `max_steps` steps, stopped by its *own* convergence test (the target
/// is only looked at afterwards). Standardising the design is part of the run.
#[allow(clippy::too_many_arguments)]
pub fn full_rank_newton(
    d: &Dataset,
    sc: &Scaling,
    sigma: f64,
    target: &LinearPosterior,
    tol: Tolerance,
    batch: usize,
    max_steps: usize,
    seed: u64,
) -> Result<SelfStopped> {
    let (dim, xs, ys, model) = standardised(d, sc, sigma)?;
    let o = ViOptions {
        family: Family::FullRank,
        estimator: Estimator::Reparameterization,
        optimizer: Optimizer::Newton,
        batch: Some(batch),
        samples: 1,
        max_steps,
        window: 50,
        eval_draws: 2,
        eval_batch: 1024,
        seed,
        ..ViOptions::default()
    };
    let r = advi::fit(
        &model,
        Batch {
            x: &xs,
            y: &ys,
            d: dim,
        },
        &o,
        &Runner::new(),
    )?;
    let (rm, rs) = linear::raw_moments(sc, &r.mean, &r.cov);
    let mean_rel = rm
        .iter()
        .zip(&target.mean)
        .map(|(a, b)| (a - b).abs() / b.abs())
        .fold(0.0, f64::max);
    Ok(SelfStopped {
        steps: r.steps,
        converged: r.converged,
        reached: tol.reached(&rm, &rs, &target.mean, &target.sd),
        mean_rel,
        sd_ratio: largest_sd_ratio(&rs, &target.sd),
    })
}
