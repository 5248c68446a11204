//! The `logz` binary under `mpirun` (cargo feature `mpi`; needs Open MPI's `mpirun` on PATH):
//! the distributed commands print the same JSON, bit for bit, on 1 rank and on K ranks, and a
//! rank that fails ends the job with an error instead of a hang.
//!
//! Rank counts: `LOGZ_MPI_RANKS` (comma-separated, default `2,4`); more ranks than cores need
//! `OMPI_MCA_rmaps_base_oversubscribe=1`, which the tests set, as they set Open MPI's
//! permission to run as root (containers, CI).
#![cfg(feature = "mpi")]

use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Keys whose values are timings or file names, not results.
const VOLATILE: &[&str] = &["seconds", "flip_attempts_per_ns", "out"];

fn ranks() -> Vec<usize> {
    std::env::var("LOGZ_MPI_RANKS")
        .unwrap_or_else(|_| "2,4".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("LOGZ_MPI_RANKS: comma-separated rank counts")
        })
        .collect()
}

/// `mpirun -np K logz ARGS…` with a deadline (a hang is a failure, not a stuck test).
fn mpirun(np: usize, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.arg("-np")
        .arg(np.to_string())
        .arg(env!("CARGO_BIN_EXE_logz"))
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .expect("mpirun not found: install Open MPI (openmpi-bin)");
    let t0 = Instant::now();
    while child.try_wait().expect("waiting for mpirun").is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("mpirun -np {np} logz {args:?} still running after 120 s: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("mpirun output")
}

fn strip(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .map(|(k, v)| (k, strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
        v => v,
    }
}

/// The command's JSON (without timings) on `np` ranks; it must succeed.
fn json(np: usize, args: &[&str]) -> String {
    let out = mpirun(np, args, &[]);
    assert!(
        out.status.success(),
        "mpirun -np {np} logz {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("-np {np}: not one JSON document ({e}): {text}"));
    // Floats are printed shortest-round-trip, so equal text is equal bits.
    serde_json::to_string(&strip(v)).unwrap()
}

fn same_on_every_rank_count(args: &[&str]) {
    let one = json(1, args);
    for np in ranks() {
        assert_eq!(
            json(np, args),
            one,
            "logz {args:?}: -np {np} differs from -np 1"
        );
    }
}

#[test]
fn parallel_tempering_observables_are_identical() {
    // The multi-spin kernel (square and cubic torus, exchanges every sweep and every 7 sweeps)
    // and the generic one: each replica's streams are its own, whichever rank runs it.
    for (model, kernel, every) in [
        ("square:8", "multispin", "1"),
        ("square:8", "multispin", "7"),
        ("cubic:4", "multispin", "1"),
        ("square:8", "generic", "1"),
    ] {
        let args = [
            "sample",
            model,
            "-a",
            "pt",
            "--beta",
            "0.44",
            "--replicas",
            "6",
            "--chains",
            "2",
            "--sweeps",
            "400",
            "--burn-in",
            "50",
            "--seed",
            "3",
            "--kernel",
            kernel,
            "--exchange-every",
            every,
            "--json",
        ];
        same_on_every_rank_count(&args);
        let v: Value = serde_json::from_str(&json(1, &args)).unwrap();
        assert_eq!(v["kernel"], kernel, "{model}");
    }
}

#[test]
fn ti_and_ais_ln_z_are_identical() {
    same_on_every_rank_count(&[
        "solve", "square:6", "-m", "ti", "--beta", "0.4", "--sweeps", "300", "--chains", "3",
        "--seed", "2", "--json",
    ]);
    same_on_every_rank_count(&[
        "solve", "square:6", "-m", "ais", "--beta", "0.4", "--steps", "100", "--runs", "10",
        "--seed", "2", "--json",
    ]);
}

#[test]
fn disorder_means_are_identical() {
    same_on_every_rank_count(&[
        "disorder",
        "sk:10",
        "--instances",
        "7",
        "--betas",
        "0.5,1.5",
        "--methods",
        "exact,ais",
        "--steps",
        "40",
        "--runs",
        "6",
        "--seed",
        "1",
        "--json",
    ]);
}

#[test]
fn van_parameters_after_training_are_identical() {
    let dir = tempfile::tempdir().unwrap();
    let net = |np: usize| -> Value {
        let path = dir.path().join(format!("net{np}.json"));
        let p = path.to_str().unwrap();
        json(
            np,
            &[
                "train-van",
                "square:4",
                "--beta",
                "0.3",
                "--steps",
                "20",
                "--batch",
                "100",
                "--seed",
                "1",
                "--out",
                p,
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["network"].clone()
    };
    let one = net(1);
    assert!(one["params"].as_array().is_some_and(|p| p.len() > 50));
    for np in ranks() {
        assert_eq!(net(np), one, "VAN parameters: -np {np} differs from -np 1");
    }
}

#[test]
fn a_failing_rank_ends_the_job_with_one_clear_error() {
    let t0 = Instant::now();
    let out = mpirun(
        2,
        &[
            "disorder",
            "sk:12",
            "--instances",
            "400",
            "--betas",
            "0.5",
            "--methods",
            "exact",
        ],
        &[("LOGZ_MPI_FAIL_RANK", "1")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the job succeeded: {err}");
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("logz: error"))
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(
        ours[0].contains("rank 1 of 2") && ours[0].contains("failed on purpose"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "rank 0 printed a result");
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn every_rank_failing_the_same_way_reports_once() {
    let out = mpirun(2, &["solve", "square:4", "-m", "no-such-method"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("logz: error"))
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].contains("unknown method 'no-such-method'"), "{err}");
}
