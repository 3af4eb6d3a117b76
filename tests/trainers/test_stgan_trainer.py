"""``python -m trainers.stgan``: the 2D source (stage image) -> hub module -> inflation and
activation maximization with a classifier export (stage video) -> videos per class,
a serving export, ``trainers.generate`` on it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from trainers import common, stgan as stgan_trainer
from zoo import data as data_lib


def test_resolve_classes_by_name_or_index():
    names = ["right", "left", "up"]
    assert stgan_trainer.resolve_classes([], names) == [0, 1, 2]
    assert stgan_trainer.resolve_classes(["up", "1"], names) == [2, 1]
    with pytest.raises(ValueError, match=r"'wave' is neither .* classes are \['right', 'left', 'up'\]"):
        stgan_trainer.resolve_classes(["wave"], names)


def test_stage_errors_and_the_image_stage_export_name(tmp_path):
    opts = lambda: common.RunOptions(run_dir=str(tmp_path / "run"), dataset="synthetic_actions")  # noqa: E731
    assert stgan_trainer.STGANTrainer("tiny", {}, opts()).opts.export_name == "stgan_image"
    with pytest.raises(ValueError, match="--stage=video needs --source_generator_handle"):
        stgan_trainer.STGANTrainer("tiny", {"stage": "video"}, opts(), condition_net="c3d")
    with pytest.raises(ValueError, match="belong to --stage=video"):
        stgan_trainer.STGANTrainer("tiny", {}, opts(), condition_net="c3d")


@pytest.mark.slow
def test_cli_inflates_a_trained_source_and_maximizes_classes(tmp_path, c3d_hub, run_commands):
    source = str(tmp_path / "source")
    # Stage image in-process (2 steps; a wide init so that the untrained source's images vary with z).
    image = stgan_trainer.STGANTrainer(
        "tiny",
        {"init_stddev": 0.3, "seed": 0},
        common.RunOptions(
            run_dir=str(tmp_path / "image"), dataset="synthetic_actions", steps=2, hub_dir=source, verbose=0
        ),
    )
    assert image.run()["hub_module"] == source
    run_dir, export_dir = tmp_path / "video", tmp_path / "exports"
    video_cmd = [
        "python",
        "-m",
        "trainers.stgan",
        "--stage=video",
        "--preset=tiny",
        f"--run_dir={run_dir}",
        f"--source_generator_handle={source}",
        f"--condition_net={c3d_hub}",
        "--classes=right,3",
        f"--judge_net={c3d_hub}",
        "--videos_per_class=2",
        f"--export_dir={export_dir}",
        "--verbose=0",
    ]
    (rc, out), (rc_missing, err) = run_commands(
        video_cmd,
        [a for a in video_cmd if not a.startswith(("--condition_net", "--judge_net"))] + [f"--run_dir={tmp_path}/x"],
    )
    assert rc == 0, out
    assert rc_missing == 2 and "--stage=video needs --condition_net" in err
    summary = json.loads((run_dir / "am" / "summary.json").read_text())["classes"]
    assert sorted(summary) == ["right", "up"]
    for name, probability in summary.items():
        assert probability["final"] > probability["initial"], (name, probability)
        assert f"class {name}: probability {probability['initial']:.4f} -> {probability['final']:.4f}" in out
        # The judge scores the same videos before and after AM: judged by the condition network
        # itself, it must repeat the condition network's probabilities.
        assert probability["judge_initial"] == pytest.approx(probability["initial"], abs=1e-4)
        assert probability["judge_final"] == pytest.approx(probability["final"], abs=1e-4)
        saved = np.load(run_dir / "am" / f"{name}.npz")
        assert saved["z"].shape == (2, 8, 8) and saved["probability"].shape == (11, 2)
        assert sorted(os.listdir(run_dir / "videos" / name)) == ["am_000.gif", "am_001.gif"]
    grid = data_lib.read_video(str(run_dir / "videos" / "grid.gif"))  # one tile per class: 2 tiles side by side
    assert grid.shape[0] == 8 and grid.shape[2] > 2 * grid.shape[1] - 8, grid.shape
    # A rerun finds the classes done and redoes nothing; the export serves codes per frame.
    rerun = stgan_trainer.STGANTrainer(
        "tiny",
        {"stage": "video", "source_generator_handle": source, "seed": 0},
        common.RunOptions(run_dir=str(run_dir), dataset="synthetic_actions", verbose=0),
        condition_net=c3d_hub,
        classes=["right"],
        videos_per_class=2,
    )
    rerun.run()
    assert rerun.summary["right"] == summary["right"]
    ((rc, out),) = run_commands(
        [
            "python",
            "-m",
            "trainers.generate",
            f"--model={export_dir}/stgan/1",
            f"--out_dir={tmp_path}/gen",
            "--num_videos=2",
        ]
    )
    assert rc == 0, out
    assert sorted(os.listdir(tmp_path / "gen")) == [
        "serving_default_000.gif",
        "serving_default_001.gif",
        "serving_default_grid.gif",
    ]
