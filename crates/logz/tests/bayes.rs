//! Bayesian regression: exact posteriors against an independent computation, and every VI
//! method against the exact posterior.
#![allow(clippy::needless_range_loop)]

mod common;
use common::assert_sigma;
use logz::bayes::data::{self, Dataset};
use logz::bayes::fit::{fit, FitOptions, Method, ModelKind};
use logz::bayes::linear::{self, Noise, PRIOR_SCALE};
use logz::runner::Runner;
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use statrs::function::gamma::ln_gamma;

/// Two strongly correlated features (ρ ≈ 0.95): y = 3 + 2x₁ − x₂ + N(0, 1.5²).
fn correlated(n: usize, seed: u64) -> Dataset {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let g = Normal::new(0.0, 1.0).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let a: f64 = g.sample(&mut rng);
        let b: f64 = 0.95 * a + 0.3 * g.sample(&mut rng);
        x.push(10.0 + 2.0 * a);
        x.push(-5.0 + b);
        y.push(3.0 + 2.0 * (10.0 + 2.0 * a) - (-5.0 + b) + 1.5 * g.sample(&mut rng));
    }
    Dataset {
        x_names: vec!["x1".into(), "x2".into()],
        y_name: "y".into(),
        x,
        y,
    }
}

/// ln N(ỹ; 0, σ̃²I + τ²X̃X̃ᵀ) and the posterior mean τ²X̃ᵀK⁻¹ỹ via the n × n covariance — an
/// independent route to the same numbers (Gaussian conditioning instead of the precision form).
fn independent_known(d: &Dataset, sigma: f64) -> (f64, Vec<f64>) {
    let k = d.stats().scaling(&d.x_names, &d.y_name).unwrap();
    let (x, y) = k.design(d);
    let n = d.n();
    let p = d.p() + 1;
    let xm = DMatrix::from_row_slice(n, p, &x);
    let yv = DVector::from_column_slice(&y);
    let st = sigma / k.sd_y;
    let t2 = PRIOR_SCALE * PRIOR_SCALE;
    let kk = DMatrix::identity(n, n) * (st * st) + &xm * xm.transpose() * t2;
    let ch = kk.cholesky().unwrap();
    let alpha = ch.solve(&yv);
    let logdet = 2.0 * ch.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let ln_p =
        -0.5 * yv.dot(&alpha) - 0.5 * logdet - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    let mean = xm.transpose() * alpha * t2;
    (
        ln_p - n as f64 * k.sd_y.ln(),
        mean.iter().copied().collect(),
    )
}

/// NIG evidence as the multivariate Student-t density St(ỹ; 2a₀, 0, (b₀/a₀)(I + τ²X̃X̃ᵀ)).
fn independent_nig(d: &Dataset, a0: f64, b0: f64) -> f64 {
    let k = d.stats().scaling(&d.x_names, &d.y_name).unwrap();
    let (x, y) = k.design(d);
    let n = d.n();
    let p = d.p() + 1;
    let xm = DMatrix::from_row_slice(n, p, &x);
    let yv = DVector::from_column_slice(&y);
    let t2 = PRIOR_SCALE * PRIOR_SCALE;
    let s = (DMatrix::identity(n, n) + &xm * xm.transpose() * t2) * (b0 / a0);
    let ch = s.cholesky().unwrap();
    let q = yv.dot(&ch.solve(&yv));
    let logdet = 2.0 * ch.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let nu = 2.0 * a0;
    let nf = n as f64;
    let ln_p = ln_gamma((nu + nf) / 2.0)
        - ln_gamma(nu / 2.0)
        - 0.5 * nf * (nu * std::f64::consts::PI).ln()
        - 0.5 * logdet
        - 0.5 * (nu + nf) * (1.0 + q / nu).ln();
    ln_p - nf * k.sd_y.ln()
}

