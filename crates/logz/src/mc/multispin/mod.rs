//! The square- and cubic-lattice fast path: a multi-spin-coded checkerboard kernel, 64 spins
//! per word.
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
//! The simple cubic torus L_x × L_y × L_z (site (x, y, z) at index (x·L_y + y)·L_z + z, as the
//! `cubic` builder numbers them) is the same picture with "rows" (x, y) of L_z columns and
//! colour (x + y + z) mod 2: the four rows (x, y ± 1) and (x ± 1, y) play the part of the rows
//! above and below, so a spin has six neighbours, four vertical and two horizontal.
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

use crate::error::{Error, Result};
use crate::model::Model;
use crate::rng::stream_seed;
use rayon::prelude::*;
use std::sync::Arc;

/// The update rule of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatticeRule {
    /// Metropolis acceptance min(1, e^{−βΔE}).
    Metropolis,
    /// Heat-bath (Gibbs) acceptance: the spin is set up with its conditional probability.
    HeatBath,
}

/// Group index of classes that never / always accept.
const NEVER: u8 = u8::MAX;
const ALWAYS: u8 = u8::MAX - 1;
/// Neighbours per site: 4 (square) or 6 (cubic); counts run 0..=MAX_NB.
const MAX_NB: usize = 6;
/// Acceptance classes: a count (0..=MAX_NB), times two when the spin's sign matters.
const MAX_CLASSES: usize = 2 * (MAX_NB + 1);
/// Random streams per row (lanes of the row's generator): words are updated 4 at a time.
const LANES: usize = 4;
/// Bit levels drawn before checking whether every lane is decided.
const UNCONDITIONAL_LEVELS: usize = 9;

/// Acceptance classes and their thresholds. Metropolis classes: the number a of aligned
/// neighbours (when h = 0, where the spin's sign does not matter) or a + 7·[s_i = −1]; heat-bath
/// classes: the number u of up neighbours. Counts above the coordination cannot occur; they are
/// given p = 1, which needs no random bits and creates no group. Classes with equal thresholds
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
    /// Tables for the acceptance probabilities `probs` of classes 0, 1, …, each rounded to a
    /// multiple of 2^−32 (p ≥ 1 − 2^−33 always accepts, p < 2^−33 never does).
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

/// A square or cubic torus in multi-spin-coded checkerboard form, with one RNG stream per row.
#[derive(Debug, Clone)]
pub struct Lattice {
    /// L_x (1 for the square lattice), L_y, L_z; rows are indexed x·rows + y.
    planes: usize,
    rows: usize,
    cols: usize,
    /// Neighbours per site: 4 or 6.
    z: usize,
    /// Per row: the other colour's neighbouring rows (see `neighbour_rows`) and the row's
    /// parity x + y mod 2, computed once (integer division has no place in the sweep).
    row_links: Vec<([usize; 5], usize)>,
    /// Bits per colour row (cols / 2) and words per colour row.
    half: usize,
    words: usize,
    colour: [Vec<u64>; 2],
    rngs: Vec<X4>,
    rule: LatticeRule,
    /// The acceptance tables of β (shared: [`Lattice::sweep_with`] runs other tables).
    tables: Arc<Tables>,
    /// Metropolis with h = 0: the class is the aligned count alone.
    symmetric: bool,
    coupling: f64,
    field: f64,
    /// Use the portable row kernel even where AVX2 is available.
    portable: bool,
    /// The row kernel the last half sweep ran (None before the first sweep).
    last_kernel: Option<RowKernel>,
}

/// Which row kernel a sweep ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKernel {
    /// The portable kernel: any CPU, or forced with [`Lattice::set_portable`].
    Portable,
    /// The AVX2 kernel: x86-64 with AVX2, detected at run time.
    Avx2,
}

/// Whether this CPU can run the AVX2 row kernel (detected at run time).
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Bytes per lattice row besides its spins: the row's generator state and links (generous).
const LINE_BYTES: f64 = 512.0;

