"""dtype and shape contracts of everything the package returns, and the zero-copy hand-over
of sampled configurations."""

import sys

import numpy as np
import pytest

import logz


def test_model_arrays_round_trip():
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]], dtype=np.int32)
    m = logz.Model(4, edges, [1.0, -0.5, 0.25, 2.0], [0.1, 0.0, -0.2, 0.3], beta=0.8)
    assert (m.n, m.num_edges, m.beta) == (4, 4, 0.8)
    assert m.edges.dtype == np.int64 and m.edges.shape == (4, 2)
    assert m.couplings.dtype == np.float64 and m.couplings.shape == (4,)
    assert m.fields.dtype == np.float64 and m.fields.shape == (4,)
    # Edges come back as i < j, in order of first appearance, with their couplings.
    assert sorted(map(tuple, m.edges.tolist())) == [(0, 1), (0, 2), (1, 2), (2, 3)]
    j = dict(zip(map(tuple, m.edges.tolist()), m.couplings.tolist()))
    assert j[(0, 2)] == 0.25
    s = np.array([1, -1, 1, 1])
    # E(s) = -Σ J s_i s_j - Σ h s_i.
    want = -(1.0 * -1 + -0.5 * -1 + 0.25 * 1 + 2.0 * 1) - (0.1 - 0.0 - 0.2 + 0.3)
    assert m.energy(s) == pytest.approx(want, abs=1e-15)
    # An empty graph is fine; fields default to zero.
    m0 = logz.Model(3, np.zeros((0, 2), dtype=np.int64), [])
    assert m0.num_edges == 0 and m0.fields.tolist() == [0.0, 0.0, 0.0]
    assert logz.solve(m0, "exact").ln_z == pytest.approx(3 * np.log(2), abs=1e-14)


def test_estimate_arrays():
    m = logz.Model.square(4, beta=0.3, field=0.1)
    for method in ["exact", "mf", "bethe"]:
        e = logz.solve(m, method)
        assert isinstance(e.ln_z, float)
        assert e.magnetization.dtype == np.float64 and e.magnetization.shape == (16,)
        ec = e.edge_correlation
        assert ec is not None and ec.dtype == np.float64 and ec.shape == (32,)
        assert np.all(np.abs(e.magnetization) <= 1) and np.all(np.abs(ec) <= 1)
        assert e.kind in {"exact", "lower_bound", "approximation"}
        assert e.std_err is None
    e = logz.solve(m, "ais", runs=8, steps=40, seed=2)
    assert e.kind == "stochastic" and isinstance(e.std_err, float) and e.std_err > 0


def test_methods_and_options():
    ms = logz.methods()
    assert {"exact", "mf", "bethe", "trw", "ti", "ais", "bbvi"} <= set(ms)
    assert all(isinstance(v, str) and v for v in ms.values())
    assert "sweeps" in logz.method_options("ti") and logz.method_options("mf") == []


def test_compare_shapes():
    c = logz.compare(logz.Model.square(4), ["exact", "mf", "ais"], [0.1, 0.3, 0.5, 0.7], runs=4)
    assert c["betas"].shape == (4,)
    for key in ["ln_z", "ln_z_per_spin", "std_err", "error_per_spin", "abs_magnetization", "seconds"]:
        assert c[key].shape == (4, 3) and c[key].dtype == np.float64, key
    assert c["kind"].shape == (4, 3) and c["converged"].dtype == np.bool_
    assert list(c["kind"][0]) == ["exact", "lower_bound", "stochastic"]
    assert np.isnan(c["std_err"][:, :2]).all() and (c["std_err"][:, 2] > 0).all()


def test_sample_contract_and_zero_copy_configurations():
    m = logz.Model.square(8, beta=0.3)
    s = logz.sample(m, sweeps=200, burn_in=50, chains=3, seed=5, save_every=10)
    c = s["configurations"]
    assert c.dtype == np.int8 and c.shape == (3, 20, 64)
    assert set(np.unique(c).tolist()) <= {-1, 1}
    assert s["energy"].shape == (3, 200) and s["magnetization"].shape == (3, 200)
    # Energies per spin of the saved states agree with the model's energy function: configuration
    # k of a chain is measured sweep 10k + 9.
    e0 = [m.energy(c[0, k]) / 64 for k in range(20)]
    assert np.allclose(e0, s["energy"][0, 9::10], atol=1e-12)
    obs = s["observables"]
    assert {"energy", "m", "|m|", "susceptibility"} <= set(obs)
    assert obs["energy"]["std_err"] > 0
    # Numpy does not own the buffer: it views the Rust allocation (no copy on the way in).
    assert not c.flags.owndata and c.base is not None
    assert c.flags.c_contiguous
    # Same seed, same configurations; no configurations unless asked for.
    again = logz.sample(m, sweeps=200, burn_in=50, chains=3, seed=5, save_every=10)
    assert np.array_equal(c, again["configurations"])
    assert logz.sample(m, sweeps=20, burn_in=0, chains=1)["configurations"] is None


