//! K ranks as K threads of one process, gathering through shared memory.
//!
//! It lets the distributed methods be tested with `cargo test` — no MPI installed — and checked
//! bit for bit against one rank: [`run`]`(k, f)` runs `f(rank)` on k threads, each with its own
//! [`Group`] member installed as its communicator.

use super::Communicator;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};

/// The state shared by the members of a group.
struct Shared {
    size: usize,
    state: Mutex<State>,
    done: Condvar,
}

struct State {
    /// Buffers of the gather in progress (None: that rank has not arrived yet).
    slots: Vec<Option<Vec<u64>>>,
    arrived: usize,
    /// Completed gathers so far and the result of the last one.
    generation: u64,
    last: Arc<Vec<Vec<u64>>>,
}

/// One rank of an in-process group.
pub struct Group {
    rank: usize,
    shared: Arc<Shared>,
}

impl Group {
    /// The `size` members of a new group, rank 0 first.
    pub fn new(size: usize) -> Vec<Group> {
        let shared = Arc::new(Shared {
            size,
            state: Mutex::new(State {
                slots: vec![None; size],
                arrived: 0,
                generation: 0,
                last: Arc::new(Vec::new()),
            }),
            done: Condvar::new(),
        });
        (0..size)
            .map(|rank| Group {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }
}

impl Communicator for Group {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.shared.size
    }
    fn all_gather(&self, local: &[u64]) -> Vec<Vec<u64>> {
        let sh = &self.shared;
        let mut st = sh.state.lock().unwrap_or_else(|p| p.into_inner());
        st.slots[self.rank] = Some(local.to_vec());
        st.arrived += 1;
        let gen = st.generation;
        if st.arrived == sh.size {
            // The last to arrive publishes the result and starts the next generation; nobody
            // can complete the next gather before every rank has read this one.
            let all: Vec<Vec<u64>> = st
                .slots
                .iter_mut()
                .map(|s| s.take().unwrap_or_default())
                .collect();
            st.last = Arc::new(all);
            st.arrived = 0;
            st.generation += 1;
            sh.done.notify_all();
        } else {
            while st.generation == gen {
                st = sh.done.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
        st.last.as_ref().clone()
    }
    fn abort(&self, code: i32) -> ! {
        panic!("rank {} aborted the group with code {code}", self.rank)
    }
}

/// Run `f(rank)` as rank `rank` of a group of `k`, on k threads; the results in rank order.
pub fn run<R: Send>(k: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let members = Group::new(k);
    std::thread::scope(|s| {
        let handles: Vec<_> = members
            .into_iter()
            .map(|g| {
                let f = &f;
                s.spawn(move || {
                    let rank = g.rank;
                    super::with(Rc::new(g), || f(rank))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
