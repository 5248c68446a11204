//! `--time-limit` through the run loop: an iterative method that runs out of time prints its
//! best answer so far, says why it stopped, and keeps its honest kind.

mod common;
use common::{json_of, logz};

/// VAN training of 15 000 steps × 64 samples on 36 spins: within the optimistic work check of
/// a 1 s limit (~0.8 s at 10¹⁰ operations/s), but several seconds in practice.
const VAN_TOO_LONG: [&str; 10] = [
    "--time-limit",
    "1s",
    "solve",
    "square:6",
    "-m",
    "van",
    "--steps",
    "15000",
    "--batch",
    "64",
];

#[test]
fn a_time_limit_returns_the_best_answer_so_far_with_its_kind() {
    let mut args = VAN_TOO_LONG.to_vec();
    args.push("--json");
    let v = json_of(&args);
    assert_eq!(v["termination"], "timeout", "{v}");
    assert_eq!(v["kind"], "stochastic_lower_bound", "{v}");
    assert_eq!(v["converged"], false, "{v}");
    assert!(v["iterations"].as_u64().unwrap() < 15_000, "{v}");
    assert!(v["ln_z"].as_f64().unwrap().is_finite());
    // The table says it too.
    let out = logz().args(VAN_TOO_LONG).arg("-q").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stopped: timeout"), "{text}");
    assert!(text.contains("time limit"), "{text}");
}

#[test]
fn runs_within_their_budget_say_how_they_ended() {
    let v = json_of(&["solve", "square:6", "-m", "mf", "--json"]);
    assert_eq!(v["termination"], "converged", "{v}");
    let v = json_of(&["solve", "square:4", "-m", "exact", "--json"]);
    assert_eq!(v["termination"], "completed", "{v}");
}

#[test]
fn ti_checkpoint_resumes_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ti.json");
    let ck = ck.to_str().unwrap();
    let args = [
        "solve",
        "square:4",
        "-m",
        "ti",
        "--sweeps",
        "200",
        "--checkpoint",
        ck,
        "--json",
    ];
    let first = json_of(&args);
    let again = json_of(&args);
    assert_eq!(first["ln_z"], again["ln_z"]);
    let notes = again["notes"].to_string();
    assert!(notes.contains("resumed from"), "{notes}");
    common::refused(
        &["solve", "square:4", "-m", "mf", "--checkpoint", ck],
        &["--checkpoint", "mf"],
    );
}
