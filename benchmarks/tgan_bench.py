"""TGAN speed on this machine, as JSON lines: ``python benchmarks/tgan_bench.py [--preset=paper]``.

- ``train_step``: seconds per training step of each stage (``image``: G1/D1 on the
  batch's B*16 frames; ``video``: G0/D0 through G1 and D1'), median of ``--steps``
  after one warm-up step that traces, with the preset's batch size (``--batch_size``
  overrides), and the peak RSS of the process so far.
- ``long_video``: frames/s of long-video generation (``long_video``, section 4.2:
  16 N frames from N latents of a random walk) for N in ``--segments``, batch 1 and
  ``--gen_batch``, from the Keras model under ``tf.function``.
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
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--batch_size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--segments", default="1,4,16")
    parser.add_argument("--gen_batch", type=int, default=8)
    args = parser.parse_args(argv)

    import tensorflow as tf
    import zoo

    for stage in ("image", "video"):
        model = zoo.build("tgan", preset=args.preset, stage=stage)
        model.compile()
        cfg = model.config
        b = args.batch_size or zoo.resolve_run("tgan", args.preset, cfg).batch_size
        batch = {
            "video": tf.random.stateless_uniform(
                [b, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[1, 2], minval=-1, maxval=1
            )
        }
        step = tf.function(model.train_step)
        seconds = median_seconds(lambda: {k: float(v) for k, v in step(batch).items()}, args.steps)
        emit(
            bench="train_step",
            model="tgan",
            stage=stage,
            preset=args.preset,
            batch_size=b,
            frames=cfg.frames,
            size=cfg.size,
            seconds=round(seconds, 3),
            peak_rss_gib=peak_rss_gib(),
        )

    long = tf.function(lambda z: model.long_video(z, training=False))
    for n in (int(s) for s in args.segments.split(",")):
        for b in (1, args.gen_batch):
            z = model.sample_long_latent(b, n, [3, n])
            seconds = median_seconds(lambda: long(z).numpy(), args.steps)
            emit(
                bench="long_video",
                model="tgan",
                preset=args.preset,
                segments=n,
                batch=b,
                frames=16 * n,
                seconds=round(seconds, 4),
                frames_per_s=round(b * 16 * n / seconds, 1),
            )


if __name__ == "__main__":
    main()
