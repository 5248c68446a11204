//! Monte Carlo samplers against exact answers.
//!
//! Goodness of fit: each sampler's empirical distribution of (E, M) on a tiny model is compared
//! with the exact distribution from enumeration by a χ² test. Chains are thinned so that kept
//! samples are effectively independent (τ_int ≈ 1 sweep on these models); each test's
//! false-alarm rate is 1e-4 (χ² quantile from the Wilson–Hilferty approximation, z = 3.719).
#![allow(clippy::needless_range_loop)]

mod common;
use common::{assert_sigma, assert_within};
use logz::exact::closed::{kaufman_ln_z, SQUARE_BETA_C};
use logz::exact::Exact;
use logz::mc::{sample, Ais, Algorithm, KernelChoice, SampleOptions, ThermodynamicIntegration};
use logz::model::builders::{random_model, square, Params};
use logz::runner::Runner;
use logz::stats;
use logz::{EstimateKind, Model, Solver};
use std::collections::HashMap;

/// Exact distribution of the key (E rounded to 1e-6, M) by enumeration.
fn exact_em(m: &Model) -> HashMap<(i64, i64), f64> {
    let n = m.n();
    let mut lw = Vec::new();
    let mut keys = Vec::new();
    for x in 0u64..(1 << n) {
        let s: Vec<i8> = (0..n)
            .map(|i| if (x >> i) & 1 == 1 { 1 } else { -1 })
            .collect();
        lw.push(m.log_weight(&s));
        keys.push(key(m.energy(&s), s.iter().map(|&v| v as f64).sum()));
    }
    let lz = logz::numeric::log_sum_exp(&lw);
    let mut p = HashMap::new();
    for (k, l) in keys.into_iter().zip(lw) {
        *p.entry(k).or_insert(0.0) += (l - lz).exp();
    }
    p
}

fn key(e: f64, m: f64) -> (i64, i64) {
    ((e * 1e6).round() as i64, m.round() as i64)
}

/// χ² upper quantile at false-alarm rate 1e-4 (Wilson–Hilferty).
fn chi2_critical(df: f64) -> f64 {
    let z = 3.719;
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + z * a.sqrt()).powi(3)
}

/// χ² test of thinned (E, M) samples against the exact distribution; bins with expected count
/// below 5 are pooled.
fn assert_fits(m: &Model, energies: &[f64], mags: &[f64], what: &str) {
    let exact = exact_em(m);
    let n = energies.len() as f64;
    let mut counts: HashMap<(i64, i64), f64> = HashMap::new();
    for (e, mg) in energies.iter().zip(mags) {
        let k = key(*e, *mg);
        assert!(exact.contains_key(&k), "{what}: impossible state {k:?}");
        *counts.entry(k).or_insert(0.0) += 1.0;
    }
    let (mut chi2, mut bins) = (0.0, 0usize);
    let (mut pooled_o, mut pooled_e) = (0.0, 0.0);
    for (k, p) in &exact {
        let expected = p * n;
        let observed = counts.get(k).copied().unwrap_or(0.0);
        if expected < 5.0 {
            pooled_o += observed;
            pooled_e += expected;
        } else {
            chi2 += (observed - expected).powi(2) / expected;
            bins += 1;
        }
    }
    if pooled_e > 0.0 {
        chi2 += (pooled_o - pooled_e).powi(2) / pooled_e.max(1e-300);
        bins += 1;
    }
    let df = (bins - 1) as f64;
    assert!(
        chi2 < chi2_critical(df),
        "{what}: χ² = {chi2:.1} with {df} dof (critical {:.1})",
        chi2_critical(df)
    );
}

fn thinned(x: &[f64], k: usize) -> Vec<f64> {
    x.iter().step_by(k).copied().collect()
}

fn run(
    m: &Model,
    alg: Algorithm,
    kernel: KernelChoice,
    sweeps: usize,
    seed: u64,
) -> logz::mc::SampleRun {
    let o = SampleOptions {
        algorithm: alg,
        sweeps,
        burn_in: 200,
        chains: 2,
        seed,
        kernel,
        replicas: 6,
        beta_min_fraction: 0.3,
        ..SampleOptions::default()
    };
    sample(m, &o, &Runner::new()).unwrap()
}

