//! A stable-Rust fuzz harness for every parser of outside input: UAI models and `.evid` files,
//! the JSON model format, CSV data for `fit`, and VAN checkpoints.
//!
//! Seeds are the shared UAI benchmark files (`LOGZ_UAI_DIR`, default ../shared/benchmarks/uai)
//! and generated UAI, JSON, CSV and checkpoint texts. Each iteration applies one to four
//! mutations — bit flips, truncations, token swaps, duplicated or deleted lines, inserted bytes,
//! spliced chunks, and tokens replaced by hostile numbers (1e308, 99999999999, 2⁶⁴, NaN, inf,
//! negative counts, subnormals) — and parses the result under a 256 MiB memory budget. Every input
//! must give Ok or Err: a panic is caught and reported with the input, and the slowest input
//! must take under a second. Accepted models, networks and data sets are also used a little
//! (an energy, a log q, a chunk of sufficient statistics), so that validation that lets a bad
//! value through is caught where it would panic later.
//!
//! `LOGZ_FUZZ_ITERS` sets the iterations per parser (default 60000, ~10 s in all; run 100000 for
//! a long session), `LOGZ_FUZZ_SEED` the seed. Longer runs with coverage guidance:
//! `cargo +nightly fuzz run uai` in `fuzz/`.

use logz::bayes::data::{stream_csv_reader, SuffStats};
use logz::io::{json, uai};
use logz::spin_vi::van::checkpoint::Checkpoint;
use logz::spin_vi::van::{Made, VanReport};
use rand::{Rng, RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Instant;

/// Hostile replacements for a token.
const NASTY: &[&str] = &[
    "1e308",
    "-1e308",
    "1e309",
    "99999999999",
    "18446744073709551616",
    "18446744073709551615",
    "9223372036854775807",
    "4294967296",
    "2147483648",
    "-1",
    "-99999999999",
    "0",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e-320",
    "0.0",
    "",
    "2",
    "1",
    "3",
    "[",
    "]",
    "{",
    "\"",
    ",",
    "null",
    "true",
];

fn iterations() -> usize {
    std::env::var("LOGZ_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60_000)
}

fn seed() -> u64 {
    std::env::var("LOGZ_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11)
}

/// The budget every parser runs under: an input may not make logz hold more than this. Small
/// (256 MiB), so that a short file declaring a large but legitimate model — `{"n": 40000000,
/// …}` is 800 MB of fields — is refused quickly instead of built, which would make the timing
/// assertion depend on the machine's load.
fn budget() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| logz::limits::set_memory_limit(256 << 20));
}

/// Byte ranges of the tokens of `t` (runs of bytes other than whitespace and JSON/CSV
/// punctuation).
fn tokens(t: &[u8]) -> Vec<(usize, usize)> {
    let sep = |c: u8| c.is_ascii_whitespace() || b",[]{}:\"".contains(&c);
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if sep(t[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < t.len() && !sep(t[i]) {
            i += 1;
        }
        out.push((s, i));
    }
    out
}

fn lines(t: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    for (i, &c) in t.iter().enumerate() {
        if c == b'\n' {
            out.push((s, i + 1));
            s = i + 1;
        }
    }
    if s < t.len() {
        out.push((s, t.len()));
    }
    out
}

/// One random mutation of `t`.
fn mutate(t: &mut Vec<u8>, rng: &mut Xoshiro256PlusPlus) {
    let len = t.len();
    match rng.random_range(0..10u32) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            t[i] ^= 1 << rng.random_range(0..8u32);
        }
        1 if len > 0 => t.truncate(rng.random_range(0..len)),
        2 | 3 => {
            let tk = tokens(t);
            if tk.is_empty() {
                return;
            }
            let (s, e) = tk[rng.random_range(0..tk.len())];
            let with = NASTY[rng.random_range(0..NASTY.len())].as_bytes().to_vec();
            t.splice(s..e, with);
        }
        4 => {
            let tk = tokens(t);
            if tk.len() < 2 {
                return;
            }
            let a = tk[rng.random_range(0..tk.len())];
            let b = tk[rng.random_range(0..tk.len())];
            let (a, b) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            if a.1 > b.0 {
                return;
            }
            let (ta, tb) = (t[a.0..a.1].to_vec(), t[b.0..b.1].to_vec());
            t.splice(b.0..b.1, ta);
            t.splice(a.0..a.1, tb);
        }
        5 => {
            let ls = lines(t);
            if ls.is_empty() {
                return;
            }
            let (s, e) = ls[rng.random_range(0..ls.len())];
            let copy = t[s..e].to_vec();
            let times = if rng.random_range(0..8u32) == 0 {
                rng.random_range(2..50usize)
            } else {
                1
            };
            for _ in 0..times {
                t.splice(e..e, copy.iter().cloned());
            }
        }
        6 => {
            let ls = lines(t);
            if ls.is_empty() {
                return;
            }
            let (s, e) = ls[rng.random_range(0..ls.len())];
            t.drain(s..e);
        }
        7 => {
            let i = rng.random_range(0..=len);
            let k = rng.random_range(1..8usize);
            let bytes: Vec<u8> = (0..k)
                .map(|_| {
                    if rng.random_range(0..2u32) == 0 {
                        b" \n0123456789.-e,"[rng.random_range(0..16usize)]
                    } else {
                        rng.random::<u8>()
                    }
                })
                .collect();
            t.splice(i..i, bytes);
        }
        8 if len > 1 => {
            // Splice a chunk of the text elsewhere.
            let a = rng.random_range(0..len);
            let b = rng.random_range(a..len.min(a + 200));
            let chunk = t[a..b].to_vec();
            let at = rng.random_range(0..=len);
            t.splice(at..at, chunk);
        }
        _ => {
            // A number token made larger, negative or fractional.
            let tk = tokens(t);
            if tk.is_empty() {
                return;
            }
            let (s, e) = tk[rng.random_range(0..tk.len())];
            let w: &[u8] = match rng.random_range(0..4u32) {
                0 => b"000000",
                1 => b"-",
                2 => b".5",
                _ => b"e30",
            };
            if rng.random_range(0..2u32) == 0 {
                t.splice(e..e, w.iter().cloned());
            } else {
                t.splice(s..s, w.iter().cloned());
            }
        }
    }
}