impl Lattice {
    /// Build the kernel state from ±1 spins in row-major order.
    pub fn new(m: &Model, rule: LatticeRule, spins: &[i8], seed: u64) -> Result<Self> {
        let sh = shape(m).map_err(|reason| Error::NotApplicable {
            method: "multi-spin lattice kernel",
            reason,
        })?;
        let mut lat = Self::build(
            [sh.planes, sh.rows, sh.cols],
            sh.coupling,
            sh.field,
            m.beta(),
            rule,
            seed,
        )?;
        for r in 0..sh.planes * sh.rows {
            for c in 0..sh.cols {
                if spins[r * sh.cols + c] < 0 {
                    let k = c / 2;
                    let chi = lat.colour_of(r, c);
                    lat.colour[chi][r * lat.words + k / 64] &= !(1u64 << (k % 64));
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
        Self::build([1, rows, cols], coupling, field, beta, rule, seed)
    }

    /// An l × l × l cubic torus, likewise without a `Model`.
    pub fn cubic(
        l: usize,
        coupling: f64,
        field: f64,
        beta: f64,
        rule: LatticeRule,
        seed: u64,
    ) -> Result<Self> {
        Self::build([l, l, l], coupling, field, beta, rule, seed)
    }

    /// Check a `planes × rows × cols` lattice's sides and memory before anything is built (a
    /// front end checks every lattice of a run this way before printing anything).
    pub fn check_size([planes, rows, cols]: [usize; 3]) -> Result<()> {
        crate::model::torus::check_sides(planes, rows, cols).map_err(Error::InvalidArgument)?;
        // One bit per spin, and per row a generator (four xoshiro lanes) and its links; counted
        // in floating point before any product of the sides is formed.
        let (nl, nc) = (planes as f64 * rows as f64, cols as f64);
        crate::limits::check_memory(
            "multi-spin lattice",
            &if planes > 1 {
                format!("a {planes}×{rows}×{cols} lattice")
            } else {
                format!("a {rows}×{cols} lattice")
            },
            nl * (nc / 8.0 + LINE_BYTES) + 4096.0,
        )
    }

    fn build(
        [planes, rows, cols]: [usize; 3],
        coupling: f64,
        field: f64,
        beta: f64,
        rule: LatticeRule,
        seed: u64,
    ) -> Result<Self> {
        Self::check_size([planes, rows, cols])?;
        let z = if planes > 1 { 6 } else { 4 };
        let lines = planes * rows;
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
        let mut colour = [vec![!0u64; lines * words], vec![!0u64; lines * words]];
        for c in colour.iter_mut() {
            for r in 0..lines {
                c[r * words + words - 1] = last;
            }
        }
        let rngs = (0..lines)
            .map(|r| {
                X4::new(std::array::from_fn(|j| {
                    stream_seed(seed, (LANES * r + j) as u64)
                }))
            })
            .collect();
        let symmetric = field == 0.0;
        let tables = Tables::new(&class_probabilities(rule, z, coupling, field, beta));
        let mut lat = Lattice {
            planes,
            rows,
            cols,
            z,
            row_links: Vec::new(),
            half,
            words,
            colour,
            rngs,
            rule,
            tables: Arc::new(tables),
            symmetric,
            coupling,
            field,
            portable: false,
            last_kernel: None,
        };
        lat.row_links = (0..lines)
            .map(|r| (lat.neighbour_rows(r), lat.colour_of(r, 0)))
            .collect();
        Ok(lat)
    }

    /// Run the portable row kernel even where AVX2 is available. Both give the same chain;
    /// this exists to test that and to time the difference.
    pub fn set_portable(&mut self, portable: bool) {
        self.portable = portable;
    }

    /// The row kernel the last sweep ran (None before the first sweep), so that a test of the
    /// AVX2 kernel can tell that it really ran.
    pub fn last_kernel(&self) -> Option<RowKernel> {
        self.last_kernel
    }

    /// The spins in row-major order.
    pub fn spins(&self) -> Vec<i8> {
        let mut s = vec![-1i8; self.n()];
        for r in 0..self.planes * self.rows {
            for c in 0..self.cols {
                let k = c / 2;
                let w = self.colour[self.colour_of(r, c)][r * self.words + k / 64];
                if (w >> (k % 64)) & 1 == 1 {
                    s[r * self.cols + c] = 1;
                }
            }
        }
        s
    }

    /// Number of spins.
    pub fn n(&self) -> usize {
        self.planes * self.rows * self.cols
    }

    /// Colour of column c of row r = x·rows + y: (x + y + c) mod 2.
    fn colour_of(&self, r: usize, c: usize) -> usize {
        (r / self.rows + r % self.rows + c) % 2
    }

    /// The other colour's rows next to row r: (x, y ∓ 1), then (x ∓ 1, y) on the cubic
    /// lattice (the square lattice repeats the first two, unused), then the row itself.
    fn neighbour_rows(&self, r: usize) -> [usize; 5] {
        let (planes, rows) = (self.planes, self.rows);
        let (x, y) = (r / rows, r % rows);
        let at = |x: usize, y: usize| x * rows + y;
        let (up, down) = (at(x, (y + rows - 1) % rows), at(x, (y + 1) % rows));
        if planes > 1 {
            [
                up,
                down,
                at((x + planes - 1) % planes, y),
                at((x + 1) % planes, y),
                r,
            ]
        } else {
            [up, down, up, down, r]
        }
    }

    fn last_mask(&self) -> u64 {
        match self.half % 64 {
            0 => !0,
            b => (1u64 << b) - 1,
        }
    }

    /// One full sweep: colour 0 then colour 1, rows of a colour in parallel.
    pub fn sweep(&mut self) {
        let tables = Arc::clone(&self.tables);
        self.sweep_with(&tables);
    }

    /// The acceptance tables of this lattice (its J, h, rule and coordination) at another β:
    /// build them once per β, then [`Lattice::sweep_with`] runs a sweep at that β (parallel
    /// tempering moves a replica between the rungs of a β ladder this way, without rebuilding
    /// anything).
    pub fn tables_at(&self, beta: f64) -> Result<Tables> {
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "β must be finite and ≥ 0 (got {beta})"
            )));
        }
        Ok(Tables::new(&class_probabilities(
            self.rule,
            self.z,
            self.coupling,
            self.field,
            beta,
        )))
    }

    /// One full sweep with the acceptance `tables` of [`Lattice::tables_at`] instead of the
    /// lattice's own (the same chain as [`Lattice::sweep`] when they are the tables of its β).
    pub fn sweep_with(&mut self, tables: &Tables) {
        // Tables of another rule or field would have another number of classes.
        debug_assert_eq!(tables.classes, self.tables.classes);
        for chi in 0..2 {
            self.half_sweep(chi, tables);
        }
    }

    fn half_sweep(&mut self, chi: usize, tables: &Tables) {
        // CS = Z + 1 classes of a neighbour count.
        if self.z == 6 {
            self.half_sweep_z::<6, 7>(chi, tables)
        } else {
            self.half_sweep_z::<4, 5>(chi, tables)
        }
    }

    fn half_sweep_z<const Z: usize, const CS: usize>(&mut self, chi: usize, tables: &Tables) {
        // Monomorphise the row kernel on the number of threshold groups, so that the per-level
        // loop over groups is unrolled.
        match tables.groups {
            0 => self.half_sweep_g::<0, Z, CS>(chi, tables),
            1 => self.half_sweep_g::<1, Z, CS>(chi, tables),
            2 => self.half_sweep_g::<2, Z, CS>(chi, tables),
            3 => self.half_sweep_g::<3, Z, CS>(chi, tables),
            4 => self.half_sweep_g::<4, Z, CS>(chi, tables),
            5 => self.half_sweep_g::<5, Z, CS>(chi, tables),
            6 => self.half_sweep_g::<6, Z, CS>(chi, tables),
            7 => self.half_sweep_g::<7, Z, CS>(chi, tables),
            _ => self.half_sweep_g::<MAX_CLASSES, Z, CS>(chi, tables),
        }
    }

    fn half_sweep_g<const G: usize, const Z: usize, const CS: usize>(
        &mut self,
        chi: usize,
        tables: &Tables,
    ) {
        let avx2 = !self.portable && avx2_available();
        self.last_kernel = Some(if avx2 {
            RowKernel::Avx2
        } else {
            RowKernel::Portable
        });
        let (lines, words, half) = (self.planes * self.rows, self.words, self.half);
        let last_mask = self.last_mask();
        let links = &self.row_links;
        let [c0, c1] = &mut self.colour;
        let (upd, other): (&mut Vec<u64>, &Vec<u64>) = if chi == 0 { (c0, c1) } else { (c1, c0) };
        let (rule, symmetric) = (self.rule, self.symmetric);
        // Few, large tasks: a 1024² half sweep takes ~0.1 ms, so per-task overhead matters.
        let min_rows = (lines / (8 * rayon::current_num_threads()))
            .max(4096 / words)
            .max(1);
        let ctx_of = |r: usize| {
            let (nbr, parity) = links[r];
            // Columns of this row's colour have parity p; the second horizontal neighbour
            // is bit k − 1 (p = 0) or bit k + 1 (p = 1) of the other colour's row.
            RowCtx {
                nb: nbr.map(|q| &other[q * words..][..words]),
                p: (chi + parity) % 2,
                half,
                last_mask,
                rule,
                symmetric,
                tables,
            }
        };
        if words < LANES {
            // Rows too short for four-word groups: four rows at a time instead, lane j of the
            // first row's generator driving row j (the rest of the group's generators idle);
            // rows left over run one by one on their own generators.
            upd.par_chunks_mut(LANES * words)
                .zip(self.rngs.par_chunks_mut(LANES))
                .enumerate()
                .with_min_len((min_rows / LANES).max(1))
                .for_each(|(g, (rows4, rngs4))| {
                    if rngs4.len() == LANES {
                        let ctx = GroupCtx {
                            other,
                            words,
                            rows: std::array::from_fn(|j| {
                                let (nbr, parity) = links[LANES * g + j];
                                (nbr.map(|q| q * words), (chi + parity) % 2)
                            }),
                            first: ctx_of(LANES * g),
                        };
                        if avx2 {
                            // SAFETY: the CPU supports AVX2 (checked at run time above).
                            #[cfg(target_arch = "x86_64")]
                            unsafe {
                                avx2::update_group::<G, Z, CS>(rows4, &ctx, &mut rngs4[0])
                            }
                        } else {
                            update_group::<G, Z, CS>(rows4, &ctx, &mut rngs4[0]);
                        }
                    } else {
                        for (j, (row, rng)) in
                            rows4.chunks_mut(words).zip(rngs4.iter_mut()).enumerate()
                        {
                            update_row::<G, Z, CS>(row, &ctx_of(LANES * g + j), rng);
                        }
                    }
                });
            return;
        }
        upd.par_chunks_mut(words)
            .zip(self.rngs.par_iter_mut())
            .enumerate()
            .with_min_len(min_rows)
            .for_each(|(r, (row, rng))| {
                let ctx = ctx_of(r);
                if avx2 {
                    // SAFETY: the CPU supports AVX2 (checked at run time just above).
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        update_row_avx2::<G, Z, CS>(row, &ctx, rng)
                    }
                } else {
                    update_row::<G, Z, CS>(row, &ctx, rng);
                }
            });
    }

    /// (Σ_i s_i, Σ_(ij) s_i s_j): both from popcounts over colour 0, whose neighbours cover
    /// every bond exactly once.
    pub fn sums(&self) -> (i64, i64) {
        let (lines, words, half) = (self.planes * self.rows, self.words, self.half);
        let last_mask = self.last_mask();
        let mut up_count = 0i64;
        let mut aligned = 0i64;
        for chi in 0..2 {
            for &w in &self.colour[chi] {
                up_count += w.count_ones() as i64;
            }
        }
        let (mine, other) = (&self.colour[0], &self.colour[1]);
        for (r, &(nbr, parity)) in self.row_links.iter().enumerate().take(lines) {
            let nb = nbr.map(|q| &other[q * words..][..words]);
            let vertical = &nb[..self.z - 2];
            let same = nb[4];
            for w in 0..words {
                let shifted = if parity == 0 {
                    shift_prev(same, w, half)
                } else {
                    shift_next(same, w, half)
                };
                let valid = if w + 1 == words { last_mask } else { !0 };
                let s = mine[r * words + w];
                let words_nb = vertical.iter().map(|v| v[w]).chain([same[w], shifted]);
                for x in words_nb {
                    aligned += (!(s ^ x) & valid).count_ones() as i64;
                }
            }
        }
        let n = self.n() as i64;
        // Σ s_i s_j = aligned − anti-aligned = 2·aligned − (z/2)·N bonds.
        (2 * up_count - n, 2 * aligned - self.z as i64 * n / 2)
    }

    /// Energy E = −J Σ s_i s_j − h Σ s_i and magnetisation Σ s_i of the current state.
    pub fn energy_magnetization(&self) -> (f64, f64) {
        let (m, b) = self.sums();
        (-self.coupling * b as f64 - self.field * m as f64, m as f64)
    }
}

