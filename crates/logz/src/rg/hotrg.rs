//! Higher-order tensor renormalisation group (HOTRG; Xie, Chen, Qin, Zhu, Yang & Xiang,
//! PRB 86, 045139 (2012)) for uniform square, triangular and simple cubic lattices.
//!
//! # The network
//! A d-dimensional hypercubic network with one tensor per site, T[x, X, y, Y, (z, Z)]: for each
//! axis a "low" leg (toward the neighbour at −1) and a "high" leg (toward +1). The Ising bond
//! e^{K s s'} = Σ_i A\[s\]\[i\] B\[s'\]\[i\] is split as in [`super::trg`]: a site's high leg carries
//! A\[s\], its neighbour's low leg B\[s'\], so T = Σ_s e^{Hs} Π_axes B\[s\]\[low\] A\[s\]\[high\]. The
//! triangular lattice enters as the square network of [`super::trg::initial_tensor`] (the
//! diagonal routed through a neighbour, legs of dimension 4).
//!
//! # One step
//! Two neighbouring tensors along one axis (the *merge* axis) are contracted into one block:
//! every other axis now has a doubled leg (dimension D²) on each side. A truncation
//! U (D² × χ, orthonormal columns) is inserted on every such bond, U Uᵀ ≈ 1, as the higher-
//! order SVD prescribes: U holds the leading eigenvectors of the environment E = M Mᵀ of the
//! block M unfolded along the low (or high) leg, and of the two the side with the smaller
//! discarded weight Σ_{a>χ} λ_a / Σ λ_a is used on both (the same U on both ends of a bond).
//! E is formed without the block: E[(o¹o²),(w¹w²)] = Σ_{k,k'} G[o¹,w¹,k,k'] G'[o²,w²,k,k'],
//! with G, G' Gram tensors of a single site, O(D^{2d+2}). The block contraction costs
//! O(D^{4d−1}) (D⁷ square, D¹¹ cubic) with at most D^{2d+2} numbers held at once (D⁸ cubic).
//! The merge axis then cycles, so every axis is coarse-grained in turn.
//!
//! # ln Z per spin
//! Each step halves the number of sites. Dividing the tensor by g_n = max|T| at step n,
//! ln Z/N = Σ_n ln g_n / 2ⁿ + ln tr(T_n)/2ⁿ, the last term being the torus of 2ⁿ sites closed
//! on itself; it is added once 2⁻ⁿ (|ln g_n| + 1) is below 1e-16 of the sum, so the finite-size
//! remainder is far below rounding. Truncation is the only approximation; its error is
//! estimated from a second run at smaller χ (see [`Hotrg`]).

use super::trg::{bond_factors, initial_tensor, LatticeKind};
use super::InfiniteLattice;
use super::TrgOutcome;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Solver};
use crate::limits;
use crate::model::Model;
use crate::runner::Runner;
use faer::linalg::matmul::matmul;
use faer::{get_global_parallelism, Accum, MatMut, MatRef};

/// A dense tensor whose legs carry labels; contraction sums over shared labels.
#[derive(Debug, Clone)]
struct Tensor {
    dims: Vec<usize>,
    labels: Vec<u32>,
    /// Row-major entries.
    data: Vec<f64>,
}

impl Tensor {
    fn pos(&self, label: u32) -> usize {
        self.labels
            .iter()
            .position(|&l| l == label)
            .expect("label present")
    }

