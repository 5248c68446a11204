//! Tensor RG on the infinite square lattice at β_c: relative error against Onsager and time,
//! for plain Levin–Nave TRG (k = 0, the algorithm of `shared/reference/trg_numpy.py`) and
//! bond-weighted TRG (k = −½), over χ; then the exact Kac–Ward ln Z of an open ±J grid.
//!
//! `cargo run --release -p logz --example rg_trg [CHI_MAX] [GRID_SIDE]` (defaults 24 and 128).

use logz::exact::closed::{onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::rg::trg::{infinite_ln_z, LatticeKind, TrgParams};
use logz::{Geometry, Model};
use std::time::Instant;

fn main() -> Result<(), logz::Error> {
    let mut args = std::env::args().skip(1);
    let chi_max: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(24);
    let side: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let exact = onsager_ln_z_per_spin(SQUARE_BETA_C);
    println!(
        "{:>4} {:>6} {:>18} {:>10} {:>6} {:>8}",
        "χ", "k", "ln Z/N", "rel.err", "steps", "s"
    );
    for chi in (8..=chi_max).step_by(8) {
        for k in [0.0, -0.5] {
            let p = TrgParams {
                chi,
                k,
                ..TrgParams::default()
            };
            let t0 = Instant::now();
            let r = infinite_ln_z(LatticeKind::Square, SQUARE_BETA_C, 0.0, &p)?;
            println!(
                "{chi:>4} {k:>6} {:>18.13} {:>10.2e} {:>6} {:>8.2}",
                r.ln_z,
                (r.ln_z - exact).abs() / exact,
                r.steps,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    // An open side × side ±J spin glass at β = 1 (couplings from a fixed xorshift stream).
    let mut s: u64 = 0x1234_5678_9abc_def1;
    let mut edges = Vec::new();
    for r in 0..side {
        for c in 0..side {
            let i = r * side + c;
            if c + 1 < side {
                edges.push((i, i + 1));
            }
            if r + 1 < side {
                edges.push((i, i + side));
            }
        }
    }
    let j: Vec<f64> = edges
        .iter()
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if s & 1 == 0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let n = side * side;
    let m =
        Model::new(n, &edges, &j, vec![0.0; n], 1.0)?.with_checked_geometry(Geometry::Square {
            rows: side,
            cols: side,
            periodic: false,
        })?;
    let t0 = Instant::now();
    let (ln_z, how) = logz::rg::Planar::ln_z(&m)?;
    println!(
        "planar {side}×{side} ±J, β = 1: ln Z = {ln_z:.10} (ln Z/N = {:.12}), {how}, {:.2} s",
        ln_z / n as f64,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
