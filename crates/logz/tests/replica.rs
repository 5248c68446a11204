//! Replica theory of the SK model: RS, k-RSB, ground states and the exact integer moments.

use logz::replica::parisi::{functional, Grid, Temperature, Trial};
use logz::replica::{moments, rs, solve, Level};

/// E[g(a + b z)] by the trapezoid rule on z ∈ [−14, 14] (independent of the library's
/// Gauss–Hermite / panel quadrature).
fn trapezoid(g: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let n = 400_000;
    let dz = 28.0 / n as f64;
    (0..=n)
        .map(|i| {
            let z = -14.0 + i as f64 * dz;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * (-0.5 * z * z).exp() * g(a + b * z)
        })
        .sum::<f64>()
        * dz
        / (2.0 * std::f64::consts::PI).sqrt()
}

fn ln2cosh(x: f64) -> f64 {
    x.abs() + (-2.0 * x.abs()).exp().ln_1p()
}

#[test]
fn rs_equals_the_annealed_free_energy_above_t_equals_one() {
    for beta in [0.1, 0.5, 0.9, 0.999] {
        let s = rs::solve(beta, 0.0);
        let annealed = std::f64::consts::LN_2 + beta * beta / 4.0;
        assert_eq!(s.q, 0.0);
        assert!(
            (s.ln_z_per_spin - annealed).abs() < 1e-10,
            "β={beta}: {}",
            s.ln_z_per_spin
        );
        assert!((s.energy_per_spin + beta / 2.0).abs() < 1e-12);
    }
}

#[test]
fn rs_fixed_point_and_free_energy_against_an_independent_quadrature() {
    // Near q = 0 (β just above 1), in a field, and near q = 1 (low temperature).
    for (beta, h) in [(1.01, 0.0), (1.5, 0.0), (2.0, 0.5), (8.0, 0.0), (20.0, 0.1)] {
        let s = rs::solve(beta, h);
        let (a, b) = (beta * h, beta * s.q.sqrt());
        let q = trapezoid(|x| x.tanh().powi(2), a, b);
        assert!((q - s.q).abs() < 1e-11, "β={beta} h={h}: q {} vs {q}", s.q);
        let f = beta * beta * (1.0 - s.q).powi(2) / 4.0 + trapezoid(ln2cosh, a, b);
        assert!((f - s.ln_z_per_spin).abs() < 1e-10, "β={beta} h={h}");
        let lam = beta * beta * trapezoid(|x| 1.0 / x.cosh().powi(4), a, b);
        assert!((lam - s.at_lambda).abs() < 1e-10);
        assert!(s.residual < 1e-13);
    }
    // Just above T = 1 the overlap grows like 2(β − 1)... of order β − 1, not 0.
    let q = rs::overlap(1.001, 0.0);
    assert!(q > 5e-4 && q < 5e-3, "{q}");
}

