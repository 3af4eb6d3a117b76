"""Train the manifold-traversal GAN (Monteiro et al.) in its two steps.

``python -m trainers.traversal --stage=image|video``.

Step one, ``--stage=image``: the frame generator G_F against ``--image_discriminators``
(K = 48 in the paper) discriminators, each looking at its own fixed random projection
of a frame sampled from the videos; ``--hub_dir`` exports G_F as an image-generator
hub module. Its serving export is named ``traversal_image`` (it serves images).

Step two, ``--stage=video``: the recurrent latent walker G_V against
``--video_discriminators`` (16) projected video discriminators, with G_F loaded from
``--image_generator_handle`` (a hub handle or path; step one's module or any module in
the image-generator interface whose latent size is ``--image_latent_dim``) and frozen
entirely. The export serves ``serving_default`` (z_v -> video), ``interpolation``
(z_a, z_b, alpha) and ``long_video`` (``--long_segments`` latents -> that many times
more frames); ``python -m trainers.generate`` writes them as GIF/MP4.

Flags: the common ones (trainers/common.py) and one per field of
``zoo.traversal.TraversalConfig`` (``--combine``: ``mean``, the paper's reference [11]
and the paper preset's, or ``hypervolume``, the authors' later code and the other presets';
``--nadir_slack``, ...). ``--batch_size`` and ``--learning_rate`` default to the
paper's values of the stage (64 frames, 3e-4 / 8 videos, 2e-4). Presets: paper
(64x64, 30 frames, three bouncing balls), small, tiny.
"""

from __future__ import annotations

from absl import flags

from trainers import common

FLAGS = flags.FLAGS


def make_trainer(options: common.RunOptions) -> common.Trainer:
    return common.Trainer("traversal", FLAGS.preset, common.config_overrides("traversal"), options)


if __name__ == "__main__":
    common.define_flags("traversal", default_dataset="bouncing_balls")
    common.main("traversal", make_trainer=make_trainer)
