"""MVT end to end: the CLI on labelled data -> serving export and hub module -> the
interpolations written by trainers.generate -> S3 and IS from trainers.evaluate; the
optical-flow estimator replaced by a hub module."""

import dataclasses
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from export import runs
from trainers import common
from trainers import evaluate as evaluate_cli
from zoo import data, mvt


@pytest.mark.slow
def test_cli_export_generate_and_evaluate(tmp_path, run_commands, c3d_hub):
    run, serving, hub_dir, videos = (tmp_path / n for n in ("run", "exports", "hub", "videos"))
    results = run_commands(
        [
            sys.executable,
            "-m",
            "trainers.mvt",
            "--preset=tiny",
            "--steps=2",
            "--verbose=0",
            f"--run_dir={run}",
            f"--export_dir={serving}",
            f"--hub_dir={hub_dir}",
        ],
        [
            sys.executable,
            "-m",
            "trainers.mvt",
            "--preset=tiny",
            "--steps=2",
            "--verbose=0",
            f"--run_dir={tmp_path / 'unlabelled'}",
            "--dataset=bouncing_balls",
        ],
        [
            sys.executable,
            "-m",
            "trainers.generate",
            f"--model={serving / 'mvt' / '1'}",
            "--signature=intra_class_interpolation",
            f"--out_dir={videos}",
            "--num_videos=3",
            "--label=2",
        ],
    )
    (code, out), (bad_code, bad_out), (gen_code, gen_out) = results
    assert code == 0, out
    assert bad_code == 2 and "has no labels" in bad_out, bad_out
    assert gen_code == 0, gen_out
    assert sorted(os.listdir(videos)) == [f"intra_class_interpolation_{i:03d}.gif" for i in range(3)] + [
        "intra_class_interpolation_grid.gif"
    ]

    # classes came from the data set
    cfg = runs.load_run(str(run)).config
    assert (cfg.num_classes, cfg.class_names) == (10, data.class_names("synthetic_actions"))
    loaded = export.load(str(serving / "mvt" / "1"))
    assert set(loaded.signatures) == {"serving_default", "class_interpolation", "intra_class_interpolation"}
    z = np.random.default_rng(0).normal(size=(2, cfg.latent_dim)).astype(np.float32)
    video = export.run_signature(loaded, {"z": z, "label": np.array([0, 2], np.int32)})["video"]
    assert video.dtype == tf.uint8 and tuple(video.shape) == (2, 8, 16, 16, 3)
    # the hub module: __call__ takes the named inputs, and is fine-tunable
    module = export.load(str(hub_dir))
    out = module({"z": tf.constant(z), "label": tf.constant([0, 2], tf.int32)})
    np.testing.assert_allclose(export_uint8(out), video.numpy(), atol=1)
    assert module.trainable_variables and export.read_metadata(module)["num_classes"] == 10

    report = evaluate_cli.evaluate(
        str(serving / "mvt" / "1"),
        "synthetic_actions",
        ["s3", "is_c3d"],
        c3d=c3d_hub,
        num_samples=40,
        batch_size=8,
        classifier_steps=40,
        splits=2,
    )
    assert np.isfinite(report["metrics"]["s3"]["value"]) and report["metrics"]["is_c3d"]["value"] >= 1.0


def export_uint8(x):
    return np.round((np.clip(x.numpy(), -1, 1) + 1) * 127.5)


