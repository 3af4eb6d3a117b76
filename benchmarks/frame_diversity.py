"""How different an image generator's frames are from each other, against real frames, as JSON
lines: ``python benchmarks/frame_diversity.py MODULE [MODULE ...] [--dataset=synthetic_actions]
[--num=256]``.

A check of mode collapse in a two-step model's step one (STGAN's 2D source, whose frames
activation maximization moves between; TGAN's G1; the traversal GAN's G_F): each ``MODULE``
is an image-generator hub module (``export.hub.load_image_generator``; a path or a shipped module's name, e.g.
``stgan_source_synthetic_actions``). It draws ``--num`` latents from the module's
distribution (seed ``--seed``) and compares every frame with every other by the root mean
square of their pixel difference (pixels in [-1, 1]). One line per source: ``{"source",
"frames", "mean_pairwise_rms", "median_nearest_rms", "near_duplicates"}``, the last the
fraction of frames whose nearest other frame is within ``--duplicate_rms`` (0.05: a few grey
levels). Real frames (the first frame of ``--num`` test clips of ``--dataset``, at most its test
split: 256 clips for the built-in sets) come first:
a generator that covers the data has nearest neighbours about as far apart as the real
frames' and few near-duplicates; a collapsed one repeats a few frames.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def diversity(images, duplicate_rms: float):
    """Pairwise RMS distances of ``images`` [N, ...]: their mean, the median nearest-neighbour
    distance and the fraction of images with a neighbour within ``duplicate_rms``."""
    import numpy as np

    x = np.asarray(images, np.float64).reshape(len(images), -1)
    sq = (x**2).sum(1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0.0) / x.shape[1])
    off = ~np.eye(len(x), dtype=bool)
    nearest = np.where(off, dist, np.inf).min(1)
    return {
        "mean_pairwise_rms": round(float(dist[off].mean()), 4),
        "median_nearest_rms": round(float(np.median(nearest)), 4),
        "near_duplicates": round(float((nearest < duplicate_rms).mean()), 4),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--dataset", default="synthetic_actions")
    parser.add_argument("--num", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duplicate_rms", type=float, default=0.05)
    args = parser.parse_args(argv)

    import export
    from trainers.generate import held_out_images

    generators = {handle: export.hub.load_image_generator(handle) for handle in args.modules}
    first = generators[args.modules[0]]
    frames = held_out_images(args.dataset, args.num, first.image_shape[0], first.image_shape[2], args.seed)
    emit(source=f"dataset:{args.dataset}", frames=len(frames), **diversity(frames, args.duplicate_rms))
    for handle, generator in generators.items():
        images = generator.sample(args.num, args.seed).numpy()
        emit(source=handle, frames=len(images), **diversity(images, args.duplicate_rms))


if __name__ == "__main__":
    main()
