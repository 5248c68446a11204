//! The four-word step written with AVX2 intrinsics. Left to itself LLVM keeps xoshiro's
//! 64-bit rotations scalar under AVX2 (there is no vector rotate before AVX-512) and spills
//! the four generators to the stack between levels; written by hand, one bit level of
//! [`super::decide`] is about twenty vector instructions for 256 spins. The order in which
//! random words are drawn and used is exactly that of the portable code, so both produce
//! the same chain.
use super::{shift_next, shift_prev, update_words, GroupCtx, LatticeRule, RowCtx, Tables, X4};
use super::{LANES, MAX_CLASSES, MAX_NB, UNCONDITIONAL_LEVELS};
use std::arch::x86_64::*;

type V = __m256i;

#[inline]
#[target_feature(enable = "avx2")]
fn or(a: V, b: V) -> V {
    _mm256_or_si256(a, b)
}

#[inline]
#[target_feature(enable = "avx2")]
fn and(a: V, b: V) -> V {
    _mm256_and_si256(a, b)
}

#[inline]
#[target_feature(enable = "avx2")]
fn xor(a: V, b: V) -> V {
    _mm256_xor_si256(a, b)
}

/// a & !b.
#[inline]
#[target_feature(enable = "avx2")]
fn and_not(a: V, b: V) -> V {
    _mm256_andnot_si256(b, a)
}

#[inline]
#[target_feature(enable = "avx2")]
fn not(a: V) -> V {
    _mm256_xor_si256(a, _mm256_set1_epi64x(-1))
}

#[inline]
#[target_feature(enable = "avx2")]
fn splat(x: u64) -> V {
    _mm256_set1_epi64x(x as i64)
}

#[inline]
#[target_feature(enable = "avx2")]
fn rotl<const L: i32, const R: i32>(x: V) -> V {
    _mm256_or_si256(_mm256_slli_epi64::<L>(x), _mm256_srli_epi64::<R>(x))
}

/// One xoshiro256++ step of all four lanes (the recurrence of [`X4::next_words`]).
#[inline]
#[target_feature(enable = "avx2")]
fn next(s: &mut [V; 4]) -> V {
    let out = _mm256_add_epi64(rotl::<23, 41>(_mm256_add_epi64(s[0], s[3])), s[0]);
    let t = _mm256_slli_epi64::<17>(s[1]);
    s[2] = xor(s[2], s[0]);
    s[3] = xor(s[3], s[1]);
    s[1] = xor(s[1], s[2]);
    s[0] = xor(s[0], s[3]);
    s[2] = xor(s[2], t);
    s[3] = rotl::<45, 19>(s[3]);
    out
}

/// Full adder: (a ⊕ b ⊕ c, majority(a, b, c)).
#[inline]
#[target_feature(enable = "avx2")]
fn full(a: V, b: V, c: V) -> (V, V) {
    (xor(xor(a, b), c), or(or(and(a, b), and(a, c)), and(b, c)))
}

/// [`super::count`] on four words at once.
#[inline]
#[target_feature(enable = "avx2")]
fn count<const Z: usize>(x: [V; Z]) -> [V; MAX_NB + 1] {
    let zero = _mm256_setzero_si256();
    if Z == 4 {
        let (s0, c0) = (xor(x[0], x[1]), and(x[0], x[1]));
        let (t0, d0) = (xor(x[2], x[3]), and(x[2], x[3]));
        let (b0, e) = (xor(s0, t0), and(s0, t0));
        let (b1, b2) = full(c0, d0, e);
        [
            not(or(or(b0, b1), b2)),
            and_not(b0, b1),
            and_not(b1, b0),
            and(b1, b0),
            b2,
            zero,
            zero,
        ]
    } else {
        let (s1, c1) = full(x[0], x[1], x[2]);
        let (s2, c2) = full(x[3], x[4], x[5]);
        let (b0, e) = (xor(s1, s2), and(s1, s2));
        let (b1, b2) = full(c1, c2, e);
        let (n0, n1, n2) = (not(b0), not(b1), not(b2));
        [
            and(and(n0, n1), n2),
            and(and(b0, n1), n2),
            and(and(n0, b1), n2),
            and(and(b0, b1), n2),
            and(and(n0, n1), b2),
            and(and(b0, n1), b2),
            and(and(n0, b1), b2),
        ]
    }
}

/// [`super::decide`] for four words, lane j of every vector being word j.
#[inline]
#[target_feature(enable = "avx2")]
fn decide<const G: usize, const C: usize>(
    class: &[V; C],
    t: &Tables,
    valid: V,
    s: &mut [V; 4],
) -> V {
    let zero = _mm256_setzero_si256();
    let mut group = [zero; G];
    let mut accept = zero;
    for k in 0..C {
        accept = or(accept, and(class[k], splat(t.always[k])));
        for (g, grp) in group.iter_mut().enumerate() {
            *grp = or(*grp, and(class[k], splat(t.member[k][g])));
        }
    }
    let mut undecided = and(group.iter().fold(zero, |a, &m| or(a, m)), valid);
    let mut level = 32;
    while level > 0
        && (level > 32 - UNCONDITIONAL_LEVELS || _mm256_testz_si256(undecided, undecided) == 0)
    {
        level -= 1;
        let r = next(s);
        let mut th = zero;
        for (g, grp) in group.iter().enumerate() {
            th = or(th, and(*grp, splat(t.bits[g][level])));
        }
        accept = or(accept, and(undecided, and_not(th, r)));
        undecided = and_not(undecided, xor(th, r));
    }
    and(accept, valid)
}