#[test]
fn rs_is_unstable_below_the_at_line_and_its_entropy_turns_negative() {
    assert!(rs::solve(0.9, 0.0).at_lambda < 1.0);
    assert!(rs::solve(1.1, 0.0).at_lambda > 1.0);
    // Small fields: 1 − T_AT ≈ (3/4)^{1/3} h^{2/3}.
    let h: f64 = 1e-3;
    let t = rs::at_temperature(h);
    let want = 0.75f64.powf(1.0 / 3.0) * h.powf(2.0 / 3.0);
    assert!(((1.0 - t) / want - 1.0).abs() < 0.05, "{t}");
    // The famous failure: s_RS(T → 0) = −1/(2π).
    let s = rs::solve(2000.0, 0.0).entropy_per_spin;
    assert!((s + 1.0 / (2.0 * std::f64::consts::PI)).abs() < 5e-4, "{s}");
    assert!(rs::solve(5.0, 0.0).entropy_per_spin < 0.0);
    assert!((rs::ground_state_energy(0.0) + (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-15);
}

#[test]
fn k_rsb_with_coinciding_overlaps_is_rs() {
    for (beta, h) in [(0.6, 0.0), (1.7, 0.0), (3.0, 0.4)] {
        let q = rs::overlap(beta, h);
        let want = rs::functional(beta, h, q);
        let t = Temperature::Beta(beta);
        let grid = Grid::new(h, Grid::default_dx(t));
        for trial in [
            Trial {
                q: vec![q, q],
                m: vec![0.4],
            },
            Trial {
                q: vec![q, q, q],
                m: vec![0.2, 0.9],
            },
        ] {
            let got = functional(t, &trial, &grid);
            assert!(
                (got - want).abs() < 1e-10,
                "β={beta} h={h} {trial:?}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn one_step_rsb_is_stationary_below_rs_and_its_energy_matches_parisi_formula() {
    let beta = 2.0;
    let s = solve(Temperature::Beta(beta), 0.0, Level::Steps(1)).unwrap();
    let r = rs::solve(beta, 0.0);
    assert!(s.residual < 1e-6, "residual {}", s.residual);
    // Guerra's bound: the RSB optimum lies below the RS value, by a small amount at T = 0.5.
    let v = s.ln_z_per_spin.unwrap();
    assert!(
        v < r.ln_z_per_spin - 1e-4 && v > r.ln_z_per_spin - 1e-2,
        "{v}"
    );
    let (q0, q1, m) = (s.q[0], s.q[1], s.m[0]);
    // The best one-step approximation of Parisi's continuous x(q) (which rises from 0 at q = 0)
    // puts its first jump at q₀ > 0, even at h = 0: a lower bound than the symmetric q₀ = 0.
    assert!(
        q0 > 0.1 && q0 < r.q && q1 > r.q && m > 0.0 && m < 1.0,
        "{s:?}"
    );
    // u = −(β/2)(1 − ∫ q² dx(q)) with jumps m at q₀ and 1 − m at q₁.
    let u = -0.5 * beta * (1.0 - m * q0 * q0 - (1.0 - m) * q1 * q1);
    assert!(
        (s.energy_per_spin - u).abs() < 1e-7,
        "{} vs {u}",
        s.energy_per_spin
    );
    assert!((s.entropy_per_spin - (v + beta * u)).abs() < 1e-7);
}

#[test]
fn rsb_above_t_one_is_the_paramagnet() {
    for level in [Level::Steps(1), Level::Steps(2), Level::Full] {
        let s = solve(Temperature::Beta(0.8), 0.0, level).unwrap();
        let annealed = std::f64::consts::LN_2 + 0.16;
        assert!((s.ln_z_per_spin.unwrap() - annealed).abs() < 1e-10);
        assert!(s.residual < 1e-6, "{}", s.residual);
    }
}

#[test]
fn ground_state_energies_climb_towards_parisi() {
    let e = |l| solve(Temperature::Zero, 0.0, l).unwrap();
    let rs = e(Level::Rs);
    let one = e(Level::Steps(1));
    let two = e(Level::Steps(2));
    assert!((rs.energy_per_spin + (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-15);
    // 1RSB at T = 0 (q₀ = 0.476784, μ = 1.360821): −0.76525943468 from an independent
    // minimisation (scipy, 80-point Hermite quadrature, closed-form inner layer).
    assert!(
        (one.energy_per_spin + 0.765_259_434_68).abs() < 1e-8,
        "{one:?}"
    );
    assert!((one.q[0] - 0.476784).abs() < 1e-5 && (one.m[0] - 1.360821).abs() < 1e-5);
    // 2RSB lies between 1RSB and Parisi's e₀ = −0.76317 (Crisanti–Rizzo), within 5e-4 of it.
    let parisi = -0.763_17;
    assert!(two.energy_per_spin > one.energy_per_spin);
    assert!(
        two.energy_per_spin < parisi && two.energy_per_spin > parisi - 5e-4,
        "{two:?}"
    );
    for s in [&one, &two] {
        assert!(s.residual < 1e-6, "{}", s.residual);
    }
}

/// ln E_J[Z^n] by brute force: every configuration of n replicas of N spins, with the Gaussian
/// average done analytically pair by pair: Σ exp(β²/(2N) Σ_{i<j} (Σ_a s_i^a s_j^a)²).
fn brute_ln_moment(n: usize, reps: usize, beta: f64) -> f64 {
    let bits = n * reps;
    let mut terms = Vec::with_capacity(1 << bits);
    for code in 0u64..(1u64 << bits) {
        let s = |i: usize, a: usize| {
            if (code >> (a * n + i)) & 1 == 1 {
                1.0
            } else {
                -1.0
            }
        };
        let mut e = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                let c: f64 = (0..reps).map(|a| s(i, a) * s(j, a)).sum();
                e += c * c;
            }
        }
        terms.push(beta * beta / (2.0 * n as f64) * e);
    }
    let mx = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    mx + terms.iter().map(|t| (t - mx).exp()).sum::<f64>().ln()
}

#[test]
fn integer_moments_equal_brute_force_and_the_closed_form() {
    for n in [1, 3, 8] {
        for beta in [0.3, 1.0, 2.5] {
            let closed = n as f64 * std::f64::consts::LN_2 + beta * beta * (n as f64 - 1.0) / 4.0;
            let got = moments::ln_moment(n, 1, beta).unwrap();
            assert!((got - closed).abs() < 1e-12);
            assert!((brute_ln_moment(n, 1, beta) - closed).abs() < 1e-10);
        }
    }
    for (n, reps) in [(2, 2), (5, 2), (8, 2), (3, 3), (6, 3)] {
        for beta in [0.5, 1.3, 3.0] {
            let want = brute_ln_moment(n, reps, beta);
            let got = moments::ln_moment(n, reps, beta).unwrap();
            assert!(
                (got - want).abs() < 1e-10 * want.abs().max(1.0),
                "N={n} n={reps} β={beta}: {got} vs {want}"
            );
        }
    }
    // Polynomial in N: n = 3 at N = 200 is 1.4 million overlap classes, not 2^600 states.
    assert!(moments::ln_moment_per_spin(200, 3, 1.0)
        .unwrap()
        .is_finite());
}

#[test]
fn bad_input_is_refused() {
    for b in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = solve(Temperature::Beta(b), 0.0, Level::Rs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("β must be a finite number > 0"), "{e}");
    }
    assert!(solve(Temperature::Beta(1.0), f64::NAN, Level::Rs).is_err());
    assert!(solve(Temperature::Beta(100.0), 0.0, Level::Steps(1)).is_err());
    for s in ["-1", "x", "7", ""] {
        let e = Level::parse(s).unwrap_err().to_string();
        assert!(e.contains("--rsb must be"), "{e}");
    }
    assert_eq!(Level::parse("2").unwrap(), Level::Steps(2));
    assert!(moments::ln_moment(0, 2, 1.0).is_err());
    assert!(moments::ln_moment(10, 0, 1.0).is_err());
    assert!(moments::ln_moment(10, 2, f64::NAN).is_err());
    let e = moments::ln_moment(100_000, 3, 1.0).unwrap_err().to_string();
    assert!(e.contains("overlap compositions"), "{e}");
}