#[test]
fn exact_posteriors_match_an_independent_computation() {
    let d = correlated(300, 1);
    let s = d.stats();
    let k = s.scaling(&d.x_names, &d.y_name).unwrap();
    let e = linear::exact(&s, &k, &d.x_names, Noise::Known(1.7), PRIOR_SCALE).unwrap();
    let (ln_p, mean) = independent_known(&d, 1.7);
    assert!(
        ((e.ln_evidence - ln_p) / ln_p).abs() < 1e-9,
        "{} vs {ln_p}",
        e.ln_evidence
    );
    for j in 0..3 {
        assert!((e.mean_std[j] - mean[j]).abs() < 1e-9 * (1.0 + mean[j].abs()));
    }
    let (a0, b0) = (2.0, 1.5);
    let e = linear::exact(&s, &k, &d.x_names, Noise::Unknown { a0, b0 }, PRIOR_SCALE).unwrap();
    let ln_p = independent_nig(&d, a0, b0);
    assert!(
        ((e.ln_evidence - ln_p) / ln_p).abs() < 1e-9,
        "{} vs {ln_p}",
        e.ln_evidence
    );
    // The raw-unit posterior mean recovers the generating coefficients (3, 2, −1) within 4 sd.
    for (j, want) in [3.0, 2.0, -1.0].iter().enumerate() {
        assert!(
            (e.mean[j] - want).abs() < 4.0 * e.sd[j],
            "{j}: {} ± {}",
            e.mean[j],
            e.sd[j]
        );
    }
}

fn run(
    d: &Dataset,
    kind: ModelKind,
    method: Method,
    batch: Option<usize>,
) -> logz::bayes::fit::FitReport {
    let o = FitOptions {
        method,
        batch,
        ..FitOptions::default()
    };
    fit(d, kind, &o, &Runner::new()).unwrap()
}

#[test]
fn full_rank_advi_matches_the_exact_posterior() {
    let d = correlated(2000, 2);
    for kind in [
        ModelKind::Linear(Noise::Known(1.5)),
        ModelKind::Linear(Noise::Unknown { a0: 2.0, b0: 1.0 }),
    ] {
        let ex = run(&d, kind, Method::Exact, None);
        let vi = run(&d, kind, Method::AdviFullRank, None);
        eprintln!(
            "{kind:?}: {} steps, converged {}, mean {:?} vs {:?}, sd {:?} vs {:?}",
            vi.steps, vi.converged, vi.mean, ex.mean, vi.sd, ex.sd
        );
        for j in 0..3 {
            let rel_mean = (vi.mean[j] - ex.mean[j]).abs() / ex.mean[j].abs();
            let rel_sd = (vi.sd[j] - ex.sd[j]).abs() / ex.sd[j];
            assert!(
                rel_mean < 0.01 || (vi.mean[j] - ex.mean[j]).abs() < 0.05 * ex.sd[j],
                "{kind:?} {j}: mean {} vs {}",
                vi.mean[j],
                ex.mean[j]
            );
            assert!(
                rel_sd < 0.05,
                "{kind:?} {j}: sd {} vs {}",
                vi.sd[j],
                ex.sd[j]
            );
        }
        // ELBO ≤ ln p(y) within its Monte Carlo error, and close to it (q can be exact here).
        let (elbo, se, lnp) = (
            vi.elbo.unwrap(),
            vi.elbo_std_err.unwrap(),
            ex.ln_evidence.unwrap(),
        );
        // Measured σ: 0.092 (known noise), 0.098 (unknown noise).
        assert_sigma(&format!("{kind:?} ELBO"), se, 0.3);
        assert!(
            elbo <= lnp + 3.0 * se,
            "{kind:?}: ELBO {elbo} ± {se} > ln p {lnp}"
        );
        assert!(lnp - elbo < 0.5 + 3.0 * se, "{kind:?}: gap {}", lnp - elbo);
    }
}

