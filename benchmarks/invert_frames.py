"""Whether an image generator can show real clips, as JSON lines: ``python
benchmarks/invert_frames.py MODULE [MODULE ...] [--dataset=moving_digits] [--clips=6]
[--sheet=inversions.png]``.

A check of a two-step model's step one (TGAN's G1, the traversal GAN's G_F, STGAN's 2D source):
step two can only move through the frames its image generator makes, so a real clip's motion
is within its reach only if every real frame is near some generated frame, and consecutive
real frames near nearby latents. For each image-generator hub module
(``export.hub.load_image_generator``) it fits one latent per frame of ``--clips`` held-out test
clips of ``--dataset`` (16 frames each) by Adam on the pixels' squared error, ``--restarts``
random starts of ``--iterations`` steps, keeping each frame's best; a uniform latent is kept in
(-1, 1) through a tanh. Then it tracks each clip: frame 0's best fit, and each next frame fitted
from the previous frame's latent. One line per module: ``{"source", "frames",
"reconstruction_rms", "tracked_rms", "blank_rms", "latent_step", "latent_spread", "latent_norm",
"draw_norm"}``: the root mean square pixel error of the independent and of the tracked fits
(pixels in [-1, 1]) beside that of an empty (all -1) frame; the mean latent distance between
consecutive frames of the tracked path beside that between two independent draws of the
latent; the mean norm of the tracked latents beside a draw's (fits far outside the distribution
are frames the generator makes only off its prior). A generator that covers the data
reconstructs well below ``blank_rms``; a clip is a short path in its latent space (what a
step-two trajectory can follow) if the tracked fits are as good with a ``latent_step`` well
below ``latent_spread``. ``--sheet`` writes a PNG per module (``<sheet>``
for the first, ``-1``, ``-2``... before the extension for the others) and the GIF beside it:
each real clip beside its tracked fits, the PNG its frames 0, 2, 4, ... side by side.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def fit(generator, frames, start, iterations: int, learning_rate: float = 0.05):
    """One Adam fit of latents to ``frames`` [N, H, W, C] from ``start`` [N, K]: the latents and
    their per-frame squared errors [N]. A uniform latent is fitted as tanh(v), kept in (-1, 1)."""
    import tensorflow as tf
    uniform = generator.latent_distribution == "uniform"
    x = tf.constant(frames, tf.float32)
    start = tf.constant(start, tf.float32)
    v = tf.Variable(tf.atanh(tf.clip_by_value(start, -0.99, 0.99)) if uniform else start)
    opt = tf.keras.optimizers.Adam(learning_rate)

    def errors():
        z = tf.tanh(v) if uniform else v
        return tf.reduce_mean(tf.square(generator(z, training=False) - x), axis=[1, 2, 3])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(errors())
        opt.apply_gradients([(tape.gradient(total, v), v)])

    for _ in range(iterations):
        step()
    return (tf.tanh(v) if uniform else v).numpy(), errors().numpy()


def invert(generator, frames, restarts: int, iterations: int, seed: int = 0):
    """The best of ``restarts`` fits (:func:`fit`) from draws of the module's distribution:
    latents [N, K] and per-frame squared errors [N]."""
    import numpy as np
    from zoo.randomness import draw_latent
    best_z, best_err = None, None
    for restart in range(restarts):
        start = draw_latent(generator.latent_distribution, [len(frames), generator.latent_dim], [seed, restart])
        z, err = fit(generator, frames, start, iterations)
        if best_err is None:
            best_z, best_err = z, err
        else:
            better = err < best_err
            best_z, best_err = np.where(better[:, None], z, best_z), np.where(better, err, best_err)
    return best_z, best_err


def write_sheet(path: str, real, fitted) -> None:
    """Each real clip [n, T, H, W, C] beside its fit, as an animated GIF (``path`` with .gif)
    and its frames 0, 2, 4, ... side by side as the PNG ``path`` (``export.card.gif_sheet``)."""
    import numpy as np
    from export.card import gif_sheet
    from zoo.data import video_io
    pairs = np.stack([real, fitted], 1).reshape((-1,) + real.shape[1:])  # real 0, fit 0, real 1, ...
    gif = os.path.splitext(path)[0] + ".gif"
    video_io.write_gif(gif, video_io.video_grid(video_io.to_uint8(pairs), cols=2))
    gif_sheet(gif, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--dataset", default="moving_digits")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", default=None)
    args = parser.parse_args(argv)

    import numpy as np
    import export
    from zoo import data
    from zoo.randomness import draw_latent

    clips = {}  # (size, channels) -> the held-out clips, loaded once per frame shape
    for i, handle in enumerate(args.modules):
        generator = export.hub.load_image_generator(handle)
        shape = (generator.image_shape[0], generator.image_shape[2])
        if shape not in clips:
            stream = data.load(args.dataset, split="test", frames=args.frames, size=shape[0], seed=args.seed,
                               channels=shape[1])
            clips[shape] = np.stack([e["video"] for e in stream.take(args.clips).as_numpy_iterator()])
        real = clips[shape].astype(np.float32)
        if len(real) < args.clips:
            raise ValueError(f"--dataset={args.dataset}: {len(real)} test clips, expected at least {args.clips}")
        flat = real.reshape((-1,) + real.shape[2:])
        z, err = invert(generator, flat, args.restarts, args.iterations, seed=args.seed)
        z, err = z.reshape(args.clips, args.frames, -1), err.reshape(args.clips, args.frames)
        # the tracked path: frame t's fit starts from frame t-1's, so a clip that is a short
        # path in the latent space is found as one (independent fits land anywhere)
        path, path_err = [z[:, 0]], [err[:, 0]]
        for t in range(1, args.frames):
            zt, et = fit(generator, real[:, t], path[-1], args.iterations)
            path.append(zt)
            path_err.append(et)
        path, path_err = np.stack(path, 1), np.stack(path_err, 1)
        a, b = (draw_latent(generator.latent_distribution, [1000, generator.latent_dim], [args.seed, k]).numpy()
                for k in (101, 102))
        emit(source=handle, dataset=args.dataset, frames=len(flat),
             reconstruction_rms=round(float(np.sqrt(err.mean())), 4),
             tracked_rms=round(float(np.sqrt(path_err.mean())), 4),
             blank_rms=round(float(np.sqrt(np.square(flat + 1).mean())), 4),
             latent_step=round(float(np.linalg.norm(np.diff(path, axis=1), axis=-1).mean()), 3),
             latent_spread=round(float(np.linalg.norm(a - b, axis=-1).mean()), 3),
             latent_norm=round(float(np.linalg.norm(path, axis=-1).mean()), 3),
             draw_norm=round(float(np.linalg.norm(a, axis=-1).mean()), 3))
        if args.sheet:
            root, ext = os.path.splitext(args.sheet)
            fitted = generator(path.reshape(len(flat), -1), training=False).numpy().reshape(real.shape)
            write_sheet(args.sheet if i == 0 else f"{root}-{i}{ext}", real, fitted)


if __name__ == "__main__":
    main()
