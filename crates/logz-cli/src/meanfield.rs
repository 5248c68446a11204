//! `logz meanfield`: the essay's graphical solution of m = tanh(β(H + zJm)).
//!
//! Prints every root with its stability and bound for each temperature, draws both sides of the
//! equation with the intersections marked (one panel per temperature), and m(T) of the
//! homogeneous theory next to the exact Onsager/Yang curve of the square lattice.

use crate::plot::{self, Panel, Series};
use anyhow::{anyhow, Result};
use clap::Args;
use logz::exact::closed::yang_magnetization;
use logz::free_energy::homogeneous::{best_root, roots};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MeanFieldArgs {
    /// Coordination number z (4 for the square lattice)
    #[arg(long, default_value_t = 4.0)]
    pub z: f64,
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub coupling: f64,
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub field: f64,
    /// Temperature T = 1/β, or a range start:stop:step (one panel each)
    #[arg(long, default_value = "3")]
    pub temperature: String,
    /// Output folder for the SVG files
    #[arg(long, short, default_value = "logz-out/meanfield")]
    pub out: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

fn temps(s: &str) -> Result<Vec<f64>> {
    let v = crate::range::parse_grid("--temperature", s, 100)?;
    if v.iter().any(|t| *t <= 0.0) {
        return Err(anyhow!(
            "--temperature '{s}': temperatures must be positive"
        ));
    }
    Ok(v)
}

/// Points on each tanh curve of the graphical solution.
const CURVE_POINTS: usize = 1000;

/// Temperatures for m(T): 800 evenly spaced in (0, tmax], plus points crowding towards each
/// critical temperature from both sides (T_c(1 ∓ 10^{−u}), u from 0.5 to 9), where m(T) falls
/// like (T_c − T)^{1/2} (mean field) or (T_c − T)^{1/8} (Yang) and an even grid draws a jagged
/// corner.
fn temperature_grid(tmax: f64, critical: &[f64]) -> Vec<f64> {
    let mut grid: Vec<f64> = (1..=800).map(|k| tmax * k as f64 / 800.0).collect();
    for &tc in critical.iter().filter(|t| t.is_finite() && **t > 0.0) {
        for k in 0..=170 {
            let d = 10f64.powf(-0.5 - k as f64 * 0.05);
            grid.extend([tc * (1.0 - d), tc * (1.0 + d)]);
        }
    }
    grid.retain(|t| *t > 0.0 && *t <= tmax);
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid
}

pub fn run(a: &MeanFieldArgs) -> Result<()> {
    let ts = temps(&a.temperature)?;
    if !(a.z.is_finite() && a.z >= 0.0 && a.coupling.is_finite() && a.field.is_finite()) {
        return Err(anyhow!("--z must be ≥ 0 and --coupling/--field finite"));
    }
    let (z, j, h) = (a.z, a.coupling, a.field);
    let mut panels = Vec::new();
    let mut records = Vec::new();
    if !a.json {
        crate::outln!(
            "m = tanh(β(H + zJm)) with z = {z}, J = {j}, H = {h}; mean-field T_c = zJ = {}",
            z * j
        );
        crate::outln!(
            "{:>8} {:>20} {:>8} {:>18} {:>6}",
            "T",
            "m",
            "stable",
            "bound ln Z/N",
            "best"
        );
    }
    for &t in &ts {
        let beta = 1.0 / t;
        let rs = roots(z, j, h, beta)?;
        let best = best_root(z, j, h, beta)?;
        for r in &rs {
            if !a.json {
                crate::outln!(
                    "{t:>8.4} {:>20.15} {:>8} {:>18.12} {:>6}",
                    r.m,
                    if r.stable { "yes" } else { "no" },
                    r.bound_per_spin,
                    if r.m == best.m { "*" } else { "" }
                );
            }
        }
        records
            .push(serde_json::json!({"temperature": t, "beta": beta, "roots": rs, "best": best}));
        // Dense enough that the steep middle of tanh at low T is smooth (Δm = 0.002).
        let curve: Vec<(f64, f64)> = (0..=CURVE_POINTS)
            .map(|k| {
                let m = -1.0 + 2.0 * k as f64 / CURVE_POINTS as f64;
                (m, (beta * (h + z * j * m)).tanh())
            })
            .collect();
        panels.push(Panel {
            title: format!("T = {t:.3}"),
            x_label: "m".into(),
            y_label: "".into(),
            series: vec![
                Series {
                    label: "tanh(β(H + zJm))".into(),
                    points: curve,
                    color: 0,
                },
                Series {
                    label: "m".into(),
                    points: vec![(-1.0, -1.0), (1.0, 1.0)],
                    color: 1,
                },
            ],
            vlines: vec![],
            marks: rs.iter().map(|r| (r.m, r.m)).collect(),
        });
    }
    std::fs::create_dir_all(&a.out)?;
    let graph = a.out.join("graphical-solution.svg");
    let cols = panels.len().min(3);
    plot::draw(&graph, &panels, cols)?;
    // m(T): homogeneous mean field vs exact (square lattice, J = 1 units when z = 4).
    let tc = z * j;
    let tmax = (1.6 * tc).max(ts.iter().cloned().fold(0.0, f64::max));
    let exact_shown = z == 4.0 && h == 0.0 && j > 0.0;
    let tc_exact = j / logz::exact::closed::SQUARE_BETA_C;
    let mut critical = vec![tc];
    if exact_shown {
        critical.push(tc_exact);
    }
    let grid = temperature_grid(tmax, &critical);
    let mf: Vec<(f64, f64)> = grid
        .iter()
        .map(|&t| {
            (
                t,
                best_root(z, j, h, 1.0 / t)
                    .map(|r| r.m.abs())
                    .unwrap_or(f64::NAN),
            )
        })
        .collect();
    let mut series = Vec::new();
    if exact_shown {
        series.push(Series {
            label: "exact (Onsager/Yang, square lattice)".into(),
            points: grid
                .iter()
                .map(|&t| (t, yang_magnetization(j / t)))
                .collect(),
            color: 0,
        });
    }
    series.push(Series {
        label: "mean field".into(),
        points: mf,
        color: 1,
    });
    let mt = a.out.join("magnetization-vs-temperature.svg");
    plot::draw(
        &mt,
        &[Panel {
            title: format!("m(T), z = {z}, J = {j}, H = {h}"),
            x_label: "T".into(),
            y_label: "|m|".into(),
            series,
            vlines: if exact_shown {
                vec![
                    (tc, "mean-field T_c = zJ".into()),
                    (tc_exact, "Onsager T_c".into()),
                ]
            } else {
                vec![(tc, "mean-field T_c = zJ".into())]
            },
            marks: vec![],
        }],
        1,
    )?;
    if a.json {
        crate::outln!("{}", serde_json::to_string(&records)?);
    } else {
        crate::outln!("wrote {} and {}", graph.display(), mt.display());
    }
    Ok(())
}