#[test]
fn elbo_and_cubo_bracket_the_exact_evidence_and_khat_tells_a_good_q_from_a_bad_one() {
    let d = correlated(2000, 2);
    let kind = ModelKind::Linear(Noise::Known(1.5));
    let lnp = run(&d, kind, Method::Exact, None).ln_evidence.unwrap();
    // Full rank: q is nearly the exact posterior. ELBO ≤ ln p(y) ≤ CUBO (each within 3σ), the
    // weights are light-tailed and PSIS recovers the evidence.
    let fr = run(&d, kind, Method::AdviFullRank, None);
    let (elbo, se) = (fr.elbo.unwrap(), fr.elbo_std_err.unwrap());
    let (cubo, cse) = (fr.cubo.unwrap(), fr.cubo_std_err.unwrap());
    assert_sigma("CUBO (full rank)", cse, 0.05);
    assert!(elbo <= lnp + 3.0 * se, "ELBO {elbo} ± {se} vs ln p {lnp}");
    assert!(cubo >= lnp - 3.0 * cse, "CUBO {cubo} ± {cse} vs ln p {lnp}");
    assert!(
        cubo - lnp < 0.1,
        "CUBO {cubo} vs ln p {lnp}: bracket too wide"
    );
    let khat = fr.khat.unwrap();
    assert!(khat < 0.5, "full-rank k̂ = {khat}");
    let psis = fr.psis_ln_evidence.unwrap();
    assert!((psis - lnp).abs() < 0.05, "PSIS {psis} vs ln p {lnp}");
    // Mean field on features with ρ ≈ 0.95: q is far too narrow, the weights are heavy-tailed
    // and k̂ says so; the CUBO is still above ln p(y) and the bracket is wide.
    let mf = run(&d, kind, Method::Advi, None);
    let khat = mf.khat.unwrap();
    assert!(khat > 0.7, "mean-field k̂ = {khat}");
    assert!(mf.notes.iter().any(|n| n.contains("k̂")), "{:?}", mf.notes);
    assert!(mf.cubo.unwrap() > lnp, "{} vs {lnp}", mf.cubo.unwrap());
    assert!(mf.elbo.unwrap() < lnp - 0.3);
}

#[test]
fn mean_field_underestimates_variance_on_correlated_features() {
    let d = correlated(2000, 3);
    let kind = ModelKind::Linear(Noise::Known(1.5));
    let ex = run(&d, kind, Method::Exact, None);
    let mf = run(&d, kind, Method::Advi, None);
    // With ρ ≈ 0.95 the exact marginal sd is ~1/√(1−ρ²) ≈ 3× the mean-field one.
    for j in 1..3 {
        assert!(
            mf.sd[j] < 0.6 * ex.sd[j],
            "{j}: mean-field sd {} vs exact {}",
            mf.sd[j],
            ex.sd[j]
        );
    }
    // The KL gap is visible in the ELBO too.
    assert!(mf.elbo.unwrap() < ex.ln_evidence.unwrap() - 0.3);
}

#[test]
fn score_function_bbvi_reaches_the_posterior_mean() {
    let d = correlated(500, 4);
    let kind = ModelKind::Linear(Noise::Known(1.5));
    let ex = run(&d, kind, Method::Exact, None);
    let o = FitOptions {
        method: Method::ScoreFunction,
        samples: 32,
        max_steps: 20_000,
        lr: 0.02,
        ..FitOptions::default()
    };
    let bb = fit(&d, kind, &o, &Runner::new()).unwrap();
    for j in 0..3 {
        assert!(
            (bb.mean[j] - ex.mean[j]).abs() < 0.5 * ex.sd[j],
            "{j}: {} vs {} ± {}",
            bb.mean[j],
            ex.mean[j],
            ex.sd[j]
        );
    }
    let se = bb.elbo_std_err.unwrap();
    // Measured σ = 0.091.
    assert_sigma("bbvi ELBO", se, 0.3);
    assert!(bb.elbo.unwrap() <= ex.ln_evidence.unwrap() + 3.0 * se);
}

