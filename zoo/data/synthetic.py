"""Built-in synthetic videos (no download), and the index-addressed pipeline every dataset uses.

Three data sets, generated on the fly; two from the video-generation literature:

* ``bouncing_balls`` imitates Sutskever, Hinton & Taylor's bouncing balls
  ("The recurrent temporal restricted Boltzmann machine", NIPS 2008; the
  ``bounce_n`` / ``matricize`` script later reused by TSBN, Gan et al. 2015, and
  by the manifold-traversal GAN of Monteiro et al.): balls of equal mass in a
  square box, elastic collisions with each other and with the walls, rendered as
  soft discs ``exp(-(d^2 / r^2)^4)`` on black.
* ``moving_digits`` imitates Moving MNIST (Srivastava, Mansimov & Salakhutdinov,
  "Unsupervised learning of video representations using LSTMs", ICML 2015): 28x28
  digits bouncing in a 64x64 canvas with step 0.1 of the free range per frame,
  overlaid by ``max``. The digits are rendered from a font with per-sample affine
  jitter, or taken from MNIST files, or the clips are served from the released
  ``mnist_test_seq.npy`` when ``data_dir`` holds them.
* ``synthetic_actions``: a labelled benchmark whose 10 classes (:data:`ACTIONS`) differ
  only by motion: one object moving right, left, down or up, circling clockwise or
  counterclockwise, zooming in or out, falling and bouncing on a floor, or shaking
  sideways. Shape (:data:`SHAPES`), color, background (a static gradient or
  low-frequency texture, kept at a luminance gap from the object), size range and
  placement are drawn the same way for every class, and a random frame's size and
  position have nearly the same distribution in every class, so a classifier must use
  time to score well. Train and test are fixed by the seed; any frame count and size.
  For conditional models and for checking video classifiers.

Every element ``i`` of a stream is computed directly from ``(seed, split, i)``
(:func:`sample_rng`), so ``load(..., start=k)`` is exactly ``load(...).skip(k)``
without generating the first ``k`` elements. :func:`indexed_dataset` turns such an
element function into a ``tf.data`` pipeline; the video-folder data set uses it too.
"""

from __future__ import annotations

import colorsys
import functools
import gzip
import io
from typing import Callable, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from zoo.data import video_io

# Each split draws from its own random stream; they never share an element.
_SPLIT_STREAMS = {"train": 1, "val": 2, "test": 3}
_ORDER_STREAM = 0  # the stream of per-epoch shuffles
DEFAULT_TEST_EXAMPLES = 256

ElementFn = Callable[..., Tuple[np.ndarray, int]]  # (index or rng) -> (uint8 video, label)


# --------------------------------------------------------------------------- randomness


def seed_word(seed: int) -> int:
    """Any Python int as the non-negative 64-bit word numpy's SeedSequence wants."""
    return int(seed) & 0xFFFF_FFFF_FFFF_FFFF


def sample_rng(seed: int, split: str, index: int, *extra: int) -> np.random.Generator:
    """The generator of element ``index`` of ``split`` (plus optional ``extra`` words)."""
    return np.random.default_rng([seed_word(seed), _SPLIT_STREAMS[split], int(index), *extra])


