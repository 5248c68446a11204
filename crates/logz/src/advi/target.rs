//! What ADVI fits: a log joint density log p(x, z) over unconstrained latent parameters z,
//! evaluated on a batch of data rows. The Bayesian models of [`crate::bayes`] implement it; so can
//! a user's own model (see the example in [`crate::bayes::models`]).

/// Rows of design x (row-major, `d` columns, intercept included) with responses y.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The design, row-major, `len() · d` entries.
    pub x: &'a [f64],
    /// The responses, one per row.
    pub y: &'a [f64],
    /// Columns per row of `x` (intercept included).
    pub d: usize,
}

impl<'a> Batch<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// The rows as (x row of `d` entries, y) pairs.
    pub fn rows(&self) -> impl Iterator<Item = (&'a [f64], &'a f64)> {
        self.x.chunks_exact(self.d).zip(self.y.iter())
    }
    /// Rows lo..hi.
    pub fn slice(&self, lo: usize, hi: usize) -> Batch<'a> {
        Batch {
            x: &self.x[lo * self.d..hi * self.d],
            y: &self.y[lo..hi],
            d: self.d,
        }
    }
}

/// A model: prior and likelihood with gradients (both *add* into `grad`).
pub trait LogJoint: Sync {
    /// Number of unconstrained latent parameters.
    fn dim(&self) -> usize;
    /// Names of the latent parameters, in the order of z.
    fn names(&self) -> Vec<String>;
    /// log p(z), its gradient added into `grad`.
    fn log_prior(&self, z: &[f64], grad: &mut [f64]) -> f64;
    /// Σ over the batch rows of log p(x_i | z).
    fn log_lik(&self, z: &[f64], batch: Batch, grad: &mut [f64]) -> f64;
}
