//! ln Z of any Ising model on a square grid — any couplings, any fields, open or periodic — by
//! boundary-MPS contraction with SVD truncation.
//!
//! # The contraction
//! Order the grid in rows of width W (the narrower side). The Boltzmann weight of the first r
//! rows, summed over all but the last row's spins t, is a vector ψ_r(t) over 2^W states: the
//! *boundary state*. Adding a row is a transfer step,
//!
//!   ψ_{r+1}(t') = Π_c e^{h_c t'_c} Π_c e^{K^h_c t'_c t'_{c+1}} · Σ_t Π_c e^{K^v_c t_c t'_c} ψ_r(t),
//!
//! and Z = Σ_t ψ_last(t). We store ψ as a matrix product state (MPS): one tensor A_c[l, t_c, r]
//! per column, with bond dimensions l, r ≤ χ. The vertical bonds and the fields act on one
//! column each and leave the bond dimensions alone; the horizontal bonds form a matrix product
//! operator of bond dimension 2: the operator's bond index a copies the spin on its left,
//! e^{K s s'} = Σ_a δ(a, s) e^{K a s'}. (The symmetric split cosh K + sinh K s s' has rank two
//! as well, but at large |K| it computes the weight e^{−|K|} of a broken bond as a difference
//! of two numbers near e^{|K|}, and loses it to rounding; the copy form has only positive
//! terms.) Applying the operator doubles the bonds; a
//! QR sweep to the right and an SVD sweep back to the left then truncate them to χ with the
//! smallest possible error in the 2-norm of ψ (the Schmidt values of the canonical form).
//!
//! Boundary conditions:
//! - periodic columns: the wrap-around bond (W−1, 0) of every row is a rank-two operator too,
//!   its index carried through the columns in between (MPO bond dimension 4);
//! - periodic rows: Z = Tr T^H is a trace, not a boundary vector, so each column also carries
//!   the first row's spin f_c unchanged (a "double layer": the physical index is (t_c, f_c),
//!   dimension 4), and the last row is closed with e^{K^v t_c f_c}.
//!
//! # How good is it?
//! Write Z = Σ_t ψ_r(t) E_r(t), with E_r the weight of everything after row r. An error δψ_r
//! made at row r (truncation, or rounding at relative size u ≈ 1e-16) changes Z by
//! |Σ_t δψ_r(t) E_r(t)| ≤ ‖δψ_r‖₂ √D max E_r, while Z ≥ ‖ψ_r‖₂ min E_r because ψ ≥ 0
//! (D = 2^W, or 4^W with periodic rows). Flipping the spins of the boundary changes E_r only
//! through the vertical bonds that leave row r (and the closing bonds with periodic rows), so
//! max E_r / min E_r ≤ exp(2 Σ_c |K^v_{r,c}|). To first order, then,
//!
//!   |δ ln Z| ≤ Σ_r (‖δψ_r‖/‖ψ_r‖) √D exp(2 Σ_c |K^v_{r,c}|),
//!
//! where ‖δψ_r‖/‖ψ_r‖ ≤ Σ_cuts √(discarded Schmidt weight) + u. This bound is reported. It is
//! loose, but it is what makes the kind honest: the result is `exact` only when nothing was
//! truncated *and* the bound from rounding alone is below 1e-9 — the boundary state of a
//! width-W grid has Schmidt rank ≤ 2^⌊W/2⌋ (squared with periodic rows), so a large enough χ
//! truncates nothing. At low temperature rounding is *not* harmless: a boundary configuration
//! e^{−2β|J|} below the largest is lost to rounding even though later rows may make it the
//! dominant one, so the bound grows like e^{2βΣ|J|} and the result is labelled an
//! `approximation`. Otherwise the error is also estimated from a second contraction at χ/2
//! (an estimate, not a bound).
//!
//! Every weight is factored as e^{|x|} · (something in [0, 1]) and every tensor's scale is moved
//! into a running logarithm as soon as it is made, so nothing overflows at any β (but see the
//! rounding limit above, and the dense path below).
//!
//! # χ at the full rank: the dense path
//! When χ ≥ d^⌊W/2⌋, the largest Schmidt rank the boundary state can have, the MPS would
//! truncate nothing and only adds rounding relative to the largest entry. The solver then
//! stores ψ as a dense vector over the 2^W configurations of a row instead (with periodic rows:
//! one sweep per configuration of the first row, summed) and contracts it column by column with
//! positive arithmetic only, so every entry keeps a small *relative* error and the result is
//! exact to a counted rounding bound, however strong the couplings (`tn/dense.rs`). Below the full
//! rank the MPS runs, and its refusals and unbounded results name the χ that selects the dense
//! path when it fits the memory and time budgets.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Solver};
use crate::limits;
use crate::model::grid::{grid_shape, Bond, GridShape};
use crate::model::Model;
use crate::runner::{Iteration, Runner};
use faer::{Mat, MatRef};

mod dense;

/// Singular values below this fraction of the largest are rounding noise: dropping them does
/// not count as truncation.
const ROUNDING: f64 = 1e-14;

/// Relative error of one row's QR and SVD sweeps from rounding alone (a generous multiple of
/// the unit roundoff), used in the first-order error bound.
const ROW_ROUNDING: f64 = 1e-15;

