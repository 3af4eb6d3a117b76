"""Choosing between exact implementations of one operation by measuring them here.

Which implementation of a strided convolution is fastest depends on the CPU (an
AVX2 machine and an AVX-512 one disagreed by 50x), the layer's shape and the
batch, so the zoo does not hard-code one: :func:`choose` times every candidate
on the machine it runs on and remembers the result. On a GPU the same
measurement runs on the GPU (its name is part of the fingerprint); under XLA
(``jit_compile=True``) the choice is the one measured without XLA.

- **What is measured.** Each candidate ``fn(x, kernel)`` runs under
  ``tf.function`` on random inputs of the layer's exact shape and dtype (batch
  included), in the mode asked for: ``"forward"`` (inference) or
  ``"forward_backward"`` (the forward pass and the gradient with respect to both
  ``x`` and ``kernel``: a training step), each the first time it is asked for.
  A candidate's time is the best of ``REPS`` calls after a warm-up call; one
  whose first timed call takes more than ``GIVE_UP`` times the best so far is
  dropped after that call, so a 100x slow path costs two calls, not many. Within
  ``TIE`` (15%) or ``TIE_SECONDS`` of the fastest, the preferred candidate wins,
  so that noise and what a layer timed alone does not see (see ``TIE``) do not
  flip a layer between implementations.
- **Where it is remembered.** A JSON file per machine fingerprint (CPU model
  and flags or GPU names, core count, TensorFlow version) under
  ``$ZOO_CACHE_DIR`` (default ``$XDG_CACHE_HOME/video-gan-zoo`` or
  ``~/.cache/video-gan-zoo``). Entries are keyed by the operation, the shapes
  and the dtype, so a second run pays nothing. A corrupt or foreign file is
  rebuilt with a warning; two processes writing at once take a lock and merge
  (the file is replaced atomically, never half-written); a cache folder that
  cannot be written falls back to measuring in memory with one warning.
- **Measuring during a trace.** :func:`choose` is called while a layer is being
  traced into a graph; it measures eagerly under ``tf.init_scope()`` and holds
  a process-wide lock, so the replica threads of a ``MirroredStrategy`` do not
  time each other.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import platform
import tempfile
import threading
import time
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

log = logging.getLogger(__name__)

CACHE_VERSION = 1
REPS = 3
GIVE_UP = 3.0  # a candidate this many times slower than the best so far is not timed further
# Within 15% of the fastest, or 20 microseconds (timer and dispatch noise), the preferred
# candidate wins. 15%, not less: a layer timed alone has both cores and no neighbours, and
# in a whole step the rewrite's extra reshapes and transposes cost more than alone. On
# machine B (BUILD_NOTES.md) layers that won by 5-15% alone made auto's steps 6-14% slower
# than Keras' ops everywhere; the real wins (cin = 1 or 3, some 1-D layers) were 1.3-2.4x.
TIE = 0.15
TIE_SECONDS = 2e-5
MODES = ("forward", "forward_backward")

_lock = threading.RLock()
_memory: Dict[str, Dict[str, dict]] = {}  # cache path -> {key: entry}: this process's view (also read-only)
_warned: set = set()


# ------------------------------------------------------------------ the machine
#: The CPU flags that decide convolution and bfloat16 speed, as a model card names them.
VECTOR_EXTENSIONS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "asimd", "sve")


def _cpu_flags() -> Tuple[str, str]:
    """(model name, sorted flags) from /proc/cpuinfo, where there is one."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    return model, flags


def _cpu_description() -> Dict[str, str]:
    model, flags = _cpu_flags()
    return {"cpu": model, "cpu_flags_sha1": hashlib.sha1(flags.encode()).hexdigest()[:12]}


def machine() -> Dict[str, object]:
    """:func:`fingerprint` plus the vector extensions the CPU has: where a run or a
    measurement was made, as model cards and benchmark reports record it."""
    present = set(_cpu_flags()[1].split())
    return {**fingerprint(), "vector_extensions": [f for f in VECTOR_EXTENSIONS if f in present]}


@functools.lru_cache(maxsize=None)
def _fingerprint_json() -> str:
    return json.dumps(_fingerprint(), sort_keys=True)


def fingerprint() -> Dict[str, object]:
    """What decides which implementation wins: the processor (or GPUs), its cores, TensorFlow."""
    return json.loads(_fingerprint_json())


