//! Small numerical helpers used everywhere: stable log-sum-exp and friends.

pub mod fast;

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

/// Σ_i a_i b_i over the common length. Floating-point sums are not reassociated by the compiler,
/// so a plain loop runs one dependent add per element; this keeps several partial sums (four
/// 4-wide FMA accumulators where the CPU has AVX2 + FMA, chosen at run time).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "x86_64")]
    if simd::fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { simd::dot(a, b) };
    }
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// y_i += α x_i over the common length (vectorised with FMA where the CPU has it).
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &mut y[..n]);
    #[cfg(target_arch = "x86_64")]
    if simd::fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { simd::axpy(alpha, x, y) };
    }
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;
    use std::sync::OnceLock;

    pub fn fma() -> bool {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        })
    }

    /// Both slices have the same length.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = 0;
        // SAFETY (all loads): i + 4 ≤ n for every vector read.
        unsafe {
            while i + 16 <= n {
                for (k, acc) in acc.iter_mut().enumerate() {
                    let j = i + 4 * k;
                    *acc = _mm256_fmadd_pd(
                        _mm256_loadu_pd(pa.add(j)),
                        _mm256_loadu_pd(pb.add(j)),
                        *acc,
                    );
                }
                i += 16;
            }
            while i + 4 <= n {
                acc[0] = _mm256_fmadd_pd(
                    _mm256_loadu_pd(pa.add(i)),
                    _mm256_loadu_pd(pb.add(i)),
                    acc[0],
                );
                i += 4;
            }
        }
        let s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut lanes = [0.0f64; 4];
        // SAFETY: lanes holds four f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), s) };
        let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        while i < n {
            total += a[i] * b[i];
            i += 1;
        }
        total
    }

    /// Both slices have the same length.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
        let n = x.len();
        let (px, py) = (x.as_ptr(), y.as_mut_ptr());
        let va = _mm256_set1_pd(alpha);
        let mut i = 0;
        // SAFETY (all loads and stores): i + 4 ≤ n for every vector access.
        unsafe {
            while i + 4 <= n {
                let v = _mm256_fmadd_pd(va, _mm256_loadu_pd(px.add(i)), _mm256_loadu_pd(py.add(i)));
                _mm256_storeu_pd(py.add(i), v);
                i += 4;
            }
        }
        while i < n {
            y[i] += alpha * x[i];
            i += 1;
        }
    }
}

#[cfg(test)]
mod dot_tests {
    use super::*;

    #[test]
    fn dot_and_axpy_match_plain_loops_at_every_length() {
        for n in 0..40 {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos() - 0.2).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-12, "n = {n}");
            let mut y = b.clone();
            axpy(-0.7, &a, &mut y);
            for i in 0..n {
                assert!((y[i] - (b[i] - 0.7 * a[i])).abs() < 1e-14);
            }
        }
    }
}
