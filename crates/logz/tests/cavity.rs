//! Population dynamics (RS cavity method on sparse random graphs) against exact limits and
//! against disorder-averaged BP on instances.

use logz::disorder;
use logz::methods::MethodOptions;
use logz::replica::population::{self, Config, Couplings, Graph};
use logz::runner::Runner;

fn run(c: &Config) -> population::CavityResult {
    population::solve(c, &Runner::new()).unwrap()
}

/// Paramagnet on the ±J random-regular graph at H = 0 (β below the glass transition
/// (c − 1) tanh² βJ = 1): every cavity field flows to 0 and −βf is the annealed
/// ln 2 + (c/2) ln cosh βJ exactly, from a random start.
#[test]
fn paramagnet_rr_pm_is_the_annealed_value_exactly() {
    for (c, beta) in [(3usize, 0.5), (4, 0.4)] {
        let cfg = Config {
            graph: Graph::RandomRegular(c),
            couplings: Couplings::PlusMinus,
            beta,
            population: 2000,
            sweeps: 300,
            measure: 5,
            populations: 4,
            ..Config::default()
        };
        let r = run(&cfg);
        let exact = std::f64::consts::LN_2 + 0.5 * c as f64 * (beta).cosh().ln();
        assert!(
            (r.ln_z_per_spin - exact).abs() < 1e-12,
            "c = {c}, β = {beta}: {} vs {exact}",
            r.ln_z_per_spin
        );
        assert!(r.q < 1e-20, "q = {}", r.q);
        // The same formula in another order: equal to rounding.
        assert!((r.annealed_ln_z_per_spin - exact).abs() < 1e-14);
    }
}

/// Paramagnet on Erdős–Rényi graphs and with Gaussian couplings: the degrees (and couplings)
/// of the sampled site and edge terms are random, so the answer is the annealed one within its
/// sampling error.
#[test]
fn paramagnet_er_and_gauss_within_error() {
    for (graph, couplings, beta) in [
        (Graph::ErdosRenyi(3.0), Couplings::PlusMinus, 0.4),
        (Graph::RandomRegular(3), Couplings::Gaussian, 0.5),
        (Graph::ErdosRenyi(2.0), Couplings::Gaussian, 0.6),
    ] {
        let cfg = Config {
            graph,
            couplings,
            beta,
            population: 5000,
            sweeps: 200,
            measure: 10,
            populations: 8,
            seed: 3,
            ..Config::default()
        };
        let r = run(&cfg);
        let exact = population::annealed(&cfg);
        assert!(r.std_err < 2e-3, "σ = {}", r.std_err);
        assert!(
            (r.ln_z_per_spin - exact).abs() < 5.0 * r.std_err,
            "{graph:?} {couplings:?}: {} ± {} vs {exact}",
            r.ln_z_per_spin,
            r.std_err
        );
        assert!(r.q < 1e-20);
    }
}

/// The ferromagnet on the Bethe lattice: cavity field h* = H + (c − 1) atanh(tanh βJ tanh βh*)/β
/// and −βf = ln Z_site − (c/2) ln Z_edge with Z_site = Σ_s e^{βHs} (2cosh β(Js + h*))^c and
/// Z_edge = Σ_{s,t} e^{βJst + βh*(s + t)}, written out here independently of the library.
#[test]
fn ferromagnet_on_the_bethe_lattice_matches_its_closed_form() {
    for (c, beta, h) in [
        (3usize, 0.7, 0.0),
        (3, 0.4, 0.2),
        (4, 0.5, 0.0),
        (3, 0.45, 0.0),
    ] {
        let j = 1.0f64;
        let mut hc = 5.0f64;
        for _ in 0..100_000 {
            hc = h + (c as f64 - 1.0) * ((beta * j).tanh() * (beta * hc).tanh()).atanh() / beta;
        }
        let z_site: f64 = [1.0f64, -1.0]
            .iter()
            .map(|&s| (beta * h * s).exp() * (2.0 * (beta * (j * s + hc)).cosh()).powi(c as i32))
            .sum();
        let mut z_edge = 0.0;
        for s in [1.0f64, -1.0] {
            for t in [1.0f64, -1.0] {
                z_edge += (beta * j * s * t + beta * hc * (s + t)).exp();
            }
        }
        let closed = z_site.ln() - 0.5 * c as f64 * z_edge.ln();
        assert!((population::bethe_ferromagnet(c, j, beta, h) - closed).abs() < 1e-10);
        let cfg = Config {
            graph: Graph::RandomRegular(c),
            couplings: Couplings::Ferro,
            beta,
            field: h,
            population: 1000,
            sweeps: 400,
            measure: 5,
            populations: 2,
            ..Config::default()
        };
        let r = run(&cfg);
        assert!(
            (r.ln_z_per_spin - closed).abs() < 1e-10,
            "c = {c}, β = {beta}, H = {h}: {} vs {closed}",
            r.ln_z_per_spin
        );
        // Magnetised below T_c (tanh βJ > 1/(c − 1)) or in a field; zero above at H = 0.
        let ordered = (beta * j).tanh() * (c as f64 - 1.0) > 1.0 || h != 0.0;
        let m_closed =
            (beta * h + c as f64 * ((beta * j).tanh() * (beta * hc).tanh()).atanh()).tanh();
        assert!((r.magnetization - m_closed).abs() < 1e-8);
        assert_eq!(
            ordered,
            r.magnetization > 1e-6,
            "β = {beta}: m = {}",
            r.magnetization
        );
    }
}

