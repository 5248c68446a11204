//! Parisi's functional for k-step replica-symmetry breaking, evaluated on a grid.
//!
//! In the form of Guerra and Panchenko (J = 1; ξ(q) = β²q²/2), for a step function x(q) with
//! x = 0 on [0, q₀), x = m_l on [q_{l−1}, q_l) (l = 1..k) and x = 1 on [q_k, 1],
//!
//! −βf ≤ P(q, m) = β [ E_{z₀} Ψ₀(h + √q₀ z₀) − ¼ ( Σ_l γ_l (q_l² − q_{l−1}²) + β (1 − q_k²) ) ],
//!
//! with γ_l = β m_l and Ψ built from the inside out (u is the cavity field in energy units):
//!
//! Ψ_k(u) = (1/β) ln 2cosh(βu) + β(1 − q_k)/2,
//! Ψ_{l−1}(u) = (1/γ_l) ln E_z exp(γ_l Ψ_l(u + √(q_l − q_{l−1}) z)).
//!
//! Every trial (q, m) bounds −βf from above, and the k-RSB solution is the minimum over the
//! trial (Guerra's bound; the physicists' "extremum"). k = 0 is replica symmetry.
//!
//! **Zero temperature.** With μ_l = lim β m_l and q_k → 1, the last layer (x = 1 on a
//! window of width O(1/β)) cancels against its penalty, Ψ_k(u) = |u|, and the ground-state
//! energy is e₀ = −min GS(q, μ), GS = E_{z₀} Ψ₀(h + √q₀ z₀) − ¼ Σ_l μ_l (q_l² − q_{l−1}²)
//! (Auffinger–Chen's zero-temperature Parisi formula), with q_k = 1.
//!
//! **Numerics.** Ψ_l is stored on a uniform grid of spacing dx covering [−8.5, 8.5] ∪ (h ±
//! 8.5), with h a grid point; outside it, Ψ_l(u) − |u| is constant (exactly so up to the
//! Gaussian tail e^{−u²/2} of the walk reaching u = 0). Each layer is a Gaussian convolution
//! done by the trapezoid rule on the grid, which is spectrally accurate for these analytic
//! integrands once σ = √Δq ≥ 2dx (error ~ e^{−2π²σ²/dx²} from the Gaussian, ~ e^{−π²/(β dx)} from
//! ln cosh); the exponentials are taken blockwise against a local reference so that nothing
//! overflows. Thinner layers (0 < σ < 2dx) use 24-point Gauss–Hermite on an 8-point Lagrange interpolant;
//! σ = 0 is the identity. At T = 0 the first layer, with Ψ = |u|, is done in closed form:
//! (1/μ) ln E e^{μ|u+σz|} = μσ²/2 + |u| + (1/μ) ln[Φ(|u|/σ + μσ) + e^{−2μ|u|} Φ(μσ − |u|/σ)].

use super::gauss::{expect_abs, ln2cosh, ln_normal_cdf, Hermite};
use std::sync::OnceLock;

/// The temperature of a trial: finite β or the ground state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Temperature {
    /// Inverse temperature β > 0.
    Beta(f64),
    /// T = 0 (the m's are then μ_l = lim β m_l and q_k = 1).
    Zero,
}

/// A k-step trial: q = [q₀, …, q_k] (k + 1 overlaps, non-decreasing in [0, 1]; q_k = 1 at
/// T = 0) and m = [m₁, …, m_k] (non-decreasing, in [0, 1] at finite T; μ_l ≥ 0 at T = 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Overlaps q₀ ≤ … ≤ q_k.
    pub q: Vec<f64>,
    /// Breakpoints m₁ ≤ … ≤ m_k (or μ_l at T = 0).
    pub m: Vec<f64>,
}

impl Trial {
    /// The number of breaking steps k.
    pub fn steps(&self) -> usize {
        self.m.len()
    }
}

/// The grid of cavity fields.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Spacing.
    pub dx: f64,
    /// The field h (a grid point).
    pub h: f64,
    /// Index of h.
    i0: usize,
    /// Grid points u_i = h + (i − i0) dx.
    u: Vec<f64>,
}

/// Half-width of the region where Ψ(u) − |u| still varies.
const REACH: f64 = 8.5;

impl Grid {
    /// A grid of spacing `dx` around 0 and `h`.
    pub fn new(h: f64, dx: f64) -> Grid {
        let lo = h.min(0.0) - REACH;
        let hi = h.max(0.0) + REACH;
        let below = ((h - lo) / dx).ceil() as usize;
        let above = ((hi - h) / dx).ceil() as usize;
        let u = (0..=below + above)
            .map(|i| h + (i as f64 - below as f64) * dx)
            .collect();
        Grid {
            dx,
            h,
            i0: below,
            u,
        }
    }

    /// The default spacing: 0.01, finer at low temperature so that ln cosh(βu) is resolved.
    pub fn default_dx(t: Temperature) -> f64 {
        match t {
            Temperature::Beta(b) => 0.01f64.min(0.25 / b),
            Temperature::Zero => 0.01,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.u.len()
    }

    /// Whether the grid is empty (never).
    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }
}

