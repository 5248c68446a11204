//! `logz bench critical`: ln Z/N error against time for every method family at the square
//! lattice's critical point β_c = ln(1 + √2)/2, on the 16 × 16 torus (exact: Kaufman) and the
//! infinite lattice (exact: Onsager) — the issue-14 table, reproducible.
//!
//! Each row runs one method with stated settings, timed (wall clock and the process's CPU time,
//! with the 1-minute load average beside it: the machine may be shared). A method that does not
//! solve the stated model gets a row saying why instead of a number for another model:
//! `planar` needs an open (planar) grid and the torus is not planar; `tn` and the Monte Carlo /
//! variational methods (`van`, `ti`) need a finite model, so on the infinite lattice their row
//! points to the torus rows and to the finite-size gap |ln Z/N(16 × 16) − Onsager| that no
//! finite-N method can beat.
//!
//! On the infinite lattice the uniform fixed points of mean field, TAP and Bethe *are*
//! infinite-lattice values: on any square torus with L ≥ 3 every site has four neighbours, so a
//! uniform fixed point satisfies the infinite lattice's equations and its ln Z/N does not depend
//! on L. Mean field is taken from the closed-form homogeneous theory
//! ([`logz::free_energy::homogeneous`], z = 4); TAP and Bethe run on the 16 × 16 torus and the
//! row checks that the fixed point they reached is uniform. (TRW is left out there: its
//! edge-appearance probability (N − 1)/|E| depends on the graph, so its per-spin bound does.)

use crate::outln;
use crate::progress::Bar;
use anyhow::{anyhow, Result};
use logz::estimate::{Estimate, EstimateKind, Solver};
use logz::exact::closed::{kaufman_ln_z, onsager_ln_z_per_spin, SQUARE_BETA_C};
use logz::model::builders::{square, Params};
use logz::rg::{Hotrg, InfiniteLattice, LatticeKind, Tn, Trg};
use logz::runner::Runner;
use logz::Model;
use serde::Serialize;
use std::time::Instant;

/// Side of the finite torus.
const L: usize = 16;

/// How the table is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Csv,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `torus16` or `infinite`.
    pub model: &'static str,
    pub method: String,
    pub settings: String,
    /// The estimate's kind label (`exact`, `lower_bound`, …), or `n/a` when the method does not
    /// solve this model.
    pub kind: String,
    pub ln_z_per_spin: Option<f64>,
    /// One standard error of ln Z/N (stochastic kinds).
    pub std_err: Option<f64>,
    /// |ln Z/N − exact|.
    pub error: Option<f64>,
    /// error / |exact|.
    pub relative_error: Option<f64>,
    pub seconds: Option<f64>,
    /// CPU time of the whole process during the run (all threads).
    pub cpu_seconds: Option<f64>,
    /// 1-minute load average read right after the run.
    pub load: Option<f64>,
    pub note: String,
}

/// What a case computes: ln Z/N with its kind and a note.
struct Value {
    ln_z: f64,
    kind: EstimateKind,
    note: String,
}

type Run<'a> = Box<dyn Fn() -> Result<Value> + 'a>;

/// A row to compute, or a row that only says why the method does not apply.
struct Case<'a> {
    model: &'static str,
    method: &'static str,
    settings: String,
    run: Option<Run<'a>>,
    note: String,
}

/// The process's CPU time (user + system, all threads) from /proc/self/stat, in seconds;
/// `None` where /proc is missing. The fields count USER_HZ ticks, 100 per second on Linux.
pub(crate) fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at "state" (field 3);
    // utime and stime are fields 14 and 15.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The 1-minute load average, where /proc/loadavg exists.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Run a solver on the torus and return ln Z per spin.
fn per_spin(solver: &dyn Solver, m: &Model) -> Result<(Estimate, f64)> {
    let e = Runner::new().run(solver, m)?;
    let v = e.ln_z / m.n() as f64;
    Ok((e, v))
}

