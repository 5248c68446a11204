//! Stein's method for posteriors known up to their normaliser: only the score
//! s(z) = ∇_z ln p(x, z) is needed, never the evidence.
//!
//! The Langevin–Stein operator (𝒜f)(z) = s(z)ᵀf(z) + ∇·f(z) has E_p\[𝒜f\] = 0 for every smooth f
//! that decays (integration by parts); how far E_q\[𝒜f\] is from zero over a family of f says how
//! far q is from p. Two uses here:
//!
//! * [`ksd`]: the **kernel Stein discrepancy** (Liu, Lee & Jordan 2016; Gorham & Mackey 2017),
//!   the supremum over the unit ball of a reproducing-kernel Hilbert space, in closed form over a
//!   set of draws — a diagnostic of any sampler's or q's draws on a continuous posterior;
//! * [`mod@svgd`]: **Stein variational gradient descent** (Liu & Wang 2016), particles moved along
//!   the direction in a kernel's Hilbert space that most decreases KL(q ‖ p) (by default the
//!   centred linear kernel, solved to the flow's fixed point; the RBF kernel optional).
//!
//! Both work on the [`LogJoint`] targets of [`crate::advi`] (unconstrained coordinates; the
//! score on all rows of the batch).

pub mod svgd;

use crate::advi::{log_joint, Batch, LogJoint};
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

pub use svgd::{svgd, SvgdKernel, SvgdOptions, SvgdResult};

/// Fewest draws [`ksd`] accepts.
pub const KSD_MIN_DRAWS: usize = 10;
/// Most draws [`ksd`] accepts (its cost is draws² · d).
pub const KSD_MAX_DRAWS: usize = 20_000;

/// The kernel Stein discrepancy of a set of draws.
#[derive(Debug, Clone, Serialize)]
pub struct Ksd {
    /// KSD = √(KSD²) with the V-statistic KSD² = (1/n²) Σ_ij u_p(z_i, z_j) ≥ 0.
    pub ksd: f64,
    /// The unbiased U-statistic of KSD² (off-diagonal pairs only; can be slightly negative
    /// when the draws come from p).
    pub ksd2_u: f64,
    /// Number of draws.
    pub draws: usize,
}

/// The score ∇_z ln p(x, z) of `m` on all rows of `data` at each draw (in parallel).
pub fn scores(m: &dyn LogJoint, data: Batch, draws: &[Vec<f64>]) -> Vec<Vec<f64>> {
    draws
        .par_iter()
        .map(|z| {
            let mut g = vec![0.0; z.len()];
            log_joint(m, z, data, 1.0, &mut g);
            g
        })
        .collect()
}