/// The acceptance probability of every class (see [`Tables`]) of a lattice of coordination z
/// with uniform J and h, at β.
fn class_probabilities(
    rule: LatticeRule,
    z: usize,
    coupling: f64,
    field: f64,
    beta: f64,
) -> Vec<f64> {
    let zf = z as f64;
    let symmetric = field == 0.0;
    match rule {
        LatticeRule::Metropolis => (0..if symmetric { MAX_NB + 1 } else { MAX_CLASSES })
            .map(|k| {
                // ΔE = 2 s_i (J Σ_j s_j + h) = 2J(2a − z) + 2h s_i.
                let (down, a) = (k / (MAX_NB + 1), k % (MAX_NB + 1));
                let s = if down == 1 { -1.0 } else { 1.0 };
                let de = 2.0 * coupling * (2.0 * a as f64 - zf) + 2.0 * field * s;
                if a > z || de <= 0.0 {
                    1.0
                } else {
                    (-beta * de).exp()
                }
            })
            .collect(),
        LatticeRule::HeatBath => (0..=MAX_NB)
            .map(|u| {
                let f = coupling * (2.0 * u as f64 - zf) + field;
                if u > z {
                    1.0
                } else {
                    1.0 / (1.0 + (-2.0 * beta * f).exp())
                }
            })
            .collect(),
    }
}

