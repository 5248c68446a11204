"""Measure the package's goals: per-call overhead on a 4-spin model, the zero-copy hand-over of a
10⁷-spin configuration array, and two Python threads solving independent models at once.

    python python/examples/bench.py
"""

import os
import statistics
import threading
import time

import numpy as np

import logz


def overhead() -> None:
    m = logz.Model(4, [[0, 1], [1, 2], [2, 3], [3, 0]], [1.0] * 4, beta=0.3)
    for method in ["exact", "mf"]:
        calls, inside = [], []
        for _ in range(20_000):
            t0 = time.perf_counter()
            e = logz.solve(m, method)
            calls.append(time.perf_counter() - t0)
            inside.append(e.seconds)
        over = sorted(c - s for c, s in zip(calls, inside))
        print(
            f"solve(4 spins, {method!r}): median call {statistics.median(calls) * 1e6:.2f} µs, "
            f"of which the solver {statistics.median(inside) * 1e6:.2f} µs; overhead "
            f"(call − solver) median {over[len(over) // 2] * 1e6:.2f} µs, "
            f"p99 {over[int(len(over) * 0.99)] * 1e6:.2f} µs"
        )


def zero_copy() -> None:
    m = logz.Model.square(100, beta=0.3)
    t0 = time.perf_counter()
    s = logz.sample(m, sweeps=1000, burn_in=0, chains=1, seed=1, save_every=1)
    total = time.perf_counter() - t0
    c = s["configurations"]
    t1 = time.perf_counter()
    c.copy()
    copy = time.perf_counter() - t1
    print(
        f"sample: {c.size:.0e} int8 spins {c.shape}, owndata={c.flags.owndata}, "
        f"base={type(c.base).__name__} (whole call {total:.2f} s; one numpy copy would take "
        f"{copy * 1e3:.1f} ms)"
    )


def concurrency() -> None:
    # Exact enumeration of 2²¹ states: a fixed amount of work, each solve on one thread.
    models = [logz.Model.sk(21, beta=0.5, seed=s) for s in (1, 2)]

    def one(m):
        return logz.solve(m, "enumerate", threads=1)

    for m in models:
        one(m)  # warm up
    reps = []
    for _ in range(3):
        t0 = time.perf_counter()
        for m in models:
            one(m)
        serial = time.perf_counter() - t0
        ts = [threading.Thread(target=one, args=(m,)) for m in models]
        t0, c0 = time.perf_counter(), time.process_time()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        parallel = time.perf_counter() - t0
        cpu = time.process_time() - c0
        reps.append((serial, parallel))
        print(f"  threaded run: {cpu / parallel:.2f} cores busy on average (CPU time / wall time)")
    best = max(reps, key=lambda r: r[0] / r[1])
    print(
        f"two threads, enumerate on two 21-spin SK models (threads=1 each), {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}: "
        + ", ".join(f"serial {s:.2f} s / threaded {p:.2f} s = {s / p:.2f}×" for s, p in reps)
        + f"; best {best[0] / best[1]:.2f}×"
    )


if __name__ == "__main__":
    np.seterr(all="ignore")
    overhead()
    zero_copy()
    concurrency()