    /// The same tensor with its legs in the order `labels`.
    fn permuted(&self, labels: &[u32]) -> Tensor {
        let perm: Vec<usize> = labels.iter().map(|&l| self.pos(l)).collect();
        let dims: Vec<usize> = perm.iter().map(|&p| self.dims[p]).collect();
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return self.clone();
        }
        // Row-major strides of the source, taken in the new order.
        let mut strides = vec![1usize; self.dims.len()];
        for i in (0..self.dims.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.dims[i + 1];
        }
        let st: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
        let n = self.data.len();
        let mut data = Vec::with_capacity(n);
        let r = dims.len();
        let mut idx = vec![0usize; r];
        let (last_d, last_s) = (dims[r - 1], st[r - 1]);
        let mut off = 0usize; // source offset of idx with idx[r−1] = 0
        while data.len() < n {
            for j in 0..last_d {
                data.push(self.data[off + j * last_s]);
            }
            // Advance the odometer over legs 0..r−1.
            let mut k = r - 1;
            loop {
                if k == 0 {
                    break;
                }
                k -= 1;
                idx[k] += 1;
                off += st[k];
                if idx[k] < dims[k] {
                    break;
                }
                off -= st[k] * dims[k];
                idx[k] = 0;
            }
        }
        Tensor {
            dims,
            labels: labels.to_vec(),
            data,
        }
    }

    /// Σ over the labels `a` and `b` share; the result's legs are a's free legs, then b's.
    fn contract(a: &Tensor, b: &Tensor) -> Tensor {
        let shared: Vec<u32> = a
            .labels
            .iter()
            .copied()
            .filter(|l| b.labels.contains(l))
            .collect();
        let fa: Vec<u32> = a
            .labels
            .iter()
            .copied()
            .filter(|l| !shared.contains(l))
            .collect();
        let fb: Vec<u32> = b
            .labels
            .iter()
            .copied()
            .filter(|l| !shared.contains(l))
            .collect();
        let dim = |t: &Tensor, ls: &[u32]| ls.iter().map(|&l| t.dims[t.pos(l)]).product::<usize>();
        let (m, k, n) = (dim(a, &fa), dim(a, &shared), dim(b, &fb));
        let ap = a.permuted(&[fa.clone(), shared.clone()].concat()); // m × k row-major
        let bp = b.permuted(&[shared.clone(), fb.clone()].concat()); // k × n row-major
        let mut data = vec![0.0; m * n];
        // Row-major C = A B is column-major Cᵀ = Bᵀ Aᵀ, and each row-major buffer read
        // column-major is the transpose.
        matmul(
            MatMut::from_column_major_slice_mut(&mut data, n, m),
            Accum::Replace,
            MatRef::from_column_major_slice(&bp.data, n, k),
            MatRef::from_column_major_slice(&ap.data, k, m),
            1.0,
            get_global_parallelism(),
        );
        let mut dims: Vec<usize> = fa.iter().map(|&l| a.dims[a.pos(l)]).collect();
        dims.extend(fb.iter().map(|&l| b.dims[b.pos(l)]));
        Tensor {
            dims,
            labels: [fa, fb].concat(),
            data,
        }
    }

    fn relabel(mut self, labels: &[u32]) -> Tensor {
        self.labels = labels.to_vec();
        self
    }
}

/// The site tensor with legs [x, X, y, Y, (z, Z)] (low, high per axis).
fn site_tensor(lattice: LatticeKind, k: f64, h: f64) -> Result<Tensor> {
    Ok(match lattice {
        LatticeKind::Cubic => {
            let (a, b) = bond_factors(k);
            let spin = [-1.0, 1.0];
            let mut data = vec![0.0; 64];
            for (idx, v) in data.iter_mut().enumerate() {
                let leg = |p: usize| (idx >> (5 - p)) & 1;
                *v = (0..2)
                    .map(|s| {
                        let mut w = (h * spin[s]).exp();
                        for ax in 0..3 {
                            w *= b[s][leg(2 * ax)] * a[s][leg(2 * ax + 1)];
                        }
                        w
                    })
                    .sum();
            }
            Tensor {
                dims: vec![2; 6],
                labels: (0..6).collect(),
                data,
            }
        }
        _ => {
            // trg's tensor is T[l, u, r, d] with l, u low and r, d high.
            let t = initial_tensor(lattice, k, h)?;
            Tensor {
                dims: vec![t.dh, t.dv, t.dh, t.dv],
                labels: vec![0, 2, 1, 3],
                data: t.data,
            }
            .permuted(&[0, 1, 2, 3])
        }
    })
}

/// The number of lattice dimensions.
fn dimension(lattice: LatticeKind) -> usize {
    match lattice {
        LatticeKind::Cubic => 3,
        _ => 2,
    }
}

/// G[i, i', j, j'] = Σ_rest T[.. i .. j ..] T[.. i' .. j' ..] over every leg but `i`, `j`.
fn gram(t: &Tensor, i: u32, j: u32) -> Tensor {
    // Relabel i, j in the second copy so they stay free.
    let b_labels: Vec<u32> = t
        .labels
        .iter()
        .map(|&l| {
            if l == i {
                1000
            } else if l == j {
                1001
            } else {
                l
            }
        })
        .collect();
    let b = t.clone().relabel(&b_labels);
    Tensor::contract(t, &b).permuted(&[i, 1000, j, 1001])
}

