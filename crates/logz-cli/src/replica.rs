//! `logz replica …` (replica theory of the SK model) and `logz disorder …` (disorder averages):
//! argument checks and output only; the numerics live in `logz::replica` and `logz::disorder`.

use crate::plot::{self, Panel, Series};
use crate::{outln, MethodArgs};
use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use logz::replica::{self, Level, Temperature};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// `logz replica`.
#[derive(Args, Debug)]
pub struct ReplicaArgs {
    #[command(subcommand)]
    cmd: ReplicaCmd,
}

#[derive(Subcommand, Debug)]
enum ReplicaCmd {
    /// RS / k-step RSB / full-RSB solution of the SK model (J = 1) at one temperature and field
    Sk(SkArgs),
    /// Exact integer moments (1/N) ln E[Z^n] of the Gaussian SK model at finite N
    Moments(MomentsArgs),
    /// RS cavity method on sparse random graphs (random regular, Erdős–Rényi) by population dynamics
    Cavity(CavityArgs),
}

/// `logz replica cavity`.
#[derive(Args, Debug)]
pub struct CavityArgs {
    /// Graph family: rr:C (random regular of degree C) or er:C (Erdős–Rényi / Viana–Bray, mean degree C)
    #[arg(long)]
    graph: String,
    /// Coupling distribution: pm (±J), gauss (N(0, J²)) or ferro (+J)
    #[arg(long, default_value = "pm")]
    couplings: String,
    /// Inverse temperature β > 0
    #[arg(long, allow_hyphen_values = true)]
    beta: f64,
    /// Uniform field H
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    field: f64,
    /// Coupling scale J > 0
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    coupling: f64,
    /// Population size M (cavity fields per population)
    #[arg(long, default_value_t = 10_000, allow_hyphen_values = true)]
    population: i64,
    /// Equilibration sweeps (M updates each)
    #[arg(long, default_value_t = 200, allow_hyphen_values = true)]
    sweeps: i64,
    /// Measurement sweeps (M site and M edge terms sampled after each)
    #[arg(long, default_value_t = 50, allow_hyphen_values = true)]
    measure: i64,
    /// Independent populations R ≥ 2 (their spread gives the error bar)
    #[arg(long, default_value_t = 8, allow_hyphen_values = true)]
    populations: i64,
    /// Seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `logz replica sk`.
#[derive(Args, Debug)]
pub struct SkArgs {
    /// Inverse temperature β > 0
    #[arg(long, allow_hyphen_values = true)]
    beta: Option<f64>,
    /// Temperature T = 1/β > 0 (instead of --beta)
    #[arg(long, allow_hyphen_values = true)]
    temperature: Option<f64>,
    /// Uniform field h
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    field: f64,
    /// Level of replica-symmetry breaking: 0 (rs), 1, 2, … 6, or full
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    rsb: String,
    /// The T → 0 limit: ground-state energy per spin at the chosen level
    #[arg(long)]
    ground_state: bool,
    /// Draw the de Almeida–Thouless line in the (h, T) plane into --out DIR (SVG and CSV)
    #[arg(long)]
    phase_diagram: bool,
    /// Draw the free energy per spin against T (annealed, RS, 1RSB, and the T = 0 energies of
    /// RS, 1RSB, 2RSB) into --out DIR (SVG and CSV)
    #[arg(long)]
    curves: bool,
    /// Output directory of --phase-diagram / --curves
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --curves: full-RSB points at these temperatures (comma-separated; slow below
    /// T ≈ 0.5: about a minute each)
    #[arg(long)]
    full_temperatures: Option<String>,
    /// With --curves: also the exact disorder averages of sk:N at these sizes (N ≤ 24) and
    /// their extrapolation in 1/N
    #[arg(long)]
    sizes: Option<String>,
    /// With --curves --sizes: instances per size
    #[arg(long, default_value_t = 200, allow_hyphen_values = true)]
    instances: i64,
    /// Print one JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `logz replica moments`.
#[derive(Args, Debug)]
pub struct MomentsArgs {
    /// Number of spins N
    #[arg(long, allow_hyphen_values = true)]
    spins: i64,
    /// Number of replicas n (1 … 6; the cost grows like N^(2^(n−1) − 1))
    #[arg(long, allow_hyphen_values = true)]
    replicas: i64,
    /// Inverse temperature β ≥ 0
    #[arg(long, allow_hyphen_values = true)]
    beta: f64,
    /// Print one JSON object on stdout
    #[arg(long)]
    json: bool,
}

/// `logz disorder`.
#[derive(Args, Debug)]
pub struct DisorderArgs {
    /// A random family: sk:N, er:N:q[:gauss|:pm], …
    spec: String,
    /// Number of random instances K
    #[arg(long, default_value_t = 100, allow_hyphen_values = true)]
    instances: i64,
    /// Methods, comma-separated (see `logz methods`)
    #[arg(long, default_value = "exact")]
    methods: String,
    /// Inverse temperatures: comma-separated values and/or start:stop:step grids
    #[arg(long, default_value = "0.5,1,1.5,2,3")]
    betas: String,
    /// Coupling scale J
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    coupling: f64,
    /// Uniform field h
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    field: f64,
    /// Master seed (instance k gets its own seed derived from it)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    options: MethodArgs,
    /// Sizes N1,N2,… for a family:N spec: the same average at every size, and a least-squares
    /// extrapolation of mean ln Z/N in 1/N to N → ∞ (beside the RS and full-RSB values for sk)
    #[arg(long)]
    sizes: Option<String>,
    /// Write disorder.csv and disorder.svg (mean ln Z/N ± standard error against β) into DIR
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print a JSON list of rows on stdout ({"rows", "extrapolation"} with --sizes)
    #[arg(long)]
    json: bool,
}

/// Run `logz replica …`.
pub fn run(a: &ReplicaArgs) -> Result<()> {
    match &a.cmd {
        ReplicaCmd::Sk(s) => run_sk(s),
        ReplicaCmd::Moments(m) => run_moments(m),
        ReplicaCmd::Cavity(c) => run_cavity(c),
    }
}

fn opt(v: Option<f64>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |x| json!(x))
}

fn run_sk(a: &SkArgs) -> Result<()> {
    if a.phase_diagram {
        return phase_diagram(a);
    }
    if a.curves {
        return curves(a);
    }
    if a.out.is_some() {
        return Err(anyhow!("--out is for --phase-diagram or --curves"));
    }
    let level = Level::parse(&a.rsb)?;
    let t = match (a.beta, a.temperature, a.ground_state) {
        (None, None, true) => Temperature::Zero,
        (Some(_), _, true) | (_, Some(_), true) => {
            return Err(anyhow!(
                "--ground-state is the T = 0 limit: give it without --beta/--temperature"
            ))
        }
        (Some(_), Some(_), false) => return Err(anyhow!("give --beta or --temperature, not both")),
        (Some(b), None, false) => Temperature::Beta(b),
        (None, Some(t), false) => {
            if !(t.is_finite() && t > 0.0) {
                return Err(anyhow!(
                    "--temperature must be a finite number > 0, got {t}"
                ));
            }
            Temperature::Beta(1.0 / t)
        }
        (None, None, false) => {
            return Err(anyhow!(
                "give --beta B (or --temperature T, or --ground-state)"
            ))
        }
    };
    let t0 = Instant::now();
    // A progress bar for the (slow) full-RSB continuation; hidden under --json.
    let bar = crate::progress::Bar::new(a.json || level != Level::Full);
    let s = replica::solve_with(t, a.field, level, &crate::runner(&bar));
    bar.clear();
    let s = s?;
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        let seq: Vec<serde_json::Value> = s
            .sequence
            .iter()
            .map(|&(k, v)| json!({"steps": k, "value": v}))
            .collect();
        let v = json!({
            "level": s.level,
            "beta": opt(s.beta),
            "temperature": s.beta.map_or(0.0, |b| 1.0 / b),
            "field": s.field,
            "q": s.q,
            "m": s.m,
            "ln_z_per_spin": opt(s.ln_z_per_spin),
            "free_energy_per_spin": s.free_energy_per_spin,
            "energy_per_spin": s.energy_per_spin,
            "entropy_per_spin": s.entropy_per_spin,
            "at_lambda": opt(s.at_lambda),
            "residual": s.residual,
            "sequence": seq,
            "seconds": secs,
        });
        outln!("{v}");
        return Ok(());
    }
    let temp = match s.beta {
        Some(b) => format!("β = {b}, T = {:.6}", 1.0 / b),
        None => "T = 0 (ground state)".to_string(),
    };
    outln!("SK model (J = 1), {temp}, h = {}: {}", s.field, s.level);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.8}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    outln!("  q                    [{}]", list(&s.q));
    if !s.m.is_empty() {
        let name = if s.beta.is_some() { "m" } else { "μ = βm" };
        outln!("  {name:<20} [{}]", list(&s.m));
    }
    if let Some(l) = s.ln_z_per_spin {
        outln!("  −βf (ln Z/N)         {l:.12}");
    }
    outln!("  f per spin           {:.12}", s.free_energy_per_spin);
    outln!("  energy per spin      {:.12}", s.energy_per_spin);
    outln!("  entropy per spin     {:.12}", s.entropy_per_spin);
    if let Some(l) = s.at_lambda {
        let verdict = if l <= 1.0 {
            "stable"
        } else {
            "unstable: below the AT line"
        };
        outln!("  λ_AT                 {l:.10} ({verdict})");
    }
    for (k, v) in &s.sequence {
        outln!("  {k} steps              {v:.10}");
    }
    outln!("  residual             {:.2e}", s.residual);
    outln!("  seconds              {secs:.3}");
    Ok(())
}

