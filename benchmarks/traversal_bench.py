"""Traversal-GAN speed against the number of projected discriminators, as JSON lines:
``python benchmarks/traversal_bench.py [--preset=small] [--counts=1,8,16,48]``.

- ``train_step``: seconds per training step of each step of the method, for every
  discriminator count K in ``--counts`` (the paper: 48 for step one, 16 for step two):
  ``stage=image`` is G_F against K image discriminators on the batch's frames (one
  per video), ``stage=video`` is G_V through the frozen G_F against K video
  discriminators. Median of ``--steps`` after one warm-up step that traces, with the
  preset's sizes (``--size``, ``--frames``, ``--batch_size`` override them), untrained
  weights, and the peak RSS of the process so far. ``per_discriminator_s`` is the
  slope from the smallest K: what one more discriminator costs. ``--conv_impl``
  picks the video discriminators' stride-2 3D convolutions (``keras`` or ``stride1``,
  see BUILD_NOTES.md).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit, median_seconds, peak_rss_gib  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--counts", default="1,8,16,48")
    parser.add_argument("--stages", default="image,video")
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--conv_impl", default=None, help="keras or stride1 (default: the config's)")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)

    import tensorflow as tf
    import zoo

    overrides = {k: getattr(args, k) for k in ("size", "frames", "conv_impl") if getattr(args, k)}
    counts = [int(c) for c in args.counts.split(",")]
    for stage in args.stages.split(","):
        field = "image_discriminators" if stage == "image" else "video_discriminators"
        first = None
        for k in counts:
            model = zoo.build("traversal", preset=args.preset, stage=stage, **{field: k}, **overrides)
            model.compile()
            cfg = model.config
            b = args.batch_size or zoo.resolve_run("traversal", args.preset, cfg).batch_size
            batch = {
                "video": tf.random.stateless_uniform(
                    [b, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[1, 2], minval=-1, maxval=1
                )
            }
            step = tf.function(model.train_step)
            seconds = median_seconds(lambda: {n: float(v) for n, v in step(batch).items()}, args.steps)
            first = first or (k, seconds)
            slope = (seconds - first[1]) / (k - first[0]) if k != first[0] else None
            emit(
                bench="train_step",
                model="traversal",
                stage=stage,
                discriminators=k,
                preset=args.preset,
                batch_size=b,
                frames=cfg.frames,
                size=cfg.size,
                combine=cfg.combine,
                conv_impl=cfg.conv_impl,
                seconds=round(seconds, 4),
                per_discriminator_s=None if slope is None else round(slope, 5),
                params=int(sum(int(tf.size(v)) for v in model.trainable_variables)),
                peak_rss_gib=peak_rss_gib(),
            )


if __name__ == "__main__":
    main()
