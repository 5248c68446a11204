//! `logz bench trg`: plain and bond-weighted TRG at β_c beside the numpy peer.

mod common;
use common::{fails_with, logz};

#[test]
fn bench_trg_prints_errors_against_onsager_and_refuses_bad_input() {
    // A stand-in "peer" that prints what trg_numpy.py prints, so the ratio column is exercised
    // without numpy on the test machine: a shell script run by `sh`.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("peer.sh");
    std::fs::write(
        &script,
        "echo \"TRG numpy chi=$2 steps=$3 beta=$1: lnZ/N=0.9 onsager=0.93 rel.err=6.91e-05 time=2.00 s\"\n",
    )
    .unwrap();
    let out = logz()
        .args([
            "bench",
            "trg",
            "--chi",
            "8",
            "--threads",
            "1",
            "--python",
            "sh",
            "--peer",
        ])
        .arg(&script)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("8 "))
        .unwrap_or_else(|| panic!("no χ = 8 row in\n{text}"));
    let cells: Vec<&str> = row.split_whitespace().filter(|c| *c != "|").collect();
    // χ, threads, TRG error, steps, wall, cpu, BTRG error, wall, peer error, peer wall, ratio.
    let trg: f64 = cells[2].parse().unwrap();
    let btrg: f64 = cells[6].parse().unwrap();
    // Plain TRG at χ = 8 is 6.9e-5 from Onsager (as the numpy peer measures); the bond weights
    // make it several times better.
    assert!(trg > 5e-5 && trg < 9e-5, "{row}");
    assert!(btrg < trg / 3.0, "{row}");
    assert_eq!(cells[8], "6.91e-5", "{row}");
    assert!(cells[10].ends_with('×'), "{row}");
    fails_with(&["bench", "trg", "--chi", "1"], "2..=64");
    fails_with(&["bench", "trg", "--threads", "0"], "threads");
}
