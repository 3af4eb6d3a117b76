"""What a person checks in a bouncing-balls video, measured: the ``balls`` metric of ``zoo.metrics``.

A generated bouncing-balls clip looks right when (1) the number of balls stays the
same in every frame, (2) every ball keeps its round shape and size, (3) balls move in
straight lines between bounces, and (4) the background does not flicker. Feature
distances (FVD, KID) summarise all of this in one number that nobody can read; this
module measures each property on its own, in pixels and grey levels, so that real
clips, frame-shuffled clips and a generator can be compared property by property.

How, per clip (uint8 ``[T, H, W, C]``, luminance in [0, 1]):

* A ball is a 4-connected component of pixels brighter than ``threshold`` (0.5; the
  zoo's soft discs are 1 inside and 0 outside, so the threshold sits at 0.95 of
  the radius and two touching balls stay two components).
* Count: the number of balls in a frame is its bright area over the reference ball
  area, rounded (two touching balls may join into one component, but not into one
  ball's area); ``count_constant`` is true when it is the same non-zero number in
  every frame.
* Shape: a component is ball-shaped when its area is within ``area_tolerance``
  (50%) of the reference ball area (the median component area of the *real* clips)
  and it fills at least ``min_fill`` (0.75) of the ellipse inscribed in its bounding box
  (a disc fills ~1, a merged pair or a streak much less).
* Motion: within every run of three or more frames with the same number of
  components, each component of frame t+1 is matched to the nearest centroid of
  frame t; a track's acceleration is
  ``|c[t+1] - 2 c[t] + c[t-1]|`` in pixels. A step is smooth when the acceleration is
  below ``max_acceleration`` (1 pixel): straight, even motion; a bounce off a wall or
  another ball is a rare large value. ``smooth_fraction`` is the share of smooth steps.
* Background: the mean grey level (0-255) of the pixels darker than
  ``background_threshold`` (0.25) in each frame; ``flicker`` is its standard deviation
  over time.

A clip *passes* when its count is constant, at least ``min_shape_fraction`` (90%) of
its components are ball-shaped, at least ``min_smooth_fraction`` (80%) of its steps
are smooth, and its flicker is below ``max_flicker`` (2 grey levels). The thresholds
are set so that real clips of the built-in data set pass (their pass rate is reported
next to the generator's) while frame-shuffled clips, whose balls jump, do not.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])


@dataclasses.dataclass(frozen=True)
class BallCheck:
    """Thresholds of the check (see the module docstring)."""
    threshold: float = 0.5
    background_threshold: float = 0.25
    area_tolerance: float = 0.5
    min_fill: float = 0.75
    max_acceleration: float = 1.0
    min_shape_fraction: float = 0.9
    min_smooth_fraction: float = 0.8
    max_flicker: float = 2.0


def luminance(videos) -> np.ndarray:
    """uint8 ``[N, T, H, W, C]`` (C = 1 or 3) -> float ``[N, T, H, W]`` in [0, 1]."""
    videos = np.asarray(videos)
    if videos.ndim != 5 or videos.shape[-1] not in (1, 3):
        raise ValueError(f"motion check: expected uint8 videos [N, T, H, W, 1 or 3], got {videos.dtype} "
                         f"{videos.shape}")
    x = videos.astype(np.float64) / 255.0
    return x[..., 0] if x.shape[-1] == 1 else x @ _LUMA


def label_components(mask: np.ndarray) -> np.ndarray:
    """4-connected components of every image of ``mask`` (bool ``[..., H, W]``) at once:
    int labels, 0 for background, otherwise the smallest flat index + 1 in the component
    (so labels are unique within each image). Vectorised min-propagation."""
    shape = mask.shape
    h, w = shape[-2:]
    flat = mask.reshape(-1, h, w)
    big = np.iinfo(np.int64).max
    labels = np.where(flat, np.arange(h * w, dtype=np.int64).reshape(1, h, w) + 1, big)
    while True:
        padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)), constant_values=big)
        neighbours = np.minimum.reduce([padded[:, 1:-1, 1:-1], padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                                        padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])
        new = np.where(flat, neighbours, big)
        if np.array_equal(new, labels):
            break
        labels = new
    return np.where(flat, labels, 0).reshape(shape)


@dataclasses.dataclass
class _Blob:
    area: float
    fill: float
    center: np.ndarray  # (y, x) in pixels


def _blobs(labels: np.ndarray) -> List[_Blob]:
    """Components of one labelled image."""
    out = []
    for value in np.unique(labels):
        if value == 0:
            continue
        ys, xs = np.nonzero(labels == value)
        area = float(len(ys))
        bbox = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        out.append(_Blob(area, area / (np.pi / 4 * bbox), np.array([ys.mean(), xs.mean()])))
    return out


def _accelerations(frames: List[List[_Blob]]) -> np.ndarray:
    """Per-step accelerations (pixels) of nearest-centroid tracks through runs of frames
    with the same number of components."""
    runs, start = [], 0
    for t in range(1, len(frames) + 1):
        if t == len(frames) or len(frames[t]) != len(frames[start]):
            if t - start >= 3 and frames[start]:
                runs.append(_track_accelerations(frames[start:t]))
            start = t
    return np.concatenate(runs) if runs else np.zeros([0])


def _track_accelerations(frames: List[List[_Blob]]) -> np.ndarray:
    tracks = np.array([[b.center for b in frames[0]]])  # [t, n, 2]
    for blobs in frames[1:]:
        previous = tracks[-1]
        centers = np.array([b.center for b in blobs])
        order, free = [], list(range(len(centers)))
        for p in previous:  # greedy nearest match, ball by ball
            j = min(free, key=lambda k: float(np.sum((centers[k] - p) ** 2)))
            free.remove(j)
            order.append(j)
        tracks = np.concatenate([tracks, centers[order][None]])
    if len(tracks) < 3:
        return np.zeros([0])
    acc = tracks[2:] - 2 * tracks[1:-1] + tracks[:-2]
    return np.linalg.norm(acc, axis=-1).ravel()


def analyse(videos, reference_area: Optional[float] = None, check: BallCheck = BallCheck()
            ) -> Dict[str, object]:
    """Per-clip properties and their summary for uint8 videos ``[N, T, H, W, C]``.

    ``reference_area``: the area of one ball in pixels (default: the median component
    area of these clips, which is what the real clips give :func:`balls_metric`)."""
    lum = luminance(videos)
    labels = label_components(lum > check.threshold)
    blobs = [[_blobs(frame) for frame in clip] for clip in labels]
    areas = [b.area for clip in blobs for frame in clip for b in frame]
    if reference_area is None:
        reference_area = float(np.median(areas)) if areas else 0.0
    clips = []
    for clip_lum, clip in zip(lum, blobs):
        counts = [int(round(float((frame > check.threshold).sum()) / reference_area)) if reference_area else 0
                  for frame in clip_lum]
        constant = counts[0] > 0 and len(set(counts)) == 1
        flat = [b for f in clip for b in f]
        shaped = [abs(b.area - reference_area) <= check.area_tolerance * reference_area
                  and b.fill >= check.min_fill for b in flat]
        shape_fraction = float(np.mean(shaped)) if flat else 0.0
        acc = _accelerations(clip)
        smooth = float(np.mean(acc <= check.max_acceleration)) if acc.size else 0.0
        background = clip_lum < check.background_threshold
        levels = np.array([255 * frame[bg].mean() if bg.any() else 255.0 for frame, bg in zip(clip_lum, background)])
        flicker = float(levels.std())
        passed = (constant and shape_fraction >= check.min_shape_fraction
                  and smooth >= check.min_smooth_fraction and flicker <= check.max_flicker)
        clips.append(dict(count=int(np.median(counts)), count_constant=constant, shape_fraction=shape_fraction,
                          smooth_fraction=smooth, median_acceleration=float(np.median(acc)) if acc.size else None,
                          flicker=flicker, background_level=float(levels.mean()), passed=passed))
    def mean(key):
        values = [c[key] for c in clips if c[key] is not None]
        return float(np.mean(values)) if values else None
    counts = np.array([c["count"] for c in clips])
    values, freq = np.unique(counts, return_counts=True)
    return {
        "pass_rate": mean("passed"),
        "count_constant": mean("count_constant"),
        "count_mode": int(values[np.argmax(freq)]) if len(values) else 0,
        "shape_fraction": mean("shape_fraction"),
        "smooth_fraction": mean("smooth_fraction"),
        "median_acceleration_px": (float(np.median([c["median_acceleration"] for c in clips
                                                    if c["median_acceleration"] is not None]))
                                   if any(c["median_acceleration"] is not None for c in clips) else None),
        "flicker_grey_levels": mean("flicker"),
        "background_grey_level": mean("background_level"),
        "reference_area_px": reference_area,
        "clips": len(clips),
    }


def balls_metric(generated, real, check: BallCheck = BallCheck()) -> Dict[str, object]:
    """The ``balls`` metric: ``value`` = the generated clips' pass rate, ``real_value`` the
    real clips'; the reference ball area comes from the real clips."""
    real_report = analyse(real, check=check)
    generated_report = analyse(generated, reference_area=real_report["reference_area_px"], check=check)
    return {"value": generated_report["pass_rate"], "real_value": real_report["pass_rate"],
            "generated": generated_report, "real": real_report, "thresholds": dataclasses.asdict(check)}
