//! `logz report`: the essay ("How does physics connect to machine learning?") computed.
//!
//! One self-contained page, `DIR/index.html` (inline CSS, JavaScript and SVG; it loads nothing),
//! that follows the essay section by section, every number made by logz when the page is built
//! and labelled with its kind (`exact`, `lower_bound`, `upper_bound`, `stochastic`,
//! `stochastic_lower_bound`, `approximation`). Beside it: every figure as SVG and PNG and every
//! table as CSV.
//!
//! The page contract (the browser test relies on it): sliders `<input type="range">` with ids
//! `temperature`, `field`, `coordination`, `coupling`, and `<figure id="graphical-solution"
//! data-roots="[…]">` holding the current roots of m = tanh(β(H + zJm)) in ascending order,
//! updated on every input event and shown as text in `#roots-text`. The roots are computed in
//! the page by `graphical.js`, a port of `logz::free_energy::homogeneous::roots`.
//!
//! This module only calls the library and renders; `page` builds the HTML, tables and figures.

mod page;

use crate::plot::{self, method_slots, Panel, Series};
use crate::progress::Bar;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use logz::bayes::data::{age_income, AGE_INCOME};
use logz::bayes::fit::{fit, FitOptions, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::essay::{boltzmann_table, gbf_elbo_pairs};
use logz::exact::closed::{onsager_ln_z_per_spin, yang_magnetization, SQUARE_BETA_C};
use logz::free_energy::homogeneous::{best_root, roots};
use logz::methods::{configured, Budget, MethodOptions};
use logz::model::builders::{from_spec, Params};
use logz::{Estimate, Solver};
use page::{esc, kind, num, opt, pm, Page, Table};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Output folder: index.html, every figure as SVG and PNG, every table as CSV
    #[arg(long, short, default_value = "logz-out/report")]
    pub out: PathBuf,
    /// Smaller sweeps and training budgets (about half a minute on two cores)
    #[arg(long)]
    pub quick: bool,
    /// Seed of the random models and of every stochastic method
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
}

/// Settings of one build: the quick report runs the same sections with smaller sweeps.
struct Budgets {
    betas: Vec<f64>,
    van_steps: usize,
    advi_steps: usize,
    /// Exact samples for the learning section.
    samples: usize,
}

impl Budgets {
    fn of(quick: bool) -> Budgets {
        if quick {
            Budgets {
                betas: vec![0.2, 0.4, 0.6, 0.8, 1.0],
                van_steps: 600,
                advi_steps: 3000,
                samples: 5_000,
            }
        } else {
            Budgets {
                betas: (1..=20).map(|k| 0.05 * k as f64).collect(),
                van_steps: 1000,
                advi_steps: 20_000,
                samples: 50_000,
            }
        }
    }
}

/// The slider's starting point: above T_c = 4, one root; the reader drags towards T = 3.
const START: (f64, f64, f64, f64) = (5.0, 0.0, 4.0, 1.0);

/// Methods of the bracket sweep (section 5) and of section 7.
const SWEEP_METHODS: [&str; 6] = ["exact", "mf", "trw", "ti", "van", "bbvi"];

