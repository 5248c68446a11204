//! Variational autoregressive networks for spins (Wu, Wang & Zhang, PRL 122, 080602, 2019).
//!
//! q(s) = Π_j q(s_j | s_<j) with q(s_j | s_<j) = e^{s_j a_j}/(2cosh a_j), where the logits a_j
//! come from a masked dense network (MADE): `depth` hidden tanh layers of `width` units. Unit k
//! has a degree d_k ∈ {0, …, N−2}, assigned in ascending order, and may see inputs s_0..s_{d_k};
//! a deeper unit sees units of degree ≤ its own; output j sees last-layer units of degree < j.
//! Because degrees ascend with the unit index, every mask is a *prefix* of the previous layer,
//! so masked products are plain loops over prefixes — no multiplications by zero.
//!
//! Exact sampling visits the sites in order and computes each hidden unit exactly once, as soon
//! as the inputs it may see have been drawn, so a sample costs one forward pass,
//! O(N·width + depth·width²). log q(s) is exact. Training minimises F_q = E_q[βE(s) + log q(s)]
//! = −ELBO with the REINFORCE gradient E_q[(f − b)∇ log q] (f = βE + log q, leave-one-out
//! baseline b), hand-derived backpropagation through the prefix-masked layers, and Adam: the full
//! step for the first half of the run, then a cosine decay to 5% of it over the second half
//! (with a constant step the network jitters around the optimum at a distance set by the gradient
//! noise, which is what limited the final ELBO). β is annealed as β(1 − e^{−t/τ}) with
//! τ = min(500, steps/4) (Wu et al.'s 0.998^t for long runs). With `z2` (no fields) the family is
//! symmetrised: q₂(s) = ½[q(s) + q(−s)].
//!
//! Speed: samples are drawn and backpropagated in fixed chunks of 32, evaluated in parallel
//! (each chunk with its own random stream, so results do not depend on the thread count). Within
//! a chunk the work is unit-major — for each weight row, all 32 samples — so a row of the
//! parameters and of the gradient is loaded once per chunk instead of once per sample (the
//! gradient is a megabyte at N = width = 256 and would not stay in cache), and the prefix dot
//! products and updates run on FMA vectors when the CPU has them ([`crate::numeric::dot`]).
//!
//! Why hand-written backpropagation rather than an autodiff crate: the network is three loops
//! over prefixes, its gradient is three more, and the per-sample work is tiny; a tape-based
//! autodiff (or candle, whose build alone takes minutes here) would spend more time building
//! graphs than computing, and could not exploit the prefix masks.
//!
//! Results: the ELBO E_q[−βE − log q] ± its standard error (a stochastic lower bound on ln Z), and
//! the importance-weighted estimate ln Z ≈ ln mean e^{−βE(s) − log q(s)}, bias-corrected by a
//! delete-a-group jackknife whose spread is also its error bar (the larger of that and the
//! delta-method error), with the effective sample size of the weights. When the ESS is a few
//! percent of the samples the weights are heavy-tailed and no finite-sample error bar is
//! trustworthy: the estimate is then marked not converged.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, Kind, Progress, Solver};
use crate::mc::{local::uniform, stream_seed};
use crate::model::Model;
use crate::numeric::{axpy, dot, ln_2cosh, log_add};
use crate::variational::lattice::tanh_fast;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The network: parameters of every layer in one flat vector, plus its shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Made {
    /// Number of spins N.
    pub n: usize,
    /// Hidden units per layer.
    pub width: usize,
    /// Number of hidden tanh layers.
    pub depth: usize,
    /// Whether q is symmetrised under s → −s: q₂(s) = ½\[q(s) + q(−s)\].
    pub z2: bool,
    /// Degree of hidden unit k (the same in every layer), ascending.
    pub degree: Vec<usize>,
    /// All weights and biases in one flat vector (layers, then the output layer).
    pub params: Vec<f64>,
}

/// Offsets of each block in `params`.
struct Layout {
    /// Layer l: weights (width × inputs, row-major) and biases.
    w: Vec<usize>,
    b: Vec<usize>,
    v: usize,
    c: usize,
    total: usize,
}

