//! Posterior inference on latent-variable models — the essay's last step: with Z the evidence
//! p(x), the variational lower bound on ln Z is the ELBO used to learn p(z | x).
//!
//! - [`data`]: CSV in memory or streamed, one-pass sufficient statistics, standardisation, the
//!   synthetic age → income data.
//! - [`linear`]: Bayesian linear regression with exact conjugate posteriors and evidence
//!   (known noise; unknown noise with the Normal–Inverse-Gamma prior).
//! - [`models`]: the log-joint interface and models written against it (linear, logistic).
//! - [`benchmark`]: time-to-accuracy runs of the stochastic methods against the exact posterior.
//! - [`hmc`]: Hamiltonian Monte Carlo with a unit metric and a fixed trajectory-length range.
//! - [`nuts`]: the No-U-Turn Sampler with adapted step size and dense metric — the reference
//!   posterior where no closed form exists; [`convergence`]: rank-normalised R̂ and bulk ESS.
//!
//! Variational inference itself (families, gradient estimators, optimisers) lives in
//! [`crate::advi`].

pub mod benchmark;
pub mod convergence;
pub mod data;
pub mod divergence;
pub mod fit;
pub mod hmc;
pub mod linear;
pub mod models;
pub mod natural;
pub mod nuts;
