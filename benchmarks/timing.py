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


def interleaved(calls, min_calls: int, min_seconds: float = 0.0) -> dict:
    """``{name: (median wall seconds, CPU time / wall time, calls timed)}`` of every ``calls[name]()``
    (already warmed up), timed in interleaved rounds, one call of each per round, so that drift in
    the machine's speed (a shared VM's neighbours, clocks) hits every candidate alike: at least
    ``min_calls`` rounds, and more, up to 100, until each candidate ran ``min_seconds``."""
    walls = {k: [] for k in calls}
    cpus = {k: 0.0 for k in calls}
    while True:
        for name, call in calls.items():
            cpu0, start = time.process_time(), time.perf_counter()
            call()
            walls[name].append(time.perf_counter() - start)
            cpus[name] += time.process_time() - cpu0
        rounds = len(next(iter(walls.values())))
        if rounds >= min_calls and (min(sum(w) for w in walls.values()) >= min_seconds or rounds >= 100):
            break
    return {k: (statistics.median(w), cpus[k] / sum(w), len(w)) for k, w in walls.items()}


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, GiB (Linux ru_maxrss is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


def best_gemm(n: int = 4096, reps: int = 5) -> dict:
    """The best float32 GEMM of this machine now, from every library at hand (GFLOP/s):
    ``tf.matmul``, the same GEMM as a 1x1 convolution (TF's oneDNN convolution path), and
    numpy's BLAS. TF's matmul can reach only half of numpy's on the same CPU, so a step is
    judged against the best of them, not against TF's matmul."""
    import tensorflow as tf

    flops = 2.0 * n**3
    a, b = tf.random.normal([n, n]), tf.random.normal([n, n])
    mm = tf.function(lambda: tf.matmul(a, b))
    side = int(n**0.5)
    x, w = tf.random.normal([1, side, n // side, n]), tf.random.normal([1, 1, n, n])
    conv = tf.function(lambda: tf.nn.conv2d(x, w, 1, "VALID"))
    an, bn = a.numpy(), b.numpy()
    results = {
        "tf_matmul_gflops": flops / median_seconds(lambda: mm().numpy(), reps) / 1e9,
        "tf_conv1x1_gflops": 2.0 * side * (n // side) * n * n / median_seconds(lambda: conv().numpy(), reps) / 1e9,
        "numpy_blas_gflops": flops / median_seconds(lambda: an @ bn, reps) / 1e9,
    }
    best = max(results, key=results.get)
    return {
        "bench": "gemm",
        "n": n,
        **{k: round(v, 1) for k, v in results.items()},
        "best_gflops": round(results[best], 1),
        "best_library": best.replace("_gflops", ""),
    }


def _live_ops(graph):
    """The ops a call of a traced function runs: those the outputs or a stateful op (a
    variable update) depend on. A gradient function builds both backprops of every op on
    the path, and the runtime prunes those nobody reads (e.g. D's kernel gradients in the
    generator's update, a frozen layer's), so they must not be counted."""
    roots = [t.op for t in graph.outputs] + [op for op in graph.get_operations() if op.op_def.is_stateful]
    live, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return live


def graph_flops(graph) -> float:
    """2 x multiply-adds of the convolutions (forward and both backprops), MatMul and
    BatchMatMul ops that a call of a traced function runs (static shapes); ops inside
    loops count once."""
    import numpy as np

    def n(shape):
        return float(np.prod([int(d) for d in shape]))

    total = 0.0
    live = _live_ops(graph)
    for op in graph.get_operations():
        if op not in live:
            continue
        t = op.type
        try:
            if t in ("Conv2D", "Conv3D"):
                total += 2 * n(op.outputs[0].shape) * n(op.inputs[1].shape[:-1])
            elif t in ("Conv2DBackpropInput", "Conv3DBackpropInputV2"):
                total += 2 * n(op.inputs[2].shape) * n(op.inputs[1].shape[:-1])
            elif t in ("Conv2DBackpropFilter", "Conv3DBackpropFilterV2"):
                total += 2 * n(op.inputs[2].shape) * n(op.outputs[0].shape[:-1])
            elif t == "MatMul":
                a = op.inputs[0].shape
                k = a[0] if op.get_attr("transpose_a") else a[1]
                total += 2 * n(op.outputs[0].shape) * int(k)
            elif t in ("BatchMatMulV2", "BatchMatMulV3"):
                a = op.inputs[0].shape
                k = a[-2] if op.get_attr("adj_x") else a[-1]
                total += 2 * n(op.outputs[0].shape) * int(k)
        except (TypeError, ValueError):  # an unknown dimension: not counted
            continue
    return total
