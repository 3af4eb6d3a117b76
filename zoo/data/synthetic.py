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
* ``synthetic_actions``: a labelled set whose classes differ only by motion (a ball
  moving right, left, down, up, clockwise, counterclockwise), for conditional models
  and for sanity checks of video classifiers.

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
from typing import Callable, Optional, Tuple

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

def indexed_dataset(element_fn: ElementFn, *, shape: Tuple[int, int, int, int], channels: int,
                    start: int = 0, stop: Optional[int] = None) -> tf.data.Dataset:
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
    indices = (tf.data.Dataset.counter(start) if stop is None
               else tf.data.Dataset.range(start, max(start, stop)))

    def element(index):
        video, label = element_fn(int(index))
        return np.asarray(video, np.uint8), np.int32(label)

    def to_example(index):
        video, label = tf.numpy_function(element, [index], (tf.uint8, tf.int32), stateful=False)
        video = tf.ensure_shape(video, shape)
        return {"video": tf.ensure_shape(video_io.match_channels(video_io.to_float(video), channels),
                                         list(shape[:3]) + [channels]),
                "label": tf.ensure_shape(label, [])}

    return indices.map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _generated_stream(make_example: ElementFn, *, split: str, seed: int, start: int,
                      num_examples: Optional[int], shape: Tuple[int, int, int, int],
                      channels: int) -> tf.data.Dataset:
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

def bouncing_balls_trajectory(rng: np.random.Generator, frames: int, num_balls: int = 3,
                              radius: float = 0.125, speed: float = 0.05,
                              substeps: int = 2) -> np.ndarray:
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
        raise ValueError(f"bouncing_balls: cannot place num_balls={num_balls} of radius={radius} "
                         "without overlap; expected fewer or smaller balls")
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


def render_balls(positions: np.ndarray, size: int, radius: float,
                 colors: Optional[np.ndarray] = None) -> np.ndarray:
    """Renders centers ``[T, N, 2]`` as soft discs: uint8 ``[T, size, size, 1]``, or
    ``[T, size, size, 3]`` with one RGB color in ``[0, 1]`` per ball (``colors [N, 3]``)."""
    grid = (np.arange(size) + 0.5) / size
    dy = grid[None, None, :, None] - positions[:, :, 0, None, None]
    dx = grid[None, None, None, :] - positions[:, :, 1, None, None]
    discs = np.exp(-(((dy ** 2 + dx ** 2) / radius ** 2) ** 4))  # [T, N, size, size]
    if colors is None:
        video = discs.sum(axis=1)[..., None]
    else:
        video = np.einsum("tnhw,nc->thwc", discs, colors)
    return np.round(np.clip(video, 0.0, 1.0) * 255).astype(np.uint8)