/// The largest first-order error bound (on ln Z, from rounding alone) at which an untruncated
/// contraction is called exact.
const EXACT_BOUND: f64 = 1e-9;

/// The grid's couplings and fields in the contraction's orientation (rows of width `w`, all
/// multiplied by β).
#[derive(Debug, Clone)]
struct Lattice {
    h: usize,
    w: usize,
    periodic_rows: bool,
    periodic_cols: bool,
    /// βJ of the bond (r, c)–(r, c+1 mod w), at r·w + c.
    kh: Vec<f64>,
    /// βJ of the bond (r, c)–(r+1 mod h, c), at r·w + c.
    kv: Vec<f64>,
    /// βh of site (r, c), at r·w + c.
    field: Vec<f64>,
}

impl Lattice {
    /// The model's couplings on its grid, turned so that rows are the narrower side.
    fn new(m: &Model, g: GridShape) -> Lattice {
        Lattice::oriented(m, g, g.cols > g.rows)
    }

    /// The model's couplings on its grid, rows of the contraction = the grid's columns if
    /// `transpose`.
    fn oriented(m: &Model, g: GridShape, transpose: bool) -> Lattice {
        let (h, w) = if transpose {
            (g.cols, g.rows)
        } else {
            (g.rows, g.cols)
        };
        // Site of the model at (r, c) of the grid → index in the contraction's orientation.
        let at = |site: usize| {
            let (r, c) = (site / g.cols, site % g.cols);
            if transpose {
                c * w + r
            } else {
                r * w + c
            }
        };
        let beta = m.beta();
        let mut l = Lattice {
            h,
            w,
            periodic_rows: if transpose {
                g.periodic_cols
            } else {
                g.periodic_rows
            },
            periodic_cols: if transpose {
                g.periodic_rows
            } else {
                g.periodic_cols
            },
            kh: vec![0.0; h * w],
            kv: vec![0.0; h * w],
            field: m.fields().iter().map(|_| 0.0).collect(),
        };
        for (site, &hh) in m.fields().iter().enumerate() {
            l.field[at(site)] = beta * hh;
        }
        for (&(a, b), &j) in m.edges().iter().zip(m.couplings()) {
            // Every edge is a bond: `grid_shape` checked it.
            let bond = g.bond(a as usize, b as usize);
            let (horizontal, s) = match bond {
                Some(Bond::Horizontal(s)) => (!transpose, s),
                Some(Bond::Vertical(s)) => (transpose, s),
                None => continue,
            };
            let k = beta * j;
            if horizontal {
                l.kh[at(s)] += k;
            } else {
                l.kv[at(s)] += k;
            }
        }
        l
    }

    /// Physical dimension of a column: t, or (t, f) with periodic rows.
    fn d(&self) -> usize {
        if self.periodic_rows {
            4
        } else {
            2
        }
    }
}

/// Spin value of physical index p (its low bit is the current row's spin).
fn spin(p: usize) -> f64 {
    if p & 1 == 1 {
        1.0
    } else {
        -1.0
    }
}

/// The first row's spin f of physical index p (periodic rows).
fn first(p: usize) -> f64 {
    if p & 2 == 2 {
        1.0
    } else {
        -1.0
    }
}

/// e^{K a s − |K|} ∈ {1, e^{−2|K|}}: a bond's weight with its largest value factored out.
fn bond_weight(k: f64, a: f64, s: f64) -> f64 {
    (k * a * s - k.abs()).exp()
}

/// The spin a bond index copies (index 0 ↔ −1, 1 ↔ +1).
fn copied(a: usize) -> f64 {
    if a == 1 {
        1.0
    } else {
        -1.0
    }
}

/// One MPS tensor A[l, p, r], stored at l + dl·(p + d·r): as a (dl·d) × dr matrix
/// ("left-grouped") and as a dl × (d·dr) matrix ("right-grouped") without moving data.
#[derive(Debug, Clone)]
struct Tensor {
    dl: usize,
    d: usize,
    dr: usize,
    a: Vec<f64>,
}

impl Tensor {
    fn at(&self, l: usize, p: usize, r: usize) -> f64 {
        self.a[l + self.dl * (p + self.d * r)]
    }
    fn left(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.a, self.dl * self.d, self.dr)
    }
    fn right(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.a, self.dl, self.d * self.dr)
    }
    fn from_mat(m: &Mat<f64>, dl: usize, d: usize, dr: usize) -> Tensor {
        let mut a = Vec::with_capacity(dl * d * dr);
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                a.push(m[(i, j)]);
            }
        }
        Tensor { dl, d, dr, a }
    }
}

/// What a contraction did.
#[derive(Debug, Clone, Copy)]
struct Run {
    ln_z: f64,
    /// Largest discarded Schmidt weight Σ_{a>χ} s_a² / Σ s_a² over all cuts (0: exact).
    truncation: f64,
    /// Largest bond dimension kept.
    max_bond: usize,
    /// ln of the first-order bound on |δ ln Z| (see the module docs).
    ln_bound: f64,
}

/// The boundary MPS and its running log-scale.
struct Boundary {
    t: Vec<Tensor>,
    ln_scale: f64,
    truncation: f64,
    max_bond: usize,
    /// Σ_cuts √(discarded weight) of the current row's compression.
    row_error: f64,
}