impl Made {
    /// A fresh network: unit k has degree ⌊k(N − 1)/width⌋, hidden weights N(0, 1/fan-in), output
    /// weights N(0, 0.01/width), biases zero. An error unless N ≥ 2, width ≥ 1 and depth ≥ 1.
    pub fn new(n: usize, width: usize, depth: usize, z2: bool, seed: u64) -> Result<Made> {
        if n < 2 || width == 0 || depth == 0 {
            return Err(Error::InvalidArgument(
                "van needs ≥ 2 spins, width ≥ 1 and depth ≥ 1".into(),
            ));
        }
        let degree: Vec<usize> = (0..width).map(|k| k * (n - 1) / width).collect();
        let mut m = Made {
            n,
            width,
            depth,
            z2,
            degree,
            params: Vec::new(),
        };
        let lay = m.layout();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut p = vec![0.0; lay.total];
        for l in 0..depth {
            let fan_in = if l == 0 { n } else { width } as f64;
            let len = width * if l == 0 { n } else { width };
            for x in &mut p[lay.w[l]..lay.w[l] + len] {
                let g: f64 = StandardNormal.sample(&mut rng);
                *x = g / fan_in.sqrt();
            }
        }
        for x in &mut p[lay.v..lay.v + n * width] {
            let g: f64 = StandardNormal.sample(&mut rng);
            *x = 0.1 * g / (width as f64).sqrt();
        }
        m.params = p;
        Ok(m)
    }

    /// Number of parameters of a network, in floating point (cannot overflow):
    /// first layer width·(N + 1), further layers width·(width + 1) each, output N·(width + 1).
    pub fn param_count_f64(n: f64, width: f64, depth: f64) -> f64 {
        if depth < 1.0 {
            return n * (width + 1.0);
        }
        width * (n + 1.0) + (depth - 1.0) * width * (width + 1.0) + n * (width + 1.0)
    }

