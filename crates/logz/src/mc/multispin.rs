//! The square-lattice fast path: a multi-spin-coded checkerboard kernel, 64 spins per word.
//!
//! Layout. The L_r × L_c torus (both even) is split by colour (r + c) mod 2. Row r of colour χ
//! holds the columns c ≡ χ + r (mod 2) as bits k = c / 2 of ⌈L_c/128⌉ words (bit 1 = spin +1).
//! Every neighbour of a colour-χ site has the other colour: the sites above and below are the same
//! bit k of the other colour's rows r ± 1, the two horizontal neighbours are bit k and bit k ∓ 1
//! of the other colour's row r. So one colour is updated a whole word at a time, all 64 lanes
//! useful, reading only the other colour — and rows of one colour are independent, so they are
//! updated in parallel, each with its own random stream (the same seed gives the same chain on
//! any number of threads).
//!
//! Per word, bit-sliced adders count the aligned (Metropolis) or up (heat-bath) neighbours of all
//! 64 spins at once. That count (with the spin itself when there is a field) is the spin's
//! *class*; each class c has an exact acceptance probability p_c, stored as a 32-bit threshold
//! t_c = round(p_c·2³²). A lane accepts iff its own uniform 32-bit number U < t_c. We never draw U
//! in full: U's bits are drawn MSB-first, one random word giving that bit for all 64 lanes, and a
//! lane is decided at the first bit where U differs from t_c (U < t_c if t_c has the 1). After k
//! words only ~64·2^−k lanes are undecided, so ~7 words decide a word of spins, and every lane
//! has its own independent U: the acceptance probability is exactly t_c/2³² (|error| ≤ 2^−33),
//! not an approximation shared between spins. Classes with p = 1 (always accept) use no
//! randomness at all.

use super::stream_seed;
use crate::error::{Error, Result};
use crate::model::{Geometry, Model};
use rayon::prelude::*;

/// The update rule of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatticeRule {
    Metropolis,
    HeatBath,
}

/// Group index of classes that never / always accept.
const NEVER: u8 = u8::MAX;
const ALWAYS: u8 = u8::MAX - 1;
const MAX_CLASSES: usize = 10;
/// Random streams per row (lanes of the row's generator): words are updated 4 at a time.
const LANES: usize = 4;
/// Bit levels drawn before checking whether every lane is decided.
const UNCONDITIONAL_LEVELS: usize = 9;

/// Acceptance classes and their thresholds. Metropolis classes: the number a of aligned
/// neighbours (5 classes when h = 0, where the spin's sign does not matter) or a + 5·[s_i = −1]
/// (10 classes); heat-bath classes: the number u of up neighbours. Classes with equal thresholds
/// share a group, so the per-level work depends on the number of distinct probabilities only.
#[derive(Debug, Clone)]
pub struct Tables {
    classes: usize,
    group_of: [u8; MAX_CLASSES],
    groups: usize,
    /// bits[g][ℓ] = all ones if bit ℓ of group g's threshold is set.
    bits: [[u64; 32]; MAX_CLASSES],
    /// Branch-free class → group selection: always[k] and member[k][g] are all ones or zero.
    always: [u64; MAX_CLASSES],
    member: [[u64; MAX_CLASSES]; MAX_CLASSES],
}

impl Tables {
    pub fn new(probs: &[f64]) -> Self {
        let mut t = Tables {
            classes: probs.len(),
            group_of: [NEVER; MAX_CLASSES],
            groups: 0,
            bits: [[0; 32]; MAX_CLASSES],
            always: [0; MAX_CLASSES],
            member: [[0; MAX_CLASSES]; MAX_CLASSES],
        };
        let mut thresholds: Vec<u32> = Vec::new();
        for (k, &p) in probs.iter().enumerate() {
            let x = (p * 4_294_967_296.0).round();
            t.group_of[k] = if x >= 4_294_967_296.0 {
                ALWAYS
            } else if x < 1.0 {
                NEVER
            } else {
                let x = x as u32;
                let g = match thresholds.iter().position(|&y| y == x) {
                    Some(g) => g,
                    None => {
                        thresholds.push(x);
                        thresholds.len() - 1
                    }
                };
                g as u8
            };
        }
        t.groups = thresholds.len();
        for k in 0..t.classes {
            match t.group_of[k] {
                NEVER => {}
                ALWAYS => t.always[k] = !0,
                g => t.member[k][g as usize] = !0,
            }
        }
        for (g, &x) in thresholds.iter().enumerate() {
            for l in 0..32 {
                t.bits[g][l] = 0u64.wrapping_sub(((x >> l) & 1) as u64);
            }
        }
        t
    }
}

