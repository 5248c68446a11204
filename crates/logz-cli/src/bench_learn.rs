//! `logz bench learn`: learning an SK model back from its samples, timed, beside the
//! scikit-learn pseudo-likelihood peer measured on this kind of machine
//! (../shared/reference/inverse_ising_sklearn.py), and — with `--curve` — the classic figure
//! of the reconstruction error ε_J against the number of samples M for every learner.

use crate::outln;
use anyhow::{anyhow, Result};
use logz::learn::evaluate::reconstruction;
use logz::learn::synthetic::{exact_samples, gibbs_samples};
use logz::learn::{learn, Expectations, LearnOptions, Method, Samples};
use logz::model::builders::{from_spec, Params};
use logz::Model;
use std::path::Path;
use std::time::Instant;

/// The peer's figures (N = 64, M = 20 000, 200 Gibbs sweeps): β, PLM error, PLM seconds, nMF error.
const PEER: &[(f64, f64, f64, f64)] = &[(1.0, 0.108, 11.0, 0.132), (1.6, 0.135, 16.6, 0.458)];

/// Sweeps of every Gibbs chain, as the peer runs them.
const GIBBS_SWEEPS: usize = 200;

/// An SK instance with J_ij ~ N(0, β²/N), h = 0 (β folded in by the model's β).
fn sk(n: usize, beta: f64, seed: u64) -> Result<Model> {
    Ok(from_spec(
        &format!("sk:{n}"),
        &Params {
            beta,
            seed,
            ..Default::default()
        },
    )?)
}

/// Learn with `method` and return (ε_J, seconds).
fn timed(data: &Samples, truth: &Model, method: Method) -> Result<(f64, f64)> {
    let t0 = Instant::now();
    let l = learn(
        data,
        &LearnOptions {
            method,
            ..Default::default()
        },
    )?;
    let s = t0.elapsed().as_secs_f64();
    let e = reconstruction(&l.model, truth)?
        .coupling_error
        .ok_or_else(|| anyhow!("the true couplings are all zero"))?;
    Ok((e, s))
}

/// The side-by-side table: Gibbs samples as the peer makes them, mf and plm timed.
pub fn run(spins: usize, samples: usize, betas: &[f64], seed: u64) -> Result<()> {
    if spins < 2 || samples < 2 || betas.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(anyhow!(
            "bench learn needs ≥ 2 spins, ≥ 2 samples and finite β > 0"
        ));
    }
    outln!(
        "inverse Ising: SK, N = {spins}, J_ij ~ N(0, β²/N), h = 0; M = {samples} Gibbs samples \
         ({GIBBS_SWEEPS} heat-bath sweeps of independent chains, as the peer)"
    );
    outln!(
        "{:>5} {:>7} {:>8} {:>10} {:>10}   peer (sklearn PLM / numpy nMF, same N, M, β)",
        "β",
        "method",
        "ε_J",
        "seconds",
        "sampling"
    );
    for &beta in betas {
        let truth = sk(spins, beta, seed)?;
        let t0 = Instant::now();
        let data = gibbs_samples(&truth, samples, GIBBS_SWEEPS, seed ^ 0x5eed)?;
        let sampling = t0.elapsed().as_secs_f64();
        let peer = PEER
            .iter()
            .find(|p| (p.0 - beta).abs() < 1e-9 && spins == 64 && samples == 20_000);
        for (name, method) in [("mf", Method::MeanField), ("plm", Method::Plm)] {
            let (e, s) = timed(&data, &truth, method)?;
            let note = match (peer, name) {
                (Some(p), "plm") => format!(
                    "PLM {:.3} in {:.1} s: logz {:.0}× faster",
                    p.1,
                    p.2,
                    p.2 / s
                ),
                (Some(p), _) => format!("nMF {:.3}", p.3),
                (None, _) => "-".to_string(),
            };
            outln!("{beta:>5} {name:>7} {e:>8.3} {s:>10.3} {sampling:>10.2}   {note}");
        }
    }
    Ok(())
}

