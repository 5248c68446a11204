//! NUTS ([`logz::bayes::nuts`]): moments of correlated Gaussians with known answers, the
//! adaptation (step size to the target acceptance, dense metric to the covariance), seeds and
//! threads, the breast-cancer logistic posterior against the committed NumPyro reference, and
//! refusal of bad options.

mod common;
use common::{assert_sigma, assert_within, breast_cancer, breast_cancer_reference};
use logz::bayes::convergence;
use logz::bayes::models::{Batch, LogJoint, Logistic};
use logz::bayes::nuts::{nuts, NutsOptions, NutsResult};
use logz::runner::Runner;

/// N(μ, Σ) given by μ and the precision P = Σ⁻¹ (row-major).
struct Gaussian {
    mu: Vec<f64>,
    prec: Vec<f64>,
}

impl LogJoint for Gaussian {
    fn dim(&self) -> usize {
        self.mu.len()
    }
    fn names(&self) -> Vec<String> {
        (0..self.dim()).map(|j| format!("z{j}")).collect()
    }
    fn log_prior(&self, z: &[f64], g: &mut [f64]) -> f64 {
        let d = self.dim();
        let r: Vec<f64> = z.iter().zip(&self.mu).map(|(a, b)| a - b).collect();
        let mut lp = 0.0;
        for i in 0..d {
            let pr: f64 = (0..d).map(|j| self.prec[i * d + j] * r[j]).sum();
            lp -= 0.5 * r[i] * pr;
            g[i] -= pr;
        }
        lp
    }
    fn log_lik(&self, _z: &[f64], _b: Batch, _g: &mut [f64]) -> f64 {
        0.0
    }
}

fn no_data(d: usize) -> Batch<'static> {
    Batch { x: &[], y: &[], d }
}

/// 2D: sds 1 and 10, correlation 0.99, means (1, −2).
fn corr2() -> (Gaussian, Vec<f64>) {
    let (s1, s2, r) = (1.0, 10.0, 0.99);
    let cov = vec![s1 * s1, r * s1 * s2, r * s1 * s2, s2 * s2];
    let det = cov[0] * cov[3] - cov[1] * cov[2];
    let prec = vec![cov[3] / det, -cov[1] / det, -cov[2] / det, cov[0] / det];
    (
        Gaussian {
            mu: vec![1.0, -2.0],
            prec,
        },
        cov,
    )
}

/// 10D: a random rotation of variances log-spaced from 10⁻² to 10² (condition number 10⁴).
/// Returns the target, Σ, and its eigenpairs (λ_k, q_k).
#[allow(clippy::type_complexity)]
fn ill10() -> (Gaussian, Vec<f64>, Vec<(f64, Vec<f64>)>) {
    let d = 10;
    let mut rng = logz::rng::stream(42, 0);
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut v: Vec<f64> = (0..d)
            .map(|_| 2.0 * logz::rng::uniform(&mut rng) - 1.0)
            .collect();
        for u in &q {
            let c: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= c * b);
        }
        let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        q.push(v.iter().map(|a| a / n).collect());
    }
    let lam: Vec<f64> = (0..d)
        .map(|k| 10f64.powf(-2.0 + 4.0 * k as f64 / 9.0))
        .collect();
    let mut cov = vec![0.0; d * d];
    let mut prec = vec![0.0; d * d];
    for k in 0..d {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += lam[k] * q[k][i] * q[k][j];
                prec[i * d + j] += q[k][i] * q[k][j] / lam[k];
            }
        }
    }
    let mu = (0..d).map(|j| j as f64 - 4.5).collect();
    let eig = lam.into_iter().zip(q).collect();
    (Gaussian { mu, prec }, cov, eig)
}

fn series(r: &NutsResult, chains: usize, f: impl Fn(&[f64]) -> f64) -> Vec<Vec<f64>> {
    r.draws
        .chunks(r.draws_per_chain)
        .take(chains)
        .map(|c| c.iter().map(|z| f(z)).collect())
        .collect()
}

/// Means and variances of every coordinate within 5 error bars of the exact ones; each error
/// bar is sd/√ESS of the quantity's own draws (the variance through the draws of (z − μ̂)²), and
/// capped at `cap` × the exact value's scale.
fn check_moments(r: &NutsResult, chains: usize, mu: &[f64], cov: &[f64], cap: f64) {
    let d = mu.len();
    for j in 0..d {
        let sd = cov[j * d + j].sqrt();
        assert_within(
            &format!("mean z{j}"),
            r.mean[j],
            r.mcse[j],
            mu[j],
            5.0,
            cap * sd,
        );
        let m = r.mean[j];
        let sq = series(r, chains, |z| (z[j] - m).powi(2));
        let refs: Vec<&[f64]> = sq.iter().map(|s| s.as_slice()).collect();
        let all = sq.concat();
        let (v, vv) = logz::stats::mean_var(&all);
        let se = (vv / convergence::ess(&refs)).sqrt();
        assert_within(
            &format!("variance z{j}"),
            v,
            se,
            cov[j * d + j],
            5.0,
            3.0 * cap * cov[j * d + j],
        );
        assert!(r.r_hat[j] < 1.01, "R-hat z{j} = {}", r.r_hat[j]);
    }
}