#[test]
fn minibatch_natural_svi_on_age_income() {
    let d = data::age_income(200_000, 5);
    let kind = ModelKind::Linear(Noise::Known(15_000.0));
    let ex = run(&d, kind, Method::Exact, None);
    let nat = run(&d, kind, Method::Natural, Some(4096));
    for j in 0..2 {
        assert!(
            (nat.mean[j] - ex.mean[j]).abs() / ex.mean[j].abs() < 0.01,
            "{j}: {} vs {}",
            nat.mean[j],
            ex.mean[j]
        );
        assert!(
            (nat.sd[j] - ex.sd[j]).abs() / ex.sd[j] < 0.10,
            "{j}: sd {} vs {}",
            nat.sd[j],
            ex.sd[j]
        );
    }
    assert!(nat.elbo.unwrap() <= ex.ln_evidence.unwrap());
    // The generating process: 12 000 + 950·age.
    assert!((ex.mean[1] - 950.0).abs() < 4.0 * ex.sd[1]);
}

#[test]
fn minibatch_advi_on_age_income() {
    let d = data::age_income(1_000_000, 6);
    let kind = ModelKind::Linear(Noise::Known(15_000.0));
    let ex = run(&d, kind, Method::Exact, None);
    let vi = run(&d, kind, Method::AdviFullRank, Some(1000));
    eprintln!(
        "minibatch ADVI: {} steps, converged {}, mean {:?} vs {:?}, sd {:?} vs {:?}",
        vi.steps, vi.converged, vi.mean, ex.mean, vi.sd, ex.sd
    );
    for j in 0..2 {
        assert!(
            (vi.mean[j] - ex.mean[j]).abs() / ex.mean[j].abs() < 0.01,
            "{j}: {} vs {}",
            vi.mean[j],
            ex.mean[j]
        );
    }
}

#[test]
fn logistic_advi_agrees_with_hmc() {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let g = Normal::new(0.0, 1.0).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        let a: f64 = g.sample(&mut rng);
        let eta = -0.5 + 1.5 * a;
        let p = 1.0 / (1.0 + (-eta).exp());
        x.push(40.0 + 10.0 * a);
        y.push(if logz::rng::uniform(&mut rng) < p {
            1.0
        } else {
            0.0
        });
    }
    let d = Dataset {
        x_names: vec!["age".into()],
        y_name: "owns_home".into(),
        x,
        y,
    };
    let h = run(&d, ModelKind::Logistic, Method::Hmc, None);
    assert!(h.converged, "{:?}", h.notes);
    let vi = run(&d, ModelKind::Logistic, Method::AdviFullRank, None);
    for j in 0..2 {
        // The posterior is close to Gaussian with 500 rows: full-rank ADVI within 0.2 sd.
        assert!(
            (vi.mean[j] - h.mean[j]).abs() < 0.2 * h.sd[j],
            "{j}: {} vs {} ± {}",
            vi.mean[j],
            h.mean[j],
            h.sd[j]
        );
        assert!(
            (vi.sd[j] / h.sd[j] - 1.0).abs() < 0.15,
            "{j}: sd {} vs {}",
            vi.sd[j],
            h.sd[j]
        );
    }
    let o = FitOptions {
        method: Method::Exact,
        ..FitOptions::default()
    };
    assert!(fit(&d, ModelKind::Logistic, &o, &Runner::new())
        .unwrap_err()
        .to_string()
        .contains("no closed-form"));
}

#[test]
fn streamed_sufficient_statistics_equal_in_memory_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    data::write_age_income(&path, 70_000, 9).unwrap();
    let mem = data::read_csv(&path, &["age".into()], "income").unwrap();
    let mut streamed = data::SuffStats::new(1);
    data::stream_csv(&path, &["age".into()], "income", 4096, |x, y| {
        let mut s = data::SuffStats::new(1);
        for (r, v) in x.chunks(1).zip(y) {
            s.push(r, *v);
        }
        streamed.merge(&s);
        Ok(())
    })
    .unwrap();
    let a = mem.stats();
    assert_eq!(a.n, streamed.n);
    assert!((a.cxy[0] - streamed.cxy[0]).abs() < 1e-9 * a.cxy[0].abs());
    assert!((a.cyy - streamed.cyy).abs() < 1e-9 * a.cyy);
    // The file holds the same data as the in-memory generator (to the printed precision).
    let g = data::age_income(70_000, 9);
    assert!((g.x[12345] - mem.x[12345]).abs() < 1e-3);
}