/// A ferromagnetic random model with random fields (cluster algorithms need unfrustrated J).
fn ferro_model(n: usize, beta: f64, seed: u64) -> Model {
    let r = random_model(n, 0.6, 1.0, 0.5, beta, seed).unwrap();
    let edges: Vec<(usize, usize)> = r
        .edges()
        .iter()
        .map(|&(a, b)| (a as usize, b as usize))
        .collect();
    let j: Vec<f64> = r.couplings().iter().map(|j| j.abs()).collect();
    Model::new(n, &edges, &j, r.fields().to_vec(), beta).unwrap()
}

#[test]
fn every_generic_sampler_fits_the_exact_distribution() {
    let frustrated = random_model(7, 0.7, 1.0, 0.5, 0.8, 3).unwrap();
    let ferro = ferro_model(7, 0.6, 4);
    for (alg, m) in [
        (Algorithm::Metropolis, &frustrated),
        (Algorithm::MetropolisRandom, &frustrated),
        (Algorithm::HeatBath, &frustrated),
        (Algorithm::Tempering, &frustrated),
        (Algorithm::Wolff, &ferro),
        (Algorithm::SwendsenWang, &ferro),
    ] {
        let r = run(m, alg, KernelChoice::Generic, 60_000, 11);
        let (mut e, mut mg) = (Vec::new(), Vec::new());
        for c in &r.chains {
            e.extend(thinned(&c.energy, 5));
            mg.extend(thinned(&c.magnetization, 5));
        }
        assert_fits(m, &e, &mg, alg.name());
    }
}

#[test]
fn multispin_kernel_fits_the_exact_distribution() {
    // 4×4 torus: 65 536 states, exact (E, M) histogram by enumeration; with and without a field
    // (the field splits the Metropolis classes by spin sign) and an antiferromagnet.
    for &(j, h, beta) in &[(1.0, 0.0, 0.4), (1.0, 0.15, 0.35), (-0.7, 0.3, 0.5)] {
        let p = Params {
            coupling: j,
            field: h,
            beta,
            seed: 1,
        };
        let m = square(4, 4, true, &p).unwrap();
        for alg in [Algorithm::Metropolis, Algorithm::HeatBath] {
            let r = run(&m, alg, KernelChoice::MultiSpin, 60_000, 5);
            assert_eq!(r.kernel, "multispin");
            let (mut e, mut mg) = (Vec::new(), Vec::new());
            for c in &r.chains {
                e.extend(thinned(&c.energy, 4));
                mg.extend(thinned(&c.magnetization, 4));
            }
            assert_fits(
                &m,
                &e,
                &mg,
                &format!("multispin {} J={j} h={h}", alg.name()),
            );
        }
    }
}

#[test]
fn multispin_and_generic_agree_on_a_wide_torus() {
    // 8×200: several words per colour row with a partial last word.
    let p = Params {
        coupling: 1.0,
        field: 0.05,
        beta: 0.4,
        seed: 1,
    };
    let m = square(8, 200, true, &p).unwrap();
    let a = run(&m, Algorithm::Metropolis, KernelChoice::MultiSpin, 4000, 1).summary();
    let b = run(&m, Algorithm::Metropolis, KernelChoice::Generic, 4000, 2).summary();
    // Measured σ: energy/N 2.3e-3 and 2.5e-3, m 4.1e-3 and 6.0e-3.
    for (name, cap) in [("energy", 1e-2), ("m", 2e-2)] {
        let (x, y) = (a.get(name).unwrap(), b.get(name).unwrap());
        assert_sigma(&format!("multispin {name}"), x.std_err, cap);
        assert_sigma(&format!("generic {name}"), y.std_err, cap);
        let z = (x.value - y.value) / (x.std_err.powi(2) + y.std_err.powi(2)).sqrt();
        assert!(
            z.abs() < 4.0,
            "{name}: {} ± {} vs {} ± {}",
            x.value,
            x.std_err,
            y.value,
            y.std_err
        );
    }
}