@functools.lru_cache(maxsize=8)
def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits a pool of ``n`` examples (a permutation)."""
    order = np.random.default_rng([seed_word(seed), _ORDER_STREAM, int(epoch)]).permutation(n)
    order.setflags(write=False)
    return order


def epoch_position(index: int, n: int, seed: int) -> Tuple[int, int]:
    """Maps stream position ``index`` over a pool of ``n`` examples, reshuffled every epoch,
    to ``(epoch, pool_index)``."""
    epoch, position = divmod(int(index), n)
    return epoch, int(epoch_order(seed, epoch, n)[position])


# --------------------------------------------------------------------------- pipeline


def indexed_dataset(
    element_fn: ElementFn,
    *,
    shape: Tuple[int, int, int, int],
    channels: int,
    start: int = 0,
    stop: Optional[int] = None,
) -> tf.data.Dataset:
    """A dataset of ``{"video", "label"}`` whose element ``i`` is ``element_fn(i)``.

    Args:
      element_fn: ``i -> (uint8 video of shape `shape`, int label)``, a pure function of ``i``.
      shape: the static ``[T, H, W, C]`` of the videos ``element_fn`` returns.
      channels: channels of the output (gray is replicated to RGB, RGB reduced to luminance).
      start: the first index.
      stop: one past the last index; None for an infinite stream.

    Returns:
      ``{"video": float32 [T, H, W, channels] in [-1, 1], "label": int32 []}``, in index
      order (the parallel map is deterministic).
    """
    indices = tf.data.Dataset.counter(start) if stop is None else tf.data.Dataset.range(start, max(start, stop))

    def element(index):
        video, label = element_fn(int(index))
        return np.asarray(video, np.uint8), np.int32(label)

    def to_example(index):
        video, label = tf.numpy_function(element, [index], (tf.uint8, tf.int32), stateful=False)
        video = tf.ensure_shape(video, shape)
        return {
            "video": tf.ensure_shape(
                video_io.match_channels(video_io.to_float(video), channels), list(shape[:3]) + [channels]
            ),
            "label": tf.ensure_shape(label, []),
        }

    return indices.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _generated_stream(
    make_example: ElementFn,
    *,
    split: str,
    seed: int,
    start: int,
    num_examples: Optional[int],
    shape: Tuple[int, int, int, int],
    channels: int,
) -> tf.data.Dataset:
    """The stream of a generator ``make_example(rng) -> (uint8 video, label)``: train is
    infinite (over a pool of ``num_examples`` reshuffled every epoch when given), test/val
    are ``num_examples`` (default 256) long."""

    def element(i):
        if split == "train" and num_examples is not None:
            i = epoch_position(i, num_examples, seed)[1]
        return make_example(sample_rng(seed, split, i))

    stop = None if split == "train" else (num_examples or DEFAULT_TEST_EXAMPLES)
    return indexed_dataset(element, shape=shape, channels=channels, start=start, stop=stop)


def _reflect(position: np.ndarray, velocity: np.ndarray, low: float, high: float) -> None:
    """Elastic reflection off walls at ``low`` and ``high`` (in place, per coordinate)."""
    below, above = position < low, position > high
    position[below] = 2 * low - position[below]
    position[above] = 2 * high - position[above]
    velocity[below] = np.abs(velocity[below])
    velocity[above] = -np.abs(velocity[above])


# --------------------------------------------------------------------------- bouncing balls


def bouncing_balls_trajectory(
    rng: np.random.Generator,
    frames: int,
    num_balls: int = 3,
    radius: float = 0.125,
    speed: float = 0.05,
    substeps: int = 2,
) -> np.ndarray:
    """Ball centers ``[frames, num_balls, 2]`` (y, x) in units of the box side.

    As in Sutskever's ``bounce_n``: non-overlapping uniform start positions, a
    Gaussian velocity scaled so that the velocities of all balls together have norm
    ``speed`` (box sides per frame; the original 0.5 in a box of 10), ``substeps``
    Euler steps per frame, walls and equal-mass collisions exchanging the velocity
    components along the line of centers. Centers stay in ``[radius, 1 - radius]``.
    """
    low, high = radius, 1.0 - radius
    for _ in range(1000):
        position = rng.uniform(low, high, size=(num_balls, 2))
        gaps = np.linalg.norm(position[:, None] - position[None], axis=-1)
        if num_balls == 1 or gaps[np.triu_indices(num_balls, 1)].min() >= 2 * radius:
            break
    else:
        raise ValueError(
            f"bouncing_balls: cannot place num_balls={num_balls} of radius={radius} "
            "without overlap; expected fewer or smaller balls"
        )
    velocity = rng.standard_normal((num_balls, 2))
    velocity *= speed / max(np.linalg.norm(velocity), 1e-12)
    out = np.empty((frames, num_balls, 2), np.float64)
    for t in range(frames):
        out[t] = position
        for _ in range(substeps):
            position += velocity / substeps
            _reflect(position, velocity, low, high)
            for i in range(num_balls):
                for j in range(i):
                    w = position[i] - position[j]
                    dist = np.linalg.norm(w)
                    if 0 < dist < 2 * radius:
                        w /= dist
                        approach = np.dot(velocity[i] - velocity[j], w)
                        if approach < 0:  # equal masses: swap the normal components
                            velocity[i] -= approach * w
                            velocity[j] += approach * w
    return out


def render_balls(positions: np.ndarray, size: int, radius: float, colors: Optional[np.ndarray] = None) -> np.ndarray:
    """Renders centers ``[T, N, 2]`` as soft discs: uint8 ``[T, size, size, 1]``, or
    ``[T, size, size, 3]`` with one RGB color in ``[0, 1]`` per ball (``colors [N, 3]``)."""
    grid = (np.arange(size) + 0.5) / size
    dy = grid[None, None, :, None] - positions[:, :, 0, None, None]
    dx = grid[None, None, None, :] - positions[:, :, 1, None, None]
    discs = np.exp(-(((dy**2 + dx**2) / radius**2) ** 4))  # [T, N, size, size]
    if colors is None:
        video = discs.sum(axis=1)[..., None]
    else:
        video = np.einsum("tnhw,nc->thwc", discs, colors)
    return np.round(np.clip(video, 0.0, 1.0) * 255).astype(np.uint8)


#: Fine steps per frame of the speed-jittered baseline (``speed_jitter``): a frame advances
#: JITTER_FINE / 2 to 3 * JITTER_FINE / 2 of them.
JITTER_FINE = 4


def load_bouncing_balls(
    *,
    split: str,
    frames: int,
    size: int,
    data_dir: Optional[str],
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    num_balls: int = 3,
    radius: float = 0.125,
    speed: float = 0.05,
    color: bool = False,
    speed_jitter: bool = False,
) -> tf.data.Dataset:
    """Sutskever's bouncing balls (see the module docstring); ``data_dir`` is ignored.

    Options:
      num_balls: number of balls (default 3).
      radius: ball radius as a fraction of the frame side (default 1/8).
      speed: joint norm of the ball velocities, frame sides per frame (default 0.05).
      color: one random saturated color per ball instead of white (default False).
      speed_jitter: the motion checks' speed-jittered baseline (default False): the same physics
        on a 4x finer time grid, each frame advancing 2-6 fine steps at random (the data's
        speed on average, +-50% from frame to frame): right frames, right paths, wrong speeds.
    """
    del data_dir
    if int(num_balls) < 1:
        raise ValueError(f"bouncing_balls: num_balls must be >= 1, got {num_balls!r}")
    if not 0 < float(radius) < 0.5:
        raise ValueError(f"bouncing_balls: radius must be in (0, 0.5) of the frame side, got {radius!r}")
    if float(speed) < 0:
        raise ValueError(f"bouncing_balls: speed must be >= 0, got {speed!r}")
    num_balls, radius, speed, color = int(num_balls), float(radius), float(speed), bool(color)
    bouncing_balls_trajectory(np.random.default_rng(0), 1, num_balls, radius, speed)  # fail early

    def make_example(rng):
        if speed_jitter:
            most = 3 * JITTER_FINE // 2
            fine = bouncing_balls_trajectory(rng, most * frames + 1, num_balls, radius, speed / JITTER_FINE)
            steps = rng.integers(JITTER_FINE // 2, most + 1, size=frames - 1)
            positions = fine[np.concatenate([[0], np.cumsum(steps)])]
        else:
            positions = bouncing_balls_trajectory(rng, frames, num_balls, radius, speed)
        colors = None
        if color:
            colors = np.array([colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in rng.random(num_balls)])
        return render_balls(positions, size, radius, colors), -1

    shape = (frames, size, size, 3 if color else 1)
    return _generated_stream(
        make_example, split=split, seed=seed, start=start, num_examples=num_examples, shape=shape, channels=channels
    )


# --------------------------------------------------------------------------- synthetic actions

ACTIONS = ("right", "left", "down", "up", "clockwise", "counterclockwise", "zoom_in", "zoom_out", "bounce", "shake")
SHAPES = ("disc", "square", "triangle", "diamond", "ring", "cross")
SCALE_RANGE = (0.7, 1.4)  # object size relative to the `radius` option, the same for every class
_EXTENT = 1.2  # how far any shape reaches from its center, in units of its size
_MAX_RUN_STEP = 0.1  # frame sides per frame, straight runs
_MAX_ZOOM_STEP = 0.12  # log-size per frame, zooms
_MAX_TURN_STEP = 0.5  # radians per frame, circles
_MAX_DROP_STEP = 0.06  # drop height per frame of clip, bounces
_LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, as video_io.match_channels
_MIN_CONTRAST = 0.3  # luminance gap between the object and every background pixel


class ActionClip(NamedTuple):
    """One synthetic-actions clip and what made it (for tests and inspection)."""

    label: int  # index of ``action`` in the ``actions`` it was drawn from
    action: str
    video: np.ndarray  # uint8 [T, size, size, 3]
    coverage: np.ndarray  # float32 [T, size, size]: the object's anti-aliased mask in [0, 1]
    centers: np.ndarray  # [T, 2] (y, x) in frame sides
    sizes: np.ndarray  # [T] object size (a disc's radius) in frame sides
    shape: str  # one of SHAPES


def action_names(actions: Union[None, str, Sequence[str]] = None) -> Tuple[str, ...]:
    """The action names ``actions`` selects, in label order: all :data:`ACTIONS` for None,
    else a comma-separated string or a sequence of names."""
    if actions is None:
        return ACTIONS
    names = actions.split(",") if isinstance(actions, str) else actions
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"synthetic_actions: actions must be names from {ACTIONS}, got {actions!r}")
    names = tuple(n.strip() for n in names if n.strip())
    unknown = [n for n in names if n not in ACTIONS]
    if unknown:
        raise ValueError(
            f"synthetic_actions: unknown action(s) {unknown}; expected a comma-separated subset of {ACTIONS}"
        )
    if not names or len(set(names)) != len(names):
        raise ValueError(f"synthetic_actions: actions must name at least one action, each once; got {actions!r}")
    return names


def _frame_times(frames: int) -> np.ndarray:
    return np.arange(frames) / max(frames - 1, 1)


def _random_frame_time(rng: np.random.Generator, frames: int) -> float:
    return rng.integers(frames) / max(frames - 1, 1)


def _run(rng: np.random.Generator, low: float, high: float, cap: float) -> Tuple[float, float]:
    """A straight run ``(start, length)`` inside ``[low, high]``, length at most ``cap``."""
    length = rng.uniform(0.5, 1.0) * min(high - low, cap)
    return rng.uniform(low, high - length), length


def _still(rng: np.random.Generator, low: float, high: float, frames: int) -> float:
    """A coordinate that does not move: where a random straight run is at a random frame, so
    that its distribution is the one a moving coordinate has in a random frame."""
    start, length = _run(rng, low, high, _MAX_RUN_STEP * (frames - 1))
    return start + length * _random_frame_time(rng, frames)


def _bounce_height(t: np.ndarray, drop: float, t_hit: float, restitution: float) -> np.ndarray:
    """Height above the floor of a ball let go at rest from ``drop`` at time 0 that first hits
    the floor at ``t_hit`` and rebounds with ``restitution`` (clip time in [0, 1])."""
    gravity = 2 * drop / t_hit**2
    height = np.where(t < t_hit, drop - 0.5 * gravity * t**2, 0.0)
    landed, speed = t_hit, restitution * gravity * t_hit
    for _ in range(64):
        if landed >= 1 or speed < 1e-6:
            break
        flight = 2 * speed / gravity
        s = t - landed
        airborne = (s >= 0) & (s < flight)
        height[airborne] = speed * s[airborne] - 0.5 * gravity * s[airborne] ** 2
        landed, speed = landed + flight, speed * restitution
    return height


def action_motion(
    rng: np.random.Generator, frames: int, action: str, radius: float = 0.125
) -> Tuple[np.ndarray, np.ndarray]:
    """The path of an object performing ``action``: centers ``[frames, 2]`` (y, x) and sizes
    ``[frames]``, in frame sides (y points down).

    The object stays inside the frame. Motions span the clip whatever its length (at most
    a fixed step per frame): straight runs; arcs of 0.75 to 1.5 pi around a fixed center;
    zooms by 1.4x to 2x; a drop from rest under gravity onto a floor, hit at an inner frame
    35-65% into the clip, with rebounds; a horizontal oscillation of 2.5 to 4 frames per
    half-period around a fixed center. Every class draws its size path the same way and
    takes the size at a random frame where it does not zoom, and a still coordinate is
    where a random straight run is at a random frame, so one frame's size and position
    tell little about the class.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    t = _frame_times(frames)
    steps = frames - 1
    log_low, log_high = np.log(SCALE_RANGE)
    zoom = rng.uniform(0.5, 1.0) * min(log_high - log_low, _MAX_ZOOM_STEP * steps)
    log_start = rng.uniform(log_low, log_high - zoom)
    at = _random_frame_time(rng, frames)
    log_size = {"zoom_in": log_start + zoom * t, "zoom_out": log_start + zoom * (1 - t)}.get(
        action, np.full(frames, log_start + zoom * at)
    )
    sizes = radius * np.exp(log_size)

    low = radius * SCALE_RANGE[1] * _EXTENT
    high = 1.0 - low
    y = np.full(frames, _still(rng, low, high, frames))
    x = np.full(frames, _still(rng, low, high, frames))
    if action in ("right", "left", "down", "up"):
        start, length = _run(rng, low, high, _MAX_RUN_STEP * steps)
        forward = action in ("right", "down")
        along = start + length * (t if forward else 1 - t)
        if action in ("right", "left"):
            x = along
        else:
            y = along
    elif action in ("clockwise", "counterclockwise"):
        circle = rng.uniform(0.5, 1.0) * min(0.2, (high - low) / 2)
        cy, cx = rng.uniform(low + circle, high - circle, size=2)
        sweep = min(rng.uniform(0.75, 1.5) * np.pi, _MAX_TURN_STEP * steps)
        angle = rng.uniform(0, 2 * np.pi) + sweep * t * (1 if action == "clockwise" else -1)
        y, x = cy + circle * np.sin(angle), cx + circle * np.cos(angle)  # y down: clockwise on screen
    elif action == "bounce":
        drop = rng.uniform(0.5, 1.0) * min(high - low, _MAX_DROP_STEP * steps)
        t_hit, restitution = rng.uniform(0.35, 0.65), rng.uniform(0.65, 0.85)
        if steps >= 2:  # the first impact falls on an inner frame: the lowest one shows it
            t_hit = min(max(round(t_hit * steps), 1), steps - 1) / steps
        height = _bounce_height(t, drop, t_hit, restitution)
        # the path's mean height goes where a still y would be (the ball spends more time
        # high than low), as near as the floor in [low + drop, high] allows
        floor = np.clip(y[0] + height.mean(), low + drop, high)
        y = floor - height
    elif action == "shake":
        amplitude = min(rng.uniform(0.06, 0.12), (high - low) / 2)
        half_period, phase = rng.uniform(2.5, 4.0), rng.uniform(0, 2 * np.pi)
        center = rng.uniform(low + amplitude, high - amplitude)
        x = center + amplitude * np.sin(np.pi * np.arange(frames) / half_period + phase)
    return np.stack([y, x], axis=-1), sizes


