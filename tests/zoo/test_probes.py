"""zoo/probes.py: the linear SVM, the majority vote and fine-tuning a discriminator
as a classifier (VGAN section 3.3, TGAN section 5.4)."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import probes, vgan


def test_linear_svm_separates_what_is_linearly_separable_and_not_noise():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 20)) * 3
    labels = rng.integers(0, 3, size=300)
    x = centres[labels] + rng.normal(size=(300, 20))
    svm = probes.fit_linear_svm(x[:200], labels[:200], 3)
    assert bool(svm["converged"])
    assert np.mean(probes.svm_scores(svm, x[200:]).argmax(1) == labels[200:]) > 0.95
    noise = rng.normal(size=(300, 20))  # features that say nothing of the label: chance
    svm = probes.fit_linear_svm(noise[:200], labels[:200], 3)
    assert np.mean(probes.svm_scores(svm, noise[200:]).argmax(1) == labels[200:]) < 0.6
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        probes.fit_linear_svm(x, labels + 1, 3)


def test_linear_svm_minimizes_the_squared_hinge_objective():
    """At the optimum the gradient of 0.5|w|^2 + C sum max(0, 1 - y s)^2 vanishes."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 4)), rng.integers(0, 2, size=50)
    svm = probes.fit_linear_svm(x, y, 2, c=0.5)
    z = (x - svm["mean"]) / svm["std"]
    signs = np.where(y[:, None] == np.arange(2), 1.0, -1.0)
    margin = np.maximum(0, 1 - signs * (z @ svm["w"] + svm["b"]))
    grad_w = svm["w"] - 2 * 0.5 * z.T @ (signs * margin)
    assert np.abs(grad_w).max() < 1e-3


def test_majority_vote_counts_frames_and_breaks_ties_by_the_summed_scores():
    scores = np.zeros([2, 3, 3])
    scores[0] = [[1, 0, 0], [1, 0, 0], [0, 5, 0]]  # two frames say 0, one says 1 strongly: 0 wins
    scores[1] = [[0, 1, 0], [0, 0, 3], [2, 0, 0]]  # one vote each: the largest summed score, 2's, wins
    assert probes.majority_vote(scores).tolist() == [0, 2]


def test_the_discriminator_fine_tunes_as_a_k_way_classifier():
    """VGAN 3.3: D's trunk, dropout, a K-way layer; every weight trains; a few steps on two
    separable classes (bright vs dark clips) fit them."""
    cfg = zoo.resolve("vgan", "tiny")
    d = vgan.VGANDiscriminator(cfg)
    model = vgan.DiscriminatorClassifier(d, num_classes=2)
    videos = np.concatenate([np.full([8, cfg.frames, cfg.size, cfg.size, 3], v, np.float32) for v in (-0.8, 0.8)])
    videos += np.random.default_rng(0).normal(scale=0.1, size=videos.shape).astype(np.float32)
    labels = np.repeat([0, 1], 8)
    assert probes.predict(model, videos[:3]).shape == (3, 2)
    before = [w.numpy().copy() for w in d.trainable_weights]
    probes.fine_tune(model, videos, labels, steps=30, batch_size=8, learning_rate=1e-3)
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, d.trainable_weights))
    assert probes.accuracy(model, videos, labels) == 1.0
    with pytest.raises(ValueError, match="as many labels as clips"):
        probes.fine_tune(model, videos, labels[:3], steps=1)


def test_labelled_clips_refuses_unlabelled_data():
    ds = tf.data.Dataset.from_tensor_slices(
        {"video": np.zeros([3, 2, 4, 4, 3], np.float32), "label": np.array([-1, -1, -1], np.int32)}
    )
    with pytest.raises(ValueError, match="no labels"):
        probes.labelled_clips(ds, 2)
    with pytest.raises(ValueError, match="fewer than 5"):
        probes.labelled_clips(ds, 5)
