//! The exponential-family view of the Ising model.
//!
//! p(s) = exp(⟨θ, φ(s)⟩ − a(θ)) with sufficient statistics φ(s) = (s_i ; s_i s_j), natural
//! parameters θ_i = βh_i, θ_ij = βJ_ij and log-normaliser a(θ) = ln Z (the energy offset adds
//! the constant −βE₀). The gradient of a(θ) is the vector of mean parameters (⟨s_i⟩ ; ⟨s_i s_j⟩),
//! exactly the magnetisations and edge correlations every solver reports.

use super::Model;
use crate::error::Result;

/// Natural parameters in the model's spin and edge order.
#[derive(Debug, Clone, PartialEq)]
pub struct Theta {
    /// θ_i = βh_i, one per spin.
    pub unary: Vec<f64>,
    /// θ_ij = βJ_ij, one per edge.
    pub pairwise: Vec<f64>,
}

impl Model {
    /// θ = (βh, βJ), derived from the model (one source of truth).
    pub fn theta(&self) -> Theta {
        Theta {
            unary: self.fields().iter().map(|h| self.beta() * h).collect(),
            pairwise: self.couplings().iter().map(|j| self.beta() * j).collect(),
        }
    }

    /// The model on the same graph with natural parameters θ, expressed at inverse temperature
    /// `beta` (> 0): J = θ_ij/β, h = θ_i/β. The energy offset is kept.
    pub fn from_theta(&self, theta: &Theta, beta: f64) -> Result<Model> {
        if beta.is_nan() || beta <= 0.0 {
            return Err(crate::Error::invalid("from_theta needs beta > 0"));
        }
        let edges: Vec<(usize, usize)> = self
            .edges()
            .iter()
            .map(|&(a, b)| (a as usize, b as usize))
            .collect();
        let j: Vec<f64> = theta.pairwise.iter().map(|t| t / beta).collect();
        let h: Vec<f64> = theta.unary.iter().map(|t| t / beta).collect();
        Model::new(self.n(), &edges, &j, h, beta)?
            .with_geometry(self.geometry().clone())
            .with_energy_offset(self.energy_offset())
    }

    /// φ(s) = (s_i ; s_i s_j).
    pub fn sufficient_statistics(&self, s: &[i8]) -> (Vec<f64>, Vec<f64>) {
        let unary = s.iter().map(|&x| x as f64).collect();
        let pairwise = self
            .edges()
            .iter()
            .map(|&(a, b)| (s[a as usize] * s[b as usize]) as f64)
            .collect();
        (unary, pairwise)
    }

    /// ⟨θ, φ(s)⟩ − βE₀ = −βE(s): the log of the unnormalised probability.
    pub fn log_weight(&self, s: &[i8]) -> f64 {
        -self.beta() * self.energy(s)
    }
}
