"""Video data sets for the zoo, all behind one call: :func:`load`.

Every data set yields ``{"video": float32 [T, H, W, C] in [-1, 1], "label": int32 []}``
(channels-last, ``label = -1`` where there is none), unbatched: the trainer batches.

=================  ============================================================  ============
name               what                                                          data_dir
=================  ============================================================  ============
bouncing_balls     Sutskever et al.'s bouncing balls (RTRBM, TSBN, traversal)    ignored
moving_digits      Moving MNIST (Srivastava et al. 2015), fonts or MNIST         optional
synthetic_actions  labelled, 10 motions (runs, circles, zooms, bounce, shake) of  ignored
                   a random shape, color and background; only motion tells
video_folder       a UCF-101-layout folder of videos (class folders, lists)      required
tfrecord           sharded TFRecords of clips, as the folder cache writes        required
=================  ============================================================  ============

:func:`class_names` gives the label names of a data set (empty for the unlabelled ones).

Determinism: a stream is a pure function of ``(name, options, seed)``;
``load(..., start=k)`` yields what ``load(...).skip(k)`` yields, so a resumed run
sees the batches an uninterrupted one would. For the generated sets and the
uncached folder, element ``i`` is computed from ``(seed, i)`` directly (cheap
``start``); the TFRecord reader skips ``start`` records.
"""

from __future__ import annotations

import inspect
import numbers
import typing
from typing import Callable, Dict, Optional, Tuple

import tensorflow as tf

from zoo.data import folder, synthetic, video_io  # noqa: F401 (video_io: zoo.data.video_io for users)
from zoo.data.folder import build_cache, scan_folder
from zoo.data.video_io import VideoDecodeError, read_video, to_float, to_uint8, video_grid, write_gif, write_video

__all__ = [
    "DATASETS",
    "SPLITS",
    "load",
    "options",
    "option_types",
    "class_names",
    "to_uint8",
    "to_float",
    "read_video",
    "write_video",
    "write_gif",
    "video_grid",
    "VideoDecodeError",
    "build_cache",
    "scan_folder",
]

_LOADERS: Dict[str, Callable[..., tf.data.Dataset]] = {
    "bouncing_balls": synthetic.load_bouncing_balls,
    "moving_digits": synthetic.load_moving_digits,
    "synthetic_actions": synthetic.load_synthetic_actions,
    "video_folder": folder.load_video_folder,
    "tfrecord": folder.load_tfrecord,
}
DATASETS = tuple(_LOADERS)
SPLITS = ("train", "test", "val")
_COMMON = ("split", "frames", "size", "data_dir", "seed", "start", "channels", "num_examples")


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def options(name: str) -> Dict[str, object]:
    """The extra options data set ``name`` accepts, with their defaults."""
    if name not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
    params = inspect.signature(_LOADERS[name]).parameters.values()
    return {p.name: p.default for p in params if p.name not in _COMMON}


def option_types(name: str) -> Dict[str, object]:
    """The declared types of the extra options of data set ``name`` (``int``, ``float``, ``bool``,
    ``str``, ``Optional[...]``, ``Tuple[...]``, ``Sequence[...]``, unions), as its loader annotates them;
    what a command line parses an option's text into (``trainers.common.data_options``)."""
    accepted = options(name)
    hints = typing.get_type_hints(inspect.unwrap(_LOADERS[name]))
    return {key: hints.get(key, str) for key in accepted}


def _check_options(name: str, opts) -> None:
    accepted = options(name)
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for data set {name!r}; expected some of {sorted(accepted)}")


def _cached_classes(data_dir: Optional[str]) -> Tuple[str, ...]:
    """The classes recorded in a TFRecord cache's manifest (train's, else another split's)."""
    if not data_dir:
        raise ValueError("the 'tfrecord' data set needs data_dir: a folder of <split>-*.tfrecord shards")
    for split in ("train",) + tuple(s for s in SPLITS if s != "train"):
        path = folder.manifest_path(data_dir, split)
        if tf.io.gfile.exists(path):
            manifest = folder._read_json(path)
            classes = manifest.get("settings", {}).get("classes", manifest.get("classes"))
            if classes is not None:
                return tuple(str(c) for c in classes)
    raise ValueError(
        f"no class names for TFRecords in {data_dir!r}: expected a "
        f"<split>-manifest.json with 'classes' (as build_cache writes) for one of {SPLITS}"
    )


def class_names(name: str, data_dir: Optional[str] = None, **opts) -> Tuple[str, ...]:
    """The label names of data set ``name``, in label order (label ``k`` is ``names[k]``).

    ``synthetic_actions``: its ``actions`` (option; default all of ``synthetic.ACTIONS``);
    ``video_folder``: the classes of ``data_dir`` (``classInd.txt`` or the class folders);
    ``tfrecord``: the classes in the cache manifest in ``data_dir``; ``bouncing_balls`` and
    ``moving_digits``: ``()`` (unlabelled).

    Raises:
      ValueError: for an unknown data set or option, a missing ``data_dir``, or a TFRecord
        folder without a manifest.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
    _check_options(name, opts)
    if name == "synthetic_actions":
        return synthetic.action_names(opts.get("actions"))
    if name == "video_folder":
        if not data_dir:
            raise ValueError("the 'video_folder' data set needs data_dir: <data_dir>/<ClassName>/<videos>")
        return tuple(folder.list_classes(data_dir))
    if name == "tfrecord":
        return _cached_classes(data_dir)
    return ()


def load(
    name: str,
    *,
    split: str = "train",
    frames: int,
    size: int,
    data_dir: Optional[str] = None,
    seed: int = 0,
    start: int = 0,
    channels: int = 3,
    num_examples: Optional[int] = None,
    **opts,
) -> tf.data.Dataset:
    """Returns data set ``name`` as an unbatched ``tf.data.Dataset`` of ``{"video", "label"}``.

    Args:
      name: one of :data:`DATASETS`.
      split: "train" (infinite, repeating), "test" or "val" (finite).
      frames: frames per clip, T >= 1.
      size: frame side, H = W = size >= 8.
      data_dir: where the data lives (local path or ``tf.io.gfile`` URL); see the table above.
      seed: the stream's seed (ordering, clip offsets, generated content).
      start: skip the first ``start`` elements (exactly, and cheaply where possible).
      channels: 3 (gray sources replicated to RGB) or 1 (RGB reduced to luminance).
      num_examples: train: draw from a pool of this many examples, reshuffled every
        epoch; test/val: this many examples (generated sets default to 256; disk sets
        default to all).
      **opts: options of the data set, see :func:`options`.

    Raises:
      ValueError: naming what was expected and what came, for a bad name, split,
        size, option or folder.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} for data set {name!r}; expected one of {SPLITS}")
    frames = _int("frames", frames, 1)
    size = _int("size", size, 8)
    start = _int("start", start, 0)
    seed = _int("seed", seed, -(2**63))
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if num_examples is not None:
        num_examples = _int("num_examples", num_examples, 1)
    _check_options(name, opts)
    return _LOADERS[name](
        split=split,
        frames=frames,
        size=size,
        data_dir=data_dir,
        seed=seed,
        start=start,
        channels=int(channels),
        num_examples=num_examples,
        **opts,
    )
