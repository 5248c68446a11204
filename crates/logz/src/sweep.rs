//! A β sweep: several solvers at every inverse temperature of a grid, run in parallel.
//!
//! Every (β, method) pair is one task. The tasks are ordered by a rough cost, largest first, and
//! every thread takes the next task in that order, so the last tasks to finish are short ones and
//! the threads run out of work together. Every solver carries its own seed, so the results do
//! not depend on the thread count or on which thread ran what.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, EstimateKind, Solver};
use crate::model::Model;
use crate::runner::Runner;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Rough relative cost of one task of the named method, for ordering tasks and weighting a
/// progress bar: Monte Carlo and trained networks dominate, exact methods and BBVI are
/// mid-sized, the deterministic approximations are cheap.
pub fn relative_cost(method: &str) -> u64 {
    match method {
        "ti" | "ais" | "van" | "van-iw" => 40,
        "bbvi" | "exact" | "enumerate" | "elimination" | "transfer" => 8,
        _ => 1,
    }
}

/// ⟨|m|⟩ where the method computes it; for approximate methods, |⟨m⟩| of their (possibly
/// symmetry-broken) solution. Exact methods without ⟨|m|⟩ report nothing rather than |⟨m⟩| = 0,
/// which by symmetry is all an exact ⟨m⟩ at zero field could say.
pub fn abs_magnetization(e: &Estimate) -> Option<f64> {
    e.abs_magnetization.or_else(|| {
        (e.kind != EstimateKind::Exact && !e.magnetization.is_empty())
            .then(|| e.mean_magnetization().abs())
    })
}

/// Run every solver at every β of `betas` on `base` (with its β replaced), each timed and
/// silent, under a child of `runner` (its deadline: a run out of time returns its best answer
/// so far). `costs[k]` is the relative cost of solver k (see [`relative_cost`]);
/// `done(cost)` is called as each task finishes (for a progress bar). Returns
/// `results[b][k]`: the estimate of solver k at `betas[b]`, or its error. An error overall only
/// if `costs` and `solvers` differ in length.
pub fn run(
    base: &Model,
    betas: &[f64],
    solvers: &[&(dyn Solver + Sync)],
    costs: &[u64],
    done: &(dyn Fn(u64) + Sync),
    runner: &Runner,
) -> Result<Vec<Vec<Result<Estimate>>>> {
    if solvers.len() != costs.len() {
        return Err(Error::InvalidArgument(format!(
            "{} solvers but {} costs",
            solvers.len(),
            costs.len()
        )));
    }
    // Largest first; the sort is stable, so equal costs keep (β, method) order.
    let mut tasks: Vec<(usize, usize)> = (0..betas.len())
        .flat_map(|b| (0..solvers.len()).map(move |k| (b, k)))
        .collect();
    tasks.sort_by_key(|&(_, k)| std::cmp::Reverse(costs[k]));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Estimate>>>> =
        tasks.iter().map(|_| Mutex::new(None)).collect();
    let workers = rayon::current_num_threads().min(tasks.len()).max(1);
    (0..workers).into_par_iter().for_each(|_| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(b, k)) = tasks.get(i) else { break };
        let r = base
            .with_beta(betas[b])
            .and_then(|m| runner.child().run(solvers[k], &m));
        done(costs[k]);
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    });
    let mut grid: Vec<Vec<Option<Result<Estimate>>>> = (0..betas.len())
        .map(|_| (0..solvers.len()).map(|_| None).collect())
        .collect();
    for (&(b, k), slot) in tasks.iter().zip(slots) {
        grid[b][k] = slot.into_inner().unwrap_or_else(|e| e.into_inner());
    }
    Ok(grid
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|r| r.expect("every task ran"))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::Exact;
    use crate::free_energy::meanfield::MeanField;
    use crate::mc::Ais;
    use crate::model::builders::{self, Params};

    fn torus() -> Model {
        let p = Params {
            coupling: 1.0,
            field: 0.1,
            beta: 0.3,
            seed: 1,
        };
        builders::square(4, 4, true, &p).unwrap()
    }

    #[test]
    fn every_task_equals_a_direct_solve_whatever_the_thread_count() {
        let m = torus();
        let betas = [0.1, 0.4, 0.7];
        let (ex, mf, ais) = (Exact, MeanField::default(), Ais::sweep_point());
        let solvers: [&(dyn Solver + Sync); 3] = [&ex, &mf, &ais];
        let costs = [8, 1, 40];
        let on = |threads: usize| {
            let done = AtomicUsize::new(0);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let g = pool
                .install(|| {
                    run(
                        &m,
                        &betas,
                        &solvers,
                        &costs,
                        &|c| {
                            done.fetch_add(c as usize, Ordering::Relaxed);
                        },
                        &Runner::new(),
                    )
                })
                .unwrap();
            // The progress callback saw every task's cost once.
            assert_eq!(done.into_inner(), 3 * 49);
            g
        };
        let (one, two) = (on(1), on(2));
        for (b, &beta) in betas.iter().enumerate() {
            let mb = m.with_beta(beta).unwrap();
            for k in 0..3 {
                let direct = solvers[k].solve(&mb).unwrap().ln_z;
                let (a, c) = (&one[b][k], &two[b][k]);
                assert_eq!(a.as_ref().unwrap().ln_z, direct, "β {beta}, solver {k}");
                assert_eq!(c.as_ref().unwrap().ln_z, direct, "β {beta}, solver {k}");
            }
        }
        // Mismatched costs are an error, not a panic.
        assert!(run(&m, &betas, &solvers, &costs[..2], &|_| {}, &Runner::new()).is_err());
    }

    #[test]
    fn abs_magnetization_of_exact_and_approximate_estimates() {
        let m = torus();
        let e = Exact.solve(&m).unwrap();
        // Enumeration computes ⟨|m|⟩ itself.
        assert_eq!(abs_magnetization(&e), e.abs_magnetization);
        let mf = MeanField::default().solve(&m).unwrap();
        let want = mf.mean_magnetization().abs();
        assert_eq!(abs_magnetization(&mf), Some(want));
        assert!(want > 0.0);
        // An exact method without ⟨|m|⟩ reports nothing rather than |⟨m⟩|.
        let mut no_abs = e.clone();
        no_abs.abs_magnetization = None;
        assert_eq!(abs_magnetization(&no_abs), None);
        assert_eq!(relative_cost("ais"), 40);
        assert_eq!(relative_cost("mf"), 1);
    }
}
