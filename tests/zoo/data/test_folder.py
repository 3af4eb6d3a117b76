"""Tests of the UCF-101-layout folder data set, its TFRecord cache and the "tfrecord" set."""

import logging
import shutil

import numpy as np
import pytest

import zoo.data as data
from tests.conftest import square_video
from zoo.data import folder, video_io

RED, GREEN = (230, 20, 20), (20, 230, 20)
# Names chosen so that the hash holdout (no split lists) puts *_g04/*_g07 in test.
GOOD = {  # relpath: (frames, color)
    "Alpha/v_Alpha_g01_c01.mp4": (16, RED),
    "Alpha/v_Alpha_g02_c01.avi": (20, RED),
    "Alpha/v_Alpha_g04_c01.avi": (12, RED),
    "Beta/v_Beta_g01_c01.mp4": (12, GREEN),
    "Beta/v_Beta_g02_c01.avi": (18, GREEN),
    "Beta/v_Beta_g07_c01.avi": (14, GREEN),
}
BAD = ("Alpha/garbage.avi", "Beta/truncated.mp4")
TRAIN_GOOD = sorted(p for p in GOOD if "_g04_" not in p and "_g07_" not in p)
TEST_GOOD = sorted(p for p in GOOD if p not in TRAIN_GOOD)
FRAMES, SIZE = 4, 16


@pytest.fixture(scope="module")
def ucf_hash_split(video_folder):
    """GOOD and BAD in a UCF-101 layout with no split lists (the hash holdout splits it), and a text file."""
    root = video_folder(
        {
            **{relpath: square_video(frames, color) for relpath, (frames, color) in GOOD.items()},
            "Alpha/garbage.avi": b"RIFF not really an avi" * 50,
            "notes.txt": "not a video",
        },
        "ucf",
    )
    valid = (root / "Alpha/v_Alpha_g01_c01.mp4").read_bytes()
    (root / "Beta/truncated.mp4").write_bytes(valid[: int(len(valid) * 0.3)])
    return root


def first(ds, n):
    return list(ds.take(n).as_numpy_iterator())


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["video"], y["video"])
        assert x["label"] == y["label"]


def dominant_label(video):
    """0 (Alpha, red) or 1 (Beta, green) from the clip's colors."""
    return 0 if video[..., 0].mean() > video[..., 1].mean() else 1


def test_scan_skips_and_counts_corrupt_files_in_one_warning(ucf_hash_split, caplog):
    with caplog.at_level(logging.WARNING, logger="zoo.data.folder"):
        scan = folder.scan_folder(str(ucf_hash_split), split="train")
    assert scan.classes == ("Alpha", "Beta")
    assert [p for p, _ in scan.good] == [f"{ucf_hash_split}/{p}" for p in TRAIN_GOOD]
    assert [label for _, label in scan.good] == [0, 0, 1, 1]
    assert sorted(p for p, _ in scan.bad) == [f"{ucf_hash_split}/{p}" for p in BAD]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 of 6" in warnings[0].getMessage() and "truncated.mp4" in warnings[0].getMessage()


def test_hash_holdout_splits_the_files(ucf_hash_split):
    _, train, _ = folder.list_videos(str(ucf_hash_split), split="train")
    _, test, _ = folder.list_videos(str(ucf_hash_split), split="test")
    assert {p for p, _ in test} == set(TEST_GOOD)
    assert not {p for p, _ in train} & {p for p, _ in test}


def test_clips_have_shape_range_and_the_labels_of_their_class_folders(ucf_hash_split):
    ds = data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(ucf_hash_split), clips_per_video=2)
    assert ds.element_spec["video"].shape == (FRAMES, SIZE, SIZE, 3)
    examples = first(ds, 8)  # one epoch: 4 files x 2 clips
    for e in examples:
        video = e["video"]
        assert video.dtype == np.float32 and video.shape == (FRAMES, SIZE, SIZE, 3)
        assert -1.0 <= video.min() and video.max() <= 1.0 and video.max() > 0.5
        assert e["label"].dtype == np.int32 and e["label"] == dominant_label(video)
    assert sorted(int(e["label"]) for e in examples) == [0, 0, 0, 0, 1, 1, 1, 1]
    gray = first(data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(ucf_hash_split), channels=1), 1)[0]
    assert gray["video"].shape == (FRAMES, SIZE, SIZE, 1)


