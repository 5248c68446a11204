//! A variational autoregressive network (MADE) on a Sherrington–Kirkpatrick spin glass with
//! N = 12 spins: its Monte Carlo ELBO (a stochastic lower bound) and its importance-weighted
//! ln Z against exact enumeration and naive mean field. The ELBO falls short of ln Z by
//! KL(q‖p) ≥ 0; importance weighting removes that gap up to its error bar.
//!
//! Run: `cargo run --release -p logz --example van`

use logz::prelude::*;

fn main() -> Result<(), Error> {
    // J_ij ~ N(0, 1/N) on the complete graph, at β = 1.5 (inside the spin-glass phase, β_c = 1).
    let p = Params {
        beta: 1.5,
        seed: 5,
        ..Params::default()
    };
    let model = builders::sherrington_kirkpatrick(12, &p)?;
    let exact = Exact.solve(&model)?.ln_z;
    let mf = MeanField::default().solve(&model)?.ln_z;
    println!("SK, N = 12, β = 1.5: exact ln Z = {exact:.5}, mean field {mf:.5} (lower bound)\n");

    for importance_weighted in [false, true] {
        let van = Van {
            width: Some(32),
            depth: 1,
            steps: 1000,
            batch: 256,
            seed: 3,
            importance_weighted,
            ..Van::default()
        };
        // `timed` is `solve` plus the wall-clock time in the diagnostics.
        let e = Runner::new().run(&van, &model)?;
        let se = e.kind.std_err().unwrap_or(f64::NAN);
        println!(
            "{:<7} ln Z = {:.5} ± {se:.5} ({}), − exact = {:+.5} ({:+.1} σ), {} steps in {:.2} s",
            if importance_weighted { "VAN-IW" } else { "VAN" },
            e.ln_z,
            e.kind.label(),
            e.ln_z - exact,
            (e.ln_z - exact) / se,
            e.diagnostics.iterations,
            e.diagnostics.seconds
        );
        for note in &e.diagnostics.notes {
            println!("  note: {note}");
        }
    }
    Ok(())
}