/// A square torus in multi-spin-coded checkerboard form, with one RNG stream per row.
#[derive(Debug, Clone)]
pub struct Lattice {
    rows: usize,
    cols: usize,
    /// Bits per colour row (cols / 2) and words per colour row.
    half: usize,
    words: usize,
    colour: [Vec<u64>; 2],
    rngs: Vec<X4>,
    rule: LatticeRule,
    tables: Tables,
    /// Metropolis with h = 0: the class is the aligned count alone.
    symmetric: bool,
    coupling: f64,
    field: f64,
    /// Use the portable row kernel even where AVX2 is available.
    portable: bool,
}

/// Can the kernel run this model? Returns (rows, cols, J, h) or the reason it cannot.
pub fn applicable(m: &Model) -> std::result::Result<(usize, usize, f64, f64), String> {
    let (rows, cols) = match *m.geometry() {
        Geometry::Square {
            rows,
            cols,
            periodic: true,
        } => (rows, cols),
        _ => return Err("the multi-spin kernel needs a periodic square lattice".into()),
    };
    if !rows.is_multiple_of(2) || !cols.is_multiple_of(2) || rows < 4 || cols < 4 {
        return Err(format!(
            "the multi-spin kernel needs even sides ≥ 4 (got {rows}×{cols})"
        ));
    }
    let j = m
        .uniform_coupling()
        .ok_or("the multi-spin kernel needs a uniform coupling")?;
    let h = m
        .uniform_field()
        .ok_or("the multi-spin kernel needs a uniform field")?;
    if m.num_edges() != 2 * rows * cols {
        return Err("the lattice's edge list is not a plain torus".into());
    }
    Ok((rows, cols, j, h))
}

impl Lattice {
    /// Build the kernel state from ±1 spins in row-major order.
    pub fn new(m: &Model, rule: LatticeRule, spins: &[i8], seed: u64) -> Result<Self> {
        let (rows, cols, coupling, field) =
            applicable(m).map_err(|reason| Error::NotApplicable {
                method: "multi-spin lattice kernel",
                reason,
            })?;
        let mut lat = Self::torus(rows, cols, coupling, field, m.beta(), rule, seed)?;
        for r in 0..rows {
            for c in 0..cols {
                if spins[r * cols + c] < 0 {
                    let k = c / 2;
                    lat.colour[(r + c) % 2][r * lat.words + k / 64] &= !(1u64 << (k % 64));
                }
            }
        }
        Ok(lat)
    }

