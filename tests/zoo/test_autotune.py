"""zoo.autotune: measured choices, the on-disk cache and its failure modes."""

import json
import os
import sys

import pytest
import tensorflow as tf

from tests.conftest import finish_command, start_command
from zoo import autotune


def _fast(x, k):
    return tf.nn.convolution(x, k, padding="SAME")


def _slow(x, k):  # 31 convolutions of different inputs (grappler would merge identical ones)
    y = _fast(x, k)
    for i in range(1, 31):
        y = y + _fast(x * (1.0 + 1e-3 * i), k)
    return y / 31.0


CANDIDATES = {"slow": _slow, "fast": _fast}
SHAPE, KERNEL = [4, 32, 32, 16], [3, 3, 16, 16]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    autotune.clear_memory()
    yield tmp_path
    autotune.clear_memory()


def test_measures_once_then_reads_the_cache(cache_dir):
    name, measured = autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward")
    assert (name, measured) == ("fast", True)
    assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", False)
    autotune.clear_memory()  # a new process: the file answers
    assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", False)
    data = json.loads(open(autotune.cache_path()).read())
    assert data["fingerprint"] == autotune.fingerprint()
    assert data["fingerprint"]["tensorflow"] == tf.__version__ and data["fingerprint"]["cpu"]
    ((key, entry),) = data["entries"].items()
    assert key.startswith("test_op|x=4x32x32x16|k=3x3x16x16|float32")
    assert entry["forward"] == "fast" and "forward_backward" not in entry  # each mode when first asked
    fast, slow = entry["seconds"]["fast"]["forward"], entry["seconds"]["slow"]["forward"]
    assert slow is None or slow > fast  # None: dropped after one call as clearly slower
    # the other mode is measured when asked, into the same entry
    assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward_backward") == ("fast", True)
    entry = json.loads(open(autotune.cache_path()).read())["entries"][key]
    assert entry["forward"] == entry["forward_backward"] == "fast"


def test_shape_batch_and_dtype_are_part_of_the_key(cache_dir):
    for shape, dtype in ((SHAPE, "float32"), ([1] + SHAPE[1:], "float32"), (SHAPE, "bfloat16")):
        assert autotune.choose("test_op", CANDIDATES, shape, KERNEL, dtype, "forward")[1]
    assert len(json.loads(open(autotune.cache_path()).read())["entries"]) == 3


def test_near_tie_goes_to_the_preferred_candidate(cache_dir):
    assert autotune.fastest({"keras": 1.10, "stride1": 1.0}, ["keras", "stride1"]) == "keras"
    assert autotune.fastest({"keras": 1.20, "stride1": 1.0}, ["keras", "stride1"]) == "stride1"
    assert autotune.fastest({"keras": None, "stride1": 1.0}, ["keras", "stride1"]) == "stride1"
    assert autotune.fastest({"keras": 1.5e-4, "stride1": 1.35e-4}, ["keras", "stride1"]) == "keras"  # 15 us
    # choose() decides from the cached seconds, so a preference needs no new measurement
    twins = {"a": _fast, "b": _fast}
    assert autotune.choose("twins", twins, SHAPE, KERNEL, mode="forward")[1]
    path = autotune.cache_path()
    for b_seconds, preferred_b, plain in ((1.10, "b", "a"), (1.20, "a", "a"), (0.50, "b", "b")):
        data = json.loads(open(path).read())
        (entry,) = data["entries"].values()
        entry["seconds"] = {"a": {"forward": 1.0}, "b": {"forward": b_seconds}}  # as if measured so
        open(path, "w").write(json.dumps(data))
        autotune.clear_memory()  # a new process: the file answers
        assert autotune.choose("twins", twins, SHAPE, KERNEL, mode="forward", prefer="b") == (preferred_b, False)
        assert autotune.choose("twins", twins, SHAPE, KERNEL, mode="forward") == (plain, False)


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"version": 1, "fingerprint": {"cpu": "other"}, "entries": {}}), json.dumps([1, 2]), ""],
)
def test_corrupt_or_foreign_cache_is_rebuilt(cache_dir, content, capsys):
    path = autotune.cache_path()
    with open(path, "w") as f:
        f.write(content)
    assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", True)
    assert "conv autotune cache" in capsys.readouterr().out
    data = json.loads(open(path).read())
    assert data["fingerprint"] == autotune.fingerprint() and len(data["entries"]) == 1


def test_entry_with_a_bad_value_is_measured_again(cache_dir):
    autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward")
    path = autotune.cache_path()
    data = json.loads(open(path).read())
    ((key, entry),) = data["entries"].items()
    entry["forward"] = "fft"  # an implementation that does not exist
    open(path, "w").write(json.dumps(data))
    autotune.clear_memory()
    assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", True)


def test_read_only_cache_folder_measures_in_memory(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:  # root writes through permissions: use a path under a regular file instead
        blocker = tmp_path / "file"
        blocker.write_text("")
        monkeypatch.setenv("ZOO_CACHE_DIR", str(blocker / "cache"))
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        monkeypatch.setenv("ZOO_CACHE_DIR", str(folder))
    autotune.clear_memory()
    try:
        assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", True)
        assert "kept in memory" in capsys.readouterr().out
        assert autotune.choose("test_op", CANDIDATES, SHAPE, KERNEL, mode="forward") == ("fast", False)
    finally:
        autotune.clear_memory()


_WORKER = """
import sys
import tensorflow as tf
from zoo import autotune, layers
i = int(sys.argv[1])
for b in range(1, 7):  # every process measures the same six keys, then one of its own
    autotune.choose("race", layers.STRIDE2_IMPLS["down"], [b, 8, 8, 4], [4, 4, 4, 4], "float32", "forward")
autotune.choose("race", layers.STRIDE2_IMPLS["down"], [10 + i, 8, 8, 4], [4, 4, 4, 4], "float32", "forward")
"""


@pytest.mark.slow
def test_concurrent_processes_do_not_corrupt_the_cache(tmp_path):
    env = dict(ZOO_CACHE_DIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="3")
    procs = [start_command([sys.executable, "-c", _WORKER, i], env=env) for i in range(3)]  # all at once
    for p in procs:
        status, out = finish_command(p)
        assert status == 0, out[-2000:]
    files = [f for f in os.listdir(tmp_path) if f.endswith(".json")]
    assert len(files) == 1 and not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    entries = json.loads((tmp_path / files[0]).read_text())["entries"]
    assert len(entries) == 6 + 3  # every process's own entry survived the others' writes


def test_choose_needs_a_known_shape():
    with pytest.raises(ValueError, match="must be fully known"):
        autotune.choose("test_op", CANDIDATES, [None, 8, 8, 4], KERNEL)
