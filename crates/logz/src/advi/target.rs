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

    /// The Hessian–vector product (∇² log p(z)) v of the prior, *added* into `out`.
    ///
    /// Default: a central difference of the gradient along v,
    /// (∇ log p(z + δv̂) − ∇ log p(z − δv̂)) |v| / 2δ with v̂ = v/|v| — one gradient pair per
    /// direction, exact for quadratic log densities up to rounding. Override with a closed form
    /// where one exists (the models of [`crate::bayes::models`] do).
    fn log_prior_hvp(&self, z: &[f64], v: &[f64], out: &mut [f64]) {
        fd_hvp(z, v, out, |x, g| {
            self.log_prior(x, g);
        });
    }

    /// The Hessian–vector product (∇² Σ_batch log p(x_i | z)) v of the data term, *added* into
    /// `out`. Default: a central difference of the gradient along v, as
    /// [`LogJoint::log_prior_hvp`].
    fn log_lik_hvp(&self, z: &[f64], batch: Batch, v: &[f64], out: &mut [f64]) {
        fd_hvp(z, v, out, |x, g| {
            self.log_lik(x, batch, g);
        });
    }
}

/// (∇f(z + δv̂) − ∇f(z − δv̂)) |v| / 2δ added into `out`, where `grad(x, g)` adds ∇f(x) into g;
/// δ = 10⁻⁵ (1 + |z|_∞) balances the O(δ²) truncation against rounding of the gradient.
fn fd_hvp(z: &[f64], v: &[f64], out: &mut [f64], grad: impl Fn(&[f64], &mut [f64])) {
    let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if !(nv > 0.0 && nv.is_finite()) {
        return;
    }
    let delta = 1e-5 * (1.0 + z.iter().fold(0.0f64, |m, a| m.max(a.abs())));
    let step = delta / nv;
    let zp: Vec<f64> = z.iter().zip(v).map(|(a, b)| a + step * b).collect();
    let zm: Vec<f64> = z.iter().zip(v).map(|(a, b)| a - step * b).collect();
    let (mut gp, mut gm) = (vec![0.0; z.len()], vec![0.0; z.len()]);
    grad(&zp, &mut gp);
    grad(&zm, &mut gm);
    for ((o, a), b) in out.iter_mut().zip(&gp).zip(&gm) {
        *o += (a - b) / (2.0 * step);
    }
}
