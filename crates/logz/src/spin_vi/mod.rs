//! Variational inference for spin models with stochastic gradients: the machine-learning side of
//! the essay's bridge, estimating ln Z by maximising a Monte Carlo ELBO over a family q(s).
//!
//! - [`factorized`]: black-box VI with a factorised (mean-field) Bernoulli family and
//!   Rao–Blackwellised score-function gradients — the stochastic twin of naive mean field.
//! - [`van`]: variational autoregressive networks (Wu, Wang & Zhang 2019): q(s) = Π_i q(s_i | s_<i)
//!   by a masked autoencoder, trained by REINFORCE, with an importance-weighted ln Z.
//!
//! The Gaussian ADVI engine for continuous posteriors lives in [`crate::advi`]; the deterministic
//! free energies (mean field, TAP, Bethe, TRW) in [`crate::free_energy`].

pub mod factorized;
pub mod van;

pub use factorized::FactorizedVi;
pub use van::Van;
