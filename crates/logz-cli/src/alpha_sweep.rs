//! `logz fit … --method renyi --alpha-sweep A,B,…`: Rényi-α VI at several α on one data set
//! ([`logz::bayes::divergence::alpha_sweep`]), printed as a table (or `--json`) and, with
//! `--plot`, drawn as two panels: the posterior sds against α (exact sds as flat lines) and the
//! bound L_α against α beside the ELBO, the CUBO and the exact ln p(y).

use crate::fit::{FitArgs, Moments};
use crate::outln;
use crate::plot::{self, Panel, Series};
use crate::progress::Bar;
use anyhow::{anyhow, Context, Result};
use logz::bayes::data;
use logz::bayes::divergence::alpha_sweep;
use logz::bayes::fit::{fit, FitOptions, FitReport, Method, ModelKind};
use logz::estimate::ErrorBar;
use serde_json::json;
use std::path::Path;

pub fn run(a: &FitArgs, method: Method, kind: ModelKind) -> Result<()> {
    if !matches!(method, Method::Renyi | Method::RenyiFullRank) {
        return Err(anyhow!(
            "--alpha-sweep needs --method renyi or renyi-fullrank"
        ));
    }
    if a.alpha.is_some() || a.stream {
        return Err(anyhow!("--alpha-sweep takes neither --alpha nor --stream"));
    }
    let d = data::read_csv(&a.data, &a.x, &a.y)?;
    let o = FitOptions {
        method,
        batch: a.batch,
        max_steps: a.steps,
        lr: a.lr,
        seed: a.seed,
        ..FitOptions::default()
    };
    let bar = Bar::new(a.quiet || a.json);
    let reports = alpha_sweep(&d, kind, &o, &a.alpha_sweep, &crate::runner(&bar))?;
    bar.clear();
    let exact: Option<Moments> = match kind {
        ModelKind::Linear(_) => {
            let eo = FitOptions {
                method: Method::Exact,
                ..FitOptions::default()
            };
            let e = fit(&d, kind, &eo, &crate::runner(&logz::NoProgress))?;
            Some((e.mean, e.sd))
        }
        ModelKind::Logistic => None,
    };
    let ln_p = reports.first().and_then(|r| r.ln_evidence);
    if let Some(p) = &a.plot {
        write_plot(p, &reports, exact.as_ref(), ln_p)?;
    }
    if a.json {
        let points: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "alpha": r.alpha, "mean": r.mean, "sd": r.sd,
                    "renyi_bound": r.renyi_bound,
                    "renyi_bound_std_err": r.renyi_bound_std_err.map(ErrorBar),
                    "elbo": r.elbo, "elbo_std_err": r.elbo_std_err.map(ErrorBar),
                    "cubo": r.cubo, "khat": r.khat, "kl_q_p": r.kl_q_p, "kl_p_q": r.kl_p_q,
                    "steps": r.steps, "converged": r.converged,
                })
            })
            .collect();
        let v = json!({
            "method": method.name(), "model": reports[0].model, "rows": d.n(),
            "names": reports[0].names, "ln_evidence": ln_p,
            "exact_mean": exact.as_ref().map(|e| e.0.clone()),
            "exact_sd": exact.as_ref().map(|e| e.1.clone()),
            "points": points,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    outln!(
        "{} α sweep — {} on {} rows of {}",
        method.name(),
        reports[0].model,
        d.n(),
        a.data.display()
    );
    let names = &reports[0].names;
    let mut head = format!("{:>6} {:>22} {:>12} {:>12}", "α", "L_α", "ELBO", "CUBO");
    for n in names {
        head.push_str(&format!(" {:>12}", format!("sd {n}")));
    }
    outln!("{head}");
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
    for r in &reports {
        let mut line = format!(
            "{:>6} {:>22} {:>12} {:>12}",
            r.alpha.unwrap_or(f64::NAN),
            format!(
                "{} ± {:.1e}",
                f(r.renyi_bound),
                r.renyi_bound_std_err.unwrap_or(f64::NAN)
            ),
            f(r.elbo),
            f(r.cubo)
        );
        for s in &r.sd {
            line.push_str(&format!(" {s:>12.5}"));
        }
        outln!("{line}");
    }
    if let Some((_, sd)) = &exact {
        let mut line = format!("{:>6} {:>22} {:>12} {:>12}", "exact", f(ln_p), "", "");
        for s in sd {
            line.push_str(&format!(" {s:>12.5}"));
        }
        outln!("{line}");
    }
    outln!(
        "L_α ≤ ln p(y) for α > 0; L_0 is the importance-weighted estimate of ln p(y); \
         CUBO = L_(−1) ≥ ln p(y) (each of the fitted q)"
    );
    Ok(())
}

/// Two panels: sds against α (one curve per parameter, exact sds dashed) and L_α against α.
fn write_plot(
    path: &Path,
    reports: &[FitReport],
    exact: Option<&Moments>,
    ln_p: Option<f64>,
) -> Result<()> {
    let alphas: Vec<f64> = reports
        .iter()
        .map(|r| r.alpha.unwrap_or(f64::NAN))
        .collect();
    let (lo, hi) = alphas
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let names = &reports[0].names;
    let mut sd_series = Vec::new();
    // The intercept's posterior is uncorrelated with the slopes after standardisation; draw the
    // slopes (and σ) whose sds α changes, relative to the exact sd where there is one.
    for (j, n) in names.iter().enumerate().skip(1) {
        let scale = exact.map_or(1.0, |e| e.1.get(j).copied().unwrap_or(1.0));
        sd_series.push(Series {
            label: if exact.is_some() {
                format!("sd {n} / exact sd")
            } else {
                format!("sd {n}")
            },
            points: alphas
                .iter()
                .zip(reports)
                .map(|(&al, r)| (al, r.sd[j] / scale))
                .collect(),
            color: j,
        });
    }
    if exact.is_some() {
        sd_series.push(Series {
            label: "exact".into(),
            points: vec![(lo, 1.0), (hi, 1.0)],
            color: 0,
        });
    }
    let mut bound = vec![Series {
        label: "L_α".into(),
        points: alphas
            .iter()
            .zip(reports)
            .filter_map(|(&al, r)| r.renyi_bound.map(|b| (al, b)))
            .collect(),
        color: 1,
    }];
    bound.push(Series {
        label: "ELBO of q".into(),
        points: alphas
            .iter()
            .zip(reports)
            .filter_map(|(&al, r)| r.elbo.map(|b| (al, b)))
            .collect(),
        color: 2,
    });
    bound.push(Series {
        label: "CUBO of q (L_−1)".into(),
        points: alphas
            .iter()
            .zip(reports)
            .filter_map(|(&al, r)| r.cubo.map(|b| (al, b)))
            .collect(),
        color: 3,
    });
    if let Some(l) = ln_p {
        bound.push(Series {
            label: "exact ln p(y)".into(),
            points: vec![(lo, l), (hi, l)],
            color: 0,
        });
    }
    let panels = vec![
        Panel {
            title: format!("{}: posterior sd against α", reports[0].method),
            x_label: "α".into(),
            y_label: if exact.is_some() {
                "sd / exact sd".into()
            } else {
                "sd".into()
            },
            series: sd_series,
            vlines: Vec::new(),
            marks: Vec::new(),
        },
        Panel {
            title: "ln p(y) estimates against α".into(),
            x_label: "α".into(),
            y_label: "nats".into(),
            series: bound,
            vlines: Vec::new(),
            marks: Vec::new(),
        },
    ];
    plot::draw(path, &panels, 2).with_context(|| format!("writing {}", path.display()))
}