#[test]
fn bad_csv_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let err = |p: &std::path::Path| {
        data::read_csv(p, &["age".into()], "income")
            .unwrap_err()
            .to_string()
    };
    assert!(err(&write("a.csv", "")).contains("empty"));
    assert!(err(&write("b.csv", "age,salary\n1,2\n")).contains("no column 'income'"));
    let e = err(&write("c.csv", "age,income\n30,100\nthirty,200\n"));
    assert!(
        e.contains(":3") && e.contains("'thirty' is not a number"),
        "{e}"
    );
    let e = err(&write("d.csv", "age,income\n30,NaN\n"));
    assert!(e.contains(":2") && e.contains("NaN"), "{e}");
    let e = err(&write("e.csv", "age,income\n30\n"));
    assert!(e.contains(":2") && e.contains("expected 2 cells"), "{e}");
    assert!(err(&write("f.csv", "age,income\n")).contains("no data rows"));
    let d = data::read_csv(
        &write("g.csv", "age,income\n30,1\n30,2\n"),
        &["age".into()],
        "income",
    )
    .unwrap();
    let s = d.stats();
    assert!(s
        .scaling(&d.x_names, &d.y_name)
        .unwrap_err()
        .to_string()
        .contains("constant"));
}

/// Many feature columns (more than the 64 kept on the stack by `SuffStats::push`): the one-pass
/// statistics and the exact posterior mean under a vague prior must equal a direct
/// least-squares solve on the raw rows. (Rows were once counted twice when p > 64.)
#[test]
fn wide_designs_match_a_direct_least_squares_solve() {
    for &p in &[65usize, 100, 200] {
        let n = 3 * p + 7;
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(p as u64);
        let g = Normal::new(0.0, 1.0).unwrap();
        let mut x = Vec::with_capacity(n * p);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..p).map(|j| j as f64 + g.sample(&mut rng)).collect();
            let signal: f64 = row
                .iter()
                .enumerate()
                .map(|(j, v)| v * (j % 3) as f64)
                .sum();
            y.push(1.0 + 0.01 * signal + 0.5 * g.sample(&mut rng));
            x.extend(row);
        }
        let d = Dataset {
            x_names: (0..p).map(|j| format!("x{j}")).collect(),
            y_name: "y".into(),
            x,
            y,
        };
        let s = d.stats();
        assert_eq!(s.n, n as f64, "p = {p}: every row counted once");
        let k = s.scaling(&d.x_names, &d.y_name).unwrap();
        // τ = 1e6 in standardised units: the prior's pull is ~1e−12 of the likelihood's.
        let e = linear::exact(&s, &k, &d.x_names, Noise::Known(0.5), 1e6).unwrap();
        // Direct solve of min ‖y − [1 X] w‖ by QR on the raw design.
        let a = DMatrix::from_fn(
            n,
            p + 1,
            |i, j| if j == 0 { 1.0 } else { d.x[i * p + j - 1] },
        );
        let b = DVector::from_column_slice(&d.y);
        let qr = a.clone().qr();
        let w = qr
            .r()
            .solve_upper_triangular(&(qr.q().transpose() * &b))
            .unwrap();
        for j in 0..=p {
            assert!(
                (e.mean[j] - w[j]).abs() <= 1e-7 * (1.0 + w[j].abs()),
                "p = {p}, coefficient {j}: posterior mean {} vs least squares {}",
                e.mean[j],
                w[j]
            );
        }
    }
}

