//! The exact reference values `logz sample` prints beside Monte Carlo estimates
//! (`logz::exact::reference`), checked against enumeration of every state.

use logz::exact::reference::{exact_observables, MAX_ENUMERATED};
use logz::exact::Enumerate;
use logz::model::builders::{self, Params};
use logz::Solver;

fn params(j: f64, h: f64, beta: f64) -> Params {
    Params {
        coupling: j,
        field: h,
        beta,
        seed: 1,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn kaufman_reference_on_a_torus_equals_enumeration() {
    // A 4 × 4 ferromagnetic torus without field takes the Kaufman route (no |m|); 16 spins can
    // also be enumerated, an independent route to ln Z and ⟨E⟩/N. The offset E₀ shifts ⟨E⟩ by
    // E₀/N and ln Z by −βE₀.
    for (beta, offset) in [(0.2, 0.0), (0.4406868, 0.0), (0.7, 0.0), (0.4, 3.25)] {
        let m = builders::square(4, 4, true, &params(1.0, 0.0, beta))
            .unwrap()
            .with_energy_offset(offset)
            .unwrap();
        let r = exact_observables(&m);
        let e = Enumerate::default().solve(&m).unwrap();
        assert!(r.abs_magnetization.is_none(), "Kaufman has no |m|");
        let (lz, en) = (r.ln_z.unwrap(), r.energy.unwrap());
        assert!(
            close(lz, e.ln_z, 1e-10),
            "β {beta}: ln Z {lz} vs {}",
            e.ln_z
        );
        let en_exact = e.energy.unwrap() / 16.0;
        // The central difference in Kaufman's energy is accurate to ~10⁻⁹.
        assert!(
            close(en, en_exact, 1e-7),
            "β {beta}: E/N {en} vs {en_exact}"
        );
    }
}

#[test]
fn small_models_are_enumerated_with_their_magnetisation() {
    // Open boundaries and a field: no closed form, so enumeration gives all three values.
    let m = builders::square(3, 4, false, &params(1.0, 0.1, 0.5)).unwrap();
    let r = exact_observables(&m);
    let e = Enumerate::default().solve(&m).unwrap();
    assert_eq!(r.ln_z, Some(e.ln_z));
    assert_eq!(r.energy, e.energy.map(|x| x / 12.0));
    assert_eq!(r.abs_magnetization, e.abs_magnetization);
    assert!(r.abs_magnetization.unwrap() > 0.0);
}

#[test]
fn no_reference_where_none_is_cheap() {
    // 25 open-boundary spins: beyond enumeration and without a closed form.
    let m = builders::square(5, 5, false, &params(1.0, 0.0, 0.4)).unwrap();
    assert!(m.n() > MAX_ENUMERATED);
    let r = exact_observables(&m);
    assert_eq!((r.energy, r.abs_magnetization, r.ln_z), (None, None, None));
    // An antiferromagnetic torus is not Kaufman's model either.
    let m = builders::square(6, 6, true, &params(-1.0, 0.0, 0.4)).unwrap();
    assert_eq!(exact_observables(&m).ln_z, None);
    // A large ferromagnetic torus is: Kaufman at any size.
    let m = builders::square(64, 64, true, &params(1.0, 0.0, 0.4)).unwrap();
    let r = exact_observables(&m);
    assert!(r.ln_z.unwrap() > 4096.0 * std::f64::consts::LN_2);
    assert!(r.energy.unwrap() < 0.0);
}

#[test]
fn exact_ln_z_where_an_exact_method_applies() {
    use logz::exact::reference::exact_ln_z;
    // Open 5 × 5 with a field: no closed form, but elimination applies.
    let m = builders::square(5, 5, false, &params(1.0, 0.2, 0.4)).unwrap();
    let lz = exact_ln_z(&m).unwrap();
    let e = Enumerate::default().solve(&m).unwrap().ln_z;
    assert!(close(lz, e, 1e-10), "{lz} vs {e}");
    // A 40 × 40 torus in a field: no closed form (h ≠ 0), elimination width beyond 40, too wide
    // for the transfer matrix — no exact algorithm applies.
    let m = builders::square(40, 40, true, &params(1.0, 0.2, 0.4)).unwrap();
    assert!(logz::exact::Exact::applicable(&m).is_empty());
    assert_eq!(exact_ln_z(&m), None);
    // Without the field Kaufman applies at any size.
    let m = builders::square(40, 40, true, &params(1.0, 0.0, 0.4)).unwrap();
    assert_eq!(exact_ln_z(&m), exact_observables(&m).ln_z);
}