def _color_with_luma(rng: np.random.Generator, luma: float) -> np.ndarray:
    """A random color (any hue, some saturation) of BT.601 luminance ``luma``."""
    base = np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.8), 1.0))
    have = float(base @ _LUMA)
    if luma <= have:
        return base * (luma / have)
    return base + (1 - base) * (luma - have) / (1 - have)


def random_background(rng: np.random.Generator, size: int, object_luma: float) -> np.ndarray:
    """A static background float32 ``[size, size, 3]`` in [0, 1]: a color blended toward a
    second one along a random linear gradient or two random low-frequency waves. Both
    colors, and so every pixel, keep a luminance gap of at least 0.3 to ``object_luma``
    (darker or lighter, at random where both fit)."""
    dark = max(object_luma - _MIN_CONTRAST, 0.0)
    light = max(1.0 - object_luma - _MIN_CONTRAST, 0.0)
    if rng.random() * (dark + light) < dark:
        band = (0.0, dark)
    else:
        band = (1.0 - light, 1.0)
    first, second = (_color_with_luma(rng, rng.uniform(*band)) for _ in range(2))
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    yy, xx = grid[:, None], grid[None, :]
    angle, phases = rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi, size=2)
    waves = rng.uniform(1.0, 3.0, size=2) * 2 * np.pi  # cycles per frame side
    directions = rng.uniform(0, 2 * np.pi, size=2)
    if rng.random() < 0.5:  # linear gradient across the whole frame
        dy, dx = np.sin(angle), np.cos(angle)
        blend = (yy * dy + xx * dx) / (abs(dy) + abs(dx)) + 0.5
    else:  # low-frequency texture
        blend = 0.5 + 0.25 * sum(
            np.cos(k * (yy * np.sin(d) + xx * np.cos(d)) + p) for k, d, p in zip(waves, directions, phases)
        )
    blend = np.clip(blend, 0.0, 1.0).astype(np.float32)[..., None]
    return (first + (second - first) * blend).astype(np.float32)