pub fn run(a: &ReportArgs) -> Result<()> {
    let t0 = Instant::now();
    let b = Budgets::of(a.quick);
    let bar = Bar::new(a.quiet);
    let sweep_cost: u64 = 2
        * b.betas.len() as u64
        * SWEEP_METHODS
            .iter()
            .map(|m| logz::sweep::relative_cost(m))
            .sum::<u64>();
    bar.set_length(sweep_cost + 8 * STAGE);
    let mut page = Page::new(&a.out)?;

    bar.set_message("dictionary".into());
    dictionary(&mut page);
    bar.inc(STAGE);
    bar.set_message("Boltzmann table".into());
    boltzmann(&mut page)?;
    bar.inc(STAGE);
    bar.set_message("mean field".into());
    mean_field(&mut page)?;
    bar.inc(STAGE);
    bar.set_message("GBF = ELBO".into());
    gbf_is_elbo(&mut page)?;
    bar.inc(STAGE);
    bar.set_message("bracket sweep".into());
    let sweeps = bracket(&mut page, &b, a.seed, &bar)?;
    bar.set_message("posterior".into());
    posterior(&mut page, &b, a.seed)?;
    bar.inc(STAGE);
    ml_into_physics(&mut page, &sweeps)?;
    bar.inc(STAGE);
    bar.set_message("RG, replicas, learning".into());
    further(&mut page, &b, a.seed)?;
    bar.inc(STAGE);
    let files = page.files.len();
    let script = include_str!("graphical.js");
    let intro = format!(
        "<p>Every number on this page was computed by <code>logz {}</code> when the page was built \
         ({} seconds), and every number says what kind of number it is: {} (the value itself), \
         {} / {} (rigorous bounds on ln Z), {} (Monte Carlo, ± one standard error), {} (below ln Z \
         in expectation), {} (no guarantee). The sections follow the essay <em>How does physics \
         connect to machine learning?</em>; figures and tables are also written beside this page \
         ({files} files).</p>",
        env!("CARGO_PKG_VERSION"),
        num((t0.elapsed().as_secs_f64() * 10.0).round() / 10.0),
        kind("exact"),
        kind("lower_bound"),
        kind("upper_bound"),
        kind("stochastic"),
        kind("stochastic_lower_bound"),
        kind("approximation"),
    );
    let path = page.finish("The essay, computed", &intro, script)?;
    bar.clear();
    crate::outln!(
        "wrote {} and {files} figures and tables beside it ({:.1} s)",
        path.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Progress weight of a section that is not part of the sweep.
const STAGE: u64 = 10;

fn p(text: &str) -> String {
    format!("<p>{text}</p>")
}

/// Section 1: the physics ↔ machine-learning dictionary.
fn dictionary(page: &mut Page) {
    let rows = [
        (
            "spin s_i ∈ {−1, +1}",
            "binary random variable",
            "a node of the graph",
        ),
        (
            "Boltzmann distribution e^{−βE(s)}/Z",
            "undirected graphical model (Markov random field), exponential family",
            "p(s; θ) = exp(Σ θ_ij s_i s_j + Σ θ_i s_i − a(θ))",
        ),
        (
            "couplings βJ_ij, fields βh_i",
            "natural parameters θ",
            "logz: model/expfam.rs",
        ),
        (
            "s_i s_j, s_i",
            "sufficient statistics t(s)",
            "their means are ∂a/∂θ",
        ),
        (
            "partition function Z",
            "normaliser; evidence p(x) for a posterior",
            "ln Z = a(θ)",
        ),
        (
            "−βF = ln Z",
            "log normaliser (log partition function)",
            "the number logz computes",
        ),
        (
            "magnetisation ⟨s_i⟩",
            "marginal expectation E_p[s_i]",
            "∂ ln Z/∂θ_i",
        ),
        (
            "mean-field trial Hamiltonian E_MF",
            "fully factorised variational family q_λ",
            "λ = effective field H + ΔH",
        ),
        (
            "Gibbs–Bogoliubov–Feynman inequality",
            "evidence lower bound (ELBO), ln Z = ELBO + KL(q‖p)",
            "section 4 shows them equal",
        ),
        ("negative variational free energy", "ELBO", "lower_bound"),
        (
            "thermodynamic integration, annealing",
            "Monte Carlo estimates of ln Z",
            "stochastic",
        ),
        (
            "replicas, renormalisation group",
            "disorder averages, coarse-graining of tensor networks",
            "section 8",
        ),
    ];
    let mut h = p(
        "The essay maps the language of one field onto the other. The same object has two names; \
         logz implements it once.",
    );
    h.push_str("<table id=\"table-dictionary\"><thead><tr><th>statistical physics</th><th>machine learning</th><th>note</th></tr></thead><tbody>");
    for (a, b, c) in rows {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(a),
            esc(b),
            esc(c)
        ));
    }
    h.push_str("</tbody></table>");
    page.section(
        "dictionary",
        "1. The physics ↔ machine-learning dictionary",
        h,
    );
}

/// Section 2: the Ising model and Z, written out for three spins.
fn boltzmann(page: &mut Page) -> Result<()> {
    let params = Params {
        coupling: 1.0,
        field: 0.2,
        beta: 0.5,
        seed: 0,
    };
    let model = from_spec("chain:3:open", &params)?;
    let t = boltzmann_table(&model)?;
    let exact = logz::Exact.solve(&model)?;
    let mut tab = Table::new(
        "boltzmann-table",
        "Open chain of 3 spins, J = 1, H = 0.2, β = 0.5: every state",
        &["s1", "s2", "s3", "E(s)", "−βE(s)", "p(s)", "kind"],
    );
    for r in &t.rows {
        let mut cells: Vec<String> = r
            .spins
            .iter()
            .map(|s| if *s > 0 { "+1" } else { "−1" }.to_string())
            .collect();
        cells.extend([
            num(r.energy),
            num(r.ln_weight),
            num(r.probability),
            "exact".into(),
        ]);
        tab.row(cells);
    }
    let mut h = p(
        "E(s) = −Σ_(i,j) J s_i s_j − H Σ_i s_i and p(s) = e^{−βE(s)}/Z. For three spins the sum \
         over 2³ = 8 states is easy; for a hundred spins it has more terms than there are atoms in \
         the universe.",
    );
    h.push_str(&page.table(&tab)?);
    h.push_str(&p(&format!(
        "ln Z = {} {} by summing the table (log-sum-exp), and {} {} from <code>logz solve \
         chain:3:open --method exact</code> ({}). Mean energy ⟨E⟩ = {} {}, magnetisation ⟨m⟩ = {} {}.",
        num(t.ln_z),
        kind("exact"),
        num(exact.ln_z),
        kind(exact.kind.label()),
        esc(&exact.diagnostics.algorithm),
        num(t.mean_energy),
        kind("exact"),
        num(t.magnetization.iter().sum::<f64>() / 3.0),
        kind("exact"),
    )));
    page.section(
        "boltzmann",
        "2. The Ising model and its partition function",
        h,
    );
    Ok(())
}

