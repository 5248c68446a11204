//! Small computations the computed essay (`logz report`) shows beside the solvers' output.
//!
//! * [`boltzmann_table`]: the Boltzmann distribution of a tiny model written out state by state,
//!   p(s) = e^{−βE(s)}/Z, with Z summed in the log domain — the essay's "for a tiny system, e.g.
//!   with three spins, we have 8 states and the sum is doable".
//! * [`gbf_elbo_pairs`]: the Gibbs–Bogoliubov–Feynman bound ln Z_MF − β⟨E − E_MF⟩_MF for trial
//!   fields λ beside the factorised ELBO E_q[−βE] + H(q) at m = tanh(βλ): the essay's claim that
//!   variational inference *is* the GBF inequality, checked numerically.
//!
//! * [`exact_samples`]: independent samples from such a table, data whose generating model is
//!   known exactly (for the learning section).
//!
//! Everything else the report shows comes from the solvers, `free_energy::homogeneous` (the
//! graphical solution) and `bayes::fit`.

use crate::error::{Error, Result};
use crate::free_energy::meanfield::{elbo, gbf_bound};
use crate::learn::Samples;
use crate::model::Model;
use crate::numeric::log_sum_exp;

/// Largest model [`boltzmann_table`] writes out (2^12 = 4096 rows).
pub const MAX_TABLE_SPINS: usize = 12;

/// One configuration of a tiny model with its energy, Boltzmann factor and probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StateRow {
    /// The spins s_i ∈ {−1, +1}.
    pub spins: Vec<i8>,
    /// E(s), including the model's constant energy offset.
    pub energy: f64,
    /// ln of the Boltzmann factor, −βE(s).
    pub ln_weight: f64,
    /// p(s) = e^{−βE(s) − ln Z}.
    pub probability: f64,
}

/// A tiny model's Boltzmann distribution, every state listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BoltzmannTable {
    /// States in counting order: state k has s_i = +1 where bit i of k is set.
    pub rows: Vec<StateRow>,
    /// ln Z = log-sum-exp of the ln weights (exact).
    pub ln_z: f64,
    /// ⟨s_i⟩ under p, per spin (exact).
    pub magnetization: Vec<f64>,
    /// ⟨E⟩ under p (exact).
    pub mean_energy: f64,
}

/// Every state of `model` (at most [`MAX_TABLE_SPINS`] spins) with its Boltzmann probability.
pub fn boltzmann_table(model: &Model) -> Result<BoltzmannTable> {
    let n = model.n();
    if n == 0 || n > MAX_TABLE_SPINS {
        return Err(Error::arg(format!(
            "a Boltzmann table lists 2^N states: N must be 1..={MAX_TABLE_SPINS}, got {n}"
        )));
    }
    let b = model.beta();
    let mut rows: Vec<StateRow> = (0..1usize << n)
        .map(|k| {
            let spins: Vec<i8> = (0..n)
                .map(|i| if k >> i & 1 == 1 { 1 } else { -1 })
                .collect();
            let energy = model.energy(&spins);
            StateRow {
                spins,
                energy,
                ln_weight: -b * energy,
                probability: 0.0,
            }
        })
        .collect();
    let lw: Vec<f64> = rows.iter().map(|r| r.ln_weight).collect();
    let ln_z = log_sum_exp(&lw);
    let mut magnetization = vec![0.0; n];
    let mut mean_energy = 0.0;
    for r in &mut rows {
        r.probability = (r.ln_weight - ln_z).exp();
        mean_energy += r.probability * r.energy;
        for (m, &s) in magnetization.iter_mut().zip(&r.spins) {
            *m += r.probability * s as f64;
        }
    }
    Ok(BoltzmannTable {
        rows,
        ln_z,
        magnetization,
        mean_energy,
    })
}

/// `count` independent draws from the distribution of `table`, by inverting its cumulative
/// probabilities with one uniform number per draw (one seeded stream: the same seed, the same
/// samples). Exact samples, no Markov chain: data for learning a model whose truth is known.
pub fn exact_samples(table: &BoltzmannTable, count: usize, seed: u64) -> Result<Samples> {
    let n = table.rows.first().map_or(0, |r| r.spins.len());
    if count == 0 {
        return Err(Error::arg("exact_samples: count must be ≥ 1"));
    }
    crate::limits::check_memory(
        "exact samples",
        &format!("{count} samples of {n} spins"),
        count as f64 * n as f64,
    )?;
    let mut cdf = Vec::with_capacity(table.rows.len());
    let mut acc = 0.0;
    for r in &table.rows {
        acc += r.probability;
        cdf.push(acc);
    }
    let mut rng = crate::rng::stream(seed, 0);
    let mut rows: Vec<&[i8]> = Vec::with_capacity(count);
    for _ in 0..count {
        // Scale by the total so rounding in the sum never leaves a draw past the last state.
        let u = crate::rng::uniform(&mut rng) * acc;
        let k = cdf.partition_point(|&c| c <= u).min(table.rows.len() - 1);
        rows.push(&table.rows[k].spins);
    }
    Samples::from_rows(n, rows)
}

