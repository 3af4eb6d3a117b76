"""What every trainer of the zoo shares: flags, strategy, data, run folder,
checkpoints and resuming, samples, TensorBoard, NaN guard and export.

A trainer module is thin::

    from trainers import common
    common.define_flags("vgan")
    if __name__ == "__main__":
        common.main("vgan")

Common flags (the same name in every trainer): ``--dataset``, ``--data_dir``,
``--data_opt=key=value`` (repeatable: the data set's options, e.g. a video folder's
``cache_dir`` or ``frame_stride``; saved with the run's flags), ``--preset``,
``--batch_size``, ``--steps``, ``--run_dir``, ``--strategy`` (default, mirrored,
multi_worker), ``--seed``, ``--export_dir``, plus ``--hub_dir``, ``--checkpoint_every``,
``--sample_every``, ``--log_every``, ``--num_samples``, and ``--eval_metrics`` /
``--eval_every`` / ``--eval_samples`` / ``--eval_c3d`` / ``--eval_lrcn`` (cheap metrics
of ``zoo.metrics`` logged to TensorBoard during training). Every field of the model's
config and of its run settings (``zoo.config.RunConfig``: the batch, STGAN's ``--am_*``) is a
flag too (``--frames``, ``--streams``, ...); unset fields keep the preset's value.

Resuming: rerunning the same command continues from the latest checkpoint in
``<run_dir>/checkpoints``. The data stream restarts at example
``step * global_batch`` and every noise draw is a function of (seed, step), so
an interrupted-and-resumed run ends with the same weights as an uninterrupted
one. SIGTERM or SIGINT (a preempted VM, a scheduler, Ctrl-C) during training
finishes the current step, writes a checkpoint at it and exits with status
``PREEMPTED_EXIT`` (75, EX_TEMPFAIL: "try again"), so no step is lost.

Exit statuses of every command line (``export.cli.exit_on_error``): 0 done, 1 the work failed,
2 bad input (flags, config, data), 75 stopped by a signal with a checkpoint written.
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import importlib
import json
import logging
import numbers
import os
import signal
import threading
import typing
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from absl import flags
from absl import logging as absl_logging
from tensorboard.plugins.image import metadata as image_metadata

import export as export_lib

# The command-line conventions every command line of the zoo shares (exit statuses, --help),
# which the trainers reach as common.<name>.
from export.cli import (
    ENCODED_OUTPUTS_HELP,
    PREEMPTED_EXIT,  # noqa: F401 (re-exported: trainers and tests read common.PREEMPTED_EXIT)
    SERVING_ROOT_HELP,
    Preempted,  # noqa: F401
    exit_on_error,
    run_cli,
    usage_error,
)
from trainers import callbacks as callbacks_lib
from trainers import run_folder

# TensorFlow, Keras, zoo and export's modules (export.runs...; the package loads them on first
# use) are imported inside the functions that use them: every command line of the zoo imports
# this module, and one that does not train (`python -m trainers.generate --help`, a bad flag)
# answers in under a second without them, where importing TensorFlow alone takes 7-12 s on this
# 2-core machine (`python -X importtime`: 6.6 s).

FLAGS = flags.FLAGS

STRATEGIES = ("default", "mirrored", "multi_worker")
#: The preset of a run without ``--preset`` (whose values the config flags' help gives).
DEFAULT_PRESET = "small"
# Config fields that are common flags (or fixed by the preset machinery).
_COMMON_CONFIG_FIELDS = ("preset", "seed", "batch_size")


class TrainingError(RuntimeError):
    """Training stopped for a reason the user must see (e.g. a non-finite loss)."""


class SetupError(ValueError):
    """The run cannot start as asked (a run folder with another config, a bad strategy...)."""


@contextlib.contextmanager
def _stop_signals():
    """While training: SIGTERM and SIGINT only record themselves (the loop checkpoints and
    stops after the current step); the previous handlers come back afterwards. Signals
    are handled in the main thread only, so elsewhere this does nothing."""
    received: List[int] = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------------- flags
#: ``export.serving.DEFAULT_SERVING_ROOT`` (a literal here: the flags load without TensorFlow).
DEFAULT_SERVING_ROOT = "/models"


def define_common_flags(
    default_dataset: str = "bouncing_balls", presets: Sequence[str] = ("paper", "small", "tiny")
) -> None:
    flags.DEFINE_string("dataset", default_dataset, "Dataset name (zoo.data.DATASETS).")
    flags.DEFINE_string("data_dir", None, "Folder (any tf.io.gfile path) for datasets read from disk.")
    flags.DEFINE_multi_string("data_opt", [], DATA_OPT_HELP)
    flags.DEFINE_string(
        "preset", DEFAULT_PRESET, f"Config preset: one of {', '.join(presets)} (zoo/<model>.py PRESETS)."
    )
    flags.DEFINE_integer("batch_size", None, "Global batch size (default: the preset's).")
    flags.DEFINE_integer("steps", 1000, "Total training steps (generator updates) of the run.")
    flags.DEFINE_string("run_dir", None, "Run folder: config.json, checkpoints/, logs/, samples/.")
    flags.DEFINE_enum("strategy", "default", list(STRATEGIES), "tf.distribute strategy.")
    flags.DEFINE_integer("seed", 0, "Seed of every random draw (noise, data, initialisation).")
    flags.DEFINE_string("export_dir", None, "If set, export a SavedModel to <export_dir>/<name>/<version>/ at the end.")
    flags.DEFINE_string("hub_dir", None, "If set, export the image generator as a TF Hub module here at the end.")
    flags.DEFINE_string("export_name", None, "Model name in the export layout (default: the model's name).")
    flags.DEFINE_string("serving_root", DEFAULT_SERVING_ROOT, "With --export_dir: " + SERVING_ROOT_HELP)
    flags.DEFINE_bool("encoded_outputs", True, "With --export_dir: " + ENCODED_OUTPUTS_HELP)
    flags.DEFINE_integer("checkpoint_every", 200, "Save a checkpoint every N steps (and at the end).")
    flags.DEFINE_integer(
        "sample_every", 500, "Write a sample GIF and TensorBoard video every N steps (and at the end)."
    )
    flags.DEFINE_integer("log_every", 10, "Write losses to TensorBoard every N steps.")
    flags.DEFINE_integer("num_samples", 16, "Videos in each sample grid.")
    flags.DEFINE_list(
        "eval_metrics",
        [],
        "Metrics (zoo.metrics, cheap ones) computed every --eval_every steps "
        "and logged to TensorBoard as metrics/<name>, e.g. fvd_local_16f,kid.",
    )
    flags.DEFINE_integer("eval_every", 500, "Steps between two --eval_metrics evaluations.")
    flags.DEFINE_integer("eval_samples", 64, "Generated (and real) clips per --eval_metrics evaluation.")
    flags.DEFINE_string("eval_c3d", None, "C3D classifier export (trainers.classifier) for --eval_metrics.")
    flags.DEFINE_string("eval_lrcn", None, "LRCN classifier export for --eval_metrics (is_lrcn, fid_frames).")
    flags.DEFINE_integer("verbose", 1, "Keras fit verbosity: 1 progress bar, 2 one line per epoch, 0 silent.")


def _flag_name(field: str) -> str:
    return field


def config_flag_help(config_cls, field, default) -> str:
    """A config field's flag help: what it means (its comment in the source, zoo.config.field_docs),
    the allowed values where there is a fixed set, and ``default``: its value in the preset a
    run gets without ``--preset`` (:data:`DEFAULT_PRESET`)."""
    from zoo import losses
    from zoo import config as config_lib

    doc = config_lib.field_docs(config_cls).get(field.name, "")
    if field.name == "loss":
        doc = (doc + "; " if doc else "") + f"one of {', '.join(sorted(losses.FAMILIES))}"
    return (
        f"{doc[0].upper() + doc[1:] + '. ' if doc else ''}Default: {default!r} (--preset={DEFAULT_PRESET}'s; "
        "each preset sets its own)."
    )


def _config_fields(model_name: str):
    """(config class, field, type) of every field of the model's config and of its run settings."""
    import zoo

    ent = zoo.entry(model_name)
    out = []
    for cls in (ent.config_cls, ent.config_cls.run_config):
        hints = typing.get_type_hints(cls)  # once per class
        out += [(cls, f, hints[f.name]) for f in dataclasses.fields(cls)]
    return out


