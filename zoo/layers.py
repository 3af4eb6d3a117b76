"""Layers and layer factories shared by the zoo's networks."""
from __future__ import annotations

import keras
import tensorflow as tf


def normal_init(stddev: float, seed: int | None = None) -> keras.initializers.Initializer:
    """Zero-mean Gaussian weights (VGAN: stddev 0.01; DCGAN/TGAN: 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev, seed=seed)


def batch_norm(name: str | None = None, epsilon: float = 1e-5, gamma_stddev: float | None = None,
               **kwargs) -> keras.layers.BatchNormalization:
    """Batch normalization whose statistics agree across replicas.

    ``synchronized=True`` all-reduces the batch mean and variance under a
    ``tf.distribute`` strategy, so N replicas of batch B normalise exactly like
    one device with batch N*B (required for the strategy-equivalence test).
    Momentum and epsilon follow Torch's defaults (0.1 -> Keras 0.9, 1e-5), which
    the DCGAN-family reference code used; ``gamma_stddev`` draws gamma from
    N(1, gamma_stddev) as that code initialised it.
    """
    init = "ones" if gamma_stddev is None else keras.initializers.RandomNormal(1.0, gamma_stddev)
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=epsilon, synchronized=True,
                                           gamma_initializer=init, name=name, **kwargs)
