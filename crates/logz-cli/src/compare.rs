//! `logz compare`: every applicable method over a β sweep on one model.
//!
//! Writes `results.csv`, `results.json` and `compare.svg` (ln Z/N, the error against the exact
//! value per spin, and |m| against β) into the output folder, and prints two aligned tables.
//!
//! Every (β, method) pair is one task; the tasks run on all threads, largest first, behind one
//! progress bar weighted by their rough cost. TI, AIS and BBVI run with the smaller budgets of
//! one sweep point ([`logz::methods::Budget::SweepPoint`]) unless their options are given: wider
//! error bars, the same convergence checks.

use crate::progress::Bar;
use crate::{load_model, plot, ModelArgs};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use logz::estimate::ErrorBar;
use logz::sweep::{self, abs_magnetization, relative_cost};
use logz::{Error, Solver};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Model file or built-in spec (default: the essay's square lattice, a 16×16 torus)
    #[arg(default_value = "square:16")]
    pub model: String,
    /// β sweep as start:stop:step
    #[arg(long, default_value = "0.1:1.0:0.05")]
    pub betas: String,
    /// Comma-separated methods (default: all that apply)
    #[arg(long)]
    pub methods: Option<String>,
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub coupling: f64,
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub field: f64,
    /// Seed for random built-ins and for stochastic methods
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub options: crate::MethodArgs,
    /// Output folder
    #[arg(long, short, default_value = "logz-out/compare")]
    pub out: PathBuf,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Serialize, Clone)]
struct Row {
    beta: f64,
    method: String,
    algorithm: String,
    kind: String,
    ln_z: f64,
    ln_z_per_spin: f64,
    /// A number, or "inf" in JSON when the run could not estimate it.
    std_err: Option<ErrorBar>,
    /// (ln Z − ln Z_exact)/N where an exact value exists at this β.
    error_per_spin: Option<f64>,
    abs_magnetization: Option<f64>,
    converged: bool,
    seconds: f64,
}

fn parse_range(s: &str) -> Result<Vec<f64>> {
    let v = crate::range::parse_grid("--betas", s, 10_000)?;
    if v[0] < 0.0 {
        return Err(anyhow!("--betas '{s}': need 0 ≤ start ≤ stop and step > 0"));
    }
    Ok(v)
}

