//! Builders for the standard graphs and the `kind:size[:options]` spec language of the CLI.
//!
//! Lattices are periodic (tori) unless `open` is asked for. Periodic lattices with a side of 2
//! would list each wrap-around bond twice; `Model::new` merges them (the double bond is real).

use super::{Geometry, Model};
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Uniform parameters for built-in models.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The coupling J of every edge (the scale J of random couplings: SK draws N(0, J²/N)).
    pub coupling: f64,
    /// The field h on every spin.
    pub field: f64,
    /// Inverse temperature β (default: the square lattice's β_c = ln(1 + √2)/2).
    pub beta: f64,
    /// Seed of random graphs and couplings.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            coupling: 1.0,
            field: 0.0,
            beta: 0.44068679350977147,
            seed: 0,
        }
    }
}

/// How random couplings are drawn for random graphs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum CouplingDist {
    /// Every coupling equals J.
    Constant(f64),
    /// J_ij ~ N(0, sd²).
    Gaussian(f64),
    /// J_ij = ±J with probability ½ each (a ±J spin glass).
    PlusMinus(f64),
}

fn uniform(n: usize, edges: Vec<(usize, usize)>, p: &Params, geometry: Geometry) -> Result<Model> {
    let j = vec![p.coupling; edges.len()];
    Ok(Model::new(n, &edges, &j, vec![p.field; n], p.beta)?.with_geometry(geometry))
}

fn positive(x: usize, what: &str) -> Result<usize> {
    if x == 0 {
        Err(Error::invalid(format!("{what} must be at least 1")))
    } else {
        Ok(x)
    }
}

/// A chain of n spins, periodic (a ring) or open.
pub fn chain(n: usize, periodic: bool, p: &Params) -> Result<Model> {
    positive(n, "chain length")?;
    Model::check_size(n as f64, n as f64)?;
    let mut e: Vec<(usize, usize)> = (0..n.saturating_sub(1)).map(|i| (i, i + 1)).collect();
    if periodic && n > 2 {
        e.push((n - 1, 0));
    }
    if periodic && n == 2 {
        e.push((1, 0)); // a ring of two spins has two bonds between them (merged: 2J)
    }
    uniform(n, e, p, Geometry::Chain { n, periodic })
}

/// Square lattice with `rows × cols` sites, row-major numbering.
pub fn square(rows: usize, cols: usize, periodic: bool, p: &Params) -> Result<Model> {
    positive(rows, "rows")?;
    positive(cols, "cols")?;
    let n = rows as f64 * cols as f64;
    Model::check_size(n, 2.0 * n)?;
    let idx = |r: usize, c: usize| r * cols + c;
    let mut e = Vec::with_capacity(2 * rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            if c + 1 < cols {
                e.push((idx(r, c), idx(r, c + 1)));
            } else if periodic && cols > 1 {
                e.push((idx(r, c), idx(r, 0)));
            }
            if r + 1 < rows {
                e.push((idx(r, c), idx(r + 1, c)));
            } else if periodic && rows > 1 {
                e.push((idx(r, c), idx(0, c)));
            }
        }
    }
    uniform(
        rows * cols,
        e,
        p,
        Geometry::Square {
            rows,
            cols,
            periodic,
        },
    )
}

/// Triangular lattice: the square lattice plus the diagonal (r, c)–(r+1, c+1); coordination 6.
pub fn triangular(rows: usize, cols: usize, periodic: bool, p: &Params) -> Result<Model> {
    positive(rows, "rows")?;
    positive(cols, "cols")?;
    let n = rows as f64 * cols as f64;
    Model::check_size(n, 3.0 * n)?;
    let idx = |r: usize, c: usize| r * cols + c;
    let mut e = Vec::with_capacity(3 * rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let (rn, cn) = (r + 1, c + 1);
            let rw = if rn < rows {
                Some(rn)
            } else if periodic && rows > 1 {
                Some(0)
            } else {
                None
            };
            let cw = if cn < cols {
                Some(cn)
            } else if periodic && cols > 1 {
                Some(0)
            } else {
                None
            };
            if let Some(c2) = cw {
                e.push((idx(r, c), idx(r, c2)));
            }
            if let Some(r2) = rw {
                e.push((idx(r, c), idx(r2, c)));
            }
            if let (Some(r2), Some(c2)) = (rw, cw) {
                e.push((idx(r, c), idx(r2, c2)));
            }
        }
    }
    uniform(
        rows * cols,
        e,
        p,
        Geometry::Triangular {
            rows,
            cols,
            periodic,
        },
    )
}

