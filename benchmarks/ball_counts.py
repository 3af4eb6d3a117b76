"""How many balls an image generator's frames show, against real bouncing-balls frames, as JSON
lines: ``python benchmarks/ball_counts.py MODULE [MODULE ...] [--num=1024]``.

A check of a two-step model's step one (the traversal GAN's G_F, whose frames the walker
of step two moves between): each ``MODULE`` is an image-generator hub module
(``export.hub.load_image_generator``: a layer with its latent size and distribution; a path, or a shipped
module's name, e.g. ``traversal_gf_bouncing_balls``).
It draws ``--num`` latents from the module's distribution (seed ``--seed``) and counts the
balls of every frame as ``zoo.balls_check`` does for videos: the white area (luminance
above the check's threshold) over one ball's area in the real frames, rounded. One line
per source: ``{"source", "frames", "count_fraction": {count: fraction of frames}}``; real
frames of ``bouncing_balls`` (3 balls) come first.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def counts(luminance, ball_area: float, threshold: float):
    import numpy as np

    values = np.round((luminance > threshold).sum(axis=(1, 2)) / ball_area).astype(int)
    found, freq = np.unique(values, return_counts=True)
    return {int(k): round(float(f) / len(values), 4) for k, f in zip(found, freq)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--num", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import export
    from zoo import balls_check, data

    threshold = balls_check.BallCheck().threshold
    generators = {handle: export.hub.load_image_generator(handle) for handle in args.modules}
    first = generators[args.modules[0]]
    size, channels = first.image_shape[0], first.image_shape[2]
    real = data.load(
        "bouncing_balls", split="test", frames=1, size=size, channels=channels, seed=args.seed, num_examples=args.num
    )  # more than the test split's 256 clips
    frames = np.stack([e["video"][0] for e in real.take(args.num).as_numpy_iterator()])
    real_lum = balls_check.luminance(data.to_uint8(frames)[:, None])[:, 0]
    ball_area = float((real_lum > threshold).sum(axis=(1, 2)).mean()) / 3  # the data has 3 balls
    emit(source="dataset:bouncing_balls", frames=len(frames), count_fraction=counts(real_lum, ball_area, threshold))
    for handle, generator in generators.items():
        images = generator.sample(args.num, args.seed)
        lum = balls_check.luminance(data.to_uint8(images.numpy())[:, None])[:, 0]
        emit(source=handle, frames=len(lum), count_fraction=counts(lum, ball_area, threshold))


if __name__ == "__main__":
    main()
