//! Finite-size extrapolation of disorder averages, and the replica values they approach.
//!
//! For the SK model the quenched −βf_N = E ln Z/N approaches its N → ∞ limit like
//! a + b/N at fixed T > 0 (the annealed value ln 2 + β²(N − 1)/(4N) is exactly linear in 1/N).
//! Given disorder averages ȳ_k ± σ_k at sizes N_k ([`crate::disorder::average`] per size),
//! [`extrapolate_inverse_n`] fits y = a + b x, x = 1/N, by weighted least squares (weights
//! 1/σ_k²) and returns a with its propagated standard error
//!
//!   Var(a) = S_xx / (S S_xx − S_x²),  S = Σ w, S_x = Σ w x, S_xx = Σ w x²,
//!
//! the variance of a linear combination of independent means (the instances of different sizes
//! are independent). This error covers the sampling noise only, not a missing 1/N² term.

use crate::disorder::{self, Config, Row};
use crate::replica::{self, Level, Temperature};
use crate::runner::Runner;
use crate::{Error, Result};

/// The most sizes one `--sizes` request may list.
pub const MAX_SIZES: usize = 32;

/// A fit y = limit + slope / N.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Extrapolation {
    /// The intercept: the N → ∞ value.
    pub limit: f64,
    /// Its standard error, propagated from the per-size standard errors.
    pub std_err: f64,
    /// The coefficient of 1/N.
    pub slope: f64,
    /// χ² of the fit (degrees of freedom: sizes − 2).
    pub chi2: f64,
    /// The sizes used.
    pub sizes: Vec<usize>,
}

/// Weighted least-squares fit of `(n, mean, std_err)` points to mean = a + b/n.
/// Needs at least two distinct sizes and finite positive standard errors.
pub fn extrapolate_inverse_n(points: &[(usize, f64, f64)]) -> Result<Extrapolation> {
    let mut sizes: Vec<usize> = points.iter().map(|p| p.0).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < 2 || sizes[0] == 0 {
        return Err(Error::arg(
            "a finite-size extrapolation needs at least two distinct sizes N ≥ 1",
        ));
    }
    if let Some(p) = points
        .iter()
        .find(|p| !(p.2.is_finite() && p.2 > 0.0 && p.1.is_finite()))
    {
        return Err(Error::arg(format!(
            "a finite-size extrapolation needs a finite mean and a standard error > 0 at every size (N = {}: {} ± {}); use at least 2 instances",
            p.0, p.1, p.2
        )));
    }
    let (mut s, mut sx, mut sxx, mut sy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, y, se) in points {
        let (x, w) = (1.0 / n as f64, 1.0 / (se * se));
        s += w;
        sx += w * x;
        sxx += w * x * x;
        sy += w * y;
        sxy += w * x * y;
    }
    let det = s * sxx - sx * sx;
    let limit = (sxx * sy - sx * sxy) / det;
    let slope = (s * sxy - sx * sy) / det;
    let chi2 = points
        .iter()
        .map(|&(n, y, se)| ((y - limit - slope / n as f64) / se).powi(2))
        .sum();
    Ok(Extrapolation {
        limit,
        std_err: (sxx / det).sqrt(),
        slope,
        chi2,
        sizes,
    })
}

/// `spec` with its size (the field after the family name, `sk:N`, `er:N:q`, …) replaced by `n`.
pub fn sized_spec(spec: &str, n: usize) -> Result<String> {
    let mut parts: Vec<&str> = spec.split(':').collect();
    if parts.len() < 2 || parts[1].trim().parse::<usize>().is_err() {
        return Err(Error::arg(format!(
            "--sizes needs a spec of the form family:N[:…] such as sk:20, got '{spec}'"
        )));
    }
    let size = n.to_string();
    parts[1] = &size;
    Ok(parts.join(":"))
}

/// The disorder averages of `c` at every size of `sizes` (rows of all sizes, size-major).
/// `exact` is refused above [`disorder::MULTI_BETA_SPINS`] spins before anything runs.
pub fn average_sizes(c: &Config, sizes: &[usize], runner: &Runner) -> Result<Vec<Row>> {
    if sizes.is_empty() || sizes.len() > MAX_SIZES {
        return Err(Error::arg(format!(
            "give between 1 and {MAX_SIZES} sizes, got {}",
            sizes.len()
        )));
    }
    if let Some(&n) = sizes.iter().find(|&&n| n < 2) {
        return Err(Error::arg(format!("every size must be ≥ 2, got {n}")));
    }
    let big = sizes.iter().copied().max().unwrap_or(0);
    if c.methods.iter().any(|m| m == "exact") && big > disorder::MULTI_BETA_SPINS {
        return Err(Error::arg(format!(
            "size {big} is over the limit of exact disorder averages ({} spins); drop exact or the size",
            disorder::MULTI_BETA_SPINS
        )));
    }
    let specs = sizes
        .iter()
        .map(|&n| sized_spec(&c.spec, n))
        .collect::<Result<Vec<_>>>()?;
    let mut rows = Vec::new();
    for spec in specs {
        let cn = Config { spec, ..c.clone() };
        rows.extend(disorder::average(&cn, runner)?);
    }
    Ok(rows)
}

/// One extrapolated (method, β): the fit and the replica predictions at the same β.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Extrapolated {
    /// Method name.
    pub method: String,
    /// Inverse temperature.
    pub beta: f64,
    /// The fit of mean ln Z/N in 1/N.
    pub fit: Extrapolation,
    /// Replica-symmetric −βf at (βJ, h/J) (None when the spec is not `sk`).
    pub rs_ln_z_per_spin: Option<f64>,
    /// Full-RSB −βf at (βJ, h/J) (None when not `sk`, or when βJ is beyond the RSB solver).
    pub full_rsb_ln_z_per_spin: Option<f64>,
}

/// Extrapolate every (method, β) of `rows` (from [`average_sizes`]) in 1/N; for `sk` specs put
/// the RS and full-RSB values of the SK model with coupling scale J = `coupling` beside it
/// (−βf depends on βJ and h/J only).
pub fn extrapolate_rows(
    rows: &[Row],
    spec: &str,
    coupling: f64,
    field: f64,
) -> Result<Vec<Extrapolated>> {
    let sk = spec.trim().to_ascii_lowercase().starts_with("sk:");
    let mut keys: Vec<(String, f64)> = Vec::new();
    for r in rows {
        if !keys.iter().any(|(m, b)| *m == r.method && *b == r.beta) {
            keys.push((r.method.clone(), r.beta));
        }
    }
    let mut out = Vec::new();
    for (method, beta) in keys {
        let pts: Vec<(usize, f64, f64)> = rows
            .iter()
            .filter(|r| r.method == method && r.beta == beta)
            .map(|r| (r.n, r.mean_ln_z_per_spin, r.std_err.unwrap_or(f64::NAN)))
            .collect();
        let fit = extrapolate_inverse_n(&pts)
            .map_err(|e| Error::arg(format!("{method} at β = {beta}: {e}")))?;
        let (bj, hj) = (beta * coupling.abs(), field / coupling.abs());
        let replica_at = |level| -> Option<f64> {
            if !sk || bj <= 0.0 || !bj.is_finite() {
                return None;
            }
            replica::solve(Temperature::Beta(bj), hj, level)
                .ok()
                .and_then(|s| s.ln_z_per_spin)
        };
        out.push(Extrapolated {
            method,
            beta,
            fit,
            rs_ln_z_per_spin: replica_at(Level::Rs),
            full_rsb_ln_z_per_spin: replica_at(Level::Full),
        });
    }
    Ok(out)
}