/// The kernel Stein discrepancy of `draws` from the posterior of `m` on `data`, with the
/// inverse multiquadric kernel k(x, y) = (1 + |x − y|²)^{−½} (whose KSD detects
/// non-convergence, Gorham & Mackey 2017). With r = x − y, b = 1 + |r|², β = −½, the Stein
/// kernel is
///
/// u(x, y) = s(x)ᵀs(y) b^β + 2β b^{β−1} (s(y) − s(x))ᵀ r − 2βd b^{β−1} − 4β(β−1) b^{β−2} |r|².
///
/// Zero in expectation only when the draws follow p. The KSD depends on the coordinates; to
/// make the kernel's unit length mean the same on every posterior, it is computed in the
/// coordinates u = C⁻¹(z − z̄) whitened by the draws' own mean z̄ and covariance CCᵀ, where the
/// score is s_u = Cᵀs_z (the Stein identity holds in any affine coordinates). Errors on fewer than
/// [`KSD_MIN_DRAWS`] or more than [`KSD_MAX_DRAWS`] draws, draws of the wrong dimension, or a
/// non-finite score.
pub fn ksd(m: &dyn LogJoint, data: Batch, draws: &[Vec<f64>]) -> Result<Ksd> {
    let n = draws.len();
    let d = m.dim();
    if !(KSD_MIN_DRAWS..=KSD_MAX_DRAWS).contains(&n) {
        return Err(Error::arg(format!(
            "the kernel Stein discrepancy needs {KSD_MIN_DRAWS} to {KSD_MAX_DRAWS} draws, got {n}"
        )));
    }
    if let Some(z) = draws.iter().find(|z| z.len() != d) {
        return Err(Error::arg(format!(
            "a draw has {} coordinates; the model has {d}",
            z.len()
        )));
    }
    crate::limits::check_work(
        "ksd",
        &format!("{n}² pairs × {d} coordinates"),
        (n * n * d) as f64 * 4.0,
    )?;
    let sz = scores(m, data, draws);
    if sz.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "the score ∇ ln p is not finite at a draw".into(),
        ));
    }
    // Whiten by the draws' mean and covariance.
    let nf = n as f64;
    let mean: Vec<f64> = (0..d)
        .map(|k| draws.iter().map(|z| z[k]).sum::<f64>() / nf)
        .collect();
    let mut cov = nalgebra::DMatrix::<f64>::zeros(d, d);
    for z in draws {
        for i in 0..d {
            for j in 0..d {
                cov[(i, j)] += (z[i] - mean[i]) * (z[j] - mean[j]) / nf;
            }
        }
    }
    let c = cov.cholesky().map(|c| c.l()).ok_or_else(|| {
        Error::Numerical(format!(
            "the {n} draws do not span the {d} dimensions (singular covariance)"
        ))
    })?;
    let (draws, s): (Vec<Vec<f64>>, Vec<Vec<f64>>) = draws
        .iter()
        .zip(&sz)
        .map(|(z, g)| {
            let r = nalgebra::DVector::from_iterator(d, (0..d).map(|k| z[k] - mean[k]));
            let u = c.solve_lower_triangular(&r).expect("positive diagonal");
            let su: Vec<f64> = (0..d)
                .map(|j| (j..d).map(|i| c[(i, j)] * g[i]).sum())
                .collect();
            (u.iter().copied().collect(), su)
        })
        .unzip();
    let beta = -0.5f64;
    let df = d as f64;
    // Row sums of the Stein kernel, diagonal kept apart.
    let rows: Vec<(f64, f64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (x, sx) = (&draws[i], &s[i]);
            let mut off = 0.0;
            let mut diag = 0.0;
            for j in 0..n {
                let (y, sy) = (&draws[j], &s[j]);
                let mut r2 = 0.0;
                let mut ss = 0.0;
                let mut dr = 0.0;
                for k in 0..d {
                    let r = x[k] - y[k];
                    r2 += r * r;
                    ss += sx[k] * sy[k];
                    dr += (sy[k] - sx[k]) * r;
                }
                let b = 1.0 + r2;
                let kb = b.powf(beta);
                let u = ss * kb + 2.0 * beta * kb / b * dr
                    - 2.0 * beta * df * kb / b
                    - 4.0 * beta * (beta - 1.0) * kb / (b * b) * r2;
                if i == j {
                    diag += u;
                } else {
                    off += u;
                }
            }
            (off, diag)
        })
        .collect();
    let off: f64 = rows.iter().map(|r| r.0).sum();
    let diag: f64 = rows.iter().map(|r| r.1).sum();
    let v = (off + diag) / (nf * nf);
    Ok(Ksd {
        ksd: v.max(0.0).sqrt(),
        ksd2_u: off / (nf * (nf - 1.0)),
        draws: n,
    })
}

/// `n` draws from N(mean, cov) (d × d row-major), draw k from its own seeded stream. Errors
/// when `cov` is not positive definite.
pub fn gaussian_draws(mean: &[f64], cov: &[f64], n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    use rand_distr::{Distribution, StandardNormal};
    let d = mean.len();
    if cov.len() != d * d {
        return Err(Error::arg(format!(
            "a {d}×{d} covariance has {} entries",
            cov.len()
        )));
    }
    let l = nalgebra::DMatrix::from_row_slice(d, d, cov)
        .cholesky()
        .ok_or_else(|| Error::Numerical("the covariance is not positive definite".into()))?
        .l();
    Ok((0..n)
        .map(|k| {
            let mut rng = crate::rng::stream(seed, k as u64);
            let e: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            (0..d)
                .map(|i| mean[i] + (0..=i).map(|j| l[(i, j)] * e[j]).sum::<f64>())
                .collect()
        })
        .collect())
}
