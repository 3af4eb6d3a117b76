"""Videos from disk: a folder in the UCF-101 layout, and sharded TFRecord caches of its clips.

The layout is UCF-101's (Soomro, Zamir & Shah, "UCF101: A dataset of 101 human
actions classes from videos in the wild", 2012)::

    data_dir/<ClassName>/<file>.{avi,mp4,mkv,webm,mov,gif}   a video file, or
    data_dir/<ClassName>/<clip>/<frame>.{png,jpg,jpeg}         a folder of frames (one video)
    data_dir/classInd.txt                 optional: "1 ApplyEyeMakeup" per line
    data_dir/trainlist0{1,2,3}.txt        optional: "ApplyEyeMakeup/v_..._g08_c01.avi 1"
    data_dir/testlist0{1,2,3}.txt         optional: "ApplyEyeMakeup/v_..._g01_c01.avi"

(the list files may also sit in ``data_dir/ucfTrainTestlist/`` as in the UCF-101
download). Labels are 0-based: the ``classInd.txt`` id minus one, or the rank of
the class folder in alphabetical order (a class folder is a sub-folder holding at least one
video). Without split lists every file is train,
and test/val is a deterministic 20% holdout chosen by a hash of ``Class/file``
(then train is the other 80%). Any other file in a class folder is skipped, counted and
reported with the files that do not decode, never silently ignored. ``data_dir`` may be any
``tf.io.gfile`` URL.

Clips: ``frames`` frames, ``frame_stride`` apart, resized so the shorter side is
``size`` and cropped to ``size x size`` (or by a paper's recipe: ``preprocess``). A video shorter than a clip is
padded by
repeating its last frame (never skipped), so every decodable file gives clips.
Train draws ``clips_per_video`` clips per file and epoch at random offsets (and
random crops with ``random_crop=True``), from ``(seed, epoch, file, slot)``; test/val
take ``clips_per_video`` evenly spaced clips (one: the middle one) and center crops.

Every file is probed once (header and first frame) when the dataset is built;
the ones that do not decode are skipped and reported in one warning
(:func:`scan_folder` returns the lists). With ``cache_dir`` the deterministic clips
are decoded once into sharded TFRecords (:func:`build_cache`) that later runs read
(:func:`load_tfrecord`, also the ``"tfrecord"`` data set). ``stabilize=True`` cancels each
cached clip's camera motion first and drops the clips without a consistent homography
(``zoo.data.stabilize``; VGAN's section 4.1), counted and reported like files that do not decode.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import math
import uuid
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from zoo import files
from zoo.data import stabilize as stabilize_lib
from zoo.data import synthetic, video_io

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = video_io.VIDEO_EXTENSIONS
#: What the layout takes, for error messages.
LAYOUT = (
    f"<data_dir>/<ClassName>/<file>{{{','.join(VIDEO_EXTENSIONS)}}} or "
    f"<data_dir>/<ClassName>/<clip>/<frames>{{{','.join(video_io.FRAME_EXTENSIONS)}}}"
)
#: Why a file of a class folder that is not a video is skipped.
NOT_A_VIDEO = f"not a video (expected a file {'/'.join(VIDEO_EXTENSIONS)} or a folder of frame images)"
HOLDOUT_PERCENT = 20
LIST_FOLDERS = ("", "ucfTrainTestlist")  # where classInd.txt and the split lists may sit
SPLITS = ("train", "val", "test")
_REPORTED_PATHS = 5  # how many bad paths the warning names


# --------------------------------------------------------------------------- listing


def _join(directory: str, *names: str) -> str:
    """Joins with "/" (works for local paths and gfile URLs alike)."""
    parts = [directory.rstrip("/")] + [n.strip("/") for n in names if n]
    return "/".join(parts)


def _entries(folder: str) -> Tuple[set, set]:
    """``(videos, others)``: the names in a class folder that are videos (files PyAV decodes,
    and sub-folders, each a video of frame images; whether one holds any is found when it is
    probed) and those that are not."""
    videos, others = set(), set()
    for entry in tf.io.gfile.listdir(folder):
        name = entry.rstrip("/")
        if name.lower().endswith(VIDEO_EXTENSIONS) or tf.io.gfile.isdir(_join(folder, name)):
            videos.add(name)
        else:
            others.add(name)
    return videos, others


def _find(data_dir: str, name: str) -> Optional[str]:
    for folder in LIST_FOLDERS:
        path = _join(data_dir, folder, name)
        if tf.io.gfile.exists(path):
            return path
    return None


def _read_lines(path: str) -> List[str]:
    with tf.io.gfile.GFile(path, "r") as f:
        return [line.strip() for line in f.read().splitlines() if line.strip()]


def in_holdout(relpath: str) -> bool:
    """Whether ``Class/file`` falls in the 20% test holdout used when there are no split lists."""
    digest = hashlib.md5(relpath.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < HOLDOUT_PERCENT


def list_classes(data_dir: str) -> Tuple[str, ...]:
    """Class names in label order: from ``classInd.txt`` if present, else the sorted names of
    the sub-folders of ``data_dir`` that hold at least one video. ``ValueError`` for a missing
    folder, or one without a class folder (saying what it holds instead)."""
    if not tf.io.gfile.isdir(data_dir):
        raise ValueError(f"video folder {data_dir!r} does not exist or is not a directory; expected {LAYOUT}")
    class_index = _find(data_dir, "classInd.txt")
    if class_index is not None:
        entries = []
        for line in _read_lines(class_index):
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit():
                raise ValueError(f"{class_index!r}: expected lines '<id> <ClassName>', got {line!r}")
            entries.append((int(parts[0]), parts[1]))
        return tuple(name for _, name in sorted(entries))
    names, loose, others = [], 0, 0
    for entry in sorted(tf.io.gfile.listdir(data_dir)):
        name = entry.rstrip("/")
        folder = _join(data_dir, name)
        if not tf.io.gfile.isdir(folder):
            loose += name.lower().endswith(VIDEO_EXTENSIONS)
            continue
        videos, rest = _entries(folder)
        if videos:
            names.append(name)
        others += len(rest)
    if not names:
        raise ValueError(
            f"video folder {data_dir!r} has no class folder holding a video: expected {LAYOUT}; "
            f"found {loose} videos outside a class folder and {others} other files in its "
            f"sub-folders (not videos: expected {', '.join(VIDEO_EXTENSIONS)} or frame folders)"
        )
    return tuple(names)


def _split_list(data_dir: str, split: str, split_file: Optional[str], split_index: int) -> Optional[str]:
    """The split list that selects ``split``'s files, or None when the folder has none."""
    if split_file is not None:
        if not tf.io.gfile.exists(split_file):
            raise ValueError(f"split_file {split_file!r} does not exist; expected a list of '<ClassName>/<file>' lines")
        return split_file
    if split_index not in (1, 2, 3):
        raise ValueError(f"split_index must be 1, 2 or 3 (UCF-101's three splits), got {split_index!r}")
    names = {s: f"{'train' if s == 'train' else 'test'}list0{split_index}.txt" for s in ("train", "test")}
    found = {s: _find(data_dir, n) for s, n in names.items()}
    wanted = "train" if split == "train" else "test"
    if found[wanted] is None and any(found.values()):
        raise ValueError(
            f"{data_dir!r} has {[p for p in found.values() if p]} but no {names[wanted]}; "
            f"expected both lists of split {split_index} or neither"
        )
    return found[wanted]


