"""export/hub.py: the image-generator hub module and its Keras 3 layer."""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import export
import zoo

LATENT = 8


def weights_by_name(layer):
    return {w.name: w.numpy().copy() for w in layer.weights}


def is_batch_norm_scale_or_offset(name):
    return "_bn" in name and name.endswith(("_gamma", "_beta"))


# ---------------------------------------------------------------- the module
def test_module_round_trip(model, hub_module, latent):
    image_generator = model.image_generator()
    want = image_generator.model(latent, training=False).numpy()

    layer = export.load_image_generator(hub_module, expected_latent_dim=LATENT)
    assert (layer.latent_dim, layer.latent_distribution, layer.image_shape) == (LATENT, "normal", (16, 16, 3))
    np.testing.assert_allclose(layer(latent).numpy(), want, atol=1e-5)

    module = hub.load(hub_module)
    np.testing.assert_allclose(module(latent).numpy(), want, atol=1e-5)
    served = export.run_signature(module, {"z": latent})
    np.testing.assert_allclose(served["image"].numpy(), want, atol=1e-5)
    assert module.regularization_losses == []
    assert {v.name for v in module.variables} == {v.value.name for v in image_generator.model.variables}

    meta = {
        "interface": export.INTERFACE,
        "latent_dim": LATENT,
        "latent_distribution": "normal",
        "image_shape": [16, 16, 3],
    }
    assert export.read_metadata(module) == {**meta, "image_shape": (16, 16, 3)}
    with open(os.path.join(hub_module, "assets", "zoo_image_generator.json")) as f:
        assert json.load(f) == meta


def test_sample_draws_from_the_modules_distribution_in_batches(model, hub_module):
    """``sample``: the latents of one draw from the module's distribution, whatever the batch."""
    from zoo.randomness import draw_latent

    layer = export.load_image_generator(hub_module)
    whole = layer.sample(5, seed=3).numpy()
    assert whole.shape == (5, 16, 16, 3)
    np.testing.assert_allclose(layer.sample(5, seed=3, batch_size=2).numpy(), whole, atol=1e-5)
    z = draw_latent("normal", [5, LATENT], [3, 0])
    np.testing.assert_allclose(model.image_generator().model(z, training=False).numpy(), whole, atol=1e-5)
    assert not np.allclose(layer.sample(5, seed=4).numpy(), whole)


def test_export_refuses_what_it_cannot_do(model, hub_module, tmp_path):
    with pytest.raises(ValueError, match="not empty"):
        export.export_image_generator(model, hub_module)
    one_stream = zoo.build("vgan", preset="tiny", streams=1)
    with pytest.raises(ValueError, match="has no image generator"):
        export.export_image_generator(one_stream, str(tmp_path / "none"))
    assert os.listdir(tmp_path) == []