fn phase_diagram(a: &SkArgs) -> Result<()> {
    let Some(dir) = &a.out else {
        return Err(anyhow!("--phase-diagram needs --out DIR"));
    };
    if a.beta.is_some() || a.temperature.is_some() || a.ground_state || a.json {
        return Err(anyhow!(
            "--phase-diagram takes only --out (it scans the (h, T) plane)"
        ));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // T_AT(h) on h ∈ [0, 1.5]; denser near 0 where the line leaves T = 1 like h^{2/3}.
    let hs: Vec<f64> = (0..=60).map(|i| 1.5 * (i as f64 / 60.0).powi(2)).collect();
    let line: Vec<(f64, f64)> = hs
        .iter()
        .map(|&h| (h, replica::rs::at_temperature(h)))
        .collect();
    let mut csv = String::from("h,t_at\n");
    for (h, t) in &line {
        csv.push_str(&format!("{h},{t}\n"));
    }
    let csv_path = dir.join("at_line.csv");
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let panel = Panel {
        title: "SK model: de Almeida–Thouless line".into(),
        x_label: "field h".into(),
        y_label: "temperature T".into(),
        series: vec![
            Series {
                label: "AT line (RS unstable below)".into(),
                points: line.clone(),
                color: 1,
            },
            Series {
                label: "paramagnet / spin glass at h = 0 (T = 1)".into(),
                points: vec![(0.0, 0.0), (0.0, 1.0)],
                color: 2,
            },
        ],
        vlines: vec![],
        marks: vec![(0.0, 1.0)],
    };
    let svg = dir.join("at_line.svg");
    plot::draw(&svg, &[panel], 1)?;
    outln!("wrote {} and {}", svg.display(), csv_path.display());
    Ok(())
}

fn curves(a: &SkArgs) -> Result<()> {
    let Some(dir) = &a.out else {
        return Err(anyhow!("--curves needs --out DIR"));
    };
    if a.beta.is_some() || a.temperature.is_some() || a.ground_state || a.json || a.phase_diagram {
        return Err(anyhow!(
            "--curves takes only --out and --field (it scans T)"
        ));
    }
    if a.instances < 2 || a.instances > 100_000 {
        return Err(anyhow!(
            "--instances must be in 2 … 100000, got {}",
            a.instances
        ));
    }
    let sizes = a.sizes.as_deref().map(parse_sizes).transpose()?;
    if let Some(n) = sizes.iter().flatten().find(|&&n| n > 24) {
        return Err(anyhow!(
            "--curves --sizes: exact averages need N ≤ 24, got {n}"
        ));
    }
    let full_ts: Vec<f64> = match &a.full_temperatures {
        None => vec![],
        Some(s) => s
            .split(',')
            .map(|x| match x.trim().parse::<f64>() {
                Ok(t) if t.is_finite() && t >= 1.0 / replica::MAX_RSB_BETA && t <= 10.0 => Ok(t),
                _ => Err(anyhow!(
                    "--full-temperatures: '{x}' is not a temperature in [{}, 10]",
                    1.0 / replica::MAX_RSB_BETA
                )),
            })
            .collect::<Result<_>>()?,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let h = a.field;
    let ts: Vec<f64> = (3..=20).map(|i| i as f64 / 10.0).collect();
    let mut csv = String::from("t,annealed,rs,rsb1,rs_entropy,curve,f,std_err\n");
    let (mut ann, mut rs, mut one) = (vec![], vec![], vec![]);
    for &t in &ts {
        let b = 1.0 / t;
        // Annealed: (1/N) ln E Z = ln 2 + β²/4 (+ ln cosh βh per spin in a field).
        let annealed = -(std::f64::consts::LN_2 + b * b / 4.0 + (b * h).cosh().ln()) / b;
        let r = replica::solve(Temperature::Beta(b), h, Level::Rs)?;
        let o = replica::solve(Temperature::Beta(b), h, Level::Steps(1))?;
        csv.push_str(&format!(
            "{t},{annealed},{},{},{},,,\n",
            r.free_energy_per_spin, o.free_energy_per_spin, r.entropy_per_spin
        ));
        ann.push((t, annealed));
        rs.push((t, r.free_energy_per_spin));
        one.push((t, o.free_energy_per_spin));
    }
    let mut marks = Vec::new();
    for l in [Level::Rs, Level::Steps(1), Level::Steps(2)] {
        let e = replica::solve(Temperature::Zero, h, l)?.energy_per_spin;
        csv.push_str(&format!("0,,{},,,,,\n", e));
        marks.push((0.0, e));
    }
    // Full RSB at the requested temperatures (in parallel: each is a k = 1 … 4 continuation).
    use rayon::prelude::*;
    let full: Vec<(f64, f64)> = full_ts
        .par_iter()
        .map(|&t| {
            replica::solve(Temperature::Beta(1.0 / t), h, Level::Full)
                .map(|s| (t, s.free_energy_per_spin))
        })
        .collect::<logz::Result<_>>()?;
    let e_full = replica::solve(Temperature::Zero, h, Level::Full)?.energy_per_spin;
    let mut full_pts = vec![(0.0, e_full)];
    full_pts.extend(full.iter().copied());
    full_pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, f) in &full_pts {
        csv.push_str(&format!("{t},,,,,full_rsb,{f}\n"));
    }
    let mut extra: Vec<Series> = Vec::new();
    if let Some(sizes) = &sizes {
        // Exact disorder averages of sk:N at every T of the grid, f_N(T) = −T E ln Z/N, and
        // their weighted least-squares extrapolation in 1/N at every T.
        let c = logz::disorder::Config {
            spec: "sk:2".into(),
            coupling: 1.0,
            field: h,
            instances: a.instances as usize,
            betas: ts.iter().map(|t| 1.0 / t).collect(),
            methods: vec!["exact".into()],
            seed: 0,
            options: logz::methods::MethodOptions::default(),
        };
        let bar = crate::progress::Bar::new(a.json);
        let rows = logz::finite_size::average_sizes(&c, sizes, &crate::runner(&bar));
        bar.clear();
        let rows = rows?;
        for (i, &n) in sizes.iter().enumerate() {
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.n == n)
                .map(|r| (1.0 / r.beta, -r.mean_ln_z_per_spin / r.beta))
                .collect();
            for r in rows.iter().filter(|r| r.n == n) {
                csv.push_str(&format!(
                    "{},,,,,exact_n{n},{},{}\n",
                    1.0 / r.beta,
                    -r.mean_ln_z_per_spin / r.beta,
                    cell(r.std_err.map(|s| s / r.beta))
                ));
            }
            extra.push(Series {
                label: format!("exact, N = {n} ({} instances)", a.instances),
                points: pts,
                color: [4, 5, 6, 8, 9][i % 5],
            });
        }
        if sizes.len() > 1 {
            let mut lim = Vec::new();
            for &b in &c.betas {
                let pts: Vec<(usize, f64, f64)> = rows
                    .iter()
                    .filter(|r| r.beta == b)
                    .map(|r| (r.n, r.mean_ln_z_per_spin, r.std_err.unwrap_or(f64::NAN)))
                    .collect();
                let x = logz::finite_size::extrapolate_inverse_n(&pts)?;
                csv.push_str(&format!(
                    "{},,,,,extrapolated,{},{}\n",
                    1.0 / b,
                    -x.limit / b,
                    x.std_err / b
                ));
                lim.push((1.0 / b, -x.limit / b));
            }
            extra.push(Series {
                label: "exact, extrapolated in 1/N to N → ∞".into(),
                points: lim,
                color: 0,
            });
        }
    }
    let csv_path = dir.join("free_energy.csv");
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let series = |label: &str, points: Vec<(f64, f64)>, color| Series {
        label: label.into(),
        points,
        color,
    };
    let mut all = vec![
        series("annealed", ann, 3),
        series("replica symmetric", rs, 1),
        series("1RSB", one, 2),
    ];
    all.push(series("full RSB (Parisi)", full_pts, 7));
    all.extend(extra);
    let panel = Panel {
        title: format!("SK model (J = 1, h = {h}): free energy per spin"),
        x_label: "temperature T".into(),
        y_label: "f per spin".into(),
        series: all,
        vlines: vec![],
        marks,
    };
    let svg = dir.join("free_energy.svg");
    plot::draw(&svg, &[panel], 1)?;
    outln!("wrote {} and {}", svg.display(), csv_path.display());
    Ok(())
}

