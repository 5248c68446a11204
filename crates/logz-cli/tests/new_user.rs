//! What a new user meets first: the help texts, the benchmark's documented options, the default
//! `compare` run and the figures every command draws.

mod common;
use common::logz;

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

/// One `<polyline>` of an SVG: stroke colour, dash pattern ("" = solid), width and vertices.
#[derive(Debug, Clone)]
struct Line {
    stroke: String,
    dash: String,
    width: String,
    points: Vec<(f64, f64)>,
}

/// The polylines of an SVG and its drawing scale (viewBox units per displayed pixel).
fn polylines(svg: &str) -> (Vec<Line>, f64) {
    let attr = |tag: &str, name: &str| -> String {
        let key = format!(" {name}=\"");
        tag.find(&key)
            .map(|k| {
                let rest = &tag[k + key.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .unwrap_or_default()
    };
    let root = &svg[..svg.find('>').unwrap()];
    let width: f64 = attr(root, "width").parse().unwrap();
    let view: Vec<f64> = attr(root, "viewBox")
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let lines = svg
        .split("<polyline")
        .skip(1)
        .map(|t| {
            let tag = &t[..t.find('>').unwrap()];
            Line {
                stroke: attr(tag, "stroke"),
                dash: attr(tag, "stroke-dasharray"),
                width: attr(tag, "stroke-width"),
                points: attr(tag, "points")
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect(),
            }
        })
        .collect();
    (lines, view[2] / width)
}

/// Check a figure: its curves (polylines 2 px wide, as plot.rs draws data; axes and ticks are
/// 1 px) come in exactly `series` styles, each with a colour and a dash pattern no other style
/// has; every legend swatch (a horizontal segment 36 px long, as plot.rs draws them) has the
/// colour, dash and width of a curve or of a marker line; vertices sit on a grid of at most
/// ¼ px. Returns the curves.
fn check_figure(path: &std::path::Path, series: usize, swatches: usize) -> Vec<Line> {
    let svg = std::fs::read_to_string(path).unwrap();
    let name = path.display();
    let (lines, scale) = polylines(&svg);
    assert!(scale >= 4.0, "{name}: vertices on a {scale}-th of a pixel");
    let is_swatch = |l: &Line| {
        l.points.len() == 2
            && l.points[0].1 == l.points[1].1
            && (l.points[1].0 - l.points[0].0 - 36.0 * scale).abs() < 0.5
    };
    let curve_width = format!("{}", 2.0 * scale);
    let curves: Vec<&Line> = lines
        .iter()
        .filter(|l| l.width == curve_width && !is_swatch(l))
        .collect();
    let mut styles: Vec<(&str, &str, &str)> = curves
        .iter()
        .map(|l| (l.stroke.as_str(), l.dash.as_str(), l.width.as_str()))
        .collect();
    styles.sort();
    styles.dedup();
    let mut colours: Vec<&str> = styles.iter().map(|s| s.0).collect();
    let mut dashes: Vec<&str> = styles.iter().map(|s| s.1).collect();
    colours.sort();
    colours.dedup();
    dashes.sort();
    dashes.dedup();
    assert_eq!(styles.len(), series, "{name}: curve styles {styles:?}");
    assert_eq!(colours.len(), series, "{name}: colours shared: {styles:?}");
    assert_eq!(
        dashes.len(),
        series,
        "{name}: dash patterns shared: {styles:?}"
    );
    // Marker lines (vertical, two vertices) have their own styles too.
    let markers: Vec<&Line> = lines
        .iter()
        .filter(|l| l.points.len() == 2 && l.points[0].0 == l.points[1].0 && !l.dash.is_empty())
        .collect();
    let legend: Vec<&Line> = lines.iter().filter(|l| is_swatch(l)).collect();
    assert_eq!(legend.len(), swatches, "{name}: legend swatches {legend:?}");
    for s in &legend {
        assert!(
            curves
                .iter()
                .chain(&markers)
                .any(|c| (&c.stroke, &c.dash, &c.width) == (&s.stroke, &s.dash, &s.width)),
            "{name}: legend swatch {s:?} matches no line"
        );
    }
    curves.into_iter().cloned().collect()
}

#[test]
fn figures_give_each_series_its_own_colour_and_dash_and_smooth_curves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // meanfield: the graphical solution (tanh and the diagonal, three panels, one legend) and
    // m(T), where mean field and the exact Onsager/Yang curve once shared a colour.
    stdout_of(&[
        "meanfield",
        "--temperature",
        "0.5:4.5:2",
        "-o",
        d.to_str().unwrap(),
    ]);
    let graph = check_figure(&d.join("graphical-solution.svg"), 2, 2);
    let tanh: Vec<&Line> = graph.iter().filter(|c| c.points.len() > 2).collect();
    assert_eq!(tanh.len(), 3, "one tanh curve per temperature");
    for c in tanh {
        assert!(
            c.points.len() >= 400,
            "tanh drawn with {} points",
            c.points.len()
        );
    }
    let mt = check_figure(&d.join("magnetization-vs-temperature.svg"), 2, 4);
    for c in &mt {
        assert!(
            c.points.len() >= 400,
            "m(T) drawn with {} points",
            c.points.len()
        );
    }
    // compare: nine methods, one legend for the three panels (nine methods and β_c).
    let out = d.join("cmp");
    stdout_of(&[
        "compare",
        "square:4",
        "--betas",
        "0.2:0.6:0.1",
        "--methods",
        "exact,onsager,mf,tap,bethe,trw,ti,ais,bbvi",
        "--sweeps",
        "200",
        "--steps",
        "50",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    check_figure(&out.join("compare.svg"), 9, 10);
    // fit: the ELBO trace beside ln p(y), and each posterior beside the exact one.
    let csv = d.join("data.csv");
    stdout_of(&[
        "data",
        "age-income",
        "--rows",
        "500",
        "-o",
        csv.to_str().unwrap(),
    ]);
    let fig = d.join("fit.svg");
    stdout_of(&[
        "fit",
        "blr",
        csv.to_str().unwrap(),
        "--x",
        "age",
        "--y",
        "income",
        "-m",
        "advi",
        "--steps",
        "2000",
        "-q",
        "--plot",
        fig.to_str().unwrap(),
    ]);
    let curves = check_figure(&fig, 2, 4);
    assert!(curves.iter().filter(|c| c.points.len() >= 400).count() >= 4);
}
