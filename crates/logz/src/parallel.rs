//! A caller-chosen thread count.
//!
//! The parallel loops of logz run on rayon's current pool: by default the global one, with one
//! thread per core. [`with_threads`] runs a closure inside a pool of exactly `n` threads instead,
//! so that a caller (the CLI's `--threads`, a server sharing its cores) can bound the work.
//! Results do not depend on the count: every random stream is derived from the seed and the
//! index of its chain or run, never from the thread that happens to run it.

use crate::{Error, Result};

/// The largest thread count accepted (far above any core count; guards against typos).
pub const MAX_THREADS: usize = 1024;

/// Check a thread count: 1 ≤ `n` ≤ [`MAX_THREADS`].
pub fn check_threads(n: usize) -> Result<()> {
    if (1..=MAX_THREADS).contains(&n) {
        Ok(())
    } else {
        Err(Error::arg(format!(
            "the thread count must be between 1 and {MAX_THREADS}, got {n}"
        )))
    }
}

/// Run `f` on a new rayon pool of `n` threads (every `par_iter` inside it uses that pool) and
/// return its result. Errors if `n` is out of range or the pool cannot be built.
pub fn with_threads<R, F>(n: usize, f: F) -> Result<R>
where
    R: Send,
    F: FnOnce() -> R + Send,
{
    check_threads(n)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::arg(format!("cannot start {n} threads: {e}")))?;
    Ok(pool.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_the_requested_number_of_threads() {
        for n in [1, 3] {
            assert_eq!(with_threads(n, rayon::current_num_threads).unwrap(), n);
        }
    }

    #[test]
    fn refuses_counts_out_of_range() {
        for n in [0, MAX_THREADS + 1] {
            let e = with_threads(n, || ()).unwrap_err();
            assert!(e.to_string().contains("between 1 and 1024"), "{e}");
        }
    }
}
