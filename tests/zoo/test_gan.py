"""The adversarial training step: updates, loss families, and equivalence across strategies.

The strategy tests use the shared two-replica harness (tests/zoo/replicas.py).
"""

import json
import socket

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import randomness
from zoo.data import video_io
from replicas import finish, max_diff, weights, worker  # tests/zoo is on sys.path


def _batch(cfg, seed=0):
    n = zoo.resolve_run(cfg.model_name, cfg.preset, cfg).batch_size  # the preset's batch
    return {
        "video": tf.random.stateless_uniform(
            [n, cfg.frames, cfg.size, cfg.size, cfg.channels], seed=[seed, 1], minval=-1.0, maxval=1.0
        )
    }


def _snapshot(variables):
    return [v.numpy().copy() for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_train_step_updates_both_players_and_reports_losses():
    model = zoo.build("vgan", preset="tiny")
    model.compile()
    g0, d0 = _snapshot(model.generator_variables), _snapshot(model.discriminator_variables)
    logs = model.train_step(_batch(model.config))
    assert set(logs) == {"d_loss", "g_loss", "mask_l1"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert int(model.step) == 1 and int(model.d_optimizer.iterations) == 1
    assert all(_changed(d0, model.discriminator_variables))
    assert all(_changed(g0, model.generator_variables))


def test_d_steps_and_loss_family_from_compile():
    model = zoo.build("vgan", preset="tiny", loss="hinge")
    model.compile(d_steps=3)
    model.train_step(_batch(model.config))
    assert int(model.step) == 1 and int(model.d_optimizer.iterations) == 3
    assert model.loss_family.name == "hinge"
    model.compile(loss="wasserstein", d_steps=1)
    assert model.loss_family.name == "wasserstein"
    with pytest.raises(ValueError, match="d_steps must be >= 1"):
        model.compile(d_steps=0)


def test_noise_is_a_function_of_seed_and_step():
    model = zoo.build("vgan", preset="tiny")
    a = model.sample_latent(4, model.step_seed(0, 0))
    np.testing.assert_array_equal(a.numpy(), model.sample_latent(4, model.step_seed(0, 0)).numpy())
    assert not np.allclose(a.numpy(), model.sample_latent(4, model.step_seed(1, 0)).numpy())
    assert not np.allclose(a.numpy(), model.sample_latent(4, model.step_seed(0, 1)).numpy())
    u = randomness.draw_latent("uniform", [1000], 3).numpy()
    assert u.min() >= -1 and u.max() <= 1 and abs(u.mean()) < 0.1
    with pytest.raises(ValueError, match="unknown latent distribution"):
        randomness.draw_latent("cauchy", [2], 0)


def test_fit_runs_the_custom_step():
    model = zoo.build("vgan", preset="tiny")
    model.compile()
    ds = tf.data.Dataset.from_tensor_slices(_batch(model.config)).batch(2)
    history = model.fit(ds, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "mask_l1"}
    assert int(model.step) == 2


def test_generator_average_is_what_an_export_serves():
    """generator_average = d: G's optimizer keeps a = d a + (1 - d) w of every trainable G weight
    (a = w after the first step), finalize_for_export puts a in place and measures the batch-norm
    statistics of a; D and the raw weights' training are untouched."""
    d = 0.75
    model = zoo.build("vgan", preset="tiny", generator_average=d)
    plain = zoo.build("vgan", preset="tiny")
    plain.set_weights(model.get_weights())
    model.compile()
    plain.compile()
    assert model.export_needs_training_state and not plain.export_needs_training_state
    raw = []
    for seed in range(3):
        for m in (model, plain):
            m.train_step(_batch(model.config, seed))
        raw.append(_snapshot(model.generator_variables))
    # the average does not touch training: the same steps as a model without it
    for a, b in zip(model.weights, plain.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=a.path)
    expected = [d * (d * w1 + (1 - d) * w2) + (1 - d) * w3 for w1, w2, w3 in zip(*raw)]
    disc = _snapshot(model.discriminator_variables)
    norms = {v.path: v.numpy().copy() for v in model.weights if "moving_" in v.path}
    model.finalize_for_export()
    for e, v in zip(expected, model.generator_variables):
        np.testing.assert_allclose(v.numpy(), e, atol=1e-6, err_msg=v.path)
    assert not any(_changed(disc, model.discriminator_variables))
    moved = {
        p
        for p, before in norms.items()
        if not np.array_equal(before, next(v for v in model.weights if v.path == p).numpy())
    }
    assert moved == {p for p in norms if p.startswith("video_generator/")} and moved
    # the generator's new statistics are those of the averaged weights: in inference mode it
    # now draws what it draws in training mode (batch statistics), up to the batches' spread
    z = model.sample_inputs(64, 123)  # not one of the measured batches
    served = model.generate(z, training=False)["video"].numpy()
    batch = model.generate(z, training=True)["video"].numpy()
    assert np.abs(served - batch).mean() < 0.25 * np.abs(served).mean()
    plain.finalize_for_export()  # no average: nothing changes
    for a, b in zip(plain.weights, _snapshot(plain.weights)):
        np.testing.assert_array_equal(a.numpy(), b)


def test_a_future_models_average_measures_its_statistics_on_real_first_frames():
    """VGAN's future mode takes first frames, not latents: finalize_for_export asks for them, and
    export.runs.statistics_inputs reads them from the run's training data; the encoder's and the
    generator's batch norms then move."""
    from export import runs

    model = zoo.build("vgan", preset="tiny", future=True, channels=1, generator_average=0.9)
    model.compile()
    model.train_step(_batch(model.config, 0))
    with pytest.raises(ValueError, match="its generator inputs come from data"):
        model.finalize_for_export()
    run_config = {"trainer": {"dataset": "bouncing_balls", "data_dir": None, "data_options": {}}}
    inputs = runs.statistics_inputs(model, run_config, batches=2, batch_size=8)
    assert len(inputs) == 2 and inputs[0].shape == (8, 16, 16, 1)
    norms = {v.path: v.numpy().copy() for v in model.weights if "moving_" in v.path}
    model.finalize_for_export(inputs=inputs)
    moved = {p for p, before in norms.items() if not np.array_equal(before, _value(model, p))}
    assert {p.split("/")[0] for p in moved} == {"video_generator", "image_encoder"}
    assert runs.statistics_inputs(zoo.build("vgan", preset="tiny", generator_average=0.9), run_config) is None
    assert runs.statistics_inputs(zoo.build("vgan", preset="tiny", future=True), run_config) is None  # no average


def _value(model, path):
    return next(v for v in model.weights if v.path == path).numpy()


def test_generator_average_is_validated_and_needs_the_compiled_optimizer():
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"generator_average must be in \[0, 1\)"):
            zoo.build("vgan", preset="tiny", generator_average=bad)
    model = zoo.build("vgan", preset="tiny", generator_average=0.9)
    with pytest.raises(ValueError, match="needs the compiled generator optimizer"):
        model.finalize_for_export()
    model.compile()
    g_opt, d_opt = model.g_optimizer, model.d_optimizer
    assert g_opt.use_ema and g_opt.ema_momentum == 0.9 and not d_opt.use_ema
    walker = zoo.build("traversal", preset="tiny", generator_average=0.9)
    assert [o.use_ema for o in walker.config.optimizers()] == [True, False]


def test_to_uint8_edges():
    np.testing.assert_array_equal(
        video_io.to_uint8(tf.constant([-2.0, -1.0, 0.0, 1.0, 3.0])).numpy(), [0, 0, 128, 255, 255]
    )


# ------------------------------------------------------------------ strategies
@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "w.npz"
    finish(worker("default", out))
    return weights(out)


@pytest.mark.slow
def test_mirrored_two_replicas_equal_one_device(single_device, tmp_path):
    info = finish(worker("mirrored2", tmp_path / "w.npz"))
    assert info["replicas"] == 2
    # Same global batch, own noise per replica, synchronized BN, loss scaled once:
    # only float summation order differs.
    assert max_diff(weights(tmp_path / "w.npz"), single_device) < 1e-6


@pytest.mark.slow
def test_mirrored_two_replicas_equal_one_device_with_the_generator_average(tmp_path):
    """The averages live in G's optimizer (Keras' use_ema): two replicas keep the same ones as one
    device, and the served weights (finalize_for_export: the averages, their batch-norm
    statistics measured outside the replica context) agree too."""
    paths = tmp_path / "one.npz", tmp_path / "two.npz"
    procs = [
        worker("default", paths[0], steps=3, model="vgan_average"),
        worker("mirrored2", paths[1], steps=3, model="vgan_average"),
    ]
    assert [finish(p)["replicas"] for p in procs] == [1, 2]
    one, two = weights(paths[0]), weights(paths[1])
    assert max_diff(one, two) < 1e-5
    # the same steps without the average: the same discriminator, another served generator
    finish(worker("default", tmp_path / "raw.npz", steps=3))
    plain = weights(tmp_path / "raw.npz")
    assert max_diff(plain, one, skip=("video_generator",)) < 1e-6
    assert max_diff(plain, one, skip=("video_discriminator",)) > 1e-4


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_on_localhost_end_identical(single_device, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = [
        worker(
            "multi_worker",
            tmp_path / f"w{i}.npz",
            env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )
        for i in range(2)
    ]
    infos = [finish(p) for p in procs]
    assert [i["replicas"] for i in infos] == [2, 2]
    w0, w1 = weights(tmp_path / "w0.npz"), weights(tmp_path / "w1.npz")
    assert max_diff(w0, w1) == 0.0
    assert max_diff(w0, single_device) < 1e-6  # and they trained like one device with the global batch