/// What a row update needs besides the row and its generator.
struct RowCtx<'a> {
    /// The other colour's rows: four vertical neighbours (the square lattice uses the first
    /// two), then the row alongside.
    nb: [&'a [u64]; 5],
    /// Parity of the row's columns.
    p: usize,
    half: usize,
    last_mask: u64,
    rule: LatticeRule,
    symmetric: bool,
    tables: &'a Tables,
}

impl RowCtx<'_> {
    /// The Z neighbour words of word w: the vertical ones, the one alongside, and the one
    /// alongside shifted by a bit.
    #[inline(always)]
    fn neighbours<const Z: usize>(&self, w: usize) -> [u64; Z] {
        std::array::from_fn(|v| self.neighbour::<Z>(v, w))
    }

    /// Neighbour word v of word w (see [`RowCtx::neighbours`]).
    #[inline(always)]
    fn neighbour<const Z: usize>(&self, v: usize, w: usize) -> u64 {
        let same = self.nb[4];
        if v + 2 < Z {
            self.nb[v][w]
        } else if v + 2 == Z {
            same[w]
        } else if self.p == 0 {
            shift_prev(same, w, self.half)
        } else {
            shift_next(same, w, self.half)
        }
    }
}

/// Update one colour row: words in groups of four (one generator lane each), then the rest.
#[inline(always)]
fn update_row<const G: usize, const Z: usize, const CS: usize>(
    row: &mut [u64],
    ctx: &RowCtx,
    rng: &mut X4,
) {
    // Work on a local copy of the generator so its state stays in registers.
    let mut x = rng.clone();
    let words = row.len();
    let mut w = 0;
    while w + LANES <= words {
        update_words::<G, LANES, Z, CS>(row, w, ctx, &mut x);
        w += LANES;
    }
    while w < words {
        update_words::<G, 1, Z, CS>(row, w, ctx, &mut x);
        w += 1;
    }
    *rng = x;
}

