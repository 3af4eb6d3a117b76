"""Tests of camera stabilisation (``zoo.data.stabilize``, VGAN's section 4.1) and of the folder
data set's ``stabilize`` option: a shaken clip comes out still, a clip without a consistent
homography is dropped and counted, and the option is part of the cache's key. The tests that
stabilise need OpenCV (the ``stabilize`` extra) and are skipped without it."""

import logging
import sys

import numpy as np
import pytest
from PIL import Image

import zoo.data as data
from zoo.data import folder
from zoo.data import stabilize as stabilize_lib

SIDE, FRAMES, MARGIN = 96, 6, 16  # frames of the synthetic clips; the interior leaves MARGIN px


def needs_opencv():
    return pytest.importorskip("cv2", reason="stabilisation needs OpenCV: pip install 'video-gan-zoo[stabilize]'")


def textured_scene(seed: int, side: int = 240) -> np.ndarray:
    """A grey background with texture at every scale: smoothed noise under discs and boxes."""
    cv2 = needs_opencv()
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (side, side)).astype(np.float32), (0, 0), 2)
    scene = (scene - scene.min()) / np.ptp(scene) * 255
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(0, side, 2))
        cv2.circle(scene, (x, y), int(rng.integers(4, 16)), float(rng.integers(0, 256)), -1)
        w, h = (int(v) for v in rng.integers(5, 25, 2))
        cv2.rectangle(scene, (x, y), (x + w, y + h), float(rng.integers(0, 256)), -1)
    return np.repeat(scene.astype(np.uint8)[..., None], 3, axis=-1)


def camera_path(seed: int, frames: int = FRAMES, side: int = SIDE, scene: int = 240) -> np.ndarray:
    """[frames, 3, 3]: where each frame's pixels lie in the scene, a shaken camera (rotations
    up to 2.5 degrees and shifts up to 5 px about the scene's centre)."""
    rng = np.random.default_rng(seed)
    paths = []
    for _ in range(frames):
        angle, (dx, dy) = np.deg2rad(rng.uniform(-2.5, 2.5)), rng.uniform(-5, 5, 2)
        c, s = np.cos(angle), np.sin(angle)
        to_centre = np.array([[1, 0, -side / 2], [0, 1, -side / 2], [0, 0, 1]])
        rotate = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        place = np.array([[1, 0, scene / 2 + dx], [0, 1, scene / 2 + dy], [0, 0, 1]])
        paths.append(place @ rotate @ to_centre)
    return np.stack(paths)


def shaken_clip(seed: int = 0):
    """(uint8 [FRAMES, SIDE, SIDE, 3]: a still scene filmed by a shaking camera, its camera path)."""
    cv2 = needs_opencv()
    scene, path = textured_scene(seed), camera_path(seed + 1)
    frames = [cv2.warpPerspective(scene, m, (SIDE, SIDE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP) for m in path]
    return np.stack(frames), path


def noise_clip(seed: int = 0) -> np.ndarray:
    """Independent noise frames: keypoints everywhere, no homography between any two."""
    return np.random.default_rng(seed).integers(0, 256, (FRAMES, SIDE, SIDE, 3), dtype=np.uint8)


def interior_motion(video: np.ndarray, margin: int = MARGIN) -> float:
    """Mean absolute grey-level difference of each frame's interior from the first frame's."""
    inner = video[:, margin:-margin, margin:-margin].astype(np.float32)
    return float(np.abs(inner[1:] - inner[:1]).mean())


def test_a_shaken_background_is_still_to_within_a_pixel():
    frames, path = shaken_clip()
    result = stabilize_lib.stabilize(frames)
    ys, xs = np.mgrid[MARGIN : SIDE - MARGIN : 8, MARGIN : SIDE - MARGIN : 8]
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    for k in range(1, FRAMES):
        # frame k's pixel x shows scene point path[k] x; in frame 0 that point is at path[0]^-1 path[k] x
        truth = np.linalg.inv(path[0]) @ path[k] @ points
        found = result.transforms[k] @ points
        miss = np.linalg.norm(found[:2] / found[2] - truth[:2] / truth[2], axis=0)
        assert miss.max() < 1.0, (k, miss.max())
    assert interior_motion(frames) > 20  # the camera shakes ...
    assert interior_motion(result.video) < 3  # ... and the stabilised background stands still
    assert result.video.shape == frames.shape and result.video.dtype == np.uint8
    np.testing.assert_array_equal(result.video[0], frames[0])
    assert len(result.errors) == FRAMES - 1 and max(result.errors) < stabilize_lib.DEFAULT.max_error


def test_borders_the_warp_leaves_empty_come_from_the_previous_frames():
    cv2 = needs_opencv()
    scene = textured_scene(3)
    # the camera pans 4 px right per frame: frame k misses the 4k columns at frame 0's left edge
    path = np.stack([np.array([[1, 0, 60 + 4 * k], [0, 1, 60], [0, 0, 1]], float) for k in range(FRAMES)])
    frames = np.stack([cv2.warpPerspective(scene, m, (SIDE, SIDE), flags=cv2.WARP_INVERSE_MAP) for m in path])
    video = stabilize_lib.stabilize(frames).video
    assert (video[-1, :, :4] > 0).any()  # not black where the last frame does not reach
    np.testing.assert_allclose(video[-1, :, :8].astype(float), frames[0, :, :8].astype(float), atol=2)


def test_a_clip_without_a_consistent_homography_is_dropped():
    needs_opencv()
    with pytest.raises(stabilize_lib.SegmentDropped, match="frames 0-1: .* keypoint matches"):
        stabilize_lib.stabilize(noise_clip())
    # four quadrants of a scene moving apart: many matches, no one homography explains them
    scene, frames = textured_scene(5), []
    for k in range(FRAMES):
        frame = np.zeros((SIDE, SIDE, 3), np.uint8)
        half = SIDE // 2
        for (y, x), (sy, sx) in zip([(0, 0), (0, half), (half, 0), (half, half)], [(1, 1), (1, -1), (-1, 1), (-1, -1)]):
            top, left = 70 + y + 3 * k * sy, 70 + x + 3 * k * sx
            frame[y : y + half, x : x + half] = scene[top : top + half, left : left + half]
        frames.append(frame)
    with pytest.raises(stabilize_lib.SegmentDropped, match="median re-projection error"):
        stabilize_lib.stabilize(np.stack(frames))


def test_flat_frames_keep_the_identity():
    needs_opencv()
    flat = np.full((FRAMES, SIDE, SIDE, 3), 90, np.uint8)
    result = stabilize_lib.stabilize(flat)
    np.testing.assert_array_equal(result.video, flat)
    np.testing.assert_allclose(result.transforms, np.broadcast_to(np.eye(3), (FRAMES, 3, 3)))


def test_without_opencv_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    with pytest.raises(ValueError, match=r"video-gan-zoo\[stabilize\]"):
        stabilize_lib.stabilize(np.zeros((2, 8, 8, 3), np.uint8))
    root = write_folder(tmp_path, {"still": np.full((4, 16, 16, 3), 90, np.uint8)})
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"video-gan-zoo\[stabilize\]"):
        folder.build_cache(str(root), str(cache), frames=4, size=16, split_file=str(root / "list.txt"), stabilize=True)
    assert not cache.exists()  # refused before anything is written


