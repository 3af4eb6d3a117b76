"""Whether an image generator can show real clips, as JSON lines: ``python
benchmarks/invert_frames.py MODULE [MODULE ...] [--dataset=moving_digits] [--data_opt=num_digits=1]
[--clips=6] [--sheet=inversions.png]``.

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

``--shift=PX`` adds a second line per module, a check that needs no data: can the generator
move its own frames? 32 of its frames (seed ``--seed``) are shifted right by PX pixels a step,
``--shift_steps`` steps (black enters), each step's target fitted from the previous step's
latent: ``{"shift_rms", "still_rms", "shift_latent_step", "midpoint_rms"}``: the fits' pixel RMS
beside that of not moving at all (the previous fit against the new target), the latent distance
per step, and the RMS between the target and the frame at the midpoint of two steps' latents
(how far an interpolated latent, as TGAN's G0 up-samples its trajectory, is from the middle
frame). A generator whose latent space holds its frames' translations fits the shifted frames
far below ``still_rms``; one that morphs a glyph while moving it stays near it.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import emit  # noqa: E402


def fit(generator, frames, start, iterations: int, learning_rate: float = 0.05):
    """One Adam fit of latents to ``frames`` [N, ...] (images [N, H, W, C], or clips [N, T, H, W,
    C] through a video generator) from ``start`` [N, K]: the latents and their mean squared errors
    [N]. A uniform latent is fitted as tanh(v), kept in (-1, 1)."""
    import tensorflow as tf

    uniform = generator.latent_distribution == "uniform"
    x = tf.constant(frames, tf.float32)
    start = tf.constant(start, tf.float32)
    v = tf.Variable(tf.atanh(tf.clip_by_value(start, -0.99, 0.99)) if uniform else start)
    opt = tf.keras.optimizers.Adam(learning_rate)

    def errors():
        z = tf.tanh(v) if uniform else v
        return tf.reduce_mean(tf.square(generator(z, training=False) - x), axis=list(range(1, x.shape.rank)))

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


def clip_check(generator, real, restarts: int, iterations: int, seed: int = 0):
    """The real-clip measurements (module docstring) of ``real`` [N, T, H, W, C]: a dict of
    rounded floats, and the tracked fits' frames [N, T, H, W, C] (for ``--sheet``)."""
    import numpy as np
    from zoo.randomness import draw_latent

    clips, frames = real.shape[:2]
    flat = real.reshape((-1,) + real.shape[2:])
    z, err = invert(generator, flat, restarts, iterations, seed=seed)
    z, err = z.reshape(clips, frames, -1), err.reshape(clips, frames)
    # the tracked path: frame t's fit starts from frame t-1's, so a clip that is a short
    # path in the latent space is found as one (independent fits land anywhere)
    path, path_err = [z[:, 0]], [err[:, 0]]
    for t in range(1, frames):
        zt, et = fit(generator, real[:, t], path[-1], iterations)
        path.append(zt)
        path_err.append(et)
    path, path_err = np.stack(path, 1), np.stack(path_err, 1)
    a, b = (
        draw_latent(generator.latent_distribution, [1000, generator.latent_dim], [seed, k]).numpy() for k in (101, 102)
    )
    numbers = dict(
        frames=len(flat),
        reconstruction_rms=round(float(np.sqrt(err.mean())), 4),
        tracked_rms=round(float(np.sqrt(path_err.mean())), 4),
        blank_rms=round(float(np.sqrt(np.square(flat + 1).mean())), 4),
        latent_step=round(float(np.linalg.norm(np.diff(path, axis=1), axis=-1).mean()), 3),
        latent_spread=round(float(np.linalg.norm(a - b, axis=-1).mean()), 3),
        latent_norm=round(float(np.linalg.norm(path, axis=-1).mean()), 3),
        draw_norm=round(float(np.linalg.norm(a, axis=-1).mean()), 3),
    )
    return numbers, generator(path.reshape(len(flat), -1), training=False).numpy().reshape(real.shape)


