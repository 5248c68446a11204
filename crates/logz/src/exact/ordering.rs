//! Elimination orderings and the junction tree they induce.
//!
//! Eliminating v connects its remaining neighbours S_v into a clique; the table of that step
//! spans C_v = {v} ∪ S_v. The parent of C_v is the clique of the first-eliminated variable of
//! S_v. Greedy min-fill and min-degree orderings are tried (and, for square lattices, the row
//! sweep); the one with the smallest total table size wins.

use crate::model::{Geometry, Model};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The symbolic result of an elimination ordering.
#[derive(Debug, Clone)]
pub struct EliminationTree {
    /// `order[k]` = the variable eliminated at step k.
    pub order: Vec<usize>,
    /// `pos[v]` = step at which v is eliminated.
    pub pos: Vec<usize>,
    /// Clique k (for variable `order[k]`): `[order[k], S...]` with S sorted by elimination step.
    pub cliques: Vec<Vec<u32>>,
    /// `parent[k]` = clique index of the parent, or None for a root.
    pub parent: Vec<Option<usize>>,
    /// `children[k]` = the cliques whose parent is clique k (the inverse of `parent`).
    pub children: Vec<Vec<usize>>,
    /// Name of the heuristic that produced the order.
    pub heuristic: &'static str,
}

