//! Branch-free elementary functions that vectorise, and the run-time choice of SIMD path.
//!
//! libm's `exp` and `tanh` branch on their argument, which stops the compiler from turning a loop
//! over an array into SIMD code. These versions are straight-line code: e^y by Cody–Waite
//! reduction to |r| ≤ ln2/2, a degree-12 Taylor polynomial and the exponent set by bit
//! arithmetic; tanh from that exp (absolute error below 5e-16). The `FMA` parameter selects fused
//! multiply–add for the AVX2+FMA code paths, whose dispatch follows [`simd_path`].

/// The code path of the vectorised kernels ([`crate::free_energy::lattice::LatticeMf::sweep`],
/// [`crate::free_energy::lattice::LatticeBp::iterate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdPath {
    /// Plain code, any CPU.
    Portable,
    /// Compiled for AVX2 with fused multiply–add (x86-64 CPUs that have both, detected at run
    /// time): the same arithmetic, but a·b + c rounded once.
    Avx2Fma,
}

/// The path the kernels take on this CPU: the dispatch in `sweep` and `iterate` follows it.
pub fn simd_path() -> SimdPath {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return SimdPath::Avx2Fma;
        }
    }
    SimdPath::Portable
}

/// a·b + c, fused when `FMA` (the AVX2+FMA code paths) — one rounding instead of two.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// e^y for y ≤ 0 (y ≥ −745 gives a normal or zero result), branch-free.
#[inline(always)]
pub(crate) fn exp_neg_f<const FMA: bool>(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that k·LN2_HI is exact for |k| < 2^20 (fdlibm's constants).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2^52: adding it rounds to an integer
    let y = y.max(-700.0);
    let t = y * LOG2E + MAGIC;
    let kf = t - MAGIC;
    let r = (y - kf * LN2_HI) - kf * LN2_LO;
    // Taylor polynomial of e^r on |r| ≤ ln2/2 (Horner), truncation error < 2e-16.
    let mut p = 1.0 / 479_001_600.0;
    for c in [
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = madd::<FMA>(p, r, c);
    }
    // 2^k from the integer k sitting in the low mantissa bits of t.
    let k = t.to_bits().wrapping_add(1023);
    p * f64::from_bits(k << 52)
}

/// tanh x = sign(x)·(1 − e^{−2|x|})/(1 + e^{−2|x|}).
#[inline(always)]
pub fn tanh_fast(x: f64) -> f64 {
    tanh_fast_f::<false>(x)
}

#[inline(always)]
pub(crate) fn tanh_fast_f<const FMA: bool>(x: f64) -> f64 {
    let a = x.abs().min(40.0);
    let e = exp_neg_f::<FMA>(-2.0 * a);
    ((1.0 - e) / (1.0 + e)).copysign(x)
}
