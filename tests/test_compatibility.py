"""Run folders written by an older zoo keep working: tests/fixtures/runs/vgan was written by
zoo 0.2.0 (tests/fixtures/make_runs.py, one step of VGAN ``tiny``) and is committed, so a
change to the model's layers, weight names, config fields or the checkpoint layout that
breaks restoring it, or changes what its weights generate, fails here."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from export import runs
from trainers import common

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "runs", "vgan")


def test_an_old_run_folder_restores_every_weight_and_generates_the_same_video():
    model = runs.load_run(FIXTURE)
    path = runs.latest_checkpoint(FIXTURE)
    assert path and path.endswith("ckpt-1")
    runs.checkpoint(model).restore(path).assert_existing_objects_matched()  # no weight left behind
    with np.load(os.path.join(FIXTURE, "expected.npz")) as f:
        expected, z = f["video"], f["input_z"]
    video = model.signatures()["serving_default"].fn(z=tf.constant(z))["video"].numpy()
    assert video.dtype == np.uint8 and video.shape == expected.shape
    # uint8 rounding may differ by one where the convolution implementation chosen here differs
    assert np.abs(video.astype(int) - expected.astype(int)).max() <= 1
    assert np.mean(video != expected) < 0.01


def test_an_old_run_folder_reads_its_batch_as_a_run_setting():
    """0.2.0 saved the batch in the model's config; it is read as the run's setting."""
    saved = runs.read_config(FIXTURE)
    assert saved["run"] == {"batch_size": 4} and "batch_size" not in saved["model"]


def test_an_old_run_folder_resumes_training(tmp_path):
    run_dir = tmp_path / "vgan"
    shutil.copytree(FIXTURE, run_dir)
    opts = common.RunOptions(
        run_dir=str(run_dir),
        steps=2,
        checkpoint_every=1,
        sample_every=100,
        num_samples=2,
        verbose=0,
        dataset="bouncing_balls",
    )
    trainer = common.Trainer("vgan", "tiny", {}, opts)
    trainer.run()  # restores the optimizers too (assert_existing_objects_matched in setup)
    assert trainer.start_step == 1 and int(trainer.model.step) == 2
    assert runs.read_progress(str(run_dir))["step"] == 2
    # the folder's batch is the run's: another one is refused as another config
    with pytest.raises(ValueError, match=r"holds a run with another config; differing fields .*'batch_size': \(4, 2\)"):
        common.Trainer("vgan", "tiny", {"batch_size": 2}, opts).run()
