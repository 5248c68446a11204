//! Graphs drawn in the plane with straight edges: site positions, and the check that the
//! drawing is a planar embedding (no two edges meet except at a shared end).
//!
//! A model carries positions as [`super::Geometry::Plane`]; the built-in open lattices have
//! natural ones ([`positions`]). The Kac–Ward determinant ([`crate::rg::Planar`]) needs such a
//! drawing: its phases are the turning angles between consecutive edges.

use super::{Geometry, Model};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Positions of the sites of `m` in a straight-line planar drawing, if its geometry gives one:
/// an open chain on a line, an open square or triangular grid at integer points (site (r, c) at
/// (c, r); the triangular lattice's one diagonal per plaquette does not cross the others), or
/// the positions a [`Geometry::Plane`] model was given (already checked).
pub fn positions(m: &Model) -> Option<Vec<[f64; 2]>> {
    match m.geometry() {
        Geometry::Chain { n, periodic: false } => Some((0..*n).map(|i| [i as f64, 0.0]).collect()),
        Geometry::Square {
            rows,
            cols,
            periodic: false,
        }
        | Geometry::Triangular {
            rows,
            cols,
            periodic: false,
        } => Some(
            (0..rows * cols)
                .map(|i| [(i % cols) as f64, (i / cols) as f64])
                .collect(),
        ),
        Geometry::Plane { positions } => Some(positions.clone()),
        _ => None,
    }
}