/// Simple cubic lattice L×L×L with periodic boundaries; coordination 6.
pub fn cubic(l: usize, p: &Params) -> Result<Model> {
    positive(l, "cubic side")?;
    let n = (l as f64).powi(3);
    Model::check_size(n, 3.0 * n)?;
    let idx = |x: usize, y: usize, z: usize| (x * l + y) * l + z;
    let mut e = Vec::with_capacity(3 * l * l * l);
    for x in 0..l {
        for y in 0..l {
            for z in 0..l {
                if l > 1 {
                    e.push((idx(x, y, z), idx((x + 1) % l, y, z)));
                    e.push((idx(x, y, z), idx(x, (y + 1) % l, z)));
                    e.push((idx(x, y, z), idx(x, y, (z + 1) % l)));
                }
            }
        }
    }
    uniform(l * l * l, e, p, Geometry::Cubic { l })
}

/// Complete graph (Curie–Weiss): every pair coupled with J/N, so the energy is extensive.
pub fn complete(n: usize, p: &Params) -> Result<Model> {
    positive(n, "number of spins")?;
    Model::check_size(n as f64, pairs(n))?;
    let mut e = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            e.push((i, j));
        }
    }
    let jn = vec![p.coupling / n as f64; e.len()];
    Ok(Model::new(n, &e, &jn, vec![p.field; n], p.beta)?.with_geometry(Geometry::Complete { n }))
}

/// Sherrington–Kirkpatrick: complete graph with J_ij ~ N(0, J²/N), seeded.
pub fn sherrington_kirkpatrick(n: usize, p: &Params) -> Result<Model> {
    positive(n, "number of spins")?;
    Model::check_size(n as f64, pairs(n))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let sd = p.coupling.abs() / (n as f64).sqrt();
    let normal = Normal::new(0.0, sd.max(f64::MIN_POSITIVE))
        .map_err(|e| Error::invalid(format!("SK coupling scale: {e}")))?;
    let mut e = Vec::with_capacity(n * (n - 1) / 2);
    let mut j = Vec::with_capacity(n * (n - 1) / 2);
    for a in 0..n {
        for b in a + 1..n {
            e.push((a, b));
            j.push(if sd > 0.0 {
                normal.sample(&mut rng)
            } else {
                0.0
            });
        }
    }
    Model::new(n, &e, &j, vec![p.field; n], p.beta)
}

/// Erdős–Rényi G(n, q) with couplings from `dist`, seeded.
pub fn erdos_renyi(n: usize, q: f64, dist: CouplingDist, p: &Params) -> Result<Model> {
    positive(n, "number of spins")?;
    if !(0.0..=1.0).contains(&q) {
        return Err(Error::invalid(format!(
            "edge probability {q} is not in [0, 1]"
        )));
    }
    // The edge count is Binomial(n(n−1)/2, q): size for its mean plus six standard deviations,
    // so that the vectors are reserved once and never double while growing.
    let (mean, sd) = (q * pairs(n), (q * (1.0 - q) * pairs(n)).sqrt());
    let expect = (mean + 6.0 * sd + 16.0).min(pairs(n));
    Model::check_size(n as f64, expect)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let u = Uniform::new(0.0f64, 1.0).map_err(|e| Error::invalid(e.to_string()))?;
    let mut e = Vec::with_capacity(expect as usize);
    let mut j = Vec::with_capacity(expect as usize);
    for a in 0..n {
        for b in a + 1..n {
            if u.sample(&mut rng) < q {
                e.push((a, b));
                j.push(match dist {
                    CouplingDist::Constant(c) => c,
                    CouplingDist::Gaussian(sd) => sd * standard_normal(&mut rng),
                    CouplingDist::PlusMinus(c) => {
                        if u.sample(&mut rng) < 0.5 {
                            c
                        } else {
                            -c
                        }
                    }
                });
            }
        }
    }
    Model::new(n, &e, &j, vec![p.field; n], p.beta)
}