pub fn run(a: &CompareArgs) -> Result<()> {
    let betas = parse_range(&a.betas)?;
    let margs = ModelArgs {
        model: a.model.clone(),
        beta: Some(betas[0]),
        coupling: a.coupling,
        field: a.field,
        seed: a.seed,
        evid: None,
    };
    let lm = load_model(&margs)?;
    let base = lm.model.clone();
    let n = base.n().max(1) as f64;
    let methods: Vec<String> = match &a.methods {
        Some(s) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        None => logz::methods::COMPARE
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    // Every method runs at every β: the stochastic ones get the smaller budgets of one sweep
    // point where their options are unset.
    // An option is refused only if none of the methods takes it.
    let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    let mut options = a.options.options(a.seed, &names)?;
    options.budget = logz::methods::Budget::SweepPoint;
    let solvers: Vec<_> = methods
        .iter()
        .cloned()
        .zip(logz::methods::configured_all(&names, &options)?)
        .collect();
    // One task per (β, method), largest first, on all threads, behind one weighted bar.
    let costs: Vec<u64> = solvers
        .iter()
        .map(|(name, _)| relative_cost(name))
        .collect();
    let bar = Bar::new(a.quiet);
    bar.set_message("comparing".into());
    bar.set_length(betas.len() as u64 * costs.iter().sum::<u64>());
    let refs: Vec<&(dyn Solver + Sync)> = solvers
        .iter()
        .map(|(_, s)| s.as_ref() as &(dyn Solver + Sync))
        .collect();
    let grid = sweep::run(
        &base,
        &betas,
        &refs,
        &costs,
        &|c| bar.inc(c),
        &crate::runner(&logz::NoProgress),
    )?;
    bar.clear();
    let results = grid
        .iter()
        .enumerate()
        .flat_map(|(b, row)| row.iter().enumerate().map(move |(k, r)| (b, k, r)));
    // Methods that do not apply (or are too large) are dropped with a note; other errors are fatal.
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for (b, k, r) in results {
        match r {
            Ok(e) => rows.push(Row {
                beta: betas[b],
                method: solvers[k].0.clone(),
                algorithm: e.diagnostics.algorithm.clone(),
                kind: e.kind.label().into(),
                ln_z: e.ln_z,
                ln_z_per_spin: e.ln_z / n,
                std_err: e.kind.std_err().map(ErrorBar),
                error_per_spin: None,
                abs_magnetization: abs_magnetization(e),
                converged: e.diagnostics.converged,
                seconds: e.diagnostics.seconds,
            }),
            Err(err @ (Error::NotApplicable { .. } | Error::TooLarge { .. })) => {
                let name = solvers[k].0.clone();
                if !skipped.iter().any(|s| s.0 == name) {
                    skipped.push((name, err.to_string()));
                }
            }
            Err(err) => return Err(anyhow!("{} at β = {}: {err}", solvers[k].0, betas[b])),
        }
    }
    // A method is shown only if it ran at every β.
    rows.retain(|r| !skipped.iter().any(|s| s.0 == r.method));
    let exact_at: Vec<Option<f64>> = betas
        .iter()
        .map(|&b| {
            rows.iter()
                .find(|r| r.beta == b && r.kind == "exact")
                .map(|r| r.ln_z)
        })
        .collect();
    for r in rows.iter_mut() {
        let bi = betas.iter().position(|&b| b == r.beta).unwrap_or(0);
        r.error_per_spin = exact_at[bi].map(|x| (r.ln_z - x) / n);
    }
    let shown: Vec<String> = methods
        .iter()
        .filter(|m| !skipped.iter().any(|s| &s.0 == *m))
        .cloned()
        .collect();
    print_tables(&betas, &shown, &rows, &a.model, base.n());
    for (name, why) in &skipped {
        crate::outln!("skipped {name}: {why}");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    write_csv(&a.out.join("results.csv"), &rows)?;
    std::fs::write(
        a.out.join("results.json"),
        serde_json::to_string_pretty(&rows)?,
    )
    .with_context(|| "writing results.json")?;
    write_plot(&a.out.join("compare.svg"), &shown, &rows, &a.model)?;
    crate::outln!(
        "wrote {}/results.csv, results.json, compare.svg",
        a.out.display()
    );
    Ok(())
}

fn print_tables(betas: &[f64], methods: &[String], rows: &[Row], model: &str, n: usize) {
    let get = |b: f64, m: &str| rows.iter().find(|r| r.beta == b && r.method == m);
    let kinds: Vec<String> = methods
        .iter()
        .map(|m| {
            rows.iter()
                .find(|r| &r.method == m)
                .map(|r| r.kind.clone())
                .unwrap_or_default()
        })
        .collect();
    crate::outln!(
        "ln Z / N on {model} ({n} spins); kinds: {}",
        methods
            .iter()
            .zip(&kinds)
            .map(|(m, k)| format!("{m} = {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let w = 15;
    let header: String = methods.iter().map(|m| format!("{m:>w$}")).collect();
    crate::outln!("{:>6}{header}", "beta");
    for &b in betas {
        let cells: String = methods
            .iter()
            .map(|m| match get(b, m) {
                Some(r) => match r.std_err {
                    Some(ErrorBar(se)) => format!(
                        "{:>w$}",
                        format!("{:.6}±{:.0e}", r.ln_z_per_spin, se / n as f64)
                    ),
                    None => format!("{:>w$.8}", r.ln_z_per_spin),
                },
                None => format!("{:>w$}", "-"),
            })
            .collect();
        crate::outln!("{b:>6.3}{cells}");
    }
    crate::outln!("\n|m| (mean absolute magnetisation per spin)");
    crate::outln!("{:>6}{header}", "beta");
    for &b in betas {
        let cells: String = methods
            .iter()
            .map(|m| match get(b, m).and_then(|r| r.abs_magnetization) {
                Some(x) => format!("{x:>w$.6}"),
                None => format!("{:>w$}", "-"),
            })
            .collect();
        crate::outln!("{b:>6.3}{cells}");
    }
    crate::outln!();
}

fn write_csv(path: &std::path::Path, rows: &[Row]) -> Result<()> {
    let mut s = String::from(
        "beta,method,algorithm,kind,ln_z,ln_z_per_spin,std_err,error_per_spin,abs_magnetization,converged,seconds\n",
    );
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        s += &format!(
            "{},{},\"{}\",{},{},{},{},{},{},{},{}\n",
            r.beta,
            r.method,
            r.algorithm,
            r.kind,
            r.ln_z,
            r.ln_z_per_spin,
            opt(r.std_err.map(|e| e.0)),
            opt(r.error_per_spin),
            opt(r.abs_magnetization),
            r.converged,
            r.seconds
        );
    }
    std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))
}

fn write_plot(path: &std::path::Path, methods: &[String], rows: &[Row], model: &str) -> Result<()> {
    let slots = plot::method_slots(methods);
    let series = |f: &dyn Fn(&Row) -> Option<f64>| -> Vec<plot::Series> {
        methods
            .iter()
            .zip(&slots)
            .map(|(m, &ci)| {
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| &r.method == m)
                    .filter_map(|r| f(r).map(|y| (r.beta, y)))
                    .collect();
                let kind = rows
                    .iter()
                    .find(|r| &r.method == m)
                    .map(|r| r.kind.clone())
                    .unwrap_or_default();
                plot::Series {
                    label: format!("{m} ({kind})"),
                    points: pts,
                    color: ci,
                }
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let bc = vec![(
        logz::exact::closed::SQUARE_BETA_C,
        "Onsager β_c".to_string(),
    )];
    let panels = vec![
        plot::Panel {
            title: format!("ln Z / N — {model}"),
            x_label: "β".into(),
            y_label: "ln Z / N".into(),
            series: series(&|r| Some(r.ln_z_per_spin)),
            vlines: bc.clone(),
            marks: vec![],
        },
        plot::Panel {
            title: "(ln Z − ln Z_exact) / N".into(),
            x_label: "β".into(),
            y_label: "error per spin".into(),
            series: series(&|r| r.error_per_spin),
            vlines: bc.clone(),
            marks: vec![],
        },
        plot::Panel {
            title: "|m|".into(),
            x_label: "β".into(),
            y_label: "mean |magnetisation|".into(),
            series: series(&|r| r.abs_magnetization),
            vlines: bc,
            marks: vec![],
        },
    ];
    plot::draw(path, &panels, 3)
}