def test_ten_million_spins_reach_numpy_without_a_copy():
    # One chain of a 100×100 torus, 1000 saved sweeps: 10⁷ int8 spins. The array must view the
    # chain's own buffer: its base is the Rust container, and numpy never allocated 10 MB.
    m = logz.Model.square(100, beta=0.3)
    s = logz.sample(m, sweeps=1000, burn_in=0, chains=1, seed=1, save_every=1)
    c = s["configurations"]
    assert c.shape == (1, 1000, 10_000) and c.size == 10**7 and c.dtype == np.int8
    assert not c.flags.owndata
    assert type(c.base).__name__ == "PySliceContainer"
    assert sys.getsizeof(c) < 1000  # the array object only, not its data


def test_fit_and_learn_contracts():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = 1 + X @ np.array([2.0, -1.0]) + rng.normal(0, 0.5, 100)
    r = logz.fit(X, y)
    assert r["names"] == ["intercept", "x0", "x1", "sigma"]
    assert r["mean"].shape == (4,) and r["sd"].shape == (4,)
    assert r["mean"][1] == pytest.approx(2.0, abs=0.3) and isinstance(r["ln_evidence"], float)
    yb = (X[:, 0] + rng.normal(0, 0.5, 100) > 0).astype(float)
    r = logz.fit(X, yb, "logistic", "advi", steps=2000)
    assert r["ln_evidence"] is None and isinstance(r["elbo"], float)
    # Learn back a small model from its samples.
    truth = logz.Model.sk(6, beta=0.5, seed=2)
    s = logz.sample(truth, sweeps=4000, chains=2, seed=1, save_every=2)
    learned, info = logz.learn(s["configurations"].reshape(-1, 6), "plm")
    assert learned.n == 6 and info["couplings_matrix"].shape == (6, 6)
    assert info["fields"].shape == (6,)
    roots = logz.meanfield(4, beta=0.5)
    assert any(r["stable"] and r["m"] > 0.5 for r in roots)


def test_builders_take_the_issue_signatures():
    # Model.square(L, coupling, field, beta, periodic): coupling is the second positional
    # argument, as for every other builder; a rectangle is W=.
    a = logz.Model.square(4, 0.5, 0.1, 0.3, False)
    assert a.n == 16 and a.num_edges == 24 and a.beta == 0.3
    assert set(a.couplings.tolist()) == {0.5} and set(a.fields.tolist()) == {0.1}
    assert logz.Model.square(6, W=4).n == 24
    for build, n, e in [
        (lambda: logz.Model.chain(5, 0.5, 0.1, 0.3, False), 5, 4),
        (lambda: logz.Model.triangular(3, 0.5, 0.1, 0.3, True), 9, 27),
        (lambda: logz.Model.cubic(3, 0.5, 0.1, 0.3), 27, 81),
        (lambda: logz.Model.complete(5, 0.5, 0.1, 0.3), 5, 10),
    ]:
        m = build()
        assert (m.n, m.num_edges, m.beta) == (n, e, 0.3)
        assert set(m.fields.tolist()) == {0.1}
    assert logz.Model.sk(5, seed=3).couplings.tolist() == logz.Model.sk(5, seed=3).couplings.tolist()
    assert logz.Model.sk(5, seed=3).couplings.tolist() != logz.Model.sk(5, seed=4).couplings.tolist()
    assert logz.Model.er(30, 0.2, "pm", seed=1).num_edges > 0


def test_svgd_kernel_choice_matches_the_exact_blr_posterior():
    # Known noise: the exact Gaussian posterior is the reference. The default linear kernel's
    # particles reproduce it (their fixed point solves the Gaussian Stein equations); the RBF
    # kernel lands near the means. A kernel name it does not know, or a kernel for another
    # method, is a ValueError.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    y = 1 + X @ np.array([0.5, -1.0]) + rng.normal(0, 1.0, 200)
    exact = logz.fit(X, y, sigma=1.0)
    lin = logz.fit(X, y, method="svgd", sigma=1.0)
    assert np.max(np.abs(lin["mean"] - exact["mean"]) / exact["sd"]) < 1e-3
    assert np.max(np.abs(lin["sd"] / exact["sd"] - 1)) < 1e-3
    rbf = logz.fit(X, y, method="svgd", sigma=1.0, kernel="rbf", particles=100)
    assert np.max(np.abs(rbf["mean"] - exact["mean"]) / exact["sd"]) < 0.1
    with pytest.raises(ValueError, match="unknown SVGD kernel"):
        logz.fit(X, y, method="svgd", sigma=1.0, kernel="gaussian")
    with pytest.raises(ValueError, match="kernel apply to method='svgd'"):
        logz.fit(X, y, method="advi", sigma=1.0, kernel="rbf")
