//! Markov chain Monte Carlo with honest error bars: Metropolis and Wolff on a 4×4 torus,
//! energy per spin and ⟨|m|⟩ against exact enumeration of all 2¹⁶ states.
//!
//! Run: `cargo run --release -p logz --example sampling`

use logz::exact::Enumerate;
use logz::mc::{sample, Algorithm, SampleOptions};
use logz::prelude::*;
use logz::runner::Runner;

fn main() -> Result<(), Error> {
    let p = Params {
        beta: 0.4,
        ..Params::default()
    };
    let model = builders::square(4, 4, true, &p)?;
    let n = model.n() as f64;
    let exact = Enumerate::default().solve(&model)?;
    let e_exact = exact.energy.expect("enumeration gives ⟨E⟩") / n;
    let m_exact = exact.abs_magnetization.expect("enumeration gives ⟨|m|⟩");
    println!("4×4 torus, β = 0.4: exact e = {e_exact:.5}, ⟨|m|⟩ = {m_exact:.5}\n");

    for algorithm in [Algorithm::Metropolis, Algorithm::Wolff] {
        let options = SampleOptions {
            algorithm,
            sweeps: 20_000,
            burn_in: 1_000,
            chains: 4,
            seed: 42,
            ..SampleOptions::default()
        };
        let run = sample(&model, &options, &Runner::new())?;
        let summary = run.summary();
        println!("{} ({} kernel):", algorithm.name(), run.kernel);
        for (name, exact) in [("energy", e_exact), ("|m|", m_exact)] {
            let o = summary.get(name).expect("every run measures e and |m|");
            let z = (o.value - exact) / o.std_err;
            println!(
                "  {name:<7} {:.5} ± {:.5}  (τ_int {:>5.2} sweeps)  exact {exact:.5}  z = {z:+.2}",
                o.value,
                o.std_err,
                o.tau_int.unwrap_or(f64::NAN)
            );
        }
        for note in &summary.notes {
            println!("  note: {note}");
        }
    }
    Ok(())
}
