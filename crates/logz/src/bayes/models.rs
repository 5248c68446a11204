//! The log-joint interface and the models written against it.
//!
//! A latent-variable model provides log p(z) and Σ_rows log p(x_i | z) with their gradients in z
//! (on unconstrained parameters: log σ for scales). Every inference method here — ADVI,
//! black-box VI, MCMC — sees nothing else, so a new model is one small `impl`. For minibatches
//! the data term is rescaled: log p(x, z) ≈ log p(z) + (N/B) Σ_{i∈batch} log p(x_i | z).
//!
//! Adding a model, e.g. Poisson regression with rate e^{w·x}:
//!
//! ```ignore
//! struct Poisson { d: usize, tau: f64 }
//! impl LogJoint for Poisson {
//!     fn dim(&self) -> usize { self.d }
//!     fn names(&self) -> Vec<String> { (0..self.d).map(|j| format!("w{j}")).collect() }
//!     fn log_prior(&self, z: &[f64], g: &mut [f64]) -> f64 { gaussian_prior(z, self.tau, g) }
//!     fn log_lik(&self, z: &[f64], b: Batch, g: &mut [f64]) -> f64 {
//!         let mut lp = 0.0;
//!         for (x, &y) in b.rows() {
//!             let eta = dot(z, x);
//!             lp += y * eta - eta.exp();           // − ln y! omitted: constant in z
//!             for j in 0..self.d { g[j] += (y - eta.exp()) * x[j]; }
//!         }
//!         lp
//!     }
//! }
//! ```

use statrs::function::gamma::ln_gamma;

pub use crate::advi::target::{Batch, LogJoint};

/// The dot product Σ a_i b_i (over the shorter of the two slices).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// log N(z; 0, τ²I) and its gradient.
pub fn gaussian_prior(z: &[f64], tau: f64, grad: &mut [f64]) -> f64 {
    let t2 = tau * tau;
    let mut lp = -0.5 * z.len() as f64 * (2.0 * std::f64::consts::PI * t2).ln();
    for (g, &x) in grad.iter_mut().zip(z) {
        lp -= 0.5 * x * x / t2;
        *g -= x / t2;
    }
    lp
}

/// (∇² log N(z; 0, τ²I)) v = −v/τ², added into `out`.
pub fn gaussian_prior_hvp(v: &[f64], tau: f64, out: &mut [f64]) {
    let t2 = tau * tau;
    for (o, &x) in out.iter_mut().zip(v) {
        *o -= x / t2;
    }
}

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

/// Linear regression with known noise σ̃ (standardised units): z = w.
#[derive(Debug, Clone)]
pub struct LinearKnownNoise {
    /// Number of coefficients, intercept included.
    pub d: usize,
    /// Noise standard deviation σ̃ in standardised units of y.
    pub sigma: f64,
    /// Prior standard deviation τ of every coefficient.
    pub tau: f64,
    /// Coefficient names, intercept first.
    pub names: Vec<String>,
}

impl LogJoint for LinearKnownNoise {
    fn dim(&self) -> usize {
        self.d
    }
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn log_prior(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        gaussian_prior(z, self.tau, grad)
    }
    fn log_lik(&self, z: &[f64], b: Batch, grad: &mut [f64]) -> f64 {
        let s2 = self.sigma * self.sigma;
        let mut sq = 0.0;
        for (x, &y) in b.rows() {
            let r = y - dot(z, x);
            sq += r * r;
            for j in 0..self.d {
                grad[j] += r * x[j] / s2;
            }
        }
        -(b.len() as f64) * (HALF_LN_2PI + self.sigma.ln()) - 0.5 * sq / s2
    }
    fn log_prior_hvp(&self, _: &[f64], v: &[f64], out: &mut [f64]) {
        gaussian_prior_hvp(v, self.tau, out);
    }
    /// ∇² = −Σ x xᵀ/σ̃²: each row adds −x (x·v)/σ̃².
    fn log_lik_hvp(&self, _: &[f64], b: Batch, v: &[f64], out: &mut [f64]) {
        let s2 = self.sigma * self.sigma;
        for (x, _) in b.rows() {
            let xv = dot(x, v) / s2;
            for j in 0..self.d {
                out[j] -= xv * x[j];
            }
        }
    }
}

