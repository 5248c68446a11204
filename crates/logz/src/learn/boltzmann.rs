//! Maximum likelihood for the Boltzmann machine p(s) = e^{Σ h_i s_i + Σ_(ij) J_ij s_i s_j}/Z.
//!
//! The average log-likelihood ℓ(θ) = Σ_i h_i ⟨s_i⟩_data + Σ_(ij) J_ij ⟨s_i s_j⟩_data − ln Z(θ) is
//! concave, and its gradient is the moment mismatch ⟨·⟩_data − ⟨·⟩_model, since ∇ ln Z = ⟨·⟩_model:
//! learning needs the derivative of ln Z, so every learner here is an approximation of Z's
//! gradient by one of logz's methods.
//!
//! - `exact`: ln Z and the model moments from logz's exact methods (enumeration, elimination);
//!   the objective −ℓ + λΣJ² is minimised by L-BFGS to moment matching at rounding level — the
//!   true maximum-likelihood estimate.
//! - `pcd`: persistent contrastive divergence (Younes 1989; Tieleman 2008): the model moments
//!   come from persistent heat-bath chains (logz's single-spin sampler) that move a few sweeps
//!   after every parameter step; stochastic gradient ascent with a decaying rate, averaged
//!   over the second half of the run (Polyak–Ruppert).
//! - `mf`: Peterson & Anderson (1987): magnetisations from logz's naive mean field and
//!   correlations by linear response, ⟨s_i s_j⟩ − m_i m_j = [(diag(1/(1−m²)) − J)⁻¹]_ij; its
//!   fixed point matches the off-diagonal correlations (close to the naive mean-field
//!   inversion, which matches the diagonal of C⁻¹ too).

use super::data::Moments;
use super::lbfgs;
use crate::error::{Error, Result};
use crate::estimate::Solver;
use crate::exact::Exact;
use crate::free_energy::MeanField;
use crate::mc::local::{Local, Rule, Scan};
use crate::model::Model;
use crate::rng::stream_seed;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Where the model expectations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectations {
    /// logz's exact methods: the true maximum-likelihood estimate.
    Exact,
    /// Persistent Markov chains.
    Pcd,
    /// Naive mean field with linear-response correlations.
    MeanField,
}

impl Expectations {
    /// Parse `exact`, `pcd` or `mf`.
    pub fn parse(s: &str) -> Result<Expectations> {
        Ok(match s {
            "exact" => Expectations::Exact,
            "pcd" => Expectations::Pcd,
            "mf" => Expectations::MeanField,
            _ => {
                return Err(Error::arg(format!(
                    "unknown expectations '{s}' (one of: exact, pcd, mf)"
                )))
            }
        })
    }
    /// The name [`Expectations::parse`] accepts.
    pub fn name(&self) -> &'static str {
        match self {
            Expectations::Exact => "exact",
            Expectations::Pcd => "pcd",
            Expectations::MeanField => "mf",
        }
    }
}

/// Settings of [`fit`].
#[derive(Debug, Clone)]
pub struct BoltzmannOptions {
    /// Source of the model expectations.
    pub expectations: Expectations,
    /// L2 penalty λ on the couplings.
    pub l2: f64,
    /// exact: stop when max |⟨·⟩_data − ⟨·⟩_model| (plus the penalty's gradient) ≤ this.
    pub tol: f64,
    /// exact: most L-BFGS steps; pcd / mf: parameter steps.
    pub steps: usize,
    /// pcd: persistent chains.
    pub chains: usize,
    /// pcd: heat-bath sweeps of every chain per parameter step.
    pub sweeps: usize,
    /// pcd / mf: initial learning rate.
    pub lr: f64,
    /// pcd: seed of the chains.
    pub seed: u64,
}

impl Default for BoltzmannOptions {
    fn default() -> Self {
        BoltzmannOptions {
            expectations: Expectations::Exact,
            l2: 0.0,
            tol: 1e-10,
            steps: 2000,
            chains: 256,
            sweeps: 2,
            lr: 0.1,
            seed: 1,
        }
    }
}

/// What [`fit`] returns.
#[derive(Debug, Clone)]
pub struct BoltzmannFit {
    /// Couplings (symmetric, zero diagonal).
    pub j: DMatrix<f64>,
    /// Fields.
    pub h: Vec<f64>,
    /// max |⟨s_i⟩_data − ⟨s_i⟩_model| and |⟨s_i s_j⟩_data − ⟨s_i s_j⟩_model| over the fitted
    /// statistics at the end (for pcd: the chains' estimate over the last tenth of the run).
    pub residual: f64,
    /// The residual expected from sampling noise alone (pcd), else 0.
    pub residual_noise: f64,
    /// Steps taken.
    pub steps: usize,
    /// exact: whether the tolerance was reached.
    pub converged: bool,
}