fn value_of(solver: &dyn Solver, m: &Model) -> Result<Value> {
    let (e, v) = per_spin(solver, m)?;
    let kind = match e.kind {
        EstimateKind::Stochastic { std_err } => EstimateKind::Stochastic {
            std_err: std_err / m.n() as f64,
        },
        EstimateKind::StochasticLowerBound { std_err } => EstimateKind::StochasticLowerBound {
            std_err: std_err / m.n() as f64,
        },
        k => k,
    };
    Ok(Value {
        ln_z: v,
        kind,
        note: String::new(),
    })
}

/// A uniform fixed point of a method on the torus, as the infinite lattice's per-spin value.
fn uniform_value(solver: &dyn Solver, m: &Model) -> Result<Value> {
    let (e, v) = per_spin(solver, m)?;
    let mags = &e.magnetization;
    let spread = mags.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - mags.iter().copied().fold(f64::INFINITY, f64::min);
    let note = if mags.is_empty() {
        "no magnetisations reported: uniformity not checked".to_string()
    } else if spread <= 1e-8 {
        format!(
            "uniform fixed point (m = {:.6}) of the 16×16 torus: the infinite lattice's",
            mags[0]
        )
    } else {
        format!("NOT uniform (spread of m {spread:.1e}): a torus value, not the infinite lattice's")
    };
    Ok(Value {
        ln_z: v,
        kind: e.kind,
        note,
    })
}

/// The settings of a run: full (the README table) or quick (tests).
struct Plan {
    trg_chi: Vec<usize>,
    hotrg_chi: Vec<usize>,
    tn_chi: Vec<usize>,
    van: logz::spin_vi::van::Van,
    ti: logz::mc::ThermodynamicIntegration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                trg_chi: vec![4, 8],
                hotrg_chi: vec![4, 6],
                tn_chi: vec![4, 8],
                van: logz::spin_vi::van::Van {
                    steps: 40,
                    batch: 64,
                    eval_samples: 2000,
                    ..Default::default()
                },
                ti: logz::mc::ThermodynamicIntegration {
                    rungs: 9,
                    max_rungs: 9,
                    sweeps: 200,
                    burn_in: 50,
                    chains: 2,
                    ..Default::default()
                },
            }
        } else {
            Plan {
                trg_chi: vec![8, 16, 24, 32],
                hotrg_chi: vec![8, 12, 16],
                tn_chi: vec![8, 16, 32, 64],
                van: logz::spin_vi::van::Van::default(),
                ti: logz::mc::ThermodynamicIntegration::default(),
            }
        }
    }
}

fn van_settings(v: &logz::spin_vi::van::Van) -> String {
    format!(
        "MADE depth {}, {} steps × batch {}, lr {}, annealed; ELBO from {} samples",
        v.depth, v.steps, v.batch, v.lr, v.eval_samples
    )
}

fn ti_settings(t: &logz::mc::ThermodynamicIntegration) -> String {
    format!(
        "{} rungs (≤ {}), {} sweeps + {} burn-in, {} chains",
        t.rungs, t.max_rungs, t.sweeps, t.burn_in, t.chains
    )
}

