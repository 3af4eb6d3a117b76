"""Run folders: the resolved config and the checkpoints a trainer leaves.

Layout (DESIGN.md, "Runs and artifacts")::

    <run_dir>/config.json      {"model": <zoo.to_dict(config)>, "run": <zoo.to_dict(run settings)>,
                                "trainer": {...flags...}}
    <run_dir>/checkpoints/     tf.train.Checkpoint(weights={path: variable}, g_optimizer, d_optimizer)
                           (a classifier: weights, optimizer; float16: also g_loss_scale, d_loss_scale)

The checkpoint holds every weight of the model by its Keras path (trainable
weights and batch-norm moving statistics alike; Keras 3 layers do not expose
their sub-layers to ``tf.train.Checkpoint`` by attribute, so the weights are
listed explicitly) and the optimizers with their state and step counters, so
a run resumes exactly and an export can rebuild the model from
``config.json`` plus the weights.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional

import tensorflow as tf

import zoo
from zoo import files

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
#: A classifier run's test report (written by trainers.classifier, carried into its exports).
REPORT_FILE = "report.json"
#: How far the run got and what it cost: step, commit, and each training session's
#: machine, steps and wall time (written with every checkpoint; read by model cards).
PROGRESS_FILE = "progress.json"


def read_config(run_dir: str) -> Dict[str, Any]:
    """``config.json`` of a run folder: ``{"model", "run", "trainer"}``. A folder written before
    run settings left the model configs holds them in ``"model"`` (``batch_size``, STGAN's
    ``am_*``): they are read as its ``"run"``, so that it resumes and exports as before."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        raise ValueError(f"{run_dir!r} is not a run folder: expected {path} (written by a trainer)")
    with tf.io.gfile.GFile(path) as f:
        saved = json.load(f)
    model = saved.get("model") or {}
    if "run" not in saved and model.get("model") in zoo.names():
        saved["model"], saved["run"] = zoo.registry.split_fields(model["model"], model)
    return saved


def write_config(run_dir: str, model_config, run=None, trainer: Optional[Dict[str, Any]] = None) -> str:
    """Writes ``config.json``: the model's config, the run's settings (``zoo.config.RunConfig``)
    and the trainer's options."""
    tf.io.gfile.makedirs(run_dir)
    return files.write_atomically(
        os.path.join(run_dir, CONFIG_FILE),
        json.dumps(
            {
                "model": zoo.to_dict(model_config),
                "run": zoo.to_dict(run) if run is not None else {},
                "trainer": trainer or {},
            },
            indent=2,
            sort_keys=True,
        ),
    )


def read_progress(run_dir: str) -> Dict[str, Any]:
    """``progress.json`` of a run folder (``{}`` before the first checkpoint)."""
    path = os.path.join(run_dir, PROGRESS_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def write_progress(run_dir: str, progress: Dict[str, Any]) -> str:
    return files.write_atomically(os.path.join(run_dir, PROGRESS_FILE), json.dumps(progress, indent=1, sort_keys=True))


def checkpoint(model, optional: bool = True) -> tf.train.Checkpoint:
    """The checkpoint object every trainer saves and every loader restores: the weights, the
    model's ``checkpointed_state()`` and (``optional``) its ``optional_checkpointed_state()``."""
    weights = {v.path: v for v in model.weights}
    if len(weights) != len(model.weights):
        raise ValueError(f"{model.name}: weight paths are not unique; give every layer a unique name")
    state = dict(model.checkpointed_state())
    if optional:
        state.update(model.optional_checkpointed_state())
    return tf.train.Checkpoint(weights=weights, **state)


def restore_checkpoint(model, path: str) -> None:
    """Restores ``path`` into ``model``: every weight and ``checkpointed_state()`` must be there
    (assert_existing_objects_matched), ``optional_checkpointed_state()`` where it is (float16's
    loss scale: a checkpoint written under another precision lacks it)."""
    checkpoint(model, optional=False).restore(path).assert_existing_objects_matched()
    optional = model.optional_checkpointed_state()
    if optional:
        tf.train.Checkpoint(**optional).restore(path).expect_partial()


def latest_checkpoint(run_dir: str) -> Optional[str]:
    return tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR))


def build_model(cfg):
    """``zoo``'s builder for ``cfg`` with the pretrained pieces its config class declares
    (``pieces``: config field, builder argument, interface, what stays trainable) loaded
    from the handles or paths in those fields: e.g. TGAN's step-two G1 and D1' (their
    batch-norm gamma/beta train, section 5.2), the traversal GAN's frozen G_F, STGAN's 2D
    source rebuilt as Keras layers, MVT's optical-flow module. zoo itself never loads a
    handle. The trainers and :func:`load_run` both build through here, and the model's
    contract (``zoo.contract.check``) is checked here (and again by every export, which
    may be handed a model built otherwise)."""
    from export import hub
    from zoo import contract

    pieces = {}
    for piece in type(cfg).pieces:
        loaded = hub.load_piece(piece, cfg)
        if loaded is not None:
            pieces[piece.argument] = loaded
    model = zoo.entry(cfg.model_name).builder(cfg, **pieces)
    contract.check(model)
    return model


def statistics_inputs(model, run_config: Dict[str, Any], batches: int = 4, batch_size: int = 64):
    """The generator inputs ``finalize_for_export`` measures served batch-norm statistics on:
    None (nothing to measure, or the model draws its own latents) or, for a model that serves
    weights kept in its training state (``export_needs_training_state``: a generator's average)
    and whose inputs come from data (``samples_from_data``: VGAN's future mode), ``batches``
    batches of the run's training data (``run_config``: a run folder's config.json) as the model
    takes them (its first frames)."""
    if not (model.export_needs_training_state and model.samples_from_data):
        return None
    from zoo import data

    trainer, cfg = run_config["trainer"], model.config
    stream = data.load(
        trainer["dataset"],
        split="train",
        frames=cfg.frames,
        size=cfg.size,
        data_dir=trainer.get("data_dir"),
        seed=cfg.seed,
        channels=cfg.channels,
        **trainer.get("data_options", {}),
    )
    return [model.sample_inputs_from_data(batch) for batch in stream.batch(batch_size).take(batches)]


def load_run(run_dir: str, checkpoint_path: Optional[str] = None):
    """Rebuilds the model of a run folder and restores its latest (or given) checkpoint, with the
    weights it serves in place (``finalize_for_export``: a generator's running average)."""
    cfg = read_config(run_dir)
    model = build_model(zoo.from_dict(cfg["model"]))
    path = checkpoint_path or latest_checkpoint(run_dir)
    if path is None:
        raise ValueError(f"run folder {run_dir!r} has no checkpoint under {CHECKPOINT_DIR}/")
    if model.export_needs_training_state:  # e.g. a generator's running average, kept by its optimizer
        model.compile()
    checkpoint(model).restore(path).expect_partial()
    model.finalize_for_export(inputs=statistics_inputs(model, cfg))
    return model
