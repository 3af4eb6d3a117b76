"""``--data_opt`` (every trainer, ``trainers.evaluate``) and ``python -m trainers.build_cache``: a
user's video folder configured from the command line and decoded once into a TFRecord cache."""

import functools
import io
import json
import os
import sys

import pytest

import zoo
import zoo.data as data
from tests.conftest import square_video
from trainers import build_cache, common
from zoo.data import video_io

FRAMES, SIZE = 8, 16  # the clips of VGAN's tiny preset
TRAIN = ("Alpha/v_Alpha_g01.mp4", "Alpha/v_Alpha_g02.mp4", "Beta/v_Beta_g01.mp4", "Beta/v_Beta_g02.mp4")
TEST = ("Alpha/v_Alpha_g03.mp4", "Beta/v_Beta_g03.mp4")
BROKEN = "Alpha/v_Alpha_g09.avi"  # listed in the train split, does not decode


@pytest.fixture(scope="module")
def ucf_split_lists(video_folder):
    """A UCF-101-layout folder: 4 train videos and a corrupt one, 2 test videos (split lists)."""
    videos = {
        p: square_video(10, (230, 20, 20) if p.startswith("Alpha") else (20, 230, 20), 20, 24, side=10, top=4)
        for p in TRAIN + TEST
    }
    return video_folder(
        {
            **videos,
            BROKEN: b"RIFF not really an avi" * 40,
            "trainlist01.txt": "".join(f"{p} {1 + p.startswith('Beta')}\n" for p in TRAIN + (BROKEN,)),
            "testlist01.txt": "".join(f"{p}\n" for p in TEST),
        },
        "ucf",
    )


def _no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a video was decoded although its clips are cached")

    monkeypatch.setattr(video_io, "read_video", refuse)
    monkeypatch.setattr(video_io, "probe_video", refuse)


def test_data_opt_text_is_typed_as_the_loader_declares():
    assert common.data_options(
        "video_folder",
        [
            "cache_dir=/data/cache",
            "frame_stride=2",
            "random_crop=true",
            "split_file=none",
            "cache_shards=3",
            "clips_per_video= 4",
        ],
    ) == {
        "cache_dir": "/data/cache",
        "frame_stride": 2,
        "random_crop": True,
        "split_file": None,
        "cache_shards": 3,
        "clips_per_video": 4,
    }
    assert common.data_options("bouncing_balls", ["radius=0.2", "color=no"]) == {"radius": 0.2, "color": False}
    assert common.data_options("synthetic_actions", ["actions=left,up"]) == {"actions": ("left", "up")}
    assert common.data_options("synthetic_actions", ["actions=left"]) == {"actions": "left"}
    # a mapping (RunOptions, what config.json saved) is checked and its text parsed the same way
    assert common.data_options("video_folder", {"frame_stride": "2", "cache_dir": "c"}) == {
        "frame_stride": 2,
        "cache_dir": "c",
    }
    assert common.data_options("video_folder", []) == {}


@pytest.mark.parametrize(
    "items,expected",
    [
        (
            ["cache=/x"],
            "data set 'video_folder' has no option 'cache'; it takes: cache_dir (str or none, default None)",
        ),
        (["frame_stride=abc"], "option 'frame_stride' of data set 'video_folder' expects int (default 1), got 'abc'"),
        (["frame_stride=1.5"], "expects int"),
        (["random_crop=maybe"], "option 'random_crop' of data set 'video_folder' expects true or false"),
        (["frame_stride"], "--data_opt='frame_stride': expected key=value"),
        (["split_index=1", "split_index=2"], "option 'split_index' of data set 'video_folder' is given twice"),
        ({"clips_per_video": 2.5}, "expects int (default 1), got 2.5"),
    ],
)
def test_bad_options_name_the_data_set_the_option_and_what_it_takes(items, expected):
    with pytest.raises(ValueError) as err:
        common.data_options("video_folder", items)
    assert expected in str(err.value)


def test_a_good_data_opt_reaches_the_loader_and_the_saved_flags(tmp_path, monkeypatch):
    calls = []
    loader = data._LOADERS["bouncing_balls"]

    @functools.wraps(loader)
    def spy(**kwargs):
        calls.append(kwargs)
        return loader(**kwargs)

    monkeypatch.setitem(data._LOADERS, "bouncing_balls", spy)
    options = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        dataset="bouncing_balls",
        data_options={"num_balls": "1", "color": "true"},
        steps=1,
        verbose=0,
    )
    trainer = common.Trainer("vgan", "tiny", {}, options)
    assert trainer.opts.trainer_dict()["data_options"] == {"num_balls": 1, "color": True}
    batch = next(iter(trainer.dataset_fn(trainer.cfg, trainer.opts, 0, 2)))
    assert batch["video"].shape == (2, FRAMES, SIZE, SIZE, 3)
    assert calls and calls[-1]["num_balls"] == 1 and calls[-1]["color"] is True
    # the class count of a labelled set follows its options too (MVT, classifiers)
    actions = common.RunOptions(
        run_dir=str(tmp_path / "mvt"), dataset="synthetic_actions", data_options={"actions": "left,up"}
    )
    assert common.with_dataset_classes({}, actions, "a test")["class_names"] == ("left", "up")
    with pytest.raises(ValueError, match="data set 'bouncing_balls' has no option 'balls'"):
        common.Trainer("vgan", "tiny", {}, common.RunOptions(run_dir=str(tmp_path / "bad"), data_options={"balls": 2}))
    assert not (tmp_path / "bad").exists()


