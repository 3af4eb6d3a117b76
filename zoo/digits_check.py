"""Whether digits move or morph, measured: the ``digits`` metric of ``zoo.metrics``.

A moving-digits clip looks right when each digit keeps its shape and slides a little
from frame to frame. The failure this check exists for is the opposite: a glyph that
stays where it is while its strokes change (an "8" becomes a "0" becomes a stroke), or
one that jumps. Feature distances (FVD) rank such clips only vaguely; this module
follows each glyph and measures the two numbers a person sees.

How, per clip (uint8 ``[T, H, W, C]``, luminance in [0, 1]):

* A glyph is a connected component of the bright mask (luminance above ``threshold``,
  0.5) after one 3x3 dilation, which joins the strokes of one digit; components under
  ``min_area`` pixels (specks) are ignored, and each frame keeps its ``glyphs`` largest
  (default: the most common count of the real clips, two for the built-in data).
* Step: each glyph of frame t is matched to the nearest glyph centroid of frame t+1;
  its step is the distance between the two centroids in pixels.
* Identity: the Pearson correlation of the ``window`` x ``window`` crops (default: the
  digits' size, ``round(size * 28 / 64)`` as the data renders them) centred on the two
  matched centroids. The same digit moved keeps a correlation near 1; a morph changes
  the strokes under a still centroid and the correlation drops.
* Per clip: the median step and the median correlation of all its matched glyphs.

A clip *passes* when its median step lies within ``step_tolerance`` (a factor of 2)
of the real clips' median step (real digits move about 1.8 px a frame in the built-in
32x32 data) and its median correlation is at least ``min_correlation`` (0.8). Real
clips pass, frame-shuffled ones (glyphs that jump) and morphs (glyphs that stay while
their strokes change) do not; the reports give all three numbers for every source.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np

from zoo.balls_check import label_components, luminance


@dataclasses.dataclass(frozen=True)
class DigitCheck:
    """Thresholds of the check (see the module docstring)."""

    threshold: float = 0.5
    min_area: int = 6
    search_radius: int = 5
    step_tolerance: float = 2.0
    min_correlation: float = 0.8
    min_identity: float = 0.5


def _dilate(mask: np.ndarray) -> np.ndarray:
    """One 3x3 binary dilation of every image of ``mask`` ``[..., H, W]``."""
    padded = np.pad(mask, [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)])
    h, w = mask.shape[-2:]
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[..., dy : dy + h, dx : dx + w]
    return out


def _glyph_centres(labels: np.ndarray, min_area: int) -> List[tuple]:
    """(area, (y, x)) of the components of one labelled frame with at least ``min_area`` pixels,
    largest first."""
    values, counts = np.unique(labels[labels > 0], return_counts=True)
    out = []
    for value, count in zip(values, counts):
        if count >= min_area:
            ys, xs = np.nonzero(labels == value)
            out.append((int(count), np.array([ys.mean(), xs.mean()])))
    return sorted(out, key=lambda g: -g[0])


def _windows(frame: np.ndarray, window: int) -> np.ndarray:
    """Every ``window`` x ``window`` crop of ``frame`` zero-padded by ``window``: ``[H + w + 1, W + w + 1, w, w]``,
    the crop centred on pixel (y, x) at ``[y + window - window // 2, x + window - window // 2]``."""
    return np.lib.stride_tricks.sliding_window_view(np.pad(frame, window), (window, window))


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of crop ``a`` ``[w, w]`` with each crop of ``b`` ``[..., w, w]`` (0 where flat)."""
    a = a - a.mean()
    b = b - b.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((a * a).sum() * (b * b).sum(axis=(-2, -1)))
    return np.where(norm > 0, (a * b).sum(axis=(-2, -1)) / np.maximum(norm, 1e-12), 0.0)


def _follow(lum: np.ndarray, start: np.ndarray, window: int, radius: int):
    """One glyph followed through a clip by block matching: from its centre in frame 0, the
    crop of frame t is looked for in frame t+1 at every integer shift up to ``radius``; the
    best-correlated shift is the step. Returns (steps px, step correlations, identity: the
    median correlation of the glyph's crops in frames 1.. with its crop in frame 0)."""
    offset = window - window // 2
    shifts = np.array([(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)])
    limit = np.array(lum.shape[-2:]) - 1
    p = np.clip(np.round(start).astype(int), 0, limit)
    first = _windows(lum[0], window)[p[0] + offset, p[1] + offset]
    steps, corr, identity = [], [], []
    for t in range(len(lum) - 1):
        here = _windows(lum[t], window)[p[0] + offset, p[1] + offset]
        candidates = np.clip(p + shifts, 0, limit)
        there = _windows(lum[t + 1], window)[candidates[:, 0] + offset, candidates[:, 1] + offset]
        scores = _correlations(here, there)
        best = int(np.argmax(scores - 1e-6 * np.linalg.norm(shifts, axis=1)))  # ties: the smallest step
        steps.append(float(np.linalg.norm(candidates[best] - p)))
        corr.append(float(scores[best]))
        identity.append(float(_correlations(first, there[best][None])[0]))
        p = candidates[best]
    return steps, corr, float(np.median(identity))


def _clip_motion(lum: np.ndarray, labels: np.ndarray, glyphs: int, window: int, radius: int, min_area: int):
    """(mean step px, median step correlation, median identity) of one clip's glyphs, or Nones
    when its first frame shows none."""
    starts = [c for _, c in _glyph_centres(labels[0], min_area)[:glyphs]]
    if not starts:
        return None, None, None
    followed = [_follow(lum, c, window, radius) for c in starts]
    steps = [s for f in followed for s in f[0]]
    corr = [c for f in followed for c in f[1]]
    return float(np.mean(steps)), float(np.median(corr)), float(np.median([f[2] for f in followed]))


def analyse(
    videos,
    glyphs: Optional[int] = None,
    window: Optional[int] = None,
    real_step: Optional[float] = None,
    check: DigitCheck = DigitCheck(),
) -> Dict[str, object]:
    """Per-clip glyph motion and its summary for uint8 videos ``[N, T, H, W, C]``.

    ``glyphs``: glyphs followed per frame (default: the most common count of these clips);
    ``window``: crop side (default ``round(H * 28 / 64)``); ``real_step``: the real clips'
    median step that a passing clip's step is compared with (default: these clips' own)."""
    lum = luminance(videos)
    labels = label_components(_dilate(lum > check.threshold))
    window = int(window or max(4, round(lum.shape[-2] * 28 / 64)))
    if glyphs is None:
        counts = np.bincount([len(_glyph_centres(frame, check.min_area)) for clip in labels for frame in clip])
        glyphs = max([1] + [k for k, n in enumerate(counts) if n >= counts.sum() / 4])
    clips = []
    for clip_lum, clip_labels in zip(lum, labels):
        step, correlation, identity = _clip_motion(
            clip_lum, clip_labels, glyphs, window, check.search_radius, check.min_area
        )
        clips.append(dict(step=step, correlation=correlation, identity=identity))
    measured = [c for c in clips if c["step"] is not None]
    median_step = float(np.median([c["step"] for c in measured])) if measured else None
    reference = median_step if real_step is None else real_step
    for c in clips:
        c["passed"] = bool(
            c["step"] is not None
            and reference
            and reference / check.step_tolerance <= c["step"] <= reference * check.step_tolerance
            and c["correlation"] >= check.min_correlation
            and c["identity"] >= check.min_identity
        )
    return {
        "pass_rate": float(np.mean([c["passed"] for c in clips])) if clips else None,
        "median_step_px": median_step,
        "median_correlation": (float(np.median([c["correlation"] for c in measured])) if measured else None),
        "median_identity": (float(np.median([c["identity"] for c in measured])) if measured else None),
        "glyphs": glyphs,
        "window_px": window,
        "clips": len(clips),
        "clips_without_glyphs": len(clips) - len(measured),
    }


def digits_metric(generated, real, check: DigitCheck = DigitCheck()) -> Dict[str, object]:
    """The ``digits`` metric: ``value`` = the generated clips' pass rate, ``real_value`` the real
    clips'; the glyph count, the crop window and the reference step come from the real clips."""
    real_report = analyse(real, check=check)
    generated_report = analyse(
        generated,
        glyphs=real_report["glyphs"],
        window=real_report["window_px"],
        real_step=real_report["median_step_px"],
        check=check,
    )
    return {
        "value": generated_report["pass_rate"],
        "real_value": real_report["pass_rate"],
        "generated": generated_report,
        "real": real_report,
        "thresholds": dataclasses.asdict(check),
    }
