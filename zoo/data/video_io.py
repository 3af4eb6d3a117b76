"""Videos as arrays and as files: decoding, encoding, and the array helpers every dataset shares.

A video to read is a file PyAV (FFmpeg) decodes (.avi, .mp4, .mkv, .webm, .mov, animated
.gif: :data:`VIDEO_EXTENSIONS`) or a folder of frame images (:data:`FRAME_EXTENSIONS`, read
with pillow in natural name order: ``frame2.png`` before ``frame10.png``). Videos are written
with PyAV, GIFs with pillow. Paths may be
local or any ``tf.io.gfile`` URL (``gs://...``, ``file://...``): remote inputs are
streamed to PyAV through a ``tf.io.gfile.GFile`` file object, remote outputs are
written to a local temporary file and copied with ``tf.io.gfile.copy``.

Conventions (see DESIGN.md): a video is channels-last ``[T, H, W, C]``; uint8 in
``[0, 255]`` at the edges (files), float32 in ``[-1, 1]`` inside the models.
:func:`to_uint8` / :func:`to_float` convert between the two, :func:`resize_and_crop`
is the one resize used by every dataset (shorter side to ``size``, then a
``size x size`` crop), :func:`match_channels` turns gray into RGB and back.
"""

from __future__ import annotations

import contextlib
import fractions
import functools
import io
import logging
import math
import os
import re
import shutil
import tempfile
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import av
import numpy as np
import tensorflow as tf
from PIL import Image

log = logging.getLogger(__name__)

__all__ = [
    "VIDEO_EXTENSIONS",
    "FRAME_EXTENSIONS",
    "VideoDecodeError",
    "VideoInfo",
    "read_video",
    "frame_files",
    "probe_video",
    "write_video",
    "write_gif",
    "video_grid",
    "to_uint8",
    "to_float",
    "match_channels",
    "resize_and_crop",
    "is_local_path",
]

# Luminance weights of ITU-R BT.601, the ones PIL's "L" conversion uses.
_LUMA = (0.299, 0.587, 0.114)
#: Files PyAV decodes as videos (a GIF's frames as stored: one shown twice as long counts once).
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".gif")
#: The frame images of a folder that is one video.
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg")


class VideoDecodeError(ValueError):
    """A video file could not be decoded (corrupt, truncated, empty, missing, no video stream)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"cannot decode video {path!r}: {reason}")
        self.path = path
        self.reason = reason


class VideoInfo(NamedTuple):
    """What :func:`probe_video` learns from a container header and its first frame."""

    num_frames: int  # as the container header says; 0 where it does not say (mkv, webm)
    height: int
    width: int
    fps: float


# --------------------------------------------------------------------------- paths


def is_local_path(path: str) -> bool:
    """True for plain file-system paths, False for URLs that need ``tf.io.gfile``."""
    return "://" not in str(path)


@contextlib.contextmanager
def _open_input(path: str) -> Iterator["av.container.InputContainer"]:
    """Opens ``path`` (local or ``tf.io.gfile`` URL) for decoding with PyAV."""
    path = os.fspath(path)
    if is_local_path(path):
        with av.open(path, "r") as container:
            yield container
    else:
        with tf.io.gfile.GFile(path, "rb") as fileobj, av.open(fileobj, "r") as container:
            yield container


@contextlib.contextmanager
def _local_output(path: str) -> Iterator[str]:
    """Yields a local path to write to; copies it to ``path`` afterwards if ``path`` is a URL."""
    path = os.fspath(path)
    if is_local_path(path):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        yield path
        return
    tmp_dir = tempfile.mkdtemp(prefix="zoo_video_")
    try:
        local = os.path.join(tmp_dir, os.path.basename(path))
        yield local
        tf.io.gfile.makedirs(os.path.dirname(path))
        tf.io.gfile.copy(local, path, overwrite=True)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


# Errors that mean "this file is not a decodable video" rather than a bug of ours (pillow's
# UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (av.error.FFmpegError, OSError, EOFError, tf.errors.OpError)


# --------------------------------------------------------------------------- reading


def _natural(name: str):
    """A sort key that orders the numbers inside names by value (2 before 10)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def frame_files(path: str) -> List[str]:
    """The frame images (:data:`FRAME_EXTENSIONS`) of a folder that is one video, in natural
    name order."""
    names = [n.rstrip("/") for n in tf.io.gfile.listdir(path) if n.rstrip("/").lower().endswith(FRAME_EXTENSIONS)]
    return [path.rstrip("/") + "/" + n for n in sorted(names, key=_natural)]