/// Linear regression with unknown noise and the Normal–Inverse-Gamma prior:
/// z = (w, ρ = ln σ̃), w | σ̃² ~ N(0, σ̃²τ²I), σ̃² ~ IG(a₀, b₀) (with the Jacobian of σ̃² = e^{2ρ}).
#[derive(Debug, Clone)]
pub struct LinearNig {
    /// Number of coefficients, intercept included (z has d + 1 entries, ρ last).
    pub d: usize,
    /// Prior scale τ: w | σ̃² ~ N(0, σ̃²τ²I).
    pub tau: f64,
    /// Shape a₀ of the Inverse-Gamma prior on σ̃².
    pub a0: f64,
    /// Scale b₀ of the Inverse-Gamma prior on σ̃².
    pub b0: f64,
    /// Coefficient names, intercept first ("log_sigma" is appended by `names()`).
    pub names: Vec<String>,
}

impl LogJoint for LinearNig {
    fn dim(&self) -> usize {
        self.d + 1
    }
    fn names(&self) -> Vec<String> {
        let mut n = self.names.clone();
        n.push("log_sigma".into());
        n
    }
    fn log_prior(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        let d = self.d;
        let rho = z[d];
        let inv_s2 = (-2.0 * rho).exp();
        let t2 = self.tau * self.tau;
        let ww = dot(&z[..d], &z[..d]);
        // log p(ρ) = a ln b − lnΓ(a) − 2(a+1)ρ − b e^{−2ρ} + ln 2 + 2ρ
        let lp_rho =
            self.a0 * self.b0.ln() - ln_gamma(self.a0) - 2.0 * self.a0 * rho - self.b0 * inv_s2
                + std::f64::consts::LN_2;
        let lp_w = -0.5 * d as f64 * (2.0 * std::f64::consts::PI * t2).ln()
            - d as f64 * rho
            - 0.5 * ww * inv_s2 / t2;
        for j in 0..d {
            grad[j] -= z[j] * inv_s2 / t2;
        }
        grad[d] += -2.0 * self.a0 + 2.0 * self.b0 * inv_s2 - d as f64 + ww * inv_s2 / t2;
        lp_rho + lp_w
    }
    fn log_lik(&self, z: &[f64], b: Batch, grad: &mut [f64]) -> f64 {
        let d = self.d;
        let rho = z[d];
        let inv_s2 = (-2.0 * rho).exp();
        let mut sq = 0.0;
        for (x, &y) in b.rows() {
            let r = y - dot(&z[..d], x);
            sq += r * r;
            for j in 0..d {
                grad[j] += r * x[j] * inv_s2;
            }
        }
        let n = b.len() as f64;
        grad[d] += -n + sq * inv_s2;
        -n * (HALF_LN_2PI + rho) - 0.5 * sq * inv_s2
    }
    /// With e = e^{−2ρ}: ∂²/∂w∂wᵀ = −e/τ² I, ∂²/∂w_j∂ρ = 2w_j e/τ²,
    /// ∂²/∂ρ² = −4b₀e − 2|w|²e/τ² (differentiating the gradient of `log_prior`).
    fn log_prior_hvp(&self, z: &[f64], v: &[f64], out: &mut [f64]) {
        let d = self.d;
        let e = (-2.0 * z[d]).exp();
        let t2 = self.tau * self.tau;
        let ww = dot(&z[..d], &z[..d]);
        let mut wv = 0.0;
        for j in 0..d {
            out[j] += -e / t2 * v[j] + 2.0 * z[j] * e / t2 * v[d];
            wv += z[j] * v[j];
        }
        out[d] += 2.0 * e / t2 * wv + (-4.0 * self.b0 * e - 2.0 * ww * e / t2) * v[d];
    }
    /// With e = e^{−2ρ} and residuals r_i: ∂²/∂w∂wᵀ = −e Σ x xᵀ, ∂²/∂w∂ρ = −2e Σ r x,
    /// ∂²/∂ρ² = −2e Σ r².
    fn log_lik_hvp(&self, z: &[f64], b: Batch, v: &[f64], out: &mut [f64]) {
        let d = self.d;
        let e = (-2.0 * z[d]).exp();
        let mut rxv = 0.0;
        let mut sq = 0.0;
        for (x, &y) in b.rows() {
            let r = y - dot(&z[..d], x);
            let xv = dot(x, &v[..d]);
            sq += r * r;
            rxv += r * xv;
            for j in 0..d {
                out[j] += -e * xv * x[j] - 2.0 * e * r * x[j] * v[d];
            }
        }
        out[d] += -2.0 * e * rxv - 2.0 * e * sq * v[d];
    }
}

