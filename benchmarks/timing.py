"""What the benchmark scripts share: JSON-line output, median timings, peak memory."""
from __future__ import annotations

import json
import resource
import statistics
import time


def emit(**line) -> None:
    """One JSON line on stdout (the benchmarks' only output format)."""
    print(json.dumps(line, sort_keys=True), flush=True)


def median_seconds(fn, reps: int) -> float:
    """Median wall time of ``reps`` calls of ``fn`` after one warm-up call (which traces)."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, GiB (Linux ru_maxrss is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)