/// The isometry on the doubled leg of one axis: U[(o¹ o²), a] (a < χ), and its discarded
/// weight. `lo` and `hi` are the labels of the merge axis' legs in the site tensor, `leg` the
/// label of the leg being truncated.
fn isometry(t: &Tensor, leg: u32, lo: u32, hi: u32, chi: usize) -> Result<(Tensor, f64)> {
    // First site: its high merge leg is internal (k); second site: its low merge leg is.
    let g1 = gram(t, leg, hi); // [o¹, w¹, k, k']
    let g2 = gram(t, leg, lo); // [o², w², k, k']
    let d = g1.dims[0];
    let g1 = g1.relabel(&[0, 1, 10, 11]);
    let g2 = g2.relabel(&[2, 3, 10, 11]);
    let e = Tensor::contract(&g1, &g2).permuted(&[0, 2, 1, 3]); // [(o¹ o²), (w¹ w²)]
    let n = d * d;
    // E is symmetric positive semi-definite: its SVD is its eigendecomposition.
    let m = MatRef::from_column_major_slice(&e.data, n, n);
    let svd = m.thin_svd().map_err(|err| {
        Error::Numerical(format!(
            "hotrg: eigendecomposition did not converge ({err:?})"
        ))
    })?;
    let s = svd.S().column_vector();
    let lam: Vec<f64> = (0..n).map(|i| s[i]).collect();
    let total: f64 = lam.iter().sum();
    let l0 = lam.first().copied().unwrap_or(0.0);
    let keep = lam
        .iter()
        .take(chi)
        .take_while(|&&x| x > l0 * 1e-15)
        .count()
        .max(1);
    let kept: f64 = lam[..keep].iter().sum();
    let disc = if total > 0.0 {
        ((total - kept) / total).max(0.0)
    } else {
        0.0
    };
    let u = svd.U();
    let mut data = vec![0.0; n * keep];
    for r in 0..n {
        for c in 0..keep {
            data[r * keep + c] = u[(r, c)];
        }
    }
    Ok((
        Tensor {
            dims: vec![d, d, keep],
            labels: vec![0, 1, 2],
            data,
        },
        disc,
    ))
}

/// One HOTRG step merging two sites along the last axis of `t` (legs labelled 0..2d, the merge
/// axis 2d−2, 2d−1). Returns the block with legs [x, X, ...] where the merge axis comes
/// *first* (so the next step merges the next axis), and the largest discarded weight.
fn step(t: &Tensor, chi: usize) -> Result<(Tensor, f64)> {
    let r = t.labels.len() as u32;
    let m = r / 2 - 1; // axes that get truncated
    let (lo, hi) = (r - 2, r - 1);
    // Labels: first site o_i → 100+2i, O_i → 101+2i, z → 200, Z → 201 (internal k);
    // second site o_i → 300+2i, O_i → 301+2i, z → 201, Z → 202; new legs a_i → 400+2i, b_i → 401+2i.
    let mut worst: f64 = 0.0;
    let mut isos = Vec::new();
    for i in 0..m {
        let (ul, el) = isometry(t, 2 * i, lo, hi, chi)?;
        let (ur, er) = isometry(t, 2 * i + 1, lo, hi, chi)?;
        let (u, e) = if el <= er { (ul, el) } else { (ur, er) };
        worst = worst.max(e);
        isos.push(u);
    }
    let first: Vec<u32> = (0..m)
        .flat_map(|i| [100 + 2 * i, 101 + 2 * i])
        .chain([200, 201])
        .collect();
    let second: Vec<u32> = (0..m)
        .flat_map(|i| [300 + 2 * i, 301 + 2 * i])
        .chain([201, 202])
        .collect();
    let mut x = t.clone().relabel(&first);
    for (i, u) in isos.iter().enumerate() {
        let i = i as u32;
        x = Tensor::contract(
            &x,
            &u.clone().relabel(&[100 + 2 * i, 300 + 2 * i, 400 + 2 * i]),
        );
    }
    x = Tensor::contract(&x, &t.clone().relabel(&second));
    for (i, u) in isos.iter().enumerate() {
        let i = i as u32;
        x = Tensor::contract(
            &x,
            &u.clone().relabel(&[101 + 2 * i, 301 + 2 * i, 401 + 2 * i]),
        );
    }
    let order: Vec<u32> = [200, 202]
        .into_iter()
        .chain((0..m).flat_map(|i| [400 + 2 * i, 401 + 2 * i]))
        .collect();
    let out = x.permuted(&order);
    let labels: Vec<u32> = (0..r).collect();
    Ok((out.relabel(&labels), worst))
}

