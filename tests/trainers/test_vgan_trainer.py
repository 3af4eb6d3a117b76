"""The shared trainer (trainers/common.py) driving VGAN: resuming, the NaN guard, the CLI."""

import json
import os
import re
import signal
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import export
from export import runs
from tests.conftest import finish_command, run_commands, start_command
from trainers import common, run_folder


def _options(run_dir, **kw):
    kw.setdefault("steps", 6)
    kw.setdefault("checkpoint_every", 2)
    kw.setdefault("sample_every", 100)
    kw.setdefault("num_samples", 4)
    return common.RunOptions(run_dir=str(run_dir), verbose=0, **kw)


def _weights(trainer):
    return {v.path: v.numpy() for v in trainer.model.weights}


class Kill(Exception):
    pass


def _kill_at(step):
    def cb(trainer, s, logs):
        if s == step:
            raise Kill(f"killed at step {s}")

    return cb


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """VGAN tiny trained 6 steps without a stop (checkpoints every 2): the run that interrupted,
    signalled and averaged runs are compared with (checkpoints do not change the weights)."""
    trainer = common.Trainer("vgan", "tiny", {}, _options(tmp_path_factory.mktemp("whole")))
    trainer.run()
    return trainer


@pytest.mark.slow
def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path, whole):
    killed = common.Trainer("vgan", "tiny", {}, _options(tmp_path / "resumed"), step_callbacks=[_kill_at(5)])
    with pytest.raises(Kill):
        killed.run()
    assert runs.latest_checkpoint(str(tmp_path / "resumed")).endswith("ckpt-4")

    resumed = common.Trainer("vgan", "tiny", {}, _options(tmp_path / "resumed"))
    resumed.run()
    assert resumed.start_step == 4 and int(resumed.model.step) == 6
    a, b = _weights(whole), _weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], atol=1e-6, err_msg=k)
    # optimizer state came back too: both finished with the same moments
    assert int(resumed.model.d_optimizer.iterations) == int(whole.model.d_optimizer.iterations) == 6
    # progress.json (model cards) holds both sessions: steps 0-4 (its last checkpoint) and 4-6
    progress = runs.read_progress(str(tmp_path / "resumed"))
    assert progress["step"] == 6
    assert [(s["start_step"], s["end_step"]) for s in progress["sessions"]] == [(0, 4), (4, 6)]
    assert all(s["seconds"] > 0 and s["machine"]["cores"] for s in progress["sessions"])


@pytest.mark.slow
def test_a_generator_average_is_resumed_and_exported_as_load_run_rebuilds_it(tmp_path, whole):
    """--generator_average: the averages are in the checkpoints (a resumed run ends with the same
    served weights), the trainer's export serves them, and export.runs.load_run (python -m
    export, trainers.evaluate) rebuilds exactly those weights from the run folder."""
    averaged = common.Trainer(
        "vgan", "tiny", {"generator_average": 0.8}, _options(tmp_path / "whole", export_dir=str(tmp_path / "exports"))
    )
    averaged.run()
    killed = common.Trainer(
        "vgan", "tiny", {"generator_average": 0.8}, _options(tmp_path / "resumed"), step_callbacks=[_kill_at(5)]
    )
    with pytest.raises(Kill):
        killed.run()
    resumed = common.Trainer("vgan", "tiny", {"generator_average": 0.8}, _options(tmp_path / "resumed"))
    resumed.run()
    assert resumed.start_step == 4
    resumed.model.finalize_for_export()
    served, again = _weights(averaged), _weights(resumed)
    for k in served:
        np.testing.assert_allclose(again[k], served[k], atol=1e-6, err_msg=k)
    rebuilt = {v.path: v.numpy() for v in runs.load_run(str(tmp_path / "whole")).weights}
    for k in served:
        np.testing.assert_allclose(rebuilt[k], served[k], atol=1e-6, err_msg=k)
    # what the export serves is the average, not the last raw weights (the same 6 steps without one)
    last = _weights(whole)
    assert max(np.abs(last[k] - served[k]).max() for k in served if k.startswith("video_generator/")) > 1e-4
    z = averaged.model.sample_inputs(2, [0, 1])
    video = export.load(str(tmp_path / "exports" / "vgan" / "1")).signatures["serving_default"](z=z)["video"]
    from zoo.data.video_io import to_uint8

    np.testing.assert_array_equal(video.numpy(), to_uint8(averaged.model.video_from_latent(z)).numpy())


def _signal_at(step, signum):
    def cb(trainer, s, logs):
        if s == step:
            os.kill(os.getpid(), signum)  # as a scheduler would, in the middle of the run

    return cb


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_checkpoints_the_current_step_and_the_rerun_loses_nothing(tmp_path, signum, whole):
    stopped = common.Trainer(
        "vgan", "tiny", {}, _options(tmp_path / "stopped", checkpoint_every=100), step_callbacks=[_signal_at(3, signum)]
    )
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with pytest.raises(common.Preempted, match=f"stopped by {signal.Signals(signum).name} after step 3"):
        stopped.run()
    assert runs.latest_checkpoint(str(tmp_path / "stopped")).endswith("ckpt-3")  # not a periodic one
    assert {sig: signal.getsignal(sig) for sig in before} == before  # the handlers are restored
    resumed = common.Trainer("vgan", "tiny", {}, _options(tmp_path / "stopped", checkpoint_every=100))
    resumed.run()
    assert resumed.start_step == 3 and int(resumed.model.step) == 6
    a, b = _weights(whole), _weights(resumed)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], atol=1e-6, err_msg=k)


