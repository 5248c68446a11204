//! The renormalisation group on the command line: `logz solve square:inf --method trg` (the
//! thermodynamic limit, reported per spin).

use crate::{outln, DEFAULT_BETA};
use anyhow::{Context, Result};
use logz::methods::{Budget, Config, MethodOptions};
use logz::model::builders::Params;
use logz::rg::{InfiniteLattice, Trg, TrgOutcome};
use serde_json::json;

/// The TRG configuration from the method options (`--chi`).
fn trg_of(o: &MethodOptions) -> Result<Trg> {
    match Config::defaults("trg", Budget::Single)?.with(o) {
        Config::Trg(t) => Ok(t),
        _ => unreachable!("trg is Config::Trg"),
    }
}

/// `solve` on an infinite-lattice spec (`square:inf`): answered here, per spin, by `trg`;
/// every other method is refused in one line. Returns whether the spec was an infinite one.
pub fn solve_infinite(
    a: &crate::ModelArgs,
    method: &str,
    o: &MethodOptions,
    json: bool,
) -> Result<bool> {
    if !logz::rg::is_infinite_spec(&a.model) || std::path::Path::new(&a.model).exists() {
        return Ok(false);
    }
    if method != "trg" && method != "hotrg" {
        return Err(logz::rg::infinite_refusal(&a.model).into());
    }
    let p = Params {
        coupling: a.coupling,
        field: a.field,
        beta: a.beta.unwrap_or(DEFAULT_BETA),
        seed: a.seed,
    };
    let lat = InfiniteLattice::from_spec(&a.model, &p).expect("an infinite spec")?;
    let (chi, out) = if method == "hotrg" {
        // The cubic lattice's tensors have χ⁶ entries: its default χ is smaller.
        let h = logz::rg::Hotrg::for_lattice(o.chi, lat.lattice);
        (h.chi, h.solve_infinite(&lat))
    } else {
        let trg = trg_of(o)?;
        (trg.chi, trg.solve_infinite(&lat))
    };
    let out = out
        .with_context(|| format!("{method} on {}", a.model))?
        .checked()?;
    if json {
        outln!("{}", infinite_json(method, &lat, chi, &out));
    } else {
        crate::out!("{}", infinite_text(method, &lat, chi, &out));
    }
    Ok(true)
}

/// Refuse a non-finite ln Z (never print NaN under a label).
trait Checked: Sized {
    fn checked(self) -> Result<Self>;
}
impl Checked for TrgOutcome {
    fn checked(mut self) -> Result<Self> {
        let name = self.estimate.diagnostics.algorithm.clone();
        self.estimate = self.estimate.checked(&name)?;
        Ok(self)
    }
}

/// The `--json` object of an infinite lattice: `n` is null and every extensive number is per
/// spin.
fn infinite_json(method: &str, lat: &InfiniteLattice, chi: usize, out: &TrgOutcome) -> String {
    let e = &out.estimate;
    let f = (lat.beta > 0.0).then(|| -e.ln_z / lat.beta);
    let v = json!({
        "method": method,
        "algorithm": e.diagnostics.algorithm,
        "model": lat.spec(),
        "n": null,
        "per_spin": true,
        "beta": lat.beta,
        "coupling": lat.coupling,
        "field": lat.field,
        "ln_z": e.ln_z,
        "log10_z": e.ln_z / std::f64::consts::LN_10,
        "kind": e.kind.label(),
        "std_err": null,
        "error_estimate": out.error_estimate,
        "chi": chi,
        "chi_reference": out.chi_reference,
        "truncation_error": out.truncation,
        "free_energy_per_spin": f,
        "magnetization": [],
        "mean_magnetization": null,
        "iterations": e.diagnostics.iterations,
        "converged": e.diagnostics.converged,
        "seconds": e.diagnostics.seconds,
        "notes": e.diagnostics.notes,
    });
    serde_json::to_string(&v).unwrap_or_default()
}