def define_config_flags(model_name: str) -> None:
    """One flag per field of the model's config and of its run settings (typed), default
    None = keep the preset's value."""
    import zoo

    ent = zoo.entry(model_name)
    preset = dict(zip((ent.config_cls, ent.config_cls.run_config), zoo.resolve_with_run(model_name, DEFAULT_PRESET)))
    for cls, f, tp in _config_fields(model_name):
        if f.name in _COMMON_CONFIG_FIELDS or f.name in FLAGS:  # shared by two configs of one trainer
            continue
        help_ = config_flag_help(cls, f, getattr(preset[cls], f.name))
        if f.name in ent.config_cls.choices:
            flags.DEFINE_enum(f.name, None, list(ent.config_cls.choices[f.name]), help_)
        elif tp is bool:
            flags.DEFINE_bool(f.name, None, help_)
        elif tp is int:
            flags.DEFINE_integer(f.name, None, help_)
        elif tp is float:
            flags.DEFINE_float(f.name, None, help_)
        else:
            flags.DEFINE_string(f.name, None, help_)


def define_flags(model_name: str, default_dataset: str = "bouncing_balls") -> None:
    import zoo

    define_common_flags(default_dataset, presets=list(zoo.entry(model_name).presets))
    define_config_flags(model_name)


def config_overrides(model_name: str) -> Dict[str, Any]:
    """The config and run-setting fields the command line set (``Trainer``'s ``overrides``)."""
    out = {}
    for _, f, _ in _config_fields(model_name):
        if f.name in _COMMON_CONFIG_FIELDS:
            continue
        value = getattr(FLAGS, f.name)
        if value is not None:
            out[f.name] = value
    out["seed"] = FLAGS.seed
    if FLAGS.batch_size is not None:
        out["batch_size"] = FLAGS.batch_size
    return out


