//! Tensor renormalisation group: Levin–Nave TRG with bond weights (BTRG).
//!
//! # The network
//! Z of a uniform Ising model on the square lattice is the contraction of a square-lattice
//! network of one tensor per site, T_{lurd} = Σ_s e^{Hs} B_{sl} B_{su} A_{sr} A_{sd}, where each
//! bond's Boltzmann factor is split as e^{K s s'} = Σ_i A_{si} B_{s'i} (A_{s0} = B_{s0} = √cosh K,
//! A_{s1} = s √|sinh K|, B_{s1} = sgn(K) s √|sinh K|: any sign of K, no complex numbers).
//! The triangular lattice is the square lattice plus one diagonal per plaquette; routing each
//! diagonal bond through the right-hand neighbour (leg dimension 4 = bond ⊗ passing diagonal)
//! turns it into the same square network, so one engine serves both.
//!
//! # One coarse-graining step (Levin & Nave, PRL 99, 120601 (2007))
//! Split T twice by a truncated SVD, T_{(lu),(rd)} ≈ Σ_a U_{(lu)a} s_a V_{(rd)a} and
//! T_{(ur),(dl)} ≈ Σ_b U'_{(ur)b} s'_b V'_{(dl)b}, keeping the χ largest singular values, and
//! contract the four half-tensors around each plaquette into a tensor of the lattice rotated
//! by 45° with half as many sites. Bond-weighted TRG (Adachi, Okubo & Todo, PRB 105, L060402
//! (2022)) gives the half-tensors s^{(1−k)/2} each and leaves s^k on the new bond as a diagonal
//! *bond weight*, contracted into the next step; k = 0 is plain TRG, k = −½ (the default) is the
//! choice the paper found near-optimal, at the same O(χ⁶) cost.
//!
//! # Numerics
//! Every step divides T by g_n = max|T|, so entries stay O(1); with N_n = N/2ⁿ sites at step n,
//! ln Z = Σ_n N_n ln g_n + ln Z(normalised network at the last step). On a 2^k × 2^k torus the
//! network is a single site after 2k steps, and ln Z(1 site) = ln Σ_{ij} T_{ijij} w_i w'_j is
//! the trace with the bond weights. For the infinite lattice, ln Z/N = Σ_n ln g_n / 2ⁿ; once the
//! normalised tensor reaches a fixed point (g_n stops changing), the rest of the series sums to
//! ln g_n / 2ⁿ. Truncation is the only approximation: the discarded weight
//! Σ_{a>χ} s_a² / Σ_a s_a² of each SVD is recorded, and the error of ln Z is estimated by a
//! second run at a smaller χ (see [`super::Trg`]): an estimate, not a bound.

use crate::error::{Error, Result};
use crate::limits;
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{get_global_parallelism, Accum, Mat, MatMut, MatRef, Par, Side};

pub mod z2;
pub use z2::Parity;

/// Which uniform lattice a tensor network describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LatticeKind {
    /// The square lattice (coordination 4).
    Square,
    /// The triangular lattice (coordination 6).
    Triangular,
    /// The simple cubic lattice (coordination 6; `hotrg` only).
    Cubic,
}

impl LatticeKind {
    /// The spec name (`square`, `triangular`).
    pub fn name(self) -> &'static str {
        match self {
            LatticeKind::Square => "square",
            LatticeKind::Triangular => "triangular",
            LatticeKind::Cubic => "cubic",
        }
    }
}

/// A four-leg tensor T[l, u, r, d] (row-major) with bond weights on its horizontal (l–r) and
/// vertical (u–d) bonds.
#[derive(Debug, Clone)]
pub struct SiteTensor {
    /// Horizontal leg dimension (l and r).
    pub dh: usize,
    /// Vertical leg dimension (u and d).
    pub dv: usize,
    /// Entries, index ((l·dv + u)·dh + r)·dv + d.
    pub data: Vec<f64>,
    /// Weight on every horizontal bond (length dh).
    pub wh: Vec<f64>,
    /// Weight on every vertical bond (length dv).
    pub wv: Vec<f64>,
    /// The Z2 grading of the legs' indices when T is Z2-even under it (zero field; see
    /// [`z2`]), else `None`.
    pub parity: Option<Parity>,
}

