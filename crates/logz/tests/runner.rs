//! The run loop: every iterative method reports to the runner, stops when an observer or the
//! time budget says so, and returns its best answer so far with an honest kind and the reason
//! it stopped.

use logz::prelude::*;
use logz::runner::{Control, Iteration, Runner, Termination};
use std::sync::atomic::{AtomicUsize, Ordering};

fn torus(l: usize, beta: f64, field: f64) -> Model {
    let p = Params {
        coupling: 1.0,
        field,
        beta,
        seed: 0,
    };
    builders::square(l, l, true, &p).unwrap()
}

/// A runner whose observer stops the run at the first report, counting the reports it saw.
fn stop_at_first(seen: &AtomicUsize) -> Runner<'_> {
    Runner::new().observe(move |_: &Iteration| {
        seen.fetch_add(1, Ordering::Relaxed);
        Control::Stop
    })
}

#[test]
fn an_observer_stops_every_iterative_method_and_the_kind_stays_honest() {
    // A field so that no start is a fixed point after one sweep; β near T_c so that nothing
    // converges in a few iterations.
    let m = torus(6, 0.42, 0.05);
    let exact = Exact.solve(&m).unwrap().ln_z;
    let solvers: Vec<Box<dyn Solver>> = vec![
        Box::new(MeanField::default()),
        Box::new(Tap::default()),
        Box::new(Bethe::default()),
        Box::new(Trw::default()),
        Box::new(FactorizedVi {
            steps: 2_000,
            ..FactorizedVi::default()
        }),
        Box::new(Van {
            steps: 500,
            batch: 64,
            eval_samples: 2_000,
            ..Van::default()
        }),
    ];
    for s in &solvers {
        let seen = AtomicUsize::new(0);
        let e = stop_at_first(&seen).run(s.as_ref(), &m).unwrap();
        let name = s.name();
        // One report, then stop (parallel starts may each have reported once before they saw
        // the stop).
        let seen = seen.load(Ordering::Relaxed);
        let most = if name == "bbvi" {
            rayon::current_num_threads()
        } else {
            1
        };
        assert!((1..=most).contains(&seen), "{name}: {seen} reports");
        assert_eq!(e.diagnostics.termination, Termination::Stopped, "{name}");
        assert!(
            !e.diagnostics.converged,
            "{name}: a stopped run is not converged"
        );
        assert!(
            e.diagnostics
                .notes
                .iter()
                .any(|n| n.contains("stopped by an observer")),
            "{name}: {:?}",
            e.diagnostics.notes
        );
        // The kind is the method's usual one, and the bounds still hold at the early answer.
        match name {
            "mf" | "bbvi" => {
                assert_eq!(e.kind, EstimateKind::LowerBound, "{name}");
                assert!(e.ln_z <= exact + 1e-9, "{name}: {} > exact {exact}", e.ln_z);
            }
            "trw" => {
                assert_eq!(e.kind, EstimateKind::UpperBound, "{name}");
                assert!(e.ln_z >= exact - 1e-9, "{name}: {} < exact {exact}", e.ln_z);
            }
            "van" => assert_eq!(e.kind.label(), "stochastic_lower_bound"),
            _ => assert_eq!(e.kind, EstimateKind::Approximation, "{name}"),
        }
    }
}

#[test]
fn without_observers_or_budgets_runs_end_as_before() {
    let m = torus(6, 0.3, 0.05);
    let mf = MeanField::default();
    let e = mf.solve(&m).unwrap();
    assert_eq!(e.diagnostics.termination, Termination::Converged);
    // The same numbers through an explicit runner that never stops.
    let r = Runner::new().observe(|_: &Iteration| Control::Continue);
    let f = r.run(&mf, &m).unwrap();
    assert_eq!(e.ln_z, f.ln_z);
    assert_eq!(e.magnetization, f.magnetization);
    // An exact method has no iterations to stop: it completes.
    assert_eq!(
        Exact.solve(&m).unwrap().diagnostics.termination,
        Termination::Completed
    );
    // Too few sweeps allowed: out of iterations, not converged.
    let short = MeanField {
        max_sweeps: 1,
        tol: 1e-15,
        random_starts: 0,
        ..MeanField::default()
    };
    let e = short.solve(&torus(6, 0.42, 0.05)).unwrap();
    assert_eq!(e.diagnostics.termination, Termination::MaxIterations);
    assert!(!e.diagnostics.converged);
}

#[test]
fn observers_see_the_objective_and_parameters_as_the_run_goes() {
    let m = torus(4, 0.3, 0.1);
    let mut elbos = Vec::new();
    {
        let r = Runner::new().observe(|it: &Iteration| {
            assert_eq!(it.method, "van");
            elbos.push(it.objective.expect("VAN reports its ELBO"));
            Control::Continue
        });
        let van = Van {
            steps: 200,
            batch: 64,
            eval_samples: 500,
            ..Van::default()
        };
        let e = r.run(&van, &m).unwrap();
        assert_eq!(e.diagnostics.termination, Termination::Completed);
    }
    // One report every 10 steps, and training improves the ELBO.
    assert_eq!(elbos.len(), 20);
    assert!(elbos[19] > elbos[0], "{elbos:?}");
}