def shape_distance(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) to ``shape`` at points ``(u, v)`` (x right, y down) in
    units of the object's size: a unit disc, a square, an equilateral triangle and a diamond
    reaching 1.2, a ring (radii 1 and 0.5), a cross of arms 1.1 long and 0.76 wide."""
    if shape == "disc":
        return np.sqrt(u * u + v * v) - 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - _EXTENT / np.sqrt(2)
    if shape == "diamond":
        return (np.abs(u) + np.abs(v) - _EXTENT) / np.sqrt(2)
    if shape == "triangle":  # circumradius 1.2, inradius 0.6, apex up
        half = np.sqrt(3) / 2
        return np.maximum(np.maximum(v, half * u - 0.5 * v), -half * u - 0.5 * v) - _EXTENT / 2
    if shape == "ring":
        return np.abs(np.sqrt(u * u + v * v) - 0.75) - 0.25
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return np.minimum(np.maximum(au - 1.1, av - 0.38), np.maximum(au - 0.38, av - 1.1))
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def render_shape(shape: str, centers: np.ndarray, sizes: np.ndarray, size: int, angle: float = 0.0) -> np.ndarray:
    """Anti-aliased coverage float32 ``[T, size, size]`` in [0, 1] of ``shape`` at ``centers
    [T, 2]`` (y, x) with ``sizes [T]`` (frame sides), turned by ``angle``; edges are about one
    pixel soft: ``clip(0.5 - signed distance in pixels, 0, 1)``."""
    grid = (np.arange(size, dtype=np.float32) + 0.5) / size
    centers = np.asarray(centers, np.float32)
    scale = (1.0 / np.asarray(sizes, np.float32))[:, None, None]
    dy = (grid[None, :, None] - centers[:, 0, None, None]) * scale  # [T, size, 1]
    dx = (grid[None, None, :] - centers[:, 1, None, None]) * scale  # [T, 1, size]
    cos, sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    distance = shape_distance(shape, dx * cos + dy * sin, dy * cos - dx * sin)
    pixels = (np.asarray(sizes, np.float32) * size)[:, None, None]
    return np.clip(0.5 - distance * pixels, 0.0, 1.0)


def synthetic_action_clip(
    rng: np.random.Generator,
    frames: int,
    size: int,
    actions: Tuple[str, ...] = ACTIONS,
    radius: float = 0.125,
    plain: bool = False,
) -> ActionClip:
    """One clip of the ``synthetic_actions`` set: a uniform label into ``actions``, then an
    appearance drawn the same way whatever the label (shape, turn, color, background; all
    drawn even when ``plain`` replaces them by a white disc on black), then the motion."""
    label = int(rng.integers(len(actions)))
    shape = SHAPES[rng.integers(len(SHAPES))]
    angle = rng.uniform(0, 2 * np.pi)
    color = np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0)), np.float32)
    background = random_background(rng, size, float(color @ _LUMA))
    centers, sizes = action_motion(rng, frames, actions[label], radius)
    if plain:
        shape, angle, color = "disc", 0.0, np.ones(3, np.float32)
        background = np.zeros((size, size, 3), np.float32)
    coverage = render_shape(shape, centers, sizes, size, angle)
    alpha = coverage[..., None]
    video = background + (color - background) * alpha
    video = (video * 255 + 0.5).astype(np.uint8)
    return ActionClip(label, actions[label], video, coverage, centers, sizes, shape)


def load_synthetic_actions(
    *,
    split: str,
    frames: int,
    size: int,
    data_dir: Optional[str],
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    radius: float = 0.125,
    plain: bool = False,
    actions: Union[None, str, Sequence[str]] = None,
) -> tf.data.Dataset:
    """A labelled set whose classes differ only by motion (see :func:`action_motion`): one
    object moving right, left, down, up, clockwise, counterclockwise, zooming in, zooming
    out, bouncing on a floor or shaking sideways (label = index in ``actions``, uniform).
    Shape, color, background, size range and placement are drawn the same way for every
    class, so a classifier must use time to score well. ``data_dir`` is ignored.

    Options:
      radius: base object size as a fraction of the frame side, in (0, 0.25] (default 1/8);
        each clip's size ranges over 0.7x to 1.4x of it.
      plain: a white disc on black instead of a random shape, color and background
        (default False); labels and motions are those of ``plain=False``.
      actions: the classes, a comma-separated string or sequence of names from
        :data:`ACTIONS` (default None: all); labels index them in the order given.
    """
    del data_dir
    if isinstance(radius, bool) or not 0 < float(radius) <= 0.25:
        raise ValueError(f"synthetic_actions: radius must be in (0, 0.25] of the frame side, got {radius!r}")
    radius, plain, names = float(radius), bool(plain), action_names(actions)

    def make_example(rng):
        clip = synthetic_action_clip(rng, frames, size, names, radius, plain)
        return clip.video, clip.label

    return _generated_stream(
        make_example,
        split=split,
        seed=seed,
        start=start,
        num_examples=num_examples,
        shape=(frames, size, size, 3),
        channels=channels,
    )


# --------------------------------------------------------------------------- moving digits

MOVING_MNIST_FILE = "mnist_test_seq.npy"
_MNIST_IMAGE_FILES = {
    "train": ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"),
}
MNIST_NPZ_FILE = "mnist.npz"
_GLYPH_CANVAS = 64  # side of the canvas the font glyphs are drawn and jittered on
_STROKES = (0, 1, 2, 3)  # extra stroke widths (pixels of the 64 canvas)


def digit_trajectory(rng: np.random.Generator, frames: int, step_length: float = 0.1) -> np.ndarray:
    """Positions ``[frames, 2]`` (y, x) in ``[0, 1]`` of one Moving-MNIST digit: uniform start,
    uniform direction, ``step_length`` per frame, reflected at 0 and 1 (Srivastava et al.)."""
    position = rng.random(2)
    theta = rng.random() * 2 * np.pi
    velocity = np.array([np.sin(theta), np.cos(theta)]) * step_length
    out = np.empty((frames, 2))
    for t in range(frames):
        position += velocity
        _reflect(position, velocity, 0.0, 1.0)
        out[t] = position
    return out


def compose_digits(glyphs, trajectories: np.ndarray, size: int) -> np.ndarray:
    """Places square uint8 glyphs ``[g, g]`` along ``trajectories [N, T, 2]`` on a
    ``size x size`` black canvas, combined by ``max``: uint8 ``[T, size, size, 1]``."""
    frames = trajectories.shape[1]
    video = np.zeros((frames, size, size), np.uint8)
    for glyph, path in zip(glyphs, trajectories):
        g = glyph.shape[0]
        offsets = np.floor(path * (size - g)).astype(int)
        for t, (y, x) in enumerate(offsets):
            np.maximum(video[t, y : y + g, x : x + g], glyph, out=video[t, y : y + g, x : x + g])
    return video[..., None]


@functools.lru_cache(maxsize=1)
def _font_glyph_bank() -> np.ndarray:
    """Digits 0-9 drawn with pillow's built-in font at each stroke width: uint8 [10, S, 64, 64]."""
    try:
        font, scale = ImageFont.load_default(size=52), 1  # pillow >= 10.1 with FreeType
    except (TypeError, AttributeError, OSError, ImportError):
        font, scale = ImageFont.load_default(), 5  # tiny bitmap font, drawn small, scaled up
    side = _GLYPH_CANVAS // scale
    bank = np.zeros((10, len(_STROKES), _GLYPH_CANVAS, _GLYPH_CANVAS), np.uint8)
    for digit in range(10):
        for k, stroke in enumerate(_STROKES):
            image = Image.new("L", (side, side))
            ImageDraw.Draw(image).text(
                (side / 2, side / 2),
                str(digit),
                fill=255,
                font=font,
                anchor="mm",
                stroke_width=stroke // scale,
                stroke_fill=255,
            )
            bank[digit, k] = np.asarray(image.resize((_GLYPH_CANVAS,) * 2, Image.BILINEAR))
    return bank


