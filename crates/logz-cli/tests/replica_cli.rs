//! `logz replica …` and `logz disorder …`.

mod common;
use common::{fails_with, json_of, logz, refused};

#[test]
fn replica_sk_prints_the_rs_solution_as_json() {
    let v = json_of(&["replica", "sk", "--beta", "0.5", "--json"]);
    assert_eq!(v["level"], "rs");
    assert_eq!(v["beta"], 0.5);
    assert_eq!(v["q"].as_array().unwrap().len(), 1);
    assert!(v["m"].as_array().unwrap().is_empty());
    let ln_z = v["ln_z_per_spin"].as_f64().unwrap();
    assert!((ln_z - (std::f64::consts::LN_2 + 0.0625)).abs() < 1e-12);
    assert!((v["free_energy_per_spin"].as_f64().unwrap() + ln_z / 0.5).abs() < 1e-12);
    assert!(v["at_lambda"].as_f64().unwrap() < 1.0);
    for k in ["energy_per_spin", "entropy_per_spin", "residual", "field"] {
        assert!(v[k].is_number(), "{k}");
    }
    // Below T = 1 the RS entropy is printed even where it is negative.
    let v = json_of(&["replica", "sk", "--temperature", "0.1", "--json"]);
    assert!(v["entropy_per_spin"].as_f64().unwrap() < 0.0);
    assert!(v["at_lambda"].as_f64().unwrap() > 1.0);
}