/// What a fuzz run found.
struct Report {
    parser: &'static str,
    count: usize,
    ok: usize,
    panics: Vec<String>,
    slowest: f64,
    slowest_input: String,
}

fn show(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]).into_owned();
    format!("{s:?}{}", if bytes.len() > 400 { " …" } else { "" })
}

/// Mutate seeds and feed them to `parse` (Ok(true) = accepted, Ok(false) = refused), catching
/// panics and timing every input.
fn fuzz(
    parser: &'static str,
    seeds: &[Vec<u8>],
    stream: u64,
    parse: impl Fn(&[u8], &mut Xoshiro256PlusPlus) -> bool,
) -> Report {
    budget();
    assert!(!seeds.is_empty());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed() ^ stream.wrapping_mul(0x9e37_79b9));
    let mut r = Report {
        parser,
        count: 0,
        ok: 0,
        panics: Vec::new(),
        slowest: 0.0,
        slowest_input: String::new(),
    };
    for it in 0..iterations() {
        let mut input = seeds[rng.random_range(0..seeds.len())].clone();
        // Every tenth input is a seed as it is (the parsers must accept their own seeds).
        if it % 10 != 0 {
            for _ in 0..rng.random_range(1..=4u32) {
                mutate(&mut input, &mut rng);
            }
        }
        let mut inner = Xoshiro256PlusPlus::seed_from_u64(rng.next_u64());
        let t0 = Instant::now();
        let res = catch_unwind(AssertUnwindSafe(|| parse(&input, &mut inner)));
        let secs = t0.elapsed().as_secs_f64();
        r.count += 1;
        match res {
            Ok(accepted) => r.ok += accepted as usize,
            Err(_) => r.panics.push(show(&input)),
        }
        if secs > r.slowest {
            r.slowest = secs;
            r.slowest_input = show(&input);
        }
    }
    eprintln!(
        "fuzz {parser}: {} inputs, {} accepted, {} panics, slowest {:.4} s, peak RSS {}",
        r.count,
        r.ok,
        r.panics.len(),
        r.slowest,
        peak_rss()
    );
    r
}

fn check(r: Report) {
    assert!(
        r.panics.is_empty(),
        "{}: {} of {} inputs panicked, e.g. {}",
        r.parser,
        r.panics.len(),
        r.count,
        r.panics[..r.panics.len().min(3)].join("\n")
    );
    // A guard against pathological inputs (a hang, a quadratic blow-up), not a speed claim:
    // the bound is loose enough to hold on a machine loaded by parallel builds.
    assert!(
        r.slowest < 5.0,
        "{}: an input took {:.2} s: {}",
        r.parser,
        r.slowest,
        r.slowest_input
    );
    // Some inputs must get through, or the mutations only test the first error check.
    assert!(r.ok > 0, "{}: no input was accepted", r.parser);
}

/// Peak resident memory of this process (VmHWM), for the report.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn uai_dir() -> PathBuf {
    if let Ok(d) = std::env::var("LOGZ_UAI_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/benchmarks/uai")
}