    /// Check a network that came from outside (a checkpoint file): its shape must be one that
    /// [`Made::new`] can produce — N ≥ 2, width and depth ≥ 1, one degree per unit, ascending
    /// and below N − 1 — with exactly as many finite parameters as that shape has. Everything
    /// else in this module indexes by that shape, so an inconsistent network would panic.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::InvalidArgument(format!(
                "invalid VAN network: {why}"
            )))
        };
        if self.n < 2 || self.width == 0 || self.depth == 0 {
            return bad(format!(
                "needs ≥ 2 spins, width ≥ 1 and depth ≥ 1 (has n = {}, width {}, depth {})",
                self.n, self.width, self.depth
            ));
        }
        if self.degree.len() != self.width {
            return bad(format!(
                "{} unit degrees for width {}",
                self.degree.len(),
                self.width
            ));
        }
        if self.degree.windows(2).any(|p| p[1] < p[0])
            || self.degree.iter().any(|&g| g > self.n - 2)
        {
            return bad(format!(
                "unit degrees must ascend and lie in 0..={}",
                self.n - 2
            ));
        }
        let want = Made::param_count_f64(self.n as f64, self.width as f64, self.depth as f64);
        if self.params.len() as f64 != want {
            return bad(format!(
                "{} parameters, but n = {}, width {}, depth {} needs {want}",
                self.params.len(),
                self.n,
                self.width,
                self.depth
            ));
        }
        if let Some(k) = self.params.iter().position(|p| !p.is_finite()) {
            return bad(format!("parameter {k} is {}", self.params[k]));
        }
        Ok(())
    }

    fn layout(&self) -> Layout {
        let (n, w) = (self.n, self.width);
        let mut off = 0;
        let (mut wo, mut bo) = (Vec::new(), Vec::new());
        for l in 0..self.depth {
            wo.push(off);
            off += w * if l == 0 { n } else { w };
            bo.push(off);
            off += w;
        }
        let v = off;
        off += n * w;
        let c = off;
        off += n;
        Layout {
            w: wo,
            b: bo,
            v,
            c,
            total: off,
        }
    }

    /// Number of units of degree < g (a prefix length).
    fn below(&self, g: usize) -> usize {
        self.degree.partition_point(|&d| d < g)
    }
    fn upto(&self, g: usize) -> usize {
        self.degree.partition_point(|&d| d <= g)
    }

    /// Hidden unit k of layer l, tanh of its pre-activation; its inputs (spins up to its degree,
    /// or previous-layer units of degree ≤ its own) must be final.
    #[inline]
    fn unit(&self, lay: &Layout, l: usize, k: usize, s: &[f64], h: &[Vec<f64>]) -> f64 {
        let (n, w) = (self.n, self.width);
        let p = &self.params;
        let mut z = p[lay.b[l] + k];
        if l == 0 {
            let lim = self.degree[k] + 1;
            z += dot(&p[lay.w[0] + k * n..][..lim], &s[..lim]);
        } else {
            let lim = self.upto(self.degree[k]);
            z += dot(&p[lay.w[l] + k * w..][..lim], &h[l - 1][..lim]);
        }
        tanh_fast(z)
    }

    /// Logit of site j from the last layer's units of degree < j.
    #[inline]
    fn logit(&self, lay: &Layout, j: usize, h: &[Vec<f64>]) -> f64 {
        let w = self.width;
        let row = &self.params[lay.v + j * w..][..w];
        let last = &h[self.depth - 1];
        let lim = self.below(j);
        self.params[lay.c + j] + dot(&row[..lim], &last[..lim])
    }

    /// Forward pass for a given s: hidden activations of every layer and the logits.
    fn forward(&self, s: &[f64], h: &mut [Vec<f64>], a: &mut [f64]) {
        let lay = self.layout();
        for l in 0..self.depth {
            for k in 0..self.width {
                h[l][k] = self.unit(&lay, l, k, s, h);
            }
        }
        for j in 0..self.n {
            a[j] = self.logit(&lay, j, h);
        }
    }

    /// log q(s) of the unsymmetrised network.
    fn log_q_raw(&self, s: &[f64], h: &mut [Vec<f64>], a: &mut [f64]) -> f64 {
        self.forward(s, h, a);
        s.iter()
            .zip(a.iter())
            .map(|(x, y)| x * y - ln_2cosh(*y))
            .sum()
    }

    /// Draw one exact sample of the unsymmetrised q; hidden units are computed once, when their
    /// inputs are final, so `h` and the logits `a` end up equal to `forward(s)`'s.
    fn sample_raw<R: rand::Rng>(
        &self,
        rng: &mut R,
        s: &mut [f64],
        h: &mut [Vec<f64>],
        a: &mut [f64],
    ) {
        let x = self.sample_batch(rng, 1).pop().expect("one draw");
        s.copy_from_slice(&x.s);
        a.copy_from_slice(&x.a);
        for (hl, xl) in h.iter_mut().zip(&x.h) {
            hl.copy_from_slice(xl);
        }
    }

    /// Draw one exact sample of q (symmetrised when z2: the raw draw, negated with probability ½).
    pub fn sample<R: rand::Rng>(
        &self,
        rng: &mut R,
        s: &mut [f64],
        h: &mut [Vec<f64>],
        a: &mut [f64],
    ) {
        self.sample_raw(rng, s, h, a);
        if self.z2 && rng.next_u64() >> 63 == 1 {
            s.iter_mut().for_each(|x| *x = -*x);
        }
    }

    /// log q(s) (symmetrised when z2).
    pub fn log_q(&self, s: &[f64]) -> f64 {
        let mut h = vec![vec![0.0; self.width]; self.depth];
        let mut a = vec![0.0; self.n];
        let lq = self.log_q_raw(s, &mut h, &mut a);
        if !self.z2 {
            return lq;
        }
        let neg: Vec<f64> = s.iter().map(|x| -x).collect();
        let lm = self.log_q_raw(&neg, &mut h, &mut a);
        log_add(lq, lm) - std::f64::consts::LN_2
    }

    /// Add `weight`·∇ log q_raw(s) to `g` (backpropagation through the prefix masks).
    #[cfg(test)]
    fn backward(&self, s: &[f64], weight: f64, h: &mut [Vec<f64>], a: &mut [f64], g: &mut [f64]) {
        self.forward(s, h, a);
        let item = Grad { s, weight, h, a };
        self.backward_batch(&[item], g);
    }

    /// Σ_b weight_b ∇ log q_raw(s_b) added to `g`, for activations already at hand. The batch
    /// is walked inside each weight row, so a row of the gradient (and of the parameters) is
    /// loaded once per batch rather than once per sample: the gradient, a megabyte for
    /// N = width = 256, would not stay in cache across samples.
    fn backward_batch(&self, items: &[Grad], g: &mut [f64]) {
        let (n, w) = (self.n, self.width);
        let lay = self.layout();
        let p = &self.params;
        let last = self.depth - 1;
        let mut dh = vec![vec![0.0; w]; items.len()];
        for j in 0..n {
            let lim = self.below(j);
            let row = &p[lay.v + j * w..][..lim];
            for (it, dhb) in items.iter().zip(dh.iter_mut()) {
                // ∂ log q(s_j | s_<j)/∂a_j = s_j − tanh a_j.
                let da = it.weight * (it.s[j] - tanh_fast(it.a[j]));
                g[lay.c + j] += da;
                axpy(da, &it.h[last][..lim], &mut g[lay.v + j * w..][..lim]);
                axpy(da, row, &mut dhb[..lim]);
            }
        }
        for l in (0..self.depth).rev() {
            // Through tanh: dz = dh (1 − h²).
            let dz: Vec<Vec<f64>> = items
                .iter()
                .zip(&dh)
                .map(|(it, dhb)| {
                    dhb.iter()
                        .zip(&it.h[l])
                        .map(|(d, x)| d * (1.0 - x * x))
                        .collect()
                })
                .collect();
            let mut dprev = vec![vec![0.0; if l > 0 { w } else { 0 }]; items.len()];
            for k in 0..w {
                let deg = self.degree[k];
                for (b, it) in items.iter().enumerate() {
                    let d = dz[b][k];
                    g[lay.b[l] + k] += d;
                    if l == 0 {
                        axpy(d, &it.s[..=deg], &mut g[lay.w[0] + k * n..][..=deg]);
                    } else {
                        let lim = self.upto(deg);
                        axpy(d, &it.h[l - 1][..lim], &mut g[lay.w[l] + k * w..][..lim]);
                        axpy(d, &p[lay.w[l] + k * w..][..lim], &mut dprev[b][..lim]);
                    }
                }
            }
            dh = dprev;
        }
    }

    /// Exact samples of the unsymmetrised q for `count` draws at once, with their activations
    /// (equal to `forward(s)`'s). Each hidden unit is computed once per draw, as soon as its
    /// inputs are final; the batch is walked inside each unit so its weight row stays in cache.
    fn sample_batch<R: rand::Rng>(&self, rng: &mut R, count: usize) -> Vec<Act> {
        let lay = self.layout();
        let mut out: Vec<Act> = (0..count).map(|_| Act::new(self)).collect();
        let mut done = vec![0usize; self.depth];
        for j in 0..self.n {
            // Units of degree ≤ j − 1 can now be computed in every layer.
            if j > 0 {
                let lim = self.upto(j - 1);
                for l in 0..self.depth {
                    while done[l] < lim {
                        let k = done[l];
                        for x in out.iter_mut() {
                            x.h[l][k] = self.unit(&lay, l, k, &x.s, &x.h);
                        }
                        done[l] += 1;
                    }
                }
            }
            for x in out.iter_mut() {
                let z = self.logit(&lay, j, &x.h);
                x.a[j] = z;
                // P(s_j = +1) = e^{a}/(2cosh a) = 1/(1 + e^{−2a}).
                let p_up = 1.0 / (1.0 + (-2.0 * z).exp());
                x.s[j] = if uniform(rng) < p_up { 1.0 } else { -1.0 };
            }
        }
        out
    }

    /// Activations of given states, unit-major like [`Made::sample_batch`].
    fn forward_batch(&self, states: Vec<Vec<f64>>) -> Vec<Act> {
        let lay = self.layout();
        let mut out: Vec<Act> = states
            .into_iter()
            .map(|s| Act {
                s,
                ..Act::new(self)
            })
            .collect();
        for l in 0..self.depth {
            for k in 0..self.width {
                for x in out.iter_mut() {
                    x.h[l][k] = self.unit(&lay, l, k, &x.s, &x.h);
                }
            }
        }
        for j in 0..self.n {
            for x in out.iter_mut() {
                x.a[j] = self.logit(&lay, j, &x.h);
            }
        }
        out
    }
}