/// Ψ at grid index j (any integer: outside the grid Ψ − |u| is held constant).
#[inline]
fn psi_at(grid: &Grid, psi: &[f64], j: isize) -> f64 {
    let n = psi.len() as isize;
    if j < 0 {
        let u = grid.u[0] + j as f64 * grid.dx;
        psi[0] + u.abs() - grid.u[0].abs()
    } else if j >= n {
        let u = grid.u[(n - 1) as usize] + (j - n + 1) as f64 * grid.dx;
        psi[(n - 1) as usize] + u.abs() - grid.u[(n - 1) as usize].abs()
    } else {
        psi[j as usize]
    }
}

/// Ψ at any u by 8-point Lagrange interpolation on the grid (error O(dx⁸ Ψ⁽⁸⁾)).
fn psi_interp(grid: &Grid, psi: &[f64], u: f64) -> f64 {
    let t = (u - grid.u[0]) / grid.dx;
    let j = t.floor() as isize;
    let f = t - j as f64;
    if f == 0.0 {
        return psi_at(grid, psi, j);
    }
    // Nodes k = −3 … 4 around j; weights Π_{l≠k} (f − l)/(k − l).
    let mut s = 0.0;
    for k in -3isize..=4 {
        let mut w = 1.0;
        for l in -3isize..=4 {
            if l != k {
                w *= (f - l as f64) / (k - l) as f64;
            }
        }
        s += w * psi_at(grid, psi, j + k);
    }
    s
}

fn hermite24() -> &'static Hermite {
    static H: OnceLock<Hermite> = OnceLock::new();
    H.get_or_init(|| Hermite::new(24))
}

/// Below this γ a layer is a plain average (the limit γ → 0 of the Cole–Hopf form).
const GAMMA_LINEAR: f64 = 1e-10;

/// One layer: Ψ'(u) = (1/γ) ln E exp(γ Ψ(u + σz)) at the grid points `idx` (all points when
/// None), or E Ψ(u + σz) when γ ≈ 0.
fn layer(grid: &Grid, psi: &[f64], sigma: f64, gamma: f64) -> Vec<f64> {
    let n = psi.len();
    if sigma <= 0.0 {
        return psi.to_vec();
    }
    let dx = grid.dx;
    if sigma < 2.0 * dx {
        // Thin layer: Gauss–Hermite on the interpolant.
        let gh = hermite24();
        return (0..n)
            .map(|i| {
                let (u, p0) = (grid.u[i], psi[i]);
                if gamma < GAMMA_LINEAR {
                    gh.expect(|z| psi_interp(grid, psi, u + sigma * z))
                } else {
                    p0 + gh
                        .expect(|z| (gamma * (psi_interp(grid, psi, u + sigma * z) - p0)).exp())
                        .ln()
                        / gamma
                }
            })
            .collect();
    }
    // The tilt e^{γ|σz|} shifts the Gaussian by up to γσ: widen the window accordingly.
    let zmax = 9.0 + gamma * sigma;
    let d = (zmax * sigma / dx).ceil() as isize;
    let norm = dx / (sigma * (2.0 * std::f64::consts::PI).sqrt());
    let w: Vec<f64> = (-d..=d)
        .map(|k| {
            let y = k as f64 * dx / sigma;
            norm * (-0.5 * y * y).exp()
        })
        .collect();
    if gamma < GAMMA_LINEAR {
        return (0..n as isize)
            .map(|i| {
                (-d..=d)
                    .map(|k| w[(k + d) as usize] * psi_at(grid, psi, i + k))
                    .sum()
            })
            .collect();
    }
    // Blocks of outputs share one reference R for the exponentials: |γΨ_j − R| ≤ γ(B/2 + d)dx.
    let budget = 600.0 / gamma / dx; // in grid steps
    let block = ((budget - d as f64) * 2.0).floor();
    let mut out = vec![0.0; n];
    if block >= 1.0 && 0.5 * gamma * gamma * sigma * sigma < 300.0 {
        let block = (block as usize).min(4 * d as usize + 1).max(1);
        let mut e = Vec::new();
        let mut b = 0usize;
        while b < n {
            let end = (b + block).min(n);
            let r = gamma * psi[(b + end) / 2];
            let j0 = b as isize - d;
            e.clear();
            e.extend((j0..end as isize + d).map(|j| (gamma * psi_at(grid, psi, j) - r).exp()));
            for i in b..end {
                let off = (i as isize - d - j0) as usize;
                let s: f64 = w
                    .iter()
                    .zip(&e[off..off + w.len()])
                    .map(|(a, c)| a * c)
                    .sum();
                out[i] = (s.ln() + r) / gamma;
            }
            b = end;
        }
    } else {
        // Extreme tilt: one exponential per term, shifted by its largest possible value.
        let shift = 0.5 * gamma * gamma * sigma * sigma;
        for (i, o) in out.iter_mut().enumerate() {
            let p0 = psi[i];
            let s: f64 = (-d..=d)
                .map(|k| {
                    let y = k as f64 * dx / sigma;
                    let a = gamma * (psi_at(grid, psi, i as isize + k) - p0) - 0.5 * y * y;
                    norm * (a - shift).exp()
                })
                .sum();
            *o = p0 + (s.ln() + shift) / gamma;
        }
    }
    out
}

