"""The training step under ``tf.distribute`` strategies: how replicas share a global draw,
lay out several real batches, and average over the global batch (``zoo.gan``'s
module docstring, "Distribution")."""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping

import tensorflow as tf


def replica_rows(draw: Callable[[Any], tf.Tensor], local_batch) -> tf.Tensor:
    """``draw(global_batch)`` then keep this replica's rows.

    Every replica computes the same global draw from the same stateless seed
    and slices its own block of ``local_batch`` rows, so replicas never share
    noise and the union over replicas equals a single-device draw.
    """
    ctx = tf.distribute.get_replica_context()
    n = ctx.num_replicas_in_sync if ctx is not None else 1
    if n == 1:
        return draw(local_batch)
    rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    local_batch = tf.cast(local_batch, tf.int32)
    full = draw(local_batch * n)
    return full[rid * local_batch : (rid + 1) * local_batch]


def add_noise(x, stddev: float, seed) -> tf.Tensor:
    """x + N(0, stddev^2): a stateless draw from ``seed`` of which each replica keeps its own rows
    (a discriminator's input noise: TGAN's ``d_noise``, VGAN's instance noise)."""
    shape = tf.shape(x)

    def draw(n):
        return tf.random.stateless_normal(tf.concat([[n], shape[1:]], 0), seed=seed, dtype=x.dtype)

    return x + stddev * replica_rows(draw, shape[0])


def replica_major(batch: Mapping[str, tf.Tensor], chunks: int, replicas: int) -> Dict[str, tf.Tensor]:
    """A global batch of ``chunks`` consecutive real batches, reordered for ``replicas``.

    A distributed dataset gives each replica a contiguous block of the global batch,
    and a training step that consumes several real batches (``real_batches_per_step``)
    splits its replica's block into ``chunks`` contiguous pieces. Reordering rows from
    chunk-major ``[chunk, replica, row]`` to ``[replica, chunk, row]`` makes replica r's
    piece k hold exactly rows r of real batch k, so N replicas see the batches one
    device sees. Identity for one chunk or one replica."""
    if chunks == 1 or replicas == 1:
        return dict(batch)

    def reorder(x):
        x = tf.convert_to_tensor(x)
        rows = tf.reshape(x, tf.concat([[chunks, replicas, -1], tf.shape(x)[1:]], 0))
        perm = [1, 0] + list(range(2, x.shape.rank + 2))
        return tf.reshape(tf.transpose(rows, perm), tf.shape(x))

    return {k: reorder(v) for k, v in batch.items()}


def split_real_batches(data: Mapping[str, tf.Tensor], chunks: int) -> list:
    """``data`` (one replica's rows of ``chunks`` real batches, see :func:`replica_major`)
    as ``chunks`` dicts of equal batch size, in order."""
    if chunks == 1:
        return [dict(data)]
    size = tf.shape(data["video"])[0] // chunks
    return [{k: v[i * size : (i + 1) * size] for k, v in data.items()} for i in range(chunks)]


def global_batch_mean(per_example: tf.Tensor) -> tf.Tensor:
    """The mean of ``per_example`` [..., local batch] over the last axis of the *global* batch:
    all-reduced across replicas under a strategy (the local mean otherwise). No gradient flows
    through it; for statistics a loss is weighted by, e.g. the hypervolume's l_k."""
    x = tf.stop_gradient(tf.cast(per_example, tf.float32))
    total = tf.reduce_sum(x, axis=-1)
    count = tf.cast(tf.shape(x)[-1], tf.float32)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, total)
        count = count * ctx.num_replicas_in_sync
    return total / count
