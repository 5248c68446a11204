//! Limited-memory BFGS in reverse-communication form: the caller evaluates the objective at
//! [`Lbfgs::trial`] and hands back (f, ∇f) with [`Lbfgs::tell`]. That lets pseudo-likelihood
//! run one minimisation per spin in lock step, all trial points evaluated by one batched
//! matrix product.
//!
//! Direction: the two-loop recursion over the last `memory` pairs (s, y), scaled by
//! γ = sᵀy / yᵀy. Step: backtracking until the Armijo condition f(x + t d) ≤ f(x) + c₁ t ∇fᵀd,
//! or — near the optimum, where f changes at the level of its rounding — a step that keeps f
//! within rounding and shrinks the gradient.
//!
//! With an L1 penalty Σ λ_k |x_k| ([`Lbfgs::with_l1`]) this is OWL-QN (Andrew & Gao, ICML 2007):
//! the objective is not differentiable where a coordinate is zero, so the direction is built
//! from the *pseudo-gradient* (the one-sided derivative that points downhill, or zero when
//! neither side does), kept in the orthant it points into, and every trial point is projected
//! back onto that orthant — coordinates that would change sign stop at zero. That is how L1
//! sets couplings exactly to zero. The curvature pairs use the smooth part's gradient only.

use std::collections::VecDeque;

/// Outcome of [`Lbfgs::tell`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Evaluate the objective at [`Lbfgs::trial`] again.
    Continue,
    /// ‖∇f‖_∞ ≤ tolerance.
    Converged,
    /// The line search cannot make progress (the answer is as good as rounding allows), or
    /// the iteration cap is reached.
    Stalled,
}

/// One L-BFGS minimisation.
#[derive(Debug, Clone)]
pub struct Lbfgs {
    x: Vec<f64>,
    f: f64,
    g: Vec<f64>,
    s: VecDeque<Vec<f64>>,
    y: VecDeque<Vec<f64>>,
    d: Vec<f64>,
    gd: f64,
    t: f64,
    xt: Vec<f64>,
    memory: usize,
    tol: f64,
    /// Accepted steps so far.
    pub iterations: usize,
    max_iter: usize,
    /// Coordinates held at their starting value (gradient ignored).
    frozen: Vec<bool>,
    /// Consecutive step halvings of the current line search.
    halvings: usize,
    /// L1 weight λ_k of every coordinate (empty: no L1 term).
    l1: Vec<f64>,
    /// Pseudo-gradient of f + Σ λ|x| at the current point (the gradient without L1).
    pg: Vec<f64>,
    /// The orthant of the current line search (sign each coordinate may take; 0: stays 0).
    orthant: Vec<f64>,
}

/// A line search that has halved the step this often without meeting the Armijo condition is
/// fighting rounding, not curvature: the minimisation stops there.
const MAX_HALVINGS: usize = 30;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

impl Lbfgs {
    /// Start at `x0` with f(x0) and ∇f(x0); stop when ‖∇f‖_∞ ≤ `tol` or after `max_iter`
    /// steps. Coordinates with `frozen[k]` never move.
    pub fn new(
        x0: Vec<f64>,
        f0: f64,
        g0: Vec<f64>,
        frozen: Vec<bool>,
        tol: f64,
        max_iter: usize,
    ) -> Lbfgs {
        Lbfgs::with_l1(x0, f0, g0, frozen, Vec::new(), tol, max_iter)
    }

