"""Stateless randomness: every draw of the zoo (latents, noise, clip sampling) derives from
(seed, global step, draw) through these, so a resumed run repeats an uninterrupted one
exactly (``docs/architecture.md``). How replicas split a draw is
``zoo.distribute.replica_rows``."""

from __future__ import annotations

import tensorflow as tf


def draw_latent(distribution: str, shape, seed) -> tf.Tensor:
    """A stateless draw from one of the zoo's latent distributions."""
    seed = as_seed(seed)
    if distribution == "normal":
        return tf.random.stateless_normal(shape, seed=seed, dtype=tf.float32)
    if distribution == "uniform":
        return tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0, dtype=tf.float32)
    raise ValueError(f"unknown latent distribution {distribution!r}; expected 'normal' or 'uniform'")


def as_seed(seed) -> tf.Tensor:
    """An int or a shape-[2] seed -> an int64 shape-[2] stateless seed."""
    if isinstance(seed, (int,)) or (hasattr(seed, "shape") and len(seed.shape) == 0):
        return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.cast(seed, tf.int64)


def fold_in(seed, *data) -> tf.Tensor:
    seed = as_seed(seed)
    for d in data:
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(d, tf.int64))
    return seed