/// The same with AVX2: four words and the four generator lanes in one 256-bit register each
/// (see [`avx2`]); bit-identical to [`update_row`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_row_avx2<const G: usize, const Z: usize, const CS: usize>(
    row: &mut [u64],
    ctx: &RowCtx,
    rng: &mut X4,
) {
    avx2::update_row::<G, Z, CS>(row, ctx, rng)
}

#[cfg(target_arch = "x86_64")]
mod avx2;
mod lanes;

pub use crate::model::torus::{shape, Shape};

use lanes::{count, decide, X4};

/// Update words w0 .. w0 + K of one colour row.
#[inline(always)]
fn update_words<const G: usize, const K: usize, const Z: usize, const CS: usize>(
    row: &mut [u64],
    w0: usize,
    ctx: &RowCtx,
    rng: &mut X4,
) {
    let words = row.len();
    let cur: [u64; K] = std::array::from_fn(|j| row[w0 + j]);
    let nbw: [[u64; Z]; K] = std::array::from_fn(|j| ctx.neighbours::<Z>(w0 + j));
    let valid: [u64; K] = std::array::from_fn(|j| {
        if w0 + j + 1 == words {
            ctx.last_mask
        } else {
            !0
        }
    });
    let new = step::<G, K, Z, CS>(cur, nbw, valid, ctx, rng);
    row[w0..w0 + K].copy_from_slice(&new);
}