impl EliminationTree {
    /// Largest clique size minus one: an upper bound on the treewidth.
    pub fn width(&self) -> usize {
        self.cliques
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1)
    }
    /// Σ 2^{|C|}: the arithmetic cost of one pass (saturating).
    pub fn total_cost(&self) -> f64 {
        self.cliques.iter().map(|c| (c.len() as f64).exp2()).sum()
    }
    /// Bytes of the largest table.
    pub fn largest_table_bytes(&self) -> f64 {
        (self.width() as f64 + 1.0).exp2() * 8.0
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Heuristic {
    MinFill,
    MinDegree,
}

fn adjacency(m: &Model) -> Vec<Vec<u32>> {
    (0..m.n())
        .map(|i| {
            let mut v: Vec<u32> = m.neighbors(i).iter().map(|&(j, _)| j).collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect()
}

fn fill_in(adj: &[Vec<u32>], v: usize) -> usize {
    let nb = &adj[v];
    let mut missing = 0;
    for (x, &a) in nb.iter().enumerate() {
        for &b in &nb[x + 1..] {
            if adj[a as usize].binary_search(&b).is_err() {
                missing += 1;
            }
        }
    }
    missing
}

/// A deterministic pseudo-random tie-breaker (splitmix64 of v and the seed).
fn tie(v: usize, seed: u64) -> u64 {
    if seed == 0 {
        return v as u64;
    }
    let mut z = (v as u64).wrapping_add(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn greedy(m: &Model, h: Heuristic, give_up_width: usize, seed: u64) -> Option<Vec<usize>> {
    let n = m.n();
    let mut adj = adjacency(m);
    let score = |adj: &[Vec<u32>], v: usize| -> (usize, usize, u64) {
        match h {
            Heuristic::MinFill => (fill_in(adj, v), adj[v].len(), tie(v, seed)),
            Heuristic::MinDegree => (adj[v].len(), 0, tie(v, seed)),
        }
    };
    let mut cur: Vec<(usize, usize, u64)> = (0..n).map(|v| score(&adj, v)).collect();
    let mut heap: BinaryHeap<Reverse<(usize, usize, u64, usize)>> = (0..n)
        .map(|v| Reverse((cur[v].0, cur[v].1, cur[v].2, v)))
        .collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((s0, s1, s2, v))) = heap.pop() {
        if done[v] || (s0, s1, s2) != cur[v] {
            continue;
        }
        done[v] = true;
        order.push(v);
        let nb = std::mem::take(&mut adj[v]);
        if nb.len() > give_up_width {
            return None;
        }
        for &a in &nb {
            let a = a as usize;
            let list = &mut adj[a];
            if let Ok(p) = list.binary_search(&(v as u32)) {
                list.remove(p);
            }
            for &b in &nb {
                if b as usize != a {
                    if let Err(p) = list.binary_search(&b) {
                        list.insert(p, b);
                    }
                }
            }
        }
        // Re-score the vertices whose score may have changed.
        let mut dirty: Vec<usize> = nb.iter().map(|&a| a as usize).collect();
        if h == Heuristic::MinFill {
            for &a in &nb {
                dirty.extend(adj[a as usize].iter().map(|&b| b as usize));
            }
            dirty.sort_unstable();
            dirty.dedup();
        }
        for u in dirty {
            if !done[u] {
                let sc = score(&adj, u);
                if sc != cur[u] {
                    cur[u] = sc;
                    heap.push(Reverse((sc.0, sc.1, sc.2, u)));
                }
            }
        }
    }
    Some(order)
}

/// Build the elimination tree of a given order; None if a clique would exceed `max_width` + 1.
pub(crate) fn tree_from_order(
    m: &Model,
    order: Vec<usize>,
    heuristic: &'static str,
    max_width: usize,
) -> Option<EliminationTree> {
    let n = m.n();
    let mut pos = vec![0usize; n];
    for (k, &v) in order.iter().enumerate() {
        pos[v] = k;
    }
    let mut adj = adjacency(m);
    let mut cliques = Vec::with_capacity(n);
    for &v in &order {
        let nb = std::mem::take(&mut adj[v]);
        if nb.len() > max_width {
            return None;
        }
        let mut c: Vec<u32> = nb.clone();
        c.sort_unstable_by_key(|&u| pos[u as usize]);
        c.insert(0, v as u32);
        cliques.push(c);
        for &a in &nb {
            let list = &mut adj[a as usize];
            if let Ok(p) = list.binary_search(&(v as u32)) {
                list.remove(p);
            }
            for &b in &nb {
                if b != a {
                    if let Err(p) = list.binary_search(&b) {
                        list.insert(p, b);
                    }
                }
            }
        }
    }
    let parent: Vec<Option<usize>> = cliques
        .iter()
        .map(|c| c.get(1).map(|&u| pos[u as usize]))
        .collect();
    let mut children = vec![Vec::new(); n];
    for (k, p) in parent.iter().enumerate() {
        if let Some(p) = p {
            children[*p].push(k);
        }
    }
    Some(EliminationTree {
        order,
        pos,
        cliques,
        parent,
        children,
        heuristic,
    })
}

/// Row sweep for square / triangular lattices: eliminate along the shorter side's rows.
fn sweep_order(m: &Model) -> Option<Vec<usize>> {
    match *m.geometry() {
        Geometry::Square { rows, cols, .. } | Geometry::Triangular { rows, cols, .. } => {
            if cols <= rows {
                Some((0..rows * cols).collect())
            } else {
                Some(
                    (0..cols)
                        .flat_map(|c| (0..rows).map(move |r| r * cols + c))
                        .collect(),
                )
            }
        }
        Geometry::Chain { n, .. } => Some((0..n).collect()),
        _ => None,
    }
}

/// Breadth-first sweep from a pseudo-peripheral vertex (the far end of a BFS from the far end of
/// a BFS): the frontier is a BFS layer, which is narrow on grids and other "long" graphs.
fn bfs_order(m: &Model) -> Vec<usize> {
    let n = m.n();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let bfs = |start: usize, seen: &mut Vec<bool>, out: &mut Vec<usize>| {
        let mut q = std::collections::VecDeque::from([start]);
        seen[start] = true;
        while let Some(v) = q.pop_front() {
            out.push(v);
            for &(u, _) in m.neighbors(v) {
                if !seen[u as usize] {
                    seen[u as usize] = true;
                    q.push_back(u as usize);
                }
            }
        }
    };
    for s in 0..n {
        if seen[s] {
            continue;
        }
        // Find a far vertex of this component, twice.
        let mut start = s;
        for _ in 0..2 {
            let mut tmp_seen = seen.clone();
            let mut comp = Vec::new();
            bfs(start, &mut tmp_seen, &mut comp);
            start = *comp.last().unwrap_or(&start);
        }
        bfs(start, &mut seen, &mut order);
    }
    order
}

/// Bytes the search for an ordering may hold at once: per spin, an adjacency list that fill-in
/// can grow to the width (24 + 4·(degree + width)), a score, a heap entry and flags (~75), and for
/// two candidate trees a clique of up to width + 1 variables with its position, parent and
/// children (~2·(90 + 4·width)); per edge the adjacency of both ends is already counted above.
pub(crate) fn search_bytes(m: &Model, max_width: usize) -> f64 {
    let w = max_width as f64;
    let n = m.n() as f64;
    (24.0 + 4.0 * w + 75.0 + 2.0 * (90.0 + 4.0 * w)) * n + 8.0 * m.num_edges() as f64
}

/// The best elimination tree among the heuristics (smallest total table size), or None if every
/// heuristic exceeds `max_width` (the search stops early there: dense graphs would be slow).
pub fn best_tree(m: &Model, max_width: usize) -> Option<EliminationTree> {
    // Nothing is built when even the search would not fit the memory budget (crate::limits).
    if crate::limits::check_memory(
        "elimination ordering",
        "the search",
        search_bytes(m, max_width),
    )
    .is_err()
    {
        return None;
    }
    let mut cands: Vec<EliminationTree> = Vec::new();
    if let Some(o) = sweep_order(m) {
        if let Some(t) = tree_from_order(m, o, "lattice sweep", max_width) {
            cands.push(t);
        }
    }
    if let Some(md) = greedy(m, Heuristic::MinDegree, max_width, 0) {
        cands.extend(tree_from_order(m, md, "min-degree", max_width));
    }
    if m.n() <= 200_000 {
        cands.extend(tree_from_order(
            m,
            bfs_order(m),
            "breadth-first sweep",
            max_width,
        ));
    }
    let bound = cands
        .iter()
        .map(|t| t.width())
        .min()
        .unwrap_or(max_width)
        .min(max_width);
    if m.n() <= 20_000 {
        // Min-fill with a few pseudo-random tie-breaks: ties are everywhere on regular graphs.
        let tries: u64 = if m.n() <= 2_000 { 6 } else { 1 };
        for seed in 0..tries {
            if let Some(mf) = greedy(m, Heuristic::MinFill, bound + 4, seed) {
                cands.extend(tree_from_order(m, mf, "min-fill", max_width));
            }
        }
    }
    cands.into_iter().min_by(|a, b| {
        a.total_cost()
            .partial_cmp(&b.total_cost())
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}