/// The ±J random-regular glass in a field, where the RS cavity answer is the N → ∞ limit of
/// BP (`bethe`) on instances: population dynamics agrees with the disorder average of `bethe`
/// over 12 instances of N = 1000 within the combined error (plus a 1/N allowance).
#[test]
fn rr_pm_glass_in_a_field_agrees_with_bethe_on_instances() {
    let (beta, h) = (0.8, 0.3);
    let cfg = Config {
        graph: Graph::RandomRegular(3),
        couplings: Couplings::PlusMinus,
        beta,
        field: h,
        population: 20_000,
        sweeps: 100,
        measure: 20,
        populations: 8,
        seed: 11,
        ..Config::default()
    };
    let r = run(&cfg);
    assert!(r.std_err < 5e-4, "σ_pop = {}", r.std_err);
    let d = disorder::Config {
        spec: "rr:1000:3:pm".into(),
        coupling: 1.0,
        field: h,
        instances: 12,
        betas: vec![beta],
        methods: vec!["bethe".into()],
        seed: 5,
        options: MethodOptions::default(),
    };
    let rows = disorder::average(&d, &Runner::new()).unwrap();
    let (mean, se) = (rows[0].mean_ln_z_per_spin, rows[0].std_err.unwrap());
    assert!(se < 2e-3, "σ_instances = {se}");
    let tol = 4.0 * (se * se + r.std_err * r.std_err).sqrt() + 1e-3;
    assert!(
        (r.ln_z_per_spin - mean).abs() < tol,
        "population {} ± {} vs bethe on instances {mean} ± {se}",
        r.ln_z_per_spin,
        r.std_err
    );
    // Not the annealed value: the field makes the cavity fields non-trivial, and by Jensen
    // (E ln Z ≤ ln E Z) the quenched answer lies below the annealed one, here by many of the
    // population's own standard errors.
    assert!(
        r.ln_z_per_spin < r.annealed_ln_z_per_spin - 5.0 * r.std_err,
        "population {} vs annealed {} (tol {tol})",
        r.ln_z_per_spin,
        r.annealed_ln_z_per_spin
    );
}

#[test]
fn bad_input_is_refused() {
    for g in [
        "rr:0", "rr:2.5", "er:0", "er:-1", "er:1000", "rr", "grid:3", "rr:x",
    ] {
        assert!(Graph::parse(g).is_err(), "{g}");
    }
    assert!(Couplings::parse("uniform").is_err());
    let ok = Config::default();
    let bad = [
        Config {
            beta: 0.0,
            ..ok.clone()
        },
        Config {
            beta: f64::NAN,
            ..ok.clone()
        },
        Config {
            field: f64::INFINITY,
            ..ok.clone()
        },
        Config {
            coupling: -1.0,
            ..ok.clone()
        },
        Config {
            population: 1,
            ..ok.clone()
        },
        Config {
            population: usize::MAX,
            ..ok.clone()
        },
        Config {
            populations: 1,
            ..ok.clone()
        },
        Config {
            measure: 0,
            ..ok.clone()
        },
        Config {
            graph: Graph::ErdosRenyi(f64::NAN),
            ..ok.clone()
        },
        Config {
            population: 10_000_000,
            sweeps: 1_000_000,
            populations: 1024,
            ..ok.clone()
        },
    ];
    for c in bad {
        let e = population::solve(&c, &Runner::new());
        assert!(e.is_err(), "{c:?}");
    }
}