/// Seeds of a kind from the shared benchmarks (files up to 150 kB, to keep iterations fast),
/// plus generated ones, so that the harness runs even where the benchmarks are absent.
fn shared_seeds(ext: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(uai_dir()) {
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let name = p.to_string_lossy().into_owned();
            let small = std::fs::metadata(&p).is_ok_and(|m| m.len() <= 150_000);
            if name.ends_with(ext) && small {
                if let Ok(b) = std::fs::read(&p) {
                    out.push(b);
                }
            }
        }
    }
    if out.is_empty() {
        eprintln!(
            "note: no {ext} files in {} (set LOGZ_UAI_DIR); using generated seeds only",
            uai_dir().display()
        );
    }
    out
}

fn small_models() -> Vec<logz::Model> {
    use logz::model::builders::{from_spec, random_model, Params};
    let p = Params {
        beta: 0.4,
        field: 0.1,
        ..Params::default()
    };
    let mut v: Vec<logz::Model> = ["square:3", "chain:5", "complete:4", "er:6:0.5:gauss"]
        .iter()
        .map(|s| from_spec(s, &p).unwrap())
        .collect();
    v.push(random_model(5, 0.6, 1.0, 0.5, 0.7, 3).unwrap());
    v
}

#[test]
fn fuzz_uai_models() {
    let mut seeds = shared_seeds(".uai");
    seeds.extend(small_models().iter().map(|m| uai::write(m).into_bytes()));
    seeds.push(b"MARKOV\n2\n2 2\n2\n1 0\n2 0 1\n2\n0.5 2\n4\n1 2 3 4\n".to_vec());
    let r = fuzz("uai", &seeds, 1, |b, _| {
        match uai::parse_reader("f.uai", b, &[]) {
            Ok(lm) => {
                let m = &lm.model;
                let s = vec![1i8; m.n()];
                assert!(m.energy(&s).is_finite());
                true
            }
            Err(_) => false,
        }
    });
    check(r);
}

#[test]
fn fuzz_evidence_files() {
    let mut seeds = shared_seeds(".evid");
    seeds.retain(|s| s.len() > 2);
    seeds.extend([
        b"0\n".to_vec(),
        b"2 0 1 3 0\n".to_vec(),
        b"3\n 1 1\n 2 0\n 4 1\n".to_vec(),
    ]);
    // Evidence is applied to a 6-spin model with one pair and one unary factor per spin.
    let model = "MARKOV\n6\n2 2 2 2 2 2\n11\n1 0\n1 1\n1 2\n1 3\n1 4\n1 5\n2 0 1\n2 1 2\n2 2 3\n\
                 2 3 4\n2 4 5\n2\n1 2\n2\n2 1\n2\n1 3\n2\n3 1\n2\n1 1\n2\n2 2\n4\n2 1 1 2\n4\n\
                 2 1 1 2\n4\n1 2 2 1\n4\n3 1 1 3\n4\n1 1 1 1\n";
    let r = fuzz("evid", &seeds, 2, |b, _| {
        let text = String::from_utf8_lossy(b);
        match uai::parse_evidence("f.evid", &text) {
            Ok(ev) => match uai::parse("m.uai", model, &ev) {
                Ok(lm) => {
                    let full = lm.expand_magnetization(&vec![0.5; lm.model.n()]);
                    assert_eq!(full.len(), 6);
                    true
                }
                Err(_) => false,
            },
            Err(_) => false,
        }
    });
    check(r);
}

#[test]
fn fuzz_json_models() {
    let mut seeds: Vec<Vec<u8>> = small_models()
        .iter()
        .map(|m| json::write(m).into_bytes())
        .collect();
    seeds.push(
        br#"{"n": 3, "beta": 0.5, "edges": [[0, 1], [1, 2]], "couplings": [1.0, -0.5]}"#.to_vec(),
    );
    seeds.push(br#"{"n":100000000,"edges":[],"couplings":[]}"#.to_vec());
    let r = fuzz("json", &seeds, 3, |b, _| {
        let text = String::from_utf8_lossy(b);
        match json::parse("f.json", &text) {
            Ok(m) => {
                let s = vec![-1i8; m.n()];
                assert!(m.energy(&s).is_finite());
                true
            }
            Err(_) => false,
        }
    });
    check(r);
}

fn csv_seeds() -> Vec<Vec<u8>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut out = Vec::new();
    for (rows, cols) in [(20, 2), (50, 3), (5, 4)] {
        let names: Vec<String> = (0..cols).map(|c| format!("c{c}")).collect();
        let mut t = names.join(",") + "\n";
        for _ in 0..rows {
            let cells: Vec<String> = (0..cols)
                .map(|_| format!("{:.3}", rng.random::<f64>() * 100.0 - 20.0))
                .collect();
            t += &(cells.join(",") + "\n");
        }
        out.push(t.into_bytes());
    }
    out.push(b"age,income\n26.350,49986.27\n67.120,86699.09\n40,50000\n".to_vec());
    out
}

