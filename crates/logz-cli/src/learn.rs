//! `logz learn` (a model from samples: the inverse Ising problem) and `logz evaluate` (a model
//! against samples and, optionally, the true model). The algorithms live in `logz::learn`.

use crate::{out, outln};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use logz::learn::evaluate::{self, LogLikelihood, Reconstruction};
use logz::learn::{Expectations, Graph, LearnOptions, Method, Samples};
use logz::Model;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct LearnArgs {
    /// Samples (CSV: optional header, one configuration of -1/1 or 0/1 per line)
    pub samples: PathBuf,
    /// mf, tap, bethe, plm or boltzmann
    #[arg(long, short, default_value = "plm")]
    pub method: String,
    /// boltzmann: model expectations from exact, pcd or mf
    #[arg(long, default_value = "exact")]
    pub expectations: String,
    /// Write the learned model (logz JSON, β = 1)
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// L2 penalty (plm, boltzmann: λΣJ²; mf, tap, bethe: λ added to the diagonal of C)
    #[arg(long, allow_hyphen_values = true)]
    pub l2: Option<f64>,
    /// L1 penalty λΣ|J| (plm: sparse couplings by OWL-QN)
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub l1: f64,
    /// Which couplings to learn: complete, or a model file whose edges are the graph
    #[arg(long, default_value = "complete")]
    pub graph: String,
    /// A true model (JSON or UAI) to print the reconstruction errors against
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// boltzmann: L-BFGS steps (exact) or parameter steps (pcd, mf)
    #[arg(long)]
    pub steps: Option<usize>,
    /// boltzmann/pcd: persistent chains
    #[arg(long)]
    pub chains: Option<usize>,
    /// boltzmann/pcd: heat-bath sweeps per step
    #[arg(long)]
    pub sweeps: Option<usize>,
    /// boltzmann/pcd, mf: learning rate
    #[arg(long)]
    pub lr: Option<f64>,
    /// boltzmann/pcd: seed of the chains
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// boltzmann/pcd: parallel tempering — copies of every persistent chain at β from 1 down
    /// to --beta-min, exchanging states (for models whose chains freeze in one well)
    #[arg(long)]
    pub replicas: Option<usize>,
    /// boltzmann/pcd with --replicas: the hottest copy's β, in (0, 1)
    #[arg(long)]
    pub beta_min: Option<f64>,
    /// Write figures to this folder: the learning curve, and learned against true couplings
    /// (with --truth)
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// No progress bar
    #[arg(long)]
    pub quiet: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// The model (JSON or UAI)
    pub model: PathBuf,
    /// Samples to evaluate it on (CSV), e.g. held out from learning
    pub samples: PathBuf,
    /// The true model, for the reconstruction errors ε_J and of the fields
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Compute the mean-field / TRW bracket on the log-likelihood even when ln Z is exact
    #[arg(long)]
    pub bracket: bool,
    #[arg(long)]
    pub json: bool,
}

fn load(p: &Path) -> Result<Model> {
    Ok(logz::io::load(p, None)?.model)
}

