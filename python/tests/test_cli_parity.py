"""The package gives the very numbers the CLI prints with --json (same model, method, seed):
both call the same library entry points, so the values must be identical, not just close."""

import math

import numpy as np
import pytest

import logz

# (model spec for the CLI, the same model built in Python, method, options, seed)
CASES = [
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "exact", {}, 0),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "mf", {}, 0),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "bethe", {}, 0),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "trw", {}, 0),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "tap", {}, 0),
    ("square:6x4:open", lambda: logz.Model.square(6, W=4, beta=0.3, periodic=False), "exact", {}, 0),
    ("chain:12", lambda: logz.Model.chain(12, beta=0.3, field=0.1), "exact", {}, 0),
    ("complete:10", lambda: logz.Model.complete(10, beta=0.3), "curie-weiss", {}, 0),
    ("sk:12", lambda: logz.Model.sk(12, beta=0.3, seed=7), "exact", {}, 7),
    ("sk:12", lambda: logz.Model.sk(12, beta=0.3, seed=7), "mf", {}, 7),
    ("er:12:0.3:gauss", lambda: logz.Model.er(12, 0.3, "gauss", beta=0.3, seed=5), "trw", {}, 5),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "ais", {"runs": 8, "steps": 50}, 3),
    ("square:4", lambda: logz.Model.square(4, beta=0.3), "bbvi", {"steps": 200}, 4),
]


def cli_flags(spec, model_beta, field, options, seed):
    args = [spec, "--beta", repr(model_beta), "--seed", str(seed), "--field", repr(field)]
    for k, v in options.items():
        args += ["--" + k.replace("_", "-"), str(v)]
    return args


def assert_same(est, js):
    assert est.ln_z == js["ln_z"]
    assert est.log10_z == js["log10_z"]
    assert est.kind == js["kind"]
    if js["std_err"] is None:
        assert est.std_err is None
    else:
        assert est.std_err == js["std_err"]
    assert est.n == js["n"]
    assert est.beta == js["beta"]
    assert est.free_energy_per_spin == js["free_energy_per_spin"]
    assert est.magnetization.tolist() == js["magnetization"]
    assert est.mean_magnetization == js["mean_magnetization"]
    ec = est.edge_correlation
    assert (None if ec is None else ec.tolist()) == js["edge_correlation"]
    assert est.abs_magnetization == js["abs_magnetization"]
    assert est.energy == js["energy"]
    assert est.iterations == js["iterations"]
    assert est.converged == js["converged"]
    assert est.termination == js["termination"]
    assert est.algorithm == js["algorithm"]
    assert est.notes == js["notes"]


@pytest.mark.parametrize("spec,build,method,options,seed", CASES)
def test_solve_matches_cli_json(cli, spec, build, method, options, seed):
    m = build()
    field = float(m.fields[0]) if m.n else 0.0
    js = cli("solve", *cli_flags(spec, m.beta, field, options, seed), "--method", method, "--json", "-q")
    est = logz.solve(m, method, seed=seed, **options)
    assert est.method == js["method"] == method
    assert_same(est, js)
    # to_dict() is the CLI's JSON object, key for key (only the timing differs).
    d = est.to_dict()
    assert set(d) == set(js)
    assert {k: v for k, v in d.items() if k != "seconds"} == {
        k: v for k, v in js.items() if k != "seconds"
    }


def test_model_from_arrays_and_files_match_cli(cli, tmp_path):
    # A random model from arrays, saved as JSON and UAI: the CLI reading either file and the
    # package solving the in-memory model (and the reloaded files) agree exactly.
    rng = np.random.default_rng(3)
    n = 9
    edges = np.array([(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.4])
    m = logz.Model(n, edges, rng.normal(size=len(edges)), rng.normal(size=n) * 0.3, beta=0.7)
    path = tmp_path / "m.json"
    m.save(str(path))
    js = cli("solve", str(path), "--method", "exact", "--json", "-q")
    assert_same(logz.solve(logz.Model.from_file(str(path)), "exact"), js)
    assert math.isclose(logz.solve(m, "exact").ln_z, js["ln_z"], rel_tol=1e-12)
    uai = tmp_path / "m.uai"
    m.save(str(uai))
    js = cli("solve", str(uai), "--method", "bethe", "--json", "-q")
    assert_same(logz.solve(logz.Model.from_file(str(uai)), "bethe"), js)


def test_compare_matches_solve_at_every_beta():
    m = logz.Model.square(4)
    betas = [0.2, 0.45, 0.7]
    c = logz.compare(m, ["exact", "mf", "trw", "chain"], betas)
    assert c["methods"] == ["exact", "mf", "trw"]  # chain does not apply to a torus
    assert "chain" in c["skipped"]
    for b, beta in enumerate(betas):
        for k, name in enumerate(c["methods"]):
            e = logz.solve(m.with_beta(beta), name)
            assert c["ln_z"][b, k] == e.ln_z
            assert c["kind"][b, k] == e.kind
        assert c["error_per_spin"][b, 0] == 0.0
        assert c["ln_z"][b, 1] <= c["ln_z"][b, 0] <= c["ln_z"][b, 2]


def test_fit_matches_cli_json(cli, tmp_path):
    rng = np.random.default_rng(11)
    x = rng.uniform(20, 60, size=200)
    y = 1000 + 50 * x + rng.normal(0, 300, size=200)
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    for method in ["exact", "advi"]:
        js = cli("fit", "blr", str(path), "--x", "x", "--y", "y", "--method", method,
                 "--steps", "3000", "--json", "-q")
        r = logz.fit(x, y, "blr", method, steps=3000)
        assert r["names"] == js["names"] == ["intercept", "x", "sigma"]
        assert r["mean"].tolist() == js["mean"]
        assert r["sd"].tolist() == js["sd"]
        assert r["ln_evidence"] == js["ln_evidence"]
        assert r["elbo"] == js["elbo"]
