//! Distributed runs: the same computation spread over the ranks of a communicator (MPI).
//!
//! A *communicator* is a fixed group of K cooperating processes ("ranks" 0..K). The library's
//! distributed methods — disorder averages ([`crate::disorder`]), thermodynamic integration and
//! annealed importance sampling ([`crate::mc::ti`], [`crate::mc::ais`]), parallel tempering
//! ([`crate::mc::sample`] with `pt`) and VAN training ([`crate::spin_vi::van`]) — ask the
//! *current* communicator ([`current`]) for their share of the work. Without one installed it is
//! [`Single`] (one rank) and nothing changes.
//!
//! # Same seed, same answer, whatever the number of ranks
//!
//! * Work is cut into *items* (instances, annealing runs, ladders, replicas, gradient chunks)
//!   that are numbered 0..n. Every random stream belongs to an item — it is seeded by
//!   [`crate::rng::stream_seed`]`(seed, item)` — never to a rank or a thread.
//! * Rank r computes the contiguous block [`share`]`(n, r, K)` of the items.
//! * Results are *gathered* ([`Communicator::all_gather`]) to every rank in item order and
//!   combined there in that order, exactly as the one-process code combines them. There is no
//!   floating-point all-reduce in an order chosen by the network: a sum over items is the same
//!   sum, term by term, on 1, 2 or 1024 ranks, so the answers are bit-identical.
//! * Every rank ends with the whole result; only rank 0 prints or writes files (the CLI's
//!   business).
//!
//! # Nesting
//!
//! A distributed method called *inside* another one's item (a TI solve inside one disorder
//! instance) must not distribute again — the other ranks are busy with their own items. [`map`]
//! therefore runs its items with the communicator suspended ([`Single`] seen from inside), and
//! the communicator is per thread: rayon's workers always see [`Single`].
//!
//! # Failures
//!
//! An error in one rank's item is gathered with the results, so every rank returns an error
//! ([`Error::Remote`] names the rank that failed) instead of waiting forever for a rank that
//! left. A failure outside a collective step is the front end's to handle: the CLI aborts the
//! whole job ([`Communicator::abort`]) with one line.
//!
//! The MPI communicator is in the `mpi` module behind the `mpi` cargo feature; [`threads`] runs K ranks
//! as threads of one process (for tests and for the cost model's comparisons).

#[cfg(feature = "mpi")]
pub mod mpi;
pub mod threads;
pub mod wire;

use crate::error::{Error, Result};
use crate::runner::Termination;
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
pub use wire::Wire;

/// A group of cooperating ranks. Collective calls ([`all_gather`](Self::all_gather),
/// [`barrier`](Self::barrier)) must be made by every rank in the same order.
pub trait Communicator {
    /// This process's rank, 0 ≤ rank < size.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `local` buffer, in rank order, on every rank (buffers may differ in length).
    fn all_gather(&self, local: &[u64]) -> Vec<Vec<u64>>;
    /// Wait until every rank has arrived.
    fn barrier(&self) {
        self.all_gather(&[]);
    }
    /// End the whole job at once with this exit code (every rank). Does not return.
    fn abort(&self, code: i32) -> !;
}

/// One process alone: rank 0 of 1. Gathering returns the local buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Single;

impl Communicator for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather(&self, local: &[u64]) -> Vec<Vec<u64>> {
        vec![local.to_vec()]
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn Communicator>>> = const { RefCell::new(None) };
}

/// The communicator of this thread ([`Single`] unless one is installed by [`with`]).
pub fn current() -> Rc<dyn Communicator> {
    CURRENT.with(|c| c.borrow().clone().unwrap_or_else(|| Rc::new(Single)))
}

/// The rank of this process in the current communicator.
pub fn rank() -> usize {
    current().rank()
}

/// The number of ranks of the current communicator.
pub fn size() -> usize {
    current().size()
}

/// Puts back the previous communicator when dropped (also on unwinding).
struct Restore(Option<Rc<dyn Communicator>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Run `f` with `comm` as this thread's communicator: the distributed methods it calls split
/// their work over `comm`'s ranks.
pub fn with<R>(comm: Rc<dyn Communicator>, f: impl FnOnce() -> R) -> R {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(comm));
    let _restore = Restore(prev);
    f()
}

/// Run `f` as one rank alone (nested work inside one item must not distribute again).
pub fn alone<R>(f: impl FnOnce() -> R) -> R {
    let prev = CURRENT.with(|c| c.borrow_mut().take());
    let _restore = Restore(prev);
    f()
}

/// The items rank `rank` of `size` computes out of `n`: a contiguous block, the first `n % size`
/// ranks taking one more. Depends on (n, rank, size) only.
pub fn share(n: usize, rank: usize, size: usize) -> Range<usize> {
    let (q, r) = (n / size, n % size);
    let start = rank * q + rank.min(r);
    start..start + q + usize::from(rank < r)
}

/// The rank that computes item `i` of `n` under [`share`].
pub fn owner(i: usize, n: usize, size: usize) -> usize {
    let (q, r) = (n / size, n % size);
    if i < r * (q + 1) {
        i / (q + 1)
    } else {
        r + (i - r * (q + 1)) / q.max(1)
    }
}