impl Boundary {
    /// The first row: a product state carrying the fields (and f = t with periodic rows).
    fn first_row(l: &Lattice) -> Boundary {
        let d = l.d();
        let mut ln_scale = 0.0;
        let t = (0..l.w)
            .map(|c| {
                let hh = l.field[c];
                ln_scale += hh.abs();
                let a = (0..d)
                    .map(|p| {
                        if d == 4 && spin(p) != first(p) {
                            0.0
                        } else {
                            (hh * spin(p) - hh.abs()).exp()
                        }
                    })
                    .collect();
                Tensor { dl: 1, d, dr: 1, a }
            })
            .collect();
        Boundary {
            t,
            ln_scale,
            truncation: 0.0,
            max_bond: 1,
            row_error: 0.0,
        }
    }

    /// The vertical bonds from row r−1 to row r and the fields of row r: a 2 × 2 map on the
    /// current spin of each column (the first row's spin passes through).
    fn vertical(&mut self, l: &Lattice, r: usize) -> Result<()> {
        for c in 0..self.t.len() {
            let ten = &mut self.t[c];
            let k = l.kv[(r - 1) * l.w + c];
            let hh = l.field[r * l.w + c];
            self.ln_scale += k.abs() + hh.abs();
            let d = ten.d;
            let mut out = vec![0.0; ten.a.len()];
            for rr in 0..ten.dr {
                for p_new in 0..d {
                    let s_new = spin(p_new);
                    let weight_field = (hh * s_new - hh.abs()).exp();
                    for t_old in 0..2 {
                        // Same first-row spin, old current spin t_old.
                        let p_old = (p_new & 2) | t_old;
                        let wgt = (k * spin(p_old) * s_new - k.abs()).exp() * weight_field;
                        for ll in 0..ten.dl {
                            out[ll + ten.dl * (p_new + d * rr)] += wgt * ten.at(ll, p_old, rr);
                        }
                    }
                }
            }
            ten.a = out;
            self.rescale(c)?;
        }
        Ok(())
    }