#[test]
fn correlated_2d_gaussian_moments() {
    let (g, cov) = corr2();
    let o = NutsOptions {
        seed: 5,
        ..NutsOptions::default()
    };
    let r = nuts(&g, no_data(2), &o, &Runner::new()).unwrap();
    eprintln!(
        "2D ρ = 0.99: ESS {:?}, R-hat {:?}, accept {:.3}, ε {:?}, leapfrog/draw {:.1}, divergences {}",
        r.ess_bulk, r.r_hat, r.accept_stat, r.step_size, r.mean_leapfrog, r.divergences
    );
    // 4 × 1000 draws; measured ESS ≈ 3000–4000: mcse ≈ 0.017 sd, cap 0.04 sd.
    check_moments(&r, 4, &g.mu, &cov, 0.04);
    assert_eq!(r.divergences, 0);
    // The dense metric makes the problem isotropic: short trajectories suffice.
    assert!(
        r.mean_leapfrog < 8.0,
        "{} leapfrog steps a draw",
        r.mean_leapfrog
    );
    // The adapted metric has the posterior's correlation and scales.
    let m = &r.inv_metric;
    let rho = m[1] / (m[0] * m[3]).sqrt();
    assert!((rho - 0.99).abs() < 0.005, "metric correlation {rho}");
    for (k, want) in [(0, cov[0]), (3, cov[3])] {
        assert!(
            (m[k] / want - 1.0).abs() < 0.3,
            "metric[{k}] {} vs {want}",
            m[k]
        );
    }
}

#[test]
fn ill_conditioned_10d_gaussian_moments_and_metric() {
    let (g, cov, eig) = ill10();
    let o = NutsOptions {
        seed: 11,
        ..NutsOptions::default()
    };
    let r = nuts(&g, no_data(10), &o, &Runner::new()).unwrap();
    eprintln!(
        "10D, κ = 1e4: min ESS {:.0}, max R-hat {:.4}, accept {:.3}, ε {:?}, leapfrog/draw {:.1}",
        r.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min),
        r.r_hat.iter().cloned().fold(0.0, f64::max),
        r.accept_stat,
        r.step_size,
        r.mean_leapfrog
    );
    check_moments(&r, 4, &g.mu, &cov, 0.04);
    // The metric recovers the covariance along every eigendirection, across four decades:
    // q_kᵀ M⁻¹ q_k / λ_k ≈ 1 (a diagonal or unit metric is off by up to 10⁴ here).
    let d = 10;
    for (lam, q) in &eig {
        let mq: f64 = (0..d)
            .map(|i| q[i] * (0..d).map(|j| r.inv_metric[i * d + j] * q[j]).sum::<f64>())
            .sum();
        assert!(
            (mq / lam - 1.0).abs() < 0.35,
            "metric along λ = {lam:.3e}: {:.3}",
            mq / lam
        );
    }
}

/// 50 independent coordinates with sds log-spaced from 0.1 to 10 (acceptance then varies
/// smoothly with ε; in two dimensions it saturates near 0.9 whatever the target).
fn scaled50() -> Gaussian {
    let d = 50;
    let mut prec = vec![0.0; d * d];
    for j in 0..d {
        let sd = 10f64.powf(-1.0 + 2.0 * j as f64 / (d - 1) as f64);
        prec[j * d + j] = 1.0 / (sd * sd);
    }
    Gaussian {
        mu: vec![0.0; d],
        prec,
    }
}

#[test]
fn step_size_adapts_to_the_target_acceptance() {
    let g = scaled50();
    let mut eps = Vec::new();
    for target in [0.7, 0.95] {
        let o = NutsOptions {
            target_accept: target,
            samples: 500,
            seed: 3,
            ..NutsOptions::default()
        };
        let r = nuts(&g, no_data(50), &o, &Runner::new()).unwrap();
        eprintln!(
            "target {target}: acceptance {:.3} in the terminal window, {:.3} after, ε {:?}",
            r.adapt_accept_stat, r.accept_stat, r.step_size
        );
        // Dual averaging drives the mean acceptance of its iterates to the target.
        assert!(
            (r.adapt_accept_stat - target).abs() < 0.05,
            "target {target}: mean acceptance {} in the terminal window",
            r.adapt_accept_stat
        );
        // The averaged step is no larger than the iterates: acceptance at least the target.
        assert!(
            r.accept_stat > target - 0.02 && r.accept_stat < 1.0,
            "target {target}: mean acceptance {} after warm-up",
            r.accept_stat
        );
        eps.push(r.step_size.iter().sum::<f64>() / r.step_size.len() as f64);
    }
    // A higher target needs a smaller step.
    assert!(eps[1] < 0.8 * eps[0], "ε {eps:?}");
}

