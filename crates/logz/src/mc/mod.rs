//! Monte Carlo: samplers, error bars, and ln Z from samples.
//!
//! - [`local`]: Metropolis and heat-bath single-spin updates on any model.
//! - [`cluster`]: Wolff and Swendsen–Wang cluster updates (fields via a ghost spin).
//! - [`multispin`]: the square-torus fast path, 64 spins per word with exact per-lane acceptance.
//! - [`run`]: the chain driver (burn-in, several chains, parallel tempering) and observables.
//! - [`stats`]: τ_int with automatic windowing, blocking, R̂, jackknife — honest error bars.
//! - [`thermo`]: thermodynamic integration and annealed importance sampling as ln Z solvers.
//! - [`throughput`]: spin-flip attempts per nanosecond of the multi-spin kernel (`logz bench`).
//!
//! Randomness: every chain, row stream or AIS run draws from its own generator seeded by
//! [`stream_seed`]`(seed, index)`, so results depend on the seed only, never on the number of
//! threads or the order in which rayon schedules work.

pub mod cluster;
pub mod local;
pub mod multispin;
pub mod run;
pub mod stats;
pub mod thermo;
pub mod throughput;

pub use run::{sample, sample_saving, Algorithm, KernelChoice, SampleOptions, SampleRun, Summary};
pub use thermo::{Ais, ThermodynamicIntegration};

/// A well-mixed seed for stream `index` of a computation seeded with `seed` (SplitMix64 finaliser
/// applied twice, so nearby seeds and indices give unrelated streams).
pub fn stream_seed(seed: u64, index: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(seed ^ mix(index.wrapping_add(0x5851_f42d_4c95_7f2d)))
}
