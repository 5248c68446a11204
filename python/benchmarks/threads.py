"""Two Python threads solving independent models: are they ≥ 1.6× faster than one after the
other on 2 cores (issue 17's goal)?

    python python/benchmarks/threads.py [--reps 5] [--spins 21]

Each solve is exact enumeration of 2^spins states of its own SK model on a pool of one thread
(``threads=1``), a fixed amount of work. For every repetition it times the two solves one after
the other, then the two in two Python threads started together, and prints the ratio
serial / threaded. Because the machine may be shared, it also prints what shows whether the two
threads really ran at the same time independently of the load: the process CPU time over the
threaded wall time (≈ 2 when both solves ran concurrently, ≈ 1 if they were serialised, e.g. by
the GIL), the overlap of the two threads' [start, end] intervals, and the 1-minute load average
before and after. On a machine busier than its cores, the ratio measures the scheduler as much
as logz; the CPU/wall figure does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import logz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--spins", type=int, default=21)
    a = ap.parse_args()
    models = [logz.Model.sk(a.spins, beta=0.5, seed=s) for s in (1, 2)]

    def one(m: logz.Model) -> float:
        return logz.solve(m, "enumerate", threads=1).ln_z

    expected = [one(m) for m in models]  # warm-up, and the answers the threads must give
    load0 = os.getloadavg()
    print(f"{os.cpu_count()} cores; load average before: {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}; two {a.spins}-spin SK models, enumerate, threads=1 each")
    ratios, busy = [], []
    for r in range(a.reps):
        c0, t0 = time.process_time(), time.perf_counter()
        for m in models:
            one(m)
        serial = time.perf_counter() - t0
        serial_cpu = time.process_time() - c0
        spans: list[tuple[float, float]] = [(0.0, 0.0), (0.0, 0.0)]
        got: list[float] = [0.0, 0.0]

        def work(i: int) -> None:
            s = time.perf_counter()
            got[i] = one(models[i])
            spans[i] = (s, time.perf_counter())

        ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        c0, t0 = time.process_time(), time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        threaded = time.perf_counter() - t0
        cpu = time.process_time() - c0
        assert got == expected, (got, expected)
        overlap = max(0.0, min(spans[0][1], spans[1][1]) - max(spans[0][0], spans[1][0]))
        longest = max(e - s for s, e in spans)
        ratios.append(serial / threaded)
        busy.append(cpu / threaded)
        print(f"rep {r + 1}: serial {serial:.3f} s (CPU {serial_cpu:.3f} s), threaded "
              f"{threaded:.3f} s (CPU {cpu:.3f} s = {cpu / threaded:.2f} cores busy), "
              f"overlap {overlap / longest:.0%} of the longer thread, "
              f"ratio {serial / threaded:.2f}×; load {os.getloadavg()[0]:.2f}")
    load1 = os.getloadavg()
    print(f"ratio serial/threaded: median {statistics.median(ratios):.2f}×, best "
          f"{max(ratios):.2f}×; CPU/wall during the threaded runs: median "
          f"{statistics.median(busy):.2f}; load average after: {load1[0]:.2f} {load1[1]:.2f} "
          f"{load1[2]:.2f}")


if __name__ == "__main__":
    main()