def _read_frame_folder(path: str, max_frames: Optional[int]) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` of a folder of frame images (:func:`read_video`)."""
    files = frame_files(path)[:max_frames]
    if not files:
        raise VideoDecodeError(path, f"the folder holds no frame image ({', '.join(FRAME_EXTENSIONS)})")
    frames = []
    try:
        for file in files:
            with tf.io.gfile.GFile(file, "rb") as f, Image.open(io.BytesIO(f.read())) as image:
                frames.append(np.asarray(image.convert("RGB")))
    except _DECODE_ERRORS as err:
        raise VideoDecodeError(path, f"frame {file!r}: {type(err).__name__}: {err}") from err
    if any(f.shape != frames[0].shape for f in frames):
        raise VideoDecodeError(path, "the frame size changes inside the folder")
    return np.stack(frames)


def read_video(path: str, *, max_frames: Optional[int] = None) -> np.ndarray:
    """Decodes the first video stream of ``path`` (or the frame images of the folder ``path``)
    into uint8 ``[T, H, W, 3]`` (RGB).

    Args:
      path: a local path or any ``tf.io.gfile`` URL.
      max_frames: stop after this many frames (None: decode all).

    Raises:
      VideoDecodeError: (a ``ValueError``) naming ``path`` when the file is missing,
        corrupt, truncated, has no video stream or yields no frame (a folder: holds no
        frame image, or one that does not decode).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be None or >= 1, got {max_frames!r}")
    if tf.io.gfile.isdir(path):
        return _read_frame_folder(path, max_frames)
    frames = []
    try:
        with _open_input(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file holds no video stream")
            for frame in container.decode(container.streams.video[0]):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except VideoDecodeError:
        raise
    except _DECODE_ERRORS as err:
        raise VideoDecodeError(path, f"{type(err).__name__}: {err}") from err
    if not frames:
        raise VideoDecodeError(path, "no frame could be decoded")
    if any(f.shape != frames[0].shape for f in frames):
        raise VideoDecodeError(path, "the frame size changes inside the stream")
    return np.stack(frames)


def probe_video(path: str) -> VideoInfo:
    """Cheap validity check: opens ``path``, reads the stream header and decodes one frame
    (a folder of frames: counts them and decodes the first).

    Raises:
      VideoDecodeError: as :func:`read_video`.
    """
    if tf.io.gfile.isdir(path):
        first = _read_frame_folder(path, 1)
        return VideoInfo(len(frame_files(path)), first.shape[1], first.shape[2], 0.0)
    try:
        with _open_input(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(path, "the file holds no video stream")
            stream = container.streams.video[0]
            first = next(iter(container.decode(stream)), None)
            if first is None:
                raise VideoDecodeError(path, "no frame could be decoded")
            fps = float(stream.average_rate or stream.guessed_rate or 0.0)
            return VideoInfo(int(stream.frames or 0), first.height, first.width, fps)
    except VideoDecodeError:
        raise
    except _DECODE_ERRORS as err:
        raise VideoDecodeError(path, f"{type(err).__name__}: {err}") from err


# --------------------------------------------------------------------------- writing


def _as_rgb_uint8(frames, what: str = "frames") -> np.ndarray:
    """Checks uint8 ``[T, H, W]``, ``[T, H, W, 1]`` or ``[T, H, W, 3]`` and returns ``[T, H, W, 3]``."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8 frames (convert with zoo.data.to_uint8), got dtype {frames.dtype}")
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.shape[0] < 1:
        raise ValueError(f"{what}: expected shape [T, H, W] or [T, H, W, 1|3] with T >= 1, got {frames.shape}")
    return match_channels(frames, 3)


@functools.lru_cache(maxsize=None)
def _can_encode(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "w")
        return True
    except Exception:  # av raises UnknownCodecError or ValueError depending on the build
        return False


def write_video(path: str, frames, fps: float = 25, codec: str = "libx264") -> str:
    """Encodes uint8 ``[T, H, W, 3]`` (or gray) frames into ``path`` (.mp4, .avi, .mkv, .mov; .gif too).

    ``codec`` falls back to "mpeg4" when this PyAV build cannot encode it. Encoders
    of 4:2:0 video need even sides: an odd height or width is padded by repeating
    the last row or column. Returns the codec used.
    """
    path = os.fspath(path)
    if path.lower().endswith(".gif"):
        write_gif(path, frames, fps=fps)
        return "gif"
    frames = _as_rgb_uint8(frames)
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    if not _can_encode(codec):
        log.info("codec %r is not available in this PyAV build; writing %s with mpeg4", codec, path)
        codec = "mpeg4"
    with _local_output(path) as local:
        with av.open(local, "w") as container:
            stream = container.add_stream(codec, rate=fractions.Fraction(fps).limit_denominator(1001))
            stream.height, stream.width = frames.shape[1:3]
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return codec


def encode_gif(frames, fps: float = 8, loop: int = 0) -> bytes:
    """uint8 ``[T, H, W, 3]`` (or gray) frames as the bytes of an animated GIF (pillow);
    ``loop=0`` loops forever."""
    frames = _as_rgb_uint8(frames)
    images = [Image.fromarray(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(1, int(round(1000.0 / fps))),
        loop=loop,
    )
    return buffer.getvalue()


def write_gif(path: str, frames, fps: float = 8, loop: int = 0) -> bytes:
    """Writes uint8 ``[T, H, W, 3]`` (or gray) frames as an animated GIF (:func:`encode_gif`)
    and returns its bytes. To write several videos as one GIF, tile them first with
    :func:`video_grid`."""
    gif = encode_gif(frames, fps, loop)
    with _local_output(path) as local, open(local, "wb") as f:
        f.write(gif)
    return gif


def video_grid(videos, cols: Optional[int] = None, border: int = 2, border_value: int = 255) -> np.ndarray:
    """Tiles uint8 videos ``[N, T, H, W, C]`` (C = 1 or 3) into one ``[T, H', W', 3]`` video.

    Tiles fill rows left to right, ``cols`` per row (default ``ceil(sqrt(N))``), with
    ``border`` pixels of ``border_value`` between and around them; empty cells stay
    border-colored.
    """
    videos = np.asarray(videos)
    if videos.ndim != 5:
        raise ValueError(f"video_grid: expected [N, T, H, W, C], got shape {videos.shape}")
    n, t, h, w, _ = videos.shape
    if n < 1:
        raise ValueError("video_grid: expected at least one video, got N=0")
    videos = np.stack([_as_rgb_uint8(v, "video_grid") for v in videos])
    cols = int(cols) if cols else int(math.ceil(math.sqrt(n)))
    if cols < 1:
        raise ValueError(f"video_grid: cols must be >= 1, got {cols}")
    rows = int(math.ceil(n / cols))
    grid = np.full((t, rows * (h + border) + border, cols * (w + border) + border, 3), border_value, np.uint8)
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = border + r * (h + border), border + c * (w + border)
        grid[:, y : y + h, x : x + w] = videos[k]
    return grid


# --------------------------------------------------------------------------- array helpers


def to_uint8(video):
    """float ``[-1, 1]`` -> uint8 ``[0, 255]`` (rounded, clipped); numpy in, numpy out; tf in, tf out."""
    if tf.is_tensor(video):  # clip, then scale: what every export's signatures compute (rounding the
        # other way round differed by 1 at 5 of 18432 values of a served video)
        video = tf.clip_by_value(tf.cast(video, tf.float32), -1.0, 1.0)
        return tf.cast(tf.round((video + 1.0) * 127.5), tf.uint8)
    scaled = np.round((np.asarray(video, np.float32) + 1.0) * 127.5)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def to_float(video):
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]``; numpy in, numpy out; tf in, tf out."""
    if tf.is_tensor(video):
        return tf.cast(video, tf.float32) / 127.5 - 1.0
    return np.asarray(video, np.float32) / 127.5 - 1.0


def match_channels(video, channels: int):
    """Returns ``video [..., C]`` with ``channels`` channels: gray is replicated to RGB,
    RGB is reduced to its BT.601 luminance. Keeps the dtype; numpy or tf."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    have = int(video.shape[-1])
    if have == channels:
        return video
    if have == 1:
        return (
            tf.tile(video, [1] * (len(video.shape) - 1) + [3]) if tf.is_tensor(video) else np.repeat(video, 3, axis=-1)
        )
    if have != 3:
        raise ValueError(f"expected 1 or 3 channels, got shape {tuple(video.shape)}")
    if tf.is_tensor(video):
        luma = tf.tensordot(tf.cast(video, tf.float32), tf.constant(_LUMA), axes=[[-1], [0]])
        luma = tf.round(luma) if video.dtype == tf.uint8 else luma
        return tf.cast(luma, video.dtype)[..., None]
    luma = np.asarray(video, np.float32) @ np.asarray(_LUMA, np.float32)
    luma = np.round(luma) if video.dtype == np.uint8 else luma
    return luma.astype(video.dtype)[..., None]


#: Named preprocessings of video frames for ``size x size`` clips: ``name -> (size, h, w) ->
#: (resize_h, resize_w, crop)``: resize the ``h x w`` frames to ``resize_h x resize_w``,
#: crop ``crop x crop``, and resize the crop to ``size`` where it is another size.
PREPROCESSINGS: Dict[str, Callable[[int, int, int], Tuple[int, int, int]]] = {
    # The zoo's default: the shorter side to size (aspect kept), a size x size crop.
    "shorter_side": lambda size, h, w: (
        max(size, round(h * size / min(h, w))),
        max(size, round(w * size / min(h, w))),
        size,
    ),
    # TGAN (section 5, UCF-101): every video resized to 60 x 80, a 48-pixel square from the
    # center (the paper's 48 x 48 models; another size resizes the crop).
    "tgan_ucf101": lambda size, h, w: (60, 80, 48),
    # MVT-GAN (section 6.1, UCF-101): resized to 127 x 127 for 96 x 96 models and 170 x 170 for
    # 128 x 128 (aspect not kept), then cropped; other sizes keep the ratio (~1.33).
    "mvt_ucf101": lambda size, h, w: (
        ({96: (127, 127), 128: (170, 170)}.get(size) or (round(size * 170 / 128),) * 2) + (size,)
    ),
    # MVT-GAN (section 6.1, Jester): resized to 96 x 136, then cropped to 96 x 96 (size scales both).
    "mvt_jester": lambda size, h, w: (size, round(size * 136 / 96), size),
    # A size x size crop of the frames as they are, no resize (MVT-GAN, section 6.1, Weizmann:
    # "we cropped the videos to 96 x 96", from its 180 x 144 frames); smaller frames are refused.
    "crop": lambda size, h, w: (h, w, size),
}


def _resize(frames: np.ndarray, new_h: int, new_w: int) -> np.ndarray:
    """uint8 ``[T, H, W, C]`` resized bilinearly (PIL: antialiased when shrinking)."""
    t, h, w, c = frames.shape
    if (h, w) == (new_h, new_w):
        return frames
    resized = np.empty((t, new_h, new_w, c), np.uint8)
    for k in range(t):
        image = Image.fromarray(frames[k, ..., 0] if c == 1 else frames[k])
        image = image.resize((new_w, new_h), Image.BILINEAR)
        resized[k] = np.asarray(image).reshape(new_h, new_w, c)
    return resized


def resize_and_crop(
    frames: np.ndarray, size: int, crop_at: Tuple[float, float] = (0.5, 0.5), preprocess: str = "shorter_side"
) -> np.ndarray:
    """uint8 ``[T, H, W, C]`` -> ``[T, size, size, C]`` by the named ``preprocess``
    (:data:`PREPROCESSINGS`; by default the shorter side resized to ``size``, bilinear,
    antialiased when shrinking, then a ``size x size`` crop).

    ``crop_at = (fy, fx)`` in ``[0, 1]`` places the crop in the resized frame:
    ``(0.5, 0.5)`` is the center crop, a random pair a random crop.
    """
    if preprocess not in PREPROCESSINGS:
        raise ValueError(f"preprocess {preprocess!r}: expected one of {sorted(PREPROCESSINGS)}")
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[..., None]
    t, h, w, c = frames.shape
    if (h, w) == (size, size) and preprocess == "shorter_side":
        return frames
    new_h, new_w, crop = PREPROCESSINGS[preprocess](size, h, w)
    if crop > min(new_h, new_w):
        raise ValueError(f"preprocess {preprocess!r}: a {crop}-pixel crop of {new_h}x{new_w} frames")
    resized = _resize(frames, new_h, new_w)
    y0 = int(round(min(max(crop_at[0], 0.0), 1.0) * (new_h - crop)))
    x0 = int(round(min(max(crop_at[1], 0.0), 1.0) * (new_w - crop)))
    return _resize(resized[:, y0 : y0 + crop, x0 : x0 + crop], size, size)