/// Logistic regression, y ∈ {0, 1}, w ~ N(0, τ²I).
#[derive(Debug, Clone)]
pub struct Logistic {
    /// Number of coefficients, intercept included.
    pub d: usize,
    /// Prior standard deviation τ of every coefficient.
    pub tau: f64,
    /// Coefficient names, intercept first.
    pub names: Vec<String>,
}

impl LogJoint for Logistic {
    fn dim(&self) -> usize {
        self.d
    }
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn log_prior(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        gaussian_prior(z, self.tau, grad)
    }
    fn log_lik(&self, z: &[f64], b: Batch, grad: &mut [f64]) -> f64 {
        let mut lp = 0.0;
        for (x, &y) in b.rows() {
            let eta = dot(z, x);
            // log σ(η) = −ln(1 + e^{−η}), computed stably for either sign.
            let log1p_exp = if eta > 0.0 {
                eta + (-eta).exp().ln_1p()
            } else {
                eta.exp().ln_1p()
            };
            lp += y * eta - log1p_exp;
            let p = 1.0 / (1.0 + (-eta).exp());
            for j in 0..self.d {
                grad[j] += (y - p) * x[j];
            }
        }
        lp
    }
    fn log_prior_hvp(&self, _: &[f64], v: &[f64], out: &mut [f64]) {
        gaussian_prior_hvp(v, self.tau, out);
    }
    /// ∇² = −Σ σ(η)(1 − σ(η)) x xᵀ: each row adds −σ(1 − σ)(x·v) x.
    fn log_lik_hvp(&self, z: &[f64], b: Batch, v: &[f64], out: &mut [f64]) {
        for (x, _) in b.rows() {
            let p = 1.0 / (1.0 + (-dot(z, x)).exp());
            let c = p * (1.0 - p) * dot(x, v);
            for j in 0..self.d {
                out[j] -= c * x[j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gradients against central finite differences.
    fn check_grad(m: &dyn LogJoint, z: &[f64], b: Batch) {
        let f = |z: &[f64]| {
            let mut g = vec![0.0; z.len()];
            m.log_prior(z, &mut g) + m.log_lik(z, b, &mut g)
        };
        let mut g = vec![0.0; z.len()];
        m.log_prior(z, &mut g);
        m.log_lik(z, b, &mut g);
        for j in 0..z.len() {
            let h = 1e-6;
            let (mut a, mut c) = (z.to_vec(), z.to_vec());
            a[j] += h;
            c[j] -= h;
            let fd = (f(&a) - f(&c)) / (2.0 * h);
            assert!(
                (fd - g[j]).abs() < 1e-5 * (1.0 + fd.abs()),
                "∂{j}: {fd} vs {}",
                g[j]
            );
        }
    }

    /// Closed-form Hessian–vector products against central differences of the gradient (the
    /// trait's default), along a few directions.
    fn check_hvp(m: &dyn LogJoint, z: &[f64], b: Batch) {
        let grad = |z: &[f64]| {
            let mut g = vec![0.0; z.len()];
            m.log_prior(z, &mut g);
            m.log_lik(z, b, &mut g);
            g
        };
        let n = z.len();
        for k in 0..n {
            let v: Vec<f64> = (0..n)
                .map(|j| ((j + 2 * k) as f64 * 0.7).sin() + 0.1)
                .collect();
            let mut hv = vec![0.0; n];
            m.log_prior_hvp(z, &v, &mut hv);
            m.log_lik_hvp(z, b, &v, &mut hv);
            let h = 1e-5;
            let zp: Vec<f64> = z.iter().zip(&v).map(|(a, c)| a + h * c).collect();
            let zm: Vec<f64> = z.iter().zip(&v).map(|(a, c)| a - h * c).collect();
            let (gp, gm) = (grad(&zp), grad(&zm));
            for j in 0..n {
                let fd = (gp[j] - gm[j]) / (2.0 * h);
                assert!(
                    (fd - hv[j]).abs() < 1e-5 * (1.0 + fd.abs()),
                    "direction {k}, component {j}: {fd} vs {}",
                    hv[j]
                );
            }
        }
    }

    /// The three models of the derivative checks, with a 3-row design (y for the linear
    /// models, binary yb for the logistic one).
    const X: [f64; 9] = [1.0, 0.3, -1.2, 1.0, -0.7, 0.4, 1.0, 1.5, 0.9];
    const Y: [f64; 3] = [0.2, -1.1, 1.0];
    const YB: [f64; 3] = [1.0, 0.0, 1.0];
    fn models() -> (LinearKnownNoise, LinearNig, Logistic) {
        let names: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        (
            LinearKnownNoise {
                d: 3,
                sigma: 0.7,
                tau: 2.0,
                names: names.clone(),
            },
            LinearNig {
                d: 3,
                tau: 2.0,
                a0: 2.0,
                b0: 1.5,
                names: names.clone(),
            },
            Logistic {
                d: 3,
                tau: 3.0,
                names,
            },
        )
    }

    #[test]
    fn hessian_vector_products_match_finite_differences() {
        let b = Batch { x: &X, y: &Y, d: 3 };
        let bb = Batch {
            x: &X,
            y: &YB,
            d: 3,
        };
        let (known, nig, logistic) = models();
        check_hvp(&known, &[0.1, -0.4, 0.8], b);
        check_hvp(&nig, &[0.1, -0.4, 0.8, -0.3], b);
        check_hvp(&logistic, &[0.1, -0.4, 0.8], bb);
        // The trait's default (differences of the gradient) agrees with the closed form.
        struct Plain<'a>(&'a Logistic);
        impl LogJoint for Plain<'_> {
            fn dim(&self) -> usize {
                self.0.dim()
            }
            fn names(&self) -> Vec<String> {
                self.0.names()
            }
            fn log_prior(&self, z: &[f64], g: &mut [f64]) -> f64 {
                self.0.log_prior(z, g)
            }
            fn log_lik(&self, z: &[f64], b: Batch, g: &mut [f64]) -> f64 {
                self.0.log_lik(z, b, g)
            }
        }
        let z = [0.3, -0.2, 0.5];
        let v = [0.4, 1.0, -0.6];
        let (mut a, mut c) = (vec![0.0; 3], vec![0.0; 3]);
        logistic.log_lik_hvp(&z, bb, &v, &mut a);
        logistic.log_prior_hvp(&z, &v, &mut a);
        let plain = Plain(&logistic);
        plain.log_lik_hvp(&z, bb, &v, &mut c);
        plain.log_prior_hvp(&z, &v, &mut c);
        for j in 0..3 {
            assert!(
                (a[j] - c[j]).abs() < 1e-6 * (1.0 + a[j].abs()),
                "{a:?} {c:?}"
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let b = Batch { x: &X, y: &Y, d: 3 };
        let bb = Batch {
            x: &X,
            y: &YB,
            d: 3,
        };
        let (known, nig, logistic) = models();
        check_grad(&known, &[0.1, -0.4, 0.8], b);
        check_grad(&nig, &[0.1, -0.4, 0.8, -0.3], b);
        check_grad(&logistic, &[0.1, -0.4, 0.8], bb);
    }
}