/// [`super::step`] on four words (lane j = word j).
#[inline]
#[target_feature(enable = "avx2")]
fn step<const G: usize, const Z: usize, const CS: usize>(
    cur: V,
    n: [V; Z],
    valid: V,
    ctx: &RowCtx,
    s: &mut [V; 4],
) -> V {
    match ctx.rule {
        LatticeRule::Metropolis => {
            let cnt = count::<Z>(n.map(|x| not(xor(cur, x))));
            let flip = if ctx.symmetric {
                let cs: [V; CS] = std::array::from_fn(|k| cnt[k]);
                decide::<G, CS>(&cs, ctx.tables, valid, s)
            } else {
                let cm: [V; MAX_CLASSES] = std::array::from_fn(|k| {
                    if k <= MAX_NB {
                        and(cnt[k], cur)
                    } else {
                        and_not(cnt[k - MAX_NB - 1], cur)
                    }
                });
                decide::<G, MAX_CLASSES>(&cm, ctx.tables, valid, s)
            };
            and(xor(cur, flip), valid)
        }
        LatticeRule::HeatBath => {
            let cnt = count::<Z>(n);
            let cs: [V; CS] = std::array::from_fn(|k| cnt[k]);
            decide::<G, CS>(&cs, ctx.tables, valid, s)
        }
    }
}

/// Lane j = x[j], assembled from scalars with inserts rather than stored and reloaded
/// (which would stall on store forwarding).
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(x: &[u64; LANES]) -> V {
    _mm256_set_epi64x(x[3] as i64, x[2] as i64, x[1] as i64, x[0] as i64)
}

/// The generator's four state words, each across the four lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn state(rng: &X4) -> [V; 4] {
    // SAFETY: each rng.s[k] holds four u64; unaligned loads are allowed.
    rng.s
        .map(|x| unsafe { _mm256_loadu_si256(x.as_ptr() as *const V) })
}

#[inline]
#[target_feature(enable = "avx2")]
fn set_state(rng: &mut X4, s: &[V; 4]) {
    for (x, v) in rng.s.iter_mut().zip(s) {
        // SAFETY: x holds four u64; unaligned stores are allowed.
        unsafe { _mm256_storeu_si256(x.as_mut_ptr() as *mut V, *v) };
    }
}

/// [`super::update_group`]: word w of four rows in the four lanes.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn update_group<const G: usize, const Z: usize, const CS: usize>(
    rows: &mut [u64],
    ctx: &GroupCtx,
    rng: &mut X4,
) {
    let mut s = state(rng);
    let words = rows.len() / LANES;
    for w in 0..words {
        // Plain loops rather than closures: closures in a target-feature function are not
        // reliably inlined, and these run 4·(Z + 1) times per word.
        let mut nb = [[0u64; LANES]; Z];
        let mut c = [0u64; LANES];
        for j in 0..LANES {
            c[j] = rows[j * words + w];
            for (v, x) in nb.iter_mut().enumerate() {
                x[j] = ctx.neighbour::<Z>(j, v, w);
            }
        }
        let cur = lanes(&c);
        let mut n = [_mm256_setzero_si256(); Z];
        for (x, y) in n.iter_mut().zip(&nb) {
            *x = lanes(y);
        }
        let valid = splat(if w + 1 == words {
            ctx.first.last_mask
        } else {
            !0
        });
        let new = step::<G, Z, CS>(cur, n, valid, &ctx.first, &mut s);
        let mut out = [0u64; LANES];
        // SAFETY: out holds four u64.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut V, new) };
        for (j, v) in out.into_iter().enumerate() {
            rows[j * words + w] = v;
        }
    }
    set_state(rng, &s);
}

/// [`super::update_row`] with the four-word groups in AVX2 registers.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn update_row<const G: usize, const Z: usize, const CS: usize>(
    row: &mut [u64],
    ctx: &RowCtx,
    rng: &mut X4,
) {
    let load = |x: &[u64]| {
        debug_assert!(x.len() >= LANES);
        // SAFETY: x holds at least four u64; unaligned loads are allowed.
        unsafe { _mm256_loadu_si256(x.as_ptr() as *const V) }
    };
    let mut s = state(rng);
    let words = row.len();
    let mut w = 0;
    while w + LANES <= words {
        let cur = load(&row[w..]);
        let same = ctx.nb[4];
        let shifted: [u64; LANES] = std::array::from_fn(|j| {
            if ctx.p == 0 {
                shift_prev(same, w + j, ctx.half)
            } else {
                shift_next(same, w + j, ctx.half)
            }
        });
        // Vertical neighbours and the row alongside are contiguous words.
        let n: [V; Z] = std::array::from_fn(|v| {
            if v + 2 < Z {
                load(&ctx.nb[v][w..])
            } else if v + 2 == Z {
                load(&same[w..])
            } else {
                load(&shifted)
            }
        });
        let valid = if w + LANES == words {
            _mm256_set_epi64x(ctx.last_mask as i64, -1, -1, -1)
        } else {
            _mm256_set1_epi64x(-1)
        };
        let new = step::<G, Z, CS>(cur, n, valid, ctx, &mut s);
        // SAFETY: row[w..] holds at least four u64.
        unsafe { _mm256_storeu_si256(row[w..].as_mut_ptr() as *mut V, new) };
        w += LANES;
    }
    set_state(rng, &s);
    while w < words {
        update_words::<G, 1, Z, CS>(row, w, ctx, rng);
        w += 1;
    }
}