/// The text summary of an infinite lattice ("per spin" throughout).
fn infinite_text(method: &str, lat: &InfiniteLattice, chi: usize, out: &TrgOutcome) -> String {
    let e = &out.estimate;
    let mut s = String::new();
    s += &format!(
        "method     {method} ({}, χ = {})\n",
        e.diagnostics.algorithm, chi
    );
    s += &format!(
        "lattice    {} (infinite; all values per spin)   J {}   h {}   beta {}\n",
        lat.spec(),
        lat.coupling,
        lat.field,
        lat.beta
    );
    s += &format!("ln Z / N   {:.12}   [{}]\n", e.ln_z, e.kind.label());
    if lat.beta > 0.0 {
        s += &format!("F / N      {:.12}\n", -e.ln_z / lat.beta);
    }
    if let (Some(d), Some(c)) = (out.error_estimate, out.chi_reference) {
        s += &format!("error est. {d:.2e} per spin (χ = {chi} vs {c}; not a bound)\n");
    }
    s += &format!("truncation {:.2e}\n", out.truncation);
    s += &format!(
        "steps      {}   {:.3} s\n",
        e.diagnostics.iterations, e.diagnostics.seconds
    );
    for note in &e.diagnostics.notes {
        s += &format!("note       {note}\n");
    }
    s
}

// ------------------------------------------------------------------ logz rg decimate | mk

use crate::plot::{self, Panel, Series};
use clap::{Args, Subcommand};
use logz::rg::realspace::{chain_ln_z_per_spin, decimation_flow, MigdalKadanoff};
use std::path::PathBuf;

/// `logz rg`: real-space renormalisation group as a teaching tool.
#[derive(Args, Debug)]
pub struct RgArgs {
    #[command(subcommand)]
    pub cmd: RgCmd,
}

