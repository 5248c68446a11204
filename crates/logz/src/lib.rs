//! logz: partition functions, free energies and their variational bounds for Ising models.
//!
//! Physics and machine learning compute the same objects under different names: the Boltzmann
//! distribution p(s) = e^{−βE(s)}/Z is an exponential family with log-normaliser a(θ) = ln Z;
//! the Gibbs–Bogoliubov–Feynman bound is the ELBO. This crate holds all the numerics; the `logz`
//! binary is a thin front end.
//!
//! # Model → solver → estimate
//!
//! Build a [`Model`] (a builder from [`model::builders`], a spec string such as `"square:4"`, or a
//! UAI / JSON file through [`io`]), hand it to any [`Solver`], and read the [`Estimate`]: ln Z
//! together with the [`EstimateKind`] of number it is — exact, a rigorous lower or upper bound, a
//! stochastic estimate ± its standard error, or an uncontrolled approximation.
//!
//! ```
//! use logz::prelude::*;
//!
//! # fn main() -> Result<(), Error> {
//! // A 4×4 square torus, J = 1, h = 0, at the critical coupling β_c = ln(1 + √2)/2.
//! let p = Params { coupling: 1.0, field: 0.0, beta: 0.44068679350977147, seed: 0 };
//! let model = builders::square(4, 4, true, &p)?;
//!
//! let solvers: Vec<Box<dyn Solver>> = vec![
//!     Box::new(Exact),
//!     Box::new(MeanField::default()),
//!     Box::new(Bethe::default()),
//!     Box::new(Trw::default()),
//!     Box::new(Ais { steps: 200, runs: 64, seed: 7, ..Ais::default() }),
//! ];
//! let mut ln_z = std::collections::HashMap::new();
//! for s in &solvers {
//!     let e = s.solve(&model)?;
//!     match e.kind.std_err() {
//!         Some(se) => println!("{:>6}: ln Z = {:.6} ± {se:.6} ({})", s.name(), e.ln_z, e.kind.label()),
//!         None => println!("{:>6}: ln Z = {:.6} ({})", s.name(), e.ln_z, e.kind.label()),
//!     }
//!     ln_z.insert(s.name(), (e.ln_z, e.kind));
//! }
//!
//! // Every number says what it is, and the bounds hold: mean field ≤ exact ≤ TRW.
//! let (exact, kind) = ln_z["exact"];
//! assert_eq!(kind, EstimateKind::Exact);
//! assert!((exact - 15.521915458755283).abs() < 1e-9); // Kaufman's closed form
//! assert_eq!(ln_z["mf"].1, EstimateKind::LowerBound);
//! assert_eq!(ln_z["trw"].1, EstimateKind::UpperBound);
//! assert!(ln_z["mf"].0 <= exact && exact <= ln_z["trw"].0);
//! # Ok(())
//! # }
//! ```
//!
//! Solvers can also be looked up by their command-line name with [`methods::by_name`], and
//! [`prelude`] brings the everyday types into scope in one line. More complete programs live in
//! the crate's `examples/` directory (`cargo run --release -p logz --example lattice_ln_z`), and
//! `ARCHITECTURE.md` at the repository root maps the code.
//!
//! # Layout
//!
//! [`model`] (the Ising model and builders), [`io`] (UAI and JSON files), [`exact`] (ground
//! truth), [`free_energy`] (mean field, TAP, Bethe, TRW), [`mc`] (samplers, observables with error
//! bars, thermodynamic integration and annealed importance sampling), [`spin_vi`] (stochastic
//! variational inference for spins: black-box VI and variational autoregressive networks),
//! [`advi`] (the Gaussian ADVI engine), [`bayes`]
//! (posterior inference on regression models), [`rg`] (the renormalisation group as an
//! algorithm: tensor RG for uniform and infinite lattices, the exact Kac–Ward determinant for
//! planar grids, real-space decimation and Migdal–Kadanoff), [`estimate`] (the one result type
//! and solver trait), [`methods`] (lookup of solvers by name), [`limits`] (the memory and time
//! budgets every size is checked against before anything is allocated), [`replica`] (replica
//! theory of the SK model: RS, k-step and full RSB, ground states, exact integer moments
//! E[Z^n]), [`disorder`] (averages of ln Z/N over random instances).
//!
//! The library never prints: long computations report through the [`Progress`] trait, and
//! every stochastic method takes an explicit seed.

// Every public item is documented.
#![deny(missing_docs)]
// Doc examples are held to the same standard as the code.
#![doc(test(attr(deny(warnings))))]
// Index loops mirror the formulas (Σ_i over spins, Σ_e over edges) across several arrays.
#![allow(clippy::needless_range_loop)]

pub mod advi;
pub mod bayes;
pub mod disorder;
pub mod distributed;
pub mod error;
pub mod essay;
pub mod estimate;
pub mod exact;
pub mod finite_size;
pub mod free_energy;
pub mod io;
pub mod learn;
pub mod limits;
pub mod mc;
pub mod methods;
pub mod model;
pub mod numeric;
pub mod optim;
pub mod parallel;
pub mod psis;
pub mod replica;
pub mod rg;
pub mod rng;
pub mod runner;
pub mod spin_vi;
pub mod stats;
pub mod stein;
pub mod sweep;

pub use error::{Error, Result};
pub use estimate::{Diagnostics, Estimate, EstimateKind, NoProgress, Progress, Solver};
pub use model::{Geometry, Model};

// The solvers of the spin model, at the root: `logz::MeanField`, `logz::Trw`, …
pub use exact::Exact;
pub use free_energy::{Bethe, MeanField, Tap, Trw};
pub use mc::{Ais, ThermodynamicIntegration};
pub use spin_vi::van::Van;
pub use spin_vi::FactorizedVi;

/// The everyday types in one import: `use logz::prelude::*;`.
///
/// The model and its builders, the solver trait, its run loop and its result, the error type,
/// and the main solvers of the spin model. [`crate::Result`] is left out so that a glob import does not
/// shadow the standard library's.
pub mod prelude {
    pub use crate::error::Error;
    pub use crate::estimate::{Diagnostics, Estimate, EstimateKind, NoProgress, Progress, Solver};
    pub use crate::exact::Exact;
    pub use crate::free_energy::{Bethe, MeanField, Tap, Trw};
    pub use crate::mc::{Ais, ThermodynamicIntegration};
    pub use crate::methods::by_name;
    pub use crate::model::builders::{self, CouplingDist, Params};
    pub use crate::model::{Geometry, Model};
    pub use crate::runner::{Control, Iteration, Runner, Termination};
    pub use crate::spin_vi::van::Van;
    pub use crate::spin_vi::FactorizedVi;
}