    /// A rows × cols torus with uniform J and h, all spins up, without building a `Model`
    /// (for lattices of 10⁸ spins, whose edge lists would not fit comfortably in memory).
    pub fn torus(
        rows: usize,
        cols: usize,
        coupling: f64,
        field: f64,
        beta: f64,
        rule: LatticeRule,
        seed: u64,
    ) -> Result<Self> {
        if !rows.is_multiple_of(2) || !cols.is_multiple_of(2) || rows < 4 || cols < 4 {
            return Err(Error::InvalidArgument(format!(
                "the multi-spin kernel needs even sides ≥ 4 (got {rows}×{cols})"
            )));
        }
        if !(coupling.is_finite() && field.is_finite() && beta.is_finite() && beta >= 0.0) {
            return Err(Error::InvalidArgument(
                "J, h and β must be finite and β ≥ 0".into(),
            ));
        }
        let half = cols / 2;
        let words = half.div_ceil(64);
        let last = match half % 64 {
            0 => !0u64,
            b => (1u64 << b) - 1,
        };
        let mut colour = [vec![!0u64; rows * words], vec![!0u64; rows * words]];
        for c in colour.iter_mut() {
            for r in 0..rows {
                c[r * words + words - 1] = last;
            }
        }
        let rngs = (0..rows)
            .map(|r| {
                X4::new(std::array::from_fn(|j| {
                    stream_seed(seed, (LANES * r + j) as u64)
                }))
            })
            .collect();
        let symmetric = field == 0.0;
        let probs: Vec<f64> = match rule {
            LatticeRule::Metropolis => (0..if symmetric { 5 } else { 10 })
                .map(|k| {
                    // ΔE = 2 s_i (J Σ_j s_j + h) = 2J(2a − 4) + 2h s_i.
                    let (down, a) = (k / 5, (k % 5) as f64);
                    let s = if down == 1 { -1.0 } else { 1.0 };
                    let de = 2.0 * coupling * (2.0 * a - 4.0) + 2.0 * field * s;
                    if de <= 0.0 {
                        1.0
                    } else {
                        (-beta * de).exp()
                    }
                })
                .collect(),
            LatticeRule::HeatBath => (0..5)
                .map(|u| {
                    let f = coupling * (2.0 * u as f64 - 4.0) + field;
                    1.0 / (1.0 + (-2.0 * beta * f).exp())
                })
                .collect(),
        };
        Ok(Lattice {
            rows,
            cols,
            half,
            words,
            colour,
            rngs,
            rule,
            tables: Tables::new(&probs),
            symmetric,
            coupling,
            field,
            portable: false,
        })
    }

    /// Run the portable row kernel even where AVX2 is available. Both give the same chain;
    /// this exists to test that and to time the difference.
    pub fn set_portable(&mut self, portable: bool) {
        self.portable = portable;
    }

    /// The spins in row-major order.
    pub fn spins(&self) -> Vec<i8> {
        let mut s = vec![-1i8; self.rows * self.cols];
        for r in 0..self.rows {
            for c in 0..self.cols {
                let k = c / 2;
                let w = self.colour[(r + c) % 2][r * self.words + k / 64];
                if (w >> (k % 64)) & 1 == 1 {
                    s[r * self.cols + c] = 1;
                }
            }
        }
        s
    }

    /// Number of spins.
    pub fn n(&self) -> usize {
        self.rows * self.cols
    }

    fn last_mask(&self) -> u64 {
        match self.half % 64 {
            0 => !0,
            b => (1u64 << b) - 1,
        }
    }

    /// One full sweep: colour 0 then colour 1, rows of a colour in parallel.
    pub fn sweep(&mut self) {
        for chi in 0..2 {
            self.half_sweep(chi);
        }
    }

    fn half_sweep(&mut self, chi: usize) {
        // Monomorphise the row kernel on the number of threshold groups, so that the per-level
        // loop over groups is unrolled.
        match self.tables.groups {
            0 => self.half_sweep_g::<0>(chi),
            1 => self.half_sweep_g::<1>(chi),
            2 => self.half_sweep_g::<2>(chi),
            3 => self.half_sweep_g::<3>(chi),
            4 => self.half_sweep_g::<4>(chi),
            5 => self.half_sweep_g::<5>(chi),
            _ => self.half_sweep_g::<MAX_CLASSES>(chi),
        }
    }

