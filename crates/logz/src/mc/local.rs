//! Single-spin-update samplers on any model: Metropolis and heat-bath (Gibbs).
//!
//! Both satisfy detailed balance with respect to p(s) ∝ e^{−βE(s)}. Flipping spin i changes the
//! energy by ΔE = 2 s_i f_i with the local field f_i = h_i + Σ_j J_ij s_j. Metropolis accepts the
//! flip with probability min(1, e^{−βΔE}); heat-bath draws s_i afresh from its conditional,
//! P(s_i = +1 | rest) = 1 / (1 + e^{−2βf_i}). A sweep is N update attempts, visiting the spins in
//! order (sequential scan) or N uniformly random spins (random scan, which satisfies detailed
//! balance step by step rather than only as a composition).

use crate::model::Model;
use crate::rng::{index, uniform};
use rand::Rng;

/// The single-spin update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Metropolis: flip with probability min(1, e^{−βΔE}).
    Metropolis,
    /// Heat-bath (Gibbs): draw the spin from its conditional given its neighbours.
    HeatBath,
}

/// The order in which spins are visited within a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Visit the spins in index order 0..N.
    Sequential,
    /// Visit N uniformly random spins (with replacement) per sweep.
    Random,
}

/// A single-spin sampler for one model (at the model's β).
#[derive(Debug, Clone)]
pub struct Local<'a> {
    model: &'a Model,
    rule: Rule,
    scan: Scan,
    /// Couplings are multiplied by λ: the path E_λ = E₀ − λΣJss − Σhs of thermodynamic
    /// integration and annealed importance sampling (λ = 1 is the model itself).
    scale: f64,
}

impl<'a> Local<'a> {
    /// A sampler of `model` at its β (couplings unscaled, λ = 1) with the given rule and scan order.
    pub fn new(model: &'a Model, rule: Rule, scan: Scan) -> Self {
        Local {
            model,
            rule,
            scan,
            scale: 1.0,
        }
    }

    /// The same sampler for the model with couplings scaled by λ.
    pub fn with_scale(model: &'a Model, rule: Rule, scan: Scan, scale: f64) -> Self {
        Local {
            model,
            rule,
            scan,
            scale,
        }
    }

    /// f_i = h_i + λ Σ_j J_ij s_j.
    #[inline]
    fn field(&self, s: &[i8], i: usize) -> f64 {
        if self.scale == 1.0 {
            return self.model.local_field(s, i);
        }
        let j = self.model.couplings();
        let mut f = 0.0;
        for &(k, e) in self.model.neighbors(i) {
            f += j[e as usize] * s[k as usize] as f64;
        }
        self.model.fields()[i] + self.scale * f
    }

    /// One update attempt at spin i; returns true if the spin changed.
    #[inline]
    fn update<R: Rng + ?Sized>(&self, s: &mut [i8], i: usize, rng: &mut R) -> bool {
        let beta = self.model.beta();
        let f = self.field(s, i);
        match self.rule {
            Rule::Metropolis => {
                let de = 2.0 * s[i] as f64 * f;
                if de <= 0.0 || uniform(rng) < (-beta * de).exp() {
                    s[i] = -s[i];
                    true
                } else {
                    false
                }
            }
            Rule::HeatBath => {
                let p_up = 1.0 / (1.0 + (-2.0 * beta * f).exp());
                let new = if uniform(rng) < p_up { 1 } else { -1 };
                let changed = new != s[i];
                s[i] = new;
                changed
            }
        }
    }

    /// One sweep of N update attempts; returns how many spins changed.
    pub fn sweep<R: Rng + ?Sized>(&self, s: &mut [i8], rng: &mut R) -> usize {
        let n = self.model.n();
        let mut changed = 0;
        match self.scan {
            Scan::Sequential => {
                for i in 0..n {
                    changed += self.update(s, i, rng) as usize;
                }
            }
            Scan::Random => {
                for _ in 0..n {
                    let i = index(rng, n);
                    changed += self.update(s, i, rng) as usize;
                }
            }
        }
        changed
    }
}
