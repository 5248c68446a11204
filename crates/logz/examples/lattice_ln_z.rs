//! ln Z of a small lattice with every method logz knows, each with the kind of number it is,
//! against the exact value.
//!
//! Run: `cargo run --release -p logz --example lattice_ln_z`

use logz::methods::{by_name, METHODS};
use logz::prelude::*;

fn main() -> Result<(), Error> {
    // A 4×4 square torus (J = 1, h = 0) at the critical coupling β_c = ln(1 + √2)/2.
    let p = Params {
        beta: 0.44068679350977147,
        ..Params::default()
    };
    let model = builders::square(4, 4, true, &p)?;
    let exact = Exact.solve(&model)?.ln_z;
    println!("4×4 square torus at β_c: exact ln Z = {exact:.6}\n");
    println!(
        "{:<12} {:>11} {:>10} {:>10}  kind",
        "method", "ln Z", "± std_err", "− exact"
    );
    for (name, _) in METHODS {
        let solver = by_name(name).expect("every listed method has a solver");
        match solver.solve(&model) {
            Ok(e) => {
                let se = e
                    .kind
                    .std_err()
                    .map_or(String::new(), |s| format!("{s:.4}"));
                println!(
                    "{name:<12} {:>11.6} {se:>10} {:>+10.4}  {}",
                    e.ln_z,
                    e.ln_z - exact,
                    e.kind.label()
                );
                // The rigorous bounds hold whatever the model.
                match e.kind {
                    EstimateKind::LowerBound => assert!(e.ln_z <= exact + 1e-9),
                    EstimateKind::UpperBound => assert!(e.ln_z >= exact - 1e-9),
                    EstimateKind::Exact => assert!((e.ln_z - exact).abs() < 1e-9),
                    _ => {}
                }
            }
            // Methods that do not apply (e.g. a chain's closed form on a torus) say why.
            Err(err) => println!("{name:<12} {:>11}  {err}", "—"),
        }
    }
    Ok(())
}
