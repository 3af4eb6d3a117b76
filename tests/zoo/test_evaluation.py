"""zoo.metrics with networks: feature networks, clip sources, the registry, the callback, I3D loading.

(The numbers themselves are checked against independent computations in test_metrics.py.)
"""

import dataclasses
import glob
import os
import warnings

import numpy as np
import pytest
import tensorflow as tf

import export
import zoo
from zoo import metrics

from tests.conftest import actions

NOISE = metrics.noise_source((8, 16, 16, 3), seed=5)


def _source(split, seed=0):
    return metrics.dataset_source(actions(split, seed=seed))


@pytest.fixture(scope="module")
def networks(trained_c3d, trained_lrcn):
    return {"c3d": metrics.model_network(trained_c3d[0]), "lrcn": metrics.model_network(trained_lrcn)}


def _evaluate(generated, names, networks, num_samples=128, **kw):
    ev = metrics.Evaluator(
        generated, _source("train"), _source("test"), networks=networks, num_samples=num_samples, **kw
    )
    return metrics.compute(names, ev)


def test_registry_names_record_what_they_depend_on():
    assert {
        "fvd_i3d_16f",
        "fvd_local_16f",
        "is_c3d",
        "is_lrcn",
        "acc_c3d",
        "acc_lrcn",
        "fid_frames",
        "kid",
        "s3",
        "probe",
        "nn_pixels",
        "nn_c3d",
    } <= set(metrics.names())
    assert metrics.get("fvd_i3d_16f").networks == ("i3d",)
    assert "I3D" in metrics.get("fvd_i3d_16f").depends_on and "16" in metrics.get("fvd_i3d_16f").depends_on
    eight = metrics.get("fvd_local_8f")  # any clip length by pattern
    assert eight.name == "fvd_local_8f" and "first 8 frames" in eight.depends_on
    with pytest.raises(ValueError, match="unknown metric 'fid'.*fvd_local_<N>f"):
        metrics.get("fid")


def test_feature_network_prepares_clips_to_its_input():
    seen = []

    def fn(video):
        seen.append(tuple(video.shape))
        return {"features": tf.reduce_mean(video, axis=[1, 2, 3])}

    net = metrics.FeatureNetwork("probe", fn, size=8, frames=4, channels=3, outputs=("features",), batch_size=3)
    gray = np.full([5, 6, 16, 16, 1], 255, np.uint8)  # uint8 white, gray, 6 frames
    out = net(gray)["features"]
    assert seen == [(3, 4, 8, 8, 3), (2, 4, 8, 8, 3)]  # batches, first 4 frames, resized, RGB
    np.testing.assert_allclose(out, 1.0, atol=1e-6)  # 255 -> 1.0
    with pytest.raises(ValueError, match="takes 4-frame clips; got 2-frame videos"):
        net(np.zeros([1, 2, 8, 8, 3], np.float32))
    with pytest.raises(ValueError, match=r"no output\(s\) \['logits'\]"):
        net(gray, outputs=["logits"])


def test_kid_reports_no_spread_when_every_subset_holds_every_clip():
    net = metrics.FeatureNetwork(
        "c3d",
        lambda video: {"features": tf.reduce_mean(video, axis=[2, 3, 4])},
        size=16,
        frames=8,
        channels=3,
        outputs=("features",),
    )
    kid = _evaluate(NOISE, ["kid"], {"c3d": net}, num_samples=16)["kid"]
    assert (kid["subset_size"], kid["num_subsets"], kid["std"]) == (16, 1, None)  # 100 equal subsets had "±1e-11"