/// The cases of the 16 × 16 torus.
fn torus_cases<'a>(m: &'a Model, plan: &'a Plan) -> Vec<Case<'a>> {
    let solve = |s: Box<dyn Solver + 'a>| -> Option<Run<'a>> {
        Some(Box::new(move || value_of(s.as_ref(), m)))
    };
    let mut v = vec![
        Case {
            model: "torus16",
            method: "mf",
            settings: "naive mean field, library defaults".into(),
            run: solve(Box::<logz::free_energy::MeanField>::default()),
            note: String::new(),
        },
        Case {
            model: "torus16",
            method: "tap",
            settings: "second-order Plefka, library defaults".into(),
            run: solve(Box::<logz::free_energy::Tap>::default()),
            note: String::new(),
        },
        Case {
            model: "torus16",
            method: "bethe",
            settings: "loopy BP, library defaults".into(),
            run: solve(Box::<logz::free_energy::Bethe>::default()),
            note: String::new(),
        },
        Case {
            model: "torus16",
            method: "trw",
            settings: "tree-reweighted BP, uniform ρ".into(),
            run: solve(Box::<logz::free_energy::Trw>::default()),
            note: String::new(),
        },
        Case {
            model: "torus16",
            method: "van",
            settings: van_settings(&plan.van),
            run: solve(Box::new(plan.van.clone())),
            note: String::new(),
        },
        Case {
            model: "torus16",
            method: "ti",
            settings: ti_settings(&plan.ti),
            run: solve(Box::new(plan.ti.clone())),
            note: String::new(),
        },
    ];
    for &chi in &plan.trg_chi {
        v.push(Case {
            model: "torus16",
            method: "trg",
            settings: format!("bond-weighted TRG, χ = {chi}"),
            run: solve(Box::new(Trg {
                chi,
                error_estimate: false,
                ..Default::default()
            })),
            note: String::new(),
        });
    }
    for &chi in &plan.tn_chi {
        v.push(Case {
            model: "torus16",
            method: "tn",
            settings: format!("boundary MPS, χ = {chi}"),
            run: solve(Box::new(Tn {
                chi,
                error_estimate: false,
            })),
            note: String::new(),
        });
    }
    v.push(Case {
        model: "torus16",
        method: "planar",
        settings: "-".into(),
        run: None,
        note: "not applicable: the torus is not planar (planar solves open grids)".into(),
    });
    v
}

/// The cases of the infinite lattice.
fn infinite_cases<'a>(lat: InfiniteLattice, torus: &'a Model, plan: &'a Plan) -> Vec<Case<'a>> {
    let beta = lat.beta;
    let mut v = vec![
        Case {
            model: "infinite",
            method: "kaufman",
            settings: "the exact 16×16 torus".into(),
            run: Some(Box::new(move || {
                Ok(Value {
                    ln_z: kaufman_ln_z(L, L, beta) / (L * L) as f64,
                    kind: EstimateKind::Exact,
                    note: "finite size: the floor of every finite-N method's row".into(),
                })
            })),
            note: String::new(),
        },
        Case {
            model: "infinite",
            method: "mf",
            settings: "homogeneous mean field, z = 4 (closed form)".into(),
            run: Some(Box::new(move || {
                let r = logz::free_energy::homogeneous::best_root(4.0, 1.0, 0.0, beta)?;
                Ok(Value {
                    ln_z: r.bound_per_spin,
                    kind: EstimateKind::LowerBound,
                    note: format!("m = {:.6}", r.m),
                })
            })),
            note: String::new(),
        },
        Case {
            model: "infinite",
            method: "tap",
            settings: "uniform TAP fixed point".into(),
            run: Some(Box::new(move || {
                uniform_value(&logz::free_energy::Tap::default(), torus)
            })),
            note: String::new(),
        },
        Case {
            model: "infinite",
            method: "bethe",
            settings: "uniform BP fixed point".into(),
            run: Some(Box::new(move || {
                uniform_value(&logz::free_energy::Bethe::default(), torus)
            })),
            note: String::new(),
        },
    ];
    let infinite = |e: Estimate| Value {
        ln_z: e.ln_z,
        kind: e.kind,
        note: String::new(),
    };
    for &chi in &plan.trg_chi {
        v.push(Case {
            model: "infinite",
            method: "trg",
            settings: format!("bond-weighted TRG, χ = {chi}"),
            run: Some(Box::new(move || {
                let t = Trg {
                    chi,
                    error_estimate: false,
                    ..Default::default()
                };
                Ok(infinite(t.solve_infinite(&lat)?.estimate))
            })),
            note: String::new(),
        });
    }
    for &chi in &plan.hotrg_chi {
        v.push(Case {
            model: "infinite",
            method: "hotrg",
            settings: format!("HOTRG, χ = {chi}"),
            run: Some(Box::new(move || {
                let h = Hotrg {
                    chi,
                    error_estimate: false,
                    ..Default::default()
                };
                Ok(infinite(h.solve_infinite(&lat)?.estimate))
            })),
            note: String::new(),
        });
    }
    let finite_only = "not applicable: needs a finite model; see its 16×16 torus row and the \
                       kaufman finite-size row above";
    for method in ["van", "ti", "tn"] {
        v.push(Case {
            model: "infinite",
            method,
            settings: "-".into(),
            run: None,
            note: finite_only.into(),
        });
    }
    v.push(Case {
        model: "infinite",
        method: "planar",
        settings: "-".into(),
        run: None,
        note: "not applicable: exact only on finite open (planar) grids".into(),
    });
    v
}