    /// The horizontal bonds of row r (and its wrap-around bond) as a matrix product operator:
    /// each bond's index copies the spin on its left end and the right end takes the weight.
    fn horizontal(&mut self, l: &Lattice, r: usize) -> Result<()> {
        let w = l.w;
        // βJ of the chain bond c–(c+1), or None when it is zero (MPO bond dimension 1).
        let chain: Vec<Option<f64>> = (0..w.saturating_sub(1))
            .map(|c| Some(l.kh[r * w + c]).filter(|&k| k != 0.0))
            .collect();
        let wrap = Some(l.kh[r * w + w - 1]).filter(|&k| l.periodic_cols && k != 0.0);
        for k in chain.iter().flatten().chain(wrap.iter()) {
            self.ln_scale += k.abs();
        }
        // MPO bond dimension right of column c: chain index × wrap index.
        let chain_dim = |c: usize| {
            if c + 1 < w && chain[c].is_some() {
                2
            } else {
                1
            }
        };
        let wrap_dim = |c: usize| if wrap.is_some() && c + 1 < w { 2 } else { 1 };
        for c in 0..w {
            let ten = &self.t[c];
            let (ci, wi) = if c == 0 {
                (1, 1)
            } else {
                (chain_dim(c - 1), wrap_dim(c - 1))
            };
            let (co, wo) = (chain_dim(c), wrap_dim(c));
            let (mi, mo) = (ci * wi, co * wo);
            let (dl, d, dr) = (ten.dl * mi, ten.d, ten.dr * mo);
            let mut a = vec![0.0; dl * d * dr];
            for p in 0..d {
                let s = spin(p);
                let own = usize::from(s > 0.0);
                for a_in in 0..ci {
                    // The chain bond from the left ends here: its weight e^{K a s}.
                    let v_in = match (c > 0).then(|| chain[c - 1]).flatten() {
                        Some(k) => bond_weight(k, copied(a_in), s),
                        None => 1.0,
                    };
                    for a_out in 0..co {
                        // The chain bond to the right starts here: its index copies s.
                        if co == 2 && a_out != own {
                            continue;
                        }
                        for b_in in 0..wi {
                            for b_out in 0..wo {
                                let wrap_w = match wrap {
                                    None => 1.0,
                                    // The wrap bond starts at column 0 (copying s), runs through
                                    // the middle columns unchanged and ends at column w − 1.
                                    Some(_) if c == 0 => f64::from(u8::from(b_out == own)),
                                    Some(k) if c + 1 == w => bond_weight(k, copied(b_in), s),
                                    Some(_) => f64::from(u8::from(b_in == b_out)),
                                };
                                let f = v_in * wrap_w;
                                if f == 0.0 {
                                    continue;
                                }
                                let i_in = a_in * wi + b_in;
                                let i_out = a_out * wo + b_out;
                                for rr in 0..ten.dr {
                                    for ll in 0..ten.dl {
                                        let lnew = ll * mi + i_in;
                                        let rnew = rr * mo + i_out;
                                        a[lnew + dl * (p + d * rnew)] = f * ten.at(ll, p, rr);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            self.t[c] = Tensor { dl, d, dr, a };
            self.rescale(c)?;
        }
        Ok(())
    }

    /// Divide tensor c by its largest entry (moving it into the log-scale), so that products
    /// of many small weights across a row never underflow.
    fn rescale(&mut self, c: usize) -> Result<()> {
        let m = self.t[c].a.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
        if !(m > 0.0 && m.is_finite()) {
            return Err(Error::Numerical(format!(
                "tn: a boundary tensor became {m} (underflow or overflow at this β)"
            )));
        }
        self.t[c].a.iter_mut().for_each(|x| *x /= m);
        self.ln_scale += m.ln();
        Ok(())
    }

    /// Truncate every bond to at most χ: a QR sweep to the right (left-canonical form), then
    /// an SVD sweep back keeping the χ largest Schmidt values; norms go into the log-scale.
    fn compress(&mut self, chi: usize) -> Result<()> {
        let w = self.t.len();
        for c in 0..w - 1 {
            let ten = &self.t[c];
            let qr = ten.left().qr();
            let q = qr.compute_thin_Q();
            let rm = qr.thin_R().to_owned();
            let k = q.ncols();
            self.t[c] = Tensor::from_mat(&q, ten.dl, ten.d, k);
            let next = &self.t[c + 1];
            let prod = &rm * next.right();
            self.t[c + 1] = Tensor::from_mat(&prod, k, next.d, next.dr);
        }
        self.normalise(w - 1)?;
        for c in (1..w).rev() {
            let ten = &self.t[c];
            let svd = ten
                .right()
                .thin_svd()
                .map_err(|e| Error::Numerical(format!("tn: SVD failed ({e:?})")))?;
            let sv = svd.S().column_vector();
            let total: f64 = sv.iter().map(|x| x * x).sum();
            let smax = sv.iter().fold(0.0f64, |m, &x| m.max(x));
            let significant = sv.iter().filter(|&&x| x > ROUNDING * smax).count().max(1);
            let keep = significant.min(chi);
            if keep < significant && total > 0.0 {
                let dropped: f64 = sv.iter().skip(keep).map(|x| x * x).sum();
                self.truncation = self.truncation.max(dropped / total);
                self.row_error += (dropped / total).sqrt();
            }
            self.max_bond = self.max_bond.max(keep);
            // A_c ← V^T (kept rows); A_{c−1} ← A_{c−1} · U S.
            let v = svd.V();
            let mut vt = Mat::<f64>::zeros(keep, ten.d * ten.dr);
            for i in 0..keep {
                for j in 0..ten.d * ten.dr {
                    vt[(i, j)] = v[(j, i)];
                }
            }
            let (d, dr) = (ten.d, ten.dr);
            let u = svd.U();
            let mut us = Mat::<f64>::zeros(u.nrows(), keep);
            for j in 0..keep {
                for i in 0..u.nrows() {
                    us[(i, j)] = u[(i, j)] * sv[j];
                }
            }
            self.t[c] = Tensor::from_mat(&vt, keep, d, dr);
            let prev = &self.t[c - 1];
            let prod = prev.left() * &us;
            self.t[c - 1] = Tensor::from_mat(&prod, prev.dl, prev.d, keep);
        }
        self.normalise(0)
    }

    /// Divide tensor c by its Frobenius norm, adding the log of the norm to the scale.
    fn normalise(&mut self, c: usize) -> Result<()> {
        let norm = self.t[c].a.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err(Error::Numerical(format!(
                "tn: the boundary state's norm became {norm} (underflow or overflow)"
            )));
        }
        self.t[c].a.iter_mut().for_each(|x| *x /= norm);
        self.ln_scale += norm.ln();
        Ok(())
    }

    /// Z = Σ over the last row (closing periodic rows with the wrap-around vertical bonds).
    fn close(mut self, l: &Lattice) -> Result<f64> {
        let mut v = vec![1.0];
        for (c, ten) in self.t.iter().enumerate() {
            let k = if l.periodic_rows {
                l.kv[(l.h - 1) * l.w + c]
            } else {
                0.0
            };
            self.ln_scale += k.abs();
            let mut out = vec![0.0; ten.dr];
            for (rr, o) in out.iter_mut().enumerate() {
                for p in 0..ten.d {
                    let wgt = if l.periodic_rows {
                        (k * spin(p) * first(p) - k.abs()).exp()
                    } else {
                        1.0
                    };
                    for (ll, &x) in v.iter().enumerate() {
                        *o += x * wgt * ten.at(ll, p, rr);
                    }
                }
            }
            let m = out.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
            if !(m > 0.0 && m.is_finite()) {
                return Err(Error::Numerical(
                    "tn: the contraction vanished (underflow)".to_string(),
                ));
            }
            out.iter_mut().for_each(|x| *x /= m);
            self.ln_scale += m.ln();
            v = out;
        }
        if v[0] <= 0.0 {
            return Err(Error::Numerical(
                "tn: the truncated contraction lost positivity; increase --chi".to_string(),
            ));
        }
        Ok(self.ln_scale + v[0].ln())
    }
}

/// ln of √D · max E_r / min E_r for the boundary after row r (see the module docs).
fn ln_amplification(l: &Lattice, r: usize) -> f64 {
    let w = l.w;
    let mut k: f64 = if r + 1 < l.h {
        l.kv[r * w..(r + 1) * w].iter().map(|x| x.abs()).sum()
    } else {
        0.0
    };
    if l.periodic_rows {
        // The closing bonds from the last row to the first.
        k += l.kv[(l.h - 1) * w..].iter().map(|x| x.abs()).sum::<f64>();
    }
    0.5 * w as f64 * (l.d() as f64).ln() + 2.0 * k
}

/// Contract the lattice at bond dimension χ, reporting each row to the runner.
fn contract(l: &Lattice, chi: usize, runner: &Runner) -> Result<Run> {
    let mut b = Boundary::first_row(l);
    let mut ln_bound = f64::NEG_INFINITY;
    for r in 0..l.h {
        if r > 0 {
            b.vertical(l, r)?;
        }
        b.horizontal(l, r)?;
        b.row_error = 0.0;
        b.compress(chi)?;
        let term = (b.row_error + ROW_ROUNDING).ln() + ln_amplification(l, r);
        ln_bound = crate::numeric::log_sum_exp(&[ln_bound, term]);
        if let Some(t) = runner.iterate(Iteration::new("tn", r + 1).objective(b.ln_scale)) {
            return Err(Error::arg(format!(
                "tn: {} after {} of {} rows; a partial contraction is no estimate of ln Z",
                t.label(),
                r + 1,
                l.h
            )));
        }
    }
    let truncation = b.truncation;
    let max_bond = b.max_bond;
    Ok(Run {
        ln_z: b.close(l)?,
        truncation,
        max_bond,
        ln_bound,
    })
}

/// Boundary-MPS contraction of a square-grid model (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Tn {
    /// Largest bond dimension χ ≥ 2 of the boundary state.
    pub chi: usize,
    /// Whether to contract a second time at χ/2 for an error estimate when truncation occurred.
    pub error_estimate: bool,
}

impl Default for Tn {
    fn default() -> Self {
        Tn {
            chi: 64,
            error_estimate: true,
        }
    }
}

/// The largest χ accepted (each SVD is up to 4χ × 16χ; far above any useful value).
pub const MAX_CHI: usize = 4096;

/// The largest Schmidt rank the boundary state can have, d^⌊W/2⌋ (d = 2, or 4 for the double
/// layer of periodic rows): at χ ≥ this value nothing is ever truncated.
fn full_rank(l: &Lattice) -> f64 {
    (l.d() as f64).powi((l.w / 2).min(1000) as i32)
}

/// The grid's boundary conditions in words.
fn boundary_name(l: &Lattice) -> &'static str {
    match (l.periodic_rows, l.periodic_cols) {
        (false, false) => "open",
        (true, true) => "periodic",
        _ => "cylinder",
    }
}

impl Tn {
    /// The grid of the model, after checking χ.
    fn grid(&self, m: &Model) -> Result<GridShape> {
        if self.chi < 2 || self.chi > MAX_CHI {
            return Err(Error::arg(format!(
                "--chi must be between 2 and {MAX_CHI} for tn, got {}",
                self.chi
            )));
        }
        grid_shape(m).ok_or_else(|| Error::NotApplicable {
            method: "tn",
            reason: "needs a square grid: a built-in square lattice or a model whose spins are \
                     numbered row by row with every edge between grid neighbours"
                .to_string(),
        })
    }

    /// The lattice in the boundary MPS's orientation, after checking χ and the MPS's memory.
    #[cfg(test)]
    fn lattice(&self, m: &Model) -> Result<Lattice> {
        let l = Lattice::new(m, self.grid(m)?);
        self.check_mps(&l)?;
        Ok(l)
    }

    fn check_mps(&self, l: &Lattice) -> Result<()> {
        // The largest SVD: a (χ·m) × (d·χ·m) matrix with MPO bond m ≤ 4, plus its factors.
        let (mpo, d) = (if l.periodic_cols { 4.0 } else { 2.0 }, l.d() as f64);
        let side = self.chi as f64 * mpo;
        let bytes = 8.0 * (4.0 * side * side * d + l.w as f64 * side * side * d);
        limits::check_memory(
            "tn",
            &format!("the boundary MPS at χ = {}", self.chi),
            bytes,
        )
    }

    /// χ ≥ the full Schmidt rank: the dense, untruncated boundary state.
    fn solve_dense(&self, m: &Model, g: GridShape, full: f64, runner: &Runner) -> Result<Estimate> {
        let l = dense::orient(m, g);
        dense::check(&l, &limits::Limits::current(), self.chi, full)?;
        let run = dense::contract(&l, runner)?;
        let exact = run.bound <= EXACT_BOUND;
        let kind = if exact {
            EstimateKind::Exact
        } else {
            EstimateKind::Approximation
        };
        let offset = m.beta() * m.energy_offset();
        let mut est = Estimate::new(run.ln_z - offset, kind, "tn-dense");
        est.diagnostics.iterations = run.height;
        let starts = if run.starts > 1 {
            format!(
                ", once for each of the 2^{} configurations of the first row (periodic rows)",
                run.width
            )
        } else {
            String::new()
        };
        est.diagnostics.notes.push(format!(
            "dense boundary state (χ = {} ≥ the full Schmidt rank {full:.0}, so nothing is \
             truncated): all 2^{} configurations of a {}-column row of a {}-row × {}-column {} \
             grid, swept row by row with positive arithmetic only{starts}",
            self.chi,
            run.width,
            run.width,
            run.height,
            run.width,
            boundary_name(&l)
        ));
        if run.zeroed > 0.0 {
            est.diagnostics.notes.push(format!(
                "entries below 2^-1022 of the largest were set to zero; their effect on ln Z is \
                 bounded by {:.1e}",
                run.zeroed
            ));
        }
        if exact {
            est.diagnostics.notes.push(format!(
                "exact to rounding: |δ ln Z| ≤ {:.1e} (roundings counted on every path)",
                run.bound
            ));
        } else if !run.bound.is_finite() {
            est.diagnostics.notes.push(
                "a bond or field weight e^{-2|x|} is below the smallest normal double \
                 (|x| > 354): no rounding bound, not called exact"
                    .to_string(),
            );
        } else {
            est.diagnostics.notes.push(format!(
                "rounding bound |δ ln Z| ≤ {:.1e} is above {EXACT_BOUND:.0e}: not called exact",
                run.bound
            ));
        }
        Ok(est)
    }

    /// `--chi N` that would contract this model exactly with the dense state, if it fits.
    fn dense_hint(m: &Model, g: GridShape, full: f64) -> Option<String> {
        let l = dense::orient(m, g);
        (full <= MAX_CHI as f64 && dense::fits(&l, &limits::Limits::current())).then(|| {
            format!(
                "--chi {full:.0} (the full Schmidt rank) stores the boundary state densely and \
                 contracts it exactly"
            )
        })
    }
}

impl Solver for Tn {
    fn name(&self) -> &'static str {
        "tn"
    }
    fn solve_with(&self, m: &Model, runner: &Runner) -> Result<Estimate> {
        let g = self.grid(m)?;
        let l = Lattice::new(m, g);
        let full = full_rank(&l);
        if self.chi as f64 >= full {
            return self.solve_dense(m, g, full, runner);
        }
        self.check_mps(&l)?;
        let hint = || Tn::dense_hint(m, g, full);
        let run = contract(&l, self.chi, runner).map_err(|e| match (e, hint()) {
            (Error::Numerical(msg), Some(h)) => Error::Numerical(format!("{msg}, or {h}")),
            (e, _) => e,
        })?;
        let offset = m.beta() * m.energy_offset();
        let bound = run.ln_bound.exp();
        let exact = run.truncation == 0.0 && bound <= EXACT_BOUND;
        let kind = if exact {
            EstimateKind::Exact
        } else {
            EstimateKind::Approximation
        };
        let mut est = Estimate::new(run.ln_z - offset, kind, "tn");
        est.diagnostics.iterations = l.h;
        est.diagnostics.notes.push(format!(
            "boundary MPS on a {}-row × {}-column {} grid, χ = {} (largest bond kept {}; \
             full Schmidt rank {full:.0})",
            l.h,
            l.w,
            boundary_name(&l),
            self.chi,
            run.max_bond
        ));
        let bound_note = if bound < 1.0 {
            format!("first-order error bound |δ ln Z| ≤ {bound:.1e}")
        } else {
            let alternative = hint().unwrap_or_else(|| {
                "at low temperature use exact, or planar without fields".to_string()
            });
            format!(
                "no useful error bound: the first-order bound is e^{:.0} (truncation and \
                 rounding may be amplified that much; {alternative})",
                run.ln_bound
            )
        };
        if exact {
            est.diagnostics
                .notes
                .push(format!("no truncation: exact to rounding ({bound_note})"));
        } else if run.truncation == 0.0 {
            est.diagnostics.notes.push(format!(
                "no truncation, but rounding is not provably harmless: {bound_note}"
            ));
        } else {
            est.diagnostics.notes.push(format!(
                "truncation: largest discarded Schmidt weight {:.2e}; {bound_note}",
                run.truncation
            ));
            if self.error_estimate && run.truncation > 0.0 {
                let c2 = (self.chi / 2).max(2);
                if c2 < self.chi {
                    let r2 = contract(&l, c2, &runner.child())?;
                    let d = (run.ln_z - r2.ln_z).abs();
                    est.diagnostics.notes.push(format!(
                        "error estimate |ln Z(χ={}) − ln Z(χ={c2})| = {d:.2e} (an estimate from \
                         successive χ, not a bound)",
                        self.chi
                    ));
                }
            }
        }
        Ok(est)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::Exact;
    use crate::model::builders::random_model;
    use rand::{RngExt, SeedableRng};

    /// A rows × cols grid with random couplings and fields, numbered row-major, no geometry.
    fn random_grid(rows: usize, cols: usize, periodic: bool, scale: f64, seed: u64) -> Model {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let idx = |r: usize, c: usize| r * cols + c;
        let mut e = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                if c + 1 < cols || (periodic && cols > 2) {
                    e.push((idx(r, c), idx(r, (c + 1) % cols)));
                }
                if r + 1 < rows || (periodic && rows > 2) {
                    e.push((idx(r, c), idx((r + 1) % rows, c)));
                }
            }
        }
        let j: Vec<f64> = e
            .iter()
            .map(|_| scale * (2.0 * rng.random::<f64>() - 1.0))
            .collect();
        let h: Vec<f64> = (0..rows * cols)
            .map(|_| 0.5 * scale * (2.0 * rng.random::<f64>() - 1.0))
            .collect();
        Model::new(rows * cols, &e, &j, h, 1.0).unwrap()
    }

    #[test]
    fn exact_without_truncation_on_random_grids() {
        for (seed, (rows, cols, periodic)) in [
            (3, 4, false),
            (4, 3, false),
            (2, 5, false),
            (3, 3, true),
            (4, 3, true),
            (3, 5, true),
        ]
        .into_iter()
        .enumerate()
        {
            for scale in [0.3, 1.0, 4.0] {
                let m = random_grid(rows, cols, periodic, scale, seed as u64);
                let exact = Exact.solve(&m).unwrap().ln_z;
                let est = Tn {
                    chi: 256,
                    error_estimate: true,
                }
                .solve(&m)
                .unwrap();
                // χ = 256 is above the full rank of these widths: the dense path, exact at
                // every coupling strength.
                assert_eq!(est.kind, EstimateKind::Exact, "{rows}x{cols} {periodic}");
                assert_eq!(est.diagnostics.algorithm, "tn-dense");
                assert!(
                    (est.ln_z - exact).abs() < 1e-10 * exact.abs().max(1.0),
                    "{rows}x{cols} periodic={periodic} scale={scale}: tn {} exact {exact}",
                    est.ln_z
                );
            }
        }
    }

    #[test]
    fn truncated_is_an_approximation_that_improves_with_chi() {
        // 10 columns: full rank 2^5 = 32, so χ = 2 and 16 run the truncated MPS.
        let m = random_grid(10, 10, false, 1.0, 11);
        let exact = Exact.solve(&m).unwrap().ln_z;
        let small = Tn {
            chi: 2,
            error_estimate: false,
        }
        .solve(&m)
        .unwrap();
        let large = Tn {
            chi: 16,
            error_estimate: false,
        }
        .solve(&m)
        .unwrap();
        assert_eq!(small.kind, EstimateKind::Approximation);
        assert_eq!(large.diagnostics.algorithm, "tn");
        let (e_small, e_large) = ((small.ln_z - exact).abs(), (large.ln_z - exact).abs());
        assert!(e_large < 1e-6 * exact.abs(), "χ=16 error {e_large}");
        assert!(e_large < e_small, "{e_large} vs {e_small}");
    }

    #[test]
    fn strong_couplings_do_not_overflow_nor_claim_exactness() {
        // Torus, β|J| up to 4, χ = 64 ≥ the full rank 16: the dense path, exact.
        let m = random_grid(5, 4, true, 1.0, 5).with_beta(4.0).unwrap();
        let exact = Exact.solve(&m).unwrap().ln_z;
        let est = Tn::default().solve(&m).unwrap();
        assert!(
            (est.ln_z - exact).abs() < 1e-10 * exact.abs(),
            "{} {exact}",
            est.ln_z
        );
        assert_eq!(est.kind, EstimateKind::Exact);
        // Open grid, β|J| up to 40: broken bonds weigh e^{−80}. The dense path (χ ≥ 4) keeps
        // every configuration to a small relative error and is exact.
        let m = random_grid(5, 4, false, 1.0, 5).with_beta(40.0).unwrap();
        let exact = Exact.solve(&m).unwrap().ln_z;
        let est = Tn::default().solve(&m).unwrap();
        assert_eq!(est.kind, EstimateKind::Exact);
        assert!(
            (est.ln_z - exact).abs() < 1e-10 * exact.abs(),
            "{} {exact}",
            est.ln_z
        );
        // The MPS at χ = 2 < 4 has no useful bound there (or refuses), and says which χ
        // contracts the model exactly.
        let mps = Tn {
            chi: 2,
            error_estimate: false,
        }
        .solve(&m);
        let text = match mps {
            Ok(est) => {
                assert_eq!(est.kind, EstimateKind::Approximation);
                est.diagnostics.notes.join(" ")
            }
            Err(e) => e.to_string(),
        };
        assert!(text.contains("--chi 4 (the full Schmidt rank)"), "{text}");
    }

    /// A rows × cols torus with couplings of magnitude in [3, 5] (random signs: frustrated)
    /// and fields in [−1, 1], β = 1.
    fn strong_torus(rows: usize, cols: usize, seed: u64) -> Model {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let m = random_grid(rows, cols, true, 1.0, seed);
        let j: Vec<f64> = m
            .couplings()
            .iter()
            .map(|_| {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                sign * (3.0 + 2.0 * rng.random::<f64>())
            })
            .collect();
        let h: Vec<f64> = (0..m.n())
            .map(|_| 2.0 * rng.random::<f64>() - 1.0)
            .collect();
        let e: Vec<(usize, usize)> = m
            .edges()
            .iter()
            .map(|&(a, b)| (a as usize, b as usize))
            .collect();
        Model::new(m.n(), &e, &j, h, 1.0).unwrap()
    }

    #[test]
    fn dense_matches_elimination_on_strong_random_tori() {
        for seed in 0..3 {
            let m = strong_torus(10, 10, 40 + seed);
            let exact = Exact.solve(&m).unwrap().ln_z;
            let est = Tn {
                chi: 1024,
                error_estimate: false,
            }
            .solve(&m)
            .unwrap();
            assert_eq!(est.diagnostics.algorithm, "tn-dense");
            assert_eq!(est.kind, EstimateKind::Exact);
            let rel = (est.ln_z - exact).abs() / exact.abs();
            assert!(
                rel < 1e-10,
                "seed {seed}: tn {} exact {exact} ({rel:e})",
                est.ln_z
            );
        }
        // Open grids, cylinders either way and a torus, β|J| up to 4 or in [3, 5].
        let models = [
            cylinder(6, 9, false, false, 8).with_beta(4.0).unwrap(),
            cylinder(6, 9, true, false, 8).with_beta(4.0).unwrap(),
            cylinder(6, 9, false, true, 8).with_beta(4.0).unwrap(),
            strong_torus(6, 9, 7),
        ];
        for (k, m) in models.iter().enumerate() {
            let exact = Exact.solve(m).unwrap().ln_z;
            let est = Tn {
                chi: 64,
                error_estimate: false,
            }
            .solve(m)
            .unwrap();
            assert_eq!(est.diagnostics.algorithm, "tn-dense");
            assert_eq!(est.kind, EstimateKind::Exact);
            let rel = (est.ln_z - exact).abs() / exact.abs();
            assert!(rel < 1e-10, "model {k}: {} {exact}", est.ln_z);
        }
    }

    /// A rows × cols grid with random couplings in [−1, 1] and fields in [−½, ½], wrapping
    /// around vertically (`wrap_rows`) and/or horizontally (`wrap_cols`).
    fn cylinder(rows: usize, cols: usize, wrap_rows: bool, wrap_cols: bool, seed: u64) -> Model {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let idx = |r: usize, c: usize| r * cols + c;
        let mut e = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                if c + 1 < cols || wrap_cols {
                    e.push((idx(r, c), idx(r, (c + 1) % cols)));
                }
                if r + 1 < rows || wrap_rows {
                    e.push((idx(r, c), idx((r + 1) % rows, c)));
                }
            }
        }
        let j: Vec<f64> = e.iter().map(|_| 2.0 * rng.random::<f64>() - 1.0).collect();
        let h: Vec<f64> = (0..rows * cols)
            .map(|_| rng.random::<f64>() - 0.5)
            .collect();
        Model::new(rows * cols, &e, &j, h, 1.0).unwrap()
    }