/// What four short rows updated together need: the other colour, each row's neighbour-row
/// offsets and column parity, and the first row's context (rule and tables, shared by all).
/// Cheaper than four [`RowCtx`]s, whose construction dominated rows of one word.
struct GroupCtx<'a> {
    other: &'a [u64],
    words: usize,
    /// Per row: offsets of its neighbour rows in `other` (as in `RowCtx::nb`), parity p.
    rows: [([usize; 5], usize); LANES],
    first: RowCtx<'a>,
}

impl GroupCtx<'_> {
    /// Neighbour word v of word w of row j (the order of [`RowCtx::neighbours`]).
    #[inline(always)]
    fn neighbour<const Z: usize>(&self, j: usize, v: usize, w: usize) -> u64 {
        let (off, p) = &self.rows[j];
        if v + 2 < Z {
            self.other[off[v] + w]
        } else if v + 2 == Z {
            self.other[off[4] + w]
        } else {
            let same = &self.other[off[4]..][..self.words];
            if *p == 0 {
                shift_prev(same, w, self.first.half)
            } else {
                shift_next(same, w, self.first.half)
            }
        }
    }
}

/// Update four rows of one colour at once, word w of row j in lane j (rows shorter than four
/// words). `rows` holds the four rows back to back.
fn update_group<const G: usize, const Z: usize, const CS: usize>(
    rows: &mut [u64],
    ctx: &GroupCtx,
    rng: &mut X4,
) {
    let words = rows.len() / LANES;
    let mut x = rng.clone();
    for w in 0..words {
        let cur: [u64; LANES] = std::array::from_fn(|j| rows[j * words + w]);
        let nbw: [[u64; Z]; LANES] =
            std::array::from_fn(|j| std::array::from_fn(|v| ctx.neighbour::<Z>(j, v, w)));
        let valid = [if w + 1 == words {
            ctx.first.last_mask
        } else {
            !0
        }; LANES];
        let new = step::<G, LANES, Z, CS>(cur, nbw, valid, &ctx.first, &mut x);
        for (j, v) in new.into_iter().enumerate() {
            rows[j * words + w] = v;
        }
    }
    *rng = x;
}