/// Section 3: the homogeneous mean-field equation, interactive, and m(T) against Onsager/Yang.
fn mean_field(page: &mut Page) -> Result<()> {
    let (t, hf, z, j) = START;
    let rs = roots(z, j, hf, 1.0 / t)?;
    let ms: Vec<f64> = rs.iter().map(|r| r.m).collect();
    let data_roots = serde_json::to_string(&ms)?;
    let slider = |id: &str, label: &str, min: f64, max: f64, step: f64, v: f64| {
        format!(
            "<label for=\"{id}\">{label}</label><input type=\"range\" id=\"{id}\" min=\"{min}\" \
             max=\"{max}\" step=\"{step}\" value=\"{v}\"><output id=\"{id}-value\">{v}</output>"
        )
    };
    let (c_curve, d_curve) = (plot::css_colour(1), plot::css_dash(1));
    let c_line = plot::css_colour(0);
    let mut h = p(
        "Every spin feels the field H plus the mean field zJm of its z neighbours; \
         self-consistency gives m = tanh(β(H + zJm)). It has no closed form, so plot both sides \
         and see where they intersect. Drag the sliders: the roots are recomputed in this page by \
         the same algorithm as <code>logz meanfield</code> (a JavaScript port of its root \
         finder). Filled circles are stable roots (βzJ(1 − m²) < 1), open circles unstable ones; \
         each root's per-spin bound β(zJm²/2 + Hm) + H(m) ≤ ln Z/N is listed, and the root that \
         maximises it (★) is the mean-field equilibrium.",
    );
    h.push_str("<div class=\"controls\">");
    h.push_str(&slider("temperature", "temperature T", 0.1, 8.0, 0.01, t));
    h.push_str(&slider("field", "field H", -1.0, 1.0, 0.01, hf));
    h.push_str(&slider("coordination", "coordination z", 0.0, 8.0, 1.0, z));
    h.push_str(&slider("coupling", "coupling J", -2.0, 2.0, 0.05, j));
    h.push_str("</div>");
    // The axes are drawn once; graphical.js redraws the curve and the roots.
    let (x0, x1, y0, y1) = (60.0, 540.0, 20.0, 380.0);
    let sx = |m: f64| x0 + (m + 1.05) / 2.1 * (x1 - x0);
    let sy = |v: f64| y1 - (v + 1.05) / 2.1 * (y1 - y0);
    let mut axes = String::new();
    for k in -2..=2 {
        let v = k as f64 * 0.5;
        axes.push_str(&format!(
            "<line x1=\"{a:.1}\" y1=\"{y0}\" x2=\"{a:.1}\" y2=\"{y1}\" stroke=\"#eee\"/>\
             <line x1=\"{x0}\" y1=\"{b:.1}\" x2=\"{x1}\" y2=\"{b:.1}\" stroke=\"#eee\"/>\
             <text x=\"{a:.1}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"middle\">{v}</text>\
             <text x=\"{tx}\" y=\"{bt:.1}\" font-size=\"12\" text-anchor=\"end\">{v}</text>",
            a = sx(v),
            b = sy(v),
            ty = y1 + 16.0,
            tx = x0 - 6.0,
            bt = sy(v) + 4.0,
        ));
    }
    h.push_str(&format!(
        "<figure id=\"graphical-solution\" data-roots=\"{dr}\" data-redraw-ms=\"\">\
         <svg viewBox=\"0 0 560 420\" width=\"560\" height=\"420\" role=\"img\" \
         aria-label=\"both sides of m = tanh(β(H + zJm))\">\
         <rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{hh}\" fill=\"none\" stroke=\"#000\"/>{axes}\
         <line x1=\"{l0x:.1}\" y1=\"{l0y:.1}\" x2=\"{l1x:.1}\" y2=\"{l1y:.1}\" stroke=\"{c_line}\" stroke-width=\"2\"/>\
         <polyline id=\"gs-curve\" fill=\"none\" stroke=\"{c_curve}\" stroke-width=\"2.5\" stroke-dasharray=\"{d_curve}\" points=\"\"/>\
         <g id=\"gs-marks\"></g>\
         <text x=\"300\" y=\"412\" font-size=\"13\" text-anchor=\"middle\">m</text>\
         <g font-size=\"12\"><line x1=\"70\" y1=\"34\" x2=\"100\" y2=\"34\" stroke=\"{c_line}\" stroke-width=\"2\"/>\
         <text x=\"106\" y=\"38\">left side: m</text>\
         <line x1=\"70\" y1=\"52\" x2=\"100\" y2=\"52\" stroke=\"{c_curve}\" stroke-width=\"2.5\" stroke-dasharray=\"{d_curve}\"/>\
         <text x=\"106\" y=\"56\">right side: tanh(β(H + zJm))</text></g></svg>\
         <figcaption><p id=\"roots-text\">roots: {txt}</p><p id=\"gs-critical\" class=\"note\"></p>\
         <table id=\"roots-table\"><thead><tr><th>root m</th><th>stability</th>\
         <th>bound on ln Z/N</th><th>kind</th><th></th></tr></thead><tbody id=\"roots-body\"></tbody></table>\
         <p id=\"gs-timing\" class=\"note\"></p></figcaption></figure>",
        dr = esc(&data_roots),
        w = x1 - x0,
        hh = y1 - y0,
        l0x = sx(-1.05),
        l0y = sy(-1.05),
        l1x = sx(1.05),
        l1y = sy(1.05),
        txt = ms.iter().map(|m| num(*m)).collect::<Vec<_>>().join(", "),
    ));
    // The same roots from the library, for a few temperatures (z = 4, J = 1, H = 0).
    let mut tab = Table::new(
        "meanfield-roots",
        "Roots of m = tanh(4m/T) from logz meanfield (z = 4, J = 1, H = 0)",
        &["T", "m", "stable", "bound ln Z/N", "kind", "equilibrium"],
    );
    for t in [2.0, 3.0, 3.9, 4.5] {
        let best = best_root(4.0, 1.0, 0.0, 1.0 / t)?;
        for r in roots(4.0, 1.0, 0.0, 1.0 / t)? {
            tab.row(vec![
                num(t),
                format!("{:.15}", r.m),
                (if r.stable { "stable" } else { "unstable" }).into(),
                num(r.bound_per_spin),
                "lower_bound".into(),
                (if r.m == best.m { "★" } else { "" }).into(),
            ]);
        }
    }
    h.push_str(&page.table(&tab)?);
    // m(T): mean field against the exact square lattice (Yang), T_c = 4 against 2.269.
    let tc_exact = 1.0 / SQUARE_BETA_C;
    let grid: Vec<f64> = (1..=600).map(|k| 6.0 * k as f64 / 600.0).collect();
    let yang: Vec<(f64, f64)> = grid
        .iter()
        .map(|&t| (t, yang_magnetization(1.0 / t)))
        .collect();
    let mf: Vec<(f64, f64)> = grid
        .iter()
        .map(|&t| {
            (
                t,
                best_root(4.0, 1.0, 0.0, 1.0 / t).map_or(f64::NAN, |r| r.m.abs()),
            )
        })
        .collect();
    let panels = [Panel {
        title: "m(T), square lattice, J = 1, H = 0".into(),
        x_label: "T".into(),
        y_label: "|m|".into(),
        series: vec![
            Series {
                label: "exact (Onsager/Yang)".into(),
                points: yang,
                color: method_slots(&["exact"])[0],
            },
            Series {
                label: "mean field (lower bound's maximiser)".into(),
                points: mf,
                color: method_slots(&["mf"])[0],
            },
        ],
        vlines: vec![
            (4.0, "mean-field T_c = zJ = 4".into()),
            (tc_exact, "Onsager T_c = 2.269".into()),
        ],
        marks: vec![],
    }];
    h.push_str(&page.figure(
        "magnetization-vs-temperature",
        "Spontaneous magnetisation: mean field (T_c = zJ = 4) against Yang's exact result \
         (T_c = 2/ln(1 + √2) ≈ 2.269). Ignoring fluctuations orders the magnet too early.",
        &panels,
        1,
    )?);
    page.section(
        "meanfield",
        "3. Mean-field theory: the graphical solution",
        h,
    );
    Ok(())
}