#[test]
fn replica_sk_ground_state_levels() {
    let rs = json_of(&["replica", "sk", "--ground-state", "--json"]);
    assert!(rs["beta"].is_null() && rs["ln_z_per_spin"].is_null());
    let e_rs = rs["energy_per_spin"].as_f64().unwrap();
    assert!((e_rs + (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-15);
    let one = json_of(&["replica", "sk", "--ground-state", "--rsb", "1", "--json"]);
    assert_eq!(one["level"], "1rsb");
    let e1 = one["energy_per_spin"].as_f64().unwrap();
    assert!((e1 + 0.765_259_434_68).abs() < 1e-8, "{e1}");
    assert_eq!(one["q"].as_array().unwrap().len(), 2);
    assert_eq!(one["m"].as_array().unwrap().len(), 1);
    assert!(one["residual"].as_f64().unwrap() < 1e-6);
    // The table names every quantity.
    let out = logz()
        .args(["replica", "sk", "--beta", "1.5", "--field", "0.2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for w in ["λ_AT", "entropy per spin", "−βf"] {
        assert!(text.contains(w), "{text}");
    }
}

#[test]
fn replica_moments_match_the_library_and_the_closed_form() {
    let v = json_of(&[
        "replica",
        "moments",
        "--spins",
        "7",
        "--replicas",
        "1",
        "--beta",
        "1.2",
        "--json",
    ]);
    let want = std::f64::consts::LN_2 + 1.44 * 6.0 / 28.0;
    assert!((v["ln_moment_per_spin"].as_f64().unwrap() - want).abs() < 1e-13);
    let v = json_of(&[
        "replica",
        "moments",
        "--spins",
        "30",
        "--replicas",
        "3",
        "--beta",
        "0.8",
        "--json",
    ]);
    let lib = logz::replica::moments::ln_moment_per_spin(30, 3, 0.8).unwrap();
    assert_eq!(v["ln_moment_per_spin"].as_f64().unwrap(), lib);
    assert_eq!(v["replicas"], 3);
}

#[test]
fn phase_diagram_writes_the_at_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = logz()
        .args(["replica", "sk", "--phase-diagram", "--out", d])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(dir.path().join("at_line.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Almeida"));
    let csv = std::fs::read_to_string(dir.path().join("at_line.csv")).unwrap();
    let rows: Vec<(f64, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(rows[0], (0.0, 1.0));
    // T_AT falls as h grows.
    assert!(rows.windows(2).all(|w| w[1].1 < w[0].1));
}

#[test]
fn disorder_rows_are_reproducible_on_any_thread_count() {
    let args = |t: &'static str| {
        vec![
            "--threads",
            t,
            "disorder",
            "sk:8",
            "--instances",
            "30",
            "--methods",
            "exact,mf",
            "--betas",
            "0.5,1:2:1",
            "--seed",
            "4",
            "--json",
        ]
    };
    let a = logz().args(args("1")).output().unwrap();
    let b = logz().args(args("2")).output().unwrap();
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for r in rows {
        for k in [
            "method",
            "beta",
            "n",
            "instances",
            "mean_ln_z_per_spin",
            "std_err",
        ] {
            assert!(!r[k].is_null(), "{k} in {r}");
        }
        assert_eq!(r["instances"], 30);
        assert_eq!(r["n"], 8);
    }
    assert_eq!(rows[0]["method"], "exact");
    assert_eq!(rows[3]["method"], "mf");
}

#[test]
fn bad_input_is_refused_in_one_line() {
    fails_with(
        &["replica", "sk", "--beta", "0"],
        "β must be a finite number > 0",
    );
    fails_with(
        &["replica", "sk", "--beta", "-1"],
        "β must be a finite number > 0",
    );
    fails_with(
        &["replica", "sk", "--beta", "nan"],
        "β must be a finite number > 0",
    );
    fails_with(
        &["replica", "sk", "--temperature", "0"],
        "--temperature must be",
    );
    fails_with(
        &["replica", "sk", "--temperature", "-2"],
        "--temperature must be",
    );
    fails_with(
        &["replica", "sk", "--beta", "1", "--rsb", "-1"],
        "--rsb must be",
    );
    fails_with(
        &["replica", "sk", "--beta", "1", "--rsb", "99"],
        "--rsb must be",
    );
    fails_with(&["replica", "sk", "--beta", "1", "--field", "nan"], "field");
    fails_with(
        &["replica", "sk", "--ground-state", "--beta", "1"],
        "--ground-state",
    );
    fails_with(&["replica", "sk"], "give --beta");
    fails_with(&["replica", "sk", "--phase-diagram"], "--out");
    fails_with(&["replica", "sk", "--curves"], "--out");
    refused(
        &[
            "replica",
            "moments",
            "--spins",
            "0",
            "--replicas",
            "2",
            "--beta",
            "1",
        ],
        &["--spins"],
    );
    refused(
        &[
            "replica",
            "moments",
            "--spins",
            "1000000000000",
            "--replicas",
            "2",
            "--beta",
            "1",
        ],
        &["--spins"],
    );
    refused(
        &[
            "replica",
            "moments",
            "--spins",
            "5",
            "--replicas",
            "-1",
            "--beta",
            "1",
        ],
        &["--replicas"],
    );
    refused(
        &[
            "replica",
            "moments",
            "--spins",
            "5",
            "--replicas",
            "2",
            "--beta",
            "nan",
        ],
        &["β"],
    );
    refused(
        &[
            "replica",
            "moments",
            "--spins",
            "100000",
            "--replicas",
            "3",
            "--beta",
            "1",
        ],
        &["overlap compositions"],
    );
    fails_with(&["disorder", "sk:8", "--instances", "0"], "--instances");
    fails_with(&["disorder", "sk:8", "--instances", "-5"], "--instances");
    fails_with(
        &["disorder", "sk:8", "--instances", "100000000000"],
        "--instances",
    );
    fails_with(&["disorder", "sk:8", "--betas", "nan"], "--betas");
    fails_with(&["disorder", "sk:8", "--methods", "nope"], "unknown method");
    fails_with(&["disorder", "sk:x"], "not a valid number");
    fails_with(&["disorder", "sk:8", "--sizes", ""], "--sizes");
    fails_with(
        &["disorder", "sk:8", "--sizes", "8,abc"],
        "'abc' is not a size",
    );
    fails_with(&["disorder", "sk:8", "--sizes", "8,1"], "'1' is not a size");
    fails_with(
        &["disorder", "sk:8", "--sizes", "8,30", "--methods", "exact"],
        "over the limit of exact",
    );
    fails_with(&["disorder", "square:4x4", "--sizes", "8,9"], "family:N");
}

#[test]
fn disorder_out_writes_csv_and_svg_and_rows_carry_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args([
            "disorder",
            "sk:7",
            "--instances",
            "12",
            "--methods",
            "exact,mf",
            "--betas",
            "0.5,1.5",
            "--field",
            "0.2",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("lower_bound") && text.contains("q_EA"),
        "{text}"
    );
    let csv = std::fs::read_to_string(dir.path().join("disorder.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("method,kind,beta,n,instances,mean_ln_z_per_spin,std_err"));
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("exact,exact,0.5,7,12,"));
    assert!(lines[3].starts_with("mf,lower_bound,0.5,7,12,"));
    let svg = std::fs::read_to_string(dir.path().join("disorder.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("exact (exact)") && svg.contains("mf ± 1 std err")
    );
    // The same rows as JSON, with kind, energy and q_EA; stdout stays pure JSON with --out.
    let out = logz()
        .args([
            "disorder",
            "sk:7",
            "--instances",
            "12",
            "--methods",
            "exact,mf",
            "--betas",
            "0.5,1.5",
            "--field",
            "0.2",
            "--json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows[0]["kind"], "exact");
    assert_eq!(rows[2]["kind"], "lower_bound");
    for r in rows {
        assert!(r["mean_energy_per_spin"].as_f64().unwrap() < 0.0, "{r}");
        assert!(r["energy_std_err"].as_f64().unwrap() > 0.0, "{r}");
        let q = r["q_ea"].as_f64().unwrap();
        assert!(q > 0.0 && q < 1.0, "{r}");
    }
}

#[test]
fn disorder_sizes_extrapolate_in_one_over_n_beside_the_replica_values() {
    let v = json_of(&[
        "disorder",
        "sk:6",
        "--instances",
        "300",
        "--methods",
        "exact",
        "--betas",
        "0.5",
        "--sizes",
        "6,9,12",
        "--json",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let ns: Vec<u64> = rows.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, vec![6, 9, 12]);
    let x = &v["extrapolation"][0];
    assert_eq!(x["method"], "exact");
    assert_eq!(x["sizes"].as_array().unwrap().len(), 3);
    let annealed = std::f64::consts::LN_2 + 0.0625;
    let (lim, se) = (x["limit"].as_f64().unwrap(), x["std_err"].as_f64().unwrap());
    assert!(se > 0.0 && se < 0.01, "{x}");
    assert!((lim - annealed).abs() < 4.0 * se, "{x}");
    assert!((x["rs_ln_z_per_spin"].as_f64().unwrap() - annealed).abs() < 1e-10);
    assert!((x["full_rsb_ln_z_per_spin"].as_f64().unwrap() - annealed).abs() < 1e-8);
}

#[test]
fn curves_put_rs_and_1rsb_beside_the_annealed_free_energy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = logz()
        .args(["replica", "sk", "--curves", "--out", d])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("free_energy.svg").exists());
    let csv = std::fs::read_to_string(dir.path().join("free_energy.csv")).unwrap();
    let mut finite_t = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let t: f64 = f[0].parse().unwrap();
        if t == 0.0 {
            continue;
        }
        finite_t += 1;
        let (ann, rs, one): (f64, f64, f64) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        if t >= 1.0 {
            // Above T = 1 all three coincide.
            assert!(
                (rs - ann).abs() < 1e-10 && (one - ann).abs() < 1e-10,
                "{line}"
            );
        } else {
            // Below: annealed < RS < 1RSB in f (Jensen; Guerra's bound).
            assert!(ann < rs && rs < one, "{line}");
        }
    }
    assert_eq!(finite_t, 18);
}