/// The real-space RG schemes.
#[derive(Subcommand, Debug)]
pub enum RgCmd {
    /// 1D chain: decimate every other spin, K' = atanh(tanh² K) (exact); every K flows to 0
    Decimate {
        /// Starting coupling K = βJ
        #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
        k: f64,
        /// Decimation steps (1 to 1000)
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Migdal–Kadanoff bond moving (b = 2): flow diagram, fixed point K*, ν, free energy
    Mk {
        /// square or cubic
        #[arg(long, default_value = "square")]
        lattice: String,
        /// RG steps drawn in the flow diagram (1 to 200)
        #[arg(long, default_value_t = 12)]
        steps: usize,
        /// Output directory for the SVG plots
        #[arg(long, short, default_value = "logz-out/rg")]
        out: PathBuf,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
}

/// Run `logz rg …`.
pub fn run(a: &RgArgs) -> Result<()> {
    match &a.cmd {
        RgCmd::Decimate { k, steps, json } => decimate(*k, *steps, *json),
        RgCmd::Mk {
            lattice,
            steps,
            out,
            json,
        } => mk(lattice, *steps, out, *json),
    }
}

fn check_steps(steps: usize, max: usize) -> Result<()> {
    if steps == 0 || steps > max {
        anyhow::bail!("--steps must be 1 to {max}, got {steps}");
    }
    Ok(())
}

fn decimate(k: f64, steps: usize, json: bool) -> Result<()> {
    if !k.is_finite() {
        anyhow::bail!("--k must be a finite number, got {k}");
    }
    check_steps(steps, 1000)?;
    let flow = decimation_flow(k, steps);
    let f = chain_ln_z_per_spin(k);
    let exact = (2.0 * k.cosh()).ln();
    if json {
        let v = json!({
            "k0": k, "flow": flow, "ln_z_per_spin": f, "exact_ln_z_per_spin": exact,
        });
        outln!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    outln!("1D decimation: K' = atanh(tanh² K) (exact; the only fixed points are K = 0 and ∞)");
    outln!("{:>4}  {:>22}  {:>16}", "step", "K", "tanh K");
    for (n, kn) in flow.iter().enumerate() {
        outln!("{n:>4}  {kn:>22.15e}  {:>16.10}", kn.tanh());
    }
    outln!(
        "ln Z / N from the flow {f:.15}   exact ln(2 cosh K) {exact:.15}   (per spin, infinite chain)"
    );
    Ok(())
}

fn mk(lattice: &str, steps: usize, out: &std::path::Path, json: bool) -> Result<()> {
    check_steps(steps, 200)?;
    let (d, kc_exact, nu_exact) = match lattice.to_ascii_lowercase().as_str() {
        "square" => (2, logz::exact::closed::SQUARE_BETA_C, 1.0),
        // Cubic: K_c = 0.2216546 and ν = 0.62997 from Monte Carlo and the conformal bootstrap.
        "cubic" => (3, 0.221_654_6, 0.629_97),
        other => anyhow::bail!("--lattice must be square or cubic, got '{other}'"),
    };
    let mk = MigdalKadanoff::new(d)?;
    let ks = mk.fixed_point();
    let lambda = mk.slope(ks);
    let nu = mk.nu();
    // Flow diagram: K_n against n from starting points on both sides of K*.
    let starts: Vec<f64> = [0.5, 0.8, 0.95, 0.99, 1.01, 1.05, 1.2, 1.5]
        .iter()
        .map(|x| x * ks)
        .collect();
    let flows: Vec<Series> = starts
        .iter()
        .enumerate()
        .map(|(i, &k0)| Series {
            label: format!("K₀ = {k0:.4}"),
            points: mk
                .flow(k0, steps)
                .iter()
                .enumerate()
                .map(|(n, &k)| (n as f64, k.min(4.0 * ks)))
                .collect(),
            color: i,
        })
        .collect();
    let kmax = 2.0 * ks;
    let map: Vec<(f64, f64)> = (0..=200)
        .map(|i| {
            let k = kmax * i as f64 / 200.0;
            (k, mk.step(k))
        })
        .collect();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let flow_svg = out.join(format!("mk-flow-{lattice}.svg"));
    plot::draw(
        &flow_svg,
        &[
            Panel {
                title: format!("Migdal–Kadanoff flow, {lattice} lattice (K* = {ks:.4})"),
                x_label: "RG step n".into(),
                y_label: "K_n (clipped at 4K*)".into(),
                series: flows,
                vlines: vec![],
                marks: vec![],
            },
            Panel {
                title: format!("recursion K' = atanh(tanh²({}K))", 1 << (d - 1)),
                x_label: "K".into(),
                y_label: "K'".into(),
                series: vec![
                    Series {
                        label: "K'(K)".into(),
                        points: map,
                        color: 0,
                    },
                    Series {
                        label: "K' = K".into(),
                        points: vec![(0.0, 0.0), (kmax, kmax)],
                        color: 1,
                    },
                ],
                vlines: vec![(ks, "K*".into()), (kc_exact, "exact K_c".into())],
                marks: vec![(ks, ks)],
            },
        ],
        2,
    )?;
    // Free energy against the exact solution (square lattice only).
    let mut table = Vec::new();
    let mut files = vec![flow_svg.display().to_string()];
    if d == 2 {
        let grid: Vec<f64> = (1..=60).map(|i| i as f64 * 0.02).collect();
        for &k in &grid {
            table.push((
                k,
                mk.ln_z_per_spin(k),
                logz::exact::closed::onsager_ln_z_per_spin(k),
            ));
        }
        let f_svg = out.join("mk-free-energy-square.svg");
        plot::draw(
            &f_svg,
            &[Panel {
                title: "ln Z / N: Migdal–Kadanoff against Onsager".into(),
                x_label: "K = βJ".into(),
                y_label: "ln Z / N (per spin)".into(),
                series: vec![
                    Series {
                        label: "Onsager (exact)".into(),
                        points: table.iter().map(|r| (r.0, r.2)).collect(),
                        color: 0,
                    },
                    Series {
                        label: "Migdal–Kadanoff".into(),
                        points: table.iter().map(|r| (r.0, r.1)).collect(),
                        color: 1,
                    },
                ],
                vlines: vec![(ks, "K*".into()), (kc_exact, "exact K_c".into())],
                marks: vec![],
            }],
            1,
        )?;
        files.push(f_svg.display().to_string());
    }
    if json {
        let v = json!({
            "lattice": lattice, "dimension": d, "fixed_point": ks, "exact_critical_coupling": kc_exact,
            "eigenvalue": lambda, "nu": nu, "exact_nu": nu_exact,
            "free_energy": table.iter().map(|r| json!({"k": r.0, "mk_ln_z_per_spin": r.1, "onsager_ln_z_per_spin": r.2})).collect::<Vec<_>>(),
            "files": files,
        });
        outln!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    outln!(
        "Migdal–Kadanoff (b = 2), {lattice} lattice: K' = atanh(tanh²({}K))",
        1 << (d - 1)
    );
    outln!("fixed point K*  {ks:.10}   (exact K_c = {kc_exact:.7})");
    outln!("λ = dK'/dK|K*   {lambda:.10}");
    outln!("ν = ln 2/ln λ   {nu:.6}   (exact ν = {nu_exact})");
    if d == 2 {
        outln!(
            "{:>6}  {:>14}  {:>14}  {:>10}",
            "K",
            "MK ln Z/N",
            "Onsager",
            "rel. diff"
        );
        for r in table.iter().step_by(5) {
            outln!(
                "{:>6.2}  {:>14.10}  {:>14.10}  {:>10.2e}",
                r.0,
                r.1,
                r.2,
                (r.1 - r.2) / r.2
            );
        }
    }
    outln!("wrote {}", files.join(" and "));
    Ok(())
}
