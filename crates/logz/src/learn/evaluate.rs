//! Judging a learned model: reconstruction errors against a known truth, moment-matching
//! residuals on data, and the average log-likelihood of (held-out) samples,
//!
//!   ℓ = mean_μ(−βE(s^μ)) − ln Z,
//!
//! with ln Z from the best applicable method *and its kind*: an exact ln Z gives the exact ℓ; a
//! lower bound on ln Z (mean field) gives an upper bound on ℓ, an upper bound on ln Z (TRW) a
//! lower bound on ℓ. When Z cannot be computed the likelihood is bracketed — learning needs Z.

use super::data::Samples;
use crate::error::{Error, Result};
use crate::estimate::{EstimateKind, Solver};
use crate::exact::Exact;
use crate::free_energy::{MeanField, Trw};
use crate::model::Model;
use nalgebra::DMatrix;
use serde::Serialize;

/// Dense couplings and fields with β folded in (βJ, βh).
pub fn dense(m: &Model) -> (DMatrix<f64>, Vec<f64>) {
    let n = m.n();
    let b = m.beta();
    let mut j = DMatrix::zeros(n, n);
    for (&(a, c), &x) in m.edges().iter().zip(m.couplings()) {
        j[(a as usize, c as usize)] += b * x;
        j[(c as usize, a as usize)] += b * x;
    }
    (j, m.fields().iter().map(|h| b * h).collect())
}

/// Reconstruction errors of `learned` against `truth` (both with β folded in).
#[derive(Debug, Clone, Serialize)]
pub struct Reconstruction {
    /// ε_J = ‖Ĵ − J‖_F / ‖J‖_F over all pairs i < j (zeros included); `None` if J = 0.
    pub coupling_error: Option<f64>,
    /// ‖Ĵ − J‖_F / √(N(N−1)/2), the root-mean-square coupling error.
    pub coupling_rms: f64,
    /// ‖ĥ − h‖ / ‖h‖; `None` if h = 0.
    pub field_error: Option<f64>,
    /// ‖ĥ − h‖ / √N.
    pub field_rms: f64,
}

/// ε_J and the field errors of `learned` against `truth`.
pub fn reconstruction(learned: &Model, truth: &Model) -> Result<Reconstruction> {
    if learned.n() != truth.n() {
        return Err(Error::arg(format!(
            "the learned model has {} spins, the truth {}",
            learned.n(),
            truth.n()
        )));
    }
    let n = learned.n();
    let (jl, hl) = dense(learned);
    let (jt, ht) = dense(truth);
    let (mut d2, mut t2) = (0.0, 0.0);
    for a in 0..n {
        for b in a + 1..n {
            d2 += (jl[(a, b)] - jt[(a, b)]).powi(2);
            t2 += jt[(a, b)].powi(2);
        }
    }
    let pairs = (n * n.saturating_sub(1) / 2).max(1) as f64;
    let hd2: f64 = hl.iter().zip(&ht).map(|(a, b)| (a - b).powi(2)).sum();
    let ht2: f64 = ht.iter().map(|x| x * x).sum();
    Ok(Reconstruction {
        coupling_error: (t2 > 0.0).then(|| (d2 / t2).sqrt()),
        coupling_rms: (d2 / pairs).sqrt(),
        field_error: (ht2 > 0.0).then(|| (hd2 / ht2).sqrt()),
        field_rms: (hd2 / n.max(1) as f64).sqrt(),
    })
}

/// The average log-likelihood of samples under a model, or its bracket.
#[derive(Debug, Clone, Serialize)]
pub struct LogLikelihood {
    /// mean_μ(−βE(s^μ)), the part that needs no Z.
    pub mean_neg_energy: f64,
    /// The exact ℓ, when ln Z is exact.
    pub exact: Option<f64>,
    /// An upper bound on ℓ (from a lower bound on ln Z) and the method that gave it.
    pub upper: Option<(f64, String)>,
    /// A lower bound on ℓ (from an upper bound on ln Z) and the method that gave it.
    pub lower: Option<(f64, String)>,
    /// What could not be computed, and why.
    pub notes: Vec<String>,
}

/// ℓ of `data` under `model`: exact if an exact method applies, else bracketed by mean field
/// (upper bound on ℓ) and TRW (lower bound on ℓ). With `bracket_always`, the bracket is
/// computed even when ln Z is exact (to check it).
pub fn log_likelihood(
    model: &Model,
    data: &Samples,
    bracket_always: bool,
) -> Result<LogLikelihood> {
    if model.n() != data.n() {
        return Err(Error::arg(format!(
            "the model has {} spins, the samples {}",
            model.n(),
            data.n()
        )));
    }
    let b = model.beta();
    let e: f64 = data.rows().map(|r| -b * model.energy(r)).sum::<f64>() / data.len() as f64;
    let mut ll = LogLikelihood {
        mean_neg_energy: e,
        exact: None,
        upper: None,
        lower: None,
        notes: vec![],
    };
    if Exact::best(model).is_some() {
        match Exact.solve(model) {
            Ok(est) if est.kind == EstimateKind::Exact => ll.exact = Some(e - est.ln_z),
            Ok(_) => {}
            Err(err) => ll.notes.push(format!("exact ln Z: {err}")),
        }
    }
    if ll.exact.is_some() && !bracket_always {
        return Ok(ll);
    }
    let solvers: [(&str, Box<dyn Solver>); 2] = [
        ("mf", Box::new(MeanField::default())),
        ("trw", Box::new(Trw::default())),
    ];
    for (name, s) in solvers {
        match s.solve(model) {
            Ok(est) => match est.kind {
                EstimateKind::LowerBound => ll.upper = Some((e - est.ln_z, name.to_string())),
                EstimateKind::UpperBound => ll.lower = Some((e - est.ln_z, name.to_string())),
                k => ll
                    .notes
                    .push(format!("{name}: ln Z is {} here, not a bound", k.label())),
            },
            Err(err) => ll.notes.push(format!("{name}: {err}")),
        }
    }
    Ok(ll)
}

/// Moment-matching residuals of a model on data: max |⟨s_i⟩_data − ⟨s_i⟩_model| and
/// max |⟨s_i s_j⟩_data − ⟨s_i s_j⟩_model| over the model's edges, with the model moments
/// from an exact method (`None` when none applies).
pub fn residuals(model: &Model, data: &Samples) -> Result<Option<(f64, f64)>> {
    if Exact::best(model).is_none() {
        return Ok(None);
    }
    let Ok(est) = Exact.solve(model) else {
        return Ok(None);
    };
    let Some(cor) = est.edge_correlation else {
        return Ok(None);
    };
    let mo = data.moments();
    let rm = mo
        .mean
        .iter()
        .zip(&est.magnetization)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    let rc = model
        .edges()
        .iter()
        .zip(&cor)
        .fold(0.0f64, |m, (&(a, b), c)| {
            m.max((mo.second[(a as usize, b as usize)] - c).abs())
        });
    Ok(Some((rm, rc)))
}
