"""The traversal GAN's two steps through real exports: step one -> G_F hub module -> step two
(G_F frozen) -> serving export -> trainers.generate, and G_F bit-identical at the end.

The command lines run as subprocesses; this process checks each one's results while the
next one runs (the suite's time budget is tight on two cores)."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from export import runs
from tests.conftest import finish_command, start_command
from trainers import generate
from zoo import data, randomness, traversal
from zoo.data import video_io


def _start(*args):
    return start_command([sys.executable, "-m", *args])


def _finish(proc):
    status, out = finish_command(proc)
    assert status == 0, out


@pytest.mark.slow
def test_two_steps_through_a_hub_module_serving_and_generation(tmp_path):
    gf, serving, videos = tmp_path / "gf", tmp_path / "exports", tmp_path / "videos"
    base = ["trainers.traversal", "--preset=tiny", "--steps=1", "--verbose=0", "--num_samples=2"]
    # step one (G_F's weights N(0, 0.5): its untrained frames differ from latent to latent)
    _finish(_start(*base, "--stage=image", f"--run_dir={tmp_path / 'image'}", f"--hub_dir={gf}", "--init_stddev=0.5"))
    step_two = _start(
        *base,
        "--stage=video",
        f"--run_dir={tmp_path / 'video'}",
        f"--image_generator_handle={gf}",
        f"--export_dir={serving}",
    )
    cfg = zoo.resolve("traversal", "tiny", stage="video")
    image_model = runs.load_run(str(tmp_path / "image"))
    _finish(step_two)
    model_dir = serving / "traversal" / "1"
    cli = _start(
        "trainers.generate",
        f"--model={model_dir}",
        "--signature=interpolation",
        f"--out_dir={videos}",
        "--num_videos=3",
    )

    # G_F came from the module and step two changed none of its weights (batch-norm statistics included)
    video_model = runs.load_run(str(tmp_path / "video"))
    frozen = {v.path: v.numpy() for v in video_model.frame_generator.weights}  # frame_generator_<layer>_<var>
    source = {v.path.replace("/", "_"): v.numpy() for v in image_model.generator.weights}
    assert set(frozen) == set(source) and len(frozen) == 12
    assert [k for k in source if not np.array_equal(source[k], frozen[k])] == []
    assert not video_model.frame_generator.trainable_weights
    # the fixed projections survived the checkpoints: still the config seed's
    for model, salt, count in ((image_model, 1, cfg.image_discriminators), (video_model, 2, cfg.video_discriminators)):
        np.testing.assert_array_equal(
            model.projection().kernel.numpy(),
            traversal.projection_filters(randomness.fold_in(cfg.seed, salt), 8, 3, count),
        )

    # the export: serving_default, interpolation (alpha 0 / 1 = z_a's / z_b's video), long_video
    loaded = export.load(str(model_dir))
    assert set(loaded.signatures) == {"serving_default", "interpolation", "long_video"}
    z_a, z_b = (randomness.draw_latent("normal", [2, 8], s) for s in (1, 2))
    serve, interpolate = loaded.signatures["serving_default"], loaded.signatures["interpolation"]
    for alpha, z in ((0.0, z_a), (1.0, z_b)):
        np.testing.assert_array_equal(
            interpolate(z_a=z_a, z_b=z_b, alpha=tf.fill([2], alpha))["video"].numpy(), serve(z=z)["video"].numpy()
        )
    a, b = serve(z=z_a)["video"].numpy(), serve(z=z_b)["video"].numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, video_io.to_uint8(video_model.generate(z_a)["video"]).numpy())
    long = loaded.signatures["long_video"](z=tf.random.normal([2, cfg.long_segments, 8]))["video"]
    assert long.shape == (2, cfg.frames * cfg.long_segments, 16, 16, 3)
    # (MP4: a GIF keeps identical consecutive frames once, and an untrained G_V may repeat frames)
    generate.generate(str(model_dir), str(videos), "serving_default", num_videos=2, fmt="mp4")
    assert data.read_video(str(videos / "serving_default_001.mp4")).shape == (cfg.frames, 16, 16, 3)

    _finish(cli)
    assert sorted(p for p in os.listdir(videos) if p.startswith("interpolation")) == [
        "interpolation_000.gif",
        "interpolation_001.gif",
        "interpolation_002.gif",
        "interpolation_grid.gif",
    ]
    first, last = (data.read_video(str(videos / f"interpolation_00{i}.gif")) for i in (0, 2))
    assert first.shape[1:] == (16, 16, 3) and not np.array_equal(first[0], last[0])  # z_a's video, z_b's
