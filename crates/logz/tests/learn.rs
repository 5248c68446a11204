//! Learning models from samples: recovery from exact samples, the inversions' first-order
//! exactness, pseudo-likelihood gradients, Boltzmann moment matching, the log-likelihood bracket
//! and the CSV reader's errors.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use logz::learn::plm::{batch_objective, spin_objective};
use logz::learn::Samples;
use logz::model::Model;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A small random model: all pairs, couplings ~ U(−a, a), fields ~ U(−b, b).
fn random_model(n: usize, a: f64, b: f64, seed: u64) -> Model {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut edges = vec![];
    let mut j = vec![];
    for x in 0..n {
        for y in x + 1..n {
            edges.push((x, y));
            j.push(a * (2.0 * rng.random::<f64>() - 1.0));
        }
    }
    let h = (0..n)
        .map(|_| b * (2.0 * rng.random::<f64>() - 1.0))
        .collect();
    Model::new(n, &edges, &j, h, 1.0).unwrap()
}

/// M exact samples of a model small enough to enumerate: the 2^N probabilities, then inverse
/// CDF sampling.
fn exact_samples(m: &Model, count: usize, seed: u64) -> Samples {
    let n = m.n();
    let states: Vec<Vec<i8>> = (0..1usize << n)
        .map(|k| {
            (0..n)
                .map(|i| if k >> i & 1 == 1 { 1 } else { -1 })
                .collect()
        })
        .collect();
    let logw: Vec<f64> = states.iter().map(|s| -m.beta() * m.energy(s)).collect();
    let mx = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut cdf = Vec::with_capacity(states.len());
    let mut acc = 0.0;
    for l in &logw {
        acc += (l - mx).exp();
        cdf.push(acc);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let rows: Vec<&[i8]> = (0..count)
        .map(|_| {
            let u = rng.random::<f64>() * acc;
            let k = cdf.partition_point(|&c| c < u).min(states.len() - 1);
            states[k].as_slice()
        })
        .collect();
    Samples::from_rows(n, rows).unwrap()
}

#[test]
fn plm_batched_objective_matches_the_plain_one() {
    let m = random_model(7, 0.4, 0.3, 1);
    let data = exact_samples(&m, 3000, 2);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let params: Vec<Vec<f64>> = (0..7)
        .map(|_| (0..7).map(|_| rng.random::<f64>() - 0.5).collect())
        .collect();
    let active = [0usize, 3, 6];
    let refs: Vec<&[f64]> = active.iter().map(|&r| params[r].as_slice()).collect();
    let batch = batch_objective(&data, &active, &refs, 0.01);
    for (k, &r) in active.iter().enumerate() {
        let (f, g) = spin_objective(&data, r, &params[r], 0.01);
        assert!((batch[k].0 - f).abs() < 1e-5, "{} vs {f}", batch[k].0);
        for j in 0..7 {
            assert!(
                (batch[k].1[j] - g[j]).abs() < 1e-5,
                "spin {r} coordinate {j}"
            );
        }
    }
}

use logz::estimate::Solver;
use logz::exact::Exact;
use logz::learn::boltzmann::{self, BoltzmannOptions, Expectations};
use logz::learn::evaluate::{log_likelihood, reconstruction, residuals};
use logz::learn::invert::{invert, Inversion};
use logz::learn::{learn, Graph, LearnOptions, Method, Moments};
use nalgebra::DMatrix;

/// The exact moments of a model on the complete graph (every pair is an edge).
fn exact_moments(m: &Model) -> Moments {
    let est = Exact.solve(m).unwrap();
    let n = m.n();
    let mut second = DMatrix::identity(n, n);
    for (&(a, b), &c) in m.edges().iter().zip(est.edge_correlation.as_ref().unwrap()) {
        second[(a as usize, b as usize)] = c;
        second[(b as usize, a as usize)] = c;
    }
    Moments {
        mean: est.magnetization.clone(),
        second,
        samples: usize::MAX / 2,
    }
}

fn complete(n: usize) -> DMatrix<bool> {
    DMatrix::from_fn(n, n, |i, j| i != j)
}

/// ‖Ĵ − J‖_F over pairs for a dense estimate against a model.
fn coupling_gap(j: &DMatrix<f64>, m: &Model) -> f64 {
    m.edges()
        .iter()
        .zip(m.couplings())
        .map(|(&(a, b), &c)| (j[(a as usize, b as usize)] - c).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn plm_gradient_matches_finite_differences() {
    let m = random_model(6, 0.5, 0.3, 4);
    let data = exact_samples(&m, 500, 5);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
    for r in [0usize, 5] {
        let p: Vec<f64> = (0..6).map(|_| rng.random::<f64>() - 0.5).collect();
        let (_, g) = spin_objective(&data, r, &p, 0.03);
        for k in 0..6 {
            let h = 1e-5;
            let (mut up, mut down) = (p.clone(), p.clone());
            up[k] += h;
            down[k] -= h;
            let fd = (spin_objective(&data, r, &up, 0.03).0
                - spin_objective(&data, r, &down, 0.03).0)
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-8,
                "spin {r} coordinate {k}: {fd} vs {}",
                g[k]
            );
        }
    }
}

#[test]
fn mean_field_inversion_is_exact_to_first_order_and_tap_to_second() {
    // Couplings a·K with fields: the naive-MF error is O(a²), TAP's O(a³).
    let base = random_model(6, 1.0, 0.0, 7);
    let fields = vec![0.3, -0.2, 0.1, 0.25, -0.3, 0.15];
    let scaled = |a: f64| {
        let c: Vec<f64> = base.couplings().iter().map(|x| a * x).collect();
        let e: Vec<(usize, usize)> = base
            .edges()
            .iter()
            .map(|&(x, y)| (x as usize, y as usize))
            .collect();
        Model::new(6, &e, &c, fields.clone(), 1.0).unwrap()
    };
    let err = |a: f64, how| {
        let m = scaled(a);
        let (j, _) = invert(&exact_moments(&m), how, 0.0, &complete(6)).unwrap();
        coupling_gap(&j, &m)
    };
    let (mf1, mf2) = (
        err(0.04, Inversion::MeanField),
        err(0.02, Inversion::MeanField),
    );
    let (tap1, tap2) = (err(0.04, Inversion::Tap), err(0.02, Inversion::Tap));
    // Halving the couplings divides the error by 2² (MF) and 2³ (TAP).
    assert!((3.2..4.8).contains(&(mf1 / mf2)), "MF ratio {}", mf1 / mf2);
    assert!(
        (6.0..10.0).contains(&(tap1 / tap2)),
        "TAP ratio {}",
        tap1 / tap2
    );
    assert!(tap2 < mf2 / 5.0);
}

#[test]
fn bethe_inversion_is_exact_on_a_tree() {
    // A star plus a path (a tree) with fields: the Bethe inversion recovers J and h exactly.
    let edges = [(0, 1), (0, 2), (0, 3), (3, 4), (4, 5)];
    let j = [0.6, -0.4, 0.8, 0.5, -0.7];
    let h = vec![0.2, -0.3, 0.1, 0.0, 0.4, -0.2];
    let m = Model::new(6, &edges, &j, h.clone(), 1.0).unwrap();
    // Moments of all pairs: the same model on the complete graph with zero extra couplings.
    let mut all = vec![];
    let mut jc = vec![];
    for a in 0..6 {
        for b in a + 1..6 {
            all.push((a, b));
            jc.push(
                edges
                    .iter()
                    .position(|&e| e == (a, b))
                    .map_or(0.0, |k| j[k]),
            );
        }
    }
    let full = Model::new(6, &all, &jc, h.clone(), 1.0).unwrap();
    let mut allowed = DMatrix::from_element(6, 6, false);
    for &(a, b) in &edges {
        allowed[(a, b)] = true;
        allowed[(b, a)] = true;
    }
    let (jb, hb) = invert(&exact_moments(&full), Inversion::Bethe, 0.0, &allowed).unwrap();
    assert!(coupling_gap(&jb, &m) < 1e-9, "{}", coupling_gap(&jb, &m));
    for i in 0..6 {
        assert!(
            (hb[i] - h[i]).abs() < 1e-9,
            "h[{i}] = {} vs {}",
            hb[i],
            h[i]
        );
    }
    // Naive mean field is not exact there.
    let (jm, _) = invert(&exact_moments(&full), Inversion::MeanField, 0.0, &allowed).unwrap();
    assert!(coupling_gap(&jm, &m) > 1e-2);
}

#[test]
fn boltzmann_with_exact_expectations_matches_the_moments() {
    let m = random_model(7, 0.5, 0.4, 8);
    let data = exact_samples(&m, 2000, 9);
    let o = LearnOptions {
        method: Method::Boltzmann(Expectations::Exact),
        ..Default::default()
    };
    let l = learn(&data, &o).unwrap();
    let (res, noise) = l.residual.unwrap();
    assert!(res < 1e-8, "moment residual {res}");
    assert_eq!(noise, 0.0);
    // Checked independently of the learner's own bookkeeping.
    let (rm, rc) = residuals(&l.model, &data).unwrap().unwrap();
    assert!(rm < 1e-8 && rc < 1e-8, "{rm} {rc}");
}

/// ε_J of a method on M exact samples, averaged over seeds.
fn mean_error(m: &Model, method: Method, count: usize, seeds: u64) -> f64 {
    (0..seeds)
        .map(|s| {
            let data = exact_samples(m, count, 100 + s);
            let o = LearnOptions {
                method,
                ..Default::default()
            };
            let l = learn(&data, &o).unwrap();
            reconstruction(&l.model, m).unwrap().coupling_error.unwrap()
        })
        .sum::<f64>()
        / seeds as f64
}

#[test]
fn recovery_error_shrinks_like_one_over_sqrt_m() {
    let m = random_model(6, 0.6, 0.3, 10);
    for method in [Method::Plm, Method::Boltzmann(Expectations::Exact)] {
        let small = mean_error(&m, method, 1000, 4);
        let large = mean_error(&m, method, 16000, 4);
        // 16× the samples: 4× smaller error for a consistent estimator.
        let ratio = small / large;
        assert!((2.8..5.7).contains(&ratio), "{method:?}: ratio {ratio}");
        assert!(large < 0.1, "{method:?}: ε_J = {large} at M = 16000");
    }
}

#[test]
fn held_out_log_likelihood_is_bracketed() {
    let truth = random_model(8, 0.5, 0.3, 11);
    let train = exact_samples(&truth, 3000, 12);
    let test = exact_samples(&truth, 3000, 13);
    let l = learn(&train, &LearnOptions::default()).unwrap();
    let ll = log_likelihood(&l.model, &test, true).unwrap();
    let exact = ll.exact.unwrap();
    let (lo, hi) = (ll.lower.unwrap().0, ll.upper.unwrap().0);
    assert!(lo <= exact && exact <= hi, "{lo} ≤ {exact} ≤ {hi}");
    // The exact value by brute force: mean(−E) − ln Σ e^{−E}.
    let n = 8;
    let ln_z = (0..1usize << n)
        .map(|k| {
            let s: Vec<i8> = (0..n)
                .map(|i| if k >> i & 1 == 1 { 1 } else { -1 })
                .collect();
            (-l.model.energy(&s)).exp()
        })
        .sum::<f64>()
        .ln();
    let direct = test.rows().map(|r| -l.model.energy(r)).sum::<f64>() / test.len() as f64 - ln_z;
    assert!((direct - exact).abs() < 1e-9);
    // The learned model explains held-out data almost as well as the truth does.
    let ll_truth = log_likelihood(&truth, &test, false).unwrap().exact.unwrap();
    assert!(
        exact > ll_truth - 0.05 && exact < ll_truth + 0.05,
        "{exact} vs {ll_truth}"
    );
}

#[test]
fn learning_on_a_graph_keeps_other_couplings_zero() {
    let truth = Model::new(
        5,
        &[(0, 1), (1, 2), (2, 3), (3, 4)],
        &[0.5, -0.4, 0.6, 0.3],
        vec![0.1; 5],
        1.0,
    )
    .unwrap();
    let data = exact_samples(&truth, 4000, 14);
    for method in [
        Method::MeanField,
        Method::Tap,
        Method::Bethe,
        Method::Plm,
        Method::Boltzmann(Expectations::Exact),
    ] {
        let o = LearnOptions {
            method,
            graph: Graph::of(&truth),
            ..Default::default()
        };
        let l = learn(&data, &o).unwrap();
        assert_eq!(l.model.num_edges(), 4, "{method:?}");
        let e = reconstruction(&l.model, &truth)
            .unwrap()
            .coupling_error
            .unwrap();
        // Naive mean field and TAP are biased at these couplings; Bethe is exact on a tree,
        // and the likelihood methods are consistent.
        let cap = match method {
            Method::MeanField | Method::Tap => 0.3,
            _ => 0.08,
        };
        assert!(e < cap, "{method:?}: ε_J = {e}");
    }
}

#[test]
fn pcd_and_mean_field_boltzmann_learners() {
    let truth = random_model(6, 0.4, 0.2, 15);
    let data = exact_samples(&truth, 20000, 16);
    let mo = data.moments();
    let edges: Vec<(usize, usize)> = (0..6)
        .flat_map(|a| (a + 1..6).map(move |b| (a, b)))
        .collect();
    let o = BoltzmannOptions {
        expectations: Expectations::Pcd,
        steps: 600,
        chains: 500,
        ..Default::default()
    };
    let f = boltzmann::fit(&mo, &edges, &[], &o, None).unwrap();
    // Model moments from PCD match the data within a few sampling errors, and the run stops
    // there (before its step budget) saying so.
    assert!(
        f.residual < 5.0 * f.residual_noise && f.residual_noise < 0.02,
        "{} vs {}",
        f.residual,
        f.residual_noise
    );
    assert!(f.converged);
    assert_eq!(f.termination, logz::runner::Termination::Converged);
    assert!(f.steps < 600, "{} steps", f.steps);
    let exact = boltzmann::fit(&mo, &edges, &[], &BoltzmannOptions::default(), None).unwrap();
    let gap = (&f.j - &exact.j).norm() / exact.j.norm();
    assert!(gap < 0.2, "PCD vs exact MLE: relative gap {gap}");
    // Peterson–Anderson matches the off-diagonal correlations under linear response; at weak
    // coupling that is close to the naive mean-field inversion (which also matches the diagonal).
    let pa = BoltzmannOptions {
        expectations: Expectations::MeanField,
        steps: 3000,
        lr: 0.2,
        tol: 1e-9,
        ..Default::default()
    };
    let weak = random_model(6, 0.05, 0.2, 19);
    let mo = exact_moments(&weak);
    let f = boltzmann::fit(&mo, &edges, &[], &pa, None).unwrap();
    let (jmf, _) = invert(&mo, Inversion::MeanField, 0.0, &complete(6)).unwrap();
    assert!(f.converged, "residual {}", f.residual);
    let gap = (&f.j - &jmf).norm() / jmf.norm();
    assert!(
        gap < 0.1,
        "Peterson–Anderson vs naive mean field: relative gap {gap}"
    );
}

#[test]
fn csv_errors_name_the_file_and_line() {
    let cases = [
        ("", "f.csv:1", "empty"),
        ("s0,s1\n", "f.csv:1", "no samples"),
        ("s0,s1\n1,-1\n1,2\n", "f.csv:3", "'2'"),
        ("s0,s1\n1,-1\n1\n", "f.csv:3", "1 values"),
        ("s0,s0\n1,-1\n", "f.csv:1", "duplicate"),
        ("a,b\n1,-1\n0,1\n", "f.csv:3", "mixes"),
    ];
    for (text, place, what) in cases {
        let e = Samples::parse_csv("f.csv", text).unwrap_err().to_string();
        assert!(e.starts_with(place) && e.contains(what), "{text:?}: {e}");
    }
    // 0/1 data is read as −1/1, headerless files too.
    let s = Samples::parse_csv("f.csv", "0,1\n1,1\n0,0\n").unwrap();
    assert_eq!(s.raw(), &[-1, 1, 1, 1, -1, -1]);
}

#[test]
fn a_constant_column_gives_a_note_and_finite_parameters() {
    let truth = random_model(4, 0.5, 0.2, 17);
    let data = exact_samples(&truth, 500, 18);
    let rows: Vec<Vec<i8>> = data
        .rows()
        .map(|r| {
            let mut v = r.to_vec();
            v.push(1);
            v
        })
        .collect();
    let data = Samples::from_rows(5, rows.iter().map(|r| r.as_slice())).unwrap();
    assert!(
        data.notes.iter().any(|n| n.contains("'s4' never changes")),
        "{:?}",
        data.notes
    );
    for method in [
        Method::MeanField,
        Method::Tap,
        Method::Bethe,
        Method::Plm,
        Method::Boltzmann(Expectations::Exact),
    ] {
        let o = LearnOptions {
            method,
            ..Default::default()
        };
        let l = learn(&data, &o).unwrap();
        assert!(
            l.h.iter().all(|h| h.is_finite()) && l.h[4] > 3.0,
            "{method:?}: {:?}",
            l.h
        );
        assert!((0..4).all(|i| l.j[(i, 4)] == 0.0));
    }
}

#[test]
fn plm_on_a_sparse_graph_converges_to_the_tolerance() {
    // Few parameters per spin: near the optimum the line search compares losses that differ
    // by ~1e-8 relative, which single-precision loss sums could not resolve (spins stalled).
    let p = logz::model::builders::Params {
        coupling: 1.0,
        field: 0.0,
        beta: 0.3,
        seed: 0,
    };
    let truth = logz::model::builders::square(4, 4, true, &p).unwrap();
    let data = exact_samples(&truth, 4000, 20);
    let o = LearnOptions {
        graph: Graph::of(&truth),
        ..Default::default()
    };
    let l = learn(&data, &o).unwrap();
    assert!(l.converged, "{:?}", l.notes);
    let e = reconstruction(&l.model, &truth)
        .unwrap()
        .coupling_error
        .unwrap();
    assert!(e < 0.1, "ε_J = {e}");
}

#[test]
fn owlqn_solves_the_lasso_in_closed_form() {
    // f(x) = ½ Σ (x_k − a_k)², penalty λ Σ |x_k|: the minimiser soft-thresholds a.
    use logz::learn::lbfgs::{Lbfgs, Status};
    let a = [2.0, -0.3, 0.05, -1.5, 0.0, 0.7];
    let lambda = 0.4;
    let fg = |x: &[f64]| -> (f64, Vec<f64>) {
        let f = x.iter().zip(&a).map(|(x, a)| 0.5 * (x - a).powi(2)).sum();
        (f, x.iter().zip(&a).map(|(x, a)| x - a).collect())
    };
    let x0 = vec![0.0; a.len()];
    let (f0, g0) = fg(&x0);
    let mut l = Lbfgs::with_l1(
        x0,
        f0,
        g0,
        vec![false; a.len()],
        vec![lambda; a.len()],
        1e-12,
        100,
    );
    loop {
        let (f, g) = fg(l.trial());
        match l.tell(f, g) {
            Status::Continue => {}
            Status::Converged => break,
            Status::Stalled => panic!("stalled at {:?}", l.x()),
        }
    }
    for (x, a) in l.x().iter().zip(&a) {
        let want = a.signum() * (a.abs() - lambda).max(0.0);
        assert!((x - want).abs() < 1e-10, "{x} vs {want}");
        if a.abs() <= lambda {
            assert_eq!(*x, 0.0, "a coordinate inside the threshold is exactly zero");
        }
    }
}

#[test]
fn plm_with_l1_zeroes_absent_couplings_and_keeps_present_ones() {
    // A ring of 10 spins (J = 0.5): 10 of the 45 pairs couple.
    let n = 10;
    let edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
    let m = Model::new(n, &edges, &vec![0.5; n], vec![0.1; n], 1.0).unwrap();
    let data = exact_samples(&m, 4000, 7);
    let fit = |l1: f64| {
        learn(
            &data,
            &LearnOptions {
                l1,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let (plain, sparse) = (fit(0.0), fit(0.02));
    let is_edge = |i: usize, j: usize| (i + 1) % n == j || (j + 1) % n == i;
    let (mut zero_absent, mut absent, mut zero_present) = (0, 0, 0);
    let mut plain_zero = 0;
    for i in 0..n {
        for j in i + 1..n {
            if is_edge(i, j) {
                zero_present += usize::from(sparse.j[(i, j)] == 0.0);
                assert!(sparse.j[(i, j)] > 0.3, "J_{i}{j} = {}", sparse.j[(i, j)]);
            } else {
                absent += 1;
                zero_absent += usize::from(sparse.j[(i, j)].abs() < 1e-12);
                plain_zero += usize::from(plain.j[(i, j)].abs() < 1e-12);
            }
        }
    }
    assert_eq!(zero_present, 0);
    assert!(
        zero_absent * 10 >= absent * 8,
        "{zero_absent} of {absent} absent pairs zeroed"
    );
    assert_eq!(plain_zero, 0, "without L1 nothing is exactly zero");
    // And the penalty is refused where it does not apply, or out of range.
    for (method, l1) in [
        (Method::MeanField, 0.1),
        (Method::Plm, -1.0),
        (Method::Plm, f64::NAN),
    ] {
        let o = LearnOptions {
            method,
            l1,
            ..Default::default()
        };
        assert!(learn(&data, &o).is_err(), "{method:?} {l1}");
    }
}

#[test]
fn learners_report_to_the_runner_and_stop_with_what_they_have() {
    use logz::learn::learn_with;
    use logz::runner::{Control, Iteration, Runner, Termination};
    let truth = random_model(10, 0.6, 0.2, 21);
    let data = exact_samples(&truth, 5000, 22);
    for method in [
        Method::Plm,
        Method::Boltzmann(Expectations::Exact),
        Method::Boltzmann(Expectations::Pcd),
        Method::Boltzmann(Expectations::MeanField),
    ] {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        let runner = Runner::new().observe(move |it: &Iteration| {
            assert!(it.objective.is_some_and(f64::is_finite));
            let k = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if k >= 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        });
        let o = LearnOptions {
            method,
            ..Default::default()
        };
        let l = learn_with(&data, &o, &runner).unwrap();
        assert_eq!(l.termination, Termination::Stopped, "{method:?}");
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "{method:?}"
        );
        assert!(!l.converged, "{method:?}");
        assert!(l.j.iter().chain(&l.h).all(|x| x.is_finite()), "{method:?}");
    }
}

/// A strongly coupled ferromagnet (all pairs J = 0.4, N = 8, a small field): two wells
/// separated by a barrier of ~13 in energy (e^{−13} ≈ 2·10⁻⁶), where heat-bath chains almost
/// never cross at β = 1. With a parallel-tempering ladder behind every persistent chain, PCD
/// reaches the maximum-likelihood estimate: its average log-likelihood (exact, by enumeration)
/// is within PCD's noise of the MLE's — an exchange rule that broke detailed balance would feed
/// the measured β = 1 copy wrong states and bias the parameters. (The likelihood is flat along
/// the couplings here — moments inside a well barely depend on them — so the test judges ℓ.)
#[test]
fn pcd_with_parallel_tempering_when_chains_freeze() {
    let n = 8;
    let edges: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect();
    let truth = Model::new(n, &edges, &vec![0.4; edges.len()], vec![0.05; n], 1.0).unwrap();
    let data = exact_samples(&truth, 20000, 31);
    let mo = data.moments();
    // Average log-likelihood ℓ(θ) = Σ h_i ⟨s_i⟩ + Σ J_ij ⟨s_i s_j⟩ − ln Z(θ), Z by enumeration.
    let ell = |j: &DMatrix<f64>, h: &[f64]| {
        let c: Vec<f64> = edges.iter().map(|&(a, b)| j[(a, b)]).collect();
        let m = Model::new(n, &edges, &c, h.to_vec(), 1.0).unwrap();
        let lin: f64 = h.iter().zip(&mo.mean).map(|(a, b)| a * b).sum::<f64>()
            + edges
                .iter()
                .map(|&(a, b)| j[(a, b)] * mo.second[(a, b)])
                .sum::<f64>();
        lin - Exact.solve(&m).unwrap().ln_z
    };
    let mle = boltzmann::fit(&mo, &edges, &[], &BoltzmannOptions::default(), None).unwrap();
    assert!(mle.converged, "MLE residual {}", mle.residual);
    let best = ell(&mle.j, &mle.h);
    let pcd = |replicas: usize| {
        let o = BoltzmannOptions {
            expectations: Expectations::Pcd,
            steps: 1000,
            chains: 256,
            replicas,
            beta_min: 0.1,
            ..Default::default()
        };
        boltzmann::fit(&mo, &edges, &[], &o, None).unwrap()
    };
    let tempered = pcd(8);
    let acc = tempered
        .swap_acceptance
        .expect("a ladder reports its exchanges");
    let plain = pcd(1);
    assert!(plain.swap_acceptance.is_none());
    let deficit_t = best - ell(&tempered.j, &tempered.h);
    let deficit_p = best - ell(&plain.j, &plain.h);
    assert!(acc > 0.2, "lowest exchange acceptance {acc}");
    // The MLE is the maximum; PCD's noise costs ~ (parameters)/(2 × effective samples).
    assert!(
        deficit_t > -1e-9 && deficit_t < 2e-3,
        "tempered: ℓ deficit {deficit_t}"
    );
    assert!(deficit_p > -1e-9, "no estimate beats the MLE: {deficit_p}");
    // Bad ladders are refused.
    for (replicas, beta_min) in [(0, 0.3), (100, 0.3), (4, 0.0), (4, 1.0), (4, f64::NAN)] {
        let o = BoltzmannOptions {
            expectations: Expectations::Pcd,
            replicas,
            beta_min,
            ..Default::default()
        };
        assert!(boltzmann::fit(&mo, &edges, &[], &o, None).is_err());
    }
}

#[test]
fn plm_batched_objective_matches_the_plain_one_over_several_chunks() {
    // 20 000 rows of 7 spins are split into several row chunks, worked on by every thread;
    // the chunk sums must add up to the plain double-precision objective.
    let m = random_model(7, 0.4, 0.3, 4);
    let data = exact_samples(&m, 20_000, 5);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
    let params: Vec<Vec<f64>> = (0..7)
        .map(|_| (0..7).map(|_| rng.random::<f64>() - 0.5).collect())
        .collect();
    let active: Vec<usize> = (0..7).collect();
    let refs: Vec<&[f64]> = active.iter().map(|&r| params[r].as_slice()).collect();
    let batch = batch_objective(&data, &active, &refs, 0.01);
    for r in 0..7 {
        let (f, g) = spin_objective(&data, r, &params[r], 0.01);
        assert!((batch[r].0 - f).abs() < 1e-5, "{} vs {f}", batch[r].0);
        for j in 0..7 {
            assert!(
                (batch[r].1[j] - g[j]).abs() < 1e-5,
                "spin {r} coordinate {j}: {} vs {}",
                batch[r].1[j],
                g[j]
            );
        }
    }
}

#[test]
fn plm_warm_start_is_taken_on_large_data_and_reaches_the_cold_optimum() {
    use logz::learn::plm::{fit, PlmOptions};
    let n = 8;
    let truth = random_model(n, 0.3, 0.2, 7);
    let data = exact_samples(&truth, 48_000, 8);
    let allowed = complete(n);
    let warm_o = PlmOptions::default();
    let cold_o = PlmOptions {
        warm_start: false,
        ..PlmOptions::default()
    };
    let warm = fit(&data, &warm_o, &allowed, &[]).unwrap();
    let cold = fit(&data, &cold_o, &allowed, &[]).unwrap();
    assert_eq!(warm.warm_rows, Some(48_000 / 8), "the warm start is taken");
    assert_eq!(cold.warm_rows, None);
    assert_eq!((warm.stalled, cold.stalled), (0, 0));
    // Both answers are at the full data's optimum: every spin's double-precision gradient is
    // at the tolerance (plus the single-precision products' rounding, ~1e-7).
    for fit in [&warm, &cold] {
        for r in 0..n {
            let p: Vec<f64> = (0..n).map(|j| fit.asymmetric[(r, j)]).collect();
            let (_, g) = spin_objective(&data, r, &p, warm_o.l2);
            let gmax = g.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(gmax <= warm_o.tol + 1e-6, "spin {r}: ‖∇‖∞ = {gmax}");
        }
    }
    // Hence they agree: the loss is strongly convex (curvature ≳ 0.1 at these couplings), so
    // two points with gradients ≤ 1e-4 are within ~1e-3 of each other.
    let gap = (&warm.asymmetric - &cold.asymmetric).abs().max();
    assert!(gap < 2e-3, "warm and cold optima differ by {gap}");
}