    fn half_sweep_g<const G: usize>(&mut self, chi: usize) {
        let (rows, words, half) = (self.rows, self.words, self.half);
        let last_mask = self.last_mask();
        let [c0, c1] = &mut self.colour;
        let (upd, other): (&mut Vec<u64>, &Vec<u64>) = if chi == 0 { (c0, c1) } else { (c1, c0) };
        let tables = &self.tables;
        let (rule, symmetric) = (self.rule, self.symmetric);
        // Few, large tasks: a 1024² half sweep takes ~0.1 ms, so per-task overhead matters.
        let min_rows = (rows / (8 * rayon::current_num_threads()))
            .max(4096 / words)
            .max(1);
        #[cfg(target_arch = "x86_64")]
        let avx2 = !self.portable && std::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        upd.par_chunks_mut(words)
            .zip(self.rngs.par_iter_mut())
            .enumerate()
            .with_min_len(min_rows)
            .for_each(|(r, (row, rng))| {
                let up = &other[((r + rows - 1) % rows) * words..][..words];
                let down = &other[((r + 1) % rows) * words..][..words];
                let same = &other[r * words..][..words];
                // Columns of this row's colour have parity p; the second horizontal neighbour
                // is bit k − 1 (p = 0) or bit k + 1 (p = 1) of the other colour's row.
                let ctx = RowCtx {
                    nb: [up, down, same],
                    p: (chi + r) % 2,
                    half,
                    last_mask,
                    rule,
                    symmetric,
                    tables,
                };
                if avx2 {
                    // SAFETY: the CPU supports AVX2 (checked at run time just above).
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        update_row_avx2::<G>(row, &ctx, rng)
                    }
                } else {
                    update_row::<G>(row, &ctx, rng);
                }
            });
    }

    /// (Σ_i s_i, Σ_(ij) s_i s_j): both from popcounts over colour 0, whose four neighbours
    /// cover every bond exactly once.
    pub fn sums(&self) -> (i64, i64) {
        let (rows, words, half) = (self.rows, self.words, self.half);
        let last_mask = self.last_mask();
        let mut up_count = 0i64;
        let mut aligned = 0i64;
        for chi in 0..2 {
            for &w in &self.colour[chi] {
                up_count += w.count_ones() as i64;
            }
        }
        let (mine, other) = (&self.colour[0], &self.colour[1]);
        for r in 0..rows {
            let up = &other[((r + rows - 1) % rows) * words..][..words];
            let down = &other[((r + 1) % rows) * words..][..words];
            let same = &other[r * words..][..words];
            for w in 0..words {
                let shifted = if r % 2 == 0 {
                    shift_prev(same, w, half)
                } else {
                    shift_next(same, w, half)
                };
                let valid = if w + 1 == words { last_mask } else { !0 };
                let s = mine[r * words + w];
                for nb in [up[w], down[w], same[w], shifted] {
                    aligned += (!(s ^ nb) & valid).count_ones() as i64;
                }
            }
        }
        let n = self.n() as i64;
        (2 * up_count - n, 2 * aligned - 2 * n)
    }

    /// Energy E = −J Σ s_i s_j − h Σ s_i and magnetisation Σ s_i of the current state.
    pub fn energy_magnetization(&self) -> (f64, f64) {
        let (m, b) = self.sums();
        (-self.coupling * b as f64 - self.field * m as f64, m as f64)
    }
}

/// What a row update needs besides the row and its generator.
struct RowCtx<'a> {
    /// The other colour's rows above, below and alongside.
    nb: [&'a [u64]; 3],
    /// Parity of the row's columns.
    p: usize,
    half: usize,
    last_mask: u64,
    rule: LatticeRule,
    symmetric: bool,
    tables: &'a Tables,
}

/// Update one colour row: words in groups of four (one generator lane each), then the rest.
#[inline(always)]
fn update_row<const G: usize>(row: &mut [u64], ctx: &RowCtx, rng: &mut X4) {
    // Work on a local copy of the generator so its state stays in registers.
    let mut x = rng.clone();
    let words = row.len();
    let mut w = 0;
    while w + LANES <= words {
        update_words::<G, LANES>(row, w, ctx, &mut x);
        w += LANES;
    }
    while w < words {
        update_words::<G, 1>(row, w, ctx, &mut x);
        w += 1;
    }
    *rng = x;
}

