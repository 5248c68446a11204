//! Memory and time budgets: every size and count a user can ask for is estimated *before*
//! anything is allocated, and refused with an error naming the limit and how to change it.
//!
//! Two process-wide limits:
//! - **memory** (bytes): the default is half the memory the process may use — the physical RAM
//!   (`MemTotal` in /proc/meminfo), or less under a container's memory limit or `ulimit -v` —
//!   or 4 GiB where none of that can be read; the environment variable `LOGZ_MEMORY_LIMIT` (e.g. `8GiB`,
//!   `500MB`, `25%`) or [`set_memory_limit`] (the CLI's `--memory-limit`) overrides it.
//! - **time** (seconds): the default is one day; `LOGZ_TIME_LIMIT` (e.g. `2h`, `3d`) or
//!   [`set_time_limit`] (the CLI's `--time-limit`) overrides it. Work is counted in elementary
//!   operations (a spin update of the multi-spin kernel ≈ 1, of a generic sampler ≈ 10 plus its
//!   degree — a random number, an exponential and the local field —, a multiply-add of a
//!   network 1, …) and converted to a *lower bound* on the run time at [`OPS_PER_SECOND`], a
//!   rate no machine of today sustains on a single run. A request is refused only when even that optimistic bound exceeds the limit:
//!   the time check catches absurd requests (10¹¹ sweeps of a large lattice), it does not
//!   predict run times.
//!
//! Estimates are computed in `f64`, which cannot wrap around: a product of counts that would
//! overflow `usize` becomes a huge number and is refused, and a request that passes the check
//! is below 2⁵³ bytes, so the allocation code after it can use plain integer arithmetic.
//!
//! Library code calls [`check_memory`] / [`check_work`] (or the same methods of an explicit
//! [`Limits`] value) with a short description of what is being sized; the error reads e.g.
//! `sample: a trace of 1000000 chains × 10000 sweeps needs ~149 GiB, above the memory limit of
//! 11.8 GiB (raise it with --memory-limit or LOGZ_MEMORY_LIMIT)`.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Environment variable that sets the default memory limit.
pub const MEMORY_ENV: &str = "LOGZ_MEMORY_LIMIT";
/// Environment variable that sets the default time limit.
pub const TIME_ENV: &str = "LOGZ_TIME_LIMIT";
/// Optimistic throughput used to turn a count of elementary operations into a lower bound on
/// the run time (the multi-spin kernel does ~3·10⁹ spin updates per second on two cores).
pub const OPS_PER_SECOND: f64 = 1e10;
/// The default time limit: one day.
pub const DEFAULT_TIME_LIMIT: f64 = 86_400.0;
/// Memory limit used when the physical RAM cannot be read.
pub const FALLBACK_MEMORY_LIMIT: u64 = 4 << 30;

const GIB: f64 = (1u64 << 30) as f64;

/// Set explicitly by [`set_memory_limit`] (0 = not set).
static MEMORY: AtomicU64 = AtomicU64::new(0);
/// f64 bits of the time limit set by [`set_time_limit`] (0 = not set).
static TIME: AtomicU64 = AtomicU64::new(0);

/// A memory and a time budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Bytes a single request may allocate.
    pub memory: u64,
    /// Seconds a single request may take (see the module docs for how work is counted).
    pub time: f64,
}

impl Limits {
    /// The process-wide limits in force now.
    pub fn current() -> Limits {
        Limits {
            memory: memory_limit(),
            time: time_limit(),
        }
    }

    /// Ok if `bytes` fit the memory limit; otherwise an [`Error::OverBudget`] saying
    /// "`what`: `detail` needs ~X, above the memory limit of Y (…)".
    pub fn check_memory(&self, what: &str, detail: &str, bytes: f64) -> Result<()> {
        if bytes.is_nan() || bytes > self.memory as f64 {
            return Err(Error::OverBudget {
                what: what.to_string(),
                reason: format!(
                    "{detail} needs ~{}, above the memory limit of {} (raise it with \
                     --memory-limit or {MEMORY_ENV})",
                    format_bytes(bytes),
                    format_bytes(self.memory as f64)
                ),
            });
        }
        Ok(())
    }

    /// Ok if `ops` elementary operations can finish within the time limit at the optimistic
    /// rate [`OPS_PER_SECOND`]; otherwise an [`Error::OverBudget`].
    pub fn check_work(&self, what: &str, detail: &str, ops: f64) -> Result<()> {
        let seconds = ops / OPS_PER_SECOND;
        if seconds.is_nan() || seconds > self.time {
            return Err(Error::OverBudget {
                what: what.to_string(),
                reason: format!(
                    "{detail} = {ops:.2e} operations would take at least {} (at {:.0e} \
                     operations/s), above the time limit of {} (raise it with --time-limit or \
                     {TIME_ENV})",
                    format_seconds(seconds),
                    OPS_PER_SECOND,
                    format_seconds(self.time)
                ),
            });
        }
        Ok(())
    }

