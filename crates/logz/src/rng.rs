//! Random numbers: seeded, independent streams and the two draws every sampler needs.
//!
//! Every chain, row stream, annealing run or gradient step of logz draws from its own
//! [`Generator`] seeded by [`stream_seed`]`(seed, index)`, so a result depends on the seed only —
//! never on the number of threads or on the order in which rayon schedules the work. This module
//! is a leaf: it depends on nothing else in the crate, and every method family uses it.

use rand::{Rng, SeedableRng};

/// The generator behind every stream: xoshiro256++ (fast, 256 bits of state, passes BigCrush).
pub type Generator = rand_xoshiro::Xoshiro256PlusPlus;

/// The generator of stream `index` of a computation seeded with `seed`.
pub fn stream(seed: u64, index: u64) -> Generator {
    Generator::seed_from_u64(stream_seed(seed, index))
}

/// A well-mixed seed for stream `index` of a computation seeded with `seed` (SplitMix64 finaliser
/// applied twice, so nearby seeds and indices give unrelated streams).
pub fn stream_seed(seed: u64, index: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(seed ^ mix(index.wrapping_add(0x5851_f42d_4c95_7f2d)))
}

/// A uniform double in [0, 1) from the top 53 bits of one 64-bit draw.
#[inline]
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform index in 0..n (Lemire's multiply-shift; the bias is below 2^−32 for n < 2^32).
#[inline]
pub fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    (((rng.next_u64() >> 32) * n as u64) >> 32) as usize
}