def shift_check(generator, pixels: int, steps: int, iterations: int, seed: int = 0, count: int = 32):
    """``--shift``'s measurements (module docstring): a dict of rounded floats."""
    import numpy as np
    import tensorflow as tf
    from zoo.randomness import draw_latent

    width = generator.image_shape[1]
    if pixels < 1 or steps < 1 or pixels * steps >= width:
        raise ValueError(
            f"--shift={pixels} --shift_steps={steps}: expected a shift of at least 1 pixel, at least "
            f"1 step, and pixels * steps below the frames' width ({width})"
        )

    def shifted(x, px):  # frames moved right by px pixels, black (-1) entering from the left
        out = np.full_like(x, -1.0)
        out[:, :, px:] = x[:, :, : x.shape[2] - px]
        return out

    def render(z):
        return generator(tf.constant(z, tf.float32), training=False).numpy()

    def rms(a, b):
        return float(np.sqrt(np.mean(np.square(a - b))))

    z = draw_latent(generator.latent_distribution, [count, generator.latent_dim], [seed, 7]).numpy()
    first = render(z)
    latents, fit_rms, still_rms = [z], [], []
    for t in range(1, steps + 1):
        target = shifted(first, pixels * t)
        zt, err = fit(generator, target, latents[-1], iterations)
        fit_rms.append(float(np.sqrt(err.mean())))
        still_rms.append(rms(render(latents[-1]), target))
        latents.append(zt)
    mid = [rms(render((latents[t - 1] + latents[t + 1]) / 2), shifted(first, pixels * t)) for t in range(1, steps)]
    return dict(
        shift_pixels=pixels,
        shift_steps=steps,
        shift_rms=round(float(np.mean(fit_rms)), 4),
        still_rms=round(float(np.mean(still_rms)), 4),
        shift_latent_step=round(float(np.linalg.norm(np.diff(np.stack(latents), axis=0), axis=-1).mean()), 3),
        midpoint_rms=round(float(np.mean(mid)), 4) if mid else None,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="+")
    parser.add_argument("--dataset", default="moving_digits")
    parser.add_argument(
        "--data_opt",
        action="append",
        default=[],
        help="an option of the data set as key=value, repeatable (e.g. num_digits=1)",
    )
    parser.add_argument("--clips", type=int, default=6, help="held-out clips to fit (0: only --shift)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", default=None)
    parser.add_argument(
        "--shift",
        type=int,
        default=0,
        help="also check moving the generator's own frames by this many pixels a step (0: not)",
    )
    parser.add_argument("--shift_steps", type=int, default=4)
    args = parser.parse_args(argv)

    import numpy as np
    import export
    from zoo import data
    from trainers.common import data_options

    options = data_options(args.dataset, args.data_opt)

    clips = {}  # (size, channels) -> the held-out clips, loaded once per frame shape
    for i, handle in enumerate(args.modules):
        generator = export.hub.load_image_generator(handle)
        shape = (generator.image_shape[0], generator.image_shape[2])
        if args.clips > 0:  # --clips=0: only the --shift check
            if shape not in clips:
                stream = data.load(
                    args.dataset,
                    split="test",
                    frames=args.frames,
                    size=shape[0],
                    seed=args.seed,
                    channels=shape[1],
                    **options,
                )
                clips[shape] = np.stack([e["video"] for e in stream.take(args.clips).as_numpy_iterator()])
            real = clips[shape].astype(np.float32)
            if len(real) < args.clips:
                raise ValueError(f"--dataset={args.dataset}: {len(real)} test clips, expected at least {args.clips}")
            numbers, fitted = clip_check(generator, real, args.restarts, args.iterations, args.seed)
            emit(source=handle, dataset=args.dataset, data_options=options, **numbers)
            if args.sheet:
                root, ext = os.path.splitext(args.sheet)
                write_sheet(args.sheet if i == 0 else f"{root}-{i}{ext}", real, fitted)
        if args.shift > 0:
            emit(
                source=handle,
                check="shift",
                **shift_check(generator, args.shift, args.shift_steps, args.iterations, seed=args.seed),
            )


if __name__ == "__main__":
    main()
