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
