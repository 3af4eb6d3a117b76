"""Train a video classifier: ``python -m trainers.classifier --arch=c3d --run_dir=runs/c3d --hub_dir=nets/c3d``.

The zoo's feature networks for metrics (``zoo.metrics``) and STGAN's condition
network: a C3D-style 3D CNN or an LRCN-style CNN+LSTM (``zoo.classifiers``),
trained on any labelled data set of the zoo (``--dataset=synthetic_actions``,
the default; ``video_folder`` or ``tfrecord`` with ``--data_dir``). The number
of classes and their names come from the data set.

Flags: the common ones (trainers/common.py: ``--steps``, ``--batch_size``,
``--strategy``, ``--export_dir``, ``--hub_dir``, ...), ``--arch``,
``--test_examples``, and one per field of ``zoo.classifiers.C3DConfig`` /
``LRCNConfig`` (``--frames``, ``--size``, ``--width``, ``--lstm_units``...).
At the end the test split's accuracy is written to ``<run_dir>/report.json``
and into every export (``assets.extra/classifier_report.json``), and the
classifier is exported as a Hub module (``--hub_dir``) whose ``serving_default``
returns ``logits``, ``probabilities`` and ``features`` (and ``frame_features``
for LRCN).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict

from absl import flags

import zoo
from export import runs
from trainers import common
from zoo import classifiers, files
from zoo import data as data_lib

FLAGS = flags.FLAGS
ARCHS = ("c3d", "lrcn")


def define_flags() -> None:
    """The CLI's flags (defined by ``__main__`` only, so that tests can import the trainer
    next to other command modules)."""
    flags.DEFINE_enum("arch", "c3d", list(ARCHS), "Classifier architecture (zoo.classifiers).")
    flags.DEFINE_integer("test_examples", 512, "Test clips scored at the end (generated data sets; folders: all).")
    common.define_common_flags(default_dataset="synthetic_actions")
    for arch in ARCHS:
        common.define_config_flags(arch)


class ClassifierTrainer(common.Trainer):
    """The shared trainer (strategy, checkpoints, resuming, TensorBoard, export) on a
    labelled data set, plus the test accuracy at the end."""

    def __init__(
        self,
        arch: str,
        preset: str,
        overrides: Dict[str, Any],
        options: common.RunOptions,
        test_examples: int = 512,
        **kwargs,
    ):
        overrides = common.with_dataset_classes(overrides, options, "a classifier")
        if test_examples < 1:
            raise ValueError(f"--test_examples must be >= 1, got {test_examples}")
        self.test_examples = int(test_examples)
        self.report: Dict[str, Any] = {}
        super().__init__(arch, preset, overrides, options, **kwargs)

    def _sample_inputs(self):
        return None  # a classifier generates nothing

    def after_training(self) -> None:
        cfg, opts = self.cfg, self.opts
        generated = opts.dataset not in ("video_folder", "tfrecord")
        test = data_lib.load(
            opts.dataset,
            split="test",
            frames=cfg.frames,
            size=cfg.size,
            data_dir=opts.data_dir,
            seed=cfg.seed,
            channels=cfg.channels,
            num_examples=self.test_examples if generated else None,
            **opts.data_options,
        )
        scores = classifiers.accuracy(self.model, test)
        self.report = {
            "test_accuracy": scores["accuracy"],
            "test_cross_entropy": scores["cross_entropy"],
            "test_examples": scores["examples"],
            "dataset": opts.dataset,
            "split": "test",
            "step": int(self.model.step),
            "arch": cfg.model_name,
            "class_names": list(cfg.class_names),
        }
        if self.chief:
            files.write_atomically(
                os.path.join(opts.run_dir, runs.REPORT_FILE), json.dumps(self.report, indent=2, sort_keys=True)
            )
        print(f"test accuracy {scores['accuracy']:.4f} on {scores['examples']} clips of {opts.dataset}/test")


def _overrides(arch: str) -> Dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(zoo.entry(arch).config_cls)}
    foreign = sorted(
        name
        for other in ARCHS
        if other != arch
        for name in (f.name for f in dataclasses.fields(zoo.entry(other).config_cls))
        if name not in fields and getattr(FLAGS, name, None) is not None
    )
    if foreign:
        raise ValueError(f"flag(s) {['--' + n for n in foreign]} do not apply to --arch={arch}")
    return common.config_overrides(arch)


def make_trainer(options: common.RunOptions) -> ClassifierTrainer:
    return ClassifierTrainer(
        FLAGS.arch, FLAGS.preset, _overrides(FLAGS.arch), options, test_examples=FLAGS.test_examples
    )


if __name__ == "__main__":
    define_flags()
    common.main("classifier", make_trainer=make_trainer)
