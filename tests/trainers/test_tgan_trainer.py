"""TGAN's two steps through real exports: stage image -> hub modules -> stage video -> serving -> generate."""

import os
import sys

import numpy as np
import pytest

import export
import zoo
from export import runs
from trainers import common
from zoo import data


@pytest.mark.slow
def test_two_step_training_through_hub_modules_and_generation(tmp_path, run_commands):
    g1, d1, serving, videos = (tmp_path / n for n in ("g1", "d1", "exports", "videos"))
    base = [
        sys.executable,
        "-m",
        "trainers.tgan",
        "--preset=tiny",
        "--steps=3",
        "--verbose=0",
        f"--export_dir={serving}",
    ]
    results = run_commands(
        base + ["--stage=image", f"--run_dir={tmp_path / 'image'}", f"--hub_dir={g1}", f"--features_hub_dir={d1}"],
        base
        + [
            "--stage=video",
            f"--run_dir={tmp_path / 'video'}",
            f"--image_generator_handle={g1}",
            f"--image_features_handle={d1}",
        ],
        [
            sys.executable,
            "-m",
            "trainers.generate",
            f"--model={serving / 'tgan' / '1'}",
            "--signature=long_video",
            f"--out_dir={videos}",
            "--num_videos=2",
            "--format=mp4",
        ],
    )
    for code, out in results:
        assert code == 0, out
    # step one served images under its own name, step two the videos
    assert sorted(os.listdir(serving)) == ["models.config", "tgan", "tgan_image"]
    assert export.read_metadata(export.load(str(g1)))["latent_dim"] == 8
    cfg = zoo.resolve("tgan", "tiny")
    features = export.load_image_features(str(d1))
    assert features.feature_shape == (2, 2, 8 * cfg.d1_width)

    loaded = export.load(str(serving / "tgan" / "1"))
    assert set(loaded.signatures) == {"serving_default", "interpolate", "long_video"}
    z = np.random.default_rng(0).uniform(-1, 1, (2, cfg.latent_dim)).astype(np.float32)
    assert loaded.signatures["interpolate"](z=z)["video"].shape == (2, 16 * cfg.interpolation_factor, 16, 16, 3)
    clip = data.read_video(str(videos / "long_video_000.mp4"))
    assert clip.shape == (16 * cfg.long_segments, 16, 16, 3)
    assert os.path.exists(videos / "long_video_grid.gif")

    # G1 came from the module: stage two changed only its batch-norm scale/offset, which the run saved
    video_model = runs.load_run(str(tmp_path / "video"))
    image_model = runs.load_run(str(tmp_path / "image"))
    frozen = {v.path: v.numpy() for v in video_model.frame_generator.weights}  # image_generator_<layer>_<var>
    source = {v.path.replace("/", "_"): v.numpy() for v in image_model.generator.weights}
    assert set(frozen) == set(source)
    moved = [k for k in source if not np.array_equal(source[k], frozen[k])]
    assert moved and all(k.endswith(("gamma", "beta", "moving_mean", "moving_variance")) for k in moved), moved
    assert not any(v.trainable for v in video_model.frame_generator.weights if not v.path.endswith(("gamma", "beta")))