def rendered_glyph(rng: np.random.Generator, glyph_size: int) -> np.ndarray:
    """A handwriting-like digit without MNIST: a font digit with random stroke width,
    anisotropic scale, rotation, shear and shift; uint8 ``[glyph_size, glyph_size]``."""
    bank = _font_glyph_bank()
    image = Image.fromarray(bank[rng.integers(10), rng.integers(len(_STROKES))])
    angle, shear = rng.uniform(-0.3, 0.3), rng.uniform(-0.35, 0.35)
    scale = np.diag(rng.uniform([0.85, 0.7], [1.15, 1.15]))  # (y, x) -> use as (x, y) below
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ scale[::-1, ::-1]
    inverse = np.linalg.inv(forward)
    center = np.full(2, _GLYPH_CANVAS / 2)
    shift = rng.uniform(-2, 2, size=2)
    offset = center - inverse @ (center + shift)  # output (x, y) -> input (x, y)
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = image.transform(image.size, Image.AFFINE, coeffs, resample=Image.BILINEAR)
    return video_io.resize_and_crop(np.asarray(image)[None], glyph_size)[0, ..., 0]


def _mnist_glyph_source(images: np.ndarray) -> Callable[[np.random.Generator, int], np.ndarray]:
    def glyph(rng, glyph_size):
        return video_io.resize_and_crop(images[rng.integers(len(images))][None], glyph_size)[0, ..., 0]

    return glyph


