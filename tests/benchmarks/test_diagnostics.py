"""The diagnostic scripts of benchmarks/ that the model pages' conclusions rest on: what a
run's discriminator tells apart (d_probe.py) and whether a video generator can show real
clips' motion (invert_clips.py)."""

import json
import os
import shutil
import sys

import numpy as np
import pytest

from tests.conftest import REPO

sys.path.insert(0, os.path.join(REPO, "benchmarks"))

import d_probe  # noqa: E402
import invert_clips  # noqa: E402
import invert_frames  # noqa: E402
import speed_profile  # noqa: E402


@pytest.fixture()
def vgan_run(tmp_path):
    run_dir = tmp_path / "vgan"
    shutil.copytree(os.path.join(REPO, "tests", "fixtures", "runs", "vgan"), run_dir)
    return str(run_dir)


def test_d_probe_scores_every_source_and_fits_d_to_speed(vgan_run):
    checkpoint = os.path.join(vgan_run, "checkpoints", "ckpt-1")
    line = d_probe.probe(vgan_run, checkpoint, clips=4, seed=0, motion=False, fit_jittered=2, fit_lr=1e-3)
    assert line["step"] == 1
    assert set(line["sigmoid"]) == {"real", "shuffled", "jittered", "generated"}
    assert set(line["logit_gap"]) == {"shuffled", "jittered", "generated"}
    fit = line["fit_jittered"]
    assert fit["steps"] == 2 and fit["learning_rate"] == 1e-3
    assert all(0.0 < p < 1.0 for p in fit["sigmoid"].values()) and np.isfinite(fit["logit_gap"])
    # batch statistics in place of the moving averages: another number for the same clips
    assert fit["logit_gap_batch_statistics"] != pytest.approx(fit["logit_gap"], abs=1e-6)
    # the fit trained D: its scores of the held-out clips moved
    assert fit["sigmoid"]["real"] != pytest.approx(line["sigmoid"]["real"], abs=1e-7)


def test_a_video_generator_is_fitted_to_clips_and_its_fits_measured():
    loaded, meta, _ = invert_clips.hub.load_generator("vgan_bouncing_balls")
    generator = invert_clips.ServedVideoGenerator(loaded, meta)
    assert generator.latent_dim == 100 and generator.latent_distribution == "normal"
    target = np.asarray(generator(np.random.default_rng(1).normal(size=(2, 100)).astype(np.float32)))
    start = np.random.default_rng(2).normal(size=(2, 100)).astype(np.float32)
    _, before = invert_frames.fit(generator, target, start, iterations=0)
    _, after = invert_frames.fit(generator, target, start, iterations=15)
    assert before.shape == after.shape == (2,)  # one error per clip
    assert np.all(after < before)
    line, real, fitted = invert_clips.check("vgan_bouncing_balls", "bouncing_balls", 2, 1, 2, 0, {})
    assert real.shape == fitted.shape == (2, 16, 32, 32, 1) and fitted.dtype == np.uint8
    assert set(line["motion"]) == {"fitted", "real", "generated"}
    assert "speed_drift" in line["motion"]["fitted"] and line["reconstruction_rms"] < 2
    with pytest.raises(ValueError, match="no motion check"):
        invert_clips.check("vgan_bouncing_balls", "synthetic_actions", 2, 1, 1, 0, {})


def test_speed_profile_lines_rank_real_clips_flat(capsys):
    speed_profile.main(["--clips=16"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["source"] for line in lines] == ["dataset:bouncing_balls", "jittered:bouncing_balls"]
    real, jittered = lines
    assert len(real["profile"]) == 15 and real["clips"] == 16 and real["spread"] < jittered["spread"]
