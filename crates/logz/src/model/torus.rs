//! Uniform periodic lattices in the layout of the checkerboard kernels: the multi-spin Monte Carlo
//! kernel ([`crate::mc::multispin`]) and the vectorised mean-field and BP sweeps
//! ([`crate::free_energy::lattice`]) all need a square or cubic torus with even sides ≥ 4 and
//! uniform J and h; this module recognises one (a property of the model, so it lives here and
//! both method families depend on it, not on each other).

use super::{Geometry, Model};

/// The lattice a model is, for the kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// L_x for the cubic lattice, 1 for the square one.
    pub planes: usize,
    /// L_y: rows of each plane.
    pub rows: usize,
    /// L_z: columns of each row.
    pub cols: usize,
    /// The uniform coupling J of every edge.
    pub coupling: f64,
    /// The uniform field h of every spin.
    pub field: f64,
}

/// Can the kernel run this model (a periodic square or cubic lattice, even sides ≥ 4, uniform J
/// and h)? Returns its shape or the reason it cannot.
pub fn shape(m: &Model) -> std::result::Result<Shape, String> {
    let (planes, rows, cols, edges) = match *m.geometry() {
        Geometry::Square {
            rows,
            cols,
            periodic: true,
        } => (1, rows, cols, 2 * rows * cols),
        Geometry::Cubic { l } => (l, l, l, 3 * l * l * l),
        _ => return Err("the multi-spin kernel needs a periodic square or cubic lattice".into()),
    };
    check_sides(planes, rows, cols)?;
    let coupling = m
        .uniform_coupling()
        .ok_or("the multi-spin kernel needs a uniform coupling")?;
    let field = m
        .uniform_field()
        .ok_or("the multi-spin kernel needs a uniform field")?;
    if m.num_edges() != edges {
        return Err("the lattice's edge list is not a plain torus".into());
    }
    Ok(Shape {
        planes,
        rows,
        cols,
        coupling,
        field,
    })
}

/// Even sides ≥ 4 (the checkerboard kernels pack each colour of a row into whole half-rows).
pub(crate) fn check_sides(
    planes: usize,
    rows: usize,
    cols: usize,
) -> std::result::Result<(), String> {
    let bad = |x: usize| !x.is_multiple_of(2) || x < 4;
    if bad(rows) || bad(cols) || (planes > 1 && bad(planes)) {
        return Err(if planes > 1 {
            format!("the multi-spin kernel needs even sides ≥ 4 (got {planes}×{rows}×{cols})")
        } else {
            format!("the multi-spin kernel needs even sides ≥ 4 (got {rows}×{cols})")
        });
    }
    Ok(())
}

/// [`shape`] for the square lattice only: (rows, cols, J, h) (the mean-field and BP kernels).
pub fn square(m: &Model) -> std::result::Result<(usize, usize, f64, f64), String> {
    let sh = shape(m)?;
    if sh.planes != 1 {
        return Err("this kernel needs a periodic square lattice".into());
    }
    Ok((sh.rows, sh.cols, sh.coupling, sh.field))
}