#[test]
fn multispin_and_generic_agree_on_the_cubic_lattice() {
    // 6³ with six neighbours per site: near the critical coupling (β_c ≈ 0.2217), with a field
    // (14 Metropolis classes) and heat-bath, the multi-spin kernel reproduces the generic sampler.
    for &(h, beta, alg) in &[
        (0.0, 0.21, Algorithm::Metropolis),
        (0.1, 0.25, Algorithm::Metropolis),
        (0.1, 0.25, Algorithm::HeatBath),
    ] {
        let p = Params {
            coupling: 1.0,
            field: h,
            beta,
            seed: 1,
        };
        let m = logz::model::builders::cubic(6, &p).unwrap();
        let a = run(&m, alg, KernelChoice::MultiSpin, 6000, 1);
        assert_eq!(a.kernel, "multispin");
        let b = run(&m, alg, KernelChoice::Generic, 6000, 2);
        let (a, b) = (a.summary(), b.summary());
        // Measured σ: energy/N 4.1e-3 to 1.3e-2 (generic heat-bath), |m| 1.2e-3 to 3.7e-3.
        for (name, cap) in [("energy", 4e-2), ("|m|", 1e-2)] {
            let (x, y) = (a.get(name).unwrap(), b.get(name).unwrap());
            let what = format!("cubic h={h} β={beta} {} {name}", alg.name());
            assert_sigma(&format!("{what} multispin"), x.std_err, cap);
            assert_sigma(&format!("{what} generic"), y.std_err, cap);
            let z = (x.value - y.value) / (x.std_err.powi(2) + y.std_err.powi(2)).sqrt();
            assert!(
                z.abs() < 4.0,
                "h={h} β={beta} {}: {name}: {} ± {} vs {} ± {}",
                alg.name(),
                x.value,
                x.std_err,
                y.value,
                y.std_err
            );
        }
    }
}

/// Parallel tempering options for the multi-spin tests: 8 replicas down to 0.3 β.
fn pt_options(
    sweeps: usize,
    exchange_every: usize,
    kernel: KernelChoice,
    seed: u64,
) -> SampleOptions {
    SampleOptions {
        algorithm: Algorithm::Tempering,
        sweeps,
        burn_in: 500,
        chains: 4,
        seed,
        kernel,
        replicas: 8,
        beta_min_fraction: 0.3,
        exchange_every,
        ..SampleOptions::default()
    }
}

/// Parallel tempering on the multi-spin kernel: every replica sweeps with the acceptance tables
/// of the rung its label sits at, so after label exchanges the target rung must still sample
/// the Boltzmann distribution at β. ⟨E⟩/N and ⟨|m|⟩ of the 4×4 torus against enumeration at
/// three β (below, near and above the finite-size crossover), with a field (the sign-split
/// Metropolis classes) and with blocks of sweeps between exchanges, and the 6×6 torus's ⟨E⟩/N
/// against Kaufman's exact finite-torus value.
#[test]
fn parallel_tempering_on_the_multispin_kernel_matches_exact_values() {
    for &(side, beta, field, block) in &[
        (4usize, 0.3, 0.0, 1usize),
        (4, 0.44, 0.0, 1),
        (4, 0.6, 0.0, 1),
        (4, 0.4, 0.2, 1),
        (4, 0.44, 0.0, 5),
        (6, 0.44, 0.0, 1),
    ] {
        let p = Params {
            coupling: 1.0,
            field,
            beta,
            seed: 1,
        };
        let m = square(side, side, true, &p).unwrap();
        let r = sample(
            &m,
            &pt_options(20_000, block, KernelChoice::MultiSpin, 7),
            &Runner::new(),
        )
        .unwrap();
        assert_eq!(r.kernel, "multispin");
        let s = r.summary();
        let what = format!("pt multispin {side}×{side} β={beta} h={field} every {block}");
        let (exact_e, exact_abs) = if side == 4 {
            // ⟨E⟩/N and ⟨|M|⟩/N from the exact (E, M) distribution.
            let n = m.n() as f64;
            let d = exact_em(&m);
            let e: f64 = d.iter().map(|(k, p)| p * k.0 as f64 * 1e-6).sum();
            let a: f64 = d.iter().map(|(k, p)| p * (k.1 as f64).abs()).sum();
            (e / n, Some(a / n))
        } else {
            (kaufman_energy(side, beta), None)
        };
        let e = s.get("energy").unwrap();
        // Measured σ: energy/N 0.95e-3 to 3.0e-3, |m| 0.34e-3 to 1.3e-3.
        assert_within(
            &format!("{what} energy/N"),
            e.value,
            e.std_err,
            exact_e,
            4.0,
            1e-2,
        );
        if let Some(x) = exact_abs {
            let a = s.get("|m|").unwrap();
            assert_within(&format!("{what} |m|"), a.value, a.std_err, x, 4.0, 5e-3);
        }
    }
}

