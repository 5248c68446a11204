//! What a new user meets first: the help texts, the benchmark's documented options, the default
//! `compare` run and the figures every command draws.

use assert_cmd::Command;

fn logz() -> Command {
    Command::cargo_bin("logz").expect("binary built")
}

fn stdout_of(args: &[&str]) -> String {
    let out = logz().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "logz {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The help of every subcommand, split into one block per option: its flag line and description.
fn option_blocks(help: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        // Option and argument headers are indented by two (or six, without a short flag)
        // spaces; descriptions by ten.
        if indent <= 6 && (t.starts_with('-') || t.starts_with('<') || t.starts_with('[')) {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push(' ');
            b.push_str(t);
        }
    }
    blocks
}

#[test]
fn no_option_help_repeats_itself() {
    let mut checked = 0;
    for sub in [
        "solve",
        "info",
        "compare",
        "meanfield",
        "sample",
        "data",
        "fit",
        "train-van",
        "bench",
        "convert",
    ] {
        let help = stdout_of(&[sub, "--help"]);
        for block in option_blocks(&help) {
            // No run of six words may occur twice in one option's description.
            let words: Vec<&str> = block.split_whitespace().collect();
            let mut seen = std::collections::HashSet::new();
            for w in words.windows(6) {
                assert!(
                    seen.insert(w.join(" ")),
                    "`logz {sub} --help` repeats \"{}\" in:\n{block}",
                    w.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} option blocks found");
}

#[test]
fn fit_help_describes_sigma_once_and_every_prior_parameter() {
    let help = stdout_of(&["fit", "--help"]);
    assert_eq!(
        help.matches("Known noise standard deviation").count(),
        1,
        "{help}"
    );
    let b0 = option_blocks(&help)
        .into_iter()
        .find(|b| b.contains("--b0"))
        .expect("--b0 listed");
    assert!(
        b0.contains("Inverse-Gamma"),
        "--b0 has no description: {b0}"
    );
}

#[test]
fn bench_accepts_an_empty_list_to_skip_a_lattice() {
    let args = |cubic: &'static str, sizes: &'static str| {
        [
            "bench",
            "mc",
            "--sizes",
            sizes,
            "--cubic",
            cubic,
            "--threads",
            "1",
            "--seconds",
            "0.01",
        ]
    };
    // --cubic "": square lattices only.
    let text = stdout_of(&args("", "8"));
    assert!(text.contains("8²") && !text.contains('³'), "{text}");
    // --sizes "": cubic lattices only; spaces around the commas are fine.
    let text = stdout_of(&args(" 4, 6", ""));
    assert!(
        text.contains("4³") && text.contains("6³") && !text.contains('²'),
        "{text}"
    );
    // A non-number is still a one-line error naming the option.
    let out = logz().args(args("8,x", "8")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--cubic") && err.contains("'x'"), "{err}");
}

/// The README's main job on its default model (16×16 torus) and default methods, at three of
/// its β: every method reports, the stochastic ones with an error bar that covers the exact
/// value and is not vacuous, BBVI as a rigorous lower bound that reaches mean field (it fell
/// 0.13 per spin below it at β = 0.6), and the rows come out in β-major order whatever order
/// the tasks ran in.
#[test]
fn default_compare_reports_every_method_with_honest_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let out = logz()
        .args(["compare", "--betas", "0.2:0.6:0.2", "-q", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let methods = [
        "exact", "onsager", "mf", "tap", "bethe", "trw", "ti", "ais", "bbvi",
    ];
    assert_eq!(rows.len(), 3 * methods.len());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r["method"],
            methods[i % methods.len()],
            "row {i} out of order"
        );
    }
    let n = 256.0;
    for b in [0.2, 0.4, 0.6] {
        let get = |m: &str| {
            rows.iter()
                .find(|r| (r["beta"].as_f64().unwrap() - b).abs() < 1e-9 && r["method"] == m)
                .unwrap_or_else(|| panic!("{m} at β = {b}"))
        };
        let exact = get("exact")["ln_z"].as_f64().unwrap();
        for m in ["ti", "ais"] {
            let r = get(m);
            assert_eq!(r["kind"], "stochastic", "{m} at β = {b}");
            assert!(r["converged"].is_boolean(), "{m} at β = {b}");
            let (z, se) = (r["ln_z"].as_f64().unwrap(), r["std_err"].as_f64().unwrap());
            // A smaller budget per sweep point widens the error bar; it must still cover the
            // exact value and stay below 0.01 per spin (a correct run is near 1e-3).
            assert!(
                se > 0.0 && se < 1e-2 * n && (z - exact).abs() < 4.0 * se,
                "{m} at β = {b}: {z} ± {se} vs exact {exact}"
            );
        }
        let mf = get("mf")["ln_z"].as_f64().unwrap();
        let bbvi = get("bbvi");
        assert_eq!(bbvi["kind"], "lower_bound");
        assert!(bbvi["std_err"].is_null());
        let z = bbvi["ln_z"].as_f64().unwrap();
        assert!(
            z <= exact && z >= mf - 1e-3 * exact.abs(),
            "bbvi at β = {b}: {z}, mean field {mf}, exact {exact}"
        );
    }
}
