//! Running under `mpirun` (cargo feature `mpi`): every rank runs the same command, the library
//! spreads the distributed work (see `logz::distributed`), and only rank 0 prints and writes
//! files. Without the feature — or under `mpirun` with one rank — nothing here changes anything.
//!
//! Failures: an error on any rank of a multi-rank job aborts the whole job (MPI_Abort) after
//! one line on stderr, so no rank is left waiting in a collective call. A rank other than 0
//! waits a moment first: when every rank fails the same way (a bad argument), rank 0's line is
//! the only one. `LOGZ_MPI_FAIL_RANK=r` makes rank r fail on purpose before it starts its
//! command (for testing that path).

use std::sync::atomic::{AtomicUsize, Ordering};

/// This process's rank and the number of ranks (0 and 1 unless running under MPI).
static RANK: AtomicUsize = AtomicUsize::new(0);
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
static SIZE: AtomicUsize = AtomicUsize::new(1);

/// Whether this process prints and writes files (rank 0).
pub fn is_root() -> bool {
    RANK.load(Ordering::Relaxed) == 0
}

/// The MPI environment for the length of `main` (finalised when dropped); nothing without the
/// feature.
pub struct Session {
    #[cfg(feature = "mpi")]
    _universe: logz::distributed::mpi::Universe,
}

/// Dropping the session finalises MPI (through its universe, feature `mpi`): explicit, so that
/// `main` can end the session before `process::exit`, which runs no destructors.
impl Drop for Session {
    fn drop(&mut self) {}
}

/// Start MPI (feature `mpi`): ranks known from here on.
pub fn start() -> anyhow::Result<Session> {
    #[cfg(feature = "mpi")]
    {
        use logz::distributed::Communicator;
        let universe = logz::distributed::mpi::init()?;
        let w = logz::distributed::mpi::World::new();
        RANK.store(w.rank(), Ordering::Relaxed);
        SIZE.store(w.size(), Ordering::Relaxed);
        Ok(Session {
            _universe: universe,
        })
    }
    #[cfg(not(feature = "mpi"))]
    Ok(Session {})
}

/// Run a command with the world communicator installed on this thread (feature `mpi`).
pub fn within<R>(f: impl FnOnce() -> anyhow::Result<R>) -> anyhow::Result<R> {
    if let Ok(r) = std::env::var("LOGZ_MPI_FAIL_RANK") {
        if r.trim().parse::<usize>().ok() == Some(RANK.load(Ordering::Relaxed)) {
            anyhow::bail!(
                "rank {r} failed on purpose (LOGZ_MPI_FAIL_RANK={r}): testing the abort path"
            );
        }
    }
    #[cfg(feature = "mpi")]
    if SIZE.load(Ordering::Relaxed) > 1 {
        let world = std::rc::Rc::new(logz::distributed::mpi::World::new());
        return logz::distributed::with(world, f);
    }
    f()
}

/// End the process after an error: one line on stderr; in a multi-rank job, abort every rank.
pub fn fail(message: &str, session: Session) -> ! {
    #[cfg(feature = "mpi")]
    {
        let (rank, size) = (RANK.load(Ordering::Relaxed), SIZE.load(Ordering::Relaxed));
        if size > 1 {
            use logz::distributed::Communicator;
            if rank != 0 {
                // Let rank 0 report a failure every rank shares.
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            eprintln!("logz: error: rank {rank} of {size}: {message}");
            logz::distributed::mpi::World::new().abort(2);
        }
    }
    eprintln!("logz: error: {message}");
    drop(session);
    std::process::exit(2)
}