fn run_cavity(a: &CavityArgs) -> Result<()> {
    use logz::replica::population::{self, Couplings, Graph};
    let count = |name: &str, v: i64, lo: i64, hi: usize| -> Result<usize> {
        if v < lo || v > hi as i64 {
            return Err(anyhow!("{name} must be in {lo} … {hi}, got {v}"));
        }
        Ok(v as usize)
    };
    let c = population::Config {
        graph: Graph::parse(&a.graph)?,
        couplings: Couplings::parse(&a.couplings)?,
        coupling: a.coupling,
        beta: a.beta,
        field: a.field,
        population: count("--population", a.population, 2, population::MAX_POPULATION)?,
        sweeps: count("--sweeps", a.sweeps, 0, population::MAX_SWEEPS)?,
        measure: count("--measure", a.measure, 1, population::MAX_SWEEPS)?,
        populations: count(
            "--populations",
            a.populations,
            2,
            population::MAX_POPULATIONS,
        )?,
        seed: a.seed,
    };
    let t0 = Instant::now();
    let bar = crate::progress::Bar::new(a.json);
    let r = population::solve(&c, &crate::runner(&bar));
    bar.clear();
    let r = r?;
    let secs = t0.elapsed().as_secs_f64();
    let kind = "approximation";
    if a.json {
        outln!(
            "{}",
            json!({
                "graph": c.graph.label(),
                "couplings": c.couplings.label(),
                "coupling": c.coupling,
                "beta": c.beta,
                "field": c.field,
                "population": c.population,
                "sweeps": c.sweeps,
                "measure": c.measure,
                "populations": c.populations,
                "seed": c.seed,
                "ln_z_per_spin": {"value": r.ln_z_per_spin, "std_err": r.std_err, "kind": kind},
                "free_energy_per_spin": {"value": -r.ln_z_per_spin / c.beta, "std_err": r.std_err / c.beta, "kind": kind},
                "energy_per_spin": {"value": r.energy_per_spin, "std_err": r.energy_std_err, "kind": kind},
                "q": {"value": r.q, "std_err": r.q_std_err, "kind": kind},
                "magnetization": {"value": r.magnetization, "std_err": r.magnetization_std_err, "kind": kind},
                "annealed_ln_z_per_spin": {"value": r.annealed_ln_z_per_spin, "kind": "exact"},
                "seconds": secs,
            })
        );
        return Ok(());
    }
    outln!(
        "RS cavity (population dynamics): graph {}, couplings {} (J = {}), β = {}, H = {}",
        c.graph.label(),
        c.couplings.label(),
        c.coupling,
        c.beta,
        c.field
    );
    outln!(
        "  {} populations × {} fields, {} + {} sweeps, seed {}",
        c.populations,
        c.population,
        c.sweeps,
        c.measure,
        c.seed
    );
    let row = |name: &str, v: f64, se: f64| {
        outln!("  {name:<22} {v:>16.10} ± {se:.2e}  ({kind})");
    };
    row("−βf (ln Z/N)", r.ln_z_per_spin, r.std_err);
    row("f per spin", -r.ln_z_per_spin / c.beta, r.std_err / c.beta);
    row("energy per spin", r.energy_per_spin, r.energy_std_err);
    row("q = E tanh²(βH)", r.q, r.q_std_err);
    row("m = E tanh(βH)", r.magnetization, r.magnetization_std_err);
    outln!(
        "  {:<22} {:>16.10}  (exact; equals −βf in the paramagnet at H = 0)",
        "annealed ln E Z / N",
        r.annealed_ln_z_per_spin
    );
    outln!("  seconds                {secs:.3}");
    Ok(())
}

