//! Stochastic-gradient optimisers shared by every method trained by noisy gradients (ADVI, the
//! variational autoregressive network). A leaf module: plain vectors in, plain vectors out.

/// Adam (Kingma & Ba): per-coordinate steps scaled by running first and second moments of the
/// gradient, bias-corrected. `step` *ascends* along `grad` (pass −∇ to descend).
#[derive(Debug, Clone)]
pub struct Adam {
    m1: Vec<f64>,
    m2: Vec<f64>,
    t: i32,
}

impl Adam {
    /// An optimiser for `n` parameters, with zeroed moments.
    pub fn new(n: usize) -> Adam {
        Adam {
            m1: vec![0.0; n],
            m2: vec![0.0; n],
            t: 0,
        }
    }
    /// One Adam step with learning rate `rate` *up* along `grad`, updating `theta` in place.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64], rate: f64) {
        let (b1, b2) = (0.9f64, 0.999f64);
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for k in 0..theta.len() {
            self.m1[k] = b1 * self.m1[k] + (1.0 - b1) * grad[k];
            self.m2[k] = b2 * self.m2[k] + (1.0 - b2) * grad[k] * grad[k];
            theta[k] += rate * (self.m1[k] / c1) / ((self.m2[k] / c2).sqrt() + 1e-8);
        }
    }
}