def test_export_into_an_empty_folder(model, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert export.export_image_generator(model.image_generator(), str(out)) == str(out)
    assert tf.saved_model.contains_saved_model(str(out))
    assert [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")] == []


# ---------------------------------------------------------------- loading errors
def test_wrong_latent_size_and_foreign_modules_are_refused(hub_module, exported, tmp_path):
    with pytest.raises(ValueError, match=f"{hub_module}.*expected latent_dim 100, got 8"):
        export.load_image_generator(hub_module, expected_latent_dim=100)
    with pytest.raises(
        ValueError,
        match="does not implement the image-generator interface: expected "
        "interface 'zoo.image_generator/1', got 'zoo.saved_model/1'",
    ):
        export.load_image_generator(exported)
    with pytest.raises(ValueError, match="is not a SavedModel"):
        export.load(str(tmp_path))
    with pytest.raises(ValueError, match="is not a SavedModel.*load a version"):
        export.load(os.path.dirname(exported))
    with pytest.raises(ValueError, match="trainable must be"):
        export.load_image_generator(hub_module, trainable="all")


# ---------------------------------------------------------------- trainable weights
def test_batch_norm_parameters_are_found_by_their_layer():
    names = [
        "g/bn0/gamma:0",
        "g/bn0/beta:0",
        "g/bn0/moving_mean:0",
        "g/bn0/moving_variance:0",
        "g/layer_norm/gamma:0",
        "g/layer_norm/beta:0",
        "g/conv/kernel:0",
        "gamma:0",
    ]
    assert export.batch_norm_parameters(names) == {"g/bn0/gamma", "g/bn0/beta"}


def test_trainable_modes(hub_module):
    module = hub.load(hub_module)
    everything = export.load_image_generator(hub_module, trainable=True)
    assert len(everything.trainable_weights) == len(module.trainable_variables) > 0
    assert len(everything.weights) == len(module.variables)

    frozen = export.load_image_generator(hub_module, trainable=False)
    assert frozen.trainable_weights == [] and not frozen.trainable
    frozen.trainable = True  # unfreezing gives the module's trainable variables back
    assert len(frozen.trainable_weights) == len(module.trainable_variables)

    bn = export.load_image_generator(hub_module, trainable="batch_norm")
    names = sorted(w.name for w in bn.trainable_weights)
    assert names and all(is_batch_norm_scale_or_offset(n) for n in names)
    assert len(names) == len([w for w in everything.weights if is_batch_norm_scale_or_offset(w.name)])


def test_batch_norm_mode_gradient_step_in_a_subclassed_model(hub_module, latent):
    class Tinted(keras.Model):
        def __init__(self):
            super().__init__()
            self.image_generator = export.load_image_generator(hub_module, trainable="batch_norm")

        def call(self, z, training=False):
            return self.image_generator(z, training=training)

    tinted = Tinted()
    before = weights_by_name(tinted.image_generator)
    optimizer = keras.optimizers.SGD(0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tinted(latent, training=False) - 1.0))
    grads = tape.gradient(loss, tinted.trainable_weights)
    assert all(g is not None for g in grads)
    optimizer.apply(grads, tinted.trainable_weights)
    after = weights_by_name(tinted.image_generator)
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    assert changed and changed == {w.name for w in tinted.trainable_weights}
    assert all(is_batch_norm_scale_or_offset(n) for n in changed)


def test_layer_in_a_functional_model_fit(hub_module):
    layer = export.load_image_generator(hub_module, expected_latent_dim=LATENT)
    z = keras.Input((LATENT,))
    score = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(layer(z)))
    critic = keras.Model(z, score)
    assert critic.output_shape == (None, 1)
    critic.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = weights_by_name(layer)
    data = np.random.default_rng(0).normal(size=(4, LATENT)).astype("float32")
    history = critic.fit(data, np.ones((4, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = weights_by_name(layer)
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    # Every trainable weight moved; training=True also updated the moving statistics.
    assert {w.name for w in layer.trainable_weights} <= changed
    assert any(n.endswith("moving_mean") for n in changed)


# ---------------------------------------------------------------- image features (TGAN's D1')
def test_image_features_module_round_trip_and_batch_norm_mode(hub_module, tmp_path):
    cfg = zoo.resolve("tgan", "tiny")
    stage_one = zoo.build("tgan", preset="tiny")
    images = tf.random.stateless_uniform([3, cfg.size, cfg.size, cfg.channels], seed=[3, 4], minval=-1, maxval=1)
    want = stage_one.image_features()(images, training=False).numpy()
    path = export.export_image_features(
        stage_one.image_features(), (cfg.size, cfg.size, cfg.channels), str(tmp_path / "d1")
    )
    layer = export.load_image_features(path, trainable="batch_norm")
    assert layer.image_shape == (16, 16, 3) and layer.feature_shape == want.shape[1:]
    np.testing.assert_allclose(layer(images).numpy(), want, atol=1e-5)
    trained = [w.name for w in layer.trainable_weights]
    assert trained and all(n.endswith(("_gamma", "_beta")) for n in trained), trained
    served = export.load(path).signatures["serving_default"](image=images)["features"]
    np.testing.assert_allclose(served, want, atol=1e-5)
    with pytest.raises(ValueError, match="does not implement the image-features interface"):
        export.load_image_features(hub_module)
    with pytest.raises(ValueError, match="input images must be float32"):
        layer(tf.zeros([1, 8, 8, 3]))
