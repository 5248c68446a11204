"""Bad input raises ValueError (OSError for files) with logz's one-line message — never a
panic, never an OverflowError from a negative size."""

import numpy as np
import pytest

import logz


def one_line(exc):
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_nan_and_infinite_numbers():
    with pytest.raises(ValueError) as e:
        logz.Model(3, [[0, 1], [1, 2]], [1.0, float("nan")])
    assert "coupling of edge 1 (1, 2) is NaN" in one_line(e)
    with pytest.raises(ValueError) as e:
        logz.Model(2, [[0, 1]], [1.0], [0.0, float("inf")])
    assert "field h[1]" in one_line(e)
    with pytest.raises(ValueError, match="beta"):
        logz.Model(2, [[0, 1]], [1.0], beta=-1.0)
    with pytest.raises(ValueError, match="coupling must be a finite number"):
        logz.Model.square(4, coupling=float("nan"))


@pytest.mark.parametrize(
    "edges",
    [np.zeros((3, 3), dtype=int), np.array([0, 1, 2]), np.zeros((2, 2, 2), dtype=int)],
)
def test_wrong_edge_shapes(edges):
    with pytest.raises(ValueError) as e:
        logz.Model(4, edges, np.ones(len(edges)))
    assert "shape (E, 2)" in one_line(e)