def _join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name


def _read_bytes(path: str) -> bytes:
    with tf.io.gfile.GFile(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


@functools.lru_cache(maxsize=4)
def read_idx_images(path: str) -> np.ndarray:
    """Reads an MNIST ``idx3-ubyte`` image file (optionally ``.gz``): uint8 ``[N, rows, cols]``."""
    data = _read_bytes(path)
    magic, n, rows, cols = np.frombuffer(data[:16], ">i4") if len(data) >= 16 else (0, 0, 0, 0)
    if magic != 2051 or len(data) != 16 + n * rows * cols:
        raise ValueError(
            f"{path!r}: expected an MNIST idx3-ubyte image file (magic 2051, "
            f"16 + N*rows*cols bytes), got magic {magic} and {len(data)} bytes"
        )
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows, cols)


@functools.lru_cache(maxsize=4)
def _read_npz_images(path: str, key: str) -> Optional[np.ndarray]:
    with np.load(io.BytesIO(_read_bytes(path))) as archive:
        return np.asarray(archive[key], np.uint8) if key in archive else None


@functools.lru_cache(maxsize=2)
def read_moving_mnist(path: str) -> np.ndarray:
    """The released Moving MNIST ``mnist_test_seq.npy``: uint8 ``[20, N, 64, 64]``
    (memory-mapped when local, read whole from a ``tf.io.gfile`` URL)."""
    if video_io.is_local_path(path):
        array = np.load(path, mmap_mode="r")
    else:
        array = np.load(io.BytesIO(_read_bytes(path)))
    if array.ndim != 4 or array.dtype != np.uint8:
        raise ValueError(
            f"{path!r}: expected uint8 [frames, sequences, height, width] "
            f"(Moving MNIST is [20, 10000, 64, 64]), got {array.dtype} {array.shape}"
        )
    return array


