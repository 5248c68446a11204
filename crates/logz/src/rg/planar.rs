//! Exact ln Z of zero-field Ising models on planar graphs with any couplings: the Kac–Ward
//! determinant.
//!
//! The graph must come drawn in the plane with straight edges that meet only at shared ends:
//! open square and triangular grids and open chains have their natural drawing, and any other
//! planar graph can be given one (a JSON model with `"geometry": {"kind": "plane",
//! "positions": [[x, y], …]}`, checked when loaded: see [`crate::model::plane`]).
//!
//! # The formula
//! With x_e = tanh(βJ_e), the high-temperature expansion gives
//! Z = 2^N Π_e cosh(βJ_e) · Z_ht, Z_ht = Σ_{even subgraphs F} Π_{e∈F} x_e,
//! and for a graph drawn in the plane with straight edges (Kac & Ward 1952; proved in general by
//! Cimasoni, Eur. J. Combin. 31 (2010))
//! Z_ht² = det(I − T),
//! where T acts on the 2E *directed* edges: T_{e,e'} = x_e e^{iα(e,e')/2} when e' starts where
//! e ends and is not e reversed, α(e,e') ∈ (−π, π) being the turning angle (0 straight on,
//! ±π/2 at a corner of a square grid). Every closed non-backtracking walk collects the phase
//! e^{iπ(winding)}, which turns the sum over walks into the signed sum over even subgraphs.
//! So ln Z = N ln 2 + Σ_e ln cosh(βJ_e) + ½ ln |det(I − T)|: one determinant, no enumeration.
//!
//! # The determinant
//! The matrix is complex, 2E × 2E, with deg − 1 entries in the row of an edge ending at a site
//! of degree deg. Small grids use a dense
//! LU (faer); larger ones a sparse LU (faer's simplicial Gilbert–Peierls factorisation after a
//! COLAMD fill-reducing column order). ln|det| = Σ_j ln|U_jj| in either case — a sum of logs,
//! which never overflows however large N is. A field couples every spin to a ghost spin and
//! breaks planarity: refused.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Solver};
use crate::limits;
use crate::model::Model;
use crate::numeric::ln_2cosh;
use crate::runner::Runner;
use faer::c64;

/// Directed edges of a graph drawn in the plane, with their tanh weights.
struct Walks {
    /// (from site, to site, x = tanh βJ) for each directed edge; edge 2k and 2k+1 are the two
    /// directions of undirected bond k.
    dir: Vec<(usize, usize, f64)>,
    /// Directed edges leaving each site.
    out: Vec<Vec<usize>>,
    /// The drawing: one point per site.
    pos: Vec<[f64; 2]>,
}

impl Walks {
    fn direction(&self, e: usize) -> (f64, f64) {
        let (a, b, _) = self.dir[e];
        let (p, q) = (self.pos[a], self.pos[b]);
        (q[0] - p[0], q[1] - p[1])
    }
    /// The entries (row e, column e', T_{e,e'}) of the Kac–Ward transition matrix.
    fn entries(&self) -> Vec<(usize, usize, c64)> {
        let mut t = Vec::with_capacity(self.dir.len() * 3);
        for (e, &(from, to, x)) in self.dir.iter().enumerate() {
            let (dx1, dy1) = self.direction(e);
            for &f in &self.out[to] {
                if self.dir[f].1 == from {
                    continue; // no backtracking
                }
                let (dx2, dy2) = self.direction(f);
                // The turning angle α ∈ (−π, π) from the first direction to the second (the
                // drawing has no overlapping edges, so never ±π); the phase is e^{iα/2}.
                let alpha = (dx1 * dy2 - dy1 * dx2).atan2(dx1 * dx2 + dy1 * dy2);
                let half = 0.5 * alpha;
                t.push((e, f, c64::new(x * half.cos(), x * half.sin())));
            }
        }
        t
    }
}

/// Grids up to this many directed edges use the dense LU.
const DENSE_MAX: usize = 1200;

/// ln|det(I − T)| by a dense LU.
fn ln_det_dense(n: usize, t: &[(usize, usize, c64)]) -> f64 {
    let mut a = faer::Mat::<c64>::zeros(n, n);
    for i in 0..n {
        a[(i, i)] = c64::new(1.0, 0.0);
    }
    for &(i, j, v) in t {
        a[(i, j)] -= v;
    }
    let lu = a.partial_piv_lu();
    let u = lu.U();
    (0..n).map(|i| u[(i, i)].norm().ln()).sum()
}