def write_folder(tmp_path, clips) -> "object":
    """A UCF-101-layout folder of PNG frame folders (lossless), ``Scene/<name>/<k>.png``, and
    ``list.txt``, a split list naming every clip."""
    root = tmp_path / "videos"
    for name, frames in clips.items():
        (root / "Scene" / name).mkdir(parents=True)
        for k, frame in enumerate(frames):
            Image.fromarray(frame).save(root / "Scene" / name / f"{k:03d}.png")
    (root / "list.txt").write_text("".join(f"Scene/{name}\n" for name in clips))
    return root


def load(root, cache, **kw):
    return data.load(
        "video_folder",
        split="test",
        frames=FRAMES,
        size=32,
        data_dir=str(root),
        split_file=str(root / "list.txt"),
        cache_dir=str(cache),
        **kw,
    )


def test_the_cache_stabilises_once_and_counts_the_dropped_clips(tmp_path, caplog):
    needs_opencv()
    root = write_folder(tmp_path, {"noise": noise_clip(), "shaken": shaken_clip()[0]})
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="zoo.data.folder"):
        clips = [e["video"] for e in load(root, cache, stabilize=True).as_numpy_iterator()]
    assert len(clips) == 1  # the noise clip is dropped, the shaken one kept
    assert "stabilisation dropped 1 of 2 clips (50.0%)" in caplog.text and "noise" in caplog.text
    manifest = folder._read_json(folder.manifest_path(str(cache), "test"))
    assert manifest["num_clips"] == 1 and [d[0].rsplit("/", 1)[-1] for d in manifest["dropped"]] == ["noise"]
    assert manifest["settings"]["stabilize"] == stabilize_lib.DEFAULT.key()
    unstabilised = [e["video"] for e in load(root, tmp_path / "plain").as_numpy_iterator()]
    assert len(unstabilised) == 2  # without the option, nothing is dropped
    still, shaken = (data.to_uint8(clips[0]), data.to_uint8(unstabilised[1]))
    assert interior_motion(still, 6) < interior_motion(shaken, 6) / 4
    # the TFRecords say they are stabilised
    stored = data.load("tfrecord", split="test", frames=FRAMES, size=32, data_dir=str(cache), stabilize=True)
    np.testing.assert_array_equal(next(stored.as_numpy_iterator())["video"], clips[0])


def test_the_option_is_part_of_the_cache_key(tmp_path):
    root = write_folder(tmp_path, {"still": np.full((FRAMES, 40, 40, 3), 90, np.uint8)})
    cache = tmp_path / "cache"
    load(root, cache)  # made without stabilisation (needs no OpenCV)
    settings = folder._read_json(folder.manifest_path(str(cache), "test"))["settings"]
    assert settings["stabilize"] is False
    with pytest.raises(ValueError, match=r"stale TFRecord cache .*differs in \['stabilize'\]"):
        load(root, cache, stabilize=True)
    with pytest.raises(ValueError, match="are not stabilised .*--data_opt=stabilize=true"):
        data.load("tfrecord", split="test", frames=FRAMES, size=32, data_dir=str(cache), stabilize=True)
    with pytest.raises(ValueError, match="runs once, into the preprocessing cache: expected cache_dir"):
        data.load("video_folder", frames=FRAMES, size=32, data_dir=str(root), stabilize=True)
    # a cache made before the option existed has no such setting: it was made without it
    path = folder.manifest_path(str(cache), "test")
    manifest = folder._read_json(path)
    del manifest["settings"]["stabilize"]
    folder._write_json(path, manifest)
    assert len(list(load(root, cache).as_numpy_iterator())) == 1