def test_a_preset_sets_data_options_and_data_opt_overrides_them(tmp_path, capsys):
    # VGAN's paper preset stabilises a video folder (section 4.1); nothing else is set
    assert zoo.registry.preset_data_options("vgan", "paper", "video_folder") == {"stabilize": True}
    assert zoo.registry.preset_data_options("vgan", "paper", "tfrecord") == {}
    assert zoo.registry.preset_data_options("vgan", "small", "video_folder") == {}

    def trainer_options(preset, given):
        options = common.RunOptions(
            run_dir=str(tmp_path / "run"), dataset="video_folder", data_dir=str(tmp_path), data_options=given
        )
        return common.Trainer("vgan", preset, {}, options).opts.trainer_dict()["data_options"]

    assert trainer_options("paper", {}) == {"stabilize": True}
    assert "preset 'paper' of vgan sets --data_opt=stabilize=true for video_folder" in capsys.readouterr().out
    assert trainer_options("paper", ["stabilize=false", "frame_stride=2"]) == {"stabilize": False, "frame_stride": 2}
    assert trainer_options("small", {}) == {}
    # trainers.build_cache --model=vgan --preset=paper builds the cache that preset's trainer reads
    assert common.with_preset_data_options("vgan", "paper", "video_folder", ["cache_dir=/c"]) == {
        "stabilize": True,
        "cache_dir": "/c",
    }
    entry = zoo.entry("vgan")
    with pytest.raises(ValueError, match=r"data_options name presets \['huge'\]"):
        type(entry)("x", entry.config_cls, entry.presets, entry.builder, data_options={"huge": {}})


def test_build_cache_summary_gives_the_share_of_clips_stabilisation_dropped():
    manifest = {
        "settings": {"split": "train", "stabilize": {"method": "sift_ransac_homography"}},
        "num_clips": 97,
        "files": ["a"] * 97,
        "skipped": [],
        "dropped": [["a", 0, "frames 3-4: median re-projection error 9.1 px"]] * 3,
        "cache_dir": "c",
        "reused": False,
    }
    assert "stabilised: 3 of 100 clips dropped (3.0%)" in build_cache.summary(manifest)
    assert "stabilised" not in build_cache.summary(dict(manifest, settings={"split": "train", "stabilize": False}))


def test_build_cache_skips_and_counts_a_corrupt_file_and_training_reuses_it(ucf_split_lists, tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    out = io.StringIO()
    built = build_cache.build(str(ucf_split_lists), cache, frames=FRAMES, size=SIZE, stream=out)
    (manifest,) = built
    assert (manifest["num_clips"], len(manifest["files"]), len(manifest["skipped"])) == (4, 4, 1)
    assert manifest["skipped"][0][0].endswith(BROKEN) and not manifest["reused"]
    assert "train: [5/5] videos, 1 skipped" in out.getvalue()
    assert "4 clips of 4 videos" in build_cache.summary(manifest) and "1 skipped" in build_cache.summary(manifest)

    _no_decoding(monkeypatch)  # from here on every clip must come from the cache
    (again,) = build_cache.build(
        str(ucf_split_lists), None, frames=FRAMES, size=SIZE, data_options=[f"cache_dir={cache}"], stream=out
    )
    assert again["reused"] and again["files"] == manifest["files"]
    options = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        dataset="video_folder",
        data_dir=str(ucf_split_lists),
        data_options={"cache_dir": cache},
        steps=1,
        sample_every=100,
        num_samples=2,
        verbose=0,
    )
    trainer = common.Trainer("vgan", "tiny", {}, options)
    trainer.run()
    assert int(trainer.model.step) == 1
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["trainer"]
    assert saved["dataset"] == "video_folder" and saved["data_options"] == {"cache_dir": cache}

    # other clip settings than the cache's are refused (before any training), as a usage error
    stale = common.RunOptions(
        run_dir=str(tmp_path / "stale"),
        dataset="video_folder",
        data_dir=str(ucf_split_lists),
        data_options={"cache_dir": cache, "frame_stride": 2},
        steps=1,
        verbose=0,
    )
    with pytest.raises(common.SetupError, match="stale TFRecord cache"):
        common.Trainer("vgan", "tiny", {}, stale).run()


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing folder", "does not exist or is not a directory"),
        ("no videos", "has no class folder holding a video"),
        ("no readable videos", "no usable video for split 'train'"),
        ("bad option value", "frame_stride must be an int >= 1, got 0"),
        ("unknown preprocessing", "preprocess must be one of"),
        ("stale cache", "stale TFRecord cache .*--data_opt=rebuild_cache=true"),
    ],
)
def test_every_data_set_error_comes_before_the_run_folder_gets_a_file(case, message, ucf_split_lists, tmp_path):
    data_dir, options = str(ucf_split_lists), {}
    if case == "missing folder":
        data_dir = str(tmp_path / "nonexistent")
    elif case in ("no videos", "no readable videos"):  # a folder of text files; of files that do not decode
        (tmp_path / "notes" / "Alpha").mkdir(parents=True)
        name = "readme.txt" if case == "no videos" else "broken.mp4"
        for k in range(3):
            (tmp_path / "notes" / "Alpha" / f"{k}{name}").write_text("not a video")
        data_dir = str(tmp_path / "notes")
    elif case == "bad option value":
        options = {"frame_stride": 0}
    elif case == "unknown preprocessing":
        options = {"preprocess": "bogus"}
    else:
        build_cache.build(str(ucf_split_lists), str(tmp_path / "cache"), frames=FRAMES, size=SIZE)
        options = {"cache_dir": str(tmp_path / "cache"), "frame_stride": 2}
    run = tmp_path / "run"
    trainer = common.Trainer(
        "vgan",
        "tiny",
        {},
        common.RunOptions(
            run_dir=str(run), dataset="video_folder", data_dir=data_dir, data_options=options, steps=1, verbose=0
        ),
    )
    with pytest.raises(common.SetupError, match=message):
        trainer.run()
    assert not run.exists()  # no config.json, no events file