# ------------------------------------------------------------- data options
#: Help of ``--data_opt`` (the trainers', ``trainers.evaluate``'s and ``trainers.build_cache``'s).
DATA_OPT_HELP = (
    "An option of the data set as key=value, repeatable, e.g. --data_opt=cache_dir=/data/cache "
    "--data_opt=frame_stride=2 (video_folder: frame_stride, clips_per_video, random_crop, split_file, "
    "split_index, cache_dir, cache_shards, rebuild_cache, shuffle_buffer, probe_workers, preprocess, "
    "stabilize; the generated sets have theirs: zoo.data.options). Typed as the loader declares: int, "
    "float, bool (true/false), str, none for an optional one, comma-separated for a list. A preset may "
    "set some (VGAN's paper preset: stabilize=true for video_folder); the items given here win"
)
_NONE_WORDS = ("none", "null")
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


def _is_sequence(hint) -> bool:
    return typing.get_origin(hint) in (tuple, list, collections.abc.Sequence)


def _type_words(hint) -> str:
    """A declared type as an error names it: 'int', 'int or none', 'comma-separated str'..."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union:
        words = [_type_words(a) for a in args if a is not type(None)]
        return " or ".join(words + (["none"] if type(None) in args else []))
    if _is_sequence(hint):
        items = [a for a in args if a is not Ellipsis]
        return f"comma-separated {_type_words(items[0]) if items else 'str'}"
    if hint is bool:
        return "true or false"
    return getattr(hint, "__name__", str(hint))


def _parse_value(text: str, hint):
    """``text`` (a command line's) as a value of the declared type ``hint``; ValueError if it is none."""
    word, args, origin = text.strip(), typing.get_args(hint), typing.get_origin(hint)
    if origin is typing.Union:
        if type(None) in args and word.lower() in _NONE_WORDS:
            return None
        members = [a for a in args if a is not type(None)]
        if "," in word:  # a list, where the option takes one
            members.sort(key=lambda a: not _is_sequence(a))
        for member in members:
            try:
                return _parse_value(text, member)
            except ValueError:
                pass
        raise ValueError(text)
    if _is_sequence(hint):
        parts = [p.strip() for p in word.split(",")] if word else []
        if origin is tuple and args and args[-1] is not Ellipsis:  # Tuple[int, int]: that many
            if len(parts) != len(args):
                raise ValueError(text)
            return tuple(_parse_value(p, a) for p, a in zip(parts, args))
        return tuple(_parse_value(p, args[0] if args else str) for p in parts)
    if hint is bool:
        if word.lower() in _TRUE_WORDS + _FALSE_WORDS:
            return word.lower() in _TRUE_WORDS
        raise ValueError(text)
    if hint is int:
        return int(word)
    if hint is float:
        return float(word)
    if hint in (str, typing.Any):
        return text
    raise ValueError(f"an option of type {hint} cannot be given as text")


def _has_type(value, hint) -> bool:
    args, origin = typing.get_args(hint), typing.get_origin(hint)
    if hint is typing.Any:
        return True
    if hint is type(None):
        return value is None
    if origin is typing.Union:
        return any(_has_type(value, a) for a in args)
    if _is_sequence(hint):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_has_type(v, a) for v, a in zip(value, args))
        return all(_has_type(v, args[0] if args else str) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        kind = numbers.Integral if hint is int else numbers.Real
        return isinstance(value, kind) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def data_options(dataset: str, given) -> Dict[str, Any]:
    """The options of data set ``dataset`` (``zoo.data.options``), typed as its loader declares them.

    ``given``: ``--data_opt`` items (``["cache_dir=/data/cache", "frame_stride=2"]``) or a mapping
    (e.g. ``RunOptions.data_options``, or what ``config.json`` saved). Text is parsed into the
    option's type: int, float, bool (true/false, yes/no, 1/0), str, ``none`` for an optional one,
    comma-separated items for a list; other values must already have the type.

    Raises:
      ValueError: naming the data set, the option and what it takes, for an unknown data set or
        option, an item without ``=``, an option given twice or a value of another type.
    """
    if not given:
        return {}
    from zoo import data as data_lib

    if dataset not in data_lib.DATASETS:
        raise ValueError(f"unknown --dataset {dataset!r}; expected one of {list(data_lib.DATASETS)}")
    types, defaults = data_lib.option_types(dataset), data_lib.options(dataset)

    def takes() -> str:
        return "; ".join(f"{k} ({_type_words(types[k])}, default {defaults[k]!r})" for k in sorted(types))

    if isinstance(given, collections.abc.Mapping):
        items = list(given.items())
    else:
        items = []
        for item in [given] if isinstance(given, str) else given:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise ValueError(
                    f"--data_opt={item!r}: expected key=value (e.g. --data_opt=cache_dir=/data/cache); "
                    f"data set {dataset!r} takes: {takes()}"
                )
            items.append((key.strip(), value))
    out: Dict[str, Any] = {}
    for key, value in items:
        if key not in types:
            raise ValueError(f"--data_opt: data set {dataset!r} has no option {key!r}; it takes: {takes()}")
        if key in out:
            raise ValueError(f"--data_opt: option {key!r} of data set {dataset!r} is given twice")
        hint = types[key]
        try:
            typed = _parse_value(value, hint) if isinstance(value, str) else value
            ok = _has_type(typed, hint)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"--data_opt={key}={value}: option {key!r} of data set {dataset!r} expects "
                f"{_type_words(hint)} (default {defaults[key]!r}), got {value!r}"
            )
        out[key] = typed
    return out