/// A state with the network's activations on it: hidden layers and logits.
struct Act {
    s: Vec<f64>,
    h: Vec<Vec<f64>>,
    a: Vec<f64>,
}

impl Act {
    fn new(net: &Made) -> Act {
        Act {
            s: vec![0.0; net.n],
            h: vec![vec![0.0; net.width]; net.depth],
            a: vec![0.0; net.n],
        }
    }

    /// log q_raw(s) = Σ_j [s_j a_j − ln 2cosh a_j].
    fn log_q(&self) -> f64 {
        self.s
            .iter()
            .zip(&self.a)
            .map(|(x, y)| x * y - ln_2cosh(*y))
            .sum()
    }
}

/// One term of a batched gradient: weight · ∇ log q_raw at s.
struct Grad<'a> {
    s: &'a [f64],
    weight: f64,
    h: &'a [Vec<f64>],
    a: &'a [f64],
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct Van {
    /// Hidden units per layer (None: N clamped to 16..=512).
    pub width: Option<usize>,
    /// Number of hidden layers.
    pub depth: usize,
    /// Training steps (Adam updates).
    pub steps: usize,
    /// Samples of q per step.
    pub batch: usize,
    /// Adam's step size (full for the first half, then cosine-decayed to 5%).
    pub lr: f64,
    /// Anneal β from 0 to the model's β during training (ignored when starting from `init`).
    pub anneal: bool,
    /// Symmetrise q under s → −s (default: when every field is zero).
    pub z2: Option<bool>,
    /// Fresh samples for the final ELBO and importance-weighted estimates.
    pub eval_samples: usize,
    /// Seed from which every random stream is derived.
    pub seed: u64,
    /// Report the importance-weighted estimate instead of the ELBO.
    pub importance_weighted: bool,
    /// Start from (and return) a trained network.
    pub init: Option<Made>,
}

