"""UpConv / DownConv are Keras' stride-2 kernel-4 "same" convolutions, computed another way."""
import numpy as np
import pytest
import keras
import tensorflow as tf

from zoo.layers import DownConv, UpConv, batch_norm


def _pair(rank, transpose, filters, cin):
    if transpose:
        ours = UpConv(rank, filters, use_bias=True)
        ref = (keras.layers.Conv3DTranspose if rank == 3 else keras.layers.Conv2DTranspose)(
            filters, 4, strides=2, padding="same")
    else:
        ours = DownConv(rank, filters, use_bias=True)
        ref = (keras.layers.Conv3D if rank == 3 else keras.layers.Conv2D)(filters, 4, strides=2, padding="same")
    return ours, ref


@pytest.mark.parametrize("rank,transpose,spatial", [
    (2, False, (8, 6)), (3, False, (4, 8, 6)),
    (2, True, (3, 5)), (3, True, (2, 3, 4)), (3, True, (1, 1, 1)),
])
def test_matches_keras_forward_and_gradients(rank, transpose, spatial):
    cin, cout = 3, 5
    ours, ref = _pair(rank, transpose, cout, cin)
    x = tf.random.stateless_normal([2, *spatial, cin], seed=[1, rank])
    ours.build(x.shape)
    ref.build(x.shape)
    assert tuple(ours.kernel.shape) == tuple(ref.kernel.shape)  # weights are interchangeable
    ref.kernel.assign(tf.random.stateless_normal(ref.kernel.shape, seed=[2, rank]))
    ref.bias.assign(tf.random.stateless_normal(ref.bias.shape, seed=[3, rank]))
    ours.set_weights(ref.get_weights())

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y_ours, y_ref = ours(x), ref(x)
        loss_ours = tf.reduce_sum(y_ours * tf.sin(y_ours))
        loss_ref = tf.reduce_sum(y_ref * tf.sin(y_ref))
    assert y_ours.shape == y_ref.shape
    assert tuple(ours.compute_output_shape(x.shape)) == tuple(y_ref.shape)
    np.testing.assert_allclose(y_ours.numpy(), y_ref.numpy(), atol=1e-4, rtol=1e-4)
    for a, b in zip(tape.gradient(loss_ours, [x, ours.kernel, ours.bias]),
                    tape.gradient(loss_ref, [x, ref.kernel, ref.bias])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-3, rtol=1e-3)


def test_unknown_batch_size_traces():
    layer = UpConv(3, 4)
    fn = tf.function(layer, input_signature=[tf.TensorSpec([None, 2, 4, 4, 8], tf.float32)])
    assert fn(tf.zeros([3, 2, 4, 4, 8])).shape == (3, 4, 8, 8, 4)


def test_rank_is_checked():
    with pytest.raises(ValueError, match="rank must be 2 or 3"):
        DownConv(1, 4)


def test_batch_norm_is_synchronized_with_torch_defaults():
    bn = batch_norm("bn", gamma_stddev=0.02)
    bn.build((None, 4))
    assert bn.synchronized and bn.epsilon == 1e-5 and abs(bn.momentum - 0.9) < 1e-9
    gamma = bn.gamma.numpy()
    assert 0.8 < gamma.mean() < 1.2 and gamma.std() > 0