def _mnist_images(data_dir: str, split: str) -> Optional[np.ndarray]:
    """MNIST glyphs for ``split`` from ``data_dir`` (idx files or mnist.npz); test/val use the
    test images where present, else the training images. None if there are none."""
    for part in ("test", "train") if split != "train" else ("train",):
        for name in _MNIST_IMAGE_FILES[part]:
            if tf.io.gfile.exists(_join(data_dir, name)):
                return read_idx_images(_join(data_dir, name))
        npz = _join(data_dir, MNIST_NPZ_FILE)
        if tf.io.gfile.exists(npz):
            images = _read_npz_images(npz, "x_" + part)
            if images is not None:
                return images
    return None


def load_moving_digits(
    *,
    split: str,
    frames: int,
    size: int,
    data_dir: Optional[str],
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    num_digits: int = 2,
    step_length: float = 0.1,
    glyph_size: Optional[int] = None,
    holdout: float = 0.1,
) -> tf.data.Dataset:
    """Moving MNIST-style digits (see the module docstring).

    Sources, in order of preference:

    * ``data_dir/mnist_test_seq.npy`` (the released Moving MNIST, ``[20, 10000, 64, 64]``):
      clips of its sequences, the first ``frames`` frames, resized to ``size``. The
      last ``holdout`` fraction of sequences (default 10%) is the test/val split,
      served in order; train cycles through the rest, reshuffled every epoch.
    * MNIST images in ``data_dir`` (``train-images-idx3-ubyte[.gz]``, test split:
      ``t10k-images-idx3-ubyte[.gz]``, or ``mnist.npz`` with ``x_train`` / ``x_test``):
      generated clips with those glyphs.
    * no ``data_dir``: generated clips with glyphs rendered from pillow's font.

    Options:
      num_digits: digits per clip (default 2).
      step_length: displacement per frame as a fraction of the free range (default 0.1).
      glyph_size: digit side in pixels (default ``round(size * 28 / 64)``, at least 4).
      holdout: test fraction of ``mnist_test_seq.npy`` (default 0.1).
    """
    if data_dir is not None and tf.io.gfile.exists(_join(data_dir, MOVING_MNIST_FILE)):
        return _moving_mnist_file(
            _join(data_dir, MOVING_MNIST_FILE),
            split=split,
            frames=frames,
            size=size,
            seed=seed,
            start=start,
            channels=channels,
            num_examples=num_examples,
            holdout=holdout,
        )
    if int(num_digits) < 1:
        raise ValueError(f"moving_digits: num_digits must be >= 1, got {num_digits!r}")
    glyph_size = int(glyph_size) if glyph_size else max(4, int(round(size * 28 / 64)))
    if not 1 <= glyph_size <= size:
        raise ValueError(f"moving_digits: glyph_size must be in [1, size={size}], got {glyph_size}")
    glyph_source = rendered_glyph
    if data_dir is not None:
        images = _mnist_images(data_dir, split)
        if images is None:
            raise ValueError(
                f"moving_digits: data_dir {data_dir!r} holds none of {MOVING_MNIST_FILE}, "
                f"{', '.join(sum(_MNIST_IMAGE_FILES.values(), ()))}, {MNIST_NPZ_FILE}; "
                "expected one of them (or no data_dir for rendered digits)"
            )
        glyph_source = _mnist_glyph_source(images)
    else:
        _font_glyph_bank()  # render the font once, before the parallel map starts
    num_digits, step_length = int(num_digits), float(step_length)

    def make_example(rng):
        glyphs = [glyph_source(rng, glyph_size) for _ in range(num_digits)]
        paths = np.stack([digit_trajectory(rng, frames, step_length) for _ in range(num_digits)])
        return compose_digits(glyphs, paths, size), -1

    return _generated_stream(
        make_example,
        split=split,
        seed=seed,
        start=start,
        num_examples=num_examples,
        shape=(frames, size, size, 1),
        channels=channels,
    )