fn run_moments(a: &MomentsArgs) -> Result<()> {
    if a.spins < 1 || a.spins > replica::moments::MAX_SPINS as i64 {
        return Err(anyhow!(
            "--spins must be in 1 … {}, got {}",
            replica::moments::MAX_SPINS,
            a.spins
        ));
    }
    if !(1..=6).contains(&a.replicas) {
        return Err(anyhow!("--replicas must be in 1 … 6, got {}", a.replicas));
    }
    let (n, reps) = (a.spins as usize, a.replicas as usize);
    let t0 = Instant::now();
    let ln = replica::moments::ln_moment(n, reps, a.beta)?;
    let secs = t0.elapsed().as_secs_f64();
    let per = ln / n as f64;
    let annealed = std::f64::consts::LN_2 + a.beta * a.beta * (n as f64 - 1.0) / (4.0 * n as f64);
    if a.json {
        outln!(
            "{}",
            json!({
                "spins": n,
                "replicas": reps,
                "beta": a.beta,
                "ln_moment": ln,
                "ln_moment_per_spin": per,
                "annealed_ln_z_per_spin": annealed,
                "overlap_classes": replica::moments::terms(n, reps),
                "seconds": secs,
            })
        );
    } else {
        outln!("SK model, N = {n}, β = {}: E[Z^{reps}]", a.beta);
        outln!("  ln E[Z^n]            {ln:.12}");
        outln!("  (1/N) ln E[Z^n]      {per:.12}");
        outln!("  (1/nN) ln E[Z^n]     {:.12}", per / reps as f64);
        outln!("  annealed (1/N) ln EZ {annealed:.12}");
    }
    Ok(())
}

