//! Random-regular graphs (the `rr:N:c[:pm|:gauss]` spec): every vertex has exactly c neighbours.
//!
//! Drawn by the pairing (configuration) model with the Steger–Wormald refinement: the N·c
//! half-edges ("stubs") are paired one pair at a time, each pair drawn uniformly among the
//! remaining stubs and rejected if it would make a self-loop or a double edge; if no admissible
//! pair is left the attempt restarts. For fixed c the result is asymptotically uniform over
//! simple c-regular graphs, and unlike rejecting whole pairings (success probability
//! ≈ e^{−(c²−1)/4}) it stays fast for moderate c.

use super::builders::{CouplingDist, Params};
use super::Model;
use crate::error::{Error, Result};
use crate::rng::{index, stream, uniform, Generator};
use rand_distr::{Distribution, StandardNormal};

/// The largest degree accepted.
pub const MAX_DEGREE: usize = 100;

/// The most restarts of the pairing before giving up.
const MAX_RESTARTS: usize = 1000;

/// A random c-regular graph on n vertices with couplings from `dist` (field and β from `p`).
/// Needs 1 ≤ c < n and n·c even.
pub fn random_regular(n: usize, c: usize, dist: CouplingDist, p: &Params) -> Result<Model> {
    if c == 0 || c > MAX_DEGREE {
        return Err(Error::arg(format!(
            "random-regular degree must be in 1 … {MAX_DEGREE}, got {c}"
        )));
    }
    if n <= c {
        return Err(Error::arg(format!(
            "a {c}-regular graph needs more than {c} vertices, got {n}"
        )));
    }
    if (n * c) % 2 == 1 {
        return Err(Error::arg(format!(
            "a {c}-regular graph on {n} vertices does not exist (n·c must be even)"
        )));
    }
    Model::check_size(n as f64, (n * c / 2) as f64)?;
    let mut rng = stream(p.seed, 0x7272);
    let edges = pairing(n, c, &mut rng)?;
    let j: Vec<f64> = edges
        .iter()
        .map(|_| match dist {
            CouplingDist::Gaussian(sd) => {
                let z: f64 = StandardNormal.sample(&mut rng);
                sd * z
            }
            CouplingDist::PlusMinus(c) => {
                if uniform(&mut rng) < 0.5 {
                    c
                } else {
                    -c
                }
            }
            CouplingDist::Constant(c) => c,
        })
        .collect();
    Model::new(n, &edges, &j, vec![p.field; n], p.beta)
}

/// The edge list of a simple c-regular graph on n vertices (Steger–Wormald pairing).
fn pairing(n: usize, c: usize, rng: &mut Generator) -> Result<Vec<(usize, usize)>> {
    'restart: for _ in 0..MAX_RESTARTS {
        let mut stubs: Vec<usize> = (0..n * c).map(|s| s / c).collect();
        // Neighbour lists (degree ≤ c: a linear scan is the cheapest membership test).
        let mut adj: Vec<Vec<usize>> = vec![Vec::with_capacity(c); n];
        let mut edges = Vec::with_capacity(n * c / 2);
        let ok = |adj: &[Vec<usize>], a: usize, b: usize| a != b && !adj[a].contains(&b);
        while !stubs.is_empty() {
            let m = stubs.len();
            // Random tries first; after many failures check whether any admissible pair is left.
            let mut found = None;
            for _ in 0..(50 + 4 * m) {
                let (x, y) = (index(rng, m), index(rng, m));
                if x != y && ok(&adj, stubs[x], stubs[y]) {
                    found = Some((x, y));
                    break;
                }
            }
            if found.is_none() {
                let mut admissible = Vec::new();
                for x in 0..m {
                    for y in x + 1..m {
                        if ok(&adj, stubs[x], stubs[y]) {
                            admissible.push((x, y));
                        }
                    }
                }
                if admissible.is_empty() {
                    continue 'restart;
                }
                found = Some(admissible[index(rng, admissible.len())]);
            }
            let (x, y) = found.expect("an admissible pair");
            let (a, b) = (stubs[x], stubs[y]);
            adj[a].push(b);
            adj[b].push(a);
            edges.push((a.min(b), a.max(b)));
            // Remove both stubs (the larger index first, so the smaller stays valid).
            let (hi, lo) = (x.max(y), x.min(y));
            stubs.swap_remove(hi);
            stubs.swap_remove(lo);
        }
        return Ok(edges);
    }
    Err(Error::arg(format!(
        "could not draw a simple {c}-regular graph on {n} vertices in {MAX_RESTARTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vertex_has_degree_c_and_no_double_edges() {
        for &(n, c) in &[(10, 3), (1000, 3), (50, 7), (6, 5)] {
            let p = Params {
                seed: 7,
                ..Params::default()
            };
            let m = random_regular(n, c, CouplingDist::PlusMinus(1.0), &p).unwrap();
            assert_eq!(m.num_edges(), n * c / 2);
            let mut deg = vec![0; n];
            let mut seen = std::collections::HashSet::new();
            for &(i, j) in m.edges() {
                assert_ne!(i, j);
                assert!(seen.insert((i.min(j), i.max(j))));
                deg[i as usize] += 1;
                deg[j as usize] += 1;
            }
            assert!(deg.iter().all(|&d| d == c));
            assert!(m.couplings().iter().all(|&j| j == 1.0 || j == -1.0));
        }
    }

    #[test]
    fn impossible_graphs_are_refused() {
        let p = Params::default();
        for &(n, c) in &[(5, 3), (3, 3), (10, 0), (1000, 101)] {
            assert!(random_regular(n, c, CouplingDist::Constant(1.0), &p).is_err());
        }
    }
}