def test_test_split_is_finite_and_short_videos_repeat_their_last_frame(ucf_hash_split):
    ds = data.load("video_folder", split="test", frames=16, size=SIZE, data_dir=str(ucf_hash_split))
    examples = first(ds, 10)
    assert len(examples) == len(TEST_GOOD)
    assert [int(e["label"]) for e in examples] == [0, 1]
    video = examples[0]["video"]  # Alpha g04 has 12 frames: frames 12..15 repeat frame 11
    for t in range(12, 16):
        np.testing.assert_array_equal(video[t], video[11])


def test_clip_spec_cuts_strided_clips_and_pads_at_the_end():
    video = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    spec = folder.ClipSpec(frames=4, size=8, frame_stride=2, clips_per_video=3)
    assert spec.span == 7
    assert spec.cut(video, 3)[:, 0, 0, 0].tolist() == [3, 5, 7, 9]
    assert spec.cut(video, 5)[:, 0, 0, 0].tolist() == [5, 7, 9, 9]
    assert spec.evaluation_starts(10) == [1, 2, 2]
    with pytest.raises(ValueError, match="frame_stride"):
        folder.ClipSpec(frames=4, size=8, frame_stride=0)


def test_stream_is_deterministic_per_seed_and_start_equals_skip(ucf_hash_split):
    def load(**kw):
        return data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(ucf_hash_split), random_crop=True, **kw)

    a, b, c = first(load(seed=1), 6), first(load(seed=1), 6), first(load(seed=2), 6)
    assert_same(a, b)
    assert any(not np.array_equal(x["video"], y["video"]) for x, y in zip(a, c))
    assert_same(first(load(seed=1, start=5), 3), first(load(seed=1).skip(5), 3))


def test_a_folder_without_usable_videos_is_a_value_error(tmp_path):
    (tmp_path / "Class").mkdir()
    (tmp_path / "Class" / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=f"no usable video .*{tmp_path}"):
        data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="needs data_dir"):
        data.load("video_folder", frames=FRAMES, size=SIZE)


def test_gifs_and_frame_folders_are_videos_and_other_files_are_reported(tmp_path, caplog):
    from PIL import Image

    gif, frames = square_video(6, RED), square_video(12, GREEN)
    (tmp_path / "Alpha").mkdir()
    video_io.write_gif(str(tmp_path / "Alpha" / "v_Alpha_g01.gif"), gif)
    (tmp_path / "Alpha" / "notes.txt").write_text("not a video")
    clip = tmp_path / "Beta" / "v_Beta_g01"  # one video: frame0.png .. frame11.png (frame2 before frame10)
    clip.mkdir(parents=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame).save(clip / f"frame{t}.png")
    (tmp_path / "Beta" / "labels.csv").write_text("a,b")
    np.testing.assert_array_equal(video_io.read_video(str(tmp_path / "Alpha" / "v_Alpha_g01.gif")), gif)
    np.testing.assert_array_equal(video_io.read_video(str(clip)), frames)
    assert video_io.probe_video(str(clip)).num_frames == 12
    with caplog.at_level(logging.WARNING, logger="zoo.data.folder"):
        scan = folder.scan_folder(str(tmp_path), split="train")  # the hash holdout puts all four in train
    assert list(scan.good) == [(f"{tmp_path}/Alpha/v_Alpha_g01.gif", 0), (f"{tmp_path}/Beta/v_Beta_g01", 1)]
    skipped = sorted(p for p, reason in scan.bad if reason == folder.NOT_A_VIDEO)
    assert skipped == [f"{tmp_path}/Alpha/notes.txt", f"{tmp_path}/Beta/labels.csv"]  # counted, reported
    assert any("not a video" in r.getMessage() for r in caplog.records)
    clips = first(data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(tmp_path)), 2)
    assert sorted(int(c["label"]) for c in clips) == [0, 1]
    assert all(c["label"] == dominant_label(c["video"]) for c in clips)
    only_text = tmp_path / "text"
    (only_text / "Alpha").mkdir(parents=True)
    (only_text / "Alpha" / "readme.txt").write_text("not a video")
    with pytest.raises(
        ValueError,
        match="has no class folder holding a video: .*found 0 videos outside a class folder and 1 other files",
    ):
        data.load("video_folder", frames=FRAMES, size=SIZE, data_dir=str(only_text))


