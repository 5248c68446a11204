//! The library refuses, with `Error::OverBudget` (or `TooLarge` for exact methods, so that
//! `compare` skips them), every request that would not fit the memory or time budget — before
//! allocating. This test binary runs under a process-wide budget of 64 MiB and 1 hour.

use logz::exact::{elimination, Elimination, Exact};
use logz::mc::{sample, Ais, SampleOptions, ThermodynamicIntegration};
use logz::model::builders::{self, Params};
use logz::runner::Runner;
use logz::spin_vi::van::Van;
use logz::spin_vi::FactorizedVi;
use logz::{Error, Solver};
use std::sync::Once;

const BUDGET: u64 = 64 << 20;

fn budget() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        logz::limits::set_memory_limit(BUDGET);
        logz::limits::set_time_limit(3600.0).unwrap();
    });
}

fn over_budget(r: logz::Result<impl std::fmt::Debug>, want: &[&str]) {
    budget();
    match r {
        Err(e @ Error::OverBudget { .. }) => {
            let s = e.to_string();
            for w in want {
                assert!(s.contains(w), "'{s}' does not mention '{w}'");
            }
        }
        other => panic!("expected OverBudget, got {other:?}"),
    }
}

fn square(l: usize) -> logz::Model {
    builders::from_spec(&format!("square:{l}"), &Params::default()).unwrap()
}

#[test]
fn builders_estimate_the_model_before_building_it() {
    budget();
    // 56 B per edge + 20 B per spin: a 512² torus needs ~33 MiB, a 1024² one ~132 MiB.
    assert!(builders::from_spec("square:512", &Params::default()).is_ok());
    over_budget(
        builders::from_spec("square:1024", &Params::default()),
        &["model:", "1048576 spins and 2097152 edges", "64 MiB"],
    );
    over_budget(
        builders::from_spec("sk:2000", &Params::default()),
        &["1999000 edges"],
    );
    over_budget(
        builders::from_spec("cubic:100", &Params::default()),
        &["1000000 spins"],
    );
    // G(n, q) is sized by its expected edge count before a single edge is drawn.
    over_budget(
        builders::from_spec("er:20000:0.1", &Params::default()),
        &["20000 spins"],
    );
}

#[test]
fn sampler_runs_are_checked_before_allocating() {
    let m = square(8);
    let run = |o: SampleOptions| sample(&m, &o, &Runner::new()).map(|r| r.n);
    over_budget(
        run(SampleOptions {
            sweeps: 100_000_000,
            ..SampleOptions::default()
        }),
        &["sample:", "100000000", "memory limit"],
    );
    over_budget(
        run(SampleOptions {
            burn_in: usize::MAX,
            ..SampleOptions::default()
        }),
        &["time limit of 60 min"],
    );
    over_budget(
        run(SampleOptions {
            algorithm: logz::mc::Algorithm::Tempering,
            replicas: 1 << 40,
            ..SampleOptions::default()
        }),
        &["replicas"],
    );
    // Within the budget the same call runs.
    assert!(run(SampleOptions {
        sweeps: 200,
        burn_in: 10,
        ..SampleOptions::default()
    })
    .is_ok());
}

#[test]
fn stochastic_solvers_are_checked_before_allocating() {
    let m = square(4);
    let ti = ThermodynamicIntegration {
        rungs: (1 << 40) + 1,
        max_rungs: (1 << 40) + 1,
        ..Default::default()
    };
    over_budget(ti.solve(&m), &["ti:", "rungs"]);
    over_budget(
        Ais {
            runs: 1 << 40,
            ..Default::default()
        }
        .solve(&m),
        &["ais:", "runs"],
    );
    over_budget(
        Ais {
            steps: 1 << 40,
            ..Default::default()
        }
        .solve(&m),
        &["ais:", "time limit"],
    );
    over_budget(
        FactorizedVi {
            batch: 1 << 40,
            ..Default::default()
        }
        .solve(&m),
        &["bbvi:"],
    );
    over_budget(
        Van {
            batch: 1 << 40,
            ..Default::default()
        }
        .solve(&m),
        &["van:"],
    );
    over_budget(
        Van {
            width: Some(1 << 30),
            ..Default::default()
        }
        .solve(&m),
        &["van:"],
    );
}

#[test]
fn elimination_respects_the_budget_and_exact_picks_another_method() {
    budget();
    // 2 · 8 · 2^c ≤ 64 MiB: cliques of at most 22 variables.
    assert_eq!(Elimination::width_for_memory(BUDGET as f64), 21);
    assert_eq!(
        Elimination::width_for_memory(12.0 * (1u64 << 30) as f64),
        28
    );
    assert_eq!(Elimination::default().max_width, 21);
    let sk = builders::from_spec("sk:23", &Params::default()).unwrap();
    // Forcing width 28 past the default still meets the check before any table is built.
    let wide = Elimination {
        max_width: 28,
        ..Default::default()
    };
    let tree = wide.plan(&sk).unwrap();
    let peak = elimination::upward_peak_bytes(&tree, false);
    assert!(peak >= 1.5 * tree.largest_table_bytes(), "{peak}");
    match wide.solve(&sk) {
        Err(Error::TooLarge { method, reason }) => {
            assert_eq!(method, "elimination");
            assert!(
                reason.contains("above the memory limit of 64 MiB"),
                "{reason}"
            );
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // `exact` does not offer elimination for it, and answers by enumeration instead.
    assert!(!Exact::applicable(&sk).contains(&"elimination"));
    let e = Exact.solve(&sk).unwrap();
    assert!(
        e.diagnostics.algorithm.contains("enumerat"),
        "{}",
        e.diagnostics.algorithm
    );
}

#[test]
fn uai_streams_and_checks_declared_sizes() {
    budget();
    // Ten million declared factors are refused before a table is read.
    let e = logz::io::uai::parse("big.uai", "MARKOV\n1\n2\n10000000\n", &[]).unwrap_err();
    assert!(matches!(e, Error::OverBudget { .. }), "{e}");
    // A token with no end is cut off, whatever the input's length.
    let endless = std::io::BufReader::new(std::io::repeat(b'7'));
    let e = logz::io::uai::parse_reader("x.uai", endless, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.uai:1: a token longer than 1024"), "{e}");
    // Tokens are streamed with their lines: an error after a million blank lines names the line.
    let text = format!("MARKOV\n{}oops\n", "\n".repeat(1_000_000));
    let e = logz::io::uai::parse_reader("l.uai", text.as_bytes(), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("l.uai:1000002: expected the number of variables"),
        "{e}"
    );
    // Evidence with trailing tokens is malformed, not silently truncated.
    assert!(logz::io::uai::parse_evidence("e.evid", "1 0 1 7").is_err());
    assert_eq!(
        logz::io::uai::parse_evidence("e.evid", "2 0 1 3 0").unwrap(),
        vec![(0, 1), (3, 0)]
    );
}