/// Parse `--betas`: comma-separated values and start:stop:step grids.
fn parse_betas(s: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        out.extend(crate::range::parse_grid(
            "--betas",
            part,
            logz::disorder::MAX_BETAS,
        )?);
        if out.len() > logz::disorder::MAX_BETAS {
            return Err(anyhow!(
                "--betas: more than {} values",
                logz::disorder::MAX_BETAS
            ));
        }
    }
    Ok(out)
}

/// Parse `--sizes`: comma-separated integers ≥ 2.
fn parse_sizes(s: &str) -> Result<Vec<usize>> {
    let parts: Vec<&str> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(anyhow!(
            "--sizes: give sizes N1,N2,… (e.g. 8,12,16), got '{s}'"
        ));
    }
    if parts.len() > logz::finite_size::MAX_SIZES {
        return Err(anyhow!(
            "--sizes: at most {} sizes, got {}",
            logz::finite_size::MAX_SIZES,
            parts.len()
        ));
    }
    parts
        .iter()
        .map(|p| match p.parse::<usize>() {
            Ok(n) if n >= 2 => Ok(n),
            _ => Err(anyhow!("--sizes: '{p}' is not a size N ≥ 2")),
        })
        .collect()
}

fn cell(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x}"))
}

/// disorder.csv and disorder.svg: one panel per size, one curve per method with its
/// ±1 standard-error band (drawn as a closed outline in the method's style).
fn write_disorder_files(
    dir: &std::path::Path,
    spec: &str,
    rows: &[logz::disorder::Row],
) -> Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut csv = String::from(
        "method,kind,beta,n,instances,mean_ln_z_per_spin,std_err,mean_energy_per_spin,energy_std_err,q_ea,q_ea_std_err,q2,q2_std_err,q_abs,q_abs_std_err\n",
    );
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.method,
            r.kind,
            r.beta,
            r.n,
            r.instances,
            r.mean_ln_z_per_spin,
            cell(r.std_err),
            cell(r.mean_energy_per_spin),
            cell(r.energy_std_err),
            cell(r.q_ea),
            cell(r.q_ea_std_err),
            cell(r.q2),
            cell(r.q2_std_err),
            cell(r.q_abs),
            cell(r.q_abs_std_err)
        ));
    }
    let csv_path = dir.join("disorder.csv");
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let mut methods: Vec<&str> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
        if !sizes.contains(&r.n) {
            sizes.push(r.n);
        }
    }
    let slots = plot::method_slots(&methods);
    let panels: Vec<Panel> = sizes
        .iter()
        .map(|&n| {
            let mut series = Vec::new();
            for (m, &slot) in methods.iter().zip(&slots) {
                let pts: Vec<&logz::disorder::Row> =
                    rows.iter().filter(|r| r.n == n && r.method == *m).collect();
                let kind = pts.first().map_or("", |r| r.kind.as_str());
                series.push(Series {
                    label: format!("{m} ({kind})"),
                    points: pts.iter().map(|r| (r.beta, r.mean_ln_z_per_spin)).collect(),
                    color: slot,
                });
                if pts.iter().any(|r| r.std_err.is_some()) {
                    let se = |r: &&logz::disorder::Row| r.std_err.unwrap_or(0.0);
                    let mut band: Vec<(f64, f64)> = pts
                        .iter()
                        .map(|r| (r.beta, r.mean_ln_z_per_spin + se(r)))
                        .collect();
                    band.extend(
                        pts.iter()
                            .rev()
                            .map(|r| (r.beta, r.mean_ln_z_per_spin - se(r))),
                    );
                    band.extend(band.first().copied());
                    series.push(Series {
                        label: format!("{m} ± 1 std err"),
                        points: band,
                        color: slot,
                    });
                }
            }
            let k = rows.iter().find(|r| r.n == n).map_or(0, |r| r.instances);
            Panel {
                title: format!("{spec}: N = {n}, {k} instances"),
                x_label: "inverse temperature β".into(),
                y_label: "mean ln Z / N".into(),
                series,
                vlines: vec![],
                marks: vec![],
            }
        })
        .collect();
    let svg = dir.join("disorder.svg");
    plot::draw(&svg, &panels, panels.len().min(3))?;
    Ok(format!(
        "wrote {} and {}",
        svg.display(),
        csv_path.display()
    ))
}