#[test]
fn fuzz_csv_data() {
    let seeds = csv_seeds();
    let r = fuzz("csv", &seeds, 4, |b, rng| {
        let chunk = [1, 3, 7, 1 << 16][rng.random_range(0..4usize)];
        let (xs, y): (Vec<String>, &str) = match rng.random_range(0..3u32) {
            0 => (vec!["c0".into()], "c1"),
            1 => (vec!["c0".into(), "c2".into()], "c1"),
            _ => (vec!["age".into()], "income"),
        };
        let mut stats = SuffStats::new(xs.len());
        let res = stream_csv_reader("f.csv", b, &xs, y, chunk, |x, yv| {
            for (row, v) in x.chunks(xs.len()).zip(yv) {
                stats.push(row, *v);
            }
            Ok(())
        });
        match res {
            Ok(rows) => {
                assert_eq!(stats.n as usize, rows);
                let _ = stats.scaling(&xs, y);
                true
            }
            Err(_) => false,
        }
    });
    check(r);
}

fn checkpoint_seeds() -> Vec<Vec<u8>> {
    [(4, 3, 1, true), (6, 4, 2, false), (3, 1, 1, true)]
        .iter()
        .map(|&(n, w, d, z2)| {
            let net = Made::new(n, w, d, z2, 7).unwrap();
            let ck = Checkpoint {
                model: format!("chain:{n}"),
                beta: 0.5,
                network: net,
                report: VanReport {
                    elbo: 1.0,
                    elbo_std_err: 0.1,
                    iw_ln_z: 1.1,
                    iw_std_err: 0.05,
                    ess: 10.0,
                    samples: 100,
                    trace: vec![(10, 0.9, 0.01)],
                    seconds: 0.1,
                    steps: 10,
                    termination: logz::runner::Termination::Completed,
                    cubo: 1.3,
                    cubo_std_err: 0.1,
                    khat: 0.3,
                    psis_ln_z: 1.15,
                },
                exact_ln_z: Some(1.2),
            };
            ck.to_json().into_bytes()
        })
        .collect()
}

#[test]
fn fuzz_van_checkpoints() {
    let seeds = checkpoint_seeds();
    let r = fuzz("checkpoint", &seeds, 5, |b, _| {
        let text = String::from_utf8_lossy(b);
        match Checkpoint::parse("f.json", &text) {
            Ok(ck) => {
                // A network that passed validation must be usable: log q of a state, and one
                // training step on a chain of its size starting from it.
                let net = &ck.network;
                let s = vec![1.0; net.n];
                let _ = net.log_q(&s);
                if net.n <= 64 && net.params.len() <= 10_000 {
                    let p = logz::model::builders::Params::default();
                    let m = logz::model::builders::chain(net.n, true, &p).unwrap();
                    let van = logz::spin_vi::van::Van {
                        steps: 1,
                        batch: 2,
                        eval_samples: 2,
                        init: Some(net.clone()),
                        ..Default::default()
                    };
                    let _ = van.train(&m, &logz::runner::Runner::new());
                }
                true
            }
            Err(_) => false,
        }
    });
    check(r);
}

/// Found by the cargo-fuzz `evid` target: evidence clamping every variable left a model of no
/// spins, whose (complete) empty magnetisation expanded to nothing instead of the clamped values.
#[test]
fn evidence_clamping_every_variable_expands_to_the_clamped_values() {
    let model = "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2 3 4\n";
    let ev = uai::parse_evidence("e.evid", "2 0 1 1 0").unwrap();
    let lm = uai::parse("m.uai", model, &ev).unwrap();
    assert_eq!(lm.model.n(), 0);
    assert_eq!(lm.expand_magnetization(&[]), vec![1.0, -1.0]);
    // With free spins, an empty vector (no magnetisations computed) stays empty, and a vector
    // of the wrong length is not indexed out of bounds.
    let lm = uai::parse("m.uai", model, &[(0, 1)]).unwrap();
    assert!(lm.expand_magnetization(&[]).is_empty());
    assert!(lm.expand_magnetization(&[0.1, 0.2, 0.3]).is_empty());
    assert_eq!(lm.expand_magnetization(&[0.25]), vec![1.0, 0.25]);
}
