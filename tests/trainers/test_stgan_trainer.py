"""``python -m trainers.stgan``: the 2D source (stage image) -> hub module -> inflation and
activation maximization with a classifier export (stage video) -> videos per class,
a serving export, ``trainers.generate`` on it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from trainers import common, stgan as stgan_trainer
from zoo import data as data_lib
from zoo import metrics, stgan


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


def test_the_video_stage_takes_the_papers_roles_by_default(tmp_path):
    """Section 4.2: an LRCN conditions the paper's main experiments; section 5.2 measures with a
    C3D. Without flags the shipped LRCN conditions and the shipped C3D judges; the reverse (and
    any other pair) is two flags away, and a condition network given alone has no judge."""
    opts = lambda: common.RunOptions(run_dir=str(tmp_path / "run"), dataset="synthetic_actions")  # noqa: E731
    video = {"stage": "video", "source_generator_handle": "source"}

    def roles(**kw):
        t = stgan_trainer.STGANTrainer("tiny", video, opts(), **kw)
        return t.condition_net, t.judge_net

    assert roles() == ("lrcn_synthetic_actions", "c3d_synthetic_actions")
    reverse = dict(condition_net="c3d_synthetic_actions", judge_net="lrcn_synthetic_actions")
    assert roles(**reverse) == ("c3d_synthetic_actions", "lrcn_synthetic_actions")
    assert roles(condition_net="c3d_synthetic_actions") == ("c3d_synthetic_actions", None)
    assert roles(judge_net="") == ("lrcn_synthetic_actions", None)
    image = stgan_trainer.STGANTrainer("tiny", {}, opts())  # stage image: no networks
    assert (image.condition_net, image.judge_net) == (None, None)


def test_am_writes_what_the_condition_network_sees_and_keeps_to_its_networks(tmp_path):
    """The condition network (input 12 x 12) sees the centre of the 16 x 16 frames, not the frames
    resized; the judge and the written videos get the same crop (section 4.2: AM's videos are
    227 x 227). A run folder holding AM of other networks is refused, not skipped as done."""
    run_dir = tmp_path / "run"
    trainer = stgan_trainer.STGANTrainer(
        "tiny",
        {"stage": "video", "source_generator_handle": "source", "am_iterations": 2, "init_stddev": 0.3, "seed": 0},
        common.RunOptions(run_dir=str(run_dir), dataset="synthetic_actions", verbose=0),
        condition_net="phi",
        judge_net="judge",
        videos_per_class=1,
    )
    trainer.model = stgan.STGAN(trainer.cfg)
    trainer.writer = tf.summary.create_noop_writer()
    seen = {"phi": [], "judge": []}

    def network(name):
        def fn(video):
            seen[name].append(tuple(video.shape[1:4]))
            return {"logits": tf.reduce_mean(video, axis=[1, 2, 3])[:, :2] * 10.0}

        return metrics.FeatureNetwork(
            name=name, fn=fn, size=12, frames=8, outputs=("logits",), info={"class_names": ["a", "b"]}
        )

    summary = trainer.maximize(network("phi"), [0, 1], network("judge"))
    assert set(seen["phi"]) == set(seen["judge"]) == {(8, 12, 12)}
    assert data_lib.read_video(str(run_dir / "videos" / "a" / "am_000.gif")).shape == (8, 12, 12, 3)
    assert data_lib.read_video(str(run_dir / "videos" / "grid.gif")).shape[1] == 2 + 12 + 2  # one row of tiles
    codes = np.load(run_dir / "am" / "b.npz")["z"]
    frames = trainer.model(codes)[:, :, 2:14, 2:14]  # the centre of G(z*): the judge's view of it
    judged = tf.nn.softmax(network("judge").fn(frames)["logits"])[:, 1].numpy().mean()
    assert summary["b"]["judge_final"] == pytest.approx(judged, abs=1e-5)
    saved = json.loads((run_dir / "am" / "summary.json").read_text())
    assert saved["condition_input"] == "crop" and saved["condition_net"] == "phi" and saved["judge_net"] == "judge"
    with pytest.raises(ValueError, match=r"other networks.*'condition_net': \('phi', 'judge'\)"):
        trainer.condition_net, trainer.judge_net = "judge", "phi"
        trainer.maximize(network("judge"), [0], network("phi"))
    trainer.condition_net, trainer.judge_net = "phi", "judge"
    assert trainer.maximize(network("phi"), [0], network("judge"))["a"] == summary["a"]  # resumed


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
    ((rc, out),) = run_commands(video_cmd)
    assert rc == 0, out
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
        judge_net=c3d_hub,
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
