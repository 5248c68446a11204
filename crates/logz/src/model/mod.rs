//! The Ising model as a pairwise binary Markov random field.
//!
//! `Model` is the single source of truth for (graph, J, h, β): the energy
//! E(s) = E₀ − Σ_(i,j) J_ij s_i s_j − Σ_i h_i s_i (each edge once) and p(s) = e^{−βE(s)}/Z.
//! The constant E₀ (`energy_offset`) is zero for physics models; it carries the normalisation
//! constants of UAI factor tables, so that ln Z of a converted file equals ln Z of the file.
//! The exponential-family parameters θ_i = βh_i, θ_ij = βJ_ij are *derived* from it
//! (see [`expfam`]), never stored twice.

pub mod builders;
pub mod expfam;
pub mod grid;
pub mod plane;
pub mod regular;
pub mod torus;

use crate::error::{Error, Result};
use crate::limits;
use serde::{Deserialize, Serialize};

/// Known lattice structure, used by exact fast paths (transfer matrix, Kaufman, closed forms).
/// Site numbering is row-major: site (r, c) of an `rows × cols` square lattice is `r * cols + c`.
/// Serialised as `{"kind": "square", "rows": 16, "cols": 16, "periodic": true}` (the JSON model
/// format's `geometry` field and `logz info --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Geometry {
    /// Any graph: no structure that a method could exploit is known.
    General,
    /// A chain of `n` spins, edges (i, i+1); a ring when `periodic`.
    Chain {
        /// Number of spins.
        n: usize,
        /// Whether spin n−1 is coupled to spin 0.
        periodic: bool,
    },
    /// A `rows × cols` square lattice, a torus when `periodic`.
    Square {
        /// Number of rows.
        rows: usize,
        /// Number of columns (sites per row).
        cols: usize,
        /// Whether both directions wrap around.
        periodic: bool,
    },
    /// A `rows × cols` triangular lattice (the square lattice plus one diagonal), a torus when
    /// `periodic`.
    Triangular {
        /// Number of rows.
        rows: usize,
        /// Number of columns (sites per row).
        cols: usize,
        /// Whether both directions wrap around.
        periodic: bool,
    },
    /// An `l × l × l` simple cubic torus.
    Cubic {
        /// Side length.
        l: usize,
    },
    /// The complete graph on `n` spins (Curie–Weiss, Sherrington–Kirkpatrick).
    Complete {
        /// Number of spins.
        n: usize,
    },
    /// Any graph drawn in the plane with straight edges that meet only at shared ends (checked
    /// when attached): `{"kind": "plane", "positions": [[x, y], …]}`, one point per site. The
    /// exact `planar` method needs such a drawing.
    Plane {
        /// The position (x, y) of each site.
        positions: Vec<[f64; 2]>,
    },
}

/// The most spins a model may have (indices are `u32`, with room for sentinels).
pub const MAX_SPINS: usize = (u32::MAX / 2) as usize;
/// The most edges a model may have: CSR offsets are `u32` and count both ends of every edge.
pub const MAX_EDGES: usize = (u32::MAX / 2) as usize;

/// A validated Ising model with CSR adjacency.
#[derive(Debug, Clone)]
pub struct Model {
    n: usize,
    edges: Vec<(u32, u32)>,
    coupling: Vec<f64>,
    field: Vec<f64>,
    beta: f64,
    energy_offset: f64,
    geometry: Geometry,
    // CSR adjacency: neighbours of i are adj[start[i]..start[i+1]], each (j, edge index).
    start: Vec<u32>,
    adj: Vec<(u32, u32)>,
}

fn check_finite(x: f64, what: &str) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(format!("{what} is {x}, must be finite")))
    }
}

