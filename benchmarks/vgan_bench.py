"""VGAN speed and memory on this machine, as JSON lines on stdout.

    python benchmarks/vgan_bench.py                        # paper preset, batch 8 and 16, memory at 64
    python benchmarks/vgan_bench.py --preset=small --batch_sizes=16 --memory_batch=0

Every measurement runs in its own subprocess so that its peak memory
(``ru_maxrss``) is its own. Lines (``"bench"`` says which):

- ``gemm``: the best float32 GEMM throughput of this CPU in this run, from every
  library at hand (``timing.best_gemm``: ``tf.matmul``, the same GEMM as a 1x1
  convolution, numpy's BLAS); ``best_gflops`` is the fastest.
- ``train_step``: seconds per training step (median of ``--steps`` after one
  warm-up step that traces), model FLOPs per step, achieved GFLOP/s and its
  fraction of ``best_gflops``, peak RSS.
- ``generate``: videos/s from Keras (the generator under ``tf.function``) and
  from the exported SavedModel (``hub.load(path)(z)`` and the served
  ``serving_default`` signature, uint8 output), same batch.

Model FLOPs are counted analytically, per layer, as the convolutions the paper
defines (2 x multiply-adds; a transposed convolution costs
``in_voxels * k^3 * c_in * c_out`` MACs, a convolution ``out_voxels * k^3 *
c_in * c_out``), whatever algorithm computes them. One training step costs
3 generator forwards (forward + backward) and 8 discriminator forwards:
real and fake forwards plus their backward (weights and inputs) in the D
update, then the fake forward and an input-only backward in the G update.
Batch norm, activations and the composition are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import best_gemm, interleaved, peak_rss_gib  # noqa: E402


# ------------------------------------------------------------------ FLOPs
def layer_macs(model) -> dict:
    """Multiply-adds per example of every convolution of G and D (model FLOPs = 2 x MACs)."""
    import numpy as np
    import tensorflow as tf

    cfg = model.config

    def macs(network, x, transposed):
        layers = {l.name: l for l in network._flatten_layers(include_self=False, recursive=True)}
        total = 0
        for name, out_shape in network.layer_shapes(x):
            kernel = getattr(layers.get(name), "kernel", None)
            if kernel is None:
                continue
            out_vox = int(np.prod(out_shape[1:-1])) if len(out_shape) > 2 else 1
            if transposed:  # every input voxel scatters a whole kernel
                rank = len(out_shape) - 2
                in_vox = 1 if name.endswith("deconv0") else out_vox // 2**rank  # first layer: 1x1(x1) input
                total += in_vox * int(np.prod(kernel.shape))
            else:
                total += out_vox * int(np.prod(kernel.shape))
        return total

    return {
        "generator": macs(model.generator, tf.zeros([1, cfg.latent_dim]), True),
        "discriminator": macs(model.discriminator, tf.zeros([1, cfg.frames, cfg.size, cfg.size, cfg.channels]), False),
    }


def step_flops(model, batch: int) -> float:
    macs = layer_macs(model)
    return 2.0 * batch * (3 * macs["generator"] + 8 * macs["discriminator"])


# ------------------------------------------------------------- one measurement
def run_gemm(args) -> dict:
    return best_gemm(args.gemm_size)


def run_train(args, batch: int) -> dict:
    import tensorflow as tf
    import zoo

    model = zoo.build("vgan", preset=args.preset, precision=args.precision, conv_impl=args.conv_impl)
    model.compile()
    cfg = model.config
    data = {"video": tf.random.uniform([batch, cfg.frames, cfg.size, cfg.size, cfg.channels], -1.0, 1.0)}
    step = tf.function(model.train_step)
    t = time.perf_counter()
    float(step(data)["d_loss"])
    first = time.perf_counter() - t
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        float(step(data)["d_loss"])
        times.append(time.perf_counter() - t)
    sec = statistics.median(times)
    flops = step_flops(model, batch)
    return {
        "bench": "train_step",
        "model": "vgan",
        "preset": args.preset,
        "precision": args.precision,
        "conv_impl": args.conv_impl,
        "batch": batch,
        "steps_timed": len(times),
        "sec_per_step": round(sec, 3),
        "first_step_sec": round(first, 1),
        "gflop_per_step": round(flops / 1e9, 1),
        "achieved_gflops": round(flops / sec / 1e9, 1),
        "videos_per_sec": round(batch / sec, 2),
        "peak_rss_gib": peak_rss_gib(),
    }


def run_generate(args, batch: int) -> dict:
    import tensorflow as tf
    import export
    import zoo

    model = zoo.build("vgan", preset=args.preset, precision=args.precision, conv_impl=args.conv_impl)
    z = model.sample_latent(batch, 0)
    keras_fn = tf.function(lambda z: model.video_from_latent(z, training=False))
    with tempfile.TemporaryDirectory() as tmp:
        loaded = export.load(export.export_saved_model(model, tmp))
        serve = loaded.signatures["serving_default"]
        candidates = {
            "keras_tf_function": lambda: keras_fn(z).numpy(),
            "keras_eager": lambda: model(z, training=False).numpy(),
            "saved_model_call": lambda: loaded(z).numpy(),
            "saved_model_serving_default": lambda: serve(z=z)["video"].numpy(),
        }
        for fn in candidates.values():
            fn()  # warm-up
        med = {k: sec for k, (sec, _, _) in interleaved(candidates, args.generate_reps).items()}
    t_keras, t_hub, t_sig = med["keras_tf_function"], med["saved_model_call"], med["saved_model_serving_default"]
    t_eager = med["keras_eager"]
    rate = lambda t: round(batch / t, 2)  # noqa: E731
    return {
        "bench": "generate",
        "model": "vgan",
        "preset": args.preset,
        "precision": args.precision,
        "conv_impl": args.conv_impl,
        "batch": batch,
        "keras_tf_function_videos_per_sec": rate(t_keras),
        "keras_eager_videos_per_sec": rate(t_eager),
        "saved_model_call_videos_per_sec": rate(t_hub),
        "saved_model_serving_default_videos_per_sec": rate(t_sig),
        "export_vs_keras": round(t_keras / min(t_hub, t_sig), 3),
        "peak_rss_gib": peak_rss_gib(),
    }


def _child(args, what: str) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        f"--_one={what}",
        f"--preset={args.preset}",
        f"--precision={args.precision}",
        f"--conv_impl={args.conv_impl}",
        f"--steps={args.steps}",
        f"--gemm_size={args.gemm_size}",
        f"--generate_reps={args.generate_reps}",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        return {
            "bench": what,
            "error": proc.stderr.strip().splitlines()[-1:] or ["exit %d" % proc.returncode],
            "exit_code": proc.returncode,
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="paper")
    p.add_argument("--precision", default="float32", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--conv_impl", default="auto", choices=["auto", "keras", "stride1"])
    p.add_argument("--batch_sizes", default="8,16", help="training batch sizes to time")
    p.add_argument(
        "--memory_batch",
        type=int,
        default=64,
        help="also run one step at this batch and report its peak memory (0: skip)",
    )
    p.add_argument("--generate_batch", type=int, default=16)
    p.add_argument("--generate_reps", type=int, default=5)
    p.add_argument("--steps", type=int, default=3, help="timed steps after the warm-up step")
    p.add_argument("--gemm_size", type=int, default=4096)
    p.add_argument("--_one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._one:
        kind, _, batch = args._one.partition(":")
        fn = {
            "gemm": lambda: run_gemm(args),
            "train": lambda: run_train(args, int(batch)),
            "generate": lambda: run_generate(args, int(batch)),
        }[kind]
        print(json.dumps(fn()), flush=True)
        return

    gemm = _child(args, "gemm")
    print(json.dumps(gemm), flush=True)
    best = gemm.get("best_gflops")
    batches = [int(b) for b in args.batch_sizes.split(",") if b]
    for b in batches:
        line = _child(args, f"train:{b}")
        if best and "achieved_gflops" in line:
            line["fraction_of_best_gemm"] = round(line["achieved_gflops"] / best, 3)
        print(json.dumps(line), flush=True)
    if args.memory_batch:
        saved = args.steps
        args.steps = 1
        line = _child(args, f"train:{args.memory_batch}")
        args.steps = saved
        line["bench"] = "train_step_memory"
        line["fits_in_gib"] = 24
        line["fits"] = "peak_rss_gib" in line and line["peak_rss_gib"] < 24
        print(json.dumps(line), flush=True)
    print(json.dumps(_child(args, f"generate:{args.generate_batch}")), flush=True)


if __name__ == "__main__":
    main()
