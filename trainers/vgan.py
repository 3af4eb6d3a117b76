"""Train VGAN (Vondrick et al. 2016): ``python -m trainers.vgan --run_dir=runs/vgan``.

Flags: the common ones (see trainers/common.py) and one per field of
``zoo.vgan.VGANConfig`` (``--streams=1`` for the one-stream baseline,
``--future`` for image-conditioned future generation, ``--precision=bfloat16``).
"""

from trainers import common

common.define_flags("vgan", default_dataset="bouncing_balls")

if __name__ == "__main__":
    common.main("vgan")
