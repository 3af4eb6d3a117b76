"""Camera stabilisation of video segments, as VGAN prepares its data.

Vondrick, Pirsiavash & Torralba, "Generating Videos with Scene Dynamics" (NIPS 2016,
https://arxiv.org/abs/1609.02612), section 4.1: SIFT keypoints, a RANSAC homography between
adjacent frames, frames warped to cancel the background's motion, borders the warp leaves
empty filled from the previous frames, and a segment whose homography has too large a
re-projection error dropped (3% of their data).

Here, for a segment of frames ``0..T-1``:

- keypoints and descriptors (SIFT, at most ``max_features``) are found once per frame on its
  grey image resized so that the shorter side is ``detect_side`` pixels, so that every
  threshold below is in pixels of that size, whatever the source's;
- adjacent frames are matched (nearest neighbours, Lowe's ratio test), and a RANSAC homography
  ``H_k`` maps frame ``k`` onto frame ``k - 1``; chained, ``C_k = H_1 ... H_k`` maps frame ``k``
  into the first frame's coordinates, where it is warped (at its own size);
- where frame ``k``'s warp does not reach, the warped frame ``k - 1`` fills in;
- the segment is dropped (:class:`SegmentDropped`) when a pair's homography does not explain
  its matches: their median re-projection error is over ``max_error`` pixels, or fewer than
  ``min_matches`` matches are left although both frames have keypoints, or the homography
  is degenerate (folds the frame, or scales its area by more than ``max_area_change``);
- a pair where a frame has fewer than ``min_keypoints`` keypoints (a flat frame: nothing to
  align) keeps the identity.

OpenCV (``opencv-python-headless``, the ``stabilize`` extra of the package) is imported when
stabilisation runs; without it, :func:`require_opencv` raises a ``ValueError`` naming the extra.
SIFT and OpenCV's RANSAC are deterministic, so a segment is always stabilised the same way.
"""

from __future__ import annotations

import dataclasses
from typing import List, Tuple

import numpy as np

#: What a person installs for stabilisation (``setup.py``'s extra).
EXTRA = "stabilize"
INSTALL_HINT = f"pip install 'video-gan-zoo[{EXTRA}]' (or pip install opencv-python-headless)"
#: Bumped when the algorithm changes what it writes, so that caches made before are stale.
VERSION = 1