/// Run `logz disorder …`.
pub fn run_disorder(a: &DisorderArgs) -> Result<()> {
    if a.instances < 1 || a.instances > logz::disorder::MAX_INSTANCES as i64 {
        return Err(anyhow!(
            "--instances must be in 1 … {}, got {}",
            logz::disorder::MAX_INSTANCES,
            a.instances
        ));
    }
    for (name, v) in [("--coupling", a.coupling), ("--field", a.field)] {
        if !v.is_finite() {
            return Err(anyhow!("{name} must be a finite number, got {v}"));
        }
    }
    let betas = parse_betas(&a.betas)?;
    let methods: Vec<String> = a
        .methods
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let names: Vec<&str> = methods.iter().map(|s| s.as_str()).collect();
    let options = a.options.options(a.seed, &names)?;
    let c = logz::disorder::Config {
        spec: a.spec.clone(),
        coupling: a.coupling,
        field: a.field,
        instances: a.instances as usize,
        betas,
        methods,
        seed: a.seed,
        options,
    };
    let sizes = a.sizes.as_deref().map(parse_sizes).transpose()?;
    let t0 = Instant::now();
    let bar = crate::progress::Bar::new(a.json);
    let rows = match &sizes {
        None => logz::disorder::average(&c, &crate::runner(&bar))?,
        Some(s) => logz::finite_size::average_sizes(&c, s, &crate::runner(&bar))?,
    };
    bar.clear();
    let extrapolation = match &sizes {
        Some(s) if s.len() > 1 => Some(logz::finite_size::extrapolate_rows(
            &rows, &a.spec, a.coupling, a.field,
        )?),
        _ => None,
    };
    let secs = t0.elapsed().as_secs_f64();
    let wrote = match &a.out {
        Some(dir) => Some(write_disorder_files(dir, &a.spec, &rows)?),
        None => None,
    };
    if a.json {
        match (&sizes, &extrapolation) {
            (None, _) => outln!("{}", serde_json::to_string(&rows)?),
            (Some(_), x) => {
                let x: Vec<serde_json::Value> = x
                    .iter()
                    .flatten()
                    .map(|x| {
                        json!({
                            "method": x.method,
                            "beta": x.beta,
                            "sizes": x.fit.sizes,
                            "limit": x.fit.limit,
                            "std_err": x.fit.std_err,
                            "slope": x.fit.slope,
                            "chi2": x.fit.chi2,
                            "rs_ln_z_per_spin": opt(x.rs_ln_z_per_spin),
                            "full_rsb_ln_z_per_spin": opt(x.full_rsb_ln_z_per_spin),
                        })
                    })
                    .collect();
                outln!("{}", json!({"rows": rows, "extrapolation": x}));
            }
        }
        return Ok(());
    }
    outln!(
        "{}: {} instances, seed {}, {:.2} s",
        a.spec,
        a.instances,
        a.seed,
        secs
    );
    outln!(
        "{:<8} {:<22} {:>5} {:>8} {:>16} {:>10} {:>13} {:>10} {:>9} {:>9} {:>10}",
        "method",
        "kind",
        "N",
        "beta",
        "E ln Z / N",
        "std err",
        "E <E>/N",
        "std err",
        "q_EA",
        "<q^2>",
        "std err"
    );
    let se = |v: Option<f64>| v.map_or("—".to_string(), |s| format!("{s:.3e}"));
    let val = |v: Option<f64>, p: usize| v.map_or("—".to_string(), |s| format!("{s:.p$}"));
    for r in &rows {
        outln!(
            "{:<8} {:<22} {:>5} {:>8} {:>16.10} {:>10} {:>13} {:>10} {:>9} {:>9} {:>10}",
            r.method,
            r.kind,
            r.n,
            r.beta,
            r.mean_ln_z_per_spin,
            se(r.std_err),
            val(r.mean_energy_per_spin, 8),
            se(r.energy_std_err),
            val(r.q_ea, 5),
            val(r.q2, 5),
            se(r.q2_std_err)
        );
    }
    if let Some(x) = &extrapolation {
        outln!("extrapolation of E ln Z / N in 1/N (weighted least squares) to N → ∞:");
        outln!(
            "{:<8} {:>8} {:>14} {:>10} {:>10} {:>14} {:>14}",
            "method",
            "beta",
            "N → ∞",
            "std err",
            "chi2",
            "RS",
            "full RSB"
        );
        for x in x {
            outln!(
                "{:<8} {:>8} {:>14.8} {:>10.3e} {:>10.3} {:>14} {:>14}",
                x.method,
                x.beta,
                x.fit.limit,
                x.fit.std_err,
                x.fit.chi2,
                val(x.rs_ln_z_per_spin, 8),
                val(x.full_rsb_ln_z_per_spin, 8)
            );
        }
    }
    if let Some(w) = wrote {
        outln!("{w}");
    }
    Ok(())
}