@pytest.mark.slow
def test_real_vs_real_beats_real_vs_noise(networks):
    names = ["fvd_local_8f", "kid", "fid_frames", "is_c3d"]
    real = _evaluate(_source("train", seed=1), names, networks)
    noise = _evaluate(NOISE, names, networks)
    for name in ("fvd_local_8f", "kid", "fid_frames"):
        assert real[name]["value"] < 0.25 * noise[name]["value"], (name, real[name], noise[name])
    print({n: (real[n]["value"], noise[n]["value"]) for n in names})
    assert abs(real["kid"]["value"]) < 0.02 * noise["kid"]["value"]  # unbiased: ~0 for one distribution
    # the trained classifier finds several classes in real clips, few in noise
    assert real["is_c3d"]["value"] > noise["is_c3d"]["value"] + 1.0
    assert real["is_c3d"]["real_value"] == pytest.approx(noise["is_c3d"]["real_value"])  # same real clips
    assert real["fvd_local_8f"]["networks"]["c3d"]["arch"] == "c3d"
    assert "C3D" in real["fvd_local_8f"]["depends_on"]


def test_nearest_neighbours_flag_a_generator_that_copies_its_training_clips(networks):
    copies = _evaluate(_source("train"), ["nn_pixels", "nn_c3d"], networks, num_samples=64)
    fresh = _evaluate(_source("train", seed=1), ["nn_pixels"], networks, num_samples=64)
    assert copies["nn_pixels"]["value"] == 0.0 and copies["nn_c3d"]["value"] == 0.0
    assert copies["nn_pixels"]["fraction_closer_than_held_out_min"] == 1.0
    assert copies["nn_pixels"]["nearest_train_index"] == list(range(64))
    assert 0.8 < fresh["nn_pixels"]["value"] < 1.25


def test_frame_length_must_match_the_metric(networks):
    with pytest.raises(ValueError, match="fvd_\\*_16f needs a c3d network taking 16-frame clips; this one takes 8"):
        _evaluate(NOISE, ["fvd_local_16f"], networks, num_samples=8)
    with pytest.raises(ValueError, match="needs the 'i3d' network"):
        _evaluate(NOISE, ["fvd_i3d_8f"], networks, num_samples=8)


def test_probe_reads_frozen_features_of_labelled_clips(networks):
    probe = {
        "probe": metrics.FeatureNetwork("probe", networks["c3d"].fn, size=16, frames=8, outputs=("logits", "features"))
    }
    report = _evaluate(NOISE, ["probe"], probe, num_samples=160)["probe"]
    assert report["num_classes"] == 10 and report["num_train"] == 160
    assert report["value"] > 0.35  # chance is 0.1
    with pytest.raises(ValueError, match="needs labelled real_test clips"):
        ev = metrics.Evaluator(NOISE, _source("train"), NOISE, networks=probe, num_samples=16)
        metrics.compute(["probe"], ev)


@pytest.mark.slow
def test_s3_is_near_one_for_real_clips_and_low_for_noise():
    real = _evaluate(
        _source("train", seed=1), ["s3"], {}, num_samples=160, classifier_steps=250, classifier_preset="tiny"
    )["s3"]

    def labelled_noise(num):
        clips = NOISE(num)
        return metrics.Clips(clips.videos, np.arange(num) % 10)

    noise = _evaluate(labelled_noise, ["s3"], {}, num_samples=160, classifier_steps=250, classifier_preset="tiny")["s3"]
    assert real["ReR"] > 0.3, real
    assert real["value"] > 0.6 and noise["value"] < 0.5 * real["value"], (real, noise)
    assert real["classifier"] == "c3d/tiny"
    lrcn = _evaluate(
        _source("train", seed=1), ["s3_lrcn"], {}, num_samples=160, classifier_steps=250, classifier_preset="tiny"
    )["s3_lrcn"]
    assert lrcn["classifier"] == "lrcn/tiny" and lrcn["value"] > 0.6, lrcn
    with pytest.raises(ValueError, match="class-conditional generator"):
        _evaluate(NOISE, ["s3"], {}, num_samples=8)