/// One trial field of the GBF ↔ ELBO check.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GbfElbo {
    /// The uniform trial field λ of E_MF = −λ Σ_i s_i.
    pub lambda: f64,
    /// m = tanh(βλ), the magnetisation of the trial distribution.
    pub m: f64,
    /// ln Z_MF − β⟨E − E_MF⟩_MF (a lower bound on ln Z).
    pub gbf: f64,
    /// E_q[−βE] + H(q) for the factorised q with ⟨s_i⟩ = m (a lower bound on ln Z).
    pub elbo: f64,
}

/// The GBF bound and the ELBO of the same factorised distribution, for uniform trial fields
/// `lambdas`: the two columns agree to rounding, whatever λ (the bound is tight only at the
/// mean-field optimum, but the identity holds everywhere).
pub fn gbf_elbo_pairs(model: &Model, lambdas: &[f64]) -> Result<Vec<GbfElbo>> {
    let n = model.n();
    crate::limits::check_memory("GBF/ELBO check", &format!("{n} spins"), (n * 16) as f64)?;
    let b = model.beta();
    lambdas
        .iter()
        .map(|&l| {
            if !l.is_finite() {
                return Err(Error::arg(format!("trial field λ must be finite, got {l}")));
            }
            let m = (b * l).tanh();
            Ok(GbfElbo {
                lambda: l,
                m,
                gbf: gbf_bound(model, &vec![l; n]),
                elbo: elbo(model, &vec![m; n]),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Solver;
    use crate::model::builders::{chain, random_model, Params};

    #[test]
    fn boltzmann_table_matches_exact_and_sums_to_one() {
        let m = random_model(7, 0.6, 1.0, 0.4, 0.8, 5).unwrap();
        let t = boltzmann_table(&m).unwrap();
        assert_eq!(t.rows.len(), 128);
        let total: f64 = t.rows.iter().map(|r| r.probability).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let exact = crate::exact::Exact.solve(&m).unwrap();
        assert!(
            (t.ln_z - exact.ln_z).abs() < 1e-10,
            "{} {}",
            t.ln_z,
            exact.ln_z
        );
        for (a, b) in t.magnetization.iter().zip(&exact.magnetization) {
            assert!((a - b).abs() < 1e-10);
        }
    }

    #[test]
    fn three_spin_chain_has_eight_states_and_the_closed_form_z() {
        // Open chain of 3, J = 1, h = 0: Z = 2 (2 cosh β)^2.
        let p = Params {
            coupling: 1.0,
            field: 0.0,
            beta: 0.7,
            seed: 0,
        };
        let t = boltzmann_table(&chain(3, false, &p).unwrap()).unwrap();
        assert_eq!(t.rows.len(), 8);
        let want = (2.0 * (2.0 * 0.7f64.cosh()).powi(2)).ln();
        assert!((t.ln_z - want).abs() < 1e-13);
    }

    #[test]
    fn tables_refuse_large_models() {
        let p = Params::default();
        let e = boltzmann_table(&chain(13, false, &p).unwrap()).unwrap_err();
        assert!(e.to_string().contains("N must be 1..=12"), "{e}");
    }

    #[test]
    fn exact_samples_reproduce_the_magnetisation_within_their_error() {
        let m = random_model(6, 0.6, 0.8, 0.5, 0.9, 3).unwrap();
        let t = boltzmann_table(&m).unwrap();
        let count = 40_000;
        let s = exact_samples(&t, count, 9).unwrap();
        assert_eq!(s.len(), count);
        for i in 0..6 {
            let mean: f64 = s.rows().map(|r| r[i] as f64).sum::<f64>() / count as f64;
            // sd of one spin ≤ 1, so 5σ ≤ 5/√count = 0.025; the bound is the binomial one.
            let sd = (1.0 - t.magnetization[i].powi(2)).sqrt() / (count as f64).sqrt();
            assert!(sd < 6e-3);
            assert!(
                (mean - t.magnetization[i]).abs() < 5.0 * sd,
                "{i}: {mean} vs {}",
                t.magnetization[i]
            );
        }
        assert_eq!(exact_samples(&t, count, 9).unwrap().raw(), s.raw());
        assert!(exact_samples(&t, 0, 9).is_err());
    }

    #[test]
    fn gbf_equals_elbo_at_every_trial_field() {
        let m = random_model(9, 0.5, 1.0, 0.3, 0.6, 2).unwrap();
        let exact = crate::exact::Exact.solve(&m).unwrap().ln_z;
        for r in gbf_elbo_pairs(&m, &[-1.0, -0.2, 0.0, 0.3, 1.5]).unwrap() {
            assert!((r.gbf - r.elbo).abs() < 1e-12 * r.gbf.abs().max(1.0));
            assert!(r.gbf <= exact + 1e-12);
        }
        assert!(gbf_elbo_pairs(&m, &[f64::NAN]).is_err());
    }
}