    /// As [`Lbfgs::new`] for f(x) + Σ_k `l1[k]` |x_k| (OWL-QN); `f0`, `g0` and every value
    /// handed to [`Lbfgs::tell`] are those of the smooth part f alone. `l1` is empty or holds
    /// one weight ≥ 0 per coordinate; the tolerance applies to the pseudo-gradient.
    pub fn with_l1(
        x0: Vec<f64>,
        f0: f64,
        mut g0: Vec<f64>,
        frozen: Vec<bool>,
        l1: Vec<f64>,
        tol: f64,
        max_iter: usize,
    ) -> Lbfgs {
        for (g, &z) in g0.iter_mut().zip(&frozen) {
            if z {
                *g = 0.0;
            }
        }
        let n = x0.len();
        let mut l = Lbfgs {
            xt: x0.clone(),
            x: x0,
            f: f0,
            g: g0,
            s: VecDeque::new(),
            y: VecDeque::new(),
            d: vec![0.0; n],
            gd: 0.0,
            t: 0.0,
            memory: 10,
            tol,
            iterations: 0,
            max_iter,
            frozen,
            halvings: 0,
            l1,
            pg: Vec::new(),
            orthant: Vec::new(),
        };
        l.pg = l.pseudo_gradient(&l.x, &l.g);
        l.direction();
        l
    }

    /// The L1 term Σ λ_k |x_k| at `x`.
    fn penalty(&self, x: &[f64]) -> f64 {
        self.l1.iter().zip(x).map(|(l, v)| l * v.abs()).sum()
    }