/// The zero-temperature first layer in closed form: (1/μ) ln E exp(μ|u + σz|).
pub fn abs_layer(u: f64, sigma: f64, mu: f64) -> f64 {
    if sigma <= 0.0 {
        return u.abs();
    }
    if mu < GAMMA_LINEAR {
        return expect_abs(u, sigma);
    }
    let a = u.abs();
    let (l1, l2) = (
        ln_normal_cdf(a / sigma + mu * sigma),
        -2.0 * mu * a + ln_normal_cdf(mu * sigma - a / sigma),
    );
    let hi = l1.max(l2);
    let lse = hi + ((l1 - hi).exp() + (l2 - hi).exp()).ln();
    0.5 * mu * sigma * sigma + a + lse / mu
}

/// P(q, m): −βf of the trial at finite β, or GS (= −e₀ of the trial) at T = 0. `grid` must be
/// built for the same h.
pub fn functional(t: Temperature, trial: &Trial, grid: &Grid) -> f64 {
    let k = trial.steps();
    let q = &trial.q;
    let m = &trial.m;
    let sig = |l: usize| (q[l] - q[l - 1]).max(0.0).sqrt();
    let (mut psi, scale, first) = match t {
        Temperature::Beta(beta) => {
            let c = 0.5 * beta * (1.0 - q[k]);
            let psi: Vec<f64> = grid
                .u
                .iter()
                .map(|&u| ln2cosh(beta * u) / beta + c)
                .collect();
            (psi, beta, k)
        }
        Temperature::Zero => {
            if k == 0 {
                (grid.u.iter().map(|u| u.abs()).collect(), 1.0, 0)
            } else {
                let (s, mu) = ((1.0 - q[k - 1]).max(0.0).sqrt(), m[k - 1]);
                let psi = grid.u.iter().map(|&u| abs_layer(u, s, mu)).collect();
                (psi, 1.0, k - 1)
            }
        }
    };
    let gamma = |l: usize| match t {
        Temperature::Beta(beta) => beta * m[l - 1],
        Temperature::Zero => m[l - 1],
    };
    for l in (1..=first).rev() {
        psi = layer(grid, &psi, sig(l), gamma(l));
    }
    // The outermost average over z₀ at u = h.
    let s0 = q[0].max(0.0).sqrt();
    let outer = if s0 <= 0.0 {
        psi[grid.i0]
    } else if s0 < 2.0 * grid.dx {
        hermite24().expect(|z| psi_interp(grid, &psi, grid.h + s0 * z))
    } else {
        let d = (9.0 * s0 / grid.dx).ceil() as isize;
        let norm = grid.dx / (s0 * (2.0 * std::f64::consts::PI).sqrt());
        (-d..=d)
            .map(|k| {
                let y = k as f64 * grid.dx / s0;
                norm * (-0.5 * y * y).exp() * psi_at(grid, &psi, grid.i0 as isize + k)
            })
            .sum()
    };
    let mut pen: f64 = (1..=k)
        .map(|l| gamma(l) * (q[l] * q[l] - q[l - 1] * q[l - 1]))
        .sum();
    if let Temperature::Beta(beta) = t {
        pen += beta * (1.0 - q[k] * q[k]);
    }
    scale * (outer - 0.25 * pen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::rs;

    #[test]
    fn one_step_with_equal_overlaps_is_replica_symmetric() {
        for (beta, h) in [(0.5, 0.0), (1.7, 0.0), (2.5, 0.3), (4.0, 0.0)] {
            let q = rs::overlap(beta, h);
            let want = rs::functional(beta, h, q);
            let t = Temperature::Beta(beta);
            let grid = Grid::new(h, Grid::default_dx(t));
            for m in [0.0, 0.3, 1.0] {
                let got = functional(
                    t,
                    &Trial {
                        q: vec![q, q],
                        m: vec![m],
                    },
                    &grid,
                );
                assert!(
                    (got - want).abs() < 1e-10,
                    "β={beta} h={h} m={m}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_grid_layer_matches_the_closed_form_at_zero_temperature() {
        // Convolving |u| numerically (a kink: only O(dx²)) would be worse; check instead that the
        // numeric layer applied to the smooth closed form equals the closed form of the sum.
        let grid = Grid::new(0.2, 0.01);
        let (s1, s2, mu) = (0.4, 0.3, 1.3);
        let inner: Vec<f64> = grid.u.iter().map(|&u| abs_layer(u, s1, mu)).collect();
        let two = layer(&grid, &inner, s2, mu);
        let s = (s1 * s1 + s2 * s2).sqrt();
        for i in (0..grid.len()).step_by(97) {
            let want = abs_layer(grid.u[i], s, mu);
            assert!(
                (two[i] - want).abs() < 1e-11,
                "{}: {} {}",
                grid.u[i],
                two[i],
                want
            );
        }
    }
}