/// The same on the target rung's full (E, M) histogram: a χ² test against enumeration.
#[test]
fn parallel_tempering_on_the_multispin_kernel_fits_the_exact_distribution() {
    let p = Params {
        coupling: 1.0,
        field: 0.15,
        beta: 0.45,
        seed: 1,
    };
    let m = square(4, 4, true, &p).unwrap();
    let r = sample(
        &m,
        &pt_options(40_000, 1, KernelChoice::Auto, 3),
        &Runner::new(),
    )
    .unwrap();
    assert_eq!(r.kernel, "multispin");
    let (mut e, mut mg) = (Vec::new(), Vec::new());
    for c in &r.chains {
        e.extend(thinned(&c.energy, 5));
        mg.extend(thinned(&c.magnetization, 5));
    }
    assert_fits(&m, &e, &mg, "pt multispin 4×4 h=0.15");
}

/// Which kernel parallel tempering ran is reported: the multi-spin kernel by default on a
/// uniform square or cubic torus, the generic one when asked or when the model does not fit
/// (and asking for the multi-spin kernel there is an error with the reason).
#[test]
fn parallel_tempering_reports_its_kernel() {
    let p = Params {
        coupling: 1.0,
        field: 0.0,
        beta: 0.4,
        seed: 1,
    };
    let torus = square(8, 8, true, &p).unwrap();
    let cube = logz::model::builders::cubic(4, &p).unwrap();
    let open = square(8, 8, false, &p).unwrap();
    let kernel = |m: &Model, k: KernelChoice| {
        sample(m, &pt_options(50, 1, k, 1), &Runner::new()).map(|r| r.kernel)
    };
    assert_eq!(kernel(&torus, KernelChoice::Auto).unwrap(), "multispin");
    assert_eq!(kernel(&cube, KernelChoice::Auto).unwrap(), "multispin");
    assert_eq!(
        kernel(&torus, KernelChoice::MultiSpin).unwrap(),
        "multispin"
    );
    assert_eq!(kernel(&torus, KernelChoice::Generic).unwrap(), "generic");
    assert_eq!(kernel(&open, KernelChoice::Auto).unwrap(), "generic");
    let err = kernel(&open, KernelChoice::MultiSpin)
        .unwrap_err()
        .to_string();
    assert!(err.contains("periodic"), "{err}");
}

/// Exact energy per spin of the L×L torus (J = 1) from Kaufman's ln Z: e = −(1/N) d ln Z/dβ.
fn kaufman_energy(l: usize, beta: f64) -> f64 {
    let d = 1e-5;
    -(kaufman_ln_z(l, l, beta + d) - kaufman_ln_z(l, l, beta - d)) / (2.0 * d) / (l * l) as f64
}

#[test]
fn torus_energy_at_beta_c_within_error_bars_of_kaufman() {
    for &(l, sweeps, alg) in &[
        (32usize, 40_000usize, Algorithm::Metropolis),
        (32, 40_000, Algorithm::HeatBath),
        (32, 20_000, Algorithm::Wolff),
        (64, 10_000, Algorithm::SwendsenWang),
    ] {
        let p = Params {
            beta: SQUARE_BETA_C,
            ..Params::default()
        };
        let m = square(l, l, true, &p).unwrap();
        let o = SampleOptions {
            algorithm: alg,
            sweeps,
            burn_in: 2000,
            chains: 2,
            seed: 3,
            ..SampleOptions::default()
        };
        let s = sample(&m, &o, &Runner::new()).unwrap().summary();
        let e = s.get("energy").unwrap();
        let exact = kaufman_energy(l, SQUARE_BETA_C);
        eprintln!("L={l} {}: τ_int {:?}", alg.name(), e.tau_int);
        // The error bar is honest but not vacuous (measured σ: 1.0e-3 to 2.7e-3).
        assert_within(
            &format!("L={l} {} energy/N", alg.name()),
            e.value,
            e.std_err,
            exact,
            4.0,
            5e-3,
        );
    }
}

