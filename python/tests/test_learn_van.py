"""logz.learn through the library's runner (progress, Ctrl-C, the learning curve), VAN training
from Python (train_van, saved networks evaluated again), and the posterior covariance of fit —
each compared with the CLI's JSON for the same input and seed."""

import _thread
import json
import threading
import time

import numpy as np
import pytest

import logz

BETA = 0.35


def chain_samples(n=6, count=1500, seed=2):
    """±1 samples of an open chain (Metropolis, saved every sweep), as an (S, N) int8 array."""
    m = logz.Model.chain(n, beta=0.5, periodic=False, field=0.1)
    s = logz.sample(m, sweeps=count, burn_in=200, chains=1, seed=seed, save_every=1)
    return s["configurations"].reshape(-1, n)


def write_csv(path, x):
    path.write_text("".join(",".join(str(int(v)) for v in row) + "\n" for row in x))


# ---------------------------------------------------------------------------------- learn


def test_learn_matches_cli_json_and_model(cli, tmp_path):
    x = chain_samples()
    csv = tmp_path / "s.csv"
    write_csv(csv, x)
    for method in ["plm", "mf", "boltzmann"]:
        out = tmp_path / f"{method}.json"
        js = cli("learn", str(csv), "--method", method, "--steps", "30", "-o", str(out),
                 "--json", "--quiet")
        model, info = logz.learn(x, method, steps=30)
        assert info["iterations"] == js["iterations"]
        assert info["converged"] == js["converged"]
        assert info["termination"] == js["termination"]
        assert info["notes"] == js["notes"]
        theirs = logz.Model.from_file(str(out))
        assert model.edges.tolist() == theirs.edges.tolist()
        assert model.couplings.tolist() == theirs.couplings.tolist()
        assert model.fields.tolist() == theirs.fields.tolist()


def test_learn_reports_its_curve_and_progress_and_can_be_stopped():
    x = chain_samples()
    seen = []
    _, info = logz.learn(x, "plm", progress=lambda d: seen.append(d))
    curve = info["curve"]
    assert curve.ndim == 2 and curve.shape[1] == 2 and curve.shape[0] >= 2
    # The pseudo-likelihood objective decreases over the run.
    assert curve[-1, 1] < curve[0, 1]
    # A long boltzmann/pcd run: the callback sees its steps and stops it.
    calls = []

    def stop_after_two(d):
        calls.append(d)
        return len(calls) < 2

    model, info = logz.learn(x, "boltzmann", expectations="pcd", steps=10**7,
                             progress=stop_after_two)
    assert len(calls) == 2 and calls[-1]["iteration"] >= 1
    assert info["termination"] == "stopped" and not info["converged"]
    assert info["iterations"] < 10**7 and model.n == x.shape[1]