    /// The pseudo-gradient of f + Σ λ|x| at `x` given ∇f = `g`: the derivative for x_k ≠ 0;
    /// at x_k = 0 the one-sided derivative that descends, or 0 if neither does.
    fn pseudo_gradient(&self, x: &[f64], g: &[f64]) -> Vec<f64> {
        if self.l1.is_empty() {
            return g.to_vec();
        }
        x.iter()
            .zip(g)
            .zip(&self.l1)
            .map(|((&xk, &gk), &lk)| {
                if xk > 0.0 {
                    gk + lk
                } else if xk < 0.0 {
                    gk - lk
                } else if gk + lk < 0.0 {
                    gk + lk
                } else if gk - lk > 0.0 {
                    gk - lk
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Whether the starting point already satisfies the tolerance.
    pub fn done(&self) -> bool {
        max_abs(&self.pg) <= self.tol
    }
    /// The current point.
    pub fn x(&self) -> &[f64] {
        &self.x
    }
    /// The objective at the current point (with the L1 term, if any).
    pub fn f(&self) -> f64 {
        self.f + self.penalty(&self.x)
    }
    /// The gradient at the current point.
    pub fn gradient(&self) -> &[f64] {
        &self.g
    }
    /// The point to evaluate next.
    pub fn trial(&self) -> &[f64] {
        &self.xt
    }

    /// The two-loop recursion: d = −H∇f, and the first trial point.
    fn direction(&mut self) {
        let mut q = self.pg.clone();
        let k = self.s.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            let rho = 1.0 / dot(&self.y[i], &self.s[i]);
            alpha[i] = rho * dot(&self.s[i], &q);
            for (qj, yj) in q.iter_mut().zip(&self.y[i]) {
                *qj -= alpha[i] * yj;
            }
        }
        if k > 0 {
            let gamma = dot(&self.s[k - 1], &self.y[k - 1]) / dot(&self.y[k - 1], &self.y[k - 1]);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let rho = 1.0 / dot(&self.y[i], &self.s[i]);
            let b = rho * dot(&self.y[i], &q);
            for (qj, sj) in q.iter_mut().zip(&self.s[i]) {
                *qj += (alpha[i] - b) * sj;
            }
        }
        self.d = q.iter().map(|v| -v).collect();
        for (d, &z) in self.d.iter_mut().zip(&self.frozen) {
            if z {
                *d = 0.0;
            }
        }
        if !self.l1.is_empty() {
            // OWL-QN: keep only the components that agree in sign with −pseudo-gradient.
            for (d, &p) in self.d.iter_mut().zip(&self.pg) {
                if *d * p >= 0.0 {
                    *d = 0.0;
                }
            }
        }
        self.gd = dot(&self.pg, &self.d);
        if self.gd >= 0.0 {
            // Not a descent direction (curvature information gone stale): steepest descent.
            self.s.clear();
            self.y.clear();
            self.d = self.pg.iter().map(|v| -v).collect();
            for (d, &z) in self.d.iter_mut().zip(&self.frozen) {
                if z {
                    *d = 0.0;
                }
            }
            self.gd = dot(&self.pg, &self.d);
        }
        // The orthant of this line search: the sign of x, or of the step where x is 0.
        if !self.l1.is_empty() {
            self.orthant = self
                .x
                .iter()
                .zip(&self.pg)
                .map(|(&x, &p)| if x != 0.0 { x.signum() } else { -p.signum() })
                .collect();
        }
        self.t = if k == 0 {
            (1.0 / max_abs(&self.pg).max(1e-300)).min(1.0)
        } else {
            1.0
        };
        self.set_trial();
    }

    fn set_trial(&mut self) {
        for ((xt, x), d) in self.xt.iter_mut().zip(&self.x).zip(&self.d) {
            *xt = x + self.t * d;
        }
        // OWL-QN: a coordinate that would leave the orthant stops at zero.
        for (xt, &o) in self.xt.iter_mut().zip(&self.orthant) {
            if *xt * o <= 0.0 {
                *xt = 0.0;
            }
        }
    }

    /// Hand back f and ∇f at [`Lbfgs::trial`].
    pub fn tell(&mut self, ft: f64, mut gt: Vec<f64>) -> Status {
        for (g, &z) in gt.iter_mut().zip(&self.frozen) {
            if z {
                *g = 0.0;
            }
        }
        // With L1 the objective is F = f + penalty, and the sufficient decrease is measured
        // along the projected step (x_t − x), as OWL-QN prescribes.
        let f_now = self.f + self.penalty(&self.x);
        let f_trial = ft + self.penalty(&self.xt);
        let decrease = if self.l1.is_empty() {
            self.t * self.gd
        } else {
            let step: Vec<f64> = self.xt.iter().zip(&self.x).map(|(a, b)| a - b).collect();
            dot(&self.pg, &step)
        };
        let pg_trial = self.pseudo_gradient(&self.xt, &gt);
        let armijo = f_trial <= f_now + 1e-4 * decrease;
        let rounding = f_trial.is_finite()
            && f_trial - f_now <= 1e-13 * (1.0 + f_now.abs())
            && max_abs(&pg_trial) < max_abs(&self.pg);
        if !(ft.is_finite() && (armijo || rounding)) {
            self.t *= 0.5;
            self.halvings += 1;
            if self.halvings > MAX_HALVINGS
                || self.t * max_abs(&self.d) < 1e-16 * (1.0 + max_abs(&self.x))
            {
                self.xt.clone_from(&self.x);
                return Status::Stalled;
            }
            self.set_trial();
            return Status::Continue;
        }
        let s: Vec<f64> = self.xt.iter().zip(&self.x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gt.iter().zip(&self.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if self.s.len() == self.memory {
                self.s.pop_front();
                self.y.pop_front();
            }
            self.s.push_back(s);
            self.y.push_back(y);
        }
        self.halvings = 0;
        self.x.clone_from(&self.xt);
        self.f = ft;
        self.g = gt;
        self.pg = pg_trial;
        self.iterations += 1;
        if self.done() {
            return Status::Converged;
        }
        if self.iterations >= self.max_iter {
            return Status::Stalled;
        }
        self.direction();
        Status::Continue
    }
}

/// Minimise `fg` (returning f and ∇f) from `x0`; returns the last point, its f and ∇f, the
/// number of steps and whether ‖∇f‖_∞ ≤ `tol` was reached.
pub fn minimize(
    x0: Vec<f64>,
    frozen: Vec<bool>,
    tol: f64,
    max_iter: usize,
    mut fg: impl FnMut(&[f64]) -> crate::Result<(f64, Vec<f64>)>,
) -> crate::Result<(Lbfgs, bool)> {
    let (f0, g0) = fg(&x0)?;
    let mut l = Lbfgs::new(x0, f0, g0, frozen, tol, max_iter);
    if l.done() {
        return Ok((l, true));
    }
    loop {
        let (f, g) = fg(l.trial())?;
        match l.tell(f, g) {
            Status::Continue => {}
            Status::Converged => return Ok((l, true)),
            Status::Stalled => return Ok((l, false)),
        }
    }
}