def list_videos(data_dir: str, *, split: str = "train", split_file: Optional[str] = None, split_index: int = 1):
    """Lists ``split``'s files without opening them.

    Returns:
      ``(classes, candidates, skipped)``: the class names in label order, the
      ``(Class/file, label)`` pairs that exist, sorted, and ``(Class/file, reason)``
      for split-list entries that are missing or name an unknown class, and for the files of
      the split that are not videos (``NOT_A_VIDEO``).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    classes = list_classes(data_dir)
    labels = {name: k for k, name in enumerate(classes)}
    on_disk: Dict[str, Tuple[set, set]] = {}

    def entries_of(name: str) -> Tuple[set, set]:
        if name not in on_disk:
            folder = _join(data_dir, name)
            on_disk[name] = _entries(folder) if tf.io.gfile.isdir(folder) else (set(), set())
        return on_disk[name]

    listing = _split_list(data_dir, split, split_file, split_index)
    candidates, skipped = [], []
    if listing is None:
        for name in classes:
            videos, others = entries_of(name)
            for f in sorted(videos | others):
                relpath = f"{name}/{f}"
                if in_holdout(relpath) == (split != "train"):
                    if f in videos:
                        candidates.append((relpath, labels[name]))
                    else:
                        skipped.append((relpath, NOT_A_VIDEO))
    else:
        for line in _read_lines(listing):
            relpath = line.split()[0].replace("\\", "/")
            name, _, f = relpath.rpartition("/")
            if name not in labels:
                skipped.append((relpath, f"class {name!r} is not one of the {len(classes)} classes"))
            elif f in entries_of(name)[1]:
                skipped.append((relpath, f"listed in the split list, but {NOT_A_VIDEO}"))
            elif f not in entries_of(name)[0]:
                skipped.append((relpath, "listed in the split list but not found"))
            else:
                candidates.append((relpath, labels[name]))
        candidates.sort()
    return classes, candidates, skipped


@dataclasses.dataclass(frozen=True)
class FolderScan:
    """What :func:`scan_folder` found: the usable videos and the skipped ones."""

    data_dir: str
    split: str
    classes: Tuple[str, ...]
    good: Tuple[Tuple[str, int], ...]  # (path, label), sorted by path
    bad: Tuple[Tuple[str, str], ...]  # (path, reason)
    frame_counts: Tuple[int, ...]  # per good file, from its header; 0 where unknown


def _probe(path: str):
    try:
        return video_io.probe_video(path).num_frames
    except video_io.VideoDecodeError as err:
        return err


def scan_folder(
    data_dir: str, *, split: str = "train", split_file: Optional[str] = None, split_index: int = 1, workers: int = 4
) -> FolderScan:
    """Lists ``split``'s videos and probes each once (header and first frame).

    Files that are not videos or cannot be decoded (and split-list entries that are missing)
    are skipped, and reported in ONE ``logging.warning`` with their count and the first few
    paths and reasons (``FolderScan.bad``; a cache's manifest lists them as ``skipped``).

    Raises:
      ValueError: when no usable video is left, naming the folder, the expected layout and
        what was found.
    """
    classes, candidates, skipped = list_videos(data_dir, split=split, split_file=split_file, split_index=split_index)
    paths = [_join(data_dir, relpath) for relpath, _ in candidates]
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        probes = list(pool.map(_probe, paths))
    good, counts = [], []
    bad = [(_join(data_dir, relpath), reason) for relpath, reason in skipped]
    for path, (_, label), probe in zip(paths, candidates, probes):
        if isinstance(probe, Exception):
            bad.append((path, probe.reason))
        else:
            good.append((path, label))
            counts.append(probe)
    first = "; ".join(f"{p} ({r})" for p, r in bad[:_REPORTED_PATHS])
    if bad:
        log.warning(
            "skipping %d of %d files of split %r under %s that are not videos or cannot be decoded; first: %s",
            len(bad),
            len(bad) + len(good),
            split,
            data_dir,
            first,
        )
    if not good:
        raise ValueError(
            f"no usable video for split {split!r} under {data_dir!r}: expected {LAYOUT} that decodes; "
            f"found {len(classes)} classes, {len(candidates)} videos, {len(bad)} skipped"
            + (f" (first: {first})" if bad else "")
        )
    return FolderScan(data_dir, split, classes, tuple(good), tuple(bad), tuple(counts))


# --------------------------------------------------------------------------- clips


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    """How clips are cut from a video (also the settings a TFRecord cache records)."""

    frames: int
    size: int
    frame_stride: int = 1
    clips_per_video: int = 1
    preprocess: str = "shorter_side"  # video_io.PREPROCESSINGS: how frames become size x size
    stabilize: bool = False  # zoo.data.stabilize: each clip's camera motion cancelled first

    def __post_init__(self):
        for name in ("frame_stride", "clips_per_video"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.preprocess not in video_io.PREPROCESSINGS:
            raise ValueError(f"preprocess must be one of {sorted(video_io.PREPROCESSINGS)}, got {self.preprocess!r}")

    @property
    def span(self) -> int:
        """Frames of the source one clip covers."""
        return (self.frames - 1) * self.frame_stride + 1

    def evaluation_starts(self, length: int) -> List[int]:
        """The ``clips_per_video`` evenly spaced start frames of test clips (one: the middle)."""
        room = max(0, length - self.span)
        return [int(round(room * (k + 1) / (self.clips_per_video + 1))) for k in range(self.clips_per_video)]

    @property
    def stabilize_key(self):
        """What a cache records of stabilisation: False, or the stabiliser's settings."""
        return stabilize_lib.DEFAULT.key() if self.stabilize else False

    def cut(self, video: np.ndarray, start: int, crop_at=(0.5, 0.5)) -> np.ndarray:
        """The clip at ``start``: uint8 ``[frames, size, size, 3]``; past the end, the last
        frame repeats. With ``stabilize``, its frames are stabilised at the source's size
        first (``zoo.data.stabilize``), which raises ``SegmentDropped`` for a clip without a
        consistent homography."""
        index = np.minimum(start + self.frame_stride * np.arange(self.frames), len(video) - 1)
        frames = video[index]
        if self.stabilize:
            frames = stabilize_lib.stabilize(frames).video
        return video_io.resize_and_crop(frames, self.size, crop_at, self.preprocess)


def read_clips(
    path: str,
    spec: ClipSpec,
    *,
    frame_count: int = 0,
    rng: Optional[np.random.Generator] = None,
    random_crop: bool = False,
    slots: Optional[Sequence[int]] = None,
    dropped: Optional[List[Tuple[int, str]]] = None,
) -> List[Tuple[np.ndarray, int]]:
    """Decodes ``path`` and cuts clips: ``[(clip, start)]``.

    With ``rng``: one clip at a random start (and a random crop if ``random_crop``).
    Without: the evaluation clips ``slots`` (default all ``clips_per_video``), center-cropped.
    ``frame_count`` (from the header, 0 if unknown) lets decoding stop after the last
    frame needed; when the header overstates the length, starts follow the real length.
    ``dropped``: where ``(start, reason)`` of each clip that stabilisation drops
    (``spec.stabilize``) is appended; without it, a dropped clip raises.

    Raises:
      video_io.VideoDecodeError: if the file does not decode.
      stabilize.SegmentDropped: for a clip that stabilisation drops, without ``dropped``.
    """

    def starts_for(length):
        if rng is not None:
            return [int(rng.integers(0, max(0, length - spec.span) + 1))]
        starts = spec.evaluation_starts(length)
        return [starts[s] for s in slots] if slots is not None else starts

    state = rng.bit_generator.state if rng is not None else None
    video = None
    if frame_count > 0:
        starts = starts_for(frame_count)
        video = video_io.read_video(path, max_frames=max(starts) + spec.span)
        if len(video) < max(starts) + spec.span and len(video) < frame_count:
            if rng is not None:
                rng.bit_generator.state = state  # the header lied: redraw from the real length
            starts = starts_for(len(video))
    else:
        video = video_io.read_video(path)
        starts = starts_for(len(video))
    crops = [tuple(rng.random(2)) if (rng is not None and random_crop) else (0.5, 0.5) for _ in starts]
    clips = []
    for s, c in zip(starts, crops):
        try:
            clips.append((spec.cut(video, s, c), s))
        except stabilize_lib.SegmentDropped as err:
            if dropped is None:
                raise
            dropped.append((s, err.reason))
    return clips


def _folder_stream(
    scan: FolderScan,
    spec: ClipSpec,
    *,
    split: str,
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    random_crop: bool,
) -> tf.data.Dataset:
    """Index-addressed clips of the scanned files (see the module docstring)."""
    per_file = spec.clips_per_video
    pool = len(scan.good) * per_file
    if num_examples is not None:
        pool = min(pool, num_examples)
    failed = set()  # files that passed the probe but failed later: warned about once

    def element(i):
        if split == "train":
            epoch, j = synthetic.epoch_position(i, pool, seed)
            rng = synthetic.sample_rng(seed, split, j, epoch)
        else:
            j, rng = i, None
        file_index, slot = divmod(j, per_file)
        for attempt in range(len(scan.good)):  # a file that fails now: the next one stands in
            k = (file_index + attempt) % len(scan.good)
            path, label = scan.good[k]
            try:
                clips = read_clips(
                    path,
                    spec,
                    frame_count=scan.frame_counts[k],
                    rng=rng,
                    random_crop=random_crop,
                    slots=None if rng is not None else [slot],
                )
                return clips[0][0], label
            except video_io.VideoDecodeError as err:
                if path not in failed:
                    failed.add(path)
                    log.warning("video passed the probe but failed to decode, using another: %s", err)
        raise ValueError(f"no video under {scan.data_dir!r} decodes any more")

    return synthetic.indexed_dataset(
        element,
        shape=(spec.frames, spec.size, spec.size, 3),
        channels=channels,
        start=start,
        stop=None if split == "train" else pool,
    )


# --------------------------------------------------------------------------- TFRecord cache

_FEATURES = {
    "video": tf.io.FixedLenFeature([], tf.string),  # tf.io.serialize_tensor of uint8 [T, H, W, 3]
    "label": tf.io.FixedLenFeature([], tf.int64),
    "path": tf.io.FixedLenFeature([], tf.string),
    "start_frame": tf.io.FixedLenFeature([], tf.int64),
}
CACHE_FORMAT = 1
#: The value of a setting that caches made before it existed lack (they were made without it).
_SETTING_DEFAULTS = {"stabilize": False}


def manifest_path(cache_dir: str, split: str) -> str:
    return _join(cache_dir, f"{split}-manifest.json")


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.tfrecord"


def _example(clip: np.ndarray, label: int, path: str, start: int) -> bytes:
    def feature(value):
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    features = {
        "video": feature(tf.io.serialize_tensor(clip).numpy()),
        "label": feature(label),
        "path": feature(path.encode("utf-8")),
        "start_frame": feature(start),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _write_json(path: str, value) -> None:
    files.write_atomically(path, json.dumps(value, indent=1, sort_keys=True))


def _read_json(path: str):
    with tf.io.gfile.GFile(path, "r") as f:
        return json.loads(f.read())


def build_cache(
    data_dir: str,
    cache_dir: str,
    *,
    split: str = "train",
    frames: int,
    size: int,
    frame_stride: int = 1,
    clips_per_video: int = 1,
    split_file: Optional[str] = None,
    split_index: int = 1,
    num_shards: Optional[int] = None,
    rebuild: bool = False,
    probe_workers: int = 4,
    preprocess: str = "shorter_side",
    stabilize: bool = False,
    progress: Optional[Callable[[int, int, int], None]] = None,
) -> dict:
    """Decodes ``split``'s evaluation clips of a video folder once into sharded TFRecords.

    Writes ``cache_dir/<split>-0000k-of-0000N.tfrecord`` (temporary names renamed when
    complete) and, last, ``cache_dir/<split>-manifest.json`` recording the clip settings
    and the file list. Each record holds the clip (uint8 ``[frames, size, size, 3]``,
    ``tf.io.serialize_tensor``), its label, source path and start frame; records follow
    the order of the uncached test stream (file by file, ``clips_per_video`` each).

    A cache whose manifest matches is reused without opening any video. One made with
    other settings or files is rebuilt with ``rebuild=True`` and rejected otherwise.
    Files that do not decode are skipped, counted and listed in the manifest (``skipped``).

    With ``stabilize`` each clip's camera motion is cancelled before it is resized
    (``zoo.data.stabilize``; the stabiliser's settings are part of the cache's settings), and
    clips without a consistent homography are dropped: counted, reported in one warning with
    their share, and listed in the manifest (``dropped``: ``[path, start frame, reason]``).

    ``progress(done, total, skipped)``, if given, is called once the files are probed and
    after each file is decoded: files of the split handled so far, all of them, and how many
    were skipped (missing or undecodable); never for a cache that is reused.

    Returns:
      The manifest (a dict).
    """
    spec = ClipSpec(frames, size, frame_stride, clips_per_video, preprocess, bool(stabilize))
    classes, candidates, _ = list_videos(data_dir, split=split, split_file=split_file, split_index=split_index)
    settings = {
        "format": CACHE_FORMAT,
        "split": split,
        "frames": frames,
        "size": size,
        "frame_stride": frame_stride,
        "clips_per_video": clips_per_video,
        "preprocess": preprocess,
        "stabilize": spec.stabilize_key,
        "classes": list(classes),
        "candidates": [relpath for relpath, _ in candidates],
    }
    manifest_file = manifest_path(cache_dir, split)
    if tf.io.gfile.exists(manifest_file):
        manifest = _read_json(manifest_file)
        cached = {**_SETTING_DEFAULTS, **manifest.get("settings", {})}
        stale = sorted(k for k in settings if cached.get(k) != settings[k])
        complete = all(tf.io.gfile.exists(_join(cache_dir, s)) for s in manifest.get("shards", []))
        if not stale and complete:
            return manifest
        if not rebuild:
            shown = [k for k in stale if k != "candidates"]
            what = f"differs in {stale}" if stale else "misses shards"
            raise ValueError(
                f"stale TFRecord cache {manifest_file!r}: it {what} (cached "
                f"{ {k: cached.get(k) for k in shown} }, asked { {k: settings[k] for k in shown} }); "
                "expected a matching cache: rebuild it with the option rebuild_cache=true "
                "(--data_opt=rebuild_cache=true on a command line) or use another cache_dir"
            )
        tf.io.gfile.remove(manifest_file)
        for old in manifest.get("shards", []):
            if tf.io.gfile.exists(_join(cache_dir, old)):
                tf.io.gfile.remove(_join(cache_dir, old))

    if spec.stabilize:
        stabilize_lib.require_opencv()  # before any file is probed or written
    scan = scan_folder(data_dir, split=split, split_file=split_file, split_index=split_index, workers=probe_workers)
    expected = len(scan.good) * clips_per_video
    num_shards = int(num_shards) if num_shards else max(1, math.ceil(expected / 256))
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1, got {num_shards}")
    tf.io.gfile.makedirs(cache_dir)
    names = [shard_name(split, k, num_shards) for k in range(num_shards)]
    temps = [_join(cache_dir, f"{n}.tmp-{uuid.uuid4().hex}") for n in names]
    writers = [tf.io.TFRecordWriter(t) for t in temps]
    written, skipped, dropped, count = [], [list(b) for b in scan.bad], [], 0
    total = len(scan.good) + len(scan.bad)
    if progress is not None:
        progress(len(scan.bad), total, len(skipped))
    try:
        for done, ((path, label), frame_count) in enumerate(zip(scan.good, scan.frame_counts), len(scan.bad) + 1):
            dropped_here: List[Tuple[int, str]] = []
            try:
                clips = read_clips(path, spec, frame_count=frame_count, dropped=dropped_here)
            except video_io.VideoDecodeError as err:
                log.warning("skipping a video that passed the probe but failed to decode: %s", err)
                skipped.append([path, err.reason])
                clips = []
            dropped += [[path, start, reason] for start, reason in dropped_here]
            for clip, start in clips:
                writers[min(count * num_shards // max(expected, 1), num_shards - 1)].write(
                    _example(clip, label, path, start)
                )
                count += 1
            if clips:
                written.append(path)
            if progress is not None:
                progress(done, total, len(skipped))
    finally:
        for writer in writers:
            writer.close()
    if dropped:
        log.warning(
            "stabilisation dropped %d of %d clips (%.1f%%) of split %r under %s: no consistent "
            "homography between their frames; first: %s",
            len(dropped),
            len(dropped) + count,
            100.0 * len(dropped) / (len(dropped) + count),
            split,
            data_dir,
            "; ".join(f"{p} from frame {s} ({r})" for p, s, r in dropped[:_REPORTED_PATHS]),
        )
    if not count:
        for t in temps:
            tf.io.gfile.remove(t)
        also = (
            f"; stabilisation dropped all {len(dropped)} clips that decoded (first: {dropped[0][2]})" if dropped else ""
        )
        raise ValueError(f"no clip could be decoded for split {split!r} under {data_dir!r}{also}")
    for tmp, name in zip(temps, names):
        tf.io.gfile.rename(tmp, _join(cache_dir, name), overwrite=True)
    manifest = {
        "settings": settings,
        "data_dir": data_dir,
        "shards": names,
        "num_clips": count,
        "files": written,
        "skipped": skipped,
        "dropped": dropped,
    }
    _write_json(manifest_file, manifest)
    return manifest


def _shards(data_dir: str, split: str) -> List[str]:
    """The shards of ``split`` in ``data_dir``; a directory of TFRecords with no split prefix
    serves every split."""
    shards = sorted(tf.io.gfile.glob(_join(data_dir, f"{split}-*.tfrecord")))
    if shards:
        return shards
    every = sorted(tf.io.gfile.glob(_join(data_dir, "*.tfrecord")))
    prefixed = [p for p in every if p.rsplit("/", 1)[-1].split("-")[0] in SPLITS]
    if every and not prefixed:
        return every
    raise ValueError(
        f"no TFRecord shards for split {split!r} in {data_dir!r}: expected "
        f"{split}-00000-of-0000N.tfrecord files (as build_cache writes), found "
        f"{[p.rsplit('/', 1)[-1] for p in every][:5]}"
    )


def _check_stabilized(data_dir: str, split: str) -> None:
    """ValueError unless ``split``'s manifest in ``data_dir`` says its clips were stabilised."""
    path = manifest_path(data_dir, split)
    recorded = _read_json(path).get("settings", {}).get("stabilize") if tf.io.gfile.exists(path) else None
    if not recorded:
        found = f"its manifest records stabilize={recorded!r}" if recorded is not None else f"no {path!r}"
        raise ValueError(
            f"stabilize=true: the TFRecords of split {split!r} in {data_dir!r} are not stabilised ({found}); "
            "stabilisation needs the source videos: build the cache from the video folder with it, "
            "python -m trainers.build_cache --data_dir=<videos> --cache_dir=<this folder> "
            "--data_opt=stabilize=true (or read these clips with stabilize=false)"
        )


def _parse(record):
    example = tf.io.parse_single_example(record, _FEATURES)
    return tf.io.parse_tensor(example["video"], tf.uint8), tf.cast(example["label"], tf.int32)


def load_tfrecord(
    *,
    split: str,
    frames: int,
    size: int,
    data_dir: Optional[str],
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    shuffle_buffer: int = 256,
    stabilize: bool = False,
) -> tf.data.Dataset:
    """Clips from TFRecord shards (as :func:`build_cache` writes them) in ``data_dir``.

    Train repeats forever, shuffled through a buffer of ``shuffle_buffer`` records with a
    fixed seed (reshuffled every epoch, deterministically); test/val are read in order,
    once. ``num_examples`` keeps the first that many records; ``start`` skips records.
    The stored clips must be ``[frames, size, size, C]``.

    Options:
      shuffle_buffer: records in the train shuffle buffer (default 256).
      stabilize: require clips whose camera motion was cancelled when they were cached: the
        split's manifest must record ``stabilize`` (stabilisation needs the source videos, so
        it runs when a folder's cache is built, never on stored clips).
    """
    if not data_dir:
        raise ValueError("the 'tfrecord' data set needs data_dir: a folder of <split>-*.tfrecord shards")
    shards = _shards(data_dir, split)
    if stabilize:
        _check_stabilized(data_dir, split)
    first = next(iter(tf.data.TFRecordDataset(shards[:1]).map(_parse)), None)
    if first is None:
        raise ValueError(f"TFRecord shards {shards[:2]} hold no record; expected cached clips")
    stored = tuple(first[0].shape)
    if len(stored) != 4 or stored[0] != frames or stored[1:3] != (size, size):
        raise ValueError(
            f"TFRecord cache {data_dir!r} holds clips of shape {list(stored)}; "
            f"expected [frames={frames}, size={size}, size={size}, C]"
        )
    if int(shuffle_buffer) < 1:
        raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer!r}")
    records = tf.data.TFRecordDataset(shards)
    if num_examples is not None:
        records = records.take(num_examples)
    if split == "train":
        records = records.shuffle(
            int(shuffle_buffer), seed=synthetic.seed_word(seed) % (2**63), reshuffle_each_iteration=True
        ).repeat()
    shape = list(stored)

    def to_example(record):
        video, label = _parse(record)
        video = video_io.to_float(tf.ensure_shape(video, shape))
        return {
            "video": tf.ensure_shape(video_io.match_channels(video, channels), shape[:3] + [channels]),
            "label": label,
        }

    return records.skip(start).map(to_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# --------------------------------------------------------------------------- the data set


def load_video_folder(
    *,
    split: str,
    frames: int,
    size: int,
    data_dir: Optional[str],
    seed: int,
    start: int,
    channels: int,
    num_examples: Optional[int],
    frame_stride: int = 1,
    clips_per_video: int = 1,
    random_crop: bool = False,
    split_file: Optional[str] = None,
    split_index: int = 1,
    cache_dir: Optional[str] = None,
    cache_shards: Optional[int] = None,
    rebuild_cache: bool = False,
    shuffle_buffer: int = 256,
    probe_workers: int = 4,
    preprocess: str = "shorter_side",
    stabilize: bool = False,
) -> tf.data.Dataset:
    """Clips of a UCF-101-layout video folder (see the module docstring).

    Options:
      frame_stride: frames between consecutive clip frames (default 1).
      clips_per_video: clips per file and epoch (train, random) or per file (test, evenly spaced).
      random_crop: random instead of center crops along the longer side (train, uncached).
      split_file: a list of '<Class>/<file>' lines selecting this split's files.
      split_index: which of UCF-101's trainlist0k/testlist0k to use (1..3, default 1).
      cache_dir: decode the evaluation clips once into TFRecords there and read those.
      cache_shards: shards of a new cache (default: one per 256 clips).
      rebuild_cache: rebuild a cache made with other settings instead of failing.
      shuffle_buffer: train shuffle buffer when reading a cache (default 256).
      probe_workers: threads probing the files when the data set is built (default 4).
      preprocess: how frames become size x size (``video_io.PREPROCESSINGS``): "shorter_side"
        (default: the shorter side resized to size, then a crop), or a paper's recipe:
        "tgan_ucf101" (60 x 80, a 48 crop, resized to size), "mvt_ucf101" (127 x 127 for 96,
        170 x 170 for 128, then the crop), "mvt_jester" (96 x 136, then the crop), "crop" (the
        frames as they are, cropped: MVT's Weizmann).
      stabilize: cancel each clip's camera motion (``zoo.data.stabilize``: SIFT, RANSAC
        homographies between adjacent frames, every frame warped into the first one's
        coordinates) and drop the clips without a consistent homography, counted and reported.
        Runs once, when the cache is built: needs ``cache_dir``, and OpenCV (the ``stabilize``
        extra).
    """
    if not data_dir:
        raise ValueError("the 'video_folder' data set needs data_dir: <data_dir>/<ClassName>/<videos>")
    spec = ClipSpec(frames, size, frame_stride, clips_per_video, preprocess, bool(stabilize))
    if stabilize and not cache_dir:
        raise ValueError(
            "stabilize=true (given, or set by the model's preset) runs once, into the preprocessing cache: "
            "expected cache_dir too (--data_opt=cache_dir=DIR; python -m trainers.build_cache builds it "
            "ahead), or stabilize=false"
        )
    if cache_dir:
        if random_crop:
            raise ValueError(
                "random_crop=True cannot apply to cached clips (they are center "
                "crops); expected random_crop=False with cache_dir"
            )
        build_cache(
            data_dir,
            cache_dir,
            split=split,
            frames=frames,
            size=size,
            frame_stride=frame_stride,
            clips_per_video=clips_per_video,
            split_file=split_file,
            split_index=split_index,
            num_shards=cache_shards,
            rebuild=rebuild_cache,
            probe_workers=probe_workers,
            preprocess=preprocess,
            stabilize=bool(stabilize),
        )
        return load_tfrecord(
            split=split,
            frames=frames,
            size=size,
            data_dir=cache_dir,
            seed=seed,
            start=start,
            channels=channels,
            num_examples=num_examples,
            shuffle_buffer=shuffle_buffer,
            stabilize=bool(stabilize),
        )
    scan = scan_folder(data_dir, split=split, split_file=split_file, split_index=split_index, workers=probe_workers)
    return _folder_stream(
        scan,
        spec,
        split=split,
        seed=seed,
        start=start,
        channels=channels,
        num_examples=num_examples,
        random_crop=bool(random_crop),
    )