impl Default for Van {
    fn default() -> Self {
        Van {
            width: None,
            depth: 1,
            steps: 1000,
            batch: 256,
            lr: 2e-3,
            anneal: true,
            z2: None,
            eval_samples: 10_000,
            seed: 1,
            importance_weighted: false,
            init: None,
        }
    }
}

/// What a training run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VanReport {
    /// ELBO E_q\[−βE − log q\] from the evaluation samples (a stochastic lower bound on ln Z).
    pub elbo: f64,
    /// Standard error of `elbo`.
    #[serde(with = "crate::estimate::error_bar")]
    pub elbo_std_err: f64,
    /// Importance-weighted ln Z ≈ ln mean e^{−βE(s) − log q(s)}, jackknife bias-corrected.
    pub iw_ln_z: f64,
    /// +∞ when one sample carries all the weight (written as "inf" in JSON).
    #[serde(with = "crate::estimate::error_bar")]
    pub iw_std_err: f64,
    /// Effective sample size (Σw)²/Σw² of the importance weights.
    pub ess: f64,
    /// Number of evaluation samples.
    pub samples: usize,
    /// ELBO (batch mean at the target β) every 10 steps, with the seconds elapsed.
    pub trace: Vec<(usize, f64, f64)>,
    /// Wall-clock seconds from the start of training to the end of evaluation.
    pub seconds: f64,
}

const CHUNK: usize = 32;

/// The mirrored state −s of a z2 draw with its activations, and π = q(s)/(q(s) + q(−s)).
struct Mirror {
    act: Act,
    pi: f64,
}

/// One draw with everything its gradient needs: the raw sample and its activations, the mirrored
/// state's activations (z2), the returned state's energy and log q.
struct Draw {
    raw: Act,
    mirror: Option<Mirror>,
    energy: f64,
    log_q: f64,
}

impl Draw {
    /// `count` draws of q (symmetrised when z2: each raw draw negated with probability ½).
    fn batch<R: rand::Rng>(net: &Made, m: &Model, rng: &mut R, count: usize) -> Vec<Draw> {
        let raws = net.sample_batch(rng, count);
        let mirrors: Vec<Option<Act>> = if net.z2 {
            let neg = raws
                .iter()
                .map(|x| x.s.iter().map(|v| -v).collect())
                .collect();
            net.forward_batch(neg).into_iter().map(Some).collect()
        } else {
            (0..count).map(|_| None).collect()
        };
        raws.into_iter()
            .zip(mirrors)
            .map(|(raw, mirror)| {
                let lq_raw = raw.log_q();
                let (mirror, log_q, flip) = match mirror {
                    Some(act) => {
                        let lq_neg = act.log_q();
                        let both = log_add(lq_raw, lq_neg);
                        let pi = (lq_raw - both).exp();
                        let flip = rng.next_u64() >> 63 == 1;
                        (
                            Some(Mirror { act, pi }),
                            both - std::f64::consts::LN_2,
                            flip,
                        )
                    }
                    None => (None, lq_raw, false),
                };
                let si: Vec<i8> = raw
                    .s
                    .iter()
                    .map(|&x| if flip { -x as i8 } else { x as i8 })
                    .collect();
                Draw {
                    energy: m.energy(&si),
                    raw,
                    mirror,
                    log_q,
                }
            })
            .collect()
    }