def test_build_cache_refuses_bad_input_before_writing(ucf_split_lists, tmp_path):
    cache = tmp_path / "cache"
    for kwargs, message in [
        (dict(data_options=["random_crop=true"]), "cannot apply to cached clips"),
        (dict(data_options=["frame_stride=0"]), "frame_stride must be an int >= 1"),
        (dict(data_options=["split_index=7"]), "split_index must be 1, 2 or 3"),
        (dict(splits=["training"]), "--splits: expected some of"),
        (dict(data_options=["cache_dir=/elsewhere"]), "differ; give one"),
    ]:
        with pytest.raises(ValueError, match=message):
            build_cache.build(str(ucf_split_lists), str(cache), frames=FRAMES, size=SIZE, **kwargs)
    with pytest.raises(ValueError, match="give --frames and --size"):
        build_cache.clip_settings(None, None, None, "small")
    assert build_cache.clip_settings(None, None, "vgan", "tiny") == (FRAMES, SIZE)
    assert not cache.exists()


@pytest.mark.slow
def test_cli_builds_a_cache_that_training_and_evaluate_read(ucf_split_lists, tmp_path, run_commands, monkeypatch):
    cache, run = tmp_path / "cache", tmp_path / "run"
    data_flags = [f"--data_dir={ucf_split_lists}", f"--data_opt=cache_dir={cache}", "--data_opt=clips_per_video=2"]
    ((code, out),) = run_commands(
        [sys.executable, "-m", "trainers.build_cache", "--model=vgan", "--preset=tiny", "--splits=train,test"]
        + data_flags
    )
    assert code == 0, out
    assert "train: [5/5] videos, 1 skipped" in out and "test: [2/2] videos, 0 skipped" in out
    assert "train: 8 clips of 4 videos" in out and BROKEN in out
    shards = {p: os.stat(cache / p).st_mtime_ns for p in os.listdir(cache)}

    ((code, out),) = run_commands(
        [
            sys.executable,
            "-m",
            "trainers.vgan",
            "--preset=tiny",
            "--steps=1",
            "--verbose=0",
            "--dataset=video_folder",
            f"--run_dir={run}",
        ]
        + data_flags
    )
    assert code == 0, out
    assert {p: os.stat(cache / p).st_mtime_ns for p in os.listdir(cache)} == shards  # read, not rebuilt
    expected = {"cache_dir": str(cache), "clips_per_video": 2}
    assert json.loads((run / "config.json").read_text())["trainer"]["data_options"] == expected

    from trainers.evaluate import evaluate  # what its --data_opt items reach (the CLI: test_exit_statuses)

    _no_decoding(monkeypatch)
    report = evaluate(
        "dataset:video_folder",
        "video_folder",
        ["nn_pixels"],
        data_dir=str(ucf_split_lists),
        frames=FRAMES,
        size=SIZE,
        num_samples=4,
        data_options=[f"cache_dir={cache}", "clips_per_video=2"],
    )
    assert report["real"]["data_options"] == expected and report["generator"]["data_options"] == expected