#[test]
fn abs_magnetization_and_correlations_match_enumeration() {
    // 6×6 torus near β_c: ⟨|m|⟩ exact by enumeration of 2^36 states is too slow for a test,
    // so use 4×5 open lattice with a field (20 spins) and compare ⟨|m|⟩, ⟨s_i⟩, ⟨s_i s_j⟩.
    let p = Params {
        coupling: 1.0,
        field: 0.05,
        beta: 0.45,
        seed: 1,
    };
    let m = square(4, 5, false, &p).unwrap();
    let n = m.n();
    let mut abs_m = 0.0;
    let mut lw = Vec::new();
    let mut states = Vec::new();
    for x in 0u64..(1 << n) {
        let s: Vec<i8> = (0..n)
            .map(|i| if (x >> i) & 1 == 1 { 1 } else { -1 })
            .collect();
        lw.push(m.log_weight(&s));
        states.push(s);
    }
    let lz = logz::numeric::log_sum_exp(&lw);
    let mut corr = vec![0.0; m.num_edges()];
    for (s, l) in states.iter().zip(&lw) {
        let w = (l - lz).exp();
        abs_m += w * (s.iter().map(|&v| v as f64).sum::<f64>() / n as f64).abs();
        for (k, &(a, b)) in m.edges().iter().enumerate() {
            corr[k] += w * (s[a as usize] * s[b as usize]) as f64;
        }
    }
    let r = run(&m, Algorithm::SwendsenWang, KernelChoice::Auto, 40_000, 8);
    let s = r.summary();
    let am = s.get("|m|").unwrap();
    // Measured σ = 1.6e-3.
    assert_within("|m| 4×5", am.value, am.std_err, abs_m, 4.0, 5e-3);
    let c = s.edge_correlation.unwrap();
    for k in 0..corr.len() {
        assert!(
            (c[k] - corr[k]).abs() < 0.03,
            "edge {k}: {} vs {}",
            c[k],
            corr[k]
        );
    }
}

#[test]
fn wolff_decorrelates_far_faster_than_metropolis_at_beta_c() {
    let p = Params {
        beta: SQUARE_BETA_C,
        ..Params::default()
    };
    let m = square(32, 32, true, &p).unwrap();
    let tau = |alg| {
        let o = SampleOptions {
            algorithm: alg,
            sweeps: 20_000,
            burn_in: 2000,
            chains: 2,
            seed: 4,
            ..SampleOptions::default()
        };
        sample(&m, &o, &Runner::new())
            .unwrap()
            .summary()
            .get("|m|")
            .unwrap()
            .tau_int
            .unwrap()
    };
    let (metro, wolff) = (tau(Algorithm::Metropolis), tau(Algorithm::Wolff));
    assert!(
        wolff * 10.0 < metro,
        "τ_int(|m|): Wolff {wolff}, Metropolis {metro}"
    );
}

#[test]
fn same_seed_same_chain_on_any_number_of_threads() {
    let p = Params {
        beta: 0.4,
        ..Params::default()
    };
    let m = square(16, 256, true, &p).unwrap();
    let o = SampleOptions {
        sweeps: 50,
        burn_in: 10,
        chains: 3,
        ..SampleOptions::default()
    };
    let on = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| sample(&m, &o, &Runner::new()).unwrap())
    };
    let (a, b) = (on(1), on(2));
    assert_eq!(a.kernel, "multispin");
    for (x, y) in a.chains.iter().zip(&b.chains) {
        assert_eq!(x.energy, y.energy);
        assert_eq!(x.magnetization, y.magnetization);
    }
}

#[test]
fn cluster_methods_refuse_frustrated_couplings() {
    let m = random_model(8, 0.8, 1.0, 0.0, 0.5, 1).unwrap();
    assert!(m.couplings().iter().any(|&j| j < 0.0));
    for alg in [Algorithm::Wolff, Algorithm::SwendsenWang] {
        let o = SampleOptions {
            algorithm: alg,
            ..SampleOptions::default()
        };
        let err = sample(&m, &o, &Runner::new()).unwrap_err().to_string();
        assert!(err.contains("frustrated"), "{err}");
    }
    // An antiferromagnet on a bipartite lattice is gauge-equivalent to a ferromagnet: allowed.
    let p = Params {
        coupling: -1.0,
        beta: 0.3,
        ..Params::default()
    };
    let m = square(4, 4, true, &p).unwrap();
    let o = SampleOptions {
        algorithm: Algorithm::Wolff,
        sweeps: 10,
        ..SampleOptions::default()
    };
    assert!(sample(&m, &o, &Runner::new()).is_ok());
}