    /// Ok if a run of `seconds` (a requested duration) fits the time limit.
    pub fn check_seconds(&self, what: &str, seconds: f64) -> Result<()> {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "{what} must be a finite number of seconds > 0, got {seconds}"
            )));
        }
        if seconds > self.time {
            return Err(Error::OverBudget {
                what: what.to_string(),
                reason: format!(
                    "{} is above the time limit of {} (raise it with --time-limit or {TIME_ENV})",
                    format_seconds(seconds),
                    format_seconds(self.time)
                ),
            });
        }
        Ok(())
    }
}

/// [`Limits::check_memory`] against the process-wide limits.
pub fn check_memory(what: &str, detail: &str, bytes: f64) -> Result<()> {
    Limits::current().check_memory(what, detail, bytes)
}

/// [`Limits::check_work`] against the process-wide limits.
pub fn check_work(what: &str, detail: &str, ops: f64) -> Result<()> {
    Limits::current().check_work(what, detail, ops)
}

/// The memory limit in force (bytes).
pub fn memory_limit() -> u64 {
    match MEMORY.load(Ordering::Relaxed) {
        0 => default_memory_limit(),
        b => b,
    }
}

/// Set the process-wide memory limit (bytes; at least 1).
pub fn set_memory_limit(bytes: u64) {
    MEMORY.store(bytes.max(1), Ordering::Relaxed);
}

/// The time limit in force (seconds).
pub fn time_limit() -> f64 {
    match TIME.load(Ordering::Relaxed) {
        0 => default_time_limit(),
        b => f64::from_bits(b),
    }
}

/// Set the process-wide time limit (seconds; must be > 0, may be infinite).
pub fn set_time_limit(seconds: f64) -> Result<()> {
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(Error::arg(format!(
            "the time limit must be > 0 seconds, got {seconds}"
        )));
    }
    TIME.store(seconds.to_bits(), Ordering::Relaxed);
    Ok(())
}

/// `LOGZ_MEMORY_LIMIT` if set and valid, else half the memory this process may use
/// ([`usable_memory`]), else 4 GiB. Read once.
pub fn default_memory_limit() -> u64 {
    static DEFAULT: OnceLock<u64> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        if let Some(b) = std::env::var(MEMORY_ENV)
            .ok()
            .and_then(|s| parse_bytes(&s).ok())
        {
            return b;
        }
        usable_memory().map_or(FALLBACK_MEMORY_LIMIT, |ram| ram / 2)
    })
}

/// `LOGZ_TIME_LIMIT` if set and valid, else one day. Read once.
pub fn default_time_limit() -> f64 {
    static DEFAULT: OnceLock<f64> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var(TIME_ENV)
            .ok()
            .and_then(|s| parse_duration(&s).ok())
            .unwrap_or(DEFAULT_TIME_LIMIT)
    })
}

