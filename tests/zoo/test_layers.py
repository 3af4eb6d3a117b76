"""UpConv / DownConv are Keras' stride-2 kernel-4 "same" convolutions, in every implementation."""

import numpy as np
import pytest
import keras
import tensorflow as tf

from zoo import autotune, layers
from zoo.layers import DownConv, UpConv, batch_norm

_KERAS = {
    (False, 1): keras.layers.Conv1D,
    (False, 2): keras.layers.Conv2D,
    (False, 3): keras.layers.Conv3D,
    (True, 1): keras.layers.Conv1DTranspose,
    (True, 2): keras.layers.Conv2DTranspose,
    (True, 3): keras.layers.Conv3DTranspose,
}


def _pair(rank, transpose, filters, cin, impl):
    ours = (UpConv if transpose else DownConv)(rank, filters, impl=impl, use_bias=True)
    return ours, _KERAS[(transpose, rank)](filters, 4, strides=2, padding="same")


@pytest.mark.parametrize("impl", ["keras", "stride1", "auto"])
@pytest.mark.parametrize(
    "rank,transpose,spatial",
    [
        (1, False, (8,)),
        (2, False, (8, 6)),
        (3, False, (4, 8, 6)),
        (1, True, (3,)),
        (2, True, (3, 5)),
        (3, True, (2, 3, 4)),
        (3, True, (1, 1, 1)),
    ],
)
def test_matches_keras_forward_and_gradients(rank, transpose, spatial, impl):
    cin, cout = 3, 5
    ours, ref = _pair(rank, transpose, cout, cin, impl)
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
    for a, b in zip(
        tape.gradient(loss_ours, [x, ours.kernel, ours.bias]), tape.gradient(loss_ref, [x, ref.kernel, ref.bias])
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-3, rtol=1e-3)


@pytest.mark.parametrize("impl", ["keras", "stride1", "auto"])
def test_unknown_batch_size_traces(impl):
    layer = UpConv(3, 4, impl=impl)
    fn = tf.function(layer, input_signature=[tf.TensorSpec([None, 2, 4, 4, 8], tf.float32)])
    assert fn(tf.zeros([3, 2, 4, 4, 8])).shape == (3, 4, 8, 8, 4)


def test_rank_and_impl_are_checked():
    with pytest.raises(ValueError, match="rank must be 1, 2 or 3"):
        DownConv(4, 4)
    with pytest.raises(ValueError, match=r"conv_impl must be one of \('auto', 'keras', 'stride1'\), got 'fft'"):
        UpConv(2, 4, impl="fft")


@pytest.mark.parametrize("impl", ["auto", "stride1"])
def test_odd_sizes_down_run_keras_ops(impl):
    """The rewrite needs even sizes: an odd one runs Keras' ops, whatever was asked."""
    x = tf.random.stateless_normal([2, 5, 6, 3], seed=[4, 5])
    layer, ref = DownConv(2, 4, impl=impl), DownConv(2, 4, impl="keras")
    ref.build(x.shape)
    layer.build(x.shape)
    layer.set_weights(ref.get_weights())
    np.testing.assert_array_equal(layer(x).numpy(), ref(x).numpy())
    assert layer(x).shape == (2, 3, 3, 4) and not layer.conv_choices  # nothing measured


def test_auto_records_its_choice_per_mode_and_batch():
    layer = UpConv(2, 4, impl="auto", name="up")
    model = keras.Sequential([keras.Input((4, 4, 3)), layer])
    model(tf.zeros([3, 4, 4, 3]), training=True)
    model(tf.zeros([2, 4, 4, 3]), training=False)
    ((path, choices),) = layers.conv_choices(model).items()
    assert path.endswith("up")
    assert set(choices) == {"forward_backward batch=3", "forward batch=2"}
    assert set(choices.values()) <= {"keras", "stride1"}


def _graph_ops(concrete):
    return {op.type for op in concrete.graph.get_operations()}


def test_unknown_batch_switches_inside_the_graph(monkeypatch):
    """A trace with an unknown batch chooses per batch bucket: one implementation for batch 1, another
    for 64 (forced here by a fake measurement), with exact outputs and gradients for both."""
    calls = []

    def fake_choose(op, candidates, x_shape, kernel_shape, dtype, mode, prefer=None):
        calls.append(x_shape[0])
        return ("stride1" if x_shape[0] < 16 else "keras"), True

    monkeypatch.setattr(autotune, "choose", fake_choose)
    layer = UpConv(3, 4, impl="auto")
    ref = UpConv(3, 4, impl="keras")
    ref.build([None, 2, 4, 4, 8])
    layer.build([None, 2, 4, 4, 8])
    layer.set_weights(ref.get_weights())
    fn = tf.function(lambda x: layer(x), input_signature=[tf.TensorSpec([None, 2, 4, 4, 8], tf.float32)])
    concrete = fn.get_concrete_function()
    assert sorted(calls) == list(layers.BATCH_BUCKETS)
    assert _graph_ops(concrete) & {"Case", "StatelessCase"}
    assert layer.conv_choices["forward batch=1"] == "stride1" and layer.conv_choices["forward batch=64"] == "keras"
    for batch in (1, 3, 16, 64):
        x = tf.random.stateless_normal([batch, 2, 4, 4, 8], seed=[batch, 0])
        np.testing.assert_allclose(fn(x).numpy(), ref(x).numpy(), atol=1e-4)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            a, b = tf.reduce_sum(tf.sin(layer(x))), tf.reduce_sum(tf.sin(ref(x)))
        np.testing.assert_allclose(
            tape.gradient(a, layer.kernel).numpy(), tape.gradient(b, ref.kernel).numpy(), atol=1e-3
        )


def test_one_choice_for_every_bucket_adds_no_switch(monkeypatch):
    monkeypatch.setattr(autotune, "choose", lambda *a, **k: ("stride1", True))
    layer = DownConv(2, 4, impl="auto")
    fn = tf.function(lambda x: layer(x), input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32)])
    assert not _graph_ops(fn.get_concrete_function()) & {"Case", "StatelessCase"}


def test_batch_norm_is_synchronized_with_torch_defaults():
    bn = batch_norm("bn", gamma_stddev=0.02)
    bn.build((None, 4))
    assert bn.synchronized and bn.epsilon == 1e-5 and abs(bn.momentum - 0.9) < 1e-9
    gamma = bn.gamma.numpy()
    assert 0.8 < gamma.mean() < 1.2 and gamma.std() > 0
