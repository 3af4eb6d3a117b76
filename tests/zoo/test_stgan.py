"""STGAN (docs/models/stgan.md): inflation (section 4, eqs. 6-7),
Table 1, activation maximization (section 4.1), the 2D source's training and its hub
module with a Keras architecture."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import keras

import export
import zoo
from zoo.layers import DownConv, UpConv
from zoo import metrics, stgan


def tiny(**kw):
    return zoo.resolve("stgan", "tiny", **kw)


def primed_source(cfg, seed=0):
    """A 2D source whose batch-norm statistics are not the initial ones (a generator with
    moving mean 0 / variance 1 everywhere would give near-constant images)."""
    keras.utils.set_random_seed(seed)
    source = stgan.image_generator_2d(cfg)
    for i in range(40):
        source(tf.random.stateless_normal([16, cfg.latent_dim], seed=[seed, i]), training=True)
    return source


def test_inflate_kernel_copies_and_divides():
    w = np.random.default_rng(0).normal(size=(4, 4, 3, 5))
    w3 = stgan.inflate_kernel(w, 3)
    assert w3.shape == (3, 4, 4, 3, 5)
    for t in range(3):
        np.testing.assert_allclose(w3[t], w / 3)  # eq. 6 then eq. 7
    np.testing.assert_allclose(w3.sum(axis=0), w)


def test_inflated_generator_repeats_the_2d_image_on_a_still_video():
    cfg = tiny(stage="video", init_stddev=0.3)
    source = primed_source(cfg)
    video_generator = stgan.inflate(source, 3)
    z = tf.random.stateless_normal([2, cfg.latent_dim], seed=[1, 2])
    image = source(z, training=False).numpy()
    frames = 12
    video = video_generator(tf.repeat(z[:, None], frames, axis=1), training=False).numpy()
    assert video.shape == (2, frames) + image.shape[1:]
    # Four convolutions with T' = 3: frames 4..7 are out of reach of the zero temporal padding.
    convs = sum(
        isinstance(l, (keras.layers.Conv2D, keras.layers.Conv2DTranspose, UpConv, DownConv)) for l in source.layers
    )
    assert convs == 4
    for t in range(convs, frames - convs):
        np.testing.assert_allclose(video[:, t], image, atol=1e-5)
    border = np.abs(video[:, 0] - image).max()
    assert border > 100 * np.abs(video[:, frames // 2] - image).max()
    # The weights themselves: kernels inflated, biases / dense / batch norm copied.
    by_name = {l.name: l for l in video_generator.layers}
    for layer in source.layers:
        new = by_name[layer.name]
        for w2, w3 in zip(layer.get_weights(), new.get_weights()):
            if w3.ndim == 5:
                np.testing.assert_allclose(w3, np.repeat(w2[None], 3, 0) / 3, rtol=1e-6)
            else:
                np.testing.assert_array_equal(w3, w2)
    assert isinstance(by_name["g_upconv1"], keras.layers.Conv3DTranspose)
    assert by_name["g_upconv1"].strides == (1, 2, 2) and by_name["g_conv2"].kernel_size == (3, 3, 3)


def test_inflation_refuses_what_it_cannot_inflate():
    with pytest.raises(ValueError, match="Flatten"):
        stgan.inflate(keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Flatten()]), 3)
    with pytest.raises(ValueError, match="padding 'valid'"):
        stgan.inflate(keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(2, 3)]), 3)
    with pytest.raises(ValueError, match="subclassed"):
        stgan.inflate(zoo.build("tgan", preset="tiny").generator, 3)
    with pytest.raises(ValueError, match="odd"):
        stgan.inflate(stgan.image_generator_2d(tiny()), 2)


def test_paper_preset_is_table_1():
    """Table 1's convolutions (the dense layers narrowed to keep the test small)."""
    cfg = zoo.resolve("stgan", "paper", stage="video", latent_dim=8, fc_width=8)
    assert (cfg.frames, cfg.size, cfg.temporal_depth, cfg.fc_layers) == (16, 256, 3, 3)
    g = stgan.inflate(stgan.image_generator_2d(cfg), cfg.temporal_depth)
    table = [
        ("g_upconv5", 8, 256),
        ("g_conv5", 8, 512),
        ("g_upconv4", 16, 256),
        ("g_conv4", 16, 256),
        ("g_upconv3", 32, 128),
        ("g_conv3", 32, 128),
        ("g_upconv2", 64, 64),
        ("g_upconv1", 128, 32),
        ("g_upconv0", 256, 3),
    ]
    convs = [l for l in g.layers if isinstance(l, (keras.layers.Conv3D, keras.layers.Conv3DTranspose))]
    assert [(l.name, l.output.shape[2], l.output.shape[-1]) for l in convs] == table
    for l in convs:
        up = isinstance(l, keras.layers.Conv3DTranspose)
        assert l.kernel_size == ((3, 4, 4) if up else (3, 3, 3))
        assert l.strides == ((1, 2, 2) if up else (1, 1, 1))
    dense = [l for l in g.layers if isinstance(l, keras.layers.Dense)]
    assert [l.name for l in dense] == ["g_fc8", "g_fc7", "g_fc6"]  # three, as Table 1: no fourth projection
    assert [l.units for l in dense] == [8, 8, 4 * 4 * 256]  # G_fc6 is the 4 x 4 x 256 map
    assert g.get_layer("g_reshape").output.shape[2:] == (4, 4, 256)
    video = zoo.build("stgan", "tiny", stage="video")(tf.zeros([1, 8, 8]))
    assert video.shape == (1, 8, 16, 16, 3)


