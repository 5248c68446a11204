//! Transfer matrix for square-lattice strips, site by site.
//!
//! The state is the configuration of the W most recent sites (one per column). Adding site
//! (r, c) replaces the spin of (r−1, c) in column c: the new vector is
//!   v'(…, s_new, …) = Σ_{s_old} v(…, s_old, …) · exp(θ_vert s_old s_new + θ_left s_left s_new
//!                      + θ_wrap s_(r,0) s_new + θ_c s_new),
//! an O(2^W) update per site, so a strip costs O(N·2^W). Periodic rows (a torus) are handled by
//! fixing the first row to each of its 2^W configurations in turn (in parallel), which costs
//! O(N·4^W): the fast path is for strips and narrow tori. Couplings and fields may vary per site.
//! Vectors are rescaled to max 1 after each site, the scale accumulated in log space.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Progress, Solver};
use crate::model::{Geometry, Model};
use crate::numeric::{log_add, log_sum_exp};
use crate::runner::Runner;
use rayon::prelude::*;
use std::collections::HashMap;

/// Transfer-matrix solver (square lattices only).
#[derive(Debug, Clone)]
pub struct TransferMatrix {
    /// Largest strip width for open/cylinder boundaries.
    pub max_width: usize,
    /// Largest width when rows are periodic (cost 4^W).
    pub max_torus_width: usize,
}

impl Default for TransferMatrix {
    fn default() -> Self {
        TransferMatrix {
            max_width: 24,
            max_torus_width: 12,
        }
    }
}

struct Lattice {
    rows: usize,
    width: usize,
    periodic: bool,
    site: Vec<usize>, // site[r*width + c] = model index
}

fn lattice(m: &Model) -> Result<Lattice> {
    match *m.geometry() {
        Geometry::Square {
            rows,
            cols,
            periodic,
        } => {
            // Sweep along the longer side so the state spans the shorter one.
            let (r_n, w, transpose) = if cols <= rows {
                (rows, cols, false)
            } else {
                (cols, rows, true)
            };
            let site = (0..r_n)
                .flat_map(|r| {
                    (0..w).map(move |c| {
                        if transpose {
                            c * cols + r
                        } else {
                            r * cols + c
                        }
                    })
                })
                .collect();
            Ok(Lattice {
                rows: r_n,
                width: w,
                periodic,
                site,
            })
        }
        _ => Err(Error::NotApplicable {
            method: "transfer",
            reason: "the transfer matrix needs a square lattice (square:RxC)".into(),
        }),
    }
}