/// The classic figure: ε_J against M for mf, tap, bethe, plm and boltzmann (exact
/// expectations: the maximum-likelihood estimate) on SK with exact samples.
pub fn curve(spins: usize, betas: &[f64], seed: u64, out: &Path) -> Result<()> {
    use crate::plot::{draw, Panel, Series};
    let counts = [1_000usize, 3_000, 10_000, 30_000, 100_000];
    let methods = [
        ("mf", Method::MeanField),
        ("tap", Method::Tap),
        ("bethe", Method::Bethe),
        ("plm", Method::Plm),
        ("boltzmann", Method::Boltzmann(Expectations::Exact)),
    ];
    std::fs::create_dir_all(out)?;
    let mut csv = String::from("beta,samples,method,eps_j,seconds\n");
    let mut panels = Vec::new();
    outln!("ε_J against M: SK, N = {spins}, exact samples (enumeration)");
    for &beta in betas {
        let truth = sk(spins, beta, seed)?;
        let mut series: Vec<Series> = methods
            .iter()
            .enumerate()
            .map(|(k, (name, _))| Series {
                label: name.to_string(),
                points: Vec::new(),
                color: k + 1,
            })
            .collect();
        for &m in &counts {
            let data = exact_samples(&truth, m, seed ^ m as u64)?;
            let mut row = format!("β = {beta:<4} M = {m:>6}:");
            for (k, (name, method)) in methods.iter().enumerate() {
                // A learner that fails at small M (a singular covariance) is left out there.
                let Ok((e, s)) = timed(&data, &truth, *method) else {
                    row.push_str(&format!(" {name} -"));
                    continue;
                };
                csv.push_str(&format!("{beta},{m},{name},{e},{s}\n"));
                series[k].points.push(((m as f64).log10(), e.log10()));
                row.push_str(&format!(" {name} {e:.3}"));
            }
            outln!("{row}");
        }
        panels.push(Panel {
            title: format!("SK, N = {spins}, β = {beta}"),
            x_label: "log10 M (samples)".into(),
            y_label: "log10 ε_J".into(),
            series,
            vlines: vec![],
            marks: vec![],
        });
    }
    let svg = out.join("learning-error-vs-samples.svg");
    draw(&svg, &panels, panels.len().min(3))?;
    let csv_path = out.join("learning-error-vs-samples.csv");
    std::fs::write(&csv_path, csv)?;
    outln!("wrote {} and {}", svg.display(), csv_path.display());
    Ok(())
}

/// A random ferromagnetic L × L torus: J_ij ~ U[0.1, 0.5] on the lattice bonds, h_i ~
/// U[−0.1, 0.1] (paramagnetic: the strongest bond is still near β_c's 0.44, the mean well below).
fn random_lattice(side: usize, seed: u64) -> Result<Model> {
    use rand::SeedableRng;
    let base = logz::model::builders::square(side, side, true, &Params::default())?;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * logz::rng::uniform(&mut rng);
    let edges: Vec<(usize, usize)> = base
        .edges()
        .iter()
        .map(|&(i, j)| (i as usize, j as usize))
        .collect();
    let couplings: Vec<f64> = edges.iter().map(|_| u(0.1, 0.5)).collect();
    let fields: Vec<f64> = (0..base.n()).map(|_| u(-0.1, 0.1)).collect();
    Ok(Model::new(base.n(), &edges, &couplings, fields, 1.0)?)
}

/// The lattice goal: on an L × L torus with random couplings, maximum likelihood with
/// persistent chains (`boltzmann --expectations pcd`) against pseudo-likelihood, both told the
/// lattice graph, on the same Gibbs samples. Prints ε_J of each and their ratio.
pub fn lattice(side: usize, samples: usize, seed: u64) -> Result<()> {
    use logz::learn::Graph;
    if side < 3 || samples < 2 {
        return Err(anyhow!(
            "bench learn --lattice needs a side ≥ 3 and ≥ 2 samples"
        ));
    }
    let truth = random_lattice(side, seed)?;
    // Independent heat-bath chains; the integrated autocorrelation time at these couplings is
    // a few sweeps, so 50 sweeps from a random start are many times past equilibration.
    let t0 = Instant::now();
    let data = gibbs_samples(&truth, samples, 50, seed ^ 0x5eed)?;
    let sampling = t0.elapsed().as_secs_f64();
    outln!(
        "inverse Ising on a {side}×{side} torus: J ~ U[0.1, 0.5], h ~ U[−0.1, 0.1]; M = {samples} \
         Gibbs samples ({sampling:.1} s); both learners know the lattice graph"
    );
    outln!(
        "{:>16} {:>8} {:>10} {:>10}",
        "method",
        "ε_J",
        "seconds",
        "converged"
    );
    let mut errors = Vec::new();
    for (name, method) in [
        ("plm", Method::Plm),
        ("boltzmann/pcd", Method::Boltzmann(Expectations::Pcd)),
    ] {
        let t0 = Instant::now();
        let l = learn(
            &data,
            &LearnOptions {
                method,
                graph: Graph::of(&truth),
                ..Default::default()
            },
        )?;
        let s = t0.elapsed().as_secs_f64();
        let e = reconstruction(&l.model, &truth)?
            .coupling_error
            .ok_or_else(|| anyhow!("the true couplings are all zero"))?;
        outln!("{name:>16} {e:>8.4} {s:>10.2} {:>10}", l.converged);
        errors.push(e);
    }
    outln!(
        "pcd / plm error ratio: {:.3} (the goal: within 10%, ≤ 1.10)",
        errors[1] / errors[0]
    );
    Ok(())
}