def test_split_lists_and_class_index_are_honored(ucf_hash_split, tmp_path):
    root = tmp_path / "listed"
    shutil.copytree(ucf_hash_split, root)
    (root / "classInd.txt").write_text("1 Beta\n2 Alpha\n")  # not alphabetical on purpose
    (root / "trainlist01.txt").write_text(
        "Alpha/v_Alpha_g01_c01.mp4 2\nBeta/v_Beta_g02_c01.avi 1\nBeta/truncated.mp4 1\n"
    )
    (root / "testlist01.txt").write_text("Alpha/v_Alpha_g02_c01.avi\nBeta/v_Beta_missing.avi\n")
    train = folder.scan_folder(str(root), split="train")
    assert train.classes == ("Beta", "Alpha")
    assert train.good == ((f"{root}/Alpha/v_Alpha_g01_c01.mp4", 1), (f"{root}/Beta/v_Beta_g02_c01.avi", 0))
    assert [p for p, _ in train.bad] == [f"{root}/Beta/truncated.mp4"]
    test = folder.scan_folder(str(root), split="test")
    assert test.good == ((f"{root}/Alpha/v_Alpha_g02_c01.avi", 1),)
    assert [p for p, _ in test.bad] == [f"{root}/Beta/v_Beta_missing.avi"]
    (example,) = first(data.load("video_folder", split="test", frames=FRAMES, size=SIZE, data_dir=str(root)), 5)
    assert example["label"] == 1 and dominant_label(example["video"]) == 0  # red, Alpha = id 2
    custom = tmp_path / "mine.txt"
    custom.write_text("Beta/v_Beta_g07_c01.avi\n")
    mine = folder.scan_folder(str(root), split="train", split_file=str(custom))
    assert mine.good == ((f"{root}/Beta/v_Beta_g07_c01.avi", 0),)
    with pytest.raises(ValueError, match="split_index"):
        folder.scan_folder(str(root), split_index=4)


def test_cache_round_trip_reuse_and_staleness(ucf_hash_split, tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    kw = dict(split="test", frames=FRAMES, size=SIZE, data_dir=str(ucf_hash_split), clips_per_video=2)
    direct = first(data.load("video_folder", **kw), 10)
    cached = first(data.load("video_folder", cache_dir=cache, cache_shards=2, **kw), 10)
    assert len(direct) == 4
    assert_same(direct, cached)
    names = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert names == ["test-00000-of-00002.tfrecord", "test-00001-of-00002.tfrecord", "test-manifest.json"]
    assert_same(direct, first(data.load("tfrecord", split="test", frames=FRAMES, size=SIZE, data_dir=cache), 10))

    def no_scan(*args, **kwargs):
        raise AssertionError("a matching cache must be reused without probing")

    monkeypatch.setattr(folder, "scan_folder", no_scan)
    assert_same(direct, first(data.load("video_folder", cache_dir=cache, **kw), 10))
    monkeypatch.undo()

    with pytest.raises(ValueError, match="stale TFRecord cache .*frames"):
        data.load("video_folder", cache_dir=cache, **dict(kw, frames=FRAMES + 1))
    with pytest.raises(ValueError, match=r"stale TFRecord cache .*differs in \['preprocess'\]"):
        data.load("video_folder", cache_dir=cache, preprocess="mvt_jester", **kw)
    jester = first(data.load("video_folder", preprocess="mvt_jester", **kw), 10)  # uncached: another crop
    assert len(jester) == 4 and not all(np.array_equal(a["video"], b["video"]) for a, b in zip(jester, direct))
    rebuilt = data.load("video_folder", cache_dir=cache, rebuild_cache=True, **dict(kw, frames=2))
    assert rebuilt.element_spec["video"].shape == (2, SIZE, SIZE, 3)
    assert len(first(rebuilt, 10)) == 4
    with pytest.raises(ValueError, match=r"holds clips of shape \[2, 16, 16, 3\]"):
        data.load("tfrecord", split="test", frames=FRAMES, size=SIZE, data_dir=cache)
    with pytest.raises(ValueError, match="no TFRecord shards for split 'train'"):
        data.load("tfrecord", frames=2, size=SIZE, data_dir=cache)


def test_cached_train_stream_repeats_deterministically(ucf_hash_split, tmp_path):
    def load(**kw):
        return data.load(
            "video_folder",
            frames=FRAMES,
            size=SIZE,
            data_dir=str(ucf_hash_split),
            cache_dir=str(tmp_path / "cache"),
            **kw,
        )

    a = first(load(seed=5), 9)  # more than the 4 cached clips: it repeats
    assert len(a) == 9 and {int(e["label"]) for e in a} == {0, 1}
    assert_same(a, first(load(seed=5), 9))
    assert_same(first(load(seed=5, start=6), 3), first(load(seed=5).skip(6), 3))
    epoch0 = sorted(e["video"].tobytes() for e in a[:4])
    epoch1 = sorted(e["video"].tobytes() for e in a[4:8])
    assert epoch0 == epoch1