/// Divide T by g = max|T| and return ln g.
fn normalise(t: &mut Tensor) -> Result<f64> {
    super::trg::normalise_entries(&mut t.data, "hotrg")
}

/// ln of the one-site torus (every leg traced with its partner), if positive.
fn ln_trace(t: &Tensor) -> Option<f64> {
    let r = t.dims.len();
    let mut strides = vec![1usize; r];
    for i in (0..r - 1).rev() {
        strides[i] = strides[i + 1] * t.dims[i + 1];
    }
    let axes = r / 2;
    let mut tr = 0.0;
    let mut idx = vec![0usize; axes];
    loop {
        let off: usize = (0..axes)
            .map(|a| idx[a] * (strides[2 * a] + strides[2 * a + 1]))
            .sum();
        tr += t.data[off];
        let mut a = 0;
        loop {
            if a == axes {
                return (tr > 0.0 && tr.is_finite()).then(|| tr.ln());
            }
            idx[a] += 1;
            if idx[a] < t.dims[2 * a] {
                break;
            }
            idx[a] = 0;
            a += 1;
        }
    }
}

/// Bytes a step at bond dimension χ holds at once in `d` dimensions: the block before its last
/// truncations has up to χ^{2d+2} entries, held with a permuted copy and the product (≈ 4
/// arrays of f64).
pub fn step_bytes(chi: usize, d: usize, leg: usize) -> f64 {
    let c = chi.max(leg) as f64;
    4.0 * c.powi(2 * d as i32 + 2) * 8.0
}

/// Check χ against the memory and time budgets before anything is allocated.
pub fn check_chi(chi: usize, d: usize, leg: usize, steps: usize) -> Result<()> {
    if chi < 2 {
        return Err(Error::arg(format!(
            "--chi must be at least 2 (the bond dimension of the Ising tensor), got {chi}"
        )));
    }
    let detail = format!("bond dimension χ = {chi} in {d} dimensions");
    limits::check_memory("hotrg", &detail, step_bytes(chi, d, leg))?;
    let c = chi.max(leg) as f64;
    limits::check_work(
        "hotrg",
        &detail,
        steps as f64 * 4.0 * c.powi(4 * d as i32 - 1),
    )
}

/// What a HOTRG run measured (the same fields as a TRG run).
pub type HotrgRun = super::trg::TrgRun;

/// ln Z per spin of the infinite `lattice` at K = βJ, H = βh with bond dimension `chi`.
pub fn infinite_ln_z(
    lattice: LatticeKind,
    kk: f64,
    hh: f64,
    chi: usize,
    max_steps: usize,
) -> Result<HotrgRun> {
    let d = dimension(lattice);
    let mut t = site_tensor(lattice, kk, hh)?;
    let leg = t.dims[0];
    check_chi(chi, d, leg, max_steps)?;
    let mut acc = 0.0;
    let mut weight = 1.0; // 2^{−n}
    let mut truncation: f64 = 0.0;
    let mut max_dim = leg;
    for n in 0..=max_steps {
        let lg = normalise(&mut t)?;
        acc += weight * lg;
        let done = weight * (lg.abs() + 1.0) <= 1e-16 * acc.abs().max(1e-300);
        if done || n == max_steps {
            if let Some(lt) = ln_trace(&t) {
                acc += weight * lt;
            }
            return Ok(HotrgRun {
                ln_z: acc,
                truncation,
                steps: n,
                max_dim,
                blocked: false,
            });
        }
        let (next, disc) = step(&t, chi)?;
        truncation = truncation.max(disc);
        t = next;
        max_dim = max_dim.max(*t.dims.iter().max().unwrap_or(&0));
        weight *= 0.5;
    }
    unreachable!("the loop returns at n = max_steps")
}