/// The same with AVX2: four words and the four generator lanes in one 256-bit register each
/// (see [`avx2`]); bit-identical to [`update_row`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_row_avx2<const G: usize>(row: &mut [u64], ctx: &RowCtx, rng: &mut X4) {
    avx2::update_row::<G>(row, ctx, rng)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The four-word step written with AVX2 intrinsics. Left to itself LLVM keeps xoshiro's
    //! 64-bit rotations scalar under AVX2 (there is no vector rotate before AVX-512) and spills
    //! the four generators to the stack between levels; written by hand, one bit level of
    //! [`super::decide`] is about twenty vector instructions for 256 spins. The order in which
    //! random words are drawn and used is exactly that of the portable code, so both produce
    //! the same chain.
    use super::{shift_next, shift_prev, update_words, LatticeRule, RowCtx, Tables, X4};
    use super::{LANES, MAX_CLASSES, UNCONDITIONAL_LEVELS};
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

    /// [`super::count4`] on four words at once.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn count4(x: [V; 4]) -> [V; 5] {
        let (s0, c0) = (xor(x[0], x[1]), and(x[0], x[1]));
        let (t0, d0) = (xor(x[2], x[3]), and(x[2], x[3]));
        let b0 = xor(s0, t0);
        let e = and(s0, t0);
        let b1 = xor(xor(c0, d0), e);
        let b2 = or(or(and(c0, d0), and(c0, e)), and(d0, e));
        [
            not(or(or(b0, b1), b2)),
            and_not(b0, b1),
            and_not(b1, b0),
            and(b1, b0),
            b2,
        ]
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

    /// [`super::update_row`] with the four-word groups in AVX2 registers.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn update_row<const G: usize>(row: &mut [u64], ctx: &RowCtx, rng: &mut X4) {
        let load = |x: &[u64]| {
            debug_assert!(x.len() >= LANES);
            // SAFETY: x holds at least four u64; unaligned loads are allowed.
            unsafe { _mm256_loadu_si256(x.as_ptr() as *const V) }
        };
        let mut s = [
            load(&rng.s[0]),
            load(&rng.s[1]),
            load(&rng.s[2]),
            load(&rng.s[3]),
        ];
        let words = row.len();
        let nb = ctx.nb;
        let mut w = 0;
        while w + LANES <= words {
            let cur = load(&row[w..]);
            let shifted: [u64; LANES] = std::array::from_fn(|j| {
                if ctx.p == 0 {
                    shift_prev(nb[2], w + j, ctx.half)
                } else {
                    shift_next(nb[2], w + j, ctx.half)
                }
            });
            let n = [
                load(&nb[0][w..]),
                load(&nb[1][w..]),
                load(&nb[2][w..]),
                load(&shifted),
            ];
            let valid = if w + LANES == words {
                _mm256_set_epi64x(ctx.last_mask as i64, -1, -1, -1)
            } else {
                _mm256_set1_epi64x(-1)
            };
            let new = match ctx.rule {
                LatticeRule::Metropolis => {
                    let a = [
                        not(xor(cur, n[0])),
                        not(xor(cur, n[1])),
                        not(xor(cur, n[2])),
                        not(xor(cur, n[3])),
                    ];
                    let cnt = count4(a);
                    let flip = if ctx.symmetric {
                        decide::<G, 5>(&cnt, ctx.tables, valid, &mut s)
                    } else {
                        let cm: [V; MAX_CLASSES] = std::array::from_fn(|k| {
                            if k < 5 {
                                and(cnt[k], cur)
                            } else {
                                and_not(cnt[k - 5], cur)
                            }
                        });
                        decide::<G, MAX_CLASSES>(&cm, ctx.tables, valid, &mut s)
                    };
                    and(xor(cur, flip), valid)
                }
                LatticeRule::HeatBath => decide::<G, 5>(&count4(n), ctx.tables, valid, &mut s),
            };
            // SAFETY: row[w..] holds at least four u64.
            unsafe { _mm256_storeu_si256(row[w..].as_mut_ptr() as *mut V, new) };
            w += LANES;
        }
        for (k, v) in s.iter().enumerate() {
            // SAFETY: rng.s[k] holds four u64.
            unsafe { _mm256_storeu_si256(rng.s[k].as_mut_ptr() as *mut V, *v) };
        }
        while w < words {
            update_words::<G, 1>(row, w, ctx, rng);
            w += 1;
        }
    }
}