impl Model {
    /// Build a model from an edge list. Duplicate edges (in either orientation) are merged by
    /// adding their couplings — the energy of a multigraph is the same as that of the merged graph.
    /// Self-loops, out-of-range indices, non-finite numbers and β < 0 are rejected.
    ///
    /// ```
    /// use logz::{Exact, Model, Solver};
    /// // Two spins, one ferromagnetic bond J = 1, no field, β = 1:
    /// // Z = 2e^{β} + 2e^{−β} = 4 cosh β.
    /// let m = Model::new(2, &[(0, 1)], &[1.0], vec![0.0, 0.0], 1.0)?;
    /// assert_eq!(m.energy(&[1, 1]), -1.0);
    /// let ln_z = Exact.solve(&m)?.ln_z;
    /// assert!((ln_z - (4.0 * 1f64.cosh()).ln()).abs() < 1e-12);
    /// // Bad input is an error, never a panic.
    /// assert!(Model::new(2, &[(0, 0)], &[1.0], vec![0.0, 0.0], 1.0).is_err());
    /// # Ok::<(), logz::Error>(())
    /// ```
    pub fn new(
        n: usize,
        edges: &[(usize, usize)],
        coupling: &[f64],
        field: Vec<f64>,
        beta: f64,
    ) -> Result<Model> {
        Model::check_size(n as f64, edges.len() as f64)?;
        if edges.len() != coupling.len() {
            return Err(Error::invalid(format!(
                "{} edges but {} couplings",
                edges.len(),
                coupling.len()
            )));
        }
        if field.len() != n {
            return Err(Error::invalid(format!(
                "{} fields for {n} spins",
                field.len()
            )));
        }
        check_finite(beta, "beta")?;
        if beta < 0.0 {
            return Err(Error::invalid(format!("beta = {beta} is negative")));
        }
        for (i, h) in field.iter().enumerate() {
            if !h.is_finite() {
                check_finite(*h, &format!("field h[{i}]"))?;
            }
        }
        // Each edge as one sortable key (lo << 32 | hi).
        let mut keys: Vec<u64> = Vec::with_capacity(edges.len());
        for (k, (&(a, b), &j)) in edges.iter().zip(coupling).enumerate() {
            if a >= n || b >= n {
                return Err(Error::invalid(format!(
                    "edge {k} = ({a}, {b}) refers to a spin outside 0..{n}"
                )));
            }
            if a == b {
                return Err(Error::invalid(format!(
                    "edge {k} = ({a}, {b}) is a self-loop"
                )));
            }
            if !j.is_finite() {
                check_finite(j, &format!("coupling of edge {k} ({a}, {b})"))?;
            }
            keys.push(((a.min(b) as u64) << 32) | a.max(b) as u64);
        }
        // Merge duplicates (sorting, not hashing: this runs on lattices of 10⁸ edges) and keep
        // the merged edges in order of first appearance: sort the edge indices by (key, index),
        // add each later copy's coupling to the first copy and mark the copy dead. Peak memory
        // beyond the inputs: keys (8 B/edge), order (4), merged couplings (8).
        const DEAD: u64 = u64::MAX; // no valid key: both halves are < 2³¹
        let mut j_all = coupling.to_vec();
        {
            let mut order: Vec<u32> = (0..keys.len() as u32).collect();
            order.sort_unstable_by_key(|&k| (keys[k as usize], k));
            let mut first = None::<u32>;
            for &k in &order {
                match first {
                    Some(f) if keys[f as usize] == keys[k as usize] => {
                        j_all[f as usize] += coupling[k as usize];
                        keys[k as usize] = DEAD;
                    }
                    _ => first = Some(k),
                }
            }
        }
        let j_out: Vec<f64> = j_all
            .iter()
            .zip(&keys)
            .filter(|(_, &key)| key != DEAD)
            .map(|(&j, _)| j)
            .collect();
        drop(j_all);
        keys.retain(|&key| key != DEAD);
        let e_out: Vec<(u32, u32)> = keys
            .iter()
            .map(|&key| ((key >> 32) as u32, key as u32))
            .collect();
        drop(keys);
        for (k, &j) in j_out.iter().enumerate() {
            check_finite(j, &format!("merged coupling of edge {:?}", e_out[k]))?;
        }
        let mut m = Model {
            n,
            edges: e_out,
            coupling: j_out,
            field,
            beta,
            energy_offset: 0.0,
            geometry: Geometry::General,
            start: Vec::new(),
            adj: Vec::new(),
        };
        m.check_representable()?;
        m.build_csr();
        Ok(m)
    }

    /// Largest |ln Z| (and |βE|) logz represents: far inside f64, so that sums and differences
    /// of such numbers stay finite.
    pub const MAX_LOG_WEIGHT: f64 = 1e300;

