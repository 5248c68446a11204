//! `logz solve` on the cases that once printed `ln_z: null` under `kind: exact`, and models that
//! must keep solving exactly after a round trip through a file.

mod common;
use common::{json_of, logz};

fn exact_ln_z(args: &[&str]) -> f64 {
    let v = json_of(args);
    assert_eq!(v["kind"], "exact", "{v}");
    v["ln_z"].as_f64().expect("a finite ln Z, not null")
}

#[test]
fn exact_answers_at_large_beta_are_numbers() {
    // Odd antiferromagnetic ring: 6 ground states at −βE = β, so ln Z = 20 + ln 6.
    let l = exact_ln_z(&[
        "solve",
        "chain:3",
        "--coupling",
        "-1",
        "--beta",
        "20",
        "--json",
    ]);
    assert!((l - 21.791759469228055).abs() < 1e-12, "{l}");
    let l = exact_ln_z(&[
        "solve",
        "chain:3",
        "--coupling",
        "-1",
        "--beta",
        "1000",
        "--json",
    ]);
    assert!((l - (1000.0 + 6f64.ln())).abs() < 1e-10, "{l}");
    // Kaufman deep in the ordered phase: two ground states, ln Z = 32β + ln 2.
    let l = exact_ln_z(&["solve", "square:4", "--beta", "360", "--json"]);
    assert!((l - 11520.69314718056).abs() < 1e-9, "{l}");
    let l = exact_ln_z(&["solve", "square:4", "--beta", "1e4", "--json"]);
    assert!((l - (32e4 + std::f64::consts::LN_2)).abs() < 1e-8, "{l}");
}

#[test]
fn an_unrepresentable_ln_z_is_an_error_not_null() {
    for args in [
        &[
            "solve",
            "chain:3",
            "--coupling",
            "1e300",
            "--beta",
            "1e300",
            "--json",
        ][..],
        &["solve", "square:4", "--coupling", "1e300", "--beta", "1e10"][..],
        &[
            "solve",
            "complete:5",
            "--field",
            "1e300",
            "--beta",
            "1e300",
            "-m",
            "enumerate",
        ][..],
    ] {
        let out = logz().args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("ln Z overflows"), "{err}");
    }
}

#[test]
fn convert_then_solve_gives_the_same_exact_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    let p = path.to_str().unwrap();
    logz()
        .args(["convert", "square:16", "--out", p])
        .assert()
        .success();
    let direct = json_of(&["solve", "square:16", "--json"]);
    let back = json_of(&["solve", p, "--json"]);
    assert_eq!(back["kind"], "exact");
    assert_eq!(back["algorithm"], "exact via kaufman");
    assert_eq!(back["ln_z"], direct["ln_z"]);
}

#[test]
fn huge_uniform_lattices_answer_from_their_closed_form_at_once() {
    // 2.7·10⁸ spins: the model alone would need ~33 GiB; Kaufman needs none of it.
    let v = json_of(&["solve", "square:16384", "--json"]);
    assert_eq!(v["kind"], "exact");
    assert_eq!(v["algorithm"], "exact via kaufman");
    assert_eq!(v["n"], 268435456u64);
    let per_spin = v["ln_z"].as_f64().unwrap() / 268435456.0;
    // Onsager's infinite-lattice value at β_c, approached from above as 1/L².
    assert!((per_spin - 0.929695398342).abs() < 1e-8, "{per_spin}");
    let v = json_of(&[
        "solve",
        "chain:1000000000",
        "--coupling",
        "-1",
        "--beta",
        "2",
        "--json",
    ]);
    assert_eq!(v["kind"], "exact");
    // An even antiferromagnetic ring is the ferromagnet under a gauge flip: N ln(2 cosh 2).
    let want = 1e9 * (2.0 * 2f64.cosh()).ln();
    assert!(
        (v["ln_z"].as_f64().unwrap() - want).abs() < 1e-6 * want,
        "{v}"
    );
}
