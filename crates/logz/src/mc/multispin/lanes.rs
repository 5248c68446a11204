//! The lane machinery of the multi-spin kernel: four xoshiro256++ generators in
//! structure-of-arrays form ([`X4`]), the bit-sliced neighbour count, and the exact lane-wise
//! Bernoulli decision ([`decide`]) that turns random words into acceptances with probability
//! exactly t/2³² per class. Internal to [`super`]: the kernel's public face is [`super::Lattice`].

use super::{Tables, LANES, MAX_NB, UNCONDITIONAL_LEVELS};

/// Four xoshiro256++ generators side by side in structure-of-arrays form: one call advances all
/// four and returns four words, and with AVX2 each step of the recurrence is one instruction on
/// all lanes. Each lane is an ordinary xoshiro256++ stream seeded by SplitMix64.
#[derive(Debug, Clone)]
pub(crate) struct X4 {
    pub(super) s: [[u64; LANES]; 4],
}

impl X4 {
    /// Four independent generators, lane l seeded with `seeds[l]` through SplitMix64.
    pub fn new(seeds: [u64; LANES]) -> X4 {
        let mut s = [[0u64; LANES]; 4];
        for (l, &seed) in seeds.iter().enumerate() {
            let mut z = seed;
            for k in 0..4 {
                // SplitMix64, the seeding the xoshiro authors recommend.
                z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut x = z;
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                s[k][l] = x ^ (x >> 31);
            }
        }
        X4 { s }
    }

    /// Advance all four lanes once and return one 64-bit word per lane.
    #[inline(always)]
    pub fn next_words(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = (s0[l].wrapping_add(s3[l]))
                .rotate_left(23)
                .wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }
}

/// Bit-sliced count of Z (4 or 6) one-bit inputs per lane: the lane masks of counts 0..=Z
/// (higher counts' masks are zero).
#[inline(always)]
pub(crate) fn count<const Z: usize>(x: [u64; Z]) -> [u64; MAX_NB + 1] {
    if Z == 4 {
        let (s0, c0) = (x[0] ^ x[1], x[0] & x[1]);
        let (t0, d0) = (x[2] ^ x[3], x[2] & x[3]);
        let b0 = s0 ^ t0;
        let e = s0 & t0;
        // The count is b0 + 2(c0 + d0 + e) ≤ 4, so c0 + d0 + e ≤ 2.
        let b1 = c0 ^ d0 ^ e;
        let b2 = (c0 & d0) | (c0 & e) | (d0 & e);
        [!(b0 | b1 | b2), b0 & !b1, b1 & !b0, b1 & b0, b2, 0, 0]
    } else {
        // Two full adders give 3-input sums s + 2c; the count is b0 + 2·b1 + 4·b2 ≤ 6.
        let full = |a: u64, b: u64, c: u64| (a ^ b ^ c, (a & b) | (a & c) | (b & c));
        let (s1, c1) = full(x[0], x[1], x[2]);
        let (s2, c2) = full(x[3], x[4], x[5]);
        let (b0, e) = (s1 ^ s2, s1 & s2);
        let (b1, b2) = full(c1, c2, e);
        let (n0, n1, n2) = (!b0, !b1, !b2);
        [
            n0 & n1 & n2,
            b0 & n1 & n2,
            n0 & b1 & n2,
            b0 & b1 & n2,
            n0 & n1 & b2,
            b0 & n1 & b2,
            n0 & b1 & b2,
        ]
    }
}

/// Lane-wise Bernoulli trials: every lane belongs to one class (`class_masks`); returns the lanes
/// that accept, each with probability exactly t/2³² for its class's threshold t (see the module
/// docs), drawing one random word per bit level until every lane is decided.
#[inline(always)]
pub(crate) fn decide<const G: usize, const C: usize, const K: usize>(
    class_masks: &[[u64; C]; K],
    t: &Tables,
    valid: &[u64; K],
    rng: &mut X4,
) -> [u64; K] {
    let mut group = [[0u64; G]; K];
    let mut accept = [0u64; K];
    let mut undecided = [0u64; K];
    for j in 0..K {
        for k in 0..C {
            accept[j] |= class_masks[j][k] & t.always[k];
            for g in 0..G {
                group[j][g] |= class_masks[j][k] & t.member[k][g];
            }
        }
        undecided[j] = group[j].iter().fold(0, |a, m| a | m) & valid[j];
    }
    // K words advance in lockstep, each with its own generator, so the K random draws of a level
    // are independent instructions the CPU overlaps.
    // The first levels run unconditionally: a data-dependent loop exit would be mispredicted
    // about once per word, which costs more than the few extra random words.
    let mut level = 32;
    while level > 0
        && (level > 32 - UNCONDITIONAL_LEVELS || undecided.iter().fold(0, |a, u| a | u) != 0)
    {
        level -= 1;
        let rw = rng.next_words();
        for j in 0..K {
            let r = rw[j];
            let mut th = 0u64;
            for g in 0..G {
                th |= group[j][g] & t.bits[g][level];
            }
            // Lanes where U's bit differs from the threshold's are decided: U < t where t has
            // the 1.
            accept[j] |= undecided[j] & th & !r;
            undecided[j] &= !(th ^ r);
        }
    }
    for j in 0..K {
        accept[j] &= valid[j];
    }
    accept
}