    #[test]
    fn chi_below_the_full_rank_runs_the_mps() {
        // 6 × 6: full rank 2^3 = 8 open, 4^3 = 64 periodic.
        for (periodic, full) in [(false, 8), (true, 64)] {
            let m = random_grid(6, 6, periodic, 0.5, 3);
            let run = |chi| {
                Tn {
                    chi,
                    error_estimate: false,
                }
                .solve(&m)
                .unwrap()
            };
            let below = run(full - 1);
            assert_eq!(below.diagnostics.algorithm, "tn", "periodic {periodic}");
            assert!(below.diagnostics.notes[0].starts_with("boundary MPS"));
            let at = run(full);
            assert_eq!(at.diagnostics.algorithm, "tn-dense", "periodic {periodic}");
            assert!(at.diagnostics.notes[0].starts_with("dense boundary state"));
        }
    }

    #[test]
    fn dense_answer_does_not_depend_on_the_thread_count() {
        let m = strong_torus(6, 7, 9);
        let solve = |n| {
            crate::parallel::with_threads(n, || {
                Tn {
                    chi: 64,
                    error_estimate: false,
                }
                .solve(&m)
                .unwrap()
                .ln_z
            })
            .unwrap()
        };
        assert_eq!(solve(1).to_bits(), solve(2).to_bits());
    }