def test_learn_stops_on_ctrl_c():
    x = chain_samples()
    timer = threading.Timer(0.3, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            logz.learn(x, "boltzmann", expectations="pcd", steps=10**7)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 10


def test_learn_on_a_graph_learns_only_its_edges():
    x = chain_samples()
    graph = logz.Model.chain(6, periodic=False)
    model, info = logz.learn(x, "plm", graph=graph)
    assert model.edges.tolist() == graph.edges.tolist()
    assert info["couplings_matrix"][0, 5] == 0.0
    # The chain's couplings come back near the true 0.5 (β J with β = 0.5, J = 1).
    assert np.all(np.abs(model.couplings - 0.5) < 0.15), model.couplings


# ------------------------------------------------------------------------------------ VAN

VAN = dict(steps=400, batch=128, width=16)


def van_flags(seed):
    return ["--beta", repr(BETA), "--seed", str(seed), "--steps", "400", "--batch", "128",
            "--width", "16"]


def test_train_van_is_a_bound_and_matches_the_cli(cli, tmp_path):
    m = logz.Model.square(4, beta=BETA)
    exact = logz.solve(m, "exact").ln_z
    path = tmp_path / "py.json"
    est, rep = logz.train_van(m, seed=3, save=path, **VAN)
    assert est.method == "van" and est.kind == "stochastic_lower_bound"
    assert 0 < est.std_err < 0.05
    assert est.ln_z <= exact + 4 * est.std_err
    assert exact - est.ln_z < 0.05 * abs(exact)
    assert rep["elbo"] == est.ln_z and rep["elbo_std_err"] == est.std_err
    assert abs(rep["exact_ln_z"] - exact) < 1e-9 and rep["steps"] == 400
    assert rep["out"] == str(path) and rep["trace"].shape[1] == 3
    # The estimate is solve(model, "van")'s, and the CLI's, for the same seed and options.
    assert logz.solve(m, "van", seed=3, **VAN).ln_z == est.ln_z
    js = cli("solve", "square:4", *van_flags(3), "--method", "van", "--json", "-q")
    assert js["ln_z"] == est.ln_z and js["std_err"] == est.std_err and js["kind"] == est.kind
    # `logz train-van` writes the very same network and report.
    cli_path = tmp_path / "cli.json"
    js = cli("train-van", "square:4x4", *van_flags(3), "-o", str(cli_path), "--json", "-q")
    for k in ["elbo", "elbo_std_err", "iw_ln_z", "iw_std_err", "ess", "exact_ln_z", "steps",
              "termination"]:
        assert rep[k] == js[k], k
    ours, theirs = json.loads(path.read_text()), json.loads(cli_path.read_text())
    assert ours["network"] == theirs["network"]
    assert ours["model"] == theirs["model"] == "square:4x4" and ours["beta"] == theirs["beta"]


def test_a_saved_network_is_evaluated_again_as_the_cli_does(cli, tmp_path):
    m = logz.Model.square(4, beta=BETA)
    path = tmp_path / "net.json"
    est, _ = logz.train_van(m, seed=5, save=str(path), **VAN)
    again = logz.solve(m, "van", net=str(path), steps=0, seed=5)
    js = cli("solve", "square:4", "--beta", repr(BETA), "--seed", "5", "--method", "van",
             "--net", str(path), "--steps", "0", "--json", "-q")
    assert again.ln_z == js["ln_z"] and again.std_err == js["std_err"]
    # Fresh evaluation samples of the same network: the same bound within the error bars.
    assert abs(again.ln_z - est.ln_z) < 5 * np.hypot(again.std_err, est.std_err)
    # Continuing training from the file (more steps) is accepted too.
    more, rep = logz.train_van(m, seed=6, net=str(path), steps=20, batch=64)
    assert rep["steps"] == 20 and more.kind == "stochastic_lower_bound"


def test_train_van_importance_weighted_progress_and_errors(tmp_path):
    m = logz.Model.square(4, beta=BETA)
    est, rep = logz.train_van(m, seed=3, importance_weighted=True, **VAN)
    assert est.method == "van-iw" and est.kind == "stochastic" and est.ln_z == rep["iw_ln_z"]
    calls = []

    def stop_after_two(d):
        calls.append(d)
        return len(calls) < 2

    est, rep = logz.train_van(m, seed=3, steps=10**6, batch=64, progress=stop_after_two)
    assert rep["termination"] == "stopped" and rep["steps"] < 10**6
    assert est.termination == "stopped" and not est.converged
    with pytest.raises(ValueError, match="--sweeps does not apply to method 'van'"):
        logz.train_van(m, sweeps=10)
    with pytest.raises(ValueError, match="seed must be an integer in"):
        logz.train_van(m, seed=-1)
    with pytest.raises(ValueError, match="steps must be ≥ 0"):
        logz.train_van(m, steps=-1)
    with pytest.raises(ValueError, match="directory"):
        logz.train_van(m, save=tmp_path, **VAN)


def test_train_van_stops_on_ctrl_c():
    m = logz.Model.square(6, beta=BETA)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            logz.train_van(m, steps=10**6, batch=64)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 10


# ------------------------------------------------------------------------ fit covariance


def test_fit_reports_the_posterior_covariance_as_the_cli(cli, tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(150, 2))
    x[:, 1] += 0.9 * x[:, 0]  # correlated features: a clearly nonzero off-diagonal
    y = 0.5 + x @ np.array([1.5, -2.0]) + rng.normal(0, 0.4, size=150)
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "".join(f"{float(r[0])!r},{float(r[1])!r},{float(v)!r}\n" for r, v in zip(x, y)))
    for method, extra in [("exact", []), ("advi-fullrank", ["--steps", "2000"]),
                          ("hmc", [])]:
        js = cli("fit", "blr", str(path), "--x", "a,b", "--y", "y", "--method", method,
                 "--json", "-q", *extra)
        r = logz.fit(x, y, "blr", method, steps=2000, x_names=["a", "b"])
        cov = r["cov"]
        assert cov.shape == (3, 3) and cov.dtype == np.float64
        assert cov.tolist() == js["cov"]
        assert np.allclose(cov, cov.T, rtol=1e-12, atol=0)
        assert np.allclose(np.sqrt(np.diag(cov)), r["sd"][:3], rtol=1e-10)
        corr = cov[1, 2] / np.sqrt(cov[1, 1] * cov[2, 2])
        assert corr < -0.5, (method, corr)  # positively correlated x → anticorrelated slopes
