"""python -m trainers.classifier: a labelled run end to end, its report and exports, clear errors."""

import json
import os
import sys

import pytest

import export
from tests.conftest import square_video
from zoo import data


@pytest.mark.slow
def test_classifier_cli_trains_reports_and_exports(tmp_path, run_commands):
    run, hub, serving = tmp_path / "run", tmp_path / "hub", tmp_path / "exports"
    args = [
        sys.executable,
        "-m",
        "trainers.classifier",
        "--arch=c3d",
        "--preset=tiny",
        "--steps=6",
        "--checkpoint_every=3",
        f"--run_dir={run}",
        f"--hub_dir={hub}",
        f"--export_dir={serving}",
        "--test_examples=32",
        "--verbose=0",
    ]
    ((code, out),) = run_commands(args)
    assert code == 0, out
    report = json.loads((run / "report.json").read_text())
    assert report["test_examples"] == 32 and report["step"] == 6 and 0.0 <= report["test_accuracy"] <= 1.0
    assert report["class_names"] == list(data.class_names("synthetic_actions"))
    assert f"test accuracy {report['test_accuracy']:.4f}" in out
    net = export.load_video_classifier(str(hub))
    assert net.info["report"] == report and net.info["num_classes"] == 10
    assert export.load_video_classifier(os.path.join(serving, "c3d", "1")).info["report"] == report
    # rerunning the finished run trains nothing; an existing hub module is never overwritten
    ((code, out),) = run_commands(args[:-4] + args[-2:])
    assert code == 0 and "nothing to train" in out, out
    ((code, out),) = run_commands(args)
    assert code == 2 and "exists and is not empty" in out and "Traceback" not in out, out
    # python -m export of the run: the classifier module, report included
    ((code, out),) = run_commands(
        [
            sys.executable,
            "-m",
            "export",
            f"--run_dir={run}",
            f"--export_dir={serving}",
            f"--hub_dir={tmp_path / 'hub2'}",
        ]
    )
    assert code == 0, out
    assert export.load_video_classifier(str(tmp_path / "hub2")).info["report"] == report
    assert export.load_video_classifier(os.path.join(serving, "c3d", "2")).info["report"] == report


@pytest.mark.slow
def test_classifier_cli_errors_are_clear(tmp_path, run_commands):
    base = [sys.executable, "-m", "trainers.classifier", "--preset=tiny", "--steps=1", f"--run_dir={tmp_path}"]
    results = run_commands(
        base + ["--dataset=bouncing_balls"],
        base + ["--arch=c3d", "--lstm_units=4"],
        base + ["--arch=lrcn", "--num_classes=3"],
    )
    for (code, out), expected in zip(
        results,
        [
            "has no labels",
            "do not apply to --arch=c3d",
            "--num_classes=3 but data set 'synthetic_actions' has 10 classes",
        ],
    ):
        assert code == 2 and expected in out and "Traceback" not in out, out


def test_classifier_trains_on_a_ucf101_layout_folder(tmp_path, video_folder):
    """Any labelled data set of the zoo: class folders give the classes, the test split is held out."""
    from trainers.classifier import ClassifierTrainer
    from trainers import common

    colors = {"Alpha": (255, 0, 0), "Beta": (0, 255, 0)}
    ucf = video_folder(
        {
            f"{name}/v_{name}_g{g:02d}_c01.mp4": square_video(10, color, 24, 24, side=10, top=4)
            for name, color in colors.items()
            for g in range(1, 9)
        },
        "ucf",
    )  # UCF-101 names; the zoo's hash holdout splits the groups
    options = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        dataset="video_folder",
        data_dir=str(ucf),
        steps=3,
        checkpoint_every=3,
        verbose=0,
        hub_dir=str(tmp_path / "hub"),
    )
    trainer = ClassifierTrainer("lrcn", "tiny", {}, options)
    trainer.run()
    assert trainer.cfg.class_names == ("Alpha", "Beta") and trainer.cfg.num_classes == 2
    test_videos = len(data.scan_folder(str(ucf), split="test").good)
    assert test_videos >= 1 and trainer.report["test_examples"] >= test_videos
    net = export.load_video_classifier(str(tmp_path / "hub"))
    assert net.info["class_names"] == ["Alpha", "Beta"] and "frame_features" in net.outputs
