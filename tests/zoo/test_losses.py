"""The adversarial loss families against their textbook formulas."""

import numpy as np
import pytest
import tensorflow as tf

from zoo import losses


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


REAL = np.array([[2.0], [-0.5], [0.3]], np.float32)
FAKE = np.array([[-1.0], [0.7], [-3.0]], np.float32)


def test_minimax_is_equation_1():
    fam = losses.get("minimax")
    want_d = -np.log(_sigmoid(REAL[:, 0])) - np.log(1 - _sigmoid(FAKE[:, 0]))
    np.testing.assert_allclose(fam.discriminator(REAL, FAKE).numpy(), want_d, rtol=1e-5)
    # G minimises log(1 - D(G(z))) (saturating)
    np.testing.assert_allclose(fam.generator(FAKE).numpy(), np.log(1 - _sigmoid(FAKE[:, 0])), rtol=1e-5)


def test_non_saturating_generator():
    fam = losses.get("non_saturating")
    np.testing.assert_allclose(fam.generator(FAKE).numpy(), -np.log(_sigmoid(FAKE[:, 0])), rtol=1e-5)
    np.testing.assert_allclose(
        fam.discriminator(REAL, FAKE).numpy(), losses.get("minimax").discriminator(REAL, FAKE).numpy()
    )


def test_stable_for_extreme_logits():
    big = tf.constant([[100.0], [-100.0]])
    for name in ("minimax", "non_saturating"):
        fam = losses.get(name)
        d, g = fam.discriminator(big, -big).numpy(), fam.generator(big).numpy()
        assert np.all(np.isfinite(d)) and np.all(np.isfinite(g))
    # a confident wrong discriminator pays ~|logit|, not inf
    np.testing.assert_allclose(losses.get("minimax").discriminator(big, -big).numpy(), [0.0, 200.0], atol=1e-4)


def test_hinge_and_wasserstein():
    hinge = losses.get("hinge")
    np.testing.assert_allclose(
        hinge.discriminator(REAL, FAKE).numpy(),
        np.maximum(0, 1 - REAL[:, 0]) + np.maximum(0, 1 + FAKE[:, 0]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(hinge.generator(FAKE).numpy(), -FAKE[:, 0])
    w = losses.get("wasserstein")
    np.testing.assert_allclose(w.discriminator(REAL, FAKE).numpy(), FAKE[:, 0] - REAL[:, 0])
    np.testing.assert_allclose(w.generator(FAKE).numpy(), -FAKE[:, 0])


def test_per_example_averages_non_batch_axes():
    x = tf.reshape(tf.range(12, dtype=tf.float32), [2, 3, 2])
    np.testing.assert_allclose(losses.per_example(x).numpy(), [2.5, 8.5])
    assert losses.get("hinge").discriminator(tf.zeros([4, 2, 3]), tf.zeros([4, 2, 3])).shape == (4,)


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown adversarial loss 'lsgan'; expected one of \['hinge'"):
        losses.get("lsgan")
