//! A model written by logz solves exactly as before the round trip through its JSON format:
//! the lattice geometry is stored, checked on reading, and used by the same exact method.

use logz::exact::Exact;
use logz::io::json;
use logz::model::builders::{from_spec, Params};
use logz::Solver;

#[test]
fn lattices_keep_their_geometry_and_exact_method_through_json() {
    let p = Params {
        coupling: 0.7,
        field: 0.0,
        beta: 0.4,
        seed: 2,
    };
    for spec in [
        "square:16",
        "square:5x3:open",
        "chain:9",
        "chain:6:open",
        "triangular:4",
        "cubic:3",
        "complete:7",
        "sk:8",
    ] {
        let m = from_spec(spec, &p).unwrap();
        let back = json::parse("m.json", &json::write(&m)).unwrap();
        assert_eq!(back.geometry(), m.geometry(), "{spec}");
        let (a, b) = (Exact.solve(&m).unwrap(), Exact.solve(&back).unwrap());
        assert_eq!(a.diagnostics.algorithm, b.diagnostics.algorithm, "{spec}");
        assert_eq!(a.ln_z, b.ln_z, "{spec}");
    }
    // The case from the issue: a 16×16 torus is far beyond enumeration; only Kaufman (or a
    // transfer matrix) answers it exactly.
    let m = from_spec("square:16", &p).unwrap();
    let back = json::parse("m.json", &json::write(&m)).unwrap();
    assert_eq!(Exact::best(&back), Some("kaufman"));
}

#[test]
fn a_declared_geometry_that_does_not_match_the_edges_is_refused() {
    let m = from_spec("square:4", &Params::default()).unwrap();
    let text = json::write(&m);
    let lied = text.replace("\"rows\": 4", "\"rows\": 5");
    assert_ne!(text, lied);
    let err = json::parse("m.json", &lied).unwrap_err().to_string();
    assert!(err.contains("m.json") && err.contains("geometry"), "{err}");
    let unknown = text.replace("\"kind\": \"square\"", "\"kind\": \"hexagonal\"");
    assert!(json::parse("m.json", &unknown).is_err());
    // Without a geometry the same edges load as a general graph.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut o = v.as_object().unwrap().clone();
    o.remove("geometry");
    let plain = json::parse("m.json", &serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(*plain.geometry(), logz::model::Geometry::General);
}

#[test]
fn a_plane_drawing_round_trips_and_a_crossing_one_is_refused() {
    // K4 drawn as a triangle around its centre: planar, and `planar` matches enumeration.
    let planar_k4 = r#"{"n": 4, "beta": 1.0, "edges": [[0,1],[1,2],[0,2],[0,3],[1,3],[2,3]],
        "couplings": [1.0, -0.5, 0.7, 2.0, -1.5, 0.3],
        "geometry": {"kind": "plane", "positions": [[0,0],[4,0],[2,4],[2,1]]}}"#;
    let m = json::parse("k4.json", planar_k4).unwrap();
    let back = json::parse("k4.json", &json::write(&m)).unwrap();
    assert_eq!(back.geometry(), m.geometry());
    let want = logz::methods::by_name("enumerate")
        .unwrap()
        .solve(&m)
        .unwrap()
        .ln_z;
    let got = logz::rg::Planar.solve(&back).unwrap().ln_z;
    assert!((got - want).abs() < 1e-12 * want.abs(), "{got} vs {want}");
    // The same graph with the centre moved outside: edges (2, 3) and (0, 1) cross.
    let crossing = planar_k4.replace("[2,1]]", "[2,-1]]");
    let e = json::parse("k4.json", &crossing).unwrap_err().to_string();
    assert!(e.contains("not planar") && e.contains("cross"), "{e}");
    // One position per site.
    let short = planar_k4.replace(",[2,1]]", "]");
    let e = json::parse("k4.json", &short).unwrap_err().to_string();
    assert!(e.contains("one position per site"), "{e}");
}
