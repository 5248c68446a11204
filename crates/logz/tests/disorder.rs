//! Disorder averages over random SK instances.

use logz::disorder::{average, enumerate_ln_z, instance_seed, Config};
use logz::methods::MethodOptions;
use logz::model::builders::{from_spec, Params};
use logz::runner::Runner;
use logz::{Exact, Solver};

fn config(spec: &str, instances: usize, methods: &[&str], betas: &[f64], seed: u64) -> Config {
    Config {
        spec: spec.into(),
        coupling: 1.0,
        field: 0.0,
        instances,
        betas: betas.to_vec(),
        methods: methods.iter().map(|s| s.to_string()).collect(),
        seed,
        options: MethodOptions::default(),
    }
}

#[test]
fn one_enumeration_for_all_betas_equals_the_exact_solver() {
    for (spec, field) in [("sk:11", 0.0), ("sk:9", 0.3), ("er:10:0.5:pm", 0.0)] {
        let p = Params {
            coupling: 1.0,
            field,
            beta: 1.0,
            seed: 5,
        };
        let m = from_spec(spec, &p).unwrap();
        let betas = [0.0, 0.4, 1.0, 2.5];
        let all = enumerate_ln_z(&m, &betas);
        for (b, got) in betas.iter().zip(all) {
            let want = Exact.solve(&m.with_beta(*b).unwrap()).unwrap().ln_z;
            assert!(
                (got - want).abs() < 1e-10 * want.abs().max(1.0),
                "{spec} β={b}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn averages_are_reproducible_and_independent_of_the_thread_count() {
    let c = config("sk:10", 40, &["exact", "mf"], &[0.5, 1.5], 11);
    let one = logz::parallel::with_threads(1, || average(&c, &Runner::new()))
        .unwrap()
        .unwrap();
    let three = logz::parallel::with_threads(3, || average(&c, &Runner::new()))
        .unwrap()
        .unwrap();
    assert_eq!(one, three);
    assert_eq!(one.len(), 4);
    let other = average(
        &Config {
            seed: 12,
            ..c.clone()
        },
        &Runner::new(),
    )
    .unwrap();
    assert_ne!(one[0].mean_ln_z_per_spin, other[0].mean_ln_z_per_spin);
    // Mean field is a lower bound on every instance, hence on the mean.
    for bi in 0..2 {
        assert!(one[2 + bi].mean_ln_z_per_spin <= one[bi].mean_ln_z_per_spin);
        assert_eq!(
            (one[bi].method.as_str(), one[bi].n, one[bi].instances),
            ("exact", 10, 40)
        );
    }
    assert_ne!(instance_seed(11, 0), instance_seed(11, 1));
}

#[test]
fn quenched_average_lies_below_the_annealed_value() {
    // Jensen: E ln Z ≤ ln E Z = N ln 2 + β²(N − 1)/4, with a wide gap at β = 2.
    let (n, beta) = (12.0, 2.0);
    let c = config("sk:12", 200, &["exact"], &[beta], 3);
    let r = &average(&c, &Runner::new()).unwrap()[0];
    let annealed = std::f64::consts::LN_2 + beta * beta * (n - 1.0) / (4.0 * n);
    let se = r.std_err.unwrap();
    assert!(se > 0.0 && se < 0.02, "{se}");
    assert!(
        r.mean_ln_z_per_spin + 5.0 * se < annealed,
        "{r:?} vs {annealed}"
    );
}

#[test]
fn bad_requests_are_refused() {
    let ok = config("sk:6", 2, &["exact"], &[1.0], 0);
    let e = |c: Config| average(&c, &Runner::new()).unwrap_err().to_string();
    assert!(e(Config {
        instances: 0,
        ..ok.clone()
    })
    .contains("number of instances"));
    assert!(e(Config {
        instances: usize::MAX,
        ..ok.clone()
    })
    .contains("number of instances"));
    assert!(e(Config {
        betas: vec![f64::NAN],
        ..ok.clone()
    })
    .contains("β must be"));
    assert!(e(Config {
        betas: vec![],
        ..ok.clone()
    })
    .contains("values of β"));
    assert!(e(Config {
        methods: vec!["nope".into()],
        ..ok.clone()
    })
    .contains("unknown method"));
    assert!(e(Config {
        spec: "sk:x".into(),
        ..ok.clone()
    })
    .contains("not a valid number"));
}

#[test]
fn rows_carry_kind_energy_and_ea_overlap_equal_to_a_direct_computation() {
    // h ≠ 0 so the exact marginals (hence q_EA) do not vanish.
    let c = Config {
        field: 0.3,
        ..config("sk:7", 25, &["exact", "mf"], &[0.4, 1.3], 21)
    };
    let rows = average(&c, &Runner::new()).unwrap();
    assert_eq!(rows[0].kind, "exact");
    assert_eq!(rows[2].kind, "lower_bound");
    for (bi, &beta) in c.betas.iter().enumerate() {
        let (mut e, mut q, mut l) = (vec![], vec![], vec![]);
        for k in 0..c.instances {
            let p = Params {
                coupling: 1.0,
                field: 0.3,
                beta,
                seed: instance_seed(c.seed, k),
            };
            let est = Exact.solve(&from_spec("sk:7", &p).unwrap()).unwrap();
            l.push(est.ln_z / 7.0);
            e.push(est.energy.unwrap() / 7.0);
            q.push(est.magnetization.iter().map(|m| m * m).sum::<f64>() / 7.0);
        }
        // Direct mean and s/√K with the unbiased variance.
        let direct = |v: &[f64]| {
            let k = v.len() as f64;
            let m = v.iter().sum::<f64>() / k;
            let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (k - 1.0);
            (m, (var / k).sqrt())
        };
        let r = &rows[bi];
        for (got, se, v) in [
            (r.mean_ln_z_per_spin, r.std_err, &l),
            (r.mean_energy_per_spin.unwrap(), r.energy_std_err, &e),
            (r.q_ea.unwrap(), r.q_ea_std_err, &q),
        ] {
            let (m, s) = direct(v);
            assert!((got - m).abs() < 1e-10, "β={beta}: {got} vs {m}");
            assert!(
                (se.unwrap() - s).abs() < 1e-10 * s.max(1e-3),
                "{se:?} vs {s}"
            );
        }
        assert!(r.q_ea.unwrap() > 0.01);
        // Mean field gives its own energy and marginals.
        assert!(rows[2 + bi].mean_energy_per_spin.is_some() && rows[2 + bi].q_ea.is_some());
    }
}

#[test]
fn enumerated_thermodynamics_match_exact_marginals_on_tiny_instances() {
    use logz::disorder::enumerate_thermo;
    for (spec, field) in [("sk:5", 0.7), ("sk:6", 0.0), ("er:6:0.6:pm", -0.4)] {
        let p = Params {
            coupling: 1.0,
            field,
            beta: 1.0,
            seed: 9,
        };
        let m = from_spec(spec, &p).unwrap();
        let betas = [0.3, 1.0, 3.0];
        let t = enumerate_thermo(&m, &betas);
        for (bi, &b) in betas.iter().enumerate() {
            // Brute force over all 2^N states.
            let n = m.n();
            let (mut z, mut ez) = (0.0, 0.0);
            let mut mz = vec![0.0; n];
            for st in 0..1u32 << n {
                let s: Vec<i8> = (0..n)
                    .map(|i| if st >> i & 1 == 1 { 1 } else { -1 })
                    .collect();
                let en = m.energy(&s);
                let w = (-b * en).exp();
                z += w;
                ez += w * en;
                for i in 0..n {
                    mz[i] += w * s[i] as f64;
                }
            }
            let q = mz.iter().map(|x| (x / z).powi(2)).sum::<f64>() / n as f64;
            assert!((t.ln_z[bi] - z.ln()).abs() < 1e-10, "{spec}");
            assert!((t.energy[bi] - ez / z).abs() < 1e-9, "{spec} β={b}");
            assert!((t.q_ea[bi] - q).abs() < 1e-10, "{spec} β={b}");
        }
    }
}

#[test]
fn kinds_of_a_mean_are_never_stronger_than_their_parts() {
    use logz::disorder::combine_kinds;
    assert_eq!(combine_kinds("exact", "exact"), "exact");
    assert_eq!(combine_kinds("exact", "lower_bound"), "lower_bound");
    assert_eq!(combine_kinds("upper_bound", "exact"), "upper_bound");
    assert_eq!(combine_kinds("lower_bound", "upper_bound"), "approximation");
    assert_eq!(
        combine_kinds("stochastic_lower_bound", "stochastic"),
        "stochastic"
    );
}

#[test]
fn extrapolation_in_one_over_n_recovers_a_known_limit() {
    use logz::finite_size::extrapolate_inverse_n;
    // Exactly linear data: the limit and slope come back.
    let pts: Vec<(usize, f64, f64)> = [8usize, 12, 16, 24]
        .iter()
        .map(|&n| (n, 0.75 - 0.3 / n as f64, 0.01))
        .collect();
    let f = extrapolate_inverse_n(&pts).unwrap();
    assert!((f.limit - 0.75).abs() < 1e-12 && (f.slope + 0.3).abs() < 1e-10);
    assert!(f.chi2 < 1e-20);
    // Two points: a = (x2 y1 − x1 y2)/(x2 − x1), Var a = (x2² σ1² + x1² σ2²)/(x2 − x1)².
    let (x1, x2, s1, s2) = (1.0 / 10.0, 1.0 / 20.0, 0.02, 0.05);
    let f = extrapolate_inverse_n(&[(10, 1.0, s1), (20, 1.1, s2)]).unwrap();
    let a = (x2 * 1.0 - x1 * 1.1) / (x2 - x1);
    let se = ((x2 * x2 * s1 * s1 + x1 * x1 * s2 * s2) / (x2 - x1).powi(2)).sqrt();
    assert!((f.limit - a).abs() < 1e-12 && (f.std_err - se).abs() < 1e-12);
    // Synthetic noisy data around a known limit: within 4σ, over many draws.
    let mut misses = 0;
    for rep in 0..200u64 {
        let mut g = logz::rng::stream(77, rep);
        // Box–Muller standard normals.
        let mut normal = || {
            let (u, v) = (logz::rng::uniform(&mut g), logz::rng::uniform(&mut g));
            (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let pts: Vec<(usize, f64, f64)> = [6usize, 9, 14, 20]
            .iter()
            .map(|&n| (n, 0.5 + 1.0 / n as f64 + 0.01 * normal(), 0.01))
            .collect();
        let f = extrapolate_inverse_n(&pts).unwrap();
        assert!(f.std_err < 0.1);
        if (f.limit - 0.5).abs() > 2.0 * f.std_err {
            misses += 1;
        }
    }
    // About 5 % of draws lie beyond 2σ.
    assert!((2..=25).contains(&misses), "{misses}");
    // Bad input.
    let e = extrapolate_inverse_n(&[(10, 1.0, 0.1), (10, 1.0, 0.1)]).unwrap_err();
    assert!(e.to_string().contains("two distinct sizes"));
    let e = extrapolate_inverse_n(&[(10, 1.0, 0.0), (12, 1.0, 0.1)]).unwrap_err();
    assert!(e.to_string().contains("standard error"));
}

#[test]
fn extrapolated_exact_averages_reach_the_annealed_value_at_high_temperature() {
    use logz::finite_size::{average_sizes, extrapolate_rows};
    // T = 2 > J, h = 0: RS = annealed = ln 2 + β²/4 exactly in the limit.
    let beta = 0.5;
    let c = config("sk:6", 400, &["exact"], &[beta], 5);
    let rows = average_sizes(&c, &[6, 9, 12, 15], &Runner::new()).unwrap();
    assert_eq!(rows.len(), 4);
    let x = &extrapolate_rows(&rows, "sk:6", 1.0, 0.0).unwrap()[0];
    let annealed = std::f64::consts::LN_2 + beta * beta / 4.0;
    let se = x.fit.std_err;
    assert!(se > 0.0 && se < 0.01, "{se}");
    assert!((x.fit.limit - annealed).abs() < 4.0 * se, "{x:?}");
    assert!((x.rs_ln_z_per_spin.unwrap() - annealed).abs() < 1e-10);
    assert!((x.full_rsb_ln_z_per_spin.unwrap() - annealed).abs() < 1e-8);
    // Sizes are checked before anything runs.
    let e = |s: &[usize]| {
        average_sizes(&c, s, &Runner::new())
            .unwrap_err()
            .to_string()
    };
    assert!(e(&[]).contains("sizes"));
    assert!(e(&[8, 40]).contains("over the limit"));
    let bad = Config {
        spec: "sk".into(),
        ..c.clone()
    };
    assert!(average_sizes(&bad, &[6, 8], &Runner::new())
        .unwrap_err()
        .to_string()
        .contains("family:N"));
}

/// Brute force over all 2^N states: (1/N) Σ ⟨s_i⟩² and (1/N²) Σ_ij ⟨s_i s_j⟩².
fn brute_overlap(m: &logz::Model) -> (f64, f64) {
    let n = m.n();
    let mut z = 0.0;
    let mut mi = vec![0.0; n];
    let mut cij = vec![0.0; n * n];
    for st in 0..1u32 << n {
        let s: Vec<i8> = (0..n)
            .map(|i| if st >> i & 1 == 1 { 1 } else { -1 })
            .collect();
        let w = (-m.beta() * m.energy(&s)).exp();
        z += w;
        for i in 0..n {
            mi[i] += w * s[i] as f64;
            for j in 0..n {
                cij[i * n + j] += w * (s[i] * s[j]) as f64;
            }
        }
    }
    let nf = n as f64;
    let q = mi.iter().map(|x| (x / z).powi(2)).sum::<f64>() / nf;
    let q2 = cij.iter().map(|x| (x / z).powi(2)).sum::<f64>() / (nf * nf);
    (q, q2)
}

#[test]
fn exact_overlap_equals_sums_of_squared_correlations() {
    use logz::disorder::exact_overlap;
    for (spec, field, beta) in [
        ("sk:8", 0.0, 1.5),
        ("sk:7", 0.4, 0.8),
        ("er:9:0.5:pm", 0.0, 0.7),
    ] {
        let p = Params {
            coupling: 1.0,
            field,
            beta,
            seed: 4,
        };
        let m = from_spec(spec, &p).unwrap();
        let o = exact_overlap(&m).unwrap();
        let (q, q2) = brute_overlap(&m);
        assert!((o.q - q).abs() < 1e-12, "{spec}: {} vs {q}", o.q);
        assert!((o.q2 - q2).abs() < 1e-12, "{spec}: {} vs {q2}", o.q2);
        assert!(o.q_abs >= o.q2 && o.q_abs <= o.q2.sqrt() + 1e-12);
        if field == 0.0 {
            assert!(o.q.abs() < 1e-12 && o.q2 > 0.1);
        }
    }
    let big = from_spec("sk:13", &Params::default()).unwrap();
    assert!(exact_overlap(&big).is_err());
}

/// The two-replica Monte Carlo overlap agrees with the exact one: 8 independent runs give a
/// mean and its standard error.
#[test]
fn two_replica_overlap_matches_exact_enumeration() {
    use logz::disorder::{exact_overlap, two_replica_overlap};
    for (field, beta) in [(0.0, 1.2), (0.3, 0.9)] {
        let p = Params {
            coupling: 1.0,
            field,
            beta,
            seed: 17,
        };
        let m = from_spec("sk:10", &p).unwrap();
        let exact = exact_overlap(&m).unwrap();
        let runs: Vec<logz::disorder::Overlap> = (0..8)
            .map(|r| two_replica_overlap(&m, 4000, 500, 100 + r, &Runner::new()).unwrap())
            .collect();
        let stat = |f: &dyn Fn(&logz::disorder::Overlap) -> f64| {
            let v: Vec<f64> = runs.iter().map(f).collect();
            let (m, se) = logz::disorder::mean_and_std_err(&v);
            (m, se.unwrap())
        };
        for (name, (got, se), want) in [
            ("q", stat(&|o| o.q), exact.q),
            ("q2", stat(&|o| o.q2), exact.q2),
            ("|q|", stat(&|o| o.q_abs), exact.q_abs),
        ] {
            assert!(se < 0.02, "{name}: σ = {se}");
            assert!(
                (got - want).abs() < 4.0 * se + 1e-9,
                "h={field} β={beta} {name}: {got} ± {se} vs {want}"
            );
        }
    }
}

/// Monte Carlo rows (ais) carry the two-replica overlap; exact rows carry the exact ⟨q²⟩ at
/// N ≤ 12; the two agree within their errors over the same instances.
#[test]
fn disorder_rows_carry_two_replica_and_exact_q2() {
    let mut c = config("sk:8", 6, &["exact", "ais", "mf"], &[1.0], 3);
    c.options.runs = Some(20);
    c.options.steps = Some(200);
    let rows = average(&c, &Runner::new()).unwrap();
    let (ex, ais, mf) = (&rows[0], &rows[1], &rows[2]);
    let (q2e, q2a) = (ex.q2.unwrap(), ais.q2.unwrap());
    assert!(ex.q_abs.is_some() && ais.q_abs.is_some() && ais.q2_std_err.unwrap() > 0.0);
    assert!(mf.q2.is_none());
    assert!(
        ais.q_ea.unwrap().abs() < 0.05,
        "h = 0: ⟨q⟩ = {:?}",
        ais.q_ea
    );
    assert!(
        (q2a - q2e).abs() < 4.0 * ais.q2_std_err.unwrap(),
        "{q2a} vs {q2e}"
    );
}