    #[test]
    fn dense_beyond_the_memory_budget_is_refused() {
        let m = random_grid(24, 24, false, 1.0, 1);
        let g = grid_shape(&m).unwrap();
        let l = dense::orient(&m, g);
        let tight = limits::Limits {
            memory: 1 << 20,
            time: 1e9,
        };
        let e = dense::check(&l, &tight, 4096, 4096.0).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::OverBudget { .. }), "{text}");
        assert!(text.contains("2^24 configurations"), "{text}");
        assert!(text.contains("above the memory limit"), "{text}");
        assert!(text.contains("χ < 4096"), "{text}");
        // The same lattice fits a generous budget.
        let roomy = limits::Limits {
            memory: 1 << 30,
            time: 1e9,
        };
        assert!(dense::check(&l, &roomy, 4096, 4096.0).is_ok());
    }

    #[test]
    fn the_error_bound_holds() {
        // Truncated contractions of random 8 × 8 grids: the first-order bound covers the error.
        for seed in 0..4 {
            let m = random_grid(8, 8, seed % 2 == 1, 0.8, 20 + seed);
            let exact = Exact.solve(&m).unwrap().ln_z;
            let l = Tn::default().lattice(&m).unwrap();
            for chi in [2, 4, 8] {
                let run = contract(&l, chi, &Runner::new()).unwrap();
                let err = (run.ln_z - m.beta() * m.energy_offset() - exact).abs();
                assert!(
                    err <= run.ln_bound.exp(),
                    "seed {seed} χ {chi}: error {err:e} > bound {:e}",
                    run.ln_bound.exp()
                );
            }
        }
    }

    #[test]
    fn refuses_non_grids_and_bad_chi() {
        let m = random_model(10, 0.5, 1.0, 0.1, 1.0, 3).unwrap();
        assert!(matches!(
            Tn::default().solve(&m),
            Err(Error::NotApplicable { .. })
        ));
        let g = random_grid(3, 3, false, 1.0, 1);
        for chi in [0, 1, MAX_CHI + 1] {
            assert!(Tn {
                chi,
                error_estimate: false
            }
            .solve(&g)
            .is_err());
        }
    }
}
