"""The run folder of a training run, one part of ``trainers.common.Trainer``.

``<run_dir>/config.json`` (the resolved config and the trainer's options; a rerun must ask
for the same config), ``checkpoints/`` (resumable), ``progress.json`` (the step reached and
each session's cost, read by model cards), ``samples/step_*.gif``, ``conv_impl.json``,
``precision.json``, and
``logs/`` (TensorBoard). Under ``MultiWorkerMirroredStrategy`` the chief owns the folder and
every other worker writes its copies under ``workers/<type>-<id>`` (all workers must take
part in saving distributed variables).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import time
from typing import Any, Dict, Optional

# TensorFlow, zoo and export are imported where they are used: trainers.common imports this
# module, and every command line's --help does not pay their import (7-12 s here; see
# trainers.common).

CONV_CHOICES_FILE = "conv_impl.json"
PRECISION_FILE = "precision.json"


def _task():
    """(task_type, task_id) of this process under TF_CONFIG, or (None, None)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = tf_config.get("task") or {}
    return task.get("type"), task.get("index")


def is_chief(strategy) -> bool:
    ttype, tid = _task()
    if ttype is None:
        return True
    return ttype == "chief" or (ttype == "worker" and tid == 0)


def worker_dir(run_dir: str, strategy) -> str:
    """Where this process writes: ``run_dir`` for the chief, ``run_dir/workers/<id>`` otherwise."""
    if is_chief(strategy):
        return run_dir
    ttype, tid = _task()
    return os.path.join(run_dir, "workers", f"{ttype}-{tid}")


def field_defaults(config_cls) -> Dict[str, Any]:
    """The class defaults of a config's fields, as JSON values (tuples as lists)."""
    return {
        f.name: json.loads(json.dumps(f.default))
        for f in dataclasses.fields(config_cls)
        if f.default is not dataclasses.MISSING
    }


class RunFolder:
    """The files of one run, seen from this process (``strategy`` says whether it is the chief)."""

    def __init__(self, run_dir: str, strategy):
        self.path = run_dir
        self.chief = is_chief(strategy)
        self.out_dir = worker_dir(run_dir, strategy)
        self.manager = None

    def check_config(self, cfg, run=None) -> None:
        """``ValueError`` when the folder holds a run of another config or other run settings
        (``run``). A field the saved config lacks was added to the zoo after the run began;
        its class default is, by the rule for adding fields, the behaviour the run had. The
        model's ``compute_fields`` (VGAN's ``precision``) may differ: its checkpoints do not
        depend on them."""
        import tensorflow as tf
        import zoo
        from export import runs

        if not tf.io.gfile.exists(os.path.join(self.path, runs.CONFIG_FILE)):
            return
        config = runs.read_config(self.path)
        diff = {}
        for section, value in (("model", cfg), ("run", run)):
            if value is None:
                continue
            saved = config.get(section, {})
            current = json.loads(json.dumps(zoo.to_dict(value)))  # tuples as the saved JSON lists
            defaults = field_defaults(type(value))
            diff.update(
                {
                    k: (saved.get(k, "<absent>"), v)
                    for k, v in current.items()
                    if (saved[k] if k in saved else defaults.get(k, "<no default>")) != v
                    and k not in getattr(type(value), "compute_fields", ())
                }
            )
        if diff:
            raise ValueError(
                f"run folder {self.path!r} holds a run with another config; differing fields "
                f"(saved, requested): {diff}. Use a new --run_dir or the same flags to resume."
            )

    def create(self, cfg, run, trainer_options: Dict[str, Any]) -> None:
        """Makes this process's folder; the chief writes ``config.json`` (model config, run
        settings, trainer options)."""
        import tensorflow as tf
        from export import runs

        tf.io.gfile.makedirs(self.out_dir)
        if self.chief:
            runs.write_config(self.path, cfg, run, trainer_options)

    # ........................................................... checkpoints
    def restore(self, model) -> int:
        """Opens the checkpoints of ``model`` (keeping the last 3) and restores the latest;
        returns the model's step."""
        import tensorflow as tf
        from export import runs

        self.checkpoint = runs.checkpoint(model)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(self.out_dir, runs.CHECKPOINT_DIR), max_to_keep=3
        )
        if self.manager.latest_checkpoint:  # written under any precision (runs.restore_checkpoint)
            runs.restore_checkpoint(model, self.manager.latest_checkpoint)
            print(f"resumed from {self.manager.latest_checkpoint} at step {int(model.step)}")
        return int(model.step)

    def save_checkpoint(self, step: int) -> str:
        path = self.manager.save(checkpoint_number=step)
        self.write_progress(step)
        return path

    @property
    def latest_checkpoint(self) -> Optional[str]:
        return self.manager.latest_checkpoint if self.manager else None

    # ............................................................. progress
    def start_session(self, start_step: int, strategy_name: str, replicas: int, precision=None) -> None:
        """Opens this process's entry in ``progress.json`` (a resumed run adds one), with the
        precision it computes in (``zoo.precision.Choice.to_dict()``) where given."""
        from export import card, runs
        from zoo import autotune

        self._session_start = time.monotonic()
        self.progress = runs.read_progress(self.path) if self.chief else {}
        self._session = {
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": autotune.machine(),
            "strategy": strategy_name,
            "replicas": replicas,
            "commit": card.source_commit(),
            "start_step": start_step,
            "end_step": start_step,
            "seconds": 0.0,
        }
        if precision is not None:
            self._session["precision"] = dict(precision)
        self.progress.setdefault("sessions", []).append(self._session)  # updated in place by write_progress

    def write_progress(self, step: int) -> None:
        """``<run_dir>/progress.json``: the step reached and every session's cost (model cards)."""
        from export import runs

        if not self.chief:
            return
        self._session.update(end_step=step, seconds=round(time.monotonic() - self._session_start, 1))
        self.progress["step"] = step
        runs.write_progress(self.path, self.progress)

    # .............................................................. outputs
    def sample_path(self, step: int) -> str:
        import tensorflow as tf

        sample_dir = os.path.join(self.path, "samples")
        tf.io.gfile.makedirs(sample_dir)
        return os.path.join(sample_dir, f"step_{step:07d}.gif")

    def log_dir(self) -> str:
        return os.path.join(self.out_dir, "logs")

    def write_precision(self, choice) -> str:
        """``<worker folder>/precision.json``: the precision the model computes in here, what was
        asked for and why (a ``zoo.precision.Choice``: ``auto`` decides per machine), and the machine."""
        from zoo import autotune, files

        path = os.path.join(self.out_dir, PRECISION_FILE)
        report = {**choice.to_dict(), "machine": autotune.machine()}
        files.write_atomically(path, json.dumps(report, indent=1, sort_keys=True))
        return path

    def write_conv_choices(self, model) -> str:
        """``<worker folder>/conv_impl.json``: the implementation every stride-2 convolution
        runs (``conv_impl="auto"`` measures them; zoo.layers), and the machine it was chosen for."""
        from zoo import autotune, files, layers

        path = os.path.join(self.out_dir, CONV_CHOICES_FILE)
        report = {
            "machine": autotune.fingerprint(),
            "cache": autotune.cache_path(),
            "layers": layers.conv_choices(model),
        }
        files.write_atomically(path, json.dumps(report, indent=1, sort_keys=True))
        return path