@pytest.mark.slow
def test_cli_exits_75_on_sigterm_with_a_checkpoint_written(tmp_path):
    run_dir = tmp_path / "run"
    proc = start_command(
        [
            sys.executable,
            "-m",
            "trainers.vgan",
            "--preset=tiny",
            f"--run_dir={run_dir}",
            "--steps=100000",
            "--checkpoint_every=100000",
            "--sample_every=100000",
            "--verbose=0",
        ]
    )
    first_step = run_dir / run_folder.CONV_CHOICES_FILE  # written after the first step
    deadline = time.time() + 120
    while not first_step.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    status, out = finish_command(proc, timeout=120)
    assert status == common.PREEMPTED_EXIT == 75, out
    assert "stopped: stopped by SIGTERM after step" in out and "run the same command again" in out
    step = runs.read_progress(str(run_dir))["step"]
    assert step >= 1 and runs.latest_checkpoint(str(run_dir)).endswith(f"ckpt-{step}")


def _poisoned_from(step):
    """A dataset_fn whose batches turn NaN from ``step`` on (1-based)."""

    def dataset_fn(cfg, opts, start_step, global_batch):
        shape = [global_batch, cfg.frames, cfg.size, cfg.size, cfg.channels]

        def make(i):
            video = tf.random.stateless_uniform(shape, seed=tf.stack([i, 0]), minval=-1.0, maxval=1.0)
            return {"video": tf.where(i + 1 >= step, video * float("nan"), video)}

        return tf.data.Dataset.range(start_step, 10_000).map(make)

    return dataset_fn


def test_non_finite_loss_stops_without_a_poisoned_checkpoint(tmp_path):
    trainer = common.Trainer("vgan", "tiny", {}, _options(tmp_path, steps=8), dataset_fn=_poisoned_from(3))
    with pytest.raises(common.TrainingError, match=r"non-finite loss at step 3: .*last good checkpoint is .*ckpt-2"):
        trainer.run()
    assert runs.latest_checkpoint(str(tmp_path)).endswith("ckpt-2")
    reader = tf.train.load_checkpoint(runs.latest_checkpoint(str(tmp_path)))
    saved = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    floats = {name: v for name, v in saved.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    assert floats and [name for name, v in floats.items() if not np.isfinite(v).all()] == []


def test_a_run_folder_refuses_another_config(tmp_path):
    common.Trainer("vgan", "tiny", {}, _options(tmp_path, steps=1)).run()
    with pytest.raises(ValueError, match=r"holds a run with another config; differing fields .*'streams': \(2, 1\)"):
        common.Trainer("vgan", "tiny", {"streams": 1}, _options(tmp_path, steps=2)).run()


def test_options_are_validated_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="--steps must be >= 1"):
        common.Trainer("vgan", "tiny", {}, _options(tmp_path, steps=0))
    with pytest.raises(ValueError, match="unknown --dataset 'ucf'"):
        common.Trainer("vgan", "tiny", {}, _options(tmp_path, dataset="ucf"))
    with pytest.raises(ValueError, match="--run_dir is required"):
        common.Trainer("vgan", "tiny", {}, common.RunOptions(run_dir=""))
    # a misspelt loss is refused with the choices before config.json is written (a rerun with the
    # right value is not refused as "another config")
    with pytest.raises(ValueError, match=r"VGANConfig: loss must be one of \['hinge', .*got 'hingee'"):
        common.Trainer("vgan", "tiny", {"loss": "hingee"}, _options(tmp_path))
    assert not os.listdir(tmp_path)


def _cli(*args, env=None):
    """(exit status, output) of ``python -m trainers.vgan ARGS``."""
    return run_commands([sys.executable, "-m", "trainers.vgan", *args], timeout=300, env=env)[0]