def load_bouncing_balls(*, split: str, frames: int, size: int, data_dir: Optional[str],
                        seed: int, start: int, channels: int, num_examples: Optional[int],
                        num_balls: int = 3, radius: float = 0.125, speed: float = 0.05,
                        color: bool = False) -> tf.data.Dataset:
    """Sutskever's bouncing balls (see the module docstring); ``data_dir`` is ignored.

    Options:
      num_balls: number of balls (default 3).
      radius: ball radius as a fraction of the frame side (default 1/8).
      speed: joint norm of the ball velocities, frame sides per frame (default 0.05).
      color: one random saturated color per ball instead of white (default False).
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
        positions = bouncing_balls_trajectory(rng, frames, num_balls, radius, speed)
        colors = None
        if color:
            colors = np.array([colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in rng.random(num_balls)])
        return render_balls(positions, size, radius, colors), -1

    shape = (frames, size, size, 3 if color else 1)
    return _generated_stream(make_example, split=split, seed=seed, start=start,
                             num_examples=num_examples, shape=shape, channels=channels)


# --------------------------------------------------------------------------- synthetic actions

ACTIONS = ("right", "left", "down", "up", "clockwise", "counterclockwise")
_DIRECTIONS = {"right": (0.0, 1.0), "left": (0.0, -1.0), "down": (1.0, 0.0), "up": (-1.0, 0.0)}


def action_trajectory(rng: np.random.Generator, frames: int, action: str,
                      radius: float = 0.125) -> np.ndarray:
    """Centers ``[frames, 1, 2]`` (y, x) of one ball performing ``action`` (one of
    :data:`ACTIONS`): a straight run that stays inside the frame (random start, lane and
    speed) or a circle (random center, radius, phase and angular speed; clockwise as seen
    on screen, y pointing down)."""
    low, high = radius, 1.0 - radius
    if action in _DIRECTIONS:
        direction = np.array(_DIRECTIONS[action])
        speed = min(rng.uniform(0.03, 0.07), (high - low) / max(frames - 1, 1))
        travel = speed * (frames - 1)
        along = rng.uniform(low, high - travel)  # where the run starts, on the positive side
        lane = rng.uniform(low, high)
        axis = int(np.argmax(np.abs(direction)))
        steps = speed * np.arange(frames)
        out = np.empty((frames, 2))
        out[:, axis] = along + steps if direction[axis] > 0 else (high + low - along) - steps
        out[:, 1 - axis] = lane
        return out[:, None]
    if action not in ("clockwise", "counterclockwise"):
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    circle = rng.uniform(0.1, max(0.1, min(0.25, 0.5 - radius)))
    center = rng.uniform(low + circle, high - circle, size=2)
    omega = rng.uniform(0.2, 0.4) * (1 if action == "clockwise" else -1)
    phase = rng.uniform(0, 2 * np.pi) + omega * np.arange(frames)
    return (center + circle * np.stack([np.sin(phase), np.cos(phase)], axis=-1))[:, None]


def load_synthetic_actions(*, split: str, frames: int, size: int, data_dir: Optional[str],
                           seed: int, start: int, channels: int, num_examples: Optional[int],
                           radius: float = 0.125, color: bool = False) -> tf.data.Dataset:
    """A labelled set whose classes differ only by motion: one ball moving right, left,
    down, up, clockwise or counterclockwise (label = index in :data:`ACTIONS`, uniform).
    Rendered like ``bouncing_balls``; for conditional models and for checking video
    classifiers. ``data_dir`` is ignored.

    Options:
      radius: ball radius as a fraction of the frame side (default 1/8).
      color: a random saturated color instead of white (default False).
    """
    del data_dir
    if not 0 < float(radius) < 0.35:
        raise ValueError(f"synthetic_actions: radius must be in (0, 0.35), got {radius!r}")
    radius, color = float(radius), bool(color)

    def make_example(rng):
        label = int(rng.integers(len(ACTIONS)))
        positions = action_trajectory(rng, frames, ACTIONS[label], radius)
        colors = np.array([colorsys.hsv_to_rgb(rng.random(), 1.0, 1.0)]) if color else None
        return render_balls(positions, size, radius, colors), label

    return _generated_stream(make_example, split=split, seed=seed, start=start,
                             num_examples=num_examples, shape=(frames, size, size, 3 if color else 1),
                             channels=channels)


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
            np.maximum(video[t, y:y + g, x:x + g], glyph, out=video[t, y:y + g, x:x + g])
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
            ImageDraw.Draw(image).text((side / 2, side / 2), str(digit), fill=255, font=font,
                                       anchor="mm", stroke_width=stroke // scale, stroke_fill=255)
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
        raise ValueError(f"{path!r}: expected an MNIST idx3-ubyte image file (magic 2051, "
                         f"16 + N*rows*cols bytes), got magic {magic} and {len(data)} bytes")
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
        raise ValueError(f"{path!r}: expected uint8 [frames, sequences, height, width] "
                         f"(Moving MNIST is [20, 10000, 64, 64]), got {array.dtype} {array.shape}")
    return array


def _mnist_images(data_dir: str, split: str) -> Optional[np.ndarray]:
    """MNIST glyphs for ``split`` from ``data_dir`` (idx files or mnist.npz); test/val use the
    test images where present, else the training images. None if there are none."""
    for part in (("test", "train") if split != "train" else ("train",)):
        for name in _MNIST_IMAGE_FILES[part]:
            if tf.io.gfile.exists(_join(data_dir, name)):
                return read_idx_images(_join(data_dir, name))
        npz = _join(data_dir, MNIST_NPZ_FILE)
        if tf.io.gfile.exists(npz):
            images = _read_npz_images(npz, "x_" + part)
            if images is not None:
                return images
    return None


def load_moving_digits(*, split: str, frames: int, size: int, data_dir: Optional[str],
                       seed: int, start: int, channels: int, num_examples: Optional[int],
                       num_digits: int = 2, step_length: float = 0.1,
                       glyph_size: Optional[int] = None, holdout: float = 0.1) -> tf.data.Dataset:
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
        return _moving_mnist_file(_join(data_dir, MOVING_MNIST_FILE), split=split, frames=frames,
                                  size=size, seed=seed, start=start, channels=channels,
                                  num_examples=num_examples, holdout=holdout)
    if int(num_digits) < 1:
        raise ValueError(f"moving_digits: num_digits must be >= 1, got {num_digits!r}")
    glyph_size = int(glyph_size) if glyph_size else max(4, int(round(size * 28 / 64)))
    if not 1 <= glyph_size <= size:
        raise ValueError(f"moving_digits: glyph_size must be in [1, size={size}], got {glyph_size}")
    glyph_source = rendered_glyph
    if data_dir is not None:
        images = _mnist_images(data_dir, split)
        if images is None:
            raise ValueError(f"moving_digits: data_dir {data_dir!r} holds none of {MOVING_MNIST_FILE}, "
                             f"{', '.join(sum(_MNIST_IMAGE_FILES.values(), ()))}, {MNIST_NPZ_FILE}; "
                             "expected one of them (or no data_dir for rendered digits)")
        glyph_source = _mnist_glyph_source(images)
    else:
        _font_glyph_bank()  # render the font once, before the parallel map starts
    num_digits, step_length = int(num_digits), float(step_length)

    def make_example(rng):
        glyphs = [glyph_source(rng, glyph_size) for _ in range(num_digits)]
        paths = np.stack([digit_trajectory(rng, frames, step_length) for _ in range(num_digits)])
        return compose_digits(glyphs, paths, size), -1

    return _generated_stream(make_example, split=split, seed=seed, start=start,
                             num_examples=num_examples, shape=(frames, size, size, 1),
                             channels=channels)


def _moving_mnist_file(path: str, *, split: str, frames: int, size: int, seed: int, start: int,
                       channels: int, num_examples: Optional[int], holdout: float) -> tf.data.Dataset:
    """Clips of the released Moving MNIST sequences (see :func:`load_moving_digits`)."""
    array = read_moving_mnist(path)
    length, count = array.shape[:2]
    if frames > length:
        raise ValueError(f"moving_digits: {path!r} holds {length}-frame sequences; "
                         f"expected frames <= {length}, got frames={frames}")
    if not 0 < float(holdout) < 1:
        raise ValueError(f"moving_digits: holdout must be in (0, 1), got {holdout!r}")
    n_test = max(1, int(round(count * float(holdout)))) if count > 1 else 0
    first, pool = (0, count - n_test) if split == "train" else (count - n_test, n_test)
    if num_examples is not None:
        pool = min(pool, num_examples)
    if pool < 1:
        raise ValueError(f"moving_digits: {path!r} holds {count} sequences, none left for "
                         f"split {split!r}; expected more sequences or another holdout")

    def element(i):
        if split == "train":
            i = epoch_position(i, pool, seed)[1]
        clip = np.asarray(array[:frames, first + i])[..., None]
        return video_io.resize_and_crop(clip, size), -1

    return indexed_dataset(element, shape=(frames, size, size, 1), channels=channels, start=start,
                           stop=None if split == "train" else pool)