    /// ln Z lies within β·(Σ|J| + Σ|h| + |E₀|) + N ln 2 of zero; refuse a model where that bound
    /// is not a representable number (β·J = ∞, or a sum of huge couplings), so no method can
    /// silently return an infinite or NaN ln Z.
    fn check_representable(&self) -> Result<()> {
        let bound = self.beta * (self.energy_scale() + self.energy_offset.abs())
            + self.n as f64 * std::f64::consts::LN_2;
        if bound.is_finite() && bound <= Self::MAX_LOG_WEIGHT {
            Ok(())
        } else {
            Err(Error::Numerical(format!(
                "ln Z overflows: β·(Σ|J| + Σ|h| + |E₀|) = {:e} is beyond the f64 range logz \
                 supports ({:e}); reduce β or the couplings",
                self.beta * (self.energy_scale() + self.energy_offset.abs()),
                Self::MAX_LOG_WEIGHT
            )))
        }
    }

    /// Peak bytes of building a model of `n` spins and `e` edges with [`Model::new`] from edge
    /// and coupling lists, those inputs included: 56 B per edge — the inputs (pairs 16,
    /// couplings 8), the merged edges and couplings (8 + 8) and the CSR adjacency (16); the sort
    /// keys, order and copies used to merge duplicates (20) are freed before the adjacency is
    /// built — and 20 B per spin (fields 8, CSR offsets and fill counters 12). The finished
    /// model keeps 32 B per edge and 12 B per spin.
    pub fn construction_bytes(n: f64, e: f64) -> f64 {
        56.0 * e + 20.0 * n + 4096.0
    }

    /// Ok if a model of `n` spins and `e` edges fits the index types (32-bit CSR) and its
    /// construction fits the memory budget ([`crate::limits`]). Counts are `f64` so that
    /// builders can check a size before computing it in integers.
    pub fn check_size(n: f64, e: f64) -> Result<()> {
        if n.is_nan() || n > MAX_SPINS as f64 {
            return Err(Error::invalid(format!(
                "{n} spins is more than the limit {MAX_SPINS} (spin indices are 32-bit)"
            )));
        }
        if e.is_nan() || e > MAX_EDGES as f64 {
            return Err(Error::invalid(format!(
                "{e:.3e} edges is more than the limit {MAX_EDGES} (edge indices are 32-bit)"
            )));
        }
        limits::check_memory(
            "model",
            &format!("a model of {n} spins and {e} edges"),
            Model::construction_bytes(n, e),
        )
    }

    fn build_csr(&mut self) {
        let mut deg = vec![0u32; self.n + 1];
        for &(a, b) in &self.edges {
            deg[a as usize] += 1;
            deg[b as usize] += 1;
        }
        let mut start = vec![0u32; self.n + 1];
        for i in 0..self.n {
            start[i + 1] = start[i] + deg[i];
        }
        let mut fill = start.clone();
        let mut adj = vec![(0u32, 0u32); 2 * self.edges.len()];
        for (e, &(a, b)) in self.edges.iter().enumerate() {
            adj[fill[a as usize] as usize] = (b, e as u32);
            fill[a as usize] += 1;
            adj[fill[b as usize] as usize] = (a, e as u32);
            fill[b as usize] += 1;
        }
        self.start = start;
        self.adj = adj;
    }

    /// Attach lattice structure (used by builders; callers must ensure it is true).
    pub(crate) fn with_geometry(mut self, g: Geometry) -> Self {
        self.geometry = g;
        self
    }

    /// Attach a lattice geometry read from a file, after checking it: the edges must be exactly
    /// those the builder of that lattice makes, in its order (so every lattice-aware method —
    /// Kaufman, the transfer matrix, the multi-spin kernels — sees the graph it assumes).
    pub fn with_checked_geometry(self, g: Geometry) -> Result<Model> {
        let p = builders::Params {
            coupling: 1.0,
            field: 0.0,
            beta: 1.0,
            seed: 0,
        };
        let reference = match g {
            Geometry::General => return Ok(self.with_geometry(g)),
            Geometry::Plane { ref positions } => {
                plane::check_drawing(self.n, &self.edges, positions)?;
                return Ok(self.with_geometry(g));
            }
            Geometry::Chain { n, periodic } => builders::chain(n, periodic, &p),
            Geometry::Square {
                rows,
                cols,
                periodic,
            } => builders::square(rows, cols, periodic, &p),
            Geometry::Triangular {
                rows,
                cols,
                periodic,
            } => builders::triangular(rows, cols, periodic, &p),
            Geometry::Cubic { l } => builders::cubic(l, &p),
            Geometry::Complete { n } => builders::complete(n, &p),
        }?;
        if reference.n != self.n || reference.edges != self.edges {
            return Err(Error::invalid(format!(
                "the edges do not form the declared geometry {g:?} (in logz's numbering and edge \
                 order); remove \"geometry\" to load it as a general graph"
            )));
        }
        Ok(self.with_geometry(g))
    }