/// The fitted statistics: every field and every coupling in `edges`.
struct Layout<'a> {
    n: usize,
    edges: &'a [(usize, usize)],
}

impl Layout<'_> {
    fn model(&self, th: &[f64]) -> Result<Model> {
        Model::new(
            self.n,
            self.edges,
            &th[self.n..],
            th[..self.n].to_vec(),
            1.0,
        )
    }
    /// Data statistics in the same layout.
    fn data(&self, mo: &Moments) -> Vec<f64> {
        let mut t = mo.clamped_mean();
        t.extend(self.edges.iter().map(|&(i, j)| mo.second[(i, j)]));
        t
    }
    fn dense(&self, th: &[f64]) -> (DMatrix<f64>, Vec<f64>) {
        let mut j = DMatrix::zeros(self.n, self.n);
        for (k, &(a, b)) in self.edges.iter().enumerate() {
            j[(a, b)] = th[self.n + k];
            j[(b, a)] = th[self.n + k];
        }
        (j, th[..self.n].to_vec())
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Model statistics (⟨s_i⟩, ⟨s_i s_j⟩ on the edges) and ln Z by logz's exact methods.
fn exact_moments(model: &Model) -> Result<(f64, Vec<f64>)> {
    let est = Exact.solve(model)?;
    let mut t = est.magnetization.clone();
    let cor = est
        .edge_correlation
        .ok_or_else(|| Error::Numerical("the exact method returned no edge correlations".into()))?;
    t.extend(cor);
    Ok((est.ln_z, t))
}

/// Fit fields and the couplings on `edges` (pairs i < j) to the moments; spins in `fixed`
/// keep their field and no couplings (their edges must not be in `edges`).
pub fn fit(
    mo: &Moments,
    edges: &[(usize, usize)],
    fixed: &[(usize, f64)],
    o: &BoltzmannOptions,
    start: Option<(&DMatrix<f64>, &[f64])>,
) -> Result<BoltzmannFit> {
    let n = mo.mean.len();
    let lay = Layout { n, edges };
    let data = lay.data(mo);
    let p = n + edges.len();
    let mut th = vec![0.0; p];
    if let Some((j0, h0)) = start {
        th[..n].copy_from_slice(h0);
        for (k, &(a, b)) in edges.iter().enumerate() {
            th[n + k] = j0[(a, b)];
        }
    }
    let mut frozen = vec![false; p];
    for &(i, h) in fixed {
        th[i] = h;
        frozen[i] = true;
    }
    let l2 = o.l2;
    match o.expectations {
        Expectations::Exact => {
            let (l, converged) = lbfgs::minimize(th, frozen, o.tol, o.steps, |x| {
                let model = lay.model(x)?;
                let (ln_z, t) = exact_moments(&model)?;
                let mut f = ln_z;
                let mut g = vec![0.0; p];
                for k in 0..p {
                    f -= x[k] * data[k];
                    g[k] = t[k] - data[k];
                    if k >= n {
                        f += l2 * x[k] * x[k];
                        g[k] += 2.0 * l2 * x[k];
                    }
                }
                Ok((f, g))
            })?;
            let (j, h) = lay.dense(l.x());
            let model = lay.model(l.x())?;
            let (_, t) = exact_moments(&model)?;
            Ok(BoltzmannFit {
                j,
                h,
                residual: max_abs_diff(&t, &data),
                residual_noise: 0.0,
                steps: l.iterations,
                converged,
            })
        }
        Expectations::Pcd => pcd(&lay, mo, &data, th, &frozen, o),
        Expectations::MeanField => mean_field(&lay, &data, th, &frozen, o),
    }
}

fn pcd(
    lay: &Layout,
    mo: &Moments,
    data: &[f64],
    mut th: Vec<f64>,
    frozen: &[bool],
    o: &BoltzmannOptions,
) -> Result<BoltzmannFit> {
    if o.chains == 0 || o.steps < 10 || o.sweeps == 0 {
        return Err(Error::arg(
            "pcd needs ≥ 1 chain, ≥ 1 sweep per step and ≥ 10 steps",
        ));
    }
    let (n, p) = (lay.n, th.len());
    crate::limits::check_memory(
        "learn",
        &format!("{} persistent chains of {n} spins", o.chains),
        o.chains as f64 * (n as f64 + 64.0),
    )?;
    // Chains start from independent random states drawn with each spin's data magnetisation.
    let m0 = mo.clamped_mean();
    let mut chains: Vec<(Vec<i8>, Xoshiro256PlusPlus)> = (0..o.chains)
        .map(|c| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(o.seed, c as u64));
            let s = (0..n)
                .map(|i| {
                    if crate::rng::uniform(&mut rng) < 0.5 * (1.0 + m0[i]) {
                        1
                    } else {
                        -1
                    }
                })
                .collect();
            (s, rng)
        })
        .collect();
    let mut avg = vec![0.0; p];
    let mut averaged = 0usize;
    let mut late = vec![0.0; p];
    let mut late_count = 0usize;
    let half = o.steps / 2;
    for t in 0..o.steps {
        let model = lay.model(&th)?;
        let stats: Vec<f64> = chains
            .par_iter_mut()
            .map(|(s, rng)| {
                let sampler = Local::new(&model, Rule::HeatBath, Scan::Sequential);
                for _ in 0..o.sweeps {
                    sampler.sweep(s, rng);
                }
                let mut v: Vec<f64> = s.iter().map(|&x| x as f64).collect();
                v.extend(lay.edges.iter().map(|&(a, b)| (s[a] * s[b]) as f64));
                v
            })
            .reduce(
                || vec![0.0; p],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let model_t: Vec<f64> = stats.iter().map(|x| x / o.chains as f64).collect();
        if t >= o.steps - o.steps / 10 {
            late.iter_mut().zip(&model_t).for_each(|(a, b)| *a += b);
            late_count += 1;
        }
        // Decaying rate η_t = η₀ / (1 + t / (steps / 10)).
        let eta = o.lr / (1.0 + t as f64 / (o.steps as f64 / 10.0).max(1.0));
        for k in 0..p {
            if frozen[k] {
                continue;
            }
            let mut g = data[k] - model_t[k];
            if k >= n {
                g -= 2.0 * o.l2 * th[k];
            }
            th[k] += eta * g;
        }
        if t >= half {
            avg.iter_mut().zip(&th).for_each(|(a, b)| *a += b);
            averaged += 1;
        }
    }
    for (a, &f) in avg.iter_mut().zip(frozen) {
        let _ = f;
        *a /= averaged.max(1) as f64;
    }
    for k in 0..p {
        if frozen[k] {
            avg[k] = th[k];
        }
    }
    let late_mean: Vec<f64> = late.iter().map(|x| x / late_count.max(1) as f64).collect();
    let (j, h) = lay.dense(&avg);
    // Noise of a ±1 statistic averaged over chains × late steps (correlated steps: an
    // optimistic floor).
    let noise = 1.0 / ((o.chains * late_count.max(1)) as f64).sqrt();
    Ok(BoltzmannFit {
        j,
        h,
        residual: max_abs_diff(&late_mean, data),
        residual_noise: noise,
        steps: o.steps,
        converged: true,
    })
}