/// One update of K words (spins `cur`, neighbour words `nbw`, lanes `valid`): the new words.
/// Metropolis flips a lane with its class's acceptance probability; heat-bath sets it up with
/// its class's probability.
#[inline(always)]
fn step<const G: usize, const K: usize, const Z: usize, const CS: usize>(
    cur: [u64; K],
    nbw: [[u64; Z]; K],
    valid: [u64; K],
    ctx: &RowCtx,
    rng: &mut X4,
) -> [u64; K] {
    let tables = ctx.tables;
    // The first CS (= Z + 1) count classes.
    let first = |c: [u64; MAX_NB + 1]| -> [u64; CS] { std::array::from_fn(|k| c[k]) };
    match ctx.rule {
        LatticeRule::Metropolis => {
            let cnt: [[u64; MAX_NB + 1]; K] =
                std::array::from_fn(|j| count::<Z>(nbw[j].map(|x| !(cur[j] ^ x))));
            let flip = if ctx.symmetric {
                decide::<G, CS, K>(&cnt.map(first), tables, &valid, rng)
            } else {
                let mut cm = [[0u64; MAX_CLASSES]; K];
                for j in 0..K {
                    for a in 0..=MAX_NB {
                        cm[j][a] = cnt[j][a] & cur[j];
                        cm[j][a + MAX_NB + 1] = cnt[j][a] & !cur[j];
                    }
                }
                decide::<G, MAX_CLASSES, K>(&cm, tables, &valid, rng)
            };
            std::array::from_fn(|j| (cur[j] ^ flip[j]) & valid[j])
        }
        LatticeRule::HeatBath => {
            let cnt: [[u64; CS]; K] = std::array::from_fn(|j| first(count::<Z>(nbw[j])));
            decide::<G, CS, K>(&cnt, tables, &valid, rng)
        }
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

/// The kernel (kept under this name for callers written when it was generic).
pub type DefaultLattice = Lattice;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builders::{square, Params};

    /// The kernel's layout holds a state exactly and its bond/spin sums give the model's energy.
    fn check_layout(m: &Model, what: &str) {
        let spins: Vec<i8> = (0..m.n())
            .map(|i| if (i * 7 + i / 3) % 5 < 2 { 1 } else { -1 })
            .collect();
        let lat = Lattice::new(m, LatticeRule::Metropolis, &spins, 1).unwrap();
        assert_eq!(lat.spins(), spins, "{what}");
        let (e, mag) = lat.energy_magnetization();
        let exact = m.energy(&spins);
        assert!((e - exact).abs() < 1e-9, "{what}: {e} vs {exact}");
        assert_eq!(mag, spins.iter().map(|&x| x as f64).sum::<f64>());
    }

    #[test]
    fn layout_round_trips_and_sums_match_the_model() {
        for &(r, c) in &[(4, 4), (6, 10), (8, 130), (4, 256)] {
            check_layout(
                &square(r, c, true, &Params::default()).unwrap(),
                &format!("{r}×{c}"),
            );
        }
    }

    #[test]
    fn cubic_layout_round_trips_and_sums_match_the_model() {
        use crate::model::builders::cubic;
        for l in [4, 6, 8] {
            check_layout(&cubic(l, &Params::default()).unwrap(), &format!("{l}³"));
        }
        // Odd or small sides are refused with a reason.
        assert!(Lattice::cubic(5, 1.0, 0.0, 0.2, LatticeRule::Metropolis, 1).is_err());
        assert!(shape(&cubic(3, &Params::default()).unwrap()).is_err());
    }

    /// True where AVX2 is available; otherwise says that the comparison was skipped (comparing
    /// the portable kernel with itself would prove nothing).
    fn avx2_or_skip(test: &str) -> bool {
        let ok = avx2_available();
        if !ok {
            eprintln!(
                "SKIPPED {test}: AVX2 not available on this CPU, so the AVX2 kernel was not \
                 compared with the portable one"
            );
        }
        ok
    }

    /// The dispatch says which kernel ran: AVX2 wherever the CPU has it unless the portable
    /// kernel is forced, the portable one otherwise.
    #[test]
    fn dispatch_reports_the_kernel_it_ran() {
        let mut lat = Lattice::torus(8, 8, 1.0, 0.0, 0.4, LatticeRule::Metropolis, 1).unwrap();
        assert_eq!(lat.last_kernel(), None);
        lat.sweep();
        let native = if avx2_available() {
            RowKernel::Avx2
        } else {
            RowKernel::Portable
        };
        assert_eq!(lat.last_kernel(), Some(native));
        lat.set_portable(true);
        lat.sweep();
        assert_eq!(lat.last_kernel(), Some(RowKernel::Portable));
    }

    /// Rows of ≥ 4 words (L = 388: 194 bits per colour row, a partial last word) and short rows
    /// grouped four at a time (L = 8) run the AVX2 kernel on the cubic lattice too; it must
    /// match the portable one bit for bit.
    #[test]
    fn cubic_avx2_and_portable_kernels_give_the_same_chain() {
        if !avx2_or_skip("cubic_avx2_and_portable_kernels_give_the_same_chain") {
            return;
        }
        for (l, rule, field) in [
            (388, LatticeRule::Metropolis, 0.0),
            (388, LatticeRule::HeatBath, 0.2),
            (8, LatticeRule::Metropolis, 0.1),
        ] {
            let run = |portable: bool| {
                let mut lat = Lattice::cubic(l, 1.0, field, 0.22, rule, 5).unwrap();
                lat.set_portable(portable);
                for _ in 0..2 {
                    lat.sweep();
                }
                (lat.energy_magnetization(), lat.last_kernel())
            };
            let (a, ka) = run(true);
            let (b, kb) = run(false);
            assert_eq!(ka, Some(RowKernel::Portable));
            assert_eq!(
                kb,
                Some(RowKernel::Avx2),
                "{l}³: the AVX2 kernel did not run"
            );
            assert_eq!(a, b, "{l}³ {rule:?}");
            assert!(a.1 < (l as f64).powi(3), "the chain moved");
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
    /// and whose last word is partial, rows grouped four at a time, with and without a field,
    /// for both rules.
    #[test]
    fn avx2_and_portable_kernels_give_the_same_chain() {
        if !avx2_or_skip("avx2_and_portable_kernels_give_the_same_chain") {
            return;
        }
        for &(rows, cols) in &[
            (6, 2 * (64 * 3 + 5)),
            (4, 2 * (64 * 4 + 10)),
            (8, 2 * 64 * 5),
            // Rows shorter than four words run four rows at a time (with leftover rows).
            (8, 2 * (64 + 5)),
            (6, 20),
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
                        (lat.spins(), lat.last_kernel())
                    };
                    let (a, ka) = run(true);
                    let (b, kb) = run(false);
                    assert_eq!(ka, Some(RowKernel::Portable));
                    assert_eq!(kb, Some(RowKernel::Avx2), "{rows}×{cols}: AVX2 did not run");
                    assert_eq!(a, b, "{rows}×{cols} {rule:?} h={field}");
                    assert!(a.iter().any(|&x| x < 0), "the chain moved");
                }
            }
        }
    }

    /// Tables built for another β and passed to `sweep_with` give exactly the chain of a
    /// lattice built at that β (parallel tempering relies on this to move replicas between
    /// rungs), for both rules, with and without a field, square and cubic.
    #[test]
    fn sweeping_with_the_tables_of_another_beta_is_the_chain_at_that_beta() {
        for (rule, field) in [
            (LatticeRule::Metropolis, 0.0),
            (LatticeRule::Metropolis, 0.2),
            (LatticeRule::HeatBath, 0.1),
        ] {
            for cubic in [false, true] {
                let make = |beta: f64| {
                    if cubic {
                        Lattice::cubic(6, 1.0, field, beta, rule, 3).unwrap()
                    } else {
                        Lattice::torus(8, 12, 1.0, field, beta, rule, 3).unwrap()
                    }
                };
                let mut at = make(0.45);
                let mut moved = make(0.1);
                let tables = moved.tables_at(0.45).unwrap();
                for _ in 0..30 {
                    at.sweep();
                    moved.sweep_with(&tables);
                }
                assert_eq!(
                    at.spins(),
                    moved.spins(),
                    "{rule:?} h={field} cubic={cubic}"
                );
                // …and the tables make a difference: the β = 0.1 chain went elsewhere.
                let mut own = make(0.1);
                for _ in 0..30 {
                    own.sweep();
                }
                assert_ne!(own.spins(), at.spins(), "{rule:?} h={field} cubic={cubic}");
            }
        }
        let lat = Lattice::torus(4, 4, 1.0, 0.0, 0.4, LatticeRule::Metropolis, 1).unwrap();
        assert!(lat.tables_at(f64::NAN).is_err());
        assert!(lat.tables_at(-1.0).is_err());
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
