"""Clip sources the evaluator draws from: a data set, a generator, shuffled frames, noise."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np
import tensorflow as tf

from zoo.data import video_io


# ---------------------------------------------------------------------------- clips
@dataclasses.dataclass
class Clips:
    """``num`` clips (uint8 ``[N, T, H, W, C]``) with their labels (int ``[N]``, -1 unlabelled)."""

    videos: np.ndarray
    labels: np.ndarray

    @property
    def labelled(self) -> bool:
        return bool(len(self.labels)) and int(self.labels.min()) >= 0

    def float_videos(self) -> np.ndarray:
        return video_io.to_float(self.videos)


ClipSource = Callable[[int], Clips]


def _uint8(video) -> np.ndarray:
    """Clips as stored: uint8 as they come, float [-1, 1] converted."""
    video = np.asarray(video)
    return video if video.dtype == np.uint8 else video_io.to_uint8(video)


def dataset_source(dataset: tf.data.Dataset) -> ClipSource:
    """The first ``num`` elements of an unbatched ``{"video", "label"}`` dataset (a ``zoo.data.load``
    stream); a finite dataset shorter than ``num`` is an error naming both counts."""

    def take(num: int) -> Clips:
        videos, labels = [], []
        for batch in dataset.take(num).batch(64):
            videos.append(_uint8(batch["video"].numpy()))
            labels.append(batch["label"].numpy().astype(np.int64))
        count = sum(len(v) for v in videos)
        if count < num:
            raise ValueError(f"the real data set has {count} clips; expected at least --num_samples={num}")
        return Clips(np.concatenate(videos), np.concatenate(labels))

    return take


def generator_source(
    generate: Callable[..., Any],
    latent_dim: int,
    latent_distribution: str = "normal",
    num_classes: Optional[int] = None,
    seed: int = 0,
    batch_size: int = 16,
) -> ClipSource:
    """Clips of a generator: ``generate(z)`` (or ``generate(z, label)`` when ``num_classes`` is
    given, labels ``i % num_classes``: balanced) -> video, float in [-1, 1] or uint8.
    The latents are a pure function of ``seed``."""

    def take(num: int) -> Clips:
        from zoo.randomness import draw_latent

        videos, labels = [], []
        for start in range(0, num, batch_size):
            n = min(batch_size, num - start)
            z = draw_latent(latent_distribution, [n, latent_dim], [seed, start])
            if num_classes:
                label = (np.arange(start, start + n) % num_classes).astype(np.int32)
                video = generate(z, tf.constant(label))
            else:
                label = np.full([n], -1, np.int32)
                video = generate(z)
            videos.append(_uint8(np.asarray(video)))
            labels.append(label.astype(np.int64))
        return Clips(np.concatenate(videos), np.concatenate(labels))

    return take


def conditioned_source(generate: Callable[[tf.Tensor], Any], given: ClipSource, batch_size: int = 16) -> ClipSource:
    """Clips of an image-conditioned generator (VGAN's ``future`` signature, section 3.4):
    ``generate(images)`` (float ``[n, H, W, C]`` in [-1, 1]) -> video, run on the first frames of
    ``given``'s clips in order, so that clip i continues ``given``'s clip i (labels kept)."""

    def take(num: int) -> Clips:
        clips = given(num)
        images = video_io.to_float(clips.videos[:, 0])
        videos = [
            _uint8(np.asarray(generate(tf.constant(images[start : start + batch_size]))))
            for start in range(0, num, batch_size)
        ]
        return Clips(np.concatenate(videos), clips.labels)

    return take


def shuffled_source(source: ClipSource, seed: int = 0) -> ClipSource:
    """``source``'s clips with the frames of each clip in a random order: every frame is
    right, the motion is not (the baseline a video model must beat to show it learned
    motion, not only frames). The permutations are a pure function of ``seed``."""

    def take(num: int) -> Clips:
        clips = source(num)
        rng = np.random.default_rng([seed, 7])
        videos = np.stack([clip[rng.permutation(len(clip))] for clip in clips.videos])
        return Clips(videos, clips.labels)

    return take


def noise_source(shape: Sequence[int], seed: int = 0) -> ClipSource:
    """Uniform noise clips ``[N, *shape]``: the floor every metric must beat."""

    def take(num: int) -> Clips:
        rng = np.random.default_rng(seed)
        return Clips(rng.integers(0, 256, size=(num, *shape), dtype=np.uint8), np.full([num], -1, np.int64))

    return take
