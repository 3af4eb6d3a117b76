"""The trainer as parts: the callbacks after each step run in their declared order, a trainer
adds its own by extending ``Trainer.callbacks()``, and one that sets ``trainer.failure`` stops
the run before the parts after it (no checkpoint, no samples of that step)."""

import io
import os
import types

import pytest

from trainers import callbacks, common


def _options(run_dir, steps=3):
    return common.RunOptions(
        run_dir=str(run_dir),
        steps=steps,
        checkpoint_every=1,
        sample_every=1,
        log_every=1,
        num_samples=2,
        verbose=0,
        dataset="bouncing_balls",
    )


class _Record(callbacks.Callback):
    def __init__(self, seen, fail_at=None):
        self.seen, self.fail_at = seen, fail_at

    def on_step(self, trainer, step, logs):
        self.seen.append(step)
        assert set(logs) >= {"d_loss", "g_loss"}
        if step == self.fail_at:
            trainer.failure = f"stopped by a test at step {step}"


def test_a_trainer_adds_a_callback_and_a_failure_stops_the_loop(tmp_path):
    seen = []

    class Recording(common.Trainer):
        def callbacks(self):
            parts = super().callbacks()
            kinds = [type(p) for p in parts]
            assert kinds == [
                callbacks.ConvChoices,
                callbacks.NaNGuard,
                callbacks.ProgressBar,
                callbacks.Scalars,
                callbacks.Checkpoints,
                callbacks.Samples,
            ]
            return parts[:2] + [_Record(seen, fail_at=2)] + parts[2:]  # before the checkpoint

    trainer = Recording("vgan", "tiny", dict(channels=1), _options(tmp_path / "run"))
    with pytest.raises(common.TrainingError, match="stopped by a test at step 2"):
        trainer.run()
    assert seen == [1, 2]
    # step 1 went through every part; step 2 stopped before its checkpoint and samples
    assert sorted(os.listdir(tmp_path / "run" / "samples")) == ["step_0000001.gif"]
    assert os.path.basename(trainer.folder.latest_checkpoint) == "ckpt-1"


def test_a_model_adds_its_own_step_function_and_its_scalars_are_logged(tmp_path):
    """zoo.contract.ExportableModel.step_callbacks: a model's own work after each step, its
    scalars in TensorBoard as model/<name>."""
    import glob

    import tensorflow as tf

    seen = []

    def count(model, step, logs):
        seen.append((step, model.name, "g_loss" in logs))
        return {"calls": float(len(seen))}

    class WithModelStep(common.Trainer):
        def setup(self):
            super().setup()
            self.model.step_callbacks = lambda: [count]  # as a model class declares it

        def callbacks(self):
            parts = super().callbacks()
            assert [type(p) for p in parts][2] is callbacks.ModelStep  # after the NaN guard
            return parts

    WithModelStep("vgan", "tiny", dict(channels=1), _options(tmp_path / "run", steps=2)).run()
    assert [(s, ok) for s, _, ok in seen] == [(1, True), (2, True)]
    logged = {}
    for path in glob.glob(str(tmp_path / "run" / "logs" / "**" / "events.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "model/calls":
                    logged[event.step] = float(tf.make_ndarray(value.tensor))
    assert logged == {1: 1.0, 2: 2.0}


def test_progress_in_a_redirected_log_is_plain_lines():
    log = io.StringIO()  # not a terminal: Keras' Progbar would write colour codes and backspaces here
    trainer = types.SimpleNamespace(opts=types.SimpleNamespace(steps=3, verbose=1), start_step=0)
    bar = callbacks.ProgressBar(trainer, stream=log, every=3600.0)
    for step in (1, 2, 3):
        bar.on_step(trainer, step, {"g_loss": 0.5, "d_loss": 1.25})
    lines = log.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["step 1/3", "step 3/3"]  # the first, then the last
    assert lines[-1].endswith(" s/step - g_loss: 0.5 - d_loss: 1.25")
    assert not any(c in log.getvalue() for c in "\x1b\b\r")
