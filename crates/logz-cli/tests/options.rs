//! Method options: an option the chosen method(s) do not take is refused with one line and exit
//! code 2 (instead of being silently ignored); `--threads` bounds the worker threads without
//! changing any result.

mod common;
use common::{fails_with, json_of, logz};

#[test]
fn options_a_method_does_not_take_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["solve", "square:4", "-m", "exact", "--sweeps", "10"],
            "--sweeps does not apply to method 'exact' (it takes: none)",
        ),
        (
            &["solve", "square:4", "-m", "mf", "--steps", "10"],
            "--steps does not apply to method 'mf' (it takes: none)",
        ),
        (
            &["solve", "square:4", "-m", "bbvi", "--sweeps", "10"],
            "--sweeps does not apply to method 'bbvi' (it takes: --steps, --batch, --lr, --seed)",
        ),
        (
            &["solve", "square:4", "-m", "ais", "--width", "8"],
            "--width does not apply to method 'ais' (it takes: --steps, --runs, --seed)",
        ),
        (
            &["solve", "square:4", "-m", "ti", "--lr", "0.1"],
            "--lr does not apply to method 'ti' (it takes: --sweeps, --burn-in, --rungs, --chains, --checkpoint, --seed)",
        ),
        (
            &["solve", "square:4", "-m", "van", "--runs", "3"],
            "--runs does not apply to method 'van'",
        ),
        // Refused before the file is read.
        (
            &["solve", "square:4", "-m", "tap", "--net", "/nonexistent/net.json"],
            "--net does not apply to method 'tap' (it takes: none)",
        ),
        (
            &["train-van", "square:4", "--sweeps", "5", "-q", "-o", "/nonexistent/out.json"],
            "--sweeps does not apply to method 'van'",
        ),
        (
            &[
                "compare", "square:3", "--betas", "0.2:0.3:0.1", "--methods", "exact,mf",
                "--steps", "10", "-q", "-o", "/nonexistent/cmp",
            ],
            "--steps does not apply to any of the methods 'exact', 'mf' (they take: none)",
        ),
        (
            &["solve", "square:4", "-m", "nope", "--steps", "3"],
            "unknown method 'nope'; choose one of: exact,",
        ),
    ];
    for (args, want) in cases {
        fails_with(args, want);
    }
}

#[test]
fn options_a_method_takes_still_work() {
    let v = json_of(&[
        "solve", "square:3", "-m", "ais", "--steps", "20", "--runs", "8", "--json",
    ]);
    assert_eq!(v["method"], "ais");
    // The seed is accepted with any method: it also seeds random models.
    let a = json_of(&["solve", "sk:6", "-m", "exact", "--seed", "2", "--json"]);
    let b = json_of(&["solve", "sk:6", "-m", "exact", "--seed", "3", "--json"]);
    assert_ne!(a["ln_z"], b["ln_z"], "the seed picks the random couplings");
    json_of(&["solve", "square:3", "-m", "mf", "--seed", "2", "--json"]);
    // `logz methods` lists what each method takes.
    let out = logz().arg("methods").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let ais = text.lines().find(|l| l.starts_with("ais ")).unwrap();
    assert!(ais.contains("; takes --steps, --runs, --seed"), "{ais}");
    // compare: an option is accepted if one selected method takes it.
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args([
            "compare",
            "square:3",
            "--betas",
            "0.2:0.3:0.1",
            "--methods",
            "exact,ais",
            "--steps",
            "20",
            "--runs",
            "8",
            "-q",
            "-o",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_thread_count_bounds_the_work_not_the_answer() {
    let run = |threads: &str| {
        json_of(&[
            "--threads",
            threads,
            "solve",
            "square:4",
            "-m",
            "ais",
            "--seed",
            "5",
            "--json",
        ])
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one["ln_z"], two["ln_z"]);
    assert_eq!(one["std_err"], two["std_err"]);
    assert!(one["ln_z"].as_f64().unwrap().is_finite());
    // Before the command, so that `bench --threads 1,2` (the counts it times) keeps its meaning.
    let out = logz()
        .args([
            "--threads",
            "2",
            "bench",
            "--sizes",
            "16",
            "--cubic",
            "8",
            "--threads",
            "1",
        ])
        .args(["--seconds", "0.01"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Validated.
    for bad in ["0", "1025"] {
        fails_with(
            &["--threads", bad, "solve", "square:3"],
            "the thread count must be between 1 and 1024",
        );
    }
}