@pytest.mark.slow
def test_cli_trains_samples_logs_checkpoints_and_exports(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "exports"
    status, out = _cli(
        "--preset=tiny",
        f"--run_dir={run_dir}",
        "--steps=4",
        "--checkpoint_every=2",
        "--sample_every=2",
        "--num_samples=4",
        f"--export_dir={export_dir}",
        "--frames=16",
        "--seed=3",
    )
    assert status == 0, out[-3000:]
    # a pipe is no terminal: plain progress lines, the last one at the last step (trainers.callbacks.ProgressBar)
    final = re.findall(r"^step 4/4 - \S+ s/step - (.*)$", out, re.M)
    assert len(final) == 1 and "d_loss: " in final[0] and "g_loss: " in final[0], out[-3000:]
    assert "\x1b" not in out and "\b" not in out, out[-3000:]  # no colour codes or backspaces in a log
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["model"]["frames"] == 16 and saved["model"]["seed"] == 3 and saved["trainer"]["steps"] == 4
    assert sorted(os.listdir(run_dir / "samples")) == ["step_0000002.gif", "step_0000004.gif"]
    assert runs.latest_checkpoint(str(run_dir)).endswith("ckpt-4")
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(run_dir / "logs"))
    assert (export_dir / "vgan" / "1" / "saved_model.pb").exists()
    # every export carries the run's model card: config, data, steps, wall time, machine, commit
    card = json.loads((export_dir / "vgan" / "1" / "assets" / "model_card.json").read_text())
    assert json.loads(export.read_metadata(export.load(str(export_dir / "vgan" / "1")))["card_json"]) == card
    assert card["model"] == "vgan" and card["config"]["frames"] == 16 and card["data"]["dataset"] == "bouncing_balls"
    assert card["training"]["steps"] == 4 and card["training"]["batch_size"] == 4
    assert card["training"]["wall_seconds"] > 0 and card["training"]["machines"][0]["cpu"]
    assert set(card["commit"]) == {"sha", "dirty"} and card["zoo_version"]
    # conv_impl="auto" (the default) wrote what every stride-2 layer chose, for training and sampling
    choices = json.loads((run_dir / "conv_impl.json").read_text())
    assert choices["machine"]["cpu"] and choices["cache"].endswith(".json")
    generator = [v for k, v in choices["layers"].items() if k.startswith("video_generator/")]
    discriminator = [v for k, v in choices["layers"].items() if k.startswith("video_discriminator/")]
    assert len(generator) == 5 and len(discriminator) == 2, choices["layers"]  # tiny: 16x16 from 4x4
    assert all(
        "forward_backward batch=4" in v and set(v.values()) <= {"keras", "stride1"} for v in generator + discriminator
    )
    assert all("forward batch=4" in v for v in generator)  # the 4 samples
    # rerunning the finished command trains nothing more
    status, out = _cli("--preset=tiny", f"--run_dir={run_dir}", "--steps=4", "--frames=16", "--seed=3")
    assert status == 0 and "nothing to train" in out, out[-3000:]


@pytest.mark.slow
def test_cli_errors_are_clear_and_early(tmp_path):
    cases = [
        (["--preset=huge"], "unknown preset 'huge'"),
        (["--size=24"], "size must be 4 * 2**k"),
        (["--dataset=kinetics"], "unknown --dataset 'kinetics'"),
        (["--strategy=tpu"], "--strategy"),
        (["--steps=0"], "--steps must be >= 1"),
        (["--strategy=multi_worker"], "needs TF_CONFIG"),
        (["--dataset=video_folder", "--data_dir=/nonexistent"], "'/nonexistent' does not exist"),
    ]
    for args, message in cases:
        status, out = _cli(f"--run_dir={tmp_path / 'run'}", "--preset=tiny", *args, env={"TF_CONFIG": ""})
        assert status != 0, args
        assert message in out, (args, out[-2000:])
        assert "Traceback" not in out, (args, out[-2000:])
    assert not (tmp_path / "run").exists()  # refused before the run folder got a file


def test_mixed_precision_is_the_models_not_the_process(tmp_path):
    """precision=bfloat16 builds VGAN's layers under mixed_bfloat16 and leaves Keras' global
    policy alone: what the process builds after (metric networks, another model) stays float32.
    The run folder and the card say what ran and why; the folder resumes under float32."""
    import keras

    import zoo

    opts = common.RunOptions(
        run_dir=str(tmp_path / "run"),
        steps=1,
        checkpoint_every=1,
        sample_every=1,
        num_samples=2,
        verbose=0,
        dataset="bouncing_balls",
    )
    trainer = common.Trainer("vgan", "tiny", dict(precision="bfloat16", channels=1), opts)
    trainer.run()
    assert trainer.model.generator.trunk[0].compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    with open(tmp_path / "run" / run_folder.PRECISION_FILE) as f:
        saved = json.load(f)
    assert (saved["precision"], saved["asked"], saved["policy"]) == ("bfloat16", "bfloat16", "mixed_bfloat16")
    assert saved["reason"] and saved["machine"]["cpu"]
    (session,) = runs.read_progress(str(tmp_path / "run"))["sessions"]
    assert session["precision"]["precision"] == "bfloat16"
    card = export.card.card_markdown(export.card.run_card(str(tmp_path / "run")))
    assert "- Precision: bfloat16 (asked: bfloat16; asked for" in card
    # the folder resumes under another precision (checkpoints do not depend on it), not another model
    folder = trainer.folder
    folder.check_config(zoo.resolve("vgan", "tiny", precision="float32", channels=1), trainer.run_cfg)
    with pytest.raises(ValueError, match="another config"):
        folder.check_config(zoo.resolve("vgan", "tiny", precision="float32", channels=3), trainer.run_cfg)