def _fingerprint() -> Dict[str, object]:
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            gpus.append(tf.config.experimental.get_device_details(device).get("device_name", device.name))
        except Exception:  # details are optional; the device name still tells GPUs apart from CPUs
            gpus.append(device.name)
    return {
        **_cpu_description(),
        "cores": os.cpu_count(),
        "gpus": sorted(gpus),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tensorflow": tf.__version__,
    }


def cache_path() -> str:
    """The cache file of this machine's fingerprint."""
    root = os.environ.get("ZOO_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "video-gan-zoo")
    digest = hashlib.sha1(_fingerprint_json().encode()).hexdigest()[:16]
    return os.path.join(root, f"conv_autotune_{digest}.json")


# ------------------------------------------------------------------- the cache
def _valid_entry(entry, candidates: Optional[Sequence[str]] = None) -> bool:
    """An entry is ``{"seconds": {name: {mode: s or None}}, mode: winner, ...}`` (a mode not yet measured is absent)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("seconds"), dict):
        return False
    if candidates is not None and set(entry["seconds"]) != set(candidates):
        return False  # measured among other implementations: measure again
    for mode in MODES:
        if mode in entry and entry[mode] not in entry["seconds"]:
            return False
    for times in entry["seconds"].values():
        if not isinstance(times, dict):
            return False
        for t in times.values():
            if t is not None and not (isinstance(t, (int, float)) and t >= 0):
                return False
    return True


def _read(path: str) -> Dict[str, dict]:
    """The entries of the cache file, or {} (with a warning) if it is missing, corrupt or foreign."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        _warn_once(f"corrupt:{path}", f"conv autotune cache {path} is unreadable ({e}); measuring again")
        return {}
    if (
        not isinstance(data, dict)
        or data.get("version") != CACHE_VERSION
        or data.get("fingerprint") != fingerprint()
        or not isinstance(data.get("entries"), dict)
    ):
        _warn_once(f"foreign:{path}", f"conv autotune cache {path} is stale or not this machine's; measuring again")
        return {}
    return {k: v for k, v in data["entries"].items() if _valid_entry(v)}


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)
        print(f"warning: {message}", flush=True)


@contextlib.contextmanager
def _file_lock(path: str):
    import fcntl

    with open(path + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: str, key: str, entry: dict) -> None:
    """Merges one entry into the cache file under a lock; the file is replaced atomically."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _file_lock(path):
            entries = _read(path)
            entries[key] = entry
            data = {"version": CACHE_VERSION, "fingerprint": fingerprint(), "entries": entries}
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".conv_autotune.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1, sort_keys=True)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(tmp)
                raise
    except OSError as e:
        _warn_once(
            f"readonly:{path}",
            f"cannot write the conv autotune cache {path} ({e}); measurements are kept in memory for this process only",
        )


def _lookup(path: str, key: str, candidates: Sequence[str]) -> Optional[dict]:
    if path not in _memory:
        _memory[path] = _read(path)
    entry = _memory[path].get(key)
    if entry is None:  # another process may have measured it meanwhile
        entry = _read(path).get(key)
    return entry if _valid_entry(entry, candidates) else None


def clear_memory() -> None:
    """Forgets what this process measured or read (tests)."""
    with _lock:
        _memory.clear()


# ------------------------------------------------------------------ measuring
def _best_time(fn: Callable[[], tf.Tensor], reps: int, give_up_after: Optional[float]) -> Optional[float]:
    fn().numpy()  # warm-up: traces and runs once
    best = None
    for i in range(reps):
        start = time.perf_counter()
        fn().numpy()
        t = time.perf_counter() - start
        best = t if best is None else min(best, t)
        if i == 0 and give_up_after is not None and t > give_up_after:
            return None  # clearly slower than a candidate already measured
    return best


def _timed_function(fn: Callable, mode: str):
    if mode == "forward":

        def run(x, k):
            return tf.reduce_sum(tf.cast(fn(x, k), tf.float32))
    else:

        def run(x, k):
            y = fn(x, k)  # tf.gradients, not a tape: the tape of a trace around us may be paused
            dx, dk = tf.gradients(y, [x, k], grad_ys=tf.ones_like(y))
            return tf.reduce_sum(tf.cast(dx, tf.float32)) + tf.reduce_sum(tf.cast(dk, tf.float32))

    return tf.function(run, jit_compile=False, autograph=False)


def measure(
    candidates: Mapping[str, Callable],
    x_shape: Sequence[int],
    kernel_shape: Sequence[int],
    dtype: str = "float32",
    mode: str = "forward_backward",
    reps: int = REPS,
    give_up: Optional[float] = GIVE_UP,
) -> Dict[str, Optional[float]]:
    """Seconds of every candidate ``fn(x, kernel)`` in ``mode`` ("forward": ``fn``; "forward_backward":
    ``fn`` and the gradient with respect to ``x`` and ``kernel``); None: dropped after one timed call
    as more than ``give_up`` times slower than the best so far (``give_up=None``: time every one fully)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    out: Dict[str, Optional[float]] = {}
    tf_log = tf.get_logger()
    level = tf_log.level
    tf_log.setLevel(logging.ERROR)  # one tf.function per candidate and shape is the point: no retracing warnings
    try:
        with tf.init_scope():
            seed = tf.constant([7, 11], tf.int32)
            x = tf.cast(tf.random.stateless_normal(list(x_shape), seed), dtype)
            k = tf.cast(tf.random.stateless_normal(list(kernel_shape), seed + 1) * 0.05, dtype)
            best = None
            for name, fn in candidates.items():
                f = _timed_function(fn, mode)
                t = _best_time(lambda: f(x, k), reps, None if best is None or give_up is None else give_up * best)
                out[name] = None if t is None else round(t, 6)
                if t is not None and (best is None or t < best):
                    best = t
    finally:
        tf_log.setLevel(level)
    return out