def test_conditional_accuracy_is_the_classifiers_agreement_with_the_asked_for_classes(networks, trained_c3d):
    """acc_c3d of real clips (labels = their classes) is the classifier's accuracy; the same
    clips asked for another class (labels + 1) score low."""
    stream = _source("train", seed=1)

    def wrong_labels(num):
        clips = stream(num)
        return metrics.Clips(clips.videos, (clips.labels + 1) % 10)

    right = _evaluate(stream, ["acc_c3d"], networks, num_samples=96)["acc_c3d"]
    wrong = _evaluate(wrong_labels, ["acc_c3d"], networks, num_samples=96)["acc_c3d"]
    assert right["value"] == pytest.approx(right["real_value"], abs=0.15)  # two streams of one data set
    assert right["value"] > 0.3 and wrong["value"] < 0.5 * right["value"], (right, wrong)
    assert set(right["per_class"]) <= set(range(10)) and len(right["per_class"]) >= 5
    with pytest.raises(ValueError, match="class-conditional generator"):
        _evaluate(NOISE, ["acc_c3d"], networks, num_samples=8)


def test_metric_callback_logs_during_keras_fit(networks, tmp_path):
    model = zoo.build("vgan", preset="tiny", streams=1)
    model.compile()
    callback = metrics.MetricCallback(
        ["fvd_local_8f", "kid"], networks, _source("train"), every=2, num_samples=16, log_dir=str(tmp_path)
    )
    videos = actions("train").take(16).batch(4)
    model.fit(videos.map(lambda e: e["video"]), epochs=1, verbose=0, callbacks=[callback])
    assert [step for step, _ in callback.history] == [2, 4]
    for _, values in callback.history:
        assert np.isfinite(values["fvd_local_8f"]) and values["fvd_local_8f"] > 0
    # the generator changed between the two evaluations, so did its score
    assert callback.history[0][1]["fvd_local_8f"] != callback.history[1][1]["fvd_local_8f"]
    assert glob.glob(os.path.join(str(tmp_path), "events.out.tfevents.*"))
    with pytest.raises(ValueError, match="too expensive"):
        metrics.MetricCallback(["s3"], networks, _source("train"), every=1)


class _FakeI3D(tf.Module):
    """Stands in for the TF1 I3D hub module: a ``default`` signature over ``rgb_input``
    returning 400 "logits" that reveal what it was fed."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, 224, 224, 3], tf.float32, name="rgb_input")])
    def default(self, rgb_input):
        stats = tf.stack(
            [
                tf.reduce_min(rgb_input, [1, 2, 3, 4]),
                tf.reduce_max(rgb_input, [1, 2, 3, 4]),
                tf.cast(tf.shape(rgb_input)[1], tf.float32) * tf.ones_like(rgb_input[:, 0, 0, 0, 0]),
            ],
            axis=1,
        )
        return {"default": tf.concat([stats, tf.zeros([tf.shape(stats)[0], 397])], axis=1)}


def test_i3d_loader_feeds_the_reference_preprocessing(tmp_path):
    module = _FakeI3D()
    tf.saved_model.save(module, str(tmp_path), signatures={"default": module.default})
    net = export.load_i3d(str(tmp_path))
    video = np.linspace(-1, 1, 2 * 20 * 32 * 32 * 3, dtype=np.float32).reshape(2, 20, 32, 32, 3)
    ev = metrics.Evaluator(
        lambda n: metrics.Clips(metrics.clips._uint8(video), np.full([2], -1)),
        lambda n: metrics.Clips(metrics.clips._uint8(video[::-1]), np.full([2], -1)),
        networks={"i3d": net},
        num_samples=2,
    )
    logits = ev.outputs("generated", "i3d")["logits"]
    assert logits.shape == (2, 400)
    assert logits[:, 0].min() >= -1.0 and logits[:, 1].max() <= 1.0  # values in [-1, 1]
    out = net(video[:, :16])["logits"]
    assert out[0, 2] == 16  # 16 frames reached it, resized to 224x224 (its input spec)
    report = metrics.compute(["fvd_i3d_16f"], ev)["fvd_i3d_16f"]
    assert report["feature_dim"] == 400 and report["networks"]["i3d"]["handle"] == str(tmp_path)
    # the metric itself cuts the 20-frame clips to 16 (I3D takes clips of any length)
    seen = []
    spy = dataclasses.replace(net, fn=lambda v: (seen.append(int(v.shape[1])), net.fn(v))[1])
    ev = metrics.Evaluator(
        lambda n: metrics.Clips(metrics.clips._uint8(video), np.full([2], -1)),
        lambda n: metrics.Clips(metrics.clips._uint8(video[::-1]), np.full([2], -1)),
        networks={"i3d": spy},
        num_samples=2,
    )
    metrics.compute(["fvd_i3d_16f"], ev)
    assert seen == [16, 16]  # generated and real
    metrics.compute(["fvd_i3d_8f"], ev)
    assert seen[2:] == [8, 8]


def test_i3d_frames_are_resized_as_the_reference_code_does(tmp_path):
    """TF1 resize_bilinear (no half-pixel centres), as the reference FVD; TF2's differs."""
    module = _FakeI3D()
    tf.saved_model.save(module, str(tmp_path), signatures={"default": module.default})
    net = export.load_i3d(str(tmp_path))
    video = np.random.default_rng(0).uniform(-1, 1, [1, 2, 32, 32, 3]).astype(np.float32)
    prepared = net.prepare(video).numpy().reshape(2, 224, 224, 3)
    want = tf.compat.v1.image.resize_bilinear(
        video[0], [224, 224], align_corners=False, half_pixel_centers=False
    ).numpy()
    np.testing.assert_allclose(prepared, want, atol=1e-6)
    tf2 = tf.image.resize(video[0], [224, 224], method="bilinear").numpy()
    assert np.abs(prepared - tf2).max() > 0.05