/// Higher-order TRG for uniform lattices in the thermodynamic limit (`square:inf`,
/// `triangular:inf`, `cubic:inf`): ln Z per spin, kind `approximation`.
///
/// The error is estimated by a second run at χ' = ⌊3χ/4⌋ (≥ 2): |ln Z(χ) − ln Z(χ')|, which
/// over-estimates the error at χ as long as the error decreases with χ — an estimate, not a
/// bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotrg {
    /// Bond dimension χ ≥ 2.
    pub chi: usize,
    /// Most coarse-graining steps (each halves the number of sites).
    pub max_steps: usize,
    /// Whether to run the second, smaller χ for the error estimate.
    pub error_estimate: bool,
}

impl Default for Hotrg {
    fn default() -> Self {
        Hotrg {
            chi: 16,
            max_steps: 120,
            error_estimate: true,
        }
    }
}

impl Hotrg {
    /// The χ actually used on `lattice` when none was given (the cubic lattice's tensors have
    /// χ⁶ entries, so its default is smaller).
    pub fn for_lattice(chi: Option<usize>, lattice: LatticeKind) -> Hotrg {
        let default = match lattice {
            LatticeKind::Cubic => 6,
            _ => Hotrg::default().chi,
        };
        Hotrg {
            chi: chi.unwrap_or(default),
            ..Hotrg::default()
        }
    }

    /// ln Z per spin of the infinite lattice, with the error estimate.
    pub fn solve_infinite(&self, lat: &InfiniteLattice) -> Result<TrgOutcome> {
        let t0 = std::time::Instant::now();
        let (kk, hh) = (lat.beta * lat.coupling, lat.beta * lat.field);
        let run = infinite_ln_z(lat.lattice, kk, hh, self.chi, self.max_steps)?;
        let c = (3 * self.chi / 4).max(2);
        let reference = if self.error_estimate && c < self.chi {
            Some((
                c,
                infinite_ln_z(lat.lattice, kk, hh, c, self.max_steps)?.ln_z,
            ))
        } else {
            None
        };
        let mut est = Estimate::new(run.ln_z, EstimateKind::Approximation, "hotrg");
        est.diagnostics.iterations = run.steps;
        est.diagnostics.converged = true;
        let notes = &mut est.diagnostics.notes;
        notes.push("infinite lattice: ln Z and F are per spin".to_string());
        notes.push(format!(
            "HOTRG (higher-order SVD), χ = {} (largest bond reached {}), {} coarse-graining steps",
            self.chi, run.max_dim, run.steps
        ));
        notes.push(format!(
            "truncation: largest discarded weight Σ_(a>χ) λ_a / Σ λ_a = {:.2e}",
            run.truncation
        ));
        let (error_estimate, chi_reference) = match reference {
            Some((c, r)) => {
                let d = (run.ln_z - r).abs();
                notes.push(format!(
                    "error estimate |ln Z(χ={}) − ln Z(χ={c})| = {d:.2e} per spin (relative \
                     {:.1e}; an estimate from successive χ, not a bound)",
                    self.chi,
                    d / run.ln_z.abs().max(f64::MIN_POSITIVE)
                ));
                (Some(d), Some(c))
            }
            None => {
                notes.push("no error estimate (no smaller χ to compare with)".to_string());
                (None, None)
            }
        };
        est.diagnostics.seconds = t0.elapsed().as_secs_f64();
        Ok(TrgOutcome {
            estimate: est,
            error_estimate,
            chi_reference,
            truncation: run.truncation,
        })
    }
}

