//! logz: partition functions, free energies and their variational bounds for Ising models.
//!
//! Physics and machine learning compute the same objects under different names: the Boltzmann
//! distribution p(s) = e^{−βE(s)}/Z is an exponential family with log-normaliser a(θ) = ln Z;
//! the Gibbs–Bogoliubov–Feynman bound is the ELBO. This crate holds all the numerics; the `logz`
//! binary is a thin front end.
//!
//! Layout: [`model`] (the Ising model and builders), [`io`] (UAI and JSON files),
//! [`exact`] (ground truth), [`variational`] (mean field, TAP, Bethe, TRW), [`estimate`] (the one
//! result type and solver trait), [`methods`] (lookup of solvers by name), [`limits`] (the memory
//! and time budgets every size is checked against before anything is allocated).

// Index loops mirror the formulas (Σ_i over spins, Σ_e over edges) across several arrays.
#![allow(clippy::needless_range_loop)]

pub mod bayes;
pub mod error;
pub mod estimate;
pub mod exact;
pub mod io;
pub mod limits;
pub mod mc;
pub mod methods;
pub mod model;
pub mod numeric;
pub mod sweep;
pub mod variational;
pub mod vi;

pub use error::{Error, Result};
pub use estimate::{Diagnostics, Estimate, Kind, NoProgress, Progress, Solver};
pub use model::{Geometry, Model};
