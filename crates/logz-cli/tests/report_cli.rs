//! `logz report --quick`: the page's structure and contract (the interactive behaviour is tested
//! in a real browser by `tests/browser/report.test.mjs`, run from `.ci/run`).

mod common;
use common::{fails_with, json_of, logz};
use std::path::Path;

/// The value of attribute `name` of the first element carrying `id="<id>"`.
fn attr_of(html: &str, id: &str, name: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element with id {id}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag_end = at + html[at..].find('>').unwrap();
    let tag = &html[tag_start..tag_end];
    let k = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{id} has no {name}: {tag}"));
    let v = &tag[k + name.len() + 3..];
    v[..v.find('"').unwrap()].replace("&quot;", "\"")
}

#[test]
fn quick_report_is_one_self_contained_page_with_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let t0 = std::time::Instant::now();
    let run = logz()
        .args(["report", "--quick", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.stderr.is_empty(), "--quiet draws no progress bar");
    let index = out.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    let size = html.len();
    assert!(size <= 2 << 20, "page is {size} bytes, over 2 MB");
    assert!(secs < 60.0, "quick report took {secs:.1} s");

    // The contract: four range sliders and the figure with the current roots as JSON.
    for id in ["temperature", "field", "coordination", "coupling"] {
        assert_eq!(attr_of(&html, id, "type"), "range", "{id}");
    }
    // Before any script runs, the page holds the library's roots at the starting point (T = 5,
    // z = 4, J = 1, H = 0: above T_c = zJ the only root is 0).
    let roots: Vec<f64> =
        serde_json::from_str(&attr_of(&html, "graphical-solution", "data-roots")).unwrap();
    let t = attr_of(&html, "temperature", "value");
    let lib = json_of(&[
        "meanfield",
        "--json",
        "--temperature",
        &t,
        "--out",
        dir.path().join("mf").to_str().unwrap(),
    ]);
    let want: Vec<f64> = lib[0]["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["m"].as_f64().unwrap())
        .collect();
    assert_eq!(roots, want);
    assert!(html.contains("id=\"roots-text\""));
    assert!(
        html.contains("function meanFieldRoots"),
        "the JS root finder is inline"
    );

    // Self-contained: nothing fetched from anywhere (the only URLs are XML namespaces).
    for bad in [
        "<link",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
        "<script src",
        "<img",
        "<iframe",
    ] {
        assert!(!html.contains(bad), "page loads something: {bad}");
    }
    let mut rest = html.as_str();
    while let Some(k) = rest.find("http") {
        let tail = &rest[k..];
        assert!(
            tail.starts_with("http://www.w3.org/"),
            "a URL in the page: {}",
            &tail[..tail.len().min(60)]
        );
        rest = &rest[k + 4..];
    }

    // Every section, and every number labelled with its kind.
    for id in [
        "dictionary",
        "boltzmann",
        "meanfield",
        "gbf",
        "bracket",
        "posterior",
        "ml-physics",
        "further",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
    }
    for k in [
        "exact",
        "lower_bound",
        "upper_bound",
        "stochastic",
        "stochastic_lower_bound",
        "approximation",
    ] {
        assert!(html.contains(&format!(">{k}<")), "kind {k} never shown");
    }

    // Figures as SVG and PNG, tables as CSV, beside the page.
    for fig in ["magnetization-vs-temperature", "bracket", "posterior-elbo"] {
        let svg = std::fs::read_to_string(out.join(format!("{fig}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{fig}.svg");
        let png = std::fs::read(out.join(format!("{fig}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{fig}.png"
        );
        assert!(html.contains(&format!("id=\"fig-{fig}\"")), "{fig} inlined");
    }
    for table in [
        "boltzmann-table",
        "meanfield-roots",
        "gbf-elbo",
        "bracket",
        "posterior",
        "ml-vs-meanfield",
        "rg-decimation",
        "replica",
        "learning",
    ] {
        let csv = std::fs::read_to_string(out.join(format!("{table}.csv"))).unwrap();
        assert!(csv.lines().count() >= 2, "{table}.csv is empty");
        assert!(
            html.contains(&format!("download=\"{table}.csv\"")),
            "{table}"
        );
    }
    // The Boltzmann table: 8 states whose probabilities sum to one; the bracket table holds
    // exact, both bounds and the stochastic estimates with their kinds.
    let b = std::fs::read_to_string(out.join("boltzmann-table.csv")).unwrap();
    let total: f64 = b
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(b.lines().count(), 9);
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let bracket = std::fs::read_to_string(out.join("bracket.csv")).unwrap();
    for k in ["exact", "lower_bound", "upper_bound", "stochastic"] {
        assert!(bracket.contains(&format!(",{k},")), "{k}");
    }
    assert!(!bracket.contains(",error,"), "a method failed:\n{bracket}");
    assert!(
        html.contains("0 violations of"),
        "mf ≤ exact ≤ trw must hold on every row"
    );
    assert!(Path::new(&out.join("index.html")).is_file());
}

#[test]
fn report_refuses_an_output_folder_that_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    fails_with(
        &[
            "report",
            "--quick",
            "--quiet",
            "--out",
            file.to_str().unwrap(),
        ],
        "creating",
    );
}
