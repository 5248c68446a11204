//! Helpers shared by the CLI's test files: run the built `logz` binary, read its JSON, and
//! check the one-line refusal every bad input must get.
#![allow(dead_code)] // each test file uses a different subset

use assert_cmd::Command;
use std::time::{Duration, Instant};

/// The `logz` binary under test (no test may hang: 5 minutes at most per command).
pub fn logz() -> Command {
    let mut c = Command::cargo_bin("logz").expect("binary built");
    c.timeout(Duration::from_secs(300));
    c
}

/// Run, require success, and parse stdout as one JSON object.
#[track_caller]
pub fn json_of(args: &[&str]) -> serde_json::Value {
    let out = logz().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Run, expect exit code 2 within a few seconds, nothing on stdout and exactly one stderr line
/// (no panic) that contains every `want`.
#[track_caller]
pub fn refused(args: &[&str], want: &[&str]) {
    let t0 = Instant::now();
    let out = logz().args(args).output().expect("runs");
    let secs = t0.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: exit {:?}: {err}",
        out.status
    );
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    for w in want {
        assert!(err.contains(w), "{args:?}: '{err}' does not mention '{w}'");
    }
    assert!(secs < 10.0, "{args:?} took {secs:.1} s to refuse");
}

/// [`refused`] with one expected phrase.
#[track_caller]
pub fn fails_with(args: &[&str], want: &str) {
    refused(args, &[want]);
}
