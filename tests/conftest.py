"""What the tests share across folders: the clone's root, command lines, folders of videos
and the zoo's own trained classifiers.

- ``REPO``, the clone's root (``from tests.conftest import REPO``).
- Command lines: ``run_commands`` (also a fixture) runs them one after the other;
  ``start_command`` / ``finish_command`` for one that runs while the test goes on.
- ``video_folder`` writes a folder of videos laid out like UCF-101 (class folders of
  ``v_<Class>_g<group>_c<clip>.avi``); ``square_video`` is a clip that is easy to tell apart.
- The metrics need trained feature networks, and none can be downloaded here, so the
  tests train the ``tiny`` C3D on ``synthetic_actions`` once per session (250 steps,
  ~20 s on two CPU cores) and export it as a hub module, exactly as
  ``python -m trainers.classifier`` would.

Test modules import the plain names (``from tests.conftest import REPO``: the clone's root
is on ``sys.path``); pytest finds the fixtures by themselves.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import export
import zoo
from zoo import classifiers, data
from zoo.data import video_io

#: The clone's root: where the command lines run, and what they import the zoo from.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIP = dict(frames=8, size=16)  # the tiny classifiers' input


def actions(split: str, seed: int = 0, **kw):
    return data.load("synthetic_actions", split=split, seed=seed, **CLIP, **kw)


@pytest.fixture(scope="session")
def trained_c3d():
    """(tiny C3D trained 250 steps on synthetic_actions clips, its test accuracy on 200 clips)."""
    cfg = zoo.resolve("c3d", "tiny", class_names=data.class_names("synthetic_actions"))
    model = classifiers.fit(cfg, actions("train"), 250, zoo.resolve_run("c3d", "tiny").batch_size)
    return model, classifiers.accuracy(model, actions("test", num_examples=200))["accuracy"]


@pytest.fixture(scope="session")
def c3d_hub(trained_c3d, tmp_path_factory):
    model, accuracy = trained_c3d
    report = json.dumps({"test_accuracy": accuracy, "test_examples": 200})
    return export.export_hub_module(
        model, str(tmp_path_factory.mktemp("nets") / "c3d"), extra_files={export.CLASSIFIER_REPORT: report}
    )


@pytest.fixture(scope="session")
def trained_lrcn():
    """A tiny LRCN after 30 steps (its frame features are what fid_frames reads)."""
    cfg = zoo.resolve("lrcn", "tiny", class_names=data.class_names("synthetic_actions"))
    return classifiers.fit(cfg, actions("train"), 30, zoo.resolve_run("lrcn", "tiny").batch_size)


# ---------------------------------------------------------------- command lines
def start_command(args, cwd=REPO, env=None) -> subprocess.Popen:
    """Starts the command line ``args`` in ``cwd`` with quiet TF logs, the zoo importable from
    the clone and ``env`` on top of the environment; its stdout and stderr go to one text pipe
    (``finish_command`` reads it)."""
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    }
    return subprocess.Popen(
        [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
    )


def finish_command(proc: subprocess.Popen, timeout=240):
    """(exit status, stdout + stderr) of a ``start_command``; killed after ``timeout`` seconds."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out


def run_commands(*commands, timeout=240, cwd=REPO, env=None):
    """Runs the command lines one after the other (``start_command``); [(exit status, stdout + stderr)]."""
    return [finish_command(start_command(args, cwd, env), timeout) for args in commands]


@pytest.fixture(name="run_commands", scope="session")
def run_commands_fixture():
    """``run_commands(args, ..., timeout=240, cwd=REPO, env=None) -> [(exit status, output)]``."""
    return run_commands


# ---------------------------------------------------------------- folders of videos
def square_video(frames, color, height=32, width=40, side=16, top=6):
    """uint8 [frames, height, width, 3]: a ``side``-pixel square of ``color`` on black, its top at
    row ``top``, one pixel further right each frame."""
    video = np.zeros((frames, height, width, 3), np.uint8)
    for t in range(frames):
        video[t, top : top + side, t : t + side] = color
    return video


@pytest.fixture(scope="session")
def video_folder(tmp_path_factory):
    """``video_folder({relpath: content}, name="videos") -> Path``: a new folder holding each
    ``content`` at ``relpath``: frames (uint8 [T, H, W, 3] or [T, H, W], encoded as the suffix
    says), bytes, or text. Paths like ``Walk/v_Walk_g01_c01.avi`` make a UCF-101 layout."""

    def write(files, name="videos"):
        root = tmp_path_factory.mktemp(name)
        for relpath, content in files.items():
            path = root / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, np.ndarray):
                video_io.write_video(str(path), content)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return root

    return write