fn mean_field(
    lay: &Layout,
    data: &[f64],
    mut th: Vec<f64>,
    frozen: &[bool],
    o: &BoltzmannOptions,
) -> Result<BoltzmannFit> {
    let (n, p) = (lay.n, th.len());
    let mut residual = f64::INFINITY;
    let mut steps = 0;
    for _ in 0..o.steps {
        let model = lay.model(&th)?;
        let est = MeanField::default().solve(&model)?;
        let m = est.magnetization;
        let (j, _) = lay.dense(&th);
        let mut a = -j;
        for i in 0..n {
            a[(i, i)] = 1.0 / (1.0 - m[i] * m[i]).max(1e-12);
        }
        let chi = a.try_inverse().ok_or_else(|| {
            Error::Numerical("mean-field linear response: singular matrix".into())
        })?;
        let mut t = m.clone();
        t.extend(lay.edges.iter().map(|&(x, y)| chi[(x, y)] + m[x] * m[y]));
        residual = max_abs_diff(&t, data);
        steps += 1;
        if residual <= o.tol {
            break;
        }
        for k in 0..p {
            if frozen[k] {
                continue;
            }
            let mut g = data[k] - t[k];
            if k >= n {
                g -= 2.0 * o.l2 * th[k];
            }
            th[k] += o.lr * g;
        }
    }
    let (j, h) = lay.dense(&th);
    Ok(BoltzmannFit {
        j,
        h,
        residual,
        residual_noise: 0.0,
        steps,
        converged: residual <= o.tol,
    })
}