/// n(n−1)/2 in floating point (no overflow).
fn pairs(n: usize) -> f64 {
    let n = n as f64;
    n * (n - 1.0) / 2.0
}

fn standard_normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    rand_distr::StandardNormal.sample(rng)
}

/// A random model for tests and property checks: G(n, q) with Gaussian couplings and fields.
pub fn random_model(n: usize, q: f64, j_sd: f64, h_sd: f64, beta: f64, seed: u64) -> Result<Model> {
    let p = Params {
        coupling: 1.0,
        field: 0.0,
        beta,
        seed,
    };
    let m = erdos_renyi(n, q, CouplingDist::Gaussian(j_sd), &p)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let h: Vec<f64> = (0..n).map(|_| h_sd * standard_normal(&mut rng)).collect();
    let edges: Vec<(usize, usize)> = m
        .edges()
        .iter()
        .map(|&(a, b)| (a as usize, b as usize))
        .collect();
    Model::new(n, &edges, m.couplings(), h, beta)
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str, spec: &str) -> Result<T> {
    s.trim().parse::<T>().map_err(|_| {
        Error::arg(format!(
            "model spec '{spec}': {what} '{s}' is not a valid number"
        ))
    })
}

/// Parse `rows[xcols]`.
fn parse_dims(s: &str, spec: &str) -> Result<(usize, usize)> {
    match s.split_once(['x', 'X']) {
        Some((a, b)) => Ok((parse_num(a, "size", spec)?, parse_num(b, "size", spec)?)),
        None => {
            let l = parse_num(s, "size", spec)?;
            Ok((l, l))
        }
    }
}

/// The largest model a built-in spec may ask for (the CSR arrays would not fit beyond this).
pub const MAX_BUILTIN_SPINS: usize = 1 << 28;

/// The geometry of a `chain:N[:open]` or `square:L[xW][:open]` spec, read without building the
/// model (`None` for any other or malformed spec: [`from_spec`] reports those). Lets a closed
/// form answer for lattices far too large to materialise.
pub fn lattice_spec_geometry(spec: &str) -> Option<Geometry> {
    let parts: Vec<&str> = spec.split(':').collect();
    let open = match parts.get(2..).unwrap_or(&[]) {
        [] => false,
        [o] if o.eq_ignore_ascii_case("open") => true,
        [o] if o.eq_ignore_ascii_case("periodic") => false,
        _ => return None,
    };
    let kind = parts.first()?.to_ascii_lowercase();
    let size = parts.get(1)?;
    match kind.as_str() {
        "chain" => Some(Geometry::Chain {
            n: size.trim().parse().ok().filter(|&n| n > 0)?,
            periodic: !open,
        }),
        "square" => {
            let (rows, cols) = parse_dims(size, spec).ok()?;
            (rows > 0 && cols > 0).then_some(Geometry::Square {
                rows,
                cols,
                periodic: !open,
            })
        }
        _ => None,
    }
}