/// Section 4: the GBF bound and the ELBO, numerically equal.
fn gbf_is_elbo(page: &mut Page) -> Result<()> {
    let params = Params {
        coupling: 1.0,
        field: 0.1,
        beta: 0.3,
        seed: 0,
    };
    let model = from_spec("square:4", &params)?;
    let exact = logz::Exact.solve(&model)?;
    let mf = logz::MeanField::default().solve(&model)?;
    let m_star = mf.mean_magnetization();
    let l_star = m_star.atanh() / model.beta();
    let rows = gbf_elbo_pairs(&model, &[0.0, 0.5, 1.0, l_star, 2.0, 4.0])?;
    let mut tab = Table::new(
        "gbf-elbo",
        "4×4 square torus, J = 1, H = 0.1, β = 0.3: the GBF bound and the ELBO of the same q",
        &[
            "λ = H + ΔH",
            "m = tanh(βλ)",
            "GBF bound",
            "ELBO",
            "GBF − ELBO",
            "exact ln Z",
            "kind",
        ],
    );
    for r in &rows {
        tab.row(vec![
            num(r.lambda),
            num(r.m),
            num(r.gbf),
            num(r.elbo),
            format!("{:.3e}", r.gbf - r.elbo),
            num(exact.ln_z),
            "lower_bound (GBF, ELBO); exact".into(),
        ]);
    }
    let mut h = p(
        "The Gibbs–Bogoliubov–Feynman inequality ln Z ≥ ln Z_MF − β⟨E − E_MF⟩_MF, with trial \
         Hamiltonian E_MF = −λ Σ s_i, and the ELBO E_q[−βE(s)] − E_q[ln q(s)] of the factorised q \
         with ⟨s_i⟩ = tanh(βλ) are the same number for every λ — variational inference <em>is</em> \
         the GBF inequality. Both stay below the exact ln Z, and touch it most closely at the \
         mean-field optimum.",
    );
    h.push_str(&page.table(&tab)?);
    h.push_str(&p(&format!(
        "At the optimum λ* = {} (m* = {}): bound {} {} against ln Z = {} {}; the gap, \
         KL(q‖p) = {} {}.",
        num(l_star),
        num(m_star),
        num(mf.ln_z),
        kind(mf.kind.label()),
        num(exact.ln_z),
        kind(exact.kind.label()),
        num(exact.ln_z - mf.ln_z),
        kind("exact"),
    )));
    page.section("gbf", "4. The GBF bound is the ELBO", h);
    Ok(())
}

