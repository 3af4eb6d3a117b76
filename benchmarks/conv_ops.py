"""Every exact implementation of the zoo's stride-2 convolutions, timed on this machine.

    python benchmarks/conv_ops.py [--batches=1,8,16] [--reps=3]

Prints one JSON line per (layer, batch): the forward and forward+backward seconds (best
of ``--reps`` after a warm-up; the gradient is taken with respect to the input and the
kernel) of every implementation in ``zoo.layers.STRIDE2_IMPLS`` (``keras``: the ops of
Keras' Conv3D / Conv3DTranspose; ``stride1``: the exact stride-1 rewrite), the largest
difference of their outputs, and what ``conv_impl="auto"`` runs for training and for
inference (the same measurement, ``zoo.autotune.measure``, without its give-up rule).
The shapes are the 3D layers of VGAN's ``small`` preset.
"""

import argparse
import json

import numpy as np
import tensorflow as tf

from zoo import autotune
from zoo.layers import STRIDE2_IMPLS

SHAPES = (
    ("up", [4, 8, 8, 64], 32),
    ("up", [8, 16, 16, 32], 3),
    ("down", [16, 32, 32, 3], 32),
    ("down", [8, 16, 16, 32], 64),
)


def compare(direction, x_shape, filters, reps):
    cin = x_shape[-1]
    kernel = [4, 4, 4] + ([cin, filters] if direction == "down" else [filters, cin])
    fns = STRIDE2_IMPLS[direction]
    out = {"bench": "conv3d_stride2", "kind": direction, "input": x_shape, "filters": filters}
    for mode in autotune.MODES:
        seconds = autotune.measure(fns, x_shape, kernel, "float32", mode, reps, give_up=None)  # time all fully
        for name, t in seconds.items():
            out[f"{name}_{mode}_sec"] = t
        out[f"auto_{mode}"] = autotune.fastest(seconds, list(fns))
    x = tf.random.stateless_normal(x_shape, [1, 2])
    k = tf.random.stateless_normal(kernel, [3, 4])
    ys = [fn(x, k).numpy() for fn in fns.values()]
    out["max_abs_diff"] = float(max(np.max(np.abs(y - ys[0])) for y in ys))
    out["keras_over_stride1_forward_backward"] = round(
        out["keras_forward_backward_sec"] / out["stride1_forward_backward_sec"], 2
    )
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="1,8,16")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    for b in (int(s) for s in a.batches.split(",")):
        for direction, shape, filters in SHAPES:
            print(json.dumps(compare(direction, [b] + shape, filters, a.reps)), flush=True)


if __name__ == "__main__":
    main()