#[test]
fn a_time_budget_returns_the_best_answer_so_far() {
    let m = torus(8, 0.4, 0.0);
    let exact = Exact.solve(&m).unwrap().ln_z;
    // VAN with far more steps than 0.3 s allows: training stops, the network is evaluated at
    // the target β, and its ELBO is still a stochastic lower bound.
    let van = Van {
        steps: 1_000_000,
        batch: 64,
        eval_samples: 2_000,
        ..Van::default()
    };
    let e = Runner::new().with_time_limit(0.3).run(&van, &m).unwrap();
    assert_eq!(e.diagnostics.termination, Termination::Timeout);
    assert!(e.diagnostics.iterations < 1_000_000);
    assert_eq!(e.kind.label(), "stochastic_lower_bound");
    let se = e.kind.std_err().unwrap();
    assert!(e.ln_z <= exact + 5.0 * se, "{} vs {exact}", e.ln_z);
    assert!(e.diagnostics.notes.iter().any(|n| n.contains("time limit")));

    // TI out of time: the ladders are trimmed to a common length and still give ln Z within
    // its error bar.
    let m = torus(4, 0.4, 0.0);
    let exact = Exact.solve(&m).unwrap().ln_z;
    let ti = ThermodynamicIntegration {
        sweeps: 200_000,
        ..ThermodynamicIntegration::default()
    };
    let e = Runner::new().with_time_limit(1.0).run(&ti, &m).unwrap();
    assert_eq!(e.diagnostics.termination, Termination::Timeout);
    let se = e.kind.std_err().unwrap();
    assert!(se < 0.5, "σ = {se}");
    assert!(
        (e.ln_z - exact).abs() < 5.0 * se,
        "{} vs {exact} ± {se}",
        e.ln_z
    );
}

#[test]
fn a_sampler_out_of_time_keeps_what_every_chain_measured() {
    use logz::mc::{sample, SampleOptions};
    let m = torus(8, 0.3, 0.0);
    // The generic sampler (~10 ns per spin update): 4 × 64 × 10⁷ updates take far longer
    // than the budget.
    let o = SampleOptions {
        sweeps: 10_000_000,
        burn_in: 100,
        chains: 4,
        kernel: logz::mc::KernelChoice::Generic,
        ..SampleOptions::default()
    };
    let run = sample(&m, &o, &Runner::new().with_time_limit(0.3)).unwrap();
    assert_eq!(run.termination, Termination::Timeout);
    let len = run.chains[0].energy.len();
    assert!((2..10_000_000).contains(&len));
    for c in &run.chains {
        assert_eq!(c.energy.len(), len);
        assert_eq!(c.magnetization.len(), len);
    }
    let s = run.summary();
    assert!(s.observables.iter().all(|o| o.value.is_finite()));
}

#[test]
fn ti_resumes_from_its_checkpoint_bit_for_bit() {
    let m = torus(4, 0.4, 0.1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ti.json");
    let ti = ThermodynamicIntegration {
        sweeps: 200,
        checkpoint: Some(path.clone()),
        ..ThermodynamicIntegration::default()
    };
    let first = ti.solve(&m).unwrap();
    assert!(
        path.exists(),
        "a checkpoint is written after the measured round"
    );
    // The same run again picks up the saved state: no sweep is repeated, and the answer is
    // the same to the last bit (states, generators and traces were all restored).
    let again = ti.solve(&m).unwrap();
    assert_eq!(first.ln_z.to_bits(), again.ln_z.to_bits());
    assert_eq!(first.kind, again.kind);
    assert_eq!(first.magnetization, again.magnetization);
    assert!(again
        .diagnostics
        .notes
        .iter()
        .any(|n| n.contains("resumed from")));
    // Without a checkpoint the run gives the same numbers too.
    let plain = ThermodynamicIntegration {
        checkpoint: None,
        ..ti.clone()
    }
    .solve(&m)
    .unwrap();
    assert_eq!(plain.ln_z.to_bits(), first.ln_z.to_bits());
    // Another run (another seed) refuses the file; a damaged file is a parse error.
    let other = ThermodynamicIntegration {
        seed: 9,
        ..ti.clone()
    };
    let err = other.solve(&m).unwrap_err().to_string();
    assert!(err.contains("another run"), "{err}");
    std::fs::write(&path, "{\"fingerprint\": 3").unwrap();
    let err = ti.solve(&m).unwrap_err().to_string();
    assert!(err.contains("not a TI checkpoint"), "{err}");
}
