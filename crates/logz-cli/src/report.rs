//! Text and JSON renderings of estimates and model information.

use logz::estimate::ErrorBar;
use logz::exact::{ordering, Exact};
use logz::io::LoadedModel;
use logz::Estimate;
use serde::Serialize;
use serde_json::json;

fn finite_or_null(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

/// The JSON object of the CLI contract.
pub fn estimate_json(method: &str, lm: &LoadedModel, e: &Estimate) -> String {
    let mag = lm.expand_magnetization(&e.magnetization);
    estimate_json_parts(method, lm.n_original, lm.model.beta(), mag, e)
}

/// The `--json` object from its parts (also for lattices answered without building a model).
pub fn estimate_json_parts(
    method: &str,
    n: usize,
    beta: f64,
    mag: Vec<f64>,
    e: &Estimate,
) -> String {
    let mean_mag = if mag.is_empty() {
        serde_json::Value::Null
    } else {
        json!(mag.iter().sum::<f64>() / mag.len() as f64)
    };
    let f = if beta > 0.0 && n > 0 {
        finite_or_null(-e.ln_z / (beta * n as f64))
    } else {
        serde_json::Value::Null
    };
    let v = json!({
        "method": method,
        "algorithm": e.diagnostics.algorithm,
        "n": n,
        "beta": beta,
        "ln_z": finite_or_null(e.ln_z),
        "log10_z": finite_or_null(e.ln_z / std::f64::consts::LN_10),
        "kind": e.kind.label(),
        // A number, null for kinds without one, or "inf" when the run could not estimate it.
        "std_err": e.kind.std_err().map(ErrorBar),
        "free_energy_per_spin": f,
        "magnetization": mag,
        "mean_magnetization": mean_mag,
        "abs_magnetization": e.abs_magnetization,
        "energy": e.energy,
        "edge_correlation": e.edge_correlation,
        "iterations": e.diagnostics.iterations,
        "converged": e.diagnostics.converged,
        "termination": e.diagnostics.termination.label(),
        "seconds": e.diagnostics.seconds,
        "notes": e.diagnostics.notes,
    });
    serde_json::to_string(&v).unwrap_or_default()
}

/// A short human-readable summary.
pub fn estimate_text(method: &str, lm: &LoadedModel, e: &Estimate) -> String {
    let m = &lm.model;
    estimate_text_parts(method, lm.n_original, m.num_edges(), m.beta(), e)
}

/// The text summary from its parts (also for lattices answered without building a model).
pub fn estimate_text_parts(
    method: &str,
    spins: usize,
    edges: usize,
    beta: f64,
    e: &Estimate,
) -> String {
    let n = spins.max(1) as f64;
    let mut s = String::new();
    let kind = match e.kind.std_err() {
        Some(se) => format!("{} (± {se:.3e})", e.kind.label()),
        None => e.kind.label().to_string(),
    };
    s += &format!("method     {method} ({})\n", e.diagnostics.algorithm);
    s += &format!("spins      {spins}   edges {edges}   beta {beta}\n");
    s += &format!("ln Z       {:.12}   [{kind}]\n", e.ln_z);
    s += &format!("log10 Z    {:.10}\n", e.ln_z / std::f64::consts::LN_10);
    s += &format!("ln Z / N   {:.12}\n", e.ln_z / n);
    if beta > 0.0 {
        s += &format!("F / N      {:.12}\n", -e.ln_z / (beta * n));
    }
    if !e.magnetization.is_empty() {
        s += &format!("<m>        {:.10}\n", e.mean_magnetization());
    }
    if let Some(a) = e.abs_magnetization {
        s += &format!("<|m|>      {a:.10}\n");
    }
    if let Some(en) = e.energy {
        s += &format!("<E> / N    {:.10}\n", en / n);
    }
    s += &format!(
        "iterations {}   converged {}   stopped: {}   {:.3} s\n",
        e.diagnostics.iterations,
        e.diagnostics.converged,
        e.diagnostics.termination.label(),
        e.diagnostics.seconds
    );
    for note in &e.diagnostics.notes {
        s += &format!("note       {note}\n");
    }
    s
}

#[derive(Serialize)]
pub struct Info {
    pub n: usize,
    pub clamped: usize,
    pub edges: usize,
    pub beta: f64,
    pub degree_min: usize,
    pub degree_mean: f64,
    pub degree_max: usize,
    pub ferromagnetic: bool,
    pub uniform_coupling: Option<f64>,
    pub uniform_field: Option<f64>,
    pub geometry: logz::Geometry,
    /// Width of the best elimination ordering found (an upper bound on the treewidth), if ≤ 40.
    pub treewidth_upper_bound: Option<usize>,
    pub ordering: Option<String>,
    pub exact_methods: Vec<&'static str>,
}

pub fn info(lm: &LoadedModel) -> Info {
    let m = &lm.model;
    let (dmin, dmean, dmax) = m.degree_stats();
    // The planner is skipped where the lattice alone proves the width is beyond 40.
    let tree = if logz::exact::treewidth_lower_bound(m) > 40 {
        None
    } else {
        ordering::best_tree(m, 40)
    };
    Info {
        n: lm.n_original,
        clamped: lm.clamped.len(),
        edges: m.num_edges(),
        beta: m.beta(),
        degree_min: dmin,
        degree_mean: dmean,
        degree_max: dmax,
        ferromagnetic: m.is_ferromagnetic(),
        uniform_coupling: m.uniform_coupling(),
        uniform_field: m.uniform_field(),
        geometry: m.geometry().clone(),
        treewidth_upper_bound: tree.as_ref().map(|t| t.width()),
        ordering: tree.as_ref().map(|t| t.heuristic.to_string()),
        exact_methods: Exact::applicable(m),
    }
}

pub fn info_text(i: &Info) -> String {
    let mut s = String::new();
    s += &format!("spins        {} ({} clamped by evidence)\n", i.n, i.clamped);
    s += &format!("edges        {}\n", i.edges);
    s += &format!("beta         {}\n", i.beta);
    s += &format!(
        "degree       min {}  mean {:.3}  max {}\n",
        i.degree_min, i.degree_mean, i.degree_max
    );
    s += &format!("geometry     {:?}\n", i.geometry);
    s += &format!(
        "couplings    {}{}\n",
        match i.uniform_coupling {
            Some(j) => format!("uniform J = {j}"),
            None => "non-uniform".into(),
        },
        if i.ferromagnetic {
            ", ferromagnetic"
        } else {
            ", some antiferromagnetic"
        }
    );
    s += &format!(
        "fields       {}\n",
        match i.uniform_field {
            Some(h) => format!("uniform h = {h}"),
            None => "non-uniform".into(),
        }
    );
    s += &format!(
        "treewidth    {}\n",
        match (i.treewidth_upper_bound, &i.ordering) {
            (Some(w), Some(o)) => format!("≤ {w} ({o} ordering)"),
            _ => "> 40 (no elimination ordering within 40 found)".into(),
        }
    );
    s += &format!(
        "exact        {}\n",
        if i.exact_methods.is_empty() {
            "none applies".to_string()
        } else {
            i.exact_methods.join(", ")
        }
    );
    s
}
