//! `logz bench critical --quick`: the structure of the β_c table, its exact references, the
//! kinds and bound directions of every row, and χ-convergence of the RG rows. Nothing here is
//! timed: the times are only checked to be present where a method ran.

mod common;
use common::{json_of, logz};
use logz::exact::closed::{kaufman_ln_z, onsager_ln_z_per_spin, SQUARE_BETA_C};
use serde_json::Value;

fn rows<'a>(v: &'a Value, model: &str, method: &str) -> Vec<&'a Value> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["model"] == model && r["method"] == method)
        .collect()
}

fn one<'a>(v: &'a Value, model: &str, method: &str) -> &'a Value {
    let r = rows(v, model, method);
    assert_eq!(r.len(), 1, "{model}/{method}: {r:?}");
    r[0]
}

fn f(r: &Value, key: &str) -> f64 {
    r[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {r}"))
}

/// The χ of a row from its settings ("…, χ = 8").
fn chi(r: &Value) -> usize {
    let s = r["settings"].as_str().unwrap();
    s.rsplit("χ = ").next().unwrap().parse().unwrap()
}

#[test]
fn bench_critical_quick_table() {
    let v = json_of(&["bench", "critical", "--quick", "--json"]);
    let torus = kaufman_ln_z(16, 16, SQUARE_BETA_C) / 256.0;
    let inf = onsager_ln_z_per_spin(SQUARE_BETA_C);
    assert_eq!(v["beta"].as_f64().unwrap(), SQUARE_BETA_C);
    assert!((f(&v["models"][0], "exact") - torus).abs() < 1e-12);
    assert!((f(&v["models"][1], "exact") - inf).abs() < 1e-12);

    // The exact references, and the finite-size row of the infinite block.
    for (model, method, exact) in [
        ("torus16", "kaufman", torus),
        ("infinite", "onsager", inf),
        ("infinite", "kaufman", torus),
    ] {
        let r = one(&v, model, method);
        assert_eq!(r["kind"], "exact", "{r}");
        assert!((f(r, "ln_z_per_spin") - exact).abs() < 1e-12, "{r}");
    }
    let gap = f(one(&v, "infinite", "kaufman"), "error");
    assert!((gap - (torus - inf).abs()).abs() < 1e-12 && gap > 1e-3);

    // Every row: an error against its model's exact value, consistent with ln Z/N, and a time
    // and load where the method ran; n/a rows say why and carry no number.
    for r in v["rows"].as_array().unwrap() {
        let exact = if r["model"] == "torus16" { torus } else { inf };
        if r["kind"] == "n/a" {
            assert!(
                r["ln_z_per_spin"].is_null() && r["seconds"].is_null(),
                "{r}"
            );
            assert!(
                r["note"].as_str().unwrap().starts_with("not applicable"),
                "{r}"
            );
            continue;
        }
        let (x, e) = (f(r, "ln_z_per_spin"), f(r, "error"));
        assert!((e - (x - exact).abs()).abs() < 1e-15, "{r}");
        if r["note"] != "reference" {
            assert!(f(r, "seconds") >= 0.0, "{r}");
        }
    }

    // Kinds and bound directions.
    let kinds = [
        ("torus16", "mf", "lower_bound"),
        ("torus16", "tap", "approximation"),
        ("torus16", "bethe", "approximation"),
        ("torus16", "trw", "upper_bound"),
        ("torus16", "van", "stochastic_lower_bound"),
        ("torus16", "ti", "stochastic"),
        ("infinite", "mf", "lower_bound"),
        ("infinite", "tap", "approximation"),
        ("infinite", "bethe", "approximation"),
        ("torus16", "planar", "n/a"),
        ("infinite", "planar", "n/a"),
        ("infinite", "van", "n/a"),
        ("infinite", "ti", "n/a"),
        ("infinite", "tn", "n/a"),
    ];
    for (model, method, kind) in kinds {
        assert_eq!(one(&v, model, method)["kind"], kind, "{model}/{method}");
    }
    for (model, method) in [
        ("torus16", "trg"),
        ("torus16", "tn"),
        ("infinite", "trg"),
        ("infinite", "hotrg"),
    ] {
        for r in rows(&v, model, method) {
            assert_eq!(r["kind"], "approximation", "{r}");
        }
    }
    assert!(f(one(&v, "torus16", "mf"), "ln_z_per_spin") <= torus);
    assert!(f(one(&v, "infinite", "mf"), "ln_z_per_spin") <= inf);
    assert!(f(one(&v, "torus16", "trw"), "ln_z_per_spin") >= torus);
    // VAN: a stochastic lower bound (at most 4σ above); TI: within 5σ, σ small.
    let van = one(&v, "torus16", "van");
    assert!(
        f(van, "ln_z_per_spin") <= torus + 4.0 * f(van, "std_err"),
        "{van}"
    );
    let ti = one(&v, "torus16", "ti");
    let s = f(ti, "std_err");
    assert!(s > 0.0 && s < 5e-3 && f(ti, "error") < 5.0 * s, "{ti}");

    // The uniform fixed points on the torus are the infinite lattice's per-spin values: the
    // closed-form homogeneous mean field agrees with mean field run on the torus.
    let mf_t = f(one(&v, "torus16", "mf"), "ln_z_per_spin");
    let mf_i = f(one(&v, "infinite", "mf"), "ln_z_per_spin");
    assert!((mf_t - mf_i).abs() < 1e-9, "{mf_t} {mf_i}");
    for method in ["tap", "bethe"] {
        let note = one(&v, "infinite", method)["note"].as_str().unwrap();
        assert!(note.starts_with("uniform fixed point"), "{method}: {note}");
    }

    // The RG rows: at least two χ each, and the error falls as χ grows.
    for (model, method) in [
        ("torus16", "trg"),
        ("torus16", "tn"),
        ("infinite", "trg"),
        ("infinite", "hotrg"),
    ] {
        let mut r: Vec<(usize, f64)> = rows(&v, model, method)
            .iter()
            .map(|r| (chi(r), f(r, "error")))
            .collect();
        r.sort_by_key(|x| x.0);
        assert!(r.len() >= 2, "{model}/{method}");
        for w in r.windows(2) {
            assert!(w[1].1 < w[0].1, "{model}/{method}: {r:?}");
        }
    }
    // And BTRG beats the uniform approximations by orders of magnitude even at χ = 8.
    let trg8 = rows(&v, "infinite", "trg")
        .into_iter()
        .find(|r| chi(r) == 8)
        .unwrap();
    assert!(f(trg8, "error") < 1e-3 * f(one(&v, "infinite", "bethe"), "error"));
}

#[test]
fn bench_critical_markdown_and_csv() {
    let out = logz()
        .args(["bench", "critical", "--quick", "--markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Two Markdown tables with the same header, one row per method run or refused.
    let head = "| method | settings | kind | ln Z/N | error | wall s | cpu s | load | note |";
    assert_eq!(text.lines().filter(|l| *l == head).count(), 2, "{text}");
    assert!(text.contains(
        "**16×16 torus: exact ln Z/N = 0.932196314981 (Kaufman); error = |ln Z/N − exact|**"
    ));
    assert!(text.contains(
        "**infinite lattice: exact ln Z/N = 0.929695398342 (Onsager); error = |ln Z/N − exact|**"
    ));
    for l in text.lines().filter(|l| l.starts_with("| ")) {
        assert_eq!(l.matches(" | ").count(), 8, "{l}");
    }

    let out = logz()
        .args(["bench", "critical", "--quick", "--csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("model,method,settings,kind,"));
    let body: Vec<&str> = lines.collect();
    assert!(body.len() > 20, "{text}");
    assert!(body.iter().any(|l| l.starts_with("infinite,hotrg,")));

    // One output format at a time.
    let out = logz()
        .args(["bench", "critical", "--quick", "--json", "--csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