/// A data set written to CSV at full precision (`{}` prints the shortest exact f64).
fn write_csv(d: &Dataset, path: &std::path::Path) {
    let mut t = format!("{},{}\n", d.x_names.join(","), d.y_name);
    for (row, y) in d.x.chunks(d.p()).zip(&d.y) {
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        t.push_str(&format!("{},{y}\n", cells.join(",")));
    }
    std::fs::write(path, t).unwrap();
}

#[test]
fn streamed_exact_fit_equals_the_in_memory_fit() {
    use logz::bayes::fit::fit_streamed;
    let d = correlated(3000, 11);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    write_csv(&d, &path);
    for kind in [
        ModelKind::Linear(Noise::Known(1.5)),
        ModelKind::Linear(Noise::Unknown { a0: 2.0, b0: 1.0 }),
    ] {
        let mem = run(&d, kind, Method::Exact, None);
        // Chunks that do not divide the rows: the pairwise merge must not care.
        let o = FitOptions {
            method: Method::Exact,
            batch: Some(700),
            ..FitOptions::default()
        };
        let s = fit_streamed(&path, &d.x_names, &d.y_name, kind, &o, &Runner::new()).unwrap();
        assert_eq!(s.rows, 3000);
        assert!(s.exact.is_none());
        assert_eq!(s.report.names, mem.names);
        let (a, b) = (s.report.ln_evidence.unwrap(), mem.ln_evidence.unwrap());
        assert!((a - b).abs() < 1e-9 * b.abs(), "{a} vs {b}");
        for j in 0..mem.mean.len() {
            let (m, e) = (s.report.mean[j], mem.mean[j]);
            assert!((m - e).abs() < 1e-9 * e.abs().max(1.0), "{j}: {m} vs {e}");
            let (m, e) = (s.report.sd[j], mem.sd[j]);
            assert!((m - e).abs() < 1e-9 * e, "{j}: {m} vs {e}");
        }
    }
}