def test_i3d_without_network_is_a_clear_error_naming_the_handle():
    handle = "http://127.0.0.1:9/deepmind/i3d-kinetics-400/1"  # refused at once: no download, no wait
    with pytest.raises(ValueError, match="FVD with I3D needs the TF Hub module 'http://127.0.0.1:9/deepmind"):
        export.load_i3d(handle)


def test_inception_score_protocols_by_name():
    """splits: --splits chunks; tgan: one score over all clips; mvt: 10 chunks. A report says which,
    and warns when a chunk holds under 10 clips per class."""
    logits = np.random.default_rng(0).normal(size=[40, 4]) * 3.0

    def fn(video):
        index = tf.cast(video[:, 0, 0, 0, 0] * 0.5 * 39 + 19.5 + 0.5, tf.int32)  # clip i carries i in its pixel
        return {"logits": tf.gather(tf.constant(logits, tf.float32), index)}

    net = metrics.FeatureNetwork("c3d", fn, size=2, frames=1, channels=3, outputs=("logits",))
    pixels = np.linspace(-1, 1, 40, dtype=np.float32)[:, None, None, None, None] * np.ones([40, 1, 2, 2, 3], np.float32)

    def source(n):
        return metrics.Clips(metrics.clips._uint8(pixels[:n]), np.full([n], -1))

    reports = {}
    for protocol, splits in (("splits", 4), ("tgan", 1), ("mvt", 10)):
        ev = metrics.Evaluator(source, source, networks={"c3d": net}, num_samples=40, splits=4, is_protocol=protocol)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reports[protocol] = metrics.compute(["is_c3d"], ev)["is_c3d"]
        seen = ev.outputs("generated", "c3d")["logits"]
        want, _ = metrics.inception_score(seen, splits=splits, from_logits=True)
        assert reports[protocol]["protocol"] == protocol and reports[protocol]["splits"] == splits
        assert reports[protocol]["value"] == pytest.approx(want)
        assert reports[protocol]["samples_per_split"] == 40 // splits
        assert ("warning" in reports[protocol]) == (40 // splits < 40)  # 10 x 4 classes
        assert any("under 10 per class" in str(w.message) for w in caught) == ("warning" in reports[protocol])
    assert reports["tgan"]["std"] == 0.0 and reports["mvt"]["std"] > 0.0
    with pytest.raises(ValueError, match="is_protocol 'ucf'"):
        metrics.Evaluator(source, source, is_protocol="ucf")