def test_bad_edges_and_lengths():
    with pytest.raises(ValueError, match="refers to a spin outside 0..3"):
        logz.Model(3, [[0, 3]], [1.0])
    with pytest.raises(ValueError, match="negative spin index"):
        logz.Model(3, [[0, -1]], [1.0])
    with pytest.raises(ValueError, match="self-loop"):
        logz.Model(3, [[1, 1]], [1.0])
    with pytest.raises(ValueError, match="2 edges but 1 couplings"):
        logz.Model(3, [[0, 1], [1, 2]], [1.0])
    with pytest.raises(ValueError, match="2 fields for 3 spins"):
        logz.Model(3, [[0, 1]], [1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="configuration of 2 spins"):
        logz.Model(3, [[0, 1]], [1.0]).energy([1, 1])
    with pytest.raises(ValueError, match="must be -1 or \\+1"):
        logz.Model(2, [[0, 1]], [1.0]).energy([1, 0])


def test_negative_and_zero_sizes():
    for call, name in [
        (lambda: logz.Model(-1, np.zeros((0, 2)), []), "n"),
        (lambda: logz.Model.square(-4), "L"),
        (lambda: logz.Model.square(4, W=-2), "W"),
        (lambda: logz.Model.chain(-3), "N"),
        (lambda: logz.Model.sk(-3), "N"),
        (lambda: logz.sample(logz.Model.chain(4), sweeps=-5), "sweeps"),
        (lambda: logz.solve(logz.Model.chain(4), "ti", sweeps=-1), "sweeps"),
        (lambda: logz.solve(logz.Model.chain(4), "mf", threads=-2), "threads"),
    ]:
        with pytest.raises(ValueError) as e:
            call()
        assert f"{name} must be ≥ 0" in one_line(e)
    with pytest.raises(ValueError, match="at least 1"):
        logz.Model.square(0)
    with pytest.raises(ValueError, match="at least one chain"):
        logz.sample(logz.Model.chain(4), chains=0)


def test_unknown_methods_and_options():
    m = logz.Model.chain(4)
    with pytest.raises(ValueError) as e:
        logz.solve(m, "nope")
    msg = one_line(e)
    assert "unknown method 'nope'" in msg and "bethe" in msg
    with pytest.raises(ValueError) as e:
        logz.solve(m, "exact", sweeps=10)
    assert "--sweeps does not apply to method 'exact' (it takes: none)" in one_line(e)
    with pytest.raises(ValueError, match="unknown option 'swepes'"):
        logz.solve(m, "ti", swepes=10)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        logz.solve(m, "bbvi", lr=float("nan"))
    with pytest.raises(ValueError, match="unknown method"):
        logz.compare(m, ["mf", "nope"], [0.1])
    with pytest.raises(ValueError, match="every beta"):
        logz.compare(m, ["mf"], [0.1, -1.0])
    with pytest.raises(ValueError, match="unknown"):
        logz.sample(m, algorithm="nope")
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        logz.fit(np.ones((3, 1)), np.ones(3), method="nope")
    with pytest.raises(ValueError, match="model 'nope'"):
        logz.fit(np.ones((3, 1)), np.ones(3), model="nope")
    with pytest.raises(ValueError, match="unknown learning method"):
        logz.learn(np.ones((4, 3)), "nope")
    with pytest.raises(ValueError, match="not applicable|does not apply"):
        logz.solve(logz.Model.square(4), "chain")


def test_bad_data_and_files(tmp_path):
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        logz.fit(np.ones((3, 1)), np.ones(2))
    with pytest.raises(ValueError, match=r"X\[1, 0\] is NaN"):
        logz.fit(np.array([[1.0], [np.nan], [2.0]]), np.ones(3))
    with pytest.raises(ValueError, match=r"samples\[0, 1\] = 0"):
        logz.learn(np.array([[1, 0, 1], [1, 1, -1]]))
    with pytest.raises(OSError):
        logz.Model.from_file(str(tmp_path / "missing.uai"))
    bad = tmp_path / "bad.uai"
    bad.write_text("MARKOV\n2\n2 x\n")
    with pytest.raises(ValueError) as e:
        logz.Model.from_file(str(bad))
    assert "bad.uai:" in one_line(e)
    with pytest.raises(ValueError, match=".uai or .json"):
        logz.Model.chain(3).save(str(tmp_path / "m.txt"))


def test_negative_and_huge_seeds_are_value_errors_not_overflow():
    # Before: a seed is a u64 in Rust, so -1 or 2**64 raised OverflowError (not a ValueError).
    m = logz.Model.chain(4)
    x = np.arange(6.0)
    s = np.array([[1, -1, 1], [-1, 1, 1], [1, 1, -1], [-1, -1, 1]])
    calls = [
        lambda seed: logz.Model.sk(4, seed=seed),
        lambda seed: logz.Model.er(5, 0.5, seed=seed),
        lambda seed: logz.Model.from_spec("sk:4", seed=seed),
        lambda seed: logz.solve(m, "ais", seed=seed),
        lambda seed: logz.compare(m, ["mf"], [0.1], seed=seed),
        lambda seed: logz.sample(m, seed=seed),
        lambda seed: logz.fit(x, x, seed=seed),
        lambda seed: logz.learn(s, seed=seed),
        lambda seed: logz.train_van(m, seed=seed),
    ]
    for call in calls:
        for seed in [-1, 2**64, -(2**200), 2**200]:
            with pytest.raises(ValueError) as e:
                call(seed)
            assert "seed must be an integer in [0, 2^64)" in one_line(e)
    # The largest seed and numpy integers are accepted (and a numpy seed is the same seed).
    assert logz.Model.sk(4, seed=2**64 - 1).n == 4
    a = logz.solve(m, "ais", seed=np.int64(7), runs=2, steps=20).ln_z
    assert a == logz.solve(m, "ais", seed=7, runs=2, steps=20).ln_z


def test_every_count_argument_refuses_negative_and_huge_values():
    m = logz.Model.chain(4)
    x = np.arange(6.0)
    s = np.array([[1, -1, 1], [-1, 1, 1], [1, 1, -1], [-1, -1, 1]])
    for call, name in [
        (lambda v: logz.Model.triangular(v), "L"),
        (lambda v: logz.Model.cubic(v), "L"),
        (lambda v: logz.Model.complete(v), "N"),
        (lambda v: logz.Model.er(v, 0.5), "N"),
        (lambda v: logz.sample(m, burn_in=v), "burn_in"),
        (lambda v: logz.sample(m, chains=v), "chains"),
        (lambda v: logz.sample(m, replicas=v), "replicas"),
        (lambda v: logz.sample(m, save_every=v), "save_every"),
        (lambda v: logz.sample(m, threads=v), "threads"),
        (lambda v: logz.compare(m, ["mf"], [0.1], threads=v), "threads"),
        (lambda v: logz.solve(m, "ais", runs=v), "runs"),
        (lambda v: logz.solve(m, "van", width=v), "width"),
        (lambda v: logz.fit(x, x, steps=v), "steps"),
        (lambda v: logz.fit(x, x, batch=v), "batch"),
        (lambda v: logz.fit(x, x, method="svgd", particles=v), "particles"),
        (lambda v: logz.learn(s, "boltzmann", steps=v), "steps"),
        (lambda v: logz.learn(s, "boltzmann", chains=v), "chains"),
        (lambda v: logz.learn(s, "boltzmann", sweeps=v), "sweeps"),
        (lambda v: logz.train_van(m, batch=v), "batch"),
        (lambda v: logz.train_van(m, threads=v), "threads"),
    ]:
        with pytest.raises(ValueError) as e:
            call(-3)
        assert f"{name} must be ≥ 0, got -3" in one_line(e), name
        with pytest.raises(ValueError) as e:
            call(2**70)
        assert name in one_line(e) and "OverflowError" not in str(e.type)
