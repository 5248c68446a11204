//! The one error type of the library.
//!
//! Every failure a user can provoke (bad files, bad numbers, models too large for a method,
//! non-convergence treated as fatal) is a variant here with a message that says what and where,
//! so that front ends can print one line and exit non-zero instead of panicking.

use thiserror::Error;

/// Errors from model construction, file parsing and solvers.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A model parameter is out of range (NaN, infinite, negative size, self-loop, …).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// A file could not be parsed; `place` is `file:line` (or `file: token N`).
    #[error("{place}: {reason}")]
    Parse {
        /// Where: `file:line` or `file: token N`.
        place: String,
        /// What is wrong there.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        reason: String,
    },
    /// The method cannot handle this model (wrong geometry, frustrated couplings, …).
    #[error("method '{method}' does not apply: {reason}")]
    NotApplicable {
        /// The method's command-line name.
        method: &'static str,
        /// Why it does not apply.
        reason: String,
    },
    /// The model is too large for the method (exact enumeration, elimination width, …).
    #[error("model too large for '{method}': {reason}")]
    TooLarge {
        /// The method's command-line name.
        method: &'static str,
        /// Which size is too large, and the method's limit.
        reason: String,
    },
    /// A requested size or amount of work is beyond the memory or time budget
    /// (see [`crate::limits`]); the reason names the limit and how to raise it.
    #[error("{what}: {reason}")]
    OverBudget {
        /// The operation being sized (`sample`, `fit`, a file, …).
        what: String,
        /// The size, the limit it exceeds and how to raise the limit.
        reason: String,
    },
    /// A result that f64 cannot represent (ln Z beyond ±1e300, or NaN from a diverged run):
    /// reported instead of printing a null/NaN number under a trustworthy label.
    #[error("{0}")]
    Numerical(String),
    /// A bad option value (unknown method name, non-positive tolerance, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Another rank of a distributed run failed (see [`crate::distributed`]); its message.
    #[error("rank {rank}: {message}")]
    Remote {
        /// The rank that failed.
        rank: usize,
        /// Its error message.
        message: String,
    },
}

/// `Result` with the library's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::InvalidModel`] with this message.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidModel(msg.into())
    }
    /// An [`Error::InvalidArgument`] with this message.
    pub fn arg(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}