/// Gather every rank's local result (a value or an error) to every rank, in rank order.
/// If a rank failed, every rank returns an error: the local one where it happened, an
/// [`Error::Remote`] naming the lowest failed rank elsewhere.
pub fn gather<T: Wire>(comm: &dyn Communicator, local: Result<T>) -> Result<Vec<T>> {
    let mut buf = Vec::new();
    let local_err = match &local {
        Ok(v) => {
            buf.push(0);
            v.put(&mut buf);
            None
        }
        Err(e) => {
            buf.push(1);
            e.to_string().put(&mut buf);
            Some(e.clone())
        }
    };
    let all = comm.all_gather(&buf);
    let mut out = Vec::with_capacity(all.len());
    for (r, b) in all.iter().enumerate() {
        let mut rd = wire::Reader::new(b);
        match rd.u64()? {
            0 => out.push(T::take(&mut rd)?),
            _ => {
                if let Some(e) = local_err {
                    return Err(e);
                }
                return Err(Error::Remote {
                    rank: r,
                    message: String::take(&mut rd)?,
                });
            }
        }
    }
    drop(local);
    Ok(out)
}

/// `f(0), …, f(n − 1)` on every rank, each rank computing its [`share`] (in parallel on its
/// threads, with the communicator suspended) and the results gathered in item order.
/// With one rank this is a plain parallel map.
pub fn map<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Wire + Send,
    F: Fn(usize) -> Result<T> + Sync + Send,
{
    let comm = current();
    if comm.size() == 1 {
        return (0..n).into_par_iter().map(f).collect();
    }
    let mine = share(n, comm.rank(), comm.size());
    let local: Result<Vec<T>> = alone(|| mine.into_par_iter().map(&f).collect());
    Ok(gather(comm.as_ref(), local)?
        .into_iter()
        .flatten()
        .collect())
}

/// Agree on whether to stop: every rank passes what its runner says, every rank gets the first
/// rank's `Some` (in rank order) — so that a time limit that runs out on one rank stops all of
/// them at the same step instead of leaving the others waiting in a collective call.
pub fn agree(why: Option<Termination>) -> Option<Termination> {
    let comm = current();
    if comm.size() == 1 {
        return why;
    }
    let code = match why {
        None => 0,
        Some(Termination::Converged) => 1,
        Some(Termination::Completed) => 2,
        Some(Termination::MaxIterations) => 3,
        Some(Termination::Timeout) => 4,
        Some(Termination::Diverged) => 5,
        Some(Termination::Stopped) => 6,
    };
    comm.all_gather(&[code])
        .iter()
        .find_map(|b| match b.first().copied().unwrap_or(0) {
            1 => Some(Termination::Converged),
            2 => Some(Termination::Completed),
            3 => Some(Termination::MaxIterations),
            4 => Some(Termination::Timeout),
            5 => Some(Termination::Diverged),
            6 => Some(Termination::Stopped),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_items_once_in_order() {
        for n in [0, 1, 5, 16, 17] {
            for size in 1..=6 {
                let mut next = 0;
                for r in 0..size {
                    let s = share(n, r, size);
                    assert_eq!(s.start, next);
                    for i in s.clone() {
                        assert_eq!(owner(i, n, size), r, "n {n} size {size} item {i}");
                    }
                    next = s.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn map_gives_the_same_result_on_any_number_of_ranks() {
        let f = |i: usize| Ok((i as f64).sqrt() * 1e-3 + i as f64);
        let one = map(13, f).unwrap();
        for k in [2, 3, 4] {
            for got in threads::run(k, |_| map(13, f)) {
                assert_eq!(got.unwrap(), one);
            }
        }
    }

    #[test]
    fn a_failing_item_fails_every_rank_naming_the_rank() {
        let out = threads::run(3, |_| {
            map(9, |i| {
                if i == 7 {
                    Err(Error::arg("item seven is bad"))
                } else {
                    Ok(i as u64)
                }
            })
        });
        // Items 6..9 belong to rank 2: it keeps its own error, the others name it.
        assert_eq!(
            out[2].as_ref().unwrap_err(),
            &Error::arg("item seven is bad")
        );
        for e in &out[..2] {
            let e = e.as_ref().unwrap_err().to_string();
            assert!(
                e.contains("rank 2") && e.contains("item seven is bad"),
                "{e}"
            );
        }
    }

    #[test]
    fn nested_work_does_not_distribute_again() {
        let out = threads::run(2, |_| map(4, |_| Ok(size() as u64)));
        for o in out {
            assert_eq!(o.unwrap(), vec![1; 4]);
        }
    }

    #[test]
    fn the_first_rank_that_stops_stops_everyone() {
        let out = threads::run(3, |r| agree((r == 1).then_some(Termination::Timeout)));
        assert!(out.iter().all(|w| *w == Some(Termination::Timeout)));
        let out = threads::run(2, |_| agree(None));
        assert!(out.iter().all(|w| w.is_none()));
    }
}
