//! Cluster samplers: Wolff single-cluster and Swendsen–Wang.
//!
//! Both rest on the Fortuin–Kasteleyn representation: each satisfied bond (J_ij s_i s_j > 0) is
//! "occupied" with probability p_ij = 1 − e^{−2β|J_ij|}; flipping any union of the resulting
//! clusters leaves the joint spin–bond measure invariant. Near T_c clusters have the size of the
//! correlated regions, so one flip decorrelates what local moves need ~L^z sweeps for.
//!
//! A field is handled exactly with a ghost spin g ≡ +1 coupled to every spin by h_i: bonds to
//! the ghost are occupied with probability 1 − e^{−2β|h_i|} when h_i s_i > 0. Swendsen–Wang never
//! flips the ghost's cluster. Wolff grows one cluster from a random spin; if the cluster reaches
//! the ghost, flipping it (ghost included) is, in the ghost's frame, flipping its complement.
//!
//! Couplings of either sign are allowed as long as they are unfrustrated (a gauge s_i → τ_i s_i
//! makes them all ferromagnetic — e.g. an antiferromagnet on a bipartite graph). On frustrated
//! couplings the clusters percolate and the method is useless, so we refuse with an error.

use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::{index, uniform};
use rand::Rng;

/// Check that the couplings are unfrustrated: every cycle has a non-negative product of J.
pub fn check_unfrustrated(m: &Model, method: &'static str) -> Result<()> {
    let n = m.n();
    let mut gauge = vec![0i8; n];
    let mut stack = Vec::new();
    for root in 0..n {
        if gauge[root] != 0 {
            continue;
        }
        gauge[root] = 1;
        stack.push(root);
        while let Some(u) = stack.pop() {
            for &(v, e) in m.neighbors(u) {
                let j = m.couplings()[e as usize];
                if j == 0.0 {
                    continue;
                }
                let want = if j > 0.0 { gauge[u] } else { -gauge[u] };
                let v = v as usize;
                if gauge[v] == 0 {
                    gauge[v] = want;
                    stack.push(v);
                } else if gauge[v] != want {
                    return Err(Error::NotApplicable {
                        method,
                        reason: format!(
                            "couplings are frustrated (a cycle through spins {u} and {v} has a \
                             negative product of J); cluster moves need ferromagnetic or \
                             gauge-equivalent couplings — use metropolis, heatbath or pt"
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Bond probabilities shared by both cluster algorithms.
#[derive(Debug, Clone)]
struct Bonds<'a> {
    model: &'a Model,
    p_edge: Vec<f64>,
    p_ghost: Vec<f64>,
}

impl<'a> Bonds<'a> {
    fn new(model: &'a Model, method: &'static str, scale: f64) -> Result<Self> {
        check_unfrustrated(model, method)?;
        let b = model.beta();
        let p = |x: f64| -(-2.0 * b * x.abs()).exp_m1();
        Ok(Bonds {
            model,
            p_edge: model.couplings().iter().map(|&j| p(scale * j)).collect(),
            p_ghost: model.fields().iter().map(|&h| p(h)).collect(),
        })
    }
    #[inline]
    fn edge_open<R: Rng + ?Sized>(
        &self,
        s: &[i8],
        u: usize,
        v: usize,
        e: usize,
        rng: &mut R,
    ) -> bool {
        self.model.couplings()[e] * (s[u] * s[v]) as f64 > 0.0 && uniform(rng) < self.p_edge[e]
    }
    #[inline]
    fn ghost_open<R: Rng + ?Sized>(&self, s: &[i8], u: usize, rng: &mut R) -> bool {
        self.model.fields()[u] * s[u] as f64 > 0.0 && uniform(rng) < self.p_ghost[u]
    }
}

/// Wolff's single-cluster algorithm.
#[derive(Debug, Clone)]
pub struct Wolff<'a> {
    bonds: Bonds<'a>,
    in_cluster: Vec<bool>,
    members: Vec<u32>,
    stack: Vec<u32>,
    /// Cluster flips per sweep and the running statistics used to choose it.
    per_sweep: usize,
    size_sum: f64,
    size_count: f64,
}

impl<'a> Wolff<'a> {
    /// The Wolff sampler for the model at its own β; an error when the couplings are frustrated.
    pub fn new(model: &'a Model) -> Result<Self> {
        Ok(Wolff {
            bonds: Bonds::new(model, "wolff", 1.0)?,
            in_cluster: vec![false; model.n()],
            members: Vec::new(),
            stack: Vec::new(),
            per_sweep: 1,
            size_sum: 0.0,
            size_count: 0.0,
        })
    }

    /// Grow and flip one cluster; returns its size (spins, ghost excluded).
    pub fn step<R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R) -> usize {
        let m = self.bonds.model;
        let n = m.n();
        if n == 0 {
            return 0;
        }
        let seed = index(rng, n);
        let mut ghost = false;
        self.in_cluster[seed] = true;
        self.members.push(seed as u32);
        self.stack.push(seed as u32);
        while let Some(u) = self.stack.pop() {
            let u = u as usize;
            for &(v, e) in m.neighbors(u) {
                let v = v as usize;
                if !self.in_cluster[v] && self.bonds.edge_open(s, u, v, e as usize, rng) {
                    self.in_cluster[v] = true;
                    self.members.push(v as u32);
                    self.stack.push(v as u32);
                }
            }
            if !ghost && self.bonds.ghost_open(s, u, rng) {
                // The ghost joins: test its bonds to every spin outside the cluster.
                ghost = true;
                for v in 0..n {
                    if !self.in_cluster[v] && self.bonds.ghost_open(s, v, rng) {
                        self.in_cluster[v] = true;
                        self.members.push(v as u32);
                        self.stack.push(v as u32);
                    }
                }
            }
        }
        let size = self.members.len();
        if ghost {
            for i in 0..n {
                if !self.in_cluster[i] {
                    s[i] = -s[i];
                }
            }
        } else {
            for &i in &self.members {
                s[i as usize] = -s[i as usize];
            }
        }
        for &i in &self.members {
            self.in_cluster[i as usize] = false;
        }
        self.members.clear();
        size
    }

    /// A fixed number of cluster flips chosen so that their sizes add up to about N: one
    /// sweep's worth of work, so τ_int is measured in the same units as for local samplers.
    /// With `adapt` (burn-in only) the number is re-estimated from the mean cluster size. It must
    /// be frozen while measuring: stopping when the sizes reach N would make the measurement
    /// times depend on the states visited, which biases the averages.
    pub fn sweep<R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R, adapt: bool) -> usize {
        let n = s.len().max(1);
        for _ in 0..self.per_sweep {
            let size = self.step(s, rng);
            if adapt {
                self.size_sum += size as f64;
                self.size_count += 1.0;
            }
        }
        if adapt && self.size_count > 0.0 {
            let mean = self.size_sum / self.size_count;
            self.per_sweep = ((n as f64 / mean).round() as usize).max(1);
        }
        self.per_sweep
    }
}

/// Swendsen–Wang: occupy all bonds, flip every cluster with probability ½.
#[derive(Debug, Clone)]
pub struct SwendsenWang<'a> {
    bonds: Bonds<'a>,
    parent: Vec<u32>,
    flip: Vec<i8>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

impl<'a> SwendsenWang<'a> {
    /// Swendsen–Wang for the model at its own β (λ = 1); an error when the couplings are frustrated.
    pub fn new(model: &'a Model) -> Result<Self> {
        Self::with_scale(model, 1.0)
    }

    /// Swendsen–Wang for the model with couplings scaled by λ ≥ 0 (the path of thermodynamic
    /// integration and annealed importance sampling).
    pub fn with_scale(model: &'a Model, scale: f64) -> Result<Self> {
        let n = model.n();
        Ok(SwendsenWang {
            bonds: Bonds::new(model, "sw", scale)?,
            parent: vec![0; n + 1],
            flip: vec![0; n + 1],
        })
    }

    /// Move to another λ along the same path: only the bond probabilities change, so a run over
    /// many λ (annealed importance sampling) checks the couplings and allocates once.
    pub fn set_scale(&mut self, scale: f64) {
        let b = self.bonds.model.beta();
        for (p, &j) in self
            .bonds
            .p_edge
            .iter_mut()
            .zip(self.bonds.model.couplings())
        {
            *p = -(-2.0 * b * (scale * j).abs()).exp_m1();
        }
    }

    /// One Swendsen–Wang update of all spins; returns the number of clusters.
    pub fn sweep<R: Rng + ?Sized>(&mut self, s: &mut [i8], rng: &mut R) -> usize {
        let m = self.bonds.model;
        let n = m.n();
        let ghost = n as u32;
        for (i, p) in self.parent.iter_mut().enumerate() {
            *p = i as u32;
        }
        let union = |parent: &mut [u32], a: u32, b: u32| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            if ra != rb {
                // Keep the ghost as a root so its cluster is easy to recognise.
                if rb == ghost {
                    parent[ra as usize] = rb;
                } else {
                    parent[rb as usize] = ra;
                }
            }
        };
        for (e, &(a, b)) in m.edges().iter().enumerate() {
            if self.bonds.edge_open(s, a as usize, b as usize, e, rng) {
                union(&mut self.parent, a, b);
            }
        }
        for i in 0..n {
            if self.bonds.ghost_open(s, i, rng) {
                union(&mut self.parent, i as u32, ghost);
            }
        }
        // Decide each root's flip once (0 = undecided), the ghost's cluster never flips.
        self.flip.iter_mut().for_each(|f| *f = 0);
        self.flip[n] = 1;
        let mut clusters = 0;
        for i in 0..n {
            let r = find(&mut self.parent, i as u32) as usize;
            if self.flip[r] == 0 {
                clusters += 1;
                self.flip[r] = if rng.next_u64() >> 63 == 1 { -1 } else { 1 };
            }
            s[i] *= self.flip[r];
        }
        clusters
    }
}