#[test]
fn same_seed_same_draws_on_one_and_two_threads() {
    let (g, _, _) = ill10();
    let o = NutsOptions {
        warmup: 200,
        samples: 50,
        chains: 3,
        seed: 9,
        ..NutsOptions::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| nuts(&g, no_data(10), &o, &Runner::new()).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.draws, b.draws);
    assert_eq!(a.step_size, b.step_size);
    let other = nuts(
        &g,
        no_data(10),
        &NutsOptions { seed: 10, ..o },
        &Runner::new(),
    )
    .unwrap();
    assert_ne!(a.draws, other.draws);
}

#[test]
fn breast_cancer_posterior_matches_the_numpyro_reference() {
    let (data, x) = breast_cancer();
    assert_eq!((data.n(), data.p()), (569, 30));
    let refs = breast_cancer_reference();
    assert_eq!(refs.len(), 31);
    let m = Logistic {
        d: 31,
        tau: logz::bayes::linear::PRIOR_SCALE,
        names: refs.iter().map(|r| r.0.clone()).collect(),
    };
    let batch = Batch {
        x: &x,
        y: &data.y,
        d: 31,
    };
    let o = NutsOptions {
        seed: 2,
        ..NutsOptions::default()
    };
    let r = nuts(&m, batch, &o, &Runner::new()).unwrap();
    let min_ess = r.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min);
    let max_rhat = r.r_hat.iter().cloned().fold(0.0, f64::max);
    eprintln!(
        "breast cancer: min bulk ESS {min_ess:.0}, max R-hat {max_rhat:.4}, {} divergences, \
         ε {:?}, leapfrog/draw {:.1}, {} gradients",
        r.divergences, r.step_size, r.mean_leapfrog, r.gradients
    );
    assert!(max_rhat < 1.01, "max R-hat {max_rhat}");
    assert!(min_ess >= 1000.0, "min bulk ESS {min_ess}");
    assert_eq!(r.divergences, 0);
    for (j, (name, mean, sd, mcse)) in refs.iter().enumerate() {
        // Error bar of the difference: both runs' Monte Carlo errors; capped at 0.03 sd (the
        // goal's "within 0.1 sd" with room for 3σ).
        let se = (r.mcse[j].powi(2) + mcse.powi(2)).sqrt();
        assert_within(
            &format!("mean {name}"),
            r.mean[j],
            se,
            *mean,
            4.0,
            0.03 * sd,
        );
        // sd: relative error ≈ 1/√(2 ESS) for a near-Gaussian marginal.
        let se_sd = sd * (0.5 / r.ess_bulk[j]).sqrt();
        assert_sigma(&format!("sd {name}"), se_sd, 0.03 * sd);
        assert!(
            (r.sd[j] - sd).abs() < 4.0 * se_sd,
            "sd {name}: {} vs reference {sd} (± {se_sd:.3e})",
            r.sd[j]
        );
    }
}

#[test]
fn bad_options_are_refused() {
    let (g, _) = corr2();
    let cases: Vec<(NutsOptions, &str)> = vec![
        (
            NutsOptions {
                step_size: 0.0,
                ..Default::default()
            },
            "step size",
        ),
        (
            NutsOptions {
                step_size: -0.1,
                ..Default::default()
            },
            "step size",
        ),
        (
            NutsOptions {
                step_size: f64::NAN,
                ..Default::default()
            },
            "step size",
        ),
        (
            NutsOptions {
                target_accept: 0.0,
                ..Default::default()
            },
            "target acceptance",
        ),
        (
            NutsOptions {
                target_accept: 1.0,
                ..Default::default()
            },
            "target acceptance",
        ),
        (
            NutsOptions {
                target_accept: f64::NAN,
                ..Default::default()
            },
            "target acceptance",
        ),
        (
            NutsOptions {
                samples: 0,
                ..Default::default()
            },
            "draws",
        ),
        (
            NutsOptions {
                chains: 0,
                ..Default::default()
            },
            "chain",
        ),
        (
            NutsOptions {
                max_depth: 0,
                ..Default::default()
            },
            "depth",
        ),
        (
            NutsOptions {
                max_depth: 40,
                ..Default::default()
            },
            "depth",
        ),
    ];
    for (o, what) in cases {
        let e = nuts(&g, no_data(2), &o, &Runner::new())
            .err()
            .unwrap_or_else(|| panic!("{o:?} accepted"))
            .to_string();
        assert!(e.contains(what), "{o:?}: '{e}' does not mention {what}");
    }
}

#[test]
fn a_stopped_run_keeps_the_draws_all_chains_made() {
    let (g, _) = corr2();
    // Stopped before any draw past the warm-up: a clear error, not a panic.
    let runner = Runner::new().with_time_limit(1e-9);
    std::thread::sleep(std::time::Duration::from_millis(2));
    let e = nuts(&g, no_data(2), &NutsOptions::default(), &runner).unwrap_err();
    assert!(e.to_string().contains("draws past the warm-up"), "{e}");
}
