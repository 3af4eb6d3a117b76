"""Fixtures shared across test folders: the zoo's own trained classifiers.

The metrics need trained feature networks, and none can be downloaded here, so
the tests train the ``tiny`` C3D on ``synthetic_actions`` once per session
(250 steps, ~20 s on two CPU cores) and export it as a hub module, exactly as
``python -m trainers.classifier`` would.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

import export
import zoo
from zoo import classifiers, data

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
    return export.export_hub_module(model, str(tmp_path_factory.mktemp("nets") / "c3d"),
                                    extra_files={export.CLASSIFIER_REPORT: report})


@pytest.fixture(scope="session")
def trained_lrcn():
    """A tiny LRCN after 30 steps (its frame features are what fid_frames reads)."""
    cfg = zoo.resolve("lrcn", "tiny", class_names=data.class_names("synthetic_actions"))
    return classifiers.fit(cfg, actions("train"), 30, zoo.resolve_run("lrcn", "tiny").batch_size)


def _run_commands(*commands, timeout=240, cwd=REPO):
    """Runs the command lines one after the other (in ``cwd``, the zoo importable from the
    clone); [(exit status, stdout + stderr)]."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    results = []
    for args in commands:
        proc = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env, cwd=cwd, timeout=timeout)
        results.append((proc.returncode, proc.stdout))
    return results


@pytest.fixture(scope="session")
def run_commands():
    """``run_commands(args, ...) -> [(exit status, output)]``: quiet TF logs, from the repo root."""
    return _run_commands