/// Build a model from a spec: `chain:N[:open]`, `square:L[xW][:open]`, `triangular:L[xW][:open]`,
/// `cubic:L`, `complete:N`, `sk:N`, `er:N:q[:gauss|:pm]`, `rr:N:c[:gauss|:pm]` (random regular).
///
/// ```
/// use logz::model::builders::{from_spec, Params};
/// let m = from_spec("square:16x8:open", &Params::default())?;
/// assert_eq!((m.n(), m.num_edges()), (128, 15 * 8 + 16 * 7));
/// assert!(from_spec("square:0", &Params::default()).is_err());
/// # Ok::<(), logz::Error>(())
/// ```
pub fn from_spec(spec: &str, p: &Params) -> Result<Model> {
    // `square:inf` is no finite model: only the RG methods take it (see `rg::InfiniteLattice`).
    if crate::rg::is_infinite_spec(spec) {
        return Err(crate::rg::infinite_refusal(spec));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    let kind = parts[0].to_ascii_lowercase();
    let need = |k: usize| -> Result<&str> {
        parts.get(k).copied().ok_or_else(|| {
            Error::arg(format!(
                "model spec '{spec}' is missing its size (e.g. square:16)"
            ))
        })
    };
    let open = parts.iter().skip(2).any(|s| s.eq_ignore_ascii_case("open"));
    for extra in parts.iter().skip(2) {
        let ok = ["open", "periodic", "gauss", "pm"].contains(&extra.to_ascii_lowercase().as_str())
            || ((kind == "er" || kind == "rr") && extra.parse::<f64>().is_ok());
        if !ok {
            return Err(Error::arg(format!(
                "model spec '{spec}': unknown option '{extra}'"
            )));
        }
    }
    let check_size = |n: usize| -> Result<()> {
        if n > MAX_BUILTIN_SPINS {
            Err(Error::arg(format!(
                "model spec '{spec}': {n} spins is more than the limit {MAX_BUILTIN_SPINS}"
            )))
        } else {
            Ok(())
        }
    };
    let m = match kind.as_str() {
        "chain" => {
            let n: usize = parse_num(need(1)?, "size", spec)?;
            check_size(n)?;
            chain(n, !open, p)?
        }
        "square" | "triangular" => {
            let (r, c) = parse_dims(need(1)?, spec)?;
            check_size(r.saturating_mul(c))?;
            if kind == "square" {
                square(r, c, !open, p)?
            } else {
                triangular(r, c, !open, p)?
            }
        }
        "cubic" => {
            let l: usize = parse_num(need(1)?, "size", spec)?;
            check_size(l.saturating_mul(l).saturating_mul(l))?;
            cubic(l, p)?
        }
        "complete" | "sk" => {
            let n: usize = parse_num(need(1)?, "size", spec)?;
            if n > 20_000 {
                return Err(Error::arg(format!(
                    "model spec '{spec}': a complete graph on {n} spins has too many edges"
                )));
            }
            if kind == "complete" {
                complete(n, p)?
            } else {
                sherrington_kirkpatrick(n, p)?
            }
        }
        "er" => {
            let n: usize = parse_num(need(1)?, "size", spec)?;
            let q: f64 = parse_num(need(2)?, "edge probability", spec)?;
            if n > 100_000 {
                return Err(Error::arg(format!(
                    "model spec '{spec}': too many spins for G(n, q)"
                )));
            }
            let dist = if parts.contains(&"gauss") {
                CouplingDist::Gaussian(p.coupling)
            } else if parts.contains(&"pm") {
                CouplingDist::PlusMinus(p.coupling)
            } else {
                CouplingDist::Constant(p.coupling)
            };
            erdos_renyi(n, q, dist, p)?
        }
        "rr" => {
            // Random-regular graph of degree c: rr:N:c[:pm|:gauss] (constant couplings J by default).
            let n: usize = parse_num(need(1)?, "size", spec)?;
            let c: usize = parse_num(need(2)?, "degree", spec)?;
            check_size(n)?;
            let dist = if parts.contains(&"gauss") {
                CouplingDist::Gaussian(p.coupling)
            } else if parts.contains(&"pm") {
                CouplingDist::PlusMinus(p.coupling)
            } else {
                CouplingDist::Constant(p.coupling)
            };
            super::regular::random_regular(n, c, dist, p)?
        }
        _ => {
            return Err(Error::arg(format!(
            "unknown model '{spec}': expected a .uai/.json file or chain:N, square:L[xW][:open], \
                 triangular:L, cubic:L, complete:N, sk:N, er:N:q, rr:N:c"
        )))
        }
    };
    Ok(m)
}
