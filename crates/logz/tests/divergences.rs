//! Other divergences (issue 16): Rényi-α VI, closed-form KL to the exact posterior.

use logz::bayes::data::{correlated, Dataset};
use logz::bayes::divergence::alpha_sweep;
use logz::bayes::fit::{fit, FitOptions, FitReport, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::runner::Runner;

const KNOWN: ModelKind = ModelKind::Linear(Noise::Known(1.0));

fn run(d: &Dataset, method: Method, alpha: f64) -> FitReport {
    let o = FitOptions {
        method,
        alpha,
        ..FitOptions::default()
    };
    fit(d, KNOWN, &o, &Runner::new()).unwrap()
}

#[test]
fn renyi_alpha_trades_the_kl_answer_for_mass_covering() {
    // 30 rows, slopes with posterior correlation ≈ −0.95: mean-field q is too narrow under KL.
    let d = correlated(30, 1);
    let exact = run(&d, Method::Exact, 0.5);
    let advi = run(&d, Method::Advi, 0.5);
    let alphas = [0.0, 0.5, 1.0, 2.0];
    let o = FitOptions {
        method: Method::Renyi,
        ..FitOptions::default()
    };
    let r = alpha_sweep(&d, KNOWN, &o, &alphas, &Runner::new()).unwrap();
    let lnp = exact.ln_evidence.unwrap();
    for j in 1..3 {
        let sd: Vec<f64> = r.iter().map(|x| x.sd[j]).collect();
        eprintln!(
            "slope {j}: sd {sd:?}, exact {}, advi {}",
            exact.sd[j], advi.sd[j]
        );
        // Smaller α covers more mass: sds fall with α, from near the marginal (α = 0) to the
        // KL answer (α = 1, within 10% of mean-field ADVI's) and below (α = 2).
        assert!(
            sd[0] > 1.5 * sd[1] && sd[1] > 1.2 * sd[2] && sd[2] > sd[3],
            "{sd:?}"
        );
        assert!(
            (sd[2] - advi.sd[j]).abs() < 0.1 * advi.sd[j],
            "{sd:?} vs {}",
            advi.sd[j]
        );
        assert!((sd[0] - exact.sd[j]).abs() < 0.25 * exact.sd[j], "{sd:?}");
        assert!(sd[2] < 0.5 * exact.sd[j]);
    }
    // The bound: L_0 estimates ln p(y); L_α ≤ ln p(y) for α > 0 and falls with α.
    let b: Vec<(f64, f64)> = r
        .iter()
        .map(|x| (x.renyi_bound.unwrap(), x.renyi_bound_std_err.unwrap()))
        .collect();
    eprintln!("bounds {b:?} vs ln p(y) = {lnp}");
    assert!(b.iter().all(|(_, se)| *se < 0.1), "{b:?}");
    assert!((b[0].0 - lnp).abs() < 4.0 * b[0].1, "{b:?} vs {lnp}");
    for (k, (v, se)) in b.iter().enumerate().skip(1) {
        assert!(
            *v < lnp + 3.0 * se,
            "α = {}: {v} ± {se} vs {lnp}",
            alphas[k]
        );
        assert!(*v < b[k - 1].0 + 3.0 * (se + b[k - 1].1), "{b:?}");
    }
    // Closed-form KLs: the α = 0 fit is closer in KL(p ‖ q), the α = 1 fit in KL(q ‖ p).
    let (k0, k1) = (&r[0], &r[2]);
    assert!(
        k0.kl_p_q.unwrap() < 0.5 * k1.kl_p_q.unwrap(),
        "{k0:?} {k1:?}"
    );
    assert!(k1.kl_q_p.unwrap() < k0.kl_q_p.unwrap());
    assert_eq!(k0.alpha, Some(0.0));
}

#[test]
fn closed_form_kl_is_the_elbo_gap_and_vanishes_for_the_exact_gaussian() {
    let d = correlated(500, 2);
    let exact = run(&d, Method::Exact, 0.5);
    assert!(exact.kl_q_p.is_none() && exact.kl_p_q.is_none());
    let full = run(&d, Method::AdviFullRank, 0.5);
    let mf = run(&d, Method::Advi, 0.5);
    let lnp = exact.ln_evidence.unwrap();
    for r in [&full, &mf] {
        let (kl, gap, se) = (
            r.kl_q_p.unwrap(),
            lnp - r.elbo.unwrap(),
            r.elbo_std_err.unwrap(),
        );
        eprintln!(
            "{}: KL(q‖p) {kl}, gap {gap} ± {se}, KL(p‖q) {:?}",
            r.method, r.kl_p_q
        );
        // ln p(y) − ELBO = KL(q ‖ p) exactly; the ELBO carries the Monte Carlo error (of 200
        // draws of ln p(x, z) + H[q]).
        assert!(
            se < 0.15 && (kl - gap).abs() < 4.0 * se,
            "{kl} vs {gap} ± {se}"
        );
    }
    // Full rank can be exact: both KLs small. Mean field on a correlated posterior: KL(p‖q)
    // (what mean field does not minimise) exceeds KL(q‖p).
    assert!(
        full.kl_q_p.unwrap() < 0.02 && full.kl_p_q.unwrap() < 0.02,
        "{full:?}"
    );
    assert!(mf.kl_q_p.unwrap() > 0.5 && mf.kl_p_q.unwrap() > 2.0 * mf.kl_q_p.unwrap());
    // No exact Gaussian posterior: no KL.
    let o = FitOptions {
        method: Method::AdviFullRank,
        ..FitOptions::default()
    };
    let nig = fit(
        &d,
        ModelKind::Linear(Noise::Unknown { a0: 1.0, b0: 1.0 }),
        &o,
        &Runner::new(),
    )
    .unwrap();
    assert!(nig.kl_q_p.is_none());
}

#[test]
fn bad_renyi_input_is_refused() {
    let d = correlated(30, 1);
    for a in [-0.5, 2.5, f64::NAN] {
        let o = FitOptions {
            method: Method::Renyi,
            alpha: a,
            ..FitOptions::default()
        };
        let e = fit(&d, KNOWN, &o, &Runner::new()).unwrap_err().to_string();
        assert!(
            e.contains("Rényi order α of a fit must be in [0, 2]"),
            "{e}"
        );
    }
    let o = FitOptions {
        method: Method::Advi,
        ..FitOptions::default()
    };
    let e = alpha_sweep(&d, KNOWN, &o, &[0.5], &Runner::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains("needs the renyi or renyi-fullrank method"),
        "{e}"
    );
    let o = FitOptions {
        method: Method::Renyi,
        ..FitOptions::default()
    };
    let e = alpha_sweep(&d, KNOWN, &o, &[], &Runner::new()).unwrap_err();
    assert!(e.to_string().contains("1 to 50 values"), "{e}");
    let e = alpha_sweep(&d, KNOWN, &o, &[0.5, 3.0], &Runner::new()).unwrap_err();
    assert!(e.to_string().contains("got 3"), "{e}");
}