    /// The gradient terms of w·∇ log q(s) (q symmetrised when z2: π∇log q(raw) + (1 − π)∇log
    /// q(−raw), the same for either member of the pair).
    fn grad_terms<'a>(&'a self, w: f64, out: &mut Vec<Grad<'a>>) {
        let term = |x: &'a Act, weight: f64| Grad {
            s: &x.s,
            weight,
            h: &x.h,
            a: &x.a,
        };
        match &self.mirror {
            None => out.push(term(&self.raw, w)),
            Some(mi) => {
                out.push(term(&self.raw, w * mi.pi));
                out.push(term(&mi.act, w * (1.0 - mi.pi)));
            }
        }
    }
}

impl Van {
    /// Check a run against the memory and time budgets ([`crate::limits`]) before anything is
    /// allocated. Memory: the network with its gradient and Adam moments (4 copies of the
    /// parameters), every draw of a step with its activations (and its mirror's, z2), a gradient
    /// per chunk of 32 draws, and the evaluation draws. Time: a draw costs a forward pass and
    /// its gradient a backward one, each ~N·width + depth·width² multiply-adds (a lower bound).
    fn check_budget(&self, m: &Model) -> Result<()> {
        let limits = crate::limits::Limits::current();
        let n = m.n() as f64;
        let (w, d) = match &self.init {
            Some(net) => (net.width as f64, net.depth as f64),
            None => (
                self.width.unwrap_or(m.n().clamp(16, 512)) as f64,
                self.depth as f64,
            ),
        };
        let params = Made::param_count_f64(n, w, d);
        let draw = 2.0 * (16.0 * n + d * (24.0 + 8.0 * w) + 200.0) + m.n() as f64;
        let (batch, steps) = (self.batch as f64, self.steps as f64);
        let chunks = (batch / CHUNK as f64).ceil();
        let eval = self.eval_samples as f64;
        let bytes = 8.0 * params * (4.0 + chunks) + draw * batch.max(eval.min(CHUNK as f64));
        let bytes = bytes + 8.0 * eval;
        let what = format!(
            "{} steps × {} samples of a network of {} parameters",
            self.steps, self.batch, params
        );
        limits.check_memory("van", &format!("training {what}"), bytes)?;
        let pass = n * w + d * w * w + m.num_edges() as f64;
        limits.check_work("van", &what, 3.0 * pass * (steps * batch + eval))
    }

