//! Small numerical helpers used everywhere: stable log-sum-exp and friends.

/// ln(e^a + e^b) without overflow; handles −∞ operands.
#[inline]
pub fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// ln Σ e^{x_i}, stable.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// ln(2 cosh x), stable for large |x|.
#[inline]
pub fn ln_2cosh(x: f64) -> f64 {
    let a = x.abs();
    a + (-2.0 * a).exp().ln_1p()
}

/// Binary entropy (nats) of a ±1 spin with mean m: H = −Σ p ln p with p± = (1 ± m)/2.
#[inline]
pub fn spin_entropy(m: f64) -> f64 {
    let p = 0.5 * (1.0 + m);
    let q = 0.5 * (1.0 - m);
    let xlx = |x: f64| if x <= 0.0 { 0.0 } else { x * x.ln() };
    -(xlx(p) + xlx(q))
}

/// ln C(n, k) via lgamma-free summation of logs (exact enough for n ≤ 10⁷).
pub fn ln_binomial_table(n: usize) -> Vec<f64> {
    // ln C(n, k) for k = 0..=n, built from ln k! prefix sums.
    let mut lf = vec![0.0; n + 1];
    for k in 1..=n {
        lf[k] = lf[k - 1] + (k as f64).ln();
    }
    (0..=n).map(|k| lf[n] - lf[k] - lf[n - k]).collect()
}
