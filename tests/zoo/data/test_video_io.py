"""Tests of zoo.data.video_io: PyAV decoding/encoding, GIFs, grids and array helpers."""

import numpy as np
import pytest
from PIL import Image

from zoo.data import video_io


def moving_square(frames=12, height=32, width=40, color=(255, 64, 0)):
    video = np.zeros((frames, height, width, 3), np.uint8)
    for t in range(frames):
        video[t, 8:20, 2 * t : 2 * t + 12] = color
    return video


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_write_then_read_round_trip(tmp_path, suffix):
    video = moving_square()
    path = str(tmp_path / f"clip{suffix}")
    codec = video_io.write_video(path, video, fps=25)
    assert codec in ("libx264", "mpeg4")
    decoded = video_io.read_video(path)
    assert decoded.shape == video.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - video).mean() < 12  # lossy, but the same picture
    assert video_io.read_video(path, max_frames=5).shape[0] == 5
    info = video_io.probe_video(path)
    assert (info.height, info.width) == (32, 40)
    assert info.num_frames in (0, 12)


def test_gfile_urls_are_read(tmp_path):
    path = tmp_path / "clip.mp4"
    video_io.write_video(str(path), moving_square(frames=4))
    assert video_io.read_video("file://" + str(path)).shape == (4, 32, 40, 3)


def test_odd_sides_are_padded_and_gray_is_accepted(tmp_path):
    path = str(tmp_path / "odd.mp4")
    video_io.write_video(path, np.full((3, 15, 17), 128, np.uint8))
    assert video_io.read_video(path).shape == (3, 16, 18, 3)


def test_float_frames_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="expected uint8"):
        video_io.write_video(str(tmp_path / "x.mp4"), np.zeros((2, 16, 16, 3), np.float32))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "missing"])
def test_undecodable_files_raise_video_decode_error_naming_the_path(tmp_path, kind):
    good = tmp_path / "good.mp4"
    video_io.write_video(str(good), moving_square())
    bad = tmp_path / f"{kind}.mp4"
    if kind == "truncated":
        content = good.read_bytes()
        bad.write_bytes(content[: int(len(content) * 0.3)])
    elif kind == "garbage":
        bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    elif kind == "empty":
        bad.write_bytes(b"")
    for fn in (video_io.read_video, video_io.probe_video):
        with pytest.raises(video_io.VideoDecodeError, match=str(bad)) as err:
            fn(str(bad))
        assert isinstance(err.value, ValueError) and err.value.path == str(bad)


def test_write_gif(tmp_path):
    path = tmp_path / "anim.gif"
    written = video_io.write_gif(str(path), moving_square(frames=5), fps=10)
    with Image.open(path) as gif:
        assert gif.size == (40, 32)
        assert gif.n_frames == 5
        assert gif.info.get("loop") == 0
    assert written == path.read_bytes() == video_io.encode_gif(moving_square(frames=5), fps=10)  # what TensorBoard gets


def test_video_grid_tiles_with_borders_and_makes_gray_rgb():
    videos = np.zeros((5, 3, 8, 10, 1), np.uint8)
    grid = video_io.video_grid(videos, border=2)
    # 5 videos -> 3 columns x 2 rows
    assert grid.shape == (3, 2 * (8 + 2) + 2, 3 * (10 + 2) + 2, 3)
    assert grid[0, 0, 0].tolist() == [255, 255, 255]  # border
    assert grid[0, 2:10, 2:12].max() == 0  # first tile
    assert grid[0, 12:20, 26:36].min() == 255  # the empty sixth cell
    assert video_io.video_grid(videos, cols=5).shape[1:3] == (12, 62)


def test_resize_and_crop_takes_the_shorter_side_then_crops():
    video = np.zeros((2, 20, 40, 3), np.uint8)
    video[:, :, 16:24] = 255  # a bright vertical band in the middle
    out = video_io.resize_and_crop(video, 10)
    assert out.shape == (2, 10, 10, 3)
    assert out[:, :, 4:6].min() > 200 and out[:, :, 0].max() == 0  # center crop keeps the band
    left = video_io.resize_and_crop(video, 10, crop_at=(0.5, 0.0))
    assert left[:, :, :3].max() == 0


def test_the_papers_preprocessings(monkeypatch):
    """TGAN: 60 x 80, a centered 48 square, resized to the model's size; MVT: a square resize
    (127 for 96, 170 for 128) then the crop; Jester: 96 x 136 then the crop; Weizmann: the crop alone."""
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (2, 240, 320, 3), dtype=np.uint8)  # UCF-101's frames
    out = video_io.resize_and_crop(video, 64, preprocess="tgan_ucf101")
    small = video_io._resize(video, 60, 80)[:, 6:54, 16:64]
    np.testing.assert_array_equal(out, video_io._resize(small, 64, 64))
    for size, side in ((96, 127), (128, 170)):
        out = video_io.resize_and_crop(video, size, preprocess="mvt_ucf101")
        y0 = x0 = int(round(0.5 * (side - size)))
        np.testing.assert_array_equal(out, video_io._resize(video, side, side)[:, y0 : y0 + size, x0 : x0 + size])
    jester = video_io.resize_and_crop(video, 96, preprocess="mvt_jester")
    np.testing.assert_array_equal(jester, video_io._resize(video, 96, 136)[:, :, 20:116])
    # Weizmann: a 96 x 96 crop of its 144 x 180 frames, no resize (a random crop places it anywhere)
    weizmann = video[:, :144, :180]
    np.testing.assert_array_equal(
        video_io.resize_and_crop(weizmann, 96, preprocess="crop"), weizmann[:, 24:120, 42:138]
    )
    corner = video_io.resize_and_crop(weizmann, 96, crop_at=(1.0, 0.0), preprocess="crop")
    np.testing.assert_array_equal(corner, weizmann[:, 48:, :96])
    with pytest.raises(ValueError, match="preprocess 'crop': a 96-pixel crop of 80x120 frames"):
        video_io.resize_and_crop(video[:, :80, :120], 96, preprocess="crop")
    # the default is unchanged by the names
    np.testing.assert_array_equal(
        video_io.resize_and_crop(video, 32), video_io.resize_and_crop(video, 32, preprocess="shorter_side")
    )
    with pytest.raises(ValueError, match="preprocess 'tgan'"):
        video_io.resize_and_crop(video, 64, preprocess="tgan")
    monkeypatch.setitem(video_io.PREPROCESSINGS, "too_big", lambda size, h, w: (60, 80, 90))
    with pytest.raises(ValueError, match="a 90-pixel crop of 60x80 frames"):
        video_io.resize_and_crop(video, 64, preprocess="too_big")


def test_match_channels():
    gray = np.full((1, 2, 2, 1), 90, np.uint8)
    rgb = video_io.match_channels(gray, 3)
    assert rgb.shape == (1, 2, 2, 3) and (rgb == 90).all()
    np.testing.assert_array_equal(video_io.match_channels(rgb, 1), gray)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        video_io.match_channels(gray, 2)