/// Update words w0 .. w0 + K of one colour row.
#[inline(always)]
fn update_words<const G: usize, const K: usize>(
    row: &mut [u64],
    w0: usize,
    ctx: &RowCtx,
    rng: &mut X4,
) {
    let words = row.len();
    let nb = ctx.nb;
    let mut valid = [!0u64; K];
    let mut neighbours = [[0u64; 4]; K];
    for j in 0..K {
        let w = w0 + j;
        let shifted = if ctx.p == 0 {
            shift_prev(nb[2], w, ctx.half)
        } else {
            shift_next(nb[2], w, ctx.half)
        };
        if w + 1 == words {
            valid[j] = ctx.last_mask;
        }
        neighbours[j] = [nb[0][w], nb[1][w], nb[2][w], shifted];
    }
    let tables = ctx.tables;
    match ctx.rule {
        LatticeRule::Metropolis => {
            let mut cnt = [[0u64; 5]; K];
            for j in 0..K {
                let (s, n) = (row[w0 + j], neighbours[j]);
                cnt[j] = count4([!(s ^ n[0]), !(s ^ n[1]), !(s ^ n[2]), !(s ^ n[3])]);
            }
            let flip = if ctx.symmetric {
                decide::<G, 5, K>(&cnt, tables, &valid, rng)
            } else {
                let mut cm = [[0u64; MAX_CLASSES]; K];
                for j in 0..K {
                    let s = row[w0 + j];
                    for a in 0..5 {
                        cm[j][a] = cnt[j][a] & s;
                        cm[j][a + 5] = cnt[j][a] & !s;
                    }
                }
                decide::<G, MAX_CLASSES, K>(&cm, tables, &valid, rng)
            };
            for j in 0..K {
                row[w0 + j] = (row[w0 + j] ^ flip[j]) & valid[j];
            }
        }
        LatticeRule::HeatBath => {
            let mut cnt = [[0u64; 5]; K];
            for j in 0..K {
                cnt[j] = count4(neighbours[j]);
            }
            let up = decide::<G, 5, K>(&cnt, tables, &valid, rng);
            row[w0..w0 + K].copy_from_slice(&up);
        }
    }
}

/// Four xoshiro256++ generators side by side in structure-of-arrays form: one call advances all
/// four and returns four words, and with AVX2 each step of the recurrence is one instruction on
/// all lanes. Each lane is an ordinary xoshiro256++ stream seeded by SplitMix64.
#[derive(Debug, Clone)]
pub struct X4 {
    s: [[u64; LANES]; 4],
}