impl TransferMatrix {
    /// ln Z of a square strip by multiplying row-to-row transfer matrices (the solver's body).
    pub fn run(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        let lat = lattice(m)?;
        let w = lat.width;
        let limit = if lat.periodic && lat.rows > 2 {
            self.max_torus_width
        } else {
            self.max_width
        };
        if w > limit {
            return Err(Error::TooLarge {
                method: "transfer",
                reason: format!(
                    "strip width {w} exceeds the limit {limit} ({} boundaries)",
                    if lat.periodic { "periodic" } else { "open" }
                ),
            });
        }
        let beta = m.beta();
        let mut theta: HashMap<(usize, usize), f64> = HashMap::new();
        for (k, &(a, b)) in m.edges().iter().enumerate() {
            theta.insert((a as usize, b as usize), beta * m.couplings()[k]);
            theta.insert((b as usize, a as usize), beta * m.couplings()[k]);
        }
        let th = |a: usize, b: usize| theta.get(&(a, b)).copied().unwrap_or(0.0);
        let at = |r: usize, c: usize| lat.site[r * w + c];
        // Per site: (field, vertical-to-previous-row, left, wrap-to-column-0).
        let rows = lat.rows;
        let mut site_par = Vec::with_capacity(rows * w);
        for r in 0..rows {
            for c in 0..w {
                let i = at(r, c);
                let up = if r > 0 { th(i, at(r - 1, c)) } else { 0.0 };
                let left = if c > 0 { th(i, at(r, c - 1)) } else { 0.0 };
                let wrap = if c == w - 1 && w > 2 {
                    th(i, at(r, 0))
                } else {
                    0.0
                };
                site_par.push((beta * m.fields()[i], up, left, wrap));
            }
        }
        // Bonds from the last row back to row 0 (torus).
        let closing: Vec<f64> = (0..w)
            .map(|c| {
                if lat.periodic && rows > 2 {
                    th(at(rows - 1, c), at(0, c))
                } else {
                    0.0
                }
            })
            .collect();
        let torus = closing.iter().any(|&t| t != 0.0);
        let nstates = 1usize << w;
        let spin = |x: usize, c: usize| if (x >> c) & 1 == 1 { 1.0 } else { -1.0 };
        // Largest swing, in log-weight, that the unplaced part of the lattice can still apply
        // between two states of the vector (twice the bonds that cross a row boundary, plus the
        // closing bonds of a torus), plus the largest single-site factor. The linear-domain sweep
        // (rescaled to max 1 after each site) is exact to rounding while this stays well inside
        // f64's exponent range: a state that underflows then weighs < e^{−100} of the total.
        // Beyond it (huge β, J or h) the same sweep runs on logarithms.
        let row_swing = (0..rows)
            .map(|r| {
                (0..w)
                    .map(|c| {
                        let (_, up, left, wrap) = site_par[r * w + c];
                        up.abs() + left.abs() + wrap.abs()
                    })
                    .sum::<f64>()
            })
            .fold(0.0f64, f64::max);
        let site_swing = site_par
            .iter()
            .map(|&(hf, up, left, wrap)| hf.abs() + up.abs() + left.abs() + wrap.abs())
            .fold(0.0f64, f64::max);
        let swing = 2.0 * (row_swing + closing.iter().map(|t| t.abs()).sum::<f64>()) + site_swing;
        let log_domain = swing >= 600.0;
        // Propagate a vector through rows 1..rows (row 0 already placed); returns the logs of the
        // final vector and the log scale. In the log domain the vector holds logarithms (shifted to
        // max 0) throughout.
        let propagate = |mut v: Vec<f64>, mut lscale: f64| -> (Vec<f64>, f64) {
            if log_domain {
                for x in v.iter_mut() {
                    *x = x.ln();
                }
            }
            let mut nv = vec![0.0; nstates];
            for r in 1..rows {
                for c in 0..w {
                    let (hf, up, left, wrap) = site_par[r * w + c];
                    let bit = 1usize << c;
                    // The site's external log-weight (field, left and wrap bonds) for the four
                    // (left, column-0) spin combinations; its exponentials in the linear domain.
                    let mut tab = [[(0.0f64, 0.0f64); 2]; 2];
                    for (lb, row) in tab.iter_mut().enumerate() {
                        for (wb, slot) in row.iter_mut().enumerate() {
                            let sl = if lb == 1 { 1.0 } else { -1.0 };
                            let sw = if wb == 1 { 1.0 } else { -1.0 };
                            let ext = hf + left * sl + wrap * sw;
                            *slot = if log_domain {
                                (ext, -ext)
                            } else {
                                (ext.exp(), (-ext).exp())
                            };
                        }
                    }
                    let lshift = c.saturating_sub(1);
                    if log_domain {
                        for x in 0..nstates {
                            if x & bit != 0 {
                                continue;
                            }
                            let (v0, v1) = (v[x], v[x | bit]);
                            let lb = if c > 0 { (x >> lshift) & 1 } else { 0 };
                            let (ep, em) = tab[lb][x & 1];
                            nv[x] = em + log_add(v0 + up, v1 - up);
                            nv[x | bit] = ep + log_add(v0 - up, v1 + up);
                        }
                    } else {
                        let (eu, ed) = (up.exp(), (-up).exp());
                        for x in 0..nstates {
                            if x & bit != 0 {
                                continue;
                            }
                            let (v0, v1) = (v[x], v[x | bit]); // old spin −1 / +1
                            let lb = if c > 0 { (x >> lshift) & 1 } else { 0 };
                            let (ep, em) = tab[lb][x & 1];
                            nv[x] = em * (v0 * eu + v1 * ed);
                            nv[x | bit] = ep * (v0 * ed + v1 * eu);
                        }
                    }
                    std::mem::swap(&mut v, &mut nv);
                    if log_domain {
                        let mx = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        if mx.is_finite() {
                            v.iter_mut().for_each(|x| *x -= mx);
                            lscale += mx;
                        }
                    } else {
                        let mx = v.iter().cloned().fold(0.0f64, f64::max);
                        if mx > 0.0 {
                            v.iter_mut().for_each(|x| *x /= mx);
                            lscale += mx.ln();
                        }
                    }
                }
            }
            if !log_domain {
                for x in v.iter_mut() {
                    *x = x.ln();
                }
            }
            (v, lscale)
        };
        // Log-weight of row 0 alone (its fields and horizontal bonds).
        let row0 = |x: usize| -> f64 {
            (0..w)
                .map(|c| {
                    let (hf, _, left, wrap) = site_par[c];
                    let s = spin(x, c);
                    s * (hf
                        + if c > 0 { left * spin(x, c - 1) } else { 0.0 }
                        + if wrap != 0.0 { wrap * spin(x, 0) } else { 0.0 })
                })
                .sum()
        };
        runner.start(if torus { nstates as u64 } else { 1 }, "transfer matrix");
        let ln_z = if !torus {
            let lw: Vec<f64> = (0..nstates).map(row0).collect();
            let mx = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let v: Vec<f64> = lw.iter().map(|x| (x - mx).exp()).collect();
            let (v, ls) = propagate(v, mx);
            runner.advance(1);
            ls + log_sum_exp(&v)
        } else {
            let parts: Vec<f64> = (0..nstates)
                .into_par_iter()
                .map(|sigma| {
                    let mut v = vec![0.0; nstates];
                    v[sigma] = 1.0;
                    let (v, ls) = propagate(v, row0(sigma));
                    let close = log_sum_exp(
                        &(0..nstates)
                            .map(|tau| {
                                if v[tau] > f64::NEG_INFINITY {
                                    v[tau]
                                        + (0..w)
                                            .map(|c| closing[c] * spin(tau, c) * spin(sigma, c))
                                            .sum::<f64>()
                                } else {
                                    f64::NEG_INFINITY
                                }
                            })
                            .collect::<Vec<_>>(),
                    );
                    runner.advance(1);
                    ls + close
                })
                .collect();
            log_sum_exp(&parts)
        };
        runner.finish();
        let mut est = Estimate::new(
            ln_z - beta * m.energy_offset(),
            EstimateKind::Exact,
            "transfer",
        );
        est.diagnostics.notes.push(format!(
            "strip width {w}, {rows} rows{}; ln Z only",
            if torus {
                ", periodic (trace over the first row)"
            } else {
                ""
            }
        ));
        Ok(est)
    }
}

impl Solver for TransferMatrix {
    fn name(&self) -> &'static str {
        "transfer"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        self.run(m, runner)
    }
}
