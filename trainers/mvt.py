"""Train MVT-GAN / MVT-TSA (Munoz et al. 2020): ``python -m trainers.mvt --run_dir=runs/mvt``.

A class-conditional video GAN on a labelled data set (default ``synthetic_actions``;
``--dataset=video_folder --data_dir=UCF101`` for a UCF-101-layout folder): the
number of classes and their names come from the data set. Presets: the four
configurations of section 6.2 (``mvt``, ``mvt_mc``, ``mvt_var``, ``mvt_tsa``;
``paper`` = ``mvt_tsa``), ``small`` and ``tiny``. Every field of
``zoo.mvt.MVTConfig`` is a flag (``--temporal_blocks``, ``--motion_weight``,
``--flow_handle`` for an optical-flow hub module, ``--image_frames``...).

The export serves ``serving_default`` (z, label), ``class_interpolation`` and
``intra_class_interpolation``; ``python -m trainers.generate`` writes them, and
``python -m trainers.evaluate --metrics=s3,is_c3d`` measures them.
"""

from __future__ import annotations

from absl import flags

from trainers import common

FLAGS = flags.FLAGS


class MVTTrainer(common.Trainer):
    """The shared trainer with the class count and names taken from the data set."""

    def __init__(self, preset, overrides, options: common.RunOptions, **kwargs):
        overrides = common.with_dataset_classes(overrides, options, "MVT (a class-conditional GAN)")
        super().__init__("mvt", preset, overrides, options, **kwargs)


def make_trainer(options: common.RunOptions) -> MVTTrainer:
    return MVTTrainer(FLAGS.preset, common.config_overrides("mvt"), options)


if __name__ == "__main__":
    common.define_flags("mvt", default_dataset="synthetic_actions")
    common.main("mvt", make_trainer=make_trainer)