def with_preset_data_options(model_name: str, preset: str, dataset: str, given) -> Dict[str, Any]:
    """The options of data set ``dataset`` for model ``model_name`` at ``preset``: what the preset
    sets (``zoo.registry.preset_data_options``, e.g. a paper's preprocessing) under ``given``
    (``--data_opt`` items or a mapping, :func:`data_options`), which wins."""
    import zoo

    return data_options(
        dataset, {**zoo.registry.preset_data_options(model_name, preset, dataset), **data_options(dataset, given)}
    )


def trainer_options() -> Dict[str, Any]:
    names = (
        "dataset",
        "data_dir",
        "steps",
        "strategy",
        "checkpoint_every",
        "sample_every",
        "log_every",
        "num_samples",
        "export_dir",
        "hub_dir",
        "export_name",
        "eval_every",
        "eval_samples",
        "eval_c3d",
        "eval_lrcn",
    )
    out = {n: getattr(FLAGS, n) for n in names}
    out["eval_metrics"] = tuple(FLAGS.eval_metrics)
    out["data_options"] = data_options(FLAGS.dataset, FLAGS.data_opt)
    out["serving_root"] = FLAGS.serving_root
    out["encoded_outputs"] = FLAGS.encoded_outputs
    return out


# -------------------------------------------------------------- the run itself
@dataclasses.dataclass
class RunOptions:
    """Everything a run needs besides the model config (the flags, as values)."""

    run_dir: str
    dataset: str = "bouncing_balls"
    data_dir: Optional[str] = None
    #: options of the data set (--data_opt; zoo.data.options), typed by validate()
    data_options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    steps: int = 1000
    strategy: str = "default"
    checkpoint_every: int = 200
    sample_every: int = 500
    log_every: int = 10
    num_samples: int = 16
    export_dir: Optional[str] = None
    hub_dir: Optional[str] = None
    export_name: Optional[str] = None
    serving_root: str = DEFAULT_SERVING_ROOT
    encoded_outputs: bool = True
    eval_metrics: Sequence[str] = ()
    eval_every: int = 500
    eval_samples: int = 64
    eval_c3d: Optional[str] = None
    eval_lrcn: Optional[str] = None
    verbose: int = 1

    def validate(self) -> None:
        def bad(msg):
            raise ValueError(msg)

        if not self.run_dir:
            bad("--run_dir is required: the folder for config.json, checkpoints/, logs/ and samples/")
        if self.strategy not in STRATEGIES:
            bad(f"--strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        for name in (
            "steps",
            "checkpoint_every",
            "sample_every",
            "log_every",
            "num_samples",
            "eval_every",
            "eval_samples",
        ):
            if getattr(self, name) < 1:
                bad(f"--{name} must be >= 1, got {getattr(self, name)}")
        self.data_options = data_options(self.dataset, self.data_options)

    def trainer_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["eval_metrics"] = list(d["eval_metrics"])
        d.pop("run_dir")
        d.pop("verbose")
        return d


def make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--strategy=multi_worker needs TF_CONFIG (cluster and task) in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")