def _moving_mnist_file(
    path: str,
    *,
    split: str,
    frames: int,
    size: int,
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    holdout: float,
) -> tf.data.Dataset:
    """Clips of the released Moving MNIST sequences (see :func:`load_moving_digits`)."""
    array = read_moving_mnist(path)
    length, count = array.shape[:2]
    if frames > length:
        raise ValueError(
            f"moving_digits: {path!r} holds {length}-frame sequences; expected frames <= {length}, got frames={frames}"
        )
    if not 0 < float(holdout) < 1:
        raise ValueError(f"moving_digits: holdout must be in (0, 1), got {holdout!r}")
    n_test = max(1, int(round(count * float(holdout)))) if count > 1 else 0
    first, pool = (0, count - n_test) if split == "train" else (count - n_test, n_test)
    if num_examples is not None:
        pool = min(pool, num_examples)
    if pool < 1:
        raise ValueError(
            f"moving_digits: {path!r} holds {count} sequences, none left for "
            f"split {split!r}; expected more sequences or another holdout"
        )

    def element(i):
        if split == "train":
            i = epoch_position(i, pool, seed)[1]
        clip = np.asarray(array[:frames, first + i])[..., None]
        return video_io.resize_and_crop(clip, size), -1

    return indexed_dataset(
        element, shape=(frames, size, size, 1), channels=channels, start=start, stop=None if split == "train" else pool
    )
