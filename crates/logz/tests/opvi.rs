//! The operator-VI objective with the Langevin–Stein operator (issue 16).

use logz::advi::opvi::objective;
use logz::advi::Batch;
use logz::bayes::data::correlated;
use logz::bayes::linear::Noise;
use logz::bayes::models::LinearKnownNoise;

/// The conjugate known-noise regression on standardised data, with its exact posterior.
fn conjugate() -> (LinearKnownNoise, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let d = correlated(200, 3);
    let stats = d.stats();
    let k = stats.scaling(&d.x_names, &d.y_name).unwrap();
    let (x, y) = k.design(&d);
    let ex = logz::bayes::linear::exact(&stats, &k, &d.x_names, Noise::Known(1.0), 10.0).unwrap();
    let m = LinearKnownNoise {
        d: 3,
        sigma: 1.0 / k.sd_y,
        tau: 10.0,
        names: vec!["i".into(), "a".into(), "b".into()],
    };
    (m, x, y, ex.mean_std, ex.cov_std)
}

#[test]
fn operator_objective_is_zero_at_the_exact_posterior_and_positive_away() {
    let (m, x, y, mean, cov) = conjugate();
    let b = Batch { x: &x, y: &y, d: 3 };
    let at = objective(&m, b, &mean, &cov, 4000, 1).unwrap();
    // Shift the mean by half a posterior sd; or make q mean field (drop the correlation).
    let sd: Vec<f64> = (0..3).map(|i| cov[i * 3 + i].sqrt()).collect();
    let shifted: Vec<f64> = mean.iter().zip(&sd).map(|(a, s)| a + 0.5 * s).collect();
    let off = objective(&m, b, &shifted, &cov, 4000, 1).unwrap();
    let diag: Vec<f64> = (0..9)
        .map(|k| if k % 4 == 0 { cov[k] } else { 0.0 })
        .collect();
    let mf = objective(&m, b, &mean, &diag, 4000, 1).unwrap();
    eprintln!("exact {at:?}, shifted {off:?}, diagonal {mf:?}");
    assert!(at.value.abs() < 3.0 * at.std_err, "{at:?}");
    assert!(
        off.value > 10.0 * off.std_err && off.value > 10.0 * at.std_err.max(1e-300),
        "{off:?}"
    );
    assert!(mf.value > 10.0 * mf.std_err, "{mf:?}");
    let e = objective(&m, b, &mean, &cov, 10, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("≥ 40 draws, got 10"), "{e}");
}

#[test]
fn operator_vi_fit_recovers_the_conjugate_posterior_with_either_field_family() {
    // A Gaussian posterior: on the fixed whitened antithetic draws Ô vanishes exactly at q = p,
    // so a converged fit must land on the exact mean and covariance (to optimiser precision).
    use logz::advi::opvi::{fit_fields, TestFields};
    use logz::advi::{Objective, ViOptions};
    use logz::runner::Runner;
    let (m, x, y, mean, cov) = conjugate();
    let b = Batch { x: &x, y: &y, d: 3 };
    let o = ViOptions {
        objective: Objective::Operator,
        samples: 200,
        max_steps: 500,
        seed: 3,
        ..Default::default()
    };
    for fields in [TestFields::Linear, TestFields::LinearQuadratic] {
        let r = fit_fields(&m, b, &o, &Runner::new(), fields).unwrap();
        assert!(
            r.converged,
            "{fields:?}: {:?} after {} steps",
            r.termination, r.steps
        );
        for i in 0..3 {
            let sd = cov[i * 3 + i].sqrt();
            assert!(
                (r.mean[i] - mean[i]).abs() < 1e-4 * sd,
                "{fields:?} mean {i}: {} vs {}",
                r.mean[i],
                mean[i]
            );
            for j in 0..3 {
                let s = (cov[i * 3 + i] * cov[j * 3 + j]).sqrt();
                assert!(
                    (r.cov[i * 3 + j] - cov[i * 3 + j]).abs() < 1e-4 * s,
                    "{fields:?} cov {i}{j}: {} vs {}",
                    r.cov[i * 3 + j],
                    cov[i * 3 + j]
                );
            }
        }
    }
}