    /// Add a constant to every energy (carried into ln Z as −β·E₀).
    pub fn with_energy_offset(mut self, e0: f64) -> Result<Self> {
        check_finite(e0, "energy offset")?;
        self.energy_offset = e0;
        self.check_representable()?;
        Ok(self)
    }

    /// The same model at another inverse temperature.
    pub fn with_beta(&self, beta: f64) -> Result<Model> {
        check_finite(beta, "beta")?;
        if beta < 0.0 {
            return Err(Error::invalid(format!("beta = {beta} is negative")));
        }
        let mut m = self.clone();
        m.beta = beta;
        m.check_representable()?;
        Ok(m)
    }

    /// Number of spins N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Inverse temperature β.
    pub fn beta(&self) -> f64 {
        self.beta
    }
    /// The edges (i, j), i < j, each once; edge e carries coupling `couplings()[e]`.
    pub fn edges(&self) -> &[(u32, u32)] {
        &self.edges
    }
    /// The couplings J_e in edge order.
    pub fn couplings(&self) -> &[f64] {
        &self.coupling
    }
    /// The fields h_i in spin order.
    pub fn fields(&self) -> &[f64] {
        &self.field
    }
    /// The constant E₀ in E(s) (zero for physics models; see the module docs).
    pub fn energy_offset(&self) -> f64 {
        self.energy_offset
    }
    /// The lattice structure, where known (used by methods that exploit it).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }
    /// Number of edges.
    pub fn num_edges(&self) -> usize {
        self.edges.len()
    }
    /// Neighbours of spin i as (j, edge index).
    #[inline]
    pub fn neighbors(&self, i: usize) -> &[(u32, u32)] {
        &self.adj[self.start[i] as usize..self.start[i + 1] as usize]
    }
    /// Number of neighbours of spin i.
    #[inline]
    pub fn degree(&self, i: usize) -> usize {
        (self.start[i + 1] - self.start[i]) as usize
    }

    /// E(s) for a configuration of ±1 spins (as i8).
    pub fn energy(&self, s: &[i8]) -> f64 {
        let mut e = self.energy_offset;
        for (k, &(a, b)) in self.edges.iter().enumerate() {
            e -= self.coupling[k] * (s[a as usize] * s[b as usize]) as f64;
        }
        for (i, &h) in self.field.iter().enumerate() {
            e -= h * s[i] as f64;
        }
        e
    }

    /// ⟨E⟩ = E₀ − Σ_e J_e ⟨s_i s_j⟩_e − Σ_i h_i ⟨s_i⟩ from mean parameters (exact when they are).
    pub fn mean_energy(&self, magnetization: &[f64], correlation: &[f64]) -> f64 {
        self.energy_offset
            - self
                .coupling
                .iter()
                .zip(correlation)
                .map(|(j, c)| j * c)
                .sum::<f64>()
            - self
                .field
                .iter()
                .zip(magnetization)
                .map(|(h, x)| h * x)
                .sum::<f64>()
    }

    /// Local field f_i = h_i + Σ_j J_ij s_j: the energy is −s_i f_i plus terms without s_i.
    #[inline]
    pub fn local_field(&self, s: &[i8], i: usize) -> f64 {
        let mut f = self.field[i];
        for &(j, e) in self.neighbors(i) {
            f += self.coupling[e as usize] * s[j as usize] as f64;
        }
        f
    }

    /// The same local field for real-valued spins (means), used by mean-field methods.
    #[inline]
    pub fn local_field_mean(&self, m: &[f64], i: usize) -> f64 {
        let mut f = self.field[i];
        for &(j, e) in self.neighbors(i) {
            f += self.coupling[e as usize] * m[j as usize];
        }
        f
    }