/// Orientation of the turn a → b → c: +1 counter-clockwise, −1 clockwise, 0 collinear (exact
/// for coordinates whose products are exact; a tolerance would accept near-crossings).
fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> i8 {
    let v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// Whether p, known to be collinear with segment ab, lies within its bounding box.
fn on_segment(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether the closed segments ab and cd share a point other than a common end.
fn meet(pos: &[[f64; 2]], (a, b): (usize, usize), (c, d): (usize, usize)) -> bool {
    let (pa, pb, pc, pd) = (pos[a], pos[b], pos[c], pos[d]);
    let shared = [a, b].iter().filter(|x| **x == c || **x == d).count();
    if shared == 2 {
        return true; // the same pair twice (cannot happen in a validated model)
    }
    if shared == 1 {
        // Two edges from one site meet elsewhere only if they overlap: collinear and pointing
        // the same way from the shared end.
        let (o, p, q) = if a == c || a == d {
            (pa, pb, if a == c { pd } else { pc })
        } else {
            (pb, pa, if b == c { pd } else { pc })
        };
        return orient(o, p, q) == 0
            && (p[0] - o[0]) * (q[0] - o[0]) + (p[1] - o[1]) * (q[1] - o[1]) > 0.0;
    }
    let (o1, o2) = (orient(pa, pb, pc), orient(pa, pb, pd));
    let (o3, o4) = (orient(pc, pd, pa), orient(pc, pd, pb));
    if o1 != o2 && o3 != o4 && o1 != 0 && o2 != 0 && o3 != 0 && o4 != 0 {
        return true; // a proper crossing
    }
    (o1 == 0 && on_segment(pa, pb, pc))
        || (o2 == 0 && on_segment(pa, pb, pd))
        || (o3 == 0 && on_segment(pc, pd, pa))
        || (o4 == 0 && on_segment(pc, pd, pb))
}

/// Check that `positions` (one per site, finite, distinct) draw the graph with straight edges
/// that meet only at shared ends — a planar embedding.
///
/// Segments are binned into a uniform grid of cells about the mean edge length wide, and only
/// pairs sharing a cell are compared: linear time for meshes and lattices, where every edge
/// covers a few cells. Drawings where many edges share cells (long spokes) cost more; that
/// work is checked against the time budget before it starts.
pub fn check_drawing(n: usize, edges: &[(u32, u32)], positions: &[[f64; 2]]) -> Result<()> {
    if positions.len() != n {
        return Err(Error::invalid(format!(
            "a plane geometry needs one position per site: {} positions for {n} sites",
            positions.len()
        )));
    }
    if let Some(i) = positions
        .iter()
        .position(|p| !(p[0].is_finite() && p[1].is_finite()))
    {
        return Err(Error::invalid(format!(
            "the position of site {i} is not finite"
        )));
    }
    let mut seen: HashMap<(u64, u64), usize> = HashMap::with_capacity(n);
    for (i, p) in positions.iter().enumerate() {
        // +0.0 and −0.0 are the same point.
        let key = ((p[0] + 0.0).to_bits(), (p[1] + 0.0).to_bits());
        if let Some(j) = seen.insert(key, i) {
            return Err(Error::invalid(format!(
                "sites {j} and {i} are drawn at the same point ({}, {})",
                p[0], p[1]
            )));
        }
    }
    if edges.is_empty() {
        return Ok(());
    }
    let seg = |k: usize| (edges[k].0 as usize, edges[k].1 as usize);
    let mean_len = edges
        .iter()
        .map(|&(a, b)| {
            let (p, q) = (positions[a as usize], positions[b as usize]);
            (p[0] - q[0]).hypot(p[1] - q[1])
        })
        .sum::<f64>()
        / edges.len() as f64;
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in positions {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    // Cells of side ≈ the mean edge length (at most 4√E per side). Each edge is binned into
    // every cell of its bounding box; long edges could make that far more than E entries, so
    // the grid is coarsened until the entries are at most 16 E.
    let cap = (4.0 * (edges.len() as f64).sqrt()).max(1.0);
    let cells = |k: usize| (((hi[k] - lo[k]) / mean_len).ceil()).clamp(1.0, cap) as usize;
    let (mut nx, mut ny) = (cells(0), cells(1));
    let cell = |p: [f64; 2], nx: usize, ny: usize| {
        let f = |k: usize, m: usize| {
            let w = hi[k] - lo[k];
            if w > 0.0 {
                (((p[k] - lo[k]) / w * m as f64) as usize).min(m - 1)
            } else {
                0
            }
        };
        (f(0, nx), f(1, ny))
    };
    let boxes = |nx: usize, ny: usize| {
        (0..edges.len()).map(move |k| {
            let (a, b) = seg(k);
            let (ca, cb) = (cell(positions[a], nx, ny), cell(positions[b], nx, ny));
            (
                ca.0.min(cb.0)..=ca.0.max(cb.0),
                ca.1.min(cb.1)..=ca.1.max(cb.1),
            )
        })
    };
    let entries = |nx: usize, ny: usize| -> f64 {
        boxes(nx, ny)
            .map(|(x, y)| (x.count() * y.count()) as f64)
            .sum()
    };
    while (nx > 1 || ny > 1) && entries(nx, ny) > 16.0 * edges.len() as f64 {
        nx = nx.div_ceil(2);
        ny = ny.div_ceil(2);
    }
    let mut bins: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (k, (xs, ys)) in boxes(nx, ny).enumerate() {
        for x in xs {
            for y in ys.clone() {
                bins.entry((x, y)).or_default().push(k);
            }
        }
    }
    // Pairs sharing a cell are compared; many edges through one cell (a star's spokes, say)
    // make that quadratic, so the work is checked against the time budget first.
    let pairs: f64 = bins
        .values()
        .map(|l| l.len() as f64 * (l.len() as f64 - 1.0) / 2.0)
        .sum();
    crate::limits::check_work(
        "plane geometry",
        &format!(
            "checking the drawing of {} edges for crossings: {pairs:.0} pairs",
            edges.len()
        ),
        pairs * 50.0,
    )?;
    for list in bins.values() {
        for (i, &e) in list.iter().enumerate() {
            for &f in &list[i + 1..] {
                if meet(positions, seg(e), seg(f)) {
                    let ((a, b), (c, d)) = (seg(e), seg(f));
                    return Err(Error::invalid(format!(
                        "the drawing is not planar: edges ({a}, {b}) and ({c}, {d}) cross or \
                         overlap at the given positions"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_overlaps_and_shared_points_are_found() {
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        // The 4-cycle alone is planar; with both diagonals (K4 drawn this way) it is not.
        let cycle = [(0, 1), (1, 2), (2, 3), (0, 3)];
        assert!(check_drawing(4, &cycle, &square).is_ok());
        let k4 = [(0, 1), (1, 2), (2, 3), (0, 3), (0, 2), (1, 3)];
        let e = check_drawing(4, &k4, &square).unwrap_err().to_string();
        assert!(e.contains("not planar"), "{e}");
        // K4 drawn as a triangle around its centre is planar.
        let star = [[0.0, 0.0], [4.0, 0.0], [2.0, 4.0], [2.0, 1.0]];
        assert!(check_drawing(4, &k4, &star).is_ok());
        // Two edges from one site along the same ray overlap; a site on another edge touches it.
        let line = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]];
        assert!(check_drawing(3, &[(0, 1), (0, 2)], &line).is_err());
        assert!(check_drawing(3, &[(0, 2), (1, 2)], &line).is_err());
        assert!(check_drawing(3, &[(0, 1), (1, 2)], &line).is_ok());
        // A fine grid plus one long edge to a far site: the bounding boxes would cover far more
        // than 16 cells per edge, so the binning grid is coarsened — crossings are still found.
        let side = 30u32;
        let mut pos: Vec<[f64; 2]> = (0..side * side)
            .map(|i| [(i % side) as f64, (i / side) as f64])
            .collect();
        let mut grid = Vec::new();
        for i in 0..side * side {
            if i % side + 1 < side {
                grid.push((i, i + 1));
            }
            if i / side + 1 < side {
                grid.push((i, i + side));
            }
        }
        pos.push([-3000.0, -2000.0]);
        grid.push((0, side * side));
        let n = pos.len();
        assert!(check_drawing(n, &grid, &pos).is_ok());
        grid.push((1, 2 * side)); // from (1, 0) to (0, 2): crosses the edge (side, side + 1)
        let e = check_drawing(n, &grid, &pos).unwrap_err().to_string();
        assert!(e.contains("not planar"), "{e}");
        // One position per site, finite and distinct.
        assert!(check_drawing(3, &[(0, 1)], &square[..2]).is_err());
        assert!(check_drawing(2, &[(0, 1)], &[[0.0, 0.0], [f64::NAN, 1.0]]).is_err());
        assert!(check_drawing(2, &[(0, 1)], &[[0.0, 0.0], [-0.0, 0.0]]).is_err());
    }
}
