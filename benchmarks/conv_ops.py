"""Why zoo.layers has UpConv / DownConv: Keras' stride-2 3D convolutions vs the stride-1 rewrites.

    python benchmarks/conv_ops.py [--batch=16] [--reps=3]

Prints one JSON line per (layer, shape): forward and forward+backward seconds
(median of ``--reps`` after a warm-up) of ``keras.layers.Conv3D`` /
``Conv3DTranspose`` (kernel 4, stride 2, "same") and of ``zoo.layers.DownConv``
/ ``UpConv`` with the same weights, and the largest output difference.
The shapes are layers of VGAN's ``small`` preset.
"""
import argparse
import json
import keras
import numpy as np
import tensorflow as tf

from vgan_bench import _median_time as _time  # this folder is on sys.path when run as a script
from zoo.layers import DownConv, UpConv


def compare(kind, x_shape, filters, reps):
    x = tf.random.normal(x_shape)
    if kind == "down":
        ref, ours = keras.layers.Conv3D(filters, 4, strides=2, padding="same", use_bias=False), \
            DownConv(3, filters, use_bias=False)
    else:
        ref, ours = keras.layers.Conv3DTranspose(filters, 4, strides=2, padding="same", use_bias=False), \
            UpConv(3, filters, use_bias=False)
    ref.build(x.shape)
    ours.build(x.shape)
    ours.kernel.assign(ref.kernel)
    out = {"bench": "conv3d_stride2", "kind": kind, "input": list(x_shape), "filters": filters}
    for name, layer in (("keras", ref), ("zoo", ours)):
        fwd = tf.function(lambda: layer(x))

        @tf.function
        def fwd_bwd():
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, layer.kernel])
        out[f"{name}_forward_sec"] = round(_time(lambda: fwd().numpy(), reps), 4)
        out[f"{name}_forward_backward_sec"] = round(_time(lambda: [g.numpy() for g in fwd_bwd()], reps), 4)
    out["max_abs_diff"] = float(np.max(np.abs(ref(x).numpy() - ours(x).numpy())))
    out["speedup_forward_backward"] = round(out["keras_forward_backward_sec"] / out["zoo_forward_backward_sec"], 1)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    b = a.batch
    for kind, shape, filters in (("up", [b, 4, 8, 8, 64], 32), ("up", [b, 8, 16, 16, 32], 3),
                                 ("down", [b, 16, 32, 32, 3], 32), ("down", [b, 8, 16, 16, 32], 64)):
        print(json.dumps(compare(kind, shape, filters, a.reps)), flush=True)


if __name__ == "__main__":
    main()