#[test]
fn streamed_natural_svi_with_equal_chunks_reaches_the_exact_posterior() {
    use logz::bayes::fit::fit_streamed;
    let d = correlated(3000, 12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    write_csv(&d, &path);
    let kind = ModelKind::Linear(Noise::Known(1.5));
    let ex = run(&d, kind, Method::Exact, None);
    let o = FitOptions {
        method: Method::Natural,
        batch: Some(500),
        ..FitOptions::default()
    };
    let s = fit_streamed(&path, &d.x_names, &d.y_name, kind, &o, &Runner::new()).unwrap();
    assert_eq!(s.report.steps, 6);
    let (em, es) = s.exact.clone().unwrap();
    let r = &s.report;
    let lnp = r.ln_evidence.unwrap();
    let gap = lnp - r.elbo.unwrap();
    // KL ≥ 0 up to the rounding of two ~10⁴ numbers.
    assert!(gap > -1e-12 * lnp.abs() && gap < 1e-6, "KL gap {gap}");
    for j in 0..3 {
        assert!((em[j] - ex.mean[j]).abs() < 1e-9 * ex.mean[j].abs().max(1.0));
        assert!((es[j] - ex.sd[j]).abs() < 1e-9 * ex.sd[j]);
        assert!((r.mean[j] - ex.mean[j]).abs() < 1e-3 * ex.sd[j], "{j}");
        assert!((r.sd[j] - ex.sd[j]).abs() < 1e-3 * ex.sd[j], "{j}");
    }
    // What streaming cannot do is an error, never a panic.
    for (kind, method) in [
        (ModelKind::Logistic, Method::Exact),
        (kind, Method::AdviFullRank),
        (
            ModelKind::Linear(Noise::Unknown { a0: 1.0, b0: 1.0 }),
            Method::Natural,
        ),
    ] {
        let o = FitOptions {
            method,
            ..FitOptions::default()
        };
        assert!(fit_streamed(&path, &d.x_names, &d.y_name, kind, &o, &Runner::new()).is_err());
    }
}

#[test]
fn parallel_statistics_equal_sequential_ones() {
    // More than one block of 2¹⁶ rows, and a ragged last block.
    let d = correlated(150_001, 13);
    let (a, b) = (d.stats(), d.par_stats());
    assert_eq!(a.n, b.n);
    let rel = |x: f64, y: f64| (x - y).abs() <= 1e-9 * y.abs().max(1.0);
    assert!(rel(b.mean_y, a.mean_y) && rel(b.cyy, a.cyy));
    for j in 0..2 {
        assert!(
            rel(b.mean_x[j], a.mean_x[j]) && rel(b.cxy[j], a.cxy[j]),
            "{j}"
        );
    }
    for k in 0..4 {
        assert!(rel(b.cxx[k], a.cxx[k]), "{k}");
    }
}

#[test]
fn subsample_statistics_are_seeded_and_unbiased() {
    let d = data::age_income(50_000, 3);
    let (a, b) = (d.subsample_stats(10_000, 99), d.subsample_stats(10_000, 99));
    assert_eq!(a.n, 10_000.0);
    assert_eq!((a.mean_x[0], a.cyy), (b.mean_x[0], b.cyy));
    assert_ne!(a.mean_x[0], d.subsample_stats(10_000, 98).mean_x[0]);
    // Age ~ U(18, 80): sd 62/√12 ≈ 17.9, so the subsample mean has σ ≈ 0.18 around the full mean.
    let full = d.stats().mean_x[0];
    let sigma = 62.0 / 12f64.sqrt() / 100.0;
    assert!(
        (a.mean_x[0] - full).abs() < 5.0 * sigma,
        "{} vs {full}",
        a.mean_x[0]
    );
    let empty = Dataset {
        x: Vec::new(),
        y: Vec::new(),
        ..d
    };
    assert_eq!(empty.subsample_stats(10, 1).n, 0.0);
}

#[test]
fn benchmark_runs_reach_the_exact_posterior() {
    use logz::bayes::benchmark::{full_rank_advi, natural_svi, Tolerance};
    let tol = Tolerance::default();
    assert!(tol.reached(&[100.0, -2.0], &[1.0, 1.0], &[100.5, -2.01], &[1.05, 0.95]));
    assert!(!tol.reached(&[100.0, -2.0], &[1.0, 1.0], &[102.0, -2.0], &[1.0, 1.0]));
    assert!(!tol.reached(&[100.0, -2.0], &[1.0, 1.2], &[100.0, -2.0], &[1.0, 1.0]));
    let sigma = data::AGE_INCOME.2;
    let d = data::age_income(20_000, 1);
    let stats = d.par_stats();
    let sc = d
        .subsample_stats(10_000, 99)
        .scaling(&d.x_names, &d.y_name)
        .unwrap();
    let target = linear::exact(&stats, &sc, &d.x_names, Noise::Known(sigma), PRIOR_SCALE).unwrap();
    let nat = natural_svi(&d, &sc, sigma, &target, tol, 1024, 100_000, 1).unwrap();
    assert!(nat.reached && nat.steps.is_multiple_of(5), "{nat:?}");
    assert!(nat.sd_ratio > 0.9 && nat.sd_ratio < 1.1, "{nat:?}");
    // Same seed, same run.
    assert_eq!(
        nat,
        natural_svi(&d, &sc, sigma, &target, tol, 1024, 100_000, 1).unwrap()
    );
    let advi = full_rank_advi(&d, &sc, sigma, &target, tol, 1024, 0.05, 20_000).unwrap();
    assert!(advi.reached && advi.steps < 20_000, "{advi:?}");
    // Ten steps of Adam are nowhere near: not reached, and it says how far off the sd is.
    let short = full_rank_advi(&d, &sc, sigma, &target, tol, 1024, 0.05, 10).unwrap();
    assert_eq!((short.reached, short.steps), (false, 10));
    assert!(short.sd_ratio > 1.1, "{short:?}");
}
