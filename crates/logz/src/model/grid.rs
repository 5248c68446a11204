//! Recognising a square grid in a model's graph.
//!
//! Tensor-network contraction (`rg::tn`) needs the grid behind a model: which spin sits at which
//! (row, column), and whether rows and columns wrap around. Built-in lattices carry their
//! [`Geometry`]; a model read from a file (a UAI `Grids_*` instance, a JSON model without a
//! `geometry`) does not, so [`grid_shape`] looks for a row-major numbering — site (r, c) is
//! `r * cols + c` — under which every edge joins horizontal or vertical neighbours, possibly
//! across the boundary. Missing bonds are allowed (a coupling of zero), so a grid with some
//! bonds absent is still a grid.

use super::{Geometry, Model};

/// A `rows × cols` grid in row-major numbering, with its boundary conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridShape {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns (sites per row).
    pub cols: usize,
    /// Whether row `rows − 1` is coupled to row 0 (only recorded when rows > 2: with two rows
    /// the wrap-around bond is the ordinary vertical bond).
    pub periodic_rows: bool,
    /// Whether column `cols − 1` is coupled to column 0 (only recorded when cols > 2).
    pub periodic_cols: bool,
}

/// How an edge sits in a candidate grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bond {
    /// Between (r, c) and (r, c + 1 mod cols); the value is the site (r, c).
    Horizontal(usize),
    /// Between (r, c) and (r + 1 mod rows, c); the value is the site (r, c).
    Vertical(usize),
}

impl GridShape {
    /// Where the edge (a, b) sits in this grid, or `None` if it is not a grid bond.
    pub fn bond(&self, a: usize, b: usize) -> Option<Bond> {
        let (w, h) = (self.cols, self.rows);
        let (a, b) = (a.min(b), a.max(b));
        let (ra, ca, rb, cb) = (a / w, a % w, b / w, b % w);
        if rb >= h {
            return None;
        }
        if ra == rb {
            if cb == ca + 1 {
                return Some(Bond::Horizontal(a));
            }
            if w > 2 && ca == 0 && cb == w - 1 {
                return Some(Bond::Horizontal(b)); // the wrap-around bond starts at column w − 1
            }
        } else if ca == cb {
            if rb == ra + 1 {
                return Some(Bond::Vertical(a));
            }
            if h > 2 && ra == 0 && rb == h - 1 {
                return Some(Bond::Vertical(b));
            }
        }
        None
    }

    /// This shape if every edge of `m` is one of its bonds (periodicity set from the edges).
    fn fit(rows: usize, cols: usize, m: &Model) -> Option<GridShape> {
        let mut g = GridShape {
            rows,
            cols,
            periodic_rows: false,
            periodic_cols: false,
        };
        for &(a, b) in m.edges() {
            let (a, b) = (a as usize, b as usize);
            match g.bond(a, b)? {
                Bond::Horizontal(s) if s % cols == cols - 1 => g.periodic_cols = true,
                Bond::Vertical(s) if s / cols == rows - 1 => g.periodic_rows = true,
                _ => {}
            }
        }
        Some(g)
    }
}

/// The grid behind `m`, if there is one: its declared square geometry or chain, or else the
/// first row-major numbering (trying every column count) that makes every edge a grid bond,
/// preferring the narrower one. `None` for anything else.
pub fn grid_shape(m: &Model) -> Option<GridShape> {
    let n = m.n();
    match *m.geometry() {
        Geometry::Square {
            rows,
            cols,
            periodic,
        } => {
            return Some(GridShape {
                rows,
                cols,
                periodic_rows: periodic && rows > 2,
                periodic_cols: periodic && cols > 2,
            })
        }
        Geometry::Chain { n, periodic } => {
            return Some(GridShape {
                rows: 1,
                cols: n,
                periodic_rows: false,
                periodic_cols: periodic && n > 2,
            })
        }
        _ => {}
    }
    if n == 0 {
        return None;
    }
    // Every factorisation n = rows × cols; a single row (a chain) last.
    let mut best: Option<GridShape> = None;
    for cols in 2..n {
        if !n.is_multiple_of(cols) || n / cols < 2 {
            continue;
        }
        if let Some(g) = GridShape::fit(n / cols, cols, m) {
            let width = |g: &GridShape| g.rows.min(g.cols);
            if best.is_none_or(|b| width(&g) < width(&b)) {
                best = Some(g);
            }
        }
    }
    best.or_else(|| GridShape::fit(1, n, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::builders::{square, Params};

    fn general(m: &Model) -> Model {
        let e: Vec<(usize, usize)> = m
            .edges()
            .iter()
            .map(|&(a, b)| (a as usize, b as usize))
            .collect();
        Model::new(m.n(), &e, m.couplings(), m.fields().to_vec(), m.beta()).unwrap()
    }

    #[test]
    fn recognises_open_and_periodic_grids_without_geometry() {
        for (rows, cols, periodic) in [(3, 5, false), (4, 4, true), (6, 3, true), (2, 7, false)] {
            let m = square(rows, cols, periodic, &Params::default()).unwrap();
            let g = grid_shape(&general(&m)).expect("a grid");
            let declared = grid_shape(&m).unwrap();
            assert_eq!(g.rows * g.cols, rows * cols);
            assert_eq!(g.periodic_rows, declared.periodic_rows, "{rows}x{cols}");
            assert_eq!(g.periodic_cols, declared.periodic_cols, "{rows}x{cols}");
            assert_eq!((g.rows, g.cols), (rows, cols));
        }
    }

    #[test]
    fn recognises_rings_and_refuses_non_grids() {
        // A triangle is a ring of three: a periodic chain, a 1 × 3 grid.
        let m = Model::new(3, &[(0, 1), (1, 2), (0, 2)], &[1.0; 3], vec![0.0; 3], 1.0).unwrap();
        assert_eq!(
            grid_shape(&m),
            Some(GridShape {
                rows: 1,
                cols: 3,
                periodic_rows: false,
                periodic_cols: true
            })
        );
        // A diagonal bond in a 3 × 3 grid.
        let m = Model::new(9, &[(0, 1), (0, 4)], &[1.0; 2], vec![0.0; 9], 1.0).unwrap();
        assert_eq!(grid_shape(&m), None);
    }
}