    /// E(s with spin i flipped) − E(s) = 2 s_i f_i.
    #[inline]
    pub fn flip_delta(&self, s: &[i8], i: usize) -> f64 {
        2.0 * s[i] as f64 * self.local_field(s, i)
    }

    /// J if every coupling equals J (and there is at least one edge).
    pub fn uniform_coupling(&self) -> Option<f64> {
        let j0 = *self.coupling.first()?;
        self.coupling.iter().all(|&j| j == j0).then_some(j0)
    }
    /// H if every field equals H.
    pub fn uniform_field(&self) -> Option<f64> {
        let h0 = self.field.first().copied().unwrap_or(0.0);
        self.field.iter().all(|&h| h == h0).then_some(h0)
    }
    /// Σ|J| + Σ|h|: a bound on |E − E₀| used to size log-space shifts.
    pub fn energy_scale(&self) -> f64 {
        self.coupling.iter().map(|j| j.abs()).sum::<f64>()
            + self.field.iter().map(|h| h.abs()).sum::<f64>()
    }
    /// True if every coupling is ≥ 0 (ferromagnetic).
    pub fn is_ferromagnetic(&self) -> bool {
        self.coupling.iter().all(|&j| j >= 0.0)
    }
    /// Degree statistics (min, mean, max).
    pub fn degree_stats(&self) -> (usize, f64, usize) {
        if self.n == 0 {
            return (0, 0.0, 0);
        }
        let degs = (0..self.n).map(|i| self.degree(i));
        let min = degs.clone().min().unwrap_or(0);
        let max = degs.max().unwrap_or(0);
        (min, 2.0 * self.edges.len() as f64 / self.n as f64, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_edges_merge_in_order_of_first_appearance() {
        let edges = [(2, 0), (0, 1), (0, 2), (1, 2), (1, 0), (2, 0)];
        let j = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        let m = Model::new(3, &edges, &j, vec![0.0; 3], 1.0).unwrap();
        assert_eq!(m.edges(), &[(0, 2), (0, 1), (1, 2)]);
        assert_eq!(m.couplings(), &[37.0, 18.0, 8.0]);
        // The CSR adjacency lists each merged edge at both ends.
        assert_eq!(m.degree(0), 2);
        let mut nb: Vec<(u32, u32)> = m.neighbors(2).to_vec();
        nb.sort();
        assert_eq!(nb, vec![(0, 0), (1, 2)]);
    }

    /// Found by tests/fuzz_parsers.rs: finite couplings whose sum (or merged duplicates)
    /// overflows gave a model with infinite energies.
    #[test]
    fn energies_cannot_overflow() {
        let e = Model::new(2, &[(0, 1), (1, 0)], &[1e308, 1e308], vec![0.0; 2], 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("merged coupling of edge (0, 1) is inf"), "{e}");
        let e = Model::new(3, &[(0, 1), (1, 2)], &[1e308, 1e308], vec![0.0; 3], 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ln Z overflows"), "{e}");
        assert!(Model::new(2, &[(0, 1)], &[1.0], vec![1e299, 0.0], 1.0)
            .unwrap()
            .with_energy_offset(1e300)
            .is_err());
        let m = Model::new(2, &[(0, 1)], &[1e290], vec![0.0; 2], 1.0).unwrap();
        assert!(m.with_beta(1e20).is_err());
        assert!(m.with_beta(2.0).is_ok());
    }

    #[test]
    fn sizes_are_checked_before_allocating() {
        assert!(Model::check_size(10.0, 20.0).is_ok());
        // Beyond 32-bit indices, whatever the memory budget.
        let e = Model::check_size(1e5, 5e9).unwrap_err().to_string();
        assert!(e.contains("edges is more than the limit"), "{e}");
        assert!(Model::check_size(1e10, 0.0).is_err());
        assert!(Model::check_size(f64::NAN, 0.0).is_err());
        // 56 B per edge and 20 B per spin: the 16384² torus needs ~33 GiB.
        let b = Model::construction_bytes(16384.0 * 16384.0, 2.0 * 16384.0 * 16384.0);
        assert!((b / (1u64 << 30) as f64 - 33.0).abs() < 0.5, "{b}");
    }
}