def build_dataset(cfg, opts: RunOptions, start_step: int, global_batch: int):
    """The training stream: batches of the global size, starting at ``start_step``."""
    import tensorflow as tf
    from zoo import data as data_lib

    ds = data_lib.load(
        opts.dataset,
        split="train",
        frames=cfg.frames,
        size=cfg.size,
        data_dir=opts.data_dir,
        seed=cfg.seed,
        start=start_step * global_batch,
        channels=cfg.channels,
        **opts.data_options,
    )
    return ds.batch(global_batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def with_dataset_classes(overrides: Dict[str, Any], options: RunOptions, what: str) -> Dict[str, Any]:
    """``overrides`` with ``num_classes`` and ``class_names`` of the labelled data set ``--dataset``
    (a classifier, a class-conditional GAN); ``ValueError`` for an unlabelled data set
    or a ``--num_classes`` that disagrees with it. ``what`` names the model in errors."""
    from zoo import data as data_lib

    if options.dataset not in data_lib.DATASETS:
        raise ValueError(f"unknown --dataset {options.dataset!r}; expected one of {list(data_lib.DATASETS)}")
    names = tuple(
        data_lib.class_names(
            options.dataset, data_dir=options.data_dir, **data_options(options.dataset, options.data_options)
        )
    )
    if not names:
        raise ValueError(
            f"data set {options.dataset!r} has no labels; {what} needs a labelled one "
            "(synthetic_actions, video_folder, tfrecord)"
        )
    overrides = dict(overrides)
    given = overrides.get("num_classes")
    if given is not None and int(given) != len(names):
        raise ValueError(f"--num_classes={given} but data set {options.dataset!r} has {len(names)} classes")
    overrides["num_classes"] = len(names)
    overrides.setdefault("class_names", names)
    return overrides


def _all_finite(variables) -> bool:
    return all(np.all(np.isfinite(v.numpy())) for v in variables)


#: Data sets whose motion a person checks (``zoo.balls_check``, ``zoo.digits_check``): the end
#: of a run measures MOTION_CLIPS of its samples and as many held-out real clips, prints the
#: numbers side by side and writes them to ``<run_dir>/motion_check.json``.
MOTION_CHECKS = {
    "bouncing_balls": (
        "balls_check",
        "balls_metric",
        ("pass_rate", "free_acceleration_px", "speed_drift", "usual_count_fraction", "shape_fraction"),
    ),
    "moving_digits": (
        "digits_check",
        "digits_metric",
        ("pass_rate", "median_step_px", "median_correlation", "median_identity"),
    ),
}
MOTION_CLIPS = 64
MOTION_FILE = "motion_check.json"


def motion_report(dataset: str, generated, real) -> Dict[str, Any]:
    """The motion check of ``dataset`` (:data:`MOTION_CHECKS`) on uint8 clips: the metric's report
    with ``"headline"``, its numbers a person reads, generated and real side by side."""
    module, function, keys = MOTION_CHECKS[dataset]
    report = getattr(importlib.import_module(f"zoo.{module}"), function)(generated, real)
    report["headline"] = {source: {k: report[source][k] for k in keys} for source in ("generated", "real")}
    return report


def random_piece_warning(piece) -> str:
    """What a run is told when it trains through a random, frozen pretrained piece
    (``ModelConfig.random_frozen_pieces``)."""
    return (
        f"step two trains through a randomly initialised, frozen {piece.argument} (no --{piece.field}): "
        f"what it renders or sees is random and stays so. Pass --{piece.field}=<the step-one module> "
        f"(the --stage=image run's --hub_dir export, or a shipped one under pretrained/)"
    )


class Trainer:
    """One run: ``Trainer(model_name, preset, config_overrides, options).run()``.

    Its parts: the run folder (``trainers.run_folder.RunFolder``: config, checkpoints,
    progress, this worker's folder), the loop (:meth:`run`: the strategy, the data, one
    distributed step at a time, stopping at a failure or a signal), and the callbacks after
    each step (``trainers.callbacks``: NaN guard, scalars, checkpoints, samples, metrics;
    :meth:`callbacks`), then :meth:`after_training` and :meth:`export`. Mixed precision is
    the model's own (its layers carry ``cfg.dtype_policy``, ``precision.json`` says which and
    why); the process's Keras policy is left alone.
    """

    def __init__(
        self,
        model_name: str,
        preset: str,
        overrides: Dict[str, Any],
        options: RunOptions,
        dataset_fn: Optional[Callable] = None,
        step_callbacks: Sequence[Callable] = (),
    ):
        """``dataset_fn(cfg, options, start_step, global_batch)`` replaces the
        named dataset; ``step_callbacks`` are called as ``cb(trainer, step, logs)``
        after every step (tests use them to interrupt a run)."""
        import zoo

        options.validate()
        # The model's config and the run's settings (zoo.config.RunConfig: the batch, STGAN's
        # AM); ``overrides`` may set fields of either. ValueError before any work.
        self.cfg, self.run_cfg = zoo.resolve_with_run(model_name, preset, **overrides)
        # What the preset sets of the data set's options (VGAN's paper preset: a folder's camera
        # stabilisation), under the ones given; saved with the run's options.
        set_by_preset = {
            k: v
            for k, v in zoo.registry.preset_data_options(model_name, preset, options.dataset).items()
            if k not in options.data_options
        }
        if set_by_preset:
            options.data_options = data_options(options.dataset, {**set_by_preset, **options.data_options})
            shown = " ".join(
                f"--data_opt={k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in set_by_preset.items()
            )
            print(f"preset {preset!r} of {model_name} sets {shown} for {options.dataset} (a --data_opt overrides it)")
        self.model_name = model_name
        self.opts = options
        self.dataset_fn = dataset_fn or build_dataset
        self.step_callbacks = list(step_callbacks)
        if options.dataset and dataset_fn is None:
            from zoo import data as data_lib

            if options.dataset not in data_lib.DATASETS:
                raise ValueError(f"unknown --dataset {options.dataset!r}; expected one of {list(data_lib.DATASETS)}")
        self.failure: Optional[str] = None
        # Where the serving export goes: the config's export name (<model>_image for step one
        # of a two-step model, which serves images) unless --export_name says otherwise.
        options.export_name = options.export_name or self.cfg.export_name

    # .................................................................. setup
    def setup(self):
        import keras
        import tensorflow as tf
        from export import runs

        self.strategy = make_strategy(self.opts.strategy)
        self.folder = run_folder.RunFolder(self.opts.run_dir, self.strategy)
        self.folder.check_config(self.cfg, self.run_cfg)
        if self.opts.hub_dir:  # checked before training, not after
            export_lib.saved_model.check_new_module_dir(self.opts.hub_dir, "--hub_dir")
        if self.opts.export_dir:
            try:
                export_lib.serving.check_serving_root(self.opts.serving_root)
            except ValueError as e:
                raise ValueError(f"--serving_root: {e}") from None
        # Initial weights are a function of the seed too (resuming and the
        # strategy-equivalence checks rely on it).
        keras.utils.set_random_seed(self.cfg.seed)
        for piece in self.cfg.random_frozen_pieces():
            logging.warning(random_piece_warning(piece))
        with self.strategy.scope():
            self.model = runs.build_model(self.cfg)
            self.model.compile()
        if self.opts.hub_dir:  # before training: a model that cannot write its hub module
            export_lib.hub.check_reusable_module(self.model, self.opts.hub_dir)
        self.start_step = self.folder.restore(self.model)  # reads the checkpoints; writes nothing
        self.global_batch = int(self.run_cfg.batch_size)
        if self.global_batch % self.strategy.num_replicas_in_sync:
            raise ValueError(
                f"--batch_size {self.global_batch} must be divisible by the "
                f"{self.strategy.num_replicas_in_sync} replicas"
            )
        # The data set refuses its folder, its videos, an option's value or a stale cache here,
        # before the run folder gets its first file.
        self.train_data = self._training_data()
        # Fixed latents for samples, so that GIFs over training are comparable.
        self.sample_inputs = self._sample_inputs()
        self.metric_callback = self._metric_callback() if self.opts.eval_metrics else None
        self.folder.create(self.cfg, self.run_cfg, self.opts.trainer_dict())
        precision = self.cfg.precision_choice()  # zoo.precision: what the layers compute in, and why
        self.folder.write_precision(precision)
        print(f"precision: {precision.precision} ({precision.reason})")
        self.writer = tf.summary.create_file_writer(self.folder.log_dir())
        self.folder.start_session(
            self.start_step, self.opts.strategy, self.strategy.num_replicas_in_sync, precision.to_dict()
        )

    def _training_data(self):
        """The training stream from ``start_step``: ``global_batch`` clips per step and real
        batch the model draws (``real_batches_per_step``), laid out so that N replicas see
        what one device sees."""
        chunks = self.model.real_batches_per_step()
        ds = self.dataset_fn(self.cfg, self.opts, self.start_step, self.global_batch * chunks)
        if chunks > 1 and self.strategy.num_replicas_in_sync > 1:
            from zoo import distribute

            replicas = self.strategy.num_replicas_in_sync
            ds = ds.map(lambda b: distribute.replica_major(b, chunks, replicas))
        return ds

    @property
    def chief(self) -> bool:
        """Whether this process owns the run folder (``RunFolder.chief``)."""
        return self.folder.chief

    def callbacks(self) -> List[callbacks_lib.Callback]:
        """What runs after each step, in order (``trainers.callbacks``); a trainer adds its own
        by extending this list."""
        opts = self.opts
        parts = [callbacks_lib.ConvChoices(), callbacks_lib.NaNGuard()]
        parts += [callbacks_lib.Function(fn) for fn in self.step_callbacks]
        parts += [callbacks_lib.ModelStep(fn) for fn in self.model.step_callbacks()]
        if self.metric_callback is not None:
            parts.append(callbacks_lib.Metrics(self.metric_callback))
        return parts + [
            callbacks_lib.ProgressBar(self),
            callbacks_lib.Scalars(opts.log_every),
            callbacks_lib.Checkpoints(opts.checkpoint_every),
            callbacks_lib.Samples(opts.sample_every),
        ]

    def _metric_callback(self):
        """``--eval_metrics`` (zoo.metrics.MetricCallback) against the training data."""
        from zoo import data as data_lib
        from zoo import metrics

        networks = {
            role: export_lib.load_video_classifier(handle)
            for role, handle in (("c3d", self.opts.eval_c3d), ("lrcn", self.opts.eval_lrcn))
            if handle
        }
        needed = {r for n in self.opts.eval_metrics for r in metrics.get(n).networks}
        missing = sorted(needed - set(networks))
        if missing:
            raise ValueError(
                f"--eval_metrics={','.join(self.opts.eval_metrics)} needs "
                f"{', '.join('--eval_' + r for r in missing)} (a classifier export)"
            )
        real = data_lib.load(
            self.opts.dataset,
            split="train",
            frames=self.cfg.frames,
            size=self.cfg.size,
            data_dir=self.opts.data_dir,
            seed=self.cfg.seed + 1,
            channels=self.cfg.channels,
            **self.opts.data_options,
        )
        return metrics.MetricCallback(
            self.opts.eval_metrics,
            networks,
            metrics.dataset_source(real),
            every=self.opts.eval_every,
            num_samples=self.opts.eval_samples,
            seed=self.cfg.seed,
        )

    def _sample_inputs(self):
        """The generator inputs of the sample grids (a classifier trainer has none)."""
        import tensorflow as tf

        n = self.opts.num_samples
        if self.model.samples_from_data:  # e.g. VGAN's future mode: first frames of real clips
            return self.model.sample_inputs_from_data(next(iter(self.dataset_fn(self.cfg, self.opts, 0, n))))
        return self.model.sample_inputs(n, tf.constant([self.cfg.seed, 12345], tf.int64))

    # ............................................................ outputs
    def save(self, step: int) -> Optional[str]:
        """Saves a checkpoint, unless a weight is not finite (no poisoned checkpoints), and
        the run's progress (steps, wall time and machine of this session) beside it."""
        if not _all_finite(self.model.weights):
            self.failure = f"non-finite weights at step {step}; not saving a checkpoint"
            self.model.stop_training = True
            return None
        return self.folder.save_checkpoint(step)

    def write_samples(self, step: int) -> Optional[str]:
        from zoo import data as data_lib

        if self.sample_inputs is None:
            return None
        outputs = self.model.generate(self.sample_inputs, training=False)
        video = data_lib.to_uint8(outputs["video"].numpy())
        grid = data_lib.video_grid(video)
        if not self.chief:
            return None
        path = self.folder.sample_path(step)
        gif = data_lib.write_gif(path, grid)
        _write_gif_summary(self.writer, "samples/video", gif, grid.shape[2], grid.shape[1], step)
        return path

    # ................................................................... run
    def _distributed_step(self):
        """One training step on every replica; returns the trackers' means
        (over the steps since they were last reset) reduced over replicas."""
        import tensorflow as tf

        strategy, model = self.strategy, self.model

        @tf.function
        def step(batch):
            per_replica = strategy.run(model.train_step, args=(batch,))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

        return step

    def run(self):
        """Trains from the latest checkpoint (or from scratch) to ``--steps``.

        The loop is our own rather than ``Model.fit`` (which the models also
        support) because Keras 3.15's ``fit`` breaks under
        ``MultiWorkerMirroredStrategy`` on dict batches; one loop serves every
        strategy. Losses shown and logged are means over each ``--log_every``
        interval.
        """
        import tensorflow as tf

        try:
            self.setup()
        except SetupError:
            raise
        except ValueError as e:  # a user-facing problem found before the first step
            raise SetupError(str(e)) from e
        remaining = self.opts.steps - self.start_step
        if remaining <= 0:
            print(
                f"run {self.opts.run_dir} is already at step {self.start_step} >= --steps={self.opts.steps}; "
                "nothing to train"
            )
        else:
            options = tf.data.Options()
            # Index-based datasets have no files to shard: split each global batch.
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            batches = iter(self.strategy.experimental_distribute_dataset(self.train_data.with_options(options)))
            train_step = self._distributed_step()
            parts = self.callbacks()
            for tracker in self.model.metrics:
                tracker.reset_state()
            with _stop_signals() as signals:
                self._train_loop(self.start_step, train_step, batches, parts, signals)
            self.writer.flush()
            self.folder.write_conv_choices(self.model)  # now with what sampling chose too
            if self.failure:
                raise TrainingError(self.failure)
        self.after_training()
        return self.export()

    def _train_loop(self, step, train_step, batches, parts, signals) -> None:
        """Steps to ``--steps``, each followed by the callbacks ``parts``; stops at a failure
        (a callback set ``self.failure``), or at a signal after checkpointing the step it
        finished (raises ``Preempted``)."""
        while step < self.opts.steps:
            logs = {k: float(v) for k, v in train_step(next(batches)).items()}
            step += 1
            for part in parts:
                part.on_step(self, step, logs)
                if self.failure:
                    return
            if signals:
                saved = step % self.opts.checkpoint_every == 0 or step == self.opts.steps
                path = self.folder.latest_checkpoint if saved else self.save(step)
                self.writer.flush()
                raise Preempted(
                    f"stopped by {signal.Signals(signals[0]).name} after step {step}; checkpoint "
                    f"{path}; run the same command again to continue from it"
                )

    def motion_check(self) -> Optional[Dict[str, Any]]:
        """The motion check of the run's data set (:data:`MOTION_CHECKS`) on MOTION_CLIPS of the
        generator's clips (the weights it serves, when the run exported) against held-out real
        clips; printed and written to the run folder. None for other data sets and for models
        that draw no samples from latents."""
        import tensorflow as tf
        from zoo import data as data_lib

        if self.opts.dataset not in MOTION_CHECKS or self.sample_inputs is None or self.model.samples_from_data:
            return None
        cfg = self.cfg
        inputs = self.model.sample_inputs(MOTION_CLIPS, tf.constant([cfg.seed, 54321], tf.int64))
        generated = data_lib.to_uint8(self.model.generate(inputs, training=False)["video"].numpy())
        real = data_lib.load(
            self.opts.dataset,
            split="test",
            frames=generated.shape[1],
            size=generated.shape[2],
            data_dir=self.opts.data_dir,
            seed=cfg.seed,
            channels=generated.shape[-1],
            **self.opts.data_options,
        )
        real = data_lib.to_uint8(np.concatenate([b["video"].numpy() for b in real.take(MOTION_CLIPS).batch(32)]))
        report = motion_report(self.opts.dataset, generated, real)
        if self.chief:
            with open(os.path.join(self.opts.run_dir, MOTION_FILE), "w", encoding="utf-8") as f:
                json.dump(report, f, indent=1)
            print(f"motion check (zoo.{MOTION_CHECKS[self.opts.dataset][0]}, {MOTION_CLIPS} clips): generated (real)")
            for key, value in report["headline"]["generated"].items():
                print(f"  {key}: {_number(value)} ({_number(report['headline']['real'][key])})")
        return report

    def after_training(self) -> None:
        """Called once training reached ``--steps`` (also on a rerun of a finished run),
        before the export; e.g. the classifier trainer measures test accuracy here."""

    def export(self) -> Dict[str, str]:
        out = {}
        if not self.chief:
            return out
        # The run's model card and what else the run folder says about the model.
        card, extra = export_lib.card.export_parts(self.opts.run_dir)
        if self.opts.export_dir or self.opts.hub_dir:
            # Training is over (a checkpoint holds the raw weights): put the served ones in place.
            config = export_lib.runs.read_config(self.opts.run_dir)
            self.model.finalize_for_export(inputs=export_lib.runs.statistics_inputs(self.model, config))
        if self.opts.export_dir:
            out["saved_model"] = export_lib.export_saved_model(
                self.model,
                self.opts.export_dir,
                name=self.opts.export_name,
                extra_files=extra,
                card=card,
                serving_root=self.opts.serving_root,
                encoded_outputs=self.opts.encoded_outputs,
            )
        if self.opts.hub_dir:
            out["hub_module"] = export_lib.hub.export_reusable_module(
                self.model, self.opts.hub_dir, extra_files=extra, card=card
            )
        for k, v in out.items():
            print(f"{k}: {v}")
        self.motion_check()
        return out


def _number(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def _write_gif_summary(writer, tag: str, gif_bytes: bytes, width: int, height: int, step: int) -> None:
    """An animated GIF in TensorBoard's image plugin (it shows encoded images as-is)."""
    import tensorflow as tf

    meta = image_metadata.create_summary_metadata(display_name=tag, description="generated samples")
    tensor = tf.constant([str(width), str(height), gif_bytes], dtype=tf.string)
    with writer.as_default():
        tf.summary.write(tag, tensor, step=step, metadata=meta)


def main(
    model_name: str, argv: Optional[List[str]] = None, make_trainer: Optional[Callable[[RunOptions], "Trainer"]] = None
) -> None:
    """Entry point of ``python -m trainers.<model>``; ``make_trainer(options)`` replaces
    the default ``Trainer(model_name, --preset, <config flags>, options)``."""

    def _main(argv):
        if FLAGS.verbosity <= 0:  # absl's default (-1, WARNING) unless --verbosity asks for more
            # TF's checkpoint and SavedModel INFO lines drown the progress bar.
            absl_logging.set_verbosity(absl_logging.WARNING)
            logging.getLogger("tensorflow").setLevel(logging.WARNING)
        if len(argv) > 1:
            raise usage_error(f"unexpected arguments: {argv[1:]}")
        opts = exit_on_error(lambda: RunOptions(run_dir=FLAGS.run_dir, verbose=FLAGS.verbose, **trainer_options()))
        trainer = exit_on_error(
            lambda: (
                make_trainer(opts)
                if make_trainer is not None
                else Trainer(model_name, FLAGS.preset, config_overrides(model_name), opts)
            )
        )
        exit_on_error(trainer.run, usage=(SetupError,), failure=(TrainingError,))

    run_cli(_main, argv=argv)