/// Physical RAM in bytes (`MemTotal` of /proc/meminfo), if it can be read.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The memory this process may use: the smallest of the physical RAM, the control group's
/// limit (a container's share: cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`) and the
/// address-space limit (`ulimit -v`, from /proc/self/limits); None if none can be read.
pub fn usable_memory() -> Option<u64> {
    let number =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let address_space = || -> Option<u64> {
        let text = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = text.lines().find(|l| l.starts_with("Max address space"))?;
        // "Max address space   <soft>   <hard>   bytes": the soft limit, unless "unlimited".
        line["Max address space".len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    [
        physical_memory(),
        number("/sys/fs/cgroup/memory.max"),
        number("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        address_space(),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Parse a size: a number with an optional unit — B, kB/MB/GB/TB (powers of 1000), KiB/MiB/
/// GiB/TiB or K/M/G/T (powers of 1024), case-insensitive — or a percentage of the memory the
/// process may use ([`usable_memory`], e.g. `50%`).
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim();
    let bad = || {
        Error::arg(format!(
            "'{s}' is not a memory size (e.g. 8GiB, 500MB, 25%)"
        ))
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let x: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let bytes = if unit == "%" {
        if !(x > 0.0 && x <= 100.0) {
            return Err(Error::arg(format!(
                "'{s}': a percentage of RAM must be in (0, 100]"
            )));
        }
        let ram = usable_memory().ok_or_else(|| {
            Error::arg(format!(
                "'{s}': the physical RAM is unknown here; give a size such as 8GiB"
            ))
        })?;
        ram as f64 * x / 100.0
    } else {
        let mult = match unit.as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            "tb" => 1e12,
            "k" | "kib" => 1024.0,
            "m" | "mib" => 1024.0 * 1024.0,
            "g" | "gib" => GIB,
            "t" | "tib" => GIB * 1024.0,
            _ => return Err(bad()),
        };
        x * mult
    };
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(Error::arg(format!(
            "'{s}': a memory limit must be at least 1 byte and below 16 EiB"
        )));
    }
    Ok(bytes as u64)
}

/// Parse a duration: seconds, or a number with s, m (minutes), h or d; `inf` or `none` for no
/// limit.
pub fn parse_duration(s: &str) -> Result<f64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "inf" || t == "none" || t == "unlimited" {
        return Ok(f64::INFINITY);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let x: f64 = num.parse().map_err(|_| {
        Error::arg(format!(
            "'{s}' is not a duration (e.g. 600, 30m, 2h, 3d, none)"
        ))
    })?;
    let mult = match unit.trim() {
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(Error::arg(format!(
                "'{s}': unknown time unit (use s, m, h or d)"
            )))
        }
    };
    let secs = x * mult;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(Error::arg(format!("'{s}': a time limit must be > 0")));
    }
    Ok(secs)
}

/// A byte count for people: "512 B", "3.0 MiB", "31 GiB", "1.6e+07 TiB".
pub fn format_bytes(b: f64) -> String {
    if b.is_nan() {
        return "an unknown amount".into();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = b;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{x:.0} B")
    } else if x >= 1e6 {
        format!("{x:.1e} {}", UNITS[u])
    } else if x >= 10.0 {
        format!("{x:.0} {}", UNITS[u])
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

/// A duration for people: "45 s", "12 min", "3.5 h", "2.0 days", "3.2e+04 years".
pub fn format_seconds(s: f64) -> String {
    if s.is_infinite() {
        return "forever".into();
    }
    if s.is_nan() {
        return "an unknown time".into();
    }
    if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s < 365.25 * 86_400.0 {
        format!("{:.1} days", s / 86_400.0)
    } else {
        let y = s / (365.25 * 86_400.0);
        if y >= 1e6 {
            format!("{y:.1e} years")
        } else {
            format!("{y:.0} years")
        }
    }
}

/// Operations of one generic single-spin update of a spin with `degree` neighbours (a random
/// number, an exponential and the local field).
pub fn spin_update_ops(degree: f64) -> f64 {
    10.0 + degree
}

/// Bytes of `count` values of `T` (as f64: cannot overflow).
pub fn bytes_of<T>(count: f64) -> f64 {
    count * std::mem::size_of::<T>() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("8 gib").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_bytes("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        for bad in [
            "",
            "GiB",
            "-1GiB",
            "8 parsecs",
            "1e400",
            "0",
            "nan",
            "99999999TiB",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        if let Some(usable) = usable_memory() {
            assert_eq!(parse_bytes("50%").unwrap(), usable / 2);
            assert!(physical_memory().is_none_or(|ram| usable <= ram));
        }
        assert!(parse_bytes("0%").is_err() && parse_bytes("150%").is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90").unwrap(), 90.0);
        assert_eq!(parse_duration("30m").unwrap(), 1800.0);
        assert_eq!(parse_duration("2h").unwrap(), 7200.0);
        assert_eq!(parse_duration("3d").unwrap(), 3.0 * 86_400.0);
        assert_eq!(parse_duration("none").unwrap(), f64::INFINITY);
        for bad in ["", "0", "-5", "nan", "5 weeks", "1e999"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_name_the_limit_and_how_to_raise_it() {
        let l = Limits {
            memory: 12 << 30,
            time: 86_400.0,
        };
        assert!(l.check_memory("t", "x", 1e9).is_ok());
        let e = l
            .check_memory(
                "sample",
                "a state of 1000000 chains × 4096 spins",
                33.3 * GIB,
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "sample: a state of 1000000 chains × 4096 spins needs ~33 GiB, above the memory limit of \
             12 GiB (raise it with --memory-limit or LOGZ_MEMORY_LIMIT)"
        );
        // Overflowed or undefined estimates are refused, never waved through.
        assert!(l.check_memory("t", "x", f64::INFINITY).is_err());
        assert!(l.check_memory("t", "x", f64::NAN).is_err());
        assert!(l.check_work("t", "x", 1e14).is_ok());
        let e = l.check_work("ais", "x", 1e20).unwrap_err().to_string();
        assert!(e.contains("above the time limit of 24.0 h"), "{e}");
        assert!(e.contains("--time-limit"), "{e}");
        assert!(l.check_work("t", "x", f64::NAN).is_err());
        assert!(l.check_seconds("--seconds", f64::INFINITY).is_err());
        assert!(l.check_seconds("--seconds", f64::NAN).is_err());
        assert!(l.check_seconds("--seconds", 1e6).is_err());
        assert!(l.check_seconds("--seconds", 2.0).is_ok());
    }

    #[test]
    fn formats_are_readable() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(format_bytes(31.4 * GIB), "31 GiB");
        assert_eq!(format_seconds(45.0), "45 s");
        assert_eq!(format_seconds(2.5), "2.50 s");
        assert_eq!(format_seconds(86_400.0), "24.0 h");
        assert_eq!(format_seconds(f64::INFINITY), "forever");
    }
}