def test_config_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="temporal_depth must be odd"):
        tiny(temporal_depth=2)
    with pytest.raises(ValueError, match="'u<channels>'"):
        tiny(layers="u8,x3")
    with pytest.raises(ValueError, match="expected stage 'video'"):
        tiny(source_generator_handle="/somewhere")
    with pytest.raises(ValueError, match=r"expected a layer mapping z \[N, 8\] to images \[N, 16, 16, 3\]"):
        stgan.STGAN(tiny(stage="video"), stgan.image_generator_2d(tiny(latent_dim=4)))


def test_learning_rate_decays_linearly_from_one_to_a_tenth():
    rates = stgan.am_learning_rates(zoo.resolve_run("stgan", "paper"))
    assert len(rates) == 100 and rates[0] == pytest.approx(1.0) and rates[-1] == pytest.approx(0.1)
    np.testing.assert_allclose(np.diff(rates), -0.9 / 99, rtol=1e-5)


def test_the_condition_network_sees_the_centre_of_the_frames():
    """Section 4.2: 256 x 256 frames meet LRCN's 227 x 227 input as their centre (DGN-AM's crop),
    not resized; every preset does so, and "resize" (the class default, the zoo's older way) stays."""
    assert [zoo.resolve_run("stgan", p).condition_input for p in ("paper", "small", "tiny")] == ["crop"] * 3
    assert stgan.STGANRunConfig().condition_input == "resize"
    with pytest.raises(ValueError, match=r"condition_input must be one of \('crop', 'resize'\), got 'pad'"):
        zoo.resolve_run("stgan", "tiny", condition_input="pad")
    paper = stgan.condition_view(tf.zeros([1, 1, 256, 256, 1]), 227, "crop")
    assert paper.shape == (1, 1, 227, 227, 1)
    video = tf.reshape(tf.range(2 * 20 * 20 * 3, dtype=tf.float32), [1, 2, 20, 20, 3]) / 2400.0 - 1.0
    np.testing.assert_array_equal(stgan.condition_view(video, 16, "crop"), video[:, :, 2:18, 2:18])
    np.testing.assert_array_equal(stgan.condition_view(video, 32, "crop"), video)  # nothing to crop
    np.testing.assert_array_equal(stgan.condition_view(video, 16, "resize"), video)
    seen = []

    def phi(v):
        seen.append(v)
        return {"logits": tf.reduce_mean(v, axis=[1, 2, 3])[:, :2]}

    network = metrics.FeatureNetwork(name="phi", fn=phi, size=16, frames=2, outputs=("logits",))
    logits = stgan.condition_logits(network, "crop")(video)
    np.testing.assert_array_equal(seen[-1], video[:, :, 2:18, 2:18])
    np.testing.assert_allclose(logits, tf.reduce_mean(video[:, :, 2:18, 2:18], axis=[1, 2, 3])[:, :2])
    stgan.condition_logits(network, "resize")(video)
    np.testing.assert_allclose(seen[-1], network.prepare(video))  # the whole frame, resized
    assert not np.allclose(seen[-1], seen[0])


