//! The MPI communicator (cargo feature `mpi`): the ranks of `mpirun -np K`.
//!
//! [`init`] starts MPI once per process (threads allowed: rayon runs the work inside a rank, and
//! the CLI may call MPI from a pool thread, one call at a time — `MPI_THREAD_SERIALIZED`);
//! the returned [`Universe`] finalises MPI when dropped. [`World`] is `MPI_COMM_WORLD` as a
//! [`Communicator`]: a gather is two `MPI_Allgather(v)` calls (the lengths, then the words).

use super::Communicator;
use crate::error::{Error, Result};
use mpi::collective::CommunicatorCollectives as _;
use mpi::datatype::PartitionMut;
use mpi::environment::Threading;
use mpi::topology::Communicator as _;
use mpi::topology::SimpleCommunicator;
use mpi::Count;

pub use mpi::environment::Universe;

/// Start MPI (once per process). Errors if it was already started or cannot give the
/// serialised threading level the distributed methods need.
pub fn init() -> Result<Universe> {
    let (universe, level) = mpi::initialize_with_threading(Threading::Serialized)
        .ok_or_else(|| Error::arg("MPI was already initialised in this process"))?;
    if level < Threading::Serialized {
        return Err(Error::arg(format!(
            "the MPI library offers thread level {level:?}; logz needs Serialized"
        )));
    }
    Ok(universe)
}

/// `MPI_COMM_WORLD`.
pub struct World {
    comm: SimpleCommunicator,
}

impl World {
    /// The world communicator (MPI must have been started by [`init`]).
    pub fn new() -> World {
        World {
            comm: SimpleCommunicator::world(),
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl Communicator for World {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }
    fn size(&self) -> usize {
        self.comm.size() as usize
    }
    fn all_gather(&self, local: &[u64]) -> Vec<Vec<u64>> {
        let size = self.size();
        let mine = local.len() as Count;
        let mut counts = vec![0 as Count; size];
        self.comm.all_gather_into(&mine, &mut counts[..]);
        let displs: Vec<Count> = counts
            .iter()
            .scan(0, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let mut buf = vec![0u64; total];
        {
            let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            self.comm.all_gather_varcount_into(local, &mut part);
        }
        counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| buf[d as usize..(d + c) as usize].to_vec())
            .collect()
    }
    fn barrier(&self) {
        self.comm.barrier();
    }
    fn abort(&self, code: i32) -> ! {
        self.comm.abort(code)
    }
}