def fastest(seconds: Mapping[str, Optional[float]], order: Sequence[str]) -> str:
    """The fastest of ``seconds``; a candidate earlier in ``order`` wins a near-tie (within ``TIE``
    of the fastest, or ``TIE_SECONDS``), so that timing noise does not flip a layer between
    implementations (or add a batch switch to a graph)."""
    timed = {n: seconds[n] for n in order if seconds.get(n) is not None}
    best = min(timed.values())
    return next(n for n, t in timed.items() if t <= best * (1 + TIE) + TIE_SECONDS)


def _key(op: str, x_shape: Sequence[int], kernel_shape: Sequence[int], dtype: str) -> str:
    return f"{op}|x={'x'.join(map(str, x_shape))}|k={'x'.join(map(str, kernel_shape))}|{dtype}"


def seconds(
    op: str,
    candidates: Sequence[str],
    x_shape: Sequence[int],
    kernel_shape: Sequence[int],
    dtype: str = "float32",
    mode: str = "forward_backward",
) -> Optional[Dict[str, Optional[float]]]:
    """What :func:`choose` measured of ``op`` at these shapes in ``mode`` on this machine
    (seconds per candidate name, None for one dropped as clearly slower), or None if nothing was."""
    with _lock:
        entry = _lookup(cache_path(), _key(op, x_shape, kernel_shape, dtype), list(candidates))
    if entry is None or mode not in entry:
        return None
    return {n: entry["seconds"][n].get(mode) for n in candidates}


def choose(
    op: str,
    candidates: Mapping[str, Callable],
    x_shape: Sequence[int],
    kernel_shape: Sequence[int],
    dtype: str = "float32",
    mode: str = "forward_backward",
    prefer: Optional[str] = None,
) -> Tuple[str, bool]:
    """(the fastest candidate of ``op`` at these shapes in ``mode``, whether it was measured now).

    Candidates are named functions ``fn(x, kernel)`` computing the same thing; in a near-tie
    ``prefer`` wins, then the candidates' order. ``x_shape`` must be fully known (batch
    included). A cache hit costs a dictionary lookup; a miss measures and writes the cache.
    """
    if any(d is None for d in x_shape):
        raise ValueError(f"autotune.choose({op!r}): the input shape must be fully known, got {list(x_shape)}")
    names = list(candidates)
    order = ([prefer] if prefer in candidates else []) + [n for n in names if n != prefer]
    key = _key(op, x_shape, kernel_shape, dtype)
    with _lock:
        path = cache_path()
        entry = _lookup(path, key, names)
        if entry is not None and mode in entry:
            return fastest({n: entry["seconds"][n].get(mode) for n in names}, order), False
        seconds = measure(candidates, x_shape, kernel_shape, dtype, mode)
        entry = dict(entry or {"seconds": {n: {} for n in names}})
        entry["seconds"] = {n: {**entry["seconds"].get(n, {}), mode: seconds[n]} for n in names}
        entry[mode] = fastest(seconds, names)  # for the reader of the file; choose() decides from the seconds
        _memory.setdefault(path, {})[key] = entry
        _write(path, key, entry)
        return fastest(seconds, order), True
