//! Deterministic variational methods: physics' mean-field theory is machine learning's
//! variational inference.
//!
//! * [`meanfield`]: naive mean field = the Gibbs–Bogoliubov–Feynman bound = the ELBO of the fully
//!   factorised family (a rigorous lower bound on ln Z).
//! * [`homogeneous`]: the essay's m = tanh(β(H + zJm)), all roots and their stability.
//! * [`tap`]: second-order Plefka expansion (TAP), an uncontrolled approximation.
//! * [`bp`]: Bethe approximation by loopy belief propagation, and tree-reweighted BP (an upper
//!   bound), sharing one reweighted message-passing engine (Bethe is ρ ≡ 1).

pub mod bp;
pub mod homogeneous;
pub mod lattice;
pub mod meanfield;
pub mod tap;

pub use bp::{Bethe, Schedule, Trw};
pub use meanfield::{gbf_bound, MeanField};
pub use tap::Tap;
