"""zoo.classifiers: C3D and LRCN shapes, LRCN's time averaging, learning from motion, export."""

import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from zoo import classifiers, data

from tests.conftest import actions


@pytest.mark.parametrize("arch", ["c3d", "lrcn"])
@pytest.mark.parametrize("preset", ["tiny", "small", "paper"])
def test_every_preset_builds_with_logits_and_penultimate_features(arch, preset):
    model = zoo.build(arch, preset=preset)
    c = model.config
    out = model(tf.zeros([2, c.frames, c.size, c.size, c.channels]))
    assert out["logits"].shape == (2, c.num_classes)
    width = c.lstm_units if arch == "lrcn" else c.feature_dim
    assert out["features"].shape == (2, width)
    if arch == "lrcn":
        assert out["frame_features"].shape == (2, c.frames, c.feature_dim)
    if preset == "paper":  # C3D / LRCN at 16x112x112, 101 classes (UCF-101)
        assert (c.frames, c.size, c.num_classes) == (16, 112, 101)
        if arch == "c3d":
            assert c.feature_dim == 4096 and not c.batch_norm


def test_c3d_pools_space_only_in_its_first_stage_and_reaches_one_frame():
    model = zoo.build("c3d", preset="paper")
    pools = [
        l for l in model.blocks if isinstance(l, tf.keras.layers.MaxPooling3D) or type(l).__name__ == "MaxPooling3D"
    ]
    assert [p.pool_size for p in pools] == [(1, 2, 2)] + [(2, 2, 2)] * 4
    h = tf.zeros([1, 16, 112, 112, 3])
    for layer in model.blocks:
        h = layer(h)
    assert h.shape == (1, 1, 4, 4, 512)  # C3D's pool5 (padded 7 -> 4)


def test_lrcn_logits_are_the_average_of_the_per_step_predictions():
    model = zoo.build("lrcn", preset="tiny")
    video = tf.random.stateless_uniform([3, 8, 16, 16, 3], seed=[1, 2], minval=-1, maxval=1)
    out = model(video, training=False)
    states = model.lstm(out["frame_features"])
    per_step = model.logits(states)  # [B, T, K]
    np.testing.assert_allclose(out["logits"], tf.reduce_mean(per_step, axis=1), atol=1e-5)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="class_names has 2 names, expected num_classes=3"):
        zoo.resolve("c3d", "tiny", num_classes=3, class_names="a,b")
    with pytest.raises(ValueError, match="convs_per_stage"):
        zoo.resolve("c3d", "tiny", stages=2)


@pytest.mark.slow
def test_one_frame_alone_scores_clearly_worse_than_the_clip(trained_c3d):
    """synthetic_actions' classes differ by motion: the same network, trained as long on
    the middle frame repeated, stays near chance while the clip model learns."""
    clip_model, clip_accuracy = trained_c3d

    def still(e):
        return {"video": tf.repeat(e["video"][4:5], 8, axis=0), "label": e["label"]}

    frame_model = classifiers.fit(
        clip_model.config, actions("train").map(still), 250, zoo.resolve_run("c3d", "tiny").batch_size
    )
    frame_accuracy = classifiers.accuracy(frame_model, actions("test", num_examples=200).map(still))["accuracy"]
    chance = 1 / len(data.class_names("synthetic_actions"))
    assert clip_accuracy >= 0.45, clip_accuracy
    assert frame_accuracy < chance + 0.15, frame_accuracy
    assert clip_accuracy - frame_accuracy >= 0.25, (clip_accuracy, frame_accuracy)


def test_hub_module_serves_logits_probabilities_and_features(trained_c3d, c3d_hub):
    model, accuracy = trained_c3d
    video = next(iter(actions("test").batch(4)))["video"]
    expected = model(video, training=False)
    loaded = export.load(c3d_hub)
    served = loaded.signatures["serving_default"](video=video)
    assert set(served) == {"logits", "probabilities", "features"}
    np.testing.assert_allclose(served["logits"], expected["logits"], atol=1e-4)
    np.testing.assert_allclose(served["features"], expected["features"], atol=1e-4)
    np.testing.assert_allclose(tf.reduce_sum(served["probabilities"], -1), 1.0, atol=1e-5)
    np.testing.assert_allclose(loaded(video)["features"], expected["features"], atol=1e-4)  # __call__

    net = export.load_video_classifier(c3d_hub)
    assert (net.name, net.frames, net.size, net.outputs) == ("c3d", 8, 16, ("features", "logits"))
    assert net.info["report"]["test_accuracy"] == accuracy
    assert net.info["class_names"] == list(data.class_names("synthetic_actions"))
    np.testing.assert_allclose(net(video.numpy())["features"], expected["features"], atol=1e-4)


def test_lrcn_export_adds_frame_features(trained_lrcn, tmp_path):
    path = export.export_hub_module(trained_lrcn, str(tmp_path / "lrcn"))
    net = export.load_video_classifier(path)
    assert set(net.outputs) == {"logits", "features", "frame_features"}
    video = np.zeros([2, 8, 16, 16, 3], np.float32)
    assert net(video)["frame_features"].shape == (2, 8, 64)


def test_a_generator_export_is_not_a_classifier(tmp_path):
    path = export.export_saved_model(zoo.build("vgan", preset="tiny"), str(tmp_path))
    with pytest.raises(ValueError, match="not a zoo video classifier export"):
        export.load_video_classifier(path)