    /// Train (or continue training) a network on `m`; returns it with its evaluation.
    pub fn train(&self, m: &Model, progress: &dyn Progress) -> Result<(Made, VanReport)> {
        let n = m.n();
        if self.batch < 2 || !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "van needs batch ≥ 2 and a finite lr > 0 (got batch {}, lr {})",
                self.batch, self.lr
            )));
        }
        if let Some(net) = &self.init {
            net.validate()?;
        }
        self.check_budget(m)?;
        let no_field = m.fields().iter().all(|&h| h == 0.0);
        let z2 = self.z2.unwrap_or(no_field);
        let mut net = match &self.init {
            Some(net) => {
                if net.n != n {
                    return Err(Error::InvalidArgument(format!(
                        "the network was trained for {} spins, the model has {n}",
                        net.n
                    )));
                }
                net.clone()
            }
            None => Made::new(
                n,
                self.width.unwrap_or(n.clamp(16, 512)),
                self.depth,
                z2,
                self.seed,
            )?,
        };
        let np = net.params.len();
        let mut adam = super::Adam::new(np);
        let beta = m.beta();
        let t0 = std::time::Instant::now();
        let mut trace = Vec::new();
        progress.start(self.steps as u64, "VAN steps");
        for t in 1..=self.steps {
            let bt = if self.anneal && self.init.is_none() {
                // β_t = β(1 − e^{−t/τ}), τ = 500 steps (Wu et al.'s 0.998^t) or a tenth of a
                // shorter run, so that every run trains at the target β for most of its steps.
                let tau = (self.steps as f64 / 4.0).clamp(1.0, 500.0);
                beta * (1.0 - (-(t as f64) / tau).exp())
            } else {
                beta
            };
            let chunks = self.batch.div_ceil(CHUNK);
            // Each chunk: raw draws with their activations (and those of the mirrored state
            // for z2), f = β_t E + log q, then the gradient once the baseline is known.
            let draws: Vec<Vec<Draw>> = (0..chunks)
                .into_par_iter()
                .map(|c| {
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(
                        stream_seed(self.seed, t as u64),
                        c as u64,
                    ));
                    let cnt = CHUNK.min(self.batch - c * CHUNK);
                    Draw::batch(&net, m, &mut rng, cnt)
                })
                .collect();
            let all: Vec<&Draw> = draws.iter().flatten().collect();
            let b = all.len() as f64;
            let f: Vec<f64> = all.iter().map(|d| bt * d.energy + d.log_q).collect();
            let total: f64 = f.iter().sum();
            // Gradient of F = E[f]: Σ_k w_k ∇ log q(s_k), w_k = (f_k − leave-one-out mean)/B.
            let grads: Vec<Vec<f64>> = all
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, chunk)| {
                    let mut g = vec![0.0; np];
                    let mut terms = Vec::with_capacity(2 * chunk.len());
                    for (i, d) in chunk.iter().enumerate() {
                        let k = c * CHUNK + i;
                        let w = (f[k] - (total - f[k]) / (b - 1.0)) / b;
                        d.grad_terms(w, &mut terms);
                    }
                    net.backward_batch(&terms, &mut g);
                    g
                })
                .collect();
            let mut grad = vec![0.0; np];
            for g in &grads {
                for (x, y) in grad.iter_mut().zip(g) {
                    *x += y;
                }
            }
            // Descend F = −ELBO.
            grad.iter_mut().for_each(|g| *g = -*g);
            // Cosine decay of the step size to 5% of `lr`: a constant step leaves the network
            // jittering around the optimum at a distance set by the gradient noise, which is
            // what limits the final ELBO; decaying it lets the last steps settle.
            // The first half runs at the full step; the decay takes the second half.
            let frac = (2.0 * (t - 1) as f64 / self.steps.max(2) as f64 - 1.0).max(0.0);
            let rate = self.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
            adam.step(&mut net.params, &grad, rate);
            if t % 10 == 0 || t == self.steps {
                // ELBO at the target β from this batch (exact only once annealing is over).
                let elbo = -all.iter().map(|d| beta * d.energy + d.log_q).sum::<f64>() / b;
                trace.push((t, elbo, t0.elapsed().as_secs_f64()));
                progress.message(&format!("ELBO {elbo:.4}"));
                progress.advance(10.min(t as u64));
            }
        }
        progress.finish();
        let report = evaluate(
            &net,
            m,
            self.eval_samples,
            stream_seed(self.seed, u64::MAX),
            trace,
            t0,
        )?;
        Ok((net, report))
    }
}