impl X4 {
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

/// Word w of the row shifted so that bit k holds bit k − 1 (bit 0 holds bit half − 1).
#[inline(always)]
fn shift_prev(x: &[u64], w: usize, half: usize) -> u64 {
    let carry = if w > 0 {
        x[w - 1] >> 63
    } else {
        let b = half - 1;
        (x[b / 64] >> (b % 64)) & 1
    };
    (x[w] << 1) | carry
}

/// Word w of the row shifted so that bit k holds bit k + 1 (bit half − 1 holds bit 0).
#[inline(always)]
fn shift_next(x: &[u64], w: usize, half: usize) -> u64 {
    if w + 1 < x.len() {
        (x[w] >> 1) | (x[w + 1] << 63)
    } else {
        (x[w] >> 1) | ((x[0] & 1) << ((half - 1) % 64))
    }
}

/// Bit-sliced count of four 1-bit inputs per lane: the lane masks of counts 0..=4.
#[inline(always)]
fn count4(x: [u64; 4]) -> [u64; 5] {
    let (s0, c0) = (x[0] ^ x[1], x[0] & x[1]);
    let (t0, d0) = (x[2] ^ x[3], x[2] & x[3]);
    let b0 = s0 ^ t0;
    let e = s0 & t0;
    // The count is b0 + 2(c0 + d0 + e) ≤ 4, so c0 + d0 + e ≤ 2.
    let b1 = c0 ^ d0 ^ e;
    let b2 = (c0 & d0) | (c0 & e) | (d0 & e);
    [!(b0 | b1 | b2), b0 & !b1, b1 & !b0, b1 & b0, b2]
}

/// Lane-wise Bernoulli trials: every lane belongs to one class (`class_masks`); returns the lanes
/// that accept, each with probability exactly t/2³² for its class's threshold t (see the module
/// docs), drawing one random word per bit level until every lane is decided.
#[inline(always)]
pub fn decide<const G: usize, const C: usize, const K: usize>(
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

/// The kernel (kept under this name for callers written when it was generic).
pub type DefaultLattice = Lattice;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builders::{square, Params};

    #[test]
    fn layout_round_trips_and_sums_match_the_model() {
        for &(r, c) in &[(4, 4), (6, 10), (8, 130), (4, 256)] {
            let m = square(r, c, true, &Params::default()).unwrap();
            let spins: Vec<i8> = (0..r * c)
                .map(|i| if (i * 7 + i / 3) % 5 < 2 { 1 } else { -1 })
                .collect();
            let lat = DefaultLattice::new(&m, LatticeRule::Metropolis, &spins, 1).unwrap();
            assert_eq!(lat.spins(), spins);
            let (e, mag) = lat.energy_magnetization();
            assert!(
                (e - m.energy(&spins)).abs() < 1e-9,
                "{r}×{c}: {e} vs {}",
                m.energy(&spins)
            );
            assert_eq!(mag, spins.iter().map(|&x| x as f64).sum::<f64>());
        }
    }

    /// Each lane of X4 is the reference xoshiro256++ (SplitMix64-seeded like rand_xoshiro's
    /// `seed_from_u64`), so the streams are the published generator, not a home-made one.
    #[test]
    fn x4_lanes_are_xoshiro256plusplus() {
        use rand::{Rng, SeedableRng};
        let seeds = [1u64, 2, 3, 0xdead_beef];
        let mut x = X4::new(seeds);
        let mut refs: Vec<_> = seeds
            .iter()
            .map(|&s| rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(s))
            .collect();
        for _ in 0..100 {
            let out = x.next_words();
            for l in 0..LANES {
                assert_eq!(out[l], refs[l].next_u64());
            }
        }
    }

    /// The AVX2 kernel draws and uses random words in the portable kernel's order, so the two
    /// give bit-identical chains — including rows whose word count is not a multiple of four
    /// and whose last word is partial, with and without a field, for both rules.
    #[test]
    fn avx2_and_portable_kernels_give_the_same_chain() {
        for &(rows, cols) in &[
            (6, 2 * (64 * 3 + 5)),
            (4, 2 * (64 * 4 + 10)),
            (8, 2 * 64 * 5),
        ] {
            for rule in [LatticeRule::Metropolis, LatticeRule::HeatBath] {
                for field in [0.0, 0.3] {
                    let run = |portable: bool| {
                        let mut lat =
                            Lattice::torus(rows, cols, 1.0, field, 0.44, rule, 17).unwrap();
                        lat.set_portable(portable);
                        for _ in 0..20 {
                            lat.sweep();
                        }
                        lat.spins()
                    };
                    let a = run(true);
                    assert_eq!(a, run(false), "{rows}×{cols} {rule:?} h={field}");
                    assert!(a.iter().any(|&x| x < 0), "the chain moved");
                }
            }
        }
    }

    #[test]
    fn lane_bernoulli_has_the_exact_rate() {
        // One group with p = 0.3 on all lanes: the accepted fraction over 64·20000 lanes.
        let tables = Tables::new(&[0.3]);
        let mut rng = X4::new([9, 10, 11, 12]);
        let trials = 20_000;
        let mut hits = 0u64;
        for _ in 0..trials {
            hits += decide::<1, 1, 1>(&[[!0]], &tables, &[!0], &mut rng)[0].count_ones() as u64;
        }
        let n = 64.0 * trials as f64;
        let rate = hits as f64 / n;
        let sd = (0.3 * 0.7 / n).sqrt();
        assert!((rate - 0.3).abs() < 4.0 * sd, "rate {rate}");
    }
}
