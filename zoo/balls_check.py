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
* Physics: real balls keep their speed between bounces. On every track step away from
  walls (``radius + bounce_margin``, 1.5 px) and other balls (``2 radius + bounce_margin``)
  and without a velocity component changing sign, the acceleration ``|v[t] - v[t-1]|``
  (centres weighted by luminance over each ball and its soft edge, so sub-pixel);
  ``free_acceleration`` is its median per clip (real clips ~0.006 px/frame^2).
  ``speed_drift`` is ``|ln(rms speed of the clip's second half / first half)|`` over all
  balls (walls and equal-mass collisions keep it; real clips ~2%).
  ``usual_count_fraction``: the share of frames at the clip's most common ball count.
* Background: the mean grey level (0-255) of the pixels darker than
  ``background_threshold`` (0.25) in each frame; ``flicker`` is its standard deviation
  over time.

A clip *passes* when its count is constant, at least ``min_shape_fraction`` (90%) of
its components are ball-shaped, at least ``min_smooth_fraction`` (80%) of its steps
are smooth, its flicker is below ``max_flicker`` (2 grey levels), its free acceleration
is at most ``max_free_acceleration`` (0.05 px/frame^2) and its speed drift at most
``max_speed_drift`` (0.1). The thresholds are set so that real clips of the built-in data
set pass (85% of 128; their pass rate is reported next to the generator's) while
frame-shuffled clips, whose balls jump, and speed-jittered clips (``speed_jitter``, the
right paths at the wrong speeds: 0.28 px/frame^2, drift 12%) do not (0%).
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
    bounce_margin: float = 1.5
    max_free_acceleration: float = 0.05
    max_speed_drift: float = 0.1


def luminance(videos) -> np.ndarray:
    """uint8 ``[N, T, H, W, C]`` (C = 1 or 3) -> float ``[N, T, H, W]`` in [0, 1]."""
    videos = np.asarray(videos)
    if videos.ndim != 5 or videos.shape[-1] not in (1, 3):
        raise ValueError(f"motion check: expected uint8 videos [N, T, H, W, 1 or 3], got {videos.dtype} {videos.shape}")
    x = videos.astype(np.float64) / 255.0
    return x[..., 0] if x.shape[-1] == 1 else x @ _LUMA


def ball_area(frames, balls: int, check: BallCheck = BallCheck()) -> float:
    """One ball's area in pixels: the mean bright area of uint8 ``frames`` ``[N, H, W, C]``
    (real ones, each showing ``balls`` balls) over ``balls``."""
    lum = luminance(np.asarray(frames)[:, None])[:, 0]
    return float((lum > check.threshold).sum(axis=(1, 2)).mean()) / balls


def frame_counts(frames, area: float, check: BallCheck = BallCheck()) -> Dict[int, float]:
    """How many balls uint8 ``frames`` ``[N, H, W, C]`` show, as a clip's count is taken: each
    frame's bright area over one ball's ``area`` (:func:`ball_area`), rounded.
    ``{count: share of frames}``."""
    lum = luminance(np.asarray(frames)[:, None])[:, 0]
    values = np.round((lum > check.threshold).sum(axis=(1, 2)) / area).astype(int)
    found, freq = np.unique(values, return_counts=True)
    return {int(k): float(f) / len(values) for k, f in zip(found, freq)}


def label_components(mask: np.ndarray) -> np.ndarray:
    """4-connected components of every image of ``mask`` (bool ``[..., H, W]``) at once:
    int labels, 0 for background, otherwise the smallest flat index + 1 in the component
    (so labels are unique within each image). Vectorised min-propagation."""
    shape = mask.shape
    h, w = shape[-2:]
    flat = mask.reshape(-1, h, w)
    big = np.iinfo(np.int64).max
    labels = np.where(flat, np.arange(h * w, dtype=np.int64).reshape(1, h, w) + 1, big)
    padded = np.full((flat.shape[0], h + 2, w + 2), big, np.int64)  # its border stays big
    while True:
        padded[:, 1:-1, 1:-1] = labels
        neighbours = np.minimum(labels, padded[:, :-2, 1:-1])
        for shifted in (padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]):
            np.minimum(neighbours, shifted, out=neighbours)
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


def _blobs(labels: np.ndarray, lum: np.ndarray) -> List[_Blob]:
    """Components of one labelled image; centres weighted by luminance (sub-pixel)."""
    out = []
    h, w = labels.shape
    for value in np.unique(labels):
        if value == 0:
            continue
        ys, xs = np.nonzero(labels == value)
        area = float(len(ys))
        top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
        bbox = (bottom - top + 1) * (right - left + 1)
        # the centre weighs the component's pixels and its soft edge (2 pixels out, not another
        # component's) by luminance: thresholded pixels alone move the centre in pixel steps.
        # Computed in the bounding box grown by those 2 pixels (nothing further out can be in
        # the edge), which keeps a frame of many small components cheap.
        y0, x0 = max(top - 2, 0), max(left - 2, 0)
        window = labels[y0 : min(bottom + 3, h), x0 : min(right + 3, w)]
        edge = window == value
        grown = np.zeros((edge.shape[0] + 2, edge.shape[1] + 2), bool)
        for _ in range(2):
            grown[1:-1, 1:-1] = edge
            edge = edge | grown[:-2, 1:-1] | grown[2:, 1:-1] | grown[1:-1, :-2] | grown[1:-1, 2:]
        ey, ex = np.nonzero(edge & ((window == 0) | (window == value)))
        ey, ex = ey + y0, ex + x0
        weight = lum[ey, ex]
        out.append(_Blob(area, area / (np.pi / 4 * bbox), np.array([ey @ weight, ex @ weight]) / weight.sum()))
    return out


def _clip_blobs(videos, check: BallCheck) -> tuple:
    """(luminance ``[N, T, H, W]``, the components of every frame of every clip: ``[N][T]`` lists
    of :class:`_Blob`) of uint8 ``videos`` ``[N, T, H, W, C]``."""
    lum = luminance(videos)
    labels = label_components(lum > check.threshold)
    blobs = [[_blobs(f, fl) for f, fl in zip(clip, clip_lum)] for clip, clip_lum in zip(labels, lum)]
    return lum, blobs


def _runs(frames: List[List[_Blob]]) -> List[tuple]:
    """(first frame, tracks [t, n, 2]) of nearest-centroid tracks through every run of three or
    more frames with the same number of components."""
    runs, start = [], 0
    for t in range(1, len(frames) + 1):
        if t == len(frames) or len(frames[t]) != len(frames[start]):
            if t - start >= 3 and frames[start]:
                runs.append((start, _tracks(frames[start:t])))
            start = t
    return runs


def _accelerations(runs: List[tuple]) -> np.ndarray:
    """Per-step accelerations (pixels) of the runs' tracks."""
    acc = [np.linalg.norm(tracks[2:] - 2 * tracks[1:-1] + tracks[:-2], axis=-1).ravel() for _, tracks in runs]
    return np.concatenate(acc) if acc else np.zeros([0])


def _physics(runs: List[tuple], frames: int, size: int, radius: float, margin: float) -> tuple:
    """(|acceleration| px/frame^2 of the steps between bounces, speed drift) of one clip's tracks.

    A step t (velocity t-1 -> t) is a bounce, and left out, when the ball is within
    ``radius + margin`` of a wall or ``2 radius + margin`` of another ball at frame t, or a
    velocity component changes sign. Speed drift: |ln(rms speed over the clip's second
    half / over its first half)|, all balls together (walls and equal-mass collisions keep it)."""
    free, speeds = [], []
    for start, tracks in runs:
        velocity = tracks[1:] - tracks[:-1]  # [t-1, n, 2]
        speeds += [(start + t, float(v)) for t, row in enumerate(np.linalg.norm(velocity, axis=-1)) for v in row]
        flip = np.any(velocity[1:] * velocity[:-1] < 0, axis=-1)
        acc = np.linalg.norm(velocity[1:] - velocity[:-1], axis=-1)
        free.append(acc[~(_near_contact(tracks[1:-1], size, radius, margin) | flip)])
    free = np.concatenate(free) if free else np.zeros([0])
    halves = [[v for t, v in speeds if (t < (frames - 1) / 2) == first] for first in (True, False)]
    drift = None
    if all(halves):
        rms = [np.sqrt(np.mean(np.square(h))) for h in halves]
        drift = float(abs(np.log(max(rms[1], 1e-9) / max(rms[0], 1e-9))))
    return (float(np.median(free)) if free.size else None), drift


def _near_contact(points: np.ndarray, size: int, radius: float, margin: float) -> np.ndarray:
    """bool ``[t, n]``: the ball at ``points`` (``[t, n, 2]``, pixels) is within ``radius + margin``
    of a wall or ``2 radius + margin`` of another ball (where a bounce may change its velocity)."""
    wall = np.min(np.concatenate([points, size - 1 - points], axis=-1), axis=-1) < radius + margin
    if points.shape[1] < 2:
        return wall
    gaps = np.linalg.norm(points[:, :, None] - points[:, None], axis=-1)
    gaps[:, np.arange(gaps.shape[1]), np.arange(gaps.shape[1])] = np.inf
    return wall | (gaps.min(axis=-1) < 2 * radius + margin)


def speed_profile(
    videos, reference_area: float, check: BallCheck = BallCheck(), min_steps: int = 4, min_speed: float = 0.3
) -> Dict[str, object]:
    """The mean speed of the balls at each step of the clips (uint8 ``[N, T, H, W, C]``), each
    step's speed over its ball's mean speed along its run, on the steps that start away from walls
    and other balls. Real balls give 1 at every step; speed that depends on the frame index (a
    generator's grid in time) shows as a pattern that averaging over clips does not remove.
    Balls with fewer than ``min_steps`` such steps or a mean speed under ``min_speed`` pixels a
    frame are left out. ``profile`` [T-1] (None at a step without data), ``steps`` counted per
    step, and ``spread``: the standard deviation of the profile over the steps with data."""
    lum, blobs = _clip_blobs(videos, check)
    frames = lum.shape[1]
    radius = np.sqrt(reference_area / np.pi)
    sums, counts = np.zeros(frames - 1), np.zeros(frames - 1)
    for clip in blobs:
        for start, tracks in _runs(clip):
            speed = np.linalg.norm(tracks[1:] - tracks[:-1], axis=-1)  # [steps, n]
            free = ~_near_contact(tracks[:-1], lum.shape[-1], radius, check.bounce_margin)
            for ball in range(speed.shape[1]):
                steps = np.nonzero(free[:, ball])[0]
                mean = speed[steps, ball].mean() if len(steps) >= min_steps else 0.0
                if mean < min_speed:  # too few free steps (mean 0), or a ball standing nearly still
                    continue
                np.add.at(sums, start + steps, speed[steps, ball] / mean)
                np.add.at(counts, start + steps, 1)
    profile = [float(s / c) if c else None for s, c in zip(sums, counts)]
    known = [p for p in profile if p is not None]
    return {"profile": profile, "steps": counts.astype(int).tolist(), "spread": float(np.std(known)) if known else None}


def _tracks(frames: List[List[_Blob]]) -> np.ndarray:
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
    return tracks


def analyse(videos, reference_area: Optional[float] = None, check: BallCheck = BallCheck()) -> Dict[str, object]:
    """Per-clip properties and their summary for uint8 videos ``[N, T, H, W, C]``.

    ``reference_area``: the area of one ball in pixels (default: the median component
    area of these clips, which is what the real clips give :func:`balls_metric`)."""
    lum, blobs = _clip_blobs(videos, check)
    areas = [b.area for clip in blobs for frame in clip for b in frame]
    if reference_area is None:
        reference_area = float(np.median(areas)) if areas else 0.0
    clips = []
    for clip_lum, clip in zip(lum, blobs):
        counts = [
            int(round(float((frame > check.threshold).sum()) / reference_area)) if reference_area else 0
            for frame in clip_lum
        ]
        constant = counts[0] > 0 and len(set(counts)) == 1
        usual = max(set(counts), key=counts.count)
        flat = [b for f in clip for b in f]
        shaped = [
            abs(b.area - reference_area) <= check.area_tolerance * reference_area and b.fill >= check.min_fill
            for b in flat
        ]
        shape_fraction = float(np.mean(shaped)) if flat else 0.0
        runs = _runs(clip)
        acc = _accelerations(runs)
        physics_acc, drift = _physics(
            runs, len(clip), lum.shape[-1], np.sqrt(reference_area / np.pi), check.bounce_margin
        )
        smooth = float(np.mean(acc <= check.max_acceleration)) if acc.size else 0.0
        background = clip_lum < check.background_threshold
        levels = np.array([255 * frame[bg].mean() if bg.any() else 255.0 for frame, bg in zip(clip_lum, background)])
        flicker = float(levels.std())
        steady = (physics_acc is None or physics_acc <= check.max_free_acceleration) and (
            drift is None or drift <= check.max_speed_drift
        )
        passed = (
            constant
            and shape_fraction >= check.min_shape_fraction
            and smooth >= check.min_smooth_fraction
            and flicker <= check.max_flicker
            and steady
        )
        clips.append(
            dict(
                count=int(np.median(counts)),
                count_constant=constant,
                usual_count_fraction=float(np.mean([c == usual for c in counts])),
                free_acceleration=physics_acc,
                speed_drift=drift,
                shape_fraction=shape_fraction,
                smooth_fraction=smooth,
                median_acceleration=float(np.median(acc)) if acc.size else None,
                flicker=flicker,
                background_level=float(levels.mean()),
                passed=passed,
            )
        )

    def mean(key, reduce=np.mean):
        values = [c[key] for c in clips if c[key] is not None]
        return float(reduce(values)) if values else None

    counts = np.array([c["count"] for c in clips])
    values, freq = np.unique(counts, return_counts=True)
    return {
        "pass_rate": mean("passed"),
        "count_constant": mean("count_constant"),
        "count_mode": int(values[np.argmax(freq)]) if len(values) else 0,
        "shape_fraction": mean("shape_fraction"),
        "smooth_fraction": mean("smooth_fraction"),
        "median_acceleration_px": (
            float(np.median([c["median_acceleration"] for c in clips if c["median_acceleration"] is not None]))
            if any(c["median_acceleration"] is not None for c in clips)
            else None
        ),
        "free_acceleration_px": mean("free_acceleration", np.median),
        "speed_drift": mean("speed_drift", np.median),
        "usual_count_fraction": mean("usual_count_fraction"),
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
    return {
        "value": generated_report["pass_rate"],
        "real_value": real_report["pass_rate"],
        "generated": generated_report,
        "real": real_report,
        "thresholds": dataclasses.asdict(check),
    }


def first_frame_match(images, videos, check: BallCheck = BallCheck()) -> Dict[str, object]:
    """How well generated continuations ``videos`` (uint8 ``[N, T, H, W, C]``) keep the balls of
    the frames ``images`` (uint8 ``[N, H, W, C]``) that conditioned them, in their first frame:

    * ``balls_kept``: the share of the given balls with a generated ball within one ball radius
      (from the given balls' median area) of its centre;
    * ``ball_offset_px``: the median distance from a given ball's centre to the nearest
      generated ball's (over the given balls with any generated ball in that frame);
    * ``count_kept``: the share of clips whose first frame has as many components as the given one.
    """
    images, videos = np.asarray(images), np.asarray(videos)
    if images.ndim != 4 or videos.ndim != 5 or len(images) != len(videos) or images.shape[1:] != videos.shape[2:]:
        raise ValueError(
            f"first_frame_match: expected frames [N, H, W, C] and their videos [N, T, H, W, C], "
            f"got {images.shape} and {videos.shape}"
        )
    _, pairs = _clip_blobs(np.stack([images, videos[:, 0]], axis=1), check)  # each clip: given, made
    given, made = [p[0] for p in pairs], [p[1] for p in pairs]
    areas = [b.area for frame in given for b in frame]
    radius = float(np.sqrt(np.median(areas) / np.pi)) if areas else 0.0
    offsets, kept, total = [], 0, 0
    for source, target in zip(given, made):
        total += len(source)
        if not source or not target:
            continue
        centres = np.stack([b.center for b in target])
        for ball in source:
            nearest = float(np.min(np.linalg.norm(centres - ball.center, axis=1)))
            offsets.append(nearest)
            kept += nearest <= radius
    return {
        "balls_kept": kept / total if total else None,  # None: no ball was given
        "ball_offset_px": float(np.median(offsets)) if offsets else None,
        "count_kept": float(np.mean([len(a) == len(b) for a, b in zip(given, made)])),
        "given_balls": total,
        "ball_radius_px": radius,
    }