/// Run every case and return the rows (the exact reference rows first).
pub fn rows(quick: bool, quiet: bool) -> Result<(Vec<Row>, f64, f64)> {
    let beta = SQUARE_BETA_C;
    let p = Params {
        coupling: 1.0,
        field: 0.0,
        beta,
        seed: 0,
    };
    let torus = square(L, L, true, &p)?;
    let lat = InfiniteLattice::new(LatticeKind::Square, 1.0, 0.0, beta)?;
    let exact_torus = kaufman_ln_z(L, L, beta) / (L * L) as f64;
    let exact_inf = onsager_ln_z_per_spin(beta);
    let plan = Plan::new(quick);
    let mut cases = torus_cases(&torus, &plan);
    cases.extend(infinite_cases(lat, &torus, &plan));
    let mut out = vec![
        reference("torus16", "kaufman", "Kaufman's closed form", exact_torus),
        reference("infinite", "onsager", "Onsager's closed form", exact_inf),
    ];
    let bar = Bar::new(quiet);
    bar.set_length(cases.len() as u64);
    for c in cases {
        bar.set_message(c.method.to_string());
        let exact = if c.model == "torus16" {
            exact_torus
        } else {
            exact_inf
        };
        let mut row = Row {
            model: c.model,
            method: c.method.to_string(),
            settings: c.settings,
            kind: "n/a".into(),
            ln_z_per_spin: None,
            std_err: None,
            error: None,
            relative_error: None,
            seconds: None,
            cpu_seconds: None,
            load: None,
            note: c.note,
        };
        if let Some(run) = c.run {
            let (cpu0, t0) = (cpu_seconds(), Instant::now());
            let v = run().map_err(|e| anyhow!("{} on {}: {e}", c.method, c.model))?;
            row.seconds = Some(t0.elapsed().as_secs_f64());
            row.cpu_seconds = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
            row.load = load_average();
            if !v.ln_z.is_finite() {
                return Err(anyhow!("{} on {}: ln Z is {}", c.method, c.model, v.ln_z));
            }
            let err = (v.ln_z - exact).abs();
            row.kind = v.kind.label().to_string();
            row.std_err = v.kind.std_err();
            row.ln_z_per_spin = Some(v.ln_z);
            row.error = Some(err);
            row.relative_error = Some(err / exact.abs());
            row.note = v.note;
        }
        out.push(row);
        bar.inc(1);
    }
    bar.clear();
    Ok((out, exact_torus, exact_inf))
}

fn reference(model: &'static str, method: &str, settings: &str, v: f64) -> Row {
    Row {
        model,
        method: method.into(),
        settings: settings.into(),
        kind: "exact".into(),
        ln_z_per_spin: Some(v),
        std_err: None,
        error: Some(0.0),
        relative_error: Some(0.0),
        seconds: None,
        cpu_seconds: None,
        load: None,
        note: "reference".into(),
    }
}

fn fmt_opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map(f).unwrap_or_else(|| "-".into())
}

fn value_cell(r: &Row) -> String {
    match (r.ln_z_per_spin, r.std_err) {
        (Some(v), Some(s)) => format!("{v:.10} ± {s:.1e}"),
        (Some(v), None) => format!("{v:.10}"),
        _ => "-".into(),
    }
}

