//! The network of a VAN: a masked autoencoder (MADE) with prefix masks, its exact sampler,
//! log q(s), and hand-derived backpropagation of the REINFORCE gradient (see [`super`] for the
//! model and why the masks are prefixes).

use crate::error::{Error, Result};
use crate::numeric::fast::tanh_fast;
use crate::numeric::{axpy, dot, ln_2cosh, log_add};
use crate::rng::uniform;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
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
pub(super) struct Layout {
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

    pub(super) fn layout(&self) -> Layout {
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
    pub(super) fn below(&self, g: usize) -> usize {
        self.degree.partition_point(|&d| d < g)
    }
    pub(super) fn upto(&self, g: usize) -> usize {
        self.degree.partition_point(|&d| d <= g)
    }

    /// Hidden unit k of layer l, tanh of its pre-activation; its inputs (spins up to its degree,
    /// or previous-layer units of degree ≤ its own) must be final.
    #[inline]
    pub(super) fn unit(&self, lay: &Layout, l: usize, k: usize, s: &[f64], h: &[Vec<f64>]) -> f64 {
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
    pub(super) fn logit(&self, lay: &Layout, j: usize, h: &[Vec<f64>]) -> f64 {
        let w = self.width;
        let row = &self.params[lay.v + j * w..][..w];
        let last = &h[self.depth - 1];
        let lim = self.below(j);
        self.params[lay.c + j] + dot(&row[..lim], &last[..lim])
    }

    /// Forward pass for a given s: hidden activations of every layer and the logits.
    pub(super) fn forward(&self, s: &[f64], h: &mut [Vec<f64>], a: &mut [f64]) {
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
    pub(super) fn log_q_raw(&self, s: &[f64], h: &mut [Vec<f64>], a: &mut [f64]) -> f64 {
        self.forward(s, h, a);
        s.iter()
            .zip(a.iter())
            .map(|(x, y)| x * y - ln_2cosh(*y))
            .sum()
    }

    /// Draw one exact sample of the unsymmetrised q; hidden units are computed once, when their
    /// inputs are final, so `h` and the logits `a` end up equal to `forward(s)`'s.
    pub(super) fn sample_raw<R: rand::Rng>(
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
    pub(super) fn backward(
        &self,
        s: &[f64],
        weight: f64,
        h: &mut [Vec<f64>],
        a: &mut [f64],
        g: &mut [f64],
    ) {
        self.forward(s, h, a);
        let item = Grad { s, weight, h, a };
        self.backward_batch(&[item], g);
    }

    /// Σ_b weight_b ∇ log q_raw(s_b) added to `g`, for activations already at hand. The batch
    /// is walked inside each weight row, so a row of the gradient (and of the parameters) is
    /// loaded once per batch rather than once per sample: the gradient, a megabyte for
    /// N = width = 256, would not stay in cache across samples.
    pub(super) fn backward_batch(&self, items: &[Grad], g: &mut [f64]) {
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
    pub(super) fn sample_batch<R: rand::Rng>(&self, rng: &mut R, count: usize) -> Vec<Act> {
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
    pub(super) fn forward_batch(&self, states: Vec<Vec<f64>>) -> Vec<Act> {
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
pub(super) struct Act {
    pub(super) s: Vec<f64>,
    pub(super) h: Vec<Vec<f64>>,
    pub(super) a: Vec<f64>,
}

impl Act {
    pub(super) fn new(net: &Made) -> Act {
        Act {
            s: vec![0.0; net.n],
            h: vec![vec![0.0; net.width]; net.depth],
            a: vec![0.0; net.n],
        }
    }

    /// log q_raw(s) = Σ_j [s_j a_j − ln 2cosh a_j].
    pub(super) fn log_q(&self) -> f64 {
        self.s
            .iter()
            .zip(&self.a)
            .map(|(x, y)| x * y - ln_2cosh(*y))
            .sum()
    }
}

/// One term of a batched gradient: weight · ∇ log q_raw at s.
pub(super) struct Grad<'a> {
    pub(super) s: &'a [f64],
    pub(super) weight: f64,
    pub(super) h: &'a [Vec<f64>],
    pub(super) a: &'a [f64],
}
