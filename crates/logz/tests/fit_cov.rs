//! The posterior covariance a fit reports (`FitReport::cov`, raw units): checked against the
//! textbook formula σ²(XᵀX)⁻¹ for a nearly flat prior, and against the reported sds.

use logz::bayes::data::Dataset;
use logz::bayes::fit::{fit, FitOptions, Method, ModelKind};
use logz::bayes::linear::Noise;
use logz::runner::Runner;
use nalgebra::DMatrix;

/// y = 1 + 2 x₀ − x₁ + noise with strongly correlated x₀, x₁ (so the covariance has a large
/// off-diagonal entry), deterministic.
fn data() -> Dataset {
    let n = 200;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let t = i as f64 / n as f64;
        let a = 3.0 * t + 0.5 * (7.0 * t).sin();
        let b = 0.8 * a + 0.3 * (13.0 * t).cos() + 5.0;
        x.extend([a, b]);
        y.push(1.0 + 2.0 * a - b + 0.2 * (29.0 * t).sin());
    }
    Dataset {
        x_names: vec!["a".into(), "b".into()],
        y_name: "y".into(),
        x,
        y,
    }
}

#[test]
fn exact_covariance_is_sigma2_times_inverse_gram_under_a_flat_prior() {
    let d = data();
    let sigma = 0.3;
    let o = FitOptions {
        method: Method::Exact,
        tau: 1e4,
        ..FitOptions::default()
    };
    let r = fit(
        &d,
        ModelKind::Linear(Noise::Known(sigma)),
        &o,
        &Runner::new(),
    )
    .unwrap();
    assert_eq!(r.cov.len(), 9);
    // The design with its intercept column, raw units.
    let xm = DMatrix::from_fn(
        d.n(),
        3,
        |i, j| if j == 0 { 1.0 } else { d.x[i * 2 + j - 1] },
    );
    let want = (xm.transpose() * &xm).try_inverse().unwrap() * (sigma * sigma);
    for i in 0..3 {
        for j in 0..3 {
            let (got, w) = (r.cov[i * 3 + j], want[(i, j)]);
            assert!(
                (got - w).abs() <= 1e-6 * w.abs().max(want[(i, i)]),
                "cov[{i},{j}] = {got}, σ²(XᵀX)⁻¹ = {w}"
            );
        }
        assert!((r.cov[i * 3 + i].sqrt() - r.sd[i]).abs() <= 1e-9 * r.sd[i]);
    }
    // The correlated features give a clearly nonzero, negative a–b covariance.
    assert!(r.cov[5] < -0.5 * (r.cov[4] * r.cov[8]).sqrt());
}

#[test]
fn every_method_reports_a_symmetric_covariance_matching_its_sds() {
    let d = data();
    for (method, kind) in [
        (
            Method::Exact,
            ModelKind::Linear(Noise::Unknown { a0: 1.0, b0: 1.0 }),
        ),
        (Method::AdviFullRank, ModelKind::Linear(Noise::Known(0.3))),
        (Method::Natural, ModelKind::Linear(Noise::Known(0.3))),
    ] {
        let o = FitOptions {
            method,
            max_steps: 2000,
            ..FitOptions::default()
        };
        let r = fit(&d, kind, &o, &Runner::new()).unwrap();
        assert_eq!(r.cov.len(), 9, "{method:?}");
        for i in 0..3 {
            assert!(
                (r.cov[i * 3 + i].sqrt() - r.sd[i]).abs() <= 1e-9 * r.sd[i],
                "{method:?}: diag {i}"
            );
            for j in 0..3 {
                assert!((r.cov[i * 3 + j] - r.cov[j * 3 + i]).abs() <= 1e-12 * r.sd[i] * r.sd[j]);
            }
        }
    }
}