@pytest.mark.slow
def test_a_vgan_background_stream_is_a_pretrained_image_generator(tmp_path):
    """Section 4.3: any module in the image-generator interface works as G1."""
    vgan = zoo.build("vgan", preset="tiny")  # background stream: z 8-d -> 16x16x3, as TGAN tiny's K1
    handle = export.export_image_generator(vgan, str(tmp_path / "background"))
    options = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        dataset="bouncing_balls",
        steps=2,
        checkpoint_every=2,
        sample_every=2,
        num_samples=2,
        verbose=0,
    )
    trainer = common.Trainer("tgan", "tiny", {"stage": "video", "image_generator_handle": handle}, options)
    trainer.run()
    model = trainer.model
    assert int(model.step) == 2
    assert all(v.trainable for v in model.frame_features.trainable_weights) and model.frame_features.trainable_weights
    assert any("kernel" in v.path for v in model.frame_features.trainable_weights)  # fresh D1' trains in full
    trained = [v.path for v in model.frame_generator.trainable_weights]
    assert trained and all(n.endswith(("gamma", "beta")) for n in trained), trained

    # section 5.4: a linear classifier on the discriminator's frame features, through the evaluation probe
    from trainers import evaluate

    report = evaluate.evaluate(
        "noise", "synthetic_actions", ["probe"], probe=str(tmp_path / "run"), frames=16, size=16, num_samples=40
    )["metrics"]["probe"]
    assert report["networks"]["probe"]["model"] == "tgan" and report["num_train"] == 40
    assert 0.0 <= report["value"] <= 1.0

    # image_generator_training="all": the loaded G1 is fine-tuned in full, and step two's hub export is that G1
    tuned = common.Trainer(
        "tgan",
        "tiny",
        {"stage": "video", "image_generator_handle": handle, "image_generator_training": "all"},
        common.RunOptions(
            run_dir=str(tmp_path / "tuned"),
            dataset="bouncing_balls",
            steps=2,
            checkpoint_every=2,
            sample_every=2,
            num_samples=2,
            verbose=0,
            hub_dir=str(tmp_path / "tuned_g1"),
        ),
    )
    tuned.run()
    g1 = tuned.model.frame_generator
    kernels = [v for v in g1.trainable_weights if "kernel" in v.path]
    assert kernels and all(v.trainable for v in g1.weights if not v.path.endswith(("moving_mean", "moving_variance")))
    shipped = export.load_image_generator(str(tmp_path / "tuned_g1"))
    z = np.random.default_rng(1).uniform(-1, 1, (3, 8)).astype(np.float32)
    np.testing.assert_allclose(shipped(z).numpy(), g1(z, training=False).numpy(), atol=1e-5)
    assert not np.allclose(shipped(z).numpy(), export.load_image_generator(handle)(z).numpy(), atol=1e-4)
    assert len(export.load(handle).variables) == len(g1.weights)  # every variable of the module is wrapped

    wrong = export.export_image_generator(zoo.build("vgan", preset="tiny", latent_dim=5), str(tmp_path / "wrong"))
    bad = common.Trainer(
        "tgan",
        "tiny",
        {"stage": "video", "image_generator_handle": wrong},
        common.RunOptions(run_dir=str(tmp_path / "bad"), steps=1, verbose=0),
    )
    with pytest.raises(common.SetupError, match="expected latent_dim 8, got 5"):
        bad.run()


def test_step_two_without_its_step_one_module_is_warned(tmp_path, caplog):
    """A step two with no G1 handle trains through random, frozen pieces: the run says so and names
    the flag; with a handle, or training G1 end to end, it does not. The traversal's G_F too."""
    import logging

    options = common.RunOptions(run_dir=str(tmp_path / "run"), steps=1, verbose=0)
    with caplog.at_level(logging.WARNING):
        common.Trainer("tgan", "tiny", {"stage": "video"}, options).setup()
    warned = [r.getMessage() for r in caplog.records if "randomly initialised, frozen" in r.getMessage()]
    assert len(warned) == 2 and "--image_generator_handle=<the step-one module>" in warned[0], warned
    assert zoo.resolve("tgan", "tiny", stage="video", image_generator_training="all").random_frozen_pieces() == ()
    assert zoo.resolve("tgan", "tiny", stage="image").random_frozen_pieces() == ()
    walker = zoo.resolve("traversal", "tiny", stage="video")
    assert [p.field for p in walker.random_frozen_pieces()] == ["image_generator_handle"]
    assert zoo.resolve("traversal", "tiny", stage="video", image_generator_handle="gf").random_frozen_pieces() == ()


def test_the_end_of_a_run_checks_the_motion_of_its_data(tmp_path, capsys):
    """A run on bouncing balls or moving digits ends with the data's motion check of its samples
    beside real clips (printed and in motion_check.json); other data sets get none."""
    import json

    for model, overrides, dataset, key in (
        ("tgan", {"stage": "video"}, "moving_digits", "median_step_px"),
        ("vgan", {}, "bouncing_balls", "free_acceleration_px"),
    ):
        run_dir = tmp_path / model
        options = common.RunOptions(run_dir=str(run_dir), dataset=dataset, steps=1, sample_every=100, verbose=0)
        common.Trainer(model, "tiny", overrides, options).run()
        report = json.loads((run_dir / common.MOTION_FILE).read_text())
        assert report["generated"]["clips"] == report["real"]["clips"] == common.MOTION_CLIPS
        assert key in report["real"] and f"  {key}: " in capsys.readouterr().out
    assert "synthetic_actions" not in common.MOTION_CHECKS  # no check: motion_check returns None