/// One model's sweep: its label, N and the estimates per β per method.
struct Sweep {
    label: String,
    n: usize,
    betas: Vec<f64>,
    results: Vec<Vec<Result<Estimate, logz::Error>>>,
}

impl Sweep {
    fn get(&self, b: usize, method: &str) -> Option<&Estimate> {
        let k = SWEEP_METHODS.iter().position(|m| *m == method)?;
        self.results[b][k].as_ref().ok()
    }
}

/// Section 5: the bracket [mf, trw] with exact, TI and VAN, on a lattice and on SK, across β.
fn bracket(page: &mut Page, b: &Budgets, seed: u64, bar: &Bar) -> Result<Vec<Sweep>> {
    let o = MethodOptions {
        seed,
        budget: Budget::SweepPoint,
        ..Default::default()
    };
    let solvers: Vec<Box<dyn Solver + Send + Sync>> = SWEEP_METHODS
        .iter()
        .map(|m| {
            if *m == "van" {
                configured(
                    m,
                    &MethodOptions {
                        steps: Some(b.van_steps),
                        ..o.clone()
                    },
                )
            } else {
                configured(m, &o)
            }
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&(dyn Solver + Sync)> = solvers
        .iter()
        .map(|s| s.as_ref() as &(dyn Solver + Sync))
        .collect();
    let costs: Vec<u64> = SWEEP_METHODS
        .iter()
        .map(|m| logz::sweep::relative_cost(m))
        .collect();
    let models = [
        ("square:4", "4×4 square torus, J = 1"),
        ("sk:16", "SK, N = 16, J_ij ~ N(0, 1/N)"),
    ];
    let mut sweeps = Vec::new();
    let mut tab = Table::new(
        "bracket",
        "ln Z per method and β (± one standard error where the method has one)",
        &[
            "model",
            "β",
            "method",
            "kind",
            "ln Z",
            "± std err",
            "ln Z/N",
            "(ln Z − exact)/N",
            "seconds",
        ],
    );
    let mut panels = Vec::new();
    for (spec, label) in models {
        let params = Params {
            coupling: 1.0,
            field: 0.0,
            beta: 1.0,
            seed,
        };
        let model = from_spec(spec, &params)?;
        let n = model.n();
        let done = |c: u64| bar.inc(c);
        let results = logz::sweep::run(
            &model,
            &b.betas,
            &refs,
            &costs,
            &done,
            &crate::runner(&logz::NoProgress),
        )?;
        let s = Sweep {
            label: label.into(),
            n,
            betas: b.betas.clone(),
            results,
        };
        for (bi, beta) in s.betas.iter().enumerate() {
            let ex = s.get(bi, "exact").map(|e| e.ln_z);
            for (k, m) in SWEEP_METHODS.iter().enumerate() {
                match &s.results[bi][k] {
                    Ok(e) => tab.row(vec![
                        spec.into(),
                        num(*beta),
                        m.to_string(),
                        e.kind.label().into(),
                        num(e.ln_z),
                        e.kind.std_err().map_or(String::new(), pm),
                        num(e.ln_z / n as f64),
                        opt(ex.map(|x| (e.ln_z - x) / n as f64)),
                        format!("{:.3}", e.diagnostics.seconds),
                    ]),
                    Err(err) => tab.row(vec![
                        spec.into(),
                        num(*beta),
                        m.to_string(),
                        "error".into(),
                        err.to_string(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]),
                }
            }
        }
        let slots = method_slots(&SWEEP_METHODS);
        let series = |f: &dyn Fn(&Estimate, f64) -> f64, only: &[&str]| -> Vec<Series> {
            SWEEP_METHODS
                .iter()
                .zip(&slots)
                .filter(|(m, _)| only.contains(m))
                .map(|(m, &slot)| {
                    let pts: Vec<(f64, f64)> = (0..s.betas.len())
                        .filter_map(|bi| {
                            let ex = s.get(bi, "exact")?.ln_z;
                            s.get(bi, m).map(|e| (s.betas[bi], f(e, ex)))
                        })
                        .collect();
                    let kind = (0..s.betas.len())
                        .find_map(|bi| s.get(bi, m))
                        .map_or("", |e| e.kind.label());
                    Series {
                        label: format!("{m} ({kind})"),
                        points: pts,
                        color: slot,
                    }
                })
                .collect()
        };
        let nn = n as f64;
        panels.push(Panel {
            title: format!("ln Z / N — {label}"),
            x_label: "β".into(),
            y_label: "ln Z / N".into(),
            series: series(&|e, _| e.ln_z / nn, &["exact", "mf", "trw", "ti", "van"]),
            vlines: vec![],
            marks: vec![],
        });
        panels.push(Panel {
            title: format!("(ln Z − exact)/N — {label}"),
            x_label: "β".into(),
            y_label: "error per spin".into(),
            series: series(
                &|e, x| (e.ln_z - x) / nn,
                &["exact", "mf", "trw", "ti", "van"],
            ),
            vlines: vec![],
            marks: vec![],
        });
        sweeps.push(s);
    }
    let mut h = p(
        "Naive mean field is a lower bound on ln Z and tree-reweighted BP (TRW) an upper bound: \
         the exact value must lie in [mf, trw]. Thermodynamic integration (Monte Carlo, ± error) \
         and a variational autoregressive network (VAN, a stochastic lower bound) land inside. \
         Small models on purpose: exact values exist, so every error is measured, not guessed.",
    );
    h.push_str(&page.figure(
        "bracket",
        "ln Z/N and its error per spin across β, on a lattice and on the SK spin glass. \
         Black solid: exact; each method keeps its colour and dash pattern in every figure.",
        &panels,
        2,
    )?);
    let mut viol = 0usize;
    for s in &sweeps {
        for bi in 0..s.betas.len() {
            if let (Some(ex), Some(lo), Some(hi)) =
                (s.get(bi, "exact"), s.get(bi, "mf"), s.get(bi, "trw"))
            {
                if lo.ln_z > ex.ln_z + 1e-9 * ex.ln_z.abs()
                    || hi.ln_z < ex.ln_z - 1e-9 * ex.ln_z.abs()
                {
                    viol += 1;
                }
            }
        }
    }
    h.push_str(&p(&format!(
        "Bracket check over both models and all {} temperatures: {} violations of \
         mf ≤ exact ≤ trw.",
        b.betas.len(),
        viol
    )));
    h.push_str(&page.table(&tab)?);
    page.section("bracket", "5. The bracket: mean field below, TRW above", h);
    Ok(sweeps)
}

/// Section 6: posterior inference, age → income: exact posterior against ADVI.
fn posterior(page: &mut Page, b: &Budgets, seed: u64) -> Result<()> {
    let data = age_income(200, seed);
    let kind_ = ModelKind::Linear(Noise::Known(AGE_INCOME.2));
    let runner = crate::runner(&logz::NoProgress);
    let ex = fit(&data, kind_, &FitOptions::default(), &runner).context("exact posterior")?;
    let advi = fit(
        &data,
        kind_,
        &FitOptions {
            method: Method::Advi,
            max_steps: b.advi_steps,
            seed,
            ..Default::default()
        },
        &runner,
    )
    .context("ADVI")?;
    let mut tab = Table::new(
        "posterior",
        "Bayesian linear regression income = a + b·age + ε, σ known, 200 people",
        &[
            "parameter",
            "exact mean",
            "exact sd",
            "ADVI mean",
            "ADVI sd",
            "kind (exact / ADVI)",
        ],
    );
    for (k, name) in ex.names.iter().enumerate() {
        tab.row(vec![
            name.clone(),
            num(ex.mean[k]),
            num(ex.sd[k]),
            opt(advi.mean.get(k).copied()),
            opt(advi.sd.get(k).copied()),
            "exact / approximation".into(),
        ]);
    }
    let ln_p = ex
        .ln_evidence
        .ok_or_else(|| anyhow!("the exact fit has no evidence"))?;
    let elbo = advi.elbo.unwrap_or(f64::NAN);
    let se = advi.elbo_std_err.unwrap_or(f64::NAN);
    let mut h = p(&format!(
        "Data: {} synthetic (age, income) pairs, income = {} + {}·age + noise (sd {}). The \
         posterior of the coefficients is Gaussian and known exactly; mean-field ADVI fits a \
         factorised Gaussian q by maximising the ELBO, the same bound as section 4 with the \
         evidence p(x) in place of Z.",
        data.n(),
        num(AGE_INCOME.0),
        num(AGE_INCOME.1),
        num(AGE_INCOME.2)
    ));
    h.push_str(&page.table(&tab)?);
    h.push_str(&p(&format!(
        "ln p(x) = {} {}; ELBO = {} {} {}; KL(q‖p) = ln p(x) − ELBO = {} {} {}. \
         CUBO₂ = {} {} {} (an upper bound in expectation); PSIS k̂ = {} \
         (below 0.5: q covers the posterior). ADVI: {} steps, {:.2} s, converged: {}.",
        num(ln_p),
        kind("exact"),
        num(elbo),
        pm(se),
        kind("stochastic_lower_bound"),
        num(ln_p - elbo),
        pm(se),
        kind("stochastic"),
        opt(advi.cubo),
        advi.cubo_std_err.map_or("—".into(), pm),
        kind("stochastic"),
        opt(advi.khat),
        advi.steps,
        advi.seconds,
        advi.converged
    )));
    let trace: Vec<(f64, f64)> = advi
        .trace
        .iter()
        .enumerate()
        .filter(|(_, y)| y.is_finite())
        .map(|(k, y)| (k as f64, *y))
        .collect();
    // Every 10th point keeps the figure small; the trace is noisy step to step anyway.
    let thin: Vec<(f64, f64)> = trace.iter().step_by(10).copied().collect();
    let lo = ln_p - 50.0;
    let panels = [Panel {
        title: "ADVI: ELBO per step against the exact ln p(x)".into(),
        x_label: "step".into(),
        y_label: "nats".into(),
        series: vec![
            Series {
                label: "exact ln p(x)".into(),
                points: vec![(0.0, ln_p), (trace.len().max(1) as f64, ln_p)],
                color: 0,
            },
            Series {
                label: "ELBO (ADVI, noisy)".into(),
                points: thin.into_iter().filter(|p| p.1 > lo).collect(),
                color: method_slots(&["bbvi"])[0],
            },
        ],
        vlines: vec![],
        marks: vec![],
    }];
    h.push_str(&page.figure(
        "posterior-elbo",
        "The ELBO climbs to just below the evidence; the remaining gap is KL(q‖p).",
        &panels,
        1,
    )?);
    page.section("posterior", "6. Posterior inference: age → income", h);
    Ok(())
}

/// Section 7: machine learning back into physics: BBVI and VAN against mean field.
fn ml_into_physics(page: &mut Page, sweeps: &[Sweep]) -> Result<()> {
    let mut tab = Table::new(
        "ml-vs-meanfield",
        "Error per spin (ln Z − exact)/N of mean field, BBVI and VAN",
        &["model", "β", "mf", "bbvi", "bbvi kind", "van", "van kind"],
    );
    for s in sweeps {
        for bi in 0..s.betas.len() {
            let Some(ex) = s.get(bi, "exact") else {
                continue;
            };
            let err = |m: &str| s.get(bi, m).map(|e| (e.ln_z - ex.ln_z) / s.n as f64);
            let lab = |m: &str| s.get(bi, m).map_or("", |e| e.kind.label()).to_string();
            tab.row(vec![
                s.label.clone(),
                num(s.betas[bi]),
                opt(err("mf")),
                opt(err("bbvi")),
                lab("bbvi"),
                opt(err("van")),
                lab("van"),
            ]);
        }
    }
    let mut h = p(
        "The essay asks whether stochastic optimisation helps physicists. Black-box VI (BBVI: the \
         same factorised family as mean field, fitted by noisy gradients) can at best reach mean \
         field's bound; a variational autoregressive network (VAN: an expressive q(s) = Π q(s_i | \
         s_<i)) can go beyond it, since its family contains correlated distributions.",
    );
    h.push_str(&page.table(&tab)?);
    page.section(
        "ml-physics",
        "7. Machine learning back into physics: BBVI and VAN",
        h,
    );
    Ok(())
}

/// Learning (inverse Ising): exact samples of a small random model whose couplings are known,
/// the couplings learned back by mean-field inversion and by pseudo-likelihood.
fn learning(page: &mut Page, b: &Budgets, seed: u64) -> Result<String> {
    use logz::learn::evaluate::reconstruction;
    use logz::learn::{learn, Expectations, LearnOptions, Method as Learn};
    let truth = logz::model::builders::random_model(8, 0.5, 0.6, 0.3, 1.0, seed)?;
    let table = boltzmann_table(&truth)?;
    let data = logz::essay::exact_samples(&table, b.samples, seed)?;
    let mut tab = Table::new(
        "learning",
        "Couplings and fields learned back from exact samples of an 8-spin random model",
        &[
            "method",
            "samples",
            "relative coupling error ‖Ĵ − J‖/‖J‖",
            "RMS coupling error",
            "relative field error",
            "kind",
        ],
    );
    for name in ["mf", "tap", "plm"] {
        let o = LearnOptions {
            method: Learn::parse(name, Expectations::Exact)?,
            ..Default::default()
        };
        let l = learn(&data, &o).with_context(|| format!("learning with {name}"))?;
        let r = reconstruction(&l.model, &truth)?;
        tab.row(vec![
            name.into(),
            data.len().to_string(),
            opt(r.coupling_error),
            num(r.coupling_rms),
            opt(r.field_error),
            "approximation".into(),
        ]);
    }
    let mut h = p(&format!(
        "<strong>Learning.</strong> Data → model is the inverse problem: the gradient of the \
         log-likelihood is ⟨s_i s_j⟩_data − ∂ ln Z/∂θ_ij, so each learning method is a way of \
         approximating ∂ ln Z. Here {} exact samples of a random 8-spin model (drawn from its \
         Boltzmann table) are inverted by naive mean field (J = −C⁻¹), TAP, and pseudo-likelihood \
         (consistent: its error shrinks like 1/√samples); <code>logz learn</code> does this on \
         any CSV of spins.",
        data.len()
    ));
    h.push_str(&page.table(&tab)?);
    Ok(h)
}

/// Section 8: renormalisation group and replica theory, from the library's modules.
fn further(page: &mut Page, b: &Budgets, seed: u64) -> Result<()> {
    use logz::replica::{solve, Level, Temperature};
    use logz::rg::realspace::{chain_ln_z_per_spin, decimation_flow, MigdalKadanoff};
    let k0 = 1.0;
    let flow = decimation_flow(k0, 6);
    let mut rg = Table::new(
        "rg-decimation",
        "Decimation of the chain: K → K' = atanh(tanh² K), from K = 1",
        &["step", "K", "kind"],
    );
    for (s, k) in flow.iter().enumerate() {
        rg.row(vec![s.to_string(), num(*k), "exact".into()]);
    }
    let mk = MigdalKadanoff::new(2)?;
    let kc = mk.fixed_point();
    let mut h = p(
        "<strong>Renormalisation group.</strong> Summing out every other spin of a chain maps the \
         coupling K to K' = atanh(tanh² K): every K flows to 0, so the chain never orders.",
    );
    h.push_str(&page.table(&rg)?);
    h.push_str(&p(&format!(
        "The constants of the flow add up to ln Z/N = {} {} against ln 2cosh K = {} {}. \
         Migdal–Kadanoff bond moving on the square lattice has its fixed point at K* = {} {} \
         (Onsager: β_c = {} {}); ln Z/N at β_c from Onsager's solution: {} {}.",
        num(chain_ln_z_per_spin(k0)),
        kind("exact"),
        num((2.0 * k0.cosh()).ln()),
        kind("exact"),
        num(kc),
        kind("approximation"),
        num(SQUARE_BETA_C),
        kind("exact"),
        num(onsager_ln_z_per_spin(SQUARE_BETA_C)),
        kind("exact"),
    )));
    let mut rep = Table::new(
        "replica",
        "SK model (J = 1, h = 0): replica-symmetric and one-step RSB −βf",
        &["T", "RS q", "RS −βf", "1RSB −βf", "kind"],
    );
    for t in [0.5, 0.8, 1.2, 1.5] {
        let rs = solve(Temperature::Beta(1.0 / t), 0.0, Level::Rs)?;
        let one = solve(Temperature::Beta(1.0 / t), 0.0, Level::Steps(1))?;
        rep.row(vec![
            num(t),
            num(rs.q[0]),
            opt(rs.ln_z_per_spin),
            opt(one.ln_z_per_spin),
            "approximation (N → ∞)".into(),
        ]);
    }
    h.push_str(&p(
        "<strong>Replica theory.</strong> The quenched average E ln Z = lim_{n→0} (E Z^n − 1)/n — \
         the essay's \"insane formula\". Above T = 1 the replica-symmetric solution has q = 0 and \
         is exact; below, replica symmetry breaks: the free energy f is a maximum over the overlap \
         structure, so one step of RSB lowers −βf towards Parisi's solution \
         (<code>logz replica</code>).",
    ));
    h.push_str(&page.table(&rep)?);
    h.push_str(&learning(page, b, seed)?);
    h.push_str(&p(
        "<strong>Other divergences.</strong> Section 6 reports the χ² upper bound CUBO beside the \
         ELBO (KL), and PSIS k̂, which says whether q covers p.",
    ));
    page.section(
        "further",
        "8. Renormalisation, replicas, learning and other divergences",
        h,
    );
    Ok(())
}