@pytest.fixture(scope="module")
def video_model():
    cfg = tiny(stage="video", init_stddev=0.3)
    return stgan.STGAN(cfg, primed_source(cfg))


def test_activation_maximization_raises_the_class_probability(video_model, trained_c3d):
    net = metrics.model_network(trained_c3d[0])
    condition = lambda v: net.fn(net.prepare(v))["logits"]  # noqa: E731
    am = zoo.resolve_run("stgan", "tiny")  # the AM settings: 10 iterations, code clip 1
    out = video_model.maximize(condition, 0, 3, am, seed=5)
    p = out["probability"]
    assert p.shape == (am.am_iterations + 1, 3)
    assert p[-1].mean() > p[0].mean() + 0.05, p.mean(axis=1)
    assert out["z"].shape == (3, 8, 8) and out["video"].shape == (3, 8, 16, 16, 3)
    # The returned video and probability are G(z*) and Phi_0(G(z*)).
    np.testing.assert_allclose(out["video"], video_model(out["z"]).numpy(), atol=1e-6)
    np.testing.assert_allclose(p[-1], tf.nn.softmax(condition(out["video"]))[:, 0].numpy(), atol=1e-5)
    # Every frame's code stays within the ball of radius am_code_clip * sqrt(K) (here 1 * sqrt(8));
    # without the projection the normalized steps carry it far outside.
    radius = am.am_code_clip * np.sqrt(8)
    assert np.linalg.norm(out["z"], axis=-1).max() <= radius + 1e-4
    z0 = video_model.sample_latent(3, 7)
    free = stgan.activation_maximization(
        video_model, condition, z0, 0, zoo.resolve_run("stgan", "tiny", am_code_clip=0.0)
    )
    assert np.linalg.norm(free["z"], axis=-1).max() > 1.5 * radius  # machine C: 1.93 x, machines A, B: > 2 x
    np.testing.assert_allclose(free["initial_video"], video_model(z0).numpy(), atol=1e-6)  # G(z0), before AM
    # Figure 3: snapshots of G(z) as the optimisation goes (tiny: 10 iterations, every 4th)
    snap = stgan.activation_maximization(video_model, condition, z0, 0, am, snapshot_every=4)
    assert snap["snapshot_iterations"].tolist() == [0, 4, 8, 10]
    assert snap["snapshots"].shape == (4, 3, 8, 16, 16, 3)
    np.testing.assert_allclose(snap["snapshots"][0], snap["initial_video"], atol=1e-6)
    np.testing.assert_allclose(snap["snapshots"][-1], snap["video"], atol=1e-6)
    # A video whose probability is already above am_stop_probability does not move.
    z0 = video_model.sample_latent(2, 9)
    stopped = stgan.activation_maximization(
        video_model, condition, z0, 0, zoo.resolve_run("stgan", "tiny", am_stop_probability=1e-6)
    )
    np.testing.assert_array_equal(stopped["z"], z0.numpy())


def test_image_stage_trains_and_exports_an_inflatable_hub_module(tmp_path):
    model = zoo.build("stgan", "tiny")
    model.compile()
    videos = tf.random.stateless_uniform([4, 8, 16, 16, 3], seed=[0, 1], minval=-1, maxval=1)
    before = [v.numpy() for v in model.generator.trainable_variables]
    logs = model.train_step({"video": videos, "label": tf.zeros([4], tf.int32)})
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.generator.trainable_variables))
    hub_dir = export.export_image_generator(model, str(tmp_path / "source"))
    source = export.load_keras_image_generator(hub_dir)
    assert isinstance(source.model, keras.Sequential) and source.latent_distribution == "normal"
    z = tf.random.stateless_normal([3, 8], seed=[3, 3])
    np.testing.assert_allclose(source.model(z).numpy(), model.generator(z).numpy(), atol=1e-6)
    inflated = stgan.STGAN(tiny(stage="video"), source)
    assert inflated(inflated.sample_latent(1, 0)).shape == (1, 8, 16, 16, 3)
    # A subclassed generator's module has no architecture to rebuild.
    tgan_dir = export.export_image_generator(zoo.build("tgan", preset="tiny"), str(tmp_path / "tgan_g1"))
    with pytest.raises(ValueError, match="without its Keras architecture"):
        export.load_keras_image_generator(tgan_dir)