impl SiteTensor {
    fn at(&self, l: usize, u: usize, r: usize, d: usize) -> f64 {
        self.data[((l * self.dv + u) * self.dh + r) * self.dv + d]
    }
}

/// The split e^{K s s'} = Σ_i A[s][i] B[s'][i] of one bond (spin index 0 ↦ −1, 1 ↦ +1).
pub(crate) fn bond_factors(k: f64) -> ([[f64; 2]; 2], [[f64; 2]; 2]) {
    let c = k.cosh().sqrt();
    let sh = k.sinh();
    let s = sh.abs().sqrt();
    let sg = if sh < 0.0 { -1.0 } else { 1.0 };
    let a = [[c, -s], [c, s]];
    let b = [[c, -sg * s], [c, sg * s]];
    (a, b)
}

/// The site tensor of the uniform model with K = βJ, H = βh on `lattice`; the cubic lattice
/// has no four-leg tensor (it is `hotrg`'s: see [`super::hotrg`]).
pub fn initial_tensor(lattice: LatticeKind, k: f64, h: f64) -> Result<SiteTensor> {
    let (a, b) = bond_factors(k);
    let spin = [-1.0, 1.0];
    Ok(z2::graded(match lattice {
        LatticeKind::Cubic => {
            return Err(Error::NotApplicable {
                method: "trg",
                reason: "trg contracts planar (square, triangular) networks; the cubic lattice \
                         needs --method hotrg"
                    .to_string(),
            })
        }
        LatticeKind::Square => {
            let mut data = vec![0.0; 16];
            for l in 0..2 {
                for u in 0..2 {
                    for r in 0..2 {
                        for d in 0..2 {
                            data[((l * 2 + u) * 2 + r) * 2 + d] = (0..2)
                                .map(|s| {
                                    (h * spin[s]).exp() * b[s][l] * b[s][u] * a[s][r] * a[s][d]
                                })
                                .sum();
                        }
                    }
                }
            }
            SiteTensor {
                dh: 2,
                dv: 2,
                data,
                wh: vec![1.0; 2],
                wv: vec![1.0; 2],
                parity: None,
            }
        }
        LatticeKind::Triangular => {
            // Legs of dimension 4 = (bond index i, diagonal index p), combined as 2i + p.
            // L = (horizontal bond, diagonal of the left neighbour passing through),
            // U = (vertical bond, diagonal arriving from the upper-left site),
            // R = (horizontal bond, this site's own diagonal, leaving to the right),
            // D = (vertical bond, the passing diagonal, continuing down to its end).
            let mut data = vec![0.0; 256];
            for il in 0..2 {
                for pl in 0..2 {
                    for iu in 0..2 {
                        for q in 0..2 {
                            for ir in 0..2 {
                                for e in 0..2 {
                                    for id in 0..2 {
                                        let v: f64 = (0..2)
                                            .map(|s| {
                                                (h * spin[s]).exp()
                                                    * b[s][il]
                                                    * b[s][iu]
                                                    * b[s][q]
                                                    * a[s][ir]
                                                    * a[s][e]
                                                    * a[s][id]
                                            })
                                            .sum();
                                        let (l, u, r, d) =
                                            (2 * il + pl, 2 * iu + q, 2 * ir + e, 2 * id + pl);
                                        data[((l * 4 + u) * 4 + r) * 4 + d] = v;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            SiteTensor {
                dh: 4,
                dv: 4,
                data,
                wh: vec![1.0; 4],
                wv: vec![1.0; 4],
                parity: None,
            }
        }
    }))
}

/// A truncated SVD M ≈ Σ_a U_a s_a V_aᵀ: the kept columns and values, and the discarded
/// fraction Σ_{a>χ} s_a² / Σ_a s_a².
pub(super) struct Split {
    u: Mat<f64>,
    s: Vec<f64>,
    v: Mat<f64>,
    discarded: f64,
}

/// Singular values below this fraction of the largest are dropped even when χ allows them
/// (they are rounding noise).
pub(super) const REL_CUTOFF: f64 = 1e-14;

/// The truncated SVD of `m` keeping at most `chi` values (see [`Split`]).
///
/// Small matrices get a full thin SVD. Large ones (min dimension > 3(χ + p)) get a randomised
/// range finder with subspace iteration (Halko, Martinsson & Tropp, SIAM Rev. 53, 217 (2011)):
/// Q = orth((M Mᵀ)^q M Ω) for a fixed pseudo-random Ω with χ + p columns (p = `over`), then the
/// SVD of the small matrix Qᵀ M, taken as the square SVD of R in MᵀQ = ZR (so no wide SVD).
/// It costs O(χ⁴ (χ + p) q) instead of O(χ⁶), and each power iteration multiplies the error of
/// the kept subspace by (s_{χ+p}/s_χ)² — with p = χ (dense) or χ/4 per Z2 block and
/// q = `power` the kept singular triplets agree with the exact SVD far below the truncation
/// itself (tested).
pub(super) fn truncated_svd(
    m: MatRef<'_, f64>,
    chi: usize,
    power: usize,
    over: usize,
) -> Result<Split> {
    let (rows, cols) = (m.nrows(), m.ncols());
    let over = over.max(1);
    let r = chi + over;
    let total = m.squared_norm_l2();
    let fail =
        |e: &dyn std::fmt::Debug| Error::Numerical(format!("trg: SVD did not converge ({e:?})"));
    let (u, all, v) = if power == 0 || rows.min(cols) <= 3 * r {
        let svd = m.thin_svd().map_err(|e| fail(&e))?;
        let sv = svd.S().column_vector();
        let all: Vec<f64> = (0..sv.nrows()).map(|i| sv[i]).collect();
        (svd.U().to_owned(), all, svd.V().to_owned())
    } else {
        // A fixed, reproducible test matrix Ω (cols × r), entries uniform in (−1, 1).
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let omega = Mat::<f64>::from_fn(cols, r, |_, _| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        });
        let mut q = orthonormal(m * &omega, false).0;
        for _ in 0..power {
            let z = orthonormal(m.transpose() * &q, false).0;
            q = orthonormal(m * &z, false).0;
        }
        // M ≈ Q Qᵀ M. With MᵀQ = Z R (Cholesky QR again) and the small square SVD
        // R = U_R S W_Rᵀ: QᵀM = Rᵀ Zᵀ = W_R S (Z U_R)ᵀ, so M ≈ (Q W_R) S (Z U_R)ᵀ.
        let (z, r_small) = orthonormal(m.transpose() * &q, true);
        let r_small = r_small.expect("R was asked for");
        let svd = r_small.thin_svd().map_err(|e| fail(&e))?;
        let sv = svd.S().column_vector();
        let all: Vec<f64> = (0..sv.nrows()).map(|i| sv[i]).collect();
        (&q * svd.V(), all, &z * svd.U())
    };
    let s0 = all.first().copied().unwrap_or(0.0);
    let k = all
        .iter()
        .take(chi)
        .take_while(|&&x| x > s0 * REL_CUTOFF)
        .count()
        .max(1);
    let kept: f64 = all[..k].iter().map(|x| x * x).sum();
    let discarded = if total > 0.0 {
        ((total - kept) / total).max(0.0)
    } else {
        0.0
    };
    Ok(Split {
        u: u.subcols(0, k).to_owned(),
        s: all[..k].to_vec(),
        v: v.subcols(0, k).to_owned(),
        discarded,
    })
}

/// An orthonormal basis of the columns of `y` (m × r, m ≥ r) by shifted Cholesky QR
/// (CholeskyQR3: Fukaya, Kannan, Nakatsukasa, Yamamoto & Yanagisawa, SIAM J. Sci. Comput. 42,
/// A477 (2020)). Each pass factors the Gram matrix G = YᵀY = LLᵀ and replaces Y by YL⁻ᵀ. Plain
/// Cholesky QR squares the condition number and fails beyond cond(Y) ~ 10⁸; the first pass
/// therefore factors G + sI with s = 11(mr + r(r + 1)) ε ‖Y‖²_F, which always succeeds and
/// leaves a basis of condition O(1), and two unshifted passes restore orthogonality to
/// rounding — stable up to cond(Y) ~ 1/ε. Returns Q and the upper-triangular R with Y = QR.
/// It costs two r × m × r products per pass, where Householder QR of these tall, thin
/// range-finder blocks spent most of its time in overflow-safe column norms. Householder QR
/// remains the fallback if a factorisation fails.
fn orthonormal(mut y: Mat<f64>, want_r: bool) -> (Mat<f64>, Option<Mat<f64>>) {
    let (m, r) = (y.nrows(), y.ncols());
    // Y₀ = Y_k L_kᵀ ⋯ L_1ᵀ: R accumulates the factors from the left.
    let mut rr = want_r.then(|| Mat::<f64>::identity(r, r));
    for pass in 0..3 {
        let mut g = Mat::<f64>::zeros(r, r);
        matmul(
            g.as_mut(),
            Accum::Replace,
            y.transpose(),
            y.as_ref(),
            1.0,
            Par::Seq,
        );
        if pass == 0 {
            let norm2: f64 = (0..r).map(|i| g[(i, i)]).sum();
            let shift = 11.0 * ((m * r + r * (r + 1)) as f64) * f64::EPSILON * norm2;
            for i in 0..r {
                g[(i, i)] += shift;
            }
        }
        match g.llt(Side::Lower) {
            Ok(c) => {
                // Y L⁻ᵀ: solve L X = Yᵀ in place on the transposed view.
                solve_lower_triangular_in_place(c.L(), y.as_mut().transpose_mut(), Par::Seq);
                if let Some(acc) = rr.as_mut() {
                    *acc = c.L().transpose() * &*acc;
                }
            }
            Err(_) => {
                let q = y.qr().compute_thin_Q();
                let r_k = rr.map(|acc| q.transpose() * &y * acc);
                return (q, r_k);
            }
        }
    }
    (y, rr)
}

/// Bytes a step at bond dimension χ may hold at once (about ten χ⁴ arrays of f64).
pub fn step_bytes(chi: usize, leg: usize) -> f64 {
    let d = chi.max(leg) as f64;
    10.0 * d.powi(4) * 8.0
}

/// Check χ against the memory and time budgets before anything is allocated.
pub fn check_chi(chi: usize, leg: usize, steps: usize) -> Result<()> {
    if chi < 2 {
        return Err(Error::arg(format!(
            "--chi must be at least 2 (the bond dimension of the Ising tensor), got {chi}"
        )));
    }
    let detail = format!("bond dimension χ = {chi}");
    limits::check_memory("trg", &detail, step_bytes(chi, leg))?;
    // Two SVDs of χ² × χ² matrices (~20 (χ²)³ operations each) and an O(χ⁶) contraction per step.
    let d = chi.max(leg) as f64;
    limits::check_work("trg", &detail, steps as f64 * 42.0 * d.powi(6))
}

/// The four half-tensor factors of one step, before the bond weights are applied: the
/// truncated splits T[(l,u),(r,d)] ≈ Σ_a U1[(l,u),a] s1_a V1[(r,d),a] and
/// T[(u,r),(d,l)] ≈ Σ_b U2[(u,r),b] s2_b V2[(d,l),b].
pub(super) struct Halves {
    pub(super) u1: Mat<f64>,
    pub(super) v1: Mat<f64>,
    pub(super) s1: Vec<f64>,
    pub(super) u2: Mat<f64>,
    pub(super) v2: Mat<f64>,
    pub(super) s2: Vec<f64>,
    /// The larger discarded weight of the two splits.
    pub(super) discarded: f64,
    /// Parities of the new indices a (split 1) and b (split 2) when the step kept the Z2
    /// grading (see [`z2`]).
    pub(super) parity: Option<Parity>,
}

/// One BTRG step: the coarse tensor (not yet normalised) and the larger discarded weight of
/// the two splits. `k` is the bond-weight exponent (0 = plain TRG). A Z2-graded tensor (zero
/// field) is split and contracted block by block when `symmetric` (see [`z2`]); the result is
/// the same up to rounding.
fn step(
    t: &SiteTensor,
    chi: usize,
    k: f64,
    power: usize,
    symmetric: bool,
) -> Result<(SiteTensor, f64)> {
    let halves = match (&t.parity, symmetric) {
        (Some(par), true) => z2::split(t, par, chi, power)?,
        _ => dense_split(t, chi, power)?,
    };
    Ok((contract(t, &halves, k), halves.discarded))
}

/// The two truncated splits of a dense tensor.
fn dense_split(t: &SiteTensor, chi: usize, power: usize) -> Result<Halves> {
    let (dh, dv) = (t.dh, t.dv);
    let n = dh * dv;
    // The two splits are independent: on two threads they run side by side (each SVD is
    // mostly small, latency-bound products that one thread cannot overlap).
    let (sp1, sp2) = rayon::join(
        || {
            // Split 1: M1[(l,u),(r,d)] = T[l,u,r,d]. The row-major buffer read column-major
            // is M1ᵀ, whose SVD M1ᵀ = U' s V'ᵀ gives M1 = V' s U'ᵀ.
            truncated_svd(
                MatRef::from_column_major_slice(&t.data, n, n),
                chi,
                power,
                chi.max(8),
            )
        },
        || {
            // Split 2: M2[(u,r),(d,l)] = T[l,u,r,d], built column-major: for each column
            // (d,l) the rows (u,r) are read from T with stride dv in r.
            let mut m2 = vec![0.0; n * n];
            for d in 0..dv {
                for l in 0..dh {
                    let col = &mut m2[n * (d * dh + l)..n * (d * dh + l + 1)];
                    for u in 0..dv {
                        for r in 0..dh {
                            col[u * dh + r] = t.data[((l * dv + u) * dh + r) * dv + d];
                        }
                    }
                }
            }
            truncated_svd(
                MatRef::from_column_major_slice(&m2, n, n),
                chi,
                power,
                chi.max(8),
            )
        },
    );
    let (sp1, sp2) = (sp1?, sp2?);
    Ok(Halves {
        discarded: sp1.discarded.max(sp2.discarded),
        u1: sp1.v,
        v1: sp1.u,
        s1: sp1.s,
        u2: sp2.u,
        v2: sp2.v,
        s2: sp2.s,
        parity: None,
    })
}

/// Contract the four half-tensors around a plaquette into the coarse tensor.
///
/// Matrices are column-major views of flat buffers; the permutations between contractions are
/// plain loops (O(χ⁴)), the contractions are matrix products (the last one, O(χ⁶), writes the
/// coarse tensor's row-major buffer directly).
fn contract(t: &SiteTensor, hv: &Halves, k: f64) -> SiteTensor {
    let (dh, dv) = (t.dh, t.dv);
    let alpha = (1.0 - k) / 2.0;
    let (u1, v1) = (&hv.u1, &hv.v1); // U1[(l,u),a], V1[(r,d),a]
    let (u2, v2) = (&hv.u2, &hv.v2); // U2[(u,r),b], V2[(d,l),b]
    let (k1, k2) = (hv.s1.len(), hv.s2.len());
    let h1: Vec<f64> = hv.s1.iter().map(|x| x.powf(alpha)).collect();
    let h2: Vec<f64> = hv.s2.iter().map(|x| x.powf(alpha)).collect();
    // Half-tensors: S1[l,u,a] = U1[(l,u),a] h1_a, S3[a,r,d] = h1_a V1[(r,d),a],
    //               S2[u,r,b] = U2[(u,r),b] h2_b, S4[b,d,l] = h2_b V2[(d,l),b].
    // Coarse tensor T'[a,b,c,d] = Σ S3[a,x,w] S4[b,y,x] S1[z,y,c] S2[w,z,d]
    //                                · wh[x] wh[z] wv[w] wv[y]  (old bonds in the plaquette).
    // P[(a,w),(b,y)] = Σ_x S3[a,x,w] wh[x] S4[b,y,x].
    // (Explicit loops: index arithmetic without divisions.)
    let mut a1 = Mat::<f64>::zeros(k1 * dv, dh);
    let mut b1 = Mat::<f64>::zeros(dh, k2 * dv);
    for x in 0..dh {
        for a in 0..k1 {
            for w in 0..dv {
                a1[(a * dv + w, x)] = h1[a] * v1[(x * dv + w, a)] * t.wh[x];
            }
        }
        for b in 0..k2 {
            for y in 0..dv {
                b1[(x, b * dv + y)] = h2[b] * v2[(y * dh + x, b)];
            }
        }
    }
    let p = &a1 * &b1;
    drop((a1, b1));
    // Q[(y,c),(w,d)] = Σ_z S1[z,y,c] wh[z] S2[w,z,d].
    let mut a2 = Mat::<f64>::zeros(dv * k1, dh);
    let mut b2 = Mat::<f64>::zeros(dh, dv * k2);
    for z in 0..dh {
        for y in 0..dv {
            for c in 0..k1 {
                a2[(y * k1 + c, z)] = u1[(z * dv + y, c)] * h1[c] * t.wh[z];
            }
        }
        for w in 0..dv {
            for d in 0..k2 {
                b2[(z, w * k2 + d)] = u2[(w * dh + z, d)] * h2[d];
            }
        }
    }
    let q = &a2 * &b2;
    drop((a2, b2));
    // T'[(a,b),(c,d)] = Σ_{(w,y)} L[(a,b),(w,y)] R[(w,y),(c,d)] with
    // L = P[(a,w),(b,y)] wv[w] wv[y] and R = Q[(y,c),(w,d)].
    let data = match (&hv.parity, &t.parity) {
        (Some(new), Some(old)) => z2::product(&p, &q, &old.v, &t.wv, new),
        _ => dense_product(&p, &q, &t.wv, k1, k2),
    };
    SiteTensor {
        dh: k1,
        dv: k2,
        data,
        wh: hv.s1.iter().map(|x| x.powf(k)).collect(),
        wv: hv.s2.iter().map(|x| x.powf(k)).collect(),
        parity: hv.parity.clone(),
    }
}

/// The last, O(χ⁶) contraction T'[(a,b),(c,d)] = Σ_{(w,y)} L[(a,b),(w,y)] R[(w,y),(c,d)],
/// computed transposed, T'ᵀ = Rᵀ Lᵀ, whose column-major buffer is T' row-major.
fn dense_product(p: &Mat<f64>, q: &Mat<f64>, wv: &[f64], k1: usize, k2: usize) -> Vec<f64> {
    let dv = wv.len();
    let kk = k1 * k2;
    let dd = dv * dv;
    // The permutations read P and Q down their (contiguous) columns.
    let mut lt = vec![0.0; dd * kk]; // Lᵀ[(w,y),(a,b)]
    for b in 0..k2 {
        for y in 0..dv {
            let pcol = p.col(b * dv + y).try_as_col_major().expect("owned column");
            let pcol = pcol.as_slice();
            for a in 0..k1 {
                let block = &mut lt[dd * (a * k2 + b)..dd * (a * k2 + b + 1)];
                for w in 0..dv {
                    block[w * dv + y] = pcol[a * dv + w] * wv[w] * wv[y];
                }
            }
        }
    }
    let mut rt = vec![0.0; kk * dd]; // Rᵀ[(c,d),(w,y)]
    for w in 0..dv {
        for d in 0..k2 {
            let qcol = q.col(w * k2 + d).try_as_col_major().expect("owned column");
            let qcol = qcol.as_slice();
            for y in 0..dv {
                let block = &mut rt[kk * (w * dv + y)..kk * (w * dv + y + 1)];
                for c in 0..k1 {
                    block[c * k2 + d] = qcol[y * k1 + c];
                }
            }
        }
    }
    let mut data = vec![0.0; kk * kk];
    matmul(
        MatMut::from_column_major_slice_mut(&mut data, kk, kk),
        Accum::Replace,
        MatRef::from_column_major_slice(&rt, kk, dd),
        MatRef::from_column_major_slice(&lt, dd, kk),
        1.0,
        get_global_parallelism(),
    );
    data
}

/// Divide T by g = max|T| and return ln g.
fn normalise(t: &mut SiteTensor) -> Result<f64> {
    normalise_entries(&mut t.data, "trg")
}

/// Divide the entries of a coarse-grained tensor by g = max|entry| and return ln g (shared by
/// `trg` and `hotrg`, named by `method` in the error when g is zero or not finite).
pub(crate) fn normalise_entries(data: &mut [f64], method: &str) -> Result<f64> {
    let g = data.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if !(g.is_finite() && g > 0.0) {
        return Err(Error::Numerical(format!(
            "{method}: the coarse-grained tensor has max |T| = {g}; reduce β or the couplings"
        )));
    }
    data.iter_mut().for_each(|x| *x /= g);
    Ok(g.ln())
}

/// ln of the one-site torus Σ_{ij} T[i,j,i,j] wh_i wv_j (the network's last site), or None
/// when truncation has made it non-positive.
fn ln_trace(t: &SiteTensor) -> Option<f64> {
    let mut tr = 0.0;
    for i in 0..t.dh {
        for j in 0..t.dv {
            tr += t.at(i, j, i, j) * t.wh[i] * t.wv[j];
        }
    }
    (tr > 0.0 && tr.is_finite()).then(|| tr.ln())
}

/// What a TRG run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TrgRun {
    /// ln Z per spin (infinite lattice) or ln Z (finite torus).
    pub ln_z: f64,
    /// Largest discarded weight Σ_{a>χ} s_a² / Σ_a s_a² over all splits.
    pub truncation: f64,
    /// Coarse-graining steps run.
    pub steps: usize,
    /// Whether every step split and contracted Z2 blocks (zero field, `symmetric` on).
    pub blocked: bool,
    /// Largest bond dimension actually reached.
    pub max_dim: usize,
}

/// Settings of a TRG run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrgParams {
    /// Maximal bond dimension χ ≥ 2.
    pub chi: usize,
    /// Bond-weight exponent k (0: Levin–Nave TRG; −½: bond-weighted TRG, the default).
    pub k: f64,
    /// Most coarse-graining steps for the infinite lattice (each halves the number of sites).
    pub max_steps: usize,
    /// Power iterations of the randomised SVD (0: exact SVD at every step).
    pub power: usize,
    /// Split and contract a zero-field (Z2-even) network block by block ([`z2`]): about a
    /// quarter of the O(χ⁶) work and half the SVD work, the same numbers up to rounding.
    /// Off: the dense path at every step.
    pub symmetric: bool,
}

impl Default for TrgParams {
    fn default() -> Self {
        TrgParams {
            chi: 24,
            k: -0.5,
            max_steps: 60,
            power: 1,
            symmetric: true,
        }
    }
}

/// ln Z per spin of the infinite `lattice` at K = βJ, H = βh.
pub fn infinite_ln_z(lattice: LatticeKind, kk: f64, hh: f64, p: &TrgParams) -> Result<TrgRun> {
    let mut t = initial_tensor(lattice, kk, hh)?;
    check_chi(p.chi, t.dh.max(t.dv), p.max_steps)?;
    let mut acc = 0.0;
    let mut weight = 1.0; // 2^{−n}
    let mut truncation: f64 = 0.0;
    let mut max_dim = t.dh.max(t.dv);
    let mut prev = f64::NAN;
    for n in 0..p.max_steps {
        let lg = normalise(&mut t)?;
        acc += weight * lg;
        // The rest of the series, Σ_{m>n} ln g_m 2^{−m}, equals ln g_n 2^{−n} up to
        // (ln g_{n+1} − ln g_n) 2^{−n}: at a fixed point of the flow exactly, near one to
        // that order. Stop once that correction is negligible.
        if n >= 8 && weight * (lg - prev).abs() <= 1e-15 * acc.abs().max(1e-300) {
            return Ok(TrgRun {
                ln_z: acc + weight * lg,
                truncation,
                steps: n,
                max_dim,
                blocked: t.parity.is_some() && p.symmetric,
            });
        }
        prev = lg;
        let (next, disc) = step(&t, p.chi, p.k, p.power, p.symmetric)?;
        truncation = truncation.max(disc);
        t = next;
        max_dim = max_dim.max(t.dh.max(t.dv));
        weight *= 0.5;
    }
    let lg = normalise(&mut t)?;
    acc += weight * lg;
    // Whatever is left is O(2^{−max_steps}); the one-site trace is the best cheap estimate.
    if let Some(lt) = ln_trace(&t) {
        acc += weight * lt;
    }
    Ok(TrgRun {
        ln_z: acc,
        truncation,
        steps: p.max_steps,
        max_dim,
        blocked: t.parity.is_some() && p.symmetric,
    })
}

/// ln Z of the uniform `lattice` on an L × L torus, L = 2^levels ≥ 4, at K = βJ, H = βh:
/// 2·levels steps, then the trace of the last site.
pub fn torus_ln_z(
    lattice: LatticeKind,
    l: usize,
    kk: f64,
    hh: f64,
    p: &TrgParams,
) -> Result<TrgRun> {
    if l < 4 || !l.is_power_of_two() {
        return Err(Error::NotApplicable {
            method: "trg",
            reason: format!("a finite torus must be L × L with L = 2^k ≥ 4, got L = {l}"),
        });
    }
    let levels = l.trailing_zeros() as usize;
    let steps = 2 * levels;
    let mut t = initial_tensor(lattice, kk, hh)?;
    check_chi(p.chi, t.dh.max(t.dv), steps)?;
    let mut sites = (l * l) as f64;
    let mut acc = 0.0;
    let mut truncation: f64 = 0.0;
    let mut max_dim = t.dh.max(t.dv);
    for _ in 0..steps {
        acc += sites * normalise(&mut t)?;
        let (next, disc) = step(&t, p.chi, p.k, p.power, p.symmetric)?;
        truncation = truncation.max(disc);
        t = next;
        max_dim = max_dim.max(t.dh.max(t.dv));
        sites /= 2.0;
    }
    acc += normalise(&mut t)?;
    let lt = ln_trace(&t).ok_or_else(|| {
        Error::Numerical(format!(
            "trg: the contracted torus came out non-positive at χ = {}; raise --chi",
            p.chi
        ))
    })?;
    Ok(TrgRun {
        ln_z: acc + lt,
        truncation,
        steps,
        max_dim,
        blocked: t.parity.is_some() && p.symmetric,
    })
}
