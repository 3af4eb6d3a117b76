"""MVT speed on this machine, as JSON lines: ``python benchmarks/mvt_bench.py [--preset=mvt] [--width=96]``.

- ``train_step``: seconds per training step (``d_steps`` D updates and one G update)
  at the preset's 16 frames and frame size (``mvt``: 96x96) with ``--batch_size``
  (default 8), median of ``--steps`` after one warm-up step that traces, for the
  vanilla generator (``temporal_blocks=0``, MVT) and the temporal one
  (``temporal_blocks=2``, MVT-TSA), and the peak RSS of the process so far.
  ``--width`` sets g_width, d_width and video_d_width (the paper's 96 by default;
  smaller widths keep a run short on a small CPU).
- ``generator``: seconds of G's forward and backward pass (the part the temporal
  shift touches) with and without the shift blocks, and ``shift_op``: the shift
  alone on the first block's input, so that its relative cost can be read
  (section 4.1.3: "faster inference and uses less parameters than 3D models").
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
    parser.add_argument("--preset", default="mvt")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--gru_units", type=int, default=None)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--skip_train", action="store_true", help="only the generator and shift timings")
    args = parser.parse_args(argv)

    import tensorflow as tf
    import zoo
    from zoo import layers

    overrides = {"num_classes": 10}
    b = args.batch_size
    if args.width:
        overrides.update(g_width=args.width, d_width=args.width, video_d_width=args.width)
    if args.gru_units:
        overrides["gru_units"] = args.gru_units
    for temporal in (0, 2):
        model = zoo.build("mvt", preset=args.preset, temporal_blocks=temporal, **overrides)
        model.compile()
        cfg = model.config
        common = dict(
            model="mvt",
            preset=args.preset,
            temporal_blocks=temporal,
            batch_size=b,
            frames=cfg.frames,
            size=cfg.size,
            g_width=cfg.g_width,
            d_width=cfg.d_width,
            gru_units=cfg.gru_units,
            d_steps=cfg.d_steps,
            params=int(sum(int(tf.size(v)) for v in model.trainable_variables)),
        )
        inputs = model.sample_inputs(b, 0)
        g_vars = model.generator_variables

        @tf.function
        def generator_pass():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model.generate(inputs, training=True)["video"] ** 2)
            return tape.gradient(loss, g_vars)

        emit(bench="generator", seconds=round(median_seconds(generator_pass, args.steps), 3), **common)
        if temporal:
            x = tf.random.normal(
                [b * cfg.frames, cfg.first_size, cfg.first_size, model.frame_generator.widths[0]]
            )  # the first block's input
            shift = tf.function(lambda: layers.temporal_shift(x, cfg.frames, cfg.shift_fold_div))
            emit(bench="shift_op", input_shape=x.shape.as_list(), seconds=round(median_seconds(shift, 20), 6), **common)
        if not args.skip_train:
            batch = {
                "video": tf.random.stateless_uniform(
                    [b, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[1, 2], minval=-1, maxval=1
                ),
                "label": tf.range(b) % cfg.num_classes,
            }
            step = tf.function(model.train_step)
            seconds = median_seconds(lambda: {k: float(v) for k, v in step(batch).items()}, args.steps)
            emit(bench="train_step", seconds=round(seconds, 3), peak_rss_gib=peak_rss_gib(), **common)


if __name__ == "__main__":
    main()