def test_flow_estimator_from_a_hub_module(tmp_path):
    lk = mvt.LucasKanadeFlow(window=3)
    handle = export.export_flow_estimator(lk.pairs, (16, 16, 3), str(tmp_path / "flow"))
    flow = export.load_flow_estimator(handle)
    video = tf.random.stateless_uniform([2, 4, 16, 16, 3], seed=[1, 2], minval=-1, maxval=1)
    np.testing.assert_allclose(flow(video).numpy(), lk(video).numpy(), atol=1e-5)
    var = tf.Variable(video)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(flow(var) ** 2)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(y, var)))) > 0  # differentiable through the module
    with pytest.raises(ValueError, match="optical-flow module"):
        export.load_flow_estimator(
            export.export_image_features(
                zoo.build("tgan", preset="tiny").image_features(), (16, 16, 3), str(tmp_path / "features")
            )
        )

    # a config naming the module trains with it
    cfg = zoo.resolve("mvt", "tiny", motion_weight=1.0, flow_handle=handle, flow_window=3)
    model = runs.build_model(cfg)
    assert getattr(model.flow, "handle", None) == handle
    model.compile()
    batch = {
        "video": tf.random.stateless_uniform([4, 8, 16, 16, 3], seed=[3, 4], minval=-1, maxval=1),
        "label": tf.constant([0, 1, 0, 1]),
    }
    assert float(model.train_step(batch)["motion"]) > 0


def test_trainer_takes_the_classes_of_a_folder(tmp_path, video_folder):
    clip = (np.random.default_rng(0).uniform(0, 255, (10, 20, 20, 3))).astype(np.uint8)
    videos = video_folder({f"{name}/{name}_0.mp4": clip for name in ("Walk", "Run")})
    options = common.RunOptions(
        run_dir=str(tmp_path / "run"), dataset="video_folder", data_dir=str(videos), steps=1, verbose=0
    )
    from trainers.mvt import MVTTrainer

    trainer = MVTTrainer("tiny", {}, options)  # training itself: test_cli_export_generate_and_evaluate
    assert (trainer.cfg.num_classes, trainer.cfg.class_names) == (2, ("Run", "Walk"))
    with pytest.raises(ValueError, match="--num_classes=5"):
        MVTTrainer("tiny", {"num_classes": 5}, options)


@pytest.mark.slow
def test_the_trainer_feeds_a_fresh_real_batch_per_discriminator_step_and_resumes_old_runs(tmp_path):
    """With ``fresh_real_batches`` the trainer asks for d_steps x batch clips per step (and
    starts a resumed run's data after them); a run folder written before the field existed
    resumes, since the field's default is the loop it trained with."""
    asked = []

    def dataset_fn(cfg, opts, start_step, global_batch):
        asked.append((start_step, global_batch))
        return common.build_dataset(cfg, opts, start_step, global_batch)

    def options(steps):
        return common.RunOptions(
            run_dir=str(tmp_path / "fresh"),
            steps=steps,
            checkpoint_every=1,
            sample_every=100,
            num_samples=2,
            verbose=0,
            dataset="synthetic_actions",
        )

    overrides = dict(d_steps=2, fresh_real_batches=True, batch_size=2)
    common.Trainer("mvt", "tiny", overrides, options(1), dataset_fn=dataset_fn).run()
    assert asked == [(0, 4)]  # and build_dataset starts a resumed run at start_step * 4 clips

    old = tmp_path / "old"
    opts = common.RunOptions(
        run_dir=str(old),
        steps=1,
        checkpoint_every=1,
        sample_every=100,
        num_samples=2,
        verbose=0,
        dataset="synthetic_actions",
    )
    common.Trainer("mvt", "tiny", {}, opts).run()
    saved = json.loads((old / runs.CONFIG_FILE).read_text())
    del saved["model"]["fresh_real_batches"]  # as a zoo before the field wrote it
    (old / runs.CONFIG_FILE).write_text(json.dumps(saved))
    resumed = common.Trainer("mvt", "tiny", {}, dataclasses.replace(opts, steps=2))
    resumed.run()
    assert resumed.start_step == 1 and int(resumed.model.step) == 2
    with pytest.raises(common.SetupError, match="fresh_real_batches"):  # asking for the other loop is refused
        common.Trainer("mvt", "tiny", {"fresh_real_batches": True}, dataclasses.replace(opts, steps=3)).run()