impl Solver for Hotrg {
    fn name(&self) -> &'static str {
        "hotrg"
    }
    fn solve_with(&self, _m: &Model, _runner: &Runner) -> Result<Estimate> {
        Err(Error::NotApplicable {
            method: "hotrg",
            reason: "hotrg solves uniform infinite lattices only: square:inf, triangular:inf, \
                     cubic:inf (use trg or tn for finite models)"
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_and_contract_agree_with_loops() {
        let a = Tensor {
            dims: vec![2, 3, 4],
            labels: vec![0, 1, 2],
            data: (0..24).map(|x| (x as f64).sin()).collect(),
        };
        let p = a.permuted(&[2, 0, 1]);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(p.data[(k * 2 + i) * 3 + j], a.data[(i * 3 + j) * 4 + k]);
                }
            }
        }
        let b = Tensor {
            dims: vec![4, 5, 2],
            labels: vec![2, 7, 0],
            data: (0..40).map(|x| (x as f64).cos()).collect(),
        };
        let c = Tensor::contract(&a, &b); // [1, 7]
        assert_eq!(c.labels, vec![1, 7]);
        for j in 0..3 {
            for l in 0..5 {
                let mut s = 0.0;
                for i in 0..2 {
                    for k in 0..4 {
                        s += a.data[(i * 3 + j) * 4 + k] * b.data[(k * 5 + l) * 2 + i];
                    }
                }
                assert!((c.data[j * 5 + l] - s).abs() < 1e-12);
            }
        }
    }

    /// ln Z of the torus of 2^steps sites that `steps` untruncated merges close on itself.
    fn torus(lattice: LatticeKind, k: f64, h: f64, steps: usize, chi: usize) -> f64 {
        let mut t = site_tensor(lattice, k, h).unwrap();
        let mut acc = 0.0;
        let mut sites = (1usize << steps) as f64;
        for _ in 0..steps {
            acc += sites * normalise(&mut t).unwrap();
            t = step(&t, chi).unwrap().0;
            sites /= 2.0;
        }
        acc + normalise(&mut t).unwrap() + ln_trace(&t).unwrap()
    }

    #[test]
    fn the_2x2x2_cubic_torus_is_exact_without_truncation() {
        // On the 2 × 2 × 2 torus every neighbour pair is joined by two bonds (one each way
        // round): enumerate the 2^8 states directly.
        let (k, h) = (0.31, -0.07);
        let mut z = 0.0;
        for s in 0..256usize {
            let spin = |x: usize, y: usize, w: usize| {
                if (s >> (x * 4 + y * 2 + w)) & 1 == 1 {
                    1.0
                } else {
                    -1.0
                }
            };
            let mut e = 0.0;
            for x in 0..2 {
                for y in 0..2 {
                    for w in 0..2 {
                        let v = spin(x, y, w);
                        e += h * v;
                        e += k * v * (spin(1 - x, y, w) + spin(x, 1 - y, w) + spin(x, y, 1 - w));
                    }
                }
            }
            z += f64::exp(e);
        }
        let got = torus(LatticeKind::Cubic, k, h, 3, 16);
        assert!((got - z.ln()).abs() < 1e-11, "{got} vs {}", z.ln());
        // And the 4 × 4 square torus (16 sites, 4 merges) against enumeration.
        let mut z = 0.0;
        for s in 0..(1usize << 16) {
            let spin = |r: usize, c: usize| {
                if (s >> ((r % 4) * 4 + c % 4)) & 1 == 1 {
                    1.0
                } else {
                    -1.0
                }
            };
            let mut e = 0.0;
            for r in 0..4 {
                for c in 0..4 {
                    let v = spin(r, c);
                    e += h * v + k * v * (spin(r + 1, c) + spin(r, c + 1));
                }
            }
            z += f64::exp(e);
        }
        let got = torus(LatticeKind::Square, k, h, 4, 16);
        assert!((got - z.ln()).abs() < 1e-11, "{got} vs {}", z.ln());
    }

    #[test]
    fn without_truncation_a_step_is_exact() {
        // A 2 × 2 torus of the square lattice: the trace after one step (χ = 4, nothing cut)
        // equals the trace of the two-site block, which is Z of the 2-site-per-axis… compared
        // here with direct enumeration of the 2 × 1 torus with doubled bonds.
        let k = 0.37;
        let h = 0.11;
        let t = site_tensor(LatticeKind::Square, k, h).unwrap();
        let (b, disc) = step(&t, 4).unwrap();
        assert!(disc < 1e-14);
        // Torus of two sites along the merge axis, one along the other: each pair of sites is
        // joined by two bonds along the merge axis, and each site has a self-bond (e^{K}) on the
        // other axis.
        let mut z = 0.0;
        for s1 in [-1.0f64, 1.0] {
            for s2 in [-1.0f64, 1.0] {
                z += (2.0 * k * s1 * s2 + 2.0 * k + h * (s1 + s2)).exp();
            }
        }
        let tr = ln_trace(&b).unwrap();
        assert!((tr - z.ln()).abs() < 1e-12, "{tr} vs {}", z.ln());
    }
}