class SegmentDropped(Exception):
    """A segment whose camera motion has no consistent homography (section 4.1: "too large
    of a re-projection error"); ``reason`` says which pair of frames and why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Settings:
    """The stabiliser's thresholds (pixels are those of frames whose shorter side is
    ``detect_side``). A cache records them (:meth:`key`)."""

    detect_side: int = 256  # keypoints are found on frames resized to this shorter side
    max_features: int = 1000  # SIFT keypoints kept per frame
    ratio: float = 0.75  # Lowe's ratio test for a match
    ransac_threshold: float = 3.0  # px: RANSAC's inlier distance (OpenCV's default)
    max_error: float = 2.0  # px: the largest median re-projection error of a pair's matches
    min_matches: int = 12  # fewer matches between two textured frames: dropped
    min_keypoints: int = 12  # fewer keypoints in a frame: flat, the pair keeps the identity
    max_area_change: float = 1.5  # a pair's homography scales the frame's area by at most this

    def key(self) -> dict:
        """What a preprocessing cache records of stabilisation (its settings and version)."""
        return {"method": "sift_ransac_homography", "version": VERSION, **dataclasses.asdict(self)}


DEFAULT = Settings()


@dataclasses.dataclass(frozen=True)
class Stabilized:
    """A stabilised segment: ``video`` uint8 ``[T, H, W, C]`` in the first frame's coordinates;
    ``transforms[k]`` (3x3) maps frame ``k``'s pixel coordinates ``(x, y, 1)`` into frame 0's;
    ``errors[k - 1]``: the median re-projection error (px at ``detect_side``) of pair ``(k - 1, k)``,
    0 where the pair kept the identity."""

    video: np.ndarray
    transforms: np.ndarray  # [T, 3, 3]
    errors: Tuple[float, ...]


def require_opencv():
    """The ``cv2`` module, or a ``ValueError`` naming the extra that installs it."""
    try:
        import cv2
    except ImportError as err:
        raise ValueError(f"stabilize=true needs OpenCV, which is not installed ({err}): {INSTALL_HINT}") from None
    if not hasattr(cv2, "SIFT_create"):
        raise ValueError(
            f"stabilize=true needs OpenCV >= 4.4 (cv2.SIFT_create); found {cv2.__version__}: {INSTALL_HINT}"
        )
    return cv2


def _grey(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3 and frame.shape[-1] == 3:
        return (frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)
    return frame.reshape(frame.shape[:2]).astype(np.uint8)


def _scaling(height: int, width: int, side: int) -> Tuple[Tuple[int, int], np.ndarray]:
    """The detection size ``(h, w)`` and the 3x3 map from source pixels to detection pixels
    (pixel centres aligned, as ``cv2.resize`` samples)."""
    scale = side / min(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    sx, sy = w / width, h / height
    to_detect = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)
    return (h, w), to_detect


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _pair(cv2, previous, current, size, settings: Settings, k: int) -> Tuple[np.ndarray, float]:
    """The homography (detection pixels) from frame ``k`` onto frame ``k - 1`` and its median
    re-projection error; raises :class:`SegmentDropped`."""
    (kp0, des0), (kp1, des1) = previous, current
    if len(kp0) < settings.min_keypoints or len(kp1) < settings.min_keypoints:
        return np.eye(3), 0.0
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des1, des0, k=2)
    good = [m[0] for m in matches if len(m) == 2 and m[0].distance < settings.ratio * m[1].distance]
    where = f"frames {k - 1}-{k}"
    if len(good) < settings.min_matches:
        raise SegmentDropped(
            f"{where}: {len(good)} keypoint matches (of {len(kp1)} and {len(kp0)} keypoints), "
            f"fewer than {settings.min_matches}"
        )
    src = np.float32([kp1[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
    dst = np.float32([kp0[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
    homography, _ = cv2.findHomography(src, dst, cv2.RANSAC, settings.ransac_threshold, maxIters=2000, confidence=0.995)
    if homography is None:
        raise SegmentDropped(f"{where}: RANSAC found no homography for {len(good)} matches")
    error = float(np.median(np.linalg.norm(cv2.perspectiveTransform(src, homography) - dst, axis=-1)))
    if error > settings.max_error:
        raise SegmentDropped(
            f"{where}: median re-projection error {error:.2f} px of {len(good)} matches, "
            f"over {settings.max_error} px (at a shorter side of {settings.detect_side})"
        )
    h, w = size
    corners = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
    ratio = _area(moved) / _area(corners.reshape(-1, 2))
    if not cv2.isContourConvex(moved.astype(np.float32)) or not (
        1 / settings.max_area_change <= ratio <= settings.max_area_change
    ):
        raise SegmentDropped(
            f"{where}: a degenerate homography (it scales the frame's area by {ratio:.2f}, "
            f"expected {1 / settings.max_area_change:.2f}-{settings.max_area_change}, and must not fold it)"
        )
    return homography, error


def stabilize(frames, settings: Settings = DEFAULT) -> Stabilized:
    """Stabilises one segment (uint8 ``[T, H, W, C]``, C = 1 or 3): see the module docstring.

    Raises:
      SegmentDropped: when a pair of adjacent frames has no consistent homography.
      ValueError: for frames of another shape, or without OpenCV (naming the extra).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8:
        raise ValueError(f"stabilize: expected uint8 frames [T, H, W, 1 or 3], got {frames.dtype} {list(frames.shape)}")
    cv2 = require_opencv()
    count, height, width = frames.shape[:3]
    size, to_detect = _scaling(height, width, settings.detect_side)
    sift = cv2.SIFT_create(nfeatures=settings.max_features)
    features = []
    for frame in frames:
        grey = cv2.resize(_grey(frame), (size[1], size[0]), interpolation=cv2.INTER_AREA)
        keypoints, descriptors = sift.detectAndCompute(grey, None)
        features.append((keypoints, descriptors))
    to_source = np.linalg.inv(to_detect)
    transforms: List[np.ndarray] = [np.eye(3)]
    errors: List[float] = []
    for k in range(1, count):
        homography, error = _pair(cv2, features[k - 1], features[k], size, settings, k)
        chained = transforms[-1] @ (to_source @ homography @ to_detect)
        transforms.append(chained / chained[2, 2])
        errors.append(error)
    out = np.empty_like(frames)
    out[0] = frames[0]
    whole = np.full((height, width), 255, np.uint8)
    for k in range(1, count):
        warped = cv2.warpPerspective(frames[k], transforms[k], (width, height), flags=cv2.INTER_LINEAR)
        reached = cv2.warpPerspective(whole, transforms[k], (width, height), flags=cv2.INTER_LINEAR) == 255
        out[k] = np.where(reached[..., None], warped.reshape(height, width, -1), out[k - 1])
    return Stabilized(out, np.stack(transforms), tuple(errors))
