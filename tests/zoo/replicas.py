"""The two-replica harness every model's strategy test uses: train a few steps of a tiny
model in subprocesses (tests/zoo/strategy_worker.py; logical CPU devices and TF_CONFIG
must be set before TensorFlow starts) on one device, on two MirroredStrategy replicas,
or as one of several MultiWorkerMirroredStrategy workers, and compare the weights."""

import json
import os
import sys

import numpy as np

from tests.conftest import finish_command, start_command

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "strategy_worker.py")


def worker(mode, out, env=None, steps=2, model="vgan"):
    """Starts the worker: ``mode`` default | mirrored2 | multi_worker, ``model`` a registry
    name, ``name:stage``, or one of the worker's variants (``mvt_fresh``)."""
    return start_command([sys.executable, WORKER, mode, out, steps, model], env=env)


def finish(proc, timeout=300):
    """The worker's JSON report (replicas, losses), its last line that is one; fails the test with its output."""
    status, out = finish_command(proc, timeout)
    assert status == 0, out[-3000:]
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def weights(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def max_diff(a, b, skip=()):
    """Largest absolute difference between two weight dicts (same keys), leaving out keys
    containing any of ``skip``."""
    assert a.keys() == b.keys()
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a if not any(s in k for s in skip))


def share_over(a, b, tolerance):
    """Share of all the elements of two weight dicts (same keys) that differ by more than ``tolerance``."""
    assert a.keys() == b.keys()
    return sum(int(np.sum(np.abs(a[k] - b[k]) > tolerance)) for k in a) / sum(a[k].size for k in a)


def one_device_and_two_replicas(tmp_path, model, steps=2):
    """Runs ``model`` on one device and on two replicas at once: ((report, weights), (report, weights))."""
    paths = tmp_path / "one.npz", tmp_path / "two.npz"
    procs = [
        worker("default", paths[0], steps=steps, model=model),
        worker("mirrored2", paths[1], steps=steps, model=model),
    ]
    reports = [finish(p) for p in procs]
    assert [r["replicas"] for r in reports] == [1, 2]
    return [(r, weights(p)) for r, p in zip(reports, paths)]
