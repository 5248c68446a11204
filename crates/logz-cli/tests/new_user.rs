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
