"""Train TGAN (Saito et al. 2017) in its two steps: ``python -m trainers.tgan --stage=image|video``.

Step one (section 3.3), ``--stage=image``: the image generator G1 and image
discriminator D1 on all frames of the video data set; ``--hub_dir`` exports G1
as an image-generator hub module and ``--features_hub_dir`` D1' (D1 without its
loss layer) as an image-features module.

Step two, ``--stage=video``: the temporal generator G0 and discriminator D0, with
G1 (``--image_generator_handle``) and D1' (``--image_features_handle``) loaded from
hub handles or paths and frozen but their batch-norm gamma/beta (section 5.2). Any
module in the image-generator interface works as G1, e.g. VGAN's background stream
(section 4.3, pre-trained models); without D1' a fresh one trains with D0. The
export serves ``serving_default`` (z0 -> 16 frames), ``interpolate`` and
``long_video`` (section 4); ``python -m trainers.generate`` writes them as GIF/MP4.

Flags: the common ones (trainers/common.py) and one per field of
``zoo.tgan.TGANConfig`` (``--objective=wgan_svc`` for the later WGAN version with
singular value clipping, ``--d_noise``...). Presets: paper (UCF-101, 48x48), mnist
(64x64), small, tiny.
"""

from __future__ import annotations

from typing import Dict

from absl import flags

import export as export_lib
from trainers import common

FLAGS = flags.FLAGS

flags.DEFINE_string("features_hub_dir", None, "Stage image: also export D1' (image features) as a hub module here.")
common.define_flags("tgan", default_dataset="moving_digits")


class TGANTrainer(common.Trainer):
    """The shared trainer plus D1''s export after step one."""

    def __init__(self, *args, features_hub_dir=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.features_hub_dir = features_hub_dir
        if features_hub_dir and self.cfg.stage != "image":
            raise ValueError("--features_hub_dir exports D1' after --stage=image; got --stage=video")

    def export(self) -> Dict[str, str]:
        out = super().export()
        if self.chief and self.features_hub_dir:
            cfg = self.cfg
            out["features_hub_module"] = export_lib.export_image_features(
                self.model.image_features(), (cfg.size, cfg.size, cfg.channels), self.features_hub_dir
            )
            print(f"features_hub_module: {out['features_hub_module']}")
        return out


def make_trainer(options: common.RunOptions) -> TGANTrainer:
    return TGANTrainer(
        "tgan", FLAGS.preset, common.config_overrides("tgan"), options, features_hub_dir=FLAGS.features_hub_dir
    )


if __name__ == "__main__":
    common.main("tgan", make_trainer=make_trainer)
