//! Monte Carlo: samplers, error bars, and ln Z from samples.
//!
//! - [`local`]: Metropolis and heat-bath single-spin updates on any model.
//! - [`cluster`]: Wolff and Swendsen–Wang cluster updates (fields via a ghost spin).
//! - [`multispin`]: the square-torus fast path, 64 spins per word with exact per-lane acceptance.
//! - [`run`]: the chain driver (burn-in, several chains, parallel tempering) and observables;
//!   tempering's replicas run in `tempering` (labels exchanged, replicas spread over ranks, each
//!   replica on the multi-spin kernel where the model allows, sweeping with its rung's tables).
//! - [`ti`], [`ais`]: thermodynamic integration and annealed importance sampling as ln Z solvers,
//!   along the coupling path of [`path`].
//! - [`throughput`]: spin-flip attempts per nanosecond of the multi-spin kernel (`logz bench`).
//!
//! Randomness: every chain, row stream or AIS run draws from its own generator seeded by
//! [`crate::rng::stream_seed`]`(seed, index)`, so results depend on the seed only, never on the number of
//! threads or the order in which rayon schedules work.

pub mod ais;
pub mod cluster;
pub mod local;
pub mod multispin;
pub mod path;
pub mod run;
mod tempering;
pub mod throughput;
pub mod ti;

pub use ais::Ais;
pub use run::{sample, sample_saving, Algorithm, KernelChoice, SampleOptions, SampleRun, Summary};
pub use ti::ThermodynamicIntegration;