/// `logz bench critical`.
pub fn run(quick: bool, format: Format) -> Result<()> {
    let load0 = load_average();
    let (rows, exact_torus, exact_inf) = rows(quick, format != Format::Text)?;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let beta = SQUARE_BETA_C;
    match format {
        Format::Json => {
            let v = serde_json::json!({
                "beta": beta,
                "coupling": 1.0,
                "field": 0.0,
                "quick": quick,
                "build": build,
                "load_at_start": load0,
                "models": [
                    {"id": "torus16", "name": "16×16 square torus", "n": L * L,
                     "exact": exact_torus, "exact_method": "kaufman"},
                    {"id": "infinite", "name": "infinite square lattice", "n": null,
                     "exact": exact_inf, "exact_method": "onsager"},
                ],
                "rows": rows,
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Csv => {
            outln!("model,method,settings,kind,ln_z_per_spin,std_err,error,relative_error,seconds,cpu_seconds,load,note");
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let n = |x: Option<f64>| x.map(|x| format!("{x:e}")).unwrap_or_default();
            for r in &rows {
                outln!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    r.model,
                    r.method,
                    q(&r.settings),
                    r.kind,
                    n(r.ln_z_per_spin),
                    n(r.std_err),
                    n(r.error),
                    n(r.relative_error),
                    n(r.seconds),
                    n(r.cpu_seconds),
                    n(r.load),
                    q(&r.note)
                );
            }
        }
        Format::Text | Format::Markdown => {
            let md = format == Format::Markdown;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            outln!(
                "Square lattice, J = 1, h = 0, β_c = ln(1 + √2)/2 = {beta:.10}; {build} build, \
                 {cores} cores, load average {} at start (a load above the core count means \
                 other processes share them: wall times grow, CPU times much less)",
                fmt_opt(load0, |x| format!("{x:.2}"))
            );
            for (id, title) in [
                (
                    "torus16",
                    format!(
                        "16×16 torus: exact ln Z/N = {exact_torus:.12} (Kaufman); error = \
                         |ln Z/N − exact|"
                    ),
                ),
                (
                    "infinite",
                    format!(
                        "infinite lattice: exact ln Z/N = {exact_inf:.12} (Onsager); error = \
                         |ln Z/N − exact|"
                    ),
                ),
            ] {
                outln!();
                let bold = if md { "**" } else { "" };
                outln!("{bold}{title}{bold}");
                let head = [
                    "method", "settings", "kind", "ln Z/N", "error", "wall s", "cpu s", "load",
                    "note",
                ];
                let cells = |r: &Row| -> [String; 9] {
                    [
                        r.method.clone(),
                        r.settings.clone(),
                        r.kind.clone(),
                        value_cell(r),
                        fmt_opt(r.error, |e| {
                            if e == 0.0 {
                                "0".into()
                            } else {
                                format!("{e:.1e}")
                            }
                        }),
                        fmt_opt(r.seconds, |s| format!("{s:.3}")),
                        fmt_opt(r.cpu_seconds, |s| format!("{s:.2}")),
                        fmt_opt(r.load, |s| format!("{s:.1}")),
                        r.note.clone(),
                    ]
                };
                let body: Vec<[String; 9]> =
                    rows.iter().filter(|r| r.model == id).map(cells).collect();
                if md {
                    outln!("| {} |", head.join(" | "));
                    outln!("|{}", "---|".repeat(head.len()));
                    for c in &body {
                        outln!("| {} |", c.join(" | "));
                    }
                } else {
                    let w: Vec<usize> = (0..8)
                        .map(|k| {
                            body.iter()
                                .map(|c| c[k].chars().count())
                                .chain([head[k].chars().count()])
                                .max()
                                .unwrap_or(0)
                        })
                        .collect();
                    let line = |c: &[String]| {
                        let mut s = String::new();
                        for k in 0..8 {
                            let pad = w[k] - c[k].chars().count();
                            if k >= 3 {
                                s.push_str(&" ".repeat(pad));
                                s.push_str(&c[k]);
                            } else {
                                s.push_str(&c[k]);
                                s.push_str(&" ".repeat(pad));
                            }
                            s.push_str("  ");
                        }
                        s.push_str(&c[8]);
                        s.trim_end().to_string()
                    };
                    let h: Vec<String> = head.iter().map(|s| s.to_string()).collect();
                    outln!("{}", line(&h));
                    for c in &body {
                        outln!("{}", line(c));
                    }
                }
            }
        }
    }
    Ok(())
}