/// ELBO and importance-weighted ln Z from fresh samples of q.
pub fn evaluate(
    net: &Made,
    m: &Model,
    samples: usize,
    seed: u64,
    trace: Vec<(usize, f64, f64)>,
    t0: std::time::Instant,
) -> Result<VanReport> {
    if samples < 2 {
        return Err(Error::InvalidArgument("need ≥ 2 evaluation samples".into()));
    }
    let beta = m.beta();
    let chunks = samples.div_ceil(CHUNK);
    let vals: Vec<f64> = (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream_seed(seed, c as u64));
            let cnt = CHUNK.min(samples - c * CHUNK);
            Draw::batch(net, m, &mut rng, cnt)
                .into_iter()
                .map(|d| -beta * d.energy - d.log_q)
                .collect::<Vec<_>>()
        })
        .collect();
    let k = vals.len() as f64;
    let (mean, var) = crate::mc::stats::mean_var(&vals);
    let max = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = vals.iter().map(|v| (v - max).exp()).collect();
    // Bias-corrected ln mean of the weights with an error bar that sees the heavy tail.
    let (jack, jack_se) = crate::mc::stats::log_mean_exp_jackknife(&vals, 20);
    let (wm, wv) = crate::mc::stats::mean_var(&w);
    Ok(VanReport {
        elbo: mean,
        elbo_std_err: (var / (k - 1.0)).sqrt(),
        iw_ln_z: jack,
        iw_std_err: jack_se.max((wv * k / (k - 1.0)).sqrt() / (k.sqrt() * wm)),
        ess: w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>(),
        samples,
        trace,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

impl Solver for Van {
    fn name(&self) -> &'static str {
        if self.importance_weighted {
            "van-iw"
        } else {
            "van"
        }
    }

    fn solve_with(&self, m: &Model, progress: &dyn Progress) -> Result<Estimate> {
        let (net, r) = self.train(m, progress)?;
        let mut e = if self.importance_weighted {
            Estimate::new(
                r.iw_ln_z,
                Kind::Stochastic {
                    std_err: r.iw_std_err,
                },
                "van (importance-weighted)",
            )
        } else {
            Estimate::new(
                r.elbo,
                Kind::StochasticLowerBound {
                    std_err: r.elbo_std_err,
                },
                "van (ELBO)",
            )
        };
        e.diagnostics.iterations = self.steps;
        e.diagnostics.converged = r.ess >= 0.05 * r.samples as f64;
        if !e.diagnostics.converged {
            e.diagnostics.notes.push(format!(
                "importance weights are heavy-tailed (ESS {:.0} of {}): the importance-weighted error bar may be too small; train longer or use a larger network",
                r.ess, r.samples
            ));
        }
        e.diagnostics.notes.push(format!(
            "MADE depth {} width {}{}; {} steps × {} samples; ELBO {:.6} ± {:.2e}, importance-weighted ln Z {:.6} ± {:.2e} (ESS {:.0} of {})",
            net.depth,
            net.width,
            if net.z2 { ", Z2-symmetrised" } else { "" },
            self.steps,
            self.batch,
            r.elbo,
            r.elbo_std_err,
            r.iw_ln_z,
            r.iw_std_err,
            r.ess,
            r.samples
        ));
        e.mark_undefined_error();
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Σ_s q(s) = 1 exactly (enumeration), and ∇ log q matches finite differences.
    #[test]
    fn the_network_is_normalised_and_its_gradient_is_right() {
        for (depth, z2) in [(1, false), (2, false), (2, true)] {
            let net = Made::new(6, 5, depth, z2, 3).unwrap();
            let mut total = 0.0;
            for x in 0..64u32 {
                let s: Vec<f64> = (0..6)
                    .map(|i| if (x >> i) & 1 == 1 { 1.0 } else { -1.0 })
                    .collect();
                total += net.log_q(&s).exp();
            }
            assert!(
                (total - 1.0).abs() < 1e-12,
                "depth {depth} z2 {z2}: Σq = {total}"
            );
        }
        let mut net = Made::new(5, 4, 2, false, 4).unwrap();
        let s = [1.0, -1.0, -1.0, 1.0, 1.0];
        let mut g = vec![0.0; net.params.len()];
        let mut h = vec![vec![0.0; 4]; 2];
        let mut a = vec![0.0; 5];
        net.backward(&s, 1.0, &mut h, &mut a, &mut g);
        for k in (0..net.params.len()).step_by(3) {
            let x = net.params[k];
            net.params[k] = x + 1e-6;
            let up = net.log_q(&s);
            net.params[k] = x - 1e-6;
            let dn = net.log_q(&s);
            net.params[k] = x;
            let fd = (up - dn) / 2e-6;
            assert!((fd - g[k]).abs() < 1e-6, "param {k}: {fd} vs {}", g[k]);
        }
    }

    /// Sampling follows q: empirical frequencies of 3-spin states against q.
    #[test]
    fn sampling_matches_log_q() {
        let net = Made::new(3, 4, 2, false, 5).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut counts = [0.0; 8];
        let mut h = vec![vec![0.0; 4]; 2];
        let mut a = vec![0.0; 3];
        let mut s = vec![0.0; 3];
        let draws = 200_000;
        for _ in 0..draws {
            net.sample(&mut rng, &mut s, &mut h, &mut a);
            let idx = (0..3).map(|i| ((s[i] > 0.0) as usize) << i).sum::<usize>();
            counts[idx] += 1.0;
        }
        for x in 0..8 {
            let st: Vec<f64> = (0..3)
                .map(|i| if (x >> i) & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            let p = net.log_q(&st).exp();
            let sd = (p * (1.0 - p) / draws as f64).sqrt();
            assert!((counts[x] / draws as f64 - p).abs() < 5.0 * sd, "state {x}");
        }
        // The activations left by sampling are those of a forward pass (the gradient reuses them).
        let net = Made::new(7, 6, 3, false, 6).unwrap();
        let (mut h1, mut a1) = (vec![vec![0.0; 6]; 3], vec![0.0; 7]);
        let (mut h2, mut a2) = (vec![vec![0.0; 6]; 3], vec![0.0; 7]);
        let mut s = vec![0.0; 7];
        net.sample_raw(&mut rng, &mut s, &mut h1, &mut a1);
        net.forward(&s, &mut h2, &mut a2);
        assert_eq!(a1, a2);
        for l in 0..3 {
            for k in 0..6 {
                if net.degree[k] < 6 {
                    assert_eq!(h1[l][k], h2[l][k]);
                }
            }
        }
    }
}
