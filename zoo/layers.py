"""Layers and layer factories shared by the zoo's networks."""

from __future__ import annotations

import contextlib
import math

import keras
import tensorflow as tf

from zoo import autotune


class Network(keras.Model):
    """The base of the papers' subclassed networks: built by one eager call on zeros (batch 1),
    so that its sub-layers create their weights inside its name scope (saved variable names,
    what hub modules and checkpoint keys keep, are then unique paths such as
    ``frame_generator/gf_bn0/gamma``), and able to list its weighted layers' output shapes
    (:meth:`layer_shapes`, what the papers' architecture tables are tested against) when its
    ``call(x, ..., trace=None)`` appends ``(layer name, output shape)`` to ``trace`` (:func:`traced`)."""

    def build(self, input_shape):
        self.call(tf.zeros([1] + list(input_shape[1:])))  # creates every weight

    def layer_shapes(self, x) -> list:
        """(layer name, output shape) for every weighted layer, in order."""
        trace: list = []
        self.call(x, trace=trace)
        return trace


def traced(trace, name: str, x):
    """``x``, after appending ``(name, its shape)`` to ``trace`` (a list, or None: no tracing)."""
    if trace is not None:
        trace.append((name, tuple(x.shape)))
    return x


def normal_init(stddev: float, seed: int | None = None) -> keras.initializers.Initializer:
    """Zero-mean Gaussian weights (VGAN: stddev 0.01; DCGAN/TGAN: 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev, seed=seed)


def batch_norm(
    name: str | None = None, epsilon: float = 1e-5, gamma_stddev: float | None = None, **kwargs
) -> keras.layers.BatchNormalization:
    """Batch normalization whose statistics agree across replicas.

    ``synchronized=True`` all-reduces the batch mean and variance under a
    ``tf.distribute`` strategy, so N replicas of batch B normalise exactly like
    one device with batch N*B (required for the strategy-equivalence test).
    Momentum and epsilon follow Torch's defaults (0.1 -> Keras 0.9, 1e-5), which
    the DCGAN-family reference code used; ``gamma_stddev`` draws gamma from
    N(1, gamma_stddev) as that code initialised it.
    """
    init = "ones" if gamma_stddev is None else keras.initializers.RandomNormal(1.0, gamma_stddev)
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=epsilon, synchronized=True, gamma_initializer=init, name=name, **kwargs
    )


@contextlib.contextmanager
def unsynchronized_batch_norm(*networks):
    """While in the block, the synchronized batch norms of ``networks`` (Keras layers; other
    objects are ignored) compute plain per-call moments; their flag comes back afterwards.

    For tracing exports: outside ``strategy.run`` the all-reduce of a synchronized batch norm
    is the default replica context's identity, so the traced graph computes the same batch
    statistics without it. That identity carries a custom gradient whose gradient function
    calls it again, and a SavedModel keeps only the first level: loading printed one
    "unsaved custom gradients" warning per batch norm about second-order gradients."""
    found = [
        layer
        for network in networks
        if isinstance(network, keras.layers.Layer)
        for layer in network._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.synchronized
    ]
    for layer in found:
        layer.synchronized = False
    try:
        yield
    finally:
        for layer in found:
            layer.synchronized = True


# ---------------------------------------------------------------------------
# Stride-2, kernel-4 convolutions ("same" padding), rank 1, 2 or 3, in three
# exact implementations of one function:
#
# ``"keras"``: the ops Keras' Conv{1,2,3}D / Conv{1,2,3}DTranspose layers run
# (``tf.nn.convolution`` with stride 2, ``tf.nn.conv_transpose``).
# ``"stride1"``: the same function as a stride-1 2x2(x2) convolution on a
# space-to-depth (down) or depth-to-space (up) rearrangement.
# ``"auto"`` (the zoo's default): each layer measures both, forward and
# forward+backward, for its own input shape, batch and dtype on the machine it
# runs on (zoo.autotune, cached on disk) and uses the faster one: the training
# step the forward+backward winner, inference the forward winner. With an
# unknown batch (a served signature) it measures the batches BATCH_BUCKETS and
# switches inside the graph on the batch of each call. A layer traced with
# another size unknown (nothing to measure) runs Keras' ops, which take any size.
#
# Why: which one is faster depends on the CPU, the shape and the batch. On an
# AVX-512 machine TF 2.21's strided 3D convolution gradients and transposed
# convolutions took a path ~100x slower than a stride-1 convolution
# (conv3d_transpose 1.14 s vs conv3d 0.011 s on [16,4,8,8,64]); on an AVX2
# machine Keras' layers won at batch >= 8 and lost 3-170x below it; on a Zen 4
# machine Keras' won the VGAN ``small`` step 2.3x (BUILD_NOTES.md).
# Every implementation keeps Keras' kernel shapes and weight names (ConvND:
# [4]*rank + [in, out]; ConvNDTranspose: [4]*rank + [out, in]), so checkpoints
# and exports are interchangeable whatever each layer chose.
#
# 1-D derivation of the rewrite (TF "SAME", k=4, s=2, one pad before and after):
#   down: y[i] = sum_k x[2i+k-1] w[k]; with xp = pad(x, 1) in blocks of two,
#         y[i] = sum_{t,p in {0,1}} block(xp, i+t)[p] w[2t+p].
#   up:   out[2m] = x[m-1] w[3] + x[m] w[1],  out[2m+1] = x[m] w[2] + x[m+1] w[0];
#         with xp = pad(x, 1), phase a of out[2m+a] is a 2-tap conv of xp at m+a
#         with taps w[_UP_TAPS[a]].
# ---------------------------------------------------------------------------
CONV_IMPLS = ("auto", "keras", "stride1")
# Batches measured for a layer traced with an unknown batch; a call of batch b
# uses the nearest one on a log scale (boundaries at the geometric midpoints).
BATCH_BUCKETS = (1, 4, 16, 64)
_UP_TAPS = ((3, 1), (2, 0))


def check_conv_impl(impl: str, where: str = "") -> None:
    """``ValueError`` (its message starting with ``where``, e.g. ``"VGANConfig: "``) for an unknown impl."""
    if impl not in CONV_IMPLS:
        raise ValueError(f"{where}conv_impl must be one of {CONV_IMPLS}, got {impl!r}")


def down_conv(
    rank: int, filters: int, impl: str = "auto", use_bias: bool = True, kernel_initializer="glorot_uniform", **kwargs
) -> keras.layers.Layer:
    """``Conv{rank}D(filters, 4, strides=2, padding="same")`` in the chosen implementation."""
    return DownConv(rank, filters, impl=impl, use_bias=use_bias, kernel_initializer=kernel_initializer, **kwargs)


def up_conv(
    rank: int, filters: int, impl: str = "auto", use_bias: bool = True, kernel_initializer="glorot_uniform", **kwargs
) -> keras.layers.Layer:
    """``Conv{rank}DTranspose(filters, 4, strides=2, padding="same")`` in the chosen implementation."""
    return UpConv(rank, filters, impl=impl, use_bias=use_bias, kernel_initializer=kernel_initializer, **kwargs)


_DATA_FORMATS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}  # explicit: eager gradients of Conv3D need the attribute


def _valid_conv(x, kernel):
    return tf.nn.convolution(x, kernel, padding="VALID", data_format=_DATA_FORMATS[x.shape.rank - 2])


def _down_keras(x, kernel):
    return tf.nn.convolution(x, kernel, strides=2, padding="SAME", data_format=_DATA_FORMATS[x.shape.rank - 2])


def _up_keras(x, kernel):
    shape = tf.shape(x)
    rank = x.shape.rank - 2
    out_shape = tf.stack([shape[0]] + [2 * shape[1 + d] for d in range(rank)] + [kernel.shape[-2]])
    y = tf.nn.conv_transpose(x, kernel, out_shape, strides=2, padding="SAME", data_format=_DATA_FORMATS[rank])
    return tf.ensure_shape(y, [x.shape[0]] + [None if s is None else 2 * s for s in x.shape[1:-1]] + [kernel.shape[-2]])


def _down_stride1(x, kernel):
    r = x.shape.rank - 2
    shape = tf.shape(x)
    cin, cout = x.shape[-1], kernel.shape[-1]
    xp = tf.pad(x, [[0, 0]] + [[1, 1]] * r + [[0, 0]])
    n = [(shape[1 + d] + 2) // 2 for d in range(r)]  # blocks per dimension
    # space-to-depth: [B, 2N1, (2N2, 2N3), C] -> [B, N1, (N2, N3), 2^r*C]
    split = [shape[0]]
    for d in range(r):
        split += [n[d], 2]
    xb = tf.reshape(xp, split + [cin])
    perm = [0] + [1 + 2 * d for d in range(r)] + [2 + 2 * d for d in range(r)] + [1 + 2 * r]
    xb = tf.reshape(tf.transpose(xb, perm), [shape[0]] + n + [(2**r) * cin])
    # kernel [4]*r + [in, out] -> [2]*r (t) + [2]*r (p) + [in, out] -> [2]*r + [2^r*in, out]
    k = tf.reshape(kernel, [2, 2] * r + [cin, cout])
    kperm = [2 * d for d in range(r)] + [2 * d + 1 for d in range(r)] + [2 * r, 2 * r + 1]
    k = tf.reshape(tf.transpose(k, kperm), [2] * r + [(2**r) * cin, cout])
    y = _valid_conv(xb, k)
    return tf.ensure_shape(y, [x.shape[0]] + [None if s is None else s // 2 for s in x.shape[1:-1]] + [cout])


def _up_phase_kernel(kernel, r, cin, cout):
    k = kernel
    # Along each 4-wide axis, phase a takes taps _UP_TAPS[a] = (3 - a, 1 - a), i.e. k[3-a::-2].
    # Strided slices (not tf.gather) keep the kernel's gradient dense.
    for d in range(r):  # axis 2d is the d-th 4-wide axis after earlier splits -> [phase, tap]
        phases = []
        for a in range(2):
            sl = [slice(None)] * len(k.shape)
            sl[2 * d] = slice(_UP_TAPS[a][0], None, -2)
            phases.append(k[tuple(sl)])
        k = tf.stack(phases, axis=2 * d)
    # k: [a1, t1, (a2, t2, a3, t3), out, in] -> [t..., in, a..., out]
    perm = [2 * d + 1 for d in range(r)] + [2 * r + 1] + [2 * d for d in range(r)] + [2 * r]
    return tf.reshape(tf.transpose(k, perm), [2] * r + [cin, (2**r) * cout])


def _up_stride1(x, kernel):
    r = x.shape.rank - 2
    cin, cout = x.shape[-1], kernel.shape[-2]
    shape = tf.shape(x)
    n = [shape[1 + d] for d in range(r)]
    xp = tf.pad(x, [[0, 0]] + [[1, 1]] * r + [[0, 0]])
    c = _valid_conv(xp, _up_phase_kernel(kernel, r, cin, cout))  # [B, n+1..., 2^r*out]
    c = tf.reshape(c, [shape[0]] + [m + 1 for m in n] + [2] * r + [cout])
    # Phase a of dimension d reads position m + a: shift phase 1 by one.
    for d in range(r):
        axis, phase_axis = 1 + d, 1 + r + d
        lo = tf.gather(tf.gather(c, tf.range(n[d]), axis=axis), [0], axis=phase_axis)
        hi = tf.gather(tf.gather(c, tf.range(1, n[d] + 1), axis=axis), [1], axis=phase_axis)
        c = tf.concat([lo, hi], axis=phase_axis)
    # [B, n1.., a1.., out] -> [B, n1, a1, n2, a2, ..., out] -> [B, 2n1, 2n2, ..., out]
    perm = [0]
    for d in range(r):
        perm += [1 + d, 1 + r + d]
    perm.append(1 + 2 * r)
    out = tf.reshape(tf.transpose(c, perm), [shape[0]] + [2 * m for m in n] + [cout])
    return tf.ensure_shape(out, [x.shape[0]] + [None if s is None else 2 * s for s in x.shape[1:-1]] + [cout])


STRIDE2_IMPLS = {
    "down": {"keras": _down_keras, "stride1": _down_stride1},
    "up": {"keras": _up_keras, "stride1": _up_stride1},
}


# Where a call's batch moves to the next bucket: the geometric midpoints (2, 8, 32).
_BUCKET_CUTS = [int(math.ceil(math.sqrt(a * b))) for a, b in zip(BATCH_BUCKETS, BATCH_BUCKETS[1:])]


def stride2_conv(direction: str, x, kernel, impl: str = "auto", training=None, choices: dict | None = None):
    """``x`` through the stride-2 kernel-4 "same" convolution (``direction`` "down") or its
    transpose ("up") with ``kernel`` in Keras' layout, by ``impl`` (see above).

    ``training`` picks what "auto" optimizes: the forward+backward time (True) or the
    forward time. ``choices``, if given, receives what "auto" chose, keyed by
    ``"<mode> batch=<b>"`` (``b`` a bucket's batch when the traced batch is unknown).
    """
    check_conv_impl(impl)
    fns = STRIDE2_IMPLS[direction]
    # Keras' ops, whatever was asked, where the rewrite cannot run (its blocks need even sizes,
    # and Keras' "same" pads an odd size unevenly: e.g. MVT's last temporal layer on one frame)
    # and where "auto" has nothing to measure (a size other than the batch known only when called).
    odd = direction == "down" and any(s is not None and s % 2 for s in x.shape[1:-1])
    if odd or (impl == "auto" and any(s is None for s in x.shape[1:])):
        return fns["keras"](x, kernel)
    if impl != "auto":
        return fns[impl](x, kernel)
    mode = "forward_backward" if training else "forward"
    op = f"conv{x.shape.rank - 2}d_{'transpose_' if direction == 'up' else ''}stride2_k4_same"

    def pick(batch, prefer=None):
        name, _ = autotune.choose(
            op, fns, [batch] + list(x.shape[1:]), list(kernel.shape), kernel.dtype.name, mode, prefer
        )
        if choices is not None:
            choices[f"{mode} batch={batch}"] = name
        return name

    if x.shape[0] is not None:
        return fns[pick(int(x.shape[0]))](x, kernel)
    names = []
    for b in BATCH_BUCKETS:  # a near-tie keeps the previous bucket's implementation: fewer switches
        names.append(pick(b, names[-1] if names else None))
    segments, cuts = [names[0]], []  # runs of buckets that chose the same implementation
    for cut, name in zip(_BUCKET_CUTS, names[1:]):
        if name != segments[-1]:
            segments.append(name)
            cuts.append(cut)
    if len(segments) == 1:
        return fns[segments[0]](x, kernel)
    batch = tf.shape(x)[0]
    index = tf.add_n([tf.cast(batch >= c, tf.int32) for c in cuts])
    return tf.switch_case(index, [lambda name=name: fns[name](x, kernel) for name in segments])


class ChoosesConv:
    """A layer whose stride-2 convolutions run :func:`stride2_conv` in ``impl``; ``conv_choices``
    holds what "auto" chose (:func:`conv_choices` collects them)."""

    def _set_conv_impl(self, impl: str) -> None:
        check_conv_impl(impl)
        self.impl = impl
        self.conv_choices: dict = {}


class _Stride2Conv(ChoosesConv, keras.layers.Layer):
    def __init__(
        self,
        rank: int,
        filters: int,
        impl: str = "auto",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if rank not in (1, 2, 3):
            raise ValueError(f"rank must be 1, 2 or 3, got {rank}")
        self._set_conv_impl(impl)
        self.rank = rank
        self.filters = int(filters)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        cin = input_shape[-1]
        shape = (4,) * self.rank + ((cin, self.filters) if self.direction == "down" else (self.filters, cin))
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x, training=None):
        y = stride2_conv(self.direction, x, tf.cast(self.kernel, x.dtype), self.impl, training, self.conv_choices)
        return y + tf.cast(self.bias, y.dtype) if self.use_bias else y

    def compute_output_shape(self, input_shape):
        scale = (lambda s: s // 2) if self.direction == "down" else (lambda s: s * 2)
        spatial = [None if s is None else scale(s) for s in input_shape[1:-1]]
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "rank": self.rank,
            "filters": self.filters,
            "impl": self.impl,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="zoo")
class DownConv(_Stride2Conv):
    """``Conv{1,2,3}D(filters, 4, strides=2, padding="same")``; kernel [4]*rank + [in, out] as Keras'.

    Odd spatial sizes run Keras' ops whatever ``impl`` says (the rewrite needs even ones).
    """

    direction = "down"


@keras.saving.register_keras_serializable(package="zoo")
class UpConv(_Stride2Conv):
    """``Conv{1,2,3}DTranspose(filters, 4, strides=2, padding="same")``; kernel [4]*rank + [out, in]."""

    direction = "up"


def conv_choices(model: keras.layers.Layer) -> dict:
    """What every "auto" stride-2 convolution under ``model`` chose so far, by the path of its
    kernel: ``{"video_generator/fg_deconv1": {"forward_backward batch=16": "keras", ...}}``."""
    out = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, ChoosesConv) and layer.conv_choices:
            out[layer.kernel.path.rsplit("/", 1)[0]] = dict(sorted(layer.conv_choices.items()))
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------
# Spectral normalization (Miyato et al. 2018), the BigGAN/SAGAN building blocks
# and the temporal shift (Lin et al. 2019): the MVT-GAN networks (zoo/mvt.py).
# ---------------------------------------------------------------------------
def _l2_normalize(x, eps=1e-12):
    return x / (tf.norm(x) + eps)


class _SpectralNormalized(keras.layers.Layer):
    """A layer whose kernel is used as ``W / sigma(W)``, ``sigma`` from one power iteration.

    As ``torch.nn.utils.spectral_norm`` (what SAGAN/BigGAN/MVT's code uses), not
    Keras' ``SpectralNormalization`` wrapper, which overwrites the kernel with its
    normalized value and passes no gradient through sigma: here the kernel is
    stored raw, the gradient flows through ``W / sigma(W)`` (u and v held
    constant), and the power-iteration vector ``u`` (one per layer, shape
    [1, out]) is updated only in training. The kernel is read as a matrix
    ``[-1, out]``. Under a ``tf.distribute`` strategy every replica computes the
    same ``u`` from the same weights; its variable is mean-aggregated.
    """

    def _add_spectral_vector(self, out_dim: int) -> None:
        self.sn_u = self.add_weight(
            name="sn_u",
            shape=(1, out_dim),
            trainable=False,
            aggregation="mean",
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
        )

    def sigma(self, kernel=None, training=False) -> tf.Tensor:
        """The spectral-norm estimate of the kernel (updates ``u`` when ``training``)."""
        kernel = self.kernel if kernel is None else kernel
        w = tf.reshape(tf.cast(kernel, tf.float32), [-1, kernel.shape[-1]])
        u = tf.cast(self.sn_u, tf.float32)
        v = tf.stop_gradient(_l2_normalize(tf.matmul(u, w, transpose_b=True)))
        u = tf.stop_gradient(_l2_normalize(tf.matmul(v, w)))
        if training:
            self.sn_u.assign(u)
        return tf.reshape(tf.matmul(tf.matmul(v, w), u, transpose_b=True), [])

    def normalized_kernel(self, training=False) -> tf.Tensor:
        return self.kernel / tf.cast(self.sigma(training=training), self.kernel.dtype)


class SNDense(_SpectralNormalized):
    """``Dense(units)`` with a spectrally normalized kernel. Xavier-uniform init (as the MVT code)."""

    def __init__(self, units: int, use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.use_bias = use_bias

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None
        self._add_spectral_vector(self.units)

    def call(self, x, training=False):
        y = tf.tensordot(x, tf.cast(self.normalized_kernel(training), x.dtype), 1)
        return y + tf.cast(self.bias, y.dtype) if self.use_bias else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


class SNConv(ChoosesConv, _SpectralNormalized):
    """``Conv{1,2,3}D(filters, kernel_size, strides, padding)`` with a spectrally normalized kernel.

    The kernel-4 stride-2 "same" case runs through :func:`stride2_conv` in ``impl``
    (default "auto": the faster exact implementation, measured).
    """

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "same",
        use_bias: bool = True,
        impl: str = "auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_conv_impl(impl)
        if rank not in (1, 2, 3):
            raise ValueError(f"SNConv: rank must be 1, 2 or 3, got {rank}")
        self.rank = rank
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, rank)
        self.strides = _tuple(strides, rank)
        self.padding = padding.upper()
        self.use_bias = use_bias

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (input_shape[-1], self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None
        self._add_spectral_vector(self.filters)

    def call(self, x, training=False):
        k = tf.cast(self.normalized_kernel(training), x.dtype)
        strides = (1,) + self.strides + (1,)
        if self.kernel_size == (4,) * self.rank and self.strides == (2,) * self.rank and self.padding == "SAME":
            y = stride2_conv("down", x, k, self.impl, training, self.conv_choices)
        elif self.rank == 1:
            y = tf.nn.conv1d(x, k, strides[1], self.padding)
        elif self.rank == 2:
            y = tf.nn.conv2d(x, k, strides, self.padding)
        else:
            y = tf.nn.conv3d(x, k, strides, self.padding)
        return y + tf.cast(self.bias, y.dtype) if self.use_bias else y


def _tuple(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


class SNEmbedding(_SpectralNormalized):
    """``Embedding(num, dim)`` with a spectrally normalized table (the MVT code's ``sn_embedding``).

    ``call(ids)`` looks rows up; ``table(training)`` is the normalized table, e.g. for
    interpolating two class embeddings.
    """

    def __init__(self, num: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.num, self.dim = int(num), int(dim)

    def build(self, input_shape=None):
        self.kernel = self.add_weight(name="embeddings", shape=(self.num, self.dim), initializer="glorot_uniform")
        self._add_spectral_vector(self.dim)

    def table(self, training=False):
        return self.normalized_kernel(training)

    def call(self, ids, training=False):
        return tf.gather(self.table(training), tf.cast(ids, tf.int32))


class ConditionalBatchNorm(keras.layers.Layer):
    """BigGAN's conditional batch norm: ``BN(x) * (1 + gain(c)) + bias(c)`` (MVT section 4.1.3).

    Batch norm without its own scale/offset (synchronized across replicas); the
    per-example gain and bias are spectrally normalized linear maps of the
    condition ``c`` [N, d] (MVT: the frame code Z_F = [z_gru, e(y)]).
    Momentum 0.999 (the MVT code's PyTorch momentum 0.001).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bn = keras.layers.BatchNormalization(
            momentum=0.999, epsilon=1e-5, center=False, scale=False, synchronized=True, name="bn"
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gain = SNDense(channels, name="gain")
        self.bias = SNDense(channels, name="bias")

    def call(self, x, condition, training=False):
        h = self.bn(x, training=training)
        shape = [-1] + [1] * (x.shape.rank - 2) + [x.shape[-1]]
        gain = tf.reshape(self.gain(condition, training=training), shape)
        bias = tf.reshape(self.bias(condition, training=training), shape)
        return h * (1.0 + tf.cast(gain, h.dtype)) + tf.cast(bias, h.dtype)


class SelfAttention2D(keras.layers.Layer):
    """SAGAN's self-attention (Zhang et al. 2019) on [N, H, W, C] maps, as BigGAN/MVT use it.

    theta (C/8), phi (C/8, 2x2 max-pooled), g (C/2, pooled), softmax over the
    pooled positions, an output 1x1 conv back to C, all spectrally normalized,
    and ``x + sigma * attention`` with a learned ``sigma`` that starts at 0.
    H and W must be even.
    """

    def build(self, input_shape):
        c = int(input_shape[-1])
        if c < 8:
            raise ValueError(f"SelfAttention2D: expected at least 8 channels, got {c}")
        self.theta = SNConv(2, c // 8, 1, use_bias=False, name="theta")
        self.phi = SNConv(2, c // 8, 1, use_bias=False, name="phi")
        self.g = SNConv(2, c // 2, 1, use_bias=False, name="g")
        self.out = SNConv(2, c, 1, use_bias=False, name="out")
        self.sigma_gain = self.add_weight(name="sigma", shape=(), initializer="zeros")

    def call(self, x, training=False):
        shape = tf.shape(x)
        n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
        theta = tf.reshape(self.theta(x, training=training), [n, h * w, c // 8])
        pool = lambda t: tf.nn.max_pool2d(t, 2, 2, "VALID")  # noqa: E731
        phi = tf.reshape(pool(self.phi(x, training=training)), [n, -1, c // 8])
        g = tf.reshape(pool(self.g(x, training=training)), [n, -1, c // 2])
        attn = tf.nn.softmax(tf.matmul(theta, phi, transpose_b=True), axis=-1)  # [N, HW, HW/4]
        o = tf.reshape(tf.matmul(attn, g), [n, h, w, c // 2])
        return x + tf.cast(self.sigma_gain, x.dtype) * self.out(o, training=training)


SHIFT_PADDINGS = ("zeros", "replicate")


def temporal_shift(x, frames: int, fold_div: int = 3, padding: str = "zeros") -> tf.Tensor:
    """Lin et al.'s temporal shift (TSM) on per-frame maps ``x`` [B*T, H, W, C] (T = ``frames``).

    With ``fold = C // fold_div``: channels ``[0, fold)`` of frame t take frame t+1's
    (shifted back in time), channels ``[fold, 2 fold)`` take frame t-1's (shifted
    forward); the rest are unchanged. Differentiable, no weights. As MVT's TSA blocks
    (section 4.1.3, Figure 4b) and their code's ``shift(..., fold_div)``.

    ``padding`` fills the missing neighbour of the first and last frame: ``"zeros"``
    (TSM and the MVT code), or ``"replicate"``, the frame's own channels, so that a
    video whose frames are all equal stays so. With zeros the two end frames see
    another input than the rest even for a still video, and a trained generator's
    first and last frames jumped (BUILD_NOTES.md, "The trained zoo").
    """
    if padding not in SHIFT_PADDINGS:
        raise ValueError(f"temporal_shift: padding must be one of {SHIFT_PADDINGS}, got {padding!r}")
    c = x.shape[-1]
    fold = c // int(fold_div)
    shape = tf.shape(x)
    v = tf.reshape(x, tf.concat([[-1, frames], shape[1:]], 0))  # [B, T, H, W, C]
    if padding == "zeros":
        after = before = tf.zeros_like(v[:, :1, ..., :fold])
    else:
        after, before = v[:, -1:, ..., :fold], v[:, :1, ..., fold : 2 * fold]
    back = tf.concat([v[:, 1:, ..., :fold], after], axis=1)
    forward = tf.concat([before, v[:, :-1, ..., fold : 2 * fold]], axis=1)
    out = tf.concat([back, forward, v[..., 2 * fold :]], axis=-1)
    return tf.reshape(out, shape)


def video_flow(pair_flow, video) -> tf.Tensor:
    """Applies a pairwise flow estimator ``pair_flow(first, second)`` to consecutive frames:
    video [B, T, H, W, C] -> flows [B, T-1, h, w, 2]."""
    video = tf.cast(video, tf.float32)
    shape = tf.shape(video)
    b, t = shape[0], video.shape[1] or shape[1]
    first = tf.reshape(video[:, :-1], tf.concat([[-1], shape[2:]], 0))
    second = tf.reshape(video[:, 1:], tf.concat([[-1], shape[2:]], 0))
    f = pair_flow(first, second)
    return tf.reshape(f, tf.concat([[b, t - 1], tf.shape(f)[1:]], 0))
