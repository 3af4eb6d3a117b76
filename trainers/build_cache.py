"""Decode a video folder once into the TFRecord cache its data set reads.

``python -m trainers.build_cache --data_dir=/data/ucf101 --cache_dir=/data/ucf101_cache --model=vgan --preset=paper``

The cache is the one ``--dataset=video_folder --data_opt=cache_dir=DIR`` would build on its
first use (``zoo.data.folder.build_cache``: ``<split>-0000k-of-0000N.tfrecord`` shards and a
``<split>-manifest.json``); building it here, with a progress bar, keeps the decoding out of a
training run. A trainer given the same clip settings (its ``--frames`` and ``--size``, and the
same ``--data_opt`` items: ``frame_stride``, ``clips_per_video``, ``split_index``...) then reads
the clips without decoding a video; other settings are refused as a stale cache
(``--data_opt=rebuild_cache=true`` rebuilds it).

- ``--frames`` and ``--size``, or ``--model`` (and ``--preset``, default ``small``) to take them
  from that model's preset, as its trainer would.
- ``--splits``: the splits to cache (default ``train``; ``train,test`` for a classifier or
  ``trainers.evaluate``, which also read the test split).
- ``--data_opt=key=value``: the video folder's options, as in the trainers; with ``--model``, over
  what its ``--preset`` sets of them, as its trainer would (VGAN's ``paper``: ``stabilize=true``).

Files that do not decode are skipped and counted, never fatal; so are the clips that
``stabilize=true`` drops (no consistent homography between their frames). Progress goes to stderr
(``train: [ 37/101] videos, 2 skipped``), one summary line per split to stdout. A cache that
already matches is reused without opening a video. Exit status: 0 done, 1 failed (e.g. a
write), 2 bad flags or input (no such folder, no decodable video, a stale cache).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from absl import flags

from trainers import callbacks, common

# TensorFlow and zoo are imported where they are used, so that --help and a bad flag answer
# at once (under a second; importing TensorFlow takes 7-12 s here, see trainers.common).

FLAGS = flags.FLAGS
DATASET = "video_folder"
#: Options of the folder data set that only matter when reading a cache.
_READ_ONLY_OPTIONS = ("shuffle_buffer",)


def define_flags() -> None:
    flags.DEFINE_string("data_dir", None, "The video folder (UCF-101 layout: <data_dir>/<ClassName>/<videos>).")
    flags.DEFINE_string("cache_dir", None, "Where the TFRecords go: train with --data_opt=cache_dir=<this>.")
    flags.DEFINE_integer("frames", None, "Frames per clip (default: --model's preset's).")
    flags.DEFINE_integer("size", None, "Frame side of the clips (default: --model's preset's).")
    flags.DEFINE_string(
        "model",
        None,
        "A zoo model (vgan, tgan, mvt, stgan, traversal, c3d, lrcn) whose --preset gives --frames and --size.",
    )
    flags.DEFINE_string("preset", "small", "With --model: its preset.")
    flags.DEFINE_list("splits", ["train"], "Splits to cache: train, test, val.")
    flags.DEFINE_multi_string("data_opt", [], common.DATA_OPT_HELP)


class Progress:
    """``progress(done, total, skipped)`` for ``build_cache``: ``<split>: [ 37/101] videos, 2 skipped``
    on ``stream`` (``trainers.callbacks.TextProgress``: rewritten in place on a terminal, else a
    plain line at most every ``every`` seconds and the last one)."""

    def __init__(self, split: str, stream: Optional[TextIO] = None, every: float = 5.0):
        self.split, self.calls = split, 0
        self.text = callbacks.TextProgress(stream or sys.stderr, every)

    def __call__(self, done: int, total: int, skipped: int) -> None:
        self.calls += 1
        self.text.show(
            f"{self.split}: [{done:>{len(str(total))}}/{total}] videos, {skipped} skipped", final=done >= total
        )


def clip_settings(frames: Optional[int], size: Optional[int], model: Optional[str], preset: str):
    """(frames, size): the flags, else ``model``'s preset's, as its trainer resolves them."""
    if model:
        import zoo

        cfg = zoo.resolve(model, preset)
        frames = cfg.frames if frames is None else frames
        size = cfg.size if size is None else size
    if frames is None or size is None:
        raise ValueError(
            "give --frames and --size (the clips the trainer reads: the model's), or --model "
            "and --preset to take them from that preset"
        )
    if frames < 1 or size < 8:
        raise ValueError(f"--frames must be >= 1 and --size >= 8, got --frames={frames} --size={size}")
    return int(frames), int(size)


def build(
    data_dir: str,
    cache_dir: Optional[str],
    *,
    frames: int,
    size: int,
    splits: Sequence[str] = ("train",),
    data_options=(),
    stream: Optional[TextIO] = None,
    report: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> List[Dict[str, Any]]:
    """Builds (or reuses) the cache of each split; returns the manifests, each with ``cache_dir``
    and ``reused`` (whether it matched already, so that no video was opened).

    ``data_options``: the folder data set's options (``--data_opt`` items or a mapping;
    ``common.data_options``); ``cache_dir`` may come from there instead. Progress goes to
    ``stream`` (default stderr); ``report(manifest)`` is called as each split is done.

    Raises:
      ValueError: for bad input (checked before anything is written where it can be), a folder
        without decodable videos, or a cache made with other settings.
    """
    from zoo.data import folder

    opts = common.data_options(DATASET, data_options)
    given = opts.pop("cache_dir", None)
    if cache_dir and given and given != cache_dir:
        raise ValueError(f"--cache_dir={cache_dir} and --data_opt=cache_dir={given} differ; give one")
    cache_dir = cache_dir or given
    if not data_dir:
        raise ValueError("--data_dir is required: the video folder, <data_dir>/<ClassName>/<videos>")
    if not cache_dir:
        raise ValueError("--cache_dir is required: where the TFRecords go (train with --data_opt=cache_dir=<it>)")
    if opts.pop("random_crop", False):
        raise ValueError(
            "random_crop=true cannot apply to cached clips (they are center crops); expected "
            "random_crop=false with a cache"
        )
    for name in _READ_ONLY_OPTIONS:
        opts.pop(name, None)
    splits = [s.strip() for s in splits if s.strip()]
    unknown = [s for s in splits if s not in folder.SPLITS]
    if unknown or not splits:
        raise ValueError(f"--splits: expected some of {list(folder.SPLITS)}, got {list(splits)}")
    folder.ClipSpec(
        frames,
        size,
        opts.get("frame_stride", 1),
        opts.get("clips_per_video", 1),
        opts.get("preprocess", "shorter_side"),
    )  # checks them
    manifests = []
    for split in splits:
        progress = Progress(split, stream)
        manifest = folder.build_cache(
            data_dir,
            cache_dir,
            split=split,
            frames=frames,
            size=size,
            frame_stride=opts.get("frame_stride", 1),
            clips_per_video=opts.get("clips_per_video", 1),
            split_file=opts.get("split_file"),
            split_index=opts.get("split_index", 1),
            num_shards=opts.get("cache_shards"),
            rebuild=opts.get("rebuild_cache", False),
            probe_workers=opts.get("probe_workers", 4),
            preprocess=opts.get("preprocess", "shorter_side"),
            stabilize=opts.get("stabilize", False),
            progress=progress,
        )
        manifests.append(dict(manifest, cache_dir=cache_dir, reused=progress.calls == 0))
        if report is not None:
            report(manifests[-1])
    return manifests


def summary(manifest: Dict[str, Any]) -> str:
    """One line about a split's cache (a manifest as :func:`build` returns it)."""
    skipped = manifest.get("skipped", [])
    text = (
        f"{manifest['settings']['split']}: {manifest['num_clips']} clips of {len(manifest['files'])} videos "
        f"in {manifest['cache_dir']}, "
        f"{len(skipped)} skipped"
    )
    if skipped:
        text += " (" + "; ".join(f"{p}: {r}" for p, r in skipped[:5]) + ("; ..." if len(skipped) > 5 else "") + ")"
    if manifest["settings"].get("stabilize"):
        dropped = len(manifest.get("dropped", []))
        share = dropped / max(1, dropped + manifest["num_clips"])
        text += f", stabilised: {dropped} of {dropped + manifest['num_clips']} clips dropped ({share:.1%})"
    return text + (" (reused: built before with these settings)" if manifest["reused"] else "")


def main(argv: List[str]) -> None:
    if len(argv) > 1:
        raise common.usage_error(f"unexpected arguments: {argv[1:]}")
    import tensorflow as tf

    def run():
        frames, size = clip_settings(FLAGS.frames, FLAGS.size, FLAGS.model, FLAGS.preset)
        options = (
            common.with_preset_data_options(FLAGS.model, FLAGS.preset, DATASET, FLAGS.data_opt)
            if FLAGS.model
            else FLAGS.data_opt
        )
        build(
            FLAGS.data_dir,
            FLAGS.cache_dir,
            frames=frames,
            size=size,
            splits=FLAGS.splits,
            data_options=options,
            report=lambda manifest: print(summary(manifest), flush=True),
        )

    common.exit_on_error(run, failure=(OSError, tf.errors.OpError))


if __name__ == "__main__":
    define_flags()
    common.run_cli(main)
