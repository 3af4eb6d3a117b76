"""python -m trainers.evaluate: a JSON report for a generator export, baselines and clear errors."""

import json
import sys

import pytest

import export
import zoo


@pytest.fixture(scope="module")
def generator_export(tmp_path_factory):
    model = zoo.build("vgan", preset="tiny")  # 8 frames of 16x16, as the tiny C3D takes
    return export.export_saved_model(model, str(tmp_path_factory.mktemp("exports")))


@pytest.mark.slow
def test_evaluate_writes_a_report_and_real_beats_noise(generator_export, c3d_hub, tmp_path, run_commands):
    common = [f"--c3d={c3d_hub}", "--metrics=fvd_local_8f,kid,is_c3d,nn_pixels", "--num_samples=48"]
    runs = run_commands(
        [
            sys.executable,
            "-m",
            "trainers.evaluate",
            f"--generator={generator_export}",
            f"--output={tmp_path / 'gen.json'}",
        ]
        + common,
        [
            sys.executable,
            "-m",
            "trainers.evaluate",
            "--generator=dataset:synthetic_actions",
            f"--output={tmp_path / 'real.json'}",
        ]
        + common,
        [sys.executable, "-m", "trainers.evaluate", "--generator=noise", f"--output={tmp_path / 'noise.json'}"]
        + common,
    )
    for code, out in runs:
        assert code == 0, out
    gen, real, noise = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("gen", "real", "noise"))
    assert gen["generator"]["model_name"] == "vgan" and gen["real"]["frames"] == 8 and gen["real"]["size"] == 16
    assert set(gen["metrics"]) == {"fvd_local_8f", "kid", "is_c3d", "nn_pixels"}
    assert gen["metrics"]["fvd_local_8f"]["networks"]["c3d"]["handle"] == c3d_hub
    assert gen["metrics"]["fvd_local_8f"]["networks"]["c3d"]["report"]["test_accuracy"] > 0.3
    for name in ("fvd_local_8f", "kid"):
        assert real["metrics"][name]["value"] < noise["metrics"][name]["value"]
        assert real["metrics"][name]["value"] < gen["metrics"][name]["value"]  # an untrained generator


@pytest.mark.slow
def test_evaluate_errors_name_what_is_missing(generator_export, run_commands):
    base = [sys.executable, "-m", "trainers.evaluate", f"--generator={generator_export}", "--num_samples=8"]
    results = run_commands(
        base + ["--metrics=kid"],
        base + ["--metrics=fvd_i3d_8f", "--i3d=http://127.0.0.1:9/i3d"],
        base + ["--metrics=fid"],
        base[:3] + ["--generator=/nonexistent", "--metrics=nn_pixels"],
    )
    expected = [
        "missing network(s): --c3d",
        "FVD with I3D needs the TF Hub module 'http://127.0.0.1:9/i3d'",
        "unknown metric 'fid'",
        "is not a SavedModel",
    ]
    for (code, out), text in zip(results, expected):
        assert code == 2 and text in out and "Traceback" not in out, out


def test_shuffled_and_untrained_baselines(generator_export):
    from trainers.evaluate import evaluate

    opts = dict(frames=16, size=32, channels=1, num_samples=32)
    real = evaluate("dataset:bouncing_balls", "bouncing_balls", ["balls"], **opts)
    shuffled = evaluate("shuffled:bouncing_balls", "bouncing_balls", ["balls"], **opts)
    assert shuffled["generator"]["kind"] == "shuffled" and real["generator"]["kind"] == "dataset"
    # the same clips of another stream, once in order and once with their frames permuted
    assert real["metrics"]["balls"]["value"] >= 0.7 and shuffled["metrics"]["balls"]["value"] <= 0.1
    assert (
        shuffled["metrics"]["balls"]["generated"]["shape_fraction"]
        == real["metrics"]["balls"]["generated"]["shape_fraction"]
    )
    jittered = evaluate("jittered:bouncing_balls", "bouncing_balls", ["balls"], **opts)
    assert jittered["generator"]["data_options"] == {"speed_jitter": True}
    assert jittered["metrics"]["balls"]["value"] <= 0.1  # right frames and paths, wrong speeds
    assert (
        jittered["metrics"]["balls"]["generated"]["free_acceleration_px"]
        > 10 * real["metrics"]["balls"]["generated"]["free_acceleration_px"]
    )
    with pytest.raises(ValueError, match="jittered:moving_digits: expected a data set with speed-jittered clips"):
        evaluate("jittered:moving_digits", "moving_digits", ["digits"], **opts)
    untrained = evaluate(f"untrained:{generator_export}", "bouncing_balls", ["balls"], num_samples=8)
    assert untrained["generator"]["kind"] == "untrained" and untrained["real"]["frames"] == 8
    assert untrained["metrics"]["balls"]["value"] == 0.0  # noise from initial weights has no balls


def test_future_signature_continues_the_held_out_clips(tmp_path):
    """--signature=future: generated clip i continues held-out clip i's first frame, which the
    continuation metric compares; a data set source has no signature to run."""
    import numpy as np
    import tensorflow as tf

    from trainers.evaluate import evaluate
    from zoo import data

    model = zoo.build("vgan", preset="tiny", future=True, channels=1)
    path = export.export_saved_model(model, str(tmp_path / "exports"))
    report = evaluate(path, "bouncing_balls", ["continuation"], num_samples=4, signature="future")
    assert report["generator"]["signature"] == "future" and report["real"]["frames"] == 8
    held = data.load("bouncing_balls", split="test", frames=8, size=16, seed=0, channels=1)
    given = np.stack([e["video"] for e in held.take(4).as_numpy_iterator()])
    made = data.to_uint8(model(tf.constant(given[:, 0]), training=False)).numpy()
    want = np.abs(made.astype(float) - data.to_uint8(given).astype(float)).mean(axis=(0, 2, 3, 4))
    result = report["metrics"]["continuation"]
    np.testing.assert_allclose(result["mae_by_frame"], want, atol=0.02)
    assert result["value"] == result["mae_by_frame"][0] and set(result["balls"]) >= {"balls_kept", "count_kept"}
    unpaired = evaluate("dataset:bouncing_balls", "bouncing_balls", ["continuation"], num_samples=4, frames=8, size=16)
    assert unpaired["metrics"]["continuation"]["value"] > 1.0  # another stream's first frames
    with pytest.raises(ValueError, match="names a signature of an export"):
        evaluate("dataset:bouncing_balls", "bouncing_balls", ["continuation"], frames=8, size=16, signature="future")
    with pytest.raises(ValueError, match=r"no signature 'fut'; expected one of \['future', 'serving_default'"):
        evaluate(path, "bouncing_balls", ["continuation"], num_samples=4, signature="fut")
