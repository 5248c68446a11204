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
    if method != "trg" {
        return Err(logz::rg::infinite_refusal(&a.model).into());
    }
    let p = Params {
        coupling: a.coupling,
        field: a.field,
        beta: a.beta.unwrap_or(DEFAULT_BETA),
        seed: a.seed,
    };
    let lat = InfiniteLattice::from_spec(&a.model, &p).expect("an infinite spec")?;
    let trg = trg_of(o)?;
    let out = trg
        .solve_infinite(&lat)
        .with_context(|| format!("{method} on {}", a.model))?
        .checked()?;
    if json {
        outln!("{}", infinite_json(method, &lat, &trg, &out));
    } else {
        crate::out!("{}", infinite_text(method, &lat, &trg, &out));
    }
    Ok(true)
}

/// Refuse a non-finite ln Z (never print NaN under a label).
trait Checked: Sized {
    fn checked(self) -> Result<Self>;
}
impl Checked for TrgOutcome {
    fn checked(mut self) -> Result<Self> {
        self.estimate = self.estimate.checked("trg")?;
        Ok(self)
    }
}

/// The `--json` object of an infinite lattice: `n` is null and every extensive number is per
/// spin.
fn infinite_json(method: &str, lat: &InfiniteLattice, trg: &Trg, out: &TrgOutcome) -> String {
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
        "chi": trg.chi,
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
fn infinite_text(method: &str, lat: &InfiniteLattice, trg: &Trg, out: &TrgOutcome) -> String {
    let e = &out.estimate;
    let mut s = String::new();
    s += &format!("method     {method} ({}, χ = {})\n", e.diagnostics.algorithm, trg.chi);
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
        s += &format!("error est. {d:.2e} per spin (χ = {} vs {c}; not a bound)\n", trg.chi);
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
