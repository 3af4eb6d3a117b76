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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--num", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import export
    from zoo import balls_check, data

    generators = {handle: export.hub.load_image_generator(handle) for handle in args.modules}
    first = generators[args.modules[0]]
    size, channels = first.image_shape[0], first.image_shape[2]
    real = data.load(
        "bouncing_balls", split="test", frames=1, size=size, channels=channels, seed=args.seed, num_examples=args.num
    )  # more than the test split's 256 clips
    frames = data.to_uint8(np.stack([e["video"][0] for e in real.take(args.num).as_numpy_iterator()]))
    area = balls_check.ball_area(frames, balls=3)  # the data has 3 balls

    def counts(images):
        return {k: round(f, 4) for k, f in balls_check.frame_counts(images, area).items()}

    emit(source="dataset:bouncing_balls", frames=len(frames), count_fraction=counts(frames))
    for handle, generator in generators.items():
        images = data.to_uint8(generator.sample(args.num, args.seed).numpy())
        emit(source=handle, frames=len(images), count_fraction=counts(images))


if __name__ == "__main__":
    main()