/// ln|det(I − T)| by a sparse LU (COLAMD column order, simplicial factorisation).
fn ln_det_sparse(n: usize, t: &[(usize, usize, c64)]) -> Result<f64> {
    use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
    use faer::perm::PermRef;
    use faer::sparse::linalg::{colamd, lu::simplicial};
    use faer::sparse::{SparseColMat, Triplet};
    let mut trip: Vec<Triplet<usize, usize, c64>> = Vec::with_capacity(n + t.len());
    for i in 0..n {
        trip.push(Triplet::new(i, i, c64::new(1.0, 0.0)));
    }
    for &(i, j, v) in t {
        trip.push(Triplet::new(i, j, -v));
    }
    let fail = |what: &str| Error::Numerical(format!("planar: sparse LU failed ({what})"));
    let a = SparseColMat::<usize, c64>::try_new_from_triplets(n, n, &trip)
        .map_err(|_| fail("building the matrix"))?;
    drop(trip);
    let nnz = a.compute_nnz();
    let mut perm = vec![0usize; n];
    let mut perm_inv = vec![0usize; n];
    {
        let req = colamd::order_scratch::<usize>(n, n, nnz);
        let mut buf = MemBuffer::new(req);
        colamd::order(
            &mut perm,
            &mut perm_inv,
            a.symbolic(),
            Default::default(),
            MemStack::new(&mut buf),
        )
        .map_err(|_| fail("ordering"))?;
    }
    let col_perm = PermRef::new_checked(&perm, &perm_inv, n);
    let mut row_perm = vec![0usize; n];
    let mut row_perm_inv = vec![0usize; n];
    let mut lu = simplicial::SimplicialLu::<usize, c64>::new();
    let req = StackReq::all_of(&[simplicial::factorize_simplicial_numeric_lu_scratch::<
        usize,
        c64,
    >(n, n)]);
    let mut buf = MemBuffer::new(req);
    simplicial::factorize_simplicial_numeric_lu(
        &mut row_perm,
        &mut row_perm_inv,
        &mut lu,
        a.as_ref(),
        col_perm,
        MemStack::new(&mut buf),
    )
    .map_err(|_| fail("singular matrix"))?;
    let u = lu.u_factor_unsorted();
    let mut s = 0.0;
    for j in 0..n {
        let rows = u.row_idx_of_col_raw(j);
        let vals = u.val_of_col(j);
        let d = rows
            .iter()
            .zip(vals)
            .find(|(&r, _)| r == j)
            .map(|(_, v)| v.norm())
            .ok_or_else(|| fail("no pivot"))?;
        s += d.ln();
    }
    Ok(s)
}

/// Exact ln Z of a zero-field model on a graph drawn in the plane, by the Kac–Ward determinant
/// (see the module docs). Any couplings, ferro- or antiferromagnetic, frustrated or not.
#[derive(Debug, Clone, Default)]
pub struct Planar;

impl Planar {
    /// ln Z and the algorithm used (`dense` or `sparse` LU).
    pub fn ln_z(m: &Model) -> Result<(f64, &'static str)> {
        let not = |reason: &str| Error::NotApplicable {
            method: "planar",
            reason: reason.to_string(),
        };
        let pos = crate::model::plane::positions(m).ok_or_else(|| {
            not(
                "needs a graph drawn in the plane: an open square or triangular grid (e.g. \
                 square:16:open), an open chain, or a JSON model with a \"plane\" geometry \
                 giving each site's position; a torus is not planar",
            )
        })?;
        if m.fields().iter().any(|&h| h != 0.0) {
            return Err(not(
                "needs zero field: a field couples every spin to a ghost spin, which breaks \
                 planarity",
            ));
        }
        let n = m.n();
        let e = m.num_edges();
        let bytes = if 2 * e <= DENSE_MAX {
            (4 * e * e) as f64 * 16.0
        } else {
            // The sparse factors of a planar matrix: O(n log n) entries; allow a generous 400
            // per row.
            (2 * e) as f64 * 400.0 * 24.0
        };
        limits::check_memory(
            "planar",
            &format!("the {}×{} Kac–Ward matrix", 2 * e, 2 * e),
            bytes,
        )?;
        let beta = m.beta();
        let mut dir = Vec::with_capacity(2 * e);
        let mut out = vec![Vec::new(); n];
        let mut ln_z = n as f64 * std::f64::consts::LN_2 - beta * m.energy_offset();
        for (&(a, b), &j) in m.edges().iter().zip(m.couplings()) {
            let (a, b) = (a as usize, b as usize);
            let k = beta * j;
            // ln cosh K = ln(2 cosh K) − ln 2, stable for any K.
            ln_z += ln_2cosh(k) - std::f64::consts::LN_2;
            let x = k.tanh();
            out[a].push(dir.len());
            dir.push((a, b, x));
            out[b].push(dir.len());
            dir.push((b, a, x));
        }
        let w = Walks { dir, out, pos };
        let t = w.entries();
        let size = w.dir.len();
        let (ln_det, how) = if size <= DENSE_MAX {
            (ln_det_dense(size, &t), "dense LU")
        } else {
            (ln_det_sparse(size, &t)?, "sparse LU")
        };
        Ok((ln_z + 0.5 * ln_det, how))
    }
}

impl Solver for Planar {
    fn name(&self) -> &'static str {
        "planar"
    }
    fn solve_with(&self, m: &Model, _runner: &Runner) -> Result<Estimate> {
        let (ln_z, how) = Planar::ln_z(m)?;
        let mut est = Estimate::new(ln_z, EstimateKind::Exact, "planar");
        est.diagnostics
            .notes
            .push(format!("Kac–Ward determinant ({how}), exact to rounding"));
        Ok(est)
    }
}
