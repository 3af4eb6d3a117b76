"""Speed of every model on this machine, against its best GEMM, as JSON lines.

    python benchmarks/speed_bench.py                          # everything (about 20-30 minutes on 2 cores)
    python benchmarks/speed_bench.py --models=vgan --paper= --serve=   # one model's small step only
    python benchmarks/speed_bench.py --models=vgan --paper=vgan --serve= --precisions=float32,bfloat16

Every model runs in its own subprocess, with one copy per ``conv_impl`` compared; the
copies' steps (or served calls) are timed in interleaved rounds, so that drift in the
machine's speed, which between processes reached 20-30% on a shared VM, hits every
implementation alike. The conv autotune cache on disk is shared, as in real use.
Lines (``"bench"``):

- ``gemm``: the best float32 GEMM of this machine in this run, from every library at
  hand: TF's ``tf.matmul``, the same GEMM as a 1x1 convolution (oneDNN), numpy's BLAS.
  ``best_gflops`` is the fastest; every fraction below is of it.
- ``train_step``: one model at one preset with one ``conv_impl`` ("auto", the default,
  and each forced implementation): seconds per step (median of at least ``--steps``
  steps, and of more until ``--min_seconds`` passed, after a warm-up step that traces,
  and with "auto" measures), CPU time / wall time over the
  timed steps (2.0 = both cores busy), model GFLOP per step, achieved GFLOP/s and its
  fraction of ``best_gflops``, the peak RSS of the process (all copies).
- ``train_auto``: per model, ``auto`` seconds / the fastest forced implementation's
  (the target is <= 1.15), in float32.
- Precisions (``zoo.precision``): every line says its ``precision``. Each model runs in
  float32 with every ``conv_impl``, and in each other precision of ``--precisions`` it
  offers (a ``precision`` config field: VGAN) with the first of ``--impls``; by default
  (``native``) the precisions this machine computes natively: float32, bfloat16 on a CPU
  with AVX-512 BF16 or AMX, float16 and bfloat16 on GPUs by compute capability. Name them
  (``--precisions=float32,bfloat16``) to time an emulated one. ``train_precision`` and
  ``serve_precision``: a precision's seconds / float32's, same ``conv_impl``, same process.
- ``serve`` and ``serve_auto``: the exported SavedModel's ``serving_default`` at batch
  1 and 64 (``--serve_batches``), per implementation, median latency (as many calls as
  the steps); the same ratio.

Model FLOPs are counted on the graph of the step built with ``conv_impl="keras"`` (the
convolutions as the papers define them; the stride-1 rewrite computes more
multiply-adds on small volumes): 2 x multiply-adds of every Conv{2,3}D, their two
backprops, MatMul and BatchMatMul that the step runs (``timing.graph_flops``: not the
backprops a gradient function builds and the runtime prunes, such as a frozen layer's
kernel gradient). Recurrences run in a loop (the traversal GAN's LSTMs) are counted
once, so that model's fraction is a lower bound. Batch norm, activations and data
movement are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import best_gemm, emit, graph_flops, interleaved, peak_rss_gib  # noqa: E402

# name -> (zoo model, overrides); "_video" entries are step two of the two-step models,
# built with fresh step-one networks (no hub module needed to time them).
MODELS = {
    "vgan": ("vgan", {}),
    "tgan": ("tgan", {"stage": "image"}),
    "tgan_video": ("tgan", {"stage": "video"}),
    "mvt": ("mvt", {}),
    "stgan": ("stgan", {"stage": "image"}),
    "traversal": ("traversal", {"stage": "image"}),
    "traversal_video": ("traversal", {"stage": "video"}),
    "c3d": ("c3d", {}),
    "lrcn": ("lrcn", {}),
}
SERVED = ("vgan", "tgan_video", "mvt", "traversal_video")
NO_STRIDE2 = ("c3d", "lrcn")  # no stride-2 convolutions: nothing to choose (conv_impl "none" in the lines)


def _build(key, preset, impl, batch=None, precision="float32"):
    """(model, its training batch: ``batch`` or the preset's)."""
    import zoo

    name, overrides = MODELS[key]
    overrides = dict(overrides)
    if key not in NO_STRIDE2:
        overrides["conv_impl"] = impl
    if "precision" in zoo.entry(name).config_cls.choices:
        overrides["precision"] = precision
    if name in ("mvt", "c3d", "lrcn"):
        overrides.setdefault("num_classes", 10)
    model = zoo.build(name, preset=preset, **overrides)
    return model, batch or zoo.resolve_run(name, preset, model.config).batch_size


def _batch(model, b):
    import tensorflow as tf

    cfg = model.config
    video = tf.random.stateless_uniform([b, cfg.frames, cfg.size, cfg.size, cfg.channels], [1, 2], -1.0, 1.0)
    return {"video": video, "label": tf.range(b, dtype=tf.int32) % 10}


def precisions(args):
    """The precisions the model ``args.model`` is timed in: float32, and those of ``--precisions``
    (``native``: what this machine computes natively, zoo.precision.native) it offers."""
    import zoo
    from zoo import precision

    wanted = precision.native(precision.machine()) if args.precisions == "native" else args.precisions.split(",")
    offered = zoo.entry(MODELS[args.model][0]).config_cls.choices.get("precision", ("float32",))
    return ["float32"] + [p for p in wanted if p in offered and p not in ("float32", "auto")]


def variants(args):
    """(conv_impl, precision) pairs timed in one process: float32 with every ``--impls``, every
    other precision with the first."""
    impls = args.impls.split(",")
    return [(impl, "float32") for impl in impls] + [(impls[0], p) for p in precisions(args)[1:]]


def run_train(args):
    import tensorflow as tf

    steps, lines = {}, {}
    for impl, prec in variants(args):
        model, batch = _build(args.model, args.preset, impl, args.batch, prec)
        model.compile()
        data = _batch(model, batch)
        step = tf.function(model.train_step)
        sync = lambda step=step, data=data: [float(v) for v in step(data).values()]  # noqa: E731
        start = time.perf_counter()
        sync()  # traces; with "auto", measures what the cache does not hold
        lines[impl, prec] = {
            "bench": "train_step",
            "model": args.model,
            "preset": args.preset,
            "conv_impl": impl,
            "precision": prec,
            "batch": int(batch),
            "first_step_sec": round(time.perf_counter() - start, 2),
        }
        if impl in ("keras", "none") and prec == "float32":
            lines[impl, prec]["gflop_per_step"] = round(graph_flops(step.get_concrete_function(data).graph) / 1e9, 3)
        steps[impl, prec] = sync
    for key, (sec, cpu_over_wall, n) in interleaved(steps, args.steps, args.min_seconds).items():
        lines[key].update(
            sec_per_step=round(sec, 4),
            cpu_over_wall=round(cpu_over_wall, 2),
            steps_timed=n,
            peak_rss_gib_process=peak_rss_gib(),
        )
    return list(lines.values())


def run_serve(args):
    import tensorflow as tf
    import export

    calls, tmp = {}, tempfile.mkdtemp()
    for impl, prec in variants(args):
        model, _ = _build(args.model, args.preset, impl, precision=prec)
        serve = tf.saved_model.load(export.export_saved_model(model, os.path.join(tmp, f"{impl}_{prec}"))).signatures[
            "serving_default"
        ]
        names = sorted(serve.structured_input_signature[1])
        for b in args.serve_batches:
            inputs = model.sample_inputs(b, tf.constant([3, 4], tf.int64))
            feed = inputs if isinstance(inputs, dict) else {names[0]: inputs}
            call = lambda serve=serve, feed=feed: [v.numpy() for v in serve(**feed).values()]  # noqa: E731
            call()
            calls[(impl, prec, b)] = call
    out = {
        (impl, prec): {
            "bench": "serve",
            "model": args.model,
            "preset": args.preset,
            "conv_impl": impl,
            "precision": prec,
        }
        for impl, prec in variants(args)
    }
    for b in args.serve_batches:
        timed = interleaved({key: calls[(*key, b)] for key in out}, args.steps, args.min_seconds)
        for key, (sec, _, n) in timed.items():
            out[key][f"batch{b}_sec"] = round(sec, 5)
            out[key][f"batch{b}_calls"] = n
    return list(out.values())


def _child(args, kind, **kw):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        f"--_one={kind}",
        f"--steps={args.steps}",
        f"--min_seconds={args.min_seconds}",
        f"--serve_batches={','.join(map(str, args.serve_batches))}",
        f"--precisions={args.precisions}",
    ]
    cmd += [f"--{k}={v}" for k, v in kw.items() if v is not None]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        return [{"bench": kind, **kw, "error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]}]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result if isinstance(result, list) else [result]


def _ratio_line(bench, model, preset, lines, key):
    times = {l["conv_impl"]: l[key] for l in lines if key in l and l.get("precision", "float32") == "float32"}
    fixed = {k: v for k, v in times.items() if k != "auto"}
    if "auto" not in times or not fixed:
        return None
    best = min(fixed, key=fixed.get)
    return {
        "bench": bench,
        "model": model,
        "preset": preset,
        "measure": key,
        "auto": times["auto"],
        **{k: v for k, v in fixed.items()},
        "fastest_fixed": best,
        "auto_over_fastest_fixed": round(times["auto"] / fixed[best], 3),
    }


def _precision_lines(bench, model, preset, lines, key):
    """Each other precision's ``key`` over float32's at the same ``conv_impl`` (one line each)."""
    base = {l["conv_impl"]: l[key] for l in lines if key in l and l.get("precision") == "float32"}
    return [
        {
            "bench": bench,
            "model": model,
            "preset": preset,
            "measure": key,
            "conv_impl": l["conv_impl"],
            "precision": l["precision"],
            "over_float32": round(l[key] / base[l["conv_impl"]], 3),
        }
        for l in lines
        if key in l and l.get("precision", "float32") != "float32" and base.get(l["conv_impl"])
    ]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS), help="models timed at --preset (small)")
    p.add_argument("--preset", default="small")
    p.add_argument("--paper", default="vgan,tgan", help="models also timed at the paper preset")
    p.add_argument("--paper_batch", type=int, default=8, help="batch of the paper-preset steps")
    p.add_argument("--paper_impls", default="auto,keras,stride1")
    p.add_argument("--impls", default="auto,keras,stride1", help="conv_impl values compared in one process")
    p.add_argument("--serve", default=",".join(SERVED), help="models whose export is timed")
    p.add_argument("--serve_batches", default="1,64")
    p.add_argument("--steps", type=int, default=3, help="timed steps (or calls) at least ...")
    p.add_argument(
        "--min_seconds",
        type=float,
        default=3.0,
        help="... and more, up to 100, until they took this long (short steps are noisy)",
    )
    p.add_argument("--gemm_size", type=int, default=4096)
    p.add_argument(
        "--precisions",
        default="native",
        help="precisions besides float32 (zoo.precision), for the models that offer them: "
        "'native' (what this machine computes natively) or a list, e.g. float32,bfloat16,float16",
    )
    p.add_argument("--_one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", default=None, help=argparse.SUPPRESS)

    p.add_argument("--batch", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.serve_batches = [int(b) for b in args.serve_batches.split(",") if b]
    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731

    if args._one:
        fn = {
            "gemm": lambda: best_gemm(args.gemm_size),
            "train": lambda: run_train(args),
            "serve": lambda: run_serve(args),
        }[args._one]
        print(json.dumps(fn()), flush=True)
        return
    assert "none" not in split(args.impls)

    (gemm,) = _child(args, "gemm", gemm_size=args.gemm_size)
    emit(**gemm)
    best = gemm.get("best_gflops")

    def train_lines(model, preset, impls, batch=None):
        lines = _child(args, "train", model=model, preset=preset, impls=",".join(impls), batch=batch)
        flops = next((l["gflop_per_step"] for l in lines if "gflop_per_step" in l), None)
        for line in lines:
            if flops and "sec_per_step" in line:
                line["gflop_per_step"] = flops
                line["achieved_gflops"] = round(flops / line["sec_per_step"], 1)
                if best:
                    line["fraction_of_best_gemm"] = round(line["achieved_gflops"] / best, 3)
            emit(**line)
        ratio = _ratio_line("train_auto", model, preset, lines, "sec_per_step")
        if ratio:
            emit(**ratio)
        for line in _precision_lines("train_precision", model, preset, lines, "sec_per_step"):
            emit(**line)

    for model in split(args.models):
        impls = split(args.impls)
        # the FLOP count comes from the keras line: time it even when not asked
        impls = ["none"] if model in NO_STRIDE2 else impls if "keras" in impls else impls + ["keras"]
        train_lines(model, args.preset, impls)
    for model in split(args.paper):
        train_lines(model, "paper", split(args.paper_impls), args.paper_batch)
    for model in split(args.serve):
        lines = _child(args, "serve", model=model, preset=args.preset, impls=args.impls)
        for line in lines:
            emit(**line)
        for b in args.serve_batches:
            ratio = _ratio_line("serve_auto", model, args.preset, lines, f"batch{b}_sec")
            if ratio:
                emit(**ratio)
            for line in _precision_lines("serve_precision", model, args.preset, lines, f"batch{b}_sec"):
                emit(**line)


if __name__ == "__main__":
    main()