#[test]
fn error_bars_are_honest_across_seeds() {
    // 40 independent runs of a small model: the fraction of 2σ intervals containing the exact
    // ⟨E⟩ must be near 95% (binomial: ≥ 33 of 40 has false-alarm rate ≈ 1e-3).
    let m = random_model(10, 0.5, 1.0, 0.3, 0.7, 9).unwrap();
    let exact = Exact.solve(&m).unwrap().energy.unwrap();
    let mut inside = 0;
    for seed in 0..40 {
        let o = SampleOptions {
            sweeps: 3000,
            burn_in: 200,
            chains: 1,
            seed,
            ..SampleOptions::default()
        };
        let s = sample(&m, &o, &Runner::new()).unwrap().summary();
        let e = s.get("energy").unwrap();
        // Coverage alone passes for any error bar: each must also be small (measured σ of
        // energy/N: 5.4e-3 to 6.7e-3 over the 40 seeds).
        assert_sigma(&format!("seed {seed} energy/N"), e.std_err, 2e-2);
        if (e.value * m.n() as f64 - exact).abs() < 2.0 * e.std_err * m.n() as f64 {
            inside += 1;
        }
    }
    assert!(inside >= 33, "coverage {inside}/40");
}

#[test]
fn ti_and_ais_bracket_exact_ln_z_on_random_models() {
    for seed in 0..4 {
        let m = random_model(12, 0.5, 1.0, 0.5, 0.9, 100 + seed).unwrap();
        let exact = Exact.solve(&m).unwrap().ln_z;
        let ti = ThermodynamicIntegration {
            sweeps: 1000,
            seed,
            ..Default::default()
        }
        .solve(&m)
        .unwrap();
        let ais = Ais {
            steps: 300,
            runs: 200,
            seed,
            ..Default::default()
        }
        .solve(&m)
        .unwrap();
        // The weights' tail is judged (PSIS k̂) beside their ESS.
        assert!(
            ais.diagnostics.notes.iter().any(|n| n.contains("PSIS k̂")),
            "{:?}",
            ais.diagnostics.notes
        );
        // Measured σ (ln Z ≈ 17–23): TI 1.1e-2 to 1.7e-2, AIS 2.1e-2 to 5.1e-2.
        for (e, cap) in [(&ti, 0.05), (&ais, 0.15)] {
            let EstimateKind::Stochastic { std_err } = e.kind else {
                panic!("kind {:?}", e.kind)
            };
            let what = format!("{} seed {seed}", e.diagnostics.algorithm);
            assert_within(&what, e.ln_z, std_err, exact, 4.0, cap);
        }
    }
}

#[test]
fn ti_on_the_torus_at_beta_c() {
    let p = Params {
        beta: SQUARE_BETA_C,
        ..Params::default()
    };
    let m = square(32, 32, true, &p).unwrap();
    let exact = kaufman_ln_z(32, 32, SQUARE_BETA_C);
    let ti = ThermodynamicIntegration {
        sweeps: 1000,
        ..Default::default()
    }
    .solve(&m)
    .unwrap();
    let se = ti.kind.std_err().unwrap();
    // Measured σ = 0.10 = 1.06e-4 · ln Z.
    assert_within("ti 32×32 at β_c", ti.ln_z, se, exact, 4.0, 4e-4 * exact);
}

#[test]
fn stats_helpers_are_consistent_on_a_real_chain() {
    let p = Params {
        beta: 0.3,
        ..Params::default()
    };
    let m = square(16, 16, true, &p).unwrap();
    let o = SampleOptions {
        sweeps: 20_000,
        chains: 1,
        ..SampleOptions::default()
    };
    let r = sample(&m, &o, &Runner::new()).unwrap();
    let s = stats::analyze(&r.chains[0].energy);
    assert!(s.reliable);
    let ratio = s.blocking_err / s.std_err;
    assert!((0.7..1.5).contains(&ratio), "blocking/τ ratio {ratio}");
}