pub fn run_learn(a: &LearnArgs) -> Result<()> {
    let method = Method::parse(&a.method, Expectations::parse(&a.expectations)?)?;
    let graph = match a.graph.as_str() {
        "complete" => Graph::Complete,
        f => Graph::of(&load(Path::new(f)).context("--graph")?),
    };
    let truth = a
        .truth
        .as_deref()
        .map(load)
        .transpose()
        .context("--truth")?;
    let data = Samples::read_csv(&a.samples)?;
    let mut o = LearnOptions {
        method,
        l2: a.l2,
        l1: a.l1,
        graph,
        ..Default::default()
    };
    if (a.replicas.is_some() || a.beta_min.is_some())
        && o.method != Method::Boltzmann(Expectations::Pcd)
    {
        return Err(anyhow!(
            "--replicas and --beta-min apply to boltzmann --expectations pcd only"
        ));
    }
    let b = &mut o.boltzmann;
    b.seed = a.seed;
    if let Some(s) = a.steps {
        b.steps = s;
    }
    if let Some(r) = a.replicas {
        b.replicas = r;
    }
    if let Some(bm) = a.beta_min {
        b.beta_min = bm;
    }
    if let Some(c) = a.chains {
        b.chains = c;
    }
    if let Some(s) = a.sweeps {
        b.sweeps = s;
    }
    if let Some(lr) = a.lr {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(anyhow!("--lr must be a finite number > 0, got {lr}"));
        }
        b.lr = lr;
    }
    let t0 = std::time::Instant::now();
    // The learning curve: every iteration's objective, collected by an observer.
    let curve = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(f64, f64)>::new()));
    let bar = crate::progress::Bar::new(a.quiet || a.json);
    let sink = curve.clone();
    let runner = crate::runner(&bar).observe(move |it: &logz::runner::Iteration| {
        if let (Some(y), Ok(mut c)) = (it.objective, sink.lock()) {
            c.push((it.iteration as f64, y));
        }
        logz::runner::Control::Continue
    });
    let learned = logz::learn::learn_with(&data, &o, &runner)?;
    bar.clear();
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(p) = &a.out {
        std::fs::write(p, logz::io::json::write(&learned.model))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let rec = truth
        .as_ref()
        .map(|t| evaluate::reconstruction(&learned.model, t))
        .transpose()?;
    if let Some(dir) = &a.plot {
        let curve = curve.lock().map(|c| c.clone()).unwrap_or_default();
        write_plots(dir, &method.name(), &curve, &learned.model, truth.as_ref())?;
    }
    let res = learned
        .residual
        .map(|(r, noise)| json!({"max_abs": r, "noise": noise}));
    // The training log-likelihood, when ln Z is cheap (exact for small models).
    let ll = if data.n() <= EVALUATE_MAX_SPINS {
        Some(evaluate::log_likelihood(&learned.model, &data, false)?)
    } else {
        None
    };
    if a.json {
        let v = json!({
            "method": method.name(), "samples_file": a.samples, "n": data.n(), "samples": data.len(),
            "edges": learned.model.num_edges(), "seconds": seconds, "iterations": learned.iterations,
            "converged": learned.converged, "termination": learned.termination.label(),
            "moment_residual": res, "out": a.out,
            "reconstruction": rec, "training_log_likelihood": ll, "notes": learned.notes,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!(
        "{} on {}: {} spins, {} samples, {} couplings learned in {:.3} s ({} iterations{})",
        method.name(),
        a.samples.display(),
        data.n(),
        data.len(),
        learned.model.num_edges(),
        seconds,
        learned.iterations,
        if learned.converged {
            ""
        } else {
            ", not converged"
        }
    );
    if let Some((r, noise)) = learned.residual {
        if noise > 0.0 {
            outln!("moment matching: max |<ss>_data - <ss>_model| = {r:.3e} (sampling noise ~{noise:.1e})");
        } else {
            outln!("moment matching: max |<ss>_data - <ss>_model| = {r:.3e}");
        }
    }
    if let Some(r) = &rec {
        print_reconstruction(r);
    }
    if let Some(ll) = &ll {
        out!("training data: ");
        print_log_likelihood(ll);
    }
    if let Some(p) = &a.out {
        outln!("wrote {}", p.display());
    }
    for n in &learned.notes {
        outln!("note: {n}");
    }
    Ok(())
}

/// The learning curve (objective against iteration) and, given the truth, learned against
/// true couplings over every pair (absent pairs count as zero).
fn write_plots(
    dir: &Path,
    method: &str,
    curve: &[(f64, f64)],
    learned: &Model,
    truth: Option<&Model>,
) -> Result<()> {
    use crate::plot::{draw, Panel, Series};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let what = match method {
        "plm" => "mean negative pseudo-log-likelihood per spin",
        "boltzmann/exact" => "negative log-likelihood per sample",
        m if m.starts_with("boltzmann") => "max |<.>_data - <.>_model|",
        _ => "objective",
    };
    if curve.len() >= 2 {
        let p = dir.join("learning-curve.svg");
        draw(
            &p,
            &[Panel {
                title: format!("learning curve: {method}"),
                x_label: "iteration".into(),
                y_label: what.into(),
                series: vec![Series {
                    label: method.to_string(),
                    points: curve.to_vec(),
                    color: 1,
                }],
                vlines: vec![],
                marks: vec![],
            }],
            1,
        )?;
        outln!("wrote {}", p.display());
    }
    if let Some(t) = truth {
        if t.n() != learned.n() {
            return Err(anyhow!(
                "--truth has {} spins, the samples {}",
                t.n(),
                learned.n()
            ));
        }
        let dense = |m: &Model| {
            let mut j = std::collections::HashMap::new();
            for (&(a, b), &c) in m.edges().iter().zip(m.couplings()) {
                *j.entry((a.min(b), a.max(b))).or_insert(0.0) += c * m.beta();
            }
            j
        };
        let (jl, jt) = (dense(learned), dense(t));
        let n = learned.n() as u32;
        let pts: Vec<(f64, f64)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .map(|k| {
                (
                    jt.get(&k).copied().unwrap_or(0.0),
                    jl.get(&k).copied().unwrap_or(0.0),
                )
            })
            .collect();
        let lo = pts.iter().fold(0.0f64, |m, p| m.min(p.0).min(p.1));
        let hi = pts.iter().fold(0.0f64, |m, p| m.max(p.0).max(p.1));
        let p = dir.join("couplings.svg");
        draw(
            &p,
            &[Panel {
                title: format!("learned vs true couplings ({method})"),
                x_label: "true βJ_ij".into(),
                y_label: "learned J_ij".into(),
                series: vec![Series {
                    label: "learned = true".into(),
                    points: vec![(lo, lo), (hi, hi)],
                    color: 0,
                }],
                vlines: vec![],
                marks: pts,
            }],
            1,
        )?;
        outln!("wrote {}", p.display());
    }
    Ok(())
}

/// `learn` prints the training log-likelihood for models up to this size (exact ln Z is cheap).
const EVALUATE_MAX_SPINS: usize = 20;

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.4}"))
}

fn print_reconstruction(r: &Reconstruction) {
    outln!(
        "vs truth: coupling error eps_J = {} (rms {:.4e}), field error {} (rms {:.4e})",
        fmt_opt(r.coupling_error),
        r.coupling_rms,
        fmt_opt(r.field_error),
        r.field_rms
    );
}

pub fn run_evaluate(a: &EvaluateArgs) -> Result<()> {
    let model = load(&a.model)?;
    let data = Samples::read_csv(&a.samples)?;
    if data.n() != model.n() {
        return Err(anyhow!(
            "{}: {} columns, but the model has {} spins",
            a.samples.display(),
            data.n(),
            model.n()
        ));
    }
    let truth = a
        .truth
        .as_deref()
        .map(load)
        .transpose()
        .context("--truth")?;
    let rec = truth
        .as_ref()
        .map(|t| evaluate::reconstruction(&model, t))
        .transpose()?;
    let res = evaluate::residuals(&model, &data)?;
    let ll = evaluate::log_likelihood(&model, &data, a.bracket)?;
    if a.json {
        let v = json!({
            "model": a.model, "samples_file": a.samples, "n": model.n(), "samples": data.len(),
            "reconstruction": rec,
            "moment_residuals": res.map(|(m, c)| json!({"mean": m, "correlation": c})),
            "log_likelihood": ll, "notes": data.notes,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!(
        "{} ({} spins) on {} ({} samples)",
        a.model.display(),
        model.n(),
        a.samples.display(),
        data.len()
    );
    if let Some(r) = &rec {
        print_reconstruction(r);
    }
    match res {
        Some((m, c)) => outln!(
            "moment residuals (exact model moments): max |d<s_i>| = {m:.3e}, max |d<s_i s_j>| = {c:.3e}"
        ),
        None => outln!("moment residuals: no exact method applies to this model"),
    }
    print_log_likelihood(&ll);
    for n in data.notes.iter().chain(&ll.notes) {
        outln!("note: {n}");
    }
    out!("");
    Ok(())
}

fn print_log_likelihood(ll: &LogLikelihood) {
    if let Some(x) = ll.exact {
        outln!("average log-likelihood: {x:.6} (exact ln Z)");
    }
    let lo = ll.lower.as_ref().map_or("-inf".to_string(), |(v, m)| {
        format!("{v:.6} (lower_bound, from {m}'s upper bound on ln Z)")
    });
    let hi = ll.upper.as_ref().map_or("+inf".to_string(), |(v, m)| {
        format!("{v:.6} (upper_bound, from {m}'s lower bound on ln Z)")
    });
    if ll.lower.is_some() || ll.upper.is_some() {
        outln!("average log-likelihood in [{lo}, {hi}]");
    }
}
