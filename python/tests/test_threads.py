"""Long calls release the GIL, stop on Ctrl-C with KeyboardInterrupt, and report progress."""

import _thread
import threading
import time

import pytest

import logz

# A call that runs until stopped (10⁷ optimisation steps), reporting every step to the runner.
LONG = dict(method="bbvi", steps=10**7, seed=1)


def test_gil_is_released_during_a_long_solve():
    # While a solve runs in another thread, this thread keeps executing Python bytecode. If the
    # solve held the GIL, the loop below could not run until it returned (count would stay ~0).
    m = logz.Model.square(8, beta=0.4)
    stop = []
    result = []
    t = threading.Thread(
        target=lambda: result.append(
            logz.solve(m, progress=lambda d: not stop, **LONG)
        )
    )
    t.start()
    count = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.5:
        count += 1
    stop.append(True)
    t.join(timeout=30)
    assert not t.is_alive()
    assert result and result[0].termination == "stopped"
    assert result[0].kind == "lower_bound"  # still a bound when stopped early
    # Pure-Python loop iterations during the solve: millions on a free GIL; a generous bound.
    assert count > 10_000, count


def test_two_threads_solve_independent_models_concurrently():
    # Correctness under concurrency: each thread gets the answer a serial solve gives.
    models = [logz.Model.square(6, beta=b) for b in (0.3, 0.5)]
    serial = [logz.solve(m, "ais", runs=4, steps=200, seed=3).ln_z for m in models]
    out = [None, None]

    def work(i):
        out[i] = logz.solve(models[i], "ais", runs=4, steps=200, seed=3).ln_z

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == serial


def test_ctrl_c_raises_keyboard_interrupt_promptly():
    m = logz.Model.square(8, beta=0.4)
    for call in [
        lambda: logz.solve(m, **LONG),
        lambda: logz.sample(logz.Model.square(32), sweeps=10**6, chains=2),
    ]:
        timer = threading.Timer(0.2, _thread.interrupt_main)
        t0 = time.perf_counter()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                call()
        finally:
            timer.cancel()
        # The run stops at its next iteration after the ~50 ms signal poll, not after 10⁷ steps.
        assert time.perf_counter() - t0 < 10


def test_progress_callback_sees_iterations_and_can_stop_or_raise():
    m = logz.Model.square(8, beta=0.4)
    seen = []

    def cb(info):
        seen.append(info)
        return len(seen) < 3

    e = logz.solve(m, progress=cb, **LONG)
    assert len(seen) == 3 and e.termination == "stopped" and not e.converged
    assert seen[-1]["method"] == "bbvi" and seen[-1]["iteration"] > seen[0]["iteration"] >= 1
    assert set(seen[0]) == {"method", "iteration", "objective", "change", "elapsed"}
    assert any("stopped by an observer" in n for n in e.notes)

    def boom(info):
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        logz.solve(m, progress=boom, **LONG)


def test_compare_reports_progress_per_task_and_stops_on_ctrl_c():
    import numpy as np

    m = logz.Model.square(4)
    seen = []
    c = logz.compare(m, ["exact", "mf"], [0.2, 0.4, 0.6], progress=lambda d: seen.append(d))
    assert c["ln_z"].shape == (3, 2)
    # Ctrl-C: the tasks running finish, every later one starts stopped, KeyboardInterrupt.
    betas = np.linspace(0.1, 1.0, 400)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            logz.compare(logz.Model.square(8), ["bbvi"], betas, steps=3000)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 30


def test_a_stopped_sample_returns_what_every_chain_measured():
    m = logz.Model.square(32, beta=0.4)
    calls = []

    def cb(info):
        calls.append(info)
        return len(calls) < 2

    s = logz.sample(m, sweeps=10**6, chains=2, save_every=100, progress=cb)
    assert s["termination"] == "stopped"
    chains, sweeps = s["energy"].shape
    assert chains == s["chains"] and 2 <= sweeps == s["sweeps"] < 10**6
    c = s["configurations"]
    assert c is None or (c.shape[0] == chains and c.shape[2] == 1024 and c.dtype == "int8")
